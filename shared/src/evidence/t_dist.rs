//! Student's t distribution for whole degrees of freedom: the CDF and its inverse, for the
//! confidence interval of a mean paired difference ([`super::effect`]).
//!
//! Why our own and not a crate: the degrees of freedom here are always whole (n − 1), and for
//! whole ν the CDF has an exact finite sum (Abramowitz & Stegun 26.7.3 and 26.7.4), so ~40
//! lines give full double precision without special functions. `statrs` (well kept, but
//! nalgebra and rand by default and a recent toolchain) and `distrs` (small, one maintainer)
//! were the candidates; neither was worth a dependency for this.
//!
//! With θ = atan(t / √ν), A(t|ν) = P(|T| ≤ t) is
//! - ν odd: (2/π)·(θ + sin θ·(cos θ + ⅔cos³θ + … + (2·4⋯(ν−3))/(1·3⋯(ν−2))·cos^(ν−2)θ)),
//!   and 2θ/π for ν = 1;
//! - ν even: sin θ·(1 + ½cos²θ + (1·3)/(2·4)cos⁴θ + … + (1·3⋯(ν−3))/(2·4⋯(ν−2))·cos^(ν−2)θ).
//!
//! The quantile is found by bisection on the CDF, to the precision of an `f64`.

/// Above this many degrees of freedom the distribution is used at this many: the quantile then
/// differs from the normal's by less than 3·10⁻⁵ and the sum stays short.
const MAX_DF: u32 = 100_000;

/// P(T ≤ t) for Student's t with `df` degrees of freedom; `None` for `df` = 0 or a NaN `t`.
pub fn cdf(t: f64, df: u32) -> Option<f64> {
    if df == 0 || t.is_nan() {
        return None;
    }
    if t.is_infinite() {
        return Some(if t > 0.0 { 1.0 } else { 0.0 });
    }
    let nu = df.min(MAX_DF);
    let theta = (t.abs() / f64::from(nu).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    let c2 = c * c;
    let a = if nu % 2 == 1 {
        // Terms cos θ, ⅔cos³θ, (2·4)/(1·3·5)… up to cos^(ν−2)θ.
        let mut term = c;
        let mut sum = if nu > 1 { c } else { 0.0 };
        let mut k = 3;
        while k < nu {
            term *= c2 * f64::from(k - 1) / f64::from(k);
            sum += term;
            k += 2;
        }
        2.0 / std::f64::consts::PI * (theta + s * sum)
    } else {
        // Terms 1, ½cos²θ, (1·3)/(2·4)cos⁴θ… up to cos^(ν−2)θ.
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut k = 2;
        while k < nu {
            term *= c2 * f64::from(k - 1) / f64::from(k);
            sum += term;
            k += 2;
        }
        s * sum
    };
    let a = a.clamp(0.0, 1.0);
    Some(if t >= 0.0 {
        0.5 + a / 2.0
    } else {
        0.5 - a / 2.0
    })
}

/// The t with P(T ≤ t) = `p`: e.g. `quantile(0.975, 63)` ≈ 1.998 for a two-sided 95 %
/// interval from 64 pairs. `None` for `df` = 0 or `p` outside (0, 1).
pub fn quantile(p: f64, df: u32) -> Option<f64> {
    if df == 0 || !(p > 0.0 && p < 1.0) {
        return None;
    }
    if p == 0.5 {
        return Some(0.0);
    }
    // Symmetric: solve for the upper tail and mirror.
    let upper = p.max(1.0 - p);
    let mut hi = 1.0;
    while cdf(hi, df)? < upper {
        hi *= 2.0;
        if hi > 1e300 {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..2000 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if cdf(mid, df)? < upper {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = lo + (hi - lo) / 2.0;
    Some(if p > 0.5 { t } else { -t })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_an_independent_computation() {
        // Two-sided 95 % critical values, computed independently from the regularised incomplete
        // beta function at 30 digits (mpmath).
        for (df, t) in [
            (1, 12.706_204_736),
            (2, 4.302_652_730),
            (3, 3.182_446_305),
            (10, 2.228_138_852),
            (30, 2.042_272_456),
            (41, 2.019_540_970),
            (63, 1.998_340_543),
            (120, 1.979_930_405),
        ] {
            let q = quantile(0.975, df).unwrap();
            assert!((q - t).abs() < 1e-8, "df {df}: {q} vs {t}");
            assert!((quantile(0.025, df).unwrap() + t).abs() < 1e-8);
        }
        // Other levels: 99 % with 5 df, 90 % with 20 df.
        assert!((quantile(0.995, 5).unwrap() - 4.032_142_984).abs() < 1e-8);
        assert!((quantile(0.95, 20).unwrap() - 1.724_718_243).abs() < 1e-8);
        // Very many degrees of freedom: the normal's 1.959964.
        assert!((quantile(0.975, u32::MAX).unwrap() - 1.959_964).abs() < 1e-4);
    }

    #[test]
    fn the_cdf_is_exact_where_it_has_a_closed_form_and_refuses_nonsense() {
        // ν = 1 is Cauchy: P(T ≤ 1) = 3/4. ν = 2: P(T ≤ t) = ½ + t / (2√(2 + t²)).
        assert!((cdf(1.0, 1).unwrap() - 0.75).abs() < 1e-15);
        let t: f64 = 1.5;
        let exact = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
        assert!((cdf(t, 2).unwrap() - exact).abs() < 1e-15);
        assert_eq!(cdf(0.0, 7), Some(0.5));
        assert_eq!(cdf(f64::INFINITY, 3), Some(1.0));
        assert_eq!(cdf(f64::NEG_INFINITY, 3), Some(0.0));
        assert_eq!(cdf(1.0, 0), None);
        assert_eq!(cdf(f64::NAN, 3), None);
        assert_eq!(quantile(0.5, 9), Some(0.0));
        for p in [0.0, 1.0, -0.1, 1.1, f64::NAN] {
            assert_eq!(quantile(p, 9), None);
        }
        assert_eq!(quantile(0.975, 0), None);
    }
}
