//! The real binary as end-to-end tests see it: run a command, start the server on a free port,
//! get a token, sign in through the login form.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::TestDb;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "loopdesk-demo";

/// Runs `loopdesk ARGS` against the test database, feeding `stdin`.
pub fn cli(bin: &str, db: &TestDb, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .env("LOOPDESK_DATABASE_URL", &db.url)
        .env("LOOPDESK_DATA_DIR", db.dir.path())
        .env("LOOPDESK_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run loopdesk");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("loopdesk finished")
}

/// A running `loopdesk serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Asks the server to shut down as an operator would (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("server exited")
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Starts the server on 127.0.0.1 with a port the OS picks, read back from its banner.
pub fn serve(bin: &str, db: &TestDb, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(bin)
        .arg("serve")
        .env("LOOPDESK_DATABASE_URL", &db.url)
        .env("LOOPDESK_DATA_DIR", db.dir.path())
        .env("LOOPDESK_LISTEN", "127.0.0.1:0")
        .env("LOOPDESK_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("server banner");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Server { child, base }
}

/// An HTTP client that does not follow redirects, so tests see them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
}

pub async fn token(s: &Server, user: &str, pw: &str) -> String {
    let r = client()
        .post(format!("{}/api/v1/auth/token", s.base))
        .json(&json!({"username": user, "password": pw}))
        .send()
        .await
        .expect("token request");
    assert_eq!(r.status(), StatusCode::CREATED, "token for {user}");
    r.json::<Value>().await.expect("token json")["token"].as_str().expect("token").to_owned()
}

/// `GET /api/v1{path}` with a bearer token; the JSON answer, after checking it is a 200.
pub async fn get_json(s: &Server, token: &str, path: &str) -> Value {
    let r = client().get(format!("{}/api/v1{path}", s.base)).bearer_auth(token).send().await.expect("GET");
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    r.json().await.expect("JSON answer")
}

/// Signs in through the login form; returns the `ld_session=…` cookie pair.
pub async fn browser_login(s: &Server, user: &str, pw: &str) -> String {
    let c = client();
    let r = c.get(format!("{}/login", s.base)).send().await.expect("login page");
    let pre = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("ld_csrf=").map(str::to_owned))
        .expect("login csrf cookie");
    let r = c
        .post(format!("{}/login", s.base))
        .header("cookie", format!("ld_csrf={pre}"))
        .form(&[("username", user), ("password", pw), ("_csrf", &pre), ("next", "/")])
        .send()
        .await
        .expect("login post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login of {user}");
    r.headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().ok().filter(|v| v.starts_with("ld_session=")))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned()
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a form with _csrf")
        .to_owned()
}
