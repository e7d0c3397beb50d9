//! Equal-opportunity ("égalité des chances") applications: a learner (or their guardian)
//! declares a situation for a course, attaches supporting documents and submits; reviewers
//! decide; an approved application discounts the applicant's orders for that course.
//!
//! This is the most sensitive data Pupitre holds. Every read and write asks the policy for the
//! `financial_situation` or `supporting_documents` category of the applicant; documents are
//! sniffed by content, encrypted under their own key (see [`vault`]) before they leave memory,
//! and a deleted application takes its keys (the rows) and its blobs with it.
//!
//! One file per job: [`applications`] (what the applicant does: create, change, submit,
//! withdraw, delete), [`documents`] (upload, download, listing), [`review`] (start, approve,
//! reject), [`reads`] (one application, the lists), [`retention`] (removal, deadlines),
//! [`keys`] (key rotation) and [`vault`] (encryption and storage). The discount an approval
//! grants is priced by the shop ([`crate::domain::shop::pricing`]); this module calls it, never
//! the other way round.
//!
//! This module must never log a declared situation, a file name or document content.

pub mod applications;
pub mod documents;
pub mod keys;
pub mod reads;
pub mod retention;
pub mod review;
pub mod vault;

pub use applications::{create, delete, submit, update_situation, withdraw};
pub use documents::{add_documents, documents_of, download};
pub use keys::rotate_keys;
pub use reads::{in_review_applicants, list, visible};
pub use retention::{destroy, retention_deadline};
pub use review::{approve, reject, start_review};

use uuid::Uuid;

use super::accounts::UserRecord;
use crate::entities::eo_application;
use crate::error::{AppError, AppResult};
use crate::policy::{Column, Decision, SubjectFacts};
use vault::{DocumentStore, MasterKeys};

pub use crate::entities::enums::{ApplicationStatus, DocumentKind, IncomeBracket};

impl ApplicationStatus {
    /// Approved or rejected: the decision is final.
    pub fn decided(self) -> bool {
        matches!(self, ApplicationStatus::Approved | ApplicationStatus::Rejected)
    }
    /// Whether reviewers see an application in this status: submitted to them and not taken
    /// back (a draft is the applicant's own; a withdrawn application leaves the queue).
    pub fn in_review(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Submitted
                | ApplicationStatus::UnderReview
                | ApplicationStatus::Approved
                | ApplicationStatus::Rejected
        )
    }
    /// The statuses of [`ApplicationStatus::in_review`].
    pub fn in_review_statuses() -> Vec<ApplicationStatus> {
        <Self as sea_orm::Iterable>::iter().filter(|s| s.in_review()).collect()
    }
}

/// Upload limits and where documents go.
#[derive(Clone)]
pub struct DocumentConfig {
    pub keys: std::sync::Arc<MasterKeys>,
    pub store: DocumentStore,
    pub max_file_bytes: usize,
    pub max_files: usize,
}

/// An application with what the policy needs about its applicant.
#[derive(Clone, Debug)]
pub struct ApplicationRecord {
    pub application: eo_application::Model,
    pub applicant: UserRecord,
}

impl ApplicationRecord {
    /// The applicant as the policy's subject of this application's data.
    pub fn facts(&self) -> SubjectFacts {
        let status = self.application.status;
        SubjectFacts {
            is_applicant: status.in_review(),
            decided: status.decided(),
            ..self.applicant.facts()
        }
    }
}

/// The policy's answer as a result: `FORBIDDEN` on a denial, else the column to audit as.
fn require(decision: Decision) -> AppResult<Option<Column>> {
    match decision {
        Decision::Deny => Err(AppError::Forbidden),
        Decision::Allow { audit } => Ok(audit),
    }
}

/// What an applicant declares (its `Debug` prints nothing of it).
#[derive(Clone, Default)]
pub struct Situation {
    pub income_bracket: Option<IncomeBracket>,
    pub scholarship_holder: bool,
    pub text: Option<String>,
}

impl std::fmt::Debug for Situation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Situation(<redacted>)")
    }
}

/// One uploaded file as received (in memory: plaintext never touches the disk).
pub struct IncomingFile {
    pub name: String,
    pub content: Vec<u8>,
}

/// The review queue and the applicant's view: filters of [`list`].
#[derive(Clone, Debug, Default)]
pub struct ApplicationFilter {
    pub status: Option<ApplicationStatus>,
    pub course: Option<Uuid>,
}
