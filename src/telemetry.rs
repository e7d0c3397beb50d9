//! Structured logging with `tracing`.
//!
//! The sink is a parameter so tests can capture or silence logs. Logging rule: dotted field
//! names (`user.id`, `request.id`); never e-mail addresses, names, phone numbers, IPs, tokens or
//! passwords. Values that hold personal data are wrapped in [`Redacted`] or in the domain
//! newtypes, whose `Debug`/`Display` never print the value.

use std::fmt;

use tracing_subscriber::{EnvFilter, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::LogFormat;

/// Installs the global subscriber. Returns an error if one is already installed.
pub fn init<W>(filter: &str, format: LogFormat, sink: W) -> Result<(), String>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).map_err(|e| format!("invalid PUPITRE_LOG filter: {e}"))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true).with_writer(sink))
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().compact().with_writer(sink)).try_init(),
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
