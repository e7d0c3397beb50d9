//! Newsletter campaigns, for the marketing role: write one (a topic, a subject and body in
//! French and English), preview its audience count, send it.
//!
//! **Who receives it** is decided from consent, never by the sender, twice:
//! 1. when it is queued ([`send`], then [`resume`] after an interruption): one outbox message
//!    per subscription that [`is_reachable`] says may receive it — subscribed (a confirmed,
//!    not withdrawn consent), covering the campaign's topic, its address not on the suppression
//!    list (objection, erasure, unsubscribing), its account (if any) neither restricted nor
//!    erased;
//! 2. when each message is sent: `domain::mail` asks [`may_receive`] again, so a consent
//!    withdrawn, an objection or a restriction between queueing and sending drops the message.
//!
//! **Bounded memory**: the audience is read in subscription-id order, [`QUEUE_BATCH`] rows at a
//! time; each batch is queued in its own transaction together with the campaign's cursor (the
//! last id queued), moved by a guarded update, so that two instances (the mutation and the
//! job's [`resume`]) never queue the same batch twice and an interrupted send resumes where it
//! stopped. An outbox message holds ids only (subscription, campaign, topic): the text is read
//! from the campaign when the message is sent.
//!
//! Marketing reads the audience itself (address and topics) only through [`audience`], which
//! puts every subscriber through `policy::decide` (`marketing_audience`, under the consent
//! condition); counts are aggregates.
//!
//! **Audit** (SPEC §4; `marketing_audience` is an audited staff read): each audience page read
//! writes one entry (`marketing_audience.listed`: how many, which topic, never an address) and,
//! for each listed subscriber who has an account, one `personal_data.read` entry about that
//! person, so it appears in their access log; the page is returned only once they are written.
//! Creating and sending a campaign write one entry each (its id and topic: no personal data),
//! in the transaction of the change.
//!
//! This module must never log an address.

use std::collections::HashSet;

use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::newsletter;
use crate::domain::outbox::queued;
use crate::domain::privacy::suppression;
use crate::domain::tenancy::scoped;
use crate::entities::enums::{AccountStatus, CampaignStatus, MailKind};
use crate::entities::newsletter_campaign as nc;
use crate::entities::newsletter_subscription::{self as ns, NewsletterStatus};
use crate::entities::{marketing_suppression as ms, outbox, user};
use crate::error::{AppError, AppResult};
use crate::policy::{
    self, Actor, Category, DataField, Decision, Op, Relations, SubjectFacts, SubjectStatus,
};

/// Subscriptions read (and messages queued) per batch and transaction.
pub const QUEUE_BATCH: u64 = 500;
/// A `sending` campaign untouched for this long was interrupted: [`resume`] takes it over.
const STALE_MINUTES: i64 = 10;
const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 50_000;
/// Audience rows per page, at most.
pub const AUDIENCE_PAGE_MAX: u64 = 500;

/// A parsed new campaign.
pub struct NewCampaign {
    pub topic: String,
    pub subject_fr: String,
    pub body_fr: String,
    pub subject_en: String,
    pub body_en: String,
}

fn subject(field: String, raw: &str) -> AppResult<String> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > SUBJECT_MAX || s.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            field,
            format!("a subject is 1 to {SUBJECT_MAX} characters on one line"),
        ));
    }
    Ok(s.to_owned())
}

fn body(field: String, raw: &str) -> AppResult<String> {
    let s = raw.trim();
    let bad_control = s.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t');
    if s.is_empty() || s.chars().count() > BODY_MAX || bad_control {
        return Err(AppError::bad_input(
            field,
            format!("a body is 1 to {BODY_MAX} characters of text"),
        ));
    }
    Ok(s.replace("\r\n", "\n"))
}

impl NewCampaign {
    /// Parses the input; `field` prefixes the field names of errors (`input`).
    pub fn parse(
        field: &str,
        topic: &str,
        subject_fr: &str,
        body_fr: &str,
        subject_en: &str,
        body_en: &str,
    ) -> AppResult<NewCampaign> {
        Ok(NewCampaign {
            topic: newsletter::parse_topic(&format!("{field}.topic"), topic)?,
            subject_fr: subject(format!("{field}.subjectFr"), subject_fr)?,
            body_fr: body(format!("{field}.bodyFr"), body_fr)?,
            subject_en: subject(format!("{field}.subjectEn"), subject_en)?,
            body_en: body(format!("{field}.bodyEn"), body_en)?,
        })
    }
}

fn topics_of(sub: &ns::Model) -> Vec<String> {
    serde_json::from_str(&sub.topics).unwrap_or_default()
}

/// Whether `sub` may receive marketing on `topic` (any topic when `None`) *now*: the check of
/// the mail worker when a campaign message is sent.
pub async fn may_receive(
    services: &Services,
    sub: &ns::Model,
    topic: Option<&str>,
) -> AppResult<bool> {
    if sub.status != NewsletterStatus::Subscribed {
        return Ok(false);
    }
    if topic.is_some_and(|t| !topics_of(sub).iter().any(|s| s == t)) {
        return Ok(false);
    }
    if suppression::is_suppressed(services, sub.tenant_id, &sub.email).await? {
        return Ok(false);
    }
    if let Some(owner) = sub.user_id {
        let blocked = scoped::<user::Entity>(sub.tenant_id)
            .filter(user::Column::Id.eq(owner))
            .filter(user::Column::Status.ne(AccountStatus::Active))
            .one(&services.db)
            .await?
            .is_some();
        if blocked {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One batch of the audience: the subscriptions after `after` (in id order, at most `limit`
/// read) that may receive marketing on `topic`, and the last id read (`None`: nothing left).
async fn reachable_batch(
    services: &Services,
    tenant_id: Uuid,
    topic: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<(Vec<ns::Model>, Option<Uuid>)> {
    let mut q = scoped::<ns::Entity>(tenant_id)
        .filter(ns::Column::Status.eq(NewsletterStatus::Subscribed))
        .order_by_asc(ns::Column::Id)
        .limit(limit);
    if let Some(t) = topic {
        // Topics are `[a-z0-9_-]`: the pattern narrows the read, the exact check follows.
        q = q.filter(ns::Column::Topics.like(format!("%\"{t}\"%")));
    }
    if let Some(a) = after {
        q = q.filter(ns::Column::Id.gt(a));
    }
    let rows = q.all(&services.db).await?;
    let last = rows.last().map(|r| r.id);
    if rows.is_empty() {
        return Ok((Vec::new(), None));
    }
    let hashes: Vec<String> = rows.iter().map(|r| r.email_hash.clone()).collect();
    let suppressed: HashSet<String> = scoped::<ms::Entity>(tenant_id)
        .select_only()
        .column(ms::Column::EmailHash)
        .filter(ms::Column::EmailHash.is_in(hashes))
        .into_tuple()
        .all(&services.db)
        .await?
        .into_iter()
        .collect();
    let owners: Vec<Uuid> = rows.iter().filter_map(|r| r.user_id).collect();
    let blocked: HashSet<Uuid> = if owners.is_empty() {
        HashSet::new()
    } else {
        scoped::<user::Entity>(tenant_id)
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Id.is_in(owners))
            .filter(user::Column::Status.ne(AccountStatus::Active))
            .into_tuple()
            .all(&services.db)
            .await?
            .into_iter()
            .collect()
    };
    let reachable = rows
        .into_iter()
        .filter(|r| topic.is_none_or(|t| topics_of(r).iter().any(|s| s == t)))
        .filter(|r| !suppressed.contains(&r.email_hash))
        .filter(|r| !r.user_id.is_some_and(|u| blocked.contains(&u)))
        .collect();
    Ok((reachable, last))
}

/// How many subscribers a campaign on `topic` would reach now (an aggregate), counted a batch
/// at a time.
pub async fn audience_count(services: &Services, tenant_id: Uuid, topic: &str) -> AppResult<u64> {
    let (mut n, mut after) = (0u64, None);
    loop {
        let (batch, last) =
            reachable_batch(services, tenant_id, Some(topic), after, QUEUE_BATCH).await?;
        let Some(last) = last else { return Ok(n) };
        n += batch.len() as u64;
        after = Some(last);
    }
}

/// One subscriber of the audience as the viewer may see it.
pub struct AudienceMember {
    pub id: Uuid,
    pub email: Option<String>,
    pub topics: Option<Vec<String>>,
}

/// The audience (on `topic`, or all of it), `first` subscribers after `after`, each through
/// `policy::decide` (`marketing_audience`): for those who may list it ([`policy::may_list_audience`]).
/// Audited (see the module documentation): no page without its entries.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id))]
pub async fn audience(
    services: &Services,
    actor: &Actor,
    topic: Option<&str>,
    after: Option<Uuid>,
    first: u64,
) -> AppResult<Vec<AudienceMember>> {
    if !policy::may_list_audience(actor) {
        return Err(AppError::Forbidden);
    }
    let first = first.clamp(1, AUDIENCE_PAGE_MAX);
    let relations = Relations::default();
    // The column the page is read through (its purpose goes to the audit log).
    let page_facts = SubjectFacts { marketing_consent: true, ..SubjectFacts::person(Uuid::nil()) };
    let page_column = policy::granting_column(
        actor,
        &relations,
        &page_facts,
        DataField::SubscriberEmail,
        Op::Read,
    )
    .ok_or(AppError::Forbidden)?;
    let mut out = Vec::new();
    let mut read_about: Vec<AuditRecord> = Vec::new();
    let mut after = after;
    while (out.len() as u64) < first {
        let (batch, last) =
            reachable_batch(services, actor.tenant_id, topic, after, QUEUE_BATCH).await?;
        let Some(last) = last else { break };
        after = Some(last);
        for sub in batch {
            // Every listed subscriber's consent is current (that is what reachable means).
            let facts = SubjectFacts {
                marketing_consent: true,
                status: SubjectStatus::Active,
                ..SubjectFacts::person(sub.user_id.unwrap_or(sub.id))
            };
            let decide = |f| policy::decide(actor, &relations, &facts, f, Op::Read);
            let Decision::Allow { audit } = decide(DataField::SubscriberEmail) else {
                continue;
            };
            if let (Some(col), Some(person)) = (audit, sub.user_id) {
                read_about.push(AuditRecord {
                    action: "personal_data.read",
                    category: Some(Category::MarketingAudience),
                    subject_id: Some(person),
                    purpose: col.purpose(),
                    details: None,
                });
            }
            let topics = decide(DataField::SubscriberTopics).allowed().then(|| topics_of(&sub));
            out.push(AudienceMember { id: sub.id, email: Some(sub.email), topics });
            if out.len() as u64 >= first {
                break;
            }
        }
    }
    let mut entries = vec![AuditRecord {
        action: "marketing_audience.listed",
        category: Some(Category::MarketingAudience),
        subject_id: None,
        purpose: page_column.purpose(),
        details: Some(json!({ "count": out.len(), "topic": topic })),
    }];
    entries.extend(read_about);
    let txn = services.db.begin().await?;
    audit::record_all(&txn, actor, services.clock.now(), entries).await?;
    txn.commit().await?;
    Ok(out)
}

/// Writes a draft campaign.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id))]
pub async fn create(
    services: &Services,
    actor: &Actor,
    input: NewCampaign,
) -> AppResult<nc::Model> {
    if !policy::may_run_campaigns(actor) {
        return Err(AppError::Forbidden);
    }
    let model = nc::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        topic: input.topic,
        subject_fr: input.subject_fr,
        body_fr: input.body_fr,
        subject_en: input.subject_en,
        body_en: input.body_en,
        status: CampaignStatus::Draft,
        queue_cursor: None,
        queued_count: 0,
        created_by: actor.user_id,
        created_at: services.clock.now(),
        send_started_at: None,
        queued_at: None,
    };
    let txn = services.db.begin().await?;
    nc::Entity::insert(nc::ActiveModel::from(model.clone())).exec_without_returning(&txn).await?;
    audit::record(&txn, actor, model.created_at, campaign_entry("campaign.created", &model))
        .await?;
    txn.commit().await?;
    Ok(model)
}

/// The tenant's campaigns, newest first.
pub async fn list(services: &Services, actor: &Actor) -> AppResult<Vec<nc::Model>> {
    if !policy::may_run_campaigns(actor) {
        return Err(AppError::Forbidden);
    }
    Ok(scoped::<nc::Entity>(actor.tenant_id)
        .order_by_desc(nc::Column::CreatedAt)
        .limit(200)
        .all(&services.db)
        .await?)
}

/// The audit entry of a campaign's creation or sending: its id and topic, nobody's data.
fn campaign_entry(action: &'static str, campaign: &nc::Model) -> AuditRecord {
    AuditRecord {
        action,
        category: None,
        subject_id: None,
        purpose: "marketing",
        details: Some(json!({ "campaignId": campaign.id, "topic": campaign.topic })),
    }
}

async fn find(services: &Services, tenant_id: Uuid, id: Uuid) -> AppResult<nc::Model> {
    scoped::<nc::Entity>(tenant_id)
        .filter(nc::Column::Id.eq(id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Sends draft campaign `id`: one outbox message per subscriber who may receive it, queued a
/// batch at a time (see the module documentation). A campaign is sent once: `CONFLICT` after.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, campaign.id = %id))]
pub async fn send(services: &Services, actor: &Actor, id: Uuid) -> AppResult<nc::Model> {
    if !policy::may_run_campaigns(actor) {
        return Err(AppError::Forbidden);
    }
    let campaign = find(services, actor.tenant_id, id).await?;
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let started = nc::Entity::update_many()
        .col_expr(
            nc::Column::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&CampaignStatus::Sending)),
        )
        .col_expr(nc::Column::SendStartedAt, Expr::value(now))
        .filter(nc::Column::Id.eq(campaign.id))
        .filter(nc::Column::Status.eq(CampaignStatus::Draft))
        .exec(&txn)
        .await?;
    if started.rows_affected != 1 {
        return Err(AppError::Conflict("this campaign has already been sent".into()));
    }
    audit::record(&txn, actor, now, campaign_entry("campaign.sent", &campaign)).await?;
    txn.commit().await?;
    queue_all(services, &campaign).await?;
    find(services, actor.tenant_id, id).await
}

/// Queues the rest of `campaign`'s messages from its cursor; stops quietly when another
/// instance moved the cursor first.
async fn queue_all(services: &Services, campaign: &nc::Model) -> AppResult<()> {
    let mut cursor = find(services, campaign.tenant_id, campaign.id).await?.queue_cursor;
    loop {
        let (batch, last) = reachable_batch(
            services,
            campaign.tenant_id,
            Some(&campaign.topic),
            cursor,
            QUEUE_BATCH,
        )
        .await?;
        let Some(last) = last else { break };
        let now = services.clock.now();
        let txn = services.db.begin().await?;
        let mut guard = nc::Entity::update_many()
            .col_expr(nc::Column::QueueCursor, Expr::value(Some(last)))
            .col_expr(
                nc::Column::QueuedCount,
                Expr::col(nc::Column::QueuedCount).add(batch.len() as i64),
            )
            .col_expr(nc::Column::SendStartedAt, Expr::value(now))
            .filter(nc::Column::Id.eq(campaign.id))
            .filter(nc::Column::Status.eq(CampaignStatus::Sending));
        guard = match cursor {
            None => guard.filter(nc::Column::QueueCursor.is_null()),
            Some(c) => guard.filter(nc::Column::QueueCursor.eq(c)),
        };
        if guard.exec(&txn).await?.rows_affected != 1 {
            // Another instance queued this batch.
            return Ok(());
        }
        if !batch.is_empty() {
            let rows = batch.iter().map(|sub| {
                let ids = json!({
                    "subscriptionId": sub.id,
                    "campaignId": campaign.id,
                    "topic": campaign.topic,
                });
                queued(campaign.tenant_id, sub.user_id, MailKind::NewsletterIssue, &ids, now)
            });
            outbox::Entity::insert_many(rows).exec_without_returning(&txn).await?;
        }
        txn.commit().await?;
        cursor = Some(last);
    }
    nc::Entity::update_many()
        .col_expr(
            nc::Column::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&CampaignStatus::Sent)),
        )
        .col_expr(nc::Column::QueuedAt, Expr::value(services.clock.now()))
        .filter(nc::Column::Id.eq(campaign.id))
        .filter(nc::Column::Status.eq(CampaignStatus::Sending))
        .exec(&services.db)
        .await?;
    tracing::info!(campaign.id = %campaign.id, "campaign queued");
    Ok(())
}

/// Finishes queueing campaigns left `sending` by an interrupted instance (untouched for
/// [`STALE_MINUTES`]); idempotent. Returns how many it took over.
#[tracing::instrument(skip_all)]
pub async fn resume(services: &Services) -> AppResult<u64> {
    let stale = services.clock.now() - Duration::minutes(STALE_MINUTES);
    let stuck = nc::Entity::find()
        .filter(nc::Column::Status.eq(CampaignStatus::Sending))
        .filter(nc::Column::SendStartedAt.lt(stale))
        .limit(10)
        .all(&services.db)
        .await?;
    let n = stuck.len() as u64;
    for c in stuck {
        queue_all(services, &c).await?;
    }
    Ok(n)
}

/// The campaign of a newsletter message, for the mail worker.
pub async fn for_message(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<nc::Model>> {
    Ok(scoped::<nc::Entity>(tenant_id).filter(nc::Column::Id.eq(id)).one(&services.db).await?)
}
