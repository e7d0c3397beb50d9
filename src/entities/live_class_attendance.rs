use sea_orm::entity::prelude::*;

/// One participant's statistics for one live class (learning record).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "live_class_attendance")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub live_class_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub learner_id: Uuid,
    pub tenant_id: Uuid,
    pub joined_at: DateTimeUtc,
    pub left_at: DateTimeUtc,
    pub talk_seconds: i32,
    pub chat_messages: i32,
    pub hand_raises: i32,
    pub poll_answers: i32,
    /// The learner had consented to class recording when a recorded class's attendance was
    /// reported (always false for a class that is not recorded).
    pub recording_consent: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
