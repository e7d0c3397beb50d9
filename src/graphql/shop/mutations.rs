//! Ordering (with the idempotency key and billing details) and refunding, with their inputs,
//! payloads and the parsing of an order request. Each mutation makes one domain call.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::shop::refund;
use crate::domain::shop::{self, OrderRecord, OrderRequest, OrderStatus};
use crate::domain::types::{self, PostalAddress};
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::context::{request, services, signed_in};
use crate::graphql::pagination::parse_id;
use crate::graphql::user::PostalAddressInput;

use super::nodes::{InvoiceNode, OrderNode, RefundNode, order_node};

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
