//! The order list (one's own and one's wards', or every order for staff who see them all) and
//! one order by id.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::shop::{self, OrderFilter};
use crate::error::{AppError, IntoGql};
use crate::graphql::context::signed_in;
use crate::graphql::pagination::{offset_cursor, offset_page, parse_id};

use super::OrderStatusGql;
use super::nodes::{OrderNode, order_node};

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
