//! Equal-opportunity API: applications with their declared situation and documents, the
//! reviewers' queue and decisions. Uploads follow the GraphQL multipart request spec.
//!
//! Lists show one's own (and wards') applications, or the queue to reviewers and the privacy
//! officer. Every field but the id is the applicant's `financial_situation` data (status,
//! course, situation, decision) or `supporting_documents` data (documents), each guarded: billing,
//! support, instructors, marketing, admins and other learners who hold an id get `FORBIDDEN`.
//! The reviewer's note is for reviewers (and the privacy officer) only.
//!
//! One file per job: `nodes` (the `Application` and `SupportingDocument` types and their
//! guards), `queries` (the list or queue and one application by id) and `mutations` (the
//! applicant's and the reviewers' mutations, with their inputs and payloads). The roots merge
//! [`EqualOpportunityQuery`] and [`EqualOpportunityMutation`] as before; the fields of each
//! keep their order, so the SDL does not move.

mod mutations;
mod nodes;
mod queries;

use crate::domain::equal_opportunity::{ApplicationStatus, DocumentKind, IncomeBracket};

pub use mutations::EqualOpportunityMutation;
pub use queries::EqualOpportunityQuery;

gql_enum!(ApplicationStatusGql as "ApplicationStatus" <=> ApplicationStatus { Draft, Submitted, UnderReview, Approved, Rejected, Withdrawn });
gql_enum!(
    /// Yearly taxable income of the household, in euros.
    IncomeBracketGql as "IncomeBracket" <=> IncomeBracket {
        #[graphql(name = "BELOW_10K")]
        Below10k,
        #[graphql(name = "FROM_10K_TO_20K")]
        From10kTo20k,
        #[graphql(name = "FROM_20K_TO_30K")]
        From20kTo30k,
        #[graphql(name = "ABOVE_30K")]
        Above30k,
    }
);
gql_enum!(DocumentKindGql as "DocumentKind" <=> DocumentKind { TaxNotice, ScholarshipNotice, IdentityDocument, Other });
