//! Deaths recorded by the privacy officer, so that a person's post-mortem directive is carried
//! out once (French loi Informatique et Libertés, art. 85): `death_records` holds one row per
//! person (unique), the date of death, the evidence seen (in words, like a request's identity
//! check: the certificate itself is never stored), who recorded it and the data-subject request
//! that carries the directive out.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000010_deaths"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("death_records")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("subject_id"))
                .col(date("died_on"))
                .col(text("evidence"))
                .col(uuid_null("recorded_by"))
                .col(uuid("request_id"))
                .col(timestamp_with_time_zone("recorded_at"))
                .foreign_key(&mut fk("death_records", "tenant_id", "tenants"))
                .foreign_key(&mut fk("death_records", "subject_id", "users"))
                .foreign_key(
                    ForeignKey::create()
                        .from("death_records", "recorded_by")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .foreign_key(&mut fk("death_records", "request_id", "data_subject_requests"))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_death_records_subject")
                .table("death_records")
                .col("tenant_id")
                .col("subject_id")
                .unique()
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("death_records").take()).await
    }
}
