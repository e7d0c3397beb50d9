//! A real SMTP server the tests start themselves: `aiosmtpd` (PyPI) in a virtual environment
//! under the target directory (created with `python3 -m venv` and `pip install aiosmtpd` the
//! first time), running `tests/common/smtp_sink.py`, which writes each message it receives to a
//! file the test reads. Stopped (killed) when the [`SmtpSink`] is dropped.
//!
//! Without python3 or network access the sink cannot start: the test then skips and says so,
//! except when `CI` is true, where it fails.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running SMTP sink.
pub struct SmtpSink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

fn venv() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    target.join("smtp-sink-venv")
}

async fn ensure_venv() -> Result<PathBuf, String> {
    let dir = venv();
    let python = dir.join("bin/python");
    let ok = |p: &PathBuf| {
        let p = p.clone();
        async move {
            Command::new(&p)
                .args(["-c", "import aiosmtpd"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await
                .is_ok_and(|s| s.success())
        }
    };
    if ok(&python).await {
        return Ok(python);
    }
    // One test binary may run several tests at once: a lock file keeps one installer.
    let lock = dir.with_extension("lock");
    for _ in 0..600 {
        if std::fs::OpenOptions::new().write(true).create_new(true).open(&lock).is_ok() {
            break;
        }
        if ok(&python).await {
            return Ok(python);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let result = async {
        if !ok(&python).await {
            let s = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&dir)
                .status()
                .await
                .map_err(|e| format!("python3 -m venv: {e}"))?;
            if !s.success() {
                return Err(format!("python3 -m venv failed: {s}"));
            }
            let s = Command::new(dir.join("bin/pip"))
                .args(["install", "--quiet", "aiosmtpd"])
                .status()
                .await
                .map_err(|e| format!("pip install aiosmtpd: {e}"))?;
            if !s.success() {
                return Err(format!("pip install aiosmtpd failed: {s}"));
            }
        }
        Ok(python.clone())
    }
    .await;
    let _ = std::fs::remove_file(&lock);
    result
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl SmtpSink {
    /// Starts a sink on a free port, or `None` (printed) when it cannot start outside CI.
    pub async fn start() -> Option<SmtpSink> {
        let dir = tempfile::tempdir().ok()?;
        let mut sink = SmtpSink { port: free_port(), dir, child: None };
        match sink.spawn().await {
            Ok(()) => Some(sink),
            Err(e) => {
                if super::ci() {
                    panic!("the SMTP sink must start under CI: {e}");
                }
                eprintln!(
                    "SKIPPED: the SMTP sink (aiosmtpd) cannot start: {e}; set CI=true to make this fail"
                );
                None
            }
        }
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let python = ensure_venv().await?;
        let mut child = Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/smtp_sink.py"))
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting the sink: {e}"))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(out).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        match ready {
            Ok(Ok(Some(l))) if l.trim() == "ready" => {}
            other => return Err(format!("the sink did not start: {other:?}")),
        }
        self.child = Some(child);
        Ok(())
    }

    /// Stops the server (messages sent now fail to connect).
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
            let _ = c.wait().await;
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        for _ in 0..50 {
            if self.spawn().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the SMTP sink did not restart");
    }

    /// Every message received so far, in order (raw RFC 5322 text).
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
    }
}
