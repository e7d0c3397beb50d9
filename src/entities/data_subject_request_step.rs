use sea_orm::entity::prelude::*;

pub use super::enums::StepStatus;

/// One step of carrying out a data-subject request.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_subject_request_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub request_id: Uuid,
    pub position: i32,
    /// What the step does (`restrict_account`, `export`, `close`, …).
    pub name: String,
    pub status: StepStatus,
    pub attempts: i32,
    /// What went wrong last (an error description, never personal data).
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
