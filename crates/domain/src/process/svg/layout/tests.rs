use super::*;
use crate::process::{CASE_TYPES, default_definition};

fn boxes_overlap(a: (i32, i32, i32), b: (i32, i32, i32)) -> bool {
    let (ax, ay, aw) = a;
    let (bx, by, bw) = b;
    ax < bx + bw && bx < ax + aw && ay < by + BOX_H && by < ay + BOX_H
}

/// Every shipped definition in both languages: (layout, edges, widths).
#[allow(clippy::type_complexity)]
fn shipped() -> Vec<(String, Layout, Vec<(usize, usize)>, Vec<i32>)> {
    let mut out = vec![];
    for t in CASE_TYPES {
        let d = default_definition(t).unwrap();
        for zh in [true, false] {
            let (l, pairs) = crate::process::svg::lay_out(&d, zh);
            let widths = d
                .states
                .iter()
                .map(|s| (crate::process::svg::text_width(if zh { &s.zh } else { &s.en }, 12) + 24).max(96))
                .collect();
            out.push((format!("{t}/{}", if zh { "zh" } else { "en" }), l, pairs, widths));
        }
    }
    out
}

#[test]
fn no_two_states_overlap_and_all_fit_the_view_box() {
    for (name, l, _, w) in shipped() {
        for i in 0..w.len() {
            let (x, y) = l.pos[i];
            assert!(x >= MARGIN && y >= MARGIN, "{name}: state {i} starts inside the margin");
            assert!(x + w[i] <= l.width && y + BOX_H <= l.height, "{name}: state {i} leaves the view box");
            for j in i + 1..w.len() {
                assert!(
                    !boxes_overlap((x, y, w[i]), (l.pos[j].0, l.pos[j].1, w[j])),
                    "{name}: states {i} and {j} overlap"
                );
            }
        }
        for r in &l.routes {
            for &(px, py) in &r.points {
                assert!(
                    (0..=l.width).contains(&px) && (0..=l.height).contains(&py),
                    "{name}: an edge leaves the view box"
                );
            }
        }
    }
}

#[test]
fn forward_edges_go_down_the_ranks_and_back_edges_go_around() {
    for (name, l, pairs, w) in shipped() {
        let right_of_states = (0..w.len()).map(|i| l.pos[i].0 + w[i]).max().unwrap();
        for r in &l.routes {
            let (a, b) = pairs[r.edge];
            match r.kind {
                RouteKind::Forward => {
                    assert!(l.rank[b] > l.rank[a], "{name}: forward edge {a}->{b} does not go down");
                    // Monotonic: every segment goes down or sideways, never up.
                    assert!(r.points.windows(2).all(|p| p[1].1 >= p[0].1), "{name}: forward edge goes up");
                }
                RouteKind::Back => {
                    assert!(l.rank[b] <= l.rank[a], "{name}: back edge {a}->{b} points down");
                    let lane = r.points.iter().map(|p| p.0).max().unwrap();
                    assert!(lane > right_of_states, "{name}: back edge not routed right of every state");
                }
                RouteKind::SelfLoop => assert_eq!(a, b),
            }
        }
        // The initial state is alone on the first rank.
        assert_eq!(l.rank.iter().filter(|&&r| r == 0).count(), 1, "{name}");
    }
}

#[test]
fn sweeps_never_add_crossings() {
    for (name, l, _, _) in shipped() {
        assert!(l.crossings_after <= l.crossings_before, "{name}: {} > {}", l.crossings_after, l.crossings_before);
    }
}

#[test]
fn sweeps_untangle_a_crossed_graph() {
    // Root 0 → 1, 2; 1 → 4, 2 → 3: in index order the second rank is [1, 2] and the third [3, 4],
    // so the two edges cross; the barycentre sweep puts 4 under 1 and 3 under 2.
    let g = Graph { widths: vec![100; 5], edges: vec![(0, 1), (0, 2), (1, 4), (2, 3)], root: 0 };
    let l = layout(&g, &[0; 4]);
    assert_eq!(l.crossings_before, 1);
    assert_eq!(l.crossings_after, 0);
    assert_eq!(l.rank, vec![0, 1, 1, 2, 2]);
    assert!(l.pos[4].0 < l.pos[3].0, "4 follows 1 on the left");
}

#[test]
fn longest_path_layering_and_dummy_routes() {
    // 0 → 1 → 2 → 3 and a shortcut 0 → 3: 3 is on rank 3 (longest path), and the shortcut bends
    // through one point pair per rank it passes, clear of the states in between.
    let g = Graph { widths: vec![120; 4], edges: vec![(0, 1), (1, 2), (2, 3), (0, 3)], root: 0 };
    let l = layout(&g, &[0; 4]);
    assert_eq!(l.rank, vec![0, 1, 2, 3]);
    let short = l.routes.iter().find(|r| r.edge == 3).unwrap();
    assert_eq!(short.points.len(), 2 + 2 * 2);
    for &(px, py) in &short.points[1..short.points.len() - 1] {
        for v in 1..3 {
            let (x, y) = l.pos[v];
            assert!(!(px > x && px < x + 120 && py > y && py < y + BOX_H), "the shortcut runs through state {v}");
        }
    }
}

#[test]
fn cycles_are_broken_by_the_walk_from_the_root() {
    let edges = vec![(0, 1), (1, 2), (2, 1), (2, 0), (2, 2)];
    let back = back_edges(3, &edges, 0);
    assert_eq!(back, vec![false, false, true, true, false]);
    assert_eq!(ranks(3, &edges, &back), vec![0, 1, 2]);
    let l = layout(&Graph { widths: vec![100; 3], edges, root: 0 }, &[30; 5]);
    assert_eq!(l.routes.iter().filter(|r| r.kind == RouteKind::Back).count(), 2);
    assert_eq!(l.routes.iter().filter(|r| r.kind == RouteKind::SelfLoop).count(), 1);
    // Each back edge has its own lane.
    let lanes: Vec<i32> = l
        .routes
        .iter()
        .filter(|r| r.kind == RouteKind::Back)
        .map(|r| r.points.iter().map(|p| p.0).max().unwrap())
        .collect();
    assert_ne!(lanes[0], lanes[1]);
}

#[test]
fn layout_is_deterministic() {
    let d = default_definition("complaint").unwrap();
    assert_eq!(d.to_svg(Some("received"), true), d.to_svg(Some("received"), true));
}
