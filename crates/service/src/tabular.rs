//! Reading and writing spreadsheets: CSV (UTF-8, with or without BOM; GB18030 is not guessed) and
//! XLSX. Everything becomes rows of text cells; the import rules work on those.

use rust_xlsxwriter::Workbook;

use crate::ServiceError;
use loopdesk_domain::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// By file name, then by content (XLSX files are ZIP archives starting with `PK`).
    pub fn detect(file_name: &str, bytes: &[u8]) -> Format {
        let lower = file_name.to_lowercase();
        if lower.ends_with(".xlsx") || bytes.starts_with(b"PK\x03\x04") { Format::Xlsx } else { Format::Csv }
    }

    pub fn parse(s: &str) -> Result<Format, DomainError> {
        match s {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            _ => Err(DomainError::invalid("format", "errors.must_csv_xlsx")),
        }
    }
}

/// All rows of the file's first sheet, header included.
pub fn read(file_name: &str, bytes: &[u8]) -> Result<Vec<Vec<String>>, ServiceError> {
    match Format::detect(file_name, bytes) {
        Format::Csv => read_csv(bytes),
        Format::Xlsx => read_xlsx(bytes),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, ServiceError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| DomainError::invalid("file", "errors.csv_file_not_utf_8"))?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec =
            rec.map_err(|e| DomainError::invalid("file", loopdesk_domain::reason!("errors.row", i = i + 1, e)))?;
        // A cell exported with a `'` against formula injection reads back as it was.
        rows.push(rec.iter().map(|c| loopdesk_domain::input::csv_cell_read(c).to_owned()).collect());
    }
    Ok(rows)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, ServiceError> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| DomainError::invalid("file", loopdesk_domain::reason!("errors.not_readable_xlsx_file", e)))?;
    let name = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| DomainError::invalid("file", "errors.workbook_has_no_sheet"))?;
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| DomainError::invalid("file", loopdesk_domain::reason!("errors.cannot_read_sheet", name, e)))?;
    let rows = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    // Whole numbers (phone numbers typed as numbers) must not become "1.3800138e10".
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::DateTime(d) => d.as_datetime().map(|d| d.date().to_string()).unwrap_or_else(|| d.to_string()),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                    Data::Error(e) => format!("#{e:?}"),
                })
                .collect()
        })
        .collect();
    Ok(rows)
}

pub fn write_csv(rows: &[Vec<String>]) -> Result<Vec<u8>, ServiceError> {
    // A BOM makes Excel open the UTF-8 file with Chinese text intact.
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    for r in rows {
        // No cell may start a formula when the file is opened in a spreadsheet (OWASP).
        w.write_record(r.iter().map(|c| loopdesk_domain::input::csv_cell(c).into_owned()))
            .map_err(|e| ServiceError::Internal(format!("csv: {e}")))?;
    }
    w.into_inner().map_err(|e| ServiceError::Internal(format!("csv: {e}")))
}

/// Every cell is written as text so codes like `00123` and long phone numbers survive.
pub fn write_xlsx(sheet_name: &str, rows: &[Vec<String>]) -> Result<Vec<u8>, ServiceError> {
    write_xlsx_sheets(&[(sheet_name.to_owned(), rows.to_vec())])
}

/// Several sheets in one workbook, each `(name, rows)` with a bold header row.
pub fn write_xlsx_sheets(sheets: &[(String, Vec<Vec<String>>)]) -> Result<Vec<u8>, ServiceError> {
    let err = |e: rust_xlsxwriter::XlsxError| ServiceError::Internal(format!("xlsx: {e}"));
    let mut wb = Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (sheet_name, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name).map_err(err)?;
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                if r == 0 {
                    ws.write_string_with_format(r, c, cell, &bold).map_err(err)?;
                } else {
                    ws.write_string(r, c, cell).map_err(err)?;
                }
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_xlsx_round_trip_text_exactly() {
        let rows = vec![
            vec!["客户编号".to_owned(), "客户名称".into(), "电话".into()],
            vec!["00123".into(), "深圳\"华星\",电子".into(), "13800138000; 0755-1".into()],
            vec!["C2".into(), "多行\n备注".into(), String::new()],
        ];
        let csv = write_csv(&rows).unwrap();
        assert_eq!(read("x.csv", &csv).unwrap(), rows);
        let xlsx = write_xlsx("customers", &rows).unwrap();
        assert_eq!(Format::detect("upload", &xlsx), Format::Xlsx);
        assert_eq!(read("x.xlsx", &xlsx).unwrap(), rows);
    }

    #[test]
    fn csv_cells_that_would_start_a_formula_get_a_quote_and_read_back_unchanged() {
        let rows = vec![
            vec!["name".to_owned(), "note".into()],
            vec!["=HYPERLINK(\"http://evil\",\"x\")".into(), "+86 138".into()],
            vec!["-1".into(), "@SUM(A1)".into()],
            vec!["\tcmd".into(), "\rcmd".into()],
        ];
        let csv = write_csv(&rows).unwrap();
        let mut raw = csv::ReaderBuilder::new().has_headers(true).from_reader(&csv[3..]);
        for rec in raw.records() {
            for cell in rec.unwrap().iter() {
                assert!(cell.starts_with('\''), "{cell:?} is written as it came");
            }
        }
        assert_eq!(read("x.csv", &csv).unwrap(), rows);
        // XLSX cells are strings already and stay as they are.
        assert_eq!(read("x.xlsx", &write_xlsx("s", &rows).unwrap()).unwrap(), rows);
    }

    #[test]
    fn non_utf8_and_garbage_are_refused_not_panics() {
        assert!(read("x.csv", &[0xff, 0xfe, 0x00]).is_err());
        assert!(read("x.xlsx", b"PK\x03\x04garbage").is_err());
    }
}
