//! `processingRecord`: the record of processing activities (GDPR art. 30) for the privacy
//! officer, made from the registry and the need-to-know matrix (`domain::privacy::record`).

use async_graphql::{Context, Object, SimpleObject};

use super::context::{request, signed_in};
use crate::domain::privacy::record::{self, ProcessingRecord};
use crate::error::IntoGql;
use crate::policy::processing::Activity;

/// The record of processing activities of this organisation (GDPR art. 30).
#[derive(SimpleObject)]
#[graphql(name = "ProcessingRecord")]
pub struct ProcessingRecordGql {
    /// The controller: this organisation.
    pub controller: String,
    /// Its data-protection officer, as published.
    pub dpo: String,
    /// One activity per data category.
    pub activities: Vec<ProcessingActivity>,
}

/// What is done with one category of personal data.
#[derive(SimpleObject)]
pub struct ProcessingActivity {
    /// The data category, as named in the need-to-know table (`docs/ACCESS.md`).
    pub category: String,
    pub purposes: Vec<String>,
    pub legal_basis: String,
    /// Who may read or write it: every role with its access in the notation of `docs/ACCESS.md`.
    pub access: Vec<RoleAccess>,
    /// `table.column` where it is stored.
    pub stored_in: Vec<String>,
    pub retention: Vec<String>,
    /// What erasure does, per table.
    pub on_erasure: Vec<String>,
    /// Who receives it outside the organisation.
    pub recipients: Vec<String>,
}

/// One role's access to a category.
#[derive(SimpleObject)]
pub struct RoleAccess {
    pub role: String,
    pub access: String,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl From<Activity> for ProcessingActivity {
    fn from(a: Activity) -> Self {
        ProcessingActivity {
            category: a.category.to_owned(),
            purposes: strings(a.purposes),
            legal_basis: a.legal_basis.to_owned(),
            access: a
                .access
                .into_iter()
                .map(|x| RoleAccess { role: x.role.to_owned(), access: x.access })
                .collect(),
            stored_in: a.stored_in,
            retention: strings(&a.retention),
            on_erasure: a.on_erasure,
            recipients: strings(a.recipients),
        }
    }
}

impl From<ProcessingRecord> for ProcessingRecordGql {
    fn from(r: ProcessingRecord) -> Self {
        ProcessingRecordGql {
            controller: r.controller,
            dpo: r.dpo,
            activities: r.activities.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Default)]
pub struct ProcessingQuery;

#[Object]
impl ProcessingQuery {
    /// The record of processing activities (GDPR art. 30) of this organisation: per data
    /// category its purposes, legal basis, who may see it (from the need-to-know table),
    /// retention, what erasure does and its recipients. Generated from the code, so it cannot
    /// drift from what Pupitre enforces. The privacy officer's; `FORBIDDEN` for anyone else.
    async fn processing_record(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ProcessingRecordGql> {
        let (_, actor, _) = signed_in(ctx).await.gql()?;
        let tenant = &request(ctx).gql()?.tenant;
        Ok(record::for_actor(&actor, tenant).gql()?.into())
    }
}
