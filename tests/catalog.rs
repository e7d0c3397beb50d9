//! The catalogue: public browsing (filters, sorting, cursor pagination, drafts hidden, no
//! personal data, CDN caching headers), admin management with validation, and the
//! statement-count proof that nested lists are batched. SQLite and PostgreSQL.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::collections::HashSet;

use common::{EmptyDatabase, TestApp, demo};
use serde_json::{Value, json};

const SEED: &str = include_str!("../seed/catalog.json");

fn seed() -> Vec<Value> {
    serde_json::from_str::<Value>(SEED)
        .expect("seed")
        .get("courses")
        .and_then(Value::as_array)
        .cloned()
        .expect("courses")
}

fn published() -> Vec<Value> {
    seed().into_iter().filter(|c| c["published"] == true).collect()
}

const PAGE: &str =
    "query($first: Int, $after: String, $filter: CourseFilterInput, $sort: CourseSort) {
  courses(first: $first, after: $after, filter: $filter, sort: $sort) {
    edges { cursor node { slug title format level language price { amountCents currency } tags
      sessions { id startsAt seatsLeft instructor { displayName } } lessons { title } } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } }";

async fn page(app: &TestApp, vars: Value) -> (Vec<Value>, Value) {
    let r = app.gql(None, PAGE, vars).await;
    let d = r.assert_ok();
    let nodes = d["courses"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    (nodes, d["courses"]["pageInfo"].clone())
}

fn slugs(nodes: &[Value]) -> Vec<String> {
    nodes.iter().map(|n| n["slug"].as_str().expect("slug").to_owned()).collect()
}

async fn visitors_filter_sort_and_page_through_the_published_catalogue(app: TestApp) {
    let all = published();
    // Cursor round trip: pages of 7 give every published course exactly once, in the order of
    // one big page.
    let (one_page, info) = page(&app, json!({ "first": 50 })).await;
    assert_eq!(info["hasNextPage"], false);
    assert_eq!(one_page.len(), all.len(), "drafts are not listed");
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (nodes, info) = page(&app, json!({ "first": 7, "after": after })).await;
        assert!(nodes.len() <= 7);
        assert_eq!(info["hasPreviousPage"], after.is_some());
        walked.extend(slugs(&nodes));
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(walked, slugs(&one_page));
    assert_eq!(walked.iter().collect::<HashSet<_>>().len(), all.len());

    // Filters, each checked against the seed data.
    let count = |f: &dyn Fn(&Value) -> bool| all.iter().filter(|c| f(c)).count();
    let cases: Vec<(Value, usize)> = vec![
        (json!({ "format": "ONLINE" }), count(&|c| c["format"] == "online")),
        (json!({ "level": "ADVANCED" }), count(&|c| c["level"] == "advanced")),
        (json!({ "language": "en" }), count(&|c| c["language"] == "en")),
        (
            json!({ "tag": "anglais" }),
            count(&|c| c["tags"].as_array().is_some_and(|t| t.contains(&json!("anglais")))),
        ),
        (
            json!({ "minPriceCents": 1, "maxPriceCents": 30000 }),
            count(&|c| (1..=30000).contains(&c["price_cents"].as_i64().unwrap_or(-1))),
        ),
        (json!({ "maxPriceCents": 0 }), count(&|c| c["price_cents"] == 0)),
        (
            json!({ "hasUpcomingSession": false }),
            count(&|c| {
                !c["sessions"].as_array().is_some_and(|s| {
                    s.iter().any(|s| s["start_offset_days"].as_i64().unwrap_or(0) > 0)
                })
            }),
        ),
        (
            json!({ "search": "TOEIC" }),
            count(&|c| {
                let t = format!("{} {}", c["title"], c["summary"]).to_lowercase();
                t.contains("toeic")
            }),
        ),
        (
            json!({ "format": "IN_PERSON", "language": "fr" }),
            count(&|c| c["format"] == "in_person" && c["language"] == "fr"),
        ),
    ];
    for (filter, expected) in cases {
        let (nodes, _) = page(&app, json!({ "first": 50, "filter": filter })).await;
        assert_eq!(nodes.len(), expected, "filter {filter}");
        assert!(expected > 0, "the seed exercises filter {filter}");
    }
    let (nodes, _) = page(&app, json!({ "first": 50, "filter": { "format": "ONLINE" } })).await;
    assert!(nodes.iter().all(|n| n["format"] == "ONLINE"));

    // Sorting.
    let (by_price, _) = page(&app, json!({ "first": 50, "sort": "PRICE" })).await;
    let prices: Vec<i64> =
        by_price.iter().map(|n| n["price"]["amountCents"].as_i64().unwrap_or(-1)).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let (by_start, _) = page(&app, json!({ "first": 50, "sort": "START_DATE" })).await;
    let next: Vec<Option<String>> = by_start
        .iter()
        .map(|n| {
            n["sessions"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| s["startsAt"].as_str().map(str::to_owned))
        })
        .collect();
    let firsts: Vec<&String> = next.iter().flatten().collect();
    assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "upcoming sessions in start order");
    let first_none = next.iter().position(Option::is_none).unwrap_or(next.len());
    assert!(
        next[first_none..].iter().all(Option::is_none),
        "courses without an upcoming session come last"
    );
    let (by_title, _) = page(&app, json!({ "first": 50, "sort": "TITLE" })).await;
    let titles: Vec<&str> = by_title.iter().map(|n| n["title"].as_str().expect("title")).collect();
    let mut expected: Vec<&str> =
        all.iter().map(|c| c["title"].as_str().expect("seed title")).collect();
    // The database's collation decides; the test databases compare bytes (SQLite's BINARY,
    // PostgreSQL's C.UTF-8), which is the order of Rust's `str`.
    expected.sort_unstable();
    assert_eq!(titles, expected);

    // Over the cap, or a forged cursor: bad input naming the argument.
    for (vars, field) in [
        (json!({ "first": 51 }), "first"),
        (json!({ "first": 0 }), "first"),
        (json!({ "after": "bm9wZQ" }), "after"),
        (json!({ "after": "Y291cnNlLW9mZnNldDoxODQ0Njc0NDA3MzcwOTU1MTYxNQ" }), "after"),
    ] {
        let r = app.gql(None, PAGE, vars).await;
        assert_eq!(r.code_at("courses").as_deref(), Some("BAD_USER_INPUT"));
        assert_eq!(r.errors()[0]["extensions"]["field"], field);
    }

    // Instructors appear by display name only; nothing personal in the public catalogue.
    let text = serde_json::to_string(&one_page).expect("json");
    assert!(text.contains("\"displayName\":\"Inès M.\""));
    assert!(!text.contains('@') && !text.contains("Moreau"));
}

async fn drafts_are_invisible_to_visitors_and_visible_to_admins(app: TestApp) {
    let draft = seed().into_iter().find(|c| c["published"] == false).expect("a draft in the seed");
    let slug = draft["slug"].as_str().expect("slug");
    let q = "query($s: String!) { course(slug: $s) { slug status } }";
    let r = app.gql(None, q, json!({ "s": slug })).await;
    assert!(r.assert_ok()["course"].is_null());
    let learner = app.token(demo::LEARNER).await;
    assert!(app.gql(Some(&learner), q, json!({ "s": slug })).await.assert_ok()["course"].is_null());
    let admin = app.token(demo::ADMIN).await;
    assert_eq!(
        app.gql(Some(&admin), q, json!({ "s": slug })).await.assert_ok()["course"]["status"],
        "DRAFT"
    );
}

async fn anonymous_catalogue_reads_are_cacheable_and_personal_ones_are_not(app: TestApp) {
    let url = format!(
        "{}?query={}",
        app.url("/graphql"),
        "%7Bcourses(first%3A3)%7Bedges%7Bnode%7Bslug%20title%7D%7D%7D%7D"
    );
    let r = app.client.get(&url).send().await.expect("get");
    assert_eq!(
        r.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("public, max-age=60")
    );
    assert!(
        r.headers()
            .get("vary")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("Authorization"))
    );
    let token = app.token(demo::LEARNER).await;
    let r = app.client.get(&url).bearer_auth(&token).send().await.expect("get");
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let mixed = format!(
        "{}?query={}",
        app.url("/graphql"),
        "%7Bcourses(first%3A3)%7Bedges%7Bnode%7Bslug%7D%7D%7D%20visitorConsents(visitorId%3A%22visitor-0123456789abcdef%22)%7Bgranted%7D%7D"
    );
    let r = app.client.get(&mixed).send().await.expect("get");
    assert_eq!(
        r.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "a visitor's own data is never cached"
    );
}

const CREATE: &str = "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id slug status price { amountCents currency } tags } } }";

fn course_input(slug: &str) -> Value {
    json!({ "slug": slug, "title": "Atelier d'écriture", "summary": "Écrire chaque semaine.", "description": "Un atelier.",
            "level": "BEGINNER", "format": "IN_PERSON", "language": "fr", "priceCents": 0, "tags": ["ecriture", "Culture"] })
}

async fn admins_manage_courses_sessions_and_lessons_with_validation(app: TestApp) {
    let admin = app.token(demo::ADMIN).await;
    let r =
        app.gql(Some(&admin), CREATE, json!({ "input": course_input("atelier-ecriture") })).await;
    let course = r.assert_ok()["createCourse"]["course"].clone();
    assert_eq!(course["status"], "DRAFT");
    assert_eq!(course["tags"], json!(["culture", "ecriture"]));
    let id = course["id"].as_str().expect("id").to_owned();
    let courses = app.count("courses").await;

    // Slug conflict, bad input, non-admins: nothing written.
    let r =
        app.gql(Some(&admin), CREATE, json!({ "input": course_input("atelier-ecriture") })).await;
    assert_eq!(r.code_at("createCourse").as_deref(), Some("CONFLICT"));
    let bad: Vec<(&str, Value, &str)> = vec![
        ("slug", json!("Bad Slug"), "input.slug"),
        ("priceCents", json!(-1), "input.priceCents"),
        ("currency", json!("EURO"), "input.currency"),
        ("title", json!(""), "input.title"),
        ("language", json!("french"), "input.language"),
        ("taxRateBp", json!(20000), "input.taxRateBp"),
        ("tags", json!(["ok", "not ok"]), "input.tags.1"),
    ];
    for (key, value, field) in bad {
        let mut input = course_input("another-slug");
        input[key] = value;
        let r = app.gql(Some(&admin), CREATE, json!({ "input": input })).await;
        assert_eq!(
            r.code_at("createCourse").as_deref(),
            Some("BAD_USER_INPUT"),
            "{key}: {}",
            r.body
        );
        assert_eq!(r.errors()[0]["extensions"]["field"], field, "{key}");
    }
    let support = app.token(demo::SUPPORT).await;
    let r = app.gql(Some(&support), CREATE, json!({ "input": course_input("by-support") })).await;
    assert_eq!(r.code_at("createCourse").as_deref(), Some("FORBIDDEN"));
    assert_eq!(app.count("courses").await, courses);

    // Sessions.
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let learner = app.user_id(demo::LEARNER).await;
    let start = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::days(40)).to_rfc3339();
    let create_session = "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id capacity seatsLeft location instructor { displayName } } } }";
    let base = json!({ "courseId": id, "startsAt": start, "endsAt": end, "capacity": 8, "location": "Lyon, salle 2", "instructorId": instructor });
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "endsAt": start }), "input.endsAt"),
        (json!({ "capacity": 0 }), "input.capacity"),
        (json!({ "location": null }), "input.location"),
        (json!({ "instructorId": learner }), "input.instructorId"),
        (json!({ "virtualRoom": "http://insecure.example" }), "input.virtualRoom"),
    ];
    for (over, field) in cases {
        let mut input = base.clone();
        for (k, v) in over.as_object().expect("object") {
            input[k] = v.clone();
        }
        let r = app.gql(Some(&admin), create_session, json!({ "input": input })).await;
        r.assert_bad_input(field);
    }
    let r = app.gql(Some(&admin), create_session, json!({ "input": base })).await;
    let session = r.assert_ok()["createSession"]["session"].clone();
    assert_eq!(session["seatsLeft"], 8);
    assert_eq!(session["instructor"]["displayName"], "Inès M.");

    // A format the sessions do not fit is refused (this in-person session has no virtual room).
    let r = app
        .gql(Some(&admin), "mutation($id: ID!) { updateCourse(input: {courseId: $id, format: VIRTUAL_CLASS}) { course { id } } }", json!({ "id": id }))
        .await;
    r.assert_bad_input("input.format");

    // Lessons keep their order; inserting shifts the following ones.
    let add = "mutation($input: AddLessonInput!) { addLesson(input: $input) { lesson { position title } } }";
    for title in ["Deux", "Trois"] {
        app.gql(Some(&admin), add, json!({ "input": { "courseId": id, "title": title } }))
            .await
            .assert_ok();
    }
    app.gql(
        Some(&admin),
        add,
        json!({ "input": { "courseId": id, "title": "Un", "position": 1 } }),
    )
    .await
    .assert_ok();
    let r = app
        .gql(
            Some(&admin),
            add,
            json!({ "input": { "courseId": id, "title": "Trop loin", "position": 9 } }),
        )
        .await;
    r.assert_bad_input("input.position");
    // Move, rename, remove: the outline stays 1..n in the new order.
    let add_r =
        app.gql(Some(&admin), add, json!({ "input": { "courseId": id, "title": "Quatre" } })).await;
    let four = add_r.assert_ok()["addLesson"]["lesson"]["position"].clone();
    assert_eq!(four, 4);
    let lessons_q = "query($s: String!) { course(slug: $s) { lessons { id position title } } }";
    let ids = |r: &common::Gql| -> Vec<(String, String)> {
        r.data()["course"]["lessons"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|l| {
                        (
                            l["id"].as_str().unwrap_or("").to_owned(),
                            l["title"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = ids(&app.gql(Some(&admin), lessons_q, json!({ "s": "atelier-ecriture" })).await);
    let update = "mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { lesson { position title } } }";
    let r = app
        .gql(
            Some(&admin),
            update,
            json!({ "input": { "lessonId": before[3].0, "position": 1, "title": "Zéro" } }),
        )
        .await;
    assert_eq!(r.assert_ok()["updateLesson"]["lesson"], json!({ "position": 1, "title": "Zéro" }));
    let r = app
        .gql(Some(&admin), update, json!({ "input": { "lessonId": before[0].0, "position": 7 } }))
        .await;
    r.assert_bad_input("input.position");
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { removeLesson(input: {lessonId: $id}) { removedLessonId } }",
        json!({ "id": before[1].0 }),
    )
    .await
    .assert_ok();
    let after = app.gql(Some(&admin), lessons_q, json!({ "s": "atelier-ecriture" })).await;
    let titles: Vec<String> = ids(&after).into_iter().map(|(_, t)| t).collect();
    assert_eq!(titles, ["Zéro", "Un", "Trois"]);
    let positions: Vec<i64> = after.data()["course"]["lessons"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l["position"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(positions, [1, 2, 3]);
    // Put the outline back as the checks below expect it.
    app.gql(
        Some(&admin),
        update,
        json!({ "input": { "lessonId": before[3].0, "title": "Deux", "position": 2 } }),
    )
    .await
    .assert_ok();

    // Publish: visible with its outline; unpublish and archive: gone again.
    let q = "{ course(slug: \"atelier-ecriture\") { title lessons { position title } sessions { seatsLeft } } }";
    assert!(app.gql(None, q, json!({})).await.assert_ok()["course"].is_null());
    for (m, visible) in [
        ("publishCourse", true),
        ("unpublishCourse", false),
        ("publishCourse", true),
        ("archiveCourse", false),
    ] {
        let mutation = format!(
            "mutation($id: ID!) {{ {m}(input: {{courseId: $id}}) {{ course {{ status }} }} }}"
        );
        app.gql(Some(&admin), &mutation, json!({ "id": id })).await.assert_ok();
        let r = app.gql(None, q, json!({})).await;
        assert_eq!(!r.assert_ok()["course"].is_null(), visible, "after {m}");
        if visible {
            let titles: Vec<&str> = r.data()["course"]["lessons"]
                .as_array()
                .expect("lessons")
                .iter()
                .filter_map(|l| l["title"].as_str())
                .collect();
            assert_eq!(titles, ["Un", "Deux", "Trois"]);
        }
    }
    // Audit trail of catalogue changes.
    let dpo = app.token(demo::DPO).await;
    let log = app
        .gql(Some(&dpo), "{ auditLog(first: 20) { edges { node { action } } } }", json!({}))
        .await;
    let text = log.assert_ok().to_string();
    for action in [
        "course.created",
        "course.published",
        "course.archived",
        "session.created",
        "lesson.created",
    ] {
        assert!(text.contains(action), "{action} audited");
    }
}

async fn the_catalogue_query_costs_the_same_statements_for_5_and_50_courses(app: TestApp) {
    app.gql(None, "{ __typename }", json!({})).await.assert_ok();
    let mut counts = Vec::new();
    for first in [5, 50] {
        let before = app.app_statements.get();
        let (nodes, _) = page(&app, json!({ "first": first })).await;
        counts.push(app.app_statements.get() - before);
        assert!(nodes.len() >= first.min(38), "the page is full");
    }
    assert_eq!(counts[0], counts[1], "statements for first: 5 and first: 50: {counts:?}");
    assert_eq!(counts[0], 3, "courses with their tags, sessions with instructors, lessons");
    // What the page's joined statements read equals what each course's own readers give.
    let (nodes, _) = page(&app, json!({ "first": 50 })).await;
    let one = "query($slug: String!) { course(slug: $slug) { tags sessions { id startsAt seatsLeft instructor { displayName } } } }";
    let mut tagged = 0;
    let mut named = 0;
    for node in &nodes {
        let alone = app.gql(None, one, json!({ "slug": node["slug"] })).await;
        let alone = &alone.assert_ok()["course"];
        assert_eq!(node["tags"], alone["tags"], "{}", node["slug"]);
        assert_eq!(node["sessions"], alone["sessions"], "{}", node["slug"]);
        tagged += usize::from(node["tags"].as_array().is_some_and(|t| t.len() > 1));
        named += node["sessions"]
            .as_array()
            .map_or(0, |s| s.iter().filter(|s| s["instructor"].is_object()).count());
    }
    assert!(tagged > 0 && named > 0, "the demo has courses with tags and named instructors");
}

/// Rows read by position (the catalogue's hot statements): names checked on the first row;
/// types checked once per column on PostgreSQL (its columns are typed for the whole result, so
/// a NULL on the first row is checked against its column's type), per value on SQLite.
async fn rows_are_read_by_position_with_their_types_checked(db: EmptyDatabase) {
    use pupitre::domain::in_order::{InOrder, read_rows};
    use sea_orm::{ConnectionTrait, Database, Statement};
    let conn = Database::connect(db.url.as_str()).await.expect("connect");
    let sql = "SELECT CAST(7 AS BIGINT) AS a, 'x' AS b, NULL AS c
               UNION ALL SELECT 8, 'y', 'z' ORDER BY a";
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("rows");
    let right = |r: &mut InOrder<'_>| {
        Ok((r.read::<i64>("a")?, r.read::<String>("b")?, r.read::<Option<String>>("c")?))
    };
    assert_eq!(
        read_rows(&rows, right).expect("read"),
        [(7, "x".to_owned(), None), (8, "y".to_owned(), Some("z".to_owned()))]
    );
    let a_as_text = |r: &mut InOrder<'_>| r.read::<String>("a");
    assert!(read_rows(&rows, a_as_text).is_err(), "a number read as text");
    let c_as_number = |r: &mut InOrder<'_>| {
        Ok((r.read::<i64>("a")?, r.read::<String>("b")?, r.read::<Option<i64>>("c")?))
    };
    assert!(read_rows(&rows, c_as_number).is_err(), "text read as a number");
    let b_as_c = |r: &mut InOrder<'_>| Ok((r.read::<i64>("a")?, r.read::<String>("c")?));
    assert!(read_rows(&rows, b_as_c).is_err(), "b read as c");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_are_read_by_position_with_their_types_checked() {
    rows_are_read_by_position_with_their_types_checked(EmptyDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rows_are_read_by_position_with_their_types_checked() {
    let Some(db) = EmptyDatabase::postgres().await else { return };
    rows_are_read_by_position_with_their_types_checked(db).await;
}

/// PostgreSQL plans a prepared statement again at each execution while it judges the plan for
/// the values bound cheaper than its generic plan; a page whose limit is a parameter was planned
/// every time (as long as it took to run). A page's statement, run as Pupitre runs it (prepared,
/// on one connection), must be on its generic plan after a few executions, for page 1 and for a
/// page after a cursor, in every order; and that generic plan must read the order's index from
/// the tenant on, the cursor's key in its index condition, with no sort (an index on the key
/// alone, the jobs' until `m20261204_000019`, gave a plan that read every tenant's courses).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_one_plan_for_a_catalogue_page() {
    use pupitre::domain::catalog::{
        self, After, CourseFilter, CourseSort, PageColumns, PageRequest, SortKey,
    };
    use pupitre::entities::course;
    use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder};
    use sea_orm::{
        ColumnTrait, ConnectionTrait, Database, DbBackend, EntityTrait, IdenStatic, QueryFilter,
        QueryOrder, QuerySelect, Statement,
    };
    let Some(app) = TestApp::postgres().await else { return };
    let tenant = app.services().tenants.by_slug("demo").await.expect("tenant").expect("demo");
    let columns = PageColumns { description: false, tags: true };
    let mut opts = sea_orm::ConnectOptions::new(app.settings().database_url.clone());
    opts.max_connections(1).min_connections(1);
    let conn = Database::connect(opts).await.expect("one connection");
    // A catalogue of some size: at the demo's 38 courses even a plan for an unknown limit is
    // cheap, and PostgreSQL keeps it either way.
    conn.execute_unprepared(&format!(
        "INSERT INTO courses (id, tenant_id, slug, title, summary, description, level, format,
           language, price_cents, currency, tax_rate_bp, status, created_at, updated_at,
           next_start_at, search_text)
         SELECT gen_random_uuid(), '{}', 'more-' || i, 'More ' || i, 'More.', '', 'beginner',
           'online', 'fr', 1000 + i, 'EUR', 2000, 'published', now(), now(),
           now() + i * interval '1 hour', 'more ' || i
         FROM generate_series(1, 1000) AS i;
         ANALYZE",
        tenant.id
    ))
    .await
    .expect("1,000 more courses");
    let filter = CourseFilter::default();
    for (n, sort) in
        [CourseSort::StartDate, CourseSort::Title, CourseSort::Price].into_iter().enumerate()
    {
        let key = sort.key_column();
        let name = key.as_str();
        // The migration's names of the order indexes.
        let index = match sort {
            CourseSort::StartDate => "start",
            CourseSort::Title => "title",
            CourseSort::Price => "price",
        };
        // The 501st course: a cursor half-way down the catalogue (the page after it is page 26).
        let middle = course::Entity::find()
            .filter(course::Column::TenantId.eq(tenant.id))
            .filter(course::Column::Status.eq(pupitre::entities::enums::CourseStatus::Published))
            .order_by_asc(key)
            .order_by_asc(course::Column::Id)
            .offset(500)
            .one(&conn)
            .await
            .expect("a course")
            .expect("the 501st course");
        let after = After { key: SortKey::of(sort, &middle), id: middle.id };
        for (page_no, after) in [(1, None), (26, Some(&after))] {
            let request = PageRequest { filter: &filter, sort, after, first: 20, columns };
            let page = catalog::page_statement(app.services(), tenant.id, request)
                .await
                .expect("the page's statement");
            for _ in 0..8 {
                let rows = conn.query_all_raw(page.clone()).await.expect("page").len();
                assert_eq!(rows, 21, "{sort:?}, page {page_no}");
            }
            let plans = conn
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
                    [page.sql.clone().into()],
                ))
                .await
                .expect("plans")
                .expect("the page is a prepared statement of this connection");
            let generic: i64 = plans.try_get("", "generic_plans").expect("generic");
            let custom: i64 = plans.try_get("", "custom_plans").expect("custom");
            assert!(
                generic >= 3,
                "{sort:?}, page {page_no}: {generic} generic, {custom} custom plans in 8 runs"
            );
            // The generic plan itself, with this page's values.
            let values = page.values.iter().flat_map(|v| v.0.iter());
            let values: Vec<String> =
                values.map(|v| PostgresQueryBuilder.value_to_string(v)).collect();
            let prepared = format!("page_{n}_{page_no}");
            conn.execute_unprepared(&format!(
                "PREPARE {prepared} AS {}; SET plan_cache_mode = force_generic_plan",
                page.sql
            ))
            .await
            .expect("prepare");
            let explain = conn
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!("EXPLAIN EXECUTE {prepared}({})", values.join(", ")),
                ))
                .await
                .expect("explain");
            conn.execute_unprepared("RESET plan_cache_mode").await.expect("reset");
            let plan: Vec<String> = explain
                .iter()
                .map(|r| r.try_get_by_index::<String>(0).expect("a plan line"))
                .collect();
            let plan = plan.join("\n");
            // The outer scan: the first scan line (the tags' subplans come after it).
            let scan = plan.lines().find(|l| l.contains(" Scan ")).expect("a scan");
            assert!(
                scan.contains(&format!("Index Scan using ix_courses_order_{index} on courses")),
                "{sort:?}, page {page_no}: {plan}"
            );
            assert!(!plan.contains("Sort"), "{sort:?}, page {page_no}: {plan}");
            let cond = plan.lines().find(|l| l.contains("Index Cond")).expect("an index condition");
            assert!(cond.contains("tenant_id = "), "{sort:?}, page {page_no}: {plan}");
            if page_no > 1 {
                // `ROW(next_start_at, id) > ROW(…)`, the sub-select's output on the right; a
                // title is cast: `ROW((title)::text, id) > …`.
                let row = cond.split("ROW(").nth(1).unwrap_or_default();
                assert!(
                    row.trim_start_matches('(').starts_with(name) && cond.contains(") > ROW("),
                    "the cursor's key is in the index condition: {plan}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_micro_cache_serves_public_reads_for_a_second_and_nothing_personal() {
    let app = TestApp::sqlite_with(|s| s.response_cache_ms = 60_000).await;
    let q = "{ courses(first: 3) { edges { node { slug sessions { seatsLeft } } } } }";
    app.gql(None, "{ __typename }", json!({})).await.assert_ok();
    let first = app.gql(None, q, json!({})).await;
    let before = app.app_statements.get();
    let again = app.gql(None, q, json!({})).await;
    assert_eq!(first.body, again.body);
    assert_eq!(app.app_statements.get(), before, "the second read came from the cache");
    // Other variables, another query, a signed-in reader: not from the cache.
    let token = app.token(demo::LEARNER).await;
    let before = app.app_statements.get();
    app.gql(Some(&token), q, json!({})).await.assert_ok();
    assert!(app.app_statements.get() > before, "signed-in reads are never served from the cache");
    let mine = "{ me { email } courses(first: 1) { edges { node { slug } } } }";
    let a = app.gql(Some(&token), mine, json!({})).await;
    let b = app.gql(None, mine, json!({})).await;
    assert_eq!(a.data()["me"]["email"], "lea.martin@demo.pupitre.test");
    assert!(
        b.data()["me"].is_null() && !b.body.to_string().contains('@'),
        "personal data never reaches an anonymous reader"
    );
}

/// A hit of the micro-cache is answered before the request's limits are checked (it is the very
/// request that passed them when it was stored): what the limits refuse is still refused with
/// the cache on, whether the same document was cached with other variables or not, and a
/// refusal is never stored (each carries its own request id; a stored one would repeat it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_limits_refuse_is_refused_with_the_micro_cache_on() {
    let app = TestApp::sqlite_with(|s| s.response_cache_ms = 60_000).await;
    let q = "query($s: String) { courses(first: 2, filter: { search: $s }) { edges { node { slug } } } }";
    app.gql(None, q, json!({ "s": "francais" })).await.assert_ok();
    let before = app.app_statements.get();
    app.gql(None, q, json!({ "s": "francais" })).await.assert_ok();
    assert_eq!(app.app_statements.get(), before, "the clean read is served from the cache");
    let deep = format!(
        "{{ courses(first: 1) {{ edges {{ node {}slug{} }} }} }}",
        "sessions { course { ".repeat(12),
        " } }".repeat(12)
    );
    let mut request_ids = Vec::new();
    for _ in 0..2 {
        let bad = app.gql(None, q, json!({ "s": "fran\u{1}cais" })).await;
        let errors = bad.errors();
        assert_eq!(
            errors.first().map(|e| e["extensions"]["code"].clone()),
            Some(json!("BAD_USER_INPUT")),
            "{:?}",
            bad.body
        );
        assert!(bad.data().is_null(), "refused before anything ran: {:?}", bad.body);
        request_ids.push(errors.first().map(|e| e["extensions"]["requestId"].clone()));
        let too_deep = app.gql(None, &deep, json!({})).await;
        assert!(too_deep.data().is_null(), "refused: {:?}", too_deep.body);
        assert!(
            too_deep
                .errors()
                .iter()
                .any(|e| e["message"].as_str().is_some_and(|m| m.contains("deep"))),
            "{:?}",
            too_deep.body
        );
    }
    assert!(request_ids[0].as_ref().is_some_and(Value::is_string), "{request_ids:?}");
    assert_ne!(request_ids[0], request_ids[1], "the second refusal was not a stored copy");
    assert_eq!(app.app_statements.get(), before, "no refused request ran a statement");
}

/// Issue 13, item 2: concurrent misses for one public response run it once (single-flight),
/// and at an expiry one request refreshes it while the others are served the previous one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_execute_once_and_an_expiry_is_refreshed_by_one_request() {
    let app = TestApp::sqlite_with(|s| s.response_cache_ms = 300).await;
    let q = "query($n: Int!) { courses(first: $n) { edges { node { slug tags sessions { seatsLeft } } } } }";
    app.gql(None, "{ __typename }", json!({})).await.assert_ok();
    // What one execution costs.
    let before = app.app_statements.get();
    app.gql(None, q, json!({ "n": 4 })).await.assert_ok();
    let one = app.app_statements.get() - before;
    assert!(one > 0);
    // Thirty at once for a key nobody asked for yet: one execution, the same answer for all.
    let before = app.app_statements.get();
    let answers = common::race(30, |_| app.gql(None, q, json!({ "n": 6 }))).await;
    assert_eq!(app.app_statements.get() - before, one, "thirty concurrent misses, one execution");
    assert!(answers.iter().all(|a| a.status == 200 && a.body == answers[0].body));
    // Expired (300 ms) but within the stale window: thirty at once, one refresh.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let before = app.app_statements.get();
    let answers = common::race(30, |_| app.gql(None, q, json!({ "n": 6 }))).await;
    assert_eq!(app.app_statements.get() - before, one, "one request refreshed the entry");
    assert!(answers.iter().all(|a| a.body == answers[0].body));
    let before = app.app_statements.get();
    app.gql(None, q, json!({ "n": 6 })).await.assert_ok();
    assert_eq!(app.app_statements.get(), before, "the refreshed entry is served");
}

const SESSION: &str =
    "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id } } }";

/// Titles of the courses matching `search` in `sort`, walked one course per page (keyset
/// cursors), with the upcoming session dates each page shows.
async fn walk(app: &TestApp, search: &str, sort: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let vars =
            json!({ "first": 1, "after": after, "sort": sort, "filter": { "search": search } });
        let (nodes, info) = page(app, vars).await;
        for n in &nodes {
            let title = n["title"].as_str().expect("title").to_owned();
            out.push((title, n["sessions"].as_array().map_or(0, Vec::len)));
        }
        if info["hasNextPage"] != true {
            return out;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
}

fn titles(walked: &[(String, usize)]) -> Vec<&str> {
    walked.iter().map(|(t, _)| t.as_str()).collect()
}

/// Every page of `sort` (50 at a time) with `filter`: title and summary of each course.
async fn every_page(app: &TestApp, sort: &str, filter: Value) -> Vec<(String, String)> {
    let q = "query($after: String, $sort: CourseSort, $filter: CourseFilterInput) {
      courses(first: 50, after: $after, sort: $sort, filter: $filter) {
        edges { node { title summary } } pageInfo { hasNextPage endCursor } } }";
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let vars = json!({ "after": after, "sort": sort, "filter": filter });
        let r = app.gql(None, q, vars).await;
        let d = &r.assert_ok()["courses"];
        for e in d["edges"].as_array().expect("edges") {
            let field = |f: &str| e["node"][f].as_str().expect("text").to_owned();
            out.push((field("title"), field("summary")));
        }
        if d["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = d["pageInfo"]["endCursor"].clone();
    }
}

/// The demo tenant's first 50 courses with their sessions' instructors, the tenant named (the
/// installation has two).
async fn demo_page(app: &TestApp) -> Vec<Value> {
    let q = "{ courses(first: 50) { edges { node { slug sessions { id instructor { displayName } } } } } }";
    let r = app.gql_with(None, &[("X-Pupitre-Tenant", "demo")], q, json!({})).await;
    r.assert_ok()["courses"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// A session whose instructor is (wrongly) a person of another tenant shows no instructor: the
/// joined name is read within the tenant, on the page as through the course's own loaders.
async fn an_instructor_of_another_tenant_is_never_shown(app: TestApp) {
    use pupitre::domain::tenancy::{self, NewTenant};
    use pupitre::domain::types::{Email, Slug};
    use pupitre::entities::session;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let other = NewTenant {
        slug: Slug::parse("slug", "autre").expect("slug"),
        name: "Autre école".into(),
        dpo_name: "Paul Dpo".into(),
        dpo_email: Email::parse("email", "dpo@autre.example").expect("email"),
        host: None,
    };
    tenancy::create(app.services(), other, "1", "https://autre.example/confidentialite")
        .await
        .expect("tenant");
    let register = "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";
    let input = json!({ "input": { "email": "intrus@autre.example",
        "password": "a long enough passphrase", "firstName": "Ivan", "lastName": "Intrus",
        "acceptedPolicyVersion": "1", "marketingEmailConsent": false } });
    let r = app.gql_with(None, &[("X-Pupitre-Tenant", "autre")], register, input).await;
    let intruder: uuid::Uuid =
        r.assert_ok()["register"]["user"]["id"].as_str().expect("id").parse().expect("uuid");
    let (slug, session_id) = demo_page(&app)
        .await
        .iter()
        .find_map(|n| {
            let s = n["sessions"].as_array()?.iter().find(|s| s["instructor"].is_object())?;
            Some((n["slug"].clone(), s["id"].as_str()?.parse::<uuid::Uuid>().ok()?))
        })
        .expect("a session with an instructor");
    session::Entity::update_many()
        .col_expr(session::Column::InstructorId, Expr::value(intruder))
        .filter(session::Column::Id.eq(session_id))
        .exec(&app.connect().await)
        .await
        .expect("update");
    let nodes = demo_page(&app).await;
    let on_page = nodes
        .iter()
        .flat_map(|n| n["sessions"].as_array().cloned().unwrap_or_default())
        .find(|s| s["id"] == json!(session_id.to_string()))
        .expect("the session is listed");
    assert_eq!(on_page["instructor"], Value::Null, "page: {on_page}");
    assert!(!serde_json::to_string(&nodes).expect("json").contains("Ivan"));
    let one = "query($slug: String!) { course(slug: $slug) { sessions { id instructor { displayName } } } }";
    let alone =
        app.gql_with(None, &[("X-Pupitre-Tenant", "demo")], one, json!({ "slug": slug })).await;
    let text = alone.assert_ok().to_string();
    assert!(
        text.contains(&session_id.to_string()) && !text.contains("Ivan"),
        "course(slug): {text}"
    );
}

/// A term that many courses hold and one that few hold find exactly the courses whose title or
/// summary holds them, in the order's sequence. (On SQLite a common term is checked on the rows
/// of the order's index and a rare one is listed by the FTS index first: both ways are taken.)
async fn common_and_rare_search_terms_find_exactly_the_matching_courses(app: TestApp) {
    use pupitre::entities::enums::{CourseStatus, Format, Level};
    use pupitre::entities::{course, tenant};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let db = &app.connect().await;
    let tenant = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq("demo"))
        .one(db)
        .await
        .expect("read")
        .expect("the demo tenant");
    let now = app.clock.now();
    let rows = (0..260).map(|i| {
        let title = if i % 9 == 0 {
            format!("Terme commun rarissime {i}")
        } else {
            format!("Terme commun {i}")
        };
        let summary = format!("Résumé {}", 260 - i);
        course::ActiveModel::from(course::Model {
            id: uuid::Uuid::now_v7(),
            tenant_id: tenant.id,
            slug: format!("terme-{i}"),
            search_text: migration::catalogue::fold(&format!("{title} {summary}")),
            title,
            summary,
            description: String::new(),
            level: Level::Beginner,
            format: Format::Online,
            language: "fr".into(),
            price_cents: 1000 + (i * 37) % 500,
            currency: "EUR".into(),
            tax_rate_bp: 2000,
            status: CourseStatus::Published,
            created_at: now,
            updated_at: now,
            next_start_at: now + chrono::Duration::hours(1 + (i * 53) % 300),
        })
    });
    course::Entity::insert_many(rows).exec_without_returning(db).await.expect("insert");
    let folded = |(t, s): &(String, String)| migration::catalogue::fold(&format!("{t} {s}"));
    for sort in ["START_DATE", "TITLE", "PRICE"] {
        let everything = every_page(&app, sort, json!({})).await;
        for (term, at_least) in [("commun", 260), ("RARISSIME", 29), ("résumé 26", 1)] {
            let words = migration::catalogue::fold(term);
            let expected: Vec<_> = everything
                .iter()
                .filter(|c| words.split(' ').all(|w| folded(c).contains(w)))
                .cloned()
                .collect();
            assert!(expected.len() >= at_least, "{term}: {}", expected.len());
            let found = every_page(&app, sort, json!({ "search": term })).await;
            assert_eq!(found, expected, "search {term} by {sort}");
        }
    }
}

/// The default order follows session writes at once and time at the next jobs round; pages are
/// keyset cursors (ties by id, each course once); searching ignores case and accents.
async fn the_catalogue_order_follows_sessions_and_time_and_search_ignores_accents(app: TestApp) {
    use pupitre::entities::course;
    use pupitre::entities::enums::{CourseStatus, Format, Level};
    use sea_orm::EntityTrait;

    let admin = app.token(demo::ADMIN).await;
    let now = app.clock.now();
    let at = |hours: i64| (now + chrono::Duration::hours(hours)).to_rfc3339();
    let mut ids = Vec::new();
    for (slug, title) in
        [("zeb-a", "Zébulon alpha"), ("zeb-b", "ZÉBULON bêta"), ("zeb-c", "zebulon gamma")]
    {
        let mut input = course_input(slug);
        input["title"] = json!(title);
        input["priceCents"] = json!(5000);
        let r = app.gql(Some(&admin), CREATE, json!({ "input": input })).await;
        ids.push(r.assert_ok()["createCourse"]["course"]["id"].as_str().expect("id").to_owned());
    }
    let session = |course: &str, start: i64| {
        json!({ "input": { "courseId": course, "startsAt": at(start), "endsAt": at(start + 2),
                "capacity": 5, "location": "Lyon" } })
    };
    let mut sessions = Vec::new();
    for (course, start) in [(0, 2), (0, 50), (1, 3)] {
        let r = app.gql(Some(&admin), SESSION, session(&ids[course], start)).await;
        sessions
            .push(r.assert_ok()["createSession"]["session"]["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        app.gql(
            Some(&admin),
            "mutation($id: ID!) { publishCourse(input: {courseId: $id}) { course { id } } }",
            json!({ "id": id }),
        )
        .await
        .assert_ok();
    }
    let (a, b, c) = ("Zébulon alpha", "ZÉBULON bêta", "zebulon gamma");

    // Case and accents: each spelling finds the three, through the search index.
    for term in ["zébulon", "ZEBULON", "Zebulon", "ZÉBULON", "zebu"] {
        let found = walk(&app, term, "START_DATE").await;
        assert_eq!(titles(&found), [a, b, c], "search {term}");
    }
    assert_eq!(titles(&walk(&app, "bêta zébulon", "TITLE").await), [b], "every word must match");
    assert!(walk(&app, "zébulon delta", "TITLE").await.is_empty());

    // Equal prices: the order's ties are broken by id, each course once over three pages.
    assert_eq!(titles(&walk(&app, "zebulon", "PRICE").await), [a, b, c]);

    // Moving A's next session after B's puts B first, at once.
    let update =
        "mutation($input: UpdateSessionInput!) { updateSession(input: $input) { session { id } } }";
    let mut moved = session(&ids[0], 100)["input"].clone();
    moved.as_object_mut().expect("object").remove("courseId");
    moved["sessionId"] = json!(sessions[0]);
    app.gql(Some(&admin), update, json!({ "input": moved })).await.assert_ok();
    assert_eq!(titles(&walk(&app, "zebulon", "START_DATE").await), [b, a, c]);

    // Cancelling B's only session sends it to the courses without one (ordered by id).
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { cancelSession(input: {sessionId: $id}) { cancelledEnrollments } }",
        json!({ "id": sessions[2] }),
    )
    .await
    .assert_ok();
    assert_eq!(titles(&walk(&app, "zebulon", "START_DATE").await), [a, b, c]);

    // C gets a session in one hour: first. Two hours later it has started; the page no longer
    // shows it (sessions are read at request time) and the upcoming filter is exact at once.
    app.gql(Some(&admin), SESSION, session(&ids[2], 1)).await.assert_ok();
    assert_eq!(titles(&walk(&app, "zebulon", "START_DATE").await), [c, a, b]);
    app.clock.advance_secs(2 * 3600);
    let walked = walk(&app, "zebulon", "START_DATE").await;
    assert_eq!(walked[0], (c.to_owned(), 0), "until the jobs run, C keeps its place");
    let filter =
        json!({ "first": 10, "filter": { "search": "zebulon", "hasUpcomingSession": true } });
    assert_eq!(slugs(&page(&app, filter).await.0), ["zeb-a"]);
    // The jobs round moves C to the courses without an upcoming session.
    pupitre::jobs::run_once(app.services()).await;
    assert_eq!(
        walk(&app, "zebulon", "START_DATE").await,
        [(a.to_owned(), 2), (b.to_owned(), 0), (c.to_owned(), 0)]
    );

    // A cursor of one order is refused in another.
    let (_, info) =
        page(&app, json!({ "first": 1, "sort": "PRICE", "filter": { "search": "zebulon" } })).await;
    let r = app
        .gql(None, PAGE, json!({ "first": 1, "sort": "TITLE", "after": info["endCursor"] }))
        .await;
    r.assert_bad_input("after");

    // Another tenant's draft whose key has passed (as a migrated row's has): the next round
    // moves it on too (every tenant, every status).
    let other = common::second_tenant(&app).await;
    let draft = course::Model {
        id: uuid::Uuid::now_v7(),
        tenant_id: other.id,
        slug: "zeb-b-draft".into(),
        title: "Zébulon B".into(),
        summary: String::new(),
        description: String::new(),
        level: Level::Beginner,
        format: Format::Online,
        language: "fr".into(),
        price_cents: 1000,
        currency: "EUR".into(),
        tax_rate_bp: 2000,
        status: CourseStatus::Draft,
        created_at: now,
        updated_at: now,
        next_start_at: now,
        search_text: "zebulon b".into(),
    };
    let db = app.connect().await;
    course::Entity::insert(course::ActiveModel::from(draft.clone()))
        .exec_without_returning(&db)
        .await
        .expect("insert");
    pupitre::jobs::run_once(app.services()).await;
    let moved = course::Entity::find_by_id(draft.id).one(&db).await.expect("read").expect("draft");
    assert_eq!(moved.next_start_at, migration::catalogue::no_upcoming_session());
}

/// The page reads the description only when asked; asked through a fragment, under an alias or
/// not at all, the answer is the same as the course's own page.
async fn the_description_is_read_whenever_a_page_asks_for_it(app: TestApp) {
    let q = "{ courses(first: 5) { edges { node { slug ...D } } } } fragment D on Course { d: description }";
    let r = app.gql(None, q, json!({})).await;
    let edges = r.assert_ok()["courses"]["edges"].as_array().expect("edges").clone();
    assert_eq!(edges.len(), 5);
    for e in edges {
        let slug = e["node"]["slug"].as_str().expect("slug");
        let own = app
            .gql(
                None,
                "query($s: String!) { course(slug: $s) { description } }",
                json!({ "s": slug }),
            )
            .await;
        let description = own.assert_ok()["course"]["description"].clone();
        assert!(description.as_str().is_some_and(|d| !d.is_empty()), "{slug}");
        assert_eq!(e["node"]["d"], description, "{slug}");
    }
}

on_both_databases!(
    visitors_filter_sort_and_page_through_the_published_catalogue,
    the_description_is_read_whenever_a_page_asks_for_it,
    the_catalogue_order_follows_sessions_and_time_and_search_ignores_accents,
    common_and_rare_search_terms_find_exactly_the_matching_courses,
    an_instructor_of_another_tenant_is_never_shown,
    drafts_are_invisible_to_visitors_and_visible_to_admins,
    anonymous_catalogue_reads_are_cacheable_and_personal_ones_are_not,
    admins_manage_courses_sessions_and_lessons_with_validation,
    the_catalogue_query_costs_the_same_statements_for_5_and_50_courses,
);
