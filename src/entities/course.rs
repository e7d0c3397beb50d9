use sea_orm::entity::prelude::*;

use super::enums::{CourseStatus, Format, Level};

/// A catalogue item.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub description: String,
    pub level: Level,
    pub format: Format,
    pub language: String,
    pub price_cents: i64,
    pub currency: String,
    pub tax_rate_bp: i32,
    pub status: CourseStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the next upcoming session starts (`migration::catalogue::no_upcoming_session` when
    /// none): the key of the default catalogue order, kept by `domain::catalog::next_start`.
    pub next_start_at: DateTimeUtc,
    /// Title and summary as searched (`migration::catalogue::fold`).
    pub search_text: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
