//! The inputs of the request mutations and their parsing into a domain request: texts are
//! trimmed and bounded, purposes deduplicated in order, and the request checked as a whole
//! (`NewRequest::check`) before any call.

use async_graphql::{ID, InputObject};
use chrono::{DateTime, Utc};

use super::{DirectiveOutcomeGql, RequestChannelGql, RequestKindGql};
use crate::domain::privacy::requests::{DirectiveInput, NewRequest};
use crate::domain::types;
use crate::error::AppResult;
use crate::graphql::consent::PurposeGql;

/// What a post-mortem directive asks for beyond its instructions (`details`).
#[derive(InputObject)]
pub struct PostMortemDirectiveInput {
    pub outcome: DirectiveOutcomeGql,
    /// The trusted person to carry it out or receive the data (required with `HAND_OVER`).
    pub trusted_person_name: Option<String>,
    /// How to reach them (an e-mail address, a postal address, a phone number).
    pub trusted_person_contact: Option<String>,
}

#[derive(InputObject)]
pub struct RequestDataSubjectRightInput {
    pub kind: RequestKindGql,
    /// A ward's id, when a guardian asks for them; oneself otherwise.
    pub subject_id: Option<ID>,
    /// Your own words, at most 5000 characters: required for a rectification (what is wrong
    /// and what it should be) and a post-mortem directive (its instructions).
    pub details: Option<String>,
    /// For a consent withdrawal: the purposes.
    #[graphql(default)]
    pub purposes: Vec<PurposeGql>,
    /// For a post-mortem directive.
    pub directive: Option<PostMortemDirectiveInput>,
    /// Your current password: it confirms that the request is yours.
    pub password: String,
}

#[derive(InputObject)]
pub struct RegisterDataSubjectRequestInput {
    pub subject_id: ID,
    pub kind: RequestKindGql,
    /// `POST` or `EMAIL`.
    pub channel: RequestChannelGql,
    /// When the letter or e-mail arrived (default: now; at most 92 days ago); the due date runs
    /// from it.
    pub received_at: Option<DateTime<Utc>>,
    /// The proof of identity seen, in words ("identity card seen, copy not kept"): never the
    /// document itself.
    pub identity_check: String,
    pub details: Option<String>,
    #[graphql(default)]
    pub purposes: Vec<PurposeGql>,
    pub directive: Option<PostMortemDirectiveInput>,
}

#[derive(InputObject)]
pub struct DataSubjectRequestIdInput {
    pub request_id: ID,
}

#[derive(InputObject)]
pub struct ExtendDataSubjectRequestInput {
    pub request_id: ID,
    /// 1 or 2: added to the original due date.
    pub months: i32,
    /// Why (the subject is told).
    pub reason: String,
}

#[derive(InputObject)]
pub struct CompleteDataSubjectRequestInput {
    pub request_id: ID,
    /// What was done, as the subject will read it.
    pub outcome: String,
}

#[derive(InputObject)]
pub struct RefuseDataSubjectRequestInput {
    pub request_id: ID,
    /// Why, as the subject will read it (with their right to complain to the CNIL).
    pub reason: String,
}

#[derive(InputObject)]
pub struct LiftRestrictionInput {
    pub user_id: ID,
}

fn optional_text(field: &str, raw: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Ok(Some(types::text(field, t, 1, max, true)?)),
        None => Ok(None),
    }
}

/// A request as the domain takes it, every part parsed.
pub(super) fn parse_request(
    kind: RequestKindGql,
    details: Option<&str>,
    purposes: &[PurposeGql],
    directive: Option<&PostMortemDirectiveInput>,
) -> AppResult<NewRequest> {
    let details = optional_text("input.details", details, 5000)?;
    let directive = match directive {
        Some(d) => Some(DirectiveInput {
            outcome: d.outcome.into(),
            trusted_person_name: match d.trusted_person_name.as_deref() {
                Some(n) => {
                    Some(types::text("input.directive.trustedPersonName", n, 1, 200, false)?)
                }
                None => None,
            },
            trusted_person_contact: match d.trusted_person_contact.as_deref() {
                Some(c) => {
                    Some(types::text("input.directive.trustedPersonContact", c, 3, 500, true)?)
                }
                None => None,
            },
        }),
        None => None,
    };
    let mut parsed: Vec<crate::domain::consent::Purpose> = Vec::new();
    for p in purposes {
        let p = (*p).into();
        if !parsed.contains(&p) {
            parsed.push(p);
        }
    }
    let new = NewRequest { kind: kind.into(), details, purposes: parsed, directive };
    new.check()?;
    Ok(new)
}
