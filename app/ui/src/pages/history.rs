//! A course's history: per-exercise trend charts (amount, exertion, pain over the sessions)
//! and the timeline of sessions, newest first, each with the program revision it was done
//! against, how each exercise went, the general condition and the notes.

use crate::components::TrendChart;
use crate::i18n::{use_i18n, Texts};
use crate::pages::caseload::date_time_text;
use crate::{api, use_nav};
use homerehab_app_api::*;
use leptos::prelude::*;

fn outcome_text(t: &Texts, o: Option<Outcome>) -> &'static str {
    match o {
        Some(Outcome::Done) => t.outcome_done,
        Some(Outcome::Partly) => t.outcome_partly,
        Some(Outcome::Skipped) => t.outcome_skipped,
        None => "–",
    }
}

fn nco_text(t: &Texts, reason: Option<&str>) -> &'static str {
    match reason {
        Some("ill") => t.nco_reasons[0],
        Some("declined") => t.nco_reasons[1],
        Some("not_at_home") => t.nco_reasons[2],
        Some("hospitalised") => t.nco_reasons[3],
        _ => t.nco_reasons[4],
    }
}

fn amount_text(e: &ExerciseHistory) -> String {
    let mut parts = vec![format!("{} ×", e.sets_done)];
    if let Some(r) = e.reps_total {
        parts.push(format!("{r}"));
    }
    if let Some(s) = e.duration_total_s {
        parts.push(format!("{s} s"));
    }
    if let Some(kg) = e.max_load_kg {
        parts.push(format!("{kg} kg"));
    }
    parts.join(" ")
}

#[component]
fn SessionCard(s: SessionHistoryItem) -> impl IntoView {
    let i18n = use_i18n();
    let nco = s.status == "not_carried_out";
    let reason = s.not_carried_out_reason.clone();
    let rows = s.exercises.clone();
    view! {
        <article class="card session-card" class:nco=nco data-testid="history-session">
            <header class="session-head">
                <strong>{date_time_text(s.started_at)}</strong>
                <span class="muted">{s.performed_by_name.clone()}</span>
                {s.revision_number.map(|n| view! {
                    <span class="badge" data-testid="history-revision">{move || (i18n.t().th.revision_n)(n)}</span>
                })}
                <span class="badge" class:due=nco>
                    {move || {
                        let t = i18n.t();
                        if nco { format!("{} · {}", t.not_carried_out, nco_text(t, reason.as_deref())) }
                        // Left open on an earlier day: it will not be resumed (a visit on another
                        // day is another session), so not "in progress" for ever.
                        else if s.left_open { t.th.not_finished.to_string() }
                        else if s.status == "in_progress" { t.th.in_progress.to_string() }
                        else { t.th.completed.to_string() }
                    }}
                </span>
            </header>
            {s.general_condition.map(|c| view! {
                <p>{move || i18n.t().general_condition} ": " {c} " · " {move || i18n.t().conditions[usize::from(c).clamp(1, 5) - 1]}</p>
            })}
            {s.note.clone().filter(|n| !n.is_empty()).map(|n| view! { <p class="session-note" data-testid="history-note">"“" {n} "”"</p> })}
            {(!rows.is_empty()).then(|| view! {
                <table class="history-table">
                    <thead><tr>
                        <th>{move || i18n.t().th.exercise}</th>
                        <th>{move || i18n.t().th.done_amount}</th>
                        <th>{move || i18n.t().th.outcome}</th>
                        <th>"Borg"</th>
                        <th>{move || i18n.t().pain_short}</th>
                        <th>{move || i18n.t().note}</th>
                    </tr></thead>
                    <tbody>
                        {rows.into_iter().map(|e| {
                            let high = e.pain.is_some_and(|p| p >= 6);
                            view! {
                                <tr data-testid="history-exercise">
                                    <th scope="row">{e.title.clone()}</th>
                                    <td>{amount_text(&e)}</td>
                                    <td>{move || outcome_text(i18n.t(), e.outcome)}
                                        {e.skip_reason.clone().map(|r| format!(" ({r})"))}</td>
                                    <td>{e.borg.map(|b| b.to_string())}</td>
                                    <td class:high-pain=high>{e.pain.map(|p| p.to_string())}</td>
                                    <td>{e.note.clone()}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </article>
    }
}

#[component]
pub fn History(course: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let history = RwSignal::new(None::<Result<CourseHistory, ApiError>>);
    let chosen = RwSignal::new(0usize);
    let course = StoredValue::new(course);
    let load = move || {
        leptos::task::spawn_local(async move {
            let lang = i18n.lang.get_untracked().code();
            history.set(Some(api::history(&course.get_value(), lang).await));
        })
    };
    load();
    // Reload when a sync brings something in or the language changes.
    Effect::new(move |prev: Option<(Option<i64>, &'static str)>| {
        let key = (
            nav.status.get().and_then(|s| s.last_sync),
            i18n.lang.get().code(),
        );
        if prev.is_some_and(|p| p != key) {
            load();
        }
        key
    });

    let chart = move |h: &CourseHistory| {
        let t = i18n.t();
        if h.trends.iter().all(|tr| tr.points.is_empty()) {
            return view! { <p class="empty">{t.th.no_trend_yet}</p> }.into_any();
        }
        let trends = h.trends.clone();
        let pick = chosen.get().min(trends.len().saturating_sub(1));
        let points = trends[pick].points.clone();
        view! {
            <div class="choices wrap trend-picker">
                {trends.iter().enumerate().map(|(i, tr)| view! {
                    <button class="btn choice" data-testid="trend-choice"
                        class:selected=move || chosen.get() == i
                        on:click=move |_| chosen.set(i)>{tr.title.clone()}</button>
                }).collect_view()}
            </div>
            <TrendChart points amount_labels=t.th.amount_labels borg_label=t.borg pain_label=t.pain />
        }
        .into_any()
    };

    view! {
        <div class="history" data-testid="history">
            {move || match history.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(h)) => view! {
                    <h1 data-testid="history-citizen">{h.citizen_name.clone()}</h1>
                    <div class="card">
                        <h2>{i18n.t().th.trends}</h2>
                        {chart(&h)}
                    </div>
                    <h2>{i18n.t().th.sessions}</h2>
                    {if h.sessions.is_empty() {
                        view! { <p class="empty">{i18n.t().th.no_sessions_yet}</p> }.into_any()
                    } else {
                        h.sessions.into_iter().map(|s| view! { <SessionCard s /> }).collect_view().into_any()
                    }}
                }.into_any(),
            }}
        </div>
    }
}
