//! Erasure (GDPR art. 17, SPEC §6): the report of each erasure, the marketing suppression list
//! that outlives it, and the one controlled path through which an erasure pseudonymises the
//! person's entries in the two append-only tables.
//!
//! - `erasure_reports`: one per erasure request: when it started and finished, what it did
//!   beyond the tables (unpaid orders cancelled, document blobs deleted, consents withdrawn,
//!   the address put on the suppression list), and the final scan of every text column for the
//!   person's values (which kinds of value were searched, how many columns, the hits: table,
//!   column, row count, whether the rows are kept). Counts, names of tables and columns, row
//!   ids: nothing personal.
//! - `erasure_report_tables`: one row per registered table per report, written in the same
//!   transaction as that table's erasure, so a table is done exactly when its row exists and a
//!   resumed erasure skips it: the outcome (erased, anonymised, pseudonymised, kept, nothing
//!   held), the row count, the rows of a kept table that no obligation covers (deleted), the
//!   references to the person set to null (or left, where the column cannot be null: they
//!   point to the anonymised account), and for kept rows the legal basis, the date they are
//!   kept until and their ids (the final scan tells kept rows from leftovers by them).
//! - `marketing_suppressions`: a keyed hash (HMAC) of a normalised e-mail address, never the
//!   address, with why it is there (erasure or objection): the newsletter and any audience
//!   skip an address whose hash is listed, even after the account is gone.
//! - `erasure_gate`: empty except inside an erasure's pseudonymisation transaction, which
//!   inserts one row (tenant, person, pseudonym), rewrites the person's references in
//!   `audit_log` or `consent_records` to the pseudonym and deletes the row before it commits.
//!   The UPDATE guards of those two tables are recreated so that an UPDATE passes only while a
//!   gate row of the row's tenant exists *and* it changes nothing but the person-reference
//!   columns, each from that row's person to its pseudonym; every other UPDATE, and every
//!   DELETE, is refused as before. Another transaction never sees an uncommitted gate row
//!   (PostgreSQL's MVCC; SQLite's single writer), and on PostgreSQL a deferred constraint
//!   trigger refuses to commit a transaction that left its gate row behind.
//!
//! Only the UPDATE path changes. SQLite: the `{table}_no_update` triggers are recreated with a
//! `WHEN`; the `{table}_no_delete` triggers are not touched. PostgreSQL: the body of the shared
//! function `pupitre_append_only()` is replaced so that it lets a gated UPDATE through and
//! refuses everything else, whichever trigger calls it (the foundation's `UPDATE OR DELETE`
//! trigger, or an UPDATE-only one); no trigger is dropped. The retention sweep's DELETE gate
//! (migration 000007, `retention_gate`) composes with this one in either order.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000008_erasure"
    }
}

/// The append-only tables: the columns the gate may rewrite (references to a person) and
/// every other column (which a gated UPDATE must leave as it is).
const GATED: [(&str, &[&str], &[&str]); 2] = [
    (
        "audit_log",
        &["actor_id", "subject_id"],
        &[
            "id",
            "tenant_id",
            "at",
            "actor_roles",
            "action",
            "category",
            "purpose",
            "details",
            "request_id",
        ],
    ),
    (
        "consent_records",
        &["subject_user_id", "recorded_by"],
        &[
            "id",
            "tenant_id",
            "subject_visitor_id",
            "purpose",
            "granted",
            "recorded_at",
            "source",
            "policy_version",
        ],
    ),
];

/// The SQLite condition under which an UPDATE of `table` passes the gate.
fn sqlite_gate_passes(refs: &[&str], others: &[&str]) -> String {
    let unchanged: Vec<String> = others.iter().map(|c| format!("NEW.{c} IS OLD.{c}")).collect();
    let some_change: Vec<String> = refs.iter().map(|c| format!("NEW.{c} IS NOT OLD.{c}")).collect();
    let each_to_pseudonym: Vec<String> = refs
        .iter()
        .map(|c| {
            format!("(NEW.{c} IS OLD.{c} OR (OLD.{c} = g.person_id AND NEW.{c} = g.pseudonym))")
        })
        .collect();
    format!(
        "{} AND EXISTS (SELECT 1 FROM erasure_gate g WHERE g.tenant_id = OLD.tenant_id AND ({}) AND {})",
        unchanged.join(" AND "),
        some_change.join(" OR "),
        each_to_pseudonym.join(" AND "),
    )
}

/// The foundation's PostgreSQL guard function, as it was before this migration.
const PG_APPEND_ONLY_BEFORE: &str = "CREATE OR REPLACE FUNCTION pupitre_append_only() RETURNS trigger AS $$ \
     BEGIN RAISE EXCEPTION 'append-only table %', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("erasure_reports")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("request_id"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(integer("orders_cancelled"))
                .col(integer("documents_deleted"))
                .col(integer("consents_withdrawn"))
                .col(boolean("suppressed"))
                .col(timestamp_with_time_zone_null("scanned_at"))
                .col(boolean_null("scan_passed"))
                .col(text_null("scan"))
                .foreign_key(&mut fk("erasure_reports", "tenant_id", "tenants"))
                .foreign_key(&mut fk("erasure_reports", "request_id", "data_subject_requests"))
                .take(),
        )
        .await?;
        m.create_index(
            index("ux_erasure_reports_request", "erasure_reports", &["request_id"]).unique().take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("erasure_report_tables")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("report_id"))
                .col(integer("position"))
                .col(string("table_name"))
                .col(string("outcome"))
                .col(big_integer("row_count"))
                .col(big_integer("released_count"))
                .col(big_integer("references_cleared"))
                .col(big_integer("references_kept"))
                .col(string_null("legal_basis"))
                .col(timestamp_with_time_zone_null("kept_until"))
                .col(text_null("kept_ids"))
                .col(timestamp_with_time_zone("done_at"))
                .foreign_key(&mut fk("erasure_report_tables", "tenant_id", "tenants"))
                .foreign_key(&mut fk("erasure_report_tables", "report_id", "erasure_reports"))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "ux_erasure_report_tables_table",
                "erasure_report_tables",
                &["report_id", "table_name"],
            )
            .unique()
            .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("marketing_suppressions")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("email_hash"))
                .col(string("reason"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("marketing_suppressions", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "ux_marketing_suppressions_hash",
                "marketing_suppressions",
                &["tenant_id", "email_hash"],
            )
            .unique()
            .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("erasure_gate")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("person_id"))
                .col(uuid("pseudonym"))
                .col(timestamp_with_time_zone("opened_at"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_erasure_gate_tenant", "erasure_gate", &["tenant_id"])).await?;

        let db = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                // Which columns of which table the gate may rewrite; every other column must
                // stay as it was (compared as whole rows, so a column added later is covered).
                let cases: Vec<String> = GATED
                    .iter()
                    .map(|(t, refs, _)| {
                        let list: Vec<String> = refs.iter().map(|c| format!("'{c}'")).collect();
                        format!("WHEN '{t}' THEN ARRAY[{}]", list.join(", "))
                    })
                    .collect();
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION pupitre_pseudonymisation_passes(tbl text, o jsonb, n jsonb) \
                     RETURNS boolean AS $$ \
                     DECLARE refs text[]; g record; c text; ok boolean; changed boolean; \
                     BEGIN \
                       refs := CASE tbl {} END; \
                       IF refs IS NULL OR (o - refs) IS DISTINCT FROM (n - refs) THEN RETURN false; END IF; \
                       FOR g IN SELECT person_id::text AS person, pseudonym::text AS pseudonym \
                                FROM erasure_gate WHERE tenant_id = (o->>'tenant_id')::uuid LOOP \
                         ok := true; changed := false; \
                         FOREACH c IN ARRAY refs LOOP \
                           IF (o->>c) IS DISTINCT FROM (n->>c) THEN \
                             changed := true; \
                             IF (o->>c) IS DISTINCT FROM g.person OR (n->>c) IS DISTINCT FROM g.pseudonym THEN \
                               ok := false; \
                             END IF; \
                           END IF; \
                         END LOOP; \
                         IF ok AND changed THEN RETURN true; END IF; \
                       END LOOP; \
                       RETURN false; \
                     END; $$ LANGUAGE plpgsql",
                    cases.join(" ")
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION pupitre_append_only() RETURNS trigger AS $$ \
                     BEGIN \
                       IF TG_OP = 'UPDATE' AND pupitre_pseudonymisation_passes(TG_TABLE_NAME, to_jsonb(OLD), to_jsonb(NEW)) THEN \
                         RETURN NEW; \
                       END IF; \
                       RAISE EXCEPTION 'append-only table %', TG_TABLE_NAME; \
                     END; $$ LANGUAGE plpgsql",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION pupitre_erasure_gate_closed() RETURNS trigger AS $$ \
                     BEGIN \
                       IF EXISTS (SELECT 1 FROM erasure_gate WHERE id = NEW.id) THEN \
                         RAISE EXCEPTION 'the erasure gate must be closed before commit'; \
                       END IF; \
                       RETURN NULL; \
                     END; $$ LANGUAGE plpgsql",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE CONSTRAINT TRIGGER erasure_gate_closed AFTER INSERT ON erasure_gate \
                     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
                     EXECUTE FUNCTION pupitre_erasure_gate_closed()",
                )
                .await?;
            }
            _ => {
                // Dropped and recreated in one call, on one pooled connection (another
                // connection's cached schema could still list the dropped trigger).
                for (table, refs, others) in GATED {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_no_update; \
                         CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} \
                         WHEN NOT ({}) \
                         BEGIN SELECT RAISE(ABORT, 'append-only table {table}'); END",
                        sqlite_gate_passes(refs, others)
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
                db.execute_unprepared(PG_APPEND_ONLY_BEFORE).await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS erasure_gate_closed ON erasure_gate")
                    .await?;
                for f in [
                    "pupitre_erasure_gate_closed()",
                    "pupitre_pseudonymisation_passes(text, jsonb, jsonb)",
                ] {
                    db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {f}")).await?;
                }
            }
            _ => {
                for (table, _, _) in GATED {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_no_update; \
                         CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} \
                         BEGIN SELECT RAISE(ABORT, 'append-only table {table}'); END"
                    ))
                    .await?;
                }
            }
        }
        for t in
            ["erasure_gate", "marketing_suppressions", "erasure_report_tables", "erasure_reports"]
        {
            m.drop_table(Table::drop().table(t).if_exists().take()).await?;
        }
        Ok(())
    }
}
