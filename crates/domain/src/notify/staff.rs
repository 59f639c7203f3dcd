//! Messages to staff about a case (issue #15 §4): a case assigned to its owner, a case escalated
//! to the GM office, a meeting action item assigned, a service-level clock's warning, breach or
//! escalation. Each in zh-CN and en, user text escaped in HTML and kept to one line in subjects.

use super::{Rendered, html_escape, html_page, one_line};
use crate::locale::Locale;

/// What a staff message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffKind {
    CaseAssigned,
    CaseEscalated,
    ActionAssigned,
    ClockWarning,
    ClockBreached,
    ClockEscalated,
}

impl StaffKind {
    /// The outbox `kind` and inbox kind.
    pub fn code(self) -> &'static str {
        match self {
            StaffKind::CaseAssigned => "case_assigned",
            StaffKind::CaseEscalated => "case_escalated",
            StaffKind::ActionAssigned => "action_assigned",
            StaffKind::ClockWarning => "clock_warning",
            StaffKind::ClockBreached => "clock_breached",
            StaffKind::ClockEscalated => "clock_escalated",
        }
    }

    pub fn from_clock_alert(kind: &str) -> Option<StaffKind> {
        match kind {
            "clock_warning" | "item_warning" => Some(StaffKind::ClockWarning),
            "clock_breached" | "item_overdue" => Some(StaffKind::ClockBreached),
            "clock_escalated" | "item_escalated" => Some(StaffKind::ClockEscalated),
            _ => None,
        }
    }

    fn lead(self, l: Locale) -> &'static str {
        match (self, l) {
            (StaffKind::CaseAssigned, Locale::ZhCn) => "案件已指派给您处理",
            (StaffKind::CaseAssigned, Locale::En) => "A case was assigned to you",
            (StaffKind::CaseEscalated, Locale::ZhCn) => "案件已提交总经理室",
            (StaffKind::CaseEscalated, Locale::En) => "A case was escalated to the GM office",
            (StaffKind::ActionAssigned, Locale::ZhCn) => "协调会议给您分配了行动项",
            (StaffKind::ActionAssigned, Locale::En) => "A coordination meeting gave you an action item",
            (StaffKind::ClockWarning, Locale::ZhCn) => "时限即将到期",
            (StaffKind::ClockWarning, Locale::En) => "A deadline is near",
            (StaffKind::ClockBreached, Locale::ZhCn) => "已超过时限",
            (StaffKind::ClockBreached, Locale::En) => "A deadline has passed",
            (StaffKind::ClockEscalated, Locale::ZhCn) => "超时升级",
            (StaffKind::ClockEscalated, Locale::En) => "Overdue, escalated",
        }
    }
}

/// The facts of a staff message.
pub struct StaffNotice<'a> {
    pub number: &'a str,
    pub subject: &'a str,
    /// The item, the clock or the transition note ('' for none).
    pub detail: &'a str,
    /// A due date or time as shown to the reader ('' for none).
    pub due: &'a str,
    pub case_url: &'a str,
}

pub fn staff_notice(l: Locale, kind: StaffKind, n: &StaffNotice<'_>) -> Rendered {
    let (number, subj, due) = (one_line(n.number), one_line(n.subject), one_line(n.due));
    let lead = kind.lead(l);
    let (due_word, open, case_word) = match l {
        Locale::ZhCn => ("期限", "打开案件", "案件"),
        Locale::En => ("Due", "Open the case", "Case"),
    };
    let e = html_escape;
    let mut text = format!("{lead}\n\n{case_word} {number}: {subj}\n");
    let mut html = vec![e(lead), format!("{} <strong>{}</strong>: {}", e(case_word), e(&number), e(&subj))];
    if !n.detail.trim().is_empty() {
        text.push_str(&format!("\n{}\n", n.detail.trim()));
        html.push(format!("<blockquote>{}</blockquote>", e(n.detail.trim()).replace('\n', "<br>")));
    }
    if !due.is_empty() {
        text.push_str(&format!("\n{due_word}: {due}\n"));
        html.push(format!("{}: {}", e(due_word), e(&due)));
    }
    text.push_str(&format!("{open}: {}\n", n.case_url));
    html.push(format!("<a href=\"{}\">{}</a>", e(n.case_url), e(open)));
    let sep = if l == Locale::En { ": " } else { "：" };
    Rendered { subject: format!("[{number}] {lead}{sep}{subj}"), text, html: html_page(&html) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_messages_carry_the_number_in_both_languages_and_escape_user_text() {
        let n = StaffNotice {
            number: "TS-2026-000003",
            subject: "噪音<大>\r\nBcc: x",
            detail: "更换<风扇>",
            due: "2026-05-08",
            case_url: "https://care/cases/3",
        };
        for kind in [
            StaffKind::CaseAssigned,
            StaffKind::CaseEscalated,
            StaffKind::ActionAssigned,
            StaffKind::ClockWarning,
            StaffKind::ClockBreached,
            StaffKind::ClockEscalated,
        ] {
            for l in Locale::ALL {
                let r = staff_notice(l, kind, &n);
                assert!(r.subject.starts_with("[TS-2026-000003]"), "{}", r.subject);
                assert!(!r.subject.contains('\n'));
                assert!(r.html.contains("更换&lt;风扇&gt;") && !r.html.contains("<风扇>"));
                assert!(r.text.contains("2026-05-08") && r.text.contains("https://care/cases/3"));
            }
        }
        assert!(staff_notice(Locale::ZhCn, StaffKind::CaseEscalated, &n).subject.contains("总经理室"));
        assert!(staff_notice(Locale::En, StaffKind::CaseAssigned, &n).subject.contains("assigned to you: "));
        assert_eq!(StaffKind::from_clock_alert("item_overdue"), Some(StaffKind::ClockBreached));
    }
}
