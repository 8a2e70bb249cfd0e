//! Home-care time ("Hjemmeplejetid"): import the care record system's CSV export
//! (docs/care-time-import.md) and add a single grant by hand. What to do with bad lines is
//! chosen BEFORE the import, since the import applies that choice at once; the report then says
//! line by line what happened, in words.

use crate::i18n::use_i18n;
use crate::intake_api::{self, CareGrantView, ImportProgress};
use crate::pages::new_course::today_iso;
use crate::{api, use_nav};
use homerehab_app_api::*;
use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The text of the chosen file: UTF-8 (with or without a byte-order mark) when it is that,
/// else Windows-1252, which is what Danish Excel writes as "CSV (semikolonsepareret)" — read as
/// UTF-8, its æ, ø and å would be lost before the import sees them.
async fn file_text(file: web_sys::File) -> Result<String, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("{e:?}"))?;
    let bytes = js_sys::Uint8Array::new(&buffer);
    let decode = |label: &str, fatal: bool| {
        let options = web_sys::TextDecoderOptions::new();
        options.set_fatal(fatal);
        web_sys::TextDecoder::new_with_label_and_options(label, &options)
            .and_then(|d| d.decode_with_js_u8_array(&bytes))
    };
    decode("utf-8", true)
        .or_else(|_| decode("windows-1252", true))
        .map_err(|e| format!("the file is not text: {e:?}"))
}

#[component]
pub fn CareTime() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let input = NodeRef::<leptos::html::Input>::new();
    let choice = RwSignal::new("good_lines");
    let busy = RwSignal::new(false);
    let progress = RwSignal::new(None::<ImportProgress>);
    let report = RwSignal::new(None::<(ImportReport, &'static str)>);
    let error = RwSignal::new(None::<String>);

    let import = move |_| {
        let Some(file) = input
            .get_untracked()
            .and_then(|i| i.files())
            .and_then(|f| f.get(0))
        else {
            error.set(Some(i18n.intake().choose_csv_first.to_string()));
            return;
        };
        error.set(None);
        report.set(None);
        progress.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let text = match file_text(file).await {
                Ok(t) => t,
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                    return;
                }
            };
            // Poll the progress while the import request is pending (a 100,000-line file
            // takes seconds); the poll stops when `busy` drops.
            leptos::task::spawn_local(poll_progress(busy, progress));
            let chosen = choice.get_untracked();
            let result = api::import_care_time(ImportCareTime {
                file: text,
                choice: chosen.to_string(),
            })
            .await;
            busy.set(false);
            match result {
                Ok(r) => {
                    report.set(Some((r, chosen)));
                    nav.refresh_status();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };

    let choice_button =
        move |key: &'static str,
              title: fn(&'static crate::i18n::IntakeTexts) -> &'static str,
              hint: fn(&'static crate::i18n::IntakeTexts) -> &'static str| {
            view! {
                <button class="template-card" data-testid=format!("choice-{key}")
                    class:selected=move || choice.get() == key
                    aria-pressed=move || (choice.get() == key).to_string()
                    on:click=move |_| choice.set(key)>
                    <strong>{move || title(i18n.intake())}</strong>
                    <span class="muted">{move || hint(i18n.intake())}</span>
                </button>
            }
        };

    view! {
        <section class="care-time">
            <h1>{move || i18n.intake().care_title}</h1>
            <div class="card step">
                <label class="field"><span>{move || i18n.intake().care_file}</span>
                    <input type="file" accept=".csv,text/csv,text/plain" node_ref=input data-testid="care-file" /></label>
                <p class="muted">{move || i18n.intake().care_file_hint}</p>
                <p class="label">{move || i18n.intake().choice_title}</p>
                <div class="template-grid">
                    {choice_button("good_lines", |t| t.choice_good, |t| t.choice_good_hint)}
                    {choice_button("all_or_nothing", |t| t.choice_all, |t| t.choice_all_hint)}
                </div>
                <button class="btn primary big" data-testid="care-import" disabled=move || busy.get() on:click=import>
                    {move || i18n.intake().import}
                </button>
                <Show when=move || busy.get()>
                    <ImportProgressBar progress=progress />
                </Show>
                <p class="error" role="alert">{move || error.get()}</p>
            </div>
            {move || report.get().map(|(r, c)| view! { <ImportReportView report=r choice=c /> })}
            <AddCareGrant />
        </section>
    }
}

/// Asks for the import's progress every 300 ms while `busy` (and the page is still there:
/// `try_`, since the user may leave the page while an answer is on its way).
async fn poll_progress(busy: RwSignal<bool>, progress: RwSignal<Option<ImportProgress>>) {
    loop {
        gloo_timers_sleep(300).await;
        if busy.try_get_untracked() != Some(true) {
            return;
        }
        if let Ok(p) = intake_api::import_progress().await {
            if busy.try_get_untracked() == Some(true) {
                progress.try_set(Some(p));
            }
        }
    }
}

/// A `setTimeout` as a future.
async fn gloo_timers_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

#[component]
fn ImportProgressBar(progress: RwSignal<Option<ImportProgress>>) -> impl IntoView {
    let i18n = use_i18n();
    let phase = move || {
        let t = i18n.intake();
        match progress.get().map(|p| p.phase).as_deref() {
            Some("checking") => t.phases[1],
            Some("saving") => t.phases[2],
            Some("done") => t.phases[3],
            _ => t.phases[0],
        }
    };
    // Without a total yet the bar is indeterminate (no `value`).
    let value = move || {
        progress.get().and_then(|p| {
            p.lines_total
                .filter(|t| *t > 0)
                .map(|t| (p.lines_done.min(t) as f64 / t as f64).to_string())
        })
    };
    view! {
        <div class="import-progress" data-testid="import-progress">
            <progress max="1" value=value></progress>
            <span>{phase} " · "
                {move || progress.get().map(|p| (i18n.intake().lines_progress)(p.lines_done, p.lines_total))}</span>
        </div>
    }
}

#[component]
fn ImportReportView(report: ImportReport, choice: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let ImportReport {
        applied,
        imported,
        already_present,
        duplicates,
        duplicates_total,
        bad,
        bad_total,
        not_in_file,
    } = report;
    // Older answers did not count: then the list is all there is.
    let bad_total = (bad_total as usize).max(bad.len());
    let duplicates_total = (duplicates_total as usize).max(duplicates.len());
    let present = already_present.len();
    // The same file again: what was good is stored already; only the bad lines remain.
    let nothing_new = imported == 0 && present > 0;
    let rolled_back = choice == "all_or_nothing" && !applied && !bad.is_empty();
    view! {
        <div class="card import-report" data-testid="import-report">
            <h2>{move || i18n.intake().report_title}</h2>
            <ul class="report-lines">
                <li class="good" data-testid="report-imported">{move || (i18n.intake().imported_n)(imported)}</li>
                {(present > 0).then(|| view! {
                    <li data-testid="report-present">{move || (i18n.intake().present_n)(present)}</li>
                })}
                {(!duplicates.is_empty()).then(|| {
                    let n = duplicates_total;
                    view! {
                        <li data-testid="report-duplicates">{move || (i18n.intake().duplicates_n)(n)}
                            <ul>{duplicates.iter().map(|(l, same)| {
                                let (l, same) = (*l, *same);
                                view! { <li>{move || (i18n.intake().duplicate_of)(l, same)}</li> }
                            }).collect_view()}</ul>
                        </li>
                    }
                })}
            </ul>
            {nothing_new.then(|| view! {
                <p class="notice" data-testid="report-nothing-new">{move || i18n.intake().nothing_new}</p>
            })}
            {rolled_back.then(|| view! {
                <p class="notice warn" data-testid="report-nothing-applied">{move || i18n.intake().nothing_applied}</p>
            })}
            {(!bad.is_empty()).then(|| {
                let n = bad_total;
                let not_listed = (bad_total - bad.len()) as u64;
                view! {
                    <h3 class="bad-title">{move || (i18n.intake().bad_n)(n)}</h3>
                    <table class="bad-lines" data-testid="report-bad">
                        <tbody>
                            {bad.into_iter().map(|b| view! {
                                <tr data-testid="bad-line">
                                    <th scope="row">{move || (i18n.intake().line_n)(b.line)}</th>
                                    <td>{move || (i18n.intake().problem)(&b.problem, b.detail.as_deref())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {(not_listed > 0).then(|| view! {
                        <p class="muted" data-testid="report-not-listed">{move || (i18n.intake().not_listed_n)(not_listed)}</p>
                    })}
                }
            })}
            {(!not_in_file.is_empty()).then(|| {
                let n = not_in_file.len();
                view! {
                    <h3 data-testid="not-in-file-title">{move || (i18n.intake().not_in_file_n)(n)}</h3>
                    <p class="muted">{move || i18n.intake().not_in_file_hint}</p>
                    <ul class="not-in-file" data-testid="not-in-file">
                        {not_in_file.into_iter().map(|c| view! { <CareEndedRow citizen=c /> }).collect_view()}
                    </ul>
                }
            })}
        </div>
    }
}

/// A citizen the imported file left out: the day their home care ended, chosen by the person
/// (no default: a guessed day would be counted as a fact) among the days the operation takes
/// (`first_end_day`..`last_end_day`, from `care_time::care_end_days`), then recorded with one
/// tap. One whose grants already say it ended is asked only whether they are still without
/// it: one tap.
#[component]
fn CareEndedRow(citizen: NotInFileView) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let still = citizen.ended_since.clone();
    let date = RwSignal::new(still.clone().unwrap_or_default());
    let saved = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let NotInFileView {
        citizen_id,
        citizen_name,
        local_ref,
        follow_up_date,
        minutes_per_week,
        last_recorded: _,
        ended_since: _,
        first_end_day,
        last_end_day,
    } = citizen;
    // A typed day is not held to the input's bounds: the same bounds, checked here (ISO days
    // compare as strings).
    let (first, last) = (first_end_day.clone(), last_end_day.clone());
    let asks_still = still.is_some();
    let record = move |_| {
        let id = citizen_id.clone();
        let on = date.get_untracked();
        error.set(None);
        let within =
            first.as_ref().is_none_or(|f| *f <= on) && last.as_ref().is_none_or(|l| on <= *l);
        if on.is_empty() || (!asks_still && !within) {
            error.set(Some(i18n.intake().choose_end_day.to_string()));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::record_care_ended(&id, on.clone()).await {
                Ok(_) => {
                    saved.set(Some(on));
                    nav.refresh_status();
                }
                // Refused as a day the grants do not allow (they changed since the list was
                // read): said in the user's language, not the operation's.
                Err(e) if e.kind == homerehab_app_api::ErrorKind::Invalid => {
                    error.set(Some(i18n.intake().end_day_refused.to_string()))
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <li class="card not-in-file-row" data-testid="not-in-file-row">
            <div class="who">
                <strong>{citizen_name}</strong>
                <span class="muted">{format!(" · {local_ref} · ")}
                    {move || (i18n.intake().follow_up_on)(&follow_up_date)}
                    {minutes_per_week.map(|m| view! { " · " {move || (i18n.intake().had_minutes)(m)} })}
                </span>
            </div>
            {move || match (saved.get(), still.clone()) {
                (Some(_), Some(_)) => view! {
                    <p class="notice" data-testid="care-ended-saved">{i18n.intake().still_ended_saved}</p>
                }.into_any(),
                (Some(on), None) => view! {
                    <p class="notice" data-testid="care-ended-saved">{(i18n.intake().care_ended_saved)(&on)}</p>
                }.into_any(),
                (None, Some(since)) => view! {
                    <div class="row">
                        <span data-testid="ended-since">{(i18n.intake().ended_since)(&since)}</span>
                        <button class="btn primary big" data-testid="care-ended" disabled=move || busy.get()
                            on:click=record.clone()>{move || i18n.intake().still_ended}</button>
                    </div>
                }.into_any(),
                (None, None) if last_end_day.is_none() => view! {
                    <p class="muted" data-testid="no-end-day">{move || i18n.intake().no_end_day}</p>
                }.into_any(),
                (None, None) => view! {
                    <div class="row">
                        <label class="field"><span>{move || i18n.intake().ended_on}</span>
                            <input type="date" data-testid="care-ended-date" prop:value=move || date.get()
                                min=first_end_day.clone() max=last_end_day.clone()
                                on:input=move |ev| date.set(event_target_value(&ev)) /></label>
                        <button class="btn primary big" data-testid="care-ended" disabled=move || busy.get()
                            on:click=record.clone()>{move || i18n.intake().care_ended}</button>
                    </div>
                }.into_any(),
            }}
            <p class="error" role="alert">{move || error.get()}</p>
        </li>
    }
}

/// One grant by hand, for a citizen on the roster ("Tilføj bevilling").
#[component]
pub fn AddCareGrant() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let citizens = RwSignal::new(Vec::<CitizenView>::new());
    let citizen = RwSignal::new(String::new());
    let effective = RwSignal::new(today_iso());
    let minutes = RwSignal::new(String::new());
    let service = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let grants = RwSignal::new(Vec::<CareGrantView>::new());
    leptos::task::spawn_local(async move {
        if let Ok(c) = api::citizens().await {
            citizens.set(c);
        }
    });
    let load_grants = move |id: String| {
        leptos::task::spawn_local(async move {
            grants.set(intake_api::care_grants(&id).await.unwrap_or_default());
        })
    };
    let save = move |_| {
        saved.set(false);
        error.set(None);
        let id = citizen.get_untracked();
        if id.is_empty() {
            error.set(Some(i18n.intake().choose_citizen.to_string()));
            return;
        }
        let Ok(m) = minutes.get_untracked().trim().parse::<u32>() else {
            error.set(Some(i18n.intake().grant_minutes.to_string()));
            return;
        };
        let body = NewCareGrant {
            effective: effective.get_untracked(),
            minutes_per_week: m,
            service_code: Some(service.get_untracked().trim().to_string())
                .filter(|s| !s.is_empty()),
        };
        leptos::task::spawn_local(async move {
            match api::add_care_grant(&id, body).await {
                Ok(_) => {
                    saved.set(true);
                    nav.refresh_status();
                    load_grants(id);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="card step add-grant" data-testid="add-grant">
            <h2>{move || i18n.intake().add_grant}</h2>
            <div class="form-grid">
                <label class="field"><span>{move || i18n.intake().choose_citizen}</span>
                    <select data-testid="grant-citizen" on:change=move |ev| {
                        let id = event_target_value(&ev);
                        citizen.set(id.clone());
                        if !id.is_empty() { load_grants(id); }
                    }>
                        <option value="">"—"</option>
                        {move || citizens.get().into_iter().map(|c| view! {
                            <option value=c.citizen_id.clone()>{format!("{} · {}", c.name, c.local_ref)}</option>
                        }).collect_view()}
                    </select></label>
                <label class="field"><span>{move || i18n.intake().grant_effective}</span>
                    <input type="date" data-testid="grant-effective" prop:value=move || effective.get()
                        on:input=move |ev| effective.set(event_target_value(&ev)) /></label>
                <label class="field"><span>{move || i18n.intake().grant_minutes}</span>
                    <input type="number" inputmode="numeric" min="0" max="10080" data-testid="grant-minutes"
                        prop:value=move || minutes.get() on:input=move |ev| minutes.set(event_target_value(&ev)) /></label>
                <label class="field"><span>{move || i18n.intake().grant_service}</span>
                    <input data-testid="grant-service" prop:value=move || service.get()
                        on:input=move |ev| service.set(event_target_value(&ev)) /></label>
            </div>
            <button class="btn primary" data-testid="grant-save" on:click=save>{move || i18n.intake().add_grant}</button>
            <Show when=move || saved.get()>
                <p class="notice" data-testid="grant-saved">{move || i18n.intake().grant_saved}</p>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
            <Show when=move || !grants.get().is_empty()>
                <h3>{move || i18n.intake().grants_title}</h3>
                <ul class="grant-list" data-testid="grant-list">
                    {move || grants.get().into_iter().map(|g| view! {
                        <li>{g.effective.clone()} " · " {move || (i18n.intake().minutes_week)(g.minutes_per_week)}
                            {g.service_code.clone().map(|s| format!(" · {s}"))}
                            <span class="muted">" · " {g.recorded_by_name.clone()}</span></li>
                    }).collect_view()}
                </ul>
            </Show>
        </div>
    }
}
