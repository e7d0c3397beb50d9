//! Tenant isolation, table-driven over the schema itself (issue 14): every query and mutation
//! that takes an id (as an argument, or inside its input, at any depth) is called by a user of
//! tenant B holding every role, with the ids of tenant A's rows. Nothing of A may come back, and
//! A's data must be exactly as it was: the whole tenant export of A (every row of every table)
//! is compared before and after. The operations are read from introspection, so an operation
//! added tomorrow is attacked tomorrow.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::collections::BTreeMap;
use std::io::Read as _;

use common::{TestApp, demo};
use pupitre::domain::platform::export::{Progress, export_tenant};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};

struct Quiet;
impl Progress for Quiet {
    fn start(&self, _: &str, _: u64) {}
    fn advanced(&self, _: u64) {}
}

const INTROSPECTION: &str = "{ __schema { queryType { name } mutationType { name } types { kind name \
    fields { name type { ...T } args { name type { ...T } } } inputFields { name type { ...T } } enumValues { name } } } } \
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

/// Every row of every table of tenant `slug`, as the operator's export writes them.
async fn snapshot(app: &TestApp, slug: &str) -> BTreeMap<String, String> {
    let t = pupitre::entities::tenant::Entity::find()
        .all(&app.connect().await)
        .await
        .expect("tenants")
        .into_iter()
        .find(|t| t.slug == slug)
        .expect("tenant");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.zip");
    export_tenant(app.services(), &t, &path, &Quiet).await.expect("export");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).expect("zip")).expect("zip");
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.expect("a file name").into_owned())
        .filter(|n| n.starts_with("tables/"))
        .collect();
    let mut out = BTreeMap::new();
    for n in names {
        let mut s = String::new();
        zip.by_name(&n).expect("entry").read_to_string(&mut s).expect("read");
        out.insert(n, s);
    }
    out
}

/// One id of tenant A per kind of row.
async fn ids_of_a(app: &TestApp, a: uuid::Uuid) -> BTreeMap<&'static str, String> {
    let db = app.connect().await;
    let backend = db.get_database_backend();
    let mut out = BTreeMap::new();
    for table in [
        "users",
        "courses",
        "sessions",
        "lessons",
        "orders",
        "eo_applications",
        "eo_documents",
        "enrollments",
        "live_classes",
        "data_subject_requests",
        "newsletter_subscriptions",
        "newsletter_campaigns",
        "refunds",
    ] {
        let sql = match backend {
            sea_orm::DatabaseBackend::Sqlite => {
                format!("SELECT id FROM {table} WHERE tenant_id = ? ORDER BY id LIMIT 1")
            }
            _ => format!("SELECT id FROM {table} WHERE tenant_id = $1 ORDER BY id LIMIT 1"),
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [a.into()]))
            .await
            .expect("query");
        // A kind A has no row of still gets an id: the call must fail the same way.
        let id = row
            .map(|r| r.try_get::<uuid::Uuid>("", "id").expect("id").to_string())
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        out.insert(table, id);
    }
    // The learner, not the first account (which may be staff).
    out.insert("users", app.user_id(demo::LEARNER).await);
    out
}

/// The table an id named `name` (in a field or type named `context`) points to.
fn table_for(name: &str, context: &str) -> &'static str {
    let n = if name.eq_ignore_ascii_case("id") { context } else { name }.to_ascii_lowercase();
    let by = [
        ("liveclass", "live_classes"),
        ("lesson", "lessons"),
        ("session", "sessions"),
        ("course", "courses"),
        ("order", "orders"),
        ("refund", "refunds"),
        ("document", "eo_documents"),
        ("application", "eo_applications"),
        ("enrollment", "enrollments"),
        ("datasubjectrequest", "data_subject_requests"),
        ("request", "data_subject_requests"),
        ("campaign", "newsletter_campaigns"),
        ("subscription", "newsletter_subscriptions"),
    ];
    by.iter().find(|(k, _)| n.contains(k)).map_or("users", |(_, t)| t)
}

/// Marks where a file goes in the variables of a multipart request.
const UPLOAD: &str = "__upload__";

/// The paths (`variables.input.files.0`) of the files marked in `v`, each replaced by null.
fn uploads(v: &mut Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s == UPLOAD => {
            out.push(path.to_owned());
            *v = Value::Null;
        }
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                uploads(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                uploads(x, &format!("{path}.{i}"), out);
            }
        }
        _ => {}
    }
}

/// A GraphQL multipart request (one small PDF per marked file) as `token`.
async fn multipart(app: &TestApp, token: &str, query: &str, mut variables: Value) -> Value {
    let mut files = Vec::new();
    uploads(&mut variables, "variables", &mut files);
    let boundary = "pupitre-isolation-boundary";
    let operations = json!({ "query": query, "variables": variables });
    let map: serde_json::Map<String, Value> =
        files.iter().enumerate().map(|(i, p)| (i.to_string(), json!([p]))).collect();
    let mut body = Vec::new();
    for (name, value) in
        [("operations", operations.to_string()), ("map", Value::Object(map).to_string())]
    {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for i in 0..files.len() {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{i}\"; filename=\"avis.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
        body.extend_from_slice(b"%PDF-1.4\n%%EOF\n\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    app.post_multipart(token, boundary, body).await.json().await.expect("json")
}

struct Schema {
    types: BTreeMap<String, Value>,
}

/// `(non_null, list, named type)` of an introspected type reference.
fn unwrap(t: &Value) -> (bool, bool, String) {
    let mut non_null = false;
    let mut list = false;
    let mut cur = t;
    if cur["kind"] == "NON_NULL" {
        non_null = true;
        cur = &cur["ofType"];
    }
    if cur["kind"] == "LIST" {
        list = true;
        cur = &cur["ofType"];
        if cur["kind"] == "NON_NULL" {
            cur = &cur["ofType"];
        }
    }
    (non_null, list, cur["name"].as_str().unwrap_or_default().to_owned())
}

impl Schema {
    /// Whether a value of this type carries an id somewhere.
    fn carries_id(&self, named: &str, depth: usize) -> bool {
        if named == "ID" {
            return true;
        }
        if depth > 4 {
            return false;
        }
        self.types.get(named).and_then(|t| t["inputFields"].as_array()).is_some_and(|fields| {
            fields.iter().any(|f| self.carries_id(&unwrap(&f["type"]).2, depth + 1))
        })
    }

    /// A value for `name: type`: A's id for ids, something valid-looking for the rest; `None`
    /// when an optional argument without id is better left out (or cannot be made: an upload).
    fn value(
        &self,
        name: &str,
        ty: &Value,
        context: &str,
        ids: &BTreeMap<&str, String>,
    ) -> Option<Value> {
        let (non_null, list, named) = unwrap(ty);
        if !non_null && !self.carries_id(&named, 0) {
            return None;
        }
        let one = match named.as_str() {
            "ID" => json!(ids[table_for(name, context)]),
            // Shaped so that validation lets the call reach the id.
            "String" if name.to_ascii_lowercase().contains("email") => json!("someone@example.org"),
            "String" if name == "idempotencyKey" => json!("isolation-key-000001"),
            "String" if name == "country" => json!("FR"),
            "String" if name.to_ascii_lowercase().contains("url") => json!("https://example.org/x"),
            "String" => json!("x"),
            "Int" => json!(1),
            "Float" => json!(1.0),
            "Boolean" => json!(true),
            "DateTime" => json!((chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339()),
            "Date" => json!("2000-01-01"),
            // Sent as a file part of a multipart request (see `uploads`).
            "Upload" => json!(UPLOAD),
            other => {
                let t = &self.types[other];
                match t["kind"].as_str() {
                    Some("ENUM") => json!(t["enumValues"][0]["name"]),
                    Some("INPUT_OBJECT") => {
                        let mut obj = serde_json::Map::new();
                        for f in t["inputFields"].as_array().into_iter().flatten() {
                            let fname = f["name"].as_str().unwrap_or_default();
                            if let Some(v) = self.value(fname, &f["type"], other, ids) {
                                obj.insert(fname.to_owned(), v);
                            } else if unwrap(&f["type"]).0 {
                                return None;
                            }
                        }
                        Value::Object(obj)
                    }
                    _ => json!("x"),
                }
            }
        };
        Some(if list { json!([one]) } else { one })
    }
}

/// Every operation with an id, called by B's everything-user with A's ids.
async fn nothing_of_a_tenant_is_reachable_from_another_by_id(app: TestApp) {
    let a = app.services().tenants.by_slug("demo").await.expect("dir").expect("demo").id;
    let b = common::second_tenant(&app).await;
    let reg = "mutation { register(input: {email: \"mallory@ecole-b.example\", password: \"a long enough passphrase\", firstName: \"Mallory\", lastName: \"B\", acceptedPolicyVersion: \"v1\"}) { user { id } } }";
    let r = app.gql_with(None, &[("x-pupitre-tenant", "ecole-b")], reg, json!({})).await;
    let mallory: uuid::Uuid =
        r.assert_ok()["register"]["user"]["id"].as_str().expect("id").parse().expect("uuid");
    // Every role, accepted (set up directly: how B's admin would grant them is not the point).
    let db = app.connect().await;
    let backend = db.get_database_backend();
    for role in
        ["instructor", "support", "billing", "reviewer", "marketing", "privacy_officer", "admin"]
    {
        let sql = match backend {
            sea_orm::DatabaseBackend::Sqlite => {
                "INSERT INTO user_roles (user_id, role, tenant_id, granted_at, granted_by, accepted_at) VALUES (?, ?, ?, ?, NULL, ?)"
            }
            _ => {
                "INSERT INTO user_roles (user_id, role, tenant_id, granted_at, granted_by, accepted_at) VALUES ($1, $2, $3, $4, NULL, $5)"
            }
        };
        let now = app.clock.now();
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [mallory.into(), role.into(), b.id.into(), now.into(), now.into()],
        ))
        .await
        .expect("role");
    }
    let login = "mutation { login(input: {email: \"mallory@ecole-b.example\", password: \"a long enough passphrase\"}) { accessToken user { roles } } }";
    let r = app.gql_with(None, &[("x-pupitre-tenant", "ecole-b")], login, json!({})).await;
    assert_eq!(r.assert_ok()["login"]["user"]["roles"].as_array().map(Vec::len), Some(8));
    let mallory_token = r.data()["login"]["accessToken"].as_str().expect("token").to_owned();

    let ids = ids_of_a(&app, a).await;
    let before = snapshot(&app, "demo").await;
    assert!(before["tables/users.json"].contains("lea.martin@demo.pupitre.test"));

    let r = app.gql(Some(&mallory_token), INTROSPECTION, json!({})).await;
    let schema = r.assert_ok()["__schema"].clone();
    let types: BTreeMap<String, Value> = schema["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t.clone()))
        .collect();
    let schema_types = Schema { types };
    // What must never come back: A's people and courses.
    let a_course_title = {
        let r = app
            .gql_with(
                None,
                &[("x-pupitre-tenant", "demo")],
                "{ courses(first: 1) { edges { node { title } } } }",
                json!({}),
            )
            .await;
        r.assert_ok()["courses"]["edges"][0]["node"]["title"].as_str().expect("title").to_owned()
    };
    let secrets = ["demo.pupitre.test", "Martin", a_course_title.as_str()];

    let mut called = Vec::new();
    for (root, op_kind) in [("Query", "query"), ("Mutation", "mutation")] {
        let fields = schema_types.types[root]["fields"].as_array().expect("fields").clone();
        for f in fields {
            let name = f["name"].as_str().expect("name").to_owned();
            let args = f["args"].as_array().expect("args");
            if !args.iter().any(|arg| schema_types.carries_id(&unwrap(&arg["type"]).2, 0)) {
                continue;
            }
            let mut decl = Vec::new();
            let mut pass = Vec::new();
            let mut vars = serde_json::Map::new();
            let mut unbuildable = false;
            for arg in args {
                let an = arg["name"].as_str().expect("arg");
                match schema_types.value(an, &arg["type"], &name, &ids) {
                    Some(v) => {
                        decl.push(format!("${an}: {}", type_ref(&arg["type"])));
                        pass.push(format!("{an}: ${an}"));
                        vars.insert(an.to_owned(), v);
                    }
                    None if unwrap(&arg["type"]).0 => unbuildable = true,
                    None => {}
                }
            }
            assert!(!unbuildable, "{name}: could not build its arguments");
            let decl =
                if decl.is_empty() { String::new() } else { format!("({})", decl.join(", ")) };
            let pass =
                if pass.is_empty() { String::new() } else { format!("({})", pass.join(", ")) };
            let q = format!("{op_kind}{decl} {{ {name}{pass} {{ __typename }} }}");
            // Scalar-returning fields take no selection.
            let q = if is_leaf(&schema_types, &f) { q.replace(" { __typename }", "") } else { q };
            let vars = Value::Object(vars);
            let r = if vars.to_string().contains(UPLOAD) {
                common::Gql { status: 200, body: multipart(&app, &mallory_token, &q, vars).await }
            } else {
                app.gql(Some(&mallory_token), &q, vars).await
            };
            let body = r.body.to_string();
            for s in secrets {
                assert!(!body.contains(s), "{name} leaked {s}: {body}");
            }
            let answered = !r.body["data"][&name].is_null() && r.errors().is_empty();
            let code = r
                .first_code()
                .unwrap_or_else(|| if answered { "ANSWERED".into() } else { "null".into() });
            let code = match r.body["errors"][0]["extensions"]["field"].as_str() {
                Some(field) => format!("{code}({field})"),
                None => code,
            };
            // A list query may answer with B's own (empty or not) rows: what matters is that
            // nothing of A is in it (checked above); a mutation must not succeed.
            if op_kind == "mutation" {
                assert!(!answered, "{name} succeeded on A's ids: {body}");
            }
            called.push(format!("{name}:{code}"));
        }
    }
    // 52 when written: a walk that stops finding operations fails here.
    assert!(called.len() >= 52, "every operation with an id was called: {called:?}");
    println!("called as B: {called:?}");
    assert_eq!(snapshot(&app, "demo").await, before, "A is unchanged after {called:?}");

    // By header and by host: A's token with B named, and B's token at A's name, are refused.
    let lea = app.token(demo::LEARNER).await;
    let me = "{ me { email } }";
    let r = app.gql_with(Some(&lea), &[("x-pupitre-tenant", "ecole-b")], me, json!({})).await;
    assert!(r.first_code().is_some(), "a token of A naming B: {}", r.body);
    let r =
        app.gql_with(Some(&mallory_token), &[("x-pupitre-tenant", "demo")], me, json!({})).await;
    assert!(r.first_code().is_some(), "a token of B naming A: {}", r.body);
    assert!(!r.body.to_string().contains("demo.pupitre.test"));
    let r = app.gql_with(Some(&mallory_token), &[("host", "b.example")], me, json!({})).await;
    assert_eq!(r.assert_ok()["me"]["email"], "mallory@ecole-b.example");
}

fn type_ref(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Whether a field returns a scalar or an enum (no selection set).
fn is_leaf(schema: &Schema, field: &Value) -> bool {
    let named = unwrap(&field["type"]).2;
    schema.types.get(&named).is_some_and(|t| matches!(t["kind"].as_str(), Some("SCALAR" | "ENUM")))
}

on_both_databases!(nothing_of_a_tenant_is_reachable_from_another_by_id);
