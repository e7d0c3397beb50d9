//! Data-subject requests (GDPR art. 12 to 22, SPEC §6): a person (or their guardian) asks for
//! access, portability, rectification, erasure, restriction, objection, a consent withdrawal or
//! a post-mortem directive; the privacy officer answers within a month.
//!
//! - [`making`]: the subject or guardian makes a request after typing their password again
//!   (the identity check); the privacy officer registers one received by post or e-mail, with a
//!   note of the proof of identity seen (never the document itself).
//! - [`handling`]: the privacy officer starts it (received → in progress), extends it once by
//!   up to two months with a reason (art. 12(3)), completes it with an outcome or refuses it
//!   with a reason, and lifts a restriction.
//! - [`steps`]: completing a request carries it out as a stored, resumable state machine: one
//!   row per step, each idempotent and run in its own transaction with what marks it done; a
//!   failed step is retried with exponential backoff by [`advance`] (the background job) and
//!   shows in the queue. Restriction, objection and consent withdrawal have their steps; the
//!   **export** (access, portability) and **erasure** steps are not written yet (issue 11,
//!   items 3 and 4): they wait in the `awaiting_implementation` state, visibly, and such a
//!   request stays in progress; it is never reported done.
//! - [`death`]: the privacy officer records a death; the person's post-mortem directive is
//!   carried out by a request of the matching kind.
//! - [`reads`]: one request, a person's requests, the privacy officer's queue (oldest due
//!   first, overdue flagged).
//!
//! Every change is written to the audit log with the data subject as its subject, and every
//! receipt to the subject goes through the outbox in the same transaction. Due dates are
//! calendar months (`chrono::Months`): received on 31 January, due on 28 (or 29) February.
//!
//! This module must never log a request's text, a directive, a password or a trusted person.

pub mod death;
pub mod handling;
pub mod making;
pub mod reads;
pub mod steps;

pub use death::{DeathNotice, record_death};
pub use handling::{complete, extend, lift_restriction, refuse, start};
pub use making::{make, register};
pub use reads::{QueueFilter, about_people, directives_of, queue, steps_of, visible};
pub use steps::{AdvanceReport, StepName, advance};

pub use crate::entities::data_subject_request::{RequestChannel, RequestKind, RequestStatus};
pub use crate::entities::data_subject_request_step::StepStatus;
pub use crate::entities::post_mortem_directive::DirectiveOutcome;

use chrono::{DateTime, Months, Utc};
use sea_orm::{ActiveEnum, ConnectionTrait};
use serde_json::json;

use crate::domain::accounts::UserRecord;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::consent::Purpose;
use crate::domain::outbox;
use crate::entities::data_subject_request;
use crate::entities::enums::MailKind;
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Category, SubjectFacts};

impl RequestStatus {
    /// Received or in progress: counts towards the due date, may be overdue.
    pub fn is_open(self) -> bool {
        matches!(self, RequestStatus::Received | RequestStatus::InProgress)
    }

    pub const OPEN: [RequestStatus; 2] = [RequestStatus::Received, RequestStatus::InProgress];
}

/// A request with its subject (what the policy needs to judge its fields).
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub request: data_subject_request::Model,
    pub subject: UserRecord,
}

impl RequestRecord {
    /// The data subject, as the policy's subject of every field of the request.
    pub fn facts(&self) -> SubjectFacts {
        self.subject.facts()
    }

    /// The date the answer is due: the extended date if extended, else received + one month.
    pub fn effective_due_at(&self) -> DateTime<Utc> {
        self.request.extended_until.unwrap_or(self.request.due_at)
    }

    /// Open and past its (extended) due date.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.request.status.is_open() && now > self.effective_due_at()
    }

    /// The purposes of a consent withdrawal (empty for other kinds).
    pub fn purposes(&self) -> Vec<Purpose> {
        parse_purposes(self.request.purposes.as_deref())
    }
}

/// Received + one calendar month (GDPR art. 12(3): "within one month of receipt").
pub fn due_date(received_at: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    received_at
        .checked_add_months(Months::new(1))
        .ok_or_else(|| AppError::bad_input("input.receivedAt", "is out of range"))
}

/// What a post-mortem directive asks for, beyond its instructions (the request's details).
#[derive(Clone)]
pub struct DirectiveInput {
    pub outcome: DirectiveOutcome,
    pub trusted_person_name: Option<String>,
    pub trusted_person_contact: Option<String>,
}

/// What a request asks, checked by the API layer as text; [`NewRequest::check`] then checks
/// what each kind needs. Its `Debug` prints the kind only.
#[derive(Clone)]
pub struct NewRequest {
    pub kind: RequestKind,
    /// The subject's own words (for a post-mortem directive: the instructions).
    pub details: Option<String>,
    /// For a consent withdrawal only.
    pub purposes: Vec<Purpose>,
    /// For a post-mortem directive only.
    pub directive: Option<DirectiveInput>,
}

impl std::fmt::Debug for NewRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRequest").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl NewRequest {
    /// What each kind needs, and nothing a kind does not use: a rectification says what is
    /// wrong, a consent withdrawal names its purposes, a post-mortem directive has
    /// instructions and an outcome (and a trusted person to hand the data to).
    pub fn check(&self) -> AppResult<()> {
        let k = self.kind;
        if k == RequestKind::ConsentWithdrawal && self.purposes.is_empty() {
            return Err(AppError::bad_input(
                "input.purposes",
                "name the purposes whose consent is withdrawn",
            ));
        }
        if k != RequestKind::ConsentWithdrawal && !self.purposes.is_empty() {
            return Err(AppError::bad_input(
                "input.purposes",
                "purposes are given for a consent withdrawal only",
            ));
        }
        if matches!(k, RequestKind::Rectification | RequestKind::PostMortemDirective)
            && self.details.is_none()
        {
            let what = if k == RequestKind::Rectification {
                "say which data is inaccurate and what it should be"
            } else {
                "write the instructions of the directive"
            };
            return Err(AppError::bad_input("input.details", what));
        }
        match (&self.directive, k == RequestKind::PostMortemDirective) {
            (None, true) => Err(AppError::bad_input(
                "input.directive",
                "a post-mortem directive needs its outcome",
            )),
            (Some(_), false) => Err(AppError::bad_input(
                "input.directive",
                "is given for a post-mortem directive only",
            )),
            (Some(d), true) => {
                let named = d.trusted_person_name.is_some();
                if named != d.trusted_person_contact.is_some() {
                    let field = if named { "contact" } else { "name" };
                    return Err(AppError::bad_input(
                        format!(
                            "input.directive.trustedPerson{}",
                            if named { "Contact" } else { "Name" }
                        ),
                        format!("give the trusted person's {field} too"),
                    ));
                }
                if d.outcome == DirectiveOutcome::HandOver && !named {
                    return Err(AppError::bad_input(
                        "input.directive.trustedPersonName",
                        "name the trusted person the data is handed to",
                    ));
                }
                Ok(())
            }
            (None, false) => Ok(()),
        }
    }
}

fn parse_purposes(raw: Option<&str>) -> Vec<Purpose> {
    raw.and_then(|r| serde_json::from_str::<Vec<String>>(r).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Purpose::parse(p))
        .collect()
}

fn store_purposes(purposes: &[Purpose]) -> Option<String> {
    (!purposes.is_empty()).then(|| {
        serde_json::Value::from(purposes.iter().map(|p| p.to_string()).collect::<Vec<_>>())
            .to_string()
    })
}

/// Writes the audit record of one step of a request, with the data subject as subject.
async fn audit_step<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    now: DateTime<Utc>,
    action: &'static str,
    request: &data_subject_request::Model,
    purpose: &'static str,
    extra: serde_json::Value,
) -> AppResult<()> {
    let mut details = json!({ "requestId": request.id, "kind": request.kind.to_value() });
    if let (Some(d), serde_json::Value::Object(more)) = (details.as_object_mut(), extra) {
        d.extend(more);
    }
    audit::record(
        conn,
        actor,
        now,
        AuditRecord {
            action,
            category: Some(Category::DataSubjectRequests),
            subject_id: Some(request.subject_id),
            purpose,
            details: Some(details),
        },
    )
    .await
}

/// Queues a receipt about `request` to its subject (and to whoever made it for them), ids and
/// dates only.
async fn receipt<C: ConnectionTrait>(
    conn: &C,
    request: &data_subject_request::Model,
    kind: MailKind,
    extra: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut payload = json!({ "requestId": request.id, "kind": request.kind.to_value() });
    if let (Some(p), serde_json::Value::Object(more)) = (payload.as_object_mut(), extra) {
        p.extend(more);
    }
    let mut recipients = vec![request.subject_id];
    if let Some(by) = request.requested_by.filter(|b| *b != request.subject_id) {
        recipients.push(by);
    }
    for to in recipients {
        outbox::queue_mail(conn, request.tenant_id, Some(to), kind, payload.clone(), now).await?;
    }
    Ok(())
}
