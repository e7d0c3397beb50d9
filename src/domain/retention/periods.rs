//! Retention periods an organisation chooses: read from and written to the tenant's `settings`
//! JSON, validated against the legal bounds of `policy::retention`, each change audited.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::entities::tenant;
use crate::error::{AppError, AppResult};
use crate::policy::retention::{self as rules, Effective, RuleId};
use crate::policy::{self, Actor, Column};

/// The tenant's settings JSON, read from the database (not the directory's cached copy).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn tenant_settings(services: &Services, tenant_id: Uuid) -> AppResult<serde_json::Value> {
    Ok(tenant::Entity::find_by_id(tenant_id)
        .one(&services.db)
        .await?
        .map(|t| t.settings)
        .unwrap_or_else(|| json!({})))
}

/// Sets the organisation's period for `rule` (privacy officer: [`policy::may_manage_retention`]).
/// `BAD_USER_INPUT` on `input.days` outside the rule's bounds, the message naming the bound
/// and its reason ([`rules::PeriodError`]); nothing is written then. Audited with the previous
/// and new periods.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    retention.rule = rule.as_str(),
))]
pub async fn set_period(
    services: &Services,
    actor: &Actor,
    rule: RuleId,
    days: i64,
) -> AppResult<Effective> {
    if !policy::may_manage_retention(actor) {
        return Err(AppError::Forbidden);
    }
    rules::validate(rule, days).map_err(|e| AppError::bad_input("input.days", e.to_string()))?;
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    // Two officers changing two rules at once must not lose one change: the row is locked on
    // PostgreSQL; SQLite serialises writers (a stale read fails the commit instead).
    let mut q = tenant::Entity::find_by_id(actor.tenant_id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    let row = q.one(&txn).await?.ok_or(AppError::NotFound)?;
    let previous = rules::effective(&row.settings, rule).days;
    let settings = rules::with_override(&row.settings, rule, days);
    tenant::Entity::update_many()
        .col_expr(tenant::Column::Settings, Expr::value(settings.clone()))
        .filter(tenant::Column::Id.eq(actor.tenant_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        now,
        AuditRecord {
            action: "retention.period_set",
            category: None,
            subject_id: None,
            purpose: Column::PrivacyOfficer.purpose(),
            details: Some(json!({ "rule": rule.as_str(), "days": days, "previousDays": previous })),
        },
    )
    .await?;
    txn.commit().await?;
    // The directory caches the recording period.
    services.tenants.invalidate().await;
    Ok(rules::effective(&settings, rule))
}
