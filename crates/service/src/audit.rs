//! Reading and verifying the audit trail.

use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::{AnchoredVerifier, AuditKey, AuditRecord, BrokenLink, ChainVerifier, Checkpoint};
use loopdesk_domain::page::{Page, Paged};
use loopdesk_store::audit::{self, AuditFilter};

use crate::{Service, ServiceResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub checked: u64,
    pub broken: Option<BrokenLink>,
    /// Signed checkpoints stored, and how many the chain matched.
    pub checkpoints: u64,
    pub checkpoints_matched: u64,
    /// Whether the checkpoints could be checked (the audit key is known to this process).
    pub anchored: bool,
}

impl Service {
    pub async fn audit_events(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        page: Page,
    ) -> ServiceResult<Paged<AuditRecord>> {
        actor.require(Permission::ReadAudit)?;
        let mut h = self.store.read().await?;
        Ok(audit::list(&mut h.conn(), filter, page).await?)
    }

    /// Walks the whole chain in order; stops at the first broken link. With the audit key
    /// (`set_audit_key`) it also holds the chain against every signed checkpoint.
    pub async fn verify_audit(&self, actor: &Actor, mut progress: impl FnMut(u64)) -> ServiceResult<VerifyReport> {
        actor.require(Permission::ReadAudit)?;
        let mut h = self.store.read().await?;
        let cps = audit::checkpoints(&mut h.conn()).await?;
        let n_cps = cps.len() as u64;
        let key = self.audit_key.get();
        let mut report = VerifyReport {
            checked: 0,
            broken: None,
            checkpoints: n_cps,
            checkpoints_matched: 0,
            anchored: key.is_some(),
        };
        let mut anchored = match key {
            Some(k) => match AnchoredVerifier::new(k, cps) {
                Ok(v) => Some(v),
                Err(b) => {
                    report.broken = Some(b);
                    return Ok(report);
                }
            },
            None => None,
        };
        let mut plain = ChainVerifier::new();
        let mut after = 0;
        loop {
            let chunk = audit::chunk(&mut h.conn(), after, 5000).await?;
            let Some(last) = chunk.last() else { break };
            after = last.seq;
            for e in &chunk {
                let r = match anchored.as_mut() {
                    Some(v) => v.check(e),
                    None => plain.check(e),
                };
                if let Err(b) = r {
                    report.broken = Some(b);
                    break;
                }
            }
            report.checked = anchored.as_ref().map_or(plain.checked, |v| v.checked());
            if report.broken.is_some() {
                break;
            }
            progress(report.checked);
        }
        if let Some(v) = &anchored {
            report.checkpoints_matched = v.checkpoints_matched();
            if report.broken.is_none()
                && let Err(b) = v.finish()
            {
                report.broken = Some(b);
            }
        }
        Ok(report)
    }

    /// Makes this process sign audit checkpoints and check them when verifying.
    pub fn set_audit_key(&self, key: AuditKey) {
        let _ = self.audit_key.set(key);
    }

    /// Signs a checkpoint of the chain's head now (`reason`: `periodic` or `shutdown`). A periodic
    /// checkpoint is skipped when no event was appended since the last one. Needs the key.
    pub async fn checkpoint_audit(&self, reason: &str) -> ServiceResult<Option<Checkpoint>> {
        let Some(key) = self.audit_key.get() else {
            return Err(crate::ServiceError::Internal("no audit key: cannot sign a checkpoint".into()));
        };
        let mut tx = self.store.begin().await?;
        let (seq, hash) = tx.chain_head().await?;
        let last = audit::last_checkpoint(&mut tx.conn()).await?;
        if reason == "periodic" && last.as_ref().is_some_and(|l| l.seq == seq) {
            return Ok(None);
        }
        let cp = Checkpoint::sign(key, last.as_ref(), seq, &hash, self.now(), reason);
        audit::insert_checkpoint(&mut tx.conn(), &cp).await?;
        tx.commit().await?;
        Ok(Some(cp))
    }

    /// Every event and checkpoint, oldest first, for `loopdesk audit export`.
    pub async fn audit_export(
        &self,
        actor: &Actor,
        mut each: impl FnMut(&AuditRecord) -> std::io::Result<()>,
    ) -> ServiceResult<Vec<Checkpoint>> {
        actor.require(Permission::ReadAudit)?;
        let mut h = self.store.read().await?;
        let cps = audit::checkpoints(&mut h.conn()).await?;
        let mut after = 0;
        loop {
            let chunk = audit::chunk(&mut h.conn(), after, 5000).await?;
            let Some(last) = chunk.last() else { break };
            after = last.seq;
            for e in &chunk {
                each(e).map_err(|e| crate::ServiceError::Internal(format!("writing the export: {e}")))?;
            }
        }
        Ok(cps)
    }
}
