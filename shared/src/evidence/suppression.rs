//! Small numbers and other municipalities: a figure computed from fewer than `min_citizens`
//! citizens (default [`DEFAULT_MIN_CITIZENS`]) is not shown, and neither is a figure from which
//! a hidden one could be worked out; the benchmark names the viewer's own municipality and
//! those that agreed to be named, and labels the others "Kommune B", "Kommune C", ….
//!
//! **Primary suppression.** A count of citizens is suppressed when it is below the minimum,
//! 0 included (literally: it is computed from fewer citizens than the minimum). Any other
//! figure (a mean, a share) is suppressed when the citizens it is computed from are fewer.
//!
//! **Complementary suppression.** Counts that add up to a total (a funnel's reasons, a team's
//! months) let a reader subtract: with the total and all siblings but one shown, the hidden
//! one is the difference. The rule, on every line of cells that add up to a shown total: the
//! hidden cells must be at least two *and* together at least the minimum, so neither one cell
//! nor a small group can be worked out; while they are not, the smallest shown cell of the
//! line (the first of equals) is hidden too. A table with row and column totals
//! ([`Suppression::grid`]) applies the rule to every row, every column and both lines of
//! totals, over and over until nothing changes. This is the common safe rule, not an optimal
//! one: it may hide more than strictly needed, never less on a single line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::effect::EffectEvidence;
use super::funnel::ReasonCount;

/// The default minimum number of citizens behind a shown figure.
pub const DEFAULT_MIN_CITIZENS: u32 = 10;

/// A figure as the API answers it: its value, or that it is hidden and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure<T> {
    Shown(T),
    /// Computed from fewer than `below` citizens, or hidden so that such a figure cannot be
    /// worked out from the others.
    Suppressed {
        below: u32,
    },
}

impl<T> Figure<T> {
    pub fn shown(&self) -> Option<&T> {
        match self {
            Figure::Shown(v) => Some(v),
            Figure::Suppressed { .. } => None,
        }
    }

    pub fn is_suppressed(&self) -> bool {
        matches!(self, Figure::Suppressed { .. })
    }
}

/// The suppression setting of a municipality (or of the server, for the benchmark).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub min_citizens: u32,
}

impl Default for Suppression {
    fn default() -> Self {
        Suppression {
            min_citizens: DEFAULT_MIN_CITIZENS,
        }
    }
}

/// What [`Suppression::protect_line`] did.
enum Line {
    Unchanged,
    HidMore,
    TotalMustHide,
}

impl Line {
    /// Hides the line's total where needed; whether anything changed.
    fn apply(self, total_hidden: &mut bool) -> bool {
        match self {
            Line::Unchanged => false,
            Line::HidMore => true,
            Line::TotalMustHide => {
                let was = *total_hidden;
                *total_hidden = true;
                !was
            }
        }
    }
}

/// A table of counts with its row, column and grand totals, suppressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    pub cells: Vec<Vec<Figure<u32>>>,
    pub row_totals: Vec<Figure<u32>>,
    pub column_totals: Vec<Figure<u32>>,
    pub total: Figure<u32>,
}

impl Suppression {
    fn hidden<T>(&self) -> Figure<T> {
        Figure::Suppressed {
            below: self.min_citizens,
        }
    }

    /// A figure computed from `citizens` citizens.
    pub fn figure<T>(&self, value: T, citizens: u32) -> Figure<T> {
        if citizens < self.min_citizens {
            self.hidden()
        } else {
            Figure::Shown(value)
        }
    }

    /// A count of citizens: its own number of citizens.
    pub fn count(&self, n: u32) -> Figure<u32> {
        self.figure(n, n)
    }

    /// Counts that add up to `total` (see the module's doc for the rule).
    pub fn siblings(&self, total: u32, cells: &[u32]) -> (Figure<u32>, Vec<Figure<u32>>) {
        let mut hidden: Vec<bool> = cells.iter().map(|c| *c < self.min_citizens).collect();
        let mut total_hidden = total < self.min_citizens;
        if let Line::TotalMustHide = self.protect_line(cells, &mut hidden, total_hidden) {
            total_hidden = true;
        }
        let figures = cells
            .iter()
            .zip(&hidden)
            .map(|(c, h)| if *h { self.hidden() } else { Figure::Shown(*c) })
            .collect();
        let total = if total_hidden {
            self.hidden()
        } else {
            Figure::Shown(total)
        };
        (total, figures)
    }

    /// A funnel's reasons (not included, or ended early) against their stage's count, which
    /// they add up to: both suppressed by the module's rule, the reasons in their order.
    pub fn reasons(&self, total: u32, reasons: &[ReasonCount]) -> (Figure<u32>, Vec<ReasonFigure>) {
        let counts: Vec<u32> = reasons.iter().map(|r| r.count).collect();
        let (total, figures) = self.siblings(total, &counts);
        let figures = reasons
            .iter()
            .zip(figures)
            .map(|(r, figure)| ReasonFigure {
                reason: r.reason.clone(),
                figure,
            })
            .collect();
        (total, figures)
    }

    /// One line's complementary suppression: hides the smallest shown cells until the line is
    /// safe; when every cell is hidden and it still is not (one cell, or a small sum), the
    /// line's total must go too.
    fn protect_line(&self, values: &[u32], hidden: &mut [bool], total_hidden: bool) -> Line {
        if total_hidden {
            // The line's equation has the total as an unknown too: nothing to subtract from.
            return Line::Unchanged;
        }
        let mut changed = Line::Unchanged;
        loop {
            let (count, sum) = values
                .iter()
                .zip(hidden.iter())
                .filter(|(_, h)| **h)
                .fold((0u32, 0u64), |(n, s), (v, _)| {
                    (n.saturating_add(1), s.saturating_add(u64::from(*v)))
                });
            let safe = count == 0 || (count >= 2 && sum >= u64::from(self.min_citizens));
            if safe {
                return changed;
            }
            if count as usize >= values.len() {
                return Line::TotalMustHide;
            }
            let smallest = values
                .iter()
                .enumerate()
                .filter(|(i, _)| !hidden[*i])
                .min_by_key(|(i, v)| (**v, *i))
                .map(|(i, _)| i);
            match smallest {
                Some(i) => {
                    hidden[i] = true;
                    changed = Line::HidMore;
                }
                None => return Line::TotalMustHide,
            }
        }
    }

    /// A table of counts (rows of equal length; a short row counts as zeros) with row,
    /// column and grand totals computed from the cells, suppressed by the module's rule.
    pub fn grid(&self, rows: &[Vec<u32>]) -> Grid {
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        let cells: Vec<Vec<u32>> = rows
            .iter()
            .map(|r| (0..width).map(|j| r.get(j).copied().unwrap_or(0)).collect())
            .collect();
        let row_totals: Vec<u32> = cells
            .iter()
            .map(|r| r.iter().fold(0u32, |a, v| a.saturating_add(*v)))
            .collect();
        let column_totals: Vec<u32> = (0..width)
            .map(|j| cells.iter().fold(0u32, |a, r| a.saturating_add(r[j])))
            .collect();
        let total = row_totals.iter().fold(0u32, |a, v| a.saturating_add(*v));
        let min = self.min_citizens;
        let mut hide: Vec<Vec<bool>> = cells
            .iter()
            .map(|r| r.iter().map(|v| *v < min).collect())
            .collect();
        let mut hide_rows: Vec<bool> = row_totals.iter().map(|v| *v < min).collect();
        let mut hide_cols: Vec<bool> = column_totals.iter().map(|v| *v < min).collect();
        let mut hide_total = total < min;
        // Each pass can only hide more, so this ends; the bound is the number of figures.
        let figures = cells.len() * width + cells.len() + width + 1;
        for _ in 0..=figures {
            let mut changed = false;
            for (i, r) in cells.iter().enumerate() {
                changed |= self
                    .protect_line(r, &mut hide[i], hide_rows[i])
                    .apply(&mut hide_rows[i]);
            }
            for j in 0..width {
                let col: Vec<u32> = cells.iter().map(|r| r[j]).collect();
                let mut h: Vec<bool> = hide.iter().map(|r| r[j]).collect();
                let line = self.protect_line(&col, &mut h, hide_cols[j]);
                for (i, v) in h.into_iter().enumerate() {
                    hide[i][j] = v;
                }
                changed |= line.apply(&mut hide_cols[j]);
            }
            changed |= self
                .protect_line(&row_totals, &mut hide_rows, hide_total)
                .apply(&mut hide_total);
            changed |= self
                .protect_line(&column_totals, &mut hide_cols, hide_total)
                .apply(&mut hide_total);
            if !changed {
                break;
            }
        }
        let fig = |v: u32, h: bool| if h { self.hidden() } else { Figure::Shown(v) };
        Grid {
            cells: cells
                .iter()
                .zip(&hide)
                .map(|(r, h)| r.iter().zip(h).map(|(v, h)| fig(*v, *h)).collect())
                .collect(),
            row_totals: row_totals
                .iter()
                .zip(&hide_rows)
                .map(|(v, h)| fig(*v, *h))
                .collect(),
            column_totals: column_totals
                .iter()
                .zip(&hide_cols)
                .map(|(v, h)| fig(*v, *h))
                .collect(),
            total: fig(total, hide_total),
        }
    }
}

/// The indicators compared across municipalities, each suppressed by the citizens it is
/// computed from. Shares are ratios (0.67 for 28 of 42). No total over municipalities is
/// shown beside them, so no suppressed figure can be worked out from a total and the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    pub citizens_through_courses: Figure<u32>,
    /// Of the citizens through courses, the share with a start and an end test.
    pub share_tested: Figure<f64>,
    /// Per physical test: improved or maintained, of those with start and end.
    pub tests_improved_or_maintained: Vec<TestFigure>,
    pub who5_improved_or_maintained: Figure<f64>,
    /// Per follow-up (days): the change in home-care time in per cent.
    pub care_time_change_percent: Vec<FollowUpFigure>,
    /// Sessions delivered of planned.
    pub adherence: Figure<f64>,
}

/// A reason's count, suppressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonFigure {
    /// `None` is "no reason recorded".
    pub reason: Option<String>,
    pub figure: Figure<u32>,
}

/// A figure of one test (catalogue key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestFigure {
    pub test: String,
    pub figure: Figure<f64>,
}

/// A figure at one care-time follow-up (days after the course).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUpFigure {
    pub offset_days: u32,
    pub figure: Figure<f64>,
}

/// A ratio shown only from enough citizens (a missing ratio is suppressed like a small one:
/// its denominator is 0).
fn share_figure(rule: &Suppression, ratio: Option<f64>, citizens: u32) -> Figure<f64> {
    match ratio {
        Some(r) => rule.figure(r, citizens),
        None => rule.hidden(),
    }
}

impl Suppression {
    /// The benchmark's indicators of one municipality's effect.
    pub fn indicators(&self, e: &EffectEvidence) -> Indicators {
        let c = &e.completeness;
        Indicators {
            citizens_through_courses: self.count(c.citizens),
            share_tested: share_figure(self, c.with_start_and_end_test.ratio, c.citizens),
            tests_improved_or_maintained: e
                .tests
                .iter()
                .map(|t| {
                    let s = &t.improved_or_maintained;
                    TestFigure {
                        test: t.test.clone(),
                        figure: share_figure(self, s.ratio, s.whole),
                    }
                })
                .collect(),
            who5_improved_or_maintained: share_figure(
                self,
                e.who5.improved_or_maintained.ratio,
                e.who5.improved_or_maintained.whole,
            ),
            care_time_change_percent: e
                .care_time
                .iter()
                .map(|c| FollowUpFigure {
                    offset_days: c.offset_days,
                    figure: share_figure(self, c.change_percent, c.n),
                })
                .collect(),
            adherence: share_figure(self, e.sessions.adherence, e.sessions.courses),
        }
    }
}

impl Suppression {
    /// Whether a figure over the quarters `asked` (a range of `history`) may be shown, given
    /// the citizens behind it in every quarter the server has (`history`, oldest first, from a
    /// start that does not depend on the question). The quarters are cut into fixed blocks,
    /// oldest first, each closed once it holds at least the minimum; a figure is shown only
    /// when the quarters asked hold each block's citizens all or none, and none of an
    /// unclosed last block. Every answer is then a sum of whole blocks, and so is the
    /// difference of any two: never fewer than the minimum (security.md F9). A quarter of few
    /// citizens joins its neighbours instead of hiding every period that includes it.
    pub fn shown_over_blocks(&self, history: &[u32], asked: std::ops::Range<usize>) -> bool {
        let min = u64::from(self.min_citizens.max(1));
        let (mut block, mut inside) = (0u64, 0u64);
        let mut any = false;
        for (q, n) in history.iter().enumerate() {
            let n = u64::from(*n);
            block += n;
            if asked.contains(&q) {
                inside += n;
            }
            if block >= min {
                if inside != 0 && inside != block {
                    return false;
                }
                any |= inside > 0;
                (block, inside) = (0, 0);
            }
        }
        // An unclosed last block: its citizens are too few to show on their own.
        inside == 0 && any
    }

    /// The benchmark's indicators of one municipality: `whole` is its effect over the quarters
    /// asked, `history` its effect in every quarter the server has, oldest first, and
    /// `asked` where the quarters asked lie in it. Each figure is shown only by
    /// [`Suppression::shown_over_blocks`] on the citizens behind it (and by the minimum).
    pub fn indicators_in_quarters(
        &self,
        whole: &EffectEvidence,
        history: &[EffectEvidence],
        asked: std::ops::Range<usize>,
    ) -> Indicators {
        let mut shown = self.indicators(whole);
        let blocked = |of: &dyn Fn(&EffectEvidence) -> u32| {
            let counts: Vec<u32> = history.iter().map(of).collect();
            !self.shown_over_blocks(&counts, asked.clone())
        };
        if blocked(&|e| e.completeness.citizens) {
            shown.citizens_through_courses = self.hidden();
            shown.share_tested = self.hidden();
        }
        for t in &mut shown.tests_improved_or_maintained {
            if blocked(&|e| {
                e.tests
                    .iter()
                    .find(|x| x.test == t.test)
                    .map_or(0, |x| x.improved_or_maintained.whole)
            }) {
                t.figure = self.hidden();
            }
        }
        if blocked(&|e| e.who5.improved_or_maintained.whole) {
            shown.who5_improved_or_maintained = self.hidden();
        }
        for c in &mut shown.care_time_change_percent {
            if blocked(&|e| {
                e.care_time
                    .iter()
                    .find(|x| x.offset_days == c.offset_days)
                    .map_or(0, |x| x.n)
            }) {
                c.figure = self.hidden();
            }
        }
        if blocked(&|e| e.sessions.courses) {
            shown.adherence = self.hidden();
        }
        shown
    }
}

/// One municipality's indicators as the server computed them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MunicipalityFigures<T> {
    pub municipality_id: String,
    pub name: String,
    /// The municipality agreed to be named to other municipalities.
    pub agreed_to_be_named: bool,
    pub figures: T,
}

/// A benchmark row as a viewer sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkRow<T> {
    /// The name, or "Kommune B" for an anonymised one.
    pub label: String,
    /// The viewer's own municipality.
    pub own: bool,
    pub named: bool,
    pub figures: T,
}

/// FNV-1a, 64 bits: a fixed, dependency-free hash for an order that is stable across releases
/// (std's hasher is not promised to be).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// "B", "C", … "Z", then "AA", "AB", … ("A" alone is left out so no one reads it as first).
fn letters(i: usize) -> String {
    if i < 25 {
        return char::from(b'A' + 1 + i as u8).to_string();
    }
    // Bijective base 26 (A = 1 … Z = 26), from 27 = "AA" on.
    let mut k = i - 25 + 27;
    let mut s = Vec::new();
    while k > 0 {
        k -= 1;
        s.push(char::from(b'A' + (k % 26) as u8));
        k /= 26;
    }
    s.into_iter().rev().collect()
}

/// The benchmark as `viewer` (a municipality id) sees it: its own row first and named, then
/// the municipalities that agreed to be named (by name), then the others anonymised.
///
/// `group` is the viewer's chosen comparison group (municipality ids); `None` compares with
/// every municipality on the server. The viewer is always included.
///
/// **A group holds only the named.** A group picks among the municipalities that agreed to be
/// named; with a group, the anonymous ones are left out, even those it lists. Were they kept,
/// a group of one anonymous municipality would be that municipality's row under a letter, and
/// trying groups in turn would match every letter to its name.
///
/// **Anonymous labels.** The others are ordered by a hash of (viewer, municipality id) and
/// lettered from "Kommune B" on, so the letters say nothing about names or size, stay the same
/// for a viewer from one request and period to the next while the group is unchanged, and
/// differ between viewers (two leaders cannot line their letters up). Figures are shown as
/// given: the caller suppresses them ([`Suppression::figure`]) before they reach here.
pub fn benchmark<T>(
    viewer: &str,
    municipalities: Vec<MunicipalityFigures<T>>,
    group: Option<&[String]>,
) -> Vec<BenchmarkRow<T>> {
    let mut own = Vec::new();
    let mut named = BTreeMap::new();
    let mut anonymous = BTreeMap::new();
    for m in municipalities {
        if m.municipality_id == viewer {
            own.push(BenchmarkRow {
                label: m.name,
                own: true,
                named: true,
                figures: m.figures,
            });
        } else if group.is_some_and(|g| !m.agreed_to_be_named || !g.contains(&m.municipality_id)) {
            continue;
        } else if m.agreed_to_be_named {
            named.insert((m.name.clone(), m.municipality_id.clone()), m);
        } else {
            let key = (
                fnv1a(&[viewer, &m.municipality_id]),
                m.municipality_id.clone(),
            );
            anonymous.insert(key, m);
        }
    }
    own.truncate(1);
    own.extend(named.into_values().map(|m| BenchmarkRow {
        label: m.name,
        own: false,
        named: true,
        figures: m.figures,
    }));
    own.extend(
        anonymous
            .into_values()
            .enumerate()
            .map(|(i, m)| BenchmarkRow {
                label: format!("Kommune {}", letters(i)),
                own: false,
                named: false,
                figures: m.figures,
            }),
    );
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` citizens, each with a 30-s chair stand judged improved if `tested`.
    fn quarter(n: usize, tested: bool) -> EffectEvidence {
        use crate::effect::care_time::FollowUpOffsets;
        use crate::effect::change::Judgement;
        use crate::evidence::effect::{effect_evidence, CitizenOutcome, TestJudgement};
        let cohort: Vec<CitizenOutcome> = (0..n)
            .map(|i| CitizenOutcome {
                citizen_id: format!("c{i}"),
                tests: if tested {
                    vec![TestJudgement {
                        test: "chair_stand_30s".into(),
                        judgement: Judgement::Improved,
                    }]
                } else {
                    vec![]
                },
                care_time: None,
                sessions_planned: 30,
                sessions_delivered: 20,
            })
            .collect();
        effect_evidence(&cohort, &FollowUpOffsets::default())
    }

    fn merged(quarters: &[(usize, bool)]) -> (EffectEvidence, Vec<EffectEvidence>) {
        let whole_tested = quarters.iter().filter(|q| q.1).map(|q| q.0).sum::<usize>();
        let whole_n = quarters.iter().map(|q| q.0).sum::<usize>();
        // The whole: the tested citizens first, then the untested, as one cohort.
        let mut whole = quarter(whole_n, false);
        let tested = quarter(whole_tested, true);
        whole.tests = tested.tests;
        (whole, quarters.iter().map(|q| quarter(q.0, q.1)).collect())
    }

    #[test]
    fn a_benchmark_answer_is_whole_blocks_of_enough_citizens() {
        let s = Suppression::default();
        // Blocks, oldest first: [3, 8] (11) | [12] | [0, 10] (10) | [4] unclosed.
        let history = [3, 8, 12, 0, 10, 4];
        let shown = |a: std::ops::Range<usize>| s.shown_over_blocks(&history, a);
        assert!(shown(0..2), "the first block");
        assert!(shown(0..3) && shown(2..3) && shown(0..5) && shown(2..5));
        assert!(
            shown(3..5) && shown(4..5),
            "a quarter of none joins either side"
        );
        assert!(
            !shown(1..3),
            "cuts the first block: 3 citizens apart from 0..3"
        );
        assert!(!shown(0..1) && !shown(1..2));
        assert!(!shown(0..6) && !shown(5..6), "the unclosed last block");
        assert!(!shown(3..4), "no one");
        // Of two shown answers, one within the other: what lies between is no one or enough.
        let sum = |a: std::ops::Range<usize>| history[a].iter().sum::<u32>();
        let ranges: Vec<std::ops::Range<usize>> = (0..6)
            .flat_map(|a| (a + 1..=6).map(move |b| a..b))
            .filter(|r| shown(r.clone()))
            .collect();
        for a in &ranges {
            for b in ranges
                .iter()
                .filter(|b| a.start <= b.start && b.end <= a.end)
            {
                let d = sum(a.clone()) - sum(b.clone());
                assert!(d == 0 || d >= 10, "{a:?} − {b:?} = {d}");
            }
        }
    }

    #[test]
    fn a_benchmark_figure_is_suppressed_by_its_own_citizens_blocks() {
        let s = Suppression::default();
        // 12 tested citizens, then 3 untested: the counts' blocks are [12] | [3] unclosed, the
        // test's [12] | [0]: the test's figure shows over both quarters, the counts do not.
        let (whole, history) = merged(&[(12, true), (3, false)]);
        let b = s.indicators_in_quarters(&whole, &history, 0..2);
        assert!(b.citizens_through_courses.is_suppressed());
        assert!(b.adherence.is_suppressed());
        assert_eq!(b.tests_improved_or_maintained[0].figure, Figure::Shown(1.0));
        // 3 then 12: one block of 15, shown over both quarters, not over the second alone.
        let (whole, history) = merged(&[(3, true), (12, true)]);
        let b = s.indicators_in_quarters(&whole, &history, 0..2);
        assert_eq!(b.citizens_through_courses, Figure::Shown(15));
        let (second, _) = merged(&[(12, true)]);
        let b = s.indicators_in_quarters(&second, &history, 1..2);
        assert!(b.citizens_through_courses.is_suppressed());
        assert!(b.tests_improved_or_maintained[0].figure.is_suppressed());
    }

    #[test]
    fn a_figure_from_fewer_citizens_than_the_minimum_is_suppressed() {
        let s = Suppression::default();
        assert_eq!(s.count(9), Figure::Suppressed { below: 10 });
        assert_eq!(s.count(0), Figure::Suppressed { below: 10 });
        assert_eq!(s.count(10), Figure::Shown(10));
        assert_eq!(s.figure(-21.81, 64), Figure::Shown(-21.81));
        assert_eq!(s.figure(41.0, 9).shown(), None);
        let five = Suppression { min_citizens: 5 };
        assert_eq!(five.count(5), Figure::Shown(5));
        let json = serde_json::to_string(&[s.count(3), s.count(12)]).unwrap();
        assert_eq!(json, r#"[{"suppressed":{"below":10}},{"shown":12}]"#);
    }

    #[test]
    fn one_hidden_sibling_takes_the_smallest_shown_one_with_it() {
        let s = Suppression::default();
        // Not included by reason: 4 declined, 30 other offer, 12 home unsuitable; total 46.
        let (total, cells) = s.siblings(46, &[4, 30, 12]);
        assert_eq!(total, Figure::Shown(46));
        assert_eq!(cells[0], Figure::Suppressed { below: 10 });
        assert_eq!(cells[1], Figure::Shown(30));
        assert_eq!(
            cells[2],
            Figure::Suppressed { below: 10 },
            "46 − 30 − 12 would give 4"
        );
        // The funnel's reasons, as the funnel gives them.
        let reasons = [
            ("other_offer", 30),
            ("home_unsuitable", 12),
            ("declined", 4),
        ]
        .map(|(r, count)| ReasonCount {
            reason: Some(r.into()),
            count,
        });
        let (total, figures) = s.reasons(46, &reasons);
        assert_eq!(total, Figure::Shown(46));
        let shown: Vec<Option<u32>> = figures.iter().map(|f| f.figure.shown().copied()).collect();
        assert_eq!(shown, [Some(30), None, None]);
        assert_eq!(figures[2].reason.as_deref(), Some("declined"));
        // Two hidden that add up to less than the minimum: a third goes.
        let (_, cells) = s.siblings(95, &[0, 5, 40, 50]);
        let hidden: Vec<bool> = cells.iter().map(Figure::is_suppressed).collect();
        assert_eq!(hidden, [true, true, true, false]);
        // Two hidden adding up to the minimum are safe.
        let (_, cells) = s.siblings(70, &[4, 6, 60]);
        assert_eq!(cells[2], Figure::Shown(60));
        // Nothing small: nothing hidden. A small total hides everything.
        let (_, cells) = s.siblings(50, &[20, 30]);
        assert!(cells.iter().all(|c| !c.is_suppressed()));
        let (total, cells) = s.siblings(8, &[3, 5]);
        assert!(total.is_suppressed() && cells.iter().all(Figure::is_suppressed));
        let (total, cells) = s.siblings(0, &[]);
        assert!(total.is_suppressed() && cells.is_empty());
    }

    #[test]
    fn a_grid_protects_rows_columns_and_totals_until_stable() {
        let s = Suppression::default();
        // Teams × months of citizens completed.
        let g = s.grid(&[vec![20, 3, 25], vec![30, 40, 35], vec![15, 22, 18]]);
        // Row 0: 3 hidden → 20 hidden with it; column 1: 3 hidden → 22 hidden with it;
        // column 0: 20 hidden alone → 15 too; row 2: 15 and 22 hidden (37) is safe.
        let hidden: Vec<Vec<bool>> = g
            .cells
            .iter()
            .map(|r| r.iter().map(Figure::is_suppressed).collect())
            .collect();
        assert_eq!(
            hidden,
            [
                vec![true, true, false],
                vec![false, false, false],
                vec![true, true, false]
            ]
        );
        // Every line has no hidden cell, or at least two adding up to the minimum.
        for line in hidden.iter() {
            assert!(line.iter().filter(|h| **h).count() != 1);
        }
        for j in 0..3 {
            assert!(hidden.iter().filter(|r| r[j]).count() != 1);
        }
        assert_eq!(g.total, Figure::Shown(208));
        assert!(g.row_totals.iter().all(|t| !t.is_suppressed()));
        // One row: its 20 hides with the 3, and then the column total 20 would give it away.
        let one = s.grid(&[vec![3, 20]]);
        assert!(one.cells[0].iter().all(Figure::is_suppressed));
        assert_eq!(one.row_totals[0], Figure::Shown(23));
        assert!(one.column_totals.iter().all(Figure::is_suppressed));
        let ragged = s.grid(&[vec![12], vec![11, 13]]);
        assert_eq!(ragged.cells[0][1], Figure::Suppressed { below: 10 });
        assert_eq!(s.grid(&[]).total, Figure::Suppressed { below: 10 });
    }

    fn m(id: &str, name: &str, agreed: bool) -> MunicipalityFigures<u32> {
        MunicipalityFigures {
            municipality_id: id.into(),
            name: name.into(),
            agreed_to_be_named: agreed,
            figures: 0,
        }
    }

    #[test]
    fn the_benchmark_names_the_viewer_and_the_willing_and_letters_the_rest() {
        let all = || {
            vec![
                m("id-aarhus", "Aarhus", false),
                m("id-thisted", "Thisted", true),
                m("id-haderslev", "Haderslev", false),
                m("id-viborg", "Viborg", false),
                m("id-kerteminde", "Kerteminde", true),
            ]
        };
        let rows = benchmark("id-haderslev", all(), None);
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(&labels[..3], ["Haderslev", "Kerteminde", "Thisted"]);
        assert!(rows[0].own && !rows[1].own);
        let mut anon: Vec<&str> = labels[3..].to_vec();
        anon.sort();
        assert_eq!(anon, ["Kommune B", "Kommune C"]);
        assert!(!labels.contains(&"Aarhus") && !labels.contains(&"Viborg"));
        // Stable from one request to the next, whatever order the rows come in.
        let mut reversed = all();
        reversed.reverse();
        assert_eq!(benchmark("id-haderslev", reversed, None), rows);
        // A comparison group keeps the viewer and the chosen who agreed to be named.
        let group = vec!["id-thisted".to_string()];
        let rows = benchmark("id-haderslev", all(), Some(&group));
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["Haderslev", "Thisted"]);
        // An anonymous municipality is never singled out by a group: a group of Viborg alone
        // would be Viborg's figures under a letter.
        for group in [
            vec!["id-viborg"],
            vec!["id-viborg", "id-aarhus", "id-thisted"],
        ] {
            let group: Vec<String> = group.into_iter().map(String::from).collect();
            let rows = benchmark("id-haderslev", all(), Some(&group));
            assert!(
                rows.iter().all(|r| r.named),
                "{:?}",
                rows.iter().map(|r| &r.label).collect::<Vec<_>>()
            );
        }
        // Many municipalities: distinct labels past Z.
        let many: Vec<_> = (0..98).map(|i| m(&format!("id-{i}"), "x", false)).collect();
        let rows = benchmark("id-0", many, None);
        let mut labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), 98);
        assert_eq!(letters(0), "B");
        assert_eq!(letters(24), "Z");
        assert_eq!(letters(25), "AA");
        assert_eq!(letters(26), "AB");
        assert_eq!(letters(25 + 26), "BA");
    }
}
