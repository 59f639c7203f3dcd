//! The flowchart: states laid out in layers by their distance from the initial state (terminal
//! states in a last row), each transition an arrow. Simple, deterministic, and readable for the
//! ten-or-so states a definition has.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use super::ProcessDefinition;

const BOX_W: i32 = 150;
const BOX_H: i32 = 40;
const GAP_X: i32 = 30;
const GAP_Y: i32 = 60;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

pub fn draw(def: &ProcessDefinition, current: Option<&str>, chinese: bool) -> String {
    // Layer = shortest distance from the initial state; terminal states go below everything.
    let mut layer: BTreeMap<&str, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([(def.initial.as_str(), 0usize)]);
    while let Some((s, d)) = queue.pop_front() {
        if layer.contains_key(s) {
            continue;
        }
        layer.insert(s, d);
        for t in def.from_state(s) {
            queue.push_back((t.to.as_str(), d + 1));
        }
    }
    let deepest = def
        .states
        .iter()
        .filter(|s| !s.terminal)
        .filter_map(|s| layer.get(s.code.as_str()))
        .max()
        .copied()
        .unwrap_or(0);
    let mut rows: Vec<Vec<&str>> = vec![Vec::new(); deepest + 2];
    for s in &def.states {
        let row = if s.terminal { deepest + 1 } else { layer.get(s.code.as_str()).copied().unwrap_or(deepest) };
        rows[row].push(&s.code);
    }
    rows.retain(|r| !r.is_empty());
    let widest = rows.iter().map(Vec::len).max().unwrap_or(1) as i32;
    let width = widest * (BOX_W + GAP_X) + GAP_X;
    let height = rows.len() as i32 * (BOX_H + GAP_Y) + GAP_Y / 2;
    let mut pos: BTreeMap<&str, (i32, i32)> = BTreeMap::new();
    for (r, row) in rows.iter().enumerate() {
        let offset = (width - row.len() as i32 * (BOX_W + GAP_X) + GAP_X) / 2;
        for (i, code) in row.iter().enumerate() {
            pos.insert(code, (offset + i as i32 * (BOX_W + GAP_X), GAP_Y / 2 + r as i32 * (BOX_H + GAP_Y)));
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="flowchart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#52606d"/></marker></defs>"##
    );
    for t in &def.transitions {
        let Some(&(tx, ty)) = pos.get(t.to.as_str()) else { continue };
        for f in &t.from {
            let Some(&(fx, fy)) = pos.get(f.as_str()) else { continue };
            let (x1, y1) = (fx + BOX_W / 2, if ty > fy { fy + BOX_H } else { fy });
            let (x2, y2) = (tx + BOX_W / 2, if ty > fy { ty } else { ty + BOX_H });
            let label = if chinese { &t.zh } else { &t.en };
            let _ = write!(
                out,
                r##"<g class="edge"><title>{}</title><line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#9aa5b1" stroke-width="1.2" marker-end="url(#arrow)"/></g>"##,
                esc(label)
            );
        }
    }
    for s in &def.states {
        let Some(&(x, y)) = pos.get(s.code.as_str()) else { continue };
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
            r##"<g class="state{}" data-state="{}"><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" stroke="{stroke}"/><text x="{}" y="{}" font-size="12" text-anchor="middle" fill="{text}">{}</text></g>"##,
            if on { " current" } else { "" },
            esc(&s.code),
            x + BOX_W / 2,
            y + BOX_H / 2 + 4,
            esc(name)
        );
    }
    out.push_str("</svg>");
    out
}
