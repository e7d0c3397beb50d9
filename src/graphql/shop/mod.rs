//! Shop API: orders, their payment, invoices and refunds.
//!
//! An order is reachable by its buyer, the guardian of its learner and staff who see all
//! orders (billing, support, privacy officer: `policy::sees_all_orders`). Each field then
//! names its category: `status` is `order_status` (support reads it), amounts, lines, billing
//! name and address, payment, invoices and refunds are `billing` (billing staff, the buyer and
//! their guardian; staff reads audited). The client secret is for the buyer alone.
//!
//! One file per job: `nodes` (the `Order`, `OrderLine`, `Invoice` and `Refund` types and their
//! guards), `queries` (the order list and one order by id) and `mutations` (ordering and
//! refunding, with their inputs and payloads). The roots merge [`ShopQuery`] and
//! [`ShopMutation`] as before; the fields of each keep their order, so the SDL does not move.

mod mutations;
mod nodes;
mod queries;

use crate::domain::shop::OrderStatus;

pub use mutations::ShopMutation;
pub use queries::ShopQuery;

gql_enum!(OrderStatusGql as "OrderStatus" <=> OrderStatus {
    /// Created; the PaymentIntent is being set up.
    Pending,
    /// Waiting for the buyer to pay (seats held until `holdExpiresAt`).
    AwaitingPayment,
    /// The last payment attempt was declined; the buyer may retry until the hold expires.
    PaymentFailed,
    Paid,
    PartiallyRefunded,
    Refunded,
    /// Unpaid and expired or cancelled; its seats were freed.
    Cancelled,
});
