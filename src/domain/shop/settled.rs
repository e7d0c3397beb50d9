//! Orders settled outside Stripe: an order paid elsewhere (the demo's paid orders, or the
//! orders an organisation brings from its previous platform), written as checkout writes an
//! order and paid as a succeeded payment pays it, in one transaction: priced by the shop's
//! rules (`pricing`, approved discounts included), its seats taken under the capacity guard,
//! marked paid, its enrollments activated and its invoice issued. No PaymentIntent is made and
//! no receipt is mailed (the buyer paid elsewhere, and was answered there).
//!
//! Nothing here checks that money was received: this is for the operator's tools, never for a
//! buyer's request, and the API offers no way to reach it.

use chrono::Duration;
use sea_orm::{EntityTrait, TransactionTrait};

use super::checkout::{by_key, hold_seats, order_model, replay, request_hash};
use super::lifecycle::{self, PaymentOutcome, Receipt};
use super::pricing::price;
use super::{OrderRecord, OrderRequest, order_by_id};
use crate::domain::Services;
use crate::domain::payments::{IntentStatus, IntentView};
use crate::entities::order;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Relations};

/// Creates an order of `actor` (for themselves or a ward, as `create_order` checks) that was
/// paid outside Stripe, and applies its payment, in one transaction. The idempotency key
/// works as for `create_order`: the same request again answers the order already made.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    order.id = tracing::field::Empty,
))]
pub async fn create_paid_order(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    r: OrderRequest,
) -> AppResult<OrderRecord> {
    let buyer = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let learner = r.learner.unwrap_or(buyer);
    if !policy::acts_for(actor, relations, learner) {
        return Err(AppError::Forbidden);
    }
    let hash = request_hash(buyer, learner, &r);
    if let Some(existing) = by_key(services, actor.tenant_id, buyer, &r.idempotency_key).await? {
        return replay(services, existing, &hash).await;
    }
    let now = services.clock.now();
    let (priced, currency) = price(services, actor.tenant_id, &r, learner, now).await?;
    let hold = now + Duration::seconds(services.shop.hold_secs);
    let model =
        order_model(actor.tenant_id, buyer, learner, &r, hash, &currency, &priced, now, hold);
    tracing::Span::current().record("order.id", tracing::field::display(model.id));
    // Paid in full elsewhere: what a succeeded PaymentIntent of the whole amount would say.
    let paid = IntentView {
        id: String::new(),
        client_secret: None,
        status: IntentStatus::Succeeded,
        amount: model.total_cents,
        amount_received: model.total_cents,
        currency: currency.to_lowercase(),
        metadata: Default::default(),
        last_error: None,
    };
    let txn = services.db.begin().await?;
    order::Entity::insert(order::ActiveModel::from(model.clone()))
        .exec_without_returning(&txn)
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict("an order with this idempotency key exists")
        })?;
    let lines = hold_seats(&txn, &model, learner, &priced, now).await?;
    match lifecycle::apply(&txn, services, &model, &paid, Receipt::None).await? {
        PaymentOutcome::Applied => {}
        other => {
            return Err(AppError::internal("settling an order", format!("{other:?}")));
        }
    }
    txn.commit().await?;
    let order =
        order_by_id(services, actor.tenant_id, model.id).await?.ok_or(AppError::NotFound)?;
    Ok(OrderRecord { order, lines })
}
