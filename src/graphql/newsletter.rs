//! The newsletter: `subscribeNewsletter` (anonymous, the same answer for every address),
//! `confirmNewsletter`, `unsubscribeNewsletter` (by the one-click token, or by id when signed
//! in), `User.newsletterSubscriptions` (consent state), and `undeliveredMail` for staff
//! (`policy::may_monitor_mail`: ids, kinds and error classes, never a recipient).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{request, services};
use super::pagination::parse_id;
use crate::domain::{mail, newsletter};
use crate::entities::enums::{MailKind, NewsletterStatus, OutboxStatus};
use crate::entities::{newsletter_subscription, outbox};
use crate::error::{AppError, IntoGql};

gql_enum!(
    /// Where a newsletter subscription was made (kept as proof of consent).
    SourceGql as "NewsletterSource" <=> SourceMirror {
        Form,
        Checkout,
        AccountPage,
    }
);

/// The domain's source, mirrored for `gql_enum!`.
#[derive(Clone, Copy)]
pub enum SourceMirror {
    Form,
    Checkout,
    AccountPage,
}

impl From<SourceMirror> for newsletter::Source {
    fn from(s: SourceMirror) -> Self {
        match s {
            SourceMirror::Form => newsletter::Source::Form,
            SourceMirror::Checkout => newsletter::Source::Checkout,
            SourceMirror::AccountPage => newsletter::Source::AccountPage,
        }
    }
}

gql_enum!(
    /// The state of a newsletter subscription.
    StatusGql as "NewsletterStatus" <=> NewsletterStatus {
        Pending,
        Subscribed,
        Unsubscribed,
    }
);

gql_enum!(
    /// The kind of an e-mail.
    MailKindGql as "MailKind" <=> MailKind {
        PaymentReceipt,
        RefundReceipt,
        DsrReceived,
        DsrExtended,
        DsrClosed,
        RestrictionLifted,
        NewsletterConfirmation,
        NewsletterUnsubscribed,
        NewsletterIssue,
    }
);

gql_enum!(
    /// Where an e-mail stands.
    MailStatusGql as "MailStatus" <=> OutboxStatus {
        Queued,
        Sending,
        Sent,
        Failed,
        Dead,
        Dropped,
    }
);

/// One newsletter subscription with its proof of consent.
pub struct SubscriptionNode(pub newsletter_subscription::Model);

#[Object(name = "NewsletterSubscription")]
impl SubscriptionNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn topics(&self) -> Vec<String> {
        serde_json::from_str(&self.0.topics).unwrap_or_default()
    }
    async fn locale(&self) -> &str {
        &self.0.locale
    }
    async fn status(&self) -> StatusGql {
        self.0.status.into()
    }
    /// When the subscription was confirmed (the proof of consent).
    async fn consented_at(&self) -> Option<DateTime<Utc>> {
        self.0.consented_at
    }
    /// Where it was made: `form`, `checkout` or `account_page`.
    async fn source(&self) -> Option<&str> {
        self.0.consent_source.as_deref()
    }
    /// The privacy-policy version in force when it was confirmed.
    async fn policy_version(&self) -> Option<&str> {
        self.0.consent_policy_version.as_deref()
    }
    async fn unsubscribed_at(&self) -> Option<DateTime<Utc>> {
        self.0.unsubscribed_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One e-mail that was not delivered (dead, or left `sending` by a crash).
pub struct MailDeliveryNode(pub outbox::Model);

#[Object(name = "MailDelivery")]
impl MailDeliveryNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> MailKindGql {
        self.0.kind.into()
    }
    async fn status(&self) -> MailStatusGql {
        self.0.status.into()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The class of the last failure (`smtp 550`, `connection`, `timeout`…), never a
    /// server's text.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn claimed_at(&self) -> Option<DateTime<Utc>> {
        self.0.claimed_at
    }
}

#[derive(InputObject)]
pub struct SubscribeNewsletterInput {
    pub email: String,
    /// Topic keys (1 to 20; lower-case letters, digits, `-`, `_`).
    pub topics: Vec<String>,
    /// `fr` or `en`: the language of the e-mails.
    pub locale: String,
    /// Where the form is (default `FORM`).
    pub source: Option<SourceGql>,
}

/// Always the same answer, whatever the address: it reveals nothing.
#[derive(SimpleObject)]
pub struct SubscribeNewsletterPayload {
    /// True: if the address is not yet subscribed, a confirmation e-mail is on its way.
    pub accepted: bool,
}

#[derive(InputObject)]
pub struct ConfirmNewsletterInput {
    /// The token of the confirmation link.
    pub token: String,
}

#[derive(SimpleObject)]
pub struct ConfirmNewsletterPayload {
    pub confirmed: bool,
}

/// Either the token of a newsletter e-mail's unsubscribe link (no sign-in), or, signed in, the
/// id of one's own (or one's ward's) subscription.
#[derive(InputObject)]
pub struct UnsubscribeNewsletterInput {
    pub token: Option<String>,
    pub subscription_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct UnsubscribeNewsletterPayload {
    pub unsubscribed: bool,
}

gql_enum!(
    /// What the mail provider reported about an address.
    MailFeedbackGql as "MailFeedback" <=> FeedbackMirror {
        /// Permanent failure: marketing to the address stops at once.
        HardBounce,
        /// Temporary failure: counted; past `PUPITRE_MAIL_SOFT_BOUNCE_LIMIT`, like a hard bounce.
        SoftBounce,
        /// Reported as spam: marketing stops at once and the subscription ends.
        Complaint,
    }
);

/// The domain's feedback, mirrored for `gql_enum!`.
#[derive(Clone, Copy)]
pub enum FeedbackMirror {
    HardBounce,
    SoftBounce,
    Complaint,
}

impl From<FeedbackMirror> for mail::feedback::Feedback {
    fn from(f: FeedbackMirror) -> Self {
        match f {
            FeedbackMirror::HardBounce => mail::feedback::Feedback::HardBounce,
            FeedbackMirror::SoftBounce => mail::feedback::Feedback::SoftBounce,
            FeedbackMirror::Complaint => mail::feedback::Feedback::Complaint,
        }
    }
}

#[derive(InputObject)]
pub struct RecordMailFeedbackInput {
    /// The address the report is about.
    pub email: String,
    pub kind: MailFeedbackGql,
}

/// The same answer whatever the address's state.
#[derive(SimpleObject)]
pub struct RecordMailFeedbackPayload {
    pub recorded: bool,
}

#[derive(Default)]
pub struct NewsletterMutation;

#[Object]
impl NewsletterMutation {
    /// Subscribes an address (double opt-in). Anonymous; throttled per client address.
    async fn subscribe_newsletter(
        &self,
        ctx: &Context<'_>,
        input: SubscribeNewsletterInput,
    ) -> async_graphql::Result<SubscribeNewsletterPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let source: SourceMirror = input.source.unwrap_or(SourceGql::Form).into();
        let parsed = newsletter::Subscribe::parse(
            "input",
            &input.email,
            &input.topics,
            &input.locale,
            source.into(),
        )
        .gql()?;
        newsletter::subscribe(s, rc.tenant.id, parsed, rc.client_key.as_deref()).await.gql()?;
        Ok(SubscribeNewsletterPayload { accepted: true })
    }

    /// Confirms a subscription with the token of its confirmation e-mail (single use, 7 days).
    async fn confirm_newsletter(
        &self,
        ctx: &Context<'_>,
        input: ConfirmNewsletterInput,
    ) -> async_graphql::Result<ConfirmNewsletterPayload> {
        let s = services(ctx).gql()?;
        newsletter::confirm(s, &input.token, "input.token").await.gql()?;
        Ok(ConfirmNewsletterPayload { confirmed: true })
    }

    /// Ends a subscription at once (idempotent): the same as the e-mails' one-click link.
    async fn unsubscribe_newsletter(
        &self,
        ctx: &Context<'_>,
        input: UnsubscribeNewsletterInput,
    ) -> async_graphql::Result<UnsubscribeNewsletterPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        match (input.token, input.subscription_id) {
            (Some(t), None) => newsletter::unsubscribe(s, &t, "input.token").await.gql()?,
            (None, Some(id)) => {
                let id = parse_id("input.subscriptionId", &id).gql()?;
                let (actor, relations) = rc.signed_in(s).await.gql()?;
                newsletter::unsubscribe_mine(s, &actor, relations, id).await.gql()?;
            }
            _ => {
                return Err(AppError::bad_input(
                    "input.token",
                    "give either token or subscriptionId",
                ))
                .gql();
            }
        }
        Ok(UnsubscribeNewsletterPayload { unsubscribed: true })
    }

    /// Records a bounce or complaint reported by the mail provider: integration accounts,
    /// admins and the privacy officer (`policy::may_record_mail_feedback`).
    async fn record_mail_feedback(
        &self,
        ctx: &Context<'_>,
        input: RecordMailFeedbackInput,
    ) -> async_graphql::Result<RecordMailFeedbackPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let email = crate::domain::types::Email::parse("input.email", &input.email).gql()?;
        let (actor, _) = rc.signed_in(s).await.gql()?;
        let kind: FeedbackMirror = input.kind.into();
        mail::feedback::record(s, &actor, &email, kind.into()).await.gql()?;
        Ok(RecordMailFeedbackPayload { recorded: true })
    }
}

#[derive(Default)]
pub struct MailQuery;

#[Object]
impl MailQuery {
    /// E-mails given up on (`DEAD`) or left `SENDING` by a crash (which may or may not have
    /// gone out), newest first: for admins and the privacy officer (`policy::may_monitor_mail`).
    async fn undelivered_mail(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<MailDeliveryNode>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let (actor, _) = rc.signed_in(s).await.gql()?;
        let rows = mail::undelivered(s, &actor).await.gql()?;
        Ok(rows.into_iter().map(MailDeliveryNode).collect())
    }
}
