//! The Stripe gateway: the only place in Pupitre that talks to Stripe.
//!
//! It creates and reads PaymentIntents and creates refunds through the async-stripe client, and
//! turns Stripe's answers into small views ([`IntentView`], [`RefundView`]) and Stripe's failures
//! into three kinds of [`GatewayError`]: Stripe could not be reached or was overloaded
//! ([`GatewayError::Unavailable`], worth retrying later with the same idempotency key), Stripe
//! refused the request ([`GatewayError::Rejected`], retrying the same request will not help), or
//! Stripe answered something this code does not understand ([`GatewayError::Protocol`]).
//!
//! Every write carries the caller's idempotency key and is sent exactly once (no automatic
//! retry): the caller decides when to try again, with the same key.
//!
//! It must never log, print or put into an error the secret key or a PaymentIntent's client
//! secret, and it must never decide anything about orders or enrolments: it only relays.
//!
//! One job, one file (about 400 lines without its tests): every call to Stripe and the mapping
//! of its answers, so that nothing else needs to know the client library.

use std::collections::HashMap;
use std::time::Duration;

// Every Stripe call is boxed (`.boxed()`): Stripe's objects nest deeply (an intent holds its
// charge, which holds its transfer, …), and without the box every future that awaits a Stripe
// call carries that nesting, so proving a GraphQL resolver's future `Send` overflows the
// compiler's recursion limit once a few instrumented calls wrap it.
use futures_util::FutureExt as _;

use stripe::{
    Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest as _,
};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    RetrievePaymentIntent, UpdatePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use stripe_core::{PaymentIntent, PaymentIntentStatus, Refund};

/// A configured Stripe API client (secret key, API base URL, per-attempt timeout).
#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the secret key: never print it.
        f.debug_struct("StripeGateway").finish_non_exhaustive()
    }
}

/// Where a PaymentIntent stands, as Stripe reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentStatus {
    /// Waiting for the customer to give a payment method (also after a declined attempt).
    RequiresPaymentMethod,
    /// A payment method is attached; the intent waits to be confirmed.
    RequiresConfirmation,
    /// The customer must act (e.g. 3-D Secure).
    RequiresAction,
    /// The payment is being processed.
    Processing,
    /// Authorised; funds wait to be captured.
    RequiresCapture,
    /// Canceled; no further payment can happen on it.
    Canceled,
    /// Paid.
    Succeeded,
}

impl IntentStatus {
    /// The status Stripe spells `s` in its JSON (`requires_payment_method`, …, `succeeded`);
    /// `None` for a status this version does not know.
    pub fn from_stripe(s: &str) -> Option<Self> {
        Some(match s {
            "requires_payment_method" => IntentStatus::RequiresPaymentMethod,
            "requires_confirmation" => IntentStatus::RequiresConfirmation,
            "requires_action" => IntentStatus::RequiresAction,
            "processing" => IntentStatus::Processing,
            "requires_capture" => IntentStatus::RequiresCapture,
            "canceled" => IntentStatus::Canceled,
            "succeeded" => IntentStatus::Succeeded,
            _ => return None,
        })
    }
}

/// What Pupitre needs to know about a PaymentIntent.
#[derive(Debug, Clone)]
pub struct IntentView {
    /// Stripe's id, `pi_…`.
    pub id: String,
    /// The secret handed to the buyer's browser for Stripe.js; never log it.
    pub client_secret: Option<String>,
    /// Current status.
    pub status: IntentStatus,
    /// Amount asked, in minor units.
    pub amount: i64,
    /// Amount received so far, in minor units.
    pub amount_received: i64,
    /// Lowercase ISO 4217 code, e.g. `eur`.
    pub currency: String,
    /// The metadata stored on the intent (e.g. `order_id`).
    pub metadata: HashMap<String, String>,
    /// `last_payment_error.code` (e.g. `card_declined`), or its message when it has no code.
    pub last_error: Option<String>,
}

/// What Pupitre needs to know about a refund.
#[derive(Debug, Clone)]
pub struct RefundView {
    /// Stripe's id, `re_…`.
    pub id: String,
    /// Amount refunded, in minor units.
    pub amount: i64,
    /// Stripe's status: `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: String,
}

/// Why a call to Stripe did not give an answer to use.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Timeout, connection failure, HTTP 5xx or 429: try again later with the same key.
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
    /// Stripe answered 4xx with an error object: `code` is Stripe's error code, or its error
    /// type when the error has no code (e.g. `idempotency_error`, `invalid_request_error`).
    #[error("Stripe refused the request: {code}")]
    Rejected {
        /// Stripe's `error.code`, else `error.type`.
        code: String,
        /// Stripe's `error.message` (meant for developers, not for buyers).
        message: String,
    },
    /// The answer could not be understood, or the request could not be formed.
    #[error("Stripe answered something unexpected: {0}")]
    Protocol(String),
}

impl StripeGateway {
    /// Builds a gateway. `api_base` replaces `https://api.stripe.com` (tests point it at a local
    /// stand-in); `timeout` bounds each HTTP attempt, answer body included.
    ///
    /// # Errors
    /// [`GatewayError::Protocol`] when the key or the URL cannot be used.
    pub fn new(
        secret_key: &str,
        api_base: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, GatewayError> {
        if secret_key.is_empty() {
            return Err(GatewayError::Protocol("the Stripe secret key is empty".into()));
        }
        let mut builder =
            ClientBuilder::new(secret_key).timeout(timeout).request_strategy(RequestStrategy::Once);
        if let Some(base) = api_base {
            // The client appends `v1/...` to the base as given: make sure it ends with one '/'.
            builder = builder.url(format!("{}/", base.trim_end_matches('/')));
        }
        let client = builder.build().map_err(|err| match err {
            // Never echo the error text of a bad key: it could contain the key.
            StripeError::ClientError(_) => {
                GatewayError::Protocol("the Stripe client configuration is invalid".into())
            }
            other => GatewayError::Protocol(other.to_string()),
        })?;
        Ok(Self { client })
    }

    /// Creates a PaymentIntent with automatic payment methods enabled.
    ///
    /// # Errors
    /// See [`GatewayError`]; re-sending the same key with the same parameters returns the
    /// same intent, with other parameters `Rejected { code: "idempotency_error", .. }`.
    #[tracing::instrument(skip_all, fields(stripe.idempotency_key = idempotency_key))]
    pub async fn create_payment_intent(
        &self,
        amount_minor: i64,
        currency: &str,
        metadata: &[(&str, &str)],
        description: &str,
        idempotency_key: &str,
    ) -> Result<IntentView, GatewayError> {
        let currency = parse_currency(currency)?;
        let strategy = idempotent(idempotency_key)?;
        let mut request = CreatePaymentIntent::new(amount_minor, currency)
            .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
            .metadata(to_map(metadata));
        if !description.is_empty() {
            request = request.description(description);
        }
        let intent = request
            .customize()
            .request_strategy(strategy)
            .send(&self.client)
            .boxed()
            .await
            .map_err(classify)?;
        intent_view(intent)
    }

    /// Reads a PaymentIntent.
    ///
    /// # Errors
    /// See [`GatewayError`]; an unknown id is `Rejected { code: "resource_missing", .. }`.
    #[tracing::instrument(skip_all, fields(stripe.payment_intent = id))]
    pub async fn retrieve_payment_intent(&self, id: &str) -> Result<IntentView, GatewayError> {
        check_id(id, "pi_")?;
        let intent =
            RetrievePaymentIntent::new(id).send(&self.client).boxed().await.map_err(classify)?;
        intent_view(intent)
    }

    /// Changes the amount of a PaymentIntent not paid yet (a discount granted meanwhile).
    ///
    /// # Errors
    /// See [`GatewayError`]; an intent already processing or paid is `Rejected`.
    #[tracing::instrument(skip_all, fields(stripe.payment_intent = id))]
    pub async fn update_payment_intent_amount(
        &self,
        id: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<IntentView, GatewayError> {
        check_id(id, "pi_")?;
        let intent = UpdatePaymentIntent::new(id)
            .amount(amount_minor)
            .customize()
            .request_strategy(idempotent(idempotency_key)?)
            .send(&self.client)
            .boxed()
            .await
            .map_err(classify)?;
        intent_view(intent)
    }

    /// Cancels a PaymentIntent so that it can no longer be paid (an expired order).
    ///
    /// # Errors
    /// See [`GatewayError`]; an intent that has succeeded (or is processing) meanwhile is
    /// `Rejected { code: "payment_intent_unexpected_state", .. }`.
    #[tracing::instrument(skip_all, fields(stripe.payment_intent = id))]
    pub async fn cancel_payment_intent(&self, id: &str) -> Result<IntentView, GatewayError> {
        check_id(id, "pi_")?;
        // No idempotency key: cancelling is idempotent by nature, and Stripe would replay a first
        // refusal (e.g. while the intent was processing) under the same key for 24 hours.
        let intent =
            CancelPaymentIntent::new(id).send(&self.client).boxed().await.map_err(classify)?;
        intent_view(intent)
    }

    /// Refunds a PaymentIntent's charge, all of what remains when `amount_minor` is `None`.
    ///
    /// # Errors
    /// See [`GatewayError`]; refunding more than remains is `Rejected`.
    #[tracing::instrument(skip_all, fields(stripe.payment_intent = payment_intent_id))]
    pub async fn create_refund(
        &self,
        payment_intent_id: &str,
        amount_minor: Option<i64>,
        metadata: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<RefundView, GatewayError> {
        check_id(payment_intent_id, "pi_")?;
        let strategy = idempotent(idempotency_key)?;
        let mut request = CreateRefund::new().payment_intent(payment_intent_id);
        if let Some(amount) = amount_minor {
            request = request.amount(amount);
        }
        if !metadata.is_empty() {
            request = request.metadata(to_map(metadata));
        }
        let refund = request
            .customize()
            .request_strategy(strategy)
            .send(&self.client)
            .boxed()
            .await
            .map_err(classify)?;
        Ok(refund_view(refund))
    }
}

fn to_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn idempotent(key: &str) -> Result<RequestStrategy, GatewayError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|err| GatewayError::Protocol(format!("unusable idempotency key: {err}")))
}

/// Ids go into the URL path: refuse anything but Stripe's id alphabet.
fn check_id(id: &str, prefix: &str) -> Result<(), GatewayError> {
    let well_formed = id.len() > prefix.len()
        && id.len() <= 255
        && id.starts_with(prefix)
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(GatewayError::Protocol(format!("malformed Stripe id (expected {prefix}…)")))
    }
}

fn parse_currency(code: &str) -> Result<stripe_types::Currency, GatewayError> {
    let lower = code.to_ascii_lowercase();
    match lower.parse::<stripe_types::Currency>() {
        Ok(stripe_types::Currency::Unknown(_)) | Err(_) => {
            Err(GatewayError::Protocol(format!("unknown currency {code:?}")))
        }
        Ok(currency) => Ok(currency),
    }
}

fn map_status(status: &PaymentIntentStatus) -> Result<IntentStatus, GatewayError> {
    Ok(match status {
        PaymentIntentStatus::RequiresPaymentMethod => IntentStatus::RequiresPaymentMethod,
        PaymentIntentStatus::RequiresConfirmation => IntentStatus::RequiresConfirmation,
        PaymentIntentStatus::RequiresAction => IntentStatus::RequiresAction,
        PaymentIntentStatus::Processing => IntentStatus::Processing,
        PaymentIntentStatus::RequiresCapture => IntentStatus::RequiresCapture,
        PaymentIntentStatus::Canceled => IntentStatus::Canceled,
        PaymentIntentStatus::Succeeded => IntentStatus::Succeeded,
        other => {
            return Err(GatewayError::Protocol(format!(
                "unknown PaymentIntent status {:?}",
                other.as_str()
            )));
        }
    })
}

fn intent_view(intent: PaymentIntent) -> Result<IntentView, GatewayError> {
    let status = map_status(&intent.status)?;
    if let stripe_types::Currency::Unknown(code) = &intent.currency {
        return Err(GatewayError::Protocol(format!("unknown currency {code:?} in PaymentIntent")));
    }
    let last_error = intent.last_payment_error.as_ref().and_then(|err| {
        err.code.as_ref().map(|code| code.as_str().to_owned()).or_else(|| err.message.clone())
    });
    Ok(IntentView {
        id: intent.id.as_str().to_owned(),
        client_secret: intent.client_secret,
        status,
        amount: intent.amount,
        amount_received: intent.amount_received,
        currency: intent.currency.to_string(),
        metadata: intent.metadata,
        last_error,
    })
}

fn refund_view(refund: Refund) -> RefundView {
    RefundView {
        id: refund.id.as_str().to_owned(),
        amount: refund.amount,
        status: refund.status.unwrap_or_default(),
    }
}

/// The async-stripe client reports a non-2xx answer whose body is not a Stripe error object
/// with exactly this text (it does not keep the status): a proxy's or load balancer's page.
const UNREADABLE_ERROR_BODY: &str = "error deserializing Stripe error";

fn classify(err: StripeError) -> GatewayError {
    match err {
        StripeError::Stripe(api, status) => classify_status(
            status,
            api.type_.as_str(),
            api.code.as_ref().map(|code| code.as_str()),
            api.message.as_deref(),
        ),
        StripeError::Timeout => GatewayError::Unavailable("timed out".into()),
        StripeError::ClientError(msg) => GatewayError::Unavailable(msg),
        StripeError::JSONDeserialize(msg) if msg == UNREADABLE_ERROR_BODY => {
            GatewayError::Unavailable("error status with a body that is not a Stripe error".into())
        }
        StripeError::JSONDeserialize(msg) | StripeError::ConfigError(msg) => {
            GatewayError::Protocol(msg)
        }
    }
}

/// A Stripe error object with its HTTP status: 429 and 5xx are outages, the rest refusals.
fn classify_status(
    status: u16,
    type_: &str,
    code: Option<&str>,
    message: Option<&str>,
) -> GatewayError {
    if status == 429 || status >= 500 {
        GatewayError::Unavailable(format!("HTTP {status} {type_}"))
    } else {
        GatewayError::Rejected {
            code: code.unwrap_or(type_).to_owned(),
            message: message.unwrap_or_default().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_rate_limits_are_unavailable() {
        for status in [429_u16, 500, 502, 503] {
            let err = classify_status(status, "api_error", None, Some("boom"));
            assert!(matches!(err, GatewayError::Unavailable(_)), "{status}: {err:?}");
        }
    }

    #[test]
    fn client_errors_are_rejected_with_code_or_type() {
        let err = classify_status(
            402,
            "card_error",
            Some("card_declined"),
            Some("Your card was declined."),
        );
        match err {
            GatewayError::Rejected { code, message } => {
                assert_eq!(code, "card_declined");
                assert_eq!(message, "Your card was declined.");
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
        let err = classify_status(400, "idempotency_error", None, Some("Keys for idempotent"));
        assert!(
            matches!(&err, GatewayError::Rejected { code, .. } if code == "idempotency_error"),
            "{err:?}"
        );
        let err = classify_status(401, "invalid_request_error", None, None);
        assert!(
            matches!(&err, GatewayError::Rejected { code, .. } if code == "invalid_request_error"),
            "{err:?}"
        );
    }

    #[test]
    fn transport_failures_are_unavailable_and_bad_bodies_are_protocol() {
        assert!(matches!(classify(StripeError::Timeout), GatewayError::Unavailable(_)));
        assert!(matches!(
            classify(StripeError::ClientError("connection refused".into())),
            GatewayError::Unavailable(_)
        ));
        assert!(matches!(
            classify(StripeError::JSONDeserialize(UNREADABLE_ERROR_BODY.into())),
            GatewayError::Unavailable(_)
        ));
        assert!(matches!(
            classify(StripeError::JSONDeserialize("error deserializing request data".into())),
            GatewayError::Protocol(_)
        ));
    }

    #[test]
    fn currencies_and_ids_are_checked_before_sending() {
        assert!(matches!(parse_currency("EUR"), Ok(stripe_types::Currency::EUR)));
        assert!(matches!(parse_currency("xyz"), Err(GatewayError::Protocol(_))));
        assert!(check_id("pi_3Abc123", "pi_").is_ok());
        for bad in ["", "pi_", "pi_1/../x", "ch_123", "pi_1?expand=x"] {
            assert!(check_id(bad, "pi_").is_err(), "{bad}");
        }
        assert!(idempotent("").is_err());
        assert!(idempotent(&"k".repeat(256)).is_err());
    }

    #[test]
    fn debug_output_hides_the_client() {
        let gateway = StripeGateway::new("sk_test_secret_value", None, Duration::from_secs(1));
        let shown = format!("{gateway:?}");
        assert!(!shown.contains("sk_test_secret_value"), "{shown}");
    }
}
