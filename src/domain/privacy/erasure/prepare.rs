//! What an erasure does before the tables, each part idempotent (a resumed erasure runs them
//! again and they find nothing left to do), each counted in the report:
//!
//! 1. the account is closed: its password is cleared (log-in becomes impossible at once, not
//!    only once the account row is anonymised at the end) and every session is revoked;
//! 2. unpaid orders are ended through the shop's own path (`shop::settle_or_cancel`: Stripe is
//!    asked, the intent cancelled, the seats freed; a payment Stripe had taken is applied, and
//!    the order becomes an accounting record kept like the others); when Stripe cannot be
//!    asked, the step fails and is retried;
//! 3. the encrypted blobs of the person's supporting documents are deleted from the document
//!    store (before their rows, which hold the keys: a failure leaves the rows to try again);
//! 4. every consent given is withdrawn in the ledger (before the ledger is pseudonymised);
//! 5. the address goes on the marketing suppression list, as a keyed hash.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;

use super::plan::{Person, about};
use super::report::{self, Effect};
use super::rules;
use super::scan::row_id;
use super::sql::Sql;
use crate::domain::Services;
use crate::domain::accounts::{self, SessionScope};
use crate::domain::audit::{self, AuditRecord};
use crate::domain::consent::{self, Purpose};
use crate::domain::privacy::suppression;
use crate::domain::shop::{self, OrderStatus, Settled};
use crate::domain::tenancy::scoped;
use crate::entities::enums::{RevokedReason, SuppressionReason};
use crate::entities::{consent_record, erasure_report, order, user};
use crate::error::{AppError, AppResult};
use crate::policy::registry;
use crate::policy::{Actor, Category, Column};

/// Closes the account: no password, no open session.
pub(super) async fn close_account(
    services: &Services,
    p: &Person<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let txn = services.db.begin().await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(Option::<String>::None))
        .filter(user::Column::TenantId.eq(p.tenant_id))
        .filter(user::Column::Id.eq(p.id))
        .exec(&txn)
        .await?;
    accounts::revoke_sessions(
        &txn,
        p.tenant_id,
        SessionScope::AllOf { user_id: p.id, except: None },
        now,
        RevokedReason::AccountErased,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends the person's unpaid orders (as buyer or as learner) through the shop.
pub(super) async fn end_unpaid_orders(
    services: &Services,
    p: &Person<'_>,
    rep: &erasure_report::Model,
) -> AppResult<()> {
    let unpaid = scoped::<order::Entity>(p.tenant_id)
        .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
        .filter(
            sea_orm::Condition::any()
                .add(order::Column::BuyerId.eq(p.id))
                .add(order::Column::LearnerId.eq(p.id)),
        )
        .order_by_asc(order::Column::CreatedAt)
        .all(&services.db)
        .await?;
    let mut cancelled = 0;
    for o in unpaid {
        match shop::settle_or_cancel(services, &o).await? {
            Settled::Cancelled => cancelled += 1,
            // Cancelled meanwhile, by the webhook of the intent this erasure cancelled, or not.
            Settled::Unchanged => {
                let now_cancelled = scoped::<order::Entity>(p.tenant_id)
                    .filter(order::Column::Id.eq(o.id))
                    .filter(order::Column::Status.eq(OrderStatus::Cancelled))
                    .one(&services.db)
                    .await?
                    .is_some();
                if now_cancelled {
                    cancelled += 1;
                }
            }
            Settled::Paid => {}
            Settled::Deferred => {
                report::add_effect(&services.db, rep, Effect::OrdersCancelled, cancelled).await?;
                return Err(AppError::Conflict(
                    "an unpaid order could not be ended (the payment provider did not answer)"
                        .into(),
                ));
            }
        }
    }
    report::add_effect(&services.db, rep, Effect::OrdersCancelled, cancelled).await
}

/// Deletes the objects outside the database that the person's rows point to (document blobs).
pub(super) async fn delete_blobs(
    services: &Services,
    p: &Person<'_>,
    rep: &erasure_report::Model,
) -> AppResult<()> {
    let mut deleted = 0;
    for (table, column) in rules::BLOB_COLUMNS {
        let Some(t) = registry::table(table) else { continue };
        let mut q = Sql::new(services.db.get_database_backend());
        q.push("SELECT ").col(table, column).push(" AS k FROM ").ident(table).push(" WHERE ");
        about(&mut q, t, p)?;
        let keys: Vec<String> = services
            .db
            .query_all_raw(q.statement())
            .await?
            .iter()
            .filter_map(|r| row_id(r, "k"))
            .collect();
        for k in keys {
            services.documents.store.delete(&k).await.map_err(|e| {
                AppError::internal("erasing", format!("deleting a document blob: {e}"))
            })?;
            deleted += 1;
        }
    }
    report::add_effect(&services.db, rep, Effect::DocumentsDeleted, deleted).await
}

/// Withdraws every consent the person has given (the latest event of its purpose is a grant).
pub(super) async fn withdraw_consents(
    services: &Services,
    actor: &Actor,
    p: &Person<'_>,
    rep: &erasure_report::Model,
    request: uuid::Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let txn = services.db.begin().await?;
    let rows = scoped::<consent_record::Entity>(p.tenant_id)
        .filter(consent_record::Column::SubjectUserId.eq(p.id))
        .order_by_asc(consent_record::Column::RecordedAt)
        .order_by_asc(consent_record::Column::Id)
        .all(&txn)
        .await?;
    let given: Vec<Purpose> = <Purpose as sea_orm::Iterable>::iter()
        .filter(|purpose| {
            rows.iter().rev().find(|r| r.purpose == *purpose).is_some_and(|r| r.granted)
        })
        .collect();
    for purpose in &given {
        consent::insert(
            &txn,
            p.tenant_id,
            Some(p.id),
            None,
            *purpose,
            false,
            now,
            "erasure",
            None,
            actor.user_id,
        )
        .await?;
    }
    if !given.is_empty() {
        let names: Vec<String> = given.iter().map(ToString::to_string).collect();
        audit::record(
            &txn,
            actor,
            now,
            AuditRecord {
                action: "consent.withdrawn",
                category: Some(Category::ConsentState),
                subject_id: Some(p.id),
                purpose: Column::PrivacyOfficer.purpose(),
                details: Some(json!({ "requestId": request, "purposes": names })),
            },
        )
        .await?;
        report::add_effect(&txn, rep, Effect::ConsentsWithdrawn, given.len() as u64).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Puts the person's address on the suppression list (as a keyed hash).
pub(super) async fn suppress<C: ConnectionTrait>(
    conn: &C,
    services: &Services,
    p: &Person<'_>,
    rep: &erasure_report::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if suppression::suppress_person(
        conn,
        services,
        p.tenant_id,
        p.id,
        SuppressionReason::Erasure,
        now,
    )
    .await?
    {
        report::mark_suppressed(conn, rep).await?;
    }
    Ok(())
}
