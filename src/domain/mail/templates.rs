//! The e-mail templates (`templates/mail/`, embedded at build time): for each [`MailKind`] a
//! `.txt` template with a `subject` and a `body` block, and an `.html` template extending
//! `layout.html`. French and English live side by side in each template (`fr` is true for a
//! French recipient), so a change of wording is made once per kind. HTML templates escape
//! every value (minijinja's auto-escape by extension); the text part is not escaped.
//!
//! Templates receive the values the message needs, computed by the worker from ids; they never
//! query anything themselves.

use minijinja::Environment;

use crate::entities::enums::MailKind;
use crate::error::{AppError, AppResult};

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name)))),*]
    };
}

const SOURCES: &[(&str, &str)] = embed!(
    "layout.html",
    "_request_kind.txt",
    "payment_receipt.txt",
    "payment_receipt.html",
    "refund_receipt.txt",
    "refund_receipt.html",
    "dsr_received.txt",
    "dsr_received.html",
    "dsr_extended.txt",
    "dsr_extended.html",
    "dsr_closed.txt",
    "dsr_closed.html",
    "restriction_lifted.txt",
    "restriction_lifted.html",
    "newsletter_confirmation.txt",
    "newsletter_confirmation.html",
    "newsletter_unsubscribed.txt",
    "newsletter_unsubscribed.html",
    "newsletter_issue.txt",
    "newsletter_issue.html",
);

/// A rendered message: subject, text part, HTML part.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The loaded templates.
pub struct Templates(Environment<'static>);

impl Templates {
    /// Loads every template; fails on a syntax error (tested, so never at run time).
    pub fn load() -> AppResult<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in SOURCES {
            env.add_template(name, source)
                .map_err(|e| AppError::internal("loading the e-mail templates", e))?;
        }
        Ok(Templates(env))
    }

    /// Renders `kind` with `ctx` (which carries `fr`, `org`, `dpo_email` and the kind's values).
    pub fn render(&self, kind: MailKind, ctx: &serde_json::Value) -> AppResult<Rendered> {
        let err = |e: minijinja::Error| AppError::internal("rendering an e-mail", e);
        let name = sea_orm::ActiveEnum::to_value(&kind);
        let text = self.0.get_template(&format!("{name}.txt")).map_err(err)?;
        let mut captured = text.render_captured(ctx).map_err(err)?;
        let subject = captured.with_state_mut(|s| s.render_block("subject")).map_err(err)?;
        let body = captured.with_state_mut(|s| s.render_block("body")).map_err(err)?;
        let html =
            self.0.get_template(&format!("{name}.html")).map_err(err)?.render(ctx).map_err(err)?;
        Ok(Rendered {
            // A subject is one line.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: body.trim().to_owned() + "\n",
            html,
        })
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;
    use serde_json::json;

    use super::*;

    fn ctx(fr: bool) -> serde_json::Value {
        json!({
            "fr": fr, "org": "École <Démo> & Cie", "dpo_email": "dpo@example.org",
            "total": "120,00 €", "invoice_number": "F-2026-0001",
            "refunded": "20,00 €", "credit_note_number": "A-2026-0001",
            "request_kind": "erasure", "received_on": "2026-12-01", "due_on": "2026-12-31",
            "reason": "complex", "refused": false,
            "confirm_url": "https://x.test/newsletter/confirm?token=a.b",
            "unsubscribe_url": "https://x.test/newsletter/unsubscribe?token=a.b",
            "topics": ["courses"], "topic": "courses",
            "subject": "News", "body": "First.\n\nSecond <b>.", "paragraphs": ["First.", "Second <b>."],
        })
    }

    #[test]
    fn every_kind_renders_in_french_and_english_with_escaped_html() {
        let t = Templates::load().expect("templates load");
        for kind in MailKind::iter() {
            for fr in [true, false] {
                let r = t.render(kind, &ctx(fr)).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
                assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{kind}");
                assert!(!r.text.trim().is_empty(), "{kind}");
                assert!(r.html.contains("&lt;Démo&gt;"), "{kind}: HTML escapes values");
                assert!(!r.html.contains("<Démo>"), "{kind}");
            }
        }
        let fr = t.render(MailKind::NewsletterConfirmation, &ctx(true)).expect("fr");
        assert!(fr.text.contains("confirmez"), "{}", fr.text);
        let en = t.render(MailKind::NewsletterConfirmation, &ctx(false)).expect("en");
        assert!(en.text.contains("confirm your subscription"), "{}", en.text);
    }
}
