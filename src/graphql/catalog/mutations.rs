//! The catalogue's admin mutations: courses (create, update, publish, unpublish, archive),
//! sessions (create, update, cancel) and lessons (add, update, remove). Each parses its input
//! (`inputs`), makes one catalogue call with the actor (which decides who may) and wraps the
//! result in its payload.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::inputs::{
    AddLessonInput, CancelSessionInput, CourseIdInput, CreateCourseInput, CreateSessionInput,
    RemoveLessonInput, UpdateCourseInput, UpdateLessonInput, UpdateSessionInput, duration,
};
use crate::domain::catalog::{self, CourseStatus};
use crate::domain::types;
use crate::error::{AppError, IntoGql};
use crate::graphql::context::{request, services};
use crate::graphql::nodes::{CourseNode, LessonNode, SessionNode};
use crate::graphql::pagination::parse_id;

#[derive(SimpleObject)]
pub struct RemoveLessonPayload {
    pub removed_lesson_id: ID,
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
