//! The municipality's effect settings (issue #11: "as data the municipality may override"):
//! its own meaningful-change values, care-time follow-up offsets, inclusion criteria and
//! reasons for not including, and a default test plan for new courses.
//!
//! [`StoredSettings`] is what the municipality's library document holds (`effect_settings`,
//! written only by `municipal::set_effect_settings`); every field may be missing and then the
//! shipped value applies. [`EffectSettings::effective`] is the one resolution both the device
//! and the server use: shipped defaults overridden field by field.
//!
//! Criteria and reasons are an overlay keyed by their stable key: a stored entry replaces the
//! shipped one with that key (its text, whether retired, its place), a new key adds one. A key
//! is never removed, only retired, so a screening that names it still reads.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::care_time::FollowUpOffsets;
use super::change::{default_changes, override_change, ChangeTable};
use super::plan::TestPlan;
use super::screening::{default_criteria, default_not_included_reasons, Labelled};
use super::EffectError;
use crate::assessment::kind_of;
use crate::model::Invalid;

/// Follow-up offsets the municipality may choose: 1–4 of them, each 1 day – 3 years.
pub const MAX_OFFSETS: usize = 4;
pub const MAX_OFFSET_DAYS: u32 = 1095;

/// Prefix of an overridden value's source as the summary prints it.
pub const MUNICIPAL_SOURCE_PREFIX: &str = "Kommunens værdi: ";

/// A municipality's own meaningful change for one test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ChangeOverride {
    pub value: f64,
    /// Where the municipality has the value from (a study, its own decision).
    pub source: String,
}

/// A criterion or a reason as the municipality keeps it (its key is the map key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct StoredLabel {
    pub da: String,
    pub en: String,
    pub retired: bool,
    /// Place in the list, ascending (a number, so two devices adding concurrently both keep
    /// theirs without renumbering the others).
    pub position: f64,
}

/// The `effect_settings` map of a municipality's library document.
///
/// Each field merges on its own: two devices overriding different tests, or adding different
/// criteria, both keep theirs. The follow-up offsets are one string (`"77,365"`), a single
/// register, because a list edited on two devices could merge into an interleaving neither
/// wrote (e.g. not increasing).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct StoredSettings {
    /// Test key → the municipality's value.
    #[autosurgeon(missing = "Default::default")]
    pub changes: BTreeMap<String, ChangeOverride>,
    /// `None`: the shipped offsets.
    #[autosurgeon(missing = "Default::default")]
    pub follow_up_offsets: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub criteria: BTreeMap<String, StoredLabel>,
    #[autosurgeon(missing = "Default::default")]
    pub reasons: BTreeMap<String, StoredLabel>,
    /// `None`: no municipal default; new courses use the template's or the shipped plan.
    #[autosurgeon(missing = "Default::default")]
    pub default_test_plan: Option<TestPlan>,
}

/// The settings in force: what every rule that uses them is given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectSettings {
    /// Shipped values with the municipality's overrides; an overridden source starts with
    /// [`MUNICIPAL_SOURCE_PREFIX`].
    pub changes: ChangeTable,
    pub follow_up_offsets: FollowUpOffsets,
    /// In order, retired ones included (they are marked): filter with [`EffectSettings::active_criteria`]
    /// for a new screening, look up any for an old one.
    pub criteria: Vec<Labelled>,
    pub not_included_reasons: Vec<Labelled>,
    pub default_test_plan: Option<TestPlan>,
}

impl Default for EffectSettings {
    fn default() -> Self {
        EffectSettings::effective(None)
    }
}

fn invalid(field: &str, problem: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Parses stored offsets (`"77,365"`), checking them: 1–4 whole days, each 1–1095, strictly
/// increasing.
pub fn parse_offsets(s: &str) -> Result<FollowUpOffsets, Invalid> {
    let days = s
        .split(',')
        .map(|d| d.trim().parse::<u32>())
        .collect::<Result<Vec<u32>, _>>()
        .map_err(|_| invalid("follow_up_offsets", format!("`{s}` is not a list of days")))?;
    let offsets = FollowUpOffsets(days);
    check_offsets(&offsets)?;
    Ok(offsets)
}

/// Offsets as stored.
pub fn format_offsets(o: &FollowUpOffsets) -> String {
    o.0.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

pub fn check_offsets(o: &FollowUpOffsets) -> Result<(), Invalid> {
    let field = "follow_up_offsets";
    if o.0.is_empty() || o.0.len() > MAX_OFFSETS {
        return Err(invalid(field, format!("needs 1–{MAX_OFFSETS} follow-ups")));
    }
    if let Some(d) = o.0.iter().find(|d| !(1..=MAX_OFFSET_DAYS).contains(*d)) {
        return Err(invalid(
            field,
            format!("{d} days: a follow-up must be 1–{MAX_OFFSET_DAYS} days after the course"),
        ));
    }
    if o.0.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid(
            field,
            "follow-ups must be in increasing order, each once",
        ));
    }
    Ok(())
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), Invalid> {
    if s.trim().is_empty() || s.chars().count() > max || s.contains('\n') {
        return Err(invalid(
            field,
            format!("must be 1–{max} characters on one line"),
        ));
    }
    Ok(())
}

/// A criterion's or reason's key: 1–60 of `a-z`, `0-9` and `_`.
pub fn check_key(field: &str, key: &str) -> Result<(), Invalid> {
    if key.is_empty()
        || key.len() > 60
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(invalid(
            field,
            format!("`{key}` must be 1–60 of a–z, 0–9 and _"),
        ));
    }
    Ok(())
}

/// A fresh key for a criterion or reason the municipality adds: its Danish text folded, and a
/// random suffix so two devices adding the same text offline get two entries.
pub fn new_key(text: &str) -> String {
    let folded = crate::library::search::fold(text);
    let mut slug = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("{}_{suffix}", slug.trim_end_matches('_'))
        .trim_start_matches('_')
        .to_string()
}

impl StoredSettings {
    /// Each stored entry on its own (what admission checks: anything two valid edits can merge
    /// into passes). Rules over the whole list are in [`StoredSettings::check_whole`].
    pub fn validate(&self) -> Result<(), Invalid> {
        for (test, c) in &self.changes {
            if kind_of(test).is_none() {
                return Err(invalid(
                    "effect_settings.changes",
                    EffectError::UnknownTest(test.clone()).to_string(),
                ));
            }
            if !(c.value.is_finite() && c.value > 0.0) {
                return Err(invalid(
                    "effect_settings.changes",
                    EffectError::BadMeaningfulChange(c.value.to_string()).to_string(),
                ));
            }
            check_text("effect_settings.changes.source", &c.source, 300)?;
        }
        if let Some(o) = &self.follow_up_offsets {
            parse_offsets(o)?;
        }
        for (field, list) in [
            ("effect_settings.criteria", &self.criteria),
            ("effect_settings.reasons", &self.reasons),
        ] {
            for (key, l) in list {
                check_key(field, key)?;
                check_text(field, &l.da, 160)?;
                check_text(field, &l.en, 160)?;
                if !l.position.is_finite() {
                    return Err(invalid(field, "a position must be a number"));
                }
            }
        }
        if let Some(plan) = &self.default_test_plan {
            plan.check()
                .map_err(|e| invalid("effect_settings.default_test_plan", e.to_string()))?;
        }
        Ok(())
    }

    /// What an edit must also keep (checked when it is written, not on merge): at least one
    /// criterion and one reason still offered.
    pub fn check_whole(&self) -> Result<(), Invalid> {
        self.validate()?;
        let e = EffectSettings::effective(Some(self));
        if e.active_criteria().is_empty() {
            return Err(invalid(
                "effect_settings.criteria",
                "keep at least one inclusion criterion that is not retired",
            ));
        }
        if e.active_reasons().is_empty() {
            return Err(invalid(
                "effect_settings.reasons",
                "keep at least one reason for not including that is not retired",
            ));
        }
        Ok(())
    }
}

/// Shipped entries at positions 1, 2, …; stored ones replace them by key or add; sorted by
/// position (then key, so every device shows the same order).
fn overlay(
    shipped: Vec<Labelled>,
    stored: Option<&BTreeMap<String, StoredLabel>>,
) -> Vec<Labelled> {
    let mut all: Vec<(f64, Labelled)> = shipped
        .into_iter()
        .enumerate()
        .map(|(i, l)| (i as f64 + 1.0, l))
        .collect();
    for (key, s) in stored.into_iter().flatten() {
        let l = Labelled {
            key: key.clone(),
            da: s.da.clone(),
            en: s.en.clone(),
            retired: s.retired,
        };
        match all.iter_mut().find(|(_, o)| &o.key == key) {
            Some(slot) => *slot = (s.position, l),
            None => all.push((s.position, l)),
        }
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.key.cmp(&b.1.key)));
    all.into_iter().map(|(_, l)| l).collect()
}

impl EffectSettings {
    /// The settings in force: the shipped defaults, each overridden by what the municipality
    /// stored. An entry that fails its check (only data written around the writers could)
    /// is skipped, so one bad value never hides the others.
    pub fn effective(stored: Option<&StoredSettings>) -> EffectSettings {
        let mut changes = default_changes();
        if let Some(s) = stored {
            for (test, o) in &s.changes {
                let source = format!("{MUNICIPAL_SOURCE_PREFIX}{}", o.source.trim());
                let _ = override_change(&mut changes, test, o.value, &source);
            }
            // `override_change` appends; keep the shipped order with additions last.
            let shipped: Vec<String> = default_changes().into_iter().map(|c| c.test).collect();
            changes.sort_by_key(|c| {
                shipped
                    .iter()
                    .position(|t| *t == c.test)
                    .unwrap_or(usize::MAX)
            });
        }
        let follow_up_offsets = stored
            .and_then(|s| s.follow_up_offsets.as_deref())
            .and_then(|o| parse_offsets(o).ok())
            .unwrap_or_default();
        EffectSettings {
            changes,
            follow_up_offsets,
            criteria: overlay(default_criteria(), stored.map(|s| &s.criteria)),
            not_included_reasons: overlay(
                default_not_included_reasons(),
                stored.map(|s| &s.reasons),
            ),
            default_test_plan: stored
                .and_then(|s| s.default_test_plan.clone())
                .filter(|p| p.check().is_ok()),
        }
    }

    /// The checklist of a new screening.
    pub fn active_criteria(&self) -> Vec<Labelled> {
        self.criteria
            .iter()
            .filter(|c| !c.retired)
            .cloned()
            .collect()
    }

    /// The reasons a new screening may give.
    pub fn active_reasons(&self) -> Vec<Labelled> {
        self.not_included_reasons
            .iter()
            .filter(|c| !c.retired)
            .cloned()
            .collect()
    }

    /// Whether the municipality overrides `test`'s meaningful change.
    pub fn is_overridden(&self, test: &str) -> bool {
        self.changes
            .iter()
            .any(|c| c.test == test && c.source.starts_with(MUNICIPAL_SOURCE_PREFIX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::change::{judge, Judgement};
    use crate::effect::screening::{Screening, ScreeningOutcome};

    fn label(da: &str, retired: bool, position: f64) -> StoredLabel {
        StoredLabel {
            da: da.into(),
            en: format!("{da} (en)"),
            retired,
            position,
        }
    }

    #[test]
    fn nothing_stored_is_the_shipped_settings() {
        let e = EffectSettings::effective(None);
        assert_eq!(e.changes, default_changes());
        assert_eq!(e.follow_up_offsets, FollowUpOffsets(vec![77, 365]));
        assert_eq!(e.criteria, default_criteria());
        assert_eq!(e.not_included_reasons, default_not_included_reasons());
        assert_eq!(e.default_test_plan, None);
        assert_eq!(
            EffectSettings::effective(Some(&StoredSettings::default())),
            e
        );
    }

    #[test]
    fn stored_values_override_field_by_field() {
        let s = StoredSettings {
            changes: BTreeMap::from([(
                "chair_stand_30s".into(),
                ChangeOverride {
                    value: 2.0,
                    source: "Aarhus Kommune, 2026".into(),
                },
            )]),
            follow_up_offsets: Some("90,180,365".into()),
            criteria: BTreeMap::from([
                (
                    "wants_to_train".into(),
                    label("Vil gerne træne", false, 0.5),
                ),
                ("home_allows_training".into(), label("Hjemmet", true, 5.0)),
                ("can_walk_10m".into(), label("Kan gå 10 m", false, 6.5)),
            ]),
            reasons: BTreeMap::new(),
            default_test_plan: Some(TestPlan {
                start: vec!["timed_up_and_go".into()],
                mid: vec![],
                end: vec!["timed_up_and_go".into()],
                delegated: vec![],
            }),
        };
        s.check_whole().unwrap();
        let e = EffectSettings::effective(Some(&s));
        let chair = e
            .changes
            .iter()
            .find(|c| c.test == "chair_stand_30s")
            .unwrap();
        assert_eq!(chair.value, 2.0);
        assert_eq!(chair.source, "Kommunens værdi: Aarhus Kommune, 2026");
        assert!(e.is_overridden("chair_stand_30s") && !e.is_overridden("who5"));
        // Other tests keep the shipped value, and the shipped order.
        assert_eq!(e.changes.len(), default_changes().len());
        assert_eq!(e.changes[0].test, "chair_stand_30s");
        assert_eq!(e.changes[1..], default_changes()[1..]);
        assert_eq!(e.follow_up_offsets, FollowUpOffsets(vec![90, 180, 365]));
        let keys: Vec<&str> = e.criteria.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "wants_to_train",
                "follows_instructions",
                "rises_from_chair",
                "no_contraindication",
                "home_allows_training",
                "expected_to_benefit",
                "can_walk_10m"
            ]
        );
        assert_eq!(e.criteria[0].da, "Vil gerne træne");
        assert_eq!(e.active_criteria().len(), 6);
        assert_eq!(e.not_included_reasons, default_not_included_reasons());
        assert_eq!(e.default_test_plan, s.default_test_plan);
    }

    #[test]
    fn judgement_uses_the_municipality_s_value_at_its_exact_threshold() {
        let s = StoredSettings {
            changes: BTreeMap::from([(
                "chair_stand_30s".into(),
                ChangeOverride {
                    value: 3.0,
                    source: "Kommunens kvalitetsstandard".into(),
                },
            )]),
            ..StoredSettings::default()
        };
        let t = EffectSettings::effective(Some(&s)).changes;
        let j = |a: f64, b: f64| judge("chair_stand_30s", Some(a), Some(b), &t).unwrap();
        // Shipped 2.5 would call +2.5 improved; the municipality's 3 does not.
        assert_eq!(j(10.0, 12.5), Judgement::Maintained);
        assert_eq!(j(10.0, 13.0), Judgement::Improved);
        assert_eq!(j(13.0, 10.0), Judgement::Declined);
        assert_eq!(j(10.0, 12.99), Judgement::Maintained);
        // A lower-is-better test overridden too.
        let s = StoredSettings {
            changes: BTreeMap::from([(
                "timed_up_and_go".into(),
                ChangeOverride {
                    value: 1.5,
                    source: "x".into(),
                },
            )]),
            ..StoredSettings::default()
        };
        let t = EffectSettings::effective(Some(&s)).changes;
        let tug = |a: f64, b: f64| judge("timed_up_and_go", Some(a), Some(b), &t).unwrap();
        assert_eq!(tug(10.0, 8.5), Judgement::Improved);
        assert_eq!(tug(8.5, 10.0), Judgement::Declined);
        assert_eq!(tug(10.0, 8.51), Judgement::Maintained);
        // A test shipped without a value is judged once the municipality gives one.
        assert!(judge("berg_balance", Some(40.0), Some(44.0), &t).is_err());
        let s = StoredSettings {
            changes: BTreeMap::from([(
                "berg_balance".into(),
                ChangeOverride {
                    value: 4.0,
                    source: "Kommunens egen".into(),
                },
            )]),
            ..StoredSettings::default()
        };
        let t = EffectSettings::effective(Some(&s)).changes;
        assert_eq!(
            judge("berg_balance", Some(40.0), Some(44.0), &t),
            Ok(Judgement::Improved)
        );
        assert_eq!(t.last().unwrap().test, "berg_balance");
    }

    #[test]
    fn invalid_settings_are_refused_with_the_field() {
        let ok = StoredSettings::default();
        ok.check_whole().unwrap();
        let bad_change = |test: &str, value: f64| StoredSettings {
            changes: BTreeMap::from([(
                test.into(),
                ChangeOverride {
                    value,
                    source: "x".into(),
                },
            )]),
            ..StoredSettings::default()
        };
        for s in [
            bad_change("chair_stand_30s", 0.0),
            bad_change("chair_stand_30s", -1.0),
            bad_change("chair_stand_30s", f64::NAN),
            bad_change("chair_stand_30s", f64::INFINITY),
            bad_change("eq5d", 0.1),
        ] {
            assert_eq!(s.validate().unwrap_err().field, "effect_settings.changes");
        }
        let mut empty_source = bad_change("who5", 8.0);
        empty_source.changes.get_mut("who5").unwrap().source = " ".into();
        assert!(empty_source.validate().is_err());
        for o in [
            "",
            "0",
            "77,77",
            "365,77",
            "1096",
            "1,2,3,4,5",
            "77;365",
            "-1",
        ] {
            assert!(parse_offsets(o).is_err(), "{o}");
        }
        assert_eq!(parse_offsets("1").unwrap().0, [1]);
        assert_eq!(
            parse_offsets("30,77,365,1095").unwrap().0,
            [30, 77, 365, 1095]
        );
        let mut all_retired = StoredSettings::default();
        for c in default_criteria() {
            all_retired.criteria.insert(c.key, label(&c.da, true, 1.0));
        }
        all_retired.validate().unwrap();
        assert_eq!(
            all_retired.check_whole().unwrap_err().field,
            "effect_settings.criteria"
        );
        let mut bad_key = StoredSettings::default();
        bad_key
            .reasons
            .insert("Ikke OK".into(), label("x", false, 1.0));
        assert!(bad_key.validate().is_err());
        let plan = StoredSettings {
            default_test_plan: Some(TestPlan {
                start: vec!["eq5d".into()],
                ..TestPlan::default()
            }),
            ..StoredSettings::default()
        };
        assert!(plan.validate().is_err());
    }

    #[test]
    fn a_retired_criterion_still_reads_but_is_not_asked() {
        let mut s = StoredSettings::default();
        s.criteria
            .insert("home_allows_training".into(), label("Hjemmet", true, 5.0));
        let e = EffectSettings::effective(Some(&s));
        assert!(e
            .criteria
            .iter()
            .any(|c| c.key == "home_allows_training" && c.retired));
        let active = e.active_criteria();
        assert!(active.iter().all(|c| c.key != "home_allows_training"));
        let screening = Screening {
            answers: active.iter().map(|c| (c.key.clone(), true)).collect(),
            outcome: ScreeningOutcome::Included,
            note: None,
        };
        screening.check(&active, &e.active_reasons()).unwrap();
    }

    #[test]
    fn new_keys_are_valid_and_distinct() {
        let a = new_key("Kan gå 10 meter!");
        assert!(
            a.starts_with("kan_gaa_10_meter_") || a.starts_with("kan_ga_10_meter_"),
            "{a}"
        );
        check_key("k", &a).unwrap();
        check_key("k", &new_key("???")).unwrap();
        assert_ne!(new_key("x"), new_key("x"));
    }
}
