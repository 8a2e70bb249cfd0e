//! The course's status and what can happen to it next: start a planned course, pause and
//! resume, complete it, or end it early with the reason (asked for before it is saved).

use crate::api;
use crate::i18n::use_i18n;
use crate::pages::caseload::status_text;
use crate::use_nav;
use homerehab_app_api::CourseStatusChange;
use leptos::prelude::*;

#[component]
pub fn CourseStatus(course: String, status: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let status = RwSignal::new(status);
    let asking_reason = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let change = move |next: &'static str, why: Option<String>| {
        error.set(None);
        leptos::task::spawn_local(async move {
            let req = CourseStatusChange {
                status: next.into(),
                reason: why,
            };
            match api::set_course_status(&course.get_value(), req).await {
                Ok(_) => {
                    status.try_set(next.to_string());
                    asking_reason.try_set(false);
                    nav.refresh_status();
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    let button = move |next: &'static str,
                       label: fn(&'static crate::i18n::Texts) -> &'static str| {
        view! {
            <button class="btn secondary" data-testid=format!("course-{next}") on:click=move |_| change(next, None)>
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
            <Show when=move || matches!(status.get().as_str(), "planned" | "active" | "paused")>
                <button class="btn secondary danger" data-testid="course-ended_early"
                    on:click=move |_| asking_reason.set(true)>{move || i18n.t().th.end_course_early}</button>
            </Show>
            <Show when=move || asking_reason.get()>
                <label class="field wide"><span>{move || i18n.t().th.why_ended}</span>
                    <input data-testid="end-reason" prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev)) /></label>
                <button class="btn primary" data-testid="end-confirm"
                    on:click=move |_| change("ended_early", Some(reason.get_untracked()))>
                    {move || i18n.t().th.end_course_early}
                </button>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </div>
    }
}
