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
//!
//! One file per job: [`pricing`] (what an order costs, approved discounts included),
//! [`checkout`] (the two steps above and the idempotent replay), [`orders`] (reads and who may
//! see which order), [`lifecycle`] (payments applied, failures, cancellation, expiry),
//! [`address`] (how billing addresses are stored), [`invoice`], [`refund`], and [`webhook`]
//! (Stripe's events applied to orders, each once; the signature check and the event's shape
//! are [`payments`](super::payments)'). Mail the shop sends (receipts) is queued in the
//! [`outbox`](super::outbox).

pub mod address;
pub mod checkout;
pub mod invoice;
pub mod lifecycle;
pub mod orders;
pub mod pricing;
pub mod refund;
pub mod webhook;

pub use address::{address_value, stored_address, stored_address_value};
pub use checkout::{create_order, gateway_error, parse_idempotency_key};
pub use lifecycle::{
    ExpiryReport, PaymentOutcome, Settled, apply_payment, cancel_unpaid, expire_orders,
    mark_unpaid_state, release_seats, settle_or_cancel,
};
pub use orders::{
    OrderFilter, course_titles, lines_of, list_orders, order_by_id, order_scope, orders_by_id,
    visible_order,
};
pub use pricing::{apply_approved_discount, discount_of, included_tax};

use uuid::Uuid;

use super::types::PostalAddress;
use crate::entities::{order, order_line};

pub use crate::entities::enums::OrderStatus;

impl OrderStatus {
    /// Not paid yet, seats held.
    pub const UNPAID: [OrderStatus; 3] =
        [OrderStatus::Pending, OrderStatus::AwaitingPayment, OrderStatus::PaymentFailed];
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

/// The enrollments of `lines` in session-id order: every path that locks several sessions
/// locks them in this order, so two of them can never deadlock.
fn seat_order(lines: &[order_line::Model]) -> Vec<Uuid> {
    let mut by_session: Vec<&order_line::Model> = lines.iter().collect();
    by_session.sort_by_key(|l| l.session_id);
    by_session.into_iter().filter_map(|l| l.enrollment_id).collect()
}
