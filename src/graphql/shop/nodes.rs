//! The shop's API types: an order with its lines, payment, invoices and refunds. Each field
//! names its data category in its guard; the node never decides access itself.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::accounts::UserRecord;
use crate::domain::shop::invoice::InvoiceSeries;
use crate::domain::shop::refund::RefundStatus;
use crate::domain::shop::{self, OrderStatus};
use crate::domain::visibility;
use crate::entities::{invoice, order, order_line};
use crate::error::{AppResult, IntoGql};
use crate::graphql::context::loaders;
use crate::graphql::guard::{Need, Subject};
use crate::graphql::loaders::{OrderInvoices, OrderLines, OrderRefunds, SessionById, UserById};
use crate::graphql::nodes::{MoneyGql, PostalAddressGql, SessionNode, UserNode};
use crate::policy::{DataField, SubjectFacts, SubjectStatus};

use super::OrderStatusGql;

/// The subject of an order's data: its buyer (an erased buyer leaves an anonymous record).
fn subject_of(buyer: Option<&UserRecord>) -> Subject {
    let facts = match buyer {
        Some(r) => r.facts(),
        None => SubjectFacts { status: SubjectStatus::Erased, ..SubjectFacts::person(Uuid::nil()) },
    };
    Subject::person(facts)
}

pub(super) async fn order_node(ctx: &Context<'_>, o: order::Model) -> AppResult<OrderNode> {
    let buyer = match o.buyer_id {
        Some(b) => loaders(ctx)?.load(UserById(b)).await?,
        None => None,
    };
    Ok(OrderNode { subject: subject_of(buyer.as_ref()), buyer, order: o })
}

fn money(cents: i64, currency: &str) -> MoneyGql {
    MoneyGql { amount_cents: cents, currency: currency.to_owned() }
}

/// A purchase of sessions.
pub struct OrderNode {
    order: order::Model,
    buyer: Option<UserRecord>,
    subject: Subject,
}

#[Object(name = "Order")]
impl OrderNode {
    async fn id(&self) -> ID {
        ID(self.order.id.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.order.created_at
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::OrderStatus)")]
    async fn status(&self) -> Option<OrderStatusGql> {
        Some(self.order.status.into())
    }
    /// Until when the seats are held for an unpaid order.
    #[graphql(guard = "Need::read(&self.subject, DataField::OrderStatus)")]
    async fn hold_expires_at(&self) -> Option<DateTime<Utc>> {
        OrderStatus::UNPAID.contains(&self.order.status).then_some(self.order.hold_expires_at)
    }
    /// The buyer; each of their fields follows the need-to-know policy.
    async fn buyer(&self) -> Option<UserNode> {
        self.buyer.clone().map(UserNode::new)
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<OrderLineNode>>> {
        let lines =
            loaders(ctx).gql()?.load(OrderLines(self.order.id)).await.gql()?.unwrap_or_default();
        Ok(Some(
            lines
                .into_iter()
                .map(|l| OrderLineNode { line: l, currency: self.order.currency.clone() })
                .collect(),
        ))
    }
    /// The catalogue prices of the lines, before discounts.
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn subtotal(&self) -> Option<MoneyGql> {
        Some(money(self.order.subtotal_cents, &self.order.currency))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn discount(&self) -> Option<MoneyGql> {
        Some(money(self.order.discount_cents, &self.order.currency))
    }
    /// The tax included in the total.
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn tax(&self) -> Option<MoneyGql> {
        Some(money(self.order.tax_cents, &self.order.currency))
    }
    /// What the buyer pays, tax included.
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn total(&self) -> Option<MoneyGql> {
        Some(money(self.order.total_cents, &self.order.currency))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn refunded(&self) -> Option<MoneyGql> {
        Some(money(self.order.refunded_cents, &self.order.currency))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn billing_name(&self) -> Option<&str> {
        Some(&self.order.billing_name)
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn billing_address(&self) -> Option<PostalAddressGql> {
        shop::stored_address(&self.order.billing_address).map(PostalAddressGql::from)
    }
    /// The Stripe side of the order.
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn payment(&self) -> Option<PaymentGql> {
        Some(PaymentGql {
            payment_intent_id: self.order.payment_intent_id.clone(),
            paid_at: self.order.paid_at,
            last_error: self.order.last_payment_error.clone(),
        })
    }
    /// For Stripe.js or the mobile SDK to confirm the payment: the buyer's, while unpaid (and
    /// only while the buyer may read their payment data at all: not once erased).
    #[graphql(guard = "Need::read(&self.subject, DataField::Payments)")]
    async fn client_secret(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let (viewer, _) = self.subject.viewer(ctx).await.gql()?;
        visibility::client_secret(&viewer, &self.order).gql()
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Invoices)")]
    async fn invoices(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<InvoiceNode>>> {
        let rows =
            loaders(ctx).gql()?.load(OrderInvoices(self.order.id)).await.gql()?.unwrap_or_default();
        Ok(Some(rows.into_iter().map(InvoiceNode).collect()))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Refunds)")]
    async fn refunds(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<RefundNode>>> {
        let rows =
            loaders(ctx).gql()?.load(OrderRefunds(self.order.id)).await.gql()?.unwrap_or_default();
        Ok(Some(rows.into_iter().map(RefundNode).collect()))
    }
}

/// The Stripe side of an order.
#[derive(SimpleObject)]
#[graphql(name = "Payment")]
pub struct PaymentGql {
    pub payment_intent_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Why the last attempt was declined (Stripe's code), while unpaid.
    pub last_error: Option<String>,
}

/// One session bought, priced when the order was made.
pub struct OrderLineNode {
    line: order_line::Model,
    currency: String,
}

#[Object(name = "OrderLine")]
impl OrderLineNode {
    async fn description(&self) -> &str {
        &self.line.description
    }
    async fn session(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SessionNode>> {
        Ok(loaders(ctx)
            .gql()?
            .load(SessionById(self.line.session_id))
            .await
            .gql()?
            .map(SessionNode))
    }
    async fn unit_price(&self) -> MoneyGql {
        money(self.line.unit_price_cents, &self.currency)
    }
    async fn discount(&self) -> MoneyGql {
        money(self.line.discount_cents, &self.currency)
    }
    /// Tax rate in basis points (2000 = 20 %).
    async fn tax_rate_bp(&self) -> i32 {
        self.line.tax_rate_bp
    }
    async fn tax(&self) -> MoneyGql {
        money(self.line.tax_cents, &self.currency)
    }
    async fn total(&self) -> MoneyGql {
        money(self.line.total_cents, &self.currency)
    }
    /// The enrollment this line holds or activated.
    async fn enrollment_id(&self) -> Option<ID> {
        self.line.enrollment_id.map(|e| ID(e.to_string()))
    }
}

gql_enum!(InvoiceKind as "InvoiceKind" <=> InvoiceSeries { Invoice, CreditNote });

/// An issued invoice or credit note, as issued (its snapshot never changes).
pub struct InvoiceNode(pub invoice::Model);

impl InvoiceNode {
    fn snapshot(&self) -> Value {
        serde_json::from_str(&self.0.snapshot).unwrap_or(Value::Null)
    }
}

/// One line of an invoice, as issued.
#[derive(SimpleObject)]
pub struct InvoiceLine {
    pub description: String,
    pub unit_price_cents: i64,
    pub discount_cents: i64,
    pub tax_rate_bp: Option<i64>,
    pub tax_cents: i64,
    pub total_cents: i64,
}

#[Object(name = "Invoice")]
impl InvoiceNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Gap-free per tenant and series: `F-000001` (invoices), `AV-000001` (credit notes).
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn kind(&self) -> InvoiceKind {
        self.0.series.into()
    }
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }
    async fn total(&self) -> MoneyGql {
        money(self.0.total_cents, &self.0.currency)
    }
    async fn tax(&self) -> MoneyGql {
        money(self.0.tax_cents, &self.0.currency)
    }
    async fn buyer_name(&self) -> Option<String> {
        self.snapshot()["buyer"]["name"].as_str().map(str::to_owned)
    }
    async fn billing_address(&self) -> Option<PostalAddressGql> {
        shop::stored_address_value(&self.snapshot()["buyer"]["address"]).map(PostalAddressGql::from)
    }
    async fn lines(&self) -> Vec<InvoiceLine> {
        let s = self.snapshot();
        s["lines"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .map(|l| InvoiceLine {
                        description: l["description"].as_str().unwrap_or_default().to_owned(),
                        unit_price_cents: l["unitPriceCents"].as_i64().unwrap_or(0),
                        discount_cents: l["discountCents"].as_i64().unwrap_or(0),
                        tax_rate_bp: l["taxRateBp"].as_i64(),
                        tax_cents: l["taxCents"].as_i64().unwrap_or(0),
                        total_cents: l["totalCents"].as_i64().unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Where the PDF is downloaded (`GET`, with the same bearer token).
    async fn pdf_url(&self) -> String {
        format!("/invoices/{}.pdf", self.0.id)
    }
}

gql_enum!(RefundStatusGql as "RefundStatus" <=> RefundStatus { Pending, Succeeded, Failed });

/// A refund asked by billing staff.
pub struct RefundNode(pub crate::entities::refund::Model);

#[Object(name = "Refund")]
impl RefundNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn amount_cents(&self) -> i64 {
        self.0.amount_cents
    }
    async fn status(&self) -> Option<RefundStatusGql> {
        Some(self.0.status.into())
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
}
