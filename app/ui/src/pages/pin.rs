//! The PIN screens: choose a PIN right after signing in online, and unlock with it — offline
//! too — when the app starts or has locked itself. The rules (4–6 digits, 5 attempts, idle
//! lock) are the app core's; these screens only show them.

use crate::components::Keypad;
use crate::i18n::use_i18n;
use crate::{api, use_nav, Page};
use homerehab_app_api::ErrorKind;
use leptos::prelude::*;

/// What went wrong, shown in the current language.
#[derive(Clone, Debug, PartialEq)]
enum PinError {
    Wrong(u32),
    Differ,
    Other(String),
}

#[component]
fn PinErrorText(error: RwSignal<Option<PinError>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="error" role="alert" data-testid="pin-error">
            {move || error.get().map(|e| match e {
                PinError::Wrong(n) => (i18n.t().wrong_pin)(n),
                PinError::Differ => i18n.t().pins_differ.to_string(),
                PinError::Other(m) => m,
            })}
        </p>
    }
}

/// "Vælg pinkode", then "Gentag pinkode"; then today's visits.
#[component]
pub fn ChoosePin() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let digits = RwSignal::new(String::new());
    let first = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<PinError>);
    let submit = Callback::new(move |()| {
        let pin = digits.get_untracked();
        digits.set(String::new());
        match first.get_untracked() {
            None => {
                error.set(None);
                first.set(Some(pin));
            }
            Some(p) if p != pin => {
                first.set(None);
                error.set(Some(PinError::Differ));
            }
            Some(_) => {
                busy.set(true);
                leptos::task::spawn_local(async move {
                    match api::set_pin(pin).await {
                        Ok(status) => {
                            nav.status.set(Some(status));
                            nav.home();
                        }
                        Err(e) => {
                            first.set(None);
                            error.set(Some(PinError::Other(e.message)));
                        }
                    }
                    busy.set(false);
                });
            }
        }
    });
    view! {
        <section class="card pin" data-testid="choose-pin">
            <h1>{move || if first.get().is_none() { i18n.t().choose_pin_title } else { i18n.t().repeat_pin_title }}</h1>
            <p class="hint">{move || i18n.t().choose_pin_hint}</p>
            <Keypad digits on_submit=submit busy />
            <PinErrorText error />
        </section>
    }
}

/// "Lås op med pinkode": shown instead of the page while the app is locked; the page under it
/// keeps its state and shows again once unlocked.
#[component]
pub fn Unlock() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let digits = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<PinError>);
    let who = RwSignal::new(String::new());
    leptos::task::spawn_local(async move {
        if let Ok(Some(me)) = api::me().await {
            who.set(me.display_name);
        }
    });
    let submit = Callback::new(move |()| {
        let pin = digits.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::unlock(pin).await {
                Ok(status) => {
                    error.set(None);
                    if nav.page.get_untracked() == Page::Loading {
                        nav.home();
                    }
                    nav.status.set(Some(status));
                }
                Err(e) => {
                    digits.set(String::new());
                    match (e.kind, e.attempts_left) {
                        (ErrorKind::WrongPin, Some(n)) if n > 0 => {
                            error.set(Some(PinError::Wrong(n)))
                        }
                        // Too many wrong PINs: only an online sign-in opens the app now.
                        (ErrorKind::WrongPin, _) | (ErrorKind::NotSignedIn, _) => {
                            nav.go(Page::SignIn);
                            nav.refresh_status();
                        }
                        _ => error.set(Some(PinError::Other(e.message))),
                    }
                }
            }
            busy.set(false);
        });
    });
    view! {
        <section class="card pin" data-testid="unlock">
            <h1>{move || i18n.t().unlock_title}</h1>
            <p class="hint">{move || who.get()}</p>
            <Keypad digits on_submit=submit busy />
            <PinErrorText error />
        </section>
    }
}
