//! Analytic Hierarchy Process: indicator weights from a pairwise comparison matrix.
//!
//! `matrix[i][j]` says how much more important indicator `i` is than `j` on Saaty's 1–9 scale
//! (reciprocals for the other direction). Weights are the principal eigenvector normalised to
//! sum 1; λmax is its eigenvalue; CI = (λmax − n)/(n − 1); CR = CI/RI(n). A CR of 0.10 or more
//! means the judgements contradict each other too much to be used.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Saaty's random consistency index for n = 1…10 (index n − 1).
pub const RANDOM_INDEX: [f64; 10] = [0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49];
/// Matrices larger than this have no RI in the table above, so their CR is undefined.
pub const MAX_ORDER: usize = RANDOM_INDEX.len();
/// A matrix is consistent when CR is strictly below this.
pub const CR_THRESHOLD: f64 = 0.10;
/// People type 1/3 as 0.3333, so a_ij·a_ji only has to be within this of 1.
pub const RECIPROCAL_TOLERANCE: f64 = 1e-3;
/// Relative slack on the Saaty bounds 1/9 and 9, so 0.111 or 0.1111 pass as 1/9.
pub const SAATY_TOLERANCE: f64 = 0.01;

const MAX_ITERATIONS: usize = 10_000;
const CONVERGENCE: f64 = 1e-13;

/// API input: `{"matrix": [[1,3,5],[0.3333,1,3],[0.2,0.3333,1]]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AhpRequest {
    pub matrix: Vec<Vec<f64>>,
}

/// API output. `weights` sum to 1 and follow the matrix's row order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AhpResult {
    pub weights: Vec<f64>,
    pub lambda_max: f64,
    pub ci: f64,
    pub cr: f64,
    pub consistent: bool,
}

/// Checks shape and entries; errors name the offending cell, e.g. `matrix[1][0]`.
///
/// Order of checks: non-empty, n ≤ 10, square, finite, positive, Saaty range, diagonal 1,
/// reciprocal. The reciprocal check names the lower-triangle cell because the upper triangle is
/// what people usually enter.
pub fn validate(matrix: &[Vec<f64>]) -> Result<(), DomainError> {
    let n = matrix.len();
    if n == 0 {
        return Err(DomainError::invalid("matrix", "errors.must_have_at_least_one"));
    }
    if n > MAX_ORDER {
        return Err(DomainError::invalid("matrix", crate::reason!("errors.has_rows_at_most_indicators", n, MAX_ORDER)));
    }
    for (i, row) in matrix.iter().enumerate() {
        if row.len() != n {
            return Err(DomainError::invalid(
                format!("matrix[{i}]"),
                crate::reason!("errors.has_entries_matrix_must_square", row = row.len(), n, n2 = n),
            ));
        }
    }
    let lo = 1.0 / 9.0 / (1.0 + SAATY_TOLERANCE);
    let hi = 9.0 * (1.0 + SAATY_TOLERANCE);
    for (i, row) in matrix.iter().enumerate() {
        for (j, &a) in row.iter().enumerate() {
            let cell = format!("matrix[{i}][{j}]");
            if !a.is_finite() {
                return Err(DomainError::invalid(cell, "errors.must_finite_number"));
            }
            if a <= 0.0 {
                return Err(DomainError::invalid(cell, crate::reason!("errors.must_positive_got", a)));
            }
            if !(lo..=hi).contains(&a) {
                return Err(DomainError::invalid(cell, crate::reason!("errors.must_lie_on_saaty_scale", a)));
            }
        }
    }
    for (i, row) in matrix.iter().enumerate() {
        if (row[i] - 1.0).abs() > RECIPROCAL_TOLERANCE {
            return Err(DomainError::invalid(
                format!("matrix[{i}][{i}]"),
                crate::reason!("errors.must_1_indicator_compared_with", row = row[i]),
            ));
        }
    }
    for (i, row) in matrix.iter().enumerate() {
        for (j, &a) in row.iter().enumerate().skip(i + 1) {
            let b = matrix[j][i];
            if (a * b - 1.0).abs() > RECIPROCAL_TOLERANCE {
                return Err(DomainError::invalid(
                    format!("matrix[{j}][{i}]"),
                    crate::reason!(
                        "errors.must_reciprocal_matrix_expected_got",
                        i,
                        j,
                        a,
                        a2 = format!("{:.4}", 1.0 / a),
                        b
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Validates and analyses the matrix. An inconsistent matrix still gets its result
/// (`consistent: false`) so the user can see how far off it is; use [`weights_or_reject`] where
/// the weights are about to be saved.
pub fn analyse(matrix: &[Vec<f64>]) -> Result<AhpResult, DomainError> {
    validate(matrix)?;
    let n = matrix.len();
    let weights = principal_eigenvector(matrix);
    // With Σw = 1, Σ_i (A·w)_i = λ·Σw = λ; summing all rows averages out round-off.
    let lambda_max: f64 = matrix.iter().map(|row| dot(row, &weights)).sum();
    let (ci, cr) = if n <= 2 {
        // Every 1×1 and 2×2 reciprocal matrix is consistent by definition (RI = 0 there).
        (0.0, 0.0)
    } else {
        // λmax ≥ n holds for exact reciprocal matrices; the 1e-3 tolerance can push it a hair below.
        let ci = ((lambda_max - n as f64) / (n as f64 - 1.0)).max(0.0);
        (ci, ci / RANDOM_INDEX[n - 1])
    };
    Ok(AhpResult { weights, lambda_max, ci, cr, consistent: cr < CR_THRESHOLD })
}

/// Like [`analyse`] but refuses an inconsistent matrix, giving CR in the reason.
pub fn weights_or_reject(matrix: &[Vec<f64>]) -> Result<AhpResult, DomainError> {
    let r = analyse(matrix)?;
    if r.consistent {
        Ok(r)
    } else {
        Err(DomainError::invalid(
            "matrix",
            crate::reason!(
                "errors.comparisons_are_inconsistent_cr_max",
                cr = format!("{:.3}", r.cr),
                lambda_max = format!("{:.3}", r.lambda_max),
                ci = format!("{:.3}", r.ci),
                CR_THRESHOLD = format!("{:.2}", CR_THRESHOLD)
            ),
        ))
    }
}

fn dot(row: &[f64], x: &[f64]) -> f64 {
    row.iter().zip(x).map(|(a, b)| a * b).sum()
}

/// Power iteration. A validated matrix is strictly positive, so by Perron–Frobenius its largest
/// eigenvalue is simple and real with a positive eigenvector, and the iteration converges from any
/// positive start. The row geometric means (the textbook approximation) make a close start.
fn principal_eigenvector(matrix: &[Vec<f64>]) -> Vec<f64> {
    let n = matrix.len();
    let mut x: Vec<f64> = matrix.iter().map(|row| (row.iter().map(|a| a.ln()).sum::<f64>() / n as f64).exp()).collect();
    normalise(&mut x);
    for _ in 0..MAX_ITERATIONS {
        let mut y: Vec<f64> = matrix.iter().map(|row| dot(row, &x)).collect();
        normalise(&mut y);
        let change = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        x = y;
        if change < CONVERGENCE {
            break;
        }
    }
    // Entries are within [1/9.09, 9.09] and n ≤ 10, so convergence is fast; should the cap be hit
    // the last iterate is still a positive vector summing to 1 and within round-off of the answer.
    x
}

fn normalise(x: &mut [f64]) {
    let s: f64 = x.iter().sum();
    for v in x.iter_mut() {
        *v /= s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOL: f64 = 1e-3;

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    /// Worked example. Row geometric means: ∛(1·3·5) = 2.466, ∛(⅓·1·3) = 1, ∛(⅕·⅓·1) = 0.4055;
    /// sum 3.872 → w ≈ (0.637, 0.258, 0.105), which power iteration only refines.
    /// A·w = (0.637 + 3·0.258 + 5·0.105, 0.3333·0.637 + 0.258 + 3·0.105, 0.2·0.637 + 0.3333·0.258 + 0.105)
    ///     = (1.936, 0.7847, 0.3184); Σ = λmax ≈ 3.0385 (row by row: 3.039, 3.038, 3.040).
    /// CI = (3.0385 − 3)/2 = 0.0192; CR = 0.0192/0.58 = 0.0332 < 0.10 → consistent.
    #[test]
    fn three_by_three_worked_example() {
        let m = vec![vec![1.0, 3.0, 5.0], vec![0.3333, 1.0, 3.0], vec![0.2, 0.3333, 1.0]];
        let r = analyse(&m).expect("valid");
        for (w, e) in r.weights.iter().zip([0.637, 0.258, 0.105]) {
            assert!((w - e).abs() < TOL, "{:?}", r.weights);
        }
        assert!((r.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((r.lambda_max - 3.039).abs() < TOL, "{}", r.lambda_max);
        assert!((r.ci - 0.019).abs() < TOL, "{}", r.ci);
        assert!((r.cr - 0.033).abs() < TOL, "{}", r.cr);
        assert!(r.consistent);
        assert_eq!(weights_or_reject(&m).expect("consistent"), r);
    }

    /// A perfectly consistent matrix a_ij = w_i/w_j with w = (4, 2, 1)/7: A·w = 3w exactly, so
    /// weights (0.5714, 0.2857, 0.1429), λmax = 3, CI = CR = 0.
    #[test]
    fn consistent_matrix_recovers_ratios() {
        let m = vec![vec![1.0, 2.0, 4.0], vec![0.5, 1.0, 2.0], vec![0.25, 0.5, 1.0]];
        let r = analyse(&m).expect("valid");
        for (w, e) in r.weights.iter().zip([4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0]) {
            assert!((w - e).abs() < 1e-9);
        }
        assert!((r.lambda_max - 3.0).abs() < 1e-9);
        assert!(r.cr.abs() < 1e-9);
    }

    /// Cyclic judgements (1 ≫ 2 ≫ 3 ≫ 1). The matrix is circulant, so w = (⅓, ⅓, ⅓) and
    /// λmax = 1 + 9 + 1/9 = 10.111; CI = (10.111 − 3)/2 = 3.556; CR = 3.556/0.58 = 6.13.
    #[test]
    fn inconsistent_matrix_is_reported_and_rejected() {
        let m = vec![vec![1.0, 9.0, 1.0 / 9.0], vec![1.0 / 9.0, 1.0, 9.0], vec![9.0, 1.0 / 9.0, 1.0]];
        let r = analyse(&m).expect("valid shape");
        assert!(!r.consistent);
        assert!((r.lambda_max - 10.111).abs() < TOL);
        assert!((r.ci - 3.556).abs() < TOL);
        assert!((r.cr - 6.130).abs() < TOL);
        for w in &r.weights {
            assert!((w - 1.0 / 3.0).abs() < 1e-9);
        }
        match weights_or_reject(&m) {
            Err(DomainError::Invalid { field, reason }) => {
                assert_eq!(field, "matrix");
                assert!(reason.contains("cr=6.130"), "{reason}");
            }
            other => panic!("expected rejection, got {other:?}"),
        }
    }

    #[test]
    fn one_and_two_by_two() {
        let r = analyse(&[vec![1.0]]).expect("1×1");
        assert_eq!(r, AhpResult { weights: vec![1.0], lambda_max: 1.0, ci: 0.0, cr: 0.0, consistent: true });
        // 2×2 [[1,3],[⅓,1]]: w = (0.75, 0.25), λmax = 1 + 3·⅓ = 2, always consistent.
        let r = analyse(&[vec![1.0, 3.0], vec![1.0 / 3.0, 1.0]]).expect("2×2");
        assert!((r.weights[0] - 0.75).abs() < 1e-9 && (r.weights[1] - 0.25).abs() < 1e-9);
        assert!((r.lambda_max - 2.0).abs() < 1e-9);
        assert_eq!((r.ci, r.cr, r.consistent), (0.0, 0.0, true));
        // Typed reciprocals (0.3333) give λmax a hair off 2, but CR is still 0 by definition.
        let r = weights_or_reject(&[vec![1.0, 3.0], vec![0.3333, 1.0]]).expect("2×2 typed");
        assert_eq!(r.cr, 0.0);
    }

    #[test]
    fn validation_names_the_cell() {
        let cases: Vec<(Vec<Vec<f64>>, &str)> = vec![
            (vec![], "matrix"),
            (vec![vec![1.0, 2.0], vec![0.5]], "matrix[1]"),
            (vec![vec![1.0, 2.0, 3.0], vec![0.5, 1.0, 1.0]], "matrix[0]"),
            (vec![vec![1.0, -2.0], vec![0.5, 1.0]], "matrix[0][1]"),
            (vec![vec![1.0, 0.0], vec![0.5, 1.0]], "matrix[0][1]"),
            (vec![vec![1.0, f64::NAN], vec![0.5, 1.0]], "matrix[0][1]"),
            (vec![vec![1.0, 12.0], vec![1.0 / 12.0, 1.0]], "matrix[0][1]"),
            (vec![vec![1.0, 2.0], vec![0.5, 2.0]], "matrix[1][1]"),
            (vec![vec![1.0, 3.0], vec![0.5, 1.0]], "matrix[1][0]"),
            (vec![vec![1.0; 11]; 11], "matrix"),
        ];
        for (m, field) in cases {
            assert_eq!(field_of(analyse(&m).expect_err("invalid")), field, "{m:?}");
        }
        // Tolerances: 0.3333 for ⅓ and 0.1111 for 1/9 are accepted; 9.5 is off the scale.
        assert!(analyse(&[vec![1.0, 9.0], vec![0.1111, 1.0]]).is_ok());
        assert!(analyse(&[vec![1.0, 9.5], vec![1.0 / 9.5, 1.0]]).is_err());
        // The largest matrix with an RI is accepted.
        let r = analyse(&vec![vec![1.0; 10]; 10]).expect("10×10");
        assert!(r.weights.iter().all(|w| (w - 0.1).abs() < 1e-12) && r.cr.abs() < 1e-9);
    }

    #[test]
    fn api_shape() {
        let req: AhpRequest =
            serde_json::from_str(r#"{"matrix": [[1,3,5],[0.3333,1,3],[0.2,0.3333,1]]}"#).expect("json");
        let out = serde_json::to_value(analyse(&req.matrix).expect("valid")).expect("json");
        for key in ["weights", "lambda_max", "ci", "cr", "consistent"] {
            assert!(out.get(key).is_some(), "{key} missing in {out}");
        }
        assert_eq!(out["consistent"], serde_json::Value::Bool(true));
    }

    proptest! {
        /// a_ij = w_i/w_j is perfectly consistent: the eigenvector is w itself and λmax = n.
        /// Weights in 1..9 keep every ratio on the Saaty scale.
        #[test]
        fn recovers_weights_of_consistent_matrices(w in prop::collection::vec(1.0f64..9.0, 1..=10)) {
            let m: Vec<Vec<f64>> = w.iter().map(|wi| w.iter().map(|wj| wi / wj).collect()).collect();
            let r = analyse(&m).expect("consistent by construction");
            let total: f64 = w.iter().sum();
            for (got, wi) in r.weights.iter().zip(&w) {
                prop_assert!((got - wi / total).abs() < 1e-9, "{:?} vs {:?}", r.weights, w);
            }
            prop_assert!((r.lambda_max - w.len() as f64).abs() < 1e-9);
            prop_assert!(r.cr.abs() < 1e-9);
            prop_assert!(r.consistent);
        }

        /// Random Saaty judgements in the upper triangle with exact reciprocals below: always valid,
        /// weights a probability vector, λmax ≥ n (up to round-off), CR ≥ 0.
        #[test]
        fn random_reciprocal_matrices_are_analysed(
            n in 1usize..=10,
            picks in prop::collection::vec(0usize..17, 100),
        ) {
            const SAATY: [f64; 17] = [
                1.0 / 9.0, 1.0 / 8.0, 1.0 / 7.0, 1.0 / 6.0, 1.0 / 5.0, 1.0 / 4.0, 1.0 / 3.0, 0.5, 1.0,
                2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0,
            ];
            // Upper cell (i, j) takes pick i·10 + j; the lower cell is its exact reciprocal.
            let m: Vec<Vec<f64>> = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| match i.cmp(&j) {
                            std::cmp::Ordering::Equal => 1.0,
                            std::cmp::Ordering::Less => SAATY[picks[i * 10 + j]],
                            std::cmp::Ordering::Greater => 1.0 / SAATY[picks[j * 10 + i]],
                        })
                        .collect()
                })
                .collect();
            let r = analyse(&m).expect("valid by construction");
            prop_assert!((r.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            prop_assert!(r.weights.iter().all(|w| *w > 0.0));
            prop_assert!(r.lambda_max >= n as f64 - 1e-9);
            prop_assert!(r.cr >= 0.0 && r.cr.is_finite());
            prop_assert_eq!(r.consistent, r.cr < CR_THRESHOLD);
        }

        /// Square matrices of arbitrary positive reals, mirrored to be reciprocal and then optionally
        /// nudged: whatever passes validation yields finite, well-formed results.
        #[test]
        fn square_matrices_never_panic(
            n in 1usize..=10,
            cells in prop::collection::vec(0.05f64..12.0, 100),
            nudge in prop::option::of((0usize..100, 0.5f64..2.0)),
        ) {
            let mut m: Vec<Vec<f64>> = (0..n)
                .map(|i| (0..n).map(|j| if i == j { 1.0 } else if i < j { cells[i * 10 + j] } else { 1.0 / cells[j * 10 + i] }).collect())
                .collect();
            if let Some((k, f)) = nudge {
                let (i, j) = (k / 10 % n, k % 10 % n);
                m[i][j] *= f;
            }
            if let Ok(r) = analyse(&m) {
                prop_assert!((r.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                prop_assert!(r.lambda_max.is_finite() && r.cr.is_finite() && r.cr >= 0.0);
            }
        }

        /// Arbitrary finite input, ragged or not, never panics: it is analysed or refused.
        #[test]
        fn analyse_never_panics(m in prop::collection::vec(
            prop::collection::vec(prop_oneof![-1e6f64..1e6, 0.1f64..10.0, Just(1.0)], 0..12), 0..12)
        ) {
            if let Ok(r) = analyse(&m) {
                prop_assert_eq!(r.weights.len(), m.len());
                prop_assert!(r.lambda_max.is_finite() && r.cr.is_finite());
            }
        }
    }
}
