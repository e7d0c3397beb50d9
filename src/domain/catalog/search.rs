//! The public catalogue: published courses, filtered (format, level, language, tag, price,
//! upcoming session, a search term) and ordered, a page at a time; a course by its slug.
//!
//! A page costs the same whatever the catalogue's size: each order has an index
//! `(tenant_id, status, key, id)` (`next_start_at`, kept by `next_start`, for the default
//! order), a page is read from the cursor's `(key, id)` onwards (keyset, never OFFSET), and
//! searches go through a trigram index (see `migration::catalogue`). Filters on format, level,
//! language and price are checked on the rows the order's index yields; tags and upcoming
//! sessions are indexed lookups per candidate row.
//!
//! Anonymous visitors read it, so it shows published courses only (drafts by slug for admins)
//! and never personal data.

use chrono::{DateTime, Utc};
use migration::catalogue::fold;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query, SubQueryStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, IdenStatic, Iterable, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Statement,
};
use uuid::Uuid;

use super::{CourseStatus, Format, Level, next_start};
use crate::domain::Services;
use crate::domain::in_order::{InOrder, ReadInOrder, read_rows};
use crate::domain::tenancy::scoped;
use crate::entities::{course, course_tag};
use crate::error::{AppError, AppResult};

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

impl CourseSort {
    /// The course column the order sorts on (then by id), the key of its index
    /// `(tenant_id, status, key, id)`.
    pub fn key_column(self) -> course::Column {
        match self {
            CourseSort::StartDate => course::Column::NextStartAt,
            CourseSort::Price => course::Column::PriceCents,
            CourseSort::Title => course::Column::Title,
        }
    }
}

/// Where a page of the catalogue starts: after the course with this sort key and id (a keyset
/// cursor, so page 50 is read like page 1: an index range from that point).
#[derive(Clone, Debug, PartialEq)]
pub struct After {
    pub key: SortKey,
    pub id: Uuid,
}

/// A course's key in one of the catalogue orders (ties are broken by id).
#[derive(Clone, Debug, PartialEq)]
pub enum SortKey {
    StartDate(DateTime<Utc>),
    Price(i64),
    Title(String),
}

impl SortKey {
    /// `course`'s key in `sort`.
    pub fn of(sort: CourseSort, course: &course::Model) -> SortKey {
        match sort {
            CourseSort::StartDate => SortKey::StartDate(course.next_start_at),
            CourseSort::Price => SortKey::Price(course.price_cents),
            CourseSort::Title => SortKey::Title(course.title.clone()),
        }
    }

    fn sort(&self) -> CourseSort {
        match self {
            SortKey::StartDate(_) => CourseSort::StartDate,
            SortKey::Price(_) => CourseSort::Price,
            SortKey::Title(_) => CourseSort::Title,
        }
    }

    fn value(&self) -> sea_orm::Value {
        match self {
            SortKey::StartDate(t) => (*t).into(),
            SortKey::Price(p) => (*p).into(),
            SortKey::Title(t) => t.clone().into(),
        }
    }

    /// The PostgreSQL type of the key's column (see the cursor in [`page_statement`]).
    fn pg_type(&self) -> &'static str {
        match self {
            SortKey::StartDate(_) => "timestamptz",
            SortKey::Price(_) => "bigint",
            SortKey::Title(_) => "text",
        }
    }
}

/// Words of a search term as the index holds them (`migration::catalogue::fold`), at most 8.
fn search_words(term: &str) -> Vec<String> {
    fold(term).split(' ').filter(|w| !w.is_empty()).take(8).map(|w| format!("%{w}%")).collect()
}

/// From how many matches a search term counts as common on SQLite (see [`matching`]).
const SQLITE_COMMON_TERM: u64 = 200;

/// Courses whose folded title and summary contain every word. On PostgreSQL a trigram index
/// answers `LIKE` on `search_text` (the planner weighs it against the order's index). On SQLite
/// the FTS5 trigram table `course_search` lists the matches, which SQLite materialises before
/// walking the order's index: cheap for a rare term, not for a common one (10,000 matches cost
/// ~25 ms). So a probe counts the tenant's published matches up to [`SQLITE_COMMON_TERM`]
/// first; a common term is checked on each row the order's index yields instead, and fills a
/// page within a few hundred rows (a term just above the threshold in a very large catalogue
/// walks more of it: the threshold is a constant, not a share of the catalogue).
async fn matching(
    services: &Services,
    tenant_id: Uuid,
    words: Vec<String>,
) -> AppResult<Condition> {
    let mut all = Condition::all();
    let backend = services.db.get_database_backend();
    let on_courses = |mut all: Condition, words: Vec<String>| {
        for w in words {
            all = all.add(Expr::col((course::Entity, course::Column::SearchText)).like(w));
        }
        all
    };
    if backend == DatabaseBackend::Postgres {
        return Ok(on_courses(all, words));
    }
    let mut hits = Query::select();
    hits.expr(Expr::cust("\"course_search\".\"rowid\"")).from("course_search");
    for w in &words {
        hits.and_where(Expr::col(("course_search", "search_text")).like(w.as_str()));
    }
    // Counted among the tenant's published courses only: another tenant's catalogue must not
    // choose this one's plan.
    let mut of_tenant = hits.clone();
    of_tenant
        .inner_join(
            course::Entity,
            Expr::cust("\"courses\".\"rowid\" = \"course_search\".\"rowid\""),
        )
        .and_where(Expr::col((course::Entity, course::Column::TenantId)).eq(tenant_id))
        .and_where(course::Column::Status.eq(CourseStatus::Published))
        .limit(SQLITE_COMMON_TERM);
    let probe =
        Query::select().expr(Expr::cust("count(*)")).from_subquery(of_tenant, "probe").to_owned();
    let found: i64 = services
        .db
        .query_one_raw(backend.build(&probe))
        .await?
        .map(|row| row.try_get_by_index(0))
        .transpose()?
        .unwrap_or(0);
    if found as u64 >= SQLITE_COMMON_TERM {
        return Ok(on_courses(all, words));
    }
    all = all.add(Expr::cust("\"courses\".\"rowid\"").in_subquery(hits));
    Ok(all)
}

/// What a catalogue page reads besides a course's short columns.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageColumns {
    /// The long description (otherwise left empty).
    pub description: bool,
    /// The tags, in order, aggregated in the page's own statement.
    pub tags: bool,
}

/// A course of a catalogue page and its tags (empty unless the page read them).
#[derive(Clone, Debug)]
pub struct Listed {
    pub course: course::Model,
    pub tags: Vec<String>,
}

impl Listed {
    /// A row of [`page_statement`]: the course's columns in order, then its tags.
    fn read(r: &mut InOrder<'_>) -> Result<Self, DbErr> {
        let course = course::Model::read_in_order(r)?;
        let tags: Option<String> = r.read("tags")?;
        Ok(Listed {
            course,
            tags: tags.map(|t| t.split(',').map(str::to_owned).collect()).unwrap_or_default(),
        })
    }
}

/// The course's tags in order, joined by commas (a tag is letters, digits and hyphens).
fn tags_column(backend: DatabaseBackend) -> Expr {
    let aggregate = match backend {
        DatabaseBackend::Postgres => "string_agg(t.tag, ',' ORDER BY t.tag)",
        _ => "group_concat(t.tag, ',' ORDER BY t.tag)",
    };
    Expr::cust(format!(
        "(SELECT {aggregate} FROM course_tags t WHERE t.tenant_id = \"courses\".\"tenant_id\" AND t.course_id = \"courses\".\"id\")"
    ))
}

/// What a catalogue page asks for: `first` courses after `after` (in `sort`, which its key must
/// belong to), filtered, reading the optional `columns` only when asked.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest<'a> {
    pub filter: &'a CourseFilter,
    pub sort: CourseSort,
    pub after: Option<&'a After>,
    pub first: u64,
    pub columns: PageColumns,
}

/// A page of published courses, and whether more follow.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, first = page.first))]
pub async fn published_courses(
    services: &Services,
    tenant_id: Uuid,
    page: PageRequest<'_>,
) -> AppResult<(Vec<Listed>, bool)> {
    let statement = page_statement(services, tenant_id, page).await?;
    let rows = services.db.query_all_raw(statement).await?;
    let mut rows = read_rows(&rows, Listed::read)?;
    let has_next = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok((rows, has_next))
}

/// The statement [`published_courses`] runs for a page: `first + 1` rows, to tell whether more
/// follow.
pub async fn page_statement(
    services: &Services,
    tenant_id: Uuid,
    page: PageRequest<'_>,
) -> AppResult<Statement> {
    let PageRequest { filter, sort, after, first, columns } = page;
    let now = services.clock.now();
    let backend = services.db.get_database_backend();
    let mut q = scoped::<course::Entity>(tenant_id)
        .filter(course::Column::Status.eq(CourseStatus::Published));
    if !columns.description {
        // The columns in the entity's order (`Listed::read`), the long ones left empty.
        q = q.select_only();
        for c in course::Column::iter() {
            q = match c {
                course::Column::Description | course::Column::SearchText => {
                    q.column_as(Expr::cust("''"), c.as_str())
                }
                c => q.column(c),
            };
        }
    }
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
            .and_where(course_tag::Column::TenantId.eq(tenant_id))
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
    // Exact at request time, whatever the last round of `next_start::advance`.
    let upcoming = || next_start::upcoming_of_outer_course(now);
    match filter.has_upcoming_session {
        Some(true) => q = q.filter(Expr::exists(upcoming().expr(Expr::val(1)).to_owned())),
        Some(false) => q = q.filter(Expr::exists(upcoming().expr(Expr::val(1)).to_owned()).not()),
        None => {}
    }
    let mut searched = false;
    if let Some(s) = filter.search.as_deref() {
        let words = search_words(s);
        if !words.is_empty() {
            q = q.filter(matching(services, tenant_id, words).await?);
            searched = true;
        }
    }
    let key = sort.key_column();
    if let Some(a) = after {
        if a.key.sort() != sort {
            return Err(AppError::bad_input("after", "is a cursor of another order"));
        }
        let k = || Expr::col((course::Entity, key));
        let id = || Expr::col((course::Entity, course::Column::Id));
        // PostgreSQL: `(key, id) > (SELECT K, I)`, a range of the order's index from the cursor
        // on (an index condition, ties included). The planner cannot see values produced by a
        // sub-select, so it estimates the cursor's condition alike in a plan for the values and
        // in the generic plan, and keeps the generic one after five runs. Given the values
        // themselves, it estimated more rows after a cursor half-way down a catalogue of 1,042
        // courses, judged a plan for those values cheaper, and planned such a page again at
        // each execution (0.12 ms, as long as running it; `docs/BENCHMARKS.md`, tenth pass).
        // SQLite: `key >= K AND (key > K OR id > I)`, a range of the index, then the ties.
        q = match backend {
            DatabaseBackend::Postgres => {
                let cursor = Query::select()
                    .expr(Expr::val(a.key.value()).cast_as(a.key.pg_type()))
                    .expr(Expr::val(a.id).cast_as("uuid"))
                    .to_owned();
                let cursor =
                    Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(cursor)));
                q.filter(Expr::tuple([k(), id()]).gt(cursor))
            }
            _ => q
                .filter(k().gte(a.key.value()))
                .filter(Condition::any().add(k().gt(a.key.value())).add(id().gt(a.id))),
        };
    }
    let tags = if columns.tags { tags_column(backend) } else { Expr::cust("CAST(NULL AS TEXT)") };
    let q = q.column_as(tags, "tags").order_by_asc(key).order_by_asc(course::Column::Id);
    if searched {
        // A search keeps its limit bound, as measured flat with size: with the number written
        // in, the generic plan PostgreSQL costs for an unknown pattern (a few rows) is a scan of
        // the tenant's courses and a sort, twice as slow at 1,000 courses as the order's index.
        return Ok(q.limit(first + 1).build(backend));
    }
    // Without a term the limit is written into the statement, not bound: PostgreSQL costs a
    // prepared statement's generic plan for an unknown limit (a tenth of the rows), finds it
    // dearer than a plan for the value bound, and so plans the page again at every execution
    // (about 0.1 ms, as long as running it). With the number in the text it keeps one generic
    // plan per connection after five runs (the order's index whatever the tenant; a filtered
    // page may still be planned for its values, as PostgreSQL judges). `first` is a number,
    // never text (the API takes 1 to 100): one statement per page size.
    let mut page = q.build(backend);
    page.sql.push_str(&format!(" LIMIT {}", first + 1));
    Ok(page)
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
