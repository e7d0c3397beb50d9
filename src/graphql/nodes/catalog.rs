//! Catalogue nodes: public, without personal data, cacheable for anonymous visitors; a
//! session's roster is the one guarded door from here into learning records.
//!
//! The leaf types (`Money`, `Instructor`, `Lesson`) resolve their fields one after another
//! (`serial`): none of their fields waits for anything, and async-graphql's concurrent
//! resolution gives each field a task in a `FuturesUnordered` (an allocation, reference counts,
//! a wake-up), more than the field itself costs. `Course` and `Session` stay concurrent: their
//! fields load (tags, sessions, lessons, instructors, live classes), each load waits for the
//! loader's dispatch (which goes through tokio's timer), and loads one after another doubled
//! the time of a course page (3.8 → 7.5 ms; docs/BENCHMARKS.md, seventh pass).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::learning::{LiveClassNode, RosterEntry};
use crate::domain::catalog::{CourseStatus, Format, Level};
use crate::domain::visibility;
use crate::entities::{course, lesson, session};
use crate::error::IntoGql;
use crate::graphql::context::{loaders, request, services};
use crate::graphql::loaders::{
    CourseById, CourseLessons, CourseSessions, CourseTags, CourseUpcomingSessions, InstructorName,
    SessionLiveClasses,
};

gql_enum!(LevelGql as "CourseLevel" <=> Level { Beginner, Intermediate, Advanced });
gql_enum!(FormatGql as "CourseFormat" <=> Format { Online, InPerson, VirtualClass });
gql_enum!(StatusGql as "CourseStatus" <=> CourseStatus { Draft, Published, Archived });

/// An amount in minor units (cents) and its currency.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Money", serial, cache_control(max_age = 60))]
pub struct MoneyGql {
    pub amount_cents: i64,
    pub currency: String,
}

/// An instructor as the public sees them: a display name, nothing else.
#[derive(SimpleObject, Clone)]
#[graphql(serial, cache_control(max_age = 60))]
pub struct Instructor {
    pub display_name: String,
}

/// A lesson of a course outline.
pub struct LessonNode(pub lesson::Model);

#[Object(name = "Lesson", serial, cache_control(max_age = 60))]
impl LessonNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// 1-based position in the outline.
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn duration_minutes(&self) -> Option<i32> {
        self.0.duration_minutes
    }
}

// Public catalogue types carry `cache_control(max_age = 60)`: an anonymous response made only of
// them is cacheable by a CDN for 60 s (see `http::graphql`).

/// A catalogue item.
pub struct CourseNode(pub course::Model);

#[Object(name = "Course", cache_control(max_age = 60))]
impl CourseNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn level(&self) -> Option<LevelGql> {
        Some(self.0.level.into())
    }
    async fn format(&self) -> Option<FormatGql> {
        Some(self.0.format.into())
    }
    /// Language the course is taught in (`fr`, `en`, …).
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// Price including tax, in minor units.
    async fn price(&self) -> MoneyGql {
        MoneyGql { amount_cents: self.0.price_cents, currency: self.0.currency.clone() }
    }
    /// VAT rate in basis points (2000 = 20 %).
    async fn tax_rate_bp(&self) -> i32 {
        self.0.tax_rate_bp
    }
    async fn status(&self) -> Option<StatusGql> {
        Some(self.0.status.into())
    }
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Ok(loaders(ctx).gql()?.load(CourseTags(self.0.id)).await.gql()?.unwrap_or_default())
    }
    /// Sessions (cohorts): upcoming ones unless `includePast`.
    #[graphql(complexity = "5 * child_complexity")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_past: bool,
    ) -> async_graphql::Result<Vec<SessionNode>> {
        let l = loaders(ctx).gql()?;
        let rows = if include_past {
            l.load(CourseSessions(self.0.id)).await
        } else {
            l.load(CourseUpcomingSessions(self.0.id)).await
        };
        Ok(rows.gql()?.unwrap_or_default().into_iter().map(SessionNode).collect())
    }
    /// The lesson outline, in order.
    #[graphql(complexity = "5 * child_complexity")]
    async fn lessons(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LessonNode>> {
        Ok(loaders(ctx)
            .gql()?
            .load(CourseLessons(self.0.id))
            .await
            .gql()?
            .unwrap_or_default()
            .into_iter()
            .map(LessonNode)
            .collect())
    }
}

/// A cohort of a course.
pub struct SessionNode(pub session::Model);

#[Object(name = "Session", cache_control(max_age = 60))]
impl SessionNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    async fn capacity(&self) -> i32 {
        self.0.capacity
    }
    async fn seats_left(&self) -> i32 {
        (self.0.capacity - self.0.seats_taken).max(0)
    }
    /// Where an in-person session takes place.
    async fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
    async fn instructor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Instructor>> {
        let Some(id) = self.0.instructor_id else { return Ok(None) };
        let name = loaders(ctx).gql()?.load(InstructorName(id)).await.gql()?;
        Ok(name.map(|display_name| Instructor { display_name }))
    }
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CourseNode>> {
        Ok(loaders(ctx).gql()?.load(CourseById(self.0.course_id)).await.gql()?.map(CourseNode))
    }
    /// Scheduled live classes (virtual-classroom meetings).
    #[graphql(complexity = "5 * child_complexity")]
    async fn live_classes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LiveClassNode>> {
        let rows = loaders(ctx)
            .gql()?
            .load(SessionLiveClasses(self.0.id))
            .await
            .gql()?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|lc| LiveClassNode { lc, instructor: self.0.instructor_id })
            .collect())
    }
    /// The learners of this session with progress and attendance: the session's instructor,
    /// support and the privacy officer only (`FORBIDDEN` otherwise).
    #[graphql(cache_control(no_cache), complexity = "10 * child_complexity")]
    async fn roster(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<RosterEntry>>> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let rows = visibility::roster(s, &actor, &self.0).await.gql()?;
        Ok(Some(rows.into_iter().map(|(e, r)| RosterEntry::new(e, r)).collect()))
    }
}
