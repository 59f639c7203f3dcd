//! Case statistics (issue #7): cases received per month by type, category, lead department and
//! severity, read from the summary table the case-writing transactions keep.

use std::collections::BTreeMap;

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission, Scope};
use loopdesk_store::cases::{self as ks, CaseCount};
use serde::Serialize;

use crate::{Service, ServiceResult};

/// A year's monthly case counts.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub year: i32,
    /// Non-zero cells only, ordered by month, type, category, department, severity.
    pub rows: Vec<CaseCount>,
}

impl CaseReport {
    pub fn total(&self) -> i64 {
        self.rows.iter().map(|r| r.n).sum()
    }

    /// Counts per month (index 0 = January) for each value of one dimension.
    pub fn by_month<K: Ord>(&self, key: impl Fn(&CaseCount) -> K) -> BTreeMap<K, [i64; 12]> {
        let mut out: BTreeMap<K, [i64; 12]> = BTreeMap::new();
        for r in &self.rows {
            if let Some(m) = month_index(&r.month) {
                out.entry(key(r)).or_insert([0; 12])[m] += r.n;
            }
        }
        out
    }
}

/// 0 for "YYYY-01" … 11 for "YYYY-12".
fn month_index(month: &str) -> Option<usize> {
    let m: usize = month.get(5..7)?.parse().ok()?;
    if (1..=12).contains(&m) { Some(m - 1) } else { None }
}

impl Service {
    /// Cases received in each month of `year` (the organisation's zone) by type × category ×
    /// lead department × severity. Department-scoped readers see their departments' cases only.
    pub async fn case_report(&self, actor: &Actor, year: i32) -> ServiceResult<CaseReport> {
        actor.require(Permission::ReadReports)?;
        if !(2000..=2100).contains(&year) {
            return Err(DomainError::invalid("year", "errors.must_between_2000_2100").into());
        }
        let mut h = self.store.read().await?;
        let mut rows = ks::case_counts(&mut h.conn(), &format!("{year:04}-01"), &format!("{year:04}-12")).await?;
        if let Scope::Departments(ids) = &actor.scope {
            rows.retain(|r| ids.contains(&r.department_id));
        }
        Ok(CaseReport { year, rows })
    }
}
