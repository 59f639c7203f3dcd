//! Group commit of case intake (spec C13, C14). Every registration is acknowledged only after
//! its transaction is durable (SQLite `synchronous=FULL`, PostgreSQL `synchronous_commit=on`); one
//! fsync per request would cap intake at the disk's flush rate, so concurrent registrations share
//! one transaction and one flush.
//!
//! One writer: a request puts its job on a queue and waits for its answer. A writer task (started
//! with the first registration) takes every queued job (up to `MAX_BATCH`) as soon as the
//! previous batch is committed, writes them together, commits once and answers every job; jobs
//! that arrive meanwhile form the next batch. A caller that goes away (client disconnect) leaves
//! its job to be written and answered to nobody; it cannot abandon the jobs of others.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use loopdesk_domain::access::Actor;
use tokio::sync::{mpsc, oneshot};

use crate::cases::{CheckedCase, Created, Lookups};
use crate::{Service, ServiceError, ServiceResult};

/// Most registrations written in one transaction; more wait for the next.
const MAX_BATCH: usize = 256;

struct Job {
    /// The service to write with (the writer task holds none of its own, so it ends when the
    /// last service and its queue are dropped).
    svc: Service,
    actor: Actor,
    case: CheckedCase,
    reply: oneshot::Sender<ServiceResult<Created>>,
}

/// The queue to the writer task, and what the group commit has done so far.
#[derive(Default)]
pub(crate) struct Intake {
    queue: OnceLock<mpsc::UnboundedSender<Job>>,
    batches: AtomicU64,
    jobs: AtomicU64,
    retries: AtomicU64,
}

/// How the group commit has batched so far (for `/metrics` and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeStats {
    /// Transactions committed or attempted.
    pub batches: u64,
    /// Registrations those transactions carried.
    pub jobs: u64,
    /// Batches whose shared statements failed and were written again case by case.
    pub retries: u64,
}

/// Registers one checked case through the group commit and returns once it is durable.
pub(crate) async fn submit(svc: &Service, actor: Actor, case: CheckedCase) -> ServiceResult<Created> {
    let (reply, answer) = oneshot::channel();
    let queue = svc.intake.queue.get_or_init(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(rx));
        tx
    });
    queue.send(Job { svc: svc.clone(), actor, case, reply }).map_err(|_| lost())?;
    answer.await.unwrap_or_else(|_| Err(lost()))
}

/// Writes batches until every sender is gone.
async fn writer(mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Definitions, policies and calendars read by one batch serve the next ones for a moment.
    let mut kept: Option<Lookups> = None;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        let svc = jobs[0].svc.clone();
        let generation = svc.rules_generation();
        let lookups = kept.take().filter(|l| l.still_good(generation)).unwrap_or_else(|| Lookups::keepable(generation));
        // A panic in the batch drops its reply senders: the callers get `lost`, never a false
        // yes, and the writer goes on with the next batch.
        kept = tokio::spawn(async move { svc.write_batch(jobs, lookups).await }).await.ok().flatten();
    }
}

fn lost() -> ServiceError {
    ServiceError::Internal("the registration was not written; nothing was stored".into())
}

impl Service {
    pub fn intake_stats(&self) -> IntakeStats {
        IntakeStats {
            batches: self.intake.batches.load(Ordering::Relaxed),
            jobs: self.intake.jobs.load(Ordering::Relaxed),
            retries: self.intake.retries.load(Ordering::Relaxed),
        }
    }

    /// Writes a batch and answers its jobs; gives the lookups back if the batch committed (a
    /// batch that rolled back may have read what it wrote itself, such as a seeded definition).
    async fn write_batch(&self, batch: Vec<Job>, mut lookups: Lookups) -> Option<Lookups> {
        self.intake.batches.fetch_add(1, Ordering::Relaxed);
        self.intake.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let mut keep = true;
        let results = match self.write_together(&batch, &mut lookups).await {
            Ok(r) => r,
            // Something only the database could see failed the shared statements (a row removed
            // by another node meanwhile, say): write the batch again one case at a time, so the
            // case at fault fails alone.
            Err(e) if batch.len() > 1 => {
                tracing::warn!(error = %e, jobs = batch.len(), "intake batch failed together; writing its cases one by one");
                self.intake.retries.fetch_add(1, Ordering::Relaxed);
                keep = false;
                self.write_one_by_one(&batch).await
            }
            Err(e) => {
                keep = false;
                vec![Err(e)]
            }
        };
        self.outbox_woken();
        for (job, r) in batch.into_iter().zip(results) {
            let _ = job.reply.send(r);
        }
        keep.then_some(lookups)
    }

    /// The fast path: check every case, then write all that passed with one statement per table
    /// and commit once. A case failing its checks fails alone; an error while writing fails all.
    async fn write_together(&self, batch: &[Job], lookups: &mut Lookups) -> ServiceResult<Vec<ServiceResult<Created>>> {
        let mut tx = self.store.begin().await?;
        let mut results: Vec<Option<ServiceResult<Created>>> = Vec::with_capacity(batch.len());
        let (mut ready, mut actors, mut slots) = (Vec::new(), Vec::new(), Vec::new());
        for (n, job) in batch.iter().enumerate() {
            match self.prepare_case(&mut tx, lookups, &job.actor, &job.case).await {
                Ok(p) => {
                    ready.push(p);
                    actors.push(&job.actor);
                    slots.push(n);
                    results.push(None);
                }
                // A failed check fails its case alone; anything else (a broken query, which on
                // PostgreSQL also spoils the transaction) sends the batch to the slow path.
                Err(e @ ServiceError::Domain(_)) => results.push(Some(Err(e))),
                Err(e) => return Err(e),
            }
        }
        if !ready.is_empty() {
            let created = self.register_prepared(&mut tx, &actors, ready).await?;
            for (n, c) in slots.into_iter().zip(created) {
                results[n] = Some(Ok(c));
            }
        }
        tx.commit().await?;
        Ok(results.into_iter().map(|r| r.unwrap_or_else(|| Err(lost()))).collect())
    }

    /// The slow path: each case in its own savepoint of one transaction.
    async fn write_one_by_one(&self, batch: &[Job]) -> Vec<ServiceResult<Created>> {
        let mut results = Vec::with_capacity(batch.len());
        let committed: ServiceResult<()> = async {
            let mut tx = self.store.begin().await?;
            let mut lookups = Lookups::default();
            for job in batch {
                let sp = tx.savepoint().await?;
                let r = async {
                    let p = self.prepare_case(&mut tx, &mut lookups, &job.actor, &job.case).await?;
                    let mut c = self.register_prepared(&mut tx, &[&job.actor], vec![p]).await?;
                    c.pop().ok_or_else(lost)
                }
                .await;
                match r {
                    Ok(c) => {
                        tx.release(sp).await?;
                        results.push(Ok(c));
                    }
                    Err(e) => {
                        tx.rollback_to(sp).await?;
                        results.push(Err(e));
                    }
                }
            }
            tx.commit().await
        }
        .await
        .map_err(Into::into);
        match committed {
            Ok(()) => results,
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "case intake batch failed; none of it was stored");
                batch
                    .iter()
                    .map(|_| {
                        Err(match &e {
                            ServiceError::Unavailable(r) => ServiceError::Unavailable(r.clone()),
                            other => ServiceError::Internal(format!("intake batch: {other}")),
                        })
                    })
                    .collect()
            }
        }
    }
}
