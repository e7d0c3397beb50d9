//! Data-subject requests: who makes them, who handles them, whose requests a list shows. The
//! fields of a request are guarded by the matrix like any other (`data_subject_requests`:
//! `status` for support, everything for the subject, their guardian and the privacy officer);
//! these rules decide the actions around them, from the same cells.
//!
//! Like the rest of `policy`, this module never queries the database.

use uuid::Uuid;

use super::{
    Actor, Category, Column, DataField, Op, Relations, Role, SubjectFacts, acts_for,
    granting_column, matrix,
};

/// Whether `actor` may make a request about `subject` through the API: the person themselves
/// or their guardian, as the `self` or `guardian` cell of `data_subject_requests` writes (an
/// erased account makes none). The privacy officer registers requests instead
/// ([`may_handle_request`]).
pub fn may_make_request(actor: &Actor, relations: &Relations, subject: &SubjectFacts) -> bool {
    subject.id.is_some_and(|id| acts_for(actor, relations, id))
        && matches!(
            granting_column(actor, relations, subject, DataField::RequestDetails, Op::Write),
            Some(Column::Subject | Column::Guardian)
        )
}

/// Whether `actor` processes data-subject requests at all (the queue): the privacy officer,
/// whose cell writes.
pub fn processes_requests(actor: &Actor) -> bool {
    actor.has(Role::PrivacyOfficer)
        && matrix::cell(Category::DataSubjectRequests, Column::PrivacyOfficer).write
}

/// Whether `actor` may register, start, extend, complete or refuse a request about `subject`,
/// or lift `subject`'s restriction: the privacy officer, never for themselves or their ward
/// (nobody answers their own request).
pub fn may_handle_request(actor: &Actor, relations: &Relations, subject: &SubjectFacts) -> bool {
    processes_requests(actor)
        && subject.id.is_some_and(|id| !acts_for(actor, relations, id))
        && granting_column(actor, relations, subject, DataField::RequestDetails, Op::Write)
            == Some(Column::PrivacyOfficer)
}

/// Whether `actor` may fetch the access or portability export about `subject` (a download
/// link, the download itself): whoever reads the `details` of `subject`'s requests as the
/// person, their guardian or the privacy officer. Support, who reads a request's status, does
/// not; nor does anyone else.
pub fn may_download_export(actor: &Actor, relations: &Relations, subject: &SubjectFacts) -> bool {
    matches!(
        granting_column(actor, relations, subject, DataField::RequestDetails, Op::Read),
        Some(Column::Subject | Column::Guardian | Column::PrivacyOfficer)
    )
}

/// Whose requests a person's list (`User.dataSubjectRequests`) shows to `actor`: that person's;
/// and when `actor` is that person, their wards' too (a guardian follows what they asked for
/// their children). Each request's fields are then guarded in turn.
pub fn listed_request_subjects(actor: &Actor, relations: &Relations, person: Uuid) -> Vec<Uuid> {
    if actor.user_id == Some(person) {
        super::people_acted_for(actor, relations)
    } else {
        vec![person]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{RoleSet, SubjectStatus};

    fn actor(roles: &[Role]) -> Actor {
        Actor::user(Uuid::nil(), Uuid::now_v7(), None, RoleSet::from_roles(roles), "t".into())
    }

    #[test]
    fn only_the_subject_and_their_guardian_make_requests() {
        let me = actor(&[Role::Learner]);
        let own = SubjectFacts::person(me.user_id.unwrap_or_default());
        let other = SubjectFacts::person(Uuid::now_v7());
        assert!(may_make_request(&me, &Relations::default(), &own));
        assert!(!may_make_request(&me, &Relations::default(), &other));
        let mut relations = Relations::default();
        relations.wards.insert(other.id.unwrap_or_default());
        assert!(may_make_request(&me, &relations, &other));
        let dpo = actor(&[Role::PrivacyOfficer]);
        assert!(!may_make_request(&dpo, &Relations::default(), &other), "the officer registers");
        let mut erased = own.clone();
        erased.status = SubjectStatus::Erased;
        assert!(!may_make_request(&me, &Relations::default(), &erased));
    }

    #[test]
    fn exports_go_to_the_subject_their_guardian_and_the_privacy_officer_only() {
        let me = actor(&[Role::Learner]);
        let own = SubjectFacts::person(me.user_id.unwrap_or_default());
        let other = SubjectFacts::person(Uuid::now_v7());
        assert!(may_download_export(&me, &Relations::default(), &own));
        assert!(!may_download_export(&me, &Relations::default(), &other));
        let mut relations = Relations::default();
        relations.wards.insert(other.id.unwrap_or_default());
        assert!(may_download_export(&me, &relations, &other));
        assert!(may_download_export(
            &actor(&[Role::PrivacyOfficer]),
            &Relations::default(),
            &other
        ));
        for role in [Role::Support, Role::Admin, Role::Billing, Role::Reviewer, Role::Instructor] {
            assert!(
                !may_download_export(&actor(&[role]), &Relations::default(), &other),
                "{role:?}"
            );
        }
    }

    #[test]
    fn the_privacy_officer_handles_requests_but_never_their_own() {
        let dpo = actor(&[Role::PrivacyOfficer]);
        let other = SubjectFacts::person(Uuid::now_v7());
        assert!(may_handle_request(&dpo, &Relations::default(), &other));
        let own = SubjectFacts::person(dpo.user_id.unwrap_or_default());
        assert!(!may_handle_request(&dpo, &Relations::default(), &own));
        for role in [Role::Support, Role::Admin, Role::Billing, Role::Learner] {
            assert!(!may_handle_request(&actor(&[role]), &Relations::default(), &other));
        }
        let mut restricted = other.clone();
        restricted.status = SubjectStatus::Restricted;
        assert!(may_handle_request(&dpo, &Relations::default(), &restricted));
    }
}
