//! The HTTP layer's limits, tried the way an attacker would: bodies over their limit (declared
//! or streamed), uploads from nobody, stalled bodies, over-long URIs and malformed requests, and
//! the memory of the real binary under four concurrent 60 MB bodies. Requests are written on raw
//! TCP connections so that the test controls every byte and every pause.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TestApp, demo};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// An HTTP answer read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// Status and the start of the body, for assertion messages.
    fn brief(&self) -> String {
        format!("{} {}", self.status, self.body.chars().take(300).collect::<String>())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("a JSON body, got {} (head {:?})", self.brief(), self.head))
    }
}

/// Reads one response (head, then `Content-Length` bytes of body).
async fn read_answer(r: &mut (impl AsyncRead + Unpin)) -> Option<Answer> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match r.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.ok()?;
    Some(Answer { status, head, body: String::from_utf8_lossy(&body).into_owned() })
}

/// Whether the server closes the connection (EOF or reset) within `within`.
async fn closed(r: &mut (impl AsyncRead + Unpin), within: Duration) -> bool {
    let mut sink = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, r.read(&mut sink)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

fn port_of(app: &TestApp) -> u16 {
    app.url("").rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).expect("port")
}

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).await.expect("connect")
}

/// Sends a request head (and `body`, if any) and waits at most `within` for the answer.
async fn send(port: u16, head: &str, body: &[u8], within: Duration) -> (Answer, TcpStream) {
    let mut s = connect(port).await;
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(body).await.expect("body");
    let a = tokio::time::timeout(within, read_answer(&mut s))
        .await
        .expect("answered in time")
        .expect("an HTTP answer");
    (a, s)
}

/// Streams `total` bytes of `chunk` repeated (chunked encoding when `chunked`) while reading the
/// answer; stops writing once the server stops reading. Returns the answer, if one came.
async fn stream_body(port: u16, head: String, chunked: bool, total: usize) -> Option<Answer> {
    let s = connect(port).await;
    let (mut rd, mut wr) = s.into_split();
    let reader = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(60), read_answer(&mut rd)).await.ok().flatten()
    });
    let piece = vec![b' '; 64 * 1024];
    let _ = wr.write_all(head.as_bytes()).await;
    let mut sent = 0;
    while sent < total {
        let n = piece.len().min(total - sent);
        let r = if chunked {
            let mut framed = format!("{n:x}\r\n").into_bytes();
            framed.extend_from_slice(&piece[..n]);
            framed.extend_from_slice(b"\r\n");
            wr.write_all(&framed).await
        } else {
            wr.write_all(&piece[..n]).await
        };
        if r.is_err() {
            break;
        }
        sent += n;
    }
    if chunked && sent >= total {
        let _ = wr.write_all(b"0\r\n\r\n").await;
    }
    reader.await.ok().flatten()
}

fn json_head(len: Option<usize>) -> String {
    let framing = match len {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    )
}

fn assert_graphql_error(a: &Answer, status: u16, message_part: &str) {
    assert_eq!(a.status, status, "{}", a.brief());
    let body = a.json();
    let e = &body["errors"][0];
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert!(e["extensions"]["requestId"].as_str().is_some_and(|r| !r.is_empty()), "{body}");
    assert!(e["message"].as_str().unwrap_or("").contains(message_part), "{body}");
}

/// A `register` mutation padded with spaces to `size` bytes: over the limit, it must create no
/// account.
fn padded_registration(size: usize) -> Vec<u8> {
    let q = json!({
        "query": "mutation { register(input: {email: \"padded@example.org\", password: \"a long enough passphrase\", firstName: \"P\", lastName: \"Q\", acceptedPolicyVersion: \"2026-09\"}) { user { id } } }"
    });
    let mut body = serde_json::to_vec(&q).expect("json");
    body.resize(size, b' ');
    body
}

/// Generous body timeout: these answers must come at once, not when the clock runs out.
fn patient(s: &mut pupitre::config::Settings) {
    s.body_read_timeout_secs = 60;
}

async fn a_json_body_over_the_limit_is_refused_with_413_and_creates_nothing(app: TestApp) {
    let port = port_of(&app);
    let users = app.count("users").await;
    // Declared too large: answered at once, without sending (or reading) a byte of it.
    let start = Instant::now();
    let (a, mut s) = send(port, &json_head(Some(2 << 20)), b"", Duration::from_secs(10)).await;
    assert_graphql_error(&a, 413, "larger than 1048576 bytes");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "refused before the body came: {:?}",
        start.elapsed()
    );
    assert!(closed(&mut s, Duration::from_secs(5)).await, "the connection is closed after a 413");
    // Chunked (no declared length): counted as it streams, refused once past the limit.
    let a = stream_body(port, json_head(None), true, 8 << 20)
        .await
        .expect("an answer to the chunked body");
    assert_graphql_error(&a, 413, "larger than 1048576 bytes");
    // A real mutation just over the limit, declared honestly and sent in full: nothing runs.
    let body = padded_registration((1 << 20) + 1);
    let (a, _) = send(port, &json_head(Some(body.len())), &body, Duration::from_secs(10)).await;
    assert_graphql_error(&a, 413, "larger than");
    assert_eq!(app.count("users").await, users, "no account was created");
    // Control: the same mutation within the limit is answered (and creates the account).
    let body = padded_registration(4096);
    let (a, _) = send(port, &json_head(Some(body.len())), &body, Duration::from_secs(30)).await;
    assert_eq!(a.status, 200, "{}", a.brief());
    assert!(a.json()["errors"].is_null(), "{}", a.body);
    assert_eq!(app.count("users").await, users + 1);
}

async fn an_anonymous_upload_is_refused_with_401_before_its_parts_are_read(app: TestApp) {
    let port = port_of(&app);
    let documents = app.count("eo_documents").await;
    let head = |auth: &str| {
        format!(
            "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\n{auth}Content-Length: 62914560\r\n\r\n"
        )
    };
    // 60 MB declared, not a byte sent: the answer cannot have waited for the parts.
    let start = Instant::now();
    let (a, mut s) = send(port, &head(""), b"", Duration::from_secs(10)).await;
    assert_eq!(a.status, 401, "{}", a.brief());
    assert_eq!(a.json()["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    assert!(closed(&mut s, Duration::from_secs(5)).await, "the unread body is not waited for");
    // The same with a token that does not verify.
    let (a, _) = send(
        port,
        &head("Authorization: Bearer forged.token.value\r\n"),
        b"",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(a.status, 401, "{}", a.brief());
    // Signed in, but declared over the upload limit (six files of 10 MiB and the JSON parts):
    // 413 at once.
    let token = app.token(demo::LEARNER).await;
    let over = pupitre::http::graphql::multipart_body_limit(&app.settings()) + 1;
    let signed = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\nAuthorization: Bearer {token}\r\nContent-Length: {over}\r\n\r\n"
    );
    let (a, _) = send(port, &signed, b"", Duration::from_secs(10)).await;
    assert_graphql_error(&a, 413, "larger than");
    assert_eq!(app.count("eo_documents").await, documents, "nothing was stored");
}

async fn an_oversized_uri_gets_414_with_a_body_that_says_so(app: TestApp) {
    let port = port_of(&app);
    let q = "a".repeat(20 * 1024);
    let (a, _) = send(
        port,
        &format!("GET /graphql?query={q} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        b"",
        Duration::from_secs(10),
    )
    .await;
    assert_graphql_error(&a, 414, "longer than 16384 bytes");
    // Control: a GET query of ordinary length is answered.
    let (a, _) = send(
        port,
        "GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.brief());
}

/// Fifty clients each declare 1,000 bytes, send 10 and stall: each gets 408 (with a body saying
/// why) within the shortened timeout, and its connection is closed.
async fn stalled_bodies_are_answered_408_and_closed(app: TestApp) {
    let port = port_of(&app);
    let timeout = Duration::from_secs(app.settings().body_read_timeout_secs);
    let users = app.count("users").await;
    let start = Instant::now();
    let clients = (0..50).map(|_| {
        tokio::spawn(async move {
            let mut s = connect(port).await;
            s.write_all(json_head(Some(1000)).as_bytes()).await.expect("head");
            s.write_all(br#"{"query":"#).await.expect("ten bytes");
            let a = tokio::time::timeout(Duration::from_secs(30), read_answer(&mut s))
                .await
                .expect("answered")
                .expect("an answer");
            let was_closed = closed(&mut s, Duration::from_secs(10)).await;
            (a, was_closed, start.elapsed())
        })
    });
    let results = futures_util::future::join_all(clients).await;
    assert_eq!(results.len(), 50);
    for r in results {
        let (a, was_closed, elapsed) = r.expect("client task");
        assert_graphql_error(&a, 408, "did not arrive within");
        assert!(was_closed, "the connection is closed after the 408");
        assert!(
            elapsed >= timeout.saturating_sub(Duration::from_millis(500)),
            "not before the timeout: {elapsed:?}"
        );
        assert!(
            elapsed < timeout + Duration::from_secs(10),
            "answered within the timeout: {elapsed:?}"
        );
    }
    assert_eq!(app.count("users").await, users);
    // The server still serves.
    assert!(app.gql(None, "{ __typename }", json!({})).await.errors().is_empty());
}

macro_rules! on_both_databases_with {
    ($tweak:expr; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::TestApp::sqlite_with($tweak).await).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::common::TestApp::postgres_with($tweak).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

on_both_databases_with!(super::patient;
    a_json_body_over_the_limit_is_refused_with_413_and_creates_nothing,
    an_anonymous_upload_is_refused_with_401_before_its_parts_are_read,
    an_oversized_uri_gets_414_with_a_body_that_says_so,
);

fn short_body_timeout(s: &mut pupitre::config::Settings) {
    s.body_read_timeout_secs = 2;
}

on_both_databases_with!(super::short_body_timeout; stalled_bodies_are_answered_408_and_closed);

/// A signed-in client trickling an upload (a byte a second, never pausing as long as the body
/// timeout) is cut off by the whole-upload deadline.
async fn a_trickled_upload_is_answered_408_at_its_deadline(app: TestApp) {
    let port = port_of(&app);
    let token = app.token(demo::LEARNER).await;
    let deadline = Duration::from_secs(app.settings().upload_timeout_secs);
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\nAuthorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n"
    );
    let s = connect(port).await;
    let (mut rd, mut wr) = s.into_split();
    let start = Instant::now();
    let reader = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(30), read_answer(&mut rd)).await.ok().flatten()
    });
    wr.write_all(head.as_bytes()).await.expect("head");
    let writer = tokio::spawn(async move {
        for _ in 0..20 {
            if wr.write_all(b"-").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    });
    let a = reader.await.expect("reader").expect("an answer");
    writer.abort();
    assert_graphql_error(&a, 408, "did not arrive within");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= deadline.saturating_sub(Duration::from_millis(300))
            && elapsed < deadline + Duration::from_secs(5),
        "{elapsed:?}"
    );
}

fn short_upload_deadline(s: &mut pupitre::config::Settings) {
    s.body_read_timeout_secs = 2;
    s.upload_timeout_secs = 4;
}

on_both_databases_with!(super::short_upload_deadline; a_trickled_upload_is_answered_408_at_its_deadline);

/// A Stripe webhook body over its cap is refused with 413 before its signature is even looked
/// at, and nothing is recorded; a small one, signed the same way, is processed.
async fn an_oversized_webhook_body_is_refused_and_records_nothing(
    app: TestApp,
    stripe: common::stripe::StripeStandIn,
) {
    let port = port_of(&app);
    let events = app.count("payment_events").await;
    let event = |id: &str, pad: usize| {
        let mut p = serde_json::to_string(&json!({
            "id": id, "object": "event", "type": "customer.created", "created": chrono::Utc::now().timestamp(),
            "data": { "object": { "id": "cus_1", "object": "customer" } },
        }))
        .expect("json");
        p.push_str(&" ".repeat(pad));
        p
    };
    let post = |payload: &str| {
        let sig = stripe.sign(payload, chrono::Utc::now().timestamp());
        format!(
            "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nStripe-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{payload}",
            payload.len()
        )
    };
    let big = event("evt_oversized", 300 * 1024);
    let (a, _) = send(port, &post(&big), b"", Duration::from_secs(10)).await;
    assert_eq!(a.status, 413, "{}", a.brief());
    assert!(a.json()["error"].as_str().unwrap_or("").contains("larger than"), "{}", a.body);
    assert_eq!(app.count("payment_events").await, events, "nothing recorded");
    // Chunked, with no declared length: the same.
    let s = connect(port).await;
    let (mut rd, mut wr) = s.into_split();
    let head = format!(
        "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nStripe-Signature: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        stripe.sign(&big, chrono::Utc::now().timestamp())
    );
    let reader = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(20), read_answer(&mut rd)).await.ok().flatten()
    });
    let _ = wr.write_all(head.as_bytes()).await;
    for piece in big.as_bytes().chunks(16 * 1024) {
        let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
        framed.extend_from_slice(piece);
        framed.extend_from_slice(b"\r\n");
        if wr.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = wr.write_all(b"0\r\n\r\n").await;
    let a = reader.await.expect("reader").expect("an answer");
    assert_eq!(a.status, 413, "{}", a.brief());
    assert_eq!(app.count("payment_events").await, events, "nothing recorded");
    // Control: the same event, small, is processed and recorded.
    let (a, _) = send(port, &post(&event("evt_small", 0)), b"", Duration::from_secs(10)).await;
    assert_eq!(a.status, 200, "{}", a.brief());
    assert_eq!(app.count("payment_events").await, events + 1);
}

mod webhook {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        if let Some((app, stripe)) =
            crate::common::TestApp::with_stripe("sqlite", crate::patient).await
        {
            crate::an_oversized_webhook_body_is_refused_and_records_nothing(app, stripe).await;
        }
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some((app, stripe)) =
            crate::common::TestApp::with_stripe("postgres", crate::patient).await
        {
            crate::an_oversized_webhook_body_is_refused_and_records_nothing(app, stripe).await;
        }
    }
}

// --- The real binary: memory and logs -------------------------------------------------------

/// The `pupitre` binary serving the demo data, its port and every line it logs (JSON).
struct Binary {
    child: tokio::process::Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Binary {
    async fn start(env: &[(&str, &str)]) -> Binary {
        let dir = tempfile::tempdir().expect("tmp");
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_pupitre"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(dir.path())
            .args(["serve", "--demo"])
            .env("PUPITRE_BIND", "127.0.0.1:0")
            .env("PUPITRE_LOG_FORMAT", "json")
            .env("PUPITRE_JOBS_INTERVAL_SECS", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("binary starts");
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let (port_tx, mut port_rx) = tokio::sync::mpsc::channel::<u16>(1);
        let mut readers = Vec::new();
        let streams: Vec<Box<dyn AsyncRead + Unpin + Send>> = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn AsyncRead + Unpin + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        .collect();
        for stream in streams {
            let lines = lines.clone();
            let tx = port_tx.clone();
            readers.push(tokio::spawn(async move {
                let mut r = BufReader::new(stream).lines();
                while let Ok(Some(line)) = r.next_line().await {
                    if let Ok(v) = serde_json::from_str::<Value>(&line)
                        && let Some(p) = v["http.port"].as_u64()
                    {
                        let _ = tx.send(p as u16).await;
                    }
                    lines.lock().expect("lock").push(line);
                }
            }));
        }
        drop(port_tx);
        let port = tokio::time::timeout(Duration::from_secs(120), port_rx.recv())
            .await
            .expect("started in time")
            .expect("port logged");
        Binary { child, port, lines, readers, _dir: dir }
    }

    fn status_kb(&self, key: &str) -> u64 {
        let pid = self.child.id().expect("running");
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or_else(|| panic!("{key} in /proc/{pid}/status"))
    }

    /// Resets the peak (`VmHWM`) to the current resident size; false where Linux refuses.
    fn reset_peak(&self) -> bool {
        let pid = self.child.id().expect("running");
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
    }

    /// Stops the binary with SIGTERM and returns every line it logged.
    async fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().expect("pid").to_string();
        let st = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill");
        assert!(st.success());
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("stopped in time")
            .expect("status");
        assert!(status.success(), "exit status {status:?}");
        for r in self.readers.drain(..) {
            let _ = r.await;
        }
        self.lines.lock().expect("lock").clone()
    }
}

async fn typename_answered(port: u16) -> bool {
    let body = br#"{"query":"{ __typename }"}"#;
    let head = json_head(Some(body.len()));
    let (a, _) = send(port, &head, body, Duration::from_secs(30)).await;
    a.status == 200 && a.json()["data"]["__typename"] == "Query"
}

/// The attack of the review: four anonymous 60 MB bodies at once. The server's resident memory
/// (read from /proc/<pid>/status) must stay within 50 MB of its idle size: each body is refused
/// once past its limit (or at once, when declared), never buffered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_concurrent_60_mb_anonymous_bodies_leave_memory_within_50_mb_of_idle() {
    const SIXTY_MB: usize = 60 * 1024 * 1024;
    let bin = Binary::start(&[("PUPITRE_WORKERS", "2")]).await;
    let port = bin.port;
    for _ in 0..20 {
        assert!(typename_answered(port).await, "warm-up");
    }
    let idle = bin.status_kb("VmRSS:");
    let hwm_reset = bin.reset_peak();
    // Sampled as well, in case the peak cannot be reset here.
    let sampled = Arc::new(std::sync::atomic::AtomicU64::new(idle));
    let pid = bin.child.id().expect("pid");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (sampled, stop) = (sampled.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    && let Some(kb) = s.lines().find_map(|l| {
                        l.strip_prefix("VmRSS:").and_then(|v| {
                            v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
                        })
                    })
                {
                    sampled.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let multipart_head = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {SIXTY_MB}\r\n\r\n"
    );
    // Round 1: four chunked JSON bodies (no declared length: counted as they stream).
    let round1 = (0..4).map(|_| tokio::spawn(stream_body(port, json_head(None), true, SIXTY_MB)));
    let answers1 = futures_util::future::join_all(round1).await;
    // Round 2: four declared 60 MB bodies, two JSON and two multipart, sent in full.
    let round2 = (0..4).map(|i| {
        let head = if i % 2 == 0 { json_head(Some(SIXTY_MB)) } else { multipart_head.clone() };
        tokio::spawn(stream_body(port, head, false, SIXTY_MB))
    });
    let answers2 = futures_util::future::join_all(round2).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.await;
    let peak = if hwm_reset {
        bin.status_kb("VmHWM:").max(sampled.load(std::sync::atomic::Ordering::Relaxed))
    } else {
        sampled.load(std::sync::atomic::Ordering::Relaxed)
    };
    let grown_mb = peak.saturating_sub(idle) as f64 / 1024.0;
    eprintln!("idle {idle} kB, peak {peak} kB (HWM reset: {hwm_reset}), growth {grown_mb:.1} MB");
    assert!(
        grown_mb < 50.0,
        "resident memory grew by {grown_mb:.1} MB (idle {idle} kB, peak {peak} kB)"
    );
    let statuses: Vec<Option<u16>> = answers1
        .into_iter()
        .chain(answers2)
        .map(|a| a.expect("client task").map(|a| a.status))
        .collect();
    for (i, s) in statuses.iter().enumerate() {
        let want = if i >= 4 && i % 2 == 1 { 401 } else { 413 };
        assert_eq!(*s, Some(want), "body {i} of {statuses:?}");
    }
    assert!(typename_answered(port).await, "the server still serves");
    let _ = bin.stop().await;
}

/// Malformed requests (an invalid header, a 100 KB URI) and an over-long URI the server parses:
/// each gets its status, and the binary logs none of them at ERROR (they are the client's
/// mistakes), but at WARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_get_their_status_and_are_never_logged_as_errors() {
    let bin = Binary::start(&[("PUPITRE_WORKERS", "1")]).await;
    let port = bin.port;
    // An invalid header line (no colon): actix-http's parser answers 400 and closes.
    let (a, mut s) = send(
        port,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nthis is not a header\r\n\r\n",
        b"",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.brief());
    assert!(closed(&mut s, Duration::from_secs(5)).await);
    // A 100 KB URI: over the 64 KiB actix-http's parser accepts; looked at before it, and
    // answered 414 with a body that says what to do.
    let long = format!(
        "GET /graphql?query={} HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let (a, mut s) = send(port, &long, b"", Duration::from_secs(10)).await;
    assert_graphql_error(&a, 414, "send the query with POST");
    assert!(closed(&mut s, Duration::from_secs(5)).await);
    // The same line arriving in small pieces.
    let mut slow = connect(port).await;
    for piece in long.as_bytes().chunks(8 * 1024).take(10) {
        slow.write_all(piece).await.expect("piece");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut slow))
        .await
        .expect("answered")
        .expect("an answer");
    assert_eq!(a.status, 414, "{}", a.brief());
    // A 20 KB URI: parsed, and refused by us with 414 and a body that says why.
    let (a, _) = send(
        port,
        &format!(
            "GET /graphql?query={} HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "a".repeat(20 * 1024)
        ),
        b"",
        Duration::from_secs(10),
    )
    .await;
    assert_graphql_error(&a, 414, "longer than");
    assert!(typename_answered(port).await, "the server still serves");
    let lines = bin.stop().await;
    let levels: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| (v["level"].as_str().unwrap_or("").to_owned(), v.to_string()))
        .collect();
    let errors: Vec<&String> =
        levels.iter().filter(|(lvl, _)| lvl == "ERROR").map(|(_, l)| l).collect();
    assert!(errors.is_empty(), "ERROR lines for client mistakes: {errors:#?}");
    let warnings =
        levels.iter().filter(|(lvl, l)| lvl == "WARN" && l.contains("http.client_error")).count();
    assert!(warnings >= 2, "each malformed request is logged at WARN: {:#?}", lines);
    let unparsed: Vec<&String> =
        lines.iter().filter(|l| serde_json::from_str::<Value>(l).is_err()).collect();
    assert!(unparsed.is_empty(), "every log line is JSON: {unparsed:?}");
}
