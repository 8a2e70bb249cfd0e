//! The therapist's caseload: every course of the team with the flags that need a look (no
//! session for days, low adherence, high pain, a program conflict), flagged ones first.

use crate::components::clock;
use crate::i18n::{use_i18n, Texts};
use crate::{api, use_nav, CourseTab, Page};
use homerehab_app_api::{ApiError, AssessmentKindView, CaseloadRow, CourseFlag};
use leptos::prelude::*;

/// `dd.mm.yyyy` of a Unix-millisecond time, local.
pub fn date_text(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{:02}.{:02}.{}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year()
    )
}

/// `dd.mm.yyyy HH:MM`.
pub fn date_time_text(ms: i64) -> String {
    format!("{} {}", date_text(ms), clock(ms))
}

pub fn flag_text(t: &Texts, f: &CourseFlag) -> String {
    match f {
        CourseFlag::NoRecentSession { days } => (t.th.flag_no_session)(*days),
        CourseFlag::LowAdherence { percent } => (t.th.flag_low_adherence)(*percent),
        CourseFlag::HighPain { pain } => (t.th.flag_high_pain)(*pain),
        CourseFlag::ProgramConflict => t.th.flag_conflict.to_string(),
    }
}

pub fn status_text(t: &Texts, status: &str) -> &'static str {
    match status {
        "planned" => t.th.status_names[0],
        "active" => t.th.status_names[1],
        "paused" => t.th.status_names[2],
        "completed" => t.th.status_names[3],
        "ended_early" => t.th.status_names[4],
        _ => "",
    }
}

/// The course rows as a list of big buttons; used by the caseload and the leader's overview.
#[component]
pub fn CourseList(rows: Vec<CaseloadRow>) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    // The tests' names in the chosen language, fetched once for the list (only when a row
    // prompts for a test); each row renders whole from its own data first.
    let kinds = RwSignal::new(Vec::<AssessmentKindView>::new());
    if rows.iter().any(|r| !r.tests_due.is_empty()) {
        let lang = i18n.lang.get_untracked().code();
        leptos::task::spawn_local(async move {
            if let Ok(k) = api::assessment_kinds(lang).await {
                kinds.try_set(k);
            }
        });
    }
    let row = move |r: CaseloadRow| {
        let course = r.course_id.clone();
        let flagged = !r.flags.is_empty();
        let name = if r.citizen_name.is_empty() {
            i18n.t().unknown_citizen.to_string()
        } else {
            r.citizen_name.clone()
        };
        view! {
            <li>
                <button class="case-row" class:flagged=flagged data-testid="case-row"
                    on:click=move |_| nav.go(Page::Course { course: course.clone(), tab: CourseTab::History })>
                    <span class="case-name">
                        <strong data-testid="case-citizen">{name}</strong>
                        <span class="muted">{r.legal_basis.clone()} " · " {move || status_text(i18n.t(), &r.status)}</span>
                    </span>
                    <span class="case-week">{move || (i18n.t().th.week_of)(r.week_of_course, r.planned_weeks)}</span>
                    <span class="case-sessions">
                        {move || (i18n.t().th.sessions_done_of)(r.sessions_done, r.sessions_planned_so_far)}
                        {r.adherence_percent.map(|p| view! { <span class="pct">{format!(" · {p} %")}</span> })}
                    </span>
                    <span class="case-last">
                        {move || match r.last_session_at {
                            Some(ms) => format!("{} {}", i18n.t().th.last_session, date_text(ms)),
                            None => i18n.t().th.no_sessions_yet.to_string(),
                        }}
                    </span>
                    <span class="flags">
                        // #11 course
                        <crate::pages::effect::DueBadges due=r.tests_due.clone() kinds=kinds.read_only() />
                        {r.flags.iter().cloned().map(|f| view! {
                            <span class="flag" data-testid="flag">{move || flag_text(i18n.t(), &f)}</span>
                        }).collect_view()}
                    </span>
                </button>
            </li>
        }
    };
    view! { <ul class="case-list">{rows.into_iter().map(row).collect_view()}</ul> }
}

#[component]
pub fn Caseload() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let rows = RwSignal::new(None::<Result<Vec<CaseloadRow>, ApiError>>);
    let filter = RwSignal::new(String::new());
    let only_flagged = RwSignal::new(false);
    let load =
        move || leptos::task::spawn_local(async move { rows.set(Some(api::caseload().await)) });
    load();
    nav.reload_on_sync(load);
    let shown = move || {
        rows.get().map(|r| {
            r.map(|mut list| {
                let f = filter.get().to_lowercase();
                list.retain(|r| {
                    (f.is_empty() || r.citizen_name.to_lowercase().contains(&f))
                        && (!only_flagged.get() || !r.flags.is_empty())
                });
                // In the app core's order (open courses, most flags, name): only filtered here.
                list
            })
        })
    };
    view! {
        <section class="caseload">
            <div class="page-head">
                <h1>{move || i18n.t().th.caseload_title}</h1>
                <input class="search" type="search" data-testid="caseload-filter"
                    placeholder=move || i18n.t().th.find_citizen
                    prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev)) />
                <button class="btn choice" class:selected=move || only_flagged.get()
                    aria-pressed=move || only_flagged.get().to_string()
                    on:click=move |_| only_flagged.update(|v| *v = !*v)>
                    {move || i18n.t().th.only_flagged}
                </button>
                <button class="btn primary" data-testid="new-course" on:click=move |_| nav.go(Page::NewCourse)>
                    {move || i18n.t().th.new_course}
                </button>
            </div>
            {move || match shown() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{i18n.t().th.caseload_empty}</p> }.into_any(),
                Some(Ok(list)) => view! { <CourseList rows=list /> }.into_any(),
            }}
        </section>
    }
}
