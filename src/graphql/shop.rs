//! Shop API: orders, their payment, invoices and refunds.
//!
//! An order is reachable by its buyer, the guardian of its learner and staff who see all
//! orders (billing, support, privacy officer: `policy::sees_all_orders`). Each field then
//! names its category: `status` is `order_status` (support reads it), amounts, lines, billing
//! name and address, payment, invoices and refunds are `billing` (billing staff, the buyer and
//! their guardian; staff reads audited). The client secret is for the buyer alone.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::context::{loaders, request, services, signed_in};
use super::guard::{Need, Subject};
use super::loaders::{OrderInvoices, OrderLines, OrderRefunds, SessionById, UserById};
use super::nodes::{MoneyGql, PostalAddressGql, SessionNode, UserNode};
use super::pagination::{offset_cursor, offset_page, parse_id};
use super::user::PostalAddressInput;
use crate::domain::accounts::UserRecord;
use crate::domain::shop::invoice::InvoiceSeries;
use crate::domain::shop::refund::{self, RefundStatus};
use crate::domain::shop::{self, OrderFilter, OrderRecord, OrderRequest, OrderStatus};
use crate::domain::types::{self, PostalAddress};
use crate::domain::visibility;
use crate::entities::{invoice, order, order_line};
use crate::error::{AppError, AppResult, IntoGql};
use crate::policy::{DataField, SubjectFacts, SubjectStatus};

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

/// The subject of an order's data: its buyer (an erased buyer leaves an anonymous record).
fn subject_of(buyer: Option<&UserRecord>) -> Subject {
    let facts = match buyer {
        Some(r) => r.facts(),
        None => SubjectFacts { status: SubjectStatus::Erased, ..SubjectFacts::person(Uuid::nil()) },
    };
    Subject::person(facts)
}

async fn order_node(ctx: &Context<'_>, o: order::Model) -> AppResult<OrderNode> {
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

/// Extra fields of the order list.
#[derive(SimpleObject)]
pub struct OrderConnectionFields {
    /// All orders matching the filter.
    pub total_count: u64,
}

pub type OrderConnection = Connection<String, OrderNode, OrderConnectionFields, EmptyFields>;

#[derive(InputObject, Default)]
pub struct OrderFilterInput {
    pub status: Option<OrderStatusGql>,
    pub buyer_id: Option<ID>,
}

/// Most orders one page may hold.
pub const MAX_ORDERS_PER_PAGE: i32 = 50;

#[derive(Default)]
pub struct ShopQuery;

#[Object]
impl ShopQuery {
    /// Orders, newest first: one's own and one's wards', or every order for billing, support
    /// and the privacy officer. `first` ≤ 50.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<OrderFilterInput>,
    ) -> async_graphql::Result<OrderConnection> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let (first, offset) =
            offset_page(first, after.as_deref(), "order", MAX_ORDERS_PER_PAGE).gql()?;
        let f = filter.unwrap_or_default();
        let filter = OrderFilter {
            status: f.status.map(Into::into),
            buyer: f.buyer_id.as_ref().map(|b| parse_id("filter.buyerId", b)).transpose().gql()?,
        };
        let (rows, total) =
            shop::list_orders(s, &actor, relations, &filter, offset, first).await.gql()?;
        let has_next = offset + (rows.len() as u64) < total;
        let mut conn = Connection::with_additional_fields(
            offset > 0,
            has_next,
            OrderConnectionFields { total_count: total },
        );
        for (i, o) in rows.into_iter().enumerate() {
            conn.edges.push(Edge::new(
                offset_cursor("order", offset + i as u64),
                order_node(ctx, o).await.gql()?,
            ));
        }
        Ok(conn)
    }

    /// One order, if it is one's own (or a ward's), or for staff who see all orders.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<OrderNode>> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("id", &id).gql()?;
        match shop::visible_order(s, &actor, relations, id).await {
            Ok(o) => Ok(Some(order_node(ctx, o).await.gql()?)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(e).gql(),
        }
    }
}

/// One session to buy.
#[derive(InputObject)]
pub struct OrderLineInput {
    pub session_id: ID,
}

/// Who is billed.
#[derive(InputObject)]
pub struct BillingInput {
    /// The name on the invoice (a person or an organisation).
    pub name: String,
    pub address: PostalAddressInput,
}

#[derive(InputObject)]
pub struct CreateOrderInput {
    /// Chosen by the client (8–100 characters of `[A-Za-z0-9_.:-]`): retrying with the same key
    /// and input returns the same order; the same key with another input is a `CONFLICT`.
    pub idempotency_key: String,
    /// 1 to 10 sessions. Prices come from the catalogue, never from the client.
    pub lines: Vec<OrderLineInput>,
    /// A ward's id, when a guardian buys for them.
    pub learner_id: Option<ID>,
    /// The currency the storefront showed (ISO 4217); refused if the catalogue differs.
    pub currency: Option<String>,
    pub billing: BillingInput,
}

#[derive(SimpleObject)]
pub struct CreateOrderPayload {
    pub order: OrderNode,
    /// For Stripe.js / the mobile SDK to confirm the payment. No card data reaches Pupitre.
    pub client_secret: Option<String>,
}

#[derive(InputObject)]
pub struct RefundOrderInput {
    pub order_id: ID,
    /// Minor units; everything left to refund when omitted.
    pub amount_cents: Option<i32>,
    pub reason: Option<String>,
}

#[derive(SimpleObject)]
pub struct RefundOrderPayload {
    pub order: OrderNode,
    pub refund: RefundNode,
    pub credit_note: InvoiceNode,
}

fn parse_order_input(input: CreateOrderInput) -> AppResult<OrderRequest> {
    let idempotency_key =
        shop::parse_idempotency_key("input.idempotencyKey", &input.idempotency_key)?;
    if input.lines.is_empty() || input.lines.len() > shop::MAX_LINES {
        return Err(AppError::bad_input(
            "input.lines",
            format!("must hold 1 to {} sessions", shop::MAX_LINES),
        ));
    }
    let sessions = input
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| parse_id(&format!("input.lines.{i}.sessionId"), &l.session_id))
        .collect::<AppResult<Vec<_>>>()?;
    let learner = input.learner_id.as_ref().map(|l| parse_id("input.learnerId", l)).transpose()?;
    let currency = input
        .currency
        .as_deref()
        .map(|c| types::Currency::parse("input.currency", c).map(|c| c.as_str().to_owned()))
        .transpose()?;
    let billing_name = types::text("input.billing.name", &input.billing.name, 1, 200, false)?;
    let a = &input.billing.address;
    let billing_address = PostalAddress::parse(
        "input.billing.address",
        &a.line1,
        a.line2.as_deref(),
        &a.postal_code,
        &a.city,
        &a.country,
    )?;
    Ok(OrderRequest { idempotency_key, sessions, learner, currency, billing_name, billing_address })
}

#[derive(Default)]
pub struct ShopMutation;

#[Object]
impl ShopMutation {
    /// Orders sessions: prices them from the catalogue, holds the seats until the order is
    /// paid or its hold expires, and creates the Stripe PaymentIntent whose client secret is
    /// returned. Sold out → `CONFLICT` (nothing held); Stripe unreachable → `UNAVAILABLE`
    /// (nothing kept: retry with the same key).
    #[graphql(complexity = "crate::graphql::limits::STRIPE_CALL_COST + child_complexity")]
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        input: CreateOrderInput,
    ) -> async_graphql::Result<CreateOrderPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let req = parse_order_input(input).gql()?;
        let OrderRecord { order, .. } =
            shop::create_order(s, &actor, relations, req).await.gql()?;
        let unpaid = OrderStatus::UNPAID.contains(&order.status);
        let client_secret = if unpaid { order.client_secret.clone() } else { None };
        Ok(CreateOrderPayload { order: order_node(ctx, order).await.gql()?, client_secret })
    }

    /// Refunds a paid order, fully or partly (billing staff). A full refund cancels the
    /// enrollments and frees their seats; each refund issues a credit note.
    #[graphql(complexity = "crate::graphql::limits::STRIPE_CALL_COST + child_complexity")]
    async fn refund_order(
        &self,
        ctx: &Context<'_>,
        input: RefundOrderInput,
    ) -> async_graphql::Result<RefundOrderPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.user_actor(s).await.gql()?;
        let id = parse_id("input.orderId", &input.order_id).gql()?;
        let reason = input
            .reason
            .as_deref()
            .map(|r| types::text("input.reason", r, 1, 500, true))
            .transpose()
            .gql()?;
        let res = refund::refund_order(s, &actor, id, input.amount_cents.map(i64::from), reason)
            .await
            .gql()?;
        Ok(RefundOrderPayload {
            order: order_node(ctx, res.order).await.gql()?,
            refund: RefundNode(res.refund),
            credit_note: InvoiceNode(res.credit_note),
        })
    }
}
