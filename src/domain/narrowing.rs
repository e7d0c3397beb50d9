//! The privacy officer's narrowing of the need-to-know matrix for their organisation (see
//! [`policy::narrowing`](crate::policy::narrowing)): which cells are removed, and the table as
//! it applies, in the notation of `docs/ACCESS.md`. A change is audited and applies to every
//! request of this instance at once, and of other instances within the tenant directory's
//! refresh ([`TenantDirectory::TTL`](super::tenancy::TenantDirectory::TTL)).

use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

use super::Services;
use super::audit::{self, AuditRecord};
use crate::entities::tenant;
use crate::error::{AppError, AppResult};
use crate::policy::matrix::{self, Category, Column};
use crate::policy::narrowing::NotNarrowable;
use crate::policy::{self, Actor, Narrowing};

/// One cell as the default table has it and as it applies here.
pub struct EffectiveCell {
    pub column: Column,
    pub default: String,
    pub effective: String,
}

/// The tenant's table, one row per category.
pub fn table(narrowing: &Narrowing) -> Vec<(Category, Vec<EffectiveCell>)> {
    Category::ALL
        .into_iter()
        .map(|category| {
            let cells = Column::ALL
                .into_iter()
                .map(|column| {
                    let default = matrix::cell(category, column).render();
                    let effective = if narrowing.removes(category, column) {
                        "—".to_owned()
                    } else {
                        default.clone()
                    };
                    EffectiveCell { column, default, effective }
                })
                .collect();
            (category, cells)
        })
        .collect()
}

/// The actor's tenant's narrowing (the privacy officer).
pub fn current(actor: &Actor) -> AppResult<&Narrowing> {
    if !policy::may_narrow_access(actor) {
        return Err(AppError::Forbidden);
    }
    Ok(&actor.narrowing)
}

/// Replaces the actor's tenant's narrowing with `removed` (pairs of ACCESS.md names: category,
/// column); the privacy officer only. Each pair must name a cell that grants something in the
/// default table, in a column that may be narrowed; the first that does not is named
/// (`input.removed[i]`) and nothing changes.
pub async fn set(
    services: &Services,
    actor: &Actor,
    removed: &[(String, String)],
) -> AppResult<Narrowing> {
    if !policy::may_narrow_access(actor) {
        return Err(AppError::Forbidden);
    }
    let mut cells = Vec::with_capacity(removed.len());
    for (i, (category, column)) in removed.iter().enumerate() {
        let field = format!("input.removed[{i}]");
        let c = Category::parse(category)
            .ok_or_else(|| AppError::bad_input(&field, format!("unknown category `{category}`")))?;
        let col = Column::parse(column)
            .ok_or_else(|| AppError::bad_input(&field, format!("unknown column `{column}`")))?;
        Narrowing::check(c, col).map_err(|why| {
            AppError::bad_input(
                &field,
                match why {
                    NotNarrowable::ProtectedColumn => {
                        "self, guardian and privacy_officer cannot be narrowed".to_owned()
                    }
                    NotNarrowable::NothingGranted => {
                        format!("the default table grants {column} nothing on {category}")
                    }
                },
            )
        })?;
        cells.push((c, col));
    }
    let narrowing = Narrowing::new(cells);
    let stored = narrowing.to_json();
    let now = services.clock.now();
    let a = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let t = super::tenancy::lock_row(txn, a.tenant_id).await?;
                let mut settings = t.settings.as_object().cloned().unwrap_or_default();
                settings.insert("narrowed".into(), stored.clone());
                let mut m: tenant::ActiveModel = t.into();
                m.settings = Set(serde_json::Value::Object(settings));
                tenant::Entity::update(m).exec(txn).await?;
                audit::record(
                    txn,
                    &a,
                    now,
                    AuditRecord {
                        action: "access.narrowed",
                        category: None,
                        subject_id: None,
                        purpose: "need-to-know access (GDPR art. 5(1)(c), 25)",
                        details: Some(serde_json::json!({ "removed": stored })),
                    },
                )
                .await
            })
        })
        .await?;
    services.tenants.invalidate().await;
    Ok(narrowing)
}
