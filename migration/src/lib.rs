//! Pupitre's database schema, as append-only sea-orm migrations.
//!
//! Schema only: demo data lives in `seed/` and is loaded by `pupitre seed`. A migration that has
//! shipped is never edited; a change is a new migration appended to [`Migrator::migrations`].
//! Every migration must run on SQLite and on PostgreSQL.

pub use sea_orm_migration::prelude::*;

pub mod catalogue;
mod m20261126_000001_foundation;
mod m20261126_000002_catalogue;
mod m20261126_000003_shop;
mod m20261126_000004_equal_opportunity;
mod m20261201_000005_role_acceptance;
mod m20261201_000006_data_subject_requests;
mod m20261201_000007_retention;
mod m20261201_000008_erasure;
mod m20261201_000009_exports;
mod m20261201_000010_deaths;
mod m20261202_000011_newsletter;
mod m20261202_000012_campaigns;
mod m20261202_000013_prospects;
mod m20261202_000014_catalogue_order;
mod m20261202_000015_platform_log;
mod m20261202_000016_password_tokens;
mod m20261202_000017_policy_acceptances;
mod m20261202_000018_payment_accounts;
mod m20261204_000019_next_start_by_tenant;
mod util;

/// The ordered list of Pupitre's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_foundation::Migration),
            Box::new(m20261126_000002_catalogue::Migration),
            Box::new(m20261126_000003_shop::Migration),
            Box::new(m20261126_000004_equal_opportunity::Migration),
            Box::new(m20261201_000005_role_acceptance::Migration),
            Box::new(m20261201_000006_data_subject_requests::Migration),
            Box::new(m20261201_000007_retention::Migration),
            Box::new(m20261201_000008_erasure::Migration),
            Box::new(m20261201_000009_exports::Migration),
            Box::new(m20261201_000010_deaths::Migration),
            Box::new(m20261202_000011_newsletter::Migration),
            Box::new(m20261202_000012_campaigns::Migration),
            Box::new(m20261202_000013_prospects::Migration),
            Box::new(m20261202_000014_catalogue_order::Migration),
            Box::new(m20261202_000015_platform_log::Migration),
            Box::new(m20261202_000016_password_tokens::Migration),
            Box::new(m20261202_000017_policy_acceptances::Migration),
            Box::new(m20261202_000018_payment_accounts::Migration),
            Box::new(m20261204_000019_next_start_by_tenant::Migration),
        ]
    }
}
