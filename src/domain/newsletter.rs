//! Newsletter subscriptions, with or without an account: double opt-in, proof of consent,
//! one-click unsubscribe (RFC 8058), and the 3-year sweep.
//!
//! - [`subscribe`] answers the same whatever the address's state (new, pending, subscribed,
//!   unsubscribed, suppressed), so it reveals nothing; it is throttled per client address. A
//!   new or pending address gets a confirmation e-mail with a single-use token (stored as a
//!   SHA-256 hash, expiring after 7 days); a subscribed one gets nothing.
//! - [`confirm`] turns a pending subscription into a subscribed one and keeps the proof of
//!   consent (when, source, policy version, topics — never the client's address), in the row
//!   and in the consent ledger (`marketing_email` granted). A confirmed, fresh consent lifts the
//!   address's entry on the suppression list: nothing else ever does, so a suppressed address
//!   is never subscribed again silently (by a form without confirmation, or an import).
//! - [`unsubscribe`] (token, one click, idempotent) and [`unsubscribe_mine`] (signed in) end
//!   it, write the withdrawal to the consent ledger, put the address on the suppression list
//!   and queue the unsubscribe receipt; the next send is dropped (re-checked at send time).
//!
//! Tokens: `<subscription id>.<secret>`. The confirmation secret is an HMAC of the
//! subscription id and a nonce kept in the outbox payload (so the sender can write the link),
//! and only its SHA-256 is stored; the unsubscribe secret is an HMAC of the subscription id
//! (stateless, permanent, as a `List-Unsubscribe` link must be).
//!
//! This module must never log an address or a token.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::accounts::{self, throttle_key};
use crate::domain::consent::{self, Purpose};
use crate::domain::outbox::{MailKind, queue_mail};
use crate::domain::privacy::suppression;
use crate::domain::tenancy::scoped;
use crate::domain::types::Email;
use crate::entities::enums::SuppressionReason;
use crate::entities::newsletter_subscription::{self as ns, NewsletterStatus};
use crate::entities::{marketing_suppression, user};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, DataField, Op, Relations, SubjectFacts};

/// How long a confirmation link works.
pub const CONFIRMATION_DAYS: i64 = 7;
/// Subscriptions are kept this long after the last interaction (SPEC §5).
pub const RETENTION_DAYS: i64 = 3 * 365;
/// A pending address gets at most one confirmation e-mail per this many minutes.
const RESEND_MINUTES: i64 = 10;
/// Subscribe attempts per client address per throttling window.
const PER_CLIENT: u64 = 10;

/// Where a consent was given (kept as its proof).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Form,
    Checkout,
    AccountPage,
}

impl Source {
    pub fn key(self) -> &'static str {
        match self {
            Source::Form => "form",
            Source::Checkout => "checkout",
            Source::AccountPage => "account_page",
        }
    }
}

/// A parsed subscribe request.
pub struct Subscribe {
    pub email: Email,
    pub topics: Vec<String>,
    /// `fr` or `en`.
    pub locale: String,
    pub source: Source,
}

impl Subscribe {
    /// Parses the input; `field` prefixes the field names of errors (`input`).
    pub fn parse(
        field: &str,
        email: &str,
        topics: &[String],
        locale: &str,
        source: Source,
    ) -> AppResult<Subscribe> {
        let email = Email::parse(&format!("{field}.email"), email)?;
        let mut clean: Vec<String> = Vec::new();
        for t in topics {
            let t = parse_topic(&format!("{field}.topics"), t)?;
            if !clean.contains(&t) {
                clean.push(t);
            }
        }
        if clean.is_empty() || clean.len() > 20 {
            return Err(AppError::bad_input(format!("{field}.topics"), "give 1 to 20 topics"));
        }
        let locale = match locale.trim().to_ascii_lowercase().as_str() {
            l if l == "fr" || l.starts_with("fr-") => "fr",
            l if l == "en" || l.starts_with("en-") => "en",
            _ => {
                return Err(AppError::bad_input(format!("{field}.locale"), "must be `fr` or `en`"));
            }
        };
        Ok(Subscribe { email, topics: clean, locale: locale.to_owned(), source })
    }
}

/// A topic key: 1 to 32 lower-case letters, digits, `-` or `_` (lower-cased and trimmed);
/// `field` names it in errors.
pub fn parse_topic(field: &str, raw: &str) -> AppResult<String> {
    let t = raw.trim().to_ascii_lowercase();
    let ok = (1..=32).contains(&t.len())
        && t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(AppError::bad_input(
            field,
            "each topic is 1 to 32 lower-case letters, digits, '-' or '_'",
        ));
    }
    Ok(t)
}

fn mac(services: &Services, label: &str, message: &str) -> String {
    use hmac::{Hmac, Mac};
    match Hmac::<sha2::Sha256>::new_from_slice(&services.newsletter_secret) {
        Ok(mut m) => {
            m.update(label.as_bytes());
            m.update(b":");
            m.update(message.as_bytes());
            accounts::tokens::hex(&m.finalize().into_bytes()[..20])
        }
        Err(_) => accounts::tokens::hash_refresh_token(&format!("{label}:{message}")),
    }
}

fn sha256(s: &str) -> String {
    use sha2::Digest;
    accounts::tokens::hex(&sha2::Sha256::digest(s.as_bytes()))
}

/// The confirmation token of subscription `id` for `nonce` (the sender writes it in the link).
pub fn confirm_token(services: &Services, id: Uuid, nonce: &str) -> String {
    format!("{}.{}", id.simple(), mac(services, "confirm", &format!("{id}:{nonce}")))
}

/// The one-click unsubscribe token of subscription `id`.
pub fn unsubscribe_token(services: &Services, id: Uuid) -> String {
    format!("{}.{}", id.simple(), mac(services, "unsubscribe", &id.to_string()))
}

/// The one-click unsubscribe link (GET shows a button, POST unsubscribes).
pub fn unsubscribe_url(services: &Services, id: Uuid) -> String {
    format!(
        "{}/newsletter/unsubscribe?token={}",
        services.mail.public_url,
        unsubscribe_token(services, id)
    )
}

fn split_token(token: &str) -> Option<(Uuid, &str)> {
    let (id, secret) = token.trim().split_once('.')?;
    Some((Uuid::parse_str(id).ok()?, secret))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Subscribes `input.email` (see the module documentation). The answer is `Ok(())` for every
/// well-formed request that is not throttled.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn subscribe(
    services: &Services,
    tenant_id: Uuid,
    input: Subscribe,
    client: Option<&str>,
) -> AppResult<()> {
    if let Some(c) = client {
        let key = throttle_key(services, tenant_id, "newsletter", c);
        accounts::throttle::throttle(services, tenant_id, &[(key, PER_CLIENT)]).await?;
    }
    let now = services.clock.now();
    let email = input.email.as_str();
    let hash = suppression::email_hash(services, tenant_id, email);
    let txn = services.db.begin().await?;
    let owner = scoped::<user::Entity>(tenant_id)
        .filter(user::Column::Email.eq(email))
        .one(&txn)
        .await?
        .map(|u| u.id);
    let existing = scoped::<ns::Entity>(tenant_id)
        .filter(ns::Column::EmailHash.eq(hash.as_str()))
        .one(&txn)
        .await?;
    let topics = json!(input.topics).to_string();
    let nonce = accounts::tokens::hex(&rand::random::<[u8; 16]>());
    let expires = now + Duration::days(CONFIRMATION_DAYS);
    let queue_for = match existing {
        Some(sub) if sub.status == NewsletterStatus::Subscribed => None,
        Some(sub)
            if sub.status == NewsletterStatus::Pending
                && sub.last_interaction_at > now - Duration::minutes(RESEND_MINUTES) =>
        {
            None
        }
        Some(sub) => {
            ns::Entity::update_many()
                .col_expr(
                    ns::Column::Status,
                    Expr::value(sea_orm::ActiveEnum::to_value(&NewsletterStatus::Pending)),
                )
                .col_expr(ns::Column::Topics, Expr::value(topics.clone()))
                .col_expr(ns::Column::Locale, Expr::value(input.locale.clone()))
                .col_expr(ns::Column::ConsentSource, Expr::value(input.source.key()))
                .col_expr(
                    ns::Column::ConfirmTokenHash,
                    Expr::value(sha256(&confirm_token(services, sub.id, &nonce))),
                )
                .col_expr(ns::Column::ConfirmExpiresAt, Expr::value(expires))
                .col_expr(ns::Column::LastInteractionAt, Expr::value(now))
                .col_expr(ns::Column::UserId, Expr::value(owner.or(sub.user_id)))
                .filter(ns::Column::Id.eq(sub.id))
                .exec(&txn)
                .await?;
            Some(sub.id)
        }
        None => {
            let id = Uuid::now_v7();
            ns::Entity::insert(ns::ActiveModel {
                id: Set(id),
                tenant_id: Set(tenant_id),
                user_id: Set(owner),
                email: Set(email.to_owned()),
                email_hash: Set(hash),
                topics: Set(topics),
                locale: Set(input.locale.clone()),
                status: Set(NewsletterStatus::Pending),
                confirm_token_hash: Set(Some(sha256(&confirm_token(services, id, &nonce)))),
                confirm_expires_at: Set(Some(expires)),
                consented_at: Set(None),
                consent_source: Set(Some(input.source.key().to_owned())),
                consent_policy_version: Set(None),
                consent_topics: Set(None),
                unsubscribed_at: Set(None),
                last_interaction_at: Set(now),
                created_at: Set(now),
                soft_bounces: Set(0),
            })
            .exec_without_returning(&txn)
            .await?;
            Some(id)
        }
    };
    if let Some(id) = queue_for {
        queue_mail(
            &txn,
            tenant_id,
            owner,
            MailKind::NewsletterConfirmation,
            json!({ "subscriptionId": id, "nonce": nonce }),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What following a confirmation link did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmed {
    Now,
    Already,
}

/// The consent ledger's subject for a subscription: its account, or a visitor id of its own.
fn ledger_subject(sub: &ns::Model) -> (Option<Uuid>, Option<String>) {
    match sub.user_id {
        Some(u) => (Some(u), None),
        None => (None, Some(format!("newsletter-{}", sub.id.simple()))),
    }
}

/// Confirms the subscription of `token`; `field` names the token in errors.
#[tracing::instrument(skip_all)]
pub async fn confirm(services: &Services, token: &str, field: &str) -> AppResult<Confirmed> {
    let invalid = || AppError::bad_input(field, "this confirmation link is invalid or has expired");
    let (id, _) = split_token(token).ok_or_else(invalid)?;
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let sub = ns::Entity::find_by_id(id).one(&txn).await?.ok_or_else(invalid)?;
    if sub.status == NewsletterStatus::Subscribed {
        return Ok(Confirmed::Already);
    }
    let valid = sub.status == NewsletterStatus::Pending
        && sub.confirm_token_hash.as_deref().is_some_and(|h| same(h, &sha256(token.trim())))
        && sub.confirm_expires_at.is_some_and(|e| now < e);
    if !valid {
        return Err(invalid());
    }
    let version = accounts::current_policy(services, sub.tenant_id).await?.map(|p| p.version);
    let done = ns::Entity::update_many()
        .col_expr(
            ns::Column::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&NewsletterStatus::Subscribed)),
        )
        .col_expr(ns::Column::ConfirmTokenHash, Expr::value(Option::<String>::None))
        .col_expr(ns::Column::ConfirmExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(ns::Column::ConsentedAt, Expr::value(now))
        .col_expr(ns::Column::ConsentPolicyVersion, Expr::value(version.clone()))
        .col_expr(ns::Column::ConsentTopics, Expr::value(sub.topics.clone()))
        .col_expr(ns::Column::UnsubscribedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(ns::Column::LastInteractionAt, Expr::value(now))
        .filter(ns::Column::Id.eq(sub.id))
        .filter(ns::Column::Status.eq(NewsletterStatus::Pending))
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Ok(Confirmed::Already);
    }
    let (u, v) = ledger_subject(&sub);
    let source = format!("newsletter:{}", sub.consent_source.as_deref().unwrap_or("form"));
    consent::insert(
        &txn,
        sub.tenant_id,
        u,
        v,
        Purpose::MarketingEmail,
        true,
        now,
        &source,
        version,
        None,
    )
    .await?;
    // A fresh, confirmed consent: the address may receive the newsletter again.
    marketing_suppression::Entity::delete_many()
        .filter(marketing_suppression::Column::TenantId.eq(sub.tenant_id))
        .filter(marketing_suppression::Column::EmailHash.eq(sub.email_hash.as_str()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Confirmed::Now)
}

/// Ends `sub` (if it is not already) in `txn`: withdrawal, suppression (`reason`), and the
/// receipt when `receipt` (never after a complaint: the person asked for no more mail).
async fn end<C: ConnectionTrait>(
    conn: &C,
    services: &Services,
    sub: &ns::Model,
    source: &str,
    recorded_by: Option<Uuid>,
    reason: SuppressionReason,
    receipt: bool,
) -> AppResult<bool> {
    let now = services.clock.now();
    let done = ns::Entity::update_many()
        .col_expr(
            ns::Column::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&NewsletterStatus::Unsubscribed)),
        )
        .col_expr(ns::Column::ConfirmTokenHash, Expr::value(Option::<String>::None))
        .col_expr(ns::Column::ConfirmExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(ns::Column::UnsubscribedAt, Expr::value(now))
        .col_expr(ns::Column::LastInteractionAt, Expr::value(now))
        .filter(ns::Column::Id.eq(sub.id))
        .filter(ns::Column::Status.ne(NewsletterStatus::Unsubscribed))
        .exec(conn)
        .await?;
    if done.rows_affected == 0 {
        return Ok(false);
    }
    let was_subscribed = sub.status == NewsletterStatus::Subscribed;
    if was_subscribed {
        let (u, v) = ledger_subject(sub);
        let version = accounts::current_policy(services, sub.tenant_id).await?.map(|p| p.version);
        consent::insert(
            conn,
            sub.tenant_id,
            u,
            v,
            Purpose::MarketingEmail,
            false,
            now,
            source,
            version,
            recorded_by,
        )
        .await?;
    }
    suppression::suppress(conn, services, sub.tenant_id, &sub.email, reason, now).await?;
    if was_subscribed && receipt {
        queue_mail(
            conn,
            sub.tenant_id,
            sub.user_id,
            MailKind::NewsletterUnsubscribed,
            json!({ "subscriptionId": sub.id }),
            now,
        )
        .await?;
    }
    Ok(true)
}

/// One-click unsubscribe by token (no sign-in, no confirmation, idempotent). A valid token
/// whose subscription is gone (erased, swept) is a success too.
#[tracing::instrument(skip_all)]
pub async fn unsubscribe(services: &Services, token: &str, field: &str) -> AppResult<()> {
    let invalid = || AppError::bad_input(field, "this unsubscribe link is invalid");
    let (id, _) = split_token(token).ok_or_else(invalid)?;
    if !same(token.trim(), &unsubscribe_token(services, id)) {
        return Err(invalid());
    }
    let txn = services.db.begin().await?;
    if let Some(sub) = ns::Entity::find_by_id(id).one(&txn).await? {
        end(
            &txn,
            services,
            &sub,
            "newsletter:one_click",
            None,
            SuppressionReason::Unsubscribed,
            true,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Unsubscribes subscription `id` for a signed-in person (theirs or their ward's: consent-state
/// write on its account). Idempotent.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, subscription.id = %id))]
pub async fn unsubscribe_mine(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<()> {
    let txn = services.db.begin().await?;
    let sub = scoped::<ns::Entity>(actor.tenant_id)
        .filter(ns::Column::Id.eq(id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let allowed = sub.user_id.is_some_and(|owner| {
        policy::decide(
            actor,
            relations,
            &SubjectFacts::person(owner),
            DataField::ConsentState,
            Op::Write,
        )
        .allowed()
    });
    if !allowed {
        return Err(AppError::NotFound);
    }
    end(
        &txn,
        services,
        &sub,
        "newsletter:account_page",
        actor.user_id,
        SuppressionReason::Unsubscribed,
        true,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends the subscription of `email` after a spam complaint, in `conn`: the withdrawal goes to
/// the consent ledger (source `newsletter:complaint`), the address to the suppression list, and
/// no receipt is sent. Returns whether a subscription was ended.
pub async fn end_after_complaint<C: ConnectionTrait>(
    conn: &C,
    services: &Services,
    tenant_id: Uuid,
    email: &str,
    recorded_by: Option<Uuid>,
) -> AppResult<bool> {
    let hash = suppression::email_hash(services, tenant_id, email);
    let Some(sub) = scoped::<ns::Entity>(tenant_id)
        .filter(ns::Column::EmailHash.eq(hash.as_str()))
        .one(conn)
        .await?
    else {
        return Ok(false);
    };
    end(
        conn,
        services,
        &sub,
        "newsletter:complaint",
        recorded_by,
        SuppressionReason::Complained,
        false,
    )
    .await
}

/// Counts one soft bounce on the subscription of `email` (if any) in `conn`; returns the count.
pub async fn count_soft_bounce<C: ConnectionTrait>(
    conn: &C,
    services: &Services,
    tenant_id: Uuid,
    email: &str,
) -> AppResult<i32> {
    let hash = suppression::email_hash(services, tenant_id, email);
    ns::Entity::update_many()
        .col_expr(ns::Column::SoftBounces, Expr::col(ns::Column::SoftBounces).add(1))
        .filter(ns::Column::TenantId.eq(tenant_id))
        .filter(ns::Column::EmailHash.eq(hash.as_str()))
        .exec(conn)
        .await?;
    Ok(scoped::<ns::Entity>(tenant_id)
        .filter(ns::Column::EmailHash.eq(hash.as_str()))
        .one(conn)
        .await?
        .map_or(0, |s| s.soft_bounces))
}

/// The subscriptions of the accounts `people` (for `User.newsletterSubscriptions`).
pub async fn of_people(
    services: &Services,
    tenant_id: Uuid,
    people: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, Vec<ns::Model>>> {
    let rows = scoped::<ns::Entity>(tenant_id)
        .filter(ns::Column::UserId.is_in(people.iter().copied()))
        .order_by_asc(ns::Column::CreatedAt)
        .all(&services.db)
        .await?;
    Ok(crate::domain::batch::group(rows.into_iter().filter_map(|r| Some((r.user_id?, r))), |x| x))
}

/// Queues one newsletter issue with its own text to subscription `id` (campaigns queue theirs
/// in batches, `domain::campaigns`).
/// Whether it still may be sent is decided again when it is sent.
pub async fn queue_issue(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
    topic: &str,
    subject: &str,
    body: &str,
) -> AppResult<()> {
    queue_mail(
        &services.db,
        tenant_id,
        None,
        MailKind::NewsletterIssue,
        json!({ "subscriptionId": id, "topic": topic, "subject": subject, "body": body }),
        services.clock.now(),
    )
    .await
}

/// Deletes, in one batch of at most `limit`, subscriptions whose last interaction is older than
/// the retention period, and unconfirmed ones whose link expired. Idempotent (delete by id).
#[tracing::instrument(skip_all)]
pub async fn sweep(services: &Services, limit: u64) -> AppResult<u64> {
    let now = services.clock.now();
    let ids: Vec<Uuid> = ns::Entity::find()
        .select_only()
        .column(ns::Column::Id)
        .filter(
            Condition::any()
                .add(ns::Column::LastInteractionAt.lt(now - Duration::days(RETENTION_DAYS)))
                .add(
                    Condition::all()
                        .add(ns::Column::Status.eq(NewsletterStatus::Pending))
                        .add(ns::Column::ConfirmExpiresAt.lt(now)),
                ),
        )
        .limit(limit)
        .into_tuple()
        .all(&services.db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let res =
        ns::Entity::delete_many().filter(ns::Column::Id.is_in(ids)).exec(&services.db).await?;
    Ok(res.rows_affected)
}
