//! Tabular import and export: column definitions with Chinese and English headers, header
//! matching, and the per-row error report. The same columns are written on export, so a file
//! exported and imported again comes back unchanged.

use serde::Serialize;

use crate::DomainError;

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub required: bool,
}

const fn col(key: &'static str, zh: &'static str, en: &'static str, required: bool) -> Column {
    Column { key, zh, en, required }
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sheet {
    Customers,
    Contacts,
    Assets,
    Contracts,
}

impl Sheet {
    pub const ALL: [Sheet; 4] = [Sheet::Customers, Sheet::Contacts, Sheet::Assets, Sheet::Contracts];

    pub fn parse(s: &str) -> Result<Sheet, DomainError> {
        Sheet::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| DomainError::invalid("kind", "errors.must_customers_contacts_assets_contracts"))
    }

    pub fn code(self) -> &'static str {
        match self {
            Sheet::Customers => "customers",
            Sheet::Contacts => "contacts",
            Sheet::Assets => "assets",
            Sheet::Contracts => "contracts",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Sheet::Customers => CUSTOMERS,
            Sheet::Contacts => CONTACTS,
            Sheet::Assets => ASSETS,
            Sheet::Contracts => CONTRACTS,
        }
    }
}

const CUSTOMERS: &[Column] = &[
    col("code", "客户编号", "Code", false),
    col("name", "客户名称", "Name", true),
    col("kind", "类型", "Kind", false),
    col("category", "客户类别", "Category", false),
    col("is_new", "新客户", "New customer", false),
    col("region", "区域", "Region", false),
    col("address", "地址", "Address", false),
    col("phones", "电话", "Phones", false),
    col("emails", "电子邮件", "E-mails", false),
    col("tags", "标签", "Tags", false),
    col("owner", "售后服务责任人", "Owner", false),
    col("notes", "备注", "Notes", false),
];

const CONTACTS: &[Column] = &[
    col("customer_code", "客户编号", "Customer code", true),
    col("name", "联系人", "Name", true),
    col("title", "职务", "Title", false),
    col("phones", "电话", "Phones", false),
    col("email", "电子邮件", "E-mail", false),
    col("primary", "主要联系人", "Primary", false),
];

const ASSETS: &[Column] = &[
    col("customer_code", "客户编号", "Customer code", true),
    col("product_code", "产品编号", "Product code", true),
    col("serial", "序列号/批号", "Serial or lot", true),
    col("ship_date", "发货日期", "Ship date", false),
    col("warranty_end", "保修截止", "Warranty end", false),
];

const CONTRACTS: &[Column] = &[
    col("number", "合同/订单号", "Number", true),
    col("customer_code", "客户编号", "Customer code", true),
    col("signed_on", "签订日期", "Date", true),
    col("value", "金额(元)", "Value (CNY)", false),
    col("completed_on", "完成日期", "Completion date", false),
    col("status", "状态", "Status", false),
];

/// One problem in a file: the row as a spreadsheet numbers it (header = 1) and the column's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub reason: String,
}

fn fold(h: &str) -> String {
    h.trim().trim_start_matches('\u{feff}').trim_end_matches('*').trim().to_lowercase().replace([' ', '_'], "")
}

/// Finds each column's position from the header row, in either language (or the key itself).
/// Unknown and repeated headers, and missing required columns, are errors on row 1.
pub fn map_headers(sheet: Sheet, headers: &[String]) -> Result<Vec<Option<usize>>, Vec<RowError>> {
    let cols = sheet.columns();
    let mut pos = vec![None; cols.len()];
    let mut errors = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let f = fold(h);
        if f.is_empty() {
            continue;
        }
        match cols.iter().position(|c| fold(c.zh) == f || fold(c.en) == f || fold(c.key) == f) {
            Some(ci) if pos[ci].is_some() => {
                errors.push(RowError { row: 1, column: h.clone(), reason: "this column appears twice".into() })
            }
            Some(ci) => pos[ci] = Some(i),
            None => {
                let known: Vec<&str> = cols.iter().map(|c| c.zh).collect();
                errors.push(RowError {
                    row: 1,
                    column: h.clone(),
                    reason: format!("unknown column; expected: {}", known.join(", ")),
                })
            }
        }
    }
    for (ci, c) in cols.iter().enumerate() {
        if c.required && pos[ci].is_none() {
            errors.push(RowError { row: 1, column: c.zh.to_owned(), reason: "required column is missing".into() });
        }
    }
    if errors.is_empty() { Ok(pos) } else { Err(errors) }
}

/// A data row seen through the header mapping.
pub struct Row<'a> {
    pub number: usize,
    sheet: Sheet,
    cells: &'a [String],
    pos: &'a [Option<usize>],
}

impl<'a> Row<'a> {
    pub fn new(number: usize, sheet: Sheet, cells: &'a [String], pos: &'a [Option<usize>]) -> Self {
        Row { number, sheet, cells, pos }
    }

    /// The cell under column `key`, trimmed; empty when the column or cell is absent.
    pub fn get(&self, key: &str) -> &'a str {
        self.sheet
            .columns()
            .iter()
            .position(|c| c.key == key)
            .and_then(|ci| self.pos.get(ci).copied().flatten())
            .and_then(|i| self.cells.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }

    /// Turns a domain error on field `key` into a row error under that column's header.
    pub fn error(&self, e: DomainError, fallback_key: &str) -> RowError {
        let (key, reason) = match e {
            DomainError::Invalid { field, reason } => (field, reason),
            DomainError::Conflict { reason, field } => (field.unwrap_or(fallback_key).to_owned(), reason),
            other => (fallback_key.to_owned(), other.to_string()),
        };
        let header = self.sheet.columns().iter().find(|c| c.key == key).map(|c| c.zh).unwrap_or(fallback_key);
        RowError { row: self.number, column: header.to_owned(), reason }
    }
}

/// Header row for export in the chosen language.
pub fn headers(sheet: Sheet, chinese: bool) -> Vec<String> {
    sheet.columns().iter().map(|c| if chinese { c.zh } else { c.en }.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn headers_match_in_either_language() {
        let pos = map_headers(Sheet::Customers, &s(&["客户名称*", "Phones", "region", ""])).unwrap();
        assert_eq!(pos[1], Some(0));
        assert_eq!(pos[7], Some(1));
        assert_eq!(pos[5], Some(2));
        let cells = s(&["华星", "0755-1", "华南"]);
        let row = Row::new(2, Sheet::Customers, &cells, &pos);
        assert_eq!(row.get("region"), "华南");
        assert_eq!(row.get("notes"), "");
    }

    #[test]
    fn unknown_duplicate_and_missing_columns_are_reported_on_row_one() {
        let errs = map_headers(Sheet::Contacts, &s(&["联系人", "Name", "Fax"])).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs.iter().all(|e| e.row == 1));
        assert!(errs.iter().any(|e| e.column == "客户编号" && e.reason.contains("missing")));
    }

    #[test]
    fn exported_headers_map_back() {
        for sheet in Sheet::ALL {
            for zh in [true, false] {
                let pos = map_headers(sheet, &headers(sheet, zh)).unwrap();
                assert!(pos.iter().enumerate().all(|(i, p)| *p == Some(i)));
            }
        }
    }

    #[test]
    fn a_mapping_of_another_sheet_reads_as_empty_not_a_panic() {
        let pos = map_headers(Sheet::Contacts, &headers(Sheet::Contacts, true)).unwrap();
        let cells = s(&["C1", "王工", "经理", "1", "a@b.cn", "是"]);
        let row = Row::new(2, Sheet::Customers, &cells, &pos);
        assert_eq!(row.get("notes"), "");
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use crate::fuzz::refused_with_field;

        /// Headers as people type them: any sheet's header in either language or as its key, with
        /// stray spaces, a BOM, a required-marker asterisk or changed case; or junk.
        fn header() -> impl Strategy<Value = String> {
            let known: Vec<&'static str> =
                Sheet::ALL.iter().flat_map(|s| s.columns()).flat_map(|c| [c.zh, c.en, c.key]).collect();
            prop_oneof![
                4 => (prop::sample::select(known), 0_u8..5).prop_map(|(h, dress)| match dress {
                    0 => h.to_owned(),
                    1 => format!("  {h} "),
                    2 => format!("\u{feff}{h}"),
                    3 => format!("{h}*"),
                    _ => h.to_uppercase(),
                }),
                1 => "\\PC{0,10}",
            ]
        }

        proptest! {
            /// Any header row maps or is refused on row 1 naming the column; a mapping puts each
            /// column at a distinct position of the row and has every required column; any data
            /// row read through it (short, long, blank) gives trimmed cells of that row.
            #[test]
            fn header_mapping_and_row_reading_never_panic(
                sheet in prop::sample::select(Sheet::ALL.to_vec()),
                other in prop::sample::select(Sheet::ALL.to_vec()),
                hs in prop::collection::vec(header(), 0..16),
                cells in prop::collection::vec("\\PC{0,6}", 0..20),
            ) {
                match map_headers(sheet, &hs) {
                    Ok(pos) => {
                        prop_assert_eq!(pos.len(), sheet.columns().len());
                        let mut used = std::collections::BTreeSet::new();
                        for (c, p) in sheet.columns().iter().zip(&pos) {
                            prop_assert!(!c.required || p.is_some(), "required {} unmapped", c.key);
                            if let Some(i) = p {
                                prop_assert!(*i < hs.len() && used.insert(*i));
                            }
                        }
                        for read_as in [sheet, other] {
                            let row = Row::new(2, read_as, &cells, &pos);
                            for c in read_as.columns() {
                                let v = row.get(c.key);
                                prop_assert!(v.is_empty() || cells.iter().any(|x| x.trim() == v));
                            }
                            let _ = row.is_blank();
                        }
                    }
                    Err(errors) => {
                        prop_assert!(!errors.is_empty());
                        for e in errors {
                            prop_assert_eq!(e.row, 1);
                            prop_assert!(!e.reason.is_empty());
                        }
                    }
                }
            }

            #[test]
            fn sheet_names_parse_or_name_the_kind(text in "\\PC{0,12}") {
                let r = Sheet::parse(&text);
                refused_with_field(&r)?;
                let names_kind = matches!(r, Err(DomainError::Invalid { ref field, .. }) if field == "kind");
                prop_assert!(r.is_ok() || names_kind, "{:?}", r);
            }
        }
    }
}
