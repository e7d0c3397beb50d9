//! Accounts: registration, sign-in sessions with rotating refresh tokens, profiles and their
//! rectification, roles and guardian links, and the user directory staff read.
//!
//! Every function takes the tenant (or the [`Actor`], which carries it) explicitly; queries start
//! from [`scoped`](super::tenancy::scoped). Access to another person's data is decided by
//! [`policy::decide`](crate::policy::decide) only.
//!
//! One file per job, re-exported here so callers write `accounts::register`,
//! `accounts::held_roles`, …:
//!
//! * `registration`: new learner accounts and the privacy policy they accept;
//! * `sessions`: log-in, refresh-token rotation, log-out, password change;
//! * `set_password`: one-time set-password links (an organisation's first administrator);
//! * `reauth`: the current password asked again before a sensitive action;
//! * `throttle`: counting attempts (log-in, registration, password check) per keyed hash;
//! * `profile`: rectification of a person's identity data;
//! * `roles`: held and pending roles, grants, revocations and their acceptance;
//! * `guardianship`: guardian links, wards, and the relations of an actor;
//! * `directory`: finding users with their roles, the staff list, audited staff reads.
//!
//! This file keeps what they share: the user record and the audit record of identity changes.

mod directory;
mod guardianship;
mod passwords;
mod profile;
mod reauth;
mod registration;
mod roles;
mod sessions;
pub mod set_password;
pub(crate) mod throttle;
pub mod tokens;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

pub use directory::{audit_read, find_record, find_records, list_users};
pub use guardianship::{
    link_guardian, relations, relations_known, unlink_guardian, wards_of, wards_of_many,
};
pub use profile::{Patch, ProfilePatch, update_profile};
pub use reauth::reauthenticate;
pub use registration::{Registration, current_policy, hash_password, register};
pub use roles::{answer_role, held_roles, operator_grant, pending_roles_of, set_role};
pub use sessions::{
    LoginPolicy, SignIn, SignedIn, change_password, end_sessions, login, logout, refresh,
    session_is_open, signed_in_by_session,
};
pub(crate) use sessions::{SessionScope, revoke_sessions};
pub(crate) use throttle::throttle_key;

use super::Services;
use super::audit::{self, AuditRecord};
pub use crate::entities::enums::AccountStatus;
use crate::entities::user;
use crate::error::AppResult;
use crate::policy::{Actor, Category, RoleSet, SubjectFacts, SubjectStatus};

/// A user with their roles.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: user::Model,
    pub roles: RoleSet,
}

impl UserRecord {
    /// What the policy needs to know about this person as a data subject.
    pub fn facts(&self) -> SubjectFacts {
        SubjectFacts {
            id: Some(self.user.id),
            status: subject_status(self.user.status),
            is_staff: self.roles.any_staff(),
            ..SubjectFacts::person(self.user.id)
        }
    }
}

/// The account's status as the policy sees it (the policy does not know the entities).
pub(crate) fn subject_status(s: AccountStatus) -> SubjectStatus {
    match s {
        AccountStatus::Active => SubjectStatus::Active,
        AccountStatus::Restricted => SubjectStatus::Restricted,
        AccountStatus::Erased => SubjectStatus::Erased,
    }
}

/// Writes the audit record of a change to a person's identity data (registration,
/// rectification, and every role change: grant, acceptance, refusal, revocation) with the
/// person as subject, so that the privacy officer sees it in the audit log and the person in
/// their own access log.
async fn audit_identity_change<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    now: DateTime<Utc>,
    person: Uuid,
    action: &'static str,
    purpose: &'static str,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        now,
        AuditRecord {
            action,
            category: Some(Category::Identity),
            subject_id: Some(person),
            purpose,
            details: Some(details),
        },
    )
    .await
}

/// Today's date on the service clock (for birth-date checks).
pub fn today(services: &Services) -> NaiveDate {
    services.clock.now().date_naive()
}
