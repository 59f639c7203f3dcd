//! Rules about a case's record after intake (issue #14): the serious-injury question, which
//! intake fields may be corrected and how a correction reads on the timeline, task numbers, and
//! the evidence a customer may upload.

use crate::DomainError;
use crate::customer::coded_enum;

coded_enum!(InjuryAnswer, "serious_injury", {
    Yes => ("yes", "是", "Yes"),
    No => ("no", "否", "No"),
    Unknown => ("unknown", "不确定", "Unknown"),
});

/// ISO 13485 8.2.2 / 004 4.1.5.2: a complaint about a product must answer "did it cause or could
/// it have caused serious injury or death?" before it is assessed. A complaint names a product
/// when it carries a product code, model or serial number.
pub fn injury_question_applies(case_type: &str, names_product: bool) -> bool {
    case_type == "complaint" && names_product
}

/// 001 2.8: a major or critical complaint's measures are approved by the GM (the `gm_approve`
/// step) before the customer is answered. True when `transition` must wait for that approval.
pub fn needs_gm_approval(case_type: &str, severity: &str, state: &str, transition: &str, has_step: bool) -> bool {
    has_step
        && case_type == "complaint"
        && matches!(severity, "major" | "critical")
        && transition == "reply"
        && state == "resolution_proposed"
}

/// The fields of a case that staff may correct after intake, in the order the timeline lists them.
pub const EDITABLE_FIELDS: [&str; 14] = [
    "customer_id",
    "contact_id",
    "contact_name",
    "contact_phone",
    "contact_email",
    "product_code",
    "model",
    "serial",
    "ship_date",
    "category",
    "subject",
    "description",
    "owner",
    "serious_injury",
];

/// One corrected field: its name and the value before and after.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// The changes between two renderings of the editable fields (`(field, value)` pairs in the
/// same order), leaving out the fields whose value stayed the same.
pub fn changes(before: &[(&str, String)], after: &[(&str, String)]) -> Vec<Change> {
    before
        .iter()
        .zip(after)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((f, a), (_, b))| Change { field: (*f).to_owned(), from: a.clone(), to: b.clone() })
        .collect()
}

/// How a correction reads on the timeline: one line per field, the original value kept.
pub fn describe(changes: &[Change]) -> String {
    changes.iter().map(|c| format!("{}: «{}» → «{}»", c.field, c.from, c.to)).collect::<Vec<_>>().join("\n")
}

/// A department task's number (信息传递单编号): the case number and the task's place among the
/// case's tasks, `TS-2026-000123-T02`.
pub fn task_number(case_number: &str, ordinal: usize) -> String {
    format!("{case_number}-T{ordinal:02}")
}

/// How many files a customer may attach to one case through the portal.
pub const MAX_PORTAL_FILES: usize = 5;
/// Largest photo the portal accepts.
pub const MAX_PORTAL_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// Largest video the portal accepts (a request body may carry at most 16 MB).
pub const MAX_PORTAL_VIDEO_BYTES: usize = 15 * 1024 * 1024;

/// Checks one file a customer uploads as evidence: photos (jpg, png, webp, gif, heic) up to
/// 10 MB, videos (mp4, mov) up to 15 MB, PDFs up to 10 MB, and no more than
/// [`MAX_PORTAL_FILES`] on a case (`already` is how many the customer has attached).
pub fn check_portal_file(name: &str, size: usize, already: usize) -> Result<(), DomainError> {
    let bad = |r: String| DomainError::invalid("file", r);
    if already >= MAX_PORTAL_FILES {
        return Err(bad(crate::reason!("errors.case_takes_at_most_files", MAX_PORTAL_FILES)));
    }
    if size == 0 {
        return Err(bad("errors.empty".into()));
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let limit = match ext.as_str() {
        "jpg" | "jpeg" | "png" | "webp" | "gif" | "heic" | "pdf" => MAX_PORTAL_IMAGE_BYTES,
        "mp4" | "mov" => MAX_PORTAL_VIDEO_BYTES,
        _ => return Err(bad("errors.must_photo_jpg_png_webp".into())),
    };
    if size > limit {
        return Err(bad(crate::reason!("errors.larger_than_mb_2", limit = limit / 1024 / 1024)));
    }
    Ok(())
}

/// The columns of the case register (客户投诉登记表, 000-I 6): code, Chinese and English header.
pub const REGISTER_COLUMNS: [(&str, &str, &str); 20] = [
    ("number", "编号", "Number"),
    ("type", "类型", "Type"),
    ("received_at", "受理时间", "Received"),
    ("channel", "渠道", "Channel"),
    ("customer", "顾客", "Customer"),
    ("contact_name", "联系人", "Contact"),
    ("contact_phone", "联系电话", "Phone"),
    ("product_code", "产品", "Product"),
    ("model", "型号", "Model"),
    ("serial", "批号/序列号", "Lot / serial"),
    ("ship_date", "发货日期", "Ship date"),
    ("subject", "主题", "Subject"),
    ("category", "类别", "Category"),
    ("severity", "严重程度", "Severity"),
    ("responsibility", "责任判定", "Responsibility"),
    ("lead_department", "主办部门", "Lead department"),
    ("owner", "处理人", "Owner"),
    ("state", "状态", "State"),
    ("due_at", "到期时间", "Due"),
    ("closed_at", "关闭时间", "Closed"),
];

/// The register's header row in Chinese or English.
pub fn register_headers(chinese: bool) -> Vec<String> {
    REGISTER_COLUMNS.iter().map(|(_, zh, en)| if chinese { *zh } else { *en }.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Coded;
    use proptest::prelude::*;

    #[test]
    fn injury_question_applies_only_to_complaints_naming_a_product() {
        assert!(injury_question_applies("complaint", true));
        assert!(!injury_question_applies("complaint", false));
        assert!(!injury_question_applies("inquiry", true));
    }

    #[test]
    fn major_complaints_wait_for_the_gm_before_the_reply() {
        assert!(needs_gm_approval("complaint", "major", "resolution_proposed", "reply", true));
        assert!(needs_gm_approval("complaint", "critical", "resolution_proposed", "reply", true));
        assert!(!needs_gm_approval("complaint", "general", "resolution_proposed", "reply", true));
        assert!(!needs_gm_approval("complaint", "major", "measures_approved", "reply", true));
        assert!(!needs_gm_approval("complaint", "major", "resolution_proposed", "reply", false));
        assert!(!needs_gm_approval("return", "major", "resolution_proposed", "reply", true));
    }

    #[test]
    fn injury_answer_has_three_values_and_refuses_others() {
        for a in InjuryAnswer::ALL {
            assert_eq!(InjuryAnswer::parse(a.code()).unwrap(), *a);
        }
        let e = InjuryAnswer::parse("maybe").unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "serious_injury"));
    }

    #[test]
    fn changes_keep_the_original_value_and_skip_unchanged_fields() {
        let before = [("subject", "old".to_owned()), ("model", "M1".to_owned())];
        let after = [("subject", "new".to_owned()), ("model", "M1".to_owned())];
        let c = changes(&before, &after);
        assert_eq!(c, vec![Change { field: "subject".into(), from: "old".into(), to: "new".into() }]);
        assert_eq!(describe(&c), "subject: «old» → «new»");
    }

    #[test]
    fn register_headers_exist_in_both_languages() {
        let zh = register_headers(true);
        let en = register_headers(false);
        assert_eq!(zh.len(), en.len());
        assert_eq!(zh[0], "编号");
        assert_eq!(en[0], "Number");
        assert!(zh.iter().chain(&en).all(|h| !h.is_empty()));
    }

    #[test]
    fn task_numbers_extend_the_case_number() {
        assert_eq!(task_number("TS-2026-000123", 2), "TS-2026-000123-T02");
    }

    #[test]
    fn portal_files_are_limited_in_count_type_and_size() {
        assert!(check_portal_file("a.JPG", 1000, 0).is_ok());
        assert!(check_portal_file("clip.mp4", 14 * 1024 * 1024, 4).is_ok());
        assert!(check_portal_file("a.jpg", 1000, MAX_PORTAL_FILES).is_err());
        assert!(check_portal_file("a.exe", 1000, 0).is_err());
        assert!(check_portal_file("a.jpg", 11 * 1024 * 1024, 0).is_err());
        assert!(check_portal_file("a.jpg", 0, 0).is_err());
    }

    proptest! {
        #[test]
        fn portal_file_check_never_panics(name in ".{0,40}", size in 0usize..100_000_000, n in 0usize..10) {
            let ok = check_portal_file(&name, size, n).is_ok();
            prop_assert!(!ok || (n < MAX_PORTAL_FILES && size > 0 && size <= MAX_PORTAL_VIDEO_BYTES));
        }
    }
}
