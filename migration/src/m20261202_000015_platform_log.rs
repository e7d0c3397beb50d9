//! The platform operator's own log: one row per operator command that changed something
//! (`tenant create`, `tenant update`, …), with the tenant's slug as text, so the log outlives a
//! tenant's offboarding. It names organisations, never people.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000015_platform_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("platform_log")
                .col(pk_uuid("id"))
                .col(timestamp_with_time_zone("at"))
                .col(string("command"))
                .col(string("tenant_slug"))
                .col(json("details"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_platform_log_at", "platform_log", &["at"])).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("platform_log").to_owned()).await
    }
}
