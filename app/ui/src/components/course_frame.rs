//! The course's frame — weeks, sessions a week, minutes a session — and, while the course
//! runs, the therapist's change of it: shorter for a citizen who manages on their own sooner,
//! longer or more often for one who needs it (`Course::change_frame`). Nothing is saved
//! before *Gem ramme*, which waits until all three are whole numbers; their bounds are the
//! rule's in `shared` (`Course::change_frame`), which answers a number past them.

use crate::api;
use crate::i18n::use_i18n;
use crate::use_nav;
use homerehab_app_api::{op, CourseFrameChange, NoQuery};
use leptos::prelude::*;

#[component]
pub fn CourseFrame(
    course: String,
    /// The course's status, shared with the page: a completed or ended course keeps its frame.
    status: RwSignal<String>,
    /// Weeks, sessions a week, minutes a session: set here when saved.
    frame: RwSignal<(u32, u32, u32)>,
) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let running = move || super::still_open(&status.get());
    let editing = RwSignal::new(false);
    // As typed: a field emptied or holding a non-number sends nothing.
    let (weeks, per_week, minutes) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let typed = move || -> Option<CourseFrameChange> {
        let number = |s: RwSignal<String>| s.get().trim().parse::<u32>().ok();
        Some(CourseFrameChange {
            planned_weeks: number(weeks)?,
            sessions_per_week: number(per_week)?,
            minutes_per_session: number(minutes)?,
        })
    };
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let open = move |_| {
        let (w, p, m) = frame.get_untracked();
        weeks.set(w.to_string());
        per_week.set(p.to_string());
        minutes.set(m.to_string());
        error.set(None);
        editing.set(true);
    };
    let save = move |_| {
        let Some(body) = typed() else {
            return;
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
                    frame.try_set((
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
                let (w, p, m) = frame.get();
                (i18n.t().th.frame_text)(w, p, m)
            }}</span>
            <Show when=move || running() && !editing.get()>
                <button class="btn secondary" data-testid="course-frame-edit" on:click=open>
                    {move || i18n.t().th.change_frame}
                </button>
            </Show>
            <Show when=move || running() && editing.get()>
                <div class="frame-form" data-testid="course-frame-form">
                    <p class="muted">{move || i18n.t().th.change_frame_hint}</p>
                    <div class="form-grid">
                        {field(Signal::derive(move || i18n.t().th.weeks), weeks, "frame-weeks")}
                        {field(Signal::derive(move || i18n.t().th.per_week), per_week, "frame-per-week")}
                        {field(Signal::derive(move || i18n.t().th.minutes), minutes, "frame-minutes")}
                    </div>
                    <div class="actions">
                        <button class="btn secondary" data-testid="frame-cancel"
                            on:click=move |_| editing.set(false)>{move || i18n.t().th.cancel_end}</button>
                        <button class="btn primary" data-testid="frame-save"
                            disabled=move || busy.get() || typed().is_none()
                            on:click=save>{move || i18n.t().th.save_frame}</button>
                    </div>
                </div>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// One number of the frame, kept as typed.
fn field(
    label: Signal<&'static str>,
    value: RwSignal<String>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{move || label.get()}</span>
            <input type="number" inputmode="numeric" min=0 data-testid=testid
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        </label>
    }
}
