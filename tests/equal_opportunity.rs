//! Equal-opportunity applications on SQLite and PostgreSQL: multipart uploads sniffed by
//! content, documents encrypted at rest (and refused cleanly when tampered with), the role
//! matrix on situation and documents, audited reviewer reads, decisions, the discount on
//! orders, withdrawal and deletion.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::stripe::StripeStandIn;
use common::{TestApp, demo};
use serde_json::{Value, json};

const PDF: &[u8] = include_bytes!("fixtures/documents/avis-imposition.pdf");
const PNG: &[u8] = include_bytes!("fixtures/documents/carte-etudiant.png");
const HTML_NAMED_PDF: &[u8] = include_bytes!("fixtures/documents/page.html.pdf");
const EXECUTABLE: &[u8] = include_bytes!("fixtures/documents/outil.exe");
/// Both fixtures carry this text in clear; it must never appear in the stored bytes.
const MARKER: &[u8] = b"PUPITRE-PLAINTEXT-MARKER";

const APP_FIELDS: &str = "id status situation { incomeBracket scholarshipHolder text } documents { id kind originalName mimeType sizeBytes sha256 downloadUrl } decision { status discountPercent reason }";

/// A published paid course (EUR 400.00, 20 % VAT) with one session. Returns (course, session).
async fn course(app: &TestApp, slug: &str) -> (String, String) {
    let input = json!({ "slug": slug, "title": format!("Cours {slug}"), "summary": "Un cours.", "description": "",
        "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 40_000, "currency": "EUR", "taxRateBp": 2000 });
    common::published_course(app, input, 10).await
}

async fn create(app: &TestApp, token: &str, course: &str, learner: Option<&str>) -> String {
    let mut input = json!({ "courseId": course, "situation": { "incomeBracket": "FROM_10K_TO_20K", "scholarshipHolder": true, "text": "Étudiante boursière, échelon 5." } });
    if let Some(l) = learner {
        input["learnerId"] = json!(l);
    }
    let r = app.gql(Some(token), "mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { id status } } }", json!({ "input": input })).await;
    let a = &r.assert_ok()["createApplication"]["application"];
    assert_eq!(a["status"], "DRAFT");
    a["id"].as_str().expect("id").to_owned()
}

/// Sends `addDocuments` as a GraphQL multipart request; returns (HTTP status, body).
async fn upload(
    app: &TestApp,
    token: &str,
    application: &str,
    files: &[(&str, &str, &[u8])],
) -> (u16, Value) {
    let boundary = "pupitre-test-boundary-7MA4YWxkTrZu0gW";
    let operations = json!({
        "query": "mutation($input: AddDocumentsInput!) { addDocuments(input: $input) { documents { id mimeType sizeBytes sha256 originalName } } }",
        "variables": { "input": { "applicationId": application, "kind": "TAX_NOTICE", "files": files.iter().map(|_| Value::Null).collect::<Vec<_>>() } },
    });
    let map: serde_json::Map<String, Value> = (0..files.len())
        .map(|i| (i.to_string(), json!([format!("variables.input.files.{i}")])))
        .collect();
    let mut body = Vec::new();
    let mut text_part = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    text_part("operations", &operations.to_string());
    text_part("map", &Value::Object(map).to_string());
    for (i, (name, declared, bytes)) in files.iter().enumerate() {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{i}\"; filename=\"{name}\"\r\nContent-Type: {declared}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let res = app.post_multipart(token, boundary, body).await;
    let status = res.status().as_u16();
    (status, res.json().await.expect("JSON"))
}

async fn submit(app: &TestApp, token: &str, id: &str) -> common::Gql {
    app.gql(Some(token), "mutation($id: ID!) { submitApplication(input: {applicationId: $id}) { application { status } } }", json!({ "id": id })).await
}

/// Every file under the document store, with its bytes.
fn stored_files(app: &TestApp) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![app.documents.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("read file");
                out.push((p, bytes));
            }
        }
    }
    out
}

/// The stored blob of one document (its storage key ends with the document id).
fn blob_of(app: &TestApp, document: &str) -> Option<(std::path::PathBuf, Vec<u8>)> {
    stored_files(app)
        .into_iter()
        .find(|(p, _)| p.file_name().is_some_and(|n| n.to_string_lossy() == document))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn download(app: &TestApp, token: &str, url: &str) -> (u16, Vec<u8>, Option<String>) {
    let res = app.client.get(app.url(url)).bearer_auth(token).send().await.expect("download");
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, res.bytes().await.expect("bytes").to_vec(), ct)
}

async fn real_pdf_and_png_are_accepted_encrypted_at_rest_and_downloadable(app: TestApp) {
    let (course, _) = course(&app, "eo-upload").await;
    let learner = app.token(demo::LEARNER).await;
    let id = create(&app, &learner, &course, None).await;
    let before = stored_files(&app).len();
    // The declared type says nothing: the PNG is sent as octet-stream and still recognised.
    let (status, body) = upload(
        &app,
        &learner,
        &id,
        &[("avis.pdf", "application/pdf", PDF), ("carte.bin", "application/octet-stream", PNG)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let docs = body["data"]["addDocuments"]["documents"].as_array().expect("documents").clone();
    assert_eq!(docs.len(), 2, "{body}");
    assert_eq!(docs[0]["mimeType"], "application/pdf");
    assert_eq!(docs[1]["mimeType"], "image/png");
    assert_eq!(docs[0]["sizeBytes"], PDF.len());
    assert_eq!(docs[0]["sha256"], sha256_hex(PDF));
    assert_eq!(docs[1]["originalName"], "carte.bin");

    // On disk: two more blobs, neither holding the plaintext (nor does any other).
    let files = stored_files(&app);
    assert_eq!(files.len(), before + 2);
    for d in &docs {
        assert!(blob_of(&app, d["id"].as_str().expect("id")).is_some(), "stored under its id");
    }
    for (path, bytes) in &files {
        assert!(!contains(bytes, MARKER), "{} holds plaintext", path.display());
        assert!(
            !contains(bytes, b"%PDF-") && !contains(bytes, b"\x89PNG"),
            "{} is not encrypted",
            path.display()
        );
    }

    // The applicant downloads the exact bytes back.
    let r = app
        .gql(
            Some(&learner),
            &format!("query($id: ID!) {{ application(id: $id) {{ {APP_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await;
    let a = r.assert_ok()["application"].clone();
    let url = a["documents"][0]["downloadUrl"].as_str().expect("url").to_owned();
    let (status, bytes, ct) = download(&app, &learner, &url).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, PDF);
    assert_eq!(ct.as_deref(), Some("application/pdf"));
    assert_eq!(a["situation"]["incomeBracket"], "FROM_10K_TO_20K");
}

async fn bad_files_are_refused_with_their_index_and_nothing_is_stored(app: TestApp) {
    let (course, _) = course(&app, "eo-bad").await;
    let learner = app.token(demo::LEARNER).await;
    let id = create(&app, &learner, &course, None).await;
    let (rows, blobs) = (app.count("eo_documents").await, stored_files(&app).len());
    let eleven_mb = {
        let mut v = PDF.to_vec();
        v.resize(11 * 1024 * 1024, b' ');
        v
    };
    type File<'a> = (&'a str, &'a str, &'a [u8]);
    let cases: Vec<(Vec<File>, &str)> = vec![
        (vec![("page.pdf", "application/pdf", HTML_NAMED_PDF)], "input.files.0"),
        (
            vec![
                ("avis.pdf", "application/pdf", PDF),
                ("outil.pdf", "application/pdf", EXECUTABLE),
            ],
            "input.files.1",
        ),
        (vec![("vide.pdf", "application/pdf", b"")], "input.files.0"),
        (vec![("gros.pdf", "application/pdf", &eleven_mb)], "input.files.0"),
        (vec![("avis.pdf", "application/pdf", PDF); 6], "input.files"),
    ];
    for (files, field) in cases {
        let (status, body) = upload(&app, &learner, &id, &files).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{field}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    assert_eq!(app.count("eo_documents").await, rows, "nothing recorded");
    assert_eq!(stored_files(&app).len(), blobs, "nothing stored");
    // Submitting without documents is refused too.
    let r = submit(&app, &learner, &id).await;
    assert_eq!(r.first_code().as_deref(), Some("BAD_USER_INPUT"));
}

async fn a_tampered_document_fails_cleanly(app: TestApp) {
    let (course, _) = course(&app, "eo-tamper").await;
    let learner = app.token(demo::LEARNER).await;
    let id = create(&app, &learner, &course, None).await;
    let (_, body) = upload(&app, &learner, &id, &[("avis.pdf", "application/pdf", PDF)]).await;
    let doc = body["data"]["addDocuments"]["documents"][0]["id"].as_str().expect("doc").to_owned();
    let (path, mut bytes) = blob_of(&app, &doc).expect("its blob");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).expect("tamper");
    let (status, body, _) = download(&app, &learner, &format!("/documents/{doc}")).await;
    assert_eq!(status, 500);
    let json: Value = serde_json::from_slice(&body).expect("a JSON error, not garbage");
    assert_eq!(json["errors"][0]["extensions"]["code"], "DATA_CORRUPTED");
}

async fn situation_and_documents_follow_the_role_matrix_and_reviewer_reads_are_audited(
    app: TestApp,
) {
    let (course, _) = course(&app, "eo-matrix").await;
    // A guardian applies for their ward; the ward (the applicant) and the guardian may read it.
    let guardian = app.token(demo::GUARDIAN).await;
    let ward = app.user_id(demo::MINOR).await;
    let id = create(&app, &guardian, &course, Some(&ward)).await;
    let (status, body) =
        upload(&app, &guardian, &id, &[("avis.pdf", "application/pdf", PDF)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        submit(&app, &guardian, &id).await.assert_ok()["submitApplication"]["application"]["status"],
        "SUBMITTED"
    );
    let doc_url = format!(
        "/documents/{}",
        body["data"]["addDocuments"]["documents"][0]["id"].as_str().expect("doc")
    );

    let q = "query($id: ID!) { application(id: $id) { id situation { incomeBracket } documents { id } } }";
    for who in [demo::GUARDIAN, demo::MINOR, demo::REVIEWER, demo::DPO] {
        let t = app.token(who).await;
        let r = app.gql(Some(&t), q, json!({ "id": id })).await;
        assert!(r.errors().is_empty(), "{who} may read it: {}", r.body);
        assert_eq!(r.data()["application"]["situation"]["incomeBracket"], "FROM_10K_TO_20K");
        assert_eq!(r.data()["application"]["documents"].as_array().map(Vec::len), Some(1));
        assert_eq!(download(&app, &t, &doc_url).await.0, 200, "{who} may download");
    }
    for who in [
        demo::BILLING,
        demo::SUPPORT,
        demo::INSTRUCTOR,
        demo::MARKETING,
        demo::ADMIN,
        demo::LEARNER,
    ] {
        let t = app.token(who).await;
        let r = app.gql(Some(&t), q, json!({ "id": id })).await;
        assert_eq!(
            r.code_at("application.situation").as_deref(),
            Some("FORBIDDEN"),
            "{who}: {}",
            r.body
        );
        assert_eq!(
            r.code_at("application.documents").as_deref(),
            Some("FORBIDDEN"),
            "{who}: {}",
            r.body
        );
        assert_eq!(download(&app, &t, &doc_url).await.0, 404, "{who} must not download");
        let list = app
            .gql(Some(&t), "{ applications(first: 50) { edges { node { id } } } }", json!({}))
            .await;
        let listed = list.assert_ok()["applications"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .any(|e| e["node"]["id"] == id.as_str());
        assert!(!listed, "{who} must not list it");
    }

    // The reviewer's reads are in the audit log: reading the situation and the document list,
    // and each download.
    let reviewer = app.token(demo::REVIEWER).await;
    let app_ref = &app;
    let reads = |cat: &'static str| {
        let sql = format!(
            "audit_log WHERE category = '{cat}' AND purpose = 'equal_opportunity_review' AND action <> 'document.downloaded'"
        );
        async move { app_ref.count(&sql).await }
    };
    let (situation_reads, document_reads) =
        (reads("financial_situation").await, reads("supporting_documents").await);
    app.gql(Some(&reviewer), q, json!({ "id": id })).await.assert_ok();
    assert_eq!(
        reads("financial_situation").await,
        situation_reads + 1,
        "the reviewer's read of the situation is audited"
    );
    assert_eq!(reads("supporting_documents").await, document_reads + 1, "and of the documents");
    let downloads = app.count("audit_log WHERE action = 'document.downloaded'").await;
    assert_eq!(download(&app, &reviewer, &doc_url).await.0, 200);
    assert_eq!(
        app.count("audit_log WHERE action = 'document.downloaded'").await,
        downloads + 1,
        "each staff download is audited"
    );

    // The reviewer's queue shows it; the applicant's side cannot decide.
    let queue = app.gql(Some(&reviewer), "query($c: ID!) { applications(filter: {status: SUBMITTED, courseId: $c}) { totalCount edges { node { id } } } }", json!({ "c": course })).await;
    assert_eq!(queue.assert_ok()["applications"]["totalCount"], 1);
    let approve = "mutation($id: ID!, $p: Int!) { approveApplication(input: {applicationId: $id, discountPercent: $p, note: \"Avis conforme.\"}) { application { status } } }";
    let r = app.gql(Some(&guardian), approve, json!({ "id": id, "p": 50 })).await;
    assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"));
    for bad in [0, 101] {
        let r = app.gql(Some(&reviewer), approve, json!({ "id": id, "p": bad })).await;
        assert_eq!(r.first_code().as_deref(), Some("BAD_USER_INPUT"), "{bad}");
    }
    let r = app.gql(Some(&reviewer), approve, json!({ "id": id, "p": 50 })).await;
    assert_eq!(r.assert_ok()["approveApplication"]["application"]["status"], "APPROVED");
    // The applicant's side reads the decision, not the reviewer's note; the reviewer reads both.
    let q = "query($id: ID!) { application(id: $id) { decision { status discountPercent } reviewerNote } }";
    let r = app.gql(Some(&guardian), q, json!({ "id": id })).await;
    assert_eq!(r.data()["application"]["decision"]["discountPercent"], 50);
    assert_eq!(r.code_at("application.reviewerNote").as_deref(), Some("FORBIDDEN"));
    let r = app.gql(Some(&reviewer), q, json!({ "id": id })).await;
    assert_eq!(r.assert_ok()["application"]["reviewerNote"], "Avis conforme.");
    // Decided: the applicant can no longer change or withdraw it.
    let r = app.gql(Some(&guardian), "mutation($id: ID!) { withdrawApplication(input: {applicationId: $id}) { application { status } } }", json!({ "id": id })).await;
    assert_eq!(
        r.first_code().as_deref(),
        Some("CONFLICT"),
        "decided: it can no longer change: {}",
        r.body
    );
}

async fn one_open_application_per_course_withdrawal_and_deletion(app: TestApp) {
    let (course, _) = course(&app, "eo-lifecycle").await;
    let learner = app.token(demo::LEARNER).await;
    let id = create(&app, &learner, &course, None).await;
    let r = app
        .gql(
            Some(&learner),
            "mutation($c: ID!) { createApplication(input: {courseId: $c}) { application { id } } }",
            json!({ "c": course }),
        )
        .await;
    assert_eq!(r.first_code().as_deref(), Some("CONFLICT"));
    let (_, body) = upload(
        &app,
        &learner,
        &id,
        &[("avis.pdf", "application/pdf", PDF), ("carte.png", "image/png", PNG)],
    )
    .await;
    let doc_ids: Vec<String> = body["data"]["addDocuments"]["documents"]
        .as_array()
        .expect("docs")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect();
    submit(&app, &learner, &id).await.assert_ok();
    let r = app.gql(Some(&learner), "mutation($id: ID!) { withdrawApplication(input: {applicationId: $id}) { application { status } } }", json!({ "id": id })).await;
    assert_eq!(r.assert_ok()["withdrawApplication"]["application"]["status"], "WITHDRAWN");
    // Withdrawn: a new application for the course is possible again.
    let second = create(&app, &learner, &course, None).await;
    assert_ne!(second, id);
    // Deleting removes the rows and the blobs (keys first).
    assert!(doc_ids.iter().all(|d| blob_of(&app, d).is_some()));
    let rows = app.count("eo_documents").await;
    let other = app.token(demo::LEARNER2).await;
    let del = "mutation($id: ID!) { deleteApplication(input: {applicationId: $id}) { deletedId } }";
    assert_eq!(
        app.gql(Some(&other), del, json!({ "id": id })).await.first_code().as_deref(),
        Some("FORBIDDEN")
    );
    let r = app.gql(Some(&learner), del, json!({ "id": id })).await;
    assert_eq!(r.assert_ok()["deleteApplication"]["deletedId"], id.as_str());
    assert!(doc_ids.iter().all(|d| blob_of(&app, d).is_none()), "the blobs are gone");
    assert_eq!(app.count("eo_documents").await, rows - 2);
    let r = app
        .gql(Some(&learner), "query($id: ID!) { application(id: $id) { id } }", json!({ "id": id }))
        .await;
    assert!(r.assert_ok()["application"].is_null());
}

async fn an_approved_discount_lowers_new_and_pending_orders(app: TestApp, stripe: StripeStandIn) {
    let (course_a, session_a) = course(&app, "eo-discount-new").await;
    let (course_b, session_b) = course(&app, "eo-discount-pending").await;
    let learner = app.token(demo::LEARNER).await;
    let reviewer = app.token(demo::REVIEWER).await;
    let billing = app.token(demo::BILLING).await;
    let order_q = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id status total { amountCents } discount { amountCents } payment { paymentIntentId } } } }";
    let order_input = |key: &str, session: &str| {
        json!({ "input": { "idempotencyKey": key, "lines": [{ "sessionId": session }],
        "billing": { "name": "Léa Martin", "address": { "line1": "1 rue A", "postalCode": "75005", "city": "Paris", "country": "FR" } } } })
    };

    // An order made before the decision, for course B: pending at 400.00.
    let r = app.gql(Some(&learner), order_q, order_input("eo-pending-0001", &session_b)).await;
    let pending = r.assert_ok()["createOrder"]["order"].clone();
    assert_eq!(pending["total"]["amountCents"], 40_000);

    let approve = "mutation($id: ID!, $p: Int!) { approveApplication(input: {applicationId: $id, discountPercent: $p}) { application { status } } }";
    for (course, pct) in [(&course_a, 35), (&course_b, 25)] {
        let id = create(&app, &learner, course, None).await;
        upload(&app, &learner, &id, &[("avis.pdf", "application/pdf", PDF)]).await;
        submit(&app, &learner, &id).await.assert_ok();
        app.gql(Some(&reviewer), approve, json!({ "id": id, "p": pct })).await.assert_ok();
    }

    // A new order for course A: 35 % off 400.00 = 260.00, tax recomputed.
    let r = app.gql(Some(&learner), order_q, order_input("eo-new-0001", &session_a)).await;
    let o = r.assert_ok()["createOrder"]["order"].clone();
    assert_eq!(o["total"]["amountCents"], 26_000);
    assert_eq!(o["discount"]["amountCents"], 14_000);
    let pi = o["payment"]["paymentIntentId"].as_str().expect("pi");
    assert_eq!(
        stripe.payment_intent(pi).expect("intent")["amount"],
        26_000,
        "Stripe is asked for the discounted amount"
    );

    // The pending order for course B dropped by 25 %, at Stripe too.
    let id = pending["id"].as_str().expect("id");
    let r = app.gql(Some(&billing), "query($id: ID!) { order(id: $id) { total { amountCents } discount { amountCents } lines { discount { amountCents } } } }", json!({ "id": id })).await;
    let seen = r.assert_ok()["order"].clone();
    assert_eq!(seen["total"]["amountCents"], 30_000);
    assert_eq!(seen["discount"]["amountCents"], 10_000, "billing sees the discount amount");
    let pending_pi = pending["payment"]["paymentIntentId"].as_str().expect("pi");
    assert_eq!(stripe.payment_intent(pending_pi).expect("intent")["amount"], 30_000);
    // Paying it gives an invoice with the discount.
    let (status, _) = stripe.confirm(pending_pi, "pm_card_visa").await;
    assert_eq!(status, 200);
    let r = app.gql(Some(&learner), "query($id: ID!) { order(id: $id) { status invoices { total { amountCents } lines { discountCents } } } }", json!({ "id": id })).await;
    let paid = r.assert_ok()["order"].clone();
    assert_eq!(paid["status"], "PAID");
    assert_eq!(paid["invoices"][0]["total"]["amountCents"], 30_000);
    assert_eq!(paid["invoices"][0]["lines"][0]["discountCents"], 10_000);

    // Stripe lowered, the order not (the approval stopped half-way): the payment of the lowered
    // amount heals the order, which is priced again with the approved discount.
    let (course_c, session_c) = course(&app, "eo-discount-heal").await;
    let r = app.gql(Some(&learner), order_q, order_input("eo-heal-0001", &session_c)).await;
    let o = r.assert_ok()["createOrder"]["order"].clone();
    let id = create(&app, &learner, &course_c, None).await;
    upload(&app, &learner, &id, &[("avis.pdf", "application/pdf", PDF)]).await;
    submit(&app, &learner, &id).await.assert_ok();
    app.execute("UPDATE eo_applications SET status = 'approved', discount_percent = 10 WHERE course_id IN (SELECT id FROM courses WHERE slug = 'eo-discount-heal')").await;
    let pi = o["payment"]["paymentIntentId"].as_str().expect("pi");
    let res = app
        .client
        .post(format!("{}/v1/payment_intents/{pi}", stripe.base_url))
        .bearer_auth(&stripe.secret_key)
        .form(&[("amount", "36000")])
        .send()
        .await
        .expect("update");
    assert_eq!(res.status().as_u16(), 200);
    let (status, _) = stripe.confirm(pi, "pm_card_visa").await;
    assert_eq!(status, 200);
    let r = app.gql(Some(&learner), "query($id: ID!) { order(id: $id) { status total { amountCents } discount { amountCents } } }", json!({ "id": o["id"] })).await;
    let healed = r.assert_ok()["order"].clone();
    assert_eq!(healed["status"], "PAID");
    assert_eq!(healed["total"]["amountCents"], 36_000);
    assert_eq!(healed["discount"]["amountCents"], 4_000);
}

async fn the_demo_data_has_applications_in_every_status_with_readable_documents(app: TestApp) {
    let reviewer = app.token(demo::REVIEWER).await;
    let r = app.gql(Some(&reviewer), "{ applications(first: 50) { edges { node { status documents { downloadUrl mimeType } } } } }", json!({})).await;
    let edges = r.assert_ok()["applications"]["edges"].as_array().expect("edges").clone();
    let mut statuses: Vec<String> =
        edges.iter().filter_map(|e| e["node"]["status"].as_str().map(str::to_owned)).collect();
    statuses.sort();
    statuses.dedup();
    assert_eq!(
        statuses,
        ["APPROVED", "REJECTED", "SUBMITTED", "UNDER_REVIEW"],
        "the queue never shows drafts nor withdrawn applications"
    );
    let dpo = app.token(demo::DPO).await;
    let r = app
        .gql(Some(&dpo), "{ applications(first: 50) { edges { node { status } } } }", json!({}))
        .await;
    let all: Vec<Value> = r.assert_ok()["applications"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["status"].clone())
        .collect();
    assert!(
        all.contains(&json!("WITHDRAWN")) && !all.contains(&json!("DRAFT")),
        "the privacy officer sees withdrawn ones: {all:?}"
    );
    let learner = app.token(demo::LEARNER).await;
    let r =
        app.gql(Some(&learner), "{ applications { edges { node { status } } } }", json!({})).await;
    let mine: Vec<Value> = r.assert_ok()["applications"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["status"].clone())
        .collect();
    assert!(mine.contains(&json!("DRAFT")) && mine.contains(&json!("APPROVED")), "{mine:?}");
    // A sample document decrypts to a real PDF.
    let url = edges
        .iter()
        .flat_map(|e| e["node"]["documents"].as_array().cloned().unwrap_or_default())
        .find(|d| d["mimeType"] == "application/pdf")
        .expect("a PDF")["downloadUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    let (status, bytes, _) = download(&app, &reviewer, &url).await;
    assert_eq!(status, 200);
    assert!(bytes.starts_with(b"%PDF-"));
}

async fn reviewers_never_decide_their_own_application(app: TestApp) {
    let (course, _) = course(&app, "eo-self").await;
    let reviewer = app.token(demo::REVIEWER).await;
    let id = create(&app, &reviewer, &course, None).await;
    upload(&app, &reviewer, &id, &[("avis.pdf", "application/pdf", PDF)]).await;
    submit(&app, &reviewer, &id).await.assert_ok();
    let approve = "mutation($id: ID!) { approveApplication(input: {applicationId: $id, discountPercent: 100}) { application { status } } }";
    let r = app.gql(Some(&reviewer), approve, json!({ "id": id })).await;
    assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"), "{}", r.body);
    let r = app.gql(Some(&reviewer), "mutation($id: ID!) { startReview(input: {applicationId: $id}) { application { status } } }", json!({ "id": id })).await;
    assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"));
    let r = app
        .gql(
            Some(&reviewer),
            "query($id: ID!) { application(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.assert_ok()["application"]["status"], "SUBMITTED", "nothing was decided");
}

/// Defect: a reviewer got FORBIDDEN on the applicant's names while reading their situation.
async fn reviewers_see_who_applied_and_nothing_more(app: TestApp) {
    let reviewer = app.token(demo::REVIEWER).await;
    let q = "{ applications(first: 50, filter: {status: SUBMITTED}) { edges { node { id applicant { id firstName lastName email phone } } } } }";
    let r = app.gql(Some(&reviewer), q, json!({})).await;
    let edges = r.data()["applications"]["edges"].as_array().cloned().unwrap_or_default();
    let hugo = edges
        .iter()
        .find(|e| e["node"]["applicant"]["firstName"] == "Hugo")
        .unwrap_or_else(|| panic!("Hugo's submitted application: {}", r.body));
    assert_eq!(hugo["node"]["applicant"]["lastName"], "Bernard");
    // Identity only: contact data is not a reviewer's business.
    assert!(
        hugo["node"]["applicant"]["email"].is_null()
            && hugo["node"]["applicant"]["phone"].is_null()
    );
    assert_eq!(
        r.code_at("applications.edges.0.node.applicant.email").as_deref(),
        Some("FORBIDDEN"),
        "{}",
        r.body
    );
    // The same person through `user(id)`: names, no contact data.
    let hugo_id = hugo["node"]["applicant"]["id"].as_str().expect("id").to_owned();
    let r = app
        .gql(
            Some(&reviewer),
            "query($id: ID!) { user(id: $id) { firstName lastName email } }",
            json!({ "id": hugo_id }),
        )
        .await;
    assert_eq!(r.data()["user"]["firstName"], "Hugo", "{}", r.body);
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    // Someone with no application in review (only a draft, or none) stays closed to reviewers.
    let stranger = app.user_id(demo::INSTRUCTOR).await;
    let r = app
        .gql(
            Some(&reviewer),
            "query($id: ID!) { user(id: $id) { firstName lastName } }",
            json!({ "id": stranger }),
        )
        .await;
    assert_eq!(r.code_at("user.firstName").as_deref(), Some("FORBIDDEN"), "{}", r.body);
    let (course, _) = course(&app, "eo-draft-only").await;
    let paul = register(&app, "paul.brouillon@example.test").await;
    create(&app, &paul.0, &course, None).await;
    let r = app
        .gql(
            Some(&reviewer),
            "query($id: ID!) { user(id: $id) { firstName } }",
            json!({ "id": paul.1 }),
        )
        .await;
    assert_eq!(
        r.code_at("user.firstName").as_deref(),
        Some("FORBIDDEN"),
        "a draft is not an application in review: {}",
        r.body
    );
}

/// A new learner account; returns (token, id).
async fn register(app: &TestApp, email: &str) -> (String, String) {
    let q = "mutation($e: String!) { register(input: {email: $e, password: \"a long enough passphrase\", firstName: \"Paul\", lastName: \"Nouveau\", acceptedPolicyVersion: \"2026-09\"}) { accessToken user { id } } }";
    let r = app.gql_with(None, &[("x-pupitre-tenant", "demo")], q, json!({ "e": email })).await;
    let d = &r.assert_ok()["register"];
    (
        d["accessToken"].as_str().expect("token").to_owned(),
        d["user"]["id"].as_str().expect("id").to_owned(),
    )
}

/// Defect: reviewers still saw a minor's withdrawn application, situation and documents included.
async fn a_withdrawn_application_leaves_the_reviewers_queue(app: TestApp) {
    let dpo = app.token(demo::DPO).await;
    let q = "{ applications(first: 50, filter: {status: WITHDRAWN}) { edges { node { id applicant { firstName } documents { downloadUrl } } } } }";
    let r = app.gql(Some(&dpo), q, json!({})).await;
    let edges = r.assert_ok()["applications"]["edges"].as_array().cloned().unwrap_or_default();
    let toms = edges
        .iter()
        .find(|e| e["node"]["applicant"]["firstName"] == "Tom")
        .expect("Tom's withdrawn application (demo)");
    let id = toms["node"]["id"].as_str().expect("id").to_owned();
    let url = toms["node"]["documents"][0]["downloadUrl"].as_str().expect("a document").to_owned();

    let reviewer = app.token(demo::REVIEWER).await;
    // Not listed, even when asked for by status …
    let r = app.gql(Some(&reviewer), "{ applications(first: 50, filter: {status: WITHDRAWN}) { totalCount edges { node { id } } } }", json!({})).await;
    assert_eq!(r.assert_ok()["applications"]["totalCount"], 0, "{}", r.body);
    // … nor readable by id (the situation, documents and applicant are closed) …
    let r = app.gql(Some(&reviewer), "query($id: ID!) { application(id: $id) { id situation { text } documents { id } applicant { firstName } } }", json!({ "id": id })).await;
    for f in ["situation", "documents", "applicant"] {
        assert_eq!(
            r.code_at(&format!("application.{f}")).as_deref(),
            Some("FORBIDDEN"),
            "{f}: {}",
            r.body
        );
    }
    // … nor downloadable.
    let (status, bytes, _) = download(&app, &reviewer, &url).await;
    assert_eq!((status, bytes.starts_with(b"\x89PNG")), (404, false));
    // The minor, who has no other application, is closed to reviewers too.
    let tom = app.user_id(demo::MINOR).await;
    let r = app
        .gql(
            Some(&reviewer),
            "query($id: ID!) { user(id: $id) { firstName } }",
            json!({ "id": tom }),
        )
        .await;
    assert_eq!(r.code_at("user.firstName").as_deref(), Some("FORBIDDEN"));
    // The privacy officer still answers for it.
    let (status, _, _) = download(&app, &dpo, &url).await;
    assert_eq!(status, 200);
}

async fn uploads_need_a_signed_in_multipart_request(app: TestApp) {
    let (course, _) = course(&app, "eo-forged").await;
    let learner = app.token(demo::LEARNER).await;
    let id = create(&app, &learner, &course, None).await;
    // Anonymous multipart: refused before anything is parsed.
    let res = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{\"query\":\"{ __typename }\"}\r\n--x--\r\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status().as_u16(), 401);
    // An upload placeholder forged in plain JSON, malformed or pointing at no file: 400, no panic.
    let q =
        "mutation($input: AddDocumentsInput!) { addDocuments(input: $input) { documents { id } } }";
    for marker in ["#__graphql_file__:x", "#__graphql_file__:99"] {
        let r = app
            .gql(
                Some(&learner),
                q,
                json!({ "input": { "applicationId": id, "kind": "OTHER", "files": [marker] } }),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.first_code().as_deref(), Some("BAD_USER_INPUT"));
    }
    // The server is still there.
    assert!(app.gql(None, "{ __typename }", json!({})).await.errors().is_empty());
}

/// Key rotation: documents sealed under the old master key are re-wrapped under the new one, and
/// then open with the new key alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_master_keys_rewraps_every_document() {
    use pupitre::domain::equal_opportunity::rotate_keys;
    use pupitre::startup::document_config;
    let old = "old:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let new = "new:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let app =
        TestApp::sqlite_with(|s| s.document_keys = Some(pupitre::config::Secret::new(old))).await;
    let (course, _) = course(&app, "eo-rotate").await;
    let learner = app.token(demo::LEARNER).await;
    let id = create(&app, &learner, &course, None).await;
    let (_, body) = upload(&app, &learner, &id, &[("avis.pdf", "application/pdf", PDF)]).await;
    let doc = body["data"]["addDocuments"]["documents"][0]["id"].as_str().expect("doc").to_owned();
    let total = app.count("eo_documents").await;
    assert_eq!(app.count("eo_documents WHERE key_id = 'old'").await, total);
    // The tenant's own Stripe keys are sealed in the same envelope.
    let admin = app.token(demo::ADMIN).await;
    app.gql(
        Some(&admin),
        "mutation { setPaymentAccount(input: {secretKey: \"sk_test_rotation0123456789\", publishableKey: \"pk_test_rotation0123456789\", webhookSecret: \"whsec_rotation0123456789\"}) { paymentAccount { ownKeys } } }",
        json!({}),
    )
    .await
    .assert_ok();
    assert_eq!(app.count("payment_accounts WHERE key_id = 'old'").await, 1);

    let mut settings = app.settings();
    settings.document_keys = Some(pupitre::config::Secret::new(format!("{new},{old}")));
    let (conn, _) = pupitre::db::connect(&settings.database_url, 1).await.expect("connect");
    let moved =
        rotate_keys(&conn, &document_config(&settings).expect("config")).await.expect("rotation");
    assert_eq!(moved as i64, total + 1, "the documents and the Stripe keys");
    assert_eq!(app.count("eo_documents WHERE key_id = 'new'").await, total);
    assert_eq!(app.count("payment_accounts WHERE key_id = 'new'").await, 1);
    assert_eq!(
        rotate_keys(&conn, &document_config(&settings).expect("config")).await.expect("again"),
        0,
        "idempotent"
    );

    // A server that only knows the new key serves the document.
    let fresh = TestApp::sqlite_with(|s| {
        s.database_url = settings.database_url.clone();
        s.document_dir = settings.document_dir.clone();
        s.document_keys = Some(pupitre::config::Secret::new(new));
    })
    .await;
    let token = fresh.token(demo::LEARNER).await;
    let (status, bytes, _) = download(&fresh, &token, &format!("/documents/{doc}")).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, PDF);
    let demo_id = fresh.services().tenants.by_slug("demo").await.expect("dir").expect("demo").id;
    let account = pupitre::domain::payments::accounts::account_for(fresh.services(), demo_id)
        .await
        .expect("the Stripe keys open with the new master key");
    assert!(!account.installation);
}

/// An organisation's own upload limits (tenant settings) apply below the installation's.
async fn an_organisation_s_lower_upload_limits_apply(app: TestApp) {
    let admin = app.token(demo::ADMIN).await;
    let set = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { uploadMaxFiles uploadMaxFileBytes } } }";
    let too_big =
        app.gql(Some(&admin), set, json!({ "input": { "uploadMaxFiles": 10_000 } })).await;
    too_big.assert_bad_input("input.uploadMaxFiles");
    let small: u64 = 1024;
    let r = app
        .gql(
            Some(&admin),
            set,
            json!({ "input": { "uploadMaxFiles": 1, "uploadMaxFileBytes": small } }),
        )
        .await;
    assert_eq!(r.assert_ok()["updateTenantSettings"]["settings"]["uploadMaxFiles"], 1);
    let (course, _) = course(&app, "eo-limits").await;
    let learner = app.token(demo::LEARNER).await;
    let id = create(&app, &learner, &course, None).await;
    let (status, body) =
        upload(&app, &learner, &id, &[("a.png", "image/png", PNG), ("b.png", "image/png", PNG)])
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.files", "{body}");
    let bigger: Vec<u8> = [PNG, &[0_u8; 1024][..]].concat();
    let (_, body) = upload(&app, &learner, &id, &[("big", "image/png", &bigger)]).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.files.0", "{body}");
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains(&small.to_string())));
    let (_, body) = upload(&app, &learner, &id, &[("ok.png", "image/png", PNG)]).await;
    assert!(body["errors"].is_null(), "within the limits: {body}");
}

on_both_databases!(
    an_organisation_s_lower_upload_limits_apply,
    the_demo_data_has_applications_in_every_status_with_readable_documents,
    real_pdf_and_png_are_accepted_encrypted_at_rest_and_downloadable,
    bad_files_are_refused_with_their_index_and_nothing_is_stored,
    a_tampered_document_fails_cleanly,
    situation_and_documents_follow_the_role_matrix_and_reviewer_reads_are_audited,
    one_open_application_per_course_withdrawal_and_deletion,
    reviewers_never_decide_their_own_application,
    reviewers_see_who_applied_and_nothing_more,
    a_withdrawn_application_leaves_the_reviewers_queue,
    uploads_need_a_signed_in_multipart_request,
);

mod with_stripe {
    use super::*;
    with_stripe_on_both_databases!(an_approved_discount_lowers_new_and_pending_orders);
}
