//! The personal-data registry: every table of the schema, what it holds about people, and its
//! fate. One entry per table, in one place, so that export, erasure, the retention sweep and the
//! record of processing (GDPR art. 30) all read the same answer and cannot drift apart.
//!
//! For each table the registry says:
//! - who the rows are *about* ([`Holds::Owner`], or [`Holds::OwnerVia`] for rows that belong to
//!   a person through another table: a refresh token through its session);
//! - which columns hold personal data and of which [`Category`] (the same categories as the
//!   need-to-know matrix), which are secrets (never exported), and which name *another* person
//!   (a staff member who acted, an instructor: exported by display name only, art. 20(4));
//! - whether an access or portability export includes it;
//! - what erasure does ([`Erasure`]): delete, anonymise, pseudonymise a ledger entry, or keep
//!   under a legal obligation until its [`Retention`] ends, detached from the account;
//! - its retention rule.
//!
//! A table that holds nothing about people is registered too, with [`Table::no_personal_data`],
//! so that adding a table is a decision and not an accident: [`gaps`] compares the registry with
//! the live schema of a database (read by `domain::privacy::schema`) and names every table not
//! registered, every person reference or personal-looking column not classified, and every
//! registered column that no longer exists. `tests/registry.rs` runs it on both databases, the
//! way Moodle's `test_table_coverage` does for its privacy providers.
//!
//! This module is data and pure functions: it never queries the database.
//!
//! One job, one file: one entry per table of the schema (about 830 lines without its tests),
//! kept in one place so that export, erasure, retention and the record of processing cannot
//! drift apart.

use std::collections::{BTreeMap, BTreeSet};

use super::Category;

/// What one column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// The person the row is about: export and erasure follow this reference.
    Owner,
    /// The row belongs to the person its referenced row belongs to (`table` is that table).
    OwnerVia { table: &'static str },
    /// A keyed hash of the person's e-mail (throttling counters): the rows about someone are
    /// found by computing the hash again, never by reversing it.
    OwnerHash,
    /// Another person (a staff member who acted, the instructor, the guardian who applied): in
    /// the subject's export by display name only; when *that* person is erased, set to null.
    OtherPerson,
    /// Personal data of this category.
    Data(Category),
    /// A secret tied to the person (password hash, token hash, wrapped key): never exported,
    /// destroyed on erasure.
    Secret,
}

/// What erasure does to the rows about the subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erasure {
    /// The rows are deleted (with their blobs, for documents).
    Delete,
    /// The row stays as a tombstone and every personal column is cleared (the account row: the
    /// e-mail is released so it can be registered again).
    Anonymise,
    /// An append-only ledger entry (audit log, consent ledger): the person reference is replaced
    /// by a pseudonym through the one controlled path, itself audited.
    Pseudonymise,
    /// Kept under a legal obligation until the retention ends, detached from the account (the
    /// owner reference cleared, the legal snapshot kept).
    Keep(LegalBasis),
    /// Nothing about the subject lives here (only references to other people, or no one).
    NotApplicable,
}

/// Why something outlives an erasure request (GDPR art. 17(3)(b) and (e)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegalBasis {
    /// Accounting records: French commercial code, art. L123-22, 10 years.
    Accounting,
    /// Proof of a contract (paid enrollment): civil code, art. 2224 and L110-4, 10 years after
    /// the end of the contract.
    Contract,
    /// Honouring an objection to direct marketing (GDPR art. 21(3), 17(3)): a keyed hash of the
    /// address only, so that it never receives marketing again, for as long as the organisation
    /// sends any.
    MarketingObjection,
}

impl LegalBasis {
    pub fn describe(self) -> &'static str {
        match self {
            LegalBasis::Accounting => {
                "legal obligation: accounting records (Code de commerce L123-22)"
            }
            LegalBasis::Contract => {
                "establishment of legal claims: contract proof (Code civil 2224)"
            }
            LegalBasis::MarketingObjection => {
                "honouring an objection to direct marketing (GDPR art. 21(3)): a keyed hash only"
            }
        }
    }

    /// The stored key of the basis (erasure reports).
    pub fn key(self) -> &'static str {
        match self {
            LegalBasis::Accounting => "accounting",
            LegalBasis::Contract => "contract",
            LegalBasis::MarketingObjection => "marketing_objection",
        }
    }

    pub const ALL: [LegalBasis; 3] =
        [LegalBasis::Accounting, LegalBasis::Contract, LegalBasis::MarketingObjection];

    pub fn parse(key: &str) -> Option<LegalBasis> {
        LegalBasis::ALL.into_iter().find(|b| b.key() == key)
    }
}

/// The clock a retention period runs from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    SinceCreation,
    SinceLastContact,
    SinceEndOfContract,
    SinceIssue,
    SinceEvent,
    /// Until the row's own expiry time (sessions, tokens, throttling windows).
    UntilExpiry,
    /// As long as the account exists (erasure or the account's own retention ends it).
    WhileAccountExists,
}

/// A retention rule: the default of SPEC §5, and the bounds a tenant may choose within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// Account data: kept while the account exists; an account without any contract is a
    /// prospect and goes 3 years after the last contact.
    Account,
    /// Prospects and commercial contacts: 3 years since the last contact.
    Prospect,
    /// Equal-opportunity applications and documents: 3 years since the last contact.
    EqualOpportunity,
    /// Enrollment and contract data: 10 years after the end of the contract.
    Contract,
    /// Invoices and accounting records: 10 years since issue (legal obligation).
    Accounting,
    /// Cookie consents lapse after 13 months; the consent ledger otherwise follows the account.
    ConsentLedger,
    /// Live-class recordings: 7 or 14 days after the class (tenant setting).
    Recording,
    /// Sessions, refresh tokens, log-in failures: until they expire.
    Expiring,
    /// Web and support logs, the audit log: 2 years at most since the event.
    Logs,
    /// Outgoing mail: deleted once sent and 30 days old.
    Outbox,
    /// Newsletter / marketing audience: 3 years since the last interaction.
    NewsletterAudience,
    /// Nothing personal: kept as long as the tenant.
    Tenant,
    /// Rows that never outlive the transaction that writes them (the erasure's pseudonymisation
    /// gate): nothing to sweep.
    Transient,
}

impl Retention {
    /// The default period in days (SPEC §5), or `None` when no period applies.
    pub fn default_days(self) -> Option<i64> {
        match self {
            Retention::Account
            | Retention::Tenant
            | Retention::ConsentLedger
            | Retention::Transient => None,
            Retention::Prospect | Retention::EqualOpportunity | Retention::NewsletterAudience => {
                Some(3 * 365)
            }
            Retention::Contract | Retention::Accounting => Some(10 * 365),
            Retention::Recording => Some(7),
            Retention::Expiring => Some(0),
            Retention::Logs => Some(2 * 365),
            Retention::Outbox => Some(30),
        }
    }

    pub fn clock(self) -> Clock {
        match self {
            Retention::Account => Clock::WhileAccountExists,
            Retention::Prospect | Retention::EqualOpportunity | Retention::NewsletterAudience => {
                Clock::SinceLastContact
            }
            Retention::Contract => Clock::SinceEndOfContract,
            Retention::Accounting => Clock::SinceIssue,
            Retention::ConsentLedger => Clock::WhileAccountExists,
            Retention::Recording | Retention::Logs | Retention::Outbox => Clock::SinceEvent,
            Retention::Expiring | Retention::Transient => Clock::UntilExpiry,
            Retention::Tenant => Clock::SinceCreation,
        }
    }

    /// A human description for the record of processing and the export's `index.html`.
    pub fn describe(self) -> &'static str {
        match self {
            Retention::Account => {
                "while the account exists; 3 years after the last contact without any contract"
            }
            Retention::Prospect => "3 years after the last contact",
            Retention::EqualOpportunity => "3 years after the last contact",
            Retention::Contract => "10 years after the end of the contract",
            Retention::Accounting => "10 years after issue (legal obligation)",
            Retention::ConsentLedger => {
                "while the account exists; cookie consents lapse after 13 months"
            }
            Retention::Recording => "7 or 14 days after the class (organisation setting)",
            Retention::Expiring => "until expiry",
            Retention::Logs => "2 years after the event",
            Retention::Outbox => "30 days after sending",
            Retention::NewsletterAudience => "3 years after the last interaction",
            Retention::Tenant => "as long as the organisation's contract",
            Retention::Transient => "deleted in the transaction that writes it",
        }
    }
}

/// One registered column.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub holds: Holds,
}

/// One registered table.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub name: &'static str,
    /// What the table is, in a few words (for the record of processing).
    pub about: &'static str,
    pub columns: &'static [Column],
    /// Included in an access or portability export (rows about the subject).
    pub export: bool,
    pub erasure: Erasure,
    pub retention: Retention,
}

impl Table {
    /// A table that holds nothing about people.
    const fn no_personal_data(name: &'static str, about: &'static str) -> Table {
        Table {
            name,
            about,
            columns: &[],
            export: false,
            erasure: Erasure::NotApplicable,
            retention: Retention::Tenant,
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns that say whom a row is about.
    pub fn owners(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| matches!(c.holds, Holds::Owner | Holds::OwnerVia { .. } | Holds::OwnerHash))
    }

    pub fn is_about_people(&self) -> bool {
        self.owners().next().is_some()
    }

    /// The data categories this table holds.
    pub fn categories(&self) -> BTreeSet<&'static str> {
        self.columns
            .iter()
            .filter_map(|c| match c.holds {
                Holds::Data(cat) => Some(cat.as_str()),
                _ => None,
            })
            .collect()
    }
}

const fn col(name: &'static str, holds: Holds) -> Column {
    Column { name, holds }
}

const OWNER: Holds = Holds::Owner;
const OTHER: Holds = Holds::OtherPerson;
const SECRET: Holds = Holds::Secret;
const IDENTITY: Holds = Holds::Data(Category::Identity);
const CONTACT: Holds = Holds::Data(Category::Contact);
const BIRTH: Holds = Holds::Data(Category::BirthDate);
const LEARNING: Holds = Holds::Data(Category::LearningRecord);
const ORDER: Holds = Holds::Data(Category::OrderStatus);
const BILLING: Holds = Holds::Data(Category::Billing);
const FINANCIAL: Holds = Holds::Data(Category::FinancialSituation);
const DOCUMENTS: Holds = Holds::Data(Category::SupportingDocuments);
const CONSENT: Holds = Holds::Data(Category::ConsentState);
const AUDIT: Holds = Holds::Data(Category::AuditLog);
const REQUESTS: Holds = Holds::Data(Category::DataSubjectRequests);
const PROSPECTS: Holds = Holds::Data(Category::Prospects);

const fn via(table: &'static str) -> Holds {
    Holds::OwnerVia { table }
}

/// Every table of the schema, in the order of the migrations.
pub const TABLES: &[Table] = &[
    Table {
        name: "tenants",
        about: "the organisation (controller) and its published data-protection officer contact",
        columns: &[col("dpo_name", CONTACT), col("dpo_email", CONTACT)],
        export: false,
        erasure: Erasure::NotApplicable,
        retention: Retention::Tenant,
    },
    Table::no_personal_data("privacy_policy_versions", "published privacy-policy versions"),
    Table {
        name: "users",
        about: "accounts: identity, contact, birth date, preferences, accepted policy",
        columns: &[
            col("id", OWNER),
            col("email", CONTACT),
            col("password_hash", SECRET),
            col("civility", IDENTITY),
            col("first_name", IDENTITY),
            col("last_name", IDENTITY),
            col("display_name", IDENTITY),
            col("phone", CONTACT),
            col("address_line1", CONTACT),
            col("address_line2", CONTACT),
            col("postal_code", CONTACT),
            col("city", CONTACT),
            col("country", CONTACT),
            col("birth_date", BIRTH),
            col("locale", IDENTITY),
            col("status", IDENTITY),
            col("last_contact_at", IDENTITY),
            col("accepted_policy_version", CONSENT),
            col("accepted_policy_at", CONSENT),
        ],
        export: true,
        erasure: Erasure::Anonymise,
        retention: Retention::Account,
    },
    Table {
        name: "user_roles",
        about: "roles held or offered in the organisation",
        columns: &[col("user_id", OWNER), col("granted_by", OTHER)],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Account,
    },
    Table {
        name: "guardian_links",
        about: "which guardian is responsible for which minor",
        columns: &[col("guardian_id", OWNER), col("minor_id", OWNER)],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Account,
    },
    Table {
        name: "auth_sessions",
        about: "signed-in sessions",
        columns: &[col("user_id", OWNER), col("revoked_reason", IDENTITY)],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Expiring,
    },
    Table {
        name: "refresh_tokens",
        about: "hashed refresh tokens of a session",
        columns: &[col("session_id", via("auth_sessions")), col("token_hash", SECRET)],
        export: false,
        erasure: Erasure::Delete,
        retention: Retention::Expiring,
    },
    Table {
        name: "policy_acceptances",
        about: "each privacy-policy version a person accepted, and when",
        columns: &[col("user_id", OWNER), col("version", CONSENT)],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Account,
    },
    Table {
        name: "password_tokens",
        about: "hashed one-time set-password tokens (an organisation's first administrator)",
        columns: &[col("user_id", OWNER), col("token_hash", SECRET)],
        export: false,
        erasure: Erasure::Delete,
        retention: Retention::Expiring,
    },
    Table {
        name: "login_failures",
        about: "failed sign-ins, under a keyed hash of the address or e-mail, for throttling",
        columns: &[col("key_hash", Holds::OwnerHash)],
        export: false,
        erasure: Erasure::Delete,
        retention: Retention::Expiring,
    },
    Table {
        name: "audit_log",
        about: "who read or changed which sensitive data of whom, and staff actions",
        columns: &[
            col("actor_id", OWNER),
            col("subject_id", OWNER),
            col("actor_roles", AUDIT),
            col("details", AUDIT),
            col("request_id", AUDIT),
        ],
        export: true,
        erasure: Erasure::Pseudonymise,
        retention: Retention::Logs,
    },
    Table {
        name: "consent_records",
        about: "the append-only consent ledger",
        columns: &[
            col("subject_user_id", OWNER),
            col("subject_visitor_id", CONSENT),
            col("recorded_by", OTHER),
        ],
        export: true,
        erasure: Erasure::Pseudonymise,
        retention: Retention::ConsentLedger,
    },
    Table::no_personal_data("courses", "the catalogue"),
    Table::no_personal_data("course_tags", "catalogue tags"),
    Table {
        name: "sessions",
        about: "course sessions (cohorts) and their instructor",
        columns: &[col("instructor_id", OTHER)],
        export: false,
        erasure: Erasure::NotApplicable,
        retention: Retention::Tenant,
    },
    Table::no_personal_data("lessons", "lesson outlines"),
    Table {
        name: "enrollments",
        about: "enrollments of learners in sessions",
        columns: &[col("learner_id", OWNER)],
        export: true,
        erasure: Erasure::Keep(LegalBasis::Contract),
        retention: Retention::Contract,
    },
    Table {
        name: "lesson_completions",
        about: "lessons completed (progress)",
        columns: &[col("enrollment_id", via("enrollments")), col("completed_at", LEARNING)],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Contract,
    },
    Table {
        name: "live_classes",
        about: "virtual-class meetings and their recording",
        columns: &[col("recording_ref", LEARNING)],
        export: false,
        erasure: Erasure::NotApplicable,
        retention: Retention::Recording,
    },
    Table {
        name: "live_class_attendance",
        about: "attendance statistics per participant",
        columns: &[
            col("learner_id", OWNER),
            col("joined_at", LEARNING),
            col("left_at", LEARNING),
            col("talk_seconds", LEARNING),
            col("chat_messages", LEARNING),
            col("hand_raises", LEARNING),
            col("poll_answers", LEARNING),
            col("recording_consent", CONSENT),
        ],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Contract,
    },
    Table {
        name: "orders",
        about: "orders, their billing name and address, and the Stripe payment reference",
        columns: &[
            col("buyer_id", OWNER),
            col("learner_id", OWNER),
            col("status", ORDER),
            col("billing_name", BILLING),
            col("billing_address", BILLING),
            col("payment_intent_id", BILLING),
            col("client_secret", SECRET),
            col("last_payment_error", BILLING),
            col("idempotency_key", SECRET),
            col("request_hash", SECRET),
        ],
        export: true,
        erasure: Erasure::Keep(LegalBasis::Accounting),
        retention: Retention::Accounting,
    },
    Table {
        name: "order_lines",
        about: "the lines of an order",
        columns: &[col("order_id", via("orders")), col("enrollment_id", via("enrollments"))],
        export: true,
        erasure: Erasure::Keep(LegalBasis::Accounting),
        retention: Retention::Accounting,
    },
    Table {
        name: "payment_events",
        about: "Stripe webhook events processed (ids and outcome only)",
        columns: &[col("order_id", via("orders")), col("payment_intent_id", BILLING)],
        export: false,
        erasure: Erasure::Keep(LegalBasis::Accounting),
        retention: Retention::Accounting,
    },
    Table {
        name: "refunds",
        about: "refunds of orders",
        columns: &[
            col("order_id", via("orders")),
            col("reason", BILLING),
            col("requested_by", OTHER),
        ],
        export: true,
        erasure: Erasure::Keep(LegalBasis::Accounting),
        retention: Retention::Accounting,
    },
    Table::no_personal_data("invoice_counters", "gap-free invoice numbering per series"),
    Table {
        name: "invoices",
        about: "invoices and credit notes with their immutable buyer snapshot",
        columns: &[col("buyer_id", OWNER), col("snapshot", BILLING)],
        export: true,
        erasure: Erasure::Keep(LegalBasis::Accounting),
        retention: Retention::Accounting,
    },
    Table {
        name: "outbox",
        about: "e-mails waiting to be sent or recently sent",
        columns: &[col("recipient_id", OWNER), col("payload", CONTACT)],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Outbox,
    },
    Table {
        name: "eo_applications",
        about: "equal-opportunity applications: declared situation and the decision",
        columns: &[
            col("applicant_id", OWNER),
            col("created_by", OTHER),
            col("decided_by", OTHER),
            col("income_bracket", FINANCIAL),
            col("scholarship_holder", FINANCIAL),
            col("situation", FINANCIAL),
            col("discount_percent", FINANCIAL),
            col("decision_reason", FINANCIAL),
            col("reviewer_note", Holds::Data(Category::ReviewerNotes)),
            col("last_contact_at", FINANCIAL),
        ],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::EqualOpportunity,
    },
    Table {
        name: "eo_documents",
        about: "supporting documents (content encrypted at rest in the document store)",
        columns: &[
            col("application_id", via("eo_applications")),
            col("original_name", DOCUMENTS),
            col("mime_type", DOCUMENTS),
            col("size_bytes", DOCUMENTS),
            col("sha256", DOCUMENTS),
            col("storage_key", SECRET),
            col("key_id", SECRET),
            col("wrapped_key", SECRET),
            col("last_contact_at", DOCUMENTS),
        ],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::EqualOpportunity,
    },
    // Data-subject requests are kept as proof that they were answered (art. 5(2)): erasure
    // clears their personal text and keeps the bare record (kind, dates, status).
    Table {
        name: "data_subject_requests",
        about: "data-subject requests: kind, dates, identity check, the subject's text, outcome",
        columns: &[
            col("subject_id", OWNER),
            col("requested_by", OTHER),
            col("handled_by", OTHER),
            col("channel", REQUESTS),
            col("kind", REQUESTS),
            col("status", REQUESTS),
            col("received_at", REQUESTS),
            col("due_at", REQUESTS),
            col("extended_until", REQUESTS),
            col("extension_reason", REQUESTS),
            col("identity_check", REQUESTS),
            col("details", REQUESTS),
            col("purposes", REQUESTS),
            col("outcome", REQUESTS),
            col("refusal_reason", REQUESTS),
            col("completed_at", REQUESTS),
        ],
        export: true,
        erasure: Erasure::Anonymise,
        retention: Retention::Logs,
    },
    Table {
        name: "data_subject_request_steps",
        about: "the steps of carrying out a data-subject request, with retries",
        columns: &[
            col("request_id", via("data_subject_requests")),
            col("name", REQUESTS),
            col("last_error", REQUESTS),
        ],
        export: true,
        erasure: Erasure::Anonymise,
        retention: Retention::Logs,
    },
    Table {
        name: "post_mortem_directives",
        about: "post-mortem directives: instructions, chosen outcome, the trusted person named",
        columns: &[
            col("subject_id", OWNER),
            col("request_id", via("data_subject_requests")),
            col("instructions", REQUESTS),
            col("outcome", REQUESTS),
            col("trusted_person_name", REQUESTS),
            col("trusted_person_contact", REQUESTS),
        ],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Account,
    },
    // The report of an erasure is the proof that it was carried out (art. 5(2)): table names,
    // counts, dates and the ids of the rows kept, nothing personal. It stays with its request.
    Table {
        name: "erasure_reports",
        about: "erasure reports: effects, and the final scan of every text column (counts only)",
        columns: &[col("request_id", via("data_subject_requests"))],
        export: false,
        erasure: Erasure::NotApplicable,
        retention: Retention::Logs,
    },
    Table {
        name: "erasure_report_tables",
        about: "what an erasure did to each table: outcome, counts, legal basis and date kept",
        columns: &[col("report_id", via("erasure_reports"))],
        export: false,
        erasure: Erasure::NotApplicable,
        retention: Retention::Logs,
    },
    // The suppression list must outlive erasure and objection, or a re-import would mail the
    // person again: only a keyed hash of the address, found by hashing an address one has.
    Table {
        name: "marketing_suppressions",
        about: "addresses that must never receive marketing, as keyed hashes (never addresses)",
        columns: &[col("email_hash", Holds::OwnerHash), col("reason", CONSENT)],
        export: false,
        erasure: Erasure::Keep(LegalBasis::MarketingObjection),
        retention: Retention::Tenant,
    },
    // Empty outside the transaction that pseudonymises one person's ledger entries.
    Table {
        name: "erasure_gate",
        about: "the pseudonymisation gate of the append-only tables (empty between transactions)",
        columns: &[col("person_id", OWNER), col("pseudonym", SECRET)],
        export: false,
        erasure: Erasure::Delete,
        retention: Retention::Transient,
    },
    // A subscription is about the owner of its address: found by the account when the address
    // is an account's, and always by the keyed hash of the address (the suppression list's).
    Table {
        name: "newsletter_subscriptions",
        about: "newsletter subscriptions: address, topics, status, double opt-in, proof of consent",
        columns: &[
            col("user_id", OWNER),
            col("email_hash", Holds::OwnerHash),
            col("email", CONTACT),
            col("topics", CONSENT),
            col("locale", IDENTITY),
            col("status", CONSENT),
            col("confirm_token_hash", SECRET),
            col("consented_at", CONSENT),
            col("consent_source", CONSENT),
            col("consent_policy_version", CONSENT),
            col("consent_topics", CONSENT),
            col("unsubscribed_at", CONSENT),
            col("last_interaction_at", CONSENT),
            col("soft_bounces", CONTACT),
        ],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::NewsletterAudience,
    },
    // A request for information is about the owner of its address: the account of a
    // signed-in requester, and always the keyed hash of the address (the suppression list's).
    Table {
        name: "contact_requests",
        about: "prospects' requests for information: name, address, phone, message, contact choices",
        columns: &[
            col("user_id", OWNER),
            col("email_hash", Holds::OwnerHash),
            col("name", PROSPECTS),
            col("email", PROSPECTS),
            col("phone", PROSPECTS),
            col("course_id", PROSPECTS),
            col("message", PROSPECTS),
            col("locale", PROSPECTS),
            col("contact_consent", CONSENT),
            col("phone_consent", CONSENT),
            col("consent_policy_version", CONSENT),
            col("status", PROSPECTS),
            col("last_contact_at", PROSPECTS),
        ],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Prospect,
    },
    // A campaign's text and counts; its recipients are outbox rows (ids only). The author is
    // a staff member, named by id only and cleared when that account goes.
    Table {
        name: "newsletter_campaigns",
        about: "newsletter campaigns: topic, subject and body per language, queueing progress",
        columns: &[col("created_by", OTHER)],
        export: false,
        erasure: Erasure::NotApplicable,
        retention: Retention::Tenant,
    },
    Table {
        name: "death_records",
        about: "deaths recorded by the privacy officer, to carry out post-mortem directives",
        columns: &[
            col("subject_id", OWNER),
            col("died_on", REQUESTS),
            col("evidence", REQUESTS),
            col("recorded_by", OTHER),
            col("request_id", via("data_subject_requests")),
        ],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Account,
    },
    Table::no_personal_data(
        "retention_runs",
        "retention sweeps: when, and how many rows of which table went (counts only)",
    ),
    Table::no_personal_data(
        "retention_gate",
        "the retention sweep's permission to delete expired audit and consent rows (empty \
         outside a sweep's transaction)",
    ),
    // The file of an export (an encrypted ZIP in the document store) goes with its row, 7 days
    // after it was made (`domain::privacy::export::expiry`).
    Table {
        name: "data_exports",
        about: "access and portability exports waiting to be downloaded (encrypted files)",
        columns: &[
            col("subject_id", OWNER),
            col("request_id", via("data_subject_requests")),
            col("storage_key", SECRET),
            col("key_id", SECRET),
            col("wrapped_key", SECRET),
            col("sealed_key", SECRET),
        ],
        export: true,
        erasure: Erasure::Delete,
        retention: Retention::Expiring,
    },
    Table {
        name: "payment_accounts",
        about: "each organisation's own Stripe account: keys sealed under the master key",
        columns: &[
            col("key_id", SECRET),
            col("wrapped_key", SECRET),
            col("sealed", SECRET),
            col("secret_key_last4", SECRET),
        ],
        export: false,
        erasure: Erasure::NotApplicable,
        retention: Retention::Tenant,
    },
    Table::no_personal_data(
        "platform_log",
        "the platform operator's commands (tenant created, changed), naming organisations only",
    ),
];

/// Tables that belong to the migration tool, not to Pupitre.
pub const TOOL_TABLES: &[&str] = &["seaql_migrations"];

pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The live schema of a database, as `domain::privacy::schema` reads it.
#[derive(Clone, Debug, Default)]
pub struct LiveSchema {
    /// Table name → its columns.
    pub tables: BTreeMap<String, Vec<LiveColumn>>,
}

#[derive(Clone, Debug)]
pub struct LiveColumn {
    pub name: String,
    /// The table this column's foreign key points to, if any.
    pub references: Option<String>,
}

/// A difference between the live schema and the registry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gap {
    /// A table nobody has decided the fate of.
    UnregisteredTable(String),
    /// A column that references a person or looks personal, not classified in its table.
    UnclassifiedColumn { table: String, column: String },
    /// A registered table or column that the database does not have.
    Stale { table: String, column: Option<String> },
    /// A row owned through a table that is not itself about people.
    BrokenOwnerVia { table: String, column: String },
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gap::UnregisteredTable(t) => {
                write!(f, "table `{t}` is not in the personal-data registry")
            }
            Gap::UnclassifiedColumn { table, column } => write!(
                f,
                "column `{table}.{column}` references a person or looks personal but is not classified"
            ),
            Gap::Stale { table, column: Some(c) } => {
                write!(f, "registered column `{table}.{c}` does not exist")
            }
            Gap::Stale { table, column: None } => {
                write!(f, "registered table `{table}` does not exist")
            }
            Gap::BrokenOwnerVia { table, column } => write!(
                f,
                "`{table}.{column}` is owned through a table that is not registered as about people"
            ),
        }
    }
}

/// Words that make a column look like personal data or a person reference, matched against the
/// `_`-separated parts of its name.
const PERSONAL_WORDS: &[&str] = &[
    "user",
    "buyer",
    "learner",
    "applicant",
    "guardian",
    "minor",
    "instructor",
    "actor",
    "subject",
    "recipient",
    "person",
    "customer",
    "email",
    "mail",
    "phone",
    "name",
    "address",
    "city",
    "postal",
    "zip",
    "birth",
    "ip",
    "agent",
    "note",
    "situation",
    "snapshot",
    "payload",
    "visitor",
    "token",
    "secret",
    "password",
    "recording",
    "reason",
    "contact",
    "by",
];

/// Whether a live column must be classified: it references the `users` table, or a word of its
/// name suggests a person or personal data.
pub fn looks_personal(column: &LiveColumn) -> bool {
    column.references.as_deref() == Some("users")
        || column.name.split('_').any(|w| PERSONAL_WORDS.contains(&w))
}

/// Columns of registered tables that look personal by name and are deliberately not personal
/// data: each with the reason, so the exception is a decision too.
pub const NOT_PERSONAL: &[(&str, &str, &str)] = &[
    ("tenants", "name", "the organisation's name"),
    ("erasure_report_tables", "table_name", "the name of a table of the schema"),
    ("newsletter_campaigns", "subject_fr", "a campaign's subject line, the same for everyone"),
    ("newsletter_campaigns", "subject_en", "a campaign's subject line, the same for everyone"),
];

/// Every difference between the registry and a live schema; empty when they agree.
pub fn gaps(live: &LiveSchema) -> Vec<Gap> {
    let mut out = BTreeSet::new();
    for (name, columns) in &live.tables {
        if TOOL_TABLES.contains(&name.as_str()) {
            continue;
        }
        let Some(table) = table(name) else {
            out.insert(Gap::UnregisteredTable(name.clone()));
            continue;
        };
        for c in columns {
            let classified = table.column(&c.name).is_some()
                || NOT_PERSONAL.iter().any(|(t, n, _)| *t == name && *n == c.name);
            if !classified && looks_personal(c) {
                out.insert(Gap::UnclassifiedColumn { table: name.clone(), column: c.name.clone() });
            }
        }
        for c in table.columns {
            if !columns.iter().any(|l| l.name == c.name) {
                out.insert(Gap::Stale { table: name.clone(), column: Some(c.name.to_owned()) });
            }
        }
    }
    for t in TABLES {
        if !live.tables.contains_key(t.name) {
            out.insert(Gap::Stale { table: t.name.to_owned(), column: None });
        }
        for c in t.columns {
            if let Holds::OwnerVia { table: via } = c.holds
                && !table(via).is_some_and(Table::is_about_people)
            {
                out.insert(Gap::BrokenOwnerVia {
                    table: t.name.to_owned(),
                    column: c.name.to_owned(),
                });
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Column names with the table their foreign key points to.
    type Columns<'a> = &'a [(&'a str, Option<&'a str>)];

    fn live(tables: &[(&str, Columns<'_>)]) -> LiveSchema {
        LiveSchema {
            tables: tables
                .iter()
                .map(|(t, cols)| {
                    let cols = cols
                        .iter()
                        .map(|(c, r)| LiveColumn {
                            name: (*c).to_owned(),
                            references: r.map(str::to_owned),
                        })
                        .collect();
                    ((*t).to_owned(), cols)
                })
                .collect(),
        }
    }

    #[test]
    fn table_names_are_unique() {
        let names: BTreeSet<_> = TABLES.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), TABLES.len());
    }

    #[test]
    fn an_unregistered_table_and_column_are_named() {
        let gaps = gaps(&live(&[
            ("loyalty_points", &[("id", None), ("user_id", Some("users"))]),
            ("courses", &[("id", None), ("coach_email", None)]),
        ]));
        assert!(gaps.contains(&Gap::UnregisteredTable("loyalty_points".into())), "{gaps:?}");
        assert!(
            gaps.contains(&Gap::UnclassifiedColumn {
                table: "courses".into(),
                column: "coach_email".into()
            }),
            "{gaps:?}"
        );
    }

    #[test]
    fn a_foreign_key_to_users_needs_classifying_whatever_its_name() {
        let c = LiveColumn { name: "owner".into(), references: Some("users".into()) };
        assert!(looks_personal(&c));
        let c = LiveColumn { name: "course_id".into(), references: Some("courses".into()) };
        assert!(!looks_personal(&c));
    }

    #[test]
    fn every_erasable_table_says_whom_it_is_about() {
        for t in TABLES {
            if matches!(t.erasure, Erasure::Delete | Erasure::Anonymise | Erasure::Pseudonymise)
                || t.export
            {
                assert!(t.is_about_people(), "{} is erased or exported but has no owner", t.name);
            }
        }
    }
}
