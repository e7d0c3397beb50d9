//! Access and portability exports (GDPR art. 15 and 20, SPEC §6): one row per data-subject
//! request whose export was built, naming the encrypted ZIP in the document store.
//!
//! - `data_exports`: whose export it is (`subject_id`), the request that asked for it
//!   (`request_id`, one export per request: building it again finds the row and stops), where
//!   the file is (`storage_key`, identifiers only), its size, the data key that encrypts it
//!   (wrapped under the master key: `key_id`, `wrapped_key`, `sealed_key`), when it was made
//!   and when it goes (`expires_at`, 7 days later: the retention job deletes file and row).

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000009_exports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("data_exports")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("subject_id"))
                .col(uuid("request_id"))
                .col(text("storage_key"))
                .col(big_integer("size_bytes"))
                .col(string("key_id"))
                .col(binary("wrapped_key"))
                .col(binary("sealed_key"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .foreign_key(&mut fk("data_exports", "tenant_id", "tenants"))
                .foreign_key(&mut fk("data_exports", "subject_id", "users"))
                .foreign_key(&mut fk("data_exports", "request_id", "data_subject_requests"))
                .take(),
        )
        .await?;
        m.create_index(
            index("ux_data_exports_request", "data_exports", &["request_id"]).unique().take(),
        )
        .await?;
        m.create_index(index("ix_data_exports_expiry", "data_exports", &["expires_at"])).await?;
        m.create_index(index(
            "ix_data_exports_subject",
            "data_exports",
            &["tenant_id", "subject_id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("data_exports").if_exists().take()).await
    }
}
