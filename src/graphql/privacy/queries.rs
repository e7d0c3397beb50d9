//! The privacy officer's queue of requests and one request by id.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, SimpleObject};
use uuid::Uuid;

use super::nodes::DataSubjectRequestNode;
use super::{RequestKindGql, RequestStatusGql};
use crate::domain::privacy::requests::{self, QueueFilter};
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::context::signed_in;
use crate::graphql::pagination::{offset_cursor, offset_page, parse_id};

async fn node(ctx: &Context<'_>, id: Uuid) -> AppResult<DataSubjectRequestNode> {
    let (s, actor, _) = signed_in(ctx).await?;
    Ok(DataSubjectRequestNode::new(requests::visible(s, &actor, id).await?, None))
}

#[derive(SimpleObject)]
pub struct DataSubjectRequestConnectionFields {
    pub total_count: u64,
}

pub type DataSubjectRequestConnection =
    Connection<String, DataSubjectRequestNode, DataSubjectRequestConnectionFields, EmptyFields>;

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// The privacy officer's queue: every request of the organisation, the one due soonest
    /// (extension included) first, filtered by status, kind or overdue. `first` ≤ 50. Others
    /// get `FORBIDDEN` (a person reads their own in `me { dataSubjectRequests }`).
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn data_subject_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<RequestStatusGql>,
        kind: Option<RequestKindGql>,
        overdue: Option<bool>,
    ) -> async_graphql::Result<DataSubjectRequestConnection> {
        let (s, actor, _) = signed_in(ctx).await.gql()?;
        let (first, offset) = offset_page(first, after.as_deref(), "dsr", 50).gql()?;
        let filter =
            QueueFilter { status: status.map(Into::into), kind: kind.map(Into::into), overdue };
        let (rows, total) = requests::queue(s, &actor, filter, offset, first).await.gql()?;
        let has_next = offset + (rows.len() as u64) < total;
        let mut conn = Connection::with_additional_fields(
            offset > 0,
            has_next,
            DataSubjectRequestConnectionFields { total_count: total },
        );
        for (i, r) in rows.into_iter().enumerate() {
            conn.edges.push(Edge::new(
                offset_cursor("dsr", offset + i as u64),
                DataSubjectRequestNode::new(r, None),
            ));
        }
        Ok(conn)
    }

    /// One request, or `null` when it does not exist; its fields follow the need-to-know
    /// policy.
    async fn data_subject_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<DataSubjectRequestNode>> {
        let id = parse_id("id", &id).gql()?;
        match node(ctx, id).await {
            Ok(n) => Ok(Some(n)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(e).gql(),
        }
    }
}
