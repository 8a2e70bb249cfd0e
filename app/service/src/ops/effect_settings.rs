//! The municipality's effect settings (#11): read as they are in force (the rule is
//! `shared::effect::settings`), and set as a whole record by the library's editors. Invalid
//! input is refused before anything is written.

use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_shared::assessment::CATALOGUE;
use homerehab_shared::effect::care_time::FollowUpOffsets;
use homerehab_shared::effect::change::default_changes;
use homerehab_shared::effect::screening::{
    default_criteria, default_not_included_reasons, Labelled,
};
use homerehab_shared::effect::settings::{
    check_key, format_offsets, new_key, ChangeOverride, EffectSettings, StoredLabel,
    StoredSettings, MUNICIPAL_SOURCE_PREFIX,
};
use homerehab_shared::library::Lang;
use homerehab_shared::model::END_REASONS;
use std::collections::BTreeMap;

fn label_settings(list: &[Labelled], shipped: &[Labelled]) -> Vec<api::LabelSetting> {
    list.iter()
        .map(|l| api::LabelSetting {
            key: l.key.clone(),
            da: l.da.clone(),
            en: l.en.clone(),
            retired: l.retired,
            shipped: shipped.iter().any(|s| s.key == l.key),
        })
        .collect()
}

fn view(e: &EffectSettings) -> api::EffectSettingsView {
    let shipped = default_changes();
    // Every catalogue test: one Homerehab ships no value for may get the municipality's own.
    let changes = CATALOGUE
        .iter()
        .map(|kind| {
            let default = shipped.iter().find(|c| c.test == kind.key);
            let own = e
                .changes
                .iter()
                .find(|c| c.test == kind.key)
                .filter(|c| c.source.starts_with(MUNICIPAL_SOURCE_PREFIX));
            api::ChangeSettingView {
                test: kind.key.into(),
                label_da: kind.label(Lang::Da).into(),
                label_en: kind.label(Lang::En).into(),
                unit_da: kind.unit_label(Lang::Da).into(),
                unit_en: kind.unit_label(Lang::En).into(),
                better: if kind.higher_is_better {
                    "higher"
                } else {
                    "lower"
                }
                .into(),
                value: own.map(|c| c.value),
                source: own.map(|c| c.source[MUNICIPAL_SOURCE_PREFIX.len()..].to_string()),
                shipped_value: default.map(|c| c.value),
                shipped_source: default.map(|c| c.source.clone()),
            }
        })
        .collect();
    api::EffectSettingsView {
        changes,
        follow_up_offsets: e.follow_up_offsets.0.clone(),
        shipped_follow_up_offsets: FollowUpOffsets::default().0,
        criteria: label_settings(&e.criteria, &default_criteria()),
        reasons: label_settings(&e.not_included_reasons, &default_not_included_reasons()),
        default_test_plan: e.default_test_plan.as_ref().map(super::convert::plan_view),
        end_reasons: END_REASONS
            .iter()
            .map(|(key, da, en)| api::LabelSetting {
                key: (*key).into(),
                da: (*da).into(),
                en: (*en).into(),
                retired: false,
                shipped: true,
            })
            .collect(),
    }
}

/// `GET /api/effect-settings`.
pub fn effect_settings(core: &Core) -> Result<api::EffectSettingsView> {
    Ok(view(&core.data()?.effect_settings()?))
}

/// The edited list as stored: listed entries in their new order (positions 1, 2, …), new
/// ones keyed from their Danish text, left-out ones kept where they were.
fn labels_in(
    field: &str,
    input: Vec<api::LabelSetting>,
    current: &[Labelled],
) -> Result<BTreeMap<String, StoredLabel>> {
    let mut out = BTreeMap::new();
    let listed_keys: Vec<String> = input.iter().map(|l| l.key.trim().to_string()).collect();
    for (i, l) in input.into_iter().enumerate() {
        let key = match l.key.trim() {
            // A new entry with the text of a stored one the page did not list is that one
            // (the same edit sent again after its answer was lost), not a second of it.
            "" => current
                .iter()
                .find(|c| {
                    c.da.trim().eq_ignore_ascii_case(l.da.trim()) && !listed_keys.contains(&c.key)
                })
                .map_or_else(|| new_key(&l.da), |c| c.key.clone()),
            k => {
                check_key(field, k).map_err(|e| Error::invalid(e.to_string()))?;
                k.to_string()
            }
        };
        let stored = StoredLabel {
            da: l.da.trim().to_string(),
            en: match l.en.trim() {
                // English is optional on the page: the Danish text stands in.
                "" => l.da.trim().to_string(),
                en => en.to_string(),
            },
            retired: l.retired,
            position: i as f64 + 1.0,
        };
        if out.insert(key.clone(), stored).is_some() {
            return Err(Error::invalid(format!("{field}: `{key}` is listed twice")));
        }
    }
    // Keys are never removed: one left out keeps its text and state, after the listed ones.
    let listed = out.len();
    for (i, l) in current.iter().enumerate() {
        out.entry(l.key.clone()).or_insert_with(|| StoredLabel {
            da: l.da.clone(),
            en: l.en.clone(),
            retired: l.retired,
            position: (listed + i) as f64 + 1.0,
        });
    }
    Ok(out)
}

/// `POST /api/effect-settings`: the whole record, checked, then stored in the municipality's
/// library (it syncs to every device of the municipality).
pub fn set_effect_settings(
    core: &Core,
    req: api::EffectSettingsInput,
) -> Result<api::EffectSettingsView> {
    let mut store = core.data()?;
    let current = store.effect_settings()?;
    let mut changes = BTreeMap::new();
    for c in req.changes {
        let change = ChangeOverride {
            value: c.value,
            source: c.source.trim().to_string(),
        };
        if changes.insert(c.test.clone(), change).is_some() {
            return Err(Error::invalid(format!(
                "`{}` has two meaningful-change values",
                c.test
            )));
        }
    }
    let settings = StoredSettings {
        changes,
        follow_up_offsets: (!req.follow_up_offsets.is_empty())
            .then(|| format_offsets(&FollowUpOffsets(req.follow_up_offsets))),
        criteria: labels_in("criteria", req.criteria, &current.criteria)?,
        reasons: labels_in("reasons", req.reasons, &current.not_included_reasons)?,
        default_test_plan: req
            .default_test_plan
            .map(super::convert::plan_in)
            .transpose()?,
    };
    // Checked here so nothing is written (not even the library's genesis) on bad input.
    settings
        .check_whole()
        .map_err(|e| Error::invalid(e.to_string()))?;
    store.set_effect_settings(&settings)?;
    tracing::info!("effect settings set");
    Ok(view(&store.effect_settings()?))
}
