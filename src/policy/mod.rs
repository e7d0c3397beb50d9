//! The need-to-know policy: who may read or write which category of personal data, about whom.
//!
//! The matrix is data ([`matrix::cell`]), one exhaustive match with *deny* as the answer for
//! every relation it does not name. [`decide`] is pure: it gets the facts about the actor and the
//! subject and answers allow (with or without an audit record) or deny. GraphQL guards and domain
//! services call it; nothing else decides access. `docs/ACCESS.md` holds the same table and a
//! test compares the two cell by cell and behaviour by behaviour.
//!
//! This module must never query the database or know about GraphQL.

mod actor;
pub mod matrix;
pub mod processing;
pub mod registry;
pub mod retention;

pub use actor::{Actor, Role, RoleSet};
pub use matrix::{Category, Cell, Column, Condition, DataField};

use std::collections::HashSet;
use uuid::Uuid;

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
            is_applicant: false,
            decided: false,
        }
    }

    /// Tenant-wide data without a single subject.
    pub fn tenant_wide() -> Self {
        SubjectFacts { id: None, ..SubjectFacts::person(Uuid::nil()) }
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

/// Which people a staff member may list: the row filter that goes with the field guards, so a
/// list never shows a row whose identity the viewer could not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRows {
    /// Nobody (not staff).
    None,
    /// Everyone in the tenant.
    All,
    /// The union of these groups.
    Some { staff_accounts: bool, consenting_to_marketing: bool, learners: HashSet<Uuid> },
}

/// The rows of people `actor` may list (identity read under the matrix).
pub fn user_rows(actor: &Actor, relations: &Relations) -> UserRows {
    if !actor.roles.any_staff() {
        return UserRows::None;
    }
    let all = [
        (Role::Support, Column::Support),
        (Role::Billing, Column::Billing),
        (Role::PrivacyOfficer, Column::PrivacyOfficer),
    ]
    .into_iter()
    .any(|(r, c)| actor.has(r) && matrix::cell(Category::Identity, c).conditions.is_empty());
    if all {
        return UserRows::All;
    }
    UserRows::Some {
        staff_accounts: actor.has(Role::Admin),
        consenting_to_marketing: actor.has(Role::Marketing),
        learners: if actor.has(Role::Instructor) {
            relations.learners.clone()
        } else {
            HashSet::new()
        },
    }
}

/// The staff column of the matrix a role puts its holder in. Learner and guardian are
/// relations to a person (`self`, `guardian`), not staff columns; integration (machine)
/// accounts have no column at all.
pub fn staff_column(role: Role) -> Option<Column> {
    match role {
        Role::Instructor => Some(Column::Instructor),
        Role::Support => Some(Column::Support),
        Role::Billing => Some(Column::Billing),
        Role::Reviewer => Some(Column::Reviewer),
        Role::Marketing => Some(Column::Marketing),
        Role::PrivacyOfficer => Some(Column::PrivacyOfficer),
        Role::Admin => Some(Column::Admin),
        Role::Learner | Role::Guardian | Role::Integration => None,
    }
}

/// Whether holding `role` processes other people's personal data: its column reads or writes
/// at least one category of the matrix (with whatever condition), or it is an integration
/// account, which writes learners' attendance and class recordings ([`may_report_attendance`])
/// and so learns who is enrolled where. Derived from the matrix, so a cell that opens a
/// category to a column makes its role one that only the privacy officer grants.
pub fn processes_personal_data(role: Role) -> bool {
    match staff_column(role) {
        Some(c) => Category::ALL.into_iter().any(|k| {
            let cell = matrix::cell(k, c);
            cell.read || cell.write
        }),
        None => role == Role::Integration,
    }
}

/// Whether `actor` may grant `role` to `target`. Never to oneself. A role that processes
/// personal data ([`processes_personal_data`]) is granted by the privacy officer only, so that
/// no single admin can open personal data to themselves through a second account; the others
/// (learner, guardian: labels that open nothing by themselves) by an admin or the privacy
/// officer. Either way the grant is pending
/// until `target` accepts it (nobody becomes a staff account, whose contact data the admin
/// reads, without agreeing to it), and it is written to the audit log with `target` as its
/// subject: the privacy officer sees it, and so does `target` in their own access log.
pub fn may_grant_role(actor: &Actor, target: Uuid, role: Role) -> bool {
    if actor.user_id.is_none() || actor.user_id == Some(target) {
        return false;
    }
    if processes_personal_data(role) {
        actor.has(Role::PrivacyOfficer)
    } else {
        actor.has(Role::Admin) || actor.has(Role::PrivacyOfficer)
    }
}

/// Whether `actor` may revoke `role` from `target` (a pending grant or a held role). Never
/// one's own. Taking access away never opens data, so admins revoke any role but the privacy
/// officer's (which only a privacy officer revokes: an admin cannot remove the oversight of
/// their own grants); the privacy officer revokes any.
pub fn may_revoke_role(actor: &Actor, target: Uuid, role: Role) -> bool {
    if actor.user_id.is_none() || actor.user_id == Some(target) {
        return false;
    }
    actor.has(Role::PrivacyOfficer) || (actor.has(Role::Admin) && role != Role::PrivacyOfficer)
}

/// Whether `actor` manages the catalogue (courses, sessions, lessons, drafts included): admins.
/// The catalogue holds no personal data, so this opens none.
pub fn may_manage_catalogue(actor: &Actor) -> bool {
    actor.has(Role::Admin)
}

/// Whether `actor` may link guardians to minors: customer service and the privacy officer
/// (they already read identity and minor status).
pub fn may_manage_guardianship(actor: &Actor) -> bool {
    [(Role::Support, Column::Support), (Role::PrivacyOfficer, Column::PrivacyOfficer)]
        .into_iter()
        .any(|(r, c)| actor.has(r) && matrix::cell(Category::BirthDate, c).read)
}

/// Whether `actor` sees every order of the tenant (at least its status): the staff columns
/// whose `order_status` cell reads (billing, support, privacy officer). Others see the orders
/// they or their wards bought.
pub fn sees_all_orders(actor: &Actor) -> bool {
    [
        (Role::Billing, Column::Billing),
        (Role::Support, Column::Support),
        (Role::PrivacyOfficer, Column::PrivacyOfficer),
    ]
    .into_iter()
    .any(|(r, c)| actor.has(r) && matrix::cell(Category::OrderStatus, c).read)
}

/// Whether `actor` reviews equal-opportunity applications: reviewers, whose
/// `financial_situation` cell carries the "decides" condition.
pub fn may_review(actor: &Actor) -> bool {
    actor.has(Role::Reviewer)
        && matrix::cell(Category::FinancialSituation, Column::Reviewer)
            .conditions
            .contains(&Condition::Decides)
}

/// Whether `actor` may read an order's PaymentIntent client secret (it lets one pay, so it is
/// the buyer's alone; no staff column needs it).
pub fn may_read_client_secret(actor: &Actor, buyer: Option<Uuid>) -> bool {
    actor.user_id.is_some() && actor.user_id == buyer
}

/// Whether `actor` is on the reviewers' side of equal-opportunity applications: reviewers and
/// the privacy officer see the queue of submitted applications and the reviewers' notes; the
/// applicant's side never does.
pub fn sees_all_applications(actor: &Actor) -> bool {
    may_review(actor)
        || (actor.has(Role::PrivacyOfficer)
            && matrix::cell(Category::FinancialSituation, Column::PrivacyOfficer).read)
}

/// The people whose own data `actor` handles as themselves or as guardian: themselves and their
/// wards (orders and applications are listed for them).
pub fn people_acted_for(actor: &Actor, relations: &Relations) -> Vec<Uuid> {
    let mut people: Vec<Uuid> = actor.user_id.into_iter().collect();
    people.extend(relations.wards.iter().copied());
    people
}

/// Whether `actor` may decide on an application of `applicant` filed by `filed_by`: a reviewer
/// (see [`may_review`]) who is neither the applicant, nor their guardian, nor who filed it.
pub fn may_decide_application(
    actor: &Actor,
    relations: &Relations,
    applicant: Uuid,
    filed_by: Uuid,
) -> bool {
    may_review(actor) && !acts_for(actor, relations, applicant) && actor.user_id != Some(filed_by)
}

/// Whether `actor` may delete anyone's application (erasure): the privacy officer.
pub fn may_erase_applications(actor: &Actor) -> bool {
    actor.has(Role::PrivacyOfficer)
        && matrix::cell(Category::SupportingDocuments, Column::PrivacyOfficer).read
}

/// Whether `actor` may refund orders: staff whose `billing` cell writes (billing).
pub fn may_refund(actor: &Actor) -> bool {
    actor.has(Role::Billing) && matrix::cell(Category::Billing, Column::Billing).write
}

/// Whether `actor` may mark lessons done on `learner`'s enrollment: the learner only (progress
/// is the learner's own doing, not their guardian's).
pub fn may_record_progress(actor: &Actor, learner: Uuid) -> bool {
    actor.user_id == Some(learner)
}

/// Whether `actor` may schedule live classes for a session taught by `instructor`: an admin or
/// that instructor.
pub fn may_schedule_live_class(actor: &Actor, instructor: Option<Uuid>) -> bool {
    actor.has(Role::Admin)
        || (actor.has(Role::Instructor) && instructor.is_some() && instructor == actor.user_id)
}

/// Whether `actor` may report live-class attendance: integration (machine) accounts only.
pub fn may_report_attendance(actor: &Actor) -> bool {
    actor.has(Role::Integration)
}

/// Which of a person's enrollments `actor` may see once the learning-record field itself is
/// allowed: all of them, or (for an instructor who is nothing more to that person) only those
/// in sessions they teach.
pub fn enrollments_visible_to(
    actor: &Actor,
    relations: &Relations,
    subject: &SubjectFacts,
) -> EnrollmentScope {
    let cols = columns(actor, relations, subject);
    let broad = cols
        .iter()
        .any(|c| *c != Column::Instructor && matrix::cell(Category::LearningRecord, *c).read);
    match (broad, actor.user_id) {
        (true, _) => EnrollmentScope::All,
        (false, Some(me)) => EnrollmentScope::TaughtBy(me),
        (false, None) => EnrollmentScope::None,
    }
}

/// See [`enrollments_visible_to`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollmentScope {
    All,
    TaughtBy(Uuid),
    None,
}

/// Whether `actor` acts for `person`: the person themselves or their guardian (enrolling,
/// cancelling, consenting on their behalf).
pub fn acts_for(actor: &Actor, relations: &Relations, person: Uuid) -> bool {
    actor.user_id == Some(person) || relations.wards.contains(&person)
}

/// Whether `actor` may watch a live class's recording: the session's enrolled learners and its
/// instructor only (class recordings show learners' faces and voices).
pub fn may_watch_recording(actor: &Actor, enrolled: bool, instructor: Option<Uuid>) -> bool {
    enrolled || (actor.has(Role::Instructor) && instructor.is_some() && instructor == actor.user_id)
}

/// Whether `actor` may read the roster (learners, progress, attendance) of a session taught by
/// `instructor`: that instructor, or a role that reads every learning record (support, privacy
/// officer). Each learner's fields are guarded in turn.
pub fn may_read_roster(actor: &Actor, instructor: Option<Uuid>) -> bool {
    let teaches =
        actor.has(Role::Instructor) && instructor.is_some() && instructor == actor.user_id;
    teaches
        || [(Role::Support, Column::Support), (Role::PrivacyOfficer, Column::PrivacyOfficer)]
            .into_iter()
            .any(|(r, c)| actor.has(r) && matrix::cell(Category::LearningRecord, c).read)
}

/// The columns of the matrix that describe `actor` with respect to `subject`, most personal
/// first (so that a person reading their own data is never audited as staff).
pub fn columns(actor: &Actor, relations: &Relations, subject: &SubjectFacts) -> Vec<Column> {
    let mut cols = Vec::new();
    let Some(me) = actor.user_id else { return cols };
    if let Some(sid) = subject.id {
        if sid == me {
            cols.push(Column::Subject);
        }
        if relations.wards.contains(&sid) {
            cols.push(Column::Guardian);
        }
        if actor.roles.has(Role::Instructor) && relations.learners.contains(&sid) {
            cols.push(Column::Instructor);
        }
    }
    let subject_bound = subject.id.is_some();
    for (role, col) in [
        (Role::Support, Column::Support),
        (Role::Billing, Column::Billing),
        (Role::Reviewer, Column::Reviewer),
        (Role::Marketing, Column::Marketing),
        (Role::PrivacyOfficer, Column::PrivacyOfficer),
        (Role::Admin, Column::Admin),
    ] {
        if !actor.roles.has(role) {
            continue;
        }
        if col == Column::Reviewer && subject_bound && !subject.is_applicant {
            continue;
        }
        cols.push(col);
    }
    cols
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
        .find(|col| matrix::cell(category, *col).permits(field, op, subject))
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

/// Whether deciding for `actor` needs the subject's current marketing consent (the only
/// columns with a consent condition are marketing's), so guards load it only then.
pub fn needs_marketing_consent(actor: &Actor) -> bool {
    actor.has(Role::Marketing)
}

/// Whether deciding for `actor` needs to know if the subject has an application in review
/// (the reviewer column exists only for applicants), so guards load it only then.
pub fn needs_applicant_fact(actor: &Actor) -> bool {
    actor.has(Role::Reviewer)
}

/// Whether `actor` lists withdrawn applications too: the privacy officer (who answers for all
/// the data held). Reviewers do not: a withdrawn application leaves their queue, and with it
/// their access to its situation and documents.
pub fn sees_withdrawn_applications(actor: &Actor) -> bool {
    actor.has(Role::PrivacyOfficer)
        && matrix::cell(Category::FinancialSituation, Column::PrivacyOfficer).read
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
