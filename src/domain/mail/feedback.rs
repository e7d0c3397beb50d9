//! Bounces and complaints reported by the mail provider (or by staff reading its reports):
//! a hard bounce or a spam complaint stops marketing to the address at once, through the
//! suppression list (which outlives the subscription as a keyed hash); soft bounces are
//! counted on the subscription and suppress it past `PUPITRE_MAIL_SOFT_BOUNCE_LIMIT`. A
//! complaint also ends the subscription (a withdrawal in the consent ledger, no receipt).
//!
//! Every newsletter message is checked against the list again when it is sent
//! (`campaigns::may_receive`), so messages already queued for the address are dropped.
//! Transactional mail (receipts, answers to data-subject requests) is not marketing and is not
//! stopped by the list.
//!
//! This module must never log an address.

use sea_orm::TransactionTrait;

use crate::domain::Services;
use crate::domain::newsletter;
use crate::domain::privacy::suppression;
use crate::domain::types::Email;
use crate::entities::enums::SuppressionReason;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor};

/// What the provider reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feedback {
    HardBounce,
    SoftBounce,
    Complaint,
}

/// Records `feedback` for `email`; returns whether the address is now suppressed.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, mail.feedback = ?feedback))]
pub async fn record(
    services: &Services,
    actor: &Actor,
    email: &Email,
    feedback: Feedback,
) -> AppResult<bool> {
    if !policy::may_record_mail_feedback(actor) {
        return Err(AppError::Forbidden);
    }
    let tenant = actor.tenant_id;
    let now = services.clock.now();
    let email = email.as_str();
    let txn = services.db.begin().await?;
    let suppressed = match feedback {
        Feedback::HardBounce => {
            suppression::suppress(&txn, services, tenant, email, SuppressionReason::Bounced, now)
                .await?;
            true
        }
        Feedback::Complaint => {
            suppression::suppress(
                &txn,
                services,
                tenant,
                email,
                SuppressionReason::Complained,
                now,
            )
            .await?;
            newsletter::end_after_complaint(&txn, services, tenant, email, actor.user_id).await?;
            true
        }
        Feedback::SoftBounce => {
            let n = newsletter::count_soft_bounce(&txn, services, tenant, email).await?;
            if n >= services.mail.settings.soft_bounce_limit {
                suppression::suppress(
                    &txn,
                    services,
                    tenant,
                    email,
                    SuppressionReason::Bounced,
                    now,
                )
                .await?;
                true
            } else {
                false
            }
        }
    };
    txn.commit().await?;
    Ok(suppressed)
}
