//! Demo enrollments with their progress, and the recorded live class.
//!
//! A demo enrollment is booked a week before its session starts (the booking rules refuse a
//! session that has started, and the demo sessions have), by the learner or, for a minor, by
//! their guardian: a free course through `learning::enroll`, a paid one as a paid order
//! (`orders`). The learner then marks their first lessons done (`learning::complete_lesson`,
//! which completes the enrollment with the last one). The live class is scheduled by its
//! session's instructor and reported (attendance, recording) by the virtual-classroom account,
//! as the integration does.

use chrono::Duration;

use super::data::DemoTenant;
use super::{SeedReport, Seeder, orders};
use crate::domain::learning::{self, LiveClassDraft, Participation};
use crate::domain::types::HttpsUrl;
use crate::error::AppResult;
use crate::policy::Role;

/// How long before its session a demo enrollment was booked.
const BOOKED_DAYS_BEFORE: i64 = 7;
/// How long a demo live class lasts.
const CLASS_MINUTES: i64 = 90;

/// The demo enrollments; an enrollment of the learner in that session (not cancelled) counts
/// as existing and is left alone.
#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant.id))]
pub(super) async fn load(s: &Seeder<'_>, t: &DemoTenant, report: &mut SeedReport) -> AppResult<()> {
    for e in &t.enrollments {
        let (course, session, lessons) = s.session(&e.course, e.session).await?;
        let learner = s.user_id(&e.learner).await?;
        let enrolled = learning::enrollments_of(s.services, s.tenant.id, &[learner])
            .await?
            .remove(&learner)
            .unwrap_or_default()
            .iter()
            .any(|x| x.session_id == session.id);
        report.count(!enrolled);
        if enrolled {
            continue;
        }
        // A minor's place is booked (and paid) by their guardian.
        let buyer =
            t.guardians.iter().find(|g| g.minor == e.learner).map_or(&e.learner, |g| &g.guardian);
        let (buyer, relations) = s.person(buyer).await?;
        let booked = s.at((session.starts_at - Duration::days(BOOKED_DAYS_BEFORE)).min(s.now));
        let enrollment = if course.price_cents > 0 {
            orders::paid_order(s, &booked, &buyer, learner, &course, &session).await?
        } else {
            learning::enroll(&booked, &buyer, &relations, session.id, Some(learner)).await?.id
        };
        let (me, _) = s.actor(learner).await?;
        for lesson in lessons.iter().take(e.completed_lessons) {
            learning::complete_lesson(s.services, &me, enrollment, lesson.id).await?;
        }
    }
    Ok(())
}

/// The demo live classes; one with the same title in its session counts as existing.
#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant.id))]
pub(super) async fn load_live_classes(
    s: &Seeder<'_>,
    t: &DemoTenant,
    report: &mut SeedReport,
) -> AppResult<()> {
    for lc in &t.live_classes {
        let (_, session, _) = s.session(&lc.course, lc.session).await?;
        let exists = learning::live_classes_of(s.services, s.tenant.id, &[session.id])
            .await?
            .remove(&session.id)
            .unwrap_or_default()
            .iter()
            .any(|c| c.title == lc.title);
        report.count(!exists);
        if exists {
            continue;
        }
        // Scheduled by the session's instructor (or, without one, an admin).
        let (scheduler, _) = match session.instructor_id {
            Some(id) => s.actor(id).await?,
            None => s.holder_of(Role::Admin).await?,
        };
        let starts_at = s.now + Duration::days(lc.starts_days_from_now);
        let draft = LiveClassDraft {
            title: lc.title.clone(),
            starts_at,
            ends_at: starts_at + Duration::minutes(CLASS_MINUTES),
            recorded: lc.recorded,
        };
        let class =
            learning::schedule_live_class(s.services, &scheduler, session.id, draft).await?;
        let mut participants = Vec::with_capacity(lc.attendance.len());
        for a in &lc.attendance {
            participants.push(Participation {
                learner_id: s.user_id(&a.learner).await?,
                joined_at: starts_at,
                left_at: starts_at + Duration::minutes(a.minutes),
                talk_seconds: a.talk_seconds,
                chat_messages: a.chat_messages,
                hand_raises: a.hand_raises,
                poll_answers: a.poll_answers,
            });
        }
        let recording = lc
            .recording_ref
            .as_deref()
            .map(|r| HttpsUrl::parse("live_classes.recording_ref", r))
            .transpose()?;
        if participants.is_empty() && recording.is_none() {
            continue;
        }
        // Reported by the virtual classroom, as its integration account does after a class.
        let (classroom, _) = s.holder_of(Role::Integration).await?;
        learning::record_live_class(
            s.services,
            &classroom,
            class.class.id,
            participants,
            recording,
        )
        .await?;
    }
    Ok(())
}
