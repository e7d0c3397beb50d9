//! Structured logging with `tracing`.
//!
//! The sink is a parameter so tests can capture or silence logs. Logging rule: dotted field
//! names (`user.id`, `request.id`); never e-mail addresses, names, phone numbers, IPs, tokens or
//! passwords. Values that hold personal data are wrapped in [`Redacted`] or in the domain
//! newtypes, whose `Debug`/`Display` never print the value.
//!
//! ERROR is for our failures only: a client's mistake is logged at WARN at most, including the
//! ones actix-http logs at ERROR when it drops a connection on a malformed request.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::{
    EnvFilter, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::config::LogFormat;

/// Installs the global subscriber, with ANSI colours in the pretty format when `ansi` (the sink
/// is a terminal). Returns an error if one is already installed.
pub fn init<W>(filter: &str, format: LogFormat, ansi: bool, sink: W) -> Result<(), String>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_new(filter).map_err(|e| format!("invalid PUPITRE_LOG filter: {e}"))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(sink)
                    .with_filter(NotAClientError),
            )
            .with(ClientErrorsAsWarnings)
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_ansi(ansi)
                    .with_writer(sink)
                    .with_filter(NotAClientError),
            )
            .with(ClientErrorsAsWarnings)
            .try_init(),
    };
    result.map_err(|e| e.to_string())
}

/// A value that must never reach a log: `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted<T>(pub T);

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where actix-http's HTTP/1 dispatcher logs the end of a connection.
const ACTIX_H1_DISPATCHER: &str = "actix_http::h1::dispatcher";

/// What actix-http says, at ERROR, when it closes a connection because of the client: a request
/// it could not parse (an invalid header, a URI over 64 KiB, a bad method or version), a head
/// that did not arrive in time, a client gone away. It has already answered (400, 408, 431)
/// by then; nothing failed on our side.
fn client_error_message(event: &Event<'_>) -> Option<String> {
    let meta = event.metadata();
    if *meta.level() != Level::ERROR || !meta.target().starts_with(ACTIX_H1_DISPATCHER) {
        return None;
    }
    struct Message(String);
    impl Visit for Message {
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "message" {
                self.0 = value.to_owned();
            }
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            if field.name() == "message" {
                self.0 = format!("{value:?}");
            }
        }
    }
    let mut m = Message(String::new());
    event.record(&mut m);
    let text = m.0.strip_prefix("stream error: ").unwrap_or(&m.0);
    let client = [
        "request parse error",
        "I/O error",
        "request did not complete within",
        "connection shutdown timeout",
        "handler dropped payload",
        "write zero",
    ];
    client.iter().any(|p| text.starts_with(p)).then(|| text.to_owned())
}

/// Keeps actix-http's client-error events (see [`client_error_message`]) out of the log output;
/// [`ClientErrorsAsWarnings`] writes them again at WARN.
struct NotAClientError;

impl<S: Subscriber> Filter<S> for NotAClientError {
    fn enabled(&self, _meta: &tracing::Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        client_error_message(event).is_none()
    }
}

/// Writes actix-http's client-error events again at WARN. (A tracing event's level is fixed
/// where it is written, inside actix-http: it can only be re-emitted.)
struct ClientErrorsAsWarnings;

impl<S: Subscriber> Layer<S> for ClientErrorsAsWarnings {
    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        if let Some(reason) = client_error_message(event) {
            tracing::warn!(http.client_error = %reason, "connection closed on a client error");
        }
    }
}
