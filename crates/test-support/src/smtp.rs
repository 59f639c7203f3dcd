//! A real SMTP listener for tests: Python's `aiosmtpd` (from PyPI, installed by
//! `scripts/test.sh` into `target/smtp-venv`), started on a free port; every accepted message is
//! read back as JSON (envelope, decoded headers, text and HTML parts, raw source).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SCRIPT: &str = include_str!("../smtp_sink.py");

/// The Python with aiosmtpd: `LOOPDESK_TEST_PYTHON`, else the workspace's `target/smtp-venv`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("LOOPDESK_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/smtp-venv/bin/python")
}

/// A running listener; stopped when dropped.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    _child: Child,
}

/// A port nothing listens on at the moment (for "connection refused").
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_with(&[]).await
    }

    /// `env` is passed to the listener (e.g. `SINK_SLOW`).
    pub async fn start_with(env: &[(&str, &str)]) -> SmtpSink {
        Self::start_on(free_port(), env).await
    }

    /// Listens on `port` (a test that first saw the connection refused there).
    pub async fn start_on(port: u16, env: &[(&str, &str)]) -> SmtpSink {
        let dir = tempfile::tempdir().expect("temporary directory");
        let script = dir.path().join("smtp_sink.py");
        std::fs::write(&script, SCRIPT).expect("write the listener script");
        let out = dir.path().join("mail");
        std::fs::create_dir(&out).expect("mail folder");
        let py = python();
        assert!(
            py.exists(),
            "{} is missing: run scripts/test.sh once (it installs aiosmtpd into target/smtp-venv) or set LOOPDESK_TEST_PYTHON",
            py.display()
        );
        let mut child = Command::new(&py)
            .arg(&script)
            .arg(&out)
            .arg(port.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP listener");
        let stdout = child.stdout.take().expect("listener stdout");
        let mut line = String::new();
        let ready = tokio::time::timeout(Duration::from_secs(30), BufReader::new(stdout).read_line(&mut line)).await;
        assert!(matches!(ready, Ok(Ok(_))) && line.trim() == "ready", "the SMTP listener did not start: {line:?}");
        SmtpSink { port, dir, _child: child }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|s| serde_json::from_str(&s).ok())
            .collect()
    }

    /// Waits (up to a minute) until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<serde_json::Value> {
        for _ in 0..600 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} messages at the SMTP listener, got {}", self.messages().len());
    }
}
