//! Commands of the `loopdesk` binary.

mod audit_key;
mod config;
mod demo;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use loopdesk_domain::access::Actor;
use loopdesk_service::Service;
use loopdesk_service::org::NewUser;
use loopdesk_store::{Store, StoreOptions};

pub use config::Config;

#[derive(Parser, Debug)]
#[command(
    name = "loopdesk",
    version,
    about = "Loopdesk: closed-loop customer care (complaints, after-sales service, satisfaction)"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./loopdesk.toml if present. LOOPDESK_* variables override it.
    #[arg(long, global = true, env = "LOOPDESK_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (migrates the database first).
    Serve {
        /// Load the demo organisation first if the database has no users yet.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent copy of the live SQLite database to FILE (safe while the server runs).
    Backup { file: PathBuf },
    /// Replace the SQLite database with the backup FILE. Stop the server first.
    Restore {
        file: PathBuf,
        /// Overwrite an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Import a ledger from a CSV or XLSX file (Chinese or English headers). All rows or none:
    /// any bad row imports nothing and prints every bad row.
    Import {
        /// customers, contacts, assets or contracts
        kind: String,
        file: PathBuf,
        /// Username the import is recorded under in the audit trail (default: system).
        #[arg(long)]
        as_user: Option<String>,
    },
    /// Export a ledger to FILE (.csv or .xlsx) with the columns the import reads.
    Export {
        /// customers, contacts, assets or contracts
        kind: String,
        file: PathBuf,
        /// Header language: zh-CN (default) or en.
        #[arg(long, default_value = "zh-CN")]
        lang: String,
    },
    /// The full-text index.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// Load a realistic demo organisation (departments, a user for every role) and print the logins.
    Demo {
        /// Also generate this many cases spread over the last two years (types, categories,
        /// severities, departments, states, clocks, Chinese text), in bulk.
        #[arg(long)]
        cases: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input (first line).
    Add {
        username: String,
        /// One of: admin, gm, mgmt_rep, dept_head, agent, member, qa, technician, auditor, customer. Repeatable.
        #[arg(long, required = true)]
        role: Vec<String>,
        /// Department code, e.g. CS.
        #[arg(long)]
        department: Option<String>,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// zh-CN or en.
        #[arg(long)]
        locale: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Issue a bearer token for USERNAME and print it (shown once).
    Create {
        username: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Revoke the token with this id.
    Revoke { id: i64 },
}

#[derive(Subcommand, Debug)]
pub enum SearchCommand {
    /// Tokenise every case, comment, customer and communication again and rewrite its search
    /// document (after a tokeniser upgrade, or to repair the index). Safe while the server runs.
    Reindex,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Verify the hash chain and its signed checkpoints; names the first broken link (an edited,
    /// deleted or re-hashed event) and exits non-zero if there is one.
    Verify,
    /// Write the chain with its signed checkpoints to FILE (JSON Lines) for an external auditor.
    Export { file: PathBuf },
}

async fn open(cfg: &Config, migrate: bool) -> anyhow::Result<Service> {
    let store = Store::connect(&cfg.database_url, &StoreOptions { max_connections: cfg.max_connections })
        .await
        .with_context(|| format!("cannot open the database {}", config::redact(&cfg.database_url)))?;
    store.set_min_free_bytes(cfg.min_free_space_mb.saturating_mul(1024 * 1024));
    if migrate {
        let n = store.migrate().await.context("migrating the database")?;
        if n > 0 {
            tracing::info!(applied = n, "migrations applied");
        }
    } else {
        let pending = store.pending_migrations().await?;
        anyhow::ensure!(
            pending.is_empty(),
            "the database needs {} migration(s): run `loopdesk migrate`",
            pending.len()
        );
    }
    Service::new(store, cfg.settings()?).with_notify(cfg.notify()?).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The outbox dispatcher: every server process runs one; leases keep them from sending a message
/// twice (see `Service::dispatch_outbox`).
async fn dispatch_every(svc: Service, idle: std::time::Duration) {
    loop {
        match svc.dispatch_outbox(32).await {
            Ok(r) if r.claimed > 0 => {
                tracing::debug!(?r, "outbox pass");
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox pass failed; retrying shortly"),
        }
        svc.outbox_wait(idle).await;
    }
}

/// The escalation scheduler: a pass now and then. Several server processes may run it against one
/// PostgreSQL database; each clock's steps are still recorded once (see `Service::run_escalations`).
async fn escalate_every(svc: Service, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match svc.run_escalations().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(alerts = n, "escalation pass"),
            Err(e) => tracing::warn!(error = %e, "escalation pass failed; retrying at the next tick"),
        }
    }
}

/// Signs an audit checkpoint every `every` while serving (skipped when nothing was appended).
async fn checkpoint_every(svc: Service, key_file: PathBuf, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        checkpoint(&svc, &key_file, "periodic").await;
    }
}

async fn checkpoint(svc: &Service, key_file: &std::path::Path, reason: &str) {
    match svc.checkpoint_audit(reason).await {
        Ok(Some(cp)) => {
            if let Err(e) = audit_key::remember(key_file, &cp) {
                tracing::warn!(error = %e, "recording the newest audit checkpoint beside the key");
            }
            tracing::debug!(id = cp.id, seq = cp.seq, reason, "audit checkpoint signed");
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, reason, "audit checkpoint failed; retrying at the next tick"),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOOPDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("LOOPDESK_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    init_logging();
    let cfg = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { demo } => {
            let svc = open(&cfg, true).await?;
            if let Some(key) = audit_key::load(&cfg.audit_key_file, true)? {
                svc.set_audit_key(key);
            }
            svc.ensure_shipped_survey_templates().await.map_err(|e| anyhow::anyhow!("survey templates: {e}"))?;
            if demo {
                demo::load_if_empty(&svc).await?;
            }
            let listener = tokio::net::TcpListener::bind(&cfg.listen)
                .await
                .with_context(|| format!("cannot listen on {}", cfg.listen))?;
            let addr = listener.local_addr()?;
            println!("Loopdesk is serving http://{addr}/ (database: {})", config::redact(&cfg.database_url));
            tracing::info!(%addr, "listening");
            for m in svc.missing_holiday_tables().await? {
                let years: Vec<String> = m.years.iter().map(ToString::to_string).collect();
                let years = years.join(", ");
                tracing::warn!(calendar = %m.code, %years, "no public holiday table");
                // Part of the banner; a closed stdout (the banner already read) must not stop the server.
                let _ = writeln!(
                    std::io::stdout(),
                    "warning: calendar {} has no public holiday table for {years}; load it or paste the State Council notice at /calendars/{}",
                    m.code,
                    m.code
                );
            }
            if cfg.escalation_interval_secs > 0 {
                tokio::spawn(escalate_every(svc.clone(), std::time::Duration::from_secs(cfg.escalation_interval_secs)));
            }
            if cfg.outbox_interval_ms > 0 {
                tokio::spawn(dispatch_every(svc.clone(), std::time::Duration::from_millis(cfg.outbox_interval_ms)));
            }
            if cfg.audit_checkpoint_secs > 0 {
                tokio::spawn(checkpoint_every(
                    svc.clone(),
                    cfg.audit_key_file.clone(),
                    std::time::Duration::from_secs(cfg.audit_checkpoint_secs),
                ));
            }
            loopdesk_web::serve(listener, svc.clone(), shutdown_signal()).await?;
            checkpoint(&svc, &cfg.audit_key_file, "shutdown").await;
            svc.store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = Store::connect(&cfg.database_url, &StoreOptions::default()).await?;
            let n = store.migrate().await?;
            println!("{n} migration(s) applied; the database is up to date.");
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command: UserCommand::Add { username, role, department, name, email, locale } } => {
            let svc = open(&cfg, true).await?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
            let password = password.lines().next().unwrap_or("").to_owned();
            let department_id = match department {
                Some(code) => {
                    let code = loopdesk_domain::org::DepartmentCode::parse(&code)?;
                    let mut h = svc.store.read().await?;
                    Some(
                        loopdesk_store::org::department_by_code(&mut h.conn(), code.as_str())
                            .await
                            .map_err(|_| anyhow::anyhow!("department: no department with code {}", code.as_str()))?
                            .id,
                    )
                }
                None => None,
            };
            let input = NewUser {
                display_name: name.unwrap_or_else(|| username.clone()),
                username,
                email,
                phone: None,
                department_id,
                roles: role,
                locale,
                password,
            };
            let u = svc.create_user(&Actor::system(), &input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created user {} (id {})", u.username, u.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { command } => {
            let svc = open(&cfg, true).await?;
            match command {
                TokenCommand::Create { username, name } => {
                    let (secret, t) = svc
                        .create_token(&Actor::system(), &username, &name)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    eprintln!("token {} for {username} (shown once):", t.id);
                    println!("{secret}");
                }
                TokenCommand::Revoke { id } => {
                    svc.revoke_token(&Actor::system(), id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("token {id} revoked");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Export { file } } => {
            let svc = open(&cfg, false).await?;
            export_audit(&svc, &cfg, &file).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let svc = open(&cfg, false).await?;
            let key = audit_key::load(&cfg.audit_key_file, false)?;
            if let Some(k) = key {
                svc.set_audit_key(k);
            }
            let r = svc
                .verify_audit(&Actor::system(), |n| eprint!("\rchecked {n} events"))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!();
            let newest = if r.anchored && r.broken.is_none() {
                let mut h = svc.store.read().await?;
                let stored = loopdesk_store::audit::checkpoints(&mut h.conn()).await?;
                audit_key::check_newest(&cfg.audit_key_file, &stored).err()
            } else {
                None
            };
            if let Some(why) = newest {
                println!("audit trail BROKEN: {why}");
                return Ok(ExitCode::from(2));
            }
            if !r.anchored && r.checkpoints > 0 {
                println!(
                    "audit trail NOT VERIFIED: {} signed checkpoint(s) cannot be checked without the key file {}",
                    r.checkpoints,
                    cfg.audit_key_file.display()
                );
                return Ok(ExitCode::from(2));
            }
            match r.broken {
                None => {
                    println!(
                        "audit trail intact: {} events verified, {} of {} signed checkpoint(s) matched",
                        r.checked, r.checkpoints_matched, r.checkpoints
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(b) => {
                    println!(
                        "audit trail BROKEN at event {}: {} ({} events before it verified)",
                        b.seq, b.reason, r.checked
                    );
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Search { command: SearchCommand::Reindex } => {
            let svc = open(&cfg, true).await?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} documents {per_sec} {elapsed} (eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let n = svc
                .reindex(&Actor::system(), |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            bar.finish_and_clear();
            println!("search index rebuilt: {n} documents in {:.1?}", started.elapsed());
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => {
            anyhow::ensure!(!file.exists(), "{} already exists; choose a new file", file.display());
            let store = Store::connect(&cfg.database_url, &StoreOptions::default()).await?;
            anyhow::ensure!(
                store.engine() == loopdesk_store::Engine::Sqlite,
                "backup copies the SQLite database; for PostgreSQL use pg_dump"
            );
            store.backup_sqlite(&file).await?;
            println!("backup written to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file, force } => {
            restore(&cfg, &file, force).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { kind, file, as_user } => {
            let svc = open(&cfg, true).await?;
            let sheet = loopdesk_domain::import::Sheet::parse(&kind)?;
            let actor = match as_user {
                Some(u) => {
                    let user = svc.user_by_username(&Actor::system(), &u).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    let mut h = svc.store.read().await?;
                    loopdesk_service::access::actor_for(&mut h.conn(), &user)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                }
                None => Actor::system(),
            };
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let rows = loopdesk_service::tabular::read(&name, &bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
            let bar = indicatif::ProgressBar::new(rows.len().saturating_sub(1) as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let out = svc
                .import(&actor, sheet, &name, &rows, |done, _| bar.set_position(done as u64))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            bar.finish_and_clear();
            match out {
                loopdesk_service::customers::ImportOutcome::Imported { rows } => {
                    println!("imported {rows} {kind} rows from {} in {:.1?}", file.display(), started.elapsed());
                    Ok(ExitCode::SUCCESS)
                }
                loopdesk_service::customers::ImportOutcome::Rejected { report_id, errors } => {
                    println!(
                        "nothing imported: {} problem(s) in {} (report {report_id})",
                        errors.len(),
                        file.display()
                    );
                    for e in errors.iter().take(50) {
                        println!("  row {}, {}: {}", e.row, e.column, e.reason);
                    }
                    if errors.len() > 50 {
                        println!(
                            "  … and {} more; the full report is in the web UI (report {report_id})",
                            errors.len() - 50
                        );
                    }
                    Ok(ExitCode::from(3))
                }
            }
        }
        Command::Export { kind, file, lang } => {
            let svc = open(&cfg, false).await?;
            let sheet = loopdesk_domain::import::Sheet::parse(&kind)?;
            let rows = svc.export(&Actor::system(), sheet, lang != "en").await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let xlsx = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
            let bytes = if xlsx {
                loopdesk_service::tabular::write_xlsx(sheet.code(), &rows)
            } else {
                loopdesk_service::tabular::write_csv(&rows)
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&file, bytes).with_context(|| format!("writing {}", file.display()))?;
            println!("exported {} {kind} rows to {}", rows.len() - 1, file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { cases } => {
            let svc = open(&cfg, true).await?;
            match cases {
                Some(n) => demo::generate(&svc, n).await?,
                None => demo::load(&svc).await?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// JSON Lines: a header, every event oldest first, then every checkpoint. With the key an
/// auditor recomputes each event's hash, the links, and each checkpoint's HMAC.
async fn export_audit(svc: &Service, cfg: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    anyhow::ensure!(!file.exists(), "{} already exists; choose a new file", file.display());
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(file).with_context(|| format!("creating {}", file.display()))?);
    let key = audit_key::load(&cfg.audit_key_file, false)?;
    let header = serde_json::json!({
        "format": "loopdesk-audit-export",
        "version": 1,
        "hash": "SHA-256 over length-prefixed fields (see loopdesk_domain::audit::link_hash)",
        "checkpoint_mac": "HMAC-SHA256 (see loopdesk_domain::audit::Checkpoint)",
        "key_id": key.map(|k| k.id()),
        "exported_at": chrono::Utc::now(),
    });
    writeln!(out, "{header}")?;
    let mut events = 0u64;
    let cps = svc
        .audit_export(&Actor::system(), |e| {
            events += 1;
            let line = serde_json::json!({"event": {
                "seq": e.seq, "at": e.at, "actor_id": e.actor_id, "actor": e.actor, "action": e.action,
                "entity": e.entity, "entity_id": e.entity_id, "before": e.before, "after": e.after,
                "prev_hash": e.prev_hash, "hash": e.hash,
            }});
            writeln!(out, "{line}")
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for c in &cps {
        let line = serde_json::json!({"checkpoint": {
            "id": c.id, "seq": c.seq, "head_hash": c.head_hash, "event_count": c.event_count,
            "signed_at": c.signed_at, "reason": c.reason, "key_id": c.key_id, "prev_mac": c.prev_mac, "mac": c.mac,
        }});
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    println!("exported {events} audit events and {} checkpoint(s) to {}", cps.len(), file.display());
    Ok(())
}

async fn restore(cfg: &Config, file: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let target = cfg
        .database_url
        .strip_prefix("sqlite://")
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("restore replaces a SQLite database; for PostgreSQL use pg_restore"))?;
    anyhow::ensure!(file.exists(), "{} does not exist", file.display());
    // Check the backup opens and is a Loopdesk database before touching the live one.
    {
        let b = Store::connect(&format!("sqlite://{}", file.display()), &StoreOptions::default()).await?;
        let verify = Service::new(b.clone(), cfg.settings()?).verify_audit(&Actor::system(), |_| {}).await;
        b.close().await;
        let r = verify.map_err(|e| anyhow::anyhow!("{} is not a Loopdesk database: {e}", file.display()))?;
        anyhow::ensure!(r.broken.is_none(), "the backup's audit trail is broken; refusing to restore it");
    }
    if target.exists() {
        anyhow::ensure!(force, "{} exists; stop the server and pass --force to replace it", target.display());
    }
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = target.with_extension("restoring");
    std::fs::copy(file, &tmp)?;
    for ext in ["db-wal", "db-shm"] {
        let _ = std::fs::remove_file(target.with_extension(ext));
    }
    std::fs::rename(&tmp, &target)?;
    println!("restored {} from {}", target.display(), file.display());
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
