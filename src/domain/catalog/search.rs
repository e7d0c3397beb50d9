//! The public catalogue: published courses, filtered (format, level, language, tag, price,
//! upcoming session, a search term) and ordered, a page at a time; a course by its slug.
//!
//! Anonymous visitors read it, so it shows published courses only (drafts by slug for admins)
//! and never personal data.

use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, JoinType, LikeExpr, Order, Query};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use uuid::Uuid;

use super::{CourseStatus, Format, Level};
use crate::domain::Services;
use crate::domain::tenancy::scoped;
use crate::entities::{course, course_tag, session};
use crate::error::AppResult;

/// Filters of the public catalogue.
#[derive(Clone, Debug, Default)]
pub struct CourseFilter {
    pub format: Option<Format>,
    pub level: Option<Level>,
    pub language: Option<String>,
    pub tag: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    pub has_upcoming_session: Option<bool>,
    pub search: Option<String>,
}

/// Orders of the public catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CourseSort {
    /// Next upcoming session first; courses without one last.
    #[default]
    StartDate,
    Price,
    Title,
}

fn like_pattern(term: &str) -> String {
    let escaped: String = term
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// A page of published courses: `offset` rows skipped, `first` returned, and whether more follow.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, first = first, offset = offset))]
pub async fn published_courses(
    services: &Services,
    tenant_id: Uuid,
    filter: &CourseFilter,
    sort: CourseSort,
    first: u64,
    offset: u64,
) -> AppResult<(Vec<course::Model>, bool)> {
    let now = services.clock.now();
    let mut q = scoped::<course::Entity>(tenant_id)
        .filter(course::Column::Status.eq(CourseStatus::Published));
    if let Some(f) = filter.format {
        q = q.filter(course::Column::Format.eq(f));
    }
    if let Some(l) = filter.level {
        q = q.filter(course::Column::Level.eq(l));
    }
    if let Some(l) = &filter.language {
        q = q.filter(course::Column::Language.eq(l.as_str()));
    }
    if let Some(t) = &filter.tag {
        let tagged = Query::select()
            .column(course_tag::Column::CourseId)
            .from(course_tag::Entity)
            .and_where(course_tag::Column::Tag.eq(t.as_str()))
            .to_owned();
        q = q.filter(course::Column::Id.in_subquery(tagged));
    }
    if let Some(p) = filter.min_price_cents {
        q = q.filter(course::Column::PriceCents.gte(p));
    }
    if let Some(p) = filter.max_price_cents {
        q = q.filter(course::Column::PriceCents.lte(p));
    }
    // Sessions of the outer course that are still to come.
    let upcoming = || {
        Query::select()
            .from(session::Entity)
            .and_where(
                Expr::col((session::Entity, session::Column::CourseId))
                    .equals((course::Entity, course::Column::Id)),
            )
            .and_where(Expr::col((session::Entity, session::Column::Cancelled)).eq(false))
            .and_where(Expr::col((session::Entity, session::Column::StartsAt)).gt(now))
            .to_owned()
    };
    match filter.has_upcoming_session {
        Some(true) => q = q.filter(Expr::exists(upcoming().expr(Expr::val(1)).to_owned())),
        Some(false) => q = q.filter(Expr::exists(upcoming().expr(Expr::val(1)).to_owned()).not()),
        None => {}
    }
    if let Some(s) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = like_pattern(s);
        q = q.filter(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col((course::Entity, course::Column::Title))))
                        .like(LikeExpr::new(p.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col((course::Entity, course::Column::Summary))))
                        .like(LikeExpr::new(p).escape('\\')),
                ),
        );
    }
    q = match sort {
        CourseSort::StartDate => {
            // One pass over the upcoming sessions (grouped), joined to the page, rather than a
            // correlated subquery per course.
            let next_starts = Query::select()
                .column(session::Column::CourseId)
                .expr_as(Expr::col(session::Column::StartsAt).min(), "next_start")
                .from(session::Entity)
                .and_where(session::Column::TenantId.eq(tenant_id))
                .and_where(session::Column::Cancelled.eq(false))
                .and_where(session::Column::StartsAt.gt(now))
                .group_by_col(session::Column::CourseId)
                .to_owned();
            QueryTrait::query(&mut q).join_subquery(
                JoinType::LeftJoin,
                next_starts,
                "nx",
                Expr::col(("nx", "course_id")).equals((course::Entity, course::Column::Id)),
            );
            let next = Expr::col(("nx", "next_start"));
            q.order_by(
                Expr::Case(Box::new(Expr::case(next.clone().is_null(), 1).finally(0))),
                Order::Asc,
            )
            .order_by(next, Order::Asc)
        }
        CourseSort::Price => q.order_by_asc(course::Column::PriceCents),
        CourseSort::Title => q.order_by_asc(course::Column::Title),
    };
    let mut rows = q
        .order_by_asc(course::Column::Id)
        .offset(offset)
        .limit(first + 1)
        .all(&services.db)
        .await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok((rows, has_next))
}

/// A course by slug: published only, unless `include_drafts` (admin).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, include_drafts = include_drafts))]
pub async fn course_by_slug(
    services: &Services,
    tenant_id: Uuid,
    slug: &str,
    include_drafts: bool,
) -> AppResult<Option<course::Model>> {
    let mut q = scoped::<course::Entity>(tenant_id).filter(course::Column::Slug.eq(slug));
    if !include_drafts {
        q = q.filter(course::Column::Status.eq(CourseStatus::Published));
    }
    Ok(q.one(&services.db).await?)
}
