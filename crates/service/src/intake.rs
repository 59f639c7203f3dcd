//! Group commit of case intake (spec C13, C14). Every registration is acknowledged only after
//! its transaction is durable (SQLite `synchronous=FULL`, PostgreSQL `synchronous_commit=on`); one
//! fsync per request would cap intake at the disk's flush rate, so concurrent registrations share
//! one transaction and one flush.
//!
//! Leader and followers: a request puts its job on the queue and waits for its turn. Whoever gets
//! the turn takes every queued job (up to `MAX_BATCH`), writes each inside its own savepoint — a
//! job that fails rolls back to it and fails alone — commits once, and answers every job. Jobs
//! that arrive meanwhile form the next batch. The batch runs in its own task, so a caller that
//! goes away (client disconnect) cannot abandon the jobs of the others.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use loopdesk_domain::access::Actor;
use tokio::sync::oneshot;

use crate::cases::{CheckedCase, Created, Lookups};
use crate::{Service, ServiceError, ServiceResult};

/// Most registrations written in one transaction; more wait for the next.
const MAX_BATCH: usize = 256;

struct Job {
    actor: Actor,
    case: CheckedCase,
    reply: oneshot::Sender<ServiceResult<Created>>,
}

/// The queue of registrations waiting to be written, and whose turn it is to write them.
#[derive(Default)]
pub(crate) struct Intake {
    queue: Mutex<Vec<Job>>,
    turn: tokio::sync::Mutex<()>,
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

impl Intake {
    fn take(&self) -> Vec<Job> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let n = q.len().min(MAX_BATCH);
        q.drain(..n).collect()
    }
}

/// Registers one checked case through the group commit and returns once it is durable.
pub(crate) async fn submit(svc: &Service, actor: Actor, case: CheckedCase) -> ServiceResult<Created> {
    let (reply, mut answer) = oneshot::channel();
    svc.intake.queue.lock().unwrap_or_else(|p| p.into_inner()).push(Job { actor, case, reply });
    loop {
        let turn = svc.intake.turn.lock().await;
        match answer.try_recv() {
            Ok(r) => return r,
            Err(oneshot::error::TryRecvError::Closed) => return Err(lost()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = svc.intake.take();
        if batch.is_empty() {
            // Our job is being written by a batch whose leader went away; its task answers us.
            drop(turn);
            return answer.await.unwrap_or_else(|_| Err(lost()));
        }
        let s = svc.clone();
        // A panic in the batch drops its reply senders: the callers get `lost`, never a false yes.
        let _ = tokio::spawn(async move { s.write_batch(batch).await }).await;
        drop(turn);
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

    async fn write_batch(&self, batch: Vec<Job>) {
        self.intake.batches.fetch_add(1, Ordering::Relaxed);
        self.intake.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let results = match self.write_together(&batch).await {
            Ok(r) => r,
            // Something only the database could see failed the shared statements (a row removed
            // by another node meanwhile, say): write the batch again one case at a time, so the
            // case at fault fails alone.
            Err(e) if batch.len() > 1 => {
                tracing::warn!(error = %e, jobs = batch.len(), "intake batch failed together; writing its cases one by one");
                self.intake.retries.fetch_add(1, Ordering::Relaxed);
                self.write_one_by_one(&batch).await
            }
            Err(e) => vec![Err(e)],
        };
        for (job, r) in batch.into_iter().zip(results) {
            let _ = job.reply.send(r);
        }
    }

    /// The fast path: check every case, then write all that passed with one statement per table
    /// and commit once. A case failing its checks fails alone; an error while writing fails all.
    async fn write_together(&self, batch: &[Job]) -> ServiceResult<Vec<ServiceResult<Created>>> {
        let mut tx = self.store.begin().await?;
        let mut lookups = Lookups::default();
        let mut results: Vec<Option<ServiceResult<Created>>> = Vec::with_capacity(batch.len());
        let (mut ready, mut actors, mut slots) = (Vec::new(), Vec::new(), Vec::new());
        for (n, job) in batch.iter().enumerate() {
            match self.prepare_case(&mut tx, &mut lookups, &job.actor, &job.case).await {
                Ok(p) => {
                    ready.push(p);
                    actors.push(&job.actor);
                    slots.push(n);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
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
                batch.iter().map(|_| Err(ServiceError::Internal(format!("intake batch: {e}")))).collect()
            }
        }
    }
}
