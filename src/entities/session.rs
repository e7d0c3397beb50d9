use sea_orm::entity::prelude::*;

/// A cohort of a course.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub course_id: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub instructor_id: Option<Uuid>,
    pub capacity: i32,
    /// Changed only by the conditional updates of the enrollment service.
    pub seats_taken: i32,
    pub location: Option<String>,
    pub virtual_room: Option<String>,
    pub cancelled: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
