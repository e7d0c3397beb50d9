//! The privacy officer's narrowing of the need-to-know matrix (see `domain::narrowing`): the
//! table as it applies to this organisation, and the cells removed from it.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::context::{request, services};
use crate::domain::narrowing;
use crate::error::IntoGql;
use crate::policy::Narrowing;

/// One cell of the need-to-know table, in the notation of `docs/ACCESS.md` (`—`, `R`, `RW`,
/// qualifiers in parentheses).
#[derive(SimpleObject)]
pub struct AccessCell {
    /// The column: `self`, `guardian`, `instructor`, `support`, `billing`, `reviewer`,
    /// `marketing`, `privacy_officer`, `admin`.
    pub column: String,
    /// What the default table grants.
    pub default_access: String,
    /// What applies in this organisation (`—` where it removed the cell).
    pub effective_access: String,
}

/// One category's row.
#[derive(SimpleObject)]
pub struct AccessRow {
    pub category: String,
    pub cells: Vec<AccessCell>,
}

/// The table as it applies here, and the removed cells.
#[derive(SimpleObject)]
pub struct AccessMatrix {
    pub rows: Vec<AccessRow>,
    pub removed: Vec<AccessCellRef>,
}

/// A cell named by its category and column.
#[derive(SimpleObject)]
pub struct AccessCellRef {
    pub category: String,
    pub column: String,
}

fn shown(n: &Narrowing) -> AccessMatrix {
    AccessMatrix {
        rows: narrowing::table(n)
            .into_iter()
            .map(|(category, cells)| AccessRow {
                category: category.as_str().to_owned(),
                cells: cells
                    .into_iter()
                    .map(|c| AccessCell {
                        column: c.column.as_str().to_owned(),
                        default_access: c.default,
                        effective_access: c.effective,
                    })
                    .collect(),
            })
            .collect(),
        removed: n
            .cells()
            .map(|(c, col)| AccessCellRef {
                category: c.as_str().to_owned(),
                column: col.as_str().to_owned(),
            })
            .collect(),
    }
}

#[derive(Default)]
pub struct NarrowingQuery;

#[Object]
impl NarrowingQuery {
    /// The need-to-know table as it applies to this organisation (the privacy officer).
    async fn access_matrix(&self, ctx: &Context<'_>) -> async_graphql::Result<AccessMatrix> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        Ok(shown(narrowing::current(&actor).gql()?))
    }
}

/// A cell to remove.
#[derive(InputObject)]
pub struct AccessCellInput {
    pub category: String,
    pub column: String,
}

#[derive(InputObject)]
pub struct SetAccessNarrowingInput {
    /// Every cell removed from the default table (replaces the earlier list; empty restores
    /// the default). Only staff cells that grant something, never `self`, `guardian` or
    /// `privacy_officer`.
    pub removed: Vec<AccessCellInput>,
}

#[derive(SimpleObject)]
pub struct SetAccessNarrowingPayload {
    pub access_matrix: AccessMatrix,
}

#[derive(Default)]
pub struct NarrowingMutation;

#[Object]
impl NarrowingMutation {
    /// Removes cells from this organisation's need-to-know table (the privacy officer;
    /// audited). Applies to every decision from the next request on.
    async fn set_access_narrowing(
        &self,
        ctx: &Context<'_>,
        input: SetAccessNarrowingInput,
    ) -> async_graphql::Result<SetAccessNarrowingPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        if input.removed.len() > 200 {
            return Err(crate::error::AppError::bad_input("input.removed", "at most 200 cells"))
                .gql();
        }
        let removed: Vec<(String, String)> =
            input.removed.into_iter().map(|c| (c.category, c.column)).collect();
        let n = narrowing::set(s, &actor, &removed).await.gql()?;
        Ok(SetAccessNarrowingPayload { access_matrix: shown(&n) })
    }
}
