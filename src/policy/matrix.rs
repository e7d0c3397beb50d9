//! The need-to-know matrix of SPEC §4 as data: one row per category, one cell per column, every
//! cell written out (a row is a struct with a field per column and the rows are one match over
//! the categories, so a new category or column does not compile until each of its cells is
//! decided), and which column each role puts its holder in. `docs/ACCESS.md` renders the same
//! table; the test `tests/access_policy.rs` fails when they drift apart.
//!
//! The helpers of [`super`] that answer "may this actor list all orders", "review
//! applications", … read their answer from here, so a cell changed here is seen everywhere.
//!
//! One job, one file: the matrix is one table, written out cell by cell on purpose (see above);
//! its length is the number of categories times columns, and it reads best whole.

use super::{Op, Role, SubjectFacts};

/// Data categories: every guarded field belongs to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Identity,
    Contact,
    BirthDate,
    LearningRecord,
    OrderStatus,
    Billing,
    FinancialSituation,
    SupportingDocuments,
    ConsentState,
    AccessLogAboutMe,
    AuditLog,
    DataSubjectRequests,
    /// A reviewer's note on an equal-opportunity application.
    ReviewerNotes,
    /// The newsletter's audience as marketing works with it: the address and topics of
    /// subscribers whose consent is current (a person's own subscriptions are `ConsentState`).
    MarketingAudience,
    /// Prospects' requests for information (contact form): name, address, phone, message.
    Prospects,
}

impl Category {
    pub const ALL: [Category; 15] = [
        Category::Identity,
        Category::Contact,
        Category::BirthDate,
        Category::LearningRecord,
        Category::OrderStatus,
        Category::Billing,
        Category::FinancialSituation,
        Category::SupportingDocuments,
        Category::ConsentState,
        Category::AccessLogAboutMe,
        Category::AuditLog,
        Category::DataSubjectRequests,
        Category::ReviewerNotes,
        Category::MarketingAudience,
        Category::Prospects,
    ];

    /// The category of a name of [`Category::as_str`].
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Stable name used in `docs/ACCESS.md` and in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Identity => "identity",
            Category::Contact => "contact",
            Category::BirthDate => "birth_date",
            Category::LearningRecord => "learning_record",
            Category::OrderStatus => "order_status",
            Category::Billing => "billing",
            Category::FinancialSituation => "financial_situation",
            Category::SupportingDocuments => "supporting_documents",
            Category::ConsentState => "consent_state",
            Category::AccessLogAboutMe => "access_log_about_me",
            Category::AuditLog => "audit_log",
            Category::DataSubjectRequests => "data_subject_requests",
            Category::ReviewerNotes => "reviewer_notes",
            Category::MarketingAudience => "marketing_audience",
            Category::Prospects => "prospects",
        }
    }

    /// Staff reads of these categories are written to the audit log (SPEC §4).
    pub fn audited_staff_read(self) -> bool {
        match self {
            Category::Contact
            | Category::BirthDate
            | Category::Billing
            | Category::FinancialSituation
            | Category::SupportingDocuments
            | Category::ReviewerNotes
            | Category::MarketingAudience
            | Category::Prospects => true,
            Category::Identity
            | Category::LearningRecord
            | Category::OrderStatus
            | Category::ConsentState
            | Category::AccessLogAboutMe
            | Category::AuditLog
            | Category::DataSubjectRequests => false,
        }
    }
}

/// Guarded fields. A field's category decides its access; some cells narrow a category to a
/// few fields (an instructor reads the e-mail, not the phone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataField {
    Civility,
    FirstName,
    LastName,
    Locale,
    AccountStatus,
    Roles,
    /// The minors a person is guardian of.
    Wards,
    Email,
    Phone,
    PostalAddress,
    BillingAddress,
    BirthDate,
    MinorStatus,
    Enrollments,
    Progress,
    Attendance,
    OrderStatus,
    Payments,
    Invoices,
    Refunds,
    FinancialSituation,
    Documents,
    ConsentState,
    AccessLog,
    AuditLog,
    RequestStatus,
    RequestDetails,
    ReviewerNote,
    /// A newsletter subscriber's address, as marketing's audience.
    SubscriberEmail,
    /// A newsletter subscriber's topics, as marketing's audience.
    SubscriberTopics,
    /// A prospect's name, as given in a request for information.
    ProspectName,
    ProspectEmail,
    ProspectPhone,
    /// What a prospect asked, and about which course.
    ProspectMessage,
}

impl DataField {
    pub const ALL: [DataField; 34] = [
        DataField::Civility,
        DataField::FirstName,
        DataField::LastName,
        DataField::Locale,
        DataField::AccountStatus,
        DataField::Roles,
        DataField::Wards,
        DataField::Email,
        DataField::Phone,
        DataField::PostalAddress,
        DataField::BillingAddress,
        DataField::BirthDate,
        DataField::MinorStatus,
        DataField::Enrollments,
        DataField::Progress,
        DataField::Attendance,
        DataField::OrderStatus,
        DataField::Payments,
        DataField::Invoices,
        DataField::Refunds,
        DataField::FinancialSituation,
        DataField::Documents,
        DataField::ConsentState,
        DataField::AccessLog,
        DataField::AuditLog,
        DataField::RequestStatus,
        DataField::RequestDetails,
        DataField::ReviewerNote,
        DataField::SubscriberEmail,
        DataField::SubscriberTopics,
        DataField::ProspectName,
        DataField::ProspectEmail,
        DataField::ProspectPhone,
        DataField::ProspectMessage,
    ];

    pub fn category(self) -> Category {
        use DataField as F;
        match self {
            F::Civility | F::FirstName | F::LastName | F::Locale | F::AccountStatus | F::Roles => {
                Category::Identity
            }
            F::Email | F::Phone | F::PostalAddress | F::BillingAddress => Category::Contact,
            // Who someone's wards are tells that they are minors: minor-status data.
            F::BirthDate | F::MinorStatus | F::Wards => Category::BirthDate,
            F::Enrollments | F::Progress | F::Attendance => Category::LearningRecord,
            F::OrderStatus => Category::OrderStatus,
            F::Payments | F::Invoices | F::Refunds => Category::Billing,
            F::FinancialSituation => Category::FinancialSituation,
            F::Documents => Category::SupportingDocuments,
            F::ConsentState => Category::ConsentState,
            F::AccessLog => Category::AccessLogAboutMe,
            F::AuditLog => Category::AuditLog,
            F::RequestStatus | F::RequestDetails => Category::DataSubjectRequests,
            F::ReviewerNote => Category::ReviewerNotes,
            F::SubscriberEmail | F::SubscriberTopics => Category::MarketingAudience,
            F::ProspectName | F::ProspectEmail | F::ProspectPhone | F::ProspectMessage => {
                Category::Prospects
            }
        }
    }

    /// The channel through which marketing reaches the person with this field, for the
    /// `consent` condition: an address needs consent to marketing e-mail, a phone number
    /// consent to marketing by phone (`marketing_phone`), anything else either.
    pub fn channel(self) -> Channel {
        use DataField as F;
        match self {
            F::Email | F::SubscriberEmail | F::SubscriberTopics | F::ProspectEmail => {
                Channel::Email
            }
            F::Phone | F::ProspectPhone => Channel::Phone,
            _ => Channel::Any,
        }
    }

    /// Name used in the qualifiers of `docs/ACCESS.md`.
    pub fn label(self) -> &'static str {
        match self {
            DataField::Email => "e-mail",
            DataField::BillingAddress => "billing address",
            DataField::RequestStatus => "status",
            DataField::SubscriberEmail => "subscriber e-mail",
            DataField::SubscriberTopics => "subscriber topics",
            DataField::Phone => "phone",
            DataField::ProspectName => "prospect name",
            DataField::ProspectEmail => "prospect e-mail",
            DataField::ProspectPhone => "prospect phone",
            DataField::ProspectMessage => "prospect message",
            other => other.category().as_str(),
        }
    }

    /// The fields of one category.
    pub fn of(category: Category) -> impl Iterator<Item = DataField> {
        DataField::ALL.into_iter().filter(move |f| f.category() == category)
    }
}

/// The matrix columns: how the actor relates to the subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    /// The data subject themselves.
    Subject,
    /// A guardian of the subject (a minor).
    Guardian,
    /// An instructor of a session the subject is enrolled in.
    Instructor,
    Support,
    Billing,
    /// A reviewer, for subjects who applied for an equal-opportunity discount.
    Reviewer,
    Marketing,
    PrivacyOfficer,
    Admin,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Subject,
        Column::Guardian,
        Column::Instructor,
        Column::Support,
        Column::Billing,
        Column::Reviewer,
        Column::Marketing,
        Column::PrivacyOfficer,
        Column::Admin,
    ];

    /// Whose data this column's cells are about.
    pub fn reach(self) -> Reach {
        match self {
            Column::Subject => Reach::Themselves,
            Column::Guardian => Reach::Wards,
            Column::Instructor => Reach::Learners,
            Column::Reviewer => Reach::Applicants,
            Column::Support
            | Column::Billing
            | Column::Marketing
            | Column::PrivacyOfficer
            | Column::Admin => Reach::Everyone,
        }
    }

    /// Staff columns process other people's data for their job; `self` and `guardian` are a
    /// person and their family.
    pub fn is_staff(self) -> bool {
        match self.reach() {
            Reach::Themselves | Reach::Wards => false,
            Reach::Learners | Reach::Applicants | Reach::Everyone => true,
        }
    }

    /// The staff column a role puts its holder in. Learner and guardian are relations to a
    /// person (`self`, `guardian`), not staff columns; integration (machine) accounts have no
    /// column at all. A new role does not compile until it is placed here.
    pub fn of_role(role: Role) -> Option<Column> {
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

    /// The column of a header of [`Column::as_str`].
    pub fn parse(s: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Header used in `docs/ACCESS.md`.
    pub fn as_str(self) -> &'static str {
        match self {
            Column::Subject => "self",
            Column::Guardian => "guardian",
            Column::Instructor => "instructor",
            Column::Support => "support",
            Column::Billing => "billing",
            Column::Reviewer => "reviewer",
            Column::Marketing => "marketing",
            Column::PrivacyOfficer => "privacy_officer",
            Column::Admin => "admin",
        }
    }

    /// Why staff in this column process personal data; written to the audit log.
    pub fn purpose(self) -> &'static str {
        match self {
            Column::Subject => "own_data",
            Column::Guardian => "guardianship",
            Column::Instructor => "course_organisation",
            Column::Support => "customer_service",
            Column::Billing => "billing",
            Column::Reviewer => "equal_opportunity_review",
            Column::Marketing => "marketing",
            Column::PrivacyOfficer => "data_protection",
            Column::Admin => "account_management",
        }
    }
}

/// Whose data a column's cells are about: the column applies to a subject only within its
/// reach (and a cell's conditions may narrow it further).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The actor themselves.
    Themselves,
    /// The minors the actor is guardian of (`Relations::wards`).
    Wards,
    /// The learners of the sessions the actor teaches (`Relations::learners`).
    Learners,
    /// People with an equal-opportunity application in review (`SubjectFacts::is_applicant`).
    Applicants,
    /// Everyone in the tenant.
    Everyone,
}

/// How marketing reaches a person, for the `consent` condition ([`DataField::channel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Phone,
    /// Either channel's consent will do (a name, consent state).
    Any,
}

/// Extra conditions a cell may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Only subjects whose consent to marketing through the field's channel is currently given
    /// ([`DataField::channel`]: e-mail for an address, phone for a phone number).
    Consent,
    /// Only staff accounts (admin manages staff, not learners).
    StaffAccounts,
    /// Writes only until the equal-opportunity decision; read-only after it.
    UntilDecision,
    /// May decide (approve or reject) equal-opportunity applications.
    Decides,
}

impl Condition {
    /// Whether the condition narrows whose data a cell reads (rather than what may be done with
    /// it): a cell with such a condition never opens a whole list.
    pub fn narrows_reads(self) -> bool {
        match self {
            Condition::Consent | Condition::StaffAccounts => true,
            Condition::UntilDecision | Condition::Decides => false,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Condition::Consent => "consent",
            Condition::StaffAccounts => "staff accounts",
            Condition::UntilDecision => "until decision",
            Condition::Decides => "decides",
        }
    }
}

/// One cell: what a column may do with a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub read: bool,
    pub write: bool,
    /// When non-empty, only these fields of the category.
    pub only: &'static [DataField],
    pub conditions: &'static [Condition],
}

const NONE: Cell = Cell { read: false, write: false, only: &[], conditions: &[] };

impl Cell {
    /// The cell that grants nothing (`—`).
    pub const DENY: Cell = NONE;
}
const R: Cell = Cell { read: true, ..NONE };
const RW: Cell = Cell { read: true, write: true, ..NONE };

const fn r_only(only: &'static [DataField], conditions: &'static [Condition]) -> Cell {
    Cell { read: true, write: false, only, conditions }
}

const fn with(cell: Cell, conditions: &'static [Condition]) -> Cell {
    Cell { conditions, ..cell }
}

/// One row of the matrix: what each column may do with one category.
struct Row {
    subject: Cell,
    guardian: Cell,
    instructor: Cell,
    support: Cell,
    billing: Cell,
    reviewer: Cell,
    marketing: Cell,
    privacy_officer: Cell,
    admin: Cell,
}

/// The default matrix (SPEC §4), every cell decided; `NONE` (`—`) denies.
// Laid out a row per category like `docs/ACCESS.md`; rustfmt would put each cell on a line.
#[rustfmt::skip]
fn row(category: Category) -> Row {
    use Category as K;
    use Condition::*;
    use DataField as F;
    match category {
        K::Identity => Row {
            subject: RW, guardian: RW, instructor: R, support: R, billing: R, reviewer: R,
            marketing: with(R, &[Consent]), privacy_officer: R,
            admin: with(R, &[StaffAccounts]),
        },
        K::Contact => Row {
            subject: RW, guardian: RW, instructor: r_only(&[F::Email], &[]), support: R,
            billing: r_only(&[F::Email, F::BillingAddress], &[]), reviewer: NONE,
            marketing: r_only(&[F::Email, F::Phone], &[Consent]), privacy_officer: R,
            admin: with(R, &[StaffAccounts]),
        },
        K::BirthDate => Row {
            subject: RW, guardian: RW, instructor: NONE, support: R, billing: NONE,
            reviewer: NONE, marketing: NONE, privacy_officer: R, admin: NONE,
        },
        K::LearningRecord => Row {
            subject: R, guardian: R, instructor: R, support: R, billing: NONE, reviewer: NONE,
            marketing: NONE, privacy_officer: R, admin: NONE,
        },
        K::OrderStatus => Row {
            subject: R, guardian: R, instructor: NONE, support: R, billing: RW, reviewer: NONE,
            marketing: NONE, privacy_officer: R, admin: NONE,
        },
        K::Billing => Row {
            subject: R, guardian: R, instructor: NONE, support: NONE, billing: RW,
            reviewer: NONE, marketing: NONE, privacy_officer: R, admin: NONE,
        },
        K::FinancialSituation => Row {
            subject: with(RW, &[UntilDecision]), guardian: with(RW, &[UntilDecision]),
            instructor: NONE, support: NONE, billing: NONE, reviewer: with(R, &[Decides]),
            marketing: NONE, privacy_officer: R, admin: NONE,
        },
        K::SupportingDocuments => Row {
            subject: with(RW, &[UntilDecision]), guardian: with(RW, &[UntilDecision]),
            instructor: NONE, support: NONE, billing: NONE, reviewer: R, marketing: NONE,
            privacy_officer: R, admin: NONE,
        },
        K::ConsentState => Row {
            subject: RW, guardian: RW, instructor: NONE, support: R, billing: NONE,
            reviewer: NONE, marketing: with(R, &[Consent]), privacy_officer: R, admin: NONE,
        },
        K::AccessLogAboutMe => Row {
            subject: R, guardian: R, instructor: NONE, support: NONE, billing: NONE,
            reviewer: NONE, marketing: NONE, privacy_officer: R, admin: NONE,
        },
        K::AuditLog => Row {
            subject: NONE, guardian: NONE, instructor: NONE, support: NONE, billing: NONE,
            reviewer: NONE, marketing: NONE, privacy_officer: R, admin: NONE,
        },
        K::DataSubjectRequests => Row {
            subject: RW, guardian: RW, instructor: NONE,
            support: r_only(&[F::RequestStatus], &[]), billing: NONE, reviewer: NONE,
            marketing: NONE, privacy_officer: RW, admin: NONE,
        },
        // The reviewers' side of an application: never the applicant's.
        K::ReviewerNotes => Row {
            subject: NONE, guardian: NONE, instructor: NONE, support: NONE, billing: NONE,
            reviewer: R, marketing: NONE, privacy_officer: R, admin: NONE,
        },
        // Marketing's working list: consenting subscribers only, address and topics; the
        // person sees their own subscriptions as `consent_state`.
        K::MarketingAudience => Row {
            subject: NONE, guardian: NONE, instructor: NONE, support: NONE, billing: NONE,
            reviewer: NONE, marketing: with(R, &[Consent]), privacy_officer: R, admin: NONE,
        },
        // Requests for information: support answers them (and records each exchange);
        // marketing reads those who agreed to be contacted, the phone only with consent to
        // marketing by phone. A prospect has no account to read them through.
        K::Prospects => Row {
            subject: NONE, guardian: NONE, instructor: NONE, support: RW, billing: NONE,
            reviewer: NONE, marketing: with(R, &[Consent]), privacy_officer: R, admin: NONE,
        },
    }
}

/// The cell of `category` × `column`.
pub fn cell(category: Category, column: Column) -> Cell {
    let row = row(category);
    match column {
        Column::Subject => row.subject,
        Column::Guardian => row.guardian,
        Column::Instructor => row.instructor,
        Column::Support => row.support,
        Column::Billing => row.billing,
        Column::Reviewer => row.reviewer,
        Column::Marketing => row.marketing,
        Column::PrivacyOfficer => row.privacy_officer,
        Column::Admin => row.admin,
    }
}

impl Cell {
    /// Whether this cell reads its category of everyone its column reaches (no condition
    /// narrows whose data it reads).
    pub fn reads_all(&self) -> bool {
        self.read && !self.conditions.iter().any(|c| c.narrows_reads())
    }

    /// Whether this cell lets its column perform `op` on `field` of `subject`.
    pub fn permits(&self, field: DataField, op: Op, subject: &SubjectFacts) -> bool {
        let base = match op {
            Op::Read => self.read,
            Op::Write => self.write,
            Op::Decide => self.read && self.conditions.contains(&Condition::Decides),
        };
        if !base || (!self.only.is_empty() && !self.only.contains(&field)) {
            return false;
        }
        self.conditions.iter().all(|c| match c {
            Condition::Consent => subject.consents(field.channel()),
            Condition::StaffAccounts => subject.is_staff,
            Condition::UntilDecision => op != Op::Write || !subject.decided,
            Condition::Decides => true,
        })
    }

    /// The notation of `docs/ACCESS.md`: `—`, `R`, `RW`, with qualifiers in parentheses.
    pub fn render(&self) -> String {
        let base = match (self.read, self.write) {
            (false, false) => return "—".into(),
            (true, false) => "R",
            (true, true) => "RW",
            (false, true) => "W",
        };
        let quals: Vec<&str> = self
            .only
            .iter()
            .map(|f| f.label())
            .chain(self.conditions.iter().map(|c| c.label()))
            .collect();
        if quals.is_empty() { base.into() } else { format!("{base} ({})", quals.join(", ")) }
    }
}
