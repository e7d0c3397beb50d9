//! The record of processing activities (GDPR art. 30), made from the code that does the
//! processing: one activity per data category, with its purposes and legal basis (written
//! here, one exhaustive match), who may read or write it (the need-to-know [`matrix`]), where it
//! is stored, its retention and what erasure does (the [`registry`]), and who receives it.
//! Because the access and retention columns are computed, the record cannot drift from what
//! the code enforces.
//!
//! `pupitre processing-record` prints it (Markdown or JSON); the privacy officer reads it
//! through GraphQL (`processingRecord`).
//!
//! [`matrix`]: super::matrix
//! [`registry`]: super::registry

use std::collections::BTreeSet;

use serde::Serialize;

use super::matrix::{self, Category, Column};
use super::registry::{self, Erasure, Holds};

/// One processing activity: what is done with one category of personal data.
#[derive(Clone, Debug, Serialize)]
pub struct Activity {
    pub category: &'static str,
    pub purposes: &'static [&'static str],
    pub legal_basis: &'static str,
    /// Every role column with its access, in the notation of `docs/ACCESS.md`.
    pub access: Vec<Access>,
    /// `table.column` where the category is stored.
    pub stored_in: Vec<String>,
    pub retention: Vec<&'static str>,
    pub on_erasure: Vec<String>,
    pub recipients: &'static [&'static str],
}

#[derive(Clone, Debug, Serialize)]
pub struct Access {
    pub role: &'static str,
    pub access: String,
}

/// Why the category is processed, and on which basis (art. 6), one exhaustive match so that a
/// new category does not compile until it has both.
fn purposes_and_basis(category: Category) -> (&'static [&'static str], &'static str) {
    match category {
        Category::Identity | Category::Contact => (
            &[
                "account management",
                "course organisation",
                "customer service",
                "marketing with consent",
            ],
            "contract (art. 6(1)(b)); consent for marketing (art. 6(1)(a))",
        ),
        Category::BirthDate => (
            &["protection of minors: guardian consent and guardianship"],
            "legal obligation (art. 6(1)(c), art. 8 GDPR)",
        ),
        Category::LearningRecord => {
            (&["delivering the training", "attendance certificates"], "contract (art. 6(1)(b))")
        }
        Category::OrderStatus | Category::Billing => (
            &["selling and invoicing courses", "accounting"],
            "contract (art. 6(1)(b)); legal obligation for invoices (art. 6(1)(c))",
        ),
        Category::FinancialSituation | Category::SupportingDocuments => (
            &["equal-opportunity discounts: assessing an application"],
            "consent of the applicant (art. 6(1)(a)), given by applying",
        ),
        Category::ReviewerNotes => (
            &["equal-opportunity discounts: the reviewer's working notes on an application"],
            "legitimate interest in a documented decision (art. 6(1)(f))",
        ),
        Category::ConsentState => {
            (&["recording and honouring consent"], "legal obligation (art. 7(1))")
        }
        Category::AccessLogAboutMe | Category::AuditLog => (
            &["accountability: who accessed which personal data"],
            "legal obligation (art. 5(2), art. 32)",
        ),
        Category::DataSubjectRequests => {
            (&["answering data-subject requests"], "legal obligation (art. 12 to 22)")
        }
        Category::MarketingAudience => (
            &["newsletter campaigns to subscribers who consented to their topic"],
            "consent (art. 6(1)(a)), confirmed by double opt-in",
        ),
        Category::Prospects => (
            &[
                "answering requests for information",
                "commercial contact with prospects who agreed to it",
            ],
            "pre-contractual steps at the person's request (art. 6(1)(b)); consent for other \
             offers (art. 6(1)(a))",
        ),
    }
}

/// Who outside the organisation receives the category.
fn recipients(category: Category) -> &'static [&'static str] {
    match category {
        Category::Billing | Category::OrderStatus => {
            &["Stripe (payment processor): amount, currency and payment ids only"]
        }
        Category::Identity
        | Category::Contact
        | Category::BirthDate
        | Category::LearningRecord
        | Category::FinancialSituation
        | Category::SupportingDocuments
        | Category::ReviewerNotes
        | Category::ConsentState
        | Category::AccessLogAboutMe
        | Category::AuditLog
        | Category::DataSubjectRequests
        | Category::MarketingAudience
        | Category::Prospects => &[],
    }
}

fn erasure(e: Erasure) -> String {
    match e {
        Erasure::Delete => "deleted".into(),
        Erasure::Anonymise => "anonymised (the row stays as a tombstone)".into(),
        Erasure::Pseudonymise => "pseudonymised (append-only ledger)".into(),
        Erasure::Keep(basis) => format!("kept, detached from the account: {}", basis.describe()),
        Erasure::NotApplicable => "not about the person".into(),
    }
}

/// The whole record, one activity per category, in the order of the matrix.
pub fn record() -> Vec<Activity> {
    Category::ALL
        .into_iter()
        .map(|category| {
            let (purposes, legal_basis) = purposes_and_basis(category);
            let mut stored_in = Vec::new();
            let mut retention = BTreeSet::new();
            let mut on_erasure = BTreeSet::new();
            for t in registry::TABLES {
                for c in t.columns {
                    if c.holds == Holds::Data(category) {
                        stored_in.push(format!("{}.{}", t.name, c.name));
                        retention.insert(t.retention.describe());
                        on_erasure.insert(format!("{}: {}", t.name, erasure(t.erasure)));
                    }
                }
            }
            Activity {
                category: category.as_str(),
                purposes,
                legal_basis,
                access: Column::ALL
                    .into_iter()
                    .map(|col| Access {
                        role: col.as_str(),
                        access: matrix::cell(category, col).render(),
                    })
                    .collect(),
                stored_in,
                retention: retention.into_iter().collect(),
                on_erasure: on_erasure.into_iter().collect(),
                recipients: recipients(category),
            }
        })
        .collect()
}

/// The record as Markdown, headed by the controller (the tenant) and its DPO contact.
pub fn to_markdown(controller: &str, dpo: &str) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "# Record of processing activities\n\nController: {controller}. Data-protection officer: {dpo}.\n\
         Processor: the Pupitre platform operator. Generated from the code (`policy::processing`).\n"
    );
    for a in record() {
        let _ = write!(
            out,
            "\n## {}\n\n- Purposes: {}\n- Legal basis: {}\n- Stored in: {}\n- Retention: {}\n- On erasure: {}\n- Recipients: {}\n- Access: {}\n",
            a.category,
            a.purposes.join("; "),
            a.legal_basis,
            if a.stored_in.is_empty() {
                "derived, not stored as such".into()
            } else {
                a.stored_in.join(", ")
            },
            if a.retention.is_empty() {
                "as the data it is derived from".into()
            } else {
                a.retention.join("; ")
            },
            if a.on_erasure.is_empty() {
                "as the data it is derived from".into()
            } else {
                a.on_erasure.join("; ")
            },
            if a.recipients.is_empty() {
                "none outside the organisation".into()
            } else {
                a.recipients.join("; ")
            },
            a.access
                .iter()
                .filter(|x| x.access != "—")
                .map(|x| format!("{} {}", x.role, x.access))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_an_activity_with_its_access_from_the_matrix() {
        let record = record();
        assert_eq!(record.len(), Category::ALL.len());
        let financial = record
            .iter()
            .find(|a| a.category == "financial_situation")
            .map(|a| a.access.clone())
            .unwrap_or_default();
        let reviewer = financial.iter().find(|a| a.role == "reviewer").map(|a| a.access.as_str());
        assert_eq!(reviewer, Some("R (decides)"));
        let marketing = financial.iter().find(|a| a.role == "marketing").map(|a| a.access.as_str());
        assert_eq!(marketing, Some("—"));
    }

    #[test]
    fn billing_is_stored_in_invoices_and_kept_under_accounting_law() {
        let md = to_markdown("École", "dpo@example.org");
        assert!(md.contains("invoices.snapshot"), "{md}");
        assert!(md.contains("Code de commerce L123-22"), "{md}");
        assert!(md.contains("Stripe (payment processor)"), "{md}");
    }
}
