//! One's own and one's wards' applications, or the reviewers' queue, and one application by id.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::equal_opportunity::ApplicationFilter;
use crate::domain::visibility;
use crate::error::{AppError, IntoGql};
use crate::graphql::context::signed_in;
use crate::graphql::pagination::{offset_cursor, offset_page, parse_id};

use super::ApplicationStatusGql;
use super::nodes::{ApplicationNode, node};

#[derive(SimpleObject)]
pub struct ApplicationConnectionFields {
    pub total_count: u64,
}

pub type ApplicationConnection =
    Connection<String, ApplicationNode, ApplicationConnectionFields, EmptyFields>;

#[derive(InputObject, Default)]
pub struct ApplicationFilterInput {
    pub status: Option<ApplicationStatusGql>,
    pub course_id: Option<ID>,
}

#[derive(Default)]
pub struct EqualOpportunityQuery;

#[Object]
impl EqualOpportunityQuery {
    /// For reviewers and the privacy officer, the queue: every submitted application, oldest
    /// submission first. For others, their own and their wards' applications. `first` ≤ 50.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn applications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ApplicationFilterInput>,
    ) -> async_graphql::Result<ApplicationConnection> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let (first, offset) = offset_page(first, after.as_deref(), "application", 50).gql()?;
        let f = filter.unwrap_or_default();
        let filter = ApplicationFilter {
            status: f.status.map(Into::into),
            course: f
                .course_id
                .as_ref()
                .map(|c| parse_id("filter.courseId", c))
                .transpose()
                .gql()?,
        };
        let (rows, total) =
            visibility::applications(s, &actor, relations, &filter, offset, first).await.gql()?;
        let has_next = offset + (rows.len() as u64) < total;
        let mut conn = Connection::with_additional_fields(
            offset > 0,
            has_next,
            ApplicationConnectionFields { total_count: total },
        );
        conn.edges.extend(rows.into_iter().enumerate().map(|(i, rec)| {
            Edge::new(offset_cursor("application", offset + i as u64), ApplicationNode::new(rec))
        }));
        Ok(conn)
    }

    /// One application, or `null` when the viewer may not see it.
    async fn application(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<ApplicationNode>> {
        let id = parse_id("id", &id).gql()?;
        match node(ctx, id).await {
            Ok(n) => Ok(Some(n)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(e).gql(),
        }
    }
}
