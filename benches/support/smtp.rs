//! A real SMTP server for a benchmark: the tests' sink (`tests/common/smtp_sink.py`, aiosmtpd)
//! run from the virtual environment the tests create under the target directory
//! (`smtp-sink-venv`; created here with `python3 -m venv` and `pip install aiosmtpd` when
//! missing). Killed when the [`Sink`] is dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running sink: it writes every message it receives to `<dir>/<n>.eml`.
pub struct Sink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    _child: Child,
}

fn venv() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")))
        .join("smtp-sink-venv")
}

async fn python() -> PathBuf {
    let dir = venv();
    let python = dir.join("bin/python");
    let has = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !has {
        let s = Command::new("python3").args(["-m", "venv"]).arg(&dir).status().await;
        assert!(s.is_ok_and(|s| s.success()), "python3 -m venv");
        let s = Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "aiosmtpd"])
            .status()
            .await;
        assert!(s.is_ok_and(|s| s.success()), "pip install aiosmtpd");
    }
    python
}

impl Sink {
    pub async fn start() -> Sink {
        let dir = tempfile::tempdir().expect("tmp");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut child = Command::new(python().await)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the sink starts");
        let out = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(out).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        assert!(
            matches!(&ready, Ok(Ok(Some(l))) if l.trim() == "ready"),
            "the sink did not start: {ready:?}"
        );
        Sink { port, dir, _child: child }
    }

    /// How many messages it has received.
    pub fn received(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    }
}
