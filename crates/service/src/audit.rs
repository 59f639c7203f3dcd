//! Reading and verifying the audit trail.

use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::{AuditRecord, BrokenLink, ChainVerifier};
use loopdesk_domain::page::{Page, Paged};
use loopdesk_store::audit::{self, AuditFilter};

use crate::{Service, ServiceResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub checked: u64,
    pub broken: Option<BrokenLink>,
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

    /// Walks the whole chain in order; stops at the first broken link.
    pub async fn verify_audit(&self, actor: &Actor, mut progress: impl FnMut(u64)) -> ServiceResult<VerifyReport> {
        actor.require(Permission::ReadAudit)?;
        let mut h = self.store.read().await?;
        let mut v = ChainVerifier::new();
        let mut after = 0;
        loop {
            let chunk = audit::chunk(&mut h.conn(), after, 5000).await?;
            let Some(last) = chunk.last() else { break };
            after = last.seq;
            for e in &chunk {
                if let Err(b) = v.check(e) {
                    return Ok(VerifyReport { checked: v.checked, broken: Some(b) });
                }
            }
            progress(v.checked);
        }
        Ok(VerifyReport { checked: v.checked, broken: None })
    }
}
