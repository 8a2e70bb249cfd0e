//! #14: the devices of the municipality's staff, for leaders and admins (manage devices): who
//! uses which tablet, when it was last seen, and a big "Spær" button for a lost one. Revoking
//! asks why (the device shows it). Each person can also be signed out everywhere.

use crate::i18n::{devices_of, use_i18n};
use crate::pages::caseload::{date_text, date_time_text};
use crate::{api, use_nav};
use homerehab_app_api::*;
use leptos::prelude::*;

#[component]
pub fn DevicesPage() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let data = RwSignal::new(None::<Result<Vec<DeviceRow>, ApiError>>);
    let load =
        move || leptos::task::spawn_local(async move { data.set(Some(api::devices().await)) });
    load();
    nav.reload_on_sync(load);
    // The device whose "Spær" was pressed, and the reason being typed.
    let revoking = RwSignal::new(None::<String>);
    let reason = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(device) = revoking.get_untracked() else {
            return;
        };
        let why = reason.get_untracked();
        leptos::task::spawn_local(async move {
            match api::revoke_device(&device, why).await {
                Ok(_) => {
                    revoking.set(None);
                    reason.set(String::new());
                    message.set(None);
                    load();
                }
                Err(e) => message.set(Some(e.message)),
            }
        });
    };
    let sign_out_everywhere = move |user: String| {
        leptos::task::spawn_local(async move {
            let t = devices_of(i18n.t());
            message.set(Some(match api::sign_out_everywhere(&user).await {
                Ok(done) => (t.signed_out_everywhere)(done.ended),
                Err(e) => e.message,
            }));
        });
    };
    view! {
        <section class="devices" data-testid="devices">
            <h1>{move || devices_of(i18n.t()).title}</h1>
            <p class="hint">{move || devices_of(i18n.t()).intro}</p>
            <p class="error" role="alert">{move || message.get()}</p>
            {move || match data.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(rows)) if rows.is_empty() => {
                    view! { <p>{devices_of(i18n.t()).empty}</p> }.into_any()
                }
                Some(Ok(rows)) => {
                    let t = devices_of(i18n.t());
                    view! {
                        <table class="history-table card">
                            <thead><tr>
                                <th>{t.person}</th><th>{t.first_seen}</th><th>{t.last_seen}</th>
                                <th>{t.version}</th><th>{t.state}</th><th></th>
                            </tr></thead>
                            <tbody>{rows.into_iter().map(|d| {
                                let state = match &d.revoked {
                                    None => t.active.to_string(),
                                    Some(r) => format!("{} ({})", (t.revoked_by)(&r.by_name, &r.reason),
                                        if r.handed_over_at.is_some() { t.handed_over } else { t.awaiting_hand_over }),
                                };
                                let id = d.id.clone();
                                let user = d.user_id.clone();
                                let active = d.revoked.is_none();
                                view! {
                                    <tr data-testid="device-row" class:revoked=!active>
                                        <th scope="row">{d.display_name.clone()}
                                            {d.this_device.then(|| view! { <span class="hint" data-testid="this-device">{format!(" ({})", t.this_device)}</span> })}
                                        </th>
                                        <td>{date_text(d.first_seen)}</td>
                                        <td>{date_time_text(d.last_seen)}</td>
                                        <td>{d.app_version.clone()}</td>
                                        <td data-testid="device-state">{state}</td>
                                        <td>
                                            <Show when=move || active>
                                                {
                                                    let id = id.clone();
                                                    view! {
                                                        <button class="btn primary danger big" data-testid="revoke-device"
                                                            on:click=move |_| revoking.set(Some(id.clone()))>
                                                            {t.revoke}
                                                        </button>
                                                    }
                                                }
                                            </Show>
                                            {
                                                let user = user.clone();
                                                view! {
                                                    <button class="btn ghost" data-testid="sign-out-everywhere"
                                                        on:click=move |_| sign_out_everywhere(user.clone())>
                                                        {t.sign_out_everywhere}
                                                    </button>
                                                }
                                            }
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }
            }}
            <Show when=move || revoking.get().is_some()>
                <form class="card" data-testid="revoke-form" on:submit=confirm>
                    <label>
                        <span>{move || devices_of(i18n.t()).reason}</span>
                        <input name="reason" required maxlength="500"
                            prop:value=move || reason.get()
                            on:input=move |ev| reason.set(event_target_value(&ev)) />
                    </label>
                    <p class="hint">{move || devices_of(i18n.t()).reason_hint}</p>
                    <button class="btn primary danger big" type="submit" data-testid="confirm-revoke">
                        {move || devices_of(i18n.t()).confirm}
                    </button>
                    <button class="btn ghost" type="button" on:click=move |_| revoking.set(None)>
                        {move || i18n.t().cancel}
                    </button>
                </form>
            </Show>
        </section>
    }
}
