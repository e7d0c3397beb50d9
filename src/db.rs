//! Database connection, migrations and the SQL statement counter.
//!
//! The pool is handed to domain services only; resolvers and HTTP handlers never touch it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};

/// Counts every SQL statement sent by this process; exported in `/metrics` and used by tests
/// that prove no SQL runs (depth limit) or that statement counts do not grow with list sizes.
#[derive(Clone, Default, Debug)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens the pool for `url` (SQLite files are created on first use).
pub async fn connect(
    url: &str,
    max_connections: u32,
) -> Result<(DatabaseConnection, StatementCounter), DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // A connection is checked (one round trip) before it is handed out only when it sat
        // idle for a second or more, as HikariCP does: sqlx's default checks every acquire,
        // which cost each statement one more round trip (a catalogue page: 2 statements, 2
        // more round trips). A hot connection that broke fails one statement; sqlx's check on
        // release (kept: it also closes a connection left mid-statement) then closes it, and
        // the pool opens another.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Planner statistics, checked (and taken where missing) as each connection
                // opens: a connection reads them only then (see `optimize`).
                .pragma("optimize", "0x10002")
        });
    }
    let mut db = Database::connect(opts).await?;
    let counter = StatementCounter::default();
    let c = counter.0.clone();
    db.set_metric_callback(move |_info| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Keeps SQLite's planner statistics current (`PRAGMA optimize`, every table, an approximate
/// ANALYZE where statistics are missing or stale). Without them SQLite prefers any index that
/// starts with `tenant_id` (every scoped query has that equality) to the primary key of an
/// `id IN (…)` lookup, and reads the tenant's whole table: a catalogue page over 100,000 courses
/// went from 1,269 to 126 requests per second. Run by each jobs round and, through the pool's
/// connect options, as each connection opens: SQLite loads statistics when a connection opens,
/// so connections already open keep planning with the old ones until the pool replaces them
/// (idle 10 min, at most 30 min). PostgreSQL's autovacuum does the same there.
pub async fn optimize(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA optimize=0x10002").await?;
    }
    Ok(())
}

/// True when the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// Which SQL dialect the pool speaks.
pub fn backend(db: &DatabaseConnection) -> DatabaseBackend {
    db.get_database_backend()
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

    /// `.cargo/config.toml` builds the bundled SQLite without memory statistics (with them,
    /// every allocation of every connection takes one process-wide lock: docs/BENCHMARKS.md,
    /// fifth pass) and with the query planner stability guarantee (without it, a cached
    /// statement whose plan could depend on a bound value is prepared again at every
    /// execution: sixth pass). A build that lost either fails here instead of running slower
    /// unseen.
    #[tokio::test]
    async fn sqlite_is_built_with_the_options_pupitre_sets() {
        let Ok((db, _)) = super::connect("sqlite::memory:", 1).await else {
            panic!("an in-memory SQLite database opens");
        };
        let sql = "PRAGMA compile_options";
        let rows = db
            .query_all_raw(Statement::from_string(DatabaseBackend::Sqlite, sql))
            .await
            .unwrap_or_default();
        let options: Vec<String> =
            rows.iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()).collect();
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "options read: {options:?}");
        assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
        assert!(options.iter().any(|o| o == "ENABLE_QPSG"), "{options:?}");
    }
}
