//! The jobs find the courses whose next session has started tenant by tenant, through the
//! catalogue order's index `(tenant_id, status, next_start_at, id)`; the single-column
//! `ix_courses_next_start` they read across tenants goes.
//!
//! Why: PostgreSQL chose that index for the generic plan of a catalogue page after a cursor
//! (`next_start_at >= $k`), with the tenant and the status as a filter, so a page could read
//! other tenants' entries. Without it the order's index is the only one that serves
//! `next_start_at`, and it starts with the tenant.

use sea_orm_migration::prelude::*;

use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000019_next_start_by_tenant"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_courses_next_start").table("courses").to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index("ix_courses_next_start", "courses", &["next_start_at"])).await
    }
}
