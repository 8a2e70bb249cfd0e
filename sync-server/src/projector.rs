//! Keeps the read model caught up: projects the documents that changed since their last
//! projection (`Store::project_pending`), off the sync's path, while the server runs.

use crate::store::{LoadedDocuments, ProjectionMemo, Store};
use std::sync::Arc;
use std::time::Duration;

/// Documents projected per round; a round holds the store's lock only per document.
const ROUND: usize = 64;
/// How long an idle projector waits before it looks again.
const IDLE: Duration = Duration::from_millis(500);
/// How long a projector that caught up waits before its next round: a document that keeps
/// changing (a burst of syncs on one course) is projected once per pause, not once per sync,
/// so the projector does not take a core from the syncs (issue #13's reconnect burst).
const SETTLE: Duration = Duration::from_millis(250);

/// What the projector remembers of the documents it projected, so a session log that grew by a
/// set re-reads one session, not the log: a few hundred bytes per session.
const MEMO_BYTES: usize = 16 << 20;

/// Runs until the task is dropped. A failing round is logged and retried after a pause: the
/// read model lags, the documents (the truth) are untouched.
/// Documents the syncs hold loaded (`loaded`) are read from there when they are the stored ones.
pub async fn run(store: Arc<dyn Store>, loaded: Arc<dyn LoadedDocuments>) {
    // Rosters a server of the release before projected without the grants' days (a rolling
    // upgrade): again, so no citizen is left out of the care-time figures unseen.
    let remark = store.clone();
    match tokio::task::spawn_blocking(move || remark.remark_grants_without_day()).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(
            rosters = n,
            "read model: rosters projected again for their grants' days"
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "read model: rosters without their grants' days not marked; `sync-server reproject` does it")
        }
        Err(e) => tracing::warn!(error = %e, "read model: the marking of rosters failed"),
    }
    let fresh = || ProjectionMemo::new(MEMO_BYTES).reading_from(loaded.clone());
    let mut memo = Some(fresh());
    loop {
        let store = store.clone();
        let mut round_memo = memo.take().unwrap_or_else(fresh);
        let unread_before = round_memo.unread();
        let round = tokio::task::spawn_blocking(move || {
            let round = store.project_pending_after(ROUND, &mut round_memo);
            (round, round_memo)
        })
        .await
        .map(|(round, kept)| {
            let unread = kept.unread() - unread_before;
            memo = Some(kept);
            (round, unread)
        });
        match round {
            Ok((Ok(round), unread)) => {
                crate::metrics::read_model_round(&round, unread);
                let done = round.projected + round.failed;
                if done == 0 {
                    tokio::time::sleep(IDLE).await;
                } else if done < ROUND {
                    tokio::time::sleep(SETTLE).await;
                }
            }
            Ok((Err(e), _)) if e.is_transient_conflict() || e.is_database_busy() => {
                // Another server's projector (or `reproject`) held the same rows.
                tracing::warn!(error = %e, "read model: projection round gave way; retrying");
                tokio::time::sleep(SETTLE).await;
            }
            Ok((Err(e), _)) => {
                tracing::error!(error = %e, "read model: projection failed; retrying");
                tokio::time::sleep(IDLE * 4).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "read model: projection task panicked; retrying");
                tokio::time::sleep(IDLE * 4).await;
            }
        }
    }
}
