//! The course's frame — weeks, sessions a week, minutes a session — and, while the course
//! runs, the therapist's change of it: shorter for a citizen who manages on their own sooner,
//! longer or more often for one who needs it (`Course::change_frame`). Nothing is saved
//! before *Gem*.

use crate::api;
use crate::i18n::use_i18n;
use crate::pages::new_course::NumberField;
use crate::use_nav;
use homerehab_app_api::{op, CourseFrameChange, NoQuery};
use leptos::prelude::*;

#[component]
pub fn CourseFrame(
    course: String,
    /// The course's status when the page opened: a completed or ended course keeps its frame.
    status: String,
    planned_weeks: u32,
    sessions_per_week: u32,
    minutes_per_session: u32,
) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let running = matches!(status.as_str(), "planned" | "active" | "paused");
    let shown = RwSignal::new((planned_weeks, sessions_per_week, minutes_per_session));
    let editing = RwSignal::new(false);
    let (weeks, per_week, minutes) = (
        RwSignal::new(planned_weeks),
        RwSignal::new(sessions_per_week),
        RwSignal::new(minutes_per_session),
    );
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let open = move |_| {
        let (w, p, m) = shown.get_untracked();
        weeks.set(w);
        per_week.set(p);
        minutes.set(m);
        error.set(None);
        editing.set(true);
    };
    let save = move |_| {
        let body = CourseFrameChange {
            planned_weeks: weeks.get_untracked(),
            sessions_per_week: per_week.get_untracked(),
            minutes_per_session: minutes.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let req = op::set_course_frame::Request {
                course: course.get_value(),
                query: NoQuery {},
                body,
            };
            match api::call::<op::set_course_frame::Op>(req).await {
                Ok(_) => {
                    shown.try_set((
                        body.planned_weeks,
                        body.sessions_per_week,
                        body.minutes_per_session,
                    ));
                    editing.try_set(false);
                    nav.refresh_status();
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
            busy.try_set(false);
        });
    };
    view! {
        <div class="course-frame" data-testid="course-frame">
            <span class="frame-text" data-testid="course-frame-text">{move || {
                let (w, p, m) = shown.get();
                (i18n.t().th.frame_text)(w, p, m)
            }}</span>
            <Show when=move || running && !editing.get()>
                <button class="btn secondary" data-testid="course-frame-edit" on:click=open>
                    {move || i18n.t().th.change_frame}
                </button>
            </Show>
            <Show when=move || editing.get()>
                <div class="frame-form" data-testid="course-frame-form">
                    <p class="muted">{move || i18n.t().th.change_frame_hint}</p>
                    <div class="form-grid">
                        <NumberField label=Signal::derive(move || i18n.t().th.weeks) value=weeks max=104 testid="frame-weeks" />
                        <NumberField label=Signal::derive(move || i18n.t().th.per_week) value=per_week max=14 testid="frame-per-week" />
                        <NumberField label=Signal::derive(move || i18n.t().th.minutes) value=minutes max=240 testid="frame-minutes" />
                    </div>
                    <div class="actions">
                        <button class="btn secondary" data-testid="frame-cancel"
                            on:click=move |_| editing.set(false)>{move || i18n.t().th.cancel_end}</button>
                        <button class="btn primary" data-testid="frame-save"
                            disabled=move || busy.get() on:click=save>{move || i18n.t().th.save_frame}</button>
                    </div>
                </div>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </div>
    }
}
