//! Paid demo orders, made as the shop makes them but paid without Stripe.
//!
//! `shop::create_order` always asks Stripe for a PaymentIntent, which the demo must never call;
//! so the seeder takes the order's steps itself, with the shop's own pieces: the seat is held
//! as the shop holds it (`learning::reserve`), the line is priced with the shop's rules
//! (`shop::discount_of` on the approved discounts, `shop::included_tax`), and
//! `shop::apply_payment` marks the order paid, activates the seat and issues the invoice, as a
//! succeeded payment does. Two direct writes remain, both on rows of the demo tenant: the order
//! with its line (the insert `create_order` would have made), and the removal of the receipt
//! `apply_payment` queues (nobody is to be mailed about demo orders).

use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use super::Seeder;
use crate::domain::outbox::MailKind;
use crate::domain::payments::{IntentStatus, IntentView};
use crate::domain::shop::{self, OrderStatus, PaymentOutcome};
use crate::domain::types::PostalAddress;
use crate::domain::{Services, accounts, learning};
use crate::entities::{course, order, order_line, outbox, session};
use crate::error::{AppError, AppResult};
use crate::policy::Actor;

/// The billing address of a demo buyer without a postal address.
const FALLBACK_ADDRESS: (&str, &str, &str, &str) = ("1 place de la Démo", "75001", "Paris", "FR");

/// A paid order of `session` by `buyer` for `learner`, on `booked`'s clock; returns the
/// learner's (active) enrollment. Its idempotency key is `demo-<enrollment id>`, which keeps
/// demo orders apart from those of the tests.
pub(super) async fn paid_order(
    s: &Seeder<'_>,
    booked: &Services,
    buyer: &Actor,
    learner: Uuid,
    c: &course::Model,
    session: &session::Model,
) -> AppResult<Uuid> {
    let bad = |what: &'static str| AppError::internal("seeding orders", what);
    let tenant_id = s.tenant.id;
    let now = booked.clock.now();
    let hold = now + Duration::seconds(booked.shop.hold_secs);
    let seat = learning::reserve(booked, tenant_id, session.id, learner, hold).await?;
    let buyer_id = buyer.user_id.ok_or_else(|| bad("a buyer without an account"))?;
    let person = accounts::find_record(s.services, tenant_id, buyer_id)
        .await?
        .ok_or_else(|| bad("unknown buyer"))?
        .user;
    let (line1, postal_code, city, country) = FALLBACK_ADDRESS;
    let address = PostalAddress::parse(
        "billingAddress",
        person.address_line1.as_deref().unwrap_or(line1),
        person.address_line2.as_deref(),
        person.postal_code.as_deref().unwrap_or(postal_code),
        person.city.as_deref().unwrap_or(city),
        person.country.as_deref().unwrap_or(country),
    )?;
    let approved =
        shop::pricing::approved_discounts(&s.services.db, tenant_id, learner, &[c.id]).await?;
    let discount = shop::discount_of(c.price_cents, approved.get(&c.id).copied());
    let total = c.price_cents - discount;
    let tax = shop::included_tax(total, c.tax_rate_bp);
    let o = order::Model {
        id: Uuid::now_v7(),
        tenant_id,
        buyer_id: Some(buyer_id),
        learner_id: Some(learner),
        status: OrderStatus::Pending,
        currency: c.currency.clone(),
        subtotal_cents: c.price_cents,
        discount_cents: discount,
        tax_cents: tax,
        total_cents: total,
        refunded_cents: 0,
        idempotency_key: format!("demo-{}", seat.id),
        request_hash: String::new(),
        billing_name: format!("{} {}", person.first_name, person.last_name),
        billing_address: shop::address_value(&address).to_string(),
        payment_intent_id: None,
        client_secret: None,
        last_payment_error: None,
        hold_expires_at: hold,
        paid_at: None,
        closed_at: None,
        created_at: now,
        updated_at: now,
    };
    let line = order_line::Model {
        id: Uuid::now_v7(),
        tenant_id,
        order_id: o.id,
        position: 0,
        session_id: session.id,
        course_id: c.id,
        description: format!("{} — session du {}", c.title, session.starts_at.format("%d/%m/%Y")),
        unit_price_cents: c.price_cents,
        tax_rate_bp: c.tax_rate_bp,
        discount_cents: discount,
        tax_cents: tax,
        total_cents: total,
        enrollment_id: Some(seat.id),
    };
    // Paid in full outside Stripe: what `create_order` itself hands `apply_payment` for a free
    // order, with the amount received.
    let paid = IntentView {
        id: String::new(),
        client_secret: None,
        status: IntentStatus::Succeeded,
        amount: total,
        amount_received: total,
        currency: c.currency.to_lowercase(),
        metadata: Default::default(),
        last_error: None,
    };
    let txn = s.services.db.begin().await?;
    order::Entity::insert(order::ActiveModel::from(o.clone())).exec_without_returning(&txn).await?;
    order_line::Entity::insert(order_line::ActiveModel::from(line))
        .exec_without_returning(&txn)
        .await?;
    if shop::apply_payment(&txn, booked, &o, &paid).await? != PaymentOutcome::Applied {
        return Err(bad("a demo order could not be paid"));
    }
    outbox::Entity::delete_many()
        .filter(outbox::Column::TenantId.eq(tenant_id))
        .filter(outbox::Column::Kind.eq(MailKind::PaymentReceipt))
        .filter(outbox::Column::Payload.contains(o.id.to_string()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(seat.id)
}
