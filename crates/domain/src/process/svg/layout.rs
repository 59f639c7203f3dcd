//! A layered (Sugiyama-style) layout of a small directed graph, for the process flowchart.
//!
//! 1. Cycle removal: a depth-first walk from the root marks the edges that close a cycle (an edge
//!    to a node still on the walk's stack) as back edges; the rest form an acyclic graph.
//! 2. Layering: each node's rank is the longest path to it from the root over forward edges, so
//!    every forward edge goes down at least one rank.
//! 3. A forward edge spanning several ranks gets one dummy node per rank it crosses, so it takes
//!    part in the ordering and is drawn around the nodes in between.
//! 4. Crossing reduction: barycentre sweeps down and up the ranks; the best ordering seen (the
//!    initial one included) is kept, so there are never more crossings than before the sweeps.
//! 5. Coordinates: each node is pulled towards the mean centre of its neighbours in the rank
//!    above, then below, keeping the order and the minimum gap.
//!
//! Back edges are not laid out with the others: they leave their node downwards, run out to a lane
//! of their own right of the drawing, and come back into the target from above.
//!
//! Everything is integer arithmetic and deterministic for a given input.

use std::collections::BTreeMap;

/// Height of a node box.
pub const BOX_H: i32 = 40;
/// Vertical gap between ranks (edge labels sit in it).
pub const GAP_Y: i32 = 78;
/// Minimum horizontal gap between two boxes of a rank.
pub const GAP_X: i32 = 36;
/// Gap next to a dummy node (an edge passing through a rank).
const GAP_DUMMY: i32 = 18;
/// Margin around the drawing.
pub const MARGIN: i32 = 20;
/// Distance between two back-edge lanes.
const LANE: i32 = 14;

/// The input: box widths (node `i` has width `widths[i]`), directed edges `(from, to)` (parallel
/// edges and self-loops allowed) and the root the layering starts from.
pub struct Graph {
    pub widths: Vec<i32>,
    pub edges: Vec<(usize, usize)>,
    pub root: usize,
}

/// How one input edge is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Index into `Graph::edges`.
    pub edge: usize,
    pub kind: RouteKind,
    /// The polyline, from the source port to the target port.
    pub points: Vec<(i32, i32)>,
    /// Where the edge's label is anchored (middle of the text).
    pub label_at: (i32, i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// Down the ranks.
    Forward,
    /// Up to a node of the same or an earlier rank, around the drawing on the right.
    Back,
    /// From a node to itself.
    SelfLoop,
}

#[derive(Debug, Clone)]
pub struct Layout {
    /// Rank of each node (read by the tests).
    #[allow(dead_code)]
    pub rank: Vec<usize>,
    /// Top-left corner of each node's box.
    pub pos: Vec<(i32, i32)>,
    pub routes: Vec<Route>,
    pub width: i32,
    pub height: i32,
    /// Crossings between adjacent ranks with the initial order, and after the sweeps (read by the
    /// tests).
    #[allow(dead_code)]
    pub crossings_before: usize,
    #[allow(dead_code)]
    pub crossings_after: usize,
}

struct Work {
    /// Width of every node, real ones first then dummies.
    width: Vec<i32>,
    real: usize,
    rank: Vec<usize>,
    /// Segments between adjacent ranks: (upper node, lower node).
    segs: Vec<(usize, usize)>,
    /// Per forward edge (deduplicated by endpoints): its chain of nodes, source to target.
    chains: BTreeMap<(usize, usize), Vec<usize>>,
}

/// Which edges close a cycle, found by a depth-first walk from `root` (then from every node not
/// yet seen, in index order).
pub fn back_edges(n: usize, edges: &[(usize, usize)], root: usize) -> Vec<bool> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(a, b)) in edges.iter().enumerate() {
        if a != b {
            out[a].push(i);
        }
    }
    // 0 unseen, 1 on the stack, 2 done.
    let mut colour = vec![0u8; n];
    let mut back = vec![false; edges.len()];
    let starts = std::iter::once(root).chain(0..n);
    for s in starts {
        if s >= n || colour[s] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
        colour[s] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&e) = out[v].get(*next) {
                *next += 1;
                let w = edges[e].1;
                match colour[w] {
                    0 => {
                        colour[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => back[e] = true,
                    _ => {}
                }
            } else {
                colour[v] = 2;
                stack.pop();
            }
        }
    }
    back
}

/// Longest-path ranks over the edges not marked `back` (self-loops ignored).
pub fn ranks(n: usize, edges: &[(usize, usize)], back: &[bool]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(a, b)) in edges.iter().enumerate() {
        if !back[i] && a != b {
            indeg[b] += 1;
            out[a].push(b);
        }
    }
    let mut rank = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).rev().collect();
    while let Some(v) = ready.pop() {
        for &w in &out[v] {
            rank[w] = rank[w].max(rank[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                ready.push(w);
            }
        }
    }
    rank
}

/// Crossings between segments of adjacent ranks for the given order (`at[v]` = place of `v` in
/// its rank).
pub fn crossings(segs: &[(usize, usize)], rank: &[usize], at: &[usize]) -> usize {
    let mut n = 0;
    for (i, &(a1, b1)) in segs.iter().enumerate() {
        for &(a2, b2) in &segs[i + 1..] {
            if rank[a1] != rank[a2] || a1 == a2 || b1 == b2 {
                continue;
            }
            if (at[a1] < at[a2]) != (at[b1] < at[b2]) {
                n += 1;
            }
        }
    }
    n
}

fn build(g: &Graph, back: &[bool]) -> Work {
    let real = g.widths.len();
    let rank = ranks(real, &g.edges, back);
    let mut w = Work { width: g.widths.clone(), real, rank, segs: Vec::new(), chains: BTreeMap::new() };
    for (i, &(a, b)) in g.edges.iter().enumerate() {
        if back[i] || a == b || w.chains.contains_key(&(a, b)) {
            continue;
        }
        let mut chain = vec![a];
        for r in w.rank[a] + 1..w.rank[b] {
            let d = w.width.len();
            w.width.push(0);
            w.rank.push(r);
            chain.push(d);
        }
        chain.push(b);
        for pair in chain.windows(2) {
            w.segs.push((pair[0], pair[1]));
        }
        w.chains.insert((a, b), chain);
    }
    w
}

fn places(layers: &[Vec<usize>], total: usize) -> Vec<usize> {
    let mut at = vec![0; total];
    for layer in layers {
        for (i, &v) in layer.iter().enumerate() {
            at[v] = i;
        }
    }
    at
}

/// Barycentre sweeps; returns the best layers and the crossings before and after.
fn order(w: &Work) -> (Vec<Vec<usize>>, usize, usize) {
    let total = w.width.len();
    let deepest = w.rank.iter().copied().max().unwrap_or(0);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); deepest + 1];
    for v in 0..total {
        layers[w.rank[v]].push(v);
    }
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
    for &(a, b) in &w.segs {
        down[a].push(b);
        up[b].push(a);
    }
    let before = crossings(&w.segs, &w.rank, &places(&layers, total));
    let (mut best, mut best_n) = (layers.clone(), before);
    for sweep in 0..12 {
        let downwards = sweep % 2 == 0;
        let rs: Vec<usize> = if downwards { (1..=deepest).collect() } else { (0..deepest).rev().collect() };
        for r in rs {
            let at = places(&layers, total);
            let mut keyed: Vec<(i64, usize, usize)> = layers[r]
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let ns = if downwards { &up[v] } else { &down[v] };
                    // Scaled by 1000 to sort fractions as integers; no neighbour keeps its place.
                    let key = if ns.is_empty() {
                        i as i64 * 1000
                    } else {
                        ns.iter().map(|&u| at[u] as i64 * 1000).sum::<i64>() / ns.len() as i64
                    };
                    (key, i, v)
                })
                .collect();
            keyed.sort();
            layers[r] = keyed.into_iter().map(|(_, _, v)| v).collect();
        }
        let n = crossings(&w.segs, &w.rank, &places(&layers, total));
        if n < best_n {
            best_n = n;
            best = layers.clone();
        }
        if best_n == 0 {
            break;
        }
    }
    (best, before, best_n)
}

/// Places a layer's nodes at the wanted left edges, in order, at least `gap` apart.
fn pack(layer: &[usize], want: &[i32], width: &[i32], real: usize, x: &mut [i32]) {
    let gap = |a: usize, b: usize| if a < real && b < real { GAP_X } else { GAP_DUMMY };
    let mut prev: Option<usize> = None;
    let mut shift = 0i64;
    for &v in layer {
        let min = prev.map_or(i32::MIN, |p| x[p] + width[p] + gap(p, v));
        x[v] = want[v].max(min);
        shift += i64::from(want[v] - x[v]);
        prev = Some(v);
    }
    // Pushing only moves nodes right; shift the whole layer back by the mean displacement.
    if !layer.is_empty() {
        let s = (shift / layer.len() as i64) as i32;
        for &v in layer {
            x[v] += s;
        }
    }
}

fn coordinates(w: &Work, layers: &[Vec<usize>]) -> Vec<i32> {
    let total = w.width.len();
    let mut x = vec![0i32; total];
    let centre = |x: &[i32], v: usize| x[v] + w.width[v] / 2;
    let none: Vec<i32> = vec![0; total];
    for layer in layers {
        pack(layer, &none, &w.width, w.real, &mut x);
    }
    // Centre every layer on the widest one before pulling.
    let right = |x: &[i32], l: &Vec<usize>| l.last().map_or(0, |&v| x[v] + w.width[v]);
    let widest = layers.iter().map(|l| right(&x, l)).max().unwrap_or(0);
    for l in layers {
        let off = (widest - right(&x, l)) / 2;
        for &v in l {
            x[v] += off;
        }
    }
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
    for &(a, b) in &w.segs {
        down[a].push(b);
        up[b].push(a);
    }
    for pass in 0..8 {
        let downwards = pass % 2 == 0;
        let rs: Vec<usize> =
            if downwards { (1..layers.len()).collect() } else { (0..layers.len().saturating_sub(1)).rev().collect() };
        for r in rs {
            let mut want = x.clone();
            for &v in &layers[r] {
                let ns = if downwards { &up[v] } else { &down[v] };
                if !ns.is_empty() {
                    let mean = ns.iter().map(|&u| centre(&x, u)).sum::<i32>() / ns.len() as i32;
                    want[v] = mean - w.width[v] / 2;
                }
            }
            pack(&layers[r], &want, &w.width, w.real, &mut x);
        }
    }
    let min = x.iter().copied().min().unwrap_or(0);
    for v in &mut x {
        *v += MARGIN - min;
    }
    x
}

fn top(rank: usize) -> i32 {
    MARGIN + rank as i32 * (BOX_H + GAP_Y)
}

/// Lays the graph out. `label_widths[i]` is the width of edge `i`'s label, used to keep the
/// back-edge labels inside the drawing.
pub fn layout(g: &Graph, label_widths: &[i32]) -> Layout {
    let n = g.widths.len();
    let back = back_edges(n, &g.edges, g.root);
    let w = build(g, &back);
    let (layers, before, after) = order(&w);
    let x = coordinates(&w, &layers);
    let pos: Vec<(i32, i32)> = (0..n).map(|v| (x[v], top(w.rank[v]))).collect();
    let mut right = (0..w.width.len()).map(|v| x[v] + w.width[v]).max().unwrap_or(MARGIN);

    // Ports: the forward edges leaving a node share its bottom side, those entering it its top
    // side, in the left-to-right order of the node at the other end.
    let at = places(&layers, w.width.len());
    let mut outs: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    let mut ins: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    for (&(a, b), chain) in &w.chains {
        outs.entry(a).or_default().push((at[chain[1]], b));
        ins.entry(b).or_default().push((at[chain[chain.len() - 2]], a));
    }
    let port = |list: &BTreeMap<usize, Vec<(usize, usize)>>, v: usize, other: usize| -> i32 {
        let mut l = list.get(&v).cloned().unwrap_or_default();
        l.sort();
        let k = l.iter().position(|&(_, o)| o == other).unwrap_or(0) as i32;
        // Keep the right-most 12 px for back edges.
        let span = w.width[v] - 12;
        x[v] + span * (k + 1) / (l.len() as i32 + 1)
    };

    let mut routes = Vec::new();
    let mut backs: Vec<(usize, usize, usize)> = Vec::new();
    for (i, &(a, b)) in g.edges.iter().enumerate() {
        if a == b {
            let (bx, by) = (x[a] + w.width[a], pos[a].1);
            routes.push(Route {
                edge: i,
                kind: RouteKind::SelfLoop,
                points: vec![(bx, by + 10), (bx + 22, by + 10), (bx + 22, by + BOX_H - 10), (bx, by + BOX_H - 10)],
                label_at: (bx + 26 + label_widths.get(i).copied().unwrap_or(0) / 2, by + BOX_H / 2 + 4),
            });
            right = right.max(bx + 30 + label_widths.get(i).copied().unwrap_or(0));
        } else if back[i] {
            backs.push((w.rank[a] - w.rank[b], i, a));
        } else {
            let chain = &w.chains[&(a, b)];
            let mut pts = vec![(port(&outs, a, b), pos[a].1 + BOX_H)];
            for &d in &chain[1..chain.len() - 1] {
                let (dx, dy) = (x[d], top(w.rank[d]));
                pts.push((dx, dy));
                pts.push((dx, dy + BOX_H));
            }
            pts.push((port(&ins, b, a), pos[b].1));
            // The label sits in the gap just below the source, on the first segment.
            let (p, q) = (pts[0], pts[1]);
            let t = GAP_Y * 2 / 5;
            let lx = p.0 + (q.0 - p.0) * t / (q.1 - p.1).max(1);
            routes.push(Route { edge: i, kind: RouteKind::Forward, points: pts, label_at: (lx, p.1 + t + 4) });
        }
    }
    // Back edges: shorter spans on inner lanes.
    backs.sort();
    let lanes_from = right + 16;
    let mut widest_label = 0;
    for (k, &(_, i, a)) in backs.iter().enumerate() {
        let b = g.edges[i].1;
        let lane = lanes_from + k as i32 * LANE;
        let below = pos[a].1 + BOX_H + 6 + (k as i32 % 4) * 4;
        let above = pos[b].1 - 6 - (k as i32 % 4) * 4;
        let (sx, tx) = (x[a] + w.width[a] - 6, x[b] + w.width[b] - 6);
        let points =
            vec![(sx, pos[a].1 + BOX_H), (sx, below), (lane, below), (lane, above), (tx, above), (tx, pos[b].1)];
        let lw = label_widths.get(i).copied().unwrap_or(0);
        widest_label = widest_label.max(lw);
        routes.push(Route { edge: i, kind: RouteKind::Back, points, label_at: (lane, (below + above) / 2) });
    }
    let lanes_end = if backs.is_empty() { right } else { lanes_from + (backs.len() as i32 - 1) * LANE };
    // Back-edge labels are written just right of their lane; keep room for them.
    for r in routes.iter_mut().filter(|r| r.kind == RouteKind::Back) {
        let lw = label_widths.get(r.edge).copied().unwrap_or(0);
        r.label_at.0 = lanes_end + 8 + lw / 2;
    }
    let width = lanes_end + if backs.is_empty() { 0 } else { 12 + widest_label } + MARGIN;
    let deepest = w.rank.iter().copied().max().unwrap_or(0);
    let height = top(deepest) + BOX_H + MARGIN;
    Layout { rank: w.rank[..n].to_vec(), pos, routes, width, height, crossings_before: before, crossings_after: after }
}

#[cfg(test)]
mod tests;
