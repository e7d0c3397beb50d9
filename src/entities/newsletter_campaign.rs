use sea_orm::entity::prelude::*;

pub use super::enums::CampaignStatus;

/// A newsletter campaign: a topic, a subject and body per language, and the progress of its
/// queueing. It holds nothing about its recipients.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "newsletter_campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub topic: String,
    pub subject_fr: String,
    #[sea_orm(column_type = "Text")]
    pub body_fr: String,
    pub subject_en: String,
    #[sea_orm(column_type = "Text")]
    pub body_en: String,
    pub status: CampaignStatus,
    /// The id of the last subscription queued (subscriptions are queued in id order).
    pub queue_cursor: Option<Uuid>,
    pub queued_count: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub send_started_at: Option<DateTimeUtc>,
    pub queued_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
