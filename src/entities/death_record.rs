use sea_orm::entity::prelude::*;

/// A death recorded by the privacy officer (one per person), with the data-subject request
/// that carries out the person's post-mortem directive.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "death_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub subject_id: Uuid,
    pub died_on: Date,
    /// The evidence seen, in words (the certificate itself is never stored).
    pub evidence: String,
    pub recorded_by: Option<Uuid>,
    pub request_id: Uuid,
    pub recorded_at: DateTimeUtc,
}
super::redacted_debug!(Model, "DeathRecord", id, tenant_id, request_id);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
