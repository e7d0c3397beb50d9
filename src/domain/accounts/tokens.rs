//! Access tokens (short-lived JWTs) and refresh tokens (opaque, stored hashed).
//!
//! Access tokens carry `iss`, `aud`, `sub`, `tid` (tenant), `roles`, `sid` (the sign-in
//! session, so log-out and refresh-token reuse revoke them), `typ = "access"`, `iat`, `nbf`,
//! `exp` and `jti`. Only HS256 is accepted; `alg: none` and every other algorithm are refused.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Settings;
use crate::policy::{Role, RoleSet};

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub tid: Uuid,
    pub sid: Uuid,
    pub roles: Vec<String>,
    pub typ: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
}

impl AccessClaims {
    pub fn role_set(&self) -> RoleSet {
        let mut set = RoleSet::default();
        for r in self.roles.iter().filter_map(|r| Role::parse(r)) {
            set.insert(r);
        }
        set
    }
}

/// Why a presented access token was refused (never shown in detail to clients).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed or unverifiable token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("not an access token")]
    WrongType,
}

/// Signs and verifies access tokens; mints refresh tokens.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl_secs: i64,
}

impl TokenService {
    pub fn new(settings: &Settings) -> Self {
        let secret = settings.jwt_secret.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_audience(&[&settings.jwt_audience]);
        validation.set_issuer(&[&settings.jwt_issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        TokenService {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            access_ttl_secs: settings.access_token_ttl_secs,
        }
    }

    /// Signs an access token valid from `now` for the configured lifetime.
    pub fn issue_access(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        session_id: Uuid,
        roles: RoleSet,
        now: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            tid: tenant_id,
            sid: session_id,
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            typ: "access".into(),
            iat: now,
            nbf: now,
            exp: now + self.access_ttl_secs,
            jti: Uuid::new_v4(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Verifies signature, algorithm, issuer, audience, time window and token type.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)?;
        if data.claims.typ != "access" {
            return Err(TokenError::WrongType);
        }
        Ok(data.claims)
    }
}

/// A new opaque refresh token (256 random bits) and the hash stored for it.
pub fn new_refresh_token() -> (String, String) {
    new_opaque_token("rt")
}

/// A new opaque token `<prefix>_…` (256 random bits, URL-safe) and the hash stored for it.
pub fn new_opaque_token(prefix: &str) -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token =
        format!("{prefix}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of an opaque token (refresh, set-password): SHA-256, hex. The token itself is never stored.
pub fn hash_refresh_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
