//! Newsletter subscriptions and e-mail delivery.
//!
//! `newsletter_subscriptions`: one row per address (per tenant, found by the keyed hash of the
//! address, the same hash as the marketing suppression list), with its topics, locale, status,
//! the hashed single-use confirmation token and its expiry, and the proof of consent (when,
//! source, privacy-policy version, topics; never the client's address). `user_id` links it to
//! an account when the address is an account's.
//!
//! `outbox` gains what the delivery worker needs: when the next attempt is due, when a claim
//! was made (a row left `sending` by a crash is visible, never sent again), and the class of the
//! last error (no personal data: the SMTP reply code or the kind of failure).

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000011_newsletter"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("newsletter_subscriptions")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("user_id"))
                .col(text("email"))
                .col(string("email_hash"))
                .col(text("topics"))
                .col(string("locale"))
                .col(string("status"))
                .col(string_null("confirm_token_hash"))
                .col(timestamp_with_time_zone_null("confirm_expires_at"))
                .col(timestamp_with_time_zone_null("consented_at"))
                .col(string_null("consent_source"))
                .col(string_null("consent_policy_version"))
                .col(text_null("consent_topics"))
                .col(timestamp_with_time_zone_null("unsubscribed_at"))
                .col(timestamp_with_time_zone("last_interaction_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("newsletter_subscriptions", "tenant_id", "tenants"))
                .foreign_key(
                    ForeignKey::create()
                        .from("newsletter_subscriptions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_newsletter_subscriptions_email")
                .table("newsletter_subscriptions")
                .col("tenant_id")
                .col("email_hash")
                .unique()
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_newsletter_subscriptions_user",
            "newsletter_subscriptions",
            &["tenant_id", "user_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_newsletter_subscriptions_interaction",
            "newsletter_subscriptions",
            &["tenant_id", "last_interaction_at"],
        ))
        .await?;
        // SQLite adds one column per statement.
        for col in [
            timestamp_with_time_zone_null("next_attempt_at"),
            timestamp_with_time_zone_null("claimed_at"),
            string_null("last_error"),
        ] {
            m.alter_table(Table::alter().table("outbox").add_column(col).take()).await?;
        }
        m.create_index(index("ix_outbox_due", "outbox", &["status", "next_attempt_at"])).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_outbox_due").table("outbox").to_owned()).await?;
        for c in ["next_attempt_at", "claimed_at", "last_error"] {
            m.alter_table(Table::alter().table("outbox").drop_column(c).take()).await?;
        }
        m.drop_table(Table::drop().table("newsletter_subscriptions").take()).await
    }
}
