//! What an order costs, decided on the server: the catalogue price of each session, less the
//! discount of an approved equal-opportunity application of the learner for that course, with
//! the tax included in the price. The same rules price a new order (`price`), price an unpaid
//! order again when a discount is approved meanwhile ([`apply_approved_discount`], called by the
//! approval) or when a payment arrives for another amount (`reprice`).
//!
//! The discount lookup reads `eo_application` rows through the entities; the shop never calls
//! the equal-opportunity module (that module calls this one), so the two never form a loop.
//! It reads the discount percent only, never the declared situation or the documents.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use super::{MAX_LINES, OrderRequest, OrderStatus, lines_of};
use crate::domain::Services;
use crate::domain::catalog::{self, CourseStatus};
use crate::domain::tenancy::scoped;
use crate::entities::enums::ApplicationStatus;
use crate::entities::{course, eo_application, order, order_line, session};
use crate::error::{AppError, AppResult};

/// The approved discount (percent) of `applicant` for each of `courses`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = courses.len()))]
pub async fn approved_discounts<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    applicant: Uuid,
    courses: &[Uuid],
) -> AppResult<HashMap<Uuid, i32>> {
    let rows = scoped::<eo_application::Entity>(tenant_id)
        .filter(eo_application::Column::ApplicantId.eq(applicant))
        .filter(eo_application::Column::CourseId.is_in(courses.iter().copied()))
        .filter(eo_application::Column::Status.eq(ApplicationStatus::Approved))
        .all(conn)
        .await?;
    Ok(rows.into_iter().filter_map(|a| Some((a.course_id, a.discount_percent?))).collect())
}

/// The tax included in a tax-inclusive amount at `rate_bp` basis points, rounded half up.
pub fn included_tax(amount: i64, rate_bp: i32) -> i64 {
    let rate = i64::from(rate_bp.max(0));
    let denom = 10_000 + rate;
    (amount * rate * 2 + denom) / (2 * denom)
}

/// One requested session, priced.
pub(super) struct PricedLine {
    pub(super) session: session::Model,
    pub(super) course: course::Model,
    pub(super) total: i64,
    pub(super) tax: i64,
}

/// Prices the requested sessions from the catalogue; every refusal names the offending line.
pub(super) async fn price(
    services: &Services,
    tenant_id: Uuid,
    r: &OrderRequest,
    learner: Uuid,
    now: DateTime<Utc>,
) -> AppResult<(Vec<PricedLine>, String)> {
    if r.sessions.is_empty() || r.sessions.len() > MAX_LINES {
        return Err(AppError::bad_input(
            "input.lines",
            format!("must hold 1 to {MAX_LINES} sessions"),
        ));
    }
    let sessions = catalog::sessions_by_id(services, tenant_id, &r.sessions).await?;
    let course_ids: Vec<Uuid> = sessions.values().map(|s| s.course_id).collect();
    let courses = catalog::courses_by_id(services, tenant_id, &course_ids).await?;
    // Approved equal-opportunity applications of the learner discount their course.
    let discounts = approved_discounts(&services.db, tenant_id, learner, &course_ids).await?;
    let mut lines = Vec::with_capacity(r.sessions.len());
    let mut currency: Option<String> = r.currency.as_ref().map(|c| c.to_uppercase());
    for (i, id) in r.sessions.iter().enumerate() {
        let field = format!("input.lines.{i}.sessionId");
        if r.sessions[..i].contains(id) {
            return Err(AppError::bad_input(field, "this session is already in the order"));
        }
        let s = sessions.get(id).ok_or_else(|| AppError::bad_input(&field, "no such session"))?;
        let c = courses
            .get(&s.course_id)
            .ok_or_else(|| AppError::bad_input(&field, "no such session"))?;
        if c.status != CourseStatus::Published || s.cancelled {
            return Err(AppError::bad_input(field, "this session is not on sale"));
        }
        if s.starts_at <= now {
            return Err(AppError::bad_input(field, "this session has already started"));
        }
        if c.price_cents <= 0 {
            return Err(AppError::bad_input(
                field,
                "this session is free: enroll instead of ordering",
            ));
        }
        match &currency {
            Some(cur) if *cur != c.currency => {
                let at = if r.currency.is_some() { "input.currency".to_owned() } else { field };
                return Err(AppError::bad_input(
                    at,
                    format!(
                        "currency mismatch: {} is priced in {}, not {cur}",
                        c.title_safe(),
                        c.currency
                    ),
                ));
            }
            Some(_) => {}
            None => currency = Some(c.currency.clone()),
        }
        let total = c.price_cents - discount_of(c.price_cents, discounts.get(&c.id).copied());
        lines.push(PricedLine {
            session: s.clone(),
            course: c.clone(),
            total,
            tax: included_tax(total, c.tax_rate_bp),
        });
    }
    Ok((lines, currency.unwrap_or_default()))
}

/// The discount of `percent` on `price`, rounded half up (none without a percent).
pub fn discount_of(price: i64, percent: Option<i32>) -> i64 {
    match percent {
        Some(p) => (price * i64::from(p.clamp(0, 100)) * 2 + 100) / 200,
        None => 0,
    }
}

/// A course title is catalogue data, not personal data; this just bounds it for messages.
trait TitleSafe {
    fn title_safe(&self) -> String;
}
impl TitleSafe for course::Model {
    fn title_safe(&self) -> String {
        self.title.chars().take(80).collect()
    }
}

/// Prices an order's lines again with the discounts approved for its learner now, and saves
/// lines and totals in `conn` (the caller's transaction). Returns the new total.
pub(super) async fn reprice<C: ConnectionTrait>(conn: &C, o: &order::Model) -> AppResult<i64> {
    let lines = scoped::<order_line::Entity>(o.tenant_id)
        .filter(order_line::Column::OrderId.eq(o.id))
        .all(conn)
        .await?;
    let learner = o.learner_id.or(o.buyer_id).ok_or(AppError::NotFound)?;
    let courses: Vec<Uuid> = lines.iter().map(|l| l.course_id).collect();
    let approved = approved_discounts(conn, o.tenant_id, learner, &courses).await?;
    let (mut total, mut tax_sum) = (0, 0);
    for l in &lines {
        let discount = discount_of(l.unit_price_cents, approved.get(&l.course_id).copied());
        let line_total = l.unit_price_cents - discount;
        let tax = included_tax(line_total, l.tax_rate_bp);
        total += line_total;
        tax_sum += tax;
        if discount != l.discount_cents {
            order_line::Entity::update_many()
                .col_expr(order_line::Column::DiscountCents, Expr::value(discount))
                .col_expr(order_line::Column::TotalCents, Expr::value(line_total))
                .col_expr(order_line::Column::TaxCents, Expr::value(tax))
                .filter(order_line::Column::Id.eq(l.id))
                .exec(conn)
                .await?;
        }
    }
    order::Entity::update_many()
        .col_expr(order::Column::DiscountCents, Expr::value(o.subtotal_cents - total))
        .col_expr(order::Column::TotalCents, Expr::value(total))
        .col_expr(order::Column::TaxCents, Expr::value(tax_sum))
        .filter(order::Column::Id.eq(o.id))
        .exec(conn)
        .await?;
    Ok(total)
}

/// What an order would cost with the discounts approved now (no write).
async fn repriced_total(services: &Services, o: &order::Model) -> AppResult<i64> {
    let lines = lines_of(services, o.tenant_id, &[o.id]).await?.remove(&o.id).unwrap_or_default();
    let learner = o.learner_id.or(o.buyer_id).ok_or(AppError::NotFound)?;
    let courses: Vec<Uuid> = lines.iter().map(|l| l.course_id).collect();
    let approved = approved_discounts(&services.db, o.tenant_id, learner, &courses).await?;
    Ok(lines
        .iter()
        .map(|l| {
            l.unit_price_cents
                - discount_of(l.unit_price_cents, approved.get(&l.course_id).copied())
        })
        .sum())
}

/// Applies an approved application's discount to the applicant's unpaid orders: the
/// PaymentIntent's amount is lowered at Stripe first, then the order is priced again under its
/// lock. Should the second step not happen, the payment heals it (see [`apply_payment`](super::apply_payment)); an
/// intent Stripe will not change (already being paid) keeps the order at its price.
#[tracing::instrument(skip_all, fields(tenant.id = %a.tenant_id, application.id = %a.id))]
pub async fn apply_approved_discount(
    services: &Services,
    a: &eo_application::Model,
) -> AppResult<u64> {
    let unpaid = scoped::<order::Entity>(a.tenant_id)
        .filter(order::Column::LearnerId.eq(a.applicant_id))
        .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
        .all(&services.db)
        .await?;
    let mut changed = 0;
    for o in unpaid {
        let total = repriced_total(services, &o).await?;
        if total == o.total_cents || total == 0 {
            // Nothing changes, or nothing is left to pay through Stripe: a 100 % discount
            // applies to a new order (which is free), not to one already asking for payment.
            continue;
        }
        if let Some(pi) = &o.payment_intent_id {
            let key = format!("pupitre-discount-{}-{total}", o.id);
            let lowered = match super::checkout::gateway_of(services, o.tenant_id).await {
                Ok(a) => {
                    services
                        .payments
                        .stats
                        .time(a.gateway.update_payment_intent_amount(pi, total, &key))
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = lowered {
                tracing::warn!(order.id = %o.id, error = %e, "could not lower the PaymentIntent of an unpaid order; it keeps its price");
                continue;
            }
        }
        let now = services.clock.now();
        let txn = services.db.begin().await?;
        let locked = order::Entity::update_many()
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .filter(order::Column::Id.eq(o.id))
            .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
            .exec(&txn)
            .await?;
        if locked.rows_affected == 1 {
            reprice(&txn, &o).await?;
            changed += 1;
        }
        txn.commit().await?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn included_tax_is_rounded_half_up() {
        assert_eq!(included_tax(12_000, 2000), 2000);
        assert_eq!(included_tax(100, 2000), 17); // 16.67
        assert_eq!(included_tax(10_000, 0), 0);
        assert_eq!(included_tax(10_550, 550), 550);
    }
}
