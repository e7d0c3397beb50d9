//! Learning API: the learner's mutations (enroll, cancel, complete a lesson) and the live-class
//! mutations of instructors, admins and the virtual-classroom integration. The enrollment,
//! roster and live-class types are in [`super::nodes`].

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{request, services};
use super::nodes::{EnrollmentNode, LiveClassNode};
use super::pagination::parse_id;
use crate::domain::learning::{self, LiveClassDraft, Participation};
use crate::domain::types;
use crate::error::IntoGql;

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
        Ok(LiveClassPayload { live_class: LiveClassNode::from(lc) })
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
        Ok(LiveClassPayload { live_class: LiveClassNode::from(lc) })
    }
}
