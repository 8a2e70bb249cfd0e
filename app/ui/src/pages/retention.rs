//! #14 item 5: retention and erasure for the municipality's administrator (manage retention).
//! How long each kind of record is kept (never below the legal minimum: the server refuses it),
//! what the nightly retention job would erase today, and erasing one citizen where the law
//! allows — coded reason, an explicit second confirmation, then a sync so this device drops
//! its copy at once. The server decides; its refusals are shown as its messages.

use crate::i18n::{retention_of, use_i18n};
use crate::{api, use_nav};
use homerehab_app_api::*;
use leptos::prelude::*;

const REASONS: [&str; 3] = ["citizen_request", "recorded_in_error", "order"];

#[component]
fn Tile(value: u32, label: &'static str, testid: &'static str) -> impl IntoView {
    view! {
        <div class="tile" data-testid=testid>
            <span class="tile-value">{value}</span>
            <span class="tile-label">{label}</span>
        </div>
    }
}

#[component]
pub fn RetentionPage() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let settings = RwSignal::new(None::<Result<RetentionView, ApiError>>);
    let due = RwSignal::new(None::<Result<RetentionDueView, ApiError>>);
    let citizens = RwSignal::new(Vec::<CitizenView>::new());
    let load = move || {
        leptos::task::spawn_local(async move {
            settings.set(Some(api::retention().await));
            due.set(Some(api::retention_due().await));
            if let Ok(list) = api::citizens().await {
                citizens.set(list);
            }
        })
    };
    load();
    nav.reload_on_sync(load);

    // The years being edited, as typed.
    let course = RwSignal::new(String::new());
    let referral = RwSignal::new(String::new());
    let grant = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(s)) = settings.get() {
            course.set(s.years.course_years.to_string());
            referral.set(s.years.referral_years.to_string());
            grant.set(s.years.care_grant_years.to_string());
        }
    });
    let settings_message = RwSignal::new(None::<(bool, String)>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = retention_of(i18n.t());
        let parse = |s: RwSignal<String>| s.get_untracked().trim().parse::<u32>().ok();
        let (Some(c), Some(r), Some(g)) = (parse(course), parse(referral), parse(grant)) else {
            settings_message.set(Some((false, t.whole_years.to_string())));
            return;
        };
        leptos::task::spawn_local(async move {
            let years = RetentionYears {
                course_years: c,
                referral_years: r,
                care_grant_years: g,
            };
            match api::set_retention(years).await {
                Ok(v) => {
                    settings.set(Some(Ok(v)));
                    settings_message.set(Some((true, t.saved.to_string())));
                    due.set(Some(api::retention_due().await));
                }
                Err(e) => settings_message.set(Some((false, e.message))),
            }
        });
    };

    // Erasing one citizen: choose, give the reason, confirm a second time.
    let chosen = RwSignal::new(String::new());
    let reason = RwSignal::new(None::<&'static str>);
    let force = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let erase_message = RwSignal::new(None::<(bool, String)>);
    let chosen_name = move || {
        let id = chosen.get();
        citizens
            .get()
            .into_iter()
            .find(|c| c.citizen_id == id)
            .map(|c| c.name)
            .unwrap_or(id)
    };
    let ask = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !chosen.get_untracked().trim().is_empty() && reason.get_untracked().is_some() {
            erase_message.set(None);
            confirming.set(true);
        }
    };
    let erase = move |_| {
        let (citizen, Some(why)) = (
            chosen.get_untracked().trim().to_string(),
            reason.get_untracked(),
        ) else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let t = retention_of(i18n.t());
            match api::erase_citizen(&citizen, why, force.get_untracked()).await {
                Ok(receipt) => {
                    erase_message.set(Some((true, (t.erased)(&receipt))));
                    chosen.set(String::new());
                    reason.set(None);
                    force.set(false);
                    // This device drops its own copy now, not at the next background sync.
                    let _ = api::sync_now().await;
                    load();
                }
                Err(e) => erase_message.set(Some((false, format!("{}: {}", t.refused, e.message)))),
            }
            confirming.set(false);
            busy.set(false);
        });
    };

    let year_input =
        move |label: &'static str, minimum: u32, value: RwSignal<String>, testid: &'static str| {
            let t = retention_of(i18n.t());
            view! {
                <label class="retention-years">
                    <span>{label}</span>
                    <input type="number" inputmode="numeric" min=minimum max="30" required
                        data-testid=testid
                        prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev)) />
                    <span class="hint">{(t.at_least)(minimum)}</span>
                </label>
            }
        };

    view! {
        <section class="retention" data-testid="retention-page">
            <h1>{move || retention_of(i18n.t()).title}</h1>
            <p class="hint">{move || retention_of(i18n.t()).intro}</p>

            {move || match settings.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(s)) => {
                    let t = retention_of(i18n.t());
                    view! {
                        <form class="card retention-settings" on:submit=save>
                            <h2>{t.settings_title}</h2>
                            {year_input(t.course, s.minimum.course_years, course, "retention-course")}
                            {year_input(t.referral, s.minimum.referral_years, referral, "retention-referral")}
                            {year_input(t.care_grant, s.minimum.care_grant_years, grant, "retention-care-grant")}
                            {move || settings_message.get().map(|(ok, m)| view! {
                                <p class=if ok { "ok" } else { "error" } role="status" data-testid="retention-message">{m}</p>
                            })}
                            <button class="btn primary big" type="submit" data-testid="save-retention">{t.save}</button>
                        </form>
                    }.into_any()
                }
            }}

            {move || match due.get() {
                None | Some(Err(_)) => ().into_any(),
                Some(Ok(d)) => {
                    let t = retention_of(i18n.t());
                    let nothing = d.lines.is_empty();
                    view! {
                        <div class="card retention-due" data-testid="retention-due">
                            <h2>{(t.due_title)(&d.today)}</h2>
                            <div class="tiles">
                                <Tile value=d.courses label=t.due_courses testid="due-courses" />
                                <Tile value=d.referrals label=t.due_referrals testid="due-referrals" />
                                <Tile value=d.care_grants label=t.due_care_grants testid="due-care-grants" />
                                <Tile value=d.citizens label=t.due_citizens testid="due-citizens" />
                            </div>
                            <p class="hint">{if nothing { t.due_nothing } else { t.due_nightly }}</p>
                            <Show when=move || !nothing>
                                <ul class="due-lines">{d.lines.clone().into_iter().map(|l| {
                                    let who = if l.citizen_name.is_empty() { l.citizen_id.clone() } else { l.citizen_name.clone() };
                                    view! { <li data-testid="due-line">{format!("{} · {}", (t.kind)(&l.kind), who)}</li> }
                                }).collect_view()}</ul>
                            </Show>
                        </div>
                    }.into_any()
                }
            }}

            <form class="card erase-citizen" on:submit=ask>
                <h2>{move || retention_of(i18n.t()).erase_title}</h2>
                <p class="hint">{move || retention_of(i18n.t()).erase_intro}</p>
                <label>
                    <span>{move || retention_of(i18n.t()).citizen}</span>
                    <select data-testid="erase-citizen" prop:value=move || chosen.get()
                        on:change=move |ev| { chosen.set(event_target_value(&ev)); confirming.set(false); }>
                        <option value="">{move || retention_of(i18n.t()).choose}</option>
                        {move || citizens.get().into_iter().map(|c| view! {
                            <option value=c.citizen_id.clone()>{format!("{} ({})", c.name, c.local_ref)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <div class="choices column" role="radiogroup" aria-label=move || retention_of(i18n.t()).reason>
                    {REASONS.iter().enumerate().map(|(k, r)| {
                        let r = *r;
                        view! {
                            <button type="button" class="btn choice big" role="radio" data-testid="erase-reason"
                                aria-checked=move || (reason.get() == Some(r)).to_string()
                                class:selected=move || reason.get() == Some(r)
                                on:click=move |_| { reason.set(Some(r)); confirming.set(false); }>
                                {move || retention_of(i18n.t()).reasons[k]}
                            </button>
                        }
                    }).collect_view()}
                </div>
                <label class="check big-check">
                    <input type="checkbox" data-testid="erase-force"
                        prop:checked=move || force.get()
                        on:change=move |ev| force.set(event_target_checked(&ev)) />
                    <span>{move || retention_of(i18n.t()).force}</span>
                </label>
                {move || erase_message.get().map(|(ok, m)| view! {
                    <p class=if ok { "ok" } else { "error" } role="alert" data-testid="erase-message">{m}</p>
                })}
                <Show when=move || !confirming.get()>
                    <button class="btn primary danger big" type="submit" data-testid="erase-ask"
                        disabled=move || chosen.get().is_empty() || reason.get().is_none()>
                        {move || retention_of(i18n.t()).erase}
                    </button>
                </Show>
                <Show when=move || confirming.get()>
                    <div class="confirm-erase" role="alertdialog" data-testid="erase-confirm-box">
                        <p><strong>{move || (retention_of(i18n.t()).are_you_sure)(&chosen_name())}</strong></p>
                        <p>{move || retention_of(i18n.t()).cannot_undo}</p>
                        <div class="actions">
                            <button class="btn primary danger big" type="button" data-testid="erase-confirm"
                                disabled=move || busy.get() on:click=erase>
                                {move || retention_of(i18n.t()).confirm}
                            </button>
                            <button class="btn secondary big" type="button" on:click=move |_| confirming.set(false)>
                                {move || i18n.t().cancel}
                            </button>
                        </div>
                    </div>
                </Show>
            </form>
        </section>
    }
}
