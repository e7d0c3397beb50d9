//! The people who call the API (issue 15): CORS for browser storefronts (installation and
//! per-tenant origins, preflights, exposed headers, production defaults), automatic persisted
//! queries over POST and GET, trusted documents, and the registered-operations manifest kept in
//! step with `graphql/operations/`. On both databases.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]
mod common;

use common::{TestApp, demo};
use pupitre::http::graphql::{Manifest, PersistedMode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SHOP: &str = "https://shop.example.org";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A browser's preflight for a JSON POST with a bearer token.
async fn preflight(app: &TestApp, origin: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type,x-pupitre-tenant");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("preflight sent")
}

/// A cross-origin POST as a page would send it after the preflight.
async fn cross_origin_post(
    app: &TestApp,
    origin: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .header("origin", origin)
        .json(&json!({ "query": "{ __typename }" }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request sent")
}

/// POSTs a JSON body to `/graphql` and reads the JSON answer.
async fn post_json(app: &TestApp, body: &Value) -> Value {
    let r = app.client.post(app.url("/graphql")).json(body).send().await.expect("sent");
    r.json().await.expect("json")
}

fn allow_origin(r: &reqwest::Response) -> Option<String> {
    r.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase()
}

async fn cors_follows_each_tenants_origins(app: TestApp) {
    // Nothing listed yet: a storefront elsewhere gets no allow header, neither on the preflight
    // nor on the request (the browser then keeps the answer from the page).
    assert_eq!(allow_origin(&preflight(&app, SHOP, &[]).await), None);
    assert_eq!(allow_origin(&cross_origin_post(&app, SHOP, &[]).await), None);

    let admin = app.token(demo::ADMIN).await;
    let update = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { corsOrigins } } }";
    let set = |token: String, origins: Value| {
        let app = &app;
        async move {
            app.gql(Some(&token), update, json!({ "input": { "corsOrigins": origins } })).await
        }
    };
    set(admin.clone(), json!([SHOP, "shop.example.org"]))
        .await
        .assert_bad_input("input.corsOrigins.1");
    set(admin.clone(), json!(["https://a.example/path"]))
        .await
        .assert_bad_input("input.corsOrigins.0");
    let many: Vec<String> = (0..21).map(|i| format!("https://s{i}.example")).collect();
    set(admin.clone(), json!(many)).await.assert_bad_input("input.corsOrigins");
    let instructor = app.token(demo::INSTRUCTOR).await;
    assert_eq!(set(instructor, json!([SHOP])).await.first_code().as_deref(), Some("FORBIDDEN"));
    assert_eq!(
        allow_origin(&preflight(&app, SHOP, &[]).await),
        None,
        "refused changes left nothing"
    );

    let r = set(admin.clone(), json!([format!("{SHOP}/"), "https://Preview.Example.org"])).await;
    assert_eq!(
        r.assert_ok()["updateTenantSettings"]["settings"]["corsOrigins"],
        json!(["https://preview.example.org", SHOP]),
        "stored as browsers send them"
    );
    let pre = preflight(&app, SHOP, &[]).await;
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(allow_origin(&pre).as_deref(), Some(SHOP));
    assert!(header(&pre, "access-control-allow-methods").contains("post"));
    let allowed_headers = header(&pre, "access-control-allow-headers");
    for h in ["authorization", "content-type", "x-pupitre-tenant"] {
        assert!(allowed_headers.contains(h), "{h} not in {allowed_headers}");
    }
    assert!(pre.headers().get("access-control-allow-credentials").is_none(), "bearer tokens only");
    let post = cross_origin_post(&app, SHOP, &[]).await;
    assert_eq!(allow_origin(&post).as_deref(), Some(SHOP));
    assert!(header(&post, "access-control-expose-headers").contains("x-request-id"));
    assert!(header(&post, "vary").contains("origin"), "caches keep answers per origin");
    let body: Value = post.json().await.expect("json");
    assert_eq!(body["data"]["__typename"], "Query", "the request itself was served");

    // Another origin, and a forged verdict header, change nothing.
    let evil = "https://evil.example";
    assert_eq!(
        allow_origin(&preflight(&app, evil, &[("x-pupitre-cors-allowed", "1")]).await),
        None
    );
    assert_eq!(
        allow_origin(&cross_origin_post(&app, evil, &[("x-pupitre-cors-allowed", "1")]).await),
        None
    );
    // Development allows pages served from this machine (a Vite dev server).
    let vite = "http://localhost:5173";
    assert_eq!(allow_origin(&preflight(&app, vite, &[]).await).as_deref(), Some(vite));

    // A second organisation: the demo's origin is not allowed for it, its own is.
    let b = common::second_tenant(&app).await;
    let for_b = [("x-pupitre-tenant", b.slug.as_str())];
    assert_eq!(allow_origin(&cross_origin_post(&app, SHOP, &for_b).await), None);
    assert_eq!(
        allow_origin(&cross_origin_post(&app, SHOP, &[("x-pupitre-tenant", "demo")]).await)
            .as_deref(),
        Some(SHOP)
    );
    // By host too: B's host is B's.
    assert_eq!(allow_origin(&cross_origin_post(&app, SHOP, &[("host", "b.example")]).await), None);
    let b_shop = "https://shop.ecole-b.example";
    b_settings(&app, &[b_shop]).await;
    assert_eq!(
        allow_origin(&cross_origin_post(&app, b_shop, &for_b).await).as_deref(),
        Some(b_shop)
    );
    assert_eq!(
        allow_origin(&cross_origin_post(&app, b_shop, &[("host", "b.example")]).await).as_deref(),
        Some(b_shop)
    );
    // A signed-in request is its token's tenant's, whatever host it reaches.
    let learner = app.token(demo::LEARNER).await;
    let auth = format!("Bearer {learner}");
    let signed = [("authorization", auth.as_str()), ("host", "b.example")];
    assert_eq!(allow_origin(&cross_origin_post(&app, b_shop, &signed).await), None);
    assert_eq!(allow_origin(&cross_origin_post(&app, SHOP, &signed).await).as_deref(), Some(SHOP));
    // A preflight cannot name its tenant (no token, only the header's name): it passes for an
    // origin some tenant lists, whichever host or default it reaches.
    for headers in [&[][..], &[("host", "b.example")][..]] {
        assert_eq!(allow_origin(&preflight(&app, SHOP, headers).await).as_deref(), Some(SHOP));
        assert_eq!(allow_origin(&preflight(&app, b_shop, headers).await).as_deref(), Some(b_shop));
    }

    // Emptying the list withdraws the origin at once.
    set(admin, json!([])).await.assert_ok();
    assert_eq!(allow_origin(&cross_origin_post(&app, SHOP, &[]).await), None);
}

/// Sets the second tenant's storefront origins as the operator's domain call would.
async fn b_settings(app: &TestApp, origins: &[&str]) {
    let list = serde_json::to_string(origins).expect("json");
    app.execute(&format!(
        "UPDATE tenants SET settings = '{{\"cors_origins\": {list}}}' WHERE slug = 'ecole-b'"
    ))
    .await;
    app.services().tenants.invalidate().await;
}

async fn automatic_persisted_queries_over_post_and_get(app: TestApp) {
    let q = "query PublicCourses { courses(first: 2) { edges { node { slug } } } }";
    let h = sha256(q);
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": h } });
    let post = |body: Value| {
        let app = &app;
        async move {
            let r = app.client.post(app.url("/graphql")).json(&body).send().await.expect("sent");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    // Unknown hash: the code and message APQ clients look for, before anything runs.
    let (status, body) = post(json!({ "extensions": pq })).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    // A text that is not what the hash says is refused, and not remembered.
    let (_, body) = post(json!({ "query": "{ __typename }", "extensions": pq })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "extensions.persistedQuery");
    assert_eq!(
        post(json!({ "extensions": pq })).await.1["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    // Registered with its text, then served by hash alone, over POST and GET.
    let (_, first) = post(json!({ "query": q, "extensions": pq })).await;
    assert!(first["data"]["courses"]["edges"].as_array().is_some_and(|e| !e.is_empty()), "{first}");
    let (_, by_hash) = post(json!({ "extensions": pq })).await;
    assert_eq!(by_hash, first);
    let get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("operationName", "PublicCourses"), ("extensions", &pq.to_string())])
        .send()
        .await
        .expect("GET");
    assert_eq!(get.status().as_u16(), 200);
    assert!(header(&get, "cache-control").starts_with("public"), "a CDN may keep it by URL");
    let etag = header(&get, "etag");
    assert!(etag.len() > 10, "an entity tag: {etag}");
    assert_eq!(get.json::<Value>().await.expect("json"), first);
    // Revalidation: the same body is not sent again.
    let again = app
        .client
        .get(app.url("/graphql"))
        .query(&[("operationName", "PublicCourses"), ("extensions", &pq.to_string())])
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("GET");
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(header(&again, "etag"), etag);
    assert!(header(&again, "cache-control").starts_with("public"));
    assert!(header(&again, "vary").contains("authorization"));
    assert!(again.bytes().await.expect("body").is_empty());
    let stale = app
        .client
        .get(app.url("/graphql"))
        .query(&[("operationName", "PublicCourses"), ("extensions", &pq.to_string())])
        .header("if-none-match", "\"0000\"")
        .send()
        .await
        .expect("GET");
    assert_eq!(stale.status().as_u16(), 200, "another tag gets the body");
    // The registered reference operations are known without being sent first; a mutation stays
    // POST-only even by hash.
    let manifest = Manifest::embedded().expect("embedded manifest");
    let catalogue = manifest.operations.iter().find(|o| o.name == "Catalogue").expect("Catalogue");
    let (_, c) = post(
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": catalogue.id } } }),
    )
    .await;
    assert!(c["data"]["courses"]["edges"].is_array(), "{c}");
    let enroll = manifest.operations.iter().find(|o| o.name == "Enroll").expect("Enroll");
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": enroll.id } }).to_string();
    let get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", ext)])
        .send()
        .await
        .expect("GET");
    assert_eq!(get.status().as_u16(), 405);
}

/// Trusted documents: only the registered operations run.
async fn trusted_documents_only(app: TestApp) {
    let manifest = Manifest::embedded().expect("embedded manifest");
    let catalogue = manifest.operations.iter().find(|o| o.name == "Catalogue").expect("Catalogue");
    let r = app.gql(None, "{ courses(first: 1) { edges { node { slug } } } }", json!({})).await;
    assert_eq!(r.first_code().as_deref(), Some("PERSISTED_QUERY_NOT_IN_LIST"));
    assert!(
        r.errors()[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("pupitre operations register"))
    );
    // The registered text runs, and so does its hash.
    let r = app.gql(None, &catalogue.body, json!({ "first": 1 })).await;
    assert!(r.assert_ok()["courses"]["edges"].is_array());
    let body = json!({ "variables": { "first": 1 }, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": catalogue.id } } });
    let by_hash = post_json(&app, &body).await;
    assert_eq!(by_hash["data"], r.body["data"]);
    // By hash over GET, as a CDN would cache it.
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": catalogue.id } }).to_string();
    let get: Value = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", ext.as_str()), ("variables", r#"{"first":1}"#)])
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(get["data"], r.body["data"]);
    // A batch with one unregistered operation runs none of them.
    let batch = json!([{ "query": catalogue.body, "variables": { "first": 1 } }, { "query": "{ __typename }" }]);
    let refused = post_json(&app, &batch).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST",
        "{refused}"
    );
    assert!(refused.get("data").is_none() && !refused.is_array(), "nothing ran: {refused}");
    // Registering a new document the APQ way is refused, and it stays unknown.
    let q = "{ __typename }";
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(q) } });
    let refused = post_json(&app, &json!({ "query": q, "extensions": pq })).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST");
    let get = app.client.get(app.url("/graphql")).query(&[("query", q)]).send().await.expect("GET");
    let get: Value = get.json().await.expect("json");
    assert_eq!(get["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST");
    // Uploads too: a signed-in multipart request with an unregistered document.
    // Signing in is a registered operation too.
    let login = manifest.operations.iter().find(|o| o.name == "Login").expect("Login");
    let vars = json!({ "email": demo::LEARNER, "password": common::DEMO_PASSWORD });
    let r = app.gql(None, &login.body, vars).await;
    let token = r.assert_ok()["login"]["accessToken"].as_str().expect("token").to_owned();
    let ops =
        json!({ "query": "mutation($f: Upload!) { __typename }", "variables": { "f": null } });
    let boundary = "pupitre-clients-boundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{ops}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\":[\"variables.f\"]}}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").into_bytes();
    body.extend_from_slice(b"%PDF-1.4\n%%EOF\n");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r: Value = app.post_multipart(&token, boundary, body).await.json().await.expect("json");
    assert_eq!(r["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_trusted_documents_only() {
    trusted_documents_only(
        TestApp::sqlite_with(|s| s.persisted_queries = PersistedMode::Trusted).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_trusted_documents_only() {
    if let Some(app) =
        TestApp::postgres_with(|s| s.persisted_queries = PersistedMode::Trusted).await
    {
        trusted_documents_only(app).await;
    }
}

/// Production allows no origin by default: neither localhost nor anything else, until listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_allows_only_listed_origins() {
    let app = TestApp::sqlite_with(|s| {
        s.env = pupitre::config::Environment::Production;
        s.document_keys =
            Some(pupitre::config::Secret::new("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="));
        s.cors_origins = vec!["https://www.example.org".into()];
    })
    .await;
    assert_eq!(allow_origin(&preflight(&app, "http://localhost:5173", &[]).await), None);
    assert_eq!(allow_origin(&preflight(&app, SHOP, &[]).await), None);
    let listed = "https://www.example.org";
    assert_eq!(allow_origin(&preflight(&app, listed, &[]).await).as_deref(), Some(listed));
}

/// `graphql/operations/manifest.json` is what `pupitre operations register` makes of the
/// operations next to it: an operation changed without registering it again fails here.
#[test]
fn the_registered_manifest_matches_the_operations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("graphql/operations");
    let built = Manifest::build(&dir).expect("operations register");
    let committed = Manifest::load(&dir.join("manifest.json")).expect("manifest reads");
    assert_eq!(committed, built, "run `pupitre operations register`");
    assert_eq!(Manifest::embedded().expect("embedded"), committed, "the server embeds it");
    assert!(built.operations.iter().any(|o| o.name == "Catalogue" && o.kind == "query"));
}

on_both_databases!(
    cors_follows_each_tenants_origins,
    automatic_persisted_queries_over_post_and_get
);
