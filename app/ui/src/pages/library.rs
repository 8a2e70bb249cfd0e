//! The exercise library for therapists: browse and search the shipped and the municipality's
//! own exercises, see one with its illustration, dosage and tags, add the municipality's own
//! exercise, and attach a photo or video to it with its rights and consent. The municipality's
//! exercises reach every tablet through sync; their media are fetched for the programs that
//! use them and shown offline.

use crate::components::LibrarySearchPanel;
use crate::i18n::use_i18n;
use crate::pages::new_course::today_iso;
use crate::pages::session::dosage_text;
use crate::{api, use_nav};
use homerehab_app_api::*;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The label of a tag key among the filter options, else the key.
fn label(options: &[FilterOption], key: &str) -> String {
    options
        .iter()
        .find(|o| o.key == key)
        .map_or_else(|| key.to_string(), |o| o.label.clone())
}

#[component]
fn ExerciseDetail(hit: LibraryHit, found: RwSignal<Option<LibrarySearch>>) -> impl IntoView {
    let i18n = use_i18n();
    let own = hit.source == "municipality";
    let tags = move || {
        found.with(|f| {
            let Some(f) = f else { return String::new() };
            let mut parts = vec![
                label(&f.categories, &hit.category),
                label(&f.positions, &hit.position),
            ];
            parts.extend(hit.equipment.iter().map(|e| label(&f.equipment, e)));
            parts.extend(hit.body_areas.iter().map(|b| label(&f.body_areas, b)));
            parts.join(" · ")
        })
    };
    view! {
        <div class="card exercise-detail" data-testid="exercise-detail">
            {hit.illustration.clone().map(|src| view! { <img class="illustration" src=api::asset_url(&src) alt=hit.title.clone() /> })}
            <div>
                <h2>{hit.title.clone()}</h2>
                <p>{hit.summary.clone()}</p>
                <p class="dosage">{move || dosage_text(i18n.t(), &hit.default_dosage)}</p>
                <p class="muted">{tags}</p>
                <p class="muted">{move || (i18n.t().th.difficulty_n)(hit.difficulty)}</p>
                {own.then(|| view! { <span class="badge own">{move || i18n.t().th.own_exercise}</span> })}
            </div>
            {own.then(|| view! { <MediaUpload exercise=hit.exercise_ref.clone() /> })}
        </div>
    }
}

/// Attach a photo or video to a municipality exercise, with who owns it and, when a person can
/// be recognised, whose consent covers what.
#[component]
fn MediaUpload(exercise: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let exercise = StoredValue::new(exercise);
    let owner = RwSignal::new(String::new());
    let shows_person = RwSignal::new(false);
    let consent_who = RwSignal::new(String::new());
    let consent_date = RwSignal::new(today_iso());
    let consent_scope = RwSignal::new(String::new());
    let input = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<String>);
    let uploaded = RwSignal::new(None::<MediaView>);
    let busy = RwSignal::new(false);
    let upload = move |_| {
        let Some(file) = input
            .get_untracked()
            .and_then(|i| i.files())
            .and_then(|f| f.get(0))
        else {
            error.set(Some(i18n.t().th.choose_file.to_string()));
            return;
        };
        let person = shows_person.get_untracked();
        let q = MediaUploadQuery {
            file_name: file.name(),
            owner: owner.get_untracked(),
            shows_person: person,
            // Consent is recorded for a recognisable person only.
            consent_who: person.then(|| consent_who.get_untracked()),
            consent_date: person.then(|| consent_date.get_untracked()),
            consent_scope: person.then(|| consent_scope.get_untracked()),
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::upload_media(&exercise.get_value(), &q, file).await {
                Ok(m) => {
                    uploaded.set(Some(m));
                    nav.refresh_status();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="media-upload" data-testid="media-upload">
            <h3>{move || i18n.t().th.add_media}</h3>
            <label class="field"><span>{move || i18n.t().th.media_file}</span>
                <input type="file" accept="image/jpeg,image/png,image/webp,video/mp4,video/webm" node_ref=input data-testid="media-file" /></label>
            <label class="field"><span>{move || i18n.t().th.media_owner}</span>
                <input data-testid="media-owner" placeholder=move || i18n.t().th.media_owner_hint prop:value=move || owner.get() on:input=move |ev| owner.set(event_target_value(&ev)) /></label>
            <label class="check">
                <input type="checkbox" data-testid="media-shows-person" prop:checked=move || shows_person.get()
                    on:change=move |ev| shows_person.set(ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).is_some_and(|i| i.checked())) />
                <span>{move || i18n.t().th.shows_person}</span>
            </label>
            <Show when=move || shows_person.get()>
                <div class="form-grid">
                    <label class="field"><span>{move || i18n.t().th.consent_who}</span>
                        <input data-testid="consent-who" prop:value=move || consent_who.get() on:input=move |ev| consent_who.set(event_target_value(&ev)) /></label>
                    <label class="field"><span>{move || i18n.t().th.consent_date}</span>
                        <input type="date" prop:value=move || consent_date.get() on:input=move |ev| consent_date.set(event_target_value(&ev)) /></label>
                    <label class="field wide"><span>{move || i18n.t().th.consent_scope}</span>
                        <input data-testid="consent-scope" placeholder=move || i18n.t().th.consent_scope_hint
                            prop:value=move || consent_scope.get() on:input=move |ev| consent_scope.set(event_target_value(&ev)) /></label>
                </div>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || uploaded.get().map(|m| view! {
                <p class="notice" data-testid="media-uploaded">{i18n.t().th.media_uploaded}</p>
                {m.content_type.starts_with("image/").then(|| view! { <img class="thumb big" src=api::asset_url(&m.url) alt="" /> })}
            })}
            <button class="btn primary" data-testid="media-upload-save" disabled=move || busy.get() on:click=upload>
                {move || i18n.t().th.upload}
            </button>
        </div>
    }
}

/// A new exercise in the municipality's own library (Danish text; tags from the library's keys).
#[component]
fn NewLocalExercise(
    found: RwSignal<Option<LibrarySearch>>,
    on_saved: Callback<LibraryHit>,
) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let title = RwSignal::new(String::new());
    let summary = RwSignal::new(String::new());
    let steps = RwSignal::new(String::new());
    let category = RwSignal::new("strength".to_string());
    let position = RwSignal::new("standing".to_string());
    let equipment = RwSignal::new(String::new());
    let body_area = RwSignal::new("knee".to_string());
    let sets = RwSignal::new(2u32);
    let reps = RwSignal::new(10u32);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let select = move |value: RwSignal<String>,
                       options: fn(&LibrarySearch) -> &Vec<FilterOption>,
                       label: fn(&'static crate::i18n::Texts) -> &'static str,
                       none: bool| {
        view! {
            <label class="field"><span>{move || label(i18n.t())}</span>
                <select prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
                    {none.then(|| view! { <option value="">{move || i18n.t().th.no_equipment}</option> })}
                    {move || found.get().map(|f| options(&f).iter().map(|o| {
                        let key = o.key.clone();
                        view! { <option value=o.key.clone() selected=move || value.get() == key>{o.label.clone()}</option> }
                    }).collect_view())}
                </select>
            </label>
        }
    };
    let save = move |_| {
        let req = LocalExerciseInput {
            exercise_ref: None,
            category: category.get_untracked(),
            position: position.get_untracked(),
            equipment: vec![Some(equipment.get_untracked())
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "none".into())],
            body_areas: vec![body_area.get_untracked()],
            difficulty: 2,
            default_dosage: DosageView {
                sets: sets.get_untracked(),
                reps: Some(reps.get_untracked()),
                duration_s: None,
                hold_s: None,
                rest_s: Some(60),
                load: None,
                side: "none".into(),
            },
            da: LocalTextInput {
                title: title.get_untracked().trim().to_string(),
                summary: summary.get_untracked().trim().to_string(),
                steps: steps
                    .get_untracked()
                    .lines()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                ..Default::default()
            },
            en: None,
            retired: false,
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let sent = req.clone();
            match api::put_local_exercise(req).await {
                Ok(saved) => {
                    title.set(String::new());
                    summary.set(String::new());
                    steps.set(String::new());
                    nav.refresh_status();
                    // Shown at once, with its upload form; the search finds it from now on.
                    on_saved.run(LibraryHit {
                        exercise_ref: saved.id,
                        title: sent.da.title,
                        summary: sent.da.summary,
                        illustration: None,
                        category: sent.category,
                        position: sent.position,
                        equipment: sent.equipment,
                        body_areas: sent.body_areas,
                        difficulty: sent.difficulty,
                        default_dosage: sent.default_dosage,
                        source: "municipality".into(),
                    });
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <details class="card new-exercise" data-testid="new-exercise">
            <summary>"+ " {move || i18n.t().th.new_own_exercise}</summary>
            <div class="form-grid">
                <label class="field wide"><span>{move || i18n.t().th.exercise_title}</span>
                    <input data-testid="own-title" prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev)) /></label>
                <label class="field wide"><span>{move || i18n.t().th.exercise_summary}</span>
                    <input data-testid="own-summary" prop:value=move || summary.get() on:input=move |ev| summary.set(event_target_value(&ev)) /></label>
                <label class="field wide"><span>{move || i18n.t().th.exercise_steps}</span>
                    <textarea rows="4" data-testid="own-steps" prop:value=move || steps.get() on:input=move |ev| steps.set(event_target_value(&ev))></textarea></label>
                {select(category, |f| &f.categories, |t| t.th.category, false)}
                {select(position, |f| &f.positions, |t| t.th.position, false)}
                {select(equipment, |f| &f.equipment, |t| t.th.equipment, true)}
                {select(body_area, |f| &f.body_areas, |t| t.th.body_area, false)}
                <crate::pages::new_course::NumberField label=Signal::derive(move || i18n.t().th.sets) value=sets max=10 testid="own-sets" />
                <crate::pages::new_course::NumberField label=Signal::derive(move || i18n.t().th.reps) value=reps max=100 testid="own-reps" />
            </div>
            <p class="error" role="alert">{move || error.get()}</p>
            <button class="btn primary" data-testid="own-save" disabled=move || busy.get() on:click=save>
                {move || i18n.t().th.save_exercise}
            </button>
        </details>
    }
}

#[component]
pub fn Library() -> impl IntoView {
    let i18n = use_i18n();
    let found = RwSignal::new(None::<LibrarySearch>);
    let chosen = RwSignal::new(None::<LibraryHit>);
    let refresh = RwSignal::new(0u32);
    view! {
        <section class="library" data-testid="library">
            <h1>{move || i18n.t().th.library}</h1>
            <NewLocalExercise found on_saved=Callback::new(move |hit| { chosen.set(Some(hit)); refresh.update(|r| *r += 1); }) />
            <div class="library-grid">
                <div class="card">
                    <LibrarySearchPanel action=|t| t.th.show on_pick=Callback::new(move |h| chosen.set(Some(h))) found grid=true refresh />
                </div>
                <div class="library-detail">
                    {move || match chosen.get() {
                        Some(hit) => view! { <ExerciseDetail hit found /> }.into_any(),
                        None => view! { <p class="empty card">{i18n.t().th.pick_exercise}</p> }.into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}
