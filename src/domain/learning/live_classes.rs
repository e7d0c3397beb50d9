//! Live classes: an admin or the session's instructor schedules them, the virtual-classroom
//! integration reports their attendance statistics and recording, and the recording is shown
//! to the session's live learners and its instructor until the tenant's retention ends.
//!
//! Attendance is replaced as a whole for the participants of a report, in one transaction;
//! every participant must be enrolled in the session. For a recorded class each attendance row
//! keeps whether the learner had consented to class recording (`class_recording` in the consent
//! ledger) when it was reported, so the report tells who declined; learners see the recording
//! notice of their session ([`recording_notice`]) with the virtual room's link. Who may watch a recording is
//! `policy::may_watch_recording`; this file only gathers what that rule needs.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use super::enrollments::roster;
use crate::domain::Services;
use crate::domain::batch::group;
use crate::domain::catalog;
use crate::domain::consent::{self, Purpose};
use crate::domain::tenancy::scoped;
use crate::domain::types::HttpsUrl;
use crate::entities::{enrollment, live_class, live_class_attendance};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor};

/// A meeting to schedule.
#[derive(Clone, Debug)]
pub struct LiveClassDraft {
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub recorded: bool,
}

/// A live class with what the policy needs about it: its session's instructor (who may watch
/// its recording).
#[derive(Clone, Debug)]
pub struct LiveClassRecord {
    pub class: live_class::Model,
    pub instructor: Option<Uuid>,
}

/// Schedules a live class for a session (admin, or the session's instructor).
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id, session.id = %session_id))]
pub async fn schedule_live_class(
    services: &Services,
    actor: &Actor,
    session_id: Uuid,
    d: LiveClassDraft,
) -> AppResult<LiveClassRecord> {
    let s = catalog::session_by_id(services, actor.tenant_id, session_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !policy::may_schedule_live_class(actor, s.instructor_id) {
        return Err(AppError::Forbidden);
    }
    if s.cancelled {
        return Err(AppError::Conflict("this session is cancelled".into()));
    }
    if d.ends_at <= d.starts_at {
        return Err(AppError::bad_input("input.endsAt", "must be after startsAt"));
    }
    let m = live_class::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        session_id,
        title: d.title,
        starts_at: d.starts_at,
        ends_at: d.ends_at,
        recorded: d.recorded,
        recording_ref: None,
    };
    live_class::Entity::insert(live_class::ActiveModel::from(m.clone()))
        .exec_without_returning(&services.db)
        .await?;
    Ok(LiveClassRecord { class: m, instructor: s.instructor_id })
}

/// One participant's statistics, as sent by the virtual-classroom integration.
#[derive(Clone, Debug)]
pub struct Participation {
    pub learner_id: Uuid,
    pub joined_at: DateTime<Utc>,
    pub left_at: DateTime<Utc>,
    pub talk_seconds: i32,
    pub chat_messages: i32,
    pub hand_raises: i32,
    pub poll_answers: i32,
}

/// Records (replaces) attendance statistics and optionally the recording reference of a live
/// class. Integration accounts only; every participant must be enrolled in the session; all or
/// nothing.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id, live_class.id = %live_class_id))]
pub async fn record_live_class(
    services: &Services,
    actor: &Actor,
    live_class_id: Uuid,
    participants: Vec<Participation>,
    recording_ref: Option<HttpsUrl>,
) -> AppResult<LiveClassRecord> {
    if !policy::may_report_attendance(actor) {
        return Err(AppError::Forbidden);
    }
    if participants.len() > 1000 {
        return Err(AppError::bad_input(
            "input.participants",
            "at most 1000 participants per report",
        ));
    }
    let lc = scoped::<live_class::Entity>(actor.tenant_id)
        .filter(live_class::Column::Id.eq(live_class_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let enrolled: HashSet<Uuid> = roster(services, actor.tenant_id, lc.session_id)
        .await?
        .into_iter()
        .map(|e| e.learner_id)
        .collect();
    for (i, p) in participants.iter().enumerate() {
        if !enrolled.contains(&p.learner_id) {
            return Err(AppError::bad_input(
                format!("input.participants.{i}.learnerId"),
                "is not enrolled in this session",
            ));
        }
        if p.left_at < p.joined_at {
            return Err(AppError::bad_input(
                format!("input.participants.{i}.leftAt"),
                "must not be before joinedAt",
            ));
        }
        if [p.talk_seconds, p.chat_messages, p.hand_raises, p.poll_answers].iter().any(|n| *n < 0) {
            return Err(AppError::bad_input(
                format!("input.participants.{i}"),
                "counts must not be negative",
            ));
        }
    }
    if recording_ref.is_some() && !lc.recorded {
        return Err(AppError::bad_input("input.recordingRef", "this live class is not recorded"));
    }
    // Who had agreed to be recorded, as the report arrives (nobody, for a class not recorded).
    let consenting: HashSet<Uuid> = if lc.recorded {
        let learners: Vec<Uuid> = participants.iter().map(|p| p.learner_id).collect();
        consent::current_for_users(services, actor.tenant_id, &learners)
            .await?
            .into_iter()
            .filter(|(_, states)| consent::granted(states, Purpose::ClassRecording))
            .map(|(u, _)| u)
            .collect()
    } else {
        HashSet::new()
    };
    let tenant_id = actor.tenant_id;
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                for p in participants {
                    live_class_attendance::Entity::delete_many()
                        .filter(live_class_attendance::Column::LiveClassId.eq(live_class_id))
                        .filter(live_class_attendance::Column::LearnerId.eq(p.learner_id))
                        .exec(txn)
                        .await?;
                    live_class_attendance::Entity::insert(live_class_attendance::ActiveModel {
                        live_class_id: Set(live_class_id),
                        learner_id: Set(p.learner_id),
                        tenant_id: Set(tenant_id),
                        joined_at: Set(p.joined_at),
                        left_at: Set(p.left_at),
                        talk_seconds: Set(p.talk_seconds),
                        chat_messages: Set(p.chat_messages),
                        hand_raises: Set(p.hand_raises),
                        poll_answers: Set(p.poll_answers),
                        recording_consent: Set(consenting.contains(&p.learner_id)),
                    })
                    .exec_without_returning(txn)
                    .await?;
                }
                if let Some(r) = recording_ref {
                    live_class::Entity::update_many()
                        .col_expr(live_class::Column::RecordingRef, Expr::value(r.into_inner()))
                        .filter(live_class::Column::Id.eq(live_class_id))
                        .exec(txn)
                        .await?;
                }
                Ok(())
            })
        })
        .await?;
    let class = scoped::<live_class::Entity>(actor.tenant_id)
        .filter(live_class::Column::Id.eq(live_class_id))
        .one(&services.db)
        .await?
        .unwrap_or(lc);
    let instructor = catalog::session_by_id(services, actor.tenant_id, class.session_id)
        .await?
        .and_then(|x| x.instructor_id);
    Ok(LiveClassRecord { class, instructor })
}

/// Live classes of several sessions, by start: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, session.count = sessions.len()))]
pub async fn live_classes_of(
    services: &Services,
    tenant_id: Uuid,
    sessions: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<live_class::Model>>> {
    let rows = scoped::<live_class::Entity>(tenant_id)
        .filter(live_class::Column::SessionId.is_in(sessions.iter().copied()))
        .order_by_asc(live_class::Column::StartsAt)
        .all(&services.db)
        .await?;
    Ok(group(rows, |r| (r.session_id, r)))
}

/// Attendance rows of several learners: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, learner.count = learners.len()))]
pub async fn attendance_of(
    services: &Services,
    tenant_id: Uuid,
    learners: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<live_class_attendance::Model>>> {
    let rows = scoped::<live_class_attendance::Entity>(tenant_id)
        .filter(live_class_attendance::Column::LearnerId.is_in(learners.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(group(rows, |r| (r.learner_id, r)))
}

/// When a live class's recording stops being available: the tenant keeps recordings 7 or 14
/// days after the class (SPEC §5).
pub fn recording_expires_at(lc: &live_class::Model, retention_days: i64) -> DateTime<Utc> {
    lc.ends_at + Duration::days(retention_days)
}

/// The recording of `lc` as `actor` may see it (`policy::may_watch_recording`): `FORBIDDEN`
/// unless they hold a live enrollment in its session (`own`: the actor's enrollments) or are
/// its `instructor`; `None` when there is none or once it has expired at `now`.
pub fn recording(
    actor: &Actor,
    lc: &live_class::Model,
    instructor: Option<Uuid>,
    own: &[enrollment::Model],
    retention_days: i64,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let enrolled = own.iter().any(|e| {
        Some(e.learner_id) == actor.user_id && e.session_id == lc.session_id && e.status.is_live()
    });
    if !policy::may_watch_recording(actor, enrolled, instructor) {
        return Err(AppError::Forbidden);
    }
    let expired = recording_expires_at(lc, retention_days) <= now;
    Ok(if expired { None } else { lc.recording_ref.clone() })
}

/// What a learner is told about the recording of their session's live classes, in `language`
/// (`fr` or `en`): `None` when none of them is recorded. `consented` is the learner's current
/// `class_recording` consent.
pub fn recording_notice(
    recorded: bool,
    consented: bool,
    retention_days: i64,
    language: &str,
) -> Option<String> {
    if !recorded {
        return None;
    }
    Some(match (language, consented) {
        ("en", true) => format!(
            "The live classes of this session are recorded. The recording is for the \
             session's learners and its instructor only and is deleted {retention_days} days \
             after the class. You agreed to be recorded; you may withdraw that consent at any time."
        ),
        ("en", false) => format!(
            "The live classes of this session are recorded. The recording is for the \
             session's learners and its instructor only and is deleted {retention_days} days \
             after the class. You have not agreed to be recorded: your instructor is told, and \
             you may keep your camera and microphone off while recording, or give your consent \
             in your privacy settings."
        ),
        (_, true) => format!(
            "Les classes virtuelles de cette session sont enregistrées. L'enregistrement est \
             réservé aux participants de la session et à son formateur, et supprimé \
             {retention_days} jours après la classe. Vous avez accepté d'être enregistré(e) ; \
             vous pouvez retirer ce consentement à tout moment."
        ),
        (_, false) => format!(
            "Les classes virtuelles de cette session sont enregistrées. L'enregistrement est \
             réservé aux participants de la session et à son formateur, et supprimé \
             {retention_days} jours après la classe. Vous n'avez pas accepté d'être \
             enregistré(e) : votre formateur en est informé, et vous pouvez garder caméra et \
             micro coupés pendant l'enregistrement, ou donner votre accord dans vos \
             préférences de confidentialité."
        ),
    })
}

/// Whether any live class of `classes` still to end after `now` is recorded: the notice a
/// learner sees before joining.
pub fn records_upcoming(classes: &[live_class::Model], now: DateTime<Utc>) -> bool {
    classes.iter().any(|c| c.recorded && c.ends_at > now)
}
