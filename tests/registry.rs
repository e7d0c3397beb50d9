//! The personal-data registry against the live schema (the way Moodle's `test_table_coverage`
//! checks its privacy providers): on SQLite and PostgreSQL, every table of the migrated
//! database is registered and every person reference or personal-looking column is
//! classified; and a migration that adds a table with a user reference, or a personal column
//! to a registered table, without registering it, is caught and named.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::{TestApp, demo};
use pupitre::domain::privacy::schema::live_schema;
use pupitre::policy::registry::{self, Gap};
use sea_orm::ConnectionTrait;
use serde_json::json;

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

/// `processingRecord` is the privacy officer's: it is the record the command prints (one
/// activity per category of the matrix, the access column computed from the table), headed by
/// the tenant; every other role, and an anonymous caller, gets `FORBIDDEN` and no data.
async fn processing_record_field(app: TestApp) {
    const Q: &str = "{ processingRecord { controller dpo activities { category purposes legalBasis \
                     access { role access } storedIn retention onErasure recipients } } }";
    let dpo = app.token(demo::DPO).await;
    let got = app.gql(Some(&dpo), Q, json!({})).await;
    let record = &got.assert_ok()["processingRecord"];
    let expected = serde_json::to_value(pupitre::policy::processing::record()).expect("json");
    let activities = record["activities"].as_array().expect("activities");
    assert_eq!(activities.len(), pupitre::policy::Category::ALL.len(), "one per category");
    for (got, want) in activities.iter().zip(expected.as_array().expect("array")) {
        for (gql, rust) in [
            ("category", "category"),
            ("purposes", "purposes"),
            ("legalBasis", "legal_basis"),
            ("storedIn", "stored_in"),
            ("retention", "retention"),
            ("onErasure", "on_erasure"),
            ("recipients", "recipients"),
            ("access", "access"),
        ] {
            assert_eq!(got[gql], want[rust], "{gql} of {}", want["category"]);
        }
    }
    let billing = activities.iter().find(|a| a["category"] == "billing").expect("billing");
    assert_eq!(
        billing["recipients"],
        json!(["Stripe (payment processor): amount, currency and payment ids only"])
    );
    assert!(record["dpo"].as_str().is_some_and(|d| d.contains('@')), "{record}");
    assert!(!record["controller"].as_str().unwrap_or_default().is_empty());

    for who in [demo::ADMIN, demo::SUPPORT, demo::LEARNER, demo::MARKETING, demo::REVIEWER] {
        let token = app.token(who).await;
        let got = app.gql(Some(&token), Q, json!({})).await;
        assert_eq!(got.first_code().as_deref(), Some("FORBIDDEN"), "{who}");
        assert!(got.data().is_null() || got.data()["processingRecord"].is_null(), "{who}");
    }
    let got = app.gql(None, Q, json!({})).await;
    assert_eq!(got.first_code().as_deref(), Some("UNAUTHENTICATED"), "anonymous");
}

on_both_databases!(processing_record_field);
