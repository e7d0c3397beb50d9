//! Composing one outbox message: who it goes to (looked up now, from the ids of the payload),
//! in which language, with which values, and the MIME message itself (text and HTML parts,
//! the invoice attached to a receipt, `List-Unsubscribe` on newsletter mail).
//!
//! `None` means there is nobody to send it to any more: an erased or e-mail-less account, a
//! subscription that is gone, ended or whose address is suppressed (marketing is checked again
//! here, at send time, not only when it was queued).

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::tenancy::scoped;
use crate::domain::{Services, campaigns, newsletter, shop};
use crate::entities::enums::{AccountStatus, MailKind, NewsletterStatus};
use crate::entities::{data_subject_request, invoice, newsletter_subscription, order, user};
use crate::error::{AppError, AppResult};

/// Who a message goes to.
pub struct Recipient {
    pub email: String,
    pub french: bool,
}

/// A message ready for the transport.
pub struct Composed {
    pub message: Message,
}

fn id_of(payload: &Value, key: &str) -> AppResult<Uuid> {
    payload[key]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| AppError::internal("composing an e-mail", format!("payload lacks {key}")))
}

fn french(locale: &str) -> bool {
    locale.to_ascii_lowercase().starts_with("fr")
}

fn date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The recipient, values and attachments of `row`, then the message; `None`: drop it.
pub async fn compose(
    services: &Services,
    row: &crate::entities::outbox::Model,
) -> AppResult<Option<Composed>> {
    let payload: Value = serde_json::from_str(&row.payload)
        .map_err(|e| AppError::internal("reading an outbox payload", e))?;
    let Some(tenant) = services.tenants.by_id(row.tenant_id).await? else { return Ok(None) };
    let mut unsubscribe: Option<String> = None;
    let mut attachment: Option<(String, Vec<u8>)> = None;
    let (to, mut ctx) = match row.kind {
        MailKind::NewsletterConfirmation
        | MailKind::NewsletterUnsubscribed
        | MailKind::NewsletterIssue => {
            let sub_id = id_of(&payload, "subscriptionId")?;
            let Some(sub) = scoped::<newsletter_subscription::Entity>(row.tenant_id)
                .filter(newsletter_subscription::Column::Id.eq(sub_id))
                .one(&services.db)
                .await?
            else {
                return Ok(None);
            };
            let current = match row.kind {
                MailKind::NewsletterConfirmation => sub.status == NewsletterStatus::Pending,
                // Consent for the topic, the suppression list and the account's status, now.
                MailKind::NewsletterIssue => {
                    campaigns::may_receive(services, &sub, payload["topic"].as_str()).await?
                }
                _ => true,
            };
            if !current {
                return Ok(None);
            }
            let topics: Vec<String> = serde_json::from_str(&sub.topics).unwrap_or_default();
            let mut ctx = json!({ "topics": topics });
            match row.kind {
                MailKind::NewsletterConfirmation => {
                    let nonce = payload["nonce"].as_str().unwrap_or_default();
                    let token = newsletter::confirm_token(services, sub.id, nonce);
                    ctx["confirm_url"] = json!(format!(
                        "{}/newsletter/confirm?token={token}",
                        services.mail.public_url
                    ));
                }
                MailKind::NewsletterIssue => {
                    let url = newsletter::unsubscribe_url(services, sub.id);
                    ctx["unsubscribe_url"] = json!(url);
                    // A campaign's text is read from the campaign, in the subscriber's language.
                    let (subject, body) = match payload["campaignId"].as_str() {
                        Some(_) => {
                            let id = id_of(&payload, "campaignId")?;
                            let Some(c) =
                                campaigns::for_message(services, row.tenant_id, id).await?
                            else {
                                return Ok(None);
                            };
                            if french(&sub.locale) {
                                (c.subject_fr, c.body_fr)
                            } else {
                                (c.subject_en, c.body_en)
                            }
                        }
                        None => (
                            payload["subject"].as_str().unwrap_or_default().to_owned(),
                            payload["body"].as_str().unwrap_or_default().to_owned(),
                        ),
                    };
                    ctx["subject"] = json!(subject);
                    ctx["body"] = json!(body);
                    let paragraphs: Vec<&str> =
                        body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect();
                    ctx["paragraphs"] = json!(paragraphs);
                    ctx["topic"] = payload["topic"].clone();
                    unsubscribe = Some(url);
                }
                _ => {}
            }
            (Recipient { email: sub.email, french: french(&sub.locale) }, ctx)
        }
        _ => {
            let Some(user_id) = row.recipient_id else { return Ok(None) };
            let Some(u) = scoped::<user::Entity>(row.tenant_id)
                .filter(user::Column::Id.eq(user_id))
                .one(&services.db)
                .await?
            else {
                return Ok(None);
            };
            let Some(email) = u.email.filter(|_| u.status != AccountStatus::Erased) else {
                return Ok(None);
            };
            let to = Recipient { email, french: french(&u.locale) };
            let ctx = match row.kind {
                MailKind::PaymentReceipt | MailKind::RefundReceipt => {
                    let key = if row.kind == MailKind::PaymentReceipt {
                        "invoiceId"
                    } else {
                        "creditNoteId"
                    };
                    let inv = scoped::<invoice::Entity>(row.tenant_id)
                        .filter(invoice::Column::Id.eq(id_of(&payload, key)?))
                        .one(&services.db)
                        .await?
                        .ok_or_else(|| {
                            AppError::internal("composing a receipt", "invoice missing")
                        })?;
                    let ord = scoped::<order::Entity>(row.tenant_id)
                        .filter(order::Column::Id.eq(inv.order_id))
                        .one(&services.db)
                        .await?;
                    let amount = shop::invoice::money(inv.total_cents.abs(), &inv.currency);
                    attachment = Some((
                        format!("{}.pdf", inv.number),
                        shop::invoice::render_pdf(&inv, &tenant.name)?,
                    ));
                    json!({
                        "total": ord.map(|o| shop::invoice::money(o.total_cents, &o.currency)).unwrap_or_else(|| amount.clone()),
                        "invoice_number": inv.number,
                        "refunded": amount,
                        "credit_note_number": inv.number,
                    })
                }
                MailKind::DsrReceived | MailKind::DsrExtended | MailKind::DsrClosed => {
                    let Some(req) = scoped::<data_subject_request::Entity>(row.tenant_id)
                        .filter(data_subject_request::Column::Id.eq(id_of(&payload, "requestId")?))
                        .one(&services.db)
                        .await?
                    else {
                        return Ok(None);
                    };
                    json!({
                        "request_kind": payload["kind"].as_str().unwrap_or_default(),
                        "received_on": date(req.received_at),
                        "due_on": date(req.extended_until.unwrap_or(req.due_at)),
                        "reason": req.extension_reason,
                        "refused": payload["status"] == "refused",
                    })
                }
                _ => json!({}),
            };
            (to, ctx)
        }
    };
    ctx["fr"] = json!(to.french);
    ctx["org"] = json!(tenant.name);
    ctx["dpo_email"] = json!(tenant.dpo_email);
    let rendered = services.mail.templates.render(row.kind, &ctx)?;
    let from: Mailbox = services
        .mail
        .settings
        .from
        .parse()
        .map_err(|e| AppError::internal("reading PUPITRE_MAIL_FROM", e))?;
    let Ok(to_box) = to.email.parse::<Mailbox>() else {
        // An address the server once accepted but that is not deliverable as written.
        return Err(AppError::internal(
            "composing an e-mail",
            "the recipient address does not parse",
        ));
    };
    let mut builder = Message::builder()
        .from(from)
        .to(to_box)
        .subject(rendered.subject)
        .message_id(Some(format!("<{}@pupitre>", row.id)));
    if let Some(url) = unsubscribe {
        // RFC 2369 and RFC 8058: an https link that takes a one-click POST, and a mailto.
        let mailto =
            format!("mailto:{}?subject=unsubscribe", services.mail.settings.unsubscribe_mailto);
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>, <{mailto}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let body = MultiPart::alternative_plain_html(rendered.text, rendered.html);
    let message = match attachment {
        Some((name, pdf)) => {
            let pdf_type = ContentType::parse("application/pdf")
                .map_err(|e| AppError::internal("composing an e-mail", e))?;
            builder.multipart(
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Attachment::new(name).body(pdf, pdf_type)),
            )
        }
        None => builder.multipart(body),
    }
    .map_err(|e| AppError::internal("composing an e-mail", e))?;
    Ok(Some(Composed { message }))
}
