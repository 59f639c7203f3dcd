//! The flowchart: the definition's states laid out in ranks by a layered graph layout
//! (`layout`: longest-path layering from the initial state, barycentre crossing reduction,
//! coordinates pulled towards neighbours), each transition a labelled arrow; transitions back to
//! an earlier state are routed around the right of the chart. The SVG has a `viewBox`, so the
//! page scales it to its width.

mod layout;

use std::collections::BTreeMap;
use std::fmt::Write;

use super::ProcessDefinition;
use layout::{BOX_H, Graph};
pub use layout::{Layout, RouteKind};

const FONT: i32 = 12;
const LABEL_FONT: i32 = 11;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// An estimate of a text's width in pixels at `size`: CJK and full-width characters take the full
/// size, others a bit over half.
pub fn text_width(s: &str, size: i32) -> i32 {
    s.chars().map(|c| if (c as u32) >= 0x2E80 { size } else { size * 3 / 5 }).sum()
}

/// One arrow per (from, to) pair; the transitions sharing it are listed in one label.
struct Edges {
    pairs: Vec<(usize, usize)>,
    labels: Vec<String>,
}

fn edges(def: &ProcessDefinition, chinese: bool) -> Edges {
    let index: BTreeMap<&str, usize> = def.states.iter().enumerate().map(|(i, s)| (s.code.as_str(), i)).collect();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for t in &def.transitions {
        let Some(&b) = index.get(t.to.as_str()) else { continue };
        for f in &t.from {
            let Some(&a) = index.get(f.as_str()) else { continue };
            let name = if chinese { &t.zh } else { &t.en };
            match pairs.iter().position(|&p| p == (a, b)) {
                Some(k) => {
                    labels[k].push_str(" / ");
                    labels[k].push_str(name);
                }
                None => {
                    pairs.push((a, b));
                    labels.push(name.clone());
                }
            }
        }
    }
    Edges { pairs, labels }
}

/// The layout of the definition's chart (for tests and the editor's preview).
pub fn lay_out(def: &ProcessDefinition, chinese: bool) -> (Layout, Vec<(usize, usize)>) {
    let e = edges(def, chinese);
    let widths =
        def.states.iter().map(|s| (text_width(if chinese { &s.zh } else { &s.en }, FONT) + 24).max(96)).collect();
    let root = def.states.iter().position(|s| s.code == def.initial).unwrap_or(0);
    let label_widths: Vec<i32> = e.labels.iter().map(|l| text_width(l, LABEL_FONT)).collect();
    let g = Graph { widths, edges: e.pairs.clone(), root };
    (layout::layout(&g, &label_widths), e.pairs)
}

pub fn draw(def: &ProcessDefinition, current: Option<&str>, chinese: bool) -> String {
    let e = edges(def, chinese);
    let (l, _) = lay_out(def, chinese);
    let (width, height) = (l.width, l.height);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="flowchart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMidYMin meet" role="img"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#52606d"/></marker></defs>"##
    );
    for r in &l.routes {
        let label = &e.labels[r.edge];
        let d: String = r
            .points
            .iter()
            .enumerate()
            .map(|(i, (x, y))| format!("{}{x} {y}", if i == 0 { "M" } else { " L" }))
            .collect();
        let (class, colour, dash) = match r.kind {
            RouteKind::Forward => ("edge", "#9aa5b1", ""),
            RouteKind::Back => ("edge back", "#c2a15a", r#" stroke-dasharray="5 3""#),
            RouteKind::SelfLoop => ("edge loop", "#c2a15a", ""),
        };
        let (lx, ly) = r.label_at;
        let _ = write!(
            out,
            r##"<g class="{class}"><title>{t}</title><path d="{d}" fill="none" stroke="{colour}" stroke-width="1.2"{dash} marker-end="url(#arrow)"/><text x="{lx}" y="{ly}" font-size="{LABEL_FONT}" text-anchor="middle" fill="#3e4c59" stroke="#ffffff" stroke-width="3" paint-order="stroke">{t}</text></g>"##,
            t = esc(label)
        );
    }
    for (i, s) in def.states.iter().enumerate() {
        let (x, y) = l.pos[i];
        let w = (text_width(if chinese { &s.zh } else { &s.en }, FONT) + 24).max(96);
        let on = current == Some(s.code.as_str());
        let (fill, stroke) = match (on, s.terminal) {
            (true, _) => ("#0b6e4f", "#0b6e4f"),
            (false, true) => ("#eef2f6", "#7b8794"),
            (false, false) => ("#ffffff", "#52606d"),
        };
        let text = if on { "#ffffff" } else { "#1f2933" };
        let name = if chinese { &s.zh } else { &s.en };
        let _ = write!(
            out,
            r##"<g class="state{}" data-state="{}"><rect x="{x}" y="{y}" width="{w}" height="{BOX_H}" rx="6" fill="{fill}" stroke="{stroke}"{}/><text x="{}" y="{}" font-size="{FONT}" text-anchor="middle" fill="{text}">{}</text></g>"##,
            if on { " current" } else { "" },
            esc(&s.code),
            if s.terminal { r#" stroke-width="2""# } else { "" },
            x + w / 2,
            y + BOX_H / 2 + 4,
            esc(name)
        );
    }
    out.push_str("</svg>");
    out
}
