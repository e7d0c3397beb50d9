//! Foundation: tenants, policy versions, users, roles, guardian links, sign-in sessions and
//! refresh tokens, log-in throttling, the audit log and the consent ledger.
//!
//! The audit log and the consent ledger are append-only: triggers refuse UPDATE and DELETE on
//! both backends, so no code path (and no operator mistake through the application) can rewrite
//! history.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_foundation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("tenants")
                .col(pk_uuid("id"))
                .col(string_uniq("slug"))
                .col(string("name"))
                .col(string_null("host").unique_key())
                .col(string("dpo_name"))
                .col(string("dpo_email"))
                .col(json("settings"))
                .col(timestamp_with_time_zone("created_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("privacy_policy_versions")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("version"))
                .col(string("url"))
                .col(timestamp_with_time_zone("published_at"))
                .foreign_key(&mut fk("privacy_policy_versions", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "ux_policy_versions_tenant_version",
                "privacy_policy_versions",
                &["tenant_id", "version"],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("users")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string_null("email"))
                .col(string_null("password_hash"))
                .col(string_null("civility"))
                .col(string("first_name"))
                .col(string("last_name"))
                .col(string_null("phone"))
                .col(string_null("address_line1"))
                .col(string_null("address_line2"))
                .col(string_null("postal_code"))
                .col(string_null("city"))
                .col(string_null("country"))
                .col(date_null("birth_date"))
                .col(string("locale"))
                .col(string("status"))
                .col(timestamp_with_time_zone_null("last_contact_at"))
                .col(string_null("accepted_policy_version"))
                .col(timestamp_with_time_zone_null("accepted_policy_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("users", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(
            index("ux_users_tenant_email", "users", &["tenant_id", "email"]).unique().take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("user_roles")
                .col(uuid("user_id"))
                .col(string("role"))
                .col(uuid("tenant_id"))
                .col(timestamp_with_time_zone("granted_at"))
                .col(uuid_null("granted_by"))
                .primary_key(Index::create().col("user_id").col("role"))
                .foreign_key(&mut fk("user_roles", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_user_roles_tenant_role", "user_roles", &["tenant_id", "role"]))
            .await?;
        m.create_table(
            Table::create()
                .table("guardian_links")
                .col(uuid("guardian_id"))
                .col(uuid("minor_id"))
                .col(uuid("tenant_id"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("guardian_id").col("minor_id"))
                .foreign_key(&mut fk("guardian_links", "guardian_id", "users"))
                .foreign_key(&mut fk("guardian_links", "minor_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_guardian_links_minor", "guardian_links", &["minor_id"])).await?;
        m.create_table(
            Table::create()
                .table("auth_sessions")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("user_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(string_null("revoked_reason"))
                .foreign_key(&mut fk("auth_sessions", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_auth_sessions_user", "auth_sessions", &["user_id"])).await?;
        m.create_table(
            Table::create()
                .table("refresh_tokens")
                .col(pk_uuid("id"))
                .col(uuid("session_id"))
                .col(string_uniq("token_hash"))
                .col(timestamp_with_time_zone("issued_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(&mut fk("refresh_tokens", "session_id", "auth_sessions"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("login_failures")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("key_hash"))
                .col(timestamp_with_time_zone("at"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_login_failures_key_at", "login_failures", &["key_hash", "at"]))
            .await?;
        m.create_table(
            Table::create()
                .table("audit_log")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(timestamp_with_time_zone("at"))
                .col(uuid_null("actor_id"))
                .col(string("actor_roles"))
                .col(string("action"))
                .col(string_null("category"))
                .col(uuid_null("subject_id"))
                .col(string("purpose"))
                .col(json_null("details"))
                .col(string_null("request_id"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_audit_tenant_at", "audit_log", &["tenant_id", "at"])).await?;
        m.create_index(index("ix_audit_subject_at", "audit_log", &["subject_id", "at"])).await?;
        m.create_table(
            Table::create()
                .table("consent_records")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("subject_user_id"))
                .col(string_null("subject_visitor_id"))
                .col(string("purpose"))
                .col(boolean("granted"))
                .col(timestamp_with_time_zone("recorded_at"))
                .col(string("source"))
                .col(string_null("policy_version"))
                .col(uuid_null("recorded_by"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_consent_user",
            "consent_records",
            &["tenant_id", "subject_user_id", "purpose"],
        ))
        .await?;
        m.create_index(index(
            "ix_consent_visitor",
            "consent_records",
            &["tenant_id", "subject_visitor_id", "purpose"],
        ))
        .await?;

        for table in ["audit_log", "consent_records"] {
            append_only(m, table).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "consent_records",
            "audit_log",
            "login_failures",
            "refresh_tokens",
            "auth_sessions",
            "guardian_links",
            "user_roles",
            "users",
            "privacy_policy_versions",
            "tenants",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().take()).await?;
        }
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS pupitre_append_only()")
                .await?;
        }
        Ok(())
    }
}

/// Refuses UPDATE and DELETE on `table` at the database level.
async fn append_only(m: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let db = m.get_connection();
    match m.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            db.execute_unprepared(
                "CREATE OR REPLACE FUNCTION pupitre_append_only() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'append-only table %', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
            )
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION pupitre_append_only()"
            ))
            .await?;
        }
        _ => {
            for op in ["UPDATE", "DELETE"] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_{name} BEFORE {op} ON {table} \
                     BEGIN SELECT RAISE(ABORT, 'append-only table {table}'); END",
                    name = op.to_lowercase()
                ))
                .await?;
            }
        }
    }
    Ok(())
}
