//! Learning-record nodes: enrollments with progress and attendance, a session's roster, live
//! classes and their recordings. Enrollment nodes are learning-record data: they are reached
//! only through guarded paths (`User.enrollments`, `Session.roster`, the payload of one's own
//! mutation).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::catalog::SessionNode;
use super::user::UserNode;
use crate::domain::accounts::UserRecord;
use crate::domain::consent::{self, Purpose};
use crate::domain::learning::{self, EnrollmentStatus};
use crate::domain::types;
use crate::entities::{enrollment, live_class, live_class_attendance};
use crate::error::{AppError, IntoGql};
use crate::graphql::context::{loaders, request, services};
use crate::graphql::guard::{Need, Subject};
use crate::graphql::loaders::{
    EnrollmentCompletions, EnrollmentProgress, LearnerAttendance, LearnerEnrollments, SessionById,
    SessionLiveClasses, UserConsents,
};
use crate::policy::DataField;

gql_enum!(EnrollmentStatusGql as "EnrollmentStatus" <=> EnrollmentStatus {
    PendingPayment,
    Active,
    Completed,
    Cancelled,
});

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
    /// Whether the learner had agreed to be recorded (`CLASS_RECORDING`) when the attendance of
    /// this recorded class was reported; `false` marks who declined (and every participant of
    /// a class that is not recorded).
    async fn recording_consent(&self) -> bool {
        self.0.recording_consent
    }
}

/// The virtual room of a live enrollment, with the recording notice the learner must see
/// before joining.
pub struct VirtualClassroom {
    join_url: Option<String>,
    recorded: bool,
    consented: bool,
    retention_days: i64,
}

#[Object]
impl VirtualClassroom {
    /// The link to the room.
    async fn join_url(&self) -> Option<&str> {
        self.join_url.as_deref()
    }
    /// Whether a live class of the session still to come is recorded.
    async fn recorded(&self) -> bool {
        self.recorded
    }
    /// The learner's current consent to class recording (`CLASS_RECORDING`).
    async fn recording_consent(&self) -> bool {
        self.consented
    }
    /// How many days recordings are kept after a class.
    async fn recording_retention_days(&self) -> i32 {
        i32::try_from(self.retention_days).unwrap_or(i32::MAX)
    }
    /// The recording notice, in French (`fr`, default) or English (`en`); `null` when nothing
    /// is recorded.
    async fn notice(
        &self,
        #[graphql(default = "fr")] language: String,
    ) -> async_graphql::Result<Option<String>> {
        let lang = match language.as_str() {
            "fr" | "en" => language.as_str(),
            _ => return Err(AppError::bad_input("language", "must be `fr` or `en`")).gql(),
        };
        Ok(learning::recording_notice(self.recorded, self.consented, self.retention_days, lang))
    }
}

/// The virtual room of enrollment `e`'s session, while the enrollment is live.
async fn live_room(
    ctx: &Context<'_>,
    e: &enrollment::Model,
) -> async_graphql::Result<Option<String>> {
    if !e.status.is_live() {
        return Ok(None);
    }
    let session = loaders(ctx).gql()?.load(SessionById(e.session_id)).await.gql()?;
    Ok(session.and_then(|s| served_link(s.virtual_room)))
}

/// Whether `learner` consents to class recording now (batched per request).
async fn recording_consent_of(ctx: &Context<'_>, learner: Uuid) -> async_graphql::Result<bool> {
    let states = loaders(ctx).gql()?.load(UserConsents(learner)).await.gql()?.unwrap_or_default();
    Ok(consent::granted(&states, Purpose::ClassRecording))
}

/// A learner's place in a session.
pub struct EnrollmentNode(pub enrollment::Model);

async fn attendance_in_session(
    ctx: &Context<'_>,
    learner: Uuid,
    session: Uuid,
) -> async_graphql::Result<Vec<AttendanceNode>> {
    let batch = loaders(ctx).gql()?;
    let classes: Vec<Uuid> = batch
        .load(SessionLiveClasses(session))
        .await
        .gql()?
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let rows = batch.load(LearnerAttendance(learner)).await.gql()?.unwrap_or_default();
    Ok(rows
        .into_iter()
        .filter(|a| classes.contains(&a.live_class_id))
        .map(AttendanceNode)
        .collect())
}

async fn progress_of(ctx: &Context<'_>, e: &enrollment::Model) -> async_graphql::Result<Progress> {
    let counts =
        loaders(ctx).gql()?.load(EnrollmentProgress(e.id)).await.gql()?.unwrap_or_default();
    let completed = i32::try_from(counts.completed).unwrap_or(i32::MAX);
    let total = i32::try_from(counts.total).unwrap_or(i32::MAX);
    let percent = if total == 0 {
        0
    } else {
        i32::try_from(counts.completed * 100 / counts.total).unwrap_or(100)
    };
    Ok(Progress { completed_lessons: completed, total_lessons: total, percent })
}

#[Object(name = "Enrollment")]
impl EnrollmentNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> EnrollmentStatusGql {
        self.0.status.into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn session(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SessionNode>> {
        Ok(loaders(ctx).gql()?.load(SessionById(self.0.session_id)).await.gql()?.map(SessionNode))
    }
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<Progress> {
        progress_of(ctx, &self.0).await
    }
    async fn completed_lesson_ids(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ID>> {
        let done = loaders(ctx)
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
        live_room(ctx, &self.0).await
    }
    /// The virtual room with the recording notice (`CLASS_RECORDING`), for a live enrollment of
    /// a virtual-class session; `null` otherwise.
    async fn virtual_classroom(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<VirtualClassroom>> {
        let Some(join_url) = live_room(ctx, &self.0).await? else { return Ok(None) };
        let classes =
            loaders(ctx).gql()?.load(SessionLiveClasses(self.0.session_id)).await.gql()?;
        let now = services(ctx).gql()?.clock.now();
        Ok(Some(VirtualClassroom {
            join_url: Some(join_url),
            recorded: learning::records_upcoming(&classes.unwrap_or_default(), now),
            consented: recording_consent_of(ctx, self.0.learner_id).await?,
            retention_days: request(ctx).gql()?.tenant.recording_retention_days,
        }))
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
        Some(self.enrollment.status.into())
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
    /// Whether the learner agrees, now, to their participation being recorded
    /// (`CLASS_RECORDING`): the instructor of a recorded class must know who declined. Part of
    /// the attendance record (same access).
    #[graphql(guard = "Need::read(&self.subject, DataField::Attendance)")]
    async fn recording_consent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        recording_consent_of(ctx, self.enrollment.learner_id).await.map(Some)
    }
}

/// A virtual-classroom meeting of a session.
pub struct LiveClassNode {
    pub lc: live_class::Model,
    pub instructor: Option<Uuid>,
}

impl From<learning::LiveClassRecord> for LiveClassNode {
    fn from(r: learning::LiveClassRecord) -> Self {
        LiveClassNode { lc: r.class, instructor: r.instructor }
    }
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
        let own = match actor.user_id {
            Some(me) => loaders(ctx).gql()?.load(LearnerEnrollments(me)).await.gql()?,
            None => None,
        };
        let own: Vec<_> = own.unwrap_or_default().into_iter().map(|x| x.enrollment).collect();
        let stored = learning::recording(
            &actor,
            &self.lc,
            self.instructor,
            &own,
            rc.tenant.recording_retention_days,
            s.clock.now(),
        )
        .gql()?;
        Ok(served_link(stored))
    }
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
