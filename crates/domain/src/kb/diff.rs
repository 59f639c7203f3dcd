//! Differences between two revisions' texts, line by line (the longest common subsequence), for
//! the history page.

use serde::Serialize;

/// One line of a difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `same`, `added` or `removed`.
    pub op: &'static str,
    pub text: String,
}

/// Texts longer than this many lines are compared as "all removed, all added" (the table would
/// be too large; articles are far shorter).
const MAX_LINES: usize = 2_000;

/// The lines of `old` and `new`, each marked same, removed or added, in reading order.
pub fn lines(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = if old.is_empty() { vec![] } else { old.lines().collect() };
    let b: Vec<&str> = if new.is_empty() { vec![] } else { new.lines().collect() };
    let line = |op, t: &str| DiffLine { op, text: t.to_owned() };
    if a.len() > MAX_LINES || b.len() > MAX_LINES {
        return a.iter().map(|t| line("removed", t)).chain(b.iter().map(|t| line("added", t))).collect();
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n.max(m));
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(line("same", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(line("removed", a[i]));
            i += 1;
        } else {
            out.push(line("added", b[j]));
            j += 1;
        }
    }
    out
}

/// Whether a difference changes anything.
pub fn changed(d: &[DiffLine]) -> bool {
    d.iter().any(|l| l.op != "same")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_changed_line_is_removed_then_added() {
        let d = lines("检查电源\n更换保险丝\n通电测试", "检查电源\n更换电源板\n通电测试");
        let ops: Vec<(&str, &str)> = d.iter().map(|l| (l.op, l.text.as_str())).collect();
        assert_eq!(
            ops,
            vec![("same", "检查电源"), ("removed", "更换保险丝"), ("added", "更换电源板"), ("same", "通电测试")]
        );
        assert!(!changed(&lines("a\nb", "a\nb")));
        assert_eq!(lines("", "x").len(), 1);
    }

    proptest! {
        #[test]
        fn both_texts_can_be_read_back_from_the_difference(
            a in prop::collection::vec("[abc]{0,2}", 0..12),
            b in prop::collection::vec("[abc]{0,2}", 0..12),
        ) {
            let (old, new) = (a.join("\n"), b.join("\n"));
            let d = lines(&old, &new);
            let back_old: Vec<&str> = d.iter().filter(|l| l.op != "added").map(|l| l.text.as_str()).collect();
            let back_new: Vec<&str> = d.iter().filter(|l| l.op != "removed").map(|l| l.text.as_str()).collect();
            let lines_of = |s: &str| if s.is_empty() { vec![] } else { s.lines().map(str::to_owned).collect::<Vec<_>>() };
            prop_assert_eq!(back_old, lines_of(&old));
            prop_assert_eq!(back_new, lines_of(&new));
        }
    }
}
