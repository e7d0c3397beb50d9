//! The personal-data registry against the live schema (the way Moodle's `test_table_coverage`
//! checks its privacy providers): on SQLite and PostgreSQL, every table of the migrated
//! database is registered and every person reference or personal-looking column is
//! classified; and a migration that adds a table with a user reference, or a personal column
//! to a registered table, without registering it, is caught and named.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::TestApp;
use pupitre::domain::privacy::schema::live_schema;
use pupitre::policy::registry::{self, Gap};
use sea_orm::ConnectionTrait;

async fn check(app: TestApp) {
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let live = live_schema(&conn).await.expect("schema reads");
    assert!(live.tables.len() >= 27, "the schema was read: {:?}", live.tables.keys());
    assert_eq!(
        live.tables["enrollments"]
            .iter()
            .find(|c| c.name == "learner_id")
            .and_then(|c| c.references.clone()),
        Some("users".to_owned()),
        "foreign keys are read"
    );
    let gaps = registry::gaps(&live);
    assert!(
        gaps.is_empty(),
        "{} on {}:\n{}",
        "the registry and the schema disagree",
        app.backend,
        gaps.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    );

    // A later migration adds a table with a user reference and a personal column to a
    // registered table, and forgets the registry.
    conn.execute_unprepared(
        "CREATE TABLE loyalty_points (id uuid PRIMARY KEY, holder uuid REFERENCES users(id), points integer)",
    )
    .await
    .expect("test migration");
    conn.execute_unprepared("ALTER TABLE courses ADD COLUMN coach_phone text")
        .await
        .expect("test migration");
    let gaps = registry::gaps(&live_schema(&conn).await.expect("schema reads"));
    assert_eq!(
        gaps,
        vec![
            Gap::UnregisteredTable("loyalty_points".into()),
            Gap::UnclassifiedColumn { table: "courses".into(), column: "coach_phone".into() },
        ],
        "on {}",
        app.backend
    );

    // A table the registry names but the database lost is stale.
    conn.execute_unprepared("DROP TABLE loyalty_points").await.expect("drop");
    conn.execute_unprepared("DROP TABLE course_tags").await.expect("drop");
    let gaps = registry::gaps(&live_schema(&conn).await.expect("schema reads"));
    assert!(gaps.contains(&Gap::Stale { table: "course_tags".into(), column: None }), "{gaps:?}");
}

#[tokio::test]
async fn registry_covers_the_sqlite_schema() {
    check(TestApp::sqlite().await).await;
}

#[tokio::test]
async fn registry_covers_the_postgres_schema() {
    let Some(app) = TestApp::postgres().await else { return };
    check(app).await;
}

/// `pupitre processing-record` prints the record of processing (art. 30) made from the registry
/// and the matrix: JSON on stdout (logs stay on stderr), one activity per category.
#[test]
fn processing_record_command_prints_the_record_from_the_code() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pupitre"))
        .args(["processing-record", "--format", "json"])
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let activities = record["activities"].as_array().expect("activities");
    assert_eq!(activities.len(), pupitre::policy::Category::ALL.len());
    let billing = activities.iter().find(|a| a["category"] == "billing").expect("billing");
    assert!(billing["stored_in"].as_array().expect("list").contains(&"invoices.snapshot".into()));
    assert_eq!(
        billing["recipients"][0],
        "Stripe (payment processor): amount, currency and payment ids only"
    );
    let marketing = billing["access"]
        .as_array()
        .expect("access")
        .iter()
        .find(|a| a["role"] == "marketing")
        .expect("marketing column");
    assert_eq!(marketing["access"], "—", "marketing never reads billing");

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_pupitre"))
        .args(["processing-record", "--format", "pdf"])
        .output()
        .expect("the binary runs");
    assert_eq!(bad.status.code(), Some(2), "an unknown format is a usage error");
}
