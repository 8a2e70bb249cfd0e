//! The rules of a revoked device (issue #14), written once for the server and the device.
//!
//! From the moment a leader or admin revokes a device, its token and its actors are refused for
//! everything but one last **hand-over**: its sync is still served, so the work it has not yet
//! synced reaches the server (it is legitimate work, admitted as usual), and every answer tells
//! it that it is revoked. The hand-over is **complete** when the server serves it a sync that
//! offers no changes and asks for no whole document: the device then has nothing left that the
//! server has not answered for (refused changes were answered and, within the caps, kept in the
//! quarantine; they are never re-offered). From then on, and at the latest
//! [`HANDOVER_WINDOW_MS`] after the revocation, the device is **closed**: every request with its
//! token is refused with [`crate::api::DEVICE_REVOKED_ERROR`], and a sign-in on it too.
//!
//! A shared tablet may also hold another user's unsent work, parked until they sign in again
//! (it cannot go with this user's token). The device says so with every sync
//! ([`crate::api::PARKED_WORK_HEADER`]) and the hand-over then stays open: that user may still
//! sign in on the revoked device (a sign-in is allowed while the hand-over is open) and hand
//! their work over too. Likewise while the user's look-ups wait to go to the access log
//! ([`crate::api::LOOK_UPS_WAITING_HEADER`]): they are sent after the sync, and the next sync
//! completes the hand-over.
//!
//! The device erases its data ([`may_erase`]) only when the server said it is revoked in answer
//! to a sync that offered nothing while nothing was parked (so everything it held was confirmed
//! stored or answered), or when the server says the device is closed. An answer lost on the way is harmless: the device
//! syncs again, offers the same changes (stored already, so nothing is new) and the server,
//! still open for it, answers again.

use crate::model::Millis;

/// How long a revoked device may still hand over its unsynced work: 14 days, time for a tablet
/// left in a drawer to be switched on again. After it, a revoked device is closed even if it
/// never came back, and its unsynced work is lost with it (the municipality chose to cut it
/// off; the device list shows that it never handed over).
pub const HANDOVER_WINDOW_MS: Millis = 14 * 24 * 60 * 60 * 1000;

/// Contact is recorded at most this often per device, so a sync does not always write.
pub const LAST_SEEN_RESOLUTION_MS: Millis = 60 * 1000;

/// What a device's token may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceAccess {
    /// Not revoked: everything its user may do.
    Active,
    /// Revoked, and still handing over: sync only, every answer saying it is revoked.
    HandOver,
    /// Revoked and handed over (or its window passed): nothing.
    Closed,
}

/// The access of a device revoked at `revoked_at` (if at all), handed over at `handed_over_at`
/// (if at all), at `now`.
pub fn access(
    revoked_at: Option<Millis>,
    handed_over_at: Option<Millis>,
    now: Millis,
) -> DeviceAccess {
    match (revoked_at, handed_over_at) {
        (None, _) => DeviceAccess::Active,
        (Some(_), Some(_)) => DeviceAccess::Closed,
        (Some(at), None) if now >= at.saturating_add(HANDOVER_WINDOW_MS) => DeviceAccess::Closed,
        (Some(_), None) => DeviceAccess::HandOver,
    }
}

/// One sync of a revoked device, as the server served it and the device saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandOverSync {
    /// Some offer carried change bytes (new work, or work the device was not told was stored).
    pub offered_changes: bool,
    /// The server asked for a whole document (it misses history the device holds).
    pub asked_whole: bool,
    /// Another user's unsent work is parked on the device: it needs their own sign-in.
    pub parked_work: bool,
    /// The user's look-ups wait on the device: they go to the access log after this sync.
    pub look_ups_waiting: bool,
}

impl HandOverSync {
    /// Whether this sync completes the hand-over: the device had nothing left to give.
    pub fn completes_handover(self) -> bool {
        !self.offered_changes && !self.asked_whole && !self.parked_work && !self.look_ups_waiting
    }
}

/// What the device learnt from the server about its revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokedAnswer {
    /// A sync was served and its answer said "revoked".
    Served(HandOverSync),
    /// A request was refused because the device is closed.
    Closed,
}

/// Whether the device may erase its data now. Never before its unsynced work was confirmed
/// stored: after a served sync only if that sync completed the hand-over.
pub fn may_erase(answer: RevokedAnswer) -> bool {
    match answer {
        RevokedAnswer::Served(sync) => sync.completes_handover(),
        RevokedAnswer::Closed => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_device_hands_over_until_it_has_nothing_left_or_its_window_ends() {
        let at = 1_000_000;
        assert_eq!(access(None, None, at), DeviceAccess::Active);
        assert_eq!(access(Some(at), None, at), DeviceAccess::HandOver);
        let last_moment = at + HANDOVER_WINDOW_MS - 1;
        assert_eq!(access(Some(at), None, last_moment), DeviceAccess::HandOver);
        assert_eq!(
            access(Some(at), None, last_moment + 1),
            DeviceAccess::Closed
        );
        assert_eq!(access(Some(at), Some(at + 5), at + 6), DeviceAccess::Closed);
    }

    #[test]
    fn the_device_erases_only_after_nothing_was_left_to_hand_over() {
        let with_changes = HandOverSync {
            offered_changes: true,
            ..Default::default()
        };
        let asked_whole = HandOverSync {
            asked_whole: true,
            ..Default::default()
        };
        let parked = HandOverSync {
            parked_work: true,
            ..Default::default()
        };
        // Changes just handed over: their answer may be lost; one more sync shows nothing left.
        assert!(!may_erase(RevokedAnswer::Served(with_changes)));
        assert!(!may_erase(RevokedAnswer::Served(asked_whole)));
        // Another user's work waits for their sign-in on this device.
        assert!(!may_erase(RevokedAnswer::Served(parked)));
        // Look-ups wait to go to the access log after the sync.
        let look_ups = HandOverSync {
            look_ups_waiting: true,
            ..Default::default()
        };
        assert!(!may_erase(RevokedAnswer::Served(look_ups)));
        assert!(may_erase(RevokedAnswer::Served(HandOverSync::default())));
        assert!(may_erase(RevokedAnswer::Closed));
        assert!(!with_changes.completes_handover());
        assert!(HandOverSync::default().completes_handover());
    }
}
