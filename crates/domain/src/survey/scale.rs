//! Rating scales: the answer levels of a satisfaction question and the points each is worth.

use serde::{Deserialize, Serialize};

use super::finite;
use crate::DomainError;
use crate::org::required_text;

const MAX_LABEL: usize = 64;
const MAX_LEVELS: usize = 11;

/// One answer option, e.g. 满意 / satisfied = 8 points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleLevel {
    pub value: f64,
    pub label_zh: String,
    pub label_en: String,
}

impl ScaleLevel {
    fn of(value: f64, zh: &str, en: &str) -> ScaleLevel {
        ScaleLevel { value, label_zh: zh.to_owned(), label_en: en.to_owned() }
    }
}

/// A validated scale; levels are held best first (descending value) whatever the input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RatingScaleInput")]
pub struct RatingScale {
    name: String,
    levels: Vec<ScaleLevel>,
}

/// Unvalidated wire form; deserialising a [`RatingScale`] goes through [`RatingScale::new`].
#[derive(Debug, Clone, Deserialize)]
pub struct RatingScaleInput {
    pub name: String,
    pub levels: Vec<ScaleLevel>,
}

impl TryFrom<RatingScaleInput> for RatingScale {
    type Error = DomainError;
    fn try_from(i: RatingScaleInput) -> Result<Self, Self::Error> {
        RatingScale::new(&i.name, i.levels)
    }
}

impl RatingScale {
    /// Name of [`RatingScale::five_level_10`].
    pub const FIVE_LEVEL_10: &'static str = "five_level_10";
    /// Name of [`RatingScale::five_level_100`].
    pub const FIVE_LEVEL_100: &'static str = "five_level_100";

    /// Custom scale: 2–11 levels, finite non-negative distinct values, top value > 0, labels in
    /// both languages. Non-negative because S_i = Σ scores ÷ (answers × top) is read as a share.
    pub fn new(name: &str, levels: Vec<ScaleLevel>) -> Result<RatingScale, DomainError> {
        let name = required_text("name", name, MAX_LABEL)?;
        if levels.len() < 2 || levels.len() > MAX_LEVELS {
            return Err(DomainError::invalid("levels", crate::reason!("errors.must_have_2_levels", MAX_LEVELS)));
        }
        let mut clean = Vec::with_capacity(levels.len());
        for (i, l) in levels.into_iter().enumerate() {
            let value = finite(format!("levels[{i}].value"), l.value)?;
            if value < 0.0 {
                return Err(DomainError::invalid(format!("levels[{i}].value"), "errors.must_not_negative"));
            }
            if clean.iter().any(|c: &ScaleLevel| c.value == value) {
                return Err(DomainError::invalid(
                    format!("levels[{i}].value"),
                    crate::reason!("errors.used_twice", value),
                ));
            }
            clean.push(ScaleLevel {
                value,
                label_zh: required_text(&format!("levels[{i}].label_zh"), &l.label_zh, MAX_LABEL)?,
                label_en: required_text(&format!("levels[{i}].label_en"), &l.label_en, MAX_LABEL)?,
            });
        }
        clean.sort_by(|a, b| b.value.total_cmp(&a.value));
        if clean[0].value <= 0.0 {
            return Err(DomainError::invalid("levels", "errors.top_level_must_score_more"));
        }
        Ok(RatingScale { name, levels: clean })
    }

    /// The seeds' default five levels (满意度分为五级): 10 / 8 / 6 / 3 / 1.
    pub fn five_level_10() -> RatingScale {
        RatingScale {
            name: Self::FIVE_LEVEL_10.to_owned(),
            levels: vec![
                ScaleLevel::of(10.0, "非常满意", "very satisfied"),
                ScaleLevel::of(8.0, "满意", "satisfied"),
                ScaleLevel::of(6.0, "满足需要", "meets needs"),
                ScaleLevel::of(3.0, "不满意", "dissatisfied"),
                ScaleLevel::of(1.0, "非常不满意", "very dissatisfied"),
            ],
        }
    }

    /// The other plant's five levels: 100 / 80 / 60 / 30 / 0 (middle level 一般).
    pub fn five_level_100() -> RatingScale {
        RatingScale {
            name: Self::FIVE_LEVEL_100.to_owned(),
            levels: vec![
                ScaleLevel::of(100.0, "非常满意", "very satisfied"),
                ScaleLevel::of(80.0, "满意", "satisfied"),
                ScaleLevel::of(60.0, "一般", "neutral"),
                ScaleLevel::of(30.0, "不满意", "dissatisfied"),
                ScaleLevel::of(0.0, "非常不满意", "very dissatisfied"),
            ],
        }
    }

    /// Built-in scale by name.
    pub fn builtin(name: &str) -> Option<RatingScale> {
        match name {
            Self::FIVE_LEVEL_10 => Some(Self::five_level_10()),
            Self::FIVE_LEVEL_100 => Some(Self::five_level_100()),
            _ => None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Levels, best first.
    pub fn levels(&self) -> &[ScaleLevel] {
        &self.levels
    }

    /// Points of the best level: the denominator of item satisfaction.
    pub fn top_score(&self) -> f64 {
        self.levels[0].value
    }

    /// The level an answer value stands for, if any.
    pub fn level(&self, value: f64) -> Option<&ScaleLevel> {
        self.levels.iter().find(|l| l.value == value)
    }

    /// True when the value is one of the top two levels (counts as satisfied for CSAT).
    pub fn is_top_two(&self, value: f64) -> bool {
        self.levels.iter().take(2).any(|l| l.value == value)
    }

    /// Checks an answer is one of this scale's values.
    pub fn check_answer(&self, field: impl Into<String>, value: f64) -> Result<f64, DomainError> {
        if self.level(value).is_some() {
            Ok(value)
        } else {
            let allowed: Vec<String> = self.levels.iter().map(|l| l.value.to_string()).collect();
            Err(DomainError::invalid(
                field,
                crate::reason!("errors.not_level_scale_allowed", value, name = self.name, allowed = allowed.join(", ")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lvl(v: f64) -> ScaleLevel {
        ScaleLevel::of(v, "级", "level")
    }

    #[test]
    fn seeds_five_level_scale() {
        let s = RatingScale::five_level_10();
        let values: Vec<f64> = s.levels().iter().map(|l| l.value).collect();
        assert_eq!(values, [10.0, 8.0, 6.0, 3.0, 1.0]);
        assert_eq!(s.top_score(), 10.0);
        assert_eq!(s.level(6.0).map(|l| l.label_zh.as_str()), Some("满足需要"));
        assert_eq!(s.level(1.0).map(|l| l.label_en.as_str()), Some("very dissatisfied"));
        assert!(s.is_top_two(8.0) && !s.is_top_two(6.0));
        assert!(s.check_answer("a", 7.0).is_err());
        // The built-ins pass their own validation.
        for s in [RatingScale::five_level_10(), RatingScale::five_level_100()] {
            assert_eq!(RatingScale::new(s.name(), s.levels().to_vec()).expect("valid"), s);
        }
        assert_eq!(RatingScale::five_level_100().top_score(), 100.0);
        assert_eq!(RatingScale::builtin("five_level_100"), Some(RatingScale::five_level_100()));
        assert_eq!(RatingScale::builtin("nope"), None);
    }

    #[test]
    fn custom_scales_are_validated_and_sorted() {
        let s = RatingScale::new("yes/no", vec![lvl(0.0), lvl(1.0)]).expect("valid");
        assert_eq!(s.top_score(), 1.0);
        let bad = |levels: Vec<ScaleLevel>| match RatingScale::new("x", levels) {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert_eq!(bad(vec![lvl(5.0)]), "levels");
        assert_eq!(bad(vec![lvl(5.0), lvl(3.0), lvl(5.0)]), "levels[2].value");
        assert_eq!(bad(vec![lvl(0.0), lvl(0.0)]), "levels[1].value");
        assert_eq!(bad(vec![lvl(0.0), lvl(-1.0)]), "levels[1].value");
        assert_eq!(bad(vec![lvl(2.0), lvl(f64::INFINITY)]), "levels[1].value");
        assert_eq!(bad(vec![lvl(2.0), ScaleLevel::of(1.0, " ", "x")]), "levels[1].label_zh");
        assert!(RatingScale::new(" ", vec![lvl(1.0), lvl(2.0)]).is_err());
    }

    #[test]
    fn deserialising_validates() {
        let ok: RatingScale =
            serde_json::from_str(r#"{"name":"three","levels":[{"value":1,"label_zh":"差","label_en":"poor"},{"value":3,"label_zh":"好","label_en":"good"}]}"#)
                .expect("valid");
        assert_eq!(ok.top_score(), 3.0);
        let bad = serde_json::from_str::<RatingScale>(
            r#"{"name":"one","levels":[{"value":1,"label_zh":"差","label_en":"poor"}]}"#,
        );
        assert!(bad.is_err());
    }
}
