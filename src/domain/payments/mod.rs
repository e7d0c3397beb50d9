//! Payments: talking to Stripe, both ways. The gateway calls Stripe (`gateway`); webhook
//! deliveries are checked here (the signature) and read in `events`. It knows nothing of orders:
//! what an event does to an order is the shop's (`shop::webhook`), so the shop depends on
//! payments and never the other way round.
//!
//! Stripe's signature scheme: the `Stripe-Signature` header is `t=<unix>,v1=<hex>[,v1=…]`,
//! where each `v1` is HMAC-SHA256 of `"<t>.<raw body>"` under the endpoint's signing secret.
//! The check runs on the raw bytes (never on re-serialised JSON), compares in constant time and
//! refuses timestamps further than the tolerance from now, in either direction.
//!
//! This module must never log a signing secret, a client secret or a payload.

pub mod accounts;
pub mod events;
pub mod gateway;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};

pub use gateway::{GatewayError, IntentStatus, IntentView, RefundView, StripeGateway};

/// What the payments area needs, built once from the settings.
#[derive(Clone)]
pub struct Payments {
    /// Whose Stripe account serves each tenant ([`accounts::account_for`]).
    pub accounts: Arc<accounts::Accounts>,
    pub tolerance_secs: i64,
    /// Time spent waiting for Stripe, exported in `/metrics` so Pupitre's own share of a
    /// checkout can be told apart.
    pub stats: StripeStats,
}

/// Calls to Stripe and the time they took.
#[derive(Clone, Default)]
pub struct StripeStats {
    calls: Arc<AtomicU64>,
    nanos: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
}

impl StripeStats {
    /// Runs one Stripe call and counts it.
    pub async fn time<T>(
        &self,
        call: impl Future<Output = Result<T, GatewayError>>,
    ) -> Result<T, GatewayError> {
        let started = Instant::now();
        let res = call.await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.nanos.fetch_add(
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if res.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        res
    }
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
    pub fn total(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

/// Why a webhook signature was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Stripe-Signature header")]
    Missing,
    #[error("malformed Stripe-Signature header")]
    Malformed,
    #[error("timestamp outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a Stripe webhook signature on the raw body (see the module documentation).
pub fn verify_signature(
    payload: &[u8],
    header: Option<&str>,
    secret: &[u8],
    tolerance_secs: i64,
    now_unix: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else { continue };
        match k {
            "t" => timestamp = Some(v.parse().map_err(|_| SignatureError::Malformed)?),
            "v1" => {
                if let Some(sig) = hex_decode(v) {
                    signatures.push(sig);
                }
            }
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now_unix - t).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    for sig in signatures {
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
            return Err(SignatureError::Mismatch);
        };
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        if mac.verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(payload: &[u8], secret: &[u8], t: i64) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(payload);
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        format!("t={t},v1={hex}")
    }

    #[test]
    fn a_stripe_signature_is_checked_on_the_raw_body_within_the_tolerance() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let now = 1_700_000_000;
        let header = sign(body, b"whsec_x", now - 10);
        assert_eq!(verify_signature(body, Some(&header), b"whsec_x", 300, now), Ok(()));
        // Any other key, body or an old timestamp fails.
        assert_eq!(
            verify_signature(body, Some(&header), b"whsec_y", 300, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"{}", Some(&header), b"whsec_x", 300, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(body, Some(&header), b"whsec_x", 5, now),
            Err(SignatureError::Stale)
        );
        let future = sign(body, b"whsec_x", now + 301);
        assert_eq!(
            verify_signature(body, Some(&future), b"whsec_x", 300, now),
            Err(SignatureError::Stale)
        );
        // A rolled secret: Stripe sends one v1 per active secret; one match is enough.
        let good = sign(body, b"whsec_x", now);
        let (_, good_v1) = good.split_once(",v1=").unwrap();
        let two = format!("{},v1={good_v1}", sign(body, b"whsec_old", now));
        assert_eq!(verify_signature(body, Some(&two), b"whsec_x", 300, now), Ok(()));
        assert_eq!(
            verify_signature(body, None, b"whsec_x", 300, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(body, Some("v1=abcd"), b"whsec_x", 300, now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(body, Some("t=12,v0=abcd"), b"whsec_x", 300, now),
            Err(SignatureError::Malformed)
        );
    }
}
