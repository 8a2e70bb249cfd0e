//! A course's assessments (physical tests, wellbeing, home-care minutes): what was measured at
//! start, midway and end, and a form to record a new one.

use crate::i18n::use_i18n;
use crate::pages::new_course::today_iso;
use crate::{api, use_nav};
use homerehab_app_api::*;
use leptos::prelude::*;

const PHASES: [&str; 4] = ["start", "midway", "end", "follow_up"];

#[component]
pub fn Assessments(course: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let kinds = RwSignal::new(Vec::<AssessmentKindView>::new());
    let list = RwSignal::new(None::<Result<Vec<AssessmentView>, ApiError>>);
    let kind = RwSignal::new(String::new());
    let phase = RwSignal::new("start".to_string());
    let value = RwSignal::new(String::new());
    let date = RwSignal::new(today_iso());
    let note = RwSignal::new(String::new());
    // #11 plan: where it was measured (a home-rehabilitation test is usually taken at home).
    let place = RwSignal::new("home".to_string());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let load = move || {
        leptos::task::spawn_local(async move {
            let lang = i18n.lang.get_untracked().code();
            if let Ok(k) = api::assessment_kinds(lang).await {
                if kind.try_get_untracked().is_some_and(|k| k.is_empty()) {
                    if let Some(first) = k.first() {
                        kind.set(first.kind.clone());
                    }
                }
                kinds.set(k);
            }
            list.set(Some(
                api::history(&course.get_value(), lang)
                    .await
                    .map(|h| h.assessments),
            ));
        })
    };
    load();

    let unit = move || {
        kinds.with(|ks| {
            ks.iter()
                .find(|k| k.kind == kind.get())
                .map(|k| k.unit.clone())
                .unwrap_or_default()
        })
    };
    let phase_label = move |p: &str| {
        let t = i18n.t();
        PHASES
            .iter()
            .position(|x| *x == p)
            .map_or("", |i| t.th.phases[i])
    };

    let save = move |_| {
        let Ok(v) = value
            .get_untracked()
            .replace(',', ".")
            .trim()
            .parse::<f64>()
        else {
            error.set(Some(i18n.t().th.value_needed.to_string()));
            return;
        };
        let req = NewAssessment {
            kind: kind.get_untracked(),
            value: v,
            date: date.get_untracked(),
            phase: phase.get_untracked(),
            note: Some(note.get_untracked().trim().to_string()).filter(|n| !n.is_empty()),
            place: Some(place.get_untracked()),
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::add_assessment(&course.get_value(), req).await {
                Ok(_) => {
                    value.set(String::new());
                    note.set(String::new());
                    nav.refresh_status();
                    load();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    view! {
        <div class="assessments" data-testid="assessments">
            <div class="card">
                <h2>{move || i18n.t().th.new_assessment}</h2>
                <div class="form-grid">
                    <label class="field wide"><span>{move || i18n.t().th.test}</span>
                        <select data-testid="assessment-kind" prop:value=move || kind.get()
                            on:change=move |ev| kind.set(event_target_value(&ev))>
                            {move || kinds.get().into_iter().map(|k| {
                                let key = k.kind.clone();
                                view! { <option value=k.kind.clone() selected=move || kind.get() == key>{format!("{} ({})", k.label, k.unit)}</option> }
                            }).collect_view()}
                        </select></label>
                    <label class="field"><span>{move || i18n.t().th.phase}</span>
                        <select data-testid="assessment-phase" prop:value=move || phase.get()
                            on:change=move |ev| phase.set(event_target_value(&ev))>
                            {PHASES.into_iter().map(|p| view! {
                                <option value=p selected=move || phase.get() == p>{move || phase_label(p)}</option>
                            }).collect_view()}
                        </select></label>
                    <label class="field"><span>{move || format!("{} ({})", i18n.t().th.value, unit())}</span>
                        <input type="text" inputmode="decimal" data-testid="assessment-value" prop:value=move || value.get()
                            on:input=move |ev| value.set(event_target_value(&ev)) /></label>
                    <label class="field"><span>{move || i18n.t().th.date}</span>
                        <input type="date" data-testid="assessment-date" prop:value=move || date.get()
                            on:input=move |ev| date.set(event_target_value(&ev)) /></label>
                    // #11 plan
                    <label class="field"><span>{move || i18n.p().place}</span>
                        <select data-testid="assessment-place-choice" prop:value=move || place.get()
                            on:change=move |ev| place.set(event_target_value(&ev))>
                            {["home", "clinic"].into_iter().enumerate().map(|(i, p)| view! {
                                <option value=p selected=move || place.get() == p>{move || i18n.p().places[i]}</option>
                            }).collect_view()}
                        </select></label>
                    <label class="field wide"><span>{move || i18n.t().note}</span>
                        <input data-testid="assessment-note" prop:value=move || note.get()
                            on:input=move |ev| note.set(event_target_value(&ev)) /></label>
                </div>
                <p class="error" role="alert">{move || error.get()}</p>
                <button class="btn primary big" data-testid="save-assessment" disabled=move || busy.get() on:click=save>
                    {move || i18n.t().th.save_assessment}
                </button>
            </div>
            {move || match list.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(l)) if l.is_empty() => view! { <p class="empty">{i18n.t().th.no_assessments}</p> }.into_any(),
                Some(Ok(l)) => view! {
                    <table class="history-table card">
                        <thead><tr>
                            <th>{i18n.t().th.test}</th><th>{i18n.t().th.phase}</th><th>{i18n.t().th.date}</th>
                            <th>{i18n.t().th.value}</th><th>{i18n.t().th.by}</th><th>{i18n.p().place}</th><th>{i18n.t().note}</th>
                        </tr></thead>
                        <tbody>{l.into_iter().map(|a| view! {
                            <tr data-testid="assessment-row">
                                <th scope="row">{a.label.clone()}</th>
                                <td>{phase_label(&a.phase)}</td>
                                <td>{a.date.clone()}</td>
                                <td>{format!("{} {}", a.value, a.unit)}</td>
                                <td>{a.by_name.clone()}</td>
                                <td data-testid="assessment-place">{i18n.place_word(a.place.as_deref())}</td>
                                <td>{a.note.clone()}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            }}
        </div>
    }
}
