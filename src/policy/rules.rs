//! Decisions outside the need-to-know table: who hands out roles, who manages the catalogue,
//! who acts for a person, who records progress or attendance, who watches a class recording,
//! who may pay an order. They either concern no personal data or guard the table itself
//! (`docs/ACCESS.md` lists them). Pure, like the rest of `policy`.

use uuid::Uuid;

use super::derived::{may_review, teaches};
use super::matrix::{self, Category, Column};
use super::{Actor, Relations, Role};

/// Whether holding `role` processes other people's personal data: its column reads or writes
/// at least one category of the matrix (with whatever condition), or it is an integration
/// account, which writes learners' attendance and class recordings ([`may_report_attendance`])
/// and so learns who is enrolled where. Derived from the matrix, so a cell that opens a
/// category to a column makes its role one that only the privacy officer grants.
pub fn processes_personal_data(role: Role) -> bool {
    match Column::of_role(role) {
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

/// Whether `actor` sees the e-mails that could not be delivered (`undeliveredMail`): admins,
/// who run the tenant's configuration, and the privacy officer. The list names no recipient
/// (ids, kinds, error classes), so it opens no personal data.
pub fn may_monitor_mail(actor: &Actor) -> bool {
    actor.has(Role::Admin) || actor.has(Role::PrivacyOfficer)
}

/// Whether `actor` may read an order's PaymentIntent client secret (it lets one pay, so it is
/// the buyer's alone; no staff column needs it).
pub fn may_read_client_secret(actor: &Actor, buyer: Option<Uuid>) -> bool {
    actor.user_id.is_some() && actor.user_id == buyer
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

/// Whether `actor` may mark lessons done on `learner`'s enrollment: the learner only (progress
/// is the learner's own doing, not their guardian's).
pub fn may_record_progress(actor: &Actor, learner: Uuid) -> bool {
    actor.user_id == Some(learner)
}

/// Whether `actor` may schedule live classes for a session taught by `instructor`: an admin or
/// that instructor.
pub fn may_schedule_live_class(actor: &Actor, instructor: Option<Uuid>) -> bool {
    may_manage_catalogue(actor) || teaches(actor, instructor)
}

/// Whether `actor` may report live-class attendance: integration (machine) accounts only.
pub fn may_report_attendance(actor: &Actor) -> bool {
    actor.has(Role::Integration)
}

/// Whether `actor` acts for `person`: the person themselves or their guardian (enrolling,
/// cancelling, consenting on their behalf).
pub fn acts_for(actor: &Actor, relations: &Relations, person: Uuid) -> bool {
    actor.user_id == Some(person) || relations.wards.contains(&person)
}

/// Whether `actor` may watch a live class's recording: the session's enrolled learners and its
/// instructor only (class recordings show learners' faces and voices).
pub fn may_watch_recording(actor: &Actor, enrolled: bool, instructor: Option<Uuid>) -> bool {
    enrolled || teaches(actor, instructor)
}

/// Whether `actor` reads the record of processing activities (art. 30): the privacy officer,
/// who keeps it. The record describes processing, not anyone's data, but it is the
/// organisation's compliance document and is not published as such.
pub fn may_read_processing_record(actor: &Actor) -> bool {
    actor.has(Role::PrivacyOfficer)
}

/// Whether `actor` publishes a new privacy-policy version (SPEC §2: the controller informs
/// people; the privacy officer keeps the notice): the privacy officer.
pub fn may_publish_privacy_policy(actor: &Actor) -> bool {
    actor.user_id.is_some() && actor.has(Role::PrivacyOfficer)
}

/// Whether `actor` narrows the organisation's need-to-know matrix (removes cells, never adds)
/// and reads the effective table: the privacy officer, who answers for it.
pub fn may_narrow_access(actor: &Actor) -> bool {
    actor.user_id.is_some() && actor.has(Role::PrivacyOfficer)
}

/// Whether `actor` changes the organisation's settings (name, host, language of new accounts,
/// order hold time): admins.
pub fn may_change_tenant_settings(actor: &Actor) -> bool {
    actor.user_id.is_some() && actor.has(Role::Admin)
}

/// Whether `actor` changes the published contact of the data-protection officer: the privacy
/// officer.
pub fn may_change_dpo_contact(actor: &Actor) -> bool {
    actor.user_id.is_some() && actor.has(Role::PrivacyOfficer)
}

/// Whether `actor` reads the organisation's settings: those who change them.
pub fn may_read_tenant_settings(actor: &Actor) -> bool {
    may_change_tenant_settings(actor) || may_change_dpo_contact(actor)
}

/// Whether `actor` sets the organisation's own Stripe keys and reads what is shown of them (the
/// publishable key, the secret key's last four characters): admins.
pub fn may_configure_payments(actor: &Actor) -> bool {
    actor.user_id.is_some() && actor.has(Role::Admin)
}

/// Whether `actor` writes and sends newsletter campaigns and reads their audience counts: the
/// marketing role. A campaign's text is nobody's personal data and a count is an aggregate;
/// who receives a campaign is decided from consent when each message is queued and again when
/// it is sent, never by the person sending it.
pub fn may_run_campaigns(actor: &Actor) -> bool {
    actor.user_id.is_some() && actor.has(Role::Marketing)
}

/// Whether `actor` records bounces and complaints reported by the mail provider
/// (`recordMailFeedback`): integration (machine) accounts, the provider's connector, and those
/// who monitor mail ([`may_monitor_mail`]). It only ever stops mail to an address (the
/// suppression list), and the answer reveals nothing about the address's subscription.
pub fn may_record_mail_feedback(actor: &Actor) -> bool {
    actor.user_id.is_some() && (actor.has(Role::Integration) || may_monitor_mail(actor))
}
