use sea_orm::entity::prelude::*;

use super::enums::{ApplicationStatus, IncomeBracket};

/// An equal-opportunity application: the applicant's declared situation and the decision.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "eo_applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The learner the discount is for.
    pub applicant_id: Uuid,
    /// Who created it: the applicant or their guardian.
    pub created_by: Uuid,
    pub course_id: Uuid,
    pub session_id: Option<Uuid>,
    pub status: ApplicationStatus,
    pub income_bracket: Option<IncomeBracket>,
    pub scholarship_holder: bool,
    pub situation: Option<String>,
    pub discount_percent: Option<i32>,
    /// Why it was rejected: shown to the applicant.
    pub decision_reason: Option<String>,
    /// The reviewer's own note: reviewers only.
    pub reviewer_note: Option<String>,
    pub decided_by: Option<Uuid>,
    pub submitted_at: Option<DateTimeUtc>,
    pub decided_at: Option<DateTimeUtc>,
    /// The clock of the 3-year retention.
    pub last_contact_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}
super::redacted_debug!(Model, "EoApplication", id, tenant_id, status, course_id);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
