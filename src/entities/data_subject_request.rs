use sea_orm::entity::prelude::*;

/// What a data subject asks for (GDPR art. 15 to 22, and French law's post-mortem directives).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RequestKind {
    /// Art. 15: a copy of the data.
    #[sea_orm(string_value = "access")]
    Access,
    /// Art. 20: the data in a machine-readable format.
    #[sea_orm(string_value = "portability")]
    Portability,
    /// Art. 16.
    #[sea_orm(string_value = "rectification")]
    Rectification,
    /// Art. 17.
    #[sea_orm(string_value = "erasure")]
    Erasure,
    /// Art. 18: the data is kept but not processed.
    #[sea_orm(string_value = "restriction")]
    Restriction,
    /// Art. 21: to marketing and prospection.
    #[sea_orm(string_value = "objection")]
    Objection,
    /// Art. 7(3), per purpose.
    #[sea_orm(string_value = "consent_withdrawal")]
    ConsentWithdrawal,
    /// Loi Informatique et Libertés, art. 85.
    #[sea_orm(string_value = "post_mortem_directive")]
    PostMortemDirective,
}

/// Where a request stands: received → in progress → done or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RequestStatus {
    #[sea_orm(string_value = "received")]
    Received,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "done")]
    Done,
    #[sea_orm(string_value = "refused")]
    Refused,
}

/// How a request reached the organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RequestChannel {
    /// Through the API, after re-authentication.
    #[sea_orm(string_value = "api")]
    Api,
    /// A letter, registered by the privacy officer.
    #[sea_orm(string_value = "post")]
    Post,
    /// An e-mail, registered by the privacy officer.
    #[sea_orm(string_value = "email")]
    Email,
}

/// A data-subject request.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_subject_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Whom the request is about.
    pub subject_id: Uuid,
    /// Who made it through the API: the subject or their guardian; null when the privacy
    /// officer registered a letter or an e-mail.
    pub requested_by: Option<Uuid>,
    pub channel: RequestChannel,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub received_at: DateTimeUtc,
    /// Received + one calendar month.
    pub due_at: DateTimeUtc,
    /// The one extension (at most two further months), with its reason.
    pub extended_until: Option<DateTimeUtc>,
    pub extension_reason: Option<String>,
    /// How identity was checked: "password re-authentication", or the privacy officer's note
    /// of the proof seen. Never a document.
    pub identity_check: String,
    /// The subject's own text (what to rectify, the post-mortem instructions, …).
    pub details: Option<String>,
    /// For a consent withdrawal: the purposes, as a JSON array of their names.
    pub purposes: Option<String>,
    pub outcome: Option<String>,
    pub refusal_reason: Option<String>,
    pub handled_by: Option<Uuid>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}
super::redacted_debug!(Model, "DataSubjectRequest", id, tenant_id, kind, status, channel);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
