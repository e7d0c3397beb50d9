//! The vocabularies of the enum-like columns: each is stored as the plain string of its
//! `string_value` (the columns are `VARCHAR`/`TEXT`, not database enums), so the stored data is
//! exactly what it was when these columns were `String`s.
//!
//! Each vocabulary is written here once. The domain re-exports these types under its own names
//! (`shop::OrderStatus`, `learning::EnrollmentStatus`, …) and adds their rules in its own `impl`
//! blocks; GraphQL mirrors them with `gql_enum!`. Nothing else spells a stored value.
//!
//! `Display` and `Serialize` write the stored string (for logs, audit details and JSON
//! answers); `parse` reads it (demo data). A row whose column holds a value missing here fails to load: add the variant
//! (and keep the old one) before any code writes a new value.
//!
//! What stays a `String`, and why: `audit_log.action`, `.category` and `.purpose` are the
//! policy's vocabularies (`policy` does not depend on the entities); `consent_records.source`
//! is the client's own label; `users.locale` is a language tag; currencies are ISO codes;
//! `payment_events.event_type` is Stripe's open list of event types.
//!
//! One job, one file (about 400 lines without its tests): every stored vocabulary, written once,
//! so that a grep for a stored value finds it here and nowhere else.

use sea_orm::entity::prelude::*;

/// Writes the stored string for `Display` and `Serialize`, and reads it back with `parse`.
macro_rules! stored_string {
    ($($ty:ident),* $(,)?) => {$(
        impl $ty {
            /// The variant stored as `s`, if any.
            pub fn parse(s: &str) -> Option<Self> {
                <Self as sea_orm::Iterable>::iter().find(|v| sea_orm::ActiveEnum::to_value(v) == s)
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&sea_orm::ActiveEnum::to_value(self))
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&sea_orm::ActiveEnum::to_value(self))
            }
        }
    )*};
}

stored_string!(
    AccountStatus,
    Civility,
    StoredRole,
    RevokedReason,
    Purpose,
    Level,
    Format,
    CourseStatus,
    EnrollmentStatus,
    OrderStatus,
    RefundStatus,
    InvoiceSeries,
    MailKind,
    OutboxStatus,
    NewsletterStatus,
    CampaignStatus,
    ContactRequestStatus,
    PaymentEventOutcome,
    ApplicationStatus,
    IncomeBracket,
    DocumentKind,
    RequestKind,
    RequestStatus,
    RequestChannel,
    StepStatus,
    DirectiveOutcome,
    ErasureOutcome,
    SuppressionReason,
    RetentionOrigin,
);

// ---- accounts ------------------------------------------------------------------------------

/// `users.status`: the account's state as a data subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AccountStatus {
    #[sea_orm(string_value = "active")]
    Active,
    /// Right to restriction: kept, but staff other than the privacy officer may not process it.
    #[sea_orm(string_value = "restricted")]
    Restricted,
    #[sea_orm(string_value = "erased")]
    Erased,
}

/// `users.civility`: the form of address, as printed on invoices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Civility {
    #[sea_orm(string_value = "mr")]
    Mr,
    #[sea_orm(string_value = "ms")]
    Ms,
    #[sea_orm(string_value = "mx")]
    Mx,
}

/// `user_roles.role`, as stored. The roles themselves are the policy's
/// ([`crate::policy::Role`], which does not depend on the entities); the accounts domain
/// converts between the two with exhaustive matches, and a test checks that the names agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum StoredRole {
    #[sea_orm(string_value = "learner")]
    Learner,
    #[sea_orm(string_value = "guardian")]
    Guardian,
    #[sea_orm(string_value = "instructor")]
    Instructor,
    #[sea_orm(string_value = "support")]
    Support,
    #[sea_orm(string_value = "billing")]
    Billing,
    #[sea_orm(string_value = "reviewer")]
    Reviewer,
    #[sea_orm(string_value = "marketing")]
    Marketing,
    #[sea_orm(string_value = "privacy_officer")]
    PrivacyOfficer,
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "integration")]
    Integration,
}

/// `auth_sessions.revoked_reason`: why a sign-in session was closed early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RevokedReason {
    /// The holder logged out (this session or everywhere).
    #[sea_orm(string_value = "logout")]
    Logout,
    /// A refresh token was presented twice: the whole token family is revoked.
    #[sea_orm(string_value = "refresh token reuse")]
    RefreshTokenReuse,
    /// The password changed: every other session ends.
    #[sea_orm(string_value = "password changed")]
    PasswordChanged,
    /// A role was revoked: its holder signs in again with what is left.
    #[sea_orm(string_value = "role revoked")]
    RoleRevoked,
    /// The account is being erased (GDPR art. 17): every session ends.
    #[sea_orm(string_value = "account erased")]
    AccountErased,
    /// The privacy officer recorded the holder's death.
    #[sea_orm(string_value = "deceased")]
    Deceased,
}

/// `consent_records.purpose`: what a consent is given for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Purpose {
    #[sea_orm(string_value = "marketing_email")]
    MarketingEmail,
    #[sea_orm(string_value = "marketing_phone")]
    MarketingPhone,
    #[sea_orm(string_value = "analytics_cookies")]
    AnalyticsCookies,
    #[sea_orm(string_value = "advertising_cookies")]
    AdvertisingCookies,
    #[sea_orm(string_value = "class_recording")]
    ClassRecording,
}

// ---- catalogue and learning ----------------------------------------------------------------

/// `courses.level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Level {
    #[sea_orm(string_value = "beginner")]
    Beginner,
    #[sea_orm(string_value = "intermediate")]
    Intermediate,
    #[sea_orm(string_value = "advanced")]
    Advanced,
}

/// `courses.format`: how a course is taught.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Format {
    #[sea_orm(string_value = "online")]
    Online,
    #[sea_orm(string_value = "in_person")]
    InPerson,
    #[sea_orm(string_value = "virtual_class")]
    VirtualClass,
}

/// `courses.status`: catalogue visibility; only published courses are shown to visitors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CourseStatus {
    #[sea_orm(string_value = "draft")]
    Draft,
    #[sea_orm(string_value = "published")]
    Published,
    #[sea_orm(string_value = "archived")]
    Archived,
}

/// `enrollments.status`. The partial unique index `ux_enrollments_live` (one live enrollment
/// per learner and session) names `cancelled` in its `WHERE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EnrollmentStatus {
    /// A seat held for an order that is not paid yet.
    #[sea_orm(string_value = "pending_payment")]
    PendingPayment,
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

// ---- shop and payments ---------------------------------------------------------------------

/// `orders.status` (SPEC §3), plus `payment_failed`: the last attempt was declined, the seats
/// are still held and the buyer may try again until the hold expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum OrderStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "awaiting_payment")]
    AwaitingPayment,
    #[sea_orm(string_value = "payment_failed")]
    PaymentFailed,
    #[sea_orm(string_value = "paid")]
    Paid,
    #[sea_orm(string_value = "partially_refunded")]
    PartiallyRefunded,
    #[sea_orm(string_value = "refunded")]
    Refunded,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// `refunds.status`: `Pending` while Stripe is (or must again be) asked, then `Succeeded` or
/// `Failed` (refused by Stripe).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RefundStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
}

/// `invoices.series` and `invoice_counters.series`: each series is numbered without gaps, and
/// its code prefixes the number (`F-000001`, `AV-000001`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum InvoiceSeries {
    /// Invoices proper.
    #[sea_orm(string_value = "F")]
    Invoice,
    /// Credit notes (factures d'avoir).
    #[sea_orm(string_value = "AV")]
    CreditNote,
}

/// `outbox.kind`: which message a queued e-mail is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum MailKind {
    #[sea_orm(string_value = "payment_receipt")]
    PaymentReceipt,
    #[sea_orm(string_value = "refund_receipt")]
    RefundReceipt,
    /// A data-subject request was received (with its due date).
    #[sea_orm(string_value = "dsr_received")]
    DsrReceived,
    /// A data-subject request's deadline was extended (with the reason).
    #[sea_orm(string_value = "dsr_extended")]
    DsrExtended,
    /// A data-subject request was carried out or refused.
    #[sea_orm(string_value = "dsr_closed")]
    DsrClosed,
    /// The privacy officer lifted a restriction of processing.
    #[sea_orm(string_value = "restriction_lifted")]
    RestrictionLifted,
    /// Double opt-in: the link that confirms a newsletter subscription.
    #[sea_orm(string_value = "newsletter_confirmation")]
    NewsletterConfirmation,
    /// A newsletter subscription ended (unsubscribe receipt).
    #[sea_orm(string_value = "newsletter_unsubscribed")]
    NewsletterUnsubscribed,
    /// A newsletter issue to one subscriber (carries the RFC 8058 one-click unsubscribe).
    #[sea_orm(string_value = "newsletter_issue")]
    NewsletterIssue,
}

impl MailKind {
    /// Marketing mail: sent only while the subscription is current and the address not
    /// suppressed (checked again when the message is sent), with `List-Unsubscribe`.
    pub fn is_marketing(self) -> bool {
        matches!(self, MailKind::NewsletterIssue)
    }
}

/// `outbox.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum OutboxStatus {
    /// Waiting for its first attempt.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Claimed by a worker, which is sending it now. A row left here by a crash is never sent
    /// again (at most once); staff see it with the dead messages.
    #[sea_orm(string_value = "sending")]
    Sending,
    #[sea_orm(string_value = "sent")]
    Sent,
    /// The last attempt failed; retried at `next_attempt_at` (exponential backoff).
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Given up after the last allowed attempt (or refused permanently by the server).
    #[sea_orm(string_value = "dead")]
    Dead,
    /// Not sent, on purpose: the subscription ended or the address was suppressed (or the
    /// recipient erased) between queueing and sending.
    #[sea_orm(string_value = "dropped")]
    Dropped,
}

/// `newsletter_subscriptions.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum NewsletterStatus {
    /// Waiting for the confirmation link to be followed (double opt-in).
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "subscribed")]
    Subscribed,
    #[sea_orm(string_value = "unsubscribed")]
    Unsubscribed,
}

/// `contact_requests.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ContactRequestStatus {
    /// Received, not answered yet.
    #[sea_orm(string_value = "open")]
    Open,
    /// Staff recorded an exchange with the person.
    #[sea_orm(string_value = "answered")]
    Answered,
}

/// `newsletter_campaigns.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CampaignStatus {
    /// Written, not sent: its audience count is a preview.
    #[sea_orm(string_value = "draft")]
    Draft,
    /// Its messages are being queued, a batch at a time.
    #[sea_orm(string_value = "sending")]
    Sending,
    /// Every message is queued (each is still checked again when it is sent).
    #[sea_orm(string_value = "sent")]
    Sent,
}

/// `payment_events.outcome`: what processing a Stripe event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PaymentEventOutcome {
    /// Written with the event id, replaced in the same transaction.
    #[sea_orm(string_value = "processing")]
    Processing,
    /// The order moved.
    #[sea_orm(string_value = "applied")]
    Applied,
    /// The order had already moved past what the event says.
    #[sea_orm(string_value = "stale")]
    Stale,
    /// The intent does not match its order (amount, currency or metadata).
    #[sea_orm(string_value = "mismatch")]
    Mismatch,
    /// Paid after the hold expired and the seats were given away: refunded.
    #[sea_orm(string_value = "seats_gone")]
    SeatsGone,
    /// Stripe does not know the PaymentIntent the event names.
    #[sea_orm(string_value = "unknown_intent")]
    UnknownIntent,
    /// No order of ours carries this PaymentIntent.
    #[sea_orm(string_value = "unknown_order")]
    UnknownOrder,
    /// Nothing to do for this event.
    #[sea_orm(string_value = "ignored")]
    Ignored,
}

// ---- equal opportunity ---------------------------------------------------------------------

/// `eo_applications.status`. The partial unique index of open applications (one per applicant
/// and course) names the open statuses in its `WHERE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ApplicationStatus {
    #[sea_orm(string_value = "draft")]
    Draft,
    #[sea_orm(string_value = "submitted")]
    Submitted,
    #[sea_orm(string_value = "under_review")]
    UnderReview,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "withdrawn")]
    Withdrawn,
}

/// `eo_applications.income_bracket`: the household's yearly taxable income.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum IncomeBracket {
    #[sea_orm(string_value = "below_10k")]
    Below10k,
    #[sea_orm(string_value = "10k_20k")]
    From10kTo20k,
    #[sea_orm(string_value = "20k_30k")]
    From20kTo30k,
    #[sea_orm(string_value = "above_30k")]
    Above30k,
}

/// `eo_documents.kind`: what a supporting document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DocumentKind {
    #[sea_orm(string_value = "tax_notice")]
    TaxNotice,
    #[sea_orm(string_value = "scholarship_notice")]
    ScholarshipNotice,
    #[sea_orm(string_value = "identity_document")]
    IdentityDocument,
    #[sea_orm(string_value = "other")]
    Other,
}

// ---- retention -----------------------------------------------------------------------------

/// `retention_runs.origin`: what started a (real) retention sweep. Dry runs are not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RetentionOrigin {
    /// `pupitre retention run`.
    #[sea_orm(string_value = "command")]
    Command,
    /// The scheduled background job.
    #[sea_orm(string_value = "job")]
    Job,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_json_write_the_stored_string_and_unknown_values_are_refused() {
        assert_eq!(InvoiceSeries::CreditNote.to_string(), "AV");
        assert_eq!(
            serde_json::to_value(PaymentEventOutcome::SeatsGone).ok(),
            Some(serde_json::json!("seats_gone"))
        );
        assert_eq!(
            RevokedReason::try_from_value(&"refresh token reuse".to_owned()).ok(),
            Some(RevokedReason::RefreshTokenReuse)
        );
        assert!(OrderStatus::try_from_value(&"unknown".to_owned()).is_err());
    }
}

// ---- privacy: data-subject requests -----------------------------------------------------

/// What a data subject asks for (GDPR art. 15 to 22, and French law's post-mortem directives).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RequestKind {
    /// Art. 15: a copy of the data.
    #[sea_orm(string_value = "access")]
    Access,
    /// Art. 20: the data in a machine-readable format.
    #[sea_orm(string_value = "portability")]
    Portability,
    /// Art. 16.
    #[sea_orm(string_value = "rectification")]
    Rectification,
    /// Art. 17.
    #[sea_orm(string_value = "erasure")]
    Erasure,
    /// Art. 18: the data is kept but not processed.
    #[sea_orm(string_value = "restriction")]
    Restriction,
    /// Art. 21: to marketing and prospection.
    #[sea_orm(string_value = "objection")]
    Objection,
    /// Art. 7(3), per purpose.
    #[sea_orm(string_value = "consent_withdrawal")]
    ConsentWithdrawal,
    /// Loi Informatique et Libertés, art. 85.
    #[sea_orm(string_value = "post_mortem_directive")]
    PostMortemDirective,
}

/// Where a request stands: received → in progress → done or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RequestStatus {
    #[sea_orm(string_value = "received")]
    Received,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "done")]
    Done,
    #[sea_orm(string_value = "refused")]
    Refused,
}

/// How a request reached the organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RequestChannel {
    /// Through the API, after re-authentication.
    #[sea_orm(string_value = "api")]
    Api,
    /// A letter, registered by the privacy officer.
    #[sea_orm(string_value = "post")]
    Post,
    /// An e-mail, registered by the privacy officer.
    #[sea_orm(string_value = "email")]
    Email,
}

/// Where one step of carrying out a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum StepStatus {
    /// Waiting for its turn (the steps before it) and its `next_attempt_at`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a worker until `next_attempt_at` (a lease: a worker that died leaves it to be
    /// claimed again once it has passed).
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "done")]
    Done,
    /// Failed `attempts` times; tried again at `next_attempt_at`.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Planned before its code existed (the export and erasure, before they landed); kept so
    /// that such rows are read and carried out like pending steps.
    #[sea_orm(string_value = "awaiting_implementation")]
    AwaitingImplementation,
}

/// What should become of the data after the person's death.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DirectiveOutcome {
    /// Erase everything not under a legal obligation.
    #[sea_orm(string_value = "delete")]
    Delete,
    /// Keep it as it is (until its own retention ends).
    #[sea_orm(string_value = "keep")]
    Keep,
    /// Hand a copy to a trusted person, then erase.
    #[sea_orm(string_value = "hand_over")]
    HandOver,
}

// ---- privacy: erasure -----------------------------------------------------------------------

/// What an erasure did to one table's rows about the person (the registry's `Erasure`, as it
/// turned out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ErasureOutcome {
    /// Deleted (with their blobs and keys, for documents).
    #[sea_orm(string_value = "erased")]
    Erased,
    /// Kept as tombstones with every personal column cleared.
    #[sea_orm(string_value = "anonymised")]
    Anonymised,
    /// Append-only entries whose reference to the person now names a pseudonym.
    #[sea_orm(string_value = "pseudonymised")]
    Pseudonymised,
    /// Kept under a legal obligation until a date, detached from the account; the rows about
    /// the person that no obligation covers were deleted.
    #[sea_orm(string_value = "kept")]
    Kept,
    /// The table holds nothing about the person.
    #[sea_orm(string_value = "nothing_held")]
    NothingHeld,
}

/// Why an address is on the marketing suppression list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SuppressionReason {
    /// The person objected to marketing (GDPR art. 21(2) and (3)).
    #[sea_orm(string_value = "objection")]
    Objection,
    /// The person's account was erased (art. 17): the address must not come back through an
    /// import or an audience.
    #[sea_orm(string_value = "erasure")]
    Erasure,
    /// The person unsubscribed from the newsletter: a later form or import must not
    /// subscribe the address again without a new, confirmed consent.
    #[sea_orm(string_value = "unsubscribed")]
    Unsubscribed,
    /// The address bounced permanently (or softly, past the configured limit).
    #[sea_orm(string_value = "bounced")]
    Bounced,
    /// The recipient reported a message as spam.
    #[sea_orm(string_value = "complained")]
    Complained,
}
