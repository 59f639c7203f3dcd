//! The questionnaires the seeds ship (issue #20 item 10), installed as ready templates on a fresh
//! installation: the 顾客满意程度调查表 of 002-H (quality, packaging, delivery timeliness, sales
//! service on the 10/8/6/3/1 scale), the three property forms of 002-C (住宅区, 写字楼, 售楼展示区),
//! the internal-customer form of 002-G and the after-service form of 002-K (客户服务通知单).
//! Each is a JSON [`TemplateSpec`] embedded with `include_str!` and parsed by [`Template::parse`].

use super::template::{Template, TemplateSpec};
use crate::DomainError;

const FILES: [(&str, &str); 6] = [
    ("002h_customer_satisfaction.json", include_str!("shipped/002h_customer_satisfaction.json")),
    ("002c_residential.json", include_str!("shipped/002c_residential.json")),
    ("002c_office.json", include_str!("shipped/002c_office.json")),
    ("002c_sales_gallery.json", include_str!("shipped/002c_sales_gallery.json")),
    ("002g_internal.json", include_str!("shipped/002g_internal.json")),
    ("002k_after_service.json", include_str!("shipped/002k_after_service.json")),
];

/// The codes of the shipped templates, in the order they are installed.
pub fn codes() -> Vec<String> {
    templates().map(|ts| ts.into_iter().map(|t| t.spec.code).collect()).unwrap_or_default()
}

/// Every shipped template, validated.
pub fn templates() -> Result<Vec<Template>, DomainError> {
    FILES
        .iter()
        .map(|(name, text)| {
            let spec: TemplateSpec = serde_json::from_str(text).map_err(|e| {
                DomainError::invalid("template", crate::reason!("errors.not_valid_json", e = format!("{name}: {e}")))
            })?;
            Template::parse(spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::template::QuestionKind;

    #[test]
    fn every_shipped_template_parses_with_unique_codes() {
        let ts = templates().unwrap();
        assert_eq!(ts.len(), 6);
        let mut codes: Vec<_> = ts.iter().map(|t| t.spec.code.clone()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 6);
    }

    #[test]
    fn the_002h_form_rates_the_four_seed_items_on_the_10_8_6_3_1_scale() {
        let ts = templates().unwrap();
        let h = ts.iter().find(|t| t.spec.code == "002H-CSAT").unwrap();
        assert_eq!(h.scale.name(), "five_level_10");
        let items: Vec<_> = h.spec.indicators.iter().map(|i| i.name_zh.as_str()).collect();
        assert_eq!(items, ["产品质量", "产品包装", "发运及时性", "销售服务"]);
        let rated = h.spec.questions.iter().filter(|q| q.kind == QuestionKind::Rating).count();
        assert_eq!(rated, 4);
        let total: f64 = h.spec.indicators.iter().filter_map(|i| i.weight).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_property_forms_cover_the_three_audiences_of_002c() {
        let ts = templates().unwrap();
        for (code, audience) in [
            ("002C-RESIDENTIAL", "residential_owner"),
            ("002C-OFFICE", "office_tenant"),
            ("002C-SALES", "sales_visitor"),
        ] {
            let t = ts.iter().find(|t| t.spec.code == code).unwrap();
            assert_eq!(t.spec.audience, audience);
        }
        assert!(ts.iter().any(|t| t.spec.audience == "internal"));
    }
}
