//! `notify-bench`: what the outbox costs (issue #15), in process, on one database.
//!
//! 1. Case intake (`Service::create_case` through the group commit, `--clients` concurrent
//!    callers) with and without the acknowledgement mail enqueued, in alternating rounds so both
//!    see the same machine load; the dispatcher is not running while intake is measured.
//! 2. Dispatch throughput: `--messages` mails enqueued at once, then dispatch passes until none is
//!    left, to a minimal SMTP listener in this process (it accepts every message and keeps none).
//!
//! Usage: notify-bench --db sqlite:///tmp/x.db | postgres://…/db [--secs 5] [--clients 64]
//! [--messages 2000]; prints a Markdown table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use loopdesk_domain::access::Actor;
use loopdesk_domain::notify::SmtpUrl;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::notify::NotifyConfig;
use loopdesk_service::{OrgSettings, Service};
use loopdesk_store::outbox::{self as ob, NewMessage};
use loopdesk_store::{Store, StoreOptions};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    db: String,
    #[arg(long, default_value_t = 5)]
    secs: u64,
    #[arg(long, default_value_t = 64)]
    clients: usize,
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Alternating rounds of each intake variant.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// Accepts every message: a stand-in for a fast mail relay.
async fn sink() -> anyhow::Result<u16> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = l.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut line = String::new();
                let mut data = false;
                loop {
                    line.clear();
                    match r.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let answer: &[u8] = if data {
                        if line == ".\r\n" {
                            data = false;
                            b"250 queued\r\n"
                        } else {
                            continue;
                        }
                    } else {
                        let cmd = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        match cmd.as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                data = true;
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                let _ = w.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 ok\r\n",
                        }
                    };
                    if w.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}

async fn intake(svc: &Service, clients: usize, secs: u64) -> f64 {
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = vec![];
    for c in 0..clients {
        let (svc, done, stop) = (svc.clone(), done.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let input = CaseInput {
                    case_type: "complaint".into(),
                    contact_name: Some("王经理".into()),
                    contact_email: Some(format!("c{c}-{i}@example.com")),
                    subject: format!("PS-200 上电后无输出 #{c}-{i}"),
                    description: "客户反映：现场安装时发现 PS-200 上电后无输出，请尽快确认原因。".into(),
                    ..Default::default()
                };
                if svc.create_case(&Actor::system(), &input).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let store = Store::connect(&a.db, &StoreOptions { max_connections: 16 }).await?;
    store.migrate().await?;
    let port = sink().await?;
    let plain = Service::new(store.clone(), OrgSettings::default());
    let cfg = NotifyConfig {
        smtp: Some(SmtpUrl::parse(&format!("smtp://127.0.0.1:{port}")).map_err(anyhow::Error::msg)?),
        mail_from: "Bench <bench@example.com>".into(),
        ..Default::default()
    };
    let mailing = Service::new(store.clone(), OrgSettings::default()).with_notify(cfg)?;
    let engine = if a.db.starts_with("postgres") { "postgres" } else { "sqlite" };
    let (mut without, mut with) = (vec![], vec![]);
    for _ in 0..a.rounds {
        without.push(intake(&plain, a.clients, a.secs).await);
        with.push(intake(&mailing, a.clients, a.secs).await);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (w0, w1) = (mean(&without), mean(&with));
    println!("| engine | measurement | value |");
    println!("|---|---|---|");
    println!("| {engine} | intake without mail, {} clients (cases/s, mean of {}) | {w0:.0} |", a.clients, a.rounds);
    println!("| {engine} | intake with the acknowledgement enqueued (cases/s) | {w1:.0} |");
    println!("| {engine} | intake with mail vs without | {:+.1} % |", (w1 / w0.max(1e-9) - 1.0) * 100.0);
    // Drop what intake enqueued, then time a known batch.
    while mailing.dispatch_outbox(256).await?.claimed > 0 {}
    let now = mailing.now();
    let batch: Vec<NewMessage> = (0..a.messages)
        .map(|n| NewMessage {
            event_id: format!("msg_bench_{n}_{}", now.timestamp_micros()),
            dedupe_key: format!("bench:{n}:{}", now.timestamp_micros()),
            channel: "email".into(),
            kind: "bench".into(),
            recipient: format!("r{n}@example.com"),
            locale: "zh-CN".into(),
            subject: format!("[TS-{n}] 已受理"),
            body_text: "您好".into(),
            body_html: "<p>您好</p>".into(),
            created_at: now,
            ..Default::default()
        })
        .collect();
    let mut tx = store.begin().await?;
    ob::enqueue(&mut tx.conn(), &batch).await?;
    tx.commit().await?;
    let start = Instant::now();
    let mut sent = 0;
    loop {
        let r = mailing.dispatch_outbox(64).await?;
        if r.claimed == 0 {
            break;
        }
        sent += r.sent;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("| {engine} | dispatch to a local SMTP listener, 64 per pass (mails/s) | {:.0} |", sent as f64 / secs);
    store.close().await;
    Ok(())
}
