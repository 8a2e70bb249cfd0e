//! The referral funnel: referred → screened → included → started → completed, with
//! not-included and ended-early broken down by reason, per team and month; and the teams and
//! therapists who refer and complete few citizens (the evaluation's first recommendation:
//! "målrettet opfølgning og sparring med de teams og terapeuter, der har svært ved at tage
//! løsningen i anvendelse").
//!
//! One [`ReferralFacts`] per referral, as the read model's referrals, screenings and courses
//! give it. A later stage implies the earlier ones: a course that started was included and
//! screened even if the screening was not recorded (courses created before referrals were
//! recorded), so every stage's count is at most the one before it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{median, EvidenceError};

/// The screening's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Inclusion {
    Included,
    /// `reason` is the municipality's reason key (`effect::screening`).
    NotIncluded {
        reason: String,
    },
}

/// How a started course ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Ending {
    Completed,
    /// `reason` is a key of [`crate::model::END_REASONS`] (`None` for a course ended before
    /// reasons were coded).
    EndedEarly {
        reason: Option<String>,
    },
}

/// What is known of one referral.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralFacts {
    pub team_id: String,
    /// The therapist the referral is attributed to: who screened it, else the course's
    /// responsible therapist.
    pub therapist_id: Option<String>,
    /// The referral's month, `YYYY-MM`.
    pub month: String,
    pub screened: bool,
    pub inclusion: Option<Inclusion>,
    pub started: bool,
    /// `None` while the course runs (or never started).
    pub ending: Option<Ending>,
}

/// Counts per stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCounts {
    pub referred: u32,
    pub screened: u32,
    pub included: u32,
    pub not_included: u32,
    pub started: u32,
    pub completed: u32,
    pub ended_early: u32,
}

impl StageCounts {
    fn add(&mut self, f: &ReferralFacts) {
        let completed = matches!(f.ending, Some(Ending::Completed));
        let ended_early = matches!(f.ending, Some(Ending::EndedEarly { .. }));
        let started = f.started || f.ending.is_some();
        let included = started || matches!(f.inclusion, Some(Inclusion::Included));
        let not_included = !included && matches!(f.inclusion, Some(Inclusion::NotIncluded { .. }));
        let screened = f.screened || included || not_included;
        self.referred += 1;
        self.screened += u32::from(screened);
        self.included += u32::from(included);
        self.not_included += u32::from(not_included);
        self.started += u32::from(started);
        self.completed += u32::from(completed);
        self.ended_early += u32::from(ended_early);
    }
}

/// One team's funnel in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMonth {
    pub team_id: String,
    pub month: String,
    pub counts: StageCounts,
}

/// One team's funnel over the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamCounts {
    pub team_id: String,
    pub counts: StageCounts,
}

/// All teams' funnel in one month (`YYYY-MM`), for the trend over months.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCounts {
    pub month: String,
    pub counts: StageCounts,
}

/// How many had a reason; `None` is "no reason recorded".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub reason: Option<String>,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub total: StageCounts,
    /// By team, then month.
    pub by_team_month: Vec<TeamMonth>,
    /// By team, all months.
    pub by_team: Vec<TeamCounts>,
    /// By month, all teams.
    pub by_month: Vec<MonthCounts>,
    /// Most frequent first, then by key.
    pub not_included_by_reason: Vec<ReasonCount>,
    pub ended_early_by_reason: Vec<ReasonCount>,
}

fn by_count(counts: BTreeMap<Option<String>, u32>) -> Vec<ReasonCount> {
    let mut v: Vec<ReasonCount> = counts
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    v
}

/// The funnel of `facts`.
pub fn funnel(facts: &[ReferralFacts]) -> Funnel {
    let mut total = StageCounts::default();
    let mut cells: BTreeMap<(&str, &str), StageCounts> = BTreeMap::new();
    let mut teams: BTreeMap<&str, StageCounts> = BTreeMap::new();
    let mut months: BTreeMap<&str, StageCounts> = BTreeMap::new();
    let mut not_included: BTreeMap<Option<String>, u32> = BTreeMap::new();
    let mut ended_early: BTreeMap<Option<String>, u32> = BTreeMap::new();
    for f in facts {
        total.add(f);
        cells
            .entry((f.team_id.as_str(), f.month.as_str()))
            .or_default()
            .add(f);
        teams.entry(f.team_id.as_str()).or_default().add(f);
        months.entry(f.month.as_str()).or_default().add(f);
        let started = f.started || f.ending.is_some();
        match (&f.inclusion, &f.ending) {
            (_, Some(Ending::EndedEarly { reason })) => {
                *ended_early.entry(reason.clone()).or_default() += 1;
            }
            (Some(Inclusion::NotIncluded { reason }), _) if !started => {
                *not_included.entry(Some(reason.clone())).or_default() += 1;
            }
            _ => {}
        }
    }
    Funnel {
        total,
        by_team_month: cells
            .into_iter()
            .map(|((team, month), counts)| TeamMonth {
                team_id: team.into(),
                month: month.into(),
                counts,
            })
            .collect(),
        by_team: teams
            .into_iter()
            .map(|(t, counts)| TeamCounts {
                team_id: t.into(),
                counts,
            })
            .collect(),
        by_month: months
            .into_iter()
            .map(|(m, counts)| MonthCounts {
                month: m.into(),
                counts,
            })
            .collect(),
        not_included_by_reason: by_count(not_included),
        ended_early_by_reason: by_count(ended_early),
    }
}

/// Who is compared: teams or therapists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Team,
    Therapist,
}

/// The default for [`few_recruiters`]: below half the median.
pub const DEFAULT_SHARE_OF_MEDIAN: f64 = 0.5;

/// One team's or therapist's numbers against their peers'.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recruitment {
    pub unit: Unit,
    pub id: String,
    pub referred: u32,
    pub completed: u32,
    pub median_referred: f64,
    pub median_completed: f64,
    /// Referred fewer than `share_of_median` × the median.
    pub refers_few: bool,
    /// Completed fewer than `share_of_median` × the median.
    pub completes_few: bool,
}

/// Which teams or therapists refer and complete few citizens.
///
/// **Rule.** Each team (or therapist) is compared with the median of the *others*: flagged when
/// its count is *below* `share_of_median` × that median (default ½). The others and not all,
/// because with few teams the ones who refer nobody would otherwise make the median 0 and
/// flag nobody (two teams of three referring nobody are exactly the ones to follow up). The median and not the
/// mean, because one large team (the seed's Haderslev had 167 of 207 courses) would otherwise
/// make every other team look few. `peers` lists the teams or therapists that should be there
/// (the roster's), so one who referred nobody is counted with 0 and flagged, not missing.
/// Referrals without a therapist are left out of the therapists' comparison. The result is
/// sorted with the flagged first, then by fewest completed, then by id. Empty with no one to
/// compare; nobody is flagged against a median of 0.
pub fn few_recruiters(
    facts: &[ReferralFacts],
    unit: Unit,
    peers: &[String],
    share_of_median: f64,
) -> Result<Vec<Recruitment>, EvidenceError> {
    if !(share_of_median.is_finite() && (0.0..=1.0).contains(&share_of_median)) {
        return Err(EvidenceError::NotAShare {
            field: "share_of_median",
            value: share_of_median.to_string(),
        });
    }
    let mut counts: BTreeMap<String, (u32, u32)> =
        peers.iter().map(|p| (p.clone(), (0, 0))).collect();
    for f in facts {
        let id = match unit {
            Unit::Team => Some(&f.team_id),
            Unit::Therapist => f.therapist_id.as_ref(),
        };
        if let Some(id) = id {
            let c = counts.entry(id.clone()).or_default();
            c.0 += 1;
            c.1 += u32::from(matches!(f.ending, Some(Ending::Completed)));
        }
    }
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    let all: Vec<(String, (u32, u32))> = counts.into_iter().collect();
    let mut out: Vec<Recruitment> = all
        .iter()
        .enumerate()
        .map(|(i, (id, (r, c)))| {
            // The others', or (alone) its own: nobody is few against themselves.
            let others = all
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != i || all.len() == 1)
                .map(|(_, (_, n))| *n);
            let referred: Vec<f64> = others.clone().map(|n| f64::from(n.0)).collect();
            let completed: Vec<f64> = others.map(|n| f64::from(n.1)).collect();
            let median_referred = median(&referred).unwrap_or(0.0);
            let median_completed = median(&completed).unwrap_or(0.0);
            Recruitment {
                unit,
                id: id.clone(),
                referred: *r,
                completed: *c,
                median_referred,
                median_completed,
                refers_few: f64::from(*r) < share_of_median * median_referred,
                completes_few: f64::from(*c) < share_of_median * median_completed,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        // `false` sorts first: the flagged.
        let unflagged = |x: &Recruitment| !(x.refers_few || x.completes_few);
        unflagged(a)
            .cmp(&unflagged(b))
            .then(a.completed.cmp(&b.completed))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(team: &str, therapist: Option<&str>, month: &str, stage: u8) -> ReferralFacts {
        // 0 referred, 1 screened, 2 not included, 3 included, 4 started, 5 completed, 6 ended early.
        ReferralFacts {
            team_id: team.into(),
            therapist_id: therapist.map(Into::into),
            month: month.into(),
            screened: stage >= 1,
            inclusion: match stage {
                2 => Some(Inclusion::NotIncluded {
                    reason: "declined".into(),
                }),
                3.. => Some(Inclusion::Included),
                _ => None,
            },
            started: stage >= 4,
            ending: match stage {
                5 => Some(Ending::Completed),
                6 => Some(Ending::EndedEarly {
                    reason: Some("ill".into()),
                }),
                _ => None,
            },
        }
    }

    #[test]
    fn stages_are_counted_per_team_and_month_with_reasons() {
        let facts = vec![
            fact("nord", Some("t1"), "2026-01", 0),
            fact("nord", Some("t1"), "2026-01", 1),
            fact("nord", Some("t1"), "2026-01", 2),
            fact("nord", Some("t1"), "2026-02", 5),
            fact("syd", Some("t2"), "2026-01", 6),
            fact("syd", Some("t2"), "2026-01", 4),
            fact("syd", None, "2026-02", 3),
        ];
        let f = funnel(&facts);
        assert_eq!(
            f.total,
            StageCounts {
                referred: 7,
                screened: 6,
                included: 4,
                not_included: 1,
                started: 3,
                completed: 1,
                ended_early: 1,
            }
        );
        assert_eq!(f.by_team_month.len(), 4);
        assert_eq!(f.by_team_month[0].team_id, "nord");
        assert_eq!(f.by_team_month[0].month, "2026-01");
        assert_eq!(f.by_team_month[0].counts.referred, 3);
        assert_eq!(f.by_team[1].counts.started, 2);
        let mut february = StageCounts::default();
        february.add(&facts[3]);
        february.add(&facts[6]);
        assert_eq!(
            f.by_month[1],
            MonthCounts {
                month: "2026-02".into(),
                counts: february
            }
        );
        assert_eq!(
            f.not_included_by_reason,
            [ReasonCount {
                reason: Some("declined".into()),
                count: 1
            }]
        );
        assert_eq!(f.ended_early_by_reason[0].reason.as_deref(), Some("ill"));
        assert_eq!(funnel(&[]).total, StageCounts::default());
    }

    #[test]
    fn a_later_stage_implies_the_earlier_ones() {
        // A course that ended with no screening or start recorded.
        let mut odd = fact("nord", None, "2026-03", 0);
        odd.ending = Some(Ending::Completed);
        let f = funnel(&[odd]);
        let c = f.total;
        assert_eq!(
            (c.referred, c.screened, c.included, c.started, c.completed),
            (1, 1, 1, 1, 1)
        );
        // A citizen not included at first and then started after all counts as included.
        let mut changed = fact("nord", None, "2026-03", 2);
        changed.started = true;
        let f = funnel(&[changed]);
        assert_eq!((f.total.included, f.total.not_included), (1, 0));
        assert!(f.not_included_by_reason.is_empty());
    }

    #[test]
    fn few_is_below_a_share_of_the_median_and_peers_without_referrals_count_as_zero() {
        let mut facts = Vec::new();
        for (therapist, referred, completed) in
            [("a", 10, 8), ("b", 8, 6), ("c", 6, 1), ("d", 2, 2)]
        {
            for i in 0..referred {
                let stage = if i < completed { 5 } else { 1 };
                facts.push(fact("nord", Some(therapist), "2026-01", stage));
            }
        }
        let peers = vec!["e".to_string()];
        let r = few_recruiters(&facts, Unit::Therapist, &peers, DEFAULT_SHARE_OF_MEDIAN).unwrap();
        // Referred 10, 8, 6, 2, 0; completed 8, 6, 1, 2, 0. Against the others' medians: e
        // (0, 0) against 7 and 4; d (2, 2) against 7 and 3.5 refers few; c (6, 1) against 5
        // and 4 completes few; b and a are not few.
        let ids: Vec<(&str, bool, bool)> = r
            .iter()
            .map(|x| (x.id.as_str(), x.refers_few, x.completes_few))
            .collect();
        assert_eq!(
            ids,
            [
                ("e", true, true),
                ("c", false, true),
                ("d", true, false),
                ("b", false, false),
                ("a", false, false)
            ]
        );
        assert_eq!((r[0].median_referred, r[0].median_completed), (7.0, 4.0));
        // Teams: one team, nobody below half of itself.
        let teams = few_recruiters(&facts, Unit::Team, &[], 0.5).unwrap();
        assert_eq!(teams.len(), 1);
        assert!(!teams[0].refers_few);
        assert!(few_recruiters(&[], Unit::Team, &[], 0.5)
            .unwrap()
            .is_empty());
        assert!(few_recruiters(&facts, Unit::Team, &[], 1.5).is_err());
        assert!(few_recruiters(&facts, Unit::Team, &[], f64::NAN).is_err());
    }
}
