//! The catalogue API: public `courses` / `course` / `session` (no personal data; cacheable for
//! anonymous visitors) and the admin mutations that manage courses, sessions and lessons. The
//! `Course`, `Session` and `Lesson` types are in [`super::nodes`].

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{loaders, request, services};
use super::loaders::{CourseLessons, CourseSessions, CourseTags, InstructorName};
use super::nodes::{CourseNode, FormatGql, LessonNode, LevelGql, SessionNode};
use super::pagination::{offset_cursor, offset_page, parse_id};
use crate::domain::catalog::{
    self, CourseDraft, CourseFilter, CoursePatch, CourseSort, CourseStatus, SessionDraft,
};
use crate::domain::types::{self, Money, Slug, Tag};
use crate::domain::visibility;
use crate::entities::course;
use crate::error::{AppError, AppResult, IntoGql};

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

/// Loads the nested lists a catalogue page asks for, one query per kind, before the nodes
/// resolve: the statement count is then fixed (at most 5) whatever the page size and however
/// the resolvers are scheduled.
async fn prime(ctx: &Context<'_>, rows: &[course::Model]) -> AppResult<()> {
    let s = services(ctx)?;
    let rc = request(ctx)?;
    let batch = &loaders(ctx)?.batch;
    let look = ctx.look_ahead();
    let node = |f: &str| {
        look.field("edges").field("node").field(f).exists() || look.field("nodes").field(f).exists()
    };
    let ids: Vec<uuid::Uuid> = rows.iter().map(|c| c.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let tenant = rc.tenant.id;
    if node("sessions") {
        let mut sessions = catalog::sessions_of(s, tenant, &ids).await?;
        let wants_instructor =
            look.field("edges").field("node").field("sessions").field("instructor").exists()
                || look.field("nodes").field("sessions").field("instructor").exists();
        if wants_instructor {
            let instructors: Vec<uuid::Uuid> = sessions
                .values()
                .flatten()
                .filter_map(|x| x.instructor_id)
                .collect::<std::collections::HashSet<_>>()
                .into_iter()
                .collect();
            let names = catalog::instructor_names(s, tenant, &instructors).await?;
            batch.feed_many(names.into_iter().map(|(k, v)| (InstructorName(k), v))).await;
        }
        batch
            .feed_many(
                ids.iter().map(|id| (CourseSessions(*id), sessions.remove(id).unwrap_or_default())),
            )
            .await;
    }
    if node("tags") {
        let mut tags = catalog::tags_of(s, tenant, &ids).await?;
        batch
            .feed_many(ids.iter().map(|id| (CourseTags(*id), tags.remove(id).unwrap_or_default())))
            .await;
    }
    if node("lessons") {
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
        let (first, offset) =
            offset_page(first, after.as_deref(), "course", MAX_COURSES_PER_PAGE).gql()?;
        let filter = filter.unwrap_or_default().parse().gql()?;
        let sort = sort.map(CourseSort::from).unwrap_or_default();
        let (rows, has_next) =
            catalog::published_courses(s, rc.tenant.id, &filter, sort, first, offset)
                .await
                .gql()?;
        prime(ctx, &rows).await.gql()?;
        let mut conn = Connection::new(offset > 0, has_next);
        conn.edges.extend(
            rows.into_iter()
                .enumerate()
                .map(|(i, c)| Edge::new(offset_cursor("course", offset + i as u64), CourseNode(c))),
        );
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

/// A new course (created as a draft).
#[derive(InputObject)]
pub struct CreateCourseInput {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub description: String,
    pub level: LevelGql,
    pub format: FormatGql,
    pub language: String,
    pub price_cents: i32,
    #[graphql(default_with = "String::from(\"EUR\")")]
    pub currency: String,
    /// VAT in basis points (0–10000).
    #[graphql(default = 2000)]
    pub tax_rate_bp: i32,
    #[graphql(default)]
    pub tags: Vec<String>,
}

fn language(field: &str, raw: &str) -> AppResult<String> {
    let l = raw.trim().to_lowercase();
    if (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase()) {
        Ok(l)
    } else {
        Err(AppError::bad_input(field, "must be an ISO 639-1 language code such as fr"))
    }
}

fn tax(field: &str, bp: i32) -> AppResult<i32> {
    if (0..=10_000).contains(&bp) {
        Ok(bp)
    } else {
        Err(AppError::bad_input(field, "must be between 0 and 10000 basis points"))
    }
}

fn tags(field: &str, raw: &[String]) -> AppResult<Vec<Tag>> {
    if raw.len() > 10 {
        return Err(AppError::bad_input(field, "at most 10 tags"));
    }
    raw.iter().enumerate().map(|(i, t)| Tag::parse(&format!("{field}.{i}"), t)).collect()
}

impl CreateCourseInput {
    fn parse(self) -> AppResult<CourseDraft> {
        Ok(CourseDraft {
            slug: Slug::parse("input.slug", &self.slug)?,
            title: types::text("input.title", &self.title, 3, 120, false)?,
            summary: types::text("input.summary", &self.summary, 1, 300, false)?,
            description: types::text("input.description", &self.description, 0, 10_000, true)?,
            level: self.level.into(),
            format: self.format.into(),
            language: language("input.language", &self.language)?,
            price: Money::parse("input.price", i64::from(self.price_cents), &self.currency)
                .map_err(|e| match e {
                    AppError::BadUserInput { field, message } => AppError::BadUserInput {
                        field: field
                            .replace("input.price.amountCents", "input.priceCents")
                            .replace("input.price.currency", "input.currency"),
                        message,
                    },
                    other => other,
                })?,
            tax_rate_bp: tax("input.taxRateBp", self.tax_rate_bp)?,
            tags: tags("input.tags", &self.tags)?,
        })
    }
}

/// Changes to a course; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCourseInput {
    pub course_id: ID,
    pub slug: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub level: Option<LevelGql>,
    pub format: Option<FormatGql>,
    pub language: Option<String>,
    pub price_cents: Option<i32>,
    pub currency: Option<String>,
    pub tax_rate_bp: Option<i32>,
    pub tags: Option<Vec<String>>,
}

impl UpdateCourseInput {
    fn parse(self, current_currency: &str, current_price: i64) -> AppResult<CoursePatch> {
        let price = match (self.price_cents, &self.currency) {
            (None, None) => None,
            (p, c) => Some(
                Money::parse(
                    "input",
                    p.map_or(current_price, i64::from),
                    c.as_deref().unwrap_or(current_currency),
                )
                .map_err(|e| match e {
                    AppError::BadUserInput { field, message } => AppError::BadUserInput {
                        field: field.replace("input.amountCents", "input.priceCents"),
                        message,
                    },
                    other => other,
                })?,
            ),
        };
        Ok(CoursePatch {
            slug: self.slug.map(|s| Slug::parse("input.slug", &s)).transpose()?,
            title: self.title.map(|t| types::text("input.title", &t, 3, 120, false)).transpose()?,
            summary: self
                .summary
                .map(|t| types::text("input.summary", &t, 1, 300, false))
                .transpose()?,
            description: self
                .description
                .map(|t| types::text("input.description", &t, 0, 10_000, true))
                .transpose()?,
            level: self.level.map(Into::into),
            format: self.format.map(Into::into),
            language: self.language.map(|l| language("input.language", &l)).transpose()?,
            price,
            tax_rate_bp: self.tax_rate_bp.map(|t| tax("input.taxRateBp", t)).transpose()?,
            tags: self.tags.map(|t| tags("input.tags", &t)).transpose()?,
        })
    }
}

#[derive(InputObject)]
pub struct CourseIdInput {
    pub course_id: ID,
}

/// A new session of a course.
#[derive(InputObject)]
pub struct CreateSessionInput {
    pub course_id: ID,
    #[graphql(flatten)]
    pub values: SessionValues,
}

/// New values for a session (every field is replaced).
#[derive(InputObject)]
pub struct UpdateSessionInput {
    pub session_id: ID,
    #[graphql(flatten)]
    pub values: SessionValues,
}

/// The values of a session.
#[derive(InputObject)]
pub struct SessionValues {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub instructor_id: Option<ID>,
    pub capacity: i32,
    pub location: Option<String>,
    /// `https://` link of the virtual room (virtual-class courses): a host, no credentials, at
    /// most 2,048 characters.
    pub virtual_room: Option<String>,
}

impl SessionValues {
    fn parse(&self) -> AppResult<SessionDraft> {
        Ok(SessionDraft {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            instructor_id: self
                .instructor_id
                .as_ref()
                .map(|i| parse_id("input.instructorId", i))
                .transpose()?,
            capacity: self.capacity,
            location: self
                .location
                .as_deref()
                .map(|l| types::text("input.location", l, 1, 200, false))
                .transpose()?,
            virtual_room: self
                .virtual_room
                .as_deref()
                .map(|v| types::HttpsUrl::parse("input.virtualRoom", v))
                .transpose()?,
        })
    }
}

/// A lesson to add to a course outline.
#[derive(InputObject)]
pub struct AddLessonInput {
    pub course_id: ID,
    pub title: String,
    pub duration_minutes: Option<i32>,
    /// 1-based; appended when omitted.
    pub position: Option<i32>,
}

/// Changes to a lesson; omitted fields stay, `durationMinutes: null` clears it.
#[derive(InputObject)]
pub struct UpdateLessonInput {
    pub lesson_id: ID,
    pub title: Option<String>,
    pub duration_minutes: async_graphql::MaybeUndefined<i32>,
    /// Moves the lesson to this 1-based position.
    pub position: Option<i32>,
}

#[derive(InputObject)]
pub struct RemoveLessonInput {
    pub lesson_id: ID,
}

#[derive(SimpleObject)]
pub struct RemoveLessonPayload {
    pub removed_lesson_id: ID,
}

fn duration(field: &str, d: i32) -> AppResult<i32> {
    if (1..=1440).contains(&d) {
        Ok(d)
    } else {
        Err(AppError::bad_input(field, "must be between 1 and 1440"))
    }
}

#[derive(InputObject)]
pub struct CancelSessionInput {
    pub session_id: ID,
}

#[derive(SimpleObject)]
pub struct CancelSessionPayload {
    /// How many enrollments were cancelled with the session.
    pub cancelled_enrollments: u64,
}

#[derive(SimpleObject)]
pub struct CoursePayload {
    pub course: CourseNode,
}

#[derive(SimpleObject)]
pub struct SessionPayload {
    pub session: SessionNode,
}

#[derive(SimpleObject)]
pub struct LessonPayload {
    pub lesson: LessonNode,
}

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates a draft course (admin). A slug already used → `CONFLICT`.
    async fn create_course(
        &self,
        ctx: &Context<'_>,
        input: CreateCourseInput,
    ) -> async_graphql::Result<CoursePayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let draft = input.parse().gql()?;
        Ok(CoursePayload {
            course: CourseNode(catalog::create_course(s, &actor, draft).await.gql()?),
        })
    }

    /// Updates a course (admin).
    async fn update_course(
        &self,
        ctx: &Context<'_>,
        input: UpdateCourseInput,
    ) -> async_graphql::Result<CoursePayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let id = parse_id("input.courseId", &input.course_id).gql()?;
        let current =
            catalog::course(s, actor.tenant_id, id).await.gql()?.ok_or(AppError::NotFound).gql()?;
        let patch = input.parse(&current.currency, current.price_cents).gql()?;
        Ok(CoursePayload {
            course: CourseNode(catalog::update_course(s, &actor, id, patch).await.gql()?),
        })
    }

    /// Shows a course in the public catalogue (admin).
    async fn publish_course(
        &self,
        ctx: &Context<'_>,
        input: CourseIdInput,
    ) -> async_graphql::Result<CoursePayload> {
        set_status(ctx, input, CourseStatus::Published).await
    }

    /// Takes a course back to draft (admin).
    async fn unpublish_course(
        &self,
        ctx: &Context<'_>,
        input: CourseIdInput,
    ) -> async_graphql::Result<CoursePayload> {
        set_status(ctx, input, CourseStatus::Draft).await
    }

    /// Archives a course (admin): hidden from the catalogue, kept for records.
    async fn archive_course(
        &self,
        ctx: &Context<'_>,
        input: CourseIdInput,
    ) -> async_graphql::Result<CoursePayload> {
        set_status(ctx, input, CourseStatus::Archived).await
    }

    /// Adds a session to a course (admin).
    async fn create_session(
        &self,
        ctx: &Context<'_>,
        input: CreateSessionInput,
    ) -> async_graphql::Result<SessionPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let course_id = parse_id("input.courseId", &input.course_id).gql()?;
        let draft = input.values.parse().gql()?;
        Ok(SessionPayload {
            session: SessionNode(catalog::create_session(s, &actor, course_id, draft).await.gql()?),
        })
    }

    /// Changes a session (admin); the capacity cannot go below the seats taken.
    async fn update_session(
        &self,
        ctx: &Context<'_>,
        input: UpdateSessionInput,
    ) -> async_graphql::Result<SessionPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let id = parse_id("input.sessionId", &input.session_id).gql()?;
        let draft = input.values.parse().gql()?;
        Ok(SessionPayload {
            session: SessionNode(catalog::update_session(s, &actor, id, draft).await.gql()?),
        })
    }

    /// Cancels a session (admin): gone from the catalogue, its enrollments cancelled.
    async fn cancel_session(
        &self,
        ctx: &Context<'_>,
        input: CancelSessionInput,
    ) -> async_graphql::Result<CancelSessionPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let id = parse_id("input.sessionId", &input.session_id).gql()?;
        Ok(CancelSessionPayload {
            cancelled_enrollments: catalog::cancel_session(s, &actor, id).await.gql()?,
        })
    }

    /// Adds a lesson to a course outline (admin).
    async fn add_lesson(
        &self,
        ctx: &Context<'_>,
        input: AddLessonInput,
    ) -> async_graphql::Result<LessonPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let course_id = parse_id("input.courseId", &input.course_id).gql()?;
        let title = types::text("input.title", &input.title, 1, 200, false).gql()?;
        let minutes = input
            .duration_minutes
            .map(|d| duration("input.durationMinutes", d))
            .transpose()
            .gql()?;
        let l = catalog::add_lesson(s, &actor, course_id, title, minutes, input.position)
            .await
            .gql()?;
        Ok(LessonPayload { lesson: LessonNode(l) })
    }

    /// Renames, re-times or moves a lesson within its outline (admin).
    async fn update_lesson(
        &self,
        ctx: &Context<'_>,
        input: UpdateLessonInput,
    ) -> async_graphql::Result<LessonPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let id = parse_id("input.lessonId", &input.lesson_id).gql()?;
        let title =
            input.title.map(|t| types::text("input.title", &t, 1, 200, false)).transpose().gql()?;
        let minutes = match input.duration_minutes {
            async_graphql::MaybeUndefined::Undefined => None,
            async_graphql::MaybeUndefined::Null => Some(None),
            async_graphql::MaybeUndefined::Value(d) => {
                Some(Some(duration("input.durationMinutes", d).gql()?))
            }
        };
        let l =
            catalog::update_lesson(s, &actor, id, title, minutes, input.position).await.gql()?;
        Ok(LessonPayload { lesson: LessonNode(l) })
    }

    /// Removes a lesson from its outline (admin); the following lessons move up.
    async fn remove_lesson(
        &self,
        ctx: &Context<'_>,
        input: RemoveLessonInput,
    ) -> async_graphql::Result<RemoveLessonPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let id = parse_id("input.lessonId", &input.lesson_id).gql()?;
        catalog::remove_lesson(s, &actor, id).await.gql()?;
        Ok(RemoveLessonPayload { removed_lesson_id: input.lesson_id })
    }
}

async fn set_status(
    ctx: &Context<'_>,
    input: CourseIdInput,
    status: CourseStatus,
) -> async_graphql::Result<CoursePayload> {
    let s = services(ctx).gql()?;
    let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
    let id = parse_id("input.courseId", &input.course_id).gql()?;
    Ok(CoursePayload {
        course: CourseNode(catalog::set_course_status(s, &actor, id, status).await.gql()?),
    })
}
