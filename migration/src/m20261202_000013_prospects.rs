//! Prospects' contact requests, and the class-recording consent of each attendance.
//!
//! `contact_requests`: one row per request for information sent from a storefront's contact
//! form (`requestInformation`), with the name, address, optional phone, course and message the
//! person gave, and their choices: to be contacted about other offers by e-mail
//! (`contact_consent`) and by phone (`phone_consent`), with the privacy-policy version in force.
//! `email_hash` is the keyed hash of the address (the suppression list's), so a person's rows are
//! found for access and erasure without an account; `user_id` names the account of a signed-in
//! requester. `last_contact_at` moves on each exchange; 3 years after it the row goes (the
//! retention rule `contact_requests`).
//!
//! `live_class_attendance.recording_consent`: whether the learner's consent to class recording
//! (`class_recording` in the consent ledger) was given when a recorded class's attendance was
//! reported, so the report tells who declined.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000013_prospects"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("contact_requests")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("user_id"))
                .col(string("name"))
                .col(text("email"))
                .col(string("email_hash"))
                .col(string_null("phone"))
                .col(uuid_null("course_id"))
                .col(text("message"))
                .col(string("locale"))
                .col(boolean("contact_consent"))
                .col(boolean("phone_consent"))
                .col(string_null("consent_policy_version"))
                .col(string("status"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_contact_at"))
                .foreign_key(&mut fk("contact_requests", "tenant_id", "tenants"))
                .foreign_key(
                    ForeignKey::create()
                        .from("contact_requests", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("contact_requests", "course_id")
                        .to("courses", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;
        // Staff list them newest first; the sweep walks them by last contact; a person's rows
        // are found by the hash of their address.
        m.create_index(index(
            "ix_contact_requests_tenant_created",
            "contact_requests",
            &["tenant_id", "created_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_contact_requests_tenant_last_contact",
            "contact_requests",
            &["tenant_id", "last_contact_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_contact_requests_email_hash",
            "contact_requests",
            &["tenant_id", "email_hash"],
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table("live_class_attendance")
                .add_column(boolean("recording_consent").default(false))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table("live_class_attendance").drop_column("recording_consent").take(),
        )
        .await?;
        m.drop_table(Table::drop().table("contact_requests").take()).await?;
        Ok(())
    }
}
