//! The on-screen PIN keypad: big keys (≥ 64 px, usable with gloves), a dot per digit entered,
//! erase and OK. Digits never show on screen.

use crate::i18n::use_i18n;
use leptos::prelude::*;

/// The longest PIN.
pub const PIN_MAX: usize = 6;
/// The shortest PIN.
pub const PIN_MIN: usize = 4;

#[component]
pub fn Keypad(
    /// The digits entered so far.
    digits: RwSignal<String>,
    /// OK was pressed with 4–6 digits.
    on_submit: Callback<()>,
    /// While a request runs the keys wait.
    busy: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let press = move |d: char| {
        digits.update(|s| {
            if s.len() < PIN_MAX {
                s.push(d);
            }
        })
    };
    let key = move |d: char| {
        view! {
            <button class="btn key" data-testid=format!("key-{d}") disabled=move || busy.get()
                on:click=move |_| press(d)>
                {d.to_string()}
            </button>
        }
    };
    let dots = move || {
        let n = digits.with(|s| s.len());
        (0..n.max(PIN_MIN))
            .map(|k| view! { <span class="pin-dot" class:filled=(k < n)></span> })
            .collect_view()
    };
    view! {
        <div class="pin-dots" data-testid="pin-dots" role="img"
            aria-label=move || format!("{} / {PIN_MAX}", digits.with(|s| s.len()))>
            {dots}
        </div>
        <div class="keypad" data-testid="keypad">
            {['1', '2', '3', '4', '5', '6', '7', '8', '9'].into_iter().map(key).collect_view()}
            <button class="btn key word" data-testid="key-erase" disabled=move || busy.get()
                on:click=move |_| digits.update(|s| { s.pop(); })>
                {move || i18n.t().erase}
            </button>
            {key('0')}
            <button class="btn key word primary" data-testid="key-ok"
                disabled=move || busy.get() || digits.with(|s| s.len() < PIN_MIN)
                on:click=move |_| on_submit.run(())>
                "OK"
            </button>
        </div>
    }
}
