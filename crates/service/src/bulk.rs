//! Bulk loading of generated cases (`loopdesk demo --cases N`): numbered from the same gap-free
//! yearly counters as cases registered one by one, with one audit event per loaded batch and year
//! recording how many cases and which numbers.

use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::case::NumberFormat;
use loopdesk_store::bulk::{self, BulkCase};
use loopdesk_store::customers as cs;

use crate::{Service, ServiceResult};

impl Service {
    /// Numbers and stores a batch of cases in one transaction; returns how many were stored.
    /// Cases are numbered in order of receipt.
    pub async fn load_cases(&self, actor: &Actor, mut cases: Vec<BulkCase>) -> ServiceResult<usize> {
        actor.require(Permission::WriteCases)?;
        cases.sort_by_key(|k| k.received_at);
        let tz = self.settings.timezone;
        let mut tx = self.store.begin().await?;
        let mut start = 0;
        while start < cases.len() {
            let period = NumberFormat::period(cases[start].received_at, tz);
            let end =
                start + cases[start..].iter().take_while(|k| NumberFormat::period(k.received_at, tz) == period).count();
            let group = &mut cases[start..end];
            let n = i64::try_from(group.len()).unwrap_or(i64::MAX);
            let last = cs::reserve_counter(&mut tx.conn(), "case", &period, n).await?;
            let year: i32 = period.parse().unwrap_or(0);
            for (k, seq) in group.iter_mut().zip(last - n + 1..) {
                k.number = self.number_format().format(year, seq);
            }
            let ids = bulk::insert_cases(&mut tx.conn(), actor.user_id, &actor.username, group).await?;
            let range = format!("{}..{}", group[0].number, group[group.len() - 1].number);
            let note = serde_json::json!({
                "bulk_load": group.len(),
                "first": group[0].number,
                "last": group[group.len() - 1].number,
                "ids": ids.len(),
                "first_id": ids.first(),
                "last_id": ids.last(),
            });
            tx.audit(actor, AuditAction::Create, "case", range, None::<&()>, Some(&note)).await?;
            start = end;
        }
        tx.commit().await?;
        Ok(cases.len())
    }
}
