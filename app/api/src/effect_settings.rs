//! The municipality's effect settings (#11): its own meaningful-change values, care-time
//! follow-up offsets, inclusion criteria and reasons, and a default test plan. Read by everyone
//! who sees summaries and screenings; set by the library's editors.

use serde::{Deserialize, Serialize};

use crate::TestPlanView;

/// One catalogue test's meaningful change: the shipped value and source beside the
/// municipality's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeSettingView {
    /// The assessment catalogue's key, e.g. `chair_stand_30s`.
    pub test: String,
    pub label_da: String,
    pub label_en: String,
    pub unit_da: String,
    pub unit_en: String,
    /// `higher` or `lower`: which direction is better.
    pub better: String,
    /// `None` for a test Homerehab ships no value for (it is judged only with the
    /// municipality's own).
    pub shipped_value: Option<f64>,
    pub shipped_source: Option<String>,
    /// The municipality's value and source, when it overrides the shipped one.
    pub value: Option<f64>,
    pub source: Option<String>,
}

/// A criterion or reason with both texts, as the settings page edits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSetting {
    /// Empty for one the editor adds: the app gives it a stable key.
    pub key: String,
    pub da: String,
    pub en: String,
    pub retired: bool,
    /// Shipped with Homerehab (its texts may still be the municipality's).
    #[serde(default)]
    pub shipped: bool,
}

/// `GET /api/effect-settings`: the settings in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EffectSettingsView {
    pub changes: Vec<ChangeSettingView>,
    pub follow_up_offsets: Vec<u32>,
    pub shipped_follow_up_offsets: Vec<u32>,
    /// In order, retired ones included.
    pub criteria: Vec<LabelSetting>,
    pub reasons: Vec<LabelSetting>,
    /// The municipality's default test plan for new courses, if it has one.
    pub default_test_plan: Option<TestPlanView>,
    /// Why a course ends early: one shipped list for every municipality (so the benchmark
    /// compares like with like), not edited here.
    #[serde(default)]
    pub end_reasons: Vec<LabelSetting>,
}

/// A test's value set by the municipality.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeOverrideInput {
    pub test: String,
    pub value: f64,
    pub source: String,
}

/// `POST /api/effect-settings`: the whole record. A test not in `changes` uses the shipped
/// value; `follow_up_offsets` empty means the shipped offsets. Criteria and reasons are listed
/// in their new order; one left out keeps its place and state (keys are never removed, only
/// retired, so old screenings still read).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EffectSettingsInput {
    pub changes: Vec<ChangeOverrideInput>,
    pub follow_up_offsets: Vec<u32>,
    pub criteria: Vec<LabelSetting>,
    pub reasons: Vec<LabelSetting>,
    pub default_test_plan: Option<TestPlanView>,
}
