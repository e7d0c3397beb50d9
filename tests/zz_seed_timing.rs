//! Temporary: times TestApp setup (not committed).
#![expect(clippy::expect_used, reason = "test")]

mod common;

use std::time::Instant;

use common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_time() {
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    for _ in 0..runs {
        let t = Instant::now();
        let app = TestApp::sqlite().await;
        eprintln!(
            "SETUP sqlite {:.3}s statements {}",
            t.elapsed().as_secs_f64(),
            app.app_statements.get()
        );
    }
    for _ in 0..runs {
        let t = Instant::now();
        let app = TestApp::postgres().await.expect("pg");
        eprintln!(
            "SETUP postgres {:.3}s statements {}",
            t.elapsed().as_secs_f64(),
            app.app_statements.get()
        );
    }
}
