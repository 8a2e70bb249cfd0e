//! How many requests one device may have in flight at once, counted from before their bodies
//! are read.
//!
//! A sync's body (up to `max_body_bytes`, 16 MiB) and a batch of look-ups for the access log
//! are read whole into memory before anything else bounds them: the sync slots
//! (`http::serve_in_slots`) weigh a request only once it has arrived. So one stolen token
//! could open a hundred connections and have the server hold a hundred bodies at once. A
//! device sends one request at a time (its syncs and look-ups go one after another), so
//! [`REQUESTS_PER_DEVICE`] leaves room for one sent again while the server has not yet seen
//! the first one's connection end; one more is answered 503 with `Retry-After` without its
//! body being read (the app sends a sync again after the pause; a batch of look-ups waits for
//! the next sync). A turn is held from before the body is read until the handler returns. What
//! one token can make one server process hold of request bodies is then two, whatever it
//! sends. Answers are not counted: once the handler returns, hyper holds the answer until the
//! client has taken it (a client that stops taking it is cut off after the idle limit,
//! `http::serve`; one that takes it slowly is not).
//!
//! A device is its user and its registered id; a token from before the device registry counts
//! with every such token of its user. Within one process: each server of several bounds its
//! own memory, which is what this is for.

use homerehab_shared::ids::{DeviceId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Requests one device may have in flight at once (see the module's documentation).
pub const REQUESTS_PER_DEVICE: usize = 2;

/// Whose requests are counted together.
type Holder = (UserId, Option<DeviceId>);

/// The requests in flight, per device.
#[derive(Debug, Default)]
pub struct InFlight {
    held: Mutex<HashMap<Holder, usize>>,
}

/// One request in flight: dropping it (when the handler returns) lets the device send another.
#[derive(Debug)]
pub struct InFlightTurn {
    in_flight: Arc<InFlight>,
    holder: Holder,
}

impl InFlight {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// A turn for a request of `user` on `device`, or `None` when it has
    /// [`REQUESTS_PER_DEVICE`] in flight already.
    pub fn enter(self: &Arc<Self>, user: UserId, device: Option<DeviceId>) -> Option<InFlightTurn> {
        let holder = (user, device);
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let n = held.entry(holder).or_default();
        if *n >= REQUESTS_PER_DEVICE {
            return None;
        }
        *n += 1;
        Some(InFlightTurn {
            in_flight: self.clone(),
            holder,
        })
    }

    /// Requests in flight, over every device.
    pub fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for InFlightTurn {
    fn drop(&mut self) {
        let mut held = self
            .in_flight
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.holder) {
            *n -= 1;
            if *n == 0 {
                // No entry kept for a device with nothing in flight: the map stays as small
                // as what is in flight.
                held.remove(&self.holder);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_has_two_requests_in_flight_and_another_device_is_not_held_up() {
        let in_flight = InFlight::new();
        let (user, tablet, laptop) = (UserId::new(), DeviceId::new(), DeviceId::new());
        let first = in_flight.enter(user, Some(tablet)).unwrap();
        let second = in_flight.enter(user, Some(tablet)).unwrap();
        assert!(in_flight.enter(user, Some(tablet)).is_none());
        // The same user's other device, and another user's token without a device, go on.
        let other = in_flight.enter(user, Some(laptop)).unwrap();
        let legacy = in_flight.enter(UserId::new(), None).unwrap();
        assert_eq!(in_flight.len(), 4);
        drop(first);
        let third = in_flight.enter(user, Some(tablet)).unwrap();
        drop((second, third, other, legacy));
        assert!(in_flight.is_empty());
        assert!(
            in_flight.held.lock().unwrap().is_empty(),
            "no entry left behind"
        );
    }
}
