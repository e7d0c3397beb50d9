//! Role grants take effect only when their holder accepts them (issue 9: an admin could turn a
//! learner into a "staff account" and read their contact data by granting a role).
//!
//! `accepted_at` is `NULL` while a grant is pending; only accepted rows count as roles. Grants
//! that existed before this migration were in effect, so they count as accepted when granted.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_role_acceptance"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("user_roles")
                .add_column(timestamp_with_time_zone_null("accepted_at"))
                .take(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("UPDATE user_roles SET accepted_at = granted_at")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("user_roles").drop_column("accepted_at").take()).await?;
        Ok(())
    }
}
