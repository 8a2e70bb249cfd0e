//! How many requests one device may have in flight at once, counted from before their bodies
//! are read.
//!
//! A sync's body (up to `max_body_bytes`, 16 MiB) and a batch of look-ups for the access log
//! are read whole into memory before anything else bounds them: the sync slots
//! (`http::serve_in_slots`) weigh a request only once it has arrived, and let it go before its
//! answer is sent. So one stolen token could open a hundred connections and have the server
//! hold a hundred bodies, or a hundred answers read slowly, at once. A device sends one request
//! at a time (its syncs and look-ups go one after another), so [`REQUESTS_PER_DEVICE`] leaves
//! room for one sent again while the server has not yet seen the first one's connection end;
//! one more is answered 503 with `Retry-After` (which the app waits out and sends again)
//! without its body being read. A turn is held from before the body is read until the answer
//! is sent or the request ends otherwise ([`InFlightTurn::held_until_sent`]). What one token
//! can make one server process hold is then two requests and their answers, whatever it sends.
//!
//! A device is its user and its registered id; a token from before the device registry counts
//! with every such token of its user. Within one process: each server of several bounds its
//! own memory, which is what this is for.

use axum::body::Body;
use axum::response::Response;
use homerehab_shared::ids::{DeviceId, UserId};
use http_body_util::BodyExt;
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

impl InFlightTurn {
    /// `response` with this turn held until its body is sent whole, or dropped (the client
    /// went away, or stopped taking it past the idle limit): a slowly read answer is the
    /// device's request in flight still.
    pub fn held_until_sent(self, response: Response) -> Response {
        response.map(|body| {
            Body::new(body.map_frame(move |frame| {
                // Owned by the body, so dropped with it.
                let _turn = &self;
                frame
            }))
        })
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

    /// A turn handed to an answer is let go when the answer's body is sent whole or dropped,
    /// not when the handler returns.
    #[tokio::test]
    async fn an_answer_holds_its_devices_turn_until_it_is_sent_or_dropped() {
        let in_flight = InFlight::new();
        let (user, tablet) = (UserId::new(), Some(DeviceId::new()));
        let answer = |in_flight: &Arc<InFlight>| {
            in_flight
                .enter(user, tablet)
                .unwrap()
                .held_until_sent(Response::new(Body::from("the answer")))
        };
        let sent = answer(&in_flight);
        assert_eq!(in_flight.len(), 1);
        let bytes = sent.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"the answer");
        assert!(in_flight.is_empty());
        let given_up = answer(&in_flight);
        assert_eq!(in_flight.len(), 1);
        drop(given_up);
        assert!(in_flight.is_empty());
    }
}
