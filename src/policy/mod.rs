//! The need-to-know policy: who may read or write which category of personal data, about whom.
//!
//! The matrix is data ([`matrix::cell`]): every category × column cell written out, `—` (deny)
//! where nothing is granted, and each role placed in its column ([`Column::of_role`]). [`decide`]
//! is pure: it gets the facts about the actor and the subject and answers allow (with or without
//! an audit record) or deny. GraphQL guards and domain services call it; nothing else decides
//! access. The named questions about whole lists ("sees every order", "lists these people",
//! "reviews applications", in `derived`) read the matrix too, through the actor's columns and
//! their [`Reach`], so a role given a cell is seen by every one of them at once; the few
//! decisions outside the table are in `rules`. `docs/ACCESS.md` holds the same table and a
//! test compares the two cell by cell and behaviour by behaviour.
//!
//! This module must never query the database or know about GraphQL.

mod actor;
mod derived;
pub mod matrix;
pub mod narrowing;
pub mod processing;
pub mod registry;
pub mod requests;
pub mod retention;
mod rules;

pub use actor::{Actor, Role, RoleSet};
pub use derived::{
    EnrollmentScope, UserRows, enrollments_visible_to, may_erase_applications, may_list_audience,
    may_list_prospects, may_manage_guardianship, may_manage_retention, may_read_roster, may_refund,
    may_review, needs_applicant_fact, needs_marketing_consent, sees_all_applications,
    sees_all_orders, sees_all_prospects, sees_withdrawn_applications, user_rows,
};
pub use matrix::{Category, Cell, Channel, Column, Condition, DataField, Reach};
pub use narrowing::Narrowing;
pub use rules::{
    acts_for, may_change_dpo_contact, may_change_tenant_settings, may_configure_payments,
    may_decide_application, may_grant_role, may_manage_catalogue, may_monitor_mail,
    may_narrow_access, may_publish_privacy_policy, may_read_client_secret,
    may_read_processing_record, may_read_tenant_settings, may_record_mail_feedback,
    may_record_progress, may_report_attendance, may_revoke_role, may_run_campaigns,
    may_schedule_live_class, may_watch_recording, people_acted_for, processes_personal_data,
};

use std::collections::HashSet;
use uuid::Uuid;

use derived::possible_columns;

/// What is being done with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Read,
    Write,
    /// Decide on an equal-opportunity application (reviewer).
    Decide,
}

/// Account status of a data subject, as far as the policy cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectStatus {
    Active,
    /// Right to restriction: kept, but staff other than the privacy officer may not process it.
    Restricted,
    Erased,
}

/// Facts about the person whose data is at stake. `id: None` means tenant-wide data (the
/// whole audit log) that has no single subject.
#[derive(Clone, Debug)]
pub struct SubjectFacts {
    pub id: Option<Uuid>,
    pub status: SubjectStatus,
    /// Holds at least one staff role (admin manages staff accounts only).
    pub is_staff: bool,
    /// Consent to marketing e-mail is currently given.
    pub marketing_consent: bool,
    /// Consent to marketing by phone is currently given (`marketing_phone`).
    pub phone_consent: bool,
    /// Has an equal-opportunity application in review (submitted, under review or decided; not
    /// a draft, not withdrawn): the only people a reviewer may look at.
    pub is_applicant: bool,
    /// The equal-opportunity application at stake has been decided (no more applicant writes).
    pub decided: bool,
}

impl SubjectFacts {
    /// A plain active learner account with nothing special about it.
    pub fn person(id: Uuid) -> Self {
        SubjectFacts {
            id: Some(id),
            status: SubjectStatus::Active,
            is_staff: false,
            marketing_consent: false,
            phone_consent: false,
            is_applicant: false,
            decided: false,
        }
    }

    /// Tenant-wide data without a single subject.
    pub fn tenant_wide() -> Self {
        SubjectFacts { id: None, ..SubjectFacts::person(Uuid::nil()) }
    }

    /// Whether the person consents to marketing through `channel` now (for [`Channel::Any`],
    /// through either).
    pub fn consents(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.marketing_consent,
            Channel::Phone => self.phone_consent,
            Channel::Any => self.marketing_consent || self.phone_consent,
        }
    }
}

/// What the actor is to other people: the wards they are guardian of and the learners of the
/// sessions they teach. Loaded once per request by the domain layer.
#[derive(Clone, Debug, Default)]
pub struct Relations {
    pub wards: HashSet<Uuid>,
    pub learners: HashSet<Uuid>,
}

/// The policy's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; `audit` names the staff column whose read must be written to the audit log.
    Allow {
        audit: Option<Column>,
    },
    Deny,
}

impl Decision {
    pub fn allowed(self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

/// The columns of the matrix that describe `actor` with respect to `subject`, most personal
/// first (so that a person reading their own data is never audited as staff): each column the
/// actor may stand in ([`possible_columns`]) whose [`Reach`] takes in the subject.
pub fn columns(actor: &Actor, relations: &Relations, subject: &SubjectFacts) -> Vec<Column> {
    let Some(me) = actor.user_id else { return Vec::new() };
    let mine: Vec<Column> = possible_columns(actor).collect();
    Column::ALL
        .into_iter()
        .filter(|col| mine.contains(col))
        .filter(|col| match col.reach() {
            Reach::Themselves => subject.id == Some(me),
            Reach::Wards => subject.id.is_some_and(|s| relations.wards.contains(&s)),
            Reach::Learners => subject.id.is_some_and(|s| relations.learners.contains(&s)),
            // Tenant-wide data has no applicant to ask about.
            Reach::Applicants => subject.id.is_none() || subject.is_applicant,
            Reach::Everyone => true,
        })
        .collect()
}

/// The column of the matrix through which `actor` may perform `op` on `field` of `subject`
/// (the most personal one first), or `None`. Callers that record why they act (the purpose in
/// the audit log) take it from here.
pub fn granting_column(
    actor: &Actor,
    relations: &Relations,
    subject: &SubjectFacts,
    field: DataField,
    op: Op,
) -> Option<Column> {
    let category = field.category();
    columns(actor, relations, subject)
        .into_iter()
        .filter(|col| !blocked_by_status(*col, subject.status))
        // The tenant's own narrowing of the table: a removed cell grants nothing.
        .find(|col| effective_cell(actor, category, *col).permits(field, op, subject))
}

/// The cell of `column` for `category` as it applies to `actor`'s organisation: the default
/// table's, or `—` where the organisation removed it ([`narrowing`]). Every helper that reads
/// the matrix for an actor reads it through here.
pub fn effective_cell(actor: &Actor, category: Category, column: Column) -> Cell {
    if actor.narrowing.removes(category, column) {
        Cell::DENY
    } else {
        matrix::cell(category, column)
    }
}

/// Decides whether `actor` may perform `op` on `field` of `subject`. Deny by default.
pub fn decide(
    actor: &Actor,
    relations: &Relations,
    subject: &SubjectFacts,
    field: DataField,
    op: Op,
) -> Decision {
    let category = field.category();
    match granting_column(actor, relations, subject, field, op) {
        Some(col) => Decision::Allow {
            audit: (col.is_staff() && op == Op::Read && category.audited_staff_read())
                .then_some(col),
        },
        None => Decision::Deny,
    }
}

/// Restricted subjects are processed by nobody but themselves, their guardian and the privacy
/// officer; erased ones by nobody but the privacy officer.
fn blocked_by_status(col: Column, status: SubjectStatus) -> bool {
    match status {
        SubjectStatus::Active => false,
        SubjectStatus::Restricted => col.is_staff() && col != Column::PrivacyOfficer,
        SubjectStatus::Erased => col != Column::PrivacyOfficer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(roles: &[Role]) -> Actor {
        Actor::user(Uuid::nil(), Uuid::now_v7(), None, RoleSet::from_roles(roles), "t".into())
    }

    #[test]
    fn anonymous_and_other_learners_see_nothing_personal() {
        let subject = SubjectFacts::person(Uuid::now_v7());
        let anon = Actor::anonymous(Uuid::nil(), "t".into());
        let other = actor(&[Role::Learner]);
        for field in DataField::ALL {
            assert_eq!(
                decide(&anon, &Relations::default(), &subject, field, Op::Read),
                Decision::Deny
            );
            assert_eq!(
                decide(&other, &Relations::default(), &subject, field, Op::Read),
                Decision::Deny
            );
        }
    }

    #[test]
    fn staff_reads_of_contact_data_are_audited_but_own_reads_are_not() {
        let support = actor(&[Role::Support]);
        let subject = SubjectFacts::person(Uuid::now_v7());
        assert_eq!(
            decide(&support, &Relations::default(), &subject, DataField::Email, Op::Read),
            Decision::Allow { audit: Some(Column::Support) }
        );
        let me = SubjectFacts::person(support.user_id.unwrap_or_default());
        assert_eq!(
            decide(&support, &Relations::default(), &me, DataField::Email, Op::Read),
            Decision::Allow { audit: None }
        );
    }

    #[test]
    fn restricted_subjects_are_closed_to_staff_but_the_privacy_officer() {
        let mut subject = SubjectFacts::person(Uuid::now_v7());
        subject.status = SubjectStatus::Restricted;
        let support = actor(&[Role::Support]);
        let dpo = actor(&[Role::PrivacyOfficer]);
        assert_eq!(
            decide(&support, &Relations::default(), &subject, DataField::LastName, Op::Read),
            Decision::Deny
        );
        assert!(
            decide(&dpo, &Relations::default(), &subject, DataField::LastName, Op::Read).allowed()
        );
    }
}
