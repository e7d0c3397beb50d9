//! The need-to-know matrix of SPEC §4 as data. `docs/ACCESS.md` renders the same table; the
//! test `tests/access_policy.rs` fails when they drift apart.

use super::{Op, SubjectFacts};

/// Data categories: every guarded field belongs to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
}

impl Category {
    pub const ALL: [Category; 12] = [
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
    ];

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
        }
    }

    /// Staff reads of these categories are written to the audit log (SPEC §4).
    pub fn audited_staff_read(self) -> bool {
        matches!(
            self,
            Category::Contact
                | Category::BirthDate
                | Category::Billing
                | Category::FinancialSituation
                | Category::SupportingDocuments
        )
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
}

impl DataField {
    pub const ALL: [DataField; 27] = [
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
        }
    }

    /// Name used in the qualifiers of `docs/ACCESS.md`.
    pub fn label(self) -> &'static str {
        match self {
            DataField::Email => "e-mail",
            DataField::BillingAddress => "billing address",
            DataField::RequestStatus => "status",
            other => other.category().as_str(),
        }
    }

    /// The fields of one category.
    pub fn of(category: Category) -> impl Iterator<Item = DataField> {
        DataField::ALL.into_iter().filter(move |f| f.category() == category)
    }
}

/// The matrix columns: how the actor relates to the subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

    pub fn is_staff(self) -> bool {
        !matches!(self, Column::Subject | Column::Guardian)
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

/// Extra conditions a cell may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Only subjects whose consent for the purpose (marketing e-mail) is currently given.
    Consent,
    /// Only staff accounts (admin manages staff, not learners).
    StaffAccounts,
    /// Writes only until the equal-opportunity decision; read-only after it.
    UntilDecision,
    /// May decide (approve or reject) equal-opportunity applications.
    Decides,
}

impl Condition {
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
const R: Cell = Cell { read: true, ..NONE };
const RW: Cell = Cell { read: true, write: true, ..NONE };

const fn r_only(only: &'static [DataField], conditions: &'static [Condition]) -> Cell {
    Cell { read: true, write: false, only, conditions }
}

const fn with(cell: Cell, conditions: &'static [Condition]) -> Cell {
    Cell { conditions, ..cell }
}

/// The default matrix (SPEC §4). Anything not listed is denied.
pub fn cell(category: Category, column: Column) -> Cell {
    use Category as K;
    use Column as C;
    use Condition::*;
    match (category, column) {
        (K::Identity, C::Subject | C::Guardian) => RW,
        (
            K::Identity,
            C::Instructor | C::Support | C::Billing | C::Reviewer | C::PrivacyOfficer,
        ) => R,
        (K::Identity, C::Marketing) => with(R, &[Consent]),
        (K::Identity, C::Admin) => with(R, &[StaffAccounts]),

        (K::Contact, C::Subject | C::Guardian) => RW,
        (K::Contact, C::Instructor) => r_only(&[DataField::Email], &[]),
        (K::Contact, C::Support | C::PrivacyOfficer) => R,
        (K::Contact, C::Billing) => r_only(&[DataField::Email, DataField::BillingAddress], &[]),
        (K::Contact, C::Marketing) => r_only(&[DataField::Email], &[Consent]),
        (K::Contact, C::Admin) => with(R, &[StaffAccounts]),

        (K::BirthDate, C::Subject | C::Guardian) => RW,
        (K::BirthDate, C::Support | C::PrivacyOfficer) => R,

        (
            K::LearningRecord,
            C::Subject | C::Guardian | C::Instructor | C::Support | C::PrivacyOfficer,
        ) => R,

        (K::OrderStatus, C::Subject | C::Guardian | C::Support | C::PrivacyOfficer) => R,
        (K::OrderStatus, C::Billing) => RW,

        (K::Billing, C::Subject | C::Guardian | C::PrivacyOfficer) => R,
        (K::Billing, C::Billing) => RW,

        (K::FinancialSituation, C::Subject | C::Guardian) => with(RW, &[UntilDecision]),
        (K::FinancialSituation, C::Reviewer) => with(R, &[Decides]),
        (K::FinancialSituation, C::PrivacyOfficer) => R,

        (K::SupportingDocuments, C::Subject | C::Guardian) => with(RW, &[UntilDecision]),
        (K::SupportingDocuments, C::Reviewer | C::PrivacyOfficer) => R,

        (K::ConsentState, C::Subject | C::Guardian) => RW,
        (K::ConsentState, C::Support | C::PrivacyOfficer) => R,
        (K::ConsentState, C::Marketing) => with(R, &[Consent]),

        (K::AccessLogAboutMe, C::Subject | C::Guardian | C::PrivacyOfficer) => R,

        (K::AuditLog, C::PrivacyOfficer) => R,

        (K::DataSubjectRequests, C::Subject | C::Guardian | C::PrivacyOfficer) => RW,
        (K::DataSubjectRequests, C::Support) => r_only(&[DataField::RequestStatus], &[]),

        _ => NONE,
    }
}

impl Cell {
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
            Condition::Consent => subject.marketing_consent,
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
