//! Per-request context: request id, tenant, principal, and lazily verified actor and
//! relations, so a request that fails validation never touches the database.

use std::sync::{Arc, Mutex};

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use std::collections::HashMap;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::accounts::{self, tokens::AccessClaims};
use crate::domain::consent::{self, Purpose};
use crate::domain::tenancy::Tenant;
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Category, Column, Relations};

/// The audit write shared by every field of one (subject, category) in a request.
type AuditOnce = Arc<OnceCell<()>>;

/// Who sent the request, as far as the HTTP layer could tell without the database.
#[derive(Clone, Debug)]
pub enum Principal {
    Anonymous,
    /// A signed, unexpired access token of this tenant; its session is checked on first use.
    Token(AccessClaims),
}

/// Everything one GraphQL request knows about itself.
pub struct RequestCtx {
    pub request_id: String,
    pub tenant: Arc<Tenant>,
    pub principal: Principal,
    /// A stable key for the client (its address), used only for log-in throttling.
    pub client_key: Option<String>,
    actor: OnceCell<Result<Actor, ()>>,
    relations: OnceCell<Relations>,
    audited: Mutex<HashMap<(Uuid, Category), AuditOnce>>,
    pub marketing_consent: DataLoader<MarketingConsentLoader>,
    /// Batches nested lists (catalogue, learning, users). Cached for the request, so a list
    /// resolver can prime it with what it already knows (see `catalog::prime`).
    pub batch: DataLoader<super::loaders::Batch, HashMapCache>,
}

impl RequestCtx {
    pub fn new(
        services: &Services,
        request_id: String,
        tenant: Arc<Tenant>,
        principal: Principal,
        client_key: Option<String>,
    ) -> Self {
        let loader = MarketingConsentLoader { services: services.clone(), tenant_id: tenant.id };
        let batch = super::loaders::Batch { services: services.clone(), tenant_id: tenant.id };
        RequestCtx {
            request_id,
            tenant,
            principal,
            client_key,
            actor: OnceCell::new(),
            relations: OnceCell::new(),
            audited: Mutex::new(HashMap::new()),
            marketing_consent: DataLoader::new(loader, tokio::spawn),
            batch: DataLoader::with_cache(batch, tokio::spawn, HashMapCache::default()),
        }
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
                        if accounts::session_is_open(services, self.tenant.id, c.sid, c.sub).await?
                        {
                            Ok(Actor::user(
                                self.tenant.id,
                                c.sub,
                                Some(c.sid),
                                c.role_set(),
                                self.request_id.clone(),
                            ))
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

    /// The actor's relations to other people, loaded once per request.
    /// Loads one value through the batch loader.
    pub async fn load<K>(
        &self,
        key: K,
    ) -> AppResult<Option<<super::loaders::Batch as Loader<K>>::Value>>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        super::loaders::Batch: Loader<K, Error = Arc<AppError>>,
    {
        self.batch.load_one(key).await.map_err(|e| {
            tracing::error!(error.chain = %crate::error::Chain(&*e), "batch load failed");
            AppError::internal("loading a batch", e.to_string())
        })
    }

    pub async fn relations(&self, services: &Services, actor: &Actor) -> AppResult<&Relations> {
        self.relations.get_or_try_init(|| accounts::relations(services, actor)).await
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

/// Batches "does this person consent to marketing e-mail right now" for a whole list.
pub struct MarketingConsentLoader {
    services: Services,
    tenant_id: Uuid,
}

impl Loader<Uuid> for MarketingConsentLoader {
    type Value = bool;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, bool>, Self::Error> {
        let given =
            consent::given_for(&self.services, self.tenant_id, keys, Purpose::MarketingEmail)
                .await
                .map_err(Arc::new)?;
        Ok(keys.iter().map(|k| (*k, given.contains(k))).collect())
    }
}

/// What a resolver acting for a signed-in person starts with: the services, the actor (whose
/// session is checked) and their relations (cached for the request).
pub async fn signed_in<'a>(ctx: &Context<'a>) -> AppResult<(&'a Services, Actor, &'a Relations)> {
    let s = services(ctx)?;
    let rc = request(ctx)?;
    let actor = rc.user_actor(s).await?;
    let relations = rc.relations(s, &actor).await?;
    Ok((s, actor, relations))
}

/// The shared services.
pub fn services<'a>(ctx: &Context<'a>) -> AppResult<&'a Services> {
    ctx.data::<Services>()
        .map_err(|_| AppError::internal("reading the schema data", "services missing"))
}

/// The request context.
pub fn request<'a>(ctx: &Context<'a>) -> AppResult<&'a RequestCtx> {
    ctx.data::<RequestCtx>()
        .map_err(|_| AppError::internal("reading the request data", "request context missing"))
}
