//! Data-subject requests API: a person (or their guardian) makes a request after typing their
//! password again; the privacy officer registers letters and e-mails, works through the queue
//! (oldest due first, overdue flagged), starts, extends, completes or refuses requests, and
//! lifts restrictions.
//!
//! Every field of a request but its id is `data_subject_requests` data of its subject, guarded:
//! its status and dates (`status`) for the subject, their guardian, support and the privacy
//! officer; everything else (`details`: kind, text, identity check, outcome, steps, directive)
//! for the subject, their guardian and the privacy officer only. Anyone else signed in who
//! holds a request's id gets `FORBIDDEN` on each field.
//!
//! Completing an access or portability request builds its export (`export`, with a
//! short-lived `downloadLink`); an erasure carries its report (`erasureReport`).
//!
//! One file per job: `nodes` (the `DataSubjectRequest`, its steps and directive, and their
//! batch loaders), `queries` (the privacy officer's queue and one request by id), `inputs` (the
//! inputs and their parsing into a domain request) and `mutations` (making, registering and
//! handling requests, and their payloads). The roots merge [`PrivacyQuery`] and
//! [`PrivacyMutation`] as before; the fields of each keep their order, so the SDL does not
//! move.

mod inputs;
mod mutations;
mod nodes;
mod queries;

use crate::domain::privacy::requests::{
    DirectiveOutcome, RequestChannel, RequestKind, RequestStatus, StepStatus,
};

pub use mutations::{DataSubjectRequestPayload, PrivacyMutation};
pub use nodes::{DataSubjectRequestNode, requests_of};
pub use queries::PrivacyQuery;

gql_enum!(RequestKindGql as "DataSubjectRequestKind" <=> RequestKind { Access, Portability, Rectification, Erasure, Restriction, Objection, ConsentWithdrawal, PostMortemDirective });
gql_enum!(RequestStatusGql as "DataSubjectRequestStatus" <=> RequestStatus { Received, InProgress, Done, Refused });
gql_enum!(RequestChannelGql as "DataSubjectRequestChannel" <=> RequestChannel { Api, Post, Email });
gql_enum!(StepStatusGql as "DataSubjectRequestStepStatus" <=> StepStatus {
    Pending,
    Running,
    Done,
    Failed,
    /// Planned by a version that could not carry the step out yet; the background job takes it
    /// like a pending step. No step is planned in this state any more.
    AwaitingImplementation,
});
gql_enum!(DirectiveOutcomeGql as "PostMortemOutcome" <=> DirectiveOutcome { Delete, Keep, HandOver });
