use sea_orm::entity::prelude::*;

pub use super::enums::DirectiveOutcome;

/// A post-mortem directive recorded by a data-subject request (French law, loi Informatique et
/// Libertés art. 85). The latest one of a person is the one in force.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "post_mortem_directives")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub subject_id: Uuid,
    pub request_id: Uuid,
    pub instructions: String,
    pub outcome: DirectiveOutcome,
    /// The trusted person the subject named (their name and how to reach them).
    pub trusted_person_name: Option<String>,
    pub trusted_person_contact: Option<String>,
    pub created_at: DateTimeUtc,
}
super::redacted_debug!(Model, "PostMortemDirective", id, tenant_id, request_id, outcome);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
