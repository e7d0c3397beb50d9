//! The record of processing activities (GDPR art. 30) for one organisation: the activities of
//! [`policy::processing::record`] headed by the tenant as controller and its data-protection
//! officer. Read by the privacy officer (`processingRecord`) and printed by
//! `pupitre processing-record`; nothing here is personal data about anyone but the published
//! DPO contact.

use crate::domain::tenancy::Tenant;
use crate::error::{AppError, AppResult};
use crate::policy::processing::{self, Activity};
use crate::policy::{self, Actor};

/// The record, headed by its controller.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProcessingRecord {
    pub controller: String,
    pub dpo: String,
    pub activities: Vec<Activity>,
}

impl ProcessingRecord {
    /// The record of `tenant` (the command line, which has no actor: the operator prints the
    /// record that the code defines, not anyone's data).
    pub fn of(tenant: &Tenant) -> Self {
        ProcessingRecord {
            controller: tenant.name.clone(),
            dpo: format!("{} <{}>", tenant.dpo_name, tenant.dpo_email),
            activities: processing::record(),
        }
    }
}

/// The record of the actor's organisation, for whoever keeps it (`policy::may_read_processing_record`).
#[tracing::instrument(skip_all)]
pub fn for_actor(actor: &Actor, tenant: &Tenant) -> AppResult<ProcessingRecord> {
    if !policy::may_read_processing_record(actor) {
        return Err(AppError::Forbidden);
    }
    Ok(ProcessingRecord::of(tenant))
}
