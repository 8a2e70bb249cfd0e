//! A screen that just changed under the finger ignores taps for a moment. With gloves a tap is
//! often two; the second lands after the first one's answer has moved the screen on, on
//! whatever button took the first one's place (the next WHO-5 statement's same answer, the next
//! exercise's "Næste", "Pause" where "Start" was). Buttons that move a screen on are disabled
//! while it settles, which the browser enforces and the user sees.

use leptos::prelude::*;
use std::time::Duration;

/// Long enough for a double tap's second tap, short enough not to be noticed as waiting.
const SETTLING: Duration = Duration::from_millis(500);

#[derive(Clone, Copy)]
pub struct Settle {
    settling: RwSignal<bool>,
    /// Which change the pending timer belongs to: only the latest one ends the settling.
    generation: RwSignal<u64>,
}

impl Settle {
    /// Settling from the start: the screen itself has just appeared under the finger.
    pub fn new() -> Self {
        let s = Settle {
            settling: RwSignal::new(false),
            generation: RwSignal::new(0),
        };
        s.moved();
        s
    }

    /// The screen moved on: ignore taps for a moment.
    pub fn moved(self) {
        let generation = self.generation.get_untracked() + 1;
        self.generation.set(generation);
        self.settling.set(true);
        set_timeout(
            move || {
                if self.generation.try_get_untracked() == Some(generation) {
                    self.settling.try_set(false);
                }
            },
            SETTLING,
        );
    }

    /// Whether taps are ignored now (reactive: use it in `disabled=`).
    pub fn settling(self) -> bool {
        self.settling.get()
    }
}
