//! Invoices and credit notes: gap-free numbers per tenant and series, an immutable snapshot of
//! what was sold to whom, and the PDF rendered from that snapshot (never from live data, so a
//! later change of name or address cannot alter an issued invoice).
//!
//! Numbering: `invoice_counters (tenant, series)` is advanced by an UPDATE in the caller's
//! transaction. The row lock (PostgreSQL) or the write lock (SQLite) makes concurrent payments
//! take turns, and a transaction that rolls back takes its number back with it: no gaps.
//!
//! One job, one file (about 430 lines without its tests): an invoice is numbered, snapshotted and
//! rendered from that snapshot, and the three must change together; the PDF writer is the part
//! to move out first if this grows.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use super::stored_address;
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::batch::group;
use crate::domain::tenancy::scoped;
use crate::entities::{invoice, invoice_counter, order, order_line, refund};
use crate::error::{AppError, AppResult};
use crate::policy::{
    self, Actor, Category, DataField, Decision, Op, Relations, SubjectFacts, SubjectStatus,
};

pub use crate::entities::enums::InvoiceSeries;

/// Takes the next number of `series` for `tenant_id` inside the caller's transaction.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, invoice.series = %series))]
pub async fn next_number<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    series: InvoiceSeries,
) -> AppResult<i64> {
    invoice_counter::Entity::insert(invoice_counter::ActiveModel {
        tenant_id: sea_orm::ActiveValue::Set(tenant_id),
        series: sea_orm::ActiveValue::Set(series),
        last_number: sea_orm::ActiveValue::Set(0),
    })
    .on_conflict(
        OnConflict::columns([invoice_counter::Column::TenantId, invoice_counter::Column::Series])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    let res = invoice_counter::Entity::update_many()
        .col_expr(
            invoice_counter::Column::LastNumber,
            Expr::col(invoice_counter::Column::LastNumber).add(1),
        )
        .filter(invoice_counter::Column::TenantId.eq(tenant_id))
        .filter(invoice_counter::Column::Series.eq(series))
        .exec(conn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::internal("numbering an invoice", "invoice counter row missing"));
    }
    let row = invoice_counter::Entity::find_by_id((tenant_id, series))
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal("numbering an invoice", "invoice counter row missing"))?;
    Ok(row.last_number)
}

fn format_number(series: InvoiceSeries, seq: i64) -> String {
    format!("{series}-{seq:06}")
}

fn address_value(raw: &str) -> Value {
    stored_address(raw).map_or(Value::Null, |a| super::address_value(&a))
}

/// Issues the invoice of a paid order (one per order: a second call returns the first).
#[tracing::instrument(skip_all, fields(tenant.id = %o.tenant_id, order.id = %o.id))]
pub async fn issue_invoice<C: ConnectionTrait>(
    conn: &C,
    o: &order::Model,
    lines: &[order_line::Model],
    now: DateTime<Utc>,
) -> AppResult<invoice::Model> {
    if let Some(existing) = scoped::<invoice::Entity>(o.tenant_id)
        .filter(invoice::Column::OrderId.eq(o.id))
        .filter(invoice::Column::Series.eq(InvoiceSeries::Invoice))
        .one(conn)
        .await?
    {
        return Ok(existing);
    }
    let seq = next_number(conn, o.tenant_id, InvoiceSeries::Invoice).await?;
    let number = format_number(InvoiceSeries::Invoice, seq);
    let snapshot = json!({
        "kind": "invoice",
        "number": number,
        "issuedAt": now,
        "orderId": o.id,
        "buyer": { "name": o.billing_name, "address": address_value(&o.billing_address) },
        "currency": o.currency,
        "lines": lines.iter().map(|l| json!({
            "description": l.description,
            "quantity": 1,
            "unitPriceCents": l.unit_price_cents,
            "discountCents": l.discount_cents,
            "taxRateBp": l.tax_rate_bp,
            "taxCents": l.tax_cents,
            "totalCents": l.total_cents,
        })).collect::<Vec<_>>(),
        "subtotalCents": o.subtotal_cents,
        "discountCents": o.discount_cents,
        "taxCents": o.tax_cents,
        "totalCents": o.total_cents,
    });
    let model = invoice::Model {
        id: Uuid::now_v7(),
        tenant_id: o.tenant_id,
        order_id: o.id,
        buyer_id: o.buyer_id,
        series: InvoiceSeries::Invoice,
        seq,
        number,
        refund_id: None,
        credits_invoice_id: None,
        currency: o.currency.clone(),
        total_cents: o.total_cents,
        tax_cents: o.tax_cents,
        snapshot: snapshot.to_string(),
        issued_at: now,
    };
    invoice::Entity::insert(invoice::ActiveModel::from(model.clone()))
        .exec_without_returning(conn)
        .await?;
    Ok(model)
}

/// Issues the credit note of a refund of `o`, crediting part of its invoice (tax in proportion).
#[tracing::instrument(skip_all, fields(
    tenant.id = %o.tenant_id,
    order.id = %o.id,
    refund.id = %r.id,
))]
pub async fn issue_credit_note<C: ConnectionTrait>(
    conn: &C,
    o: &order::Model,
    r: &refund::Model,
    now: DateTime<Utc>,
) -> AppResult<invoice::Model> {
    let original = scoped::<invoice::Entity>(o.tenant_id)
        .filter(invoice::Column::OrderId.eq(o.id))
        .filter(invoice::Column::Series.eq(InvoiceSeries::Invoice))
        .one(conn)
        .await?
        .ok_or_else(|| {
            AppError::internal("issuing a credit note", "the refunded order has no invoice")
        })?;
    let seq = next_number(conn, o.tenant_id, InvoiceSeries::CreditNote).await?;
    let number = format_number(InvoiceSeries::CreditNote, seq);
    // Tax in proportion, except on the note that completes the refund, which takes what is left,
    // so that the credit notes' tax adds up to the invoice's exactly.
    let credited_tax: i64 = scoped::<invoice::Entity>(o.tenant_id)
        .filter(invoice::Column::CreditsInvoiceId.eq(original.id))
        .all(conn)
        .await?
        .iter()
        .map(|n| -n.tax_cents)
        .sum();
    let completes = o.refunded_cents >= o.total_cents;
    let tax = if completes {
        original.tax_cents - credited_tax
    } else if original.total_cents == 0 {
        0
    } else {
        (r.amount_cents * original.tax_cents * 2 + original.total_cents)
            / (2 * original.total_cents)
    };
    let full = r.amount_cents == original.total_cents;
    let snapshot = json!({
        "kind": "credit_note",
        "number": number,
        "issuedAt": now,
        "orderId": o.id,
        "credits": original.number,
        "buyer": { "name": o.billing_name, "address": address_value(&o.billing_address) },
        "currency": o.currency,
        "lines": [{
            "description": if full { format!("Remboursement de la facture {}", original.number) }
                           else { format!("Remboursement partiel de la facture {}", original.number) },
            "quantity": 1,
            "unitPriceCents": -r.amount_cents,
            "discountCents": 0,
            "taxRateBp": Value::Null,
            "taxCents": -tax,
            "totalCents": -r.amount_cents,
        }],
        "subtotalCents": -r.amount_cents,
        "discountCents": 0,
        "taxCents": -tax,
        "totalCents": -r.amount_cents,
    });
    let model = invoice::Model {
        id: Uuid::now_v7(),
        tenant_id: o.tenant_id,
        order_id: o.id,
        buyer_id: o.buyer_id,
        series: InvoiceSeries::CreditNote,
        seq,
        number,
        refund_id: Some(r.id),
        credits_invoice_id: Some(original.id),
        currency: o.currency.clone(),
        total_cents: -r.amount_cents,
        tax_cents: -tax,
        snapshot: snapshot.to_string(),
        issued_at: now,
    };
    invoice::Entity::insert(invoice::ActiveModel::from(model.clone()))
        .exec_without_returning(conn)
        .await?;
    Ok(model)
}

/// One invoice or credit note of the tenant by id, whoever asks (callers decide who may see it).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, invoice.id = %id))]
pub async fn invoice_by_id(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<invoice::Model>> {
    Ok(scoped::<invoice::Entity>(tenant_id)
        .filter(invoice::Column::Id.eq(id))
        .one(&services.db)
        .await?)
}

/// An invoice's PDF and number, for its buyer (or their guardian) and billing staff; `NOT_FOUND`
/// for anyone else. Staff downloads are written to the audit log before the bytes are returned
/// (fail closed).
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    invoice.id = %id,
))]
pub async fn download(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<(Vec<u8>, String)> {
    let inv = invoice_by_id(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    let facts = match inv.buyer_id {
        Some(b) => accounts::find_record(services, actor.tenant_id, b)
            .await?
            .map(|r| r.facts())
            .unwrap_or(SubjectFacts { status: SubjectStatus::Erased, ..SubjectFacts::person(b) }),
        // Detached from an erased account and kept under accounting law: the organisation's
        // record, not a person's; billing and the privacy officer still open it.
        None => SubjectFacts::tenant_wide(),
    };
    match policy::decide(actor, relations, &facts, DataField::Invoices, Op::Read) {
        // Like an order one may not see: as if it did not exist.
        Decision::Deny => return Err(AppError::NotFound),
        Decision::Allow { audit: None } => {}
        Decision::Allow { audit: Some(column) } => {
            audit::record(
                &services.db,
                actor,
                services.clock.now(),
                AuditRecord {
                    action: "invoice.downloaded",
                    category: Some(Category::Billing),
                    subject_id: inv.buyer_id,
                    purpose: column.purpose(),
                    details: Some(json!({ "invoiceId": inv.id, "number": inv.number })),
                },
            )
            .await?;
        }
    }
    let seller =
        services.tenants.by_id(actor.tenant_id).await?.map(|t| t.name.clone()).unwrap_or_default();
    Ok((render_pdf(&inv, &seller)?, inv.number))
}

/// Invoices and credit notes of several orders, oldest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn invoices_of(
    services: &Services,
    tenant_id: Uuid,
    orders: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, Vec<invoice::Model>>> {
    let rows = scoped::<invoice::Entity>(tenant_id)
        .filter(invoice::Column::OrderId.is_in(orders.iter().copied()))
        .order_by_asc(invoice::Column::IssuedAt)
        .order_by_asc(invoice::Column::Id)
        .all(&services.db)
        .await?;
    Ok(group(rows, |r| (r.order_id, r)))
}

/// Every number of one series, ascending (for gap checks and exports).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, invoice.series = %series))]
pub async fn numbers(
    services: &Services,
    tenant_id: Uuid,
    series: InvoiceSeries,
) -> AppResult<Vec<i64>> {
    Ok(scoped::<invoice::Entity>(tenant_id)
        .filter(invoice::Column::Series.eq(series))
        .order_by_asc(invoice::Column::Seq)
        .all(&services.db)
        .await?
        .into_iter()
        .map(|i| i.seq)
        .collect())
}

/// Formats minor units as `1 234,56 EUR`.
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped},{:02} {currency}", abs % 100)
}

/// Encodes text for a standard PDF font with WinAnsiEncoding; characters outside it become `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '€' => 0x80,
            '’' => 0x92,
            '—' => 0x97,
            '–' => 0x96,
            c if (c as u32) < 0x7f && (c as u32) >= 0x20 => c as u8,
            c if (0xa0..=0xff).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// Renders an invoice or credit note as a one-page A4 PDF from its snapshot. `seller` is the
/// tenant's name.
pub fn render_pdf(inv: &invoice::Model, seller: &str) -> AppResult<Vec<u8>> {
    use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
    let snap: Value = serde_json::from_str(&inv.snapshot)
        .map_err(|e| AppError::internal("reading an invoice snapshot", e))?;
    let credit = inv.series == InvoiceSeries::CreditNote;
    let cur = inv.currency.as_str();
    let mut rows: Vec<(f32, f32, String)> = Vec::new(); // (size, x, text) per line, top to bottom
    rows.push((
        18.0,
        50.0,
        if credit { format!("Avoir {}", inv.number) } else { format!("Facture {}", inv.number) },
    ));
    rows.push((10.0, 50.0, format!("Date d'émission : {}", inv.issued_at.format("%d/%m/%Y"))));
    if let Some(c) = snap["credits"].as_str() {
        rows.push((10.0, 50.0, format!("Avoir sur la facture {c}")));
    }
    rows.push((10.0, 50.0, format!("Commande : {}", inv.order_id)));
    rows.push((10.0, 50.0, String::new()));
    rows.push((11.0, 50.0, format!("Vendeur : {seller}")));
    rows.push((11.0, 50.0, format!("Client : {}", snap["buyer"]["name"].as_str().unwrap_or(""))));
    if let Some(a) = super::stored_address_value(&snap["buyer"]["address"]) {
        rows.push((10.0, 50.0, a.line1));
        if let Some(l2) = a.line2 {
            rows.push((10.0, 50.0, l2));
        }
        rows.push((10.0, 50.0, format!("{} {} {}", a.postal_code, a.city, a.country)));
    }
    rows.push((10.0, 50.0, String::new()));
    for l in snap["lines"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let rate = l["taxRateBp"]
            .as_i64()
            .map(|bp| format!(" (TVA {},{:02} %)", bp / 100, bp % 100))
            .unwrap_or_default();
        rows.push((10.0, 50.0, format!("{}{rate}", l["description"].as_str().unwrap_or(""))));
        rows.push((
            10.0,
            70.0,
            format!(
                "Prix : {}   Remise : {}   dont TVA : {}   Total TTC : {}",
                money(l["unitPriceCents"].as_i64().unwrap_or(0), cur),
                money(l["discountCents"].as_i64().unwrap_or(0), cur),
                money(l["taxCents"].as_i64().unwrap_or(0), cur),
                money(l["totalCents"].as_i64().unwrap_or(0), cur),
            ),
        ));
    }
    rows.push((10.0, 50.0, String::new()));
    rows.push((
        11.0,
        300.0,
        format!("Sous-total : {}", money(snap["subtotalCents"].as_i64().unwrap_or(0), cur)),
    ));
    rows.push((
        11.0,
        300.0,
        format!("Remise : {}", money(snap["discountCents"].as_i64().unwrap_or(0), cur)),
    ));
    rows.push((11.0, 300.0, format!("dont TVA : {}", money(inv.tax_cents, cur))));
    rows.push((13.0, 300.0, format!("Total TTC : {}", money(inv.total_cents, cur))));

    let (catalog, pages, page, font, content_id) =
        (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 595.0, 842.0)).parent(pages).contents(content_id);
    p.resources().fonts().pair(Name(b"F1"), font);
    drop(p);
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let mut content = Content::new();
    let mut y = 790.0;
    for (size, x, text) in rows.iter().take(60) {
        content
            .begin_text()
            .set_font(Name(b"F1"), *size)
            .next_line(*x, y)
            .show(Str(&win_ansi(text)))
            .end_text();
        y -= size + 6.0;
    }
    pdf.stream(content_id, &content.finish());
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_the_french_way() {
        assert_eq!(money(123_456, "EUR"), "1 234,56 EUR");
        assert_eq!(money(-5, "EUR"), "-0,05 EUR");
        assert_eq!(money(100_000_000, "EUR"), "1 000 000,00 EUR");
    }

    #[test]
    fn pdf_text_uses_win_ansi() {
        assert_eq!(win_ansi("é€x"), vec![0xe9, 0x80, b'x']);
        assert_eq!(win_ansi("日"), vec![b'?']);
    }
}
