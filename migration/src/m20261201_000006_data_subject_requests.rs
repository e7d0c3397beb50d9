//! Data-subject requests (GDPR art. 12 to 22, SPEC §6): the request itself with its due date
//! and its one extension, the resumable steps that carry it out, and post-mortem directives.
//!
//! - `data_subject_requests`: who it is about (`subject_id`) and who made it (`requested_by`:
//!   the subject, their guardian, or null when the privacy officer registered a letter or an
//!   e-mail), how it came in (`channel`), its `kind` and `status`, `due_at` (received + one
//!   calendar month) and `extended_until` with its reason (once, art. 12(3)), how identity was
//!   checked (a sentence, never a document), the subject's text, the outcome or the refusal
//!   reason, and who handled it.
//! - `data_subject_request_steps`: one row per step of carrying a request out, in `position`
//!   order; a failed step keeps its `attempts`, `last_error` and `next_attempt_at` (backoff), so
//!   a retry needs no manual fix and the privacy officer sees what is stuck.
//! - `post_mortem_directives`: what should become of the person's data after their death (French
//!   law, loi Informatique et Libertés art. 85), one row per request that recorded one.
//!
//! References to the people who acted (`requested_by`, `handled_by`) survive their deletion as
//! null: the record of a request is proof of compliance.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000006_data_subject_requests"
    }
}

/// A nullable reference to a user that becomes null when that user is deleted.
fn actor_ref(table: &'static str, col: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to("users", "id")
        .on_delete(ForeignKeyAction::SetNull)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("data_subject_requests")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("subject_id"))
                .col(uuid_null("requested_by"))
                .col(string("channel"))
                .col(string("kind"))
                .col(string("status"))
                .col(timestamp_with_time_zone("received_at"))
                .col(timestamp_with_time_zone("due_at"))
                .col(timestamp_with_time_zone_null("extended_until"))
                .col(text_null("extension_reason"))
                .col(text("identity_check"))
                .col(text_null("details"))
                .col(text_null("purposes"))
                .col(text_null("outcome"))
                .col(text_null("refusal_reason"))
                .col(uuid_null("handled_by"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("data_subject_requests", "tenant_id", "tenants"))
                .foreign_key(&mut fk("data_subject_requests", "subject_id", "users"))
                .foreign_key(&mut actor_ref("data_subject_requests", "requested_by"))
                .foreign_key(&mut actor_ref("data_subject_requests", "handled_by"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_dsr_queue",
            "data_subject_requests",
            &["tenant_id", "status", "due_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_dsr_subject",
            "data_subject_requests",
            &["tenant_id", "subject_id"],
        ))
        .await?;
        // One open request per person and kind: a second click or a second letter joins the
        // first instead of doubling the work (and the receipts).
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_dsr_open ON data_subject_requests (tenant_id, subject_id, kind) \
                 WHERE status IN ('received', 'in_progress')",
            )
            .await?;

        m.create_table(
            Table::create()
                .table("data_subject_request_steps")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("request_id"))
                .col(integer("position"))
                .col(string("name"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("data_subject_request_steps", "tenant_id", "tenants"))
                .foreign_key(&mut fk(
                    "data_subject_request_steps",
                    "request_id",
                    "data_subject_requests",
                ))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "ux_dsr_steps_position",
                "data_subject_request_steps",
                &["request_id", "position"],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index(
            "ix_dsr_steps_due",
            "data_subject_request_steps",
            &["status", "next_attempt_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("post_mortem_directives")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("subject_id"))
                .col(uuid("request_id"))
                .col(text("instructions"))
                .col(string("outcome"))
                .col(text_null("trusted_person_name"))
                .col(text_null("trusted_person_contact"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("post_mortem_directives", "tenant_id", "tenants"))
                .foreign_key(&mut fk("post_mortem_directives", "subject_id", "users"))
                .foreign_key(&mut fk(
                    "post_mortem_directives",
                    "request_id",
                    "data_subject_requests",
                ))
                .take(),
        )
        .await?;
        m.create_index(
            index("ux_post_mortem_request", "post_mortem_directives", &["request_id"])
                .unique()
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_post_mortem_subject",
            "post_mortem_directives",
            &["tenant_id", "subject_id", "created_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["post_mortem_directives", "data_subject_request_steps", "data_subject_requests"] {
            m.drop_table(Table::drop().table(t).if_exists().take()).await?;
        }
        Ok(())
    }
}
