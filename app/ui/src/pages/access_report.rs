//! #14: a citizen's access report for the municipality's administrator (see access log): who
//! looked at the citizen's record, when, what and why, from the server's audit log. Printed
//! on A4 for the citizen (the browser's "save as PDF") or downloaded as the server's CSV for
//! Danish Excel. Each report is itself logged on the server and shows in the next one.

use crate::i18n::{access_of, use_i18n};
use crate::{api, use_nav};
use homerehab_app_api::*;
use leptos::prelude::*;

#[component]
pub fn AccessReportPage() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let citizens = RwSignal::new(Vec::<CitizenView>::new());
    leptos::task::spawn_local(async move {
        if let Ok(list) = api::citizens().await {
            citizens.set(list);
        }
    });
    let chosen = RwSignal::new(String::new());
    let report = RwSignal::new(None::<Result<AccessReportView, ApiError>>);
    let busy = RwSignal::new(false);
    let make = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let citizen = chosen.get_untracked().trim().to_string();
        if citizen.is_empty() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            report.set(Some(api::access_report(&citizen).await));
            busy.set(false);
        });
    };
    let print = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    view! {
        <section class="access-report" data-testid="access-report-page">
            <div class="no-print">
                <h1>{move || access_of(i18n.t()).title}</h1>
                <p class="hint">{move || access_of(i18n.t()).intro}</p>
                <form class="card access-choose" on:submit=make>
                    <label>
                        <span>{move || access_of(i18n.t()).citizen}</span>
                        <select data-testid="access-citizen"
                            on:change=move |ev| chosen.set(event_target_value(&ev))>
                            <option value="">{move || access_of(i18n.t()).choose}</option>
                            {move || citizens.get().into_iter().map(|c| view! {
                                <option value=c.citizen_id.clone()>{format!("{} ({})", c.name, c.local_ref)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>
                        <span>{move || access_of(i18n.t()).or_id}</span>
                        <input name="citizen-id" data-testid="access-citizen-id"
                            prop:value=move || chosen.get()
                            on:input=move |ev| chosen.set(event_target_value(&ev)) />
                    </label>
                    <button class="btn primary big" type="submit" data-testid="make-access-report"
                        disabled=move || busy.get()>
                        {move || access_of(i18n.t()).make}
                    </button>
                </form>
            </div>
            {move || match report.get() {
                None => ().into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(r)) => {
                    // The report is in Danish whatever the screen's language: it is for the citizen.
                    let t = &crate::i18n::DA_ACCESS;
                    let csv_href = format!(
                        "data:text/csv;charset=utf-8,{}",
                        String::from(js_sys::encode_uri_component(&r.csv))
                    );
                    let file = format!("adgangsrapport-{}.csv", r.citizen_id);
                    let empty = r.lines.is_empty();
                    view! {
                        <article class="access-document card" data-testid="access-report" lang="da">
                            <div class="no-print report-actions">
                                <button class="btn primary big" data-testid="access-print" on:click=print>{t.print}</button>
                                <a class="btn big" data-testid="access-csv" href=csv_href download=file>{t.csv}</a>
                            </div>
                            <header class="report-head">
                                <h1>{t.report_title}</h1>
                                <p class="report-whose"><strong>{
                                    if r.citizen_name.is_empty() { r.citizen_id.clone() } else { r.citizen_name.clone() }
                                }</strong></p>
                                <p class="small">{(t.made)(&r.citizen_id, r.lines.len())}</p>
                                <p class="small" data-testid="access-made">{(t.made_by)(
                                    &r.made_at_text,
                                    &nav.me.get_untracked().map(|m| m.display_name).unwrap_or_default(),
                                )}</p>
                            </header>
                            <p class="small">{t.legal}</p>
                            {if empty {
                                view! { <p>{t.nothing}</p> }.into_any()
                            } else {
                                view! {
                                    <table class="history-table access-table" data-testid="access-lines">
                                        <thead><tr>
                                            <th>{t.when}</th><th>{t.who}</th><th>{t.role}</th>
                                            <th>{t.what}</th><th>{t.why}</th><th>{t.device}</th>
                                        </tr></thead>
                                        <tbody>{r.lines.into_iter().map(|l| view! {
                                            <tr data-testid="access-line">
                                                <td class="nowrap">{l.at_text}</td>
                                                <td>{l.who}</td>
                                                <td>{l.role}</td>
                                                <td>{l.what}</td>
                                                <td>{l.purpose}</td>
                                                <td class="small">{l.device.map(|d| d.chars().take(8).collect::<String>()).unwrap_or_default()}</td>
                                            </tr>
                                        }).collect_view()}</tbody>
                                    </table>
                                }.into_any()
                            }}
                            <p class="small muted">{t.footer}</p>
                        </article>
                    }.into_any()
                }
            }}
        </section>
    }
}
