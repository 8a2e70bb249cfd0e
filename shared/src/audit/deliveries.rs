//! When a document sent to a device is recorded again (issue #13, with #14's log).
//!
//! Every sync that brings a device changes of a course, session log or roster leaves a record
//! of who received which citizen's data on which device. A team's tablets sync every few
//! minutes, and each sync brings the teammates' latest sets: recorded every time, one team of
//! 50 wrote about 45 records per sync, most of them saying again that a device already holding
//! a course was sent more of it. They were most of what such a sync wrote, and the citizen's
//! access report drowned in them (docs/benchmarks.md has what they cost).
//!
//! **The rule.** A delivery is recorded when the same user's same device has no record of the
//! same document from the last [`DELIVERY_RECORD_INTERVAL_MS`]: the first delivery of each
//! hour stands for the deliveries that follow it within that hour. So the log still says, to
//! the hour, which devices held which citizen's data; what a user *looked at* is recorded on
//! the device at every look-up, as before. The remembering is an optimisation that may only
//! ever write more: a process that restarts, a second server, a full table or a commit that
//! fails each lead to a record written again, never to one left out. A delivery to a device
//! the server cannot name is recorded every time.

use crate::ids::{DeviceId, DocumentId, UserId};
use crate::model::Millis;
use std::collections::HashMap;

/// How long a recorded delivery of a document to a device stands for later ones.
pub const DELIVERY_RECORD_INTERVAL_MS: Millis = 60 * 60 * 1000;

/// The most deliveries remembered: a morning's reconnect of 1,000 tablets holding 31 documents
/// each is 31,000. Beyond it the stale are dropped, and if all are fresh, all (at most about
/// 8 MB).
pub const REMEMBERED_DELIVERIES: usize = 100_000;

/// A document sent to one user's device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Delivery {
    pub user: UserId,
    pub device: DeviceId,
    pub doc: DocumentId,
}

/// The deliveries this process recorded lately, with when.
#[derive(Debug)]
pub struct RecentDeliveries {
    recorded: HashMap<Delivery, Millis>,
    capacity: usize,
}

impl Default for RecentDeliveries {
    fn default() -> Self {
        RecentDeliveries::with_capacity(REMEMBERED_DELIVERIES)
    }
}

impl RecentDeliveries {
    pub fn with_capacity(capacity: usize) -> Self {
        RecentDeliveries {
            recorded: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Whether `delivery` at `now` needs a record of its own: none remembered from the last
    /// [`DELIVERY_RECORD_INTERVAL_MS`] (a clock that went back counts as none).
    pub fn needs_record(&self, delivery: &Delivery, now: Millis) -> bool {
        match self.recorded.get(delivery) {
            Some(&at) => !(at..at.saturating_add(DELIVERY_RECORD_INTERVAL_MS)).contains(&now),
            None => true,
        }
    }

    /// Remembers that `delivery` was recorded at `now`, durably: told only after the record's
    /// transaction committed.
    pub fn recorded(&mut self, delivery: Delivery, now: Millis) {
        if self.recorded.len() >= self.capacity && !self.recorded.contains_key(&delivery) {
            self.recorded.retain(|_, at| {
                (*at..at.saturating_add(DELIVERY_RECORD_INTERVAL_MS)).contains(&now)
            });
            if self.recorded.len() >= self.capacity {
                self.recorded.clear();
            }
        }
        self.recorded.insert(delivery, now);
    }

    pub fn len(&self) -> usize {
        self.recorded.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recorded.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CourseId;

    fn delivery() -> Delivery {
        Delivery {
            user: UserId::new(),
            device: DeviceId::new(),
            doc: DocumentId::course_of(CourseId::new()),
        }
    }

    #[test]
    fn a_delivery_is_recorded_again_after_the_interval_not_within_it() {
        let mut recent = RecentDeliveries::default();
        let d = delivery();
        assert!(recent.needs_record(&d, 1_000), "the first");
        recent.recorded(d, 1_000);
        assert!(!recent.needs_record(&d, 1_000));
        assert!(!recent.needs_record(&d, 1_000 + DELIVERY_RECORD_INTERVAL_MS - 1));
        assert!(recent.needs_record(&d, 1_000 + DELIVERY_RECORD_INTERVAL_MS));
        assert!(recent.needs_record(&d, 999), "a clock that went back");
    }

    #[test]
    fn another_user_device_or_document_is_its_own_delivery() {
        let mut recent = RecentDeliveries::default();
        let d = delivery();
        recent.recorded(d, 1_000);
        for other in [
            Delivery {
                user: UserId::new(),
                ..d
            },
            Delivery {
                device: DeviceId::new(),
                ..d
            },
            Delivery {
                doc: DocumentId::session_log_of(CourseId::new()),
                ..d
            },
        ] {
            assert!(recent.needs_record(&other, 1_001), "{other:?}");
        }
    }

    #[test]
    fn a_full_memory_forgets_the_stale_first_then_all_so_it_only_records_more() {
        let mut recent = RecentDeliveries::with_capacity(3);
        let (old, a, b, c) = (delivery(), delivery(), delivery(), delivery());
        recent.recorded(old, 0);
        let now = DELIVERY_RECORD_INTERVAL_MS + 10;
        recent.recorded(a, now);
        recent.recorded(b, now);
        // Full: the stale one goes, the fresh ones stay.
        recent.recorded(c, now);
        assert_eq!(recent.len(), 3);
        assert!(!recent.needs_record(&a, now + 1) && !recent.needs_record(&c, now + 1));
        // Full of fresh ones: all forgotten, so the next deliveries are recorded again.
        let d = delivery();
        recent.recorded(d, now + 1);
        assert_eq!(recent.len(), 1);
        assert!(recent.needs_record(&a, now + 2));
        assert!(!recent.needs_record(&d, now + 2));
        // Recording one it holds again never empties it.
        recent.recorded(d, now + 3);
        assert_eq!(recent.len(), 1);
    }
}
