//! The course's status and what can happen to it next: start a planned course, pause and
//! resume, complete it, or end it early with the reason (asked for before it is saved): one
//! tap on a coded reason (what the leaders' funnel counts) and, optionally, the therapist's
//! words.

use crate::api;
use crate::i18n::{use_i18n, Lang};
use crate::pages::caseload::status_text;
use crate::use_nav;
use homerehab_app_api::{op, CourseStatusChange, LabelSetting, NoQuery};
use leptos::prelude::*;

/// Whether a course with this status is still to be trained (planned, running or paused): it
/// can still change status and frame, and get a printed program. The app core holds the same
/// rule (`shared::program_sheet::may_print`, `Course::change_frame`) and refuses the rest.
pub fn still_open(status: &str) -> bool {
    matches!(status, "planned" | "active" | "paused")
}

#[component]
pub fn CourseStatus(
    course: String,
    /// The course's status, shared with the page (its frame line asks it too).
    status: RwSignal<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let asking_reason = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let end_reason = RwSignal::new(None::<String>);
    let end_reasons = RwSignal::new(Vec::<LabelSetting>::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // "Pause" takes the place of "Start" and "Genoptag" of "Pause": a double tap must not undo
    // its first tap.
    let settle = super::Settle::new();
    let ask_reason = move || {
        asking_reason.set(true);
        if end_reasons.get_untracked().is_empty() {
            leptos::task::spawn_local(async move {
                let req = op::effect_settings::Request {
                    query: NoQuery {},
                    body: (),
                };
                match api::call::<op::effect_settings::Op>(req).await {
                    Ok(s) => {
                        end_reasons.try_set(s.end_reasons);
                    }
                    Err(e) => {
                        error.try_set(Some(e.message));
                    }
                }
            });
        }
    };
    let change = move |next: &'static str, why: Option<String>, code: Option<String>| {
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let req = CourseStatusChange {
                status: next.into(),
                reason: why,
                end_reason: code,
            };
            match api::set_course_status(&course.get_value(), req).await {
                Ok(_) => {
                    status.try_set(next.to_string());
                    asking_reason.try_set(false);
                    settle.moved();
                    nav.refresh_status();
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
            busy.try_set(false);
        });
    };
    let button = move |next: &'static str,
                       label: fn(&'static crate::i18n::Texts) -> &'static str| {
        view! {
            <button class="btn secondary" data-testid=format!("course-{next}")
                disabled=move || busy.get() || settle.settling()
                on:click=move |_| change(next, None, None)>
                {move || label(i18n.t())}
            </button>
        }
    };
    view! {
        <div class="course-status" data-testid="course-status">
            <span class="badge" data-testid="course-status-label">{move || status_text(i18n.t(), &status.get())}</span>
            {move || match status.get().as_str() {
                "planned" => button("active", |t| t.th.start_course).into_any(),
                "active" => view! {
                    {button("paused", |t| t.th.pause_course)}
                    {button("completed", |t| t.th.complete_course)}
                }.into_any(),
                "paused" => view! {
                    {button("active", |t| t.th.resume_course)}
                    {button("completed", |t| t.th.complete_course)}
                }.into_any(),
                _ => ().into_any(),
            }}
            <Show when=move || still_open(&status.get())>
                <button class="btn secondary danger" data-testid="course-ended_early"
                    disabled=move || busy.get() || settle.settling()
                    on:click=move |_| ask_reason()>{move || i18n.t().th.end_course_early}</button>
            </Show>
            <Show when=move || asking_reason.get()>
                <div class="end-early" data-testid="end-early">
                    <p class="label">{move || i18n.t().th.why_ended}</p>
                    <div class="choices wrap" role="radiogroup">
                        {move || {
                            let en = i18n.lang.get() == Lang::En;
                            end_reasons.get().into_iter().map(|r| {
                                let key = r.key.clone();
                                let key2 = r.key.clone();
                                view! {
                                    <button class="btn choice" role="radio" data-testid="end-reason-choice"
                                        data-key=r.key.clone()
                                        class:selected=move || end_reason.get().as_deref() == Some(key.as_str())
                                        aria-checked=move || (end_reason.get().as_deref() == Some(key2.as_str())).to_string()
                                        on:click=move |_| end_reason.set(Some(r.key.clone()))>
                                        {if en { r.en.clone() } else { r.da.clone() }}
                                    </button>
                                }
                            }).collect_view()
                        }}
                    </div>
                    <label class="field wide"><span>{move || i18n.t().th.end_note}</span>
                        <input data-testid="end-reason" prop:value=move || reason.get()
                            on:input=move |ev| reason.set(event_target_value(&ev)) /></label>
                    <div class="actions">
                        <button class="btn secondary" data-testid="end-cancel"
                            on:click=move |_| { asking_reason.set(false); end_reason.set(None); }>
                            {move || i18n.t().th.cancel_end}
                        </button>
                        <button class="btn primary danger" data-testid="end-confirm"
                            disabled=move || busy.get() || end_reason.get().is_none()
                            on:click=move |_| change("ended_early", Some(reason.get_untracked()), end_reason.get_untracked())>
                            {move || i18n.t().th.end_course_early}
                        </button>
                    </div>
                </div>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </div>
    }
}
