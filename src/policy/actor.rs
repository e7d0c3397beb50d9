//! Who is acting: tenant, user, roles. Built by the HTTP layer from a verified token and passed
//! explicitly to every domain service.

use std::fmt;
use uuid::Uuid;

/// The roles of SPEC §2, held per tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Learner,
    Guardian,
    Instructor,
    Support,
    Billing,
    Reviewer,
    Marketing,
    PrivacyOfficer,
    Admin,
    /// A machine account of an integration (the virtual classroom) that reports attendance.
    Integration,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Learner,
        Role::Guardian,
        Role::Instructor,
        Role::Support,
        Role::Billing,
        Role::Reviewer,
        Role::Marketing,
        Role::PrivacyOfficer,
        Role::Admin,
        Role::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Learner => "learner",
            Role::Guardian => "guardian",
            Role::Instructor => "instructor",
            Role::Support => "support",
            Role::Billing => "billing",
            Role::Reviewer => "reviewer",
            Role::Marketing => "marketing",
            Role::PrivacyOfficer => "privacy_officer",
            Role::Admin => "admin",
            Role::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff roles act on other people's data in the course of their job.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Learner | Role::Guardian)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A small set of roles.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleSet(u16);

impl RoleSet {
    pub fn from_roles(roles: &[Role]) -> Self {
        let mut s = RoleSet::default();
        for r in roles {
            s.insert(*r);
        }
        s
    }
    pub fn insert(&mut self, r: Role) {
        self.0 |= r.bit();
    }
    pub fn has(self, r: Role) -> bool {
        self.0 & r.bit() != 0
    }
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }
    pub fn any_staff(self) -> bool {
        self.iter().any(Role::is_staff)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Comma-separated names, for the audit log.
    pub fn names(self) -> String {
        self.iter().map(Role::as_str).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Debug for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The principal of one request, inside exactly one tenant.
#[derive(Clone, Debug)]
pub struct Actor {
    pub tenant_id: Uuid,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub roles: RoleSet,
    pub request_id: String,
    /// The cells of the matrix the tenant removed (see [`super::narrowing`]).
    pub narrowing: super::Narrowing,
}

impl Actor {
    pub fn anonymous(tenant_id: Uuid, request_id: String) -> Self {
        Actor {
            tenant_id,
            user_id: None,
            session_id: None,
            roles: RoleSet::default(),
            request_id,
            narrowing: super::Narrowing::default(),
        }
    }

    /// The same actor under its tenant's narrowing of the matrix.
    #[must_use]
    pub fn narrowed(self, narrowing: super::Narrowing) -> Self {
        Actor { narrowing, ..self }
    }

    pub fn user(
        tenant_id: Uuid,
        user_id: Uuid,
        session_id: Option<Uuid>,
        roles: RoleSet,
        request_id: String,
    ) -> Self {
        Actor {
            tenant_id,
            user_id: Some(user_id),
            session_id,
            roles,
            request_id,
            narrowing: super::Narrowing::default(),
        }
    }

    /// A system actor for jobs and the seeder: no user, no roles.
    pub fn system(tenant_id: Uuid) -> Self {
        Actor::anonymous(tenant_id, "system".into())
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.has(role)
    }
}
