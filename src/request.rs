//! One request as the application sees it: its id, its tenant, who sent it (verified without
//! SQL), and what is learnt about them on first use (the actor, whose session is checked once,
//! and their relations to other people), with the per-request audit of staff reads.
//!
//! The GraphQL resolvers and the plain HTTP routes (invoice and document downloads) take the
//! same [`RequestCtx`]; `http` builds it with [`authenticate`], `graphql` hands it to resolvers.
//! It must never know about GraphQL or about the HTTP framework: headers come in as
//! [`Credentials`], already read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::accounts::{self, tokens::AccessClaims};
use crate::domain::tenancy::{Tenant, TenantHint};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Category, Column, Relations};

/// Who sent the request, as far as could be told without the database.
#[derive(Clone, Debug)]
pub enum Principal {
    Anonymous,
    /// A signed, unexpired access token of this tenant; its session is checked on first use.
    Token(AccessClaims),
}

/// The `Authorization` header as the HTTP layer found it.
#[derive(Clone, Copy, Debug)]
pub enum Bearer<'a> {
    /// No `Authorization` header: an anonymous request.
    Absent,
    /// `Bearer <token>`, the token trimmed.
    Token(&'a str),
    /// A header that is not readable text or not a bearer token.
    Malformed,
}

/// What a request says about its tenant and its sender.
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'a> {
    pub bearer: Bearer<'a>,
    /// The `X-Pupitre-Tenant` header, trimmed.
    pub tenant_slug: Option<&'a str>,
    /// The `Host` header.
    pub host: Option<&'a str>,
}

/// Resolves tenant and principal without SQL: a token is verified cryptographically and names
/// its tenant (which a tenant header must then agree with); an anonymous request is placed by
/// its tenant header, its host or `default_tenant`. Any doubt about a token is
/// `UNAUTHENTICATED`.
pub async fn authenticate(
    services: &Services,
    credentials: &Credentials<'_>,
    default_tenant: Option<&str>,
) -> AppResult<(Arc<Tenant>, Principal)> {
    match credentials.bearer {
        Bearer::Token(token) => {
            let claims = services.tokens.verify_access(token).map_err(|e| {
                tracing::info!(auth.rejected = %e, "access token rejected");
                AppError::Unauthenticated
            })?;
            let tenant =
                services.tenants.by_id(claims.tid).await?.ok_or(AppError::Unauthenticated)?;
            if credentials.tenant_slug.is_some_and(|s| s != tenant.slug) {
                tracing::info!(auth.rejected = "tenant mismatch", "access token rejected");
                return Err(AppError::Unauthenticated);
            }
            Ok((tenant, Principal::Token(claims)))
        }
        Bearer::Malformed => Err(AppError::Unauthenticated),
        Bearer::Absent => {
            let hint = TenantHint {
                header_slug: credentials.tenant_slug,
                host: credentials.host,
                default_slug: default_tenant,
            };
            Ok((services.tenants.resolve(&hint).await?, Principal::Anonymous))
        }
    }
}

/// The audit write shared by every field of one (subject, category) in a request.
type AuditOnce = Arc<OnceCell<()>>;

/// Everything one request knows about itself.
pub struct RequestCtx {
    pub request_id: String,
    pub tenant: Arc<Tenant>,
    pub principal: Principal,
    /// A stable key for the client (its address), used only for log-in throttling.
    pub client_key: Option<String>,
    actor: OnceCell<Result<Actor, ()>>,
    /// The signed-in person, read with the session check.
    signed_in: std::sync::OnceLock<accounts::SignedIn>,
    relations: OnceCell<Relations>,
    audited: Mutex<HashMap<(Uuid, Category), AuditOnce>>,
}

impl RequestCtx {
    pub fn new(
        request_id: String,
        tenant: Arc<Tenant>,
        principal: Principal,
        client_key: Option<String>,
    ) -> Self {
        RequestCtx {
            request_id,
            tenant,
            principal,
            client_key,
            actor: OnceCell::new(),
            signed_in: std::sync::OnceLock::new(),
            relations: OnceCell::new(),
            audited: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the request carries no token.
    pub fn is_anonymous(&self) -> bool {
        matches!(self.principal, Principal::Anonymous)
    }

    /// The actor; for a token, checks once that its session is still open.
    pub async fn actor(&self, services: &Services) -> AppResult<Actor> {
        let res = self
            .actor
            .get_or_try_init(|| async {
                Ok::<_, AppError>(match &self.principal {
                    Principal::Anonymous => {
                        Ok(Actor::anonymous(self.tenant.id, self.request_id.clone()))
                    }
                    Principal::Token(c) => {
                        let open =
                            accounts::signed_in_by_session(services, self.tenant.id, c.sid, c.sub)
                                .await?;
                        if let Some(person) = open {
                            let _ = self.signed_in.set(person);
                            Ok(Actor::user(
                                self.tenant.id,
                                c.sub,
                                Some(c.sid),
                                c.role_set(),
                                self.request_id.clone(),
                            )
                            .narrowed(self.tenant.narrowing.clone()))
                        } else {
                            Err(())
                        }
                    }
                })
            })
            .await?;
        res.clone().map_err(|_| AppError::Unauthenticated)
    }

    /// The actor, who must be signed in.
    pub async fn user_actor(&self, services: &Services) -> AppResult<Actor> {
        let a = self.actor(services).await?;
        if a.user_id.is_none() {
            return Err(AppError::Unauthenticated);
        }
        Ok(a)
    }

    /// The signed-in person's record (user and held roles), as read with the session check;
    /// `None` for an anonymous request.
    pub async fn me(&self, services: &Services) -> AppResult<Option<accounts::UserRecord>> {
        self.actor(services).await?;
        Ok(self.signed_in.get().map(|p| p.record.clone()))
    }

    /// The actor's relations to other people, loaded once per request (for the signed-in
    /// person, without a query for wards when they are nobody's guardian).
    pub async fn relations(&self, services: &Services, actor: &Actor) -> AppResult<&Relations> {
        self.relations
            .get_or_try_init(|| async {
                match self.signed_in.get() {
                    Some(p) if actor.user_id == Some(p.record.user.id) => {
                        accounts::relations_known(services, actor, p.guardian).await
                    }
                    _ => accounts::relations(services, actor).await,
                }
            })
            .await
    }

    /// The signed-in actor and their relations: what an operation acting for a person starts
    /// with.
    pub async fn signed_in(&self, services: &Services) -> AppResult<(Actor, &Relations)> {
        let actor = self.user_actor(services).await?;
        let relations = self.relations(services, &actor).await?;
        Ok((actor, relations))
    }

    /// Writes one audit record per subject and category per request. Every field of that
    /// category waits for the same write and fails if it fails (fail closed: no value is
    /// returned without its audit record); a failed write is retried by the next field.
    pub async fn audit_read(
        &self,
        services: &Services,
        actor: &Actor,
        subject: Uuid,
        category: Category,
        column: Column,
    ) -> AppResult<()> {
        let cell = match self.audited.lock() {
            Ok(mut map) => map.entry((subject, category)).or_default().clone(),
            Err(_) => Arc::new(OnceCell::new()),
        };
        cell.get_or_try_init(|| accounts::audit_read(services, actor, subject, category, column))
            .await?;
        Ok(())
    }
}
