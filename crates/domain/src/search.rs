//! Full-text search that works for Chinese (issue #17): the one tokeniser both database engines
//! index with, and the query it turns a search box's text into.
//!
//! Text is normalised (NFKC, so full-width `ＰＳ－５００` is `PS-500`, then lower case) and cut into
//! runs: letters, digits, and Chinese/Japanese/Korean characters; anything else separates. A
//! letter or digit run is one token. A CJK run of n characters gives n tokens: the two-character
//! piece starting at each position, and the last character alone, so every character position
//! starts exactly one token. A query for a CJK string of two or more characters is then the
//! phrase of its two-character pieces and finds exactly the texts containing it, whatever the
//! words around it; one character is a prefix query. Latin words match whole, the last one of a
//! query by prefix. Digit runs (phone numbers, serials) also index their suffixes, so a fragment
//! from the middle of a phone number is found.
//!
//! The database stores the tokens (SQLite FTS5, PostgreSQL `tsvector` built from a literal), so
//! neither engine's own parser or locale decides what matches: both see the same tokens.

use unicode_normalization::UnicodeNormalization;

use crate::DomainError;

/// Stored with every indexed document; `loopdesk search reindex` rebuilds older ones.
pub const TOKENIZER_VERSION: i64 = 1;
/// Only the start of a very long text is indexed (PostgreSQL keeps positions up to 16,383).
pub const MAX_INDEXED_CHARS: usize = 8_000;
/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most whitespace-separated terms in one query.
pub const MAX_TERMS: usize = 8;
/// Longer letter or digit runs are cut to this many characters, in documents and queries alike
/// (PostgreSQL refuses lexemes over 2 kB).
pub const MAX_TOKEN_CHARS: usize = 64;
/// Digit runs at least this long also index their suffixes…
const TAIL_RUN_MIN: usize = 4;
/// …up to this long (longer runs are not phone numbers or serials)…
const TAIL_RUN_MAX: usize = 32;
/// …of at least this many digits; a digits-only query this long also searches them.
pub const TAIL_MIN: usize = 3;

/// NFKC, then lower case.
pub fn normalize(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// Chinese, Japanese and Korean characters: written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3005..=0x3007            // 々 〆 〇
        | 0x3040..=0x30FF          // kana
        | 0x3100..=0x312F          // bopomofo
        | 0x3130..=0x318F          // hangul compatibility jamo
        | 0x3400..=0x4DBF          // CJK extension A
        | 0x4E00..=0x9FFF          // CJK unified ideographs
        | 0xAC00..=0xD7AF          // hangul syllables
        | 0xF900..=0xFAFF          // compatibility ideographs
        | 0x20000..=0x3FFFF) // extensions B and later
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Cjk,
    Letter,
    Digit,
    Separator,
}

fn class(c: char) -> Class {
    if is_cjk(c) {
        Class::Cjk
    } else if c.is_numeric() {
        Class::Digit
    } else if c.is_alphabetic() {
        Class::Letter
    } else {
        Class::Separator
    }
}

/// A run of one class of characters in normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Run {
    Word(String, Class),
    Cjk(Vec<char>),
}

fn runs(normalized: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    let mut cur_class = Class::Separator;
    let flush = |cur: &mut Vec<char>, cl: Class, out: &mut Vec<Run>| {
        if cur.is_empty() {
            return;
        }
        let chars = std::mem::take(cur);
        match cl {
            Class::Cjk => out.push(Run::Cjk(chars)),
            Class::Letter | Class::Digit => out.push(Run::Word(chars.into_iter().take(MAX_TOKEN_CHARS).collect(), cl)),
            Class::Separator => {}
        }
    };
    for c in normalized.chars() {
        let cl = class(c);
        if cl != cur_class {
            flush(&mut cur, cur_class, &mut out);
            cur_class = cl;
        }
        if cl != Class::Separator {
            cur.push(c);
        }
    }
    flush(&mut cur, cur_class, &mut out);
    out
}

/// The tokens of one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocTokens {
    /// In order; a token's position is its index (phrase queries need adjacency).
    pub grams: Vec<String>,
    /// Suffixes of digit runs, in no particular order.
    pub tails: Vec<String>,
}

/// Tokenises a document's text (at most [`MAX_INDEXED_CHARS`] of it).
pub fn document(text: &str) -> DocTokens {
    let normalized: String = normalize(text).chars().take(MAX_INDEXED_CHARS).collect();
    let mut out = DocTokens::default();
    for run in runs(&normalized) {
        match run {
            Run::Word(w, cl) => {
                let n = w.chars().count();
                if cl == Class::Digit && (TAIL_RUN_MIN..=TAIL_RUN_MAX).contains(&n) {
                    let chars: Vec<char> = w.chars().collect();
                    for i in 1..=n - TAIL_MIN {
                        out.tails.push(chars[i..].iter().collect());
                    }
                }
                out.grams.push(w);
            }
            Run::Cjk(cs) => {
                for i in 0..cs.len() {
                    out.grams.push(cs[i..(i + 2).min(cs.len())].iter().collect());
                }
            }
        }
    }
    out
}

/// One whitespace-separated part of a query: its tokens must appear one after the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The normalised text of the term, for highlighting.
    pub text: String,
    /// Consecutive tokens; the last matched as a prefix when `prefix_last`.
    pub pieces: Vec<String>,
    pub prefix_last: bool,
    /// A digits-only term of at least [`TAIL_MIN`] digits: also matches inside a longer digit run.
    pub digits: Option<String>,
}

/// A parsed query: every term must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
}

fn bad(reason: impl Into<String>) -> DomainError {
    DomainError::Invalid { field: "q".into(), reason: reason.into() }
}

/// Parses what was typed into a search box.
pub fn parse_query(q: &str) -> Result<Query, DomainError> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(bad(crate::reason!("errors.search_at_most_characters", MAX_QUERY_CHARS)));
    }
    let normalized = normalize(q);
    let mut terms = Vec::new();
    for chunk in normalized.split_whitespace() {
        let rs = runs(chunk);
        if rs.is_empty() {
            continue;
        }
        let mut pieces = Vec::new();
        let mut prefix_last = false;
        let last = rs.len() - 1;
        for (j, run) in rs.iter().enumerate() {
            match run {
                Run::Word(w, _) => {
                    pieces.push(w.clone());
                    prefix_last = j == last;
                }
                Run::Cjk(cs) if cs.len() == 1 => {
                    pieces.push(cs[0].to_string());
                    prefix_last = j == last;
                }
                Run::Cjk(cs) => {
                    for w in cs.windows(2) {
                        pieces.push(w.iter().collect());
                    }
                    // The document has the run's last character alone where the run ends; if the
                    // query's run is its last, the document's may go on.
                    if j != last {
                        pieces.push(cs[cs.len() - 1].to_string());
                    }
                    prefix_last = false;
                }
            }
        }
        let digits = match rs.as_slice() {
            [Run::Word(w, Class::Digit)] if w.chars().count() >= TAIL_MIN => Some(w.clone()),
            _ => None,
        };
        let text: String = chunk.chars().filter(|c| class(*c) != Class::Separator).collect();
        terms.push(Term { text, pieces, prefix_last, digits });
    }
    if terms.is_empty() {
        return Err(bad("errors.search_needs_at_least_one"));
    }
    if terms.len() > MAX_TERMS {
        return Err(bad(crate::reason!("errors.search_has_at_most_words", MAX_TERMS)));
    }
    Ok(Query { terms })
}

impl Term {
    fn matches_at(&self, grams: &[String], i: usize) -> bool {
        self.pieces.iter().enumerate().all(|(k, p)| match grams.get(i + k) {
            Some(g) if k + 1 == self.pieces.len() && self.prefix_last => g.starts_with(p.as_str()),
            Some(g) => g == p,
            None => false,
        })
    }

    /// What the databases compute, in memory: the reference the engines are tested against.
    pub fn matches(&self, doc: &DocTokens) -> bool {
        (0..doc.grams.len()).any(|i| self.matches_at(&doc.grams, i))
            || self.digits.as_ref().is_some_and(|d| doc.tails.iter().any(|t| t.starts_with(d.as_str())))
    }
}

impl Query {
    pub fn matches(&self, doc: &DocTokens) -> bool {
        self.terms.iter().all(|t| t.matches(doc))
    }
}

/// Part of a snippet; `hit` parts are shown highlighted (the caller escapes the text).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fragment {
    pub text: String,
    pub hit: bool,
}

/// About `width` characters of `text` around the first place a term of `q` occurs, with every
/// occurrence of a term inside marked. Separators are ignored when comparing, as in the index.
pub fn snippet(text: &str, q: &Query, width: usize) -> Vec<Fragment> {
    let chars: Vec<char> = text.chars().collect();
    // Token characters of the text, normalised one by one, with the index of their source char.
    let mut hay: Vec<(char, usize)> = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        for n in normalize(&c.to_string()).chars() {
            if class(n) != Class::Separator {
                hay.push((n, i));
            }
        }
    }
    let mut hits = vec![false; chars.len()];
    for t in &q.terms {
        let needle: Vec<char> = t.text.chars().collect();
        if needle.is_empty() || needle.len() > hay.len() {
            continue;
        }
        for s in 0..=hay.len() - needle.len() {
            if hay[s..s + needle.len()].iter().zip(&needle).all(|((h, _), n)| h == n) {
                hits[hay[s].1..=hay[s + needle.len() - 1].1].fill(true);
            }
        }
    }
    let first = hits.iter().position(|h| *h).unwrap_or(0);
    let start = first.saturating_sub(width / 4);
    let end = (start + width).min(chars.len());
    let mut out: Vec<Fragment> = Vec::new();
    if start > 0 {
        out.push(Fragment { text: "…".into(), hit: false });
    }
    for i in start..end {
        match out.last_mut() {
            Some(f) if f.hit == hits[i] && f.text != "…" => f.text.push(chars[i]),
            _ => out.push(Fragment { text: chars[i].to_string(), hit: hits[i] }),
        }
    }
    if end < chars.len() {
        out.push(Fragment { text: "…".into(), hit: false });
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn grams(t: &str) -> Vec<String> {
        document(t).grams
    }

    fn finds(text: &str, q: &str) -> bool {
        parse_query(q).map(|q| q.matches(&document(text))).unwrap_or(false)
    }

    #[test]
    fn a_chinese_run_gives_a_bigram_at_every_position_and_its_last_character_alone() {
        assert_eq!(grams("退款并"), ["退款", "款并", "并"]);
        assert_eq!(grams("客户要求退款"), ["客户", "户要", "要求", "求退", "退款", "款"]);
        assert_eq!(grams("单"), ["单"]);
    }

    #[test]
    fn latin_and_digit_runs_are_words_split_where_letters_meet_digits() {
        assert_eq!(grams("PS-500 型号D4, IATF16949"), ["ps", "500", "型号", "号", "d", "4", "iatf", "16949"]);
    }

    #[test]
    fn full_width_text_is_the_same_as_half_width() {
        assert_eq!(grams("ＰＳ－５００ ＩＡＴＦ"), grams("ps-500 iatf"));
    }

    #[test]
    fn a_two_character_word_is_found_inside_a_longer_run() {
        assert!(finds("客户要求退款并赔偿", "退款"));
        assert!(finds("不合格品处置单已审批", "处置单"));
        assert!(!finds("不合格品处置已审批", "处置单"));
        assert!(!finds("客户要求退货", "退款"));
    }

    #[test]
    fn one_character_is_a_prefix_query() {
        assert!(finds("不合格品处置单", "单"));
        assert!(finds("不合格品处置单", "置"));
        assert!(!finds("不合格品处置单", "退"));
    }

    #[test]
    fn the_last_latin_word_matches_by_prefix_the_others_whole() {
        assert!(finds("型号 PS-5001 漏水", "PS-500"));
        assert!(finds("型号 PS-500 漏水", "ps-500"));
        assert!(!finds("型号 PX-500 漏水", "PS-500"));
        assert!(!finds("型号 PSX-500", "PS-500"));
        assert!(finds("pump failure", "pum"));
        assert!(!finds("pump failure", "ump"));
    }

    #[test]
    fn a_phone_fragment_is_found_anywhere_in_the_number() {
        assert!(finds("联系电话 13800138000", "0013"));
        assert!(finds("联系电话 13800138000", "138001"));
        assert!(finds("联系电话 13800138000", "8000"));
        assert!(!finds("联系电话 13800138000", "0014"));
    }

    #[test]
    fn a_very_long_word_is_cut_the_same_way_in_documents_and_queries() {
        let long = "a".repeat(150);
        let d = document(&format!("前 {long} 后"));
        assert!(d.grams.iter().all(|g| g.chars().count() <= MAX_TOKEN_CHARS));
        assert!(finds(&format!("前 {long} 后"), &long));
        assert!(finds(&format!("前 {long} 后"), &format!("{long}后")));
    }

    #[test]
    fn every_term_must_match() {
        assert!(finds("PS-500 漏水，客户要求退款", "退款 ps-500"));
        assert!(!finds("PS-500 漏水", "退款 ps-500"));
    }

    #[test]
    fn mixed_runs_must_be_adjacent() {
        assert!(finds("型号PS500漏水", "号PS500漏"));
        assert!(!finds("型号PS500 其他 漏水", "PS500漏"));
    }

    #[test]
    fn a_query_without_letters_digits_or_characters_is_refused_naming_q() {
        for q in ["", "   ", "-- !!", "，。"] {
            assert!(matches!(parse_query(q), Err(DomainError::Invalid { field, .. }) if field == "q"), "{q:?}");
        }
        assert!(parse_query(&"退".repeat(MAX_QUERY_CHARS + 1)).is_err());
        assert!(parse_query("a b c d e f g h i").is_err());
    }

    #[test]
    fn a_snippet_marks_the_matching_passage() {
        let q = parse_query("退款").unwrap();
        let s = snippet("客户要求退款并赔偿", &q, 40);
        assert_eq!(
            s,
            [
                Fragment { text: "客户要求".into(), hit: false },
                Fragment { text: "退款".into(), hit: true },
                Fragment { text: "并赔偿".into(), hit: false },
            ]
        );
        let s = snippet("型号 ＰＳ－５００ 漏水", &parse_query("ps-500").unwrap(), 40);
        assert!(s.iter().any(|f| f.hit && f.text == "ＰＳ－５００"), "{s:?}");
    }

    const ALPHABET: &[char] =
        &['退', '款', '处', '置', '单', '合', '格', 'a', 'b', 'P', 'S', '1', '3', '0', '５', ' ', '-', '，', 'Ａ'];

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(ALPHABET), 0..40).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn tokens_are_never_empty_and_hold_no_separator(t in any::<String>()) {
            let d = document(&t);
            for g in d.grams.iter().chain(&d.tails) {
                prop_assert!(!g.is_empty());
                prop_assert!(g.chars().all(|c| class(c) != Class::Separator), "{g:?}");
            }
        }

        #[test]
        fn every_cjk_character_starts_exactly_one_token(t in "[退款处置单合格品]{0,30}") {
            prop_assert_eq!(document(&t).grams.len(), t.chars().count());
        }

        #[test]
        fn a_chinese_query_finds_exactly_the_texts_containing_it(t in text(), q in "[退款处置单合格]{2,4}") {
            let contains = normalize(&t).contains(&q);
            prop_assert_eq!(finds(&t, &q), contains, "text {:?} query {:?}", t, q);
        }

        #[test]
        fn every_substring_of_a_text_finds_it(t in text(), a in 0usize..40, len in 1usize..10) {
            let chars: Vec<char> = t.chars().collect();
            prop_assume!(a < chars.len());
            let q: String = chars[a..(a + len).min(chars.len())].iter().collect();
            // Latin words are matched whole except the last, so start the substring at a word's start.
            let starts_word = a == 0 || class(normalize(&chars[a - 1].to_string()).chars().next().unwrap_or(' ')) != class(normalize(&chars[a].to_string()).chars().next().unwrap_or(' '))
                || class(normalize(&chars[a].to_string()).chars().next().unwrap_or(' ')) == Class::Cjk;
            prop_assume!(starts_word);
            if let Ok(query) = parse_query(&q) {
                prop_assert!(query.matches(&document(&t)), "text {:?} query {:?} {:?}", t, q, query);
            }
        }

        #[test]
        fn a_digit_fragment_finds_the_number_it_is_part_of(n in "1[0-9]{10}", a in 0usize..8, len in 3usize..8) {
            let frag: String = n.chars().skip(a).take(len).collect();
            prop_assume!(frag.chars().count() >= TAIL_MIN);
            let text = format!("电话{n}，");
            prop_assert!(finds(&text, &frag));
        }

        #[test]
        fn parsing_any_text_names_q_when_it_refuses(q in any::<String>()) {
            crate::fuzz::refused_with_field(&parse_query(&q))?;
        }

        #[test]
        fn snippets_keep_the_text_in_order(t in text(), q in "[退款a1]{1,3}") {
            if let Ok(query) = parse_query(&q) {
                let s: String = snippet(&t, &query, 1000).into_iter().map(|f| f.text).collect();
                prop_assert_eq!(s, t);
            }
        }
    }
}
