//! A catalogue page whose cost does not grow with the catalogue.
//!
//! - `courses.next_start_at`: when the course's next upcoming, non-cancelled session starts, or
//!   [`no_upcoming_session`] when it has none. The application keeps it in the transactions
//!   that create, move or cancel sessions, and the jobs move it on once that session has
//!   started (`domain::catalog::next_start`). Rows present when this migration runs get a date
//!   in the past, so the first job round computes them.
//! - `courses.search_text`: title and summary through [`fold`], the text searched.
//! - One index per catalogue order, `(tenant_id, status, key, id)`: a page is an index range
//!   read of `first + 1` rows after the cursor's `(key, id)`, whatever the catalogue's size.
//! - Search: PostgreSQL, a trigram index (`pg_trgm`, a trusted extension) on `search_text`, so
//!   `LIKE '%word%'` is answered from the index; SQLite, an FTS5 table with the trigram
//!   tokenizer over the same text, kept in step with `courses` by triggers.
//!
//! [`fold`]: crate::catalogue::fold
//! [`no_upcoming_session`]: crate::catalogue::no_upcoming_session

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, Statement};

use crate::catalogue::fold;
use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000014_catalogue_order"
    }
}

/// The catalogue orders' indexes: (name, key column).
const ORDER_INDEXES: [(&str, &str); 3] = [
    ("ix_courses_order_start", "next_start_at"),
    ("ix_courses_order_price", "price_cents"),
    ("ix_courses_order_title", "title"),
];

const SQLITE_SEARCH: [&str; 4] = [
    "CREATE VIRTUAL TABLE course_search USING fts5(search_text, tokenize = 'trigram')",
    "CREATE TRIGGER courses_search_insert AFTER INSERT ON courses BEGIN \
       INSERT INTO course_search (rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER courses_search_update AFTER UPDATE OF search_text ON courses BEGIN \
       UPDATE course_search SET search_text = new.search_text WHERE rowid = old.rowid; END",
    "CREATE TRIGGER courses_search_delete AFTER DELETE ON courses BEGIN \
       DELETE FROM course_search WHERE rowid = old.rowid; END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement, and a NOT NULL column needs a default.
        m.alter_table(
            Table::alter()
                .table("courses")
                .add_column(
                    ColumnDef::new("next_start_at")
                        .timestamp_with_time_zone()
                        .not_null()
                        .default("1970-01-01T00:00:00+00:00"),
                )
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("courses")
                .add_column(ColumnDef::new("search_text").text().not_null().default(""))
                .take(),
        )
        .await?;
        let db = m.get_connection();
        let backend = m.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, title, summary FROM courses",
            ))
            .await?;
        for r in rows {
            let id: sea_orm_migration::sea_orm::prelude::Uuid = r.try_get("", "id")?;
            let (title, summary): (String, String) =
                (r.try_get("", "title")?, r.try_get("", "summary")?);
            let update = Query::update()
                .table("courses")
                .value("search_text", fold(&format!("{title} {summary}")))
                .and_where(Expr::col("id").eq(id))
                .to_owned();
            m.exec_stmt(update).await?;
        }
        for (name, key) in ORDER_INDEXES {
            m.create_index(index(name, "courses", &["tenant_id", "status", key, "id"])).await?;
        }
        // The jobs' search for courses whose next session has started, across tenants (dropped
        // by m20261204_000019: the jobs read the order index tenant by tenant).
        m.create_index(index("ix_courses_next_start", "courses", &["next_start_at"])).await?;
        // Replaced by the order indexes, which start with the same two columns.
        m.drop_index(Index::drop().name("ix_courses_tenant_status").table("courses").to_owned())
            .await?;
        match backend {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
                db.execute_unprepared(
                    "CREATE INDEX ix_courses_search ON courses USING gin (search_text gin_trgm_ops)",
                )
                .await?;
            }
            _ => {
                for sql in SQLITE_SEARCH {
                    db.execute_unprepared(sql).await?;
                }
                db.execute_unprepared(
                    "INSERT INTO course_search (rowid, search_text) SELECT rowid, search_text FROM courses",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("DROP INDEX IF EXISTS ix_courses_search").await?;
            }
            _ => {
                for t in ["insert", "update", "delete"] {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS courses_search_{t}"))
                        .await?;
                }
                db.execute_unprepared("DROP TABLE IF EXISTS course_search").await?;
            }
        }
        m.create_index(index("ix_courses_tenant_status", "courses", &["tenant_id", "status"]))
            .await?;
        m.drop_index(Index::drop().name("ix_courses_next_start").table("courses").to_owned())
            .await?;
        for (name, _) in ORDER_INDEXES {
            m.drop_index(Index::drop().name(name).table("courses").to_owned()).await?;
        }
        for c in ["search_text", "next_start_at"] {
            m.alter_table(Table::alter().table("courses").drop_column(c).take()).await?;
        }
        Ok(())
    }
}
