//! The retention sweep (SPEC §5): its run records, and the one controlled path through which it
//! deletes expired rows of the two append-only tables.
//!
//! - `retention_runs`: one row per real sweep of one tenant (started, finished, the counts per
//!   rule and table as JSON, the error that stopped it), read by the privacy officer's
//!   `retentionReport`. A dry run changes nothing and is not recorded.
//! - `retention_gate`: empty except inside a sweep's batch transaction, which inserts one row
//!   (table, tenant, cut-off), deletes the expired rows and removes the row before it commits.
//!   The delete guards of `audit_log` and `consent_records` are recreated so that a DELETE
//!   passes only while such a row exists for that table and tenant *and* the row is older than
//!   its cut-off (SQLite: a row trigger; PostgreSQL: a statement trigger over the deleted rows).
//!   Another transaction never sees an uncommitted gate row (PostgreSQL's MVCC; SQLite's
//!   single writer), so every other DELETE still fails, and UPDATE is refused as before (its
//!   trigger is untouched on SQLite and recreated unchanged on PostgreSQL).
//! - Indexes for the sweep's cut-off queries on tables that only had lookup indexes.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000007_retention"
    }
}

/// The append-only tables and the column whose age the gate compares with its cut-off.
const GATED: [(&str, &str); 2] = [("audit_log", "at"), ("consent_records", "recorded_at")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("retention_runs")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("origin"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(json("counts"))
                .col(string_null("error"))
                .foreign_key(&mut fk("retention_runs", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_retention_runs_tenant_started",
            "retention_runs",
            &["tenant_id", "started_at"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("retention_gate")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("target_table"))
                .col(timestamp_with_time_zone("cutoff"))
                .col(timestamp_with_time_zone("opened_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_retention_gate_target",
            "retention_gate",
            &["target_table", "tenant_id"],
        ))
        .await?;
        for (name, table, cols) in [
            ("ix_auth_sessions_tenant_expires", "auth_sessions", &["tenant_id", "expires_at"][..]),
            ("ix_login_failures_tenant_at", "login_failures", &["tenant_id", "at"]),
            ("ix_consent_tenant_recorded", "consent_records", &["tenant_id", "recorded_at"]),
            ("ix_outbox_tenant_sent", "outbox", &["tenant_id", "sent_at"]),
            ("ix_invoices_tenant_issued", "invoices", &["tenant_id", "issued_at"]),
            ("ix_eo_applications_contact", "eo_applications", &["tenant_id", "last_contact_at"]),
        ] {
            m.create_index(index(name, table, cols)).await?;
        }
        let db = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                // One check per DELETE statement over its transition table (every deleted row
                // needs a gate row it is older than), not one query per row: a sweep deletes
                // hundreds of rows per statement. An AFTER trigger's exception undoes the
                // statement.
                for (table, at) in GATED {
                    db.execute_unprepared(&format!(
                        "CREATE OR REPLACE FUNCTION pupitre_{table}_gated_delete() RETURNS trigger AS $$ \
                         BEGIN \
                           IF EXISTS (SELECT 1 FROM gone o WHERE NOT EXISTS (SELECT 1 FROM retention_gate g \
                                      WHERE g.target_table = '{table}' AND g.tenant_id = o.tenant_id \
                                      AND o.{at} < g.cutoff)) THEN \
                             RAISE EXCEPTION 'append-only table %', TG_TABLE_NAME; \
                           END IF; \
                           RETURN NULL; \
                         END; $$ LANGUAGE plpgsql"
                    ))
                    .await?;
                    // The foundation's one trigger refused UPDATE OR DELETE; it becomes an
                    // UPDATE-only trigger (same function) and a gated DELETE trigger.
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION pupitre_append_only()"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_gated_delete AFTER DELETE ON {table} \
                         REFERENCING OLD TABLE AS gone \
                         FOR EACH STATEMENT EXECUTE FUNCTION pupitre_{table}_gated_delete()"
                    ))
                    .await?;
                }
            }
            _ => {
                // Dropped and recreated in one call, on one pooled connection: another
                // connection's cached schema could still list the dropped trigger, and SQLite
                // checks a CREATE's name against that cache before it runs.
                for (table, at) in GATED {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_no_delete; \
                         CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} \
                         WHEN NOT EXISTS (SELECT 1 FROM retention_gate g WHERE g.target_table = '{table}' \
                                          AND g.tenant_id = OLD.tenant_id AND OLD.{at} < g.cutoff) \
                         BEGIN SELECT RAISE(ABORT, 'append-only table {table}'); END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                for (table, _) in GATED {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_gated_delete ON {table}"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION pupitre_append_only()"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "DROP FUNCTION IF EXISTS pupitre_{table}_gated_delete()"
                    ))
                    .await?;
                }
            }
            _ => {
                for (table, _) in GATED {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_no_delete; \
                         CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} \
                         BEGIN SELECT RAISE(ABORT, 'append-only table {table}'); END"
                    ))
                    .await?;
                }
            }
        }
        for name in [
            "ix_auth_sessions_tenant_expires",
            "ix_login_failures_tenant_at",
            "ix_consent_tenant_recorded",
            "ix_outbox_tenant_sent",
            "ix_invoices_tenant_issued",
            "ix_eo_applications_contact",
        ] {
            m.drop_index(Index::drop().name(name).to_owned()).await?;
        }
        for t in ["retention_gate", "retention_runs"] {
            m.drop_table(Table::drop().table(t).if_exists().take()).await?;
        }
        Ok(())
    }
}
