//! The load generator behind `bench/run.sh`. Against a running `loopdesk serve` it measures, over
//! HTTP on the same machine: durable case intake with 64 concurrent clients, the case list and
//! case page, and the yearly report; beside them the database engine's own limits (single-row
//! durable transactions and batched inserts, opened directly with sqlx) and the server's peak
//! memory. It prints one Markdown table.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use rand::Rng;
use sqlx::Connection;

#[derive(Parser, Debug)]
struct Args {
    /// sqlite or postgres (a label for the table).
    #[arg(long)]
    engine: String,
    /// Base URL of the running server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    url: String,
    /// Bearer token of an administrator.
    #[arg(long)]
    token: String,
    /// The process id of the server (for its peak RSS).
    #[arg(long)]
    pid: u32,
    /// Where the raw-limit tests write: a scratch SQLite file (beside the server's database) or a
    /// PostgreSQL database URL (a scratch table is created and dropped).
    #[arg(long)]
    raw: String,
    /// Cases loaded by the generator and the seconds it took (for the table).
    #[arg(long, default_value_t = 0)]
    loaded: u64,
    #[arg(long, default_value_t = 0.0)]
    load_secs: f64,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Concurrent intake clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Concurrent readers for the list and case page.
    #[arg(long, default_value_t = 4)]
    readers: usize,
}

/// Latencies of one measurement.
struct Sample {
    ok: usize,
    errors: usize,
    elapsed: Duration,
    lat: Vec<Duration>,
}

impl Sample {
    fn pct(&self, p: f64) -> f64 {
        if self.lat.is_empty() {
            return f64::NAN;
        }
        let i = ((self.lat.len() as f64 * p / 100.0).ceil() as usize).clamp(1, self.lat.len()) - 1;
        self.lat[i].as_secs_f64() * 1000.0
    }
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Request numbers of client `i` start at `i * CLIENT_STRIDE`.
const CLIENT_STRIDE: usize = 1_000_003;

/// Runs `clients` concurrent loops of `req` for `secs` seconds, gathering the latencies of the
/// calls that return true; `req` gets a request number unique across clients.
async fn repeat<F, Fut>(clients: usize, secs: u64, req: F) -> Sample
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let req = Arc::new(req);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let req = req.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            let mut n = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = req(i * CLIENT_STRIDE + n).await;
                n += 1;
                if ok {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = start.elapsed();
    all.sort();
    Sample { ok: all.len(), errors, elapsed, lat: all }
}

/// One request of a measurement: method, path and query, JSON body (empty for none), and the
/// status that counts as success.
struct Ask {
    method: hyper::Method,
    path: String,
    body: String,
    status: u16,
}

impl Ask {
    fn get(path: String) -> Ask {
        Ask { method: hyper::Method::GET, path, body: String::new(), status: 200 }
    }
}

/// Runs `clients` concurrent clients for `secs` seconds, each sending `ask(n)` one after another
/// over its own keep-alive HTTP/1.1 connection, and gathers the latencies of the successes
/// (status as expected and the whole body read). The load generator shares the two cores with
/// the server, so it drives hyper's connection directly rather than a pooled client.
async fn drive<F>(clients: usize, secs: u64, target: &Target, ask: F) -> Sample
where
    F: Fn(usize) -> Ask + Send + Sync + 'static,
{
    // One connection per client, opened on first use and again after a failure; each client
    // locks only its own.
    let conns: Arc<Vec<tokio::sync::Mutex<Option<Sender>>>> =
        Arc::new((0..clients).map(|_| tokio::sync::Mutex::new(None)).collect());
    let (ask, target) = (Arc::new(ask), target.clone());
    repeat(clients, secs, move |n| {
        let (conns, ask, target) = (conns.clone(), ask.clone(), target.clone());
        async move {
            let mut conn = conns[n / CLIENT_STRIDE].lock().await;
            if conn.is_none() {
                *conn = target.connect().await.ok();
            }
            let ok = match conn.as_mut() {
                Some(c) => target.send(c, ask(n)).await,
                None => false,
            };
            if !ok {
                *conn = None;
            }
            ok
        }
    })
    .await
}

type Sender = hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>;

/// Where requests go: the server's address and the administrator's credentials.
#[derive(Clone)]
struct Target {
    addr: String,
    auth: hyper::header::HeaderValue,
}

impl Target {
    async fn connect(&self) -> anyhow::Result<Sender> {
        let stream = tokio::net::TcpStream::connect(&self.addr).await?;
        stream.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(send)
    }

    async fn send(&self, c: &mut Sender, q: Ask) -> bool {
        use http_body_util::BodyExt;
        let mut r = hyper::Request::builder()
            .method(q.method)
            .uri(q.path)
            .header(hyper::header::HOST, &self.addr)
            .header(hyper::header::AUTHORIZATION, self.auth.clone());
        if !q.body.is_empty() {
            r = r.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let Ok(r) = r.body(http_body_util::Full::new(bytes::Bytes::from(q.body))) else { return false };
        if c.ready().await.is_err() {
            return false;
        }
        match c.send_request(r).await {
            Ok(resp) => resp.status().as_u16() == q.status && resp.into_body().collect().await.is_ok(),
            Err(_) => false,
        }
    }
}

fn vm_hwm_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading the server's status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmHWM")?;
    Ok(kb / 1024.0)
}

const PAYLOAD: &str =
    "客户反映：现场安装时发现 PS-200（200W/24V）上电后无输出，批次 2026110042，请尽快确认原因并答复处理方案。";

/// (single-row durable transactions/s, batched rows/s) measured directly on the engine.
async fn raw_limits(raw: &str, secs: u64, clients: usize) -> anyhow::Result<(f64, f64)> {
    let secs = secs.min(5);
    if raw.starts_with("postgres") {
        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        // synchronous_commit=on (the server default): each commit waits for its WAL flush.
        let opts = PgConnectOptions::from_str(raw)?.options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new().max_connections(clients as u32).connect_with(opts).await?;
        sqlx::query("DROP TABLE IF EXISTS bench_raw").execute(&pool).await?;
        sqlx::query("CREATE TABLE bench_raw (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at TIMESTAMPTZ NOT NULL, body TEXT NOT NULL)")
            .execute(&pool)
            .await?;
        let p = pool.clone();
        let single = repeat(clients, secs, move |_| {
            let p = p.clone();
            async move {
                sqlx::query("INSERT INTO bench_raw (at, body) VALUES ($1, $2)")
                    .bind(chrono::Utc::now())
                    .bind(PAYLOAD)
                    .execute(&p)
                    .await
                    .is_ok()
            }
        })
        .await;
        let p = pool.clone();
        let batched = repeat(1, secs, move |_| {
            let p = p.clone();
            async move {
                let Ok(mut tx) = p.begin().await else { return false };
                let now = chrono::Utc::now();
                let ats = vec![now; 1000];
                let bodies = vec![PAYLOAD; 1000];
                let ok =
                    sqlx::query("INSERT INTO bench_raw (at, body) SELECT * FROM UNNEST($1::timestamptz[], $2::text[])")
                        .bind(&ats)
                        .bind(&bodies)
                        .execute(&mut *tx)
                        .await
                        .is_ok();
                ok && tx.commit().await.is_ok()
            }
        })
        .await;
        sqlx::query("DROP TABLE bench_raw").execute(&pool).await?;
        pool.close().await;
        Ok((single.rate(), batched.rate() * 1000.0))
    } else {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        let _ = std::fs::remove_file(raw);
        let opts = SqliteConnectOptions::new()
            .filename(raw)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        // One writer at a time is all SQLite allows, so one connection is its limit.
        let conn = Arc::new(tokio::sync::Mutex::new(sqlx::SqliteConnection::connect_with(&opts).await?));
        sqlx::query("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, at TEXT NOT NULL, body TEXT NOT NULL)")
            .execute(&mut *conn.lock().await)
            .await?;
        let c = conn.clone();
        let single = repeat(1, secs, move |_| {
            let c = c.clone();
            async move {
                let mut c = c.lock().await;
                sqlx::query("INSERT INTO bench_raw (at, body) VALUES ($1, $2)")
                    .bind(chrono::Utc::now())
                    .bind(PAYLOAD)
                    .execute(&mut *c)
                    .await
                    .is_ok()
            }
        })
        .await;
        let c = conn.clone();
        let batched = repeat(1, secs, move |_| {
            let c = c.clone();
            async move {
                let mut c = c.lock().await;
                let Ok(mut tx) = c.begin().await else { return false };
                let now = chrono::Utc::now();
                for _ in 0..1000 {
                    if sqlx::query("INSERT INTO bench_raw (at, body) VALUES ($1, $2)")
                        .bind(now)
                        .bind(PAYLOAD)
                        .execute(&mut *tx)
                        .await
                        .is_err()
                    {
                        return false;
                    }
                }
                tx.commit().await.is_ok()
            }
        })
        .await;
        drop(conn);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{raw}{ext}"));
        }
        Ok((single.rate(), batched.rate() * 1000.0))
    }
}

fn row(engine: &str, what: &str, value: String, target: &str, met: Option<bool>) {
    let met = match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "",
    };
    println!("| {engine} | {what} | {value} | {target} | {met} |");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let auth = format!("Bearer {}", a.token);
    let get = |path: String| {
        let (http, auth, url) = (http.clone(), auth.clone(), a.url.clone());
        async move {
            http.get(format!("{url}{path}"))
                .header("Authorization", auth)
                .send()
                .await?
                .error_for_status()?
                .json::<serde_json::Value>()
                .await
        }
    };
    // What to ask for: departments that lead cases, open states, the newest case id.
    let departments: Vec<i64> = get("/api/v1/departments".into())
        .await?
        .as_array()
        .map(|v| v.iter().filter_map(|d| d["id"].as_i64()).collect())
        .unwrap_or_default();
    let newest = get("/api/v1/cases?per_page=1".into()).await?;
    // Ids run from 1 (the demo organisation's cases come first, the generated ones after them).
    let max_id = newest["items"][0]["id"].as_i64().unwrap_or(1).max(i64::try_from(a.loaded).unwrap_or(i64::MAX));
    let states =
        ["received", "acknowledged", "assessed", "investigating", "resolution_proposed", "replied", "in_progress"];
    let year = chrono::Utc::now().format("%Y").to_string().parse::<i32>().unwrap_or(2026) - 1;
    let e = a.engine.as_str();

    println!("| engine | measurement | value | target | met |");
    println!("|---|---|---|---|---|");
    if a.loaded > 0 {
        row(
            e,
            "generator (`loopdesk demo --cases`)",
            format!(
                "{} cases in {:.0} s ({:.0} cases/s)",
                a.loaded,
                a.load_secs,
                a.loaded as f64 / a.load_secs.max(0.001)
            ),
            "1M in about a minute",
            None,
        );
    }

    // Reads first, on the loaded data.
    let target = Target {
        addr: a.url.trim_start_matches("http://").trim_end_matches('/').to_owned(),
        auth: hyper::header::HeaderValue::from_str(&auth)?,
    };
    let list = {
        let deps = departments.clone();
        drive(a.readers, a.secs, &target, move |i| {
            let d = deps[i % deps.len().max(1)];
            let s = states[(i / deps.len().max(1)) % states.len()];
            Ask::get(format!("/api/v1/cases?state={s}&department={d}&sort=due&per_page=50"))
        })
        .await
    };
    let ok = list.pct(95.0) <= 15.0;
    row(
        e,
        &format!("case list (state + department, sort=due, 50/page), {} readers", a.readers),
        format!(
            "{:.0} req/s, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms ({} errors)",
            list.rate(),
            list.pct(50.0),
            list.pct(95.0),
            list.pct(99.0),
            list.errors
        ),
        "p95 ≤ 15 ms",
        Some(ok),
    );
    let page = drive(a.readers, a.secs, &target, move |_| {
        let id = rand::rng().random_range(1..=max_id);
        Ask::get(format!("/api/v1/cases/{id}"))
    })
    .await;
    row(
        e,
        &format!("case page (GET /cases/{{id}}, random of {max_id}), {} readers", a.readers),
        format!(
            "{:.0} req/s, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms ({} errors)",
            page.rate(),
            page.pct(50.0),
            page.pct(95.0),
            page.pct(99.0),
            page.errors
        ),
        "p95 ≤ 15 ms",
        Some(page.pct(95.0) <= 15.0),
    );
    let report =
        drive(1, a.secs.min(5), &target, move |_| Ask::get(format!("/api/v1/reports/cases?year={year}"))).await;
    let report_cells = get(format!("/api/v1/reports/cases?year={year}")).await?;
    row(
        e,
        &format!("monthly report {year} (type × category × department × severity), 1 reader"),
        format!(
            "{} cases in {} cells; p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            report_cells["total"],
            report_cells["rows"].as_array().map(Vec::len).unwrap_or(0),
            report.pct(50.0),
            report.pct(95.0),
            report.pct(100.0)
        ),
        "≤ 250 ms",
        Some(report.pct(95.0) <= 250.0),
    );

    // Durable intake over HTTP.
    let intake = drive(a.clients, a.secs, &target, move |i| {
        let case_type = ["complaint", "inquiry", "service_request", "return"][i % 4];
        let severity = ["minor", "general", "major"][i % 3];
        Ask {
            method: hyper::Method::POST,
            path: "/api/v1/cases".into(),
            body: format!(
                r#"{{"type":"{case_type}","subject":"PS-200 上电后无输出 #{i}","description":"{PAYLOAD}","contact_name":"王经理","contact_phone":"13800138000","channel":"phone","severity":"{severity}"}}"#
            ),
            status: 201,
        }
    })
    .await;
    let goal = if e == "sqlite" { 10_000.0 } else { 5_000.0 };
    row(
        e,
        &format!("durable intake (POST /cases), {} clients", a.clients),
        format!(
            "{:.0} cases/s, p50 {:.1} ms, p99 {:.1} ms ({} errors)",
            intake.rate(),
            intake.pct(50.0),
            intake.pct(99.0),
            intake.errors
        ),
        if e == "sqlite" { "≥ 10,000/s, p99 ≤ 25 ms" } else { "≥ 5,000/s" },
        Some(intake.rate() >= goal && (e != "sqlite" || intake.pct(99.0) <= 25.0)),
    );
    let rss = vm_hwm_mb(a.pid)?;

    let (single, batched) = raw_limits(&a.raw, a.secs, a.clients).await?;
    let who = if e == "sqlite" { "1 writer (SQLite's limit)" } else { "64 connections" };
    row(e, &format!("raw single-row durable transactions ({who})"), format!("{single:.0} txn/s"), "", None);
    row(e, "raw batched inserts (1,000 rows per transaction)", format!("{batched:.0} rows/s"), "", None);
    row(
        e,
        "intake as a share of the raw limits",
        format!(
            "{:.2} × single-row, {:.3} × batched",
            intake.rate() / single.max(1e-9),
            intake.rate() / batched.max(1e-9)
        ),
        "",
        None,
    );
    row(e, "server peak memory (VmHWM)", format!("{rss:.0} MB"), "≤ 200 MB", Some(rss <= 200.0));
    Ok(())
}
