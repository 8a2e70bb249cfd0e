//! A program line's dosage as the screens show it (the assistant's session, the therapist's
//! editor and the municipality's exercises).

use serde::{Deserialize, Serialize};

/// A program line's dosage as prescribed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DosageView {
    pub sets: u32,
    pub reps: Option<u32>,
    pub duration_s: Option<u32>,
    pub hold_s: Option<u32>,
    pub rest_s: Option<u32>,
    pub load: Option<String>,
    /// `none`, `left`, `right` or `both`.
    pub side: String,
}
