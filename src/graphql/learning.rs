//! Learning API: enrollments with progress, rosters, live classes with attendance and
//! recordings, and the learner / integration mutations.
//!
//! Enrollment nodes are learning-record data: they are reached only through guarded paths
//! (`User.enrollments`, `Session.roster`, the payload of one's own mutation).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::catalog::SessionNode;
use super::context::{request, services};
use super::guard::{Need, Subject};
use super::loaders::{
    CourseLessons, EnrollmentCompletions, LearnerAttendance, LearnerEnrollments, SessionById,
    SessionLiveClasses,
};
use super::pagination::parse_id;
use super::user::UserNode;
use crate::domain::accounts::UserRecord;
use crate::domain::learning::{self, EnrollmentStatus, LiveClassDraft, Participation};
use crate::domain::types;
use crate::entities::{enrollment, live_class, live_class_attendance};
use crate::error::{AppError, IntoGql};
use crate::policy::{self, DataField};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "EnrollmentStatus")]
pub enum EnrollmentStatusGql {
    PendingPayment,
    Active,
    Completed,
    Cancelled,
}

impl From<EnrollmentStatus> for EnrollmentStatusGql {
    fn from(s: EnrollmentStatus) -> Self {
        match s {
            EnrollmentStatus::PendingPayment => EnrollmentStatusGql::PendingPayment,
            EnrollmentStatus::Active => EnrollmentStatusGql::Active,
            EnrollmentStatus::Completed => EnrollmentStatusGql::Completed,
            EnrollmentStatus::Cancelled => EnrollmentStatusGql::Cancelled,
        }
    }
}

/// Lessons done out of the course's lessons.
#[derive(SimpleObject)]
pub struct Progress {
    pub completed_lessons: i32,
    pub total_lessons: i32,
    /// 0–100, rounded down.
    pub percent: i32,
}

/// One participant's statistics in one live class.
pub struct AttendanceNode(pub live_class_attendance::Model);

#[Object(name = "Attendance")]
impl AttendanceNode {
    async fn live_class_id(&self) -> ID {
        ID(self.0.live_class_id.to_string())
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }
    async fn left_at(&self) -> DateTime<Utc> {
        self.0.left_at
    }
    async fn talk_seconds(&self) -> i32 {
        self.0.talk_seconds
    }
    async fn chat_messages(&self) -> i32 {
        self.0.chat_messages
    }
    async fn hand_raises(&self) -> i32 {
        self.0.hand_raises
    }
    async fn poll_answers(&self) -> i32 {
        self.0.poll_answers
    }
}

/// A learner's place in a session.
pub struct EnrollmentNode(pub enrollment::Model);

async fn attendance_in_session(
    ctx: &Context<'_>,
    learner: Uuid,
    session: Uuid,
) -> async_graphql::Result<Vec<AttendanceNode>> {
    let rc = request(ctx).gql()?;
    let classes: Vec<Uuid> = rc
        .load(SessionLiveClasses(session))
        .await
        .gql()?
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let rows = rc.load(LearnerAttendance(learner)).await.gql()?.unwrap_or_default();
    Ok(rows
        .into_iter()
        .filter(|a| classes.contains(&a.live_class_id))
        .map(AttendanceNode)
        .collect())
}

async fn progress_of(ctx: &Context<'_>, e: &enrollment::Model) -> async_graphql::Result<Progress> {
    let rc = request(ctx).gql()?;
    let session =
        rc.load(SessionById(e.session_id)).await.gql()?.ok_or(AppError::NotFound).gql()?;
    let lessons = rc.load(CourseLessons(session.course_id)).await.gql()?.unwrap_or_default();
    let done = rc.load(EnrollmentCompletions(e.id)).await.gql()?.unwrap_or_default();
    let completed = lessons.iter().filter(|l| done.contains(&l.id)).count() as i32;
    let total = lessons.len() as i32;
    let percent = if total == 0 { 0 } else { completed * 100 / total };
    Ok(Progress { completed_lessons: completed, total_lessons: total, percent })
}

#[Object(name = "Enrollment")]
impl EnrollmentNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> EnrollmentStatusGql {
        EnrollmentStatus::parse(&self.0.status).into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn session(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SessionNode>> {
        Ok(request(ctx).gql()?.load(SessionById(self.0.session_id)).await.gql()?.map(SessionNode))
    }
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<Progress> {
        progress_of(ctx, &self.0).await
    }
    async fn completed_lesson_ids(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ID>> {
        let done = request(ctx)
            .gql()?
            .load(EnrollmentCompletions(self.0.id))
            .await
            .gql()?
            .unwrap_or_default();
        Ok(done.into_iter().map(|i| ID(i.to_string())).collect())
    }
    /// Attendance statistics in this session's live classes.
    async fn attendance(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AttendanceNode>> {
        attendance_in_session(ctx, self.0.learner_id, self.0.session_id).await
    }
    /// The virtual room, for a live enrollment of a virtual-class session.
    async fn join_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        if !matches!(
            EnrollmentStatus::parse(&self.0.status),
            EnrollmentStatus::Active | EnrollmentStatus::Completed
        ) {
            return Ok(None);
        }
        Ok(request(ctx)
            .gql()?
            .load(SessionById(self.0.session_id))
            .await
            .gql()?
            .and_then(|s| served_link(s.virtual_room)))
    }
}

/// One learner of a session, as its instructor (or support) sees them. Every field is the
/// learner's data and guarded as such (a restricted learner's record is closed to staff).
pub struct RosterEntry {
    enrollment: enrollment::Model,
    learner: UserRecord,
    subject: Subject,
}

impl RosterEntry {
    pub fn new(enrollment: enrollment::Model, learner: UserRecord) -> Self {
        let subject = Subject::person(learner.facts());
        RosterEntry { enrollment, learner, subject }
    }
}

#[Object]
impl RosterEntry {
    /// The learner; each field follows the need-to-know policy (an instructor reads names and
    /// the e-mail of their own learners, nothing else).
    async fn learner(&self) -> UserNode {
        UserNode::new(self.learner.clone())
    }
    async fn enrollment_id(&self) -> ID {
        ID(self.enrollment.id.to_string())
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Enrollments)")]
    async fn status(&self) -> Option<EnrollmentStatusGql> {
        Some(EnrollmentStatus::parse(&self.enrollment.status).into())
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Progress)")]
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Progress>> {
        progress_of(ctx, &self.enrollment).await.map(Some)
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Attendance)")]
    async fn attendance(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<AttendanceNode>>> {
        attendance_in_session(ctx, self.enrollment.learner_id, self.enrollment.session_id)
            .await
            .map(Some)
    }
}

/// A virtual-classroom meeting of a session.
pub struct LiveClassNode {
    pub lc: live_class::Model,
    pub instructor: Option<Uuid>,
}

#[Object(name = "LiveClass")]
impl LiveClassNode {
    async fn id(&self) -> ID {
        ID(self.lc.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.lc.title
    }
    async fn starts_at(&self) -> DateTime<Utc> {
        self.lc.starts_at
    }
    async fn ends_at(&self) -> DateTime<Utc> {
        self.lc.ends_at
    }
    async fn recorded(&self) -> bool {
        self.lc.recorded
    }
    /// When the recording disappears (the organisation keeps recordings 7 or 14 days).
    async fn recording_expires_at(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DateTime<Utc>>> {
        let days = request(ctx).gql()?.tenant.recording_retention_days;
        Ok(self.lc.recorded.then(|| learning::recording_expires_at(&self.lc, days)))
    }
    /// The recording, for the session's learners and instructor (`FORBIDDEN` for others);
    /// `null` once expired.
    #[graphql(cache_control(no_cache))]
    async fn recording_ref(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.actor(s).await.gql()?;
        let enrolled = match actor.user_id {
            Some(me) => {
                rc.load(LearnerEnrollments(me)).await.gql()?.unwrap_or_default().iter().any(|e| {
                    e.session_id == self.lc.session_id
                        && matches!(
                            EnrollmentStatus::parse(&e.status),
                            EnrollmentStatus::Active | EnrollmentStatus::Completed
                        )
                })
            }
            None => false,
        };
        if !policy::may_watch_recording(&actor, enrolled, self.instructor) {
            return Err(AppError::Forbidden).gql();
        }
        let expired = learning::recording_expires_at(&self.lc, rc.tenant.recording_retention_days)
            <= s.clock.now();
        Ok(if expired { None } else { served_link(self.lc.recording_ref.clone()) })
    }
}

/// Enroll yourself (or your ward) in a session of a free course.
#[derive(InputObject)]
pub struct EnrollInput {
    pub session_id: ID,
    /// A ward's id, when a guardian enrolls them.
    pub learner_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CancelEnrollmentInput {
    pub enrollment_id: ID,
}

#[derive(InputObject)]
pub struct CompleteLessonInput {
    pub enrollment_id: ID,
    pub lesson_id: ID,
}

#[derive(SimpleObject)]
pub struct EnrollmentPayload {
    pub enrollment: EnrollmentNode,
}

/// A live class to schedule (admin or the session's instructor).
#[derive(InputObject)]
pub struct ScheduleLiveClassInput {
    pub session_id: ID,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[graphql(default)]
    pub recorded: bool,
}

/// One participant's statistics.
#[derive(InputObject)]
pub struct ParticipationInput {
    pub learner_id: ID,
    pub joined_at: DateTime<Utc>,
    pub left_at: DateTime<Utc>,
    #[graphql(default)]
    pub talk_seconds: i32,
    #[graphql(default)]
    pub chat_messages: i32,
    #[graphql(default)]
    pub hand_raises: i32,
    #[graphql(default)]
    pub poll_answers: i32,
}

/// A stored link as served: checked again as an [`types::HttpsUrl`], so a row written before
/// links were checked (`javascript:…`) is never handed to a browser.
fn served_link(stored: Option<String>) -> Option<String> {
    let stored = stored?;
    let link = types::HttpsUrl::stored(&stored);
    if link.is_none() {
        tracing::warn!("a stored link is not a valid https:// URL: not served");
    }
    link.map(types::HttpsUrl::into_inner)
}

/// Statistics (and the recording) of a live class, from the virtual-classroom integration.
#[derive(InputObject)]
pub struct RecordLiveClassInput {
    pub live_class_id: ID,
    #[graphql(default)]
    pub participants: Vec<ParticipationInput>,
    /// `https://` link of the recording: a host, no credentials, at most 2,048 characters.
    pub recording_ref: Option<String>,
}

#[derive(SimpleObject)]
pub struct LiveClassPayload {
    pub live_class: LiveClassNode,
}

#[derive(Default)]
pub struct LearningMutation;

#[Object]
impl LearningMutation {
    /// Enrolls in a session of a free course. Sold out or already enrolled → `CONFLICT`.
    async fn enroll(
        &self,
        ctx: &Context<'_>,
        input: EnrollInput,
    ) -> async_graphql::Result<EnrollmentPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.user_actor(s).await.gql()?;
        let session = parse_id("input.sessionId", &input.session_id).gql()?;
        let learner =
            input.learner_id.as_ref().map(|l| parse_id("input.learnerId", l)).transpose().gql()?;
        let relations = rc.relations(s, &actor).await.gql()?;
        let e = learning::enroll(s, &actor, relations, session, learner).await.gql()?;
        Ok(EnrollmentPayload { enrollment: EnrollmentNode(e) })
    }

    /// Cancels an enrollment and frees the seat (the learner or their guardian).
    async fn cancel_enrollment(
        &self,
        ctx: &Context<'_>,
        input: CancelEnrollmentInput,
    ) -> async_graphql::Result<EnrollmentPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.user_actor(s).await.gql()?;
        let id = parse_id("input.enrollmentId", &input.enrollment_id).gql()?;
        let relations = rc.relations(s, &actor).await.gql()?;
        Ok(EnrollmentPayload {
            enrollment: EnrollmentNode(learning::cancel(s, &actor, relations, id).await.gql()?),
        })
    }

    /// Marks a lesson done; the enrollment completes with its last lesson.
    async fn complete_lesson(
        &self,
        ctx: &Context<'_>,
        input: CompleteLessonInput,
    ) -> async_graphql::Result<EnrollmentPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let e = parse_id("input.enrollmentId", &input.enrollment_id).gql()?;
        let l = parse_id("input.lessonId", &input.lesson_id).gql()?;
        Ok(EnrollmentPayload {
            enrollment: EnrollmentNode(learning::complete_lesson(s, &actor, e, l).await.gql()?),
        })
    }

    /// Schedules a live class for a session.
    async fn schedule_live_class(
        &self,
        ctx: &Context<'_>,
        input: ScheduleLiveClassInput,
    ) -> async_graphql::Result<LiveClassPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let session = parse_id("input.sessionId", &input.session_id).gql()?;
        let title = types::text("input.title", &input.title, 1, 200, false).gql()?;
        let draft = LiveClassDraft {
            title,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            recorded: input.recorded,
        };
        let lc = learning::schedule_live_class(s, &actor, session, draft).await.gql()?;
        let instructor = crate::domain::catalog::session_by_id(s, actor.tenant_id, session)
            .await
            .gql()?
            .and_then(|x| x.instructor_id);
        Ok(LiveClassPayload { live_class: LiveClassNode { lc, instructor } })
    }

    /// Records attendance statistics and the recording of a live class (integration accounts).
    async fn record_live_class(
        &self,
        ctx: &Context<'_>,
        input: RecordLiveClassInput,
    ) -> async_graphql::Result<LiveClassPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let id = parse_id("input.liveClassId", &input.live_class_id).gql()?;
        let mut participants = Vec::with_capacity(input.participants.len());
        for (i, p) in input.participants.into_iter().enumerate() {
            participants.push(Participation {
                learner_id: parse_id(&format!("input.participants.{i}.learnerId"), &p.learner_id)
                    .gql()?,
                joined_at: p.joined_at,
                left_at: p.left_at,
                talk_seconds: p.talk_seconds,
                chat_messages: p.chat_messages,
                hand_raises: p.hand_raises,
                poll_answers: p.poll_answers,
            });
        }
        let recording = input
            .recording_ref
            .map(|r| types::HttpsUrl::parse("input.recordingRef", &r))
            .transpose()
            .gql()?;
        let lc = learning::record_live_class(s, &actor, id, participants, recording).await.gql()?;
        let instructor = crate::domain::catalog::session_by_id(s, actor.tenant_id, lc.session_id)
            .await
            .gql()?
            .and_then(|x| x.instructor_id);
        Ok(LiveClassPayload { live_class: LiveClassNode { lc, instructor } })
    }
}
