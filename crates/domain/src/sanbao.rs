//! The 三包 warranty decision (issue #19 item 4): which remedies the customer may choose for a
//! fault, the article each rests on, and when the 三包 period ends.
//!
//! The rules are those of 《部分商品修理更换退货责任规定》 (the general 三包 rules for listed
//! products); the limits (7/15 days, two repairs, 90 days without parts, 30 days of repair delay) and
//! the period lengths are data in a [`Policy`], stored per product, never constants in the code.
//!
//! - 第八条: the period counts from the invoice date, extended by the time spent in repair and
//!   waiting for parts; within it repair is free.
//! - 第九条: a performance fault within `return_days` of sale: return, exchange or repair.
//! - 第十条: within `exchange_days`: exchange or repair.
//! - 第十一条: after `repair_limit` repairs in the period the product still fails: exchange or refund.
//! - 第十二条: parts missing for more than `no_parts_days`, or the repair taking more than
//!   `repair_delay_days` by the repairer's doing: exchange.
//! - 第十四条: an exchange restarts the period from the exchange date.
//! - 第十八条: misuse, unauthorised disassembly, no or altered 三包凭证, force majeure: no 三包, paid
//!   service instead.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A product's 三包 policy. `Policy::default()` is the general rule with a one-year unit period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The whole unit's period in months (1..=240).
    pub unit_months: u32,
    /// Main parts' period in months, when longer than the unit's (e.g. a TV: 12 and 36).
    #[serde(default)]
    pub main_parts_months: Option<u32>,
    #[serde(default = "d7")]
    pub return_days: u32,
    #[serde(default = "d15")]
    pub exchange_days: u32,
    #[serde(default = "d2")]
    pub repair_limit: u32,
    #[serde(default = "d90")]
    pub no_parts_days: u32,
    #[serde(default = "d30")]
    pub repair_delay_days: u32,
}

fn d7() -> u32 {
    7
}
fn d15() -> u32 {
    15
}
fn d2() -> u32 {
    2
}
fn d90() -> u32 {
    90
}
fn d30() -> u32 {
    30
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unit_months: 12,
            main_parts_months: None,
            return_days: 7,
            exchange_days: 15,
            repair_limit: 2,
            no_parts_days: 90,
            repair_delay_days: 30,
        }
    }
}

impl Policy {
    /// Refuses limits no article allows; the error names the field under `policy.`.
    pub fn validate(&self) -> Result<(), DomainError> {
        let check = |name: &str, v: u32, lo: u32, hi: u32| {
            if v < lo || v > hi {
                Err(DomainError::invalid(format!("policy.{name}"), format!("service.err.range|min={lo}|max={hi}")))
            } else {
                Ok(())
            }
        };
        check("unit_months", self.unit_months, 1, 240)?;
        if let Some(m) = self.main_parts_months {
            check("main_parts_months", m, self.unit_months, 240)?;
        }
        check("return_days", self.return_days, 0, 365)?;
        check("exchange_days", self.exchange_days, self.return_days, 365)?;
        check("repair_limit", self.repair_limit, 1, 10)?;
        check("no_parts_days", self.no_parts_days, 1, 3650)?;
        check("repair_delay_days", self.repair_delay_days, 1, 3650)?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Repair,
    Exchange,
}

/// One earlier repair or exchange of the asset under 三包.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEvent {
    pub kind: EventKind,
    /// The day the product was handed in (repair) or exchanged.
    pub date: NaiveDate,
    #[serde(default)]
    pub days_in_repair: u32,
    #[serde(default)]
    pub waiting_parts_days: u32,
}

/// What takes the fault out of 三包 (第十八条).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoidReason {
    Misuse,
    UnauthorisedDisassembly,
    NoCertificate,
    AlteredCertificate,
    ModelMismatch,
    ForceMajeure,
}

impl VoidReason {
    pub const ALL: [VoidReason; 6] = [
        VoidReason::Misuse,
        VoidReason::UnauthorisedDisassembly,
        VoidReason::NoCertificate,
        VoidReason::AlteredCertificate,
        VoidReason::ModelMismatch,
        VoidReason::ForceMajeure,
    ];
    pub fn code(self) -> &'static str {
        match self {
            VoidReason::Misuse => "misuse",
            VoidReason::UnauthorisedDisassembly => "unauthorised_disassembly",
            VoidReason::NoCertificate => "no_certificate",
            VoidReason::AlteredCertificate => "altered_certificate",
            VoidReason::ModelMismatch => "model_mismatch",
            VoidReason::ForceMajeure => "force_majeure",
        }
    }
}

/// A remedy the customer may choose. Ordered as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    Return,
    Exchange,
    Repair,
    Refund,
    /// Paid service: outside 三包.
    Paid,
}

impl Remedy {
    pub const ALL: [Remedy; 5] = [Remedy::Return, Remedy::Exchange, Remedy::Repair, Remedy::Refund, Remedy::Paid];
    pub fn code(self) -> &'static str {
        match self {
            Remedy::Return => "return",
            Remedy::Exchange => "exchange",
            Remedy::Repair => "repair",
            Remedy::Refund => "refund",
            Remedy::Paid => "paid",
        }
    }
}

/// An article of the rules, with the remedies it grants (or, for 第十八条, takes away).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basis {
    /// `art8`, `art9`, … — a stable code; `label_zh` is the article as cited.
    pub article: &'static str,
    pub label_zh: &'static str,
    pub remedies: Vec<Remedy>,
    /// Why it applies, as a message key with values (`service.basis.days|days=5`).
    pub reason: String,
}

/// The fault being decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub date: NaiveDate,
    /// The fault lies in a main part covered for `main_parts_months`.
    pub main_part: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The remedies the customer may choose, in [`Remedy`] order; `[paid]` when outside 三包.
    pub remedies: Vec<Remedy>,
    /// The invoice date, or the last exchange before the fault (第十四条).
    pub period_start: NaiveDate,
    /// The end of the 三包 period that applies to this fault (the main parts' when `main_part`).
    pub period_end: NaiveDate,
    pub in_warranty: bool,
    pub articles: Vec<Basis>,
    pub voided_by: Vec<VoidReason>,
}

impl Decision {
    pub fn allows(&self, r: Remedy) -> bool {
        self.remedies.contains(&r)
    }
}

const RULES: &str = "《部分商品修理更换退货责任规定》";

fn add_days(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_add_days(Days::new(n)).unwrap_or(NaiveDate::MAX)
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).unwrap_or(NaiveDate::MAX)
}

/// Decides the remedies for `fault` on an asset sold on `invoice_date` with earlier `history`.
/// Errors name the field: `fault_date` before the invoice, `history[i].date` outside
/// invoice..=fault, or a policy limit out of range.
pub fn evaluate(
    policy: &Policy,
    invoice_date: NaiveDate,
    fault: &Fault,
    history: &[HistoryEvent],
    void: &[VoidReason],
) -> Result<Decision, DomainError> {
    policy.validate()?;
    if fault.date < invoice_date {
        return Err(DomainError::invalid("fault_date", "service.err.fault_before_invoice"));
    }
    for (i, h) in history.iter().enumerate() {
        if h.date < invoice_date || h.date > fault.date {
            return Err(DomainError::invalid(format!("history[{i}].date"), "service.err.history_date"));
        }
        if h.days_in_repair > 3650 {
            return Err(DomainError::invalid(
                format!("history[{i}].days_in_repair"),
                "service.err.range|min=0|max=3650",
            ));
        }
        if h.waiting_parts_days > 3650 {
            return Err(DomainError::invalid(
                format!("history[{i}].waiting_parts_days"),
                "service.err.range|min=0|max=3650",
            ));
        }
    }
    let mut events: Vec<HistoryEvent> = history.to_vec();
    events.sort_by_key(|e| (e.date, e.kind == EventKind::Exchange));
    // 第十四条: the last exchange restarts the period; only repairs after it count.
    let last_exchange = events.iter().rposition(|e| e.kind == EventKind::Exchange);
    let period_start = last_exchange.map(|i| events[i].date).unwrap_or(invoice_date);
    let since: Vec<&HistoryEvent> =
        events.iter().skip(last_exchange.map(|i| i + 1).unwrap_or(0)).filter(|e| e.kind == EventKind::Repair).collect();
    // 第八条: time in repair and waiting for parts is not counted against the period.
    let paused: u64 = since.iter().map(|e| u64::from(e.days_in_repair) + u64::from(e.waiting_parts_days)).sum();
    let months =
        if fault.main_part { policy.main_parts_months.unwrap_or(policy.unit_months) } else { policy.unit_months };
    let period_end = add_days(add_months(period_start, months), paused);
    let unit_end = add_days(add_months(period_start, policy.unit_months), paused);

    let mut voided_by: Vec<VoidReason> = void.to_vec();
    voided_by.sort();
    voided_by.dedup();
    let mut articles = Vec::new();
    if !voided_by.is_empty() {
        let codes: Vec<&str> = voided_by.iter().map(|v| v.code()).collect();
        articles.push(Basis {
            article: "art18",
            label_zh: "第十八条",
            remedies: vec![Remedy::Paid],
            reason: format!("service.basis.void|reasons={}", codes.join(",")),
        });
        return Ok(Decision {
            remedies: vec![Remedy::Paid],
            period_start,
            period_end,
            in_warranty: false,
            articles,
            voided_by,
        });
    }
    if fault.date > period_end {
        articles.push(Basis {
            article: "art8",
            label_zh: "第八条",
            remedies: vec![Remedy::Paid],
            reason: format!("service.basis.expired|end={period_end}"),
        });
        return Ok(Decision {
            remedies: vec![Remedy::Paid],
            period_start,
            period_end,
            in_warranty: false,
            articles,
            voided_by,
        });
    }
    let mut remedies = vec![Remedy::Repair];
    articles.push(Basis {
        article: "art8",
        label_zh: "第八条",
        remedies: vec![Remedy::Repair],
        reason: format!("service.basis.in_period|end={period_end}"),
    });
    let days_since_sale = (fault.date - invoice_date).num_days();
    if days_since_sale <= i64::from(policy.return_days) {
        remedies.extend([Remedy::Return, Remedy::Exchange]);
        articles.push(Basis {
            article: "art9",
            label_zh: "第九条",
            remedies: vec![Remedy::Return, Remedy::Exchange, Remedy::Repair],
            reason: format!("service.basis.days|days={days_since_sale}|limit={}", policy.return_days),
        });
    } else if days_since_sale <= i64::from(policy.exchange_days) {
        remedies.push(Remedy::Exchange);
        articles.push(Basis {
            article: "art10",
            label_zh: "第十条",
            remedies: vec![Remedy::Exchange, Remedy::Repair],
            reason: format!("service.basis.days|days={days_since_sale}|limit={}", policy.exchange_days),
        });
    }
    // The exchange and refund rights of 第十一、十二条 are the whole unit's: they hold while the unit
    // period runs (a main part's longer period gives free repair only).
    let unit_running = fault.date <= unit_end;
    let repairs = since.len() as u64;
    if unit_running && repairs >= u64::from(policy.repair_limit) {
        remedies.extend([Remedy::Exchange, Remedy::Refund]);
        articles.push(Basis {
            article: "art11",
            label_zh: "第十一条",
            remedies: vec![Remedy::Exchange, Remedy::Refund],
            reason: format!("service.basis.repairs|repairs={repairs}|limit={}", policy.repair_limit),
        });
    }
    if unit_running {
        if let Some(w) = since.iter().map(|e| e.waiting_parts_days).filter(|&w| w > policy.no_parts_days).max() {
            remedies.push(Remedy::Exchange);
            articles.push(Basis {
                article: "art12",
                label_zh: "第十二条",
                remedies: vec![Remedy::Exchange],
                reason: format!("service.basis.no_parts|days={w}|limit={}", policy.no_parts_days),
            });
        }
        if let Some(d) = since.iter().map(|e| e.days_in_repair).filter(|&d| d > policy.repair_delay_days).max() {
            remedies.push(Remedy::Exchange);
            articles.push(Basis {
                article: "art12",
                label_zh: "第十二条",
                remedies: vec![Remedy::Exchange],
                reason: format!("service.basis.repair_delay|days={d}|limit={}", policy.repair_delay_days),
            });
        }
    }
    remedies.sort();
    remedies.dedup();
    Ok(Decision { remedies, period_start, period_end, in_warranty: true, articles, voided_by })
}

/// The citation for an article code, e.g. `《部分商品修理更换退货责任规定》第十一条`.
pub fn citation(b: &Basis) -> String {
    format!("{RULES}{}", b.label_zh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn fault(date: NaiveDate) -> Fault {
        Fault { date, main_part: false }
    }
    fn repair(date: NaiveDate, days: u32, waiting: u32) -> HistoryEvent {
        HistoryEvent { kind: EventKind::Repair, date, days_in_repair: days, waiting_parts_days: waiting }
    }

    #[test]
    fn within_seven_days_return_exchange_or_repair() {
        let r = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2026, 3, 8)), &[], &[]).unwrap();
        assert_eq!(r.remedies, vec![Remedy::Return, Remedy::Exchange, Remedy::Repair]);
        assert!(r.articles.iter().any(|a| a.article == "art9"));
        assert_eq!(r.period_end, d(2027, 3, 1));
    }

    #[test]
    fn day_eight_to_fifteen_exchange_or_repair() {
        let r = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2026, 3, 9)), &[], &[]).unwrap();
        assert_eq!(r.remedies, vec![Remedy::Exchange, Remedy::Repair]);
        assert!(r.articles.iter().any(|a| a.article == "art10"));
        let r = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2026, 3, 17)), &[], &[]).unwrap();
        assert_eq!(r.remedies, vec![Remedy::Repair]);
    }

    #[test]
    fn after_two_failed_repairs_exchange_or_refund() {
        let h = [repair(d(2026, 5, 1), 3, 0), repair(d(2026, 6, 1), 4, 0)];
        let one = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2026, 7, 1)), &h[..1], &[]).unwrap();
        assert_eq!(one.remedies, vec![Remedy::Repair]);
        let two = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2026, 7, 1)), &h, &[]).unwrap();
        assert_eq!(two.remedies, vec![Remedy::Exchange, Remedy::Repair, Remedy::Refund]);
        assert!(two.articles.iter().any(|a| a.article == "art11"));
    }

    #[test]
    fn repair_and_waiting_time_extend_the_period() {
        let h = [repair(d(2026, 5, 1), 10, 5)];
        let r = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2027, 3, 10)), &h, &[]).unwrap();
        assert_eq!(r.period_end, d(2027, 3, 16));
        assert!(r.in_warranty);
        let r = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2027, 3, 17)), &h, &[]).unwrap();
        assert_eq!(r.remedies, vec![Remedy::Paid]);
    }

    #[test]
    fn parts_missing_over_ninety_days_or_long_repair_gives_exchange() {
        let r =
            evaluate(&Policy::default(), d(2026, 1, 1), &fault(d(2026, 9, 1)), &[repair(d(2026, 4, 1), 5, 91)], &[])
                .unwrap();
        assert!(r.allows(Remedy::Exchange));
        assert!(r.articles.iter().any(|a| a.article == "art12"));
        let r =
            evaluate(&Policy::default(), d(2026, 1, 1), &fault(d(2026, 9, 1)), &[repair(d(2026, 4, 1), 5, 90)], &[])
                .unwrap();
        assert!(!r.allows(Remedy::Exchange));
        let r =
            evaluate(&Policy::default(), d(2026, 1, 1), &fault(d(2026, 9, 1)), &[repair(d(2026, 4, 1), 31, 0)], &[])
                .unwrap();
        assert!(r.allows(Remedy::Exchange));
    }

    #[test]
    fn exchange_restarts_the_period_and_the_repair_count() {
        let h = [
            repair(d(2026, 2, 1), 2, 0),
            repair(d(2026, 3, 1), 2, 0),
            HistoryEvent { kind: EventKind::Exchange, date: d(2026, 4, 1), days_in_repair: 0, waiting_parts_days: 0 },
        ];
        let r = evaluate(&Policy::default(), d(2026, 1, 1), &fault(d(2027, 2, 1)), &h, &[]).unwrap();
        assert_eq!(r.period_start, d(2026, 4, 1));
        assert_eq!(r.period_end, d(2027, 4, 1));
        assert_eq!(r.remedies, vec![Remedy::Repair]);
    }

    #[test]
    fn misuse_means_paid_service() {
        let r = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2026, 3, 2)), &[], &[VoidReason::Misuse]).unwrap();
        assert_eq!(r.remedies, vec![Remedy::Paid]);
        assert_eq!(r.articles[0].article, "art18");
        assert!(!r.in_warranty);
    }

    #[test]
    fn main_parts_keep_free_repair_longer() {
        let p = Policy { unit_months: 12, main_parts_months: Some(36), ..Policy::default() };
        let late = d(2028, 1, 1);
        let unit = evaluate(&p, d(2026, 3, 1), &fault(late), &[], &[]).unwrap();
        assert_eq!(unit.remedies, vec![Remedy::Paid]);
        let main = evaluate(&p, d(2026, 3, 1), &Fault { date: late, main_part: true }, &[], &[]).unwrap();
        assert_eq!(main.remedies, vec![Remedy::Repair]);
        assert_eq!(main.period_end, d(2029, 3, 1));
    }

    #[test]
    fn bad_input_names_the_field() {
        let e = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2026, 2, 1)), &[], &[]).unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "fault_date"));
        let e = evaluate(&Policy::default(), d(2026, 3, 1), &fault(d(2026, 4, 1)), &[repair(d(2026, 5, 1), 0, 0)], &[])
            .unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "history[0].date"));
        let p = Policy { unit_months: 0, ..Policy::default() };
        let e = evaluate(&p, d(2026, 3, 1), &fault(d(2026, 4, 1)), &[], &[]).unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "policy.unit_months"));
        let p = Policy { return_days: 20, exchange_days: 15, ..Policy::default() };
        let e = evaluate(&p, d(2026, 3, 1), &fault(d(2026, 4, 1)), &[], &[]).unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "policy.exchange_days"));
    }

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..4000).prop_map(|n| d(2015, 1, 1) + chrono::Duration::days(n))
    }
    fn arb_policy() -> impl Strategy<Value = Policy> {
        (1u32..60, 0u32..10, 0u32..20, 1u32..5, 1u32..200, 1u32..60).prop_map(|(m, r, x, l, n, del)| Policy {
            unit_months: m,
            main_parts_months: None,
            return_days: r,
            exchange_days: r + x,
            repair_limit: l,
            no_parts_days: n,
            repair_delay_days: del,
        })
    }
    fn arb_history(invoice: NaiveDate, span: i64) -> impl Strategy<Value = Vec<HistoryEvent>> {
        proptest::collection::vec((0..=span, any::<bool>(), 0u32..60, 0u32..120), 0..6).prop_map(move |v| {
            v.into_iter()
                .map(|(o, ex, dr, w)| HistoryEvent {
                    kind: if ex { EventKind::Exchange } else { EventKind::Repair },
                    date: invoice + chrono::Duration::days(o),
                    days_in_repair: dr,
                    waiting_parts_days: w,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn period_never_ends_before_it_starts(
            p in arb_policy(), inv in arb_date(),
            h in (0i64..2000).prop_flat_map(|s| arb_history(d(2020, 1, 1), s)),
        ) {
            let fault_date = h.iter().map(|e| e.date).max().unwrap_or(inv).max(inv);
            let h: Vec<_> = h.into_iter().filter(|e| e.date >= inv).collect();
            let r = evaluate(&p, inv, &fault(fault_date), &h, &[]).unwrap();
            prop_assert!(r.period_end >= r.period_start);
            prop_assert!(r.period_start >= inv);
            prop_assert!(!r.remedies.is_empty());
            prop_assert_eq!(r.in_warranty, !r.allows(Remedy::Paid));
        }

        #[test]
        fn an_exchange_restarts_the_period(
            p in arb_policy(), inv in arb_date(), off in 0i64..1500, after in 0i64..1500,
            h in arb_history(d(2015, 1, 1), 0),
        ) {
            let ex = inv + chrono::Duration::days(off);
            let mut hist: Vec<_> = h.into_iter().map(|mut e| { e.date = inv; e }).collect();
            hist.push(HistoryEvent { kind: EventKind::Exchange, date: ex, days_in_repair: 0, waiting_parts_days: 0 });
            let f = ex + chrono::Duration::days(after);
            let r = evaluate(&p, inv, &fault(f), &hist, &[]).unwrap();
            prop_assert_eq!(r.period_start, ex);
            prop_assert_eq!(r.period_end, ex.checked_add_months(Months::new(p.unit_months)).unwrap());
        }

        #[test]
        fn more_repairs_never_remove_a_remedy(
            p in arb_policy(), inv in arb_date(), h in arb_history(d(2015, 1, 1), 0),
            offs in proptest::collection::vec(0i64..800, 0..5), extra in 0i64..800,
            dr in 0u32..60, w in 0u32..120, fault_off in 0i64..900,
        ) {
            let shift = |e: HistoryEvent, o: i64| HistoryEvent { date: inv + chrono::Duration::days(o), ..e };
            let mut hist: Vec<_> = h.into_iter().zip(offs).map(|(e, o)| shift(e, o)).collect();
            let f = inv + chrono::Duration::days(fault_off.max(extra).max(hist.iter().map(|e| (e.date - inv).num_days()).max().unwrap_or(0)));
            let before = evaluate(&p, inv, &fault(f), &hist, &[]).unwrap();
            hist.push(repair(inv + chrono::Duration::days(extra), dr, w));
            let after = evaluate(&p, inv, &fault(f), &hist, &[]).unwrap();
            for r in before.remedies.iter().filter(|r| **r != Remedy::Paid) {
                prop_assert!(after.allows(*r), "{:?} lost: {:?} -> {:?}", r, before.remedies, after.remedies);
            }
            prop_assert!(after.period_end >= before.period_end);
        }
    }
}
