//! Shop and payments: orders with their lines, Stripe webhook events (each processed once),
//! refunds, invoices and credit notes with per-tenant gap-free numbers, and the e-mail outbox.
//!
//! Invoice numbers come from `invoice_counters`: one row per tenant and series, advanced by an
//! UPDATE inside the paying transaction, so a rolled-back payment leaves no gap and concurrent
//! payments queue on the row. The numbered part of an invoice (number, snapshot, totals) cannot
//! be updated: a trigger refuses it on both backends. Only `buyer_id` may change (detached from
//! an erased account); rows may be deleted once their legal retention has passed.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000003_shop"
    }
}

/// A nullable reference to a user that survives the user's deletion (accounting records).
fn user_ref(table: &'static str, col: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to("users", "id")
        .on_delete(ForeignKeyAction::SetNull)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("orders")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("buyer_id"))
                .col(uuid_null("learner_id"))
                .col(string("status"))
                .col(string("currency"))
                .col(big_integer("subtotal_cents"))
                .col(big_integer("discount_cents"))
                .col(big_integer("tax_cents"))
                .col(big_integer("total_cents"))
                .col(big_integer("refunded_cents"))
                .col(string("idempotency_key"))
                .col(string("request_hash"))
                .col(string("billing_name"))
                .col(text("billing_address"))
                .col(string_null("payment_intent_id"))
                .col(string_null("client_secret"))
                .col(string_null("last_payment_error"))
                .col(timestamp_with_time_zone("hold_expires_at"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("orders", "tenant_id", "tenants"))
                .foreign_key(&mut user_ref("orders", "buyer_id"))
                .foreign_key(&mut user_ref("orders", "learner_id"))
                .take(),
        )
        .await?;
        m.create_index(
            index("ux_orders_idempotency", "orders", &["tenant_id", "buyer_id", "idempotency_key"])
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            index("ux_orders_payment_intent", "orders", &["payment_intent_id"]).unique().take(),
        )
        .await?;
        m.create_index(index(
            "ix_orders_tenant_status_hold",
            "orders",
            &["tenant_id", "status", "hold_expires_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_orders_tenant_buyer",
            "orders",
            &["tenant_id", "buyer_id", "created_at"],
        ))
        .await?;
        m.create_index(index("ix_orders_tenant_created", "orders", &["tenant_id", "created_at"]))
            .await?;

        m.create_table(
            Table::create()
                .table("order_lines")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("order_id"))
                .col(integer("position"))
                .col(uuid("session_id"))
                .col(uuid("course_id"))
                .col(string("description"))
                .col(big_integer("unit_price_cents"))
                .col(integer("tax_rate_bp"))
                .col(big_integer("discount_cents"))
                .col(big_integer("tax_cents"))
                .col(big_integer("total_cents"))
                .col(uuid_null("enrollment_id"))
                .foreign_key(&mut fk("order_lines", "order_id", "orders"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_order_lines_order", "order_lines", &["order_id", "position"]))
            .await?;

        m.create_table(
            Table::create()
                .table("payment_events")
                .col(string("id").primary_key())
                .col(uuid_null("tenant_id"))
                .col(string("event_type"))
                .col(string_null("payment_intent_id"))
                .col(uuid_null("order_id"))
                .col(string("outcome"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("processed_at"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_payment_events_order", "payment_events", &["order_id"])).await?;

        m.create_table(
            Table::create()
                .table("refunds")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("order_id"))
                .col(big_integer("amount_cents"))
                .col(string("status"))
                .col(string_null("reason"))
                .col(string_null("stripe_refund_id"))
                .col(uuid_null("requested_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .foreign_key(&mut fk("refunds", "order_id", "orders"))
                .foreign_key(&mut user_ref("refunds", "requested_by"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_refunds_order", "refunds", &["order_id"])).await?;

        m.create_table(
            Table::create()
                .table("invoice_counters")
                .col(uuid("tenant_id"))
                .col(string("series"))
                .col(big_integer("last_number"))
                .primary_key(Index::create().col("tenant_id").col("series"))
                .foreign_key(&mut fk("invoice_counters", "tenant_id", "tenants"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("invoices")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("order_id"))
                .col(uuid_null("buyer_id"))
                .col(string("series"))
                .col(big_integer("seq"))
                .col(string("number"))
                .col(uuid_null("refund_id"))
                .col(uuid_null("credits_invoice_id"))
                .col(string("currency"))
                .col(big_integer("total_cents"))
                .col(big_integer("tax_cents"))
                .col(text("snapshot"))
                .col(timestamp_with_time_zone("issued_at"))
                .foreign_key(&mut fk("invoices", "tenant_id", "tenants"))
                .foreign_key(&mut user_ref("invoices", "buyer_id"))
                .take(),
        )
        .await?;
        m.create_index(
            index("ux_invoices_number", "invoices", &["tenant_id", "series", "seq"])
                .unique()
                .take(),
        )
        .await?;
        m.create_index(index("ix_invoices_order", "invoices", &["order_id"])).await?;
        // One invoice per order, one credit note per refund.
        m.create_index(index("ux_invoices_refund", "invoices", &["refund_id"]).unique().take())
            .await?;

        m.create_table(
            Table::create()
                .table("outbox")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("recipient_id"))
                .col(string("kind"))
                .col(text("payload"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .foreign_key(&mut fk("outbox", "tenant_id", "tenants"))
                .foreign_key(&mut user_ref("outbox", "recipient_id"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_outbox_status", "outbox", &["status", "created_at"])).await?;

        immutable(
            m,
            "invoices",
            &[
                "tenant_id",
                "order_id",
                "series",
                "seq",
                "number",
                "refund_id",
                "credits_invoice_id",
                "currency",
                "total_cents",
                "tax_cents",
                "snapshot",
                "issued_at",
            ],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "outbox",
            "invoices",
            "invoice_counters",
            "refunds",
            "payment_events",
            "order_lines",
            "orders",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().take()).await?;
        }
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS pupitre_immutable()")
                .await?;
        }
        Ok(())
    }
}

/// Refuses any UPDATE that touches `cols` of `table` (the other columns stay writable).
async fn immutable(m: &SchemaManager<'_>, table: &str, cols: &[&str]) -> Result<(), DbErr> {
    let db = m.get_connection();
    let list = cols.join(", ");
    match m.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            db.execute_unprepared(
                "CREATE OR REPLACE FUNCTION pupitre_immutable() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'immutable columns of %', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
            )
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_immutable BEFORE UPDATE OF {list} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION pupitre_immutable()"
            ))
            .await?;
        }
        _ => {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_immutable BEFORE UPDATE OF {list} ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'immutable columns of {table}'); END"
            ))
            .await?;
        }
    }
    Ok(())
}
