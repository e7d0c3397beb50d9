//! One-time set-password tokens: the link `pupitre tenant admin` prints for an organisation's
//! first administrator (and for resetting one), redeemed once through `setPassword`. Only the
//! SHA-256 of the token is stored; it expires after a few days and is deleted by the retention
//! sweep once expired or used.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000016_password_tokens"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("password_tokens")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("user_id"))
                .col(string_uniq("token_hash"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(&mut fk("password_tokens", "tenant_id", "tenants"))
                .foreign_key(&mut fk("password_tokens", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_password_tokens_tenant_expires",
            "password_tokens",
            &["tenant_id", "expires_at"],
        ))
        .await?;
        m.create_index(index("ix_password_tokens_user", "password_tokens", &["user_id"])).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("password_tokens").to_owned()).await
    }
}
