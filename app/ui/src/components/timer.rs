//! A big countdown for holds, timed exercises and rests: tap to start, tap to stop. It starts
//! by itself when `autostart` is set (the rest after a logged set).

use leptos::prelude::*;
use std::time::Duration;

#[component]
pub fn Timer(
    seconds: u32,
    /// "Hold", "Pause"…
    label: String,
    /// Shown when the countdown has run out.
    done_label: &'static str,
    /// "Start"; the button's word before it runs.
    start_label: &'static str,
    #[prop(default = false)] autostart: bool,
    #[prop(default = "timer")] testid: &'static str,
) -> impl IntoView {
    let left = RwSignal::new(seconds);
    let running = RwSignal::new(false);
    let finished = RwSignal::new(false);
    let handle = StoredValue::new(None::<IntervalHandle>);
    let stop = move || {
        if let Some(h) = handle.get_value() {
            h.clear();
        }
        handle.set_value(None);
        running.set(false);
    };
    let start = move || {
        stop();
        left.set(seconds);
        finished.set(false);
        running.set(true);
        let h = set_interval_with_handle(
            move || {
                let l = left.get_untracked();
                if l <= 1 {
                    left.set(0);
                    finished.set(true);
                    if let Some(h) = handle.get_value() {
                        h.clear();
                    }
                    handle.set_value(None);
                    running.set(false);
                } else {
                    left.set(l - 1);
                }
            },
            Duration::from_secs(1),
        )
        .ok();
        handle.set_value(h);
    };
    if autostart {
        start();
    }
    on_cleanup(move || {
        if let Some(h) = handle.get_value() {
            h.clear();
        }
    });
    view! {
        <button class="btn timer" data-testid=testid
            class:running=move || running.get() class:finished=move || finished.get()
            on:click=move |_| if running.get_untracked() { stop() } else { start() }>
            <span class="timer-label">{label}</span>
            <span class="timer-value" data-testid=format!("{testid}-value")>
                {move || if finished.get() { done_label.to_string() }
                    else if running.get() { format!("{}", left.get()) }
                    else { format!("{start_label} · {seconds}") }}
            </span>
        </button>
    }
}
