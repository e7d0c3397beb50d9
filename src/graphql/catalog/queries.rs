//! The public catalogue: `courses` (filtered, sorted, paginated), `course` by slug and
//! `session` by id. No personal data (instructors by display name only), so an anonymous page
//! may be cached; a page primes its nested lists in one query per kind (see `prime`), so its
//! statement count does not grow with its size.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Lookahead, Object};

use crate::domain::catalog::{
    self, CourseFilter, CourseSort, Listed, PageColumns, PageRequest, SortKey,
};
use crate::domain::types;
use crate::domain::visibility;
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::context::{loaders, request, services};
use crate::graphql::loaders::{CourseLessons, CourseTags, CourseUpcomingSessions, InstructorName};
use crate::graphql::nodes::{CourseNode, FormatGql, LevelGql, SessionNode};
use crate::graphql::pagination::{page_size, parse_id};

/// Catalogue filters; all optional and combined with AND.
#[derive(InputObject, Default)]
pub struct CourseFilterInput {
    pub format: Option<FormatGql>,
    pub level: Option<LevelGql>,
    /// `fr`, `en`, …
    pub language: Option<String>,
    pub tag: Option<String>,
    pub min_price_cents: Option<i32>,
    pub max_price_cents: Option<i32>,
    pub has_upcoming_session: Option<bool>,
    /// Words searched in titles and summaries.
    pub search: Option<String>,
}

gql_enum!(
    /// Catalogue orders.
    CourseSortGql as "CourseSort" <=> CourseSort {
        /// Next upcoming session first; courses without one last.
        StartDate,
        Price,
        Title,
    }
);

pub type CourseConnection = Connection<String, CourseNode>;

/// Most courses one page may hold.
pub const MAX_COURSES_PER_PAGE: i32 = 50;

impl CourseFilterInput {
    fn parse(self) -> AppResult<CourseFilter> {
        if let (Some(a), Some(b)) = (self.min_price_cents, self.max_price_cents)
            && a > b
        {
            return Err(AppError::bad_input(
                "filter.maxPriceCents",
                "must not be below minPriceCents",
            ));
        }
        let search = match self.search {
            Some(s) => Some(types::text("filter.search", &s, 0, 100, false)?),
            None => None,
        };
        Ok(CourseFilter {
            format: self.format.map(Into::into),
            level: self.level.map(Into::into),
            language: self.language.map(|l| l.trim().to_lowercase()),
            tag: self.tag.map(|t| t.trim().to_lowercase()),
            min_price_cents: self.min_price_cents.map(i64::from),
            max_price_cents: self.max_price_cents.map(i64::from),
            has_upcoming_session: self.has_upcoming_session,
            search,
        })
    }
}

/// The catalogue's keyset cursors: the order's key and the id of the last course of a page,
/// `course:<order>:<id>:<key>` in URL-safe base64 (opaque to clients).
mod course_cursor {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::{DateTime, SecondsFormat, Utc};
    use uuid::Uuid;

    use crate::domain::catalog::{After, SortKey};
    use crate::error::{AppError, AppResult};

    /// Longest cursor accepted (a title key is at most a few hundred bytes).
    const MAX_LEN: usize = 2048;

    pub fn encode(key: &SortKey, id: Uuid) -> String {
        let text = match key {
            SortKey::StartDate(t) => {
                format!("course:s:{id}:{}", t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }
            SortKey::Price(p) => format!("course:p:{id}:{p}"),
            SortKey::Title(t) => format!("course:t:{id}:{t}"),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(cursor: &str) -> AppResult<After> {
        let invalid = || AppError::bad_input("after", "is not a valid cursor");
        if cursor.len() > MAX_LEN {
            return Err(invalid());
        }
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let text = String::from_utf8(raw).map_err(|_| invalid())?;
        let mut parts = text.splitn(4, ':');
        let (Some("course"), Some(order), Some(id), Some(key)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        let key = match order {
            "s" => SortKey::StartDate(
                DateTime::parse_from_rfc3339(key).map_err(|_| invalid())?.with_timezone(&Utc),
            ),
            "p" => SortKey::Price(key.parse().map_err(|_| invalid())?),
            "t" => SortKey::Title(key.to_owned()),
            _ => return Err(invalid()),
        };
        Ok(After { key, id })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_key_survives_the_round_trip_and_forgeries_are_refused() {
            let id = Uuid::now_v7();
            for key in [
                SortKey::StartDate(Utc::now()),
                SortKey::Price(-5),
                SortKey::Title("Cours : niveau 2 : oral".into()),
            ] {
                assert_eq!(decode(&encode(&key, id)).unwrap(), After { key, id });
            }
            for bad in ["", "Y291cnNlLW9mZnNldDo0", "Y291cnNlOng6MTI", &"A".repeat(4000)] {
                assert!(decode(bad).is_err(), "{bad}");
            }
        }
    }
}

/// Whether the page's nodes (under `edges { node }` or `nodes`) ask for the field at `path`.
fn asks(look: &Lookahead<'_>, path: &[&str]) -> bool {
    let under = |mut l: Lookahead<'_>| {
        for f in path {
            l = l.field(f);
        }
        l.exists()
    };
    under(look.field("edges").field("node")) || under(look.field("nodes"))
}

/// Loads the nested lists a catalogue page asks for, one query per kind, before the nodes
/// resolve: the statement count is then fixed whatever the page size and however the resolvers
/// are scheduled. Tags came with the page's own statement; sessions come with their
/// instructors' names in one statement.
async fn prime(ctx: &Context<'_>, rows: &[Listed], columns: PageColumns) -> AppResult<()> {
    let s = services(ctx)?;
    let rc = request(ctx)?;
    let batch = &loaders(ctx)?.batch;
    let look = ctx.look_ahead();
    let ids: Vec<uuid::Uuid> = rows.iter().map(|c| c.course.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let tenant = rc.tenant.id;
    if asks(&look, &["sessions"]) {
        let mut sessions = if asks(&look, &["sessions", "instructor"]) {
            let both = catalog::upcoming_sessions_and_instructors(s, tenant, &ids).await?;
            batch
                .feed_many(both.instructors.into_iter().map(|(k, v)| (InstructorName(k), v)))
                .await;
            both.sessions
        } else {
            catalog::upcoming_sessions_of(s, tenant, &ids).await?
        };
        batch
            .feed_many(
                ids.iter().map(|id| {
                    (CourseUpcomingSessions(*id), sessions.remove(id).unwrap_or_default())
                }),
            )
            .await;
    }
    if columns.tags {
        batch.feed_many(rows.iter().map(|r| (CourseTags(r.course.id), r.tags.clone()))).await;
    }
    if asks(&look, &["lessons"]) {
        let mut lessons = catalog::lessons_of(s, tenant, &ids).await?;
        batch
            .feed_many(
                ids.iter().map(|id| (CourseLessons(*id), lessons.remove(id).unwrap_or_default())),
            )
            .await;
    }
    Ok(())
}

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// The published catalogue. `first` ≤ 50; `sort` is `START_DATE` by default.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn courses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CourseFilterInput>,
        sort: Option<CourseSortGql>,
    ) -> async_graphql::Result<Option<CourseConnection>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let first = page_size(first, MAX_COURSES_PER_PAGE).gql()?;
        let after = after.as_deref().map(course_cursor::decode).transpose().gql()?;
        let filter = filter.unwrap_or_default().parse().gql()?;
        let sort = sort.map(CourseSort::from).unwrap_or_default();
        let look = ctx.look_ahead();
        let columns = PageColumns {
            description: asks(&look, &["description"]),
            tags: asks(&look, &["tags"]),
        };
        let page = PageRequest { filter: &filter, sort, after: after.as_ref(), first, columns };
        let (rows, has_next) = catalog::published_courses(s, rc.tenant.id, page).await.gql()?;
        prime(ctx, &rows, columns).await.gql()?;
        let mut conn = Connection::new(after.is_some(), has_next);
        conn.edges.extend(rows.into_iter().map(|Listed { course: c, .. }| {
            Edge::new(course_cursor::encode(&SortKey::of(sort, &c), c.id), CourseNode(c))
        }));
        Ok(Some(conn))
    }

    /// One course by slug: published ones for everyone, drafts too for admins.
    async fn course(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Option<CourseNode>> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.actor(s).await.gql()?;
        Ok(visibility::course_by_slug(s, &actor, &slug).await.gql()?.map(CourseNode))
    }

    /// One session by id (of a published course; cancelled sessions are gone).
    async fn session(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<SessionNode>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let id = parse_id("id", &id).gql()?;
        Ok(visibility::public_session(s, rc.tenant.id, id).await.gql()?.map(SessionNode))
    }
}
