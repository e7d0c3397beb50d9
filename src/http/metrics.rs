//! Prometheus metrics: requests, latency, GraphQL errors by code, SQL statements.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::db::StatementCounter;
use crate::domain::payments::StripeStats;
use crate::error::ErrorCode;

/// The registry of one application instance (not the global default, so tests can run many).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    graphql_errors: IntCounterVec,
    statements: StatementCounter,
    stripe: StripeStats,
}

impl Metrics {
    pub fn new(
        statements: StatementCounter,
        stripe: StripeStats,
    ) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("pupitre_http_requests_total", "HTTP requests by method, route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "pupitre_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["route"],
        )?;
        let graphql_errors = IntCounterVec::new(
            Opts::new("pupitre_graphql_errors_total", "GraphQL errors by extensions.code"),
            &["code"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(graphql_errors.clone()))?;
        for code in ErrorCode::ALL {
            graphql_errors.with_label_values(&[code.as_str()]);
        }
        Ok(Metrics { registry, requests, latency, graphql_errors, statements, stripe })
    }

    pub fn observe_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.latency.with_label_values(&[route]).observe(elapsed.as_secs_f64());
    }

    pub fn graphql_error(&self, code: &str) {
        self.graphql_errors.with_label_values(&[code]).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out =
            TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default();
        out.push_str("# HELP pupitre_db_statements_total SQL statements sent to the database\n");
        out.push_str("# TYPE pupitre_db_statements_total counter\n");
        out.push_str(&format!("pupitre_db_statements_total {}\n", self.statements.get()));
        // Time spent waiting for Stripe: subtracted from request latency, it gives Pupitre's own
        // share of a checkout.
        out.push_str("# HELP pupitre_stripe_requests_total Calls to the Stripe API\n");
        out.push_str("# TYPE pupitre_stripe_requests_total counter\n");
        out.push_str(&format!("pupitre_stripe_requests_total {}\n", self.stripe.calls()));
        out.push_str("# HELP pupitre_stripe_failures_total Calls to the Stripe API that failed or timed out\n");
        out.push_str("# TYPE pupitre_stripe_failures_total counter\n");
        out.push_str(&format!("pupitre_stripe_failures_total {}\n", self.stripe.failures()));
        out.push_str(
            "# HELP pupitre_stripe_request_seconds_total Time spent waiting for the Stripe API\n",
        );
        out.push_str("# TYPE pupitre_stripe_request_seconds_total counter\n");
        out.push_str(&format!(
            "pupitre_stripe_request_seconds_total {}\n",
            self.stripe.total().as_secs_f64()
        ));
        out
    }
}
