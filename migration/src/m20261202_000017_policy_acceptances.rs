//! The history of privacy-policy acceptances: one row each time a person accepts a version (at
//! registration, and again when the organisation publishes a new one), kept with the account.
//! `users.accepted_policy_version` stays the latest, read on every `me`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000017_policy_acceptances"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("policy_acceptances")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("user_id"))
                .col(string("version"))
                .col(timestamp_with_time_zone("accepted_at"))
                .foreign_key(&mut fk("policy_acceptances", "tenant_id", "tenants"))
                .foreign_key(&mut fk("policy_acceptances", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_policy_acceptances_user",
            "policy_acceptances",
            &["tenant_id", "user_id"],
        ))
        .await?;
        // One version is published once per tenant.
        m.create_index(
            Index::create()
                .name("ux_privacy_policy_versions_version")
                .table("privacy_policy_versions")
                .col("tenant_id")
                .col("version")
                .unique()
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ux_privacy_policy_versions_version")
                .table("privacy_policy_versions")
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table("policy_acceptances").to_owned()).await
    }
}
