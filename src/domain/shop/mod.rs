//! The shop: orders priced on the server from the catalogue, seats held while the buyer pays,
//! paid orders with their invoice, refunds with their credit note, and the expiry of unpaid
//! orders.
//!
//! An order is created in two steps so that no database transaction (and no seat lock) is held
//! while Stripe is called: (1) one transaction writes the order and its lines and takes the
//! seats (pending payment, held until `hold_expires_at`); (2) the PaymentIntent is created with
//! an idempotency key derived from the order id, then attached. If Stripe fails, a compensating
//! transaction gives the seats back and deletes the order: no half-created order survives. If the
//! process dies in between, the expiry job does the same once the hold has passed.
//!
//! Status moves only forward: pending → awaiting payment ⇄ payment failed → paid → partially
//! refunded → refunded; an unpaid order may be cancelled. Every transition is a guarded UPDATE
//! (`… WHERE status IN (…)`), so webhooks, the expiry job and staff actions can race safely.
//!
//! This module must never see card data and never log billing addresses or client secrets.

pub mod invoice;
pub mod refund;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionSession, TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Services;
use super::catalog::CourseStatus;
use super::learning::{self, EnrollmentStatus};
use super::payments::{GatewayError, IntentStatus, IntentView};
use super::tenancy::scoped;
use super::types::PostalAddress;
use crate::entities::{course, eo_application, order, order_line, outbox, session};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Relations};

/// Order states (SPEC §3), plus `payment_failed`: the last attempt was declined, the seats are
/// still held and the buyer may try again until the hold expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    Pending,
    AwaitingPayment,
    PaymentFailed,
    Paid,
    PartiallyRefunded,
    Refunded,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::AwaitingPayment,
        OrderStatus::PaymentFailed,
        OrderStatus::Paid,
        OrderStatus::PartiallyRefunded,
        OrderStatus::Refunded,
        OrderStatus::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::Paid => "paid",
            OrderStatus::PartiallyRefunded => "partially_refunded",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|o| o.as_str() == s)
    }
    /// Not paid yet, seats held.
    pub const UNPAID: [&'static str; 3] = ["pending", "awaiting_payment", "payment_failed"];
}

/// At most this many sessions in one order.
pub const MAX_LINES: usize = 10;

/// What a buyer asks for. Amounts are never part of it: the server prices the catalogue.
#[derive(Clone)]
pub struct OrderRequest {
    pub idempotency_key: String,
    pub sessions: Vec<Uuid>,
    /// The learner to enroll: the buyer (`None`) or one of their wards.
    pub learner: Option<Uuid>,
    /// The currency the storefront showed; refused if the catalogue prices differ.
    pub currency: Option<String>,
    pub billing_name: String,
    pub billing_address: PostalAddress,
}

impl std::fmt::Debug for OrderRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The billing name and address are personal data: never printed.
        f.debug_struct("OrderRequest")
            .field("sessions", &self.sessions)
            .field("learner", &self.learner)
            .finish_non_exhaustive()
    }
}

/// An order with its lines.
#[derive(Clone, Debug)]
pub struct OrderRecord {
    pub order: order::Model,
    pub lines: Vec<order_line::Model>,
}

/// Checks the idempotency key: 8–100 characters of `[A-Za-z0-9_.:-]`.
pub fn parse_idempotency_key(field: &str, raw: &str) -> AppResult<String> {
    let k = raw.trim();
    if !(8..=100).contains(&k.len())
        || !k.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
    {
        return Err(AppError::bad_input(
            field,
            "must be 8 to 100 characters among letters, digits, `_`, `.`, `:` and `-`",
        ));
    }
    Ok(k.to_owned())
}

/// The tax included in a tax-inclusive amount at `rate_bp` basis points, rounded half up.
pub fn included_tax(amount: i64, rate_bp: i32) -> i64 {
    let rate = i64::from(rate_bp.max(0));
    let denom = 10_000 + rate;
    (amount * rate * 2 + denom) / (2 * denom)
}

fn request_hash(buyer: Uuid, learner: Uuid, r: &OrderRequest) -> String {
    let canonical = json!({
        "buyer": buyer,
        "learner": learner,
        "sessions": r.sessions,
        "currency": r.currency,
        "billing": [&r.billing_name, &r.billing_address.line1, &r.billing_address.line2, &r.billing_address.postal_code,
                    &r.billing_address.city, &r.billing_address.country],
    });
    Sha256::digest(canonical.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// How a billing address is stored on orders and in invoice snapshots (JSON, camelCase keys).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredAddress {
    line1: String,
    line2: Option<String>,
    postal_code: String,
    city: String,
    country: String,
}

/// The stored form of a billing address.
pub fn address_value(a: &PostalAddress) -> serde_json::Value {
    let s = StoredAddress {
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        postal_code: a.postal_code.clone(),
        city: a.city.clone(),
        country: a.country.clone(),
    };
    serde_json::to_value(s).unwrap_or(serde_json::Value::Null)
}

fn address_json(a: &PostalAddress) -> String {
    address_value(a).to_string()
}

/// The billing address stored on an order or invoice.
pub fn stored_address(raw: &str) -> Option<PostalAddress> {
    stored_address_value(&serde_json::from_str(raw).ok()?)
}

/// A billing address from its stored form (an order's column or an invoice snapshot).
pub fn stored_address_value(v: &serde_json::Value) -> Option<PostalAddress> {
    let s: StoredAddress = serde_json::from_value(v.clone()).ok()?;
    Some(PostalAddress {
        line1: s.line1,
        line2: s.line2,
        postal_code: s.postal_code,
        city: s.city,
        country: s.country,
    })
}

struct PricedLine {
    session: session::Model,
    course: course::Model,
    total: i64,
    tax: i64,
}

/// Prices the requested sessions from the catalogue; every refusal names the offending line.
async fn price(
    services: &Services,
    tenant_id: Uuid,
    r: &OrderRequest,
    learner: Uuid,
    now: DateTime<Utc>,
) -> AppResult<(Vec<PricedLine>, String)> {
    if r.sessions.is_empty() || r.sessions.len() > MAX_LINES {
        return Err(AppError::bad_input(
            "input.lines",
            format!("must hold 1 to {MAX_LINES} sessions"),
        ));
    }
    let sessions = super::catalog::sessions_by_id(services, tenant_id, &r.sessions).await?;
    let course_ids: Vec<Uuid> = sessions.values().map(|s| s.course_id).collect();
    let courses = super::catalog::courses_by_id(services, tenant_id, &course_ids).await?;
    // Approved equal-opportunity applications of the learner discount their course.
    let discounts =
        super::equal_opportunity::approved_discounts(&services.db, tenant_id, learner, &course_ids)
            .await?;
    let mut lines = Vec::with_capacity(r.sessions.len());
    let mut currency: Option<String> = r.currency.as_ref().map(|c| c.to_uppercase());
    for (i, id) in r.sessions.iter().enumerate() {
        let field = format!("input.lines.{i}.sessionId");
        if r.sessions[..i].contains(id) {
            return Err(AppError::bad_input(field, "this session is already in the order"));
        }
        let s = sessions.get(id).ok_or_else(|| AppError::bad_input(&field, "no such session"))?;
        let c = courses
            .get(&s.course_id)
            .ok_or_else(|| AppError::bad_input(&field, "no such session"))?;
        if c.status != CourseStatus::Published.as_str() || s.cancelled {
            return Err(AppError::bad_input(field, "this session is not on sale"));
        }
        if s.starts_at <= now {
            return Err(AppError::bad_input(field, "this session has already started"));
        }
        if c.price_cents <= 0 {
            return Err(AppError::bad_input(
                field,
                "this session is free: enroll instead of ordering",
            ));
        }
        match &currency {
            Some(cur) if *cur != c.currency => {
                let at = if r.currency.is_some() { "input.currency".to_owned() } else { field };
                return Err(AppError::bad_input(
                    at,
                    format!(
                        "currency mismatch: {} is priced in {}, not {cur}",
                        c.title_safe(),
                        c.currency
                    ),
                ));
            }
            Some(_) => {}
            None => currency = Some(c.currency.clone()),
        }
        let total = c.price_cents - discount_of(c.price_cents, discounts.get(&c.id).copied());
        lines.push(PricedLine {
            session: s.clone(),
            course: c.clone(),
            total,
            tax: included_tax(total, c.tax_rate_bp),
        });
    }
    Ok((lines, currency.unwrap_or_default()))
}

/// The discount of `percent` on `price`, rounded half up (none without a percent).
pub fn discount_of(price: i64, percent: Option<i32>) -> i64 {
    match percent {
        Some(p) => (price * i64::from(p.clamp(0, 100)) * 2 + 100) / 200,
        None => 0,
    }
}

/// A course title is catalogue data, not personal data; this just bounds it for messages.
trait TitleSafe {
    fn title_safe(&self) -> String;
}
impl TitleSafe for course::Model {
    fn title_safe(&self) -> String {
        self.title.chars().take(80).collect()
    }
}

/// Creates an order (or returns the one already made with this idempotency key), holds its
/// seats and creates its PaymentIntent. See the module documentation for the two steps.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id))]
pub async fn create_order(
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
    let order_id = Uuid::now_v7();
    let subtotal: i64 = priced.iter().map(|l| l.course.price_cents).sum();
    let total: i64 = priced.iter().map(|l| l.total).sum();
    let tax: i64 = priced.iter().map(|l| l.tax).sum();
    let model = order::Model {
        id: order_id,
        tenant_id: actor.tenant_id,
        buyer_id: Some(buyer),
        learner_id: Some(learner),
        status: OrderStatus::Pending.as_str().into(),
        currency: currency.clone(),
        subtotal_cents: subtotal,
        discount_cents: subtotal - total,
        tax_cents: tax,
        total_cents: total,
        refunded_cents: 0,
        idempotency_key: r.idempotency_key.clone(),
        request_hash: hash.clone(),
        billing_name: r.billing_name.clone(),
        billing_address: address_json(&r.billing_address),
        payment_intent_id: None,
        client_secret: None,
        last_payment_error: None,
        hold_expires_at: hold,
        paid_at: None,
        closed_at: None,
        created_at: now,
        updated_at: now,
    };

    // Step 1: the order, its lines and its seats, all or nothing.
    let txn = services.db.begin().await?;
    if let Err(e) = order::Entity::insert(order::ActiveModel::from(model.clone()))
        .exec_without_returning(&txn)
        .await
    {
        let e = AppError::from(e);
        drop(txn);
        if e.is_unique_violation() {
            // The same key raced in from another request: answer like a replay.
            let existing =
                by_key(services, actor.tenant_id, buyer, &r.idempotency_key).await?.ok_or(e)?;
            return replay(services, existing, &hash).await;
        }
        return Err(e);
    }
    // Seats are taken in session-id order so that two orders for the same sessions lock them
    // in the same order.
    let mut seat_order: Vec<usize> = (0..priced.len()).collect();
    seat_order.sort_by_key(|&i| priced[i].session.id);
    let mut enrollments = vec![None; priced.len()];
    for i in seat_order {
        let e = learning::take_seat(
            &txn,
            actor.tenant_id,
            priced[i].session.id,
            learner,
            EnrollmentStatus::PendingPayment,
            now,
            Some(hold),
        )
        .await
        .map_err(|e| match e {
            AppError::Conflict(m) => AppError::Conflict(format!("line {i}: {m}")),
            other => other,
        })?;
        enrollments[i] = Some(e.id);
    }
    let mut lines = Vec::with_capacity(priced.len());
    for (i, (l, enrollment)) in priced.iter().zip(enrollments).enumerate() {
        let label =
            format!("{} — session du {}", l.course.title, l.session.starts_at.format("%d/%m/%Y"));
        lines.push(order_line::Model {
            id: Uuid::now_v7(),
            tenant_id: actor.tenant_id,
            order_id,
            position: i as i32,
            session_id: l.session.id,
            course_id: l.course.id,
            description: label,
            unit_price_cents: l.course.price_cents,
            tax_rate_bp: l.course.tax_rate_bp,
            discount_cents: l.course.price_cents - l.total,
            tax_cents: l.tax,
            total_cents: l.total,
            enrollment_id: enrollment,
        });
    }
    order_line::Entity::insert_many(lines.iter().cloned().map(order_line::ActiveModel::from))
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;

    // Fully discounted (an approved application at 100 %): nothing to pay, no PaymentIntent.
    if total == 0 {
        let txn = services.db.begin().await?;
        let free = IntentView {
            id: String::new(),
            client_secret: None,
            status: IntentStatus::Succeeded,
            amount: 0,
            amount_received: 0,
            currency: currency.to_lowercase(),
            metadata: Default::default(),
            last_error: None,
        };
        apply_payment(&txn, services, &model, &free).await?;
        txn.commit().await?;
        let order =
            order_by_id(services, actor.tenant_id, order_id).await?.ok_or(AppError::NotFound)?;
        return Ok(OrderRecord { order, lines });
    }

    // Step 2: the PaymentIntent, outside any transaction.
    if let Err(e) = attach_intent(services, &model).await {
        undo_order(services, &model, &lines).await?;
        return Err(gateway_error(e, "nothing was kept, retry later"));
    }
    let order =
        order_by_id(services, actor.tenant_id, order_id).await?.ok_or(AppError::NotFound)?;
    Ok(OrderRecord { order, lines })
}

/// Creates the order's PaymentIntent (Stripe idempotency key `pupitre-order-<id>`, so a second
/// attempt for the same order gets the same intent) and attaches it to the still-pending order.
async fn attach_intent(services: &Services, o: &order::Model) -> Result<(), GatewayError> {
    let metadata = [("order_id", o.id.to_string()), ("tenant_id", o.tenant_id.to_string())];
    let metadata: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let description = format!("Pupitre order {}", o.id.simple());
    let key = format!("pupitre-order-{}", o.id);
    let gw = &services.payments.gateway;
    let intent = services
        .payments
        .stats
        .time(gw.create_payment_intent(
            o.total_cents,
            &o.currency.to_lowercase(),
            &metadata,
            &description,
            &key,
        ))
        .await?;
    let attached = order::Entity::update_many()
        .col_expr(order::Column::PaymentIntentId, Expr::value(intent.id.clone()))
        .col_expr(order::Column::ClientSecret, Expr::value(intent.client_secret.clone()))
        .col_expr(order::Column::Status, Expr::value(OrderStatus::AwaitingPayment.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(services.clock.now()))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(OrderStatus::Pending.as_str()))
        .filter(order::Column::PaymentIntentId.is_null())
        .exec(&services.db)
        .await
        .map_err(|e| GatewayError::Protocol(format!("attaching the PaymentIntent: {e}")))?;
    if attached.rows_affected != 1 {
        tracing::info!(order.id = %o.id, "PaymentIntent already attached (or the order left the pending state)");
    }
    // A discount approved while the intent was being created lowered the order, not the intent.
    let now_total = order::Entity::find_by_id(o.id)
        .one(&services.db)
        .await
        .map_err(|e| GatewayError::Protocol(format!("re-reading the order: {e}")))?
        .map(|x| x.total_cents);
    if let Some(t) = now_total.filter(|t| *t != intent.amount && *t > 0) {
        let gw = &services.payments.gateway;
        services
            .payments
            .stats
            .time(gw.update_payment_intent_amount(
                &intent.id,
                t,
                &format!("pupitre-discount-{}-{t}", o.id),
            ))
            .await?;
    }
    Ok(())
}

/// The compensation of a failed step 2: order gone, seats back. The delete comes first so that
/// on SQLite the transaction starts with a write (and takes the write lock at once).
async fn undo_order(
    services: &Services,
    model: &order::Model,
    lines: &[order_line::Model],
) -> AppResult<()> {
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    order::Entity::delete_many().filter(order::Column::Id.eq(model.id)).exec(&txn).await?;
    for e in seat_order(lines) {
        learning::release(&txn, model.tenant_id, e, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The enrollments of `lines` in session-id order: every path that locks several sessions
/// locks them in this order, so two of them can never deadlock.
fn seat_order(lines: &[order_line::Model]) -> Vec<Uuid> {
    let mut by_session: Vec<&order_line::Model> = lines.iter().collect();
    by_session.sort_by_key(|l| l.session_id);
    by_session.into_iter().filter_map(|l| l.enrollment_id).collect()
}

/// Maps a Stripe failure to what the client can act on; `then` tells what became of the
/// operation when Stripe could not be reached.
pub fn gateway_error(e: GatewayError, then: &'static str) -> AppError {
    match e {
        GatewayError::Unavailable(_) => AppError::Unavailable { then, source: Box::new(e) },
        GatewayError::Rejected { ref code, .. }
            if code == "amount_too_small" || code == "amount_too_large" =>
        {
            AppError::bad_input(
                "input.lines",
                "the order total is outside what the payment provider accepts",
            )
        }
        other => AppError::internal("calling the payment provider", other),
    }
}

async fn by_key(
    services: &Services,
    tenant_id: Uuid,
    buyer: Uuid,
    key: &str,
) -> AppResult<Option<order::Model>> {
    Ok(scoped::<order::Entity>(tenant_id)
        .filter(order::Column::BuyerId.eq(buyer))
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(&services.db)
        .await?)
}

async fn replay(services: &Services, existing: order::Model, hash: &str) -> AppResult<OrderRecord> {
    if existing.request_hash != hash {
        return Err(AppError::Conflict(
            "this idempotency key was already used for a different order".into(),
        ));
    }
    let mut existing = existing;
    if existing.status == OrderStatus::Pending.as_str()
        && existing.payment_intent_id.is_none()
        && existing.hold_expires_at > services.clock.now()
    {
        // Step 2 never finished (a crash, or the first request is still at it): finish it. The
        // same Stripe key gives the same intent; if Stripe is down the order stays as it is.
        attach_intent(services, &existing)
            .await
            .map_err(|e| gateway_error(e, "the order is kept, retry later"))?;
        existing = order_by_id(services, existing.tenant_id, existing.id)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    let lines = lines_of(services, existing.tenant_id, &[existing.id])
        .await?
        .remove(&existing.id)
        .unwrap_or_default();
    Ok(OrderRecord { order: existing, lines })
}

pub async fn order_by_id(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<order::Model>> {
    Ok(scoped::<order::Entity>(tenant_id)
        .filter(order::Column::Id.eq(id))
        .one(&services.db)
        .await?)
}

/// Lines of several orders, in their order.
pub async fn lines_of(
    services: &Services,
    tenant_id: Uuid,
    orders: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, Vec<order_line::Model>>> {
    let rows = scoped::<order_line::Entity>(tenant_id)
        .filter(order_line::Column::OrderId.is_in(orders.iter().copied()))
        .order_by_asc(order_line::Column::Position)
        .all(&services.db)
        .await?;
    let mut out: std::collections::HashMap<Uuid, Vec<order_line::Model>> =
        std::collections::HashMap::new();
    for r in rows {
        out.entry(r.order_id).or_default().push(r);
    }
    Ok(out)
}

/// Orders several ids at once (loaders).
pub async fn orders_by_id(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, order::Model>> {
    let rows = scoped::<order::Entity>(tenant_id)
        .filter(order::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(rows.into_iter().map(|o| (o.id, o)).collect())
}

/// Which buyers' orders an actor may see: everyone's (`None`) for staff whose column reads
/// order status (billing, support, privacy officer), otherwise their own and their wards'.
/// An order's data belongs to its buyer: a ward enrolled by a guardian's order does not see
/// the guardian's billing data.
pub fn order_scope(actor: &Actor, relations: &Relations) -> Option<Vec<Uuid>> {
    if policy::sees_all_orders(actor) {
        return None;
    }
    Some(policy::people_acted_for(actor, relations))
}

/// Filters of the order list.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub buyer: Option<Uuid>,
}

/// A page of orders (newest first) and the total count.
pub async fn list_orders(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    filter: &OrderFilter,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<order::Model>, u64)> {
    if actor.user_id.is_none() {
        return Err(AppError::Unauthenticated);
    }
    let mut q = scoped::<order::Entity>(actor.tenant_id);
    if let Some(people) = order_scope(actor, relations) {
        q = q.filter(order::Column::BuyerId.is_in(people));
    }
    if let Some(s) = filter.status {
        q = q.filter(order::Column::Status.eq(s.as_str()));
    }
    if let Some(b) = filter.buyer {
        q = q.filter(order::Column::BuyerId.eq(b));
    }
    let total = q.clone().count(&services.db).await?;
    let rows = q
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(&services.db)
        .await?;
    Ok((rows, total))
}

/// One order, if the actor may see it at all (status at least); `NOT_FOUND` otherwise.
pub async fn visible_order(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<order::Model> {
    let o = order_by_id(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    match order_scope(actor, relations) {
        None => Ok(o),
        Some(people) => {
            let mine = o.buyer_id.is_some_and(|b| people.contains(&b));
            if mine { Ok(o) } else { Err(AppError::NotFound) }
        }
    }
}

/// The outcome of applying a payment to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The order became paid now (enrollments activated, invoice issued, receipt queued).
    Applied,
    /// Already paid (or further): nothing to do.
    AlreadyDone,
    /// The amount or currency does not match the order: not applied, flagged in the logs.
    Mismatch,
    /// The order had been cancelled and its seats could not all be taken back.
    SeatsGone,
}

/// Marks an order paid inside `txn`: enrollments activated (or re-taken, for an order that
/// expired meanwhile), invoice issued with the next number, receipt queued. Guarded: only an
/// unpaid (or cancelled-unpaid) order moves.
pub async fn apply_payment<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    services: &Services,
    order: &order::Model,
    intent: &IntentView,
) -> AppResult<PaymentOutcome> {
    // A savepoint: an order whose seats cannot all be had stays exactly as it was.
    let sp = conn.begin().await?;
    let outcome = apply_payment_in(&sp, services, order, intent).await?;
    if matches!(outcome, PaymentOutcome::SeatsGone | PaymentOutcome::Mismatch) {
        sp.rollback().await?;
    } else {
        sp.commit().await?;
    }
    Ok(outcome)
}

async fn apply_payment_in<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    services: &Services,
    order: &order::Model,
    intent: &IntentView,
) -> AppResult<PaymentOutcome> {
    if intent.status != IntentStatus::Succeeded {
        return Ok(PaymentOutcome::AlreadyDone);
    }
    if !intent.currency.eq_ignore_ascii_case(&order.currency) {
        tracing::error!(order.id = %order.id, "payment currency differs from the order; not applied");
        return Ok(PaymentOutcome::Mismatch);
    }
    let mut order = order.clone();
    if intent.amount_received != order.total_cents {
        // A discount granted while the buyer was paying may have reached Stripe and not the
        // order (or the other way round): price the order again with the discounts approved
        // now; it is paid if that is what was received.
        let total = reprice(conn, &order).await?;
        if total != intent.amount_received {
            tracing::error!(order.id = %order.id, "payment amount differs from the order; not applied");
            return Ok(PaymentOutcome::Mismatch);
        }
        order = scoped::<order::Entity>(order.tenant_id)
            .filter(order::Column::Id.eq(order.id))
            .one(conn)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    let order = &order;
    let now = services.clock.now();
    // An order the expiry job cancelled (unpaid) can still be paid: its seats are taken again
    // below if they are free.
    let mut from: Vec<&str> = OrderStatus::UNPAID.to_vec();
    from.push(OrderStatus::Cancelled.as_str());
    let mut moved = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Paid.as_str()))
        .col_expr(order::Column::PaidAt, Expr::value(now))
        .col_expr(order::Column::ClosedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(order::Column::LastPaymentError, Expr::value(Option::<String>::None))
        .col_expr(order::Column::UpdatedAt, Expr::value(now));
    if !intent.id.is_empty() {
        moved = moved.col_expr(order::Column::PaymentIntentId, Expr::value(intent.id.clone()));
    }
    let moved = moved
        .filter(order::Column::Id.eq(order.id))
        .filter(order::Column::Status.is_in(from))
        .filter(order::Column::PaidAt.is_null())
        .exec(conn)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(PaymentOutcome::AlreadyDone);
    }
    let mut lines = scoped::<order_line::Entity>(order.tenant_id)
        .filter(order_line::Column::OrderId.eq(order.id))
        .order_by_asc(order_line::Column::SessionId)
        .all(conn)
        .await?;
    let learner = order.learner_id.or(order.buyer_id).ok_or(AppError::NotFound)?;
    // Session-id order, as everywhere seats are taken or given back (see `seat_order`).
    for l in &lines {
        let activated = match l.enrollment_id {
            Some(e) => learning::activate_paid(conn, order.tenant_id, e, now).await?,
            None => false,
        };
        if !activated {
            // The hold expired and the seat went back: take one again, if any is left.
            match learning::take_seat(
                conn,
                order.tenant_id,
                l.session_id,
                learner,
                EnrollmentStatus::Active,
                now,
                None,
            )
            .await
            {
                Ok(e) => {
                    order_line::Entity::update_many()
                        .col_expr(order_line::Column::EnrollmentId, Expr::value(e.id))
                        .filter(order_line::Column::Id.eq(l.id))
                        .exec(conn)
                        .await?;
                }
                Err(AppError::Conflict(_)) => return Ok(PaymentOutcome::SeatsGone),
                Err(e) => return Err(e),
            }
        }
    }
    lines.sort_by_key(|l| l.position);
    let inv = invoice::issue_invoice(conn, order, &lines, now).await?;
    queue_mail(
        conn,
        order.tenant_id,
        order.buyer_id,
        "payment_receipt",
        json!({ "orderId": order.id, "invoiceId": inv.id }),
        now,
    )
    .await?;
    Ok(PaymentOutcome::Applied)
}

/// Prices an order's lines again with the discounts approved for its learner now, and saves
/// lines and totals in `conn` (the caller's transaction). Returns the new total.
async fn reprice<C: ConnectionTrait>(conn: &C, o: &order::Model) -> AppResult<i64> {
    let lines = scoped::<order_line::Entity>(o.tenant_id)
        .filter(order_line::Column::OrderId.eq(o.id))
        .all(conn)
        .await?;
    let learner = o.learner_id.or(o.buyer_id).ok_or(AppError::NotFound)?;
    let courses: Vec<Uuid> = lines.iter().map(|l| l.course_id).collect();
    let approved =
        super::equal_opportunity::approved_discounts(conn, o.tenant_id, learner, &courses).await?;
    let (mut total, mut tax_sum) = (0, 0);
    for l in &lines {
        let discount = discount_of(l.unit_price_cents, approved.get(&l.course_id).copied());
        let line_total = l.unit_price_cents - discount;
        let tax = included_tax(line_total, l.tax_rate_bp);
        total += line_total;
        tax_sum += tax;
        if discount != l.discount_cents {
            order_line::Entity::update_many()
                .col_expr(order_line::Column::DiscountCents, Expr::value(discount))
                .col_expr(order_line::Column::TotalCents, Expr::value(line_total))
                .col_expr(order_line::Column::TaxCents, Expr::value(tax))
                .filter(order_line::Column::Id.eq(l.id))
                .exec(conn)
                .await?;
        }
    }
    order::Entity::update_many()
        .col_expr(order::Column::DiscountCents, Expr::value(o.subtotal_cents - total))
        .col_expr(order::Column::TotalCents, Expr::value(total))
        .col_expr(order::Column::TaxCents, Expr::value(tax_sum))
        .filter(order::Column::Id.eq(o.id))
        .exec(conn)
        .await?;
    Ok(total)
}

/// What an order would cost with the discounts approved now (no write).
async fn repriced_total(services: &Services, o: &order::Model) -> AppResult<i64> {
    let lines = lines_of(services, o.tenant_id, &[o.id]).await?.remove(&o.id).unwrap_or_default();
    let learner = o.learner_id.or(o.buyer_id).ok_or(AppError::NotFound)?;
    let courses: Vec<Uuid> = lines.iter().map(|l| l.course_id).collect();
    let approved =
        super::equal_opportunity::approved_discounts(&services.db, o.tenant_id, learner, &courses)
            .await?;
    Ok(lines
        .iter()
        .map(|l| {
            l.unit_price_cents
                - discount_of(l.unit_price_cents, approved.get(&l.course_id).copied())
        })
        .sum())
}

/// Applies an approved application's discount to the applicant's unpaid orders: the
/// PaymentIntent's amount is lowered at Stripe first, then the order is priced again under its
/// lock. Should the second step not happen, the payment heals it (see [`apply_payment`]); an
/// intent Stripe will not change (already being paid) keeps the order at its price.
pub async fn apply_approved_discount(
    services: &Services,
    a: &eo_application::Model,
) -> AppResult<u64> {
    let unpaid = scoped::<order::Entity>(a.tenant_id)
        .filter(order::Column::LearnerId.eq(a.applicant_id))
        .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
        .all(&services.db)
        .await?;
    let mut changed = 0;
    for o in unpaid {
        let total = repriced_total(services, &o).await?;
        if total == o.total_cents || total == 0 {
            // Nothing changes, or nothing is left to pay through Stripe: a 100 % discount
            // applies to a new order (which is free), not to one already asking for payment.
            continue;
        }
        if let Some(pi) = &o.payment_intent_id {
            let key = format!("pupitre-discount-{}-{total}", o.id);
            if let Err(e) = services
                .payments
                .stats
                .time(services.payments.gateway.update_payment_intent_amount(pi, total, &key))
                .await
            {
                tracing::warn!(order.id = %o.id, error = %e, "could not lower the PaymentIntent of an unpaid order; it keeps its price");
                continue;
            }
        }
        let now = services.clock.now();
        let txn = services.db.begin().await?;
        let locked = order::Entity::update_many()
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .filter(order::Column::Id.eq(o.id))
            .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
            .exec(&txn)
            .await?;
        if locked.rows_affected == 1 {
            reprice(&txn, &o).await?;
            changed += 1;
        }
        txn.commit().await?;
    }
    Ok(changed)
}

/// Queues an e-mail in the caller's transaction (delivered by the outbox worker).
pub async fn queue_mail<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    recipient: Option<Uuid>,
    kind: &str,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    outbox::Entity::insert(outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        recipient_id: Set(recipient),
        kind: Set(kind.to_owned()),
        payload: Set(payload.to_string()),
        status: Set("queued".into()),
        attempts: Set(0),
        created_at: Set(now),
        sent_at: Set(None),
    })
    .on_conflict(OnConflict::column(outbox::Column::Id).do_nothing().to_owned())
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Moves an unpaid order to `to` (processing clears a failure; a decline records it).
pub async fn mark_unpaid_state<C: ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
    to: OrderStatus,
    error: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let from: &[&str] = match to {
        OrderStatus::AwaitingPayment => &["pending", "payment_failed"],
        OrderStatus::PaymentFailed => &["pending", "awaiting_payment"],
        _ => &[],
    };
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .col_expr(order::Column::LastPaymentError, Expr::value(error))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.is_in(from.iter().copied()))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Cancels an unpaid order and frees its seats, in `conn`'s transaction. Guarded and idempotent.
pub async fn cancel_unpaid<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Cancelled.as_str()))
        .col_expr(order::Column::ClosedAt, Expr::value(now))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order.id))
        .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
        .exec(conn)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    release_seats(conn, order, now).await?;
    Ok(true)
}

/// Frees the seats of every line of `order`.
pub async fn release_seats<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let lines = scoped::<order_line::Entity>(order.tenant_id)
        .filter(order_line::Column::OrderId.eq(order.id))
        .all(conn)
        .await?;
    for e in seat_order(&lines) {
        learning::release(conn, order.tenant_id, e, now).await?;
    }
    Ok(())
}

/// Expires unpaid orders whose hold has passed (every tenant), at most `batch` per call.
/// For an order with a PaymentIntent, Stripe is asked first: a payment that succeeded is
/// applied instead; otherwise the intent is cancelled at Stripe before the seats are freed, so
/// no late payment can land on a cancelled order. Safe on several instances at once.
pub async fn expire_orders(services: &Services, batch: u64) -> AppResult<ExpiryReport> {
    let now = services.clock.now();
    let due = order::Entity::find()
        .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
        .filter(order::Column::HoldExpiresAt.lte(now))
        .order_by_asc(order::Column::HoldExpiresAt)
        .limit(batch)
        .all(&services.db)
        .await?;
    let mut report = ExpiryReport::default();
    for o in due {
        if let Some(pi) = &o.payment_intent_id {
            let gw = &services.payments.gateway;
            match services.payments.stats.time(gw.retrieve_payment_intent(pi)).await {
                Ok(intent) if intent.status == IntentStatus::Succeeded => {
                    let txn = services.db.begin().await?;
                    match apply_payment(&txn, services, &o, &intent).await? {
                        PaymentOutcome::Applied => report.paid += 1,
                        PaymentOutcome::AlreadyDone => {}
                        other => {
                            tracing::error!(order.id = %o.id, outcome = ?other, "an expired order's payment cannot be applied; it needs a look");
                            report.deferred += 1;
                        }
                    }
                    txn.commit().await?;
                    continue;
                }
                Ok(intent) if intent.status != IntentStatus::Canceled => {
                    if let Err(e) = services.payments.stats.time(gw.cancel_payment_intent(pi)).await
                    {
                        // Maybe paid meanwhile, maybe Stripe is down: try again next round.
                        tracing::warn!(order.id = %o.id, error = %e, "could not cancel the PaymentIntent of an expired order");
                        report.deferred += 1;
                        continue;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(order.id = %o.id, error = %e, "could not check the PaymentIntent of an expired order");
                    report.deferred += 1;
                    continue;
                }
            }
        }
        let txn = services.db.begin().await?;
        if cancel_unpaid(&txn, &o, now).await? {
            report.cancelled += 1;
        }
        txn.commit().await?;
    }
    // Seats are freed only through their order (never by `learning::release_expired_holds`,
    // which would free the seats of an order kept because Stripe could not be asked).
    Ok(report)
}

/// What one expiry round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpiryReport {
    pub cancelled: u64,
    pub paid: u64,
    pub deferred: u64,
}

/// Sessions' courses for invoices and messages.
pub async fn course_titles(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, String>> {
    Ok(super::catalog::courses_by_id(services, tenant_id, ids)
        .await?
        .into_iter()
        .map(|(k, c)| (k, c.title))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn included_tax_is_rounded_half_up() {
        assert_eq!(included_tax(12_000, 2000), 2000);
        assert_eq!(included_tax(100, 2000), 17); // 16.67
        assert_eq!(included_tax(10_000, 0), 0);
        assert_eq!(included_tax(10_550, 550), 550);
    }

    #[test]
    fn idempotency_keys_are_bounded_and_plain() {
        assert!(parse_idempotency_key("k", "checkout-2026-11-26:abc").is_ok());
        assert!(parse_idempotency_key("k", "short").is_err());
        assert!(parse_idempotency_key("k", "has space in it").is_err());
        assert!(parse_idempotency_key("k", &"x".repeat(101)).is_err());
    }
}
