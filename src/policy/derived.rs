//! Questions about whole lists and kinds of work, answered from the table rather than from role
//! names: which people a staff member lists, who sees every order or the applications queue, who
//! reviews, refunds, erases, links guardians, reads a roster. Each reads the cells of the
//! actor's columns through their [`Reach`], so a role given a cell is seen by all of them at
//! once (`docs/ACCESS.md` lists them).
//!
//! Like the rest of `policy`, pure: facts in, an answer out.

use std::collections::HashSet;

use uuid::Uuid;

use super::matrix::{self, Category, Cell, Column, Condition, Reach};
use super::{Actor, Relations, SubjectFacts, columns};

/// The staff columns `actor`'s roles put them in.
fn staff_columns(actor: &Actor) -> impl Iterator<Item = Column> {
    actor.roles.iter().filter_map(Column::of_role)
}

/// Every column `actor` may stand in toward somebody: `self` and `guardian` when signed in, and
/// the staff columns of their roles.
pub(super) fn possible_columns(actor: &Actor) -> impl Iterator<Item = Column> {
    let personal = actor.user_id.map(|_| [Column::Subject, Column::Guardian]);
    personal.into_iter().flatten().chain(staff_columns(actor))
}

/// Whether one of `actor`'s staff columns reaches everyone and its `category` cell satisfies
/// `ok`.
fn everyones(actor: &Actor, category: Category, ok: impl Fn(&Cell) -> bool) -> bool {
    staff_columns(actor)
        .any(|c| c.reach() == Reach::Everyone && ok(&super::effective_cell(actor, category, c)))
}

/// Whether `actor` reads `category` of everyone in the tenant (a staff column that reaches
/// everyone and whose cell no condition narrows).
fn reads_everyones(actor: &Actor, category: Category) -> bool {
    everyones(actor, category, Cell::reads_all)
}

/// Whether `actor` teaches, as `instructor` of a session (an instructor column whose holder is
/// that instructor).
pub(super) fn teaches(actor: &Actor, instructor: Option<Uuid>) -> bool {
    staff_columns(actor).any(|c| c.reach() == Reach::Learners)
        && instructor.is_some()
        && instructor == actor.user_id
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

/// The rows of people `actor` may list: the people whose identity one of their staff columns
/// reads. Everyone for an unconditional cell; the consenting or the staff accounts for a cell
/// narrowed by that one condition (a cell narrowed by several lists none of them); their
/// learners for an instructor. Reviewers reach applicants through the applications queue, not
/// this list.
pub fn user_rows(actor: &Actor, relations: &Relations) -> UserRows {
    if !actor.roles.any_staff() {
        return UserRows::None;
    }
    let (mut staff_accounts, mut consenting_to_marketing) = (false, false);
    let mut learners = HashSet::new();
    for column in staff_columns(actor) {
        let cell = super::effective_cell(actor, Category::Identity, column);
        if !cell.read {
            continue;
        }
        match column.reach() {
            Reach::Everyone => {
                let narrowing: Vec<Condition> =
                    cell.conditions.iter().copied().filter(|c| c.narrows_reads()).collect();
                match narrowing.as_slice() {
                    [] => return UserRows::All,
                    [Condition::Consent] => consenting_to_marketing = true,
                    [Condition::StaffAccounts] => staff_accounts = true,
                    _ => {}
                }
            }
            Reach::Learners => learners.extend(relations.learners.iter().copied()),
            Reach::Applicants | Reach::Themselves | Reach::Wards => {}
        }
    }
    UserRows::Some { staff_accounts, consenting_to_marketing, learners }
}

/// Whether `actor` may link guardians to minors: customer service and the privacy officer
/// (they already read identity and minor status).
pub fn may_manage_guardianship(actor: &Actor) -> bool {
    reads_everyones(actor, Category::BirthDate)
}

/// Whether `actor` reads the retention report and sets the organisation's retention periods:
/// a column that reads everyone's `audit_log` (the privacy officer, who answers for how long
/// personal data is kept and reads what the sweep did in the audit log). The report holds no
/// personal data (rules, dates, counts), but deciding how long data lives is data protection.
pub fn may_manage_retention(actor: &Actor) -> bool {
    actor.user_id.is_some() && reads_everyones(actor, Category::AuditLog)
}

/// Whether `actor` sees every order of the tenant (at least its status): the staff columns
/// whose `order_status` cell reads (billing, support, privacy officer). Others see the orders
/// they or their wards bought.
pub fn sees_all_orders(actor: &Actor) -> bool {
    reads_everyones(actor, Category::OrderStatus)
}

/// Whether `actor` reviews equal-opportunity applications: a column whose
/// `financial_situation` cell carries the "decides" condition (reviewers).
pub fn may_review(actor: &Actor) -> bool {
    staff_columns(actor).any(|c| {
        let cell = super::effective_cell(actor, Category::FinancialSituation, c);
        cell.read && cell.conditions.contains(&Condition::Decides)
    })
}

/// Whether `actor` is on the reviewers' side of equal-opportunity applications and sees the
/// queue of submitted applications: a column that reads the `financial_situation` of every
/// applicant or of everyone (reviewers, the privacy officer). The applicant's side lists its
/// own.
pub fn sees_all_applications(actor: &Actor) -> bool {
    staff_columns(actor).any(|c| {
        matches!(c.reach(), Reach::Applicants | Reach::Everyone)
            && super::effective_cell(actor, Category::FinancialSituation, c).reads_all()
    })
}

/// Whether `actor` may delete anyone's application (erasure): a column that reads everyone's
/// supporting documents (the privacy officer).
pub fn may_erase_applications(actor: &Actor) -> bool {
    reads_everyones(actor, Category::SupportingDocuments)
}

/// Whether `actor` may refund orders: a column that writes everyone's `billing` data (billing).
pub fn may_refund(actor: &Actor) -> bool {
    everyones(actor, Category::Billing, |cell| cell.write && cell.reads_all())
}

/// Which of a person's enrollments `actor` may see once the learning-record field itself is
/// allowed: all of them, or (for an instructor who is nothing more to that person) only those
/// in sessions they teach.
pub fn enrollments_visible_to(
    actor: &Actor,
    relations: &Relations,
    subject: &SubjectFacts,
) -> EnrollmentScope {
    let broad = columns(actor, relations, subject).into_iter().any(|c| {
        c.reach() != Reach::Learners
            && super::effective_cell(actor, Category::LearningRecord, c).read
    });
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

impl EnrollmentScope {
    /// Whether [`EnrollmentScope::admits`] needs to know who teaches the session.
    pub fn depends_on_instructor(self) -> bool {
        matches!(self, EnrollmentScope::TaughtBy(_))
    }

    /// Whether an enrollment in a session taught by `instructor` is in scope.
    pub fn admits(self, instructor: Option<Uuid>) -> bool {
        match self {
            EnrollmentScope::All => true,
            EnrollmentScope::TaughtBy(me) => instructor == Some(me),
            EnrollmentScope::None => false,
        }
    }
}

/// Whether `actor` may read the roster (learners, progress, attendance) of a session taught by
/// `instructor`: that instructor, or a column that reads every learning record (support,
/// privacy officer). Each learner's fields are guarded in turn.
pub fn may_read_roster(actor: &Actor, instructor: Option<Uuid>) -> bool {
    teaches(actor, instructor) || reads_everyones(actor, Category::LearningRecord)
}

/// Whether deciding for `actor` needs the subject's current marketing consent: one of their
/// columns has a cell with the consent condition (marketing's), so guards load it only then.
pub fn needs_marketing_consent(actor: &Actor) -> bool {
    possible_columns(actor).any(|c| {
        Category::ALL
            .into_iter()
            .any(|k| matrix::cell(k, c).conditions.contains(&Condition::Consent))
    })
}

/// Whether deciding for `actor` needs to know if the subject has an application in review:
/// one of their columns reaches applicants only (the reviewer's), so guards load it only then.
pub fn needs_applicant_fact(actor: &Actor) -> bool {
    possible_columns(actor).any(|c| c.reach() == Reach::Applicants)
}

/// Whether `actor` lists withdrawn applications too: the privacy officer (who answers for all
/// the data held). Reviewers do not: a withdrawn application leaves their queue, and with it
/// their access to its situation and documents.
pub fn sees_withdrawn_applications(actor: &Actor) -> bool {
    reads_everyones(actor, Category::FinancialSituation)
}

/// Whether `actor` may list the newsletter's audience (`marketingAudience`): one of their
/// columns reads `marketing_audience` (marketing, under its consent condition, and the privacy
/// officer). Each subscriber listed still goes through `decide`, which the consent condition
/// narrows to people whose consent is current.
pub fn may_list_audience(actor: &Actor) -> bool {
    staff_columns(actor).any(|c| super::effective_cell(actor, Category::MarketingAudience, c).read)
}

/// Whether `actor` may list requests for information (`contactRequests`): one of their columns
/// reads `prospects` (support, the privacy officer, and marketing under its consent
/// condition). Each request listed still goes through `decide`.
pub fn may_list_prospects(actor: &Actor) -> bool {
    staff_columns(actor).any(|c| super::effective_cell(actor, Category::Prospects, c).read)
}

/// Whether `actor` lists every request for information, not only those of people who agreed
/// to be contacted: a column whose `prospects` cell no condition narrows.
pub fn sees_all_prospects(actor: &Actor) -> bool {
    reads_everyones(actor, Category::Prospects)
}
