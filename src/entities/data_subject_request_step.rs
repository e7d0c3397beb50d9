use sea_orm::entity::prelude::*;

/// Where one step of carrying out a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum StepStatus {
    /// Waiting for its turn (the steps before it) and its `next_attempt_at`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a worker until `next_attempt_at` (a lease: a worker that died leaves it to be
    /// claimed again once it has passed).
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "done")]
    Done,
    /// Failed `attempts` times; tried again at `next_attempt_at`.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Nothing can carry this step out yet (the export and erasure of issue 11, items 3 and 4):
    /// it waits, visibly, and is never reported done.
    #[sea_orm(string_value = "awaiting_implementation")]
    AwaitingImplementation,
}

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
