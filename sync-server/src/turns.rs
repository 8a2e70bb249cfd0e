//! In this process, syncs that change the same document take turns.
//!
//! Correctness does not rest on this: every commit checks that the documents it grew are still
//! at the heads they were loaded at (`DocumentCommit::base`), which is what keeps two *servers*
//! from losing each other's changes. Within one server, though, a burst of devices changing one
//! shared document (a team's session log) would collide at that check over and over, and each
//! collision serves the whole sync again. Taking turns per document turns those collisions into
//! a short queue: a sync waits for the one before it to commit, then loads what it stored.
//!
//! Locks are taken in document-id order, all before the sync reads anything, and released
//! after its commit, so two syncs changing overlapping sets cannot wait on each other in a
//! circle. Nothing else in the server takes them.

use homerehab_shared::ids::DocumentId;
use parking_lot::{ArcMutexGuard, Mutex, RawMutex};
use std::collections::HashMap;
use std::sync::Arc;

type Turn = Arc<Mutex<()>>;

/// The documents some sync of this process is changing now, each with its queue.
#[derive(Default)]
pub struct DocumentTurns {
    held: Mutex<HashMap<DocumentId, Turn>>,
}

/// The turns of one sync: held until dropped.
pub struct Held<'a> {
    turns: &'a DocumentTurns,
    ids: Vec<DocumentId>,
    guards: Vec<ArcMutexGuard<RawMutex, ()>>,
    /// Whether some document was another sync's turn when asked for.
    pub waited: bool,
}

impl DocumentTurns {
    /// Waits until it is this sync's turn on every one of `docs` (in any order, repeats
    /// allowed), and holds them until the returned value is dropped.
    pub fn take(&self, docs: impl IntoIterator<Item = DocumentId>) -> Held<'_> {
        let mut ids: Vec<DocumentId> = docs.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut waited = false;
        let guards = ids
            .iter()
            .map(|id| {
                let turn = Arc::clone(self.held.lock().entry(*id).or_default());
                turn.try_lock_arc().unwrap_or_else(|| {
                    waited = true;
                    turn.lock_arc()
                })
            })
            .collect();
        Held {
            turns: self,
            ids,
            guards,
            waited,
        }
    }

    /// Documents with a turn taken or waited for (0 when no sync is changing anything).
    pub fn len(&self) -> usize {
        self.held.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.guards.clear();
        // A queue nobody holds or waits for goes: the map stays as small as the work in
        // flight. Clones are only made under this lock, so a count of 1 means nobody else.
        let mut held = self.turns.held.lock();
        for id in &self.ids {
            if held.get(id).is_some_and(|t| Arc::strong_count(t) == 1) {
                held.remove(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;

    #[test]
    fn syncs_on_one_document_take_turns_and_leave_nothing_behind() {
        let turns = DocumentTurns::default();
        let doc = DocumentId::new();
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let start = Barrier::new(8);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    start.wait();
                    for _ in 0..50 {
                        let _held = turns.take([doc]);
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1, "one sync at a time");
        assert!(turns.is_empty(), "no queue kept once nobody holds it");
    }

    #[test]
    fn overlapping_sets_asked_in_opposite_orders_do_not_deadlock() {
        let turns = DocumentTurns::default();
        let (a, b, c) = (DocumentId::new(), DocumentId::new(), DocumentId::new());
        let start = Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                start.wait();
                for _ in 0..2_000 {
                    drop(turns.take([a, b, c]));
                }
            });
            s.spawn(|| {
                start.wait();
                for _ in 0..2_000 {
                    drop(turns.take([c, b, a, a]));
                }
            });
        });
        assert!(turns.is_empty());
    }

    #[test]
    fn different_documents_do_not_wait_for_each_other() {
        let turns = DocumentTurns::default();
        let held = turns.take([DocumentId::new()]);
        let other = turns.take([DocumentId::new()]);
        assert!(!held.waited && !other.waited);
        assert_eq!(turns.len(), 2);
    }
}
