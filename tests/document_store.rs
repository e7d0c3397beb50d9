//! Supporting documents in S3-compatible object storage (`PUPITRE_DOCUMENT_STORE=s3://…`),
//! against a local S3 server: moto (PyPI), which this test installs into the target directory
//! and starts itself. The bucket holds only ciphertext; downloads and deletion go through it.
//!
//! Without Python the test prints why and skips, except under `CI=true`, where it fails.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{TestApp, demo};
use serde_json::{Value, json};

const PDF: &[u8] = include_bytes!("fixtures/documents/avis-imposition.pdf");
const MARKER: &[u8] = b"PUPITRE-PLAINTEXT-MARKER";
const MOTO: &str = "moto[server]==5.2.5";

/// A running moto S3 server, stopped when dropped.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_available() -> bool {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs moto into a virtual environment under the target directory (once) and starts it
/// on a free port.
async fn start_moto() -> Moto {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("moto-venv");
    let server = venv.join("bin/moto_server");
    if !server.exists() {
        let st = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(st.success(), "creating the moto virtual environment failed");
        let st = std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", MOTO])
            .status()
            .expect("pip");
        assert!(st.success(), "pip install {MOTO} failed");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let child = std::process::Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(&moto.url).send().await.is_ok() {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto did not start on {}", moto.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_can_live_in_s3_compatible_storage_encrypted() {
    if !python_available() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true and Python is missing: the S3 test cannot run"
        );
        eprintln!("skipping the S3 document store test: python3 is not installed");
        return;
    }
    let moto = start_moto().await;
    let client = reqwest::Client::new();
    // moto accepts unsigned requests: create the bucket directly.
    let res = client.put(format!("{}/pupitre-docs", moto.url)).send().await.expect("create bucket");
    assert!(res.status().is_success(), "bucket creation: {}", res.status());
    let app = TestApp::sqlite_with(|s| {
        s.document_s3 = Some(pupitre::config::S3Settings {
            bucket: "pupitre-docs".into(),
            prefix: "tenant-data".into(),
            region: "us-east-1".into(),
            endpoint: Some(moto.url.clone()),
            access_key_id: Some(pupitre::config::Secret::new("testing")),
            secret_access_key: Some(pupitre::config::Secret::new("testing")),
        });
    })
    .await;
    assert!(
        std::fs::read_dir(app.documents.path()).expect("dir").next().is_none(),
        "nothing goes to the local directory"
    );

    // A learner applies and uploads a PDF (the demo data's documents are in the bucket too).
    let admin = app.token(demo::ADMIN).await;
    let r = app
        .gql(
            Some(&admin),
            "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }",
            json!({ "input": { "slug": "eo-s3", "title": "Cours S3", "summary": "s", "description": "", "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 10_000 } }),
        )
        .await;
    let course = r.assert_ok()["createCourse"]["course"]["id"].as_str().expect("course").to_owned();
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { publishCourse(input: {courseId: $id}) { course { id } } }",
        json!({ "id": course }),
    )
    .await
    .assert_ok();
    let learner = app.token(demo::LEARNER).await;
    let r = app.gql(Some(&learner), "mutation($c: ID!) { createApplication(input: {courseId: $c, situation: {incomeBracket: BELOW_10K}}) { application { id } } }", json!({ "c": course })).await;
    let id =
        r.assert_ok()["createApplication"]["application"]["id"].as_str().expect("id").to_owned();

    let boundary = "pupitre-s3-boundary";
    let operations = json!({ "query": "mutation($input: AddDocumentsInput!) { addDocuments(input: $input) { documents { id } } }",
        "variables": { "input": { "applicationId": id, "kind": "TAX_NOTICE", "files": [null] } } });
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\":[\"variables.input.files.0\"]}}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"avis.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").into_bytes();
    body.extend_from_slice(PDF);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&learner)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("upload");
    let v: Value = res.json().await.expect("json");
    let doc = v["data"]["addDocuments"]["documents"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("uploaded: {v}"))
        .to_owned();

    // In the bucket (read back through the server's own S3 client): ciphertext only; the local
    // directory stays empty.
    let tenant = app.services().tenants.by_slug("demo").await.expect("tenants").expect("demo").id;
    let key =
        pupitre::domain::equal_opportunity::vault::storage_key(tenant, doc.parse().expect("uuid"));
    let store = &app.services().documents.store;
    let bytes = store.get(&key).await.expect("the object is in the bucket");
    assert!(!bytes.windows(MARKER.len()).any(|w| w == MARKER), "the bucket holds no plaintext");
    assert!(!bytes.starts_with(b"%PDF"));
    assert!(std::fs::read_dir(app.documents.path()).expect("dir").next().is_none());

    // The applicant downloads it back; deleting the application deletes the object.
    let res = app
        .client
        .get(app.url(&format!("/documents/{doc}")))
        .bearer_auth(&learner)
        .send()
        .await
        .expect("download");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), PDF);
    let r = app
        .gql(
            Some(&learner),
            "mutation($id: ID!) { deleteApplication(input: {applicationId: $id}) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    r.assert_ok();
    assert!(
        matches!(
            store.get(&key).await,
            Err(pupitre::domain::equal_opportunity::vault::VaultError::Missing)
        ),
        "the object is gone"
    );
}
