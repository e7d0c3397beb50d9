//! Short-lived download links: `/exports/<id>?token=…`, valid [`LINK_TTL_SECS`], for the
//! person who asked for the link. The token is an HMAC (a key derived from the JWT secret for
//! this use only) over who asked (tenant, user, session, roles), which export, and until when;
//! the download checks it with the server's clock, then checks that the session is still open
//! and asks the policy again, so a log-out or a lost guardianship ends the link at once.
//!
//! A token names ids and role names only, nothing personal.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Services;
use crate::policy::{Actor, Role, RoleSet};

/// How long a download link works.
pub const LINK_TTL_SECS: i64 = 15 * 60;

/// What a link token carries.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkClaims {
    /// Tenant.
    pub t: Uuid,
    /// Export.
    pub e: Uuid,
    /// The person the link was made for.
    pub u: Uuid,
    /// Their session.
    pub s: Option<Uuid>,
    /// Their roles.
    pub r: Vec<String>,
    /// Expiry, Unix seconds.
    pub x: i64,
}

impl LinkClaims {
    /// The actor the download acts as (the person the link was made for).
    pub fn actor(&self, request_id: String) -> Actor {
        let roles: Vec<Role> = self.r.iter().filter_map(|r| Role::parse(r)).collect();
        Actor::user(self.t, self.u, self.s, RoleSet::from_roles(&roles), request_id)
    }
}

fn mac(services: &Services, payload: &str) -> Option<Hmac<sha2::Sha256>> {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(&services.export_link_secret).ok()?;
    m.update(b"export-link.");
    m.update(payload.as_bytes());
    Some(m)
}

/// A token for `actor` to download `export_id`, and when it stops working.
pub fn mint(
    services: &Services,
    actor: &Actor,
    export_id: Uuid,
    now: DateTime<Utc>,
) -> Option<(String, DateTime<Utc>)> {
    let expires = now + Duration::seconds(LINK_TTL_SECS);
    let claims = LinkClaims {
        t: actor.tenant_id,
        e: export_id,
        u: actor.user_id?,
        s: actor.session_id,
        r: actor.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        x: expires.timestamp(),
    };
    let payload = B64.encode(serde_json::to_vec(&claims).ok()?);
    let sig = B64.encode(mac(services, &payload)?.finalize().into_bytes());
    Some((format!("{payload}.{sig}"), expires))
}

/// The claims of a genuine, unexpired token for `export_id`; `None` for anything else.
pub fn verify(
    services: &Services,
    token: &str,
    export_id: Uuid,
    now: DateTime<Utc>,
) -> Option<LinkClaims> {
    let (payload, sig) = token.split_once('.')?;
    let sig = B64.decode(sig).ok()?;
    mac(services, payload)?.verify_slice(&sig).ok()?;
    let claims: LinkClaims = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    (claims.e == export_id && now.timestamp() < claims.x).then_some(claims)
}
