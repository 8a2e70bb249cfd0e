//! Sign in (online, once); afterwards the device works offline.

use crate::i18n::use_i18n;
use crate::{api, use_nav, Page};
use homerehab_app_api::{ErrorKind, LockState};
use leptos::prelude::*;

#[component]
pub fn SignIn() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::login(username.get_untracked(), password.get_untracked()).await {
                Ok(me) => {
                    nav.me.set(Some(me));
                    // Fetch the team's citizens and courses right away, while there is a network.
                    let _ = api::sync_now().await;
                    nav.refresh_status();
                    nav.go(Page::ChoosePin);
                }
                // Said in the person's language; other errors (offline…) keep the core's words.
                Err(e) => error.set(Some(match e.kind {
                    ErrorKind::SignIn => i18n.t().wrong_password.to_string(),
                    ErrorKind::TooManyAttempts => i18n.t().too_many_attempts.to_string(),
                    ErrorKind::Busy => i18n.t().server_busy.to_string(),
                    ErrorKind::DeviceRevoked => {
                        nav.refresh_status();
                        e.message
                    }
                    _ => e.message,
                })),
            }
            busy.set(false);
        });
    };
    let locked_out = move || {
        nav.status
            .get()
            .is_some_and(|s| s.lock == LockState::SignInRequired)
    };
    // #14: a revoked device erased its data; say by whom and why until someone signs in.
    let revoked = move || {
        nav.status.get().and_then(|s| s.revoked).map(|r| {
            let when = crate::pages::caseload::date_time_text(r.at);
            (crate::i18n::devices_of(i18n.t()).erased_notice)(&r.by, &r.reason, &when)
        })
    };
    view! {
        <form class="card sign-in" on:submit=submit>
            <h1>{move || i18n.t().sign_in_title}</h1>
            {move || revoked().map(|text| view! {
                <p class="notice warn" data-testid="device-revoked" role="alert">{text}</p>
            })}
            <Show when=locked_out>
                <p class="notice warn" data-testid="sign-in-again">{move || i18n.t().sign_in_again}</p>
            </Show>
            <label>
                <span>{move || i18n.t().username}</span>
                <input name="username" autocomplete="username" autocapitalize="none" required
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev)) />
            </label>
            <label>
                <span>{move || i18n.t().password}</span>
                <input name="password" type="password" autocomplete="current-password" required
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            <p class="error" role="alert">{move || error.get()}</p>
            <button class="btn primary big" type="submit" data-testid="sign-in" disabled=move || busy.get()>
                {move || if busy.get() { i18n.t().signing_in } else { i18n.t().sign_in }}
            </button>
            <p class="hint">{move || i18n.t().sign_in_online_hint}</p>
        </form>
    }
}
