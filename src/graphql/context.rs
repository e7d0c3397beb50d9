//! The GraphQL glue of a request: resolvers reach the shared services and the request's
//! [`RequestCtx`] (the same value the plain HTTP routes use) through `ctx`, and the per-request
//! batch loaders (async-graphql's `DataLoader`, which is GraphQL plumbing) beside it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use uuid::Uuid;

use super::loaders::Batch;
use crate::domain::Services;
use crate::domain::consent;
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Relations};
use crate::request::RequestCtx;

/// The batch loaders of one GraphQL request, scoped to its tenant.
pub struct Loaders {
    /// Batches "does this person consent to marketing by e-mail, by phone, right now" for the
    /// guards.
    pub marketing_consent: DataLoader<MarketingConsentLoader>,
    /// Batches nested lists (catalogue, learning, users). Cached for the request, so a list
    /// resolver can prime it with what it already knows (see `catalog::prime`).
    pub batch: DataLoader<Batch, HashMapCache>,
}

impl Loaders {
    pub fn new(services: &Arc<Services>, tenant_id: Uuid) -> Self {
        let consent = MarketingConsentLoader { services: services.clone(), tenant_id };
        let batch = Batch { services: services.clone(), tenant_id };
        // A batch is fetched by a task spawned on this worker as soon as the request's task
        // yields: by then every sibling in the list being resolved has asked for its key.
        // async-graphql's default waits 1 ms more on a timer (a helper thread's, without its
        // `tokio-timer` feature) for each round, which batched nothing more here (the
        // statement counts of `tests/learning.rs` and `tests/catalog.rs` hold either way).
        Loaders {
            marketing_consent: DataLoader::new(consent, tokio::spawn).delay(Duration::ZERO),
            batch: DataLoader::with_cache(batch, tokio::spawn, HashMapCache::default())
                .delay(Duration::ZERO),
        }
    }

    /// Loads one value through the batch loader.
    pub async fn load<K>(&self, key: K) -> AppResult<Option<<Batch as Loader<K>>::Value>>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        Batch: Loader<K, Error = Arc<AppError>>,
    {
        self.batch.load_one(key).await.map_err(|e| {
            tracing::error!(error.chain = %crate::error::Chain(&*e), "batch load failed");
            AppError::internal("loading a batch", e.to_string())
        })
    }
}

/// Batches "does this person consent to marketing by e-mail, by phone, right now" for a whole
/// list: one query.
pub struct MarketingConsentLoader {
    services: Arc<Services>,
    tenant_id: Uuid,
}

impl Loader<Uuid> for MarketingConsentLoader {
    type Value = consent::Marketing;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, consent::Marketing>, Self::Error> {
        consent::marketing_for(&self.services, self.tenant_id, keys).await.map_err(Arc::new)
    }
}

/// Hands `rc` (and the batch loaders of its tenant) to the resolvers of `request`.
pub fn with_request(
    request: async_graphql::Request,
    services: &Arc<Services>,
    rc: RequestCtx,
) -> async_graphql::Request {
    let loaders = Loaders::new(services, rc.tenant.id);
    request.data(rc).data(loaders)
}

/// What a resolver acting for a signed-in person starts with: the services, the actor (whose
/// session is checked) and their relations (cached for the request).
pub async fn signed_in<'a>(ctx: &Context<'a>) -> AppResult<(&'a Services, Actor, &'a Relations)> {
    let s = services(ctx)?;
    let (actor, relations) = request(ctx)?.signed_in(s).await?;
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

/// The request's batch loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> AppResult<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|_| AppError::internal("reading the request data", "loaders missing"))
}
