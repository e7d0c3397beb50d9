//! Paid demo orders: made with `shop::create_paid_order`, which writes an order as checkout
//! does (priced by the shop's rules, approved discounts included, the seat taken under the
//! capacity guard) and pays it as a succeeded payment does (enrollment activated, invoice
//! issued), in one transaction, without Stripe and without mailing a receipt. The billing
//! address is the buyer's own, or a fallback for a buyer without one.

use uuid::Uuid;

use super::Seeder;
use crate::domain::shop::{self, OrderRequest};
use crate::domain::types::PostalAddress;
use crate::domain::{Services, accounts};
use crate::entities::session;
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Relations};

/// The billing address of a demo buyer without a postal address.
const FALLBACK_ADDRESS: (&str, &str, &str, &str) = ("1 place de la Démo", "75001", "Paris", "FR");

/// A paid order of `session` by `buyer` for `learner`, on `booked`'s clock; returns the
/// learner's (active) enrollment. Its idempotency key is `demo-<session>-<learner>`, which
/// keeps demo orders apart from those of the tests.
pub(super) async fn paid_order(
    s: &Seeder<'_>,
    booked: &Services,
    (buyer, relations): (&Actor, &Relations),
    learner: Uuid,
    session: &session::Model,
) -> AppResult<Uuid> {
    let bad = |what: &'static str| AppError::internal("seeding orders", what);
    let buyer_id = buyer.user_id.ok_or_else(|| bad("a buyer without an account"))?;
    let person = accounts::find_record(s.services, s.tenant.id, buyer_id)
        .await?
        .ok_or_else(|| bad("unknown buyer"))?
        .user;
    let (line1, postal_code, city, country) = FALLBACK_ADDRESS;
    let billing_address = PostalAddress::parse(
        "billingAddress",
        person.address_line1.as_deref().unwrap_or(line1),
        person.address_line2.as_deref(),
        person.postal_code.as_deref().unwrap_or(postal_code),
        person.city.as_deref().unwrap_or(city),
        person.country.as_deref().unwrap_or(country),
    )?;
    let request = OrderRequest {
        idempotency_key: format!("demo-{}-{}", session.id.simple(), learner.simple()),
        sessions: vec![session.id],
        learner: Some(learner),
        currency: None,
        billing_name: format!("{} {}", person.first_name, person.last_name),
        billing_address,
    };
    let paid = shop::create_paid_order(booked, buyer, relations, request).await?;
    paid.lines
        .first()
        .and_then(|l| l.enrollment_id)
        .ok_or_else(|| bad("a paid order without a seat"))
}
