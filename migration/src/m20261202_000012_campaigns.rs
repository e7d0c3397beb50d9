//! Newsletter campaigns.
//!
//! `newsletter_campaigns`: one row per campaign, with its topic, its subject and body in French
//! and in English, its status (`draft`, `sending`, `sent`), and the progress of its queueing:
//! the id of the last subscription queued (`queue_cursor`, so that queueing goes in bounded
//! batches and resumes where it stopped) and how many messages were queued. Nothing about the
//! recipients is kept here: each message is an `outbox` row naming its subscription and its
//! campaign. `newsletter_subscriptions.soft_bounces` counts the soft bounces reported for an
//! address (`recordMailFeedback`) until the limit suppresses it. `created_by` names the marketing staff member who wrote it (set to null when that
//! account goes).

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000012_campaigns"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("newsletter_campaigns")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("topic"))
                .col(string("subject_fr"))
                .col(text("body_fr"))
                .col(string("subject_en"))
                .col(text("body_en"))
                .col(string("status"))
                .col(uuid_null("queue_cursor"))
                .col(big_integer("queued_count").default(0))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("send_started_at"))
                .col(timestamp_with_time_zone_null("queued_at"))
                .foreign_key(&mut fk("newsletter_campaigns", "tenant_id", "tenants"))
                .foreign_key(
                    ForeignKey::create()
                        .from("newsletter_campaigns", "created_by")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_newsletter_campaigns_tenant",
            "newsletter_campaigns",
            &["tenant_id", "created_at"],
        ))
        .await?;
        // Soft bounces reported for the address, until the limit suppresses it.
        m.alter_table(
            Table::alter()
                .table("newsletter_subscriptions")
                .add_column(integer("soft_bounces").default(0))
                .take(),
        )
        .await?;
        // The audience is read in id order, a batch at a time.
        m.create_index(index(
            "ix_newsletter_subscriptions_status_id",
            "newsletter_subscriptions",
            &["tenant_id", "status", "id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_newsletter_subscriptions_status_id")
                .table("newsletter_subscriptions")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table("newsletter_subscriptions").drop_column("soft_bounces").take(),
        )
        .await?;
        m.drop_table(Table::drop().table("newsletter_campaigns").take()).await
    }
}
