//! Each tenant's own Stripe account: its secret key and webhook signing secret, sealed with the
//! master-key envelope the supporting documents use (a fresh data key per row, wrapped under the
//! current master key; the associated data binds the tenant id), and what may be shown of it
//! (the publishable key, the last four characters of the secret key).

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000018_payment_accounts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("payment_accounts")
                .col(pk_uuid("tenant_id"))
                .col(string("publishable_key"))
                .col(string("secret_key_last4"))
                .col(string("key_id"))
                .col(binary("wrapped_key"))
                .col(binary("sealed"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("payment_accounts", "tenant_id", "tenants"))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("payment_accounts").to_owned()).await
    }
}
