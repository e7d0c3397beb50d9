//! Equal-opportunity ("égalité des chances") applications and their supporting documents.
//!
//! A document row holds only metadata and the wrapped data key; the encrypted content lives in
//! the document store (a local directory or S3-compatible storage) under `storage_key`. Both
//! tables carry `last_contact_at`, the clock of their 3-year retention (SPEC §5). At most one
//! open application per applicant and course: a partial unique index on PostgreSQL and SQLite.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000004_equal_opportunity"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("eo_applications")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("applicant_id"))
                .col(uuid("created_by"))
                .col(uuid("course_id"))
                .col(uuid_null("session_id"))
                .col(string("status"))
                .col(string_null("income_bracket"))
                .col(boolean("scholarship_holder"))
                .col(text_null("situation"))
                .col(integer_null("discount_percent"))
                .col(text_null("decision_reason"))
                .col(text_null("reviewer_note"))
                .col(uuid_null("decided_by"))
                .col(timestamp_with_time_zone_null("submitted_at"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(timestamp_with_time_zone("last_contact_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("eo_applications", "tenant_id", "tenants"))
                .foreign_key(&mut fk("eo_applications", "applicant_id", "users"))
                .foreign_key(&mut fk("eo_applications", "course_id", "courses"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_eo_applications_queue",
            "eo_applications",
            &["tenant_id", "status", "submitted_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_eo_applications_applicant",
            "eo_applications",
            &["tenant_id", "applicant_id"],
        ))
        .await?;
        // One open application per applicant and course (withdrawn and rejected ones do not count;
        // an approved one stays, it is what gives the discount).
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_eo_applications_open ON eo_applications (tenant_id, applicant_id, course_id) \
                 WHERE status IN ('draft', 'submitted', 'under_review', 'approved')",
            )
            .await?;

        m.create_table(
            Table::create()
                .table("eo_documents")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("application_id"))
                .col(string("kind"))
                .col(string("original_name"))
                .col(string("mime_type"))
                .col(big_integer("size_bytes"))
                .col(string("sha256"))
                .col(string("storage_key"))
                .col(string("key_id"))
                .col(binary("wrapped_key"))
                .col(timestamp_with_time_zone("last_contact_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("eo_documents", "application_id", "eo_applications"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_eo_documents_application", "eo_documents", &["application_id"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["eo_documents", "eo_applications"] {
            m.drop_table(Table::drop().table(t).if_exists().take()).await?;
        }
        Ok(())
    }
}
