//! What the device keeps about photos and videos beside the library document: where the
//! verified files go, how much room they may take, and the last prefetch round's outcome.

use serde::{Deserialize, Serialize};

/// Where the device keeps verified photos and videos (files named by their SHA-256, next to
/// the database) and how many bytes they may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaSettings {
    pub dir: std::path::PathBuf,
    pub budget_bytes: u64,
}

impl MediaSettings {
    /// A tablet's default room for media: 2 GiB.
    pub const DEFAULT_BUDGET: u64 = 2 << 30;

    pub(super) fn beside(database: &std::path::Path) -> Self {
        MediaSettings {
            dir: database
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("media"),
            budget_bytes: Self::DEFAULT_BUDGET,
        }
    }
}

/// What one prefetch round did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefetchReport {
    pub at: i64,
    /// Files downloaded and verified this round.
    pub fetched: u32,
    /// Bytes received this round (a resumed file counts only the rest).
    pub bytes_transferred: u64,
    /// Bytes of verified media on the device after the round.
    pub held_bytes: u64,
    /// Needed media left out because they do not fit in the budget.
    pub skipped_over_budget: Vec<String>,
    /// Media that could not be fetched this round, with the reason (retried next round).
    pub failed: Vec<(String, String)>,
    /// Files deleted because no current program needs them (or they were withdrawn).
    pub evicted: u32,
}
