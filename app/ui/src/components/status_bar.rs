//! The status line at the top of every screen: offline / syncing / synced / N waiting, the
//! time of the last sync, "sync now", "lock" and the language switch.

use crate::i18n::use_i18n;
use crate::{api, use_nav};
use homerehab_app_api::{LockState, Status, SyncState};
use leptos::prelude::*;
use std::time::Duration;

/// `HH:MM` local time of a Unix-millisecond timestamp.
pub fn clock(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

#[component]
pub fn StatusBar() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let syncing = RwSignal::new(false);
    nav.refresh_status();
    set_interval(move || nav.refresh_status(), Duration::from_secs(2));

    let sync_now = move |_| {
        syncing.set(true);
        leptos::task::spawn_local(async move {
            let _ = api::sync_now().await; // an offline failure shows in the status itself
            syncing.set(false);
            nav.refresh_status();
        });
    };
    let state = move || {
        if syncing.get() {
            Some(SyncState::Syncing)
        } else {
            nav.status
                .get()
                .filter(|s| s.lock != LockState::SignedOut)
                .map(|s| s.state)
        }
    };
    // Refused changes still on the device, with why: the status says so until they go.
    let unsent_refusals = move || {
        nav.status
            .get()
            .map(|s| {
                s.refused
                    .into_iter()
                    .filter(|r| r.unsent)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let show_why = RwSignal::new(false);
    let text = move || {
        let t = i18n.t();
        let Some(Status { waiting, lock, .. }) = nav.status.get() else {
            return String::new();
        };
        // Before anyone signs in there is nothing to sync: "offline" would only alarm.
        if lock == LockState::SignedOut {
            return String::new();
        }
        match state() {
            Some(SyncState::Syncing) => t.syncing.to_string(),
            Some(SyncState::Refused) => (t.refused)(unsent_refusals().len()),
            Some(SyncState::Offline) if waiting > 0 => {
                format!("{} · {}", t.offline, (t.waiting)(waiting))
            }
            Some(SyncState::Offline) => t.offline.to_string(),
            Some(SyncState::UpdateRequired) => t.update_required.to_string(),
            Some(SyncState::ServerBehind) => t.server_behind.to_string(),
            Some(SyncState::SignInAgain) => t.sync_sign_in_ended.to_string(),
            Some(SyncState::Waiting) => (t.waiting)(waiting),
            Some(SyncState::Synced) => t.synced.to_string(),
            None => String::new(),
        }
    };
    let class = move || match state() {
        // Like a refusal: it needs someone to act, and waiting will not mend it.
        Some(SyncState::Refused | SyncState::UpdateRequired | SyncState::SignInAgain) => {
            "status refused"
        }
        Some(SyncState::Offline) => "status offline",
        Some(SyncState::Syncing) => "status syncing",
        // Nobody here needs to act: the server catches up, as with changes that wait.
        Some(SyncState::Waiting | SyncState::ServerBehind) => "status waiting",
        _ => "status synced",
    };
    let last = move || {
        nav.status
            .get()
            .and_then(|s| s.last_sync)
            .map(|ms| format!("{} {}", i18n.t().last_sync, clock(ms)))
    };
    let lock = move || nav.status.get().map(|s| s.lock);
    let open = move || matches!(lock(), Some(LockState::NoPin | LockState::Unlocked));
    let lock_now = move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(s) = api::lock().await {
                nav.status.set(Some(s));
            }
        });
    };
    // #14: signing out ends the sign-in on the server too; the work stays on the device.
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            match api::sign_out().await {
                Ok(s) => nav.status.set(Some(s)),
                // Revoked: signed out all the same; the sign-in page says by whom and why.
                Err(e) if e.kind == homerehab_app_api::ErrorKind::DeviceRevoked => {
                    nav.refresh_status()
                }
                Err(_) => return,
            }
            nav.me.set(None);
            nav.go(crate::Page::SignIn);
        });
    };
    view! {
        <header class=class data-testid="status" role="status" aria-live="polite">
            <span class="status-dot" aria-hidden="true"></span>
            <span class="status-text" data-testid="status-text">{text}</span>
            <span class="status-last">{last}</span>
            <Show when=move || !unsent_refusals().is_empty()>
                <button class="btn ghost" data-testid="refused-why" aria-expanded=move || show_why.get().to_string()
                    on:click=move |_| show_why.update(|v| *v = !*v)>
                    {move || i18n.t().refused_why}
                </button>
            </Show>
            // The sign-in ended on the server: signing out and in again sends the work kept
            // here (signing out keeps it).
            <Show when=move || state() == Some(SyncState::SignInAgain)>
                <button class="btn primary" data-testid="sync-sign-in-again" on:click=sign_out>
                    {move || i18n.t().sign_in_again_button}
                </button>
            </Show>
            <Show when=open>
                <button class="btn ghost" data-testid="sync-now" on:click=sync_now disabled=move || syncing.get()>
                    {move || i18n.t().sync_now}
                </button>
            </Show>
            <Show when=move || lock() == Some(LockState::Unlocked)>
                <button class="btn ghost" data-testid="lock" on:click=lock_now>
                    {move || i18n.t().lock}
                </button>
            </Show>
            <Show when=open>
                <button class="btn ghost" data-testid="sign-out" on:click=sign_out>
                    {move || crate::i18n::devices_of(i18n.t()).sign_out}
                </button>
            </Show>
            <button class="btn ghost" data-testid="language" on:click=move |_| i18n.toggle()>
                {move || i18n.t().other_language}
            </button>
        </header>
        {move || {
            let s = nav.status.get()?;
            let t = i18n.t();
            let mut lines: Vec<String> =
                s.parked.iter().map(|(who, n)| (t.parked)(who, *n)).collect();
            if s.damaged > 0 {
                lines.push((t.damaged)(s.damaged));
            }
            if s.erased_courses > 0 {
                lines.push((t.erased_courses)(s.erased_courses));
            }
            (!lines.is_empty()).then(|| view! {
                <section class="device-notes" data-testid="device-notes" role="status">
                    {lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}
                </section>
            })
        }}
        <Show when=move || show_why.get() && !unsent_refusals().is_empty()>
            <section class="refusals" data-testid="refusals" role="alert">
                <ul>
                    {move || unsent_refusals().into_iter().map(|r| {
                        let t = i18n.t();
                        view! {
                            <li data-testid="refusal">
                                <strong>{r.citizen_name.clone().unwrap_or_else(|| r.document.clone())}</strong>
                                ": " {refusal_text(t, &r.refusal)}
                                {server_words(&r)}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <p>{move || i18n.t().refused_kept}</p>
            </section>
        </Show>
    }
}

/// The person's words for a kind of refusal (`rejected`, `forbidden`, `unresolved`).
pub fn refusal_text(t: &crate::i18n::Texts, kind: &str) -> &'static str {
    match kind {
        "forbidden" => t.refusal_kinds[1],
        "unresolved" => t.refusal_kinds[2],
        _ => t.refusal_kinds[0],
    }
}

/// The server's own reason, where it gave one (it speaks English; shown as said).
fn server_words(r: &homerehab_app_api::RefusedChange) -> Option<impl IntoView> {
    (r.refusal == "rejected")
        .then(|| view! { <span class="muted">" (" {r.detail.clone()} ")"</span> })
}

/// On a course or a visit: the server refused changes to it (they are kept on the device).
#[component]
pub fn RefusalNotice(course: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let here = move || {
        nav.status
            .get()
            .map(|s| {
                s.refused
                    .into_iter()
                    .filter(|r| r.unsent && r.course_id.as_deref() == Some(course.as_str()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    view! {
        {move || {
            let refused = here();
            (!refused.is_empty()).then(|| {
                let t = i18n.t();
                view! {
                    <p class="refusal-notice" data-testid="refusal-notice" role="alert">
                        <strong>{t.refused_here}</strong>
                        {refused.into_iter().map(|r| view! {
                            <span class="refusal-line">{refusal_text(t, &r.refusal)} {server_words(&r)}</span>
                        }).collect_view()}
                    </p>
                }
            })
        }}
    }
}
