//! The program editor: the course's exercises in order, each with its dosage and the citizen's
//! own instructions (move up/down, remove), beside the library (search as you type, filter by
//! position, equipment, body area, category; add with one tap). "Save" sends the whole list;
//! the app core writes only what changed, as one listed revision, so an edit made meanwhile on
//! another device to another line merges.

use crate::components::{still_open, CourseFrame, CourseStatus, LibrarySearchPanel};
use crate::i18n::use_i18n;
use crate::pages::caseload::date_time_text;
use crate::{api, use_nav, Page};
use homerehab_app_api::*;
use leptos::prelude::*;

/// One line being edited; the fields are signals so typing re-renders only that input.
#[derive(Clone, Copy)]
struct EditLine {
    /// Local key for the list (stable while the editor is open).
    key: usize,
    line_id: StoredValue<Option<String>>,
    exercise_ref: StoredValue<String>,
    title: StoredValue<String>,
    illustration: StoredValue<Option<String>>,
    /// The exercise's photos and videos (municipality exercises); withdrawn ones disappear.
    media: RwSignal<Vec<MediaView>>,
    sets: RwSignal<u32>,
    reps: RwSignal<Option<u32>>,
    duration_s: RwSignal<Option<u32>>,
    hold_s: RwSignal<Option<u32>>,
    rest_s: RwSignal<Option<u32>>,
    load: RwSignal<String>,
    side: RwSignal<String>,
    instructions: RwSignal<String>,
}

impl EditLine {
    fn new(
        key: usize,
        line_id: Option<String>,
        exercise_ref: String,
        title: String,
        illustration: Option<String>,
        d: &DosageView,
        instructions: Option<String>,
    ) -> Self {
        EditLine {
            key,
            line_id: StoredValue::new(line_id),
            exercise_ref: StoredValue::new(exercise_ref),
            title: StoredValue::new(title),
            illustration: StoredValue::new(illustration),
            media: RwSignal::new(vec![]),
            sets: RwSignal::new(d.sets),
            reps: RwSignal::new(d.reps),
            duration_s: RwSignal::new(d.duration_s),
            hold_s: RwSignal::new(d.hold_s),
            rest_s: RwSignal::new(d.rest_s),
            load: RwSignal::new(d.load.clone().unwrap_or_default()),
            side: RwSignal::new(d.side.clone()),
            instructions: RwSignal::new(instructions.unwrap_or_default()),
        }
    }

    fn from_view(key: usize, l: &ProgramLineView) -> Self {
        let line = Self::new(
            key,
            Some(l.line_id.clone()),
            l.exercise_ref.clone(),
            l.title.clone(),
            l.illustration.clone(),
            &l.dosage,
            l.instructions.clone(),
        );
        line.media.set(l.media.clone());
        line
    }

    fn edit(&self) -> ProgramLineEdit {
        let load = self.load.get_untracked();
        let instructions = self.instructions.get_untracked();
        ProgramLineEdit {
            line_id: self.line_id.get_value(),
            exercise_ref: self.exercise_ref.get_value(),
            dosage: DosageView {
                sets: self.sets.get_untracked(),
                reps: self.reps.get_untracked(),
                duration_s: self.duration_s.get_untracked(),
                hold_s: self.hold_s.get_untracked(),
                rest_s: self.rest_s.get_untracked(),
                load: Some(load.trim().to_string()).filter(|l| !l.is_empty()),
                side: self.side.get_untracked(),
            },
            instructions: Some(instructions.trim().to_string()).filter(|i| !i.is_empty()),
        }
    }
}

/// A small number input for an optional dosage value (empty = not used).
#[component]
fn DoseField(
    label: Signal<&'static str>,
    value: RwSignal<Option<u32>>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <label class="dose">
            <span>{move || label.get()}</span>
            <input type="number" inputmode="numeric" min="0" max="999" data-testid=testid
                prop:value=move || value.get().map(|v| v.to_string()).unwrap_or_default()
                on:input=move |ev| value.set(event_target_value(&ev).parse::<u32>().ok().filter(|v| *v > 0)) />
        </label>
    }
}

#[component]
pub fn ProgramEditor(course: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let program = RwSignal::new(None::<Result<ProgramView, ApiError>>);
    let lines = RwSignal::new(Vec::<EditLine>::new());
    let next_key = StoredValue::new(0usize);
    let summary = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<u32>);
    let busy = RwSignal::new(false);
    // "Save first" shown: the print button was pressed with edits not yet saved.
    let save_first = RwSignal::new(false);
    // The course's status and frame as this page last saved them: the status buttons and the
    // frame line share them (a completed course offers no frame change), and a template saved
    // from here takes the frame as it is now.
    let status = RwSignal::new(String::new());
    let frame = RwSignal::new((0u32, 0u32, 0u32));

    // The lines' signals belong to the editor, not to whatever created them: a line added from
    // a search hit must outlive that hit's row when the hit list is replaced.
    let owner = StoredValue::new(Owner::current().expect("the editor renders under an owner"));
    // Runs after awaits: the editor may have been closed meanwhile, then it does nothing.
    let fill = move |p: &ProgramView| {
        let Some(start) = next_key.try_get_value() else {
            return;
        };
        lines.set(
            p.lines
                .iter()
                .enumerate()
                .map(|(i, l)| owner.with_value(|o| o.with(|| EditLine::from_view(start + i, l))))
                .collect(),
        );
        next_key.set_value(start + p.lines.len());
    };
    leptos::task::spawn_local(async move {
        let lang = i18n.lang.get_untracked().code();
        let p = api::program(&course.get_value(), lang).await;
        if let Ok(p) = &p {
            fill(p);
            status.try_set(p.status.clone());
            frame.try_set((p.planned_weeks, p.sessions_per_week, p.minutes_per_session));
        }
        program.set(Some(p));
    });

    let add = move |h: LibraryHit| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        let line = owner.with_value(|o| {
            o.with(|| {
                EditLine::new(
                    key,
                    None,
                    h.exercise_ref.clone(),
                    h.title.clone(),
                    h.illustration.clone(),
                    &h.default_dosage,
                    None,
                )
            })
        });
        lines.update(|l| l.push(line));
        saved.set(None);
    };
    let move_line = move |key: usize, by: isize| {
        lines.update(|l| {
            if let Some(i) = l.iter().position(|x| x.key == key) {
                let j = i as isize + by;
                if j >= 0 && (j as usize) < l.len() {
                    l.swap(i, j as usize);
                }
            }
        });
        saved.set(None);
    };
    let remove = move |key: usize| {
        lines.update(|l| l.retain(|x| x.key != key));
        saved.set(None);
    };

    let save = move |_| {
        let Some(Ok(p)) = program.get_untracked() else {
            return;
        };
        let req = SaveProgram {
            based_on_revision: p.revision_number,
            summary: Some(summary.get_untracked().trim().to_string()).filter(|s| !s.is_empty()),
            lines: lines.get_untracked().iter().map(EditLine::edit).collect(),
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::save_program(&course.get_value(), req).await {
                Ok(p) => {
                    save_first.set(false);
                    saved.set(Some(p.revision_number));
                    summary.set(String::new());
                    fill(&p);
                    program.set(Some(Ok(p)));
                    nav.refresh_status();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    // The citizen's paper shows the saved program: with edits not yet saved, say so instead of
    // printing the program without them.
    let open_sheet = move |_| {
        let Some(Ok(p)) = program.get_untracked() else {
            return;
        };
        let edited: Vec<ProgramLineEdit> =
            lines.get_untracked().iter().map(EditLine::edit).collect();
        let stored: Vec<ProgramLineEdit> = p
            .lines
            .iter()
            .map(|l| ProgramLineEdit {
                line_id: Some(l.line_id.clone()),
                exercise_ref: l.exercise_ref.clone(),
                dosage: l.dosage.clone(),
                instructions: l.instructions.clone(),
            })
            .collect();
        if edited == stored {
            nav.go(Page::ProgramSheet {
                course: course.get_value(),
            });
        } else {
            save_first.set(true);
        }
    };

    // The program as the municipality's own template, shared with its therapists via sync.
    let template_title = RwSignal::new(String::new());
    let template_saved = RwSignal::new(false);
    // The template saved from this page: saving again updates it instead of adding another.
    let template_id = RwSignal::new(None::<String>);
    let template_busy = RwSignal::new(false);
    let save_template = move |_| {
        let Some(Ok(p)) = program.get_untracked() else {
            return;
        };
        let req = LocalTemplateInput {
            template_id: template_id.get_untracked(),
            title: template_title.get_untracked().trim().to_string(),
            description: p.goals.join(" · "),
            goals: p.goals.clone(),
            legal_basis: p.legal_basis.clone(),
            planned_weeks: frame.get_untracked().0,
            sessions_per_week: frame.get_untracked().1,
            minutes_per_session: frame.get_untracked().2,
            lines: lines
                .get_untracked()
                .iter()
                .map(|l| {
                    let e = l.edit();
                    LocalTemplateLineInput {
                        exercise_ref: e.exercise_ref,
                        dosage: Some(e.dosage),
                        note: e.instructions,
                    }
                })
                .collect(),
            retired: false,
            test_plan: None,
        };
        error.set(None);
        template_busy.set(true);
        leptos::task::spawn_local(async move {
            // #11 plan: the template measures what this course measures; delegating stays a
            // decision per course.
            let lang = i18n.lang.get_untracked().code();
            let mut req = req;
            if let Ok(d) = api::course(&course.get_value(), lang).await {
                req.test_plan = Some(TestPlanView {
                    delegated: Vec::new(),
                    ..d.test_plan
                });
            }
            match api::put_local_template(req).await {
                Ok(saved) => {
                    template_id.set(Some(saved.id));
                    template_saved.set(true);
                    nav.refresh_status();
                }
                Err(e) => error.set(Some(e.message)),
            }
            template_busy.set(false);
        });
    };

    let line_card = move |l: EditLine| {
        let t = i18n.t();
        let position =
            move || lines.with(|ls| ls.iter().position(|x| x.key == l.key).map_or(0, |i| i + 1));
        let count = move || lines.with(Vec::len);
        view! {
            <li class="card edit-line" data-testid="program-line">
                <div class="edit-line-head">
                    {l.illustration.get_value().map(|src| view! { <img class="thumb" src=api::asset_url(&src) alt="" /> })}
                    <div class="edit-line-title">
                        <span class="muted">{position} "."</span>
                        <strong data-testid="program-line-title">{l.title.get_value()}</strong>
                    </div>
                    <div class="line-buttons">
                        <button class="btn icon" aria-label=t.th.move_up data-testid="line-up"
                            disabled=move || { position() <= 1 } on:click=move |_| move_line(l.key, -1)>"▲"</button>
                        <button class="btn icon" aria-label=t.th.move_down data-testid="line-down"
                            disabled=move || { position() >= count() } on:click=move |_| move_line(l.key, 1)>"▼"</button>
                        <button class="btn icon danger" aria-label=t.th.remove data-testid="line-remove"
                            on:click=move |_| remove(l.key)>"✕"</button>
                    </div>
                </div>
                <div class="dose-row">
                    <label class="dose">
                        <span>{move || i18n.t().th.sets}</span>
                        <input type="number" inputmode="numeric" min="1" max="50" data-testid="dose-sets"
                            prop:value=move || l.sets.get().to_string()
                            on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<u32>() { l.sets.set(v.clamp(1, 50)) } } />
                    </label>
                    <DoseField label=Signal::derive(move || i18n.t().th.reps) value=l.reps testid="dose-reps" />
                    <DoseField label=Signal::derive(move || i18n.t().th.seconds) value=l.duration_s testid="dose-seconds" />
                    <DoseField label=Signal::derive(move || i18n.t().th.hold_s) value=l.hold_s testid="dose-hold" />
                    <DoseField label=Signal::derive(move || i18n.t().th.rest_s) value=l.rest_s testid="dose-rest" />
                    <label class="dose wide">
                        <span>{move || i18n.t().th.load}</span>
                        <input data-testid="dose-load" prop:value=move || l.load.get()
                            on:input=move |ev| l.load.set(event_target_value(&ev)) />
                    </label>
                    <label class="dose side">
                        <span>{move || i18n.t().th.side}</span>
                        <select prop:value=move || l.side.get() on:change=move |ev| l.side.set(event_target_value(&ev))>
                            {["none", "left", "right", "both"].into_iter().enumerate().map(|(i, s)| view! {
                                <option value=s selected=move || l.side.get() == s>
                                    {move || if i == 0 { i18n.t().th.side_none } else { i18n.t().sides[i] }}
                                </option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                {move || (!l.media.with(Vec::is_empty)).then(|| view! {
                    <div class="line-media">
                        {l.media.get().into_iter().map(|m| {
                            let sha = m.sha256.clone();
                            view! {
                                <div class="media-item">
                                    {if m.content_type.starts_with("image/") && m.available {
                                        view! { <img class="thumb" src=api::asset_url(&m.url) alt="" /> }.into_any()
                                    } else {
                                        view! { <span class="muted">{m.content_type.clone()}</span> }.into_any()
                                    }}
                                    // Withdrawn for the whole municipality, for good: asked first,
                                    // and the list does not shift under a second tap meanwhile.
                                    {
                                        let asking = RwSignal::new(false);
                                        let withdrawing = RwSignal::new(false);
                                        let confirm = move |_| {
                                            let sha = sha.clone();
                                            withdrawing.set(true);
                                            leptos::task::spawn_local(async move {
                                                match api::withdraw_media(&sha).await {
                                                    Ok(_) => l.media.update(|ms| ms.retain(|m| m.sha256 != sha)),
                                                    Err(e) => {
                                                        error.set(Some(e.message));
                                                        withdrawing.try_set(false);
                                                    }
                                                }
                                            });
                                        };
                                        view! {
                                            <Show when=move || asking.get()
                                                fallback=move || view! {
                                                    <button class="btn secondary" data-testid="media-withdraw"
                                                        on:click=move |_| asking.set(true)>{move || i18n.t().th.withdraw}</button>
                                                }>
                                                <p class="label">{move || i18n.t().th.withdraw_confirm}</p>
                                                <button class="btn secondary" data-testid="media-withdraw-cancel"
                                                    on:click=move |_| asking.set(false)>{move || i18n.t().th.cancel_end}</button>
                                                <button class="btn primary danger" data-testid="media-withdraw-confirm"
                                                    disabled=move || withdrawing.get() on:click=confirm.clone()>
                                                    {move || i18n.t().th.withdraw}
                                                </button>
                                            </Show>
                                        }
                                    }
                                </div>
                            }
                        }).collect_view()}
                    </div>
                })}
                <label class="field">
                    <span>{move || i18n.t().instructions}</span>
                    <textarea rows="2" data-testid="line-instructions" prop:value=move || l.instructions.get()
                        on:input=move |ev| l.instructions.set(event_target_value(&ev))></textarea>
                    <small class="muted">{move || i18n.sheet().instructions_printed}</small>
                </label>
            </li>
        }
    };

    view! {
        <div class="program-editor" data-testid="program-editor">
            {move || match program.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(p)) => view! {
                    <div class="page-head">
                        <h1>{p.citizen_name.clone()}</h1>
                        <span class="muted">{p.legal_basis.clone()}</span>
                        <span class="badge" data-testid="revision-number">{(i18n.t().th.revision_n)(p.revision_number)}</span>
                        // The saved program, on paper for the citizen; not for a course that has ended.
                        {move || still_open(&status.get()).then(|| view! {
                            <button class="btn secondary print-report" data-testid="open-program-sheet"
                                on:click=open_sheet>
                                {i18n.sheet().open}
                            </button>
                        })}
                    </div>
                    {move || save_first.get().then(|| view! {
                        <p class="notice warn" role="alert" data-testid="sheet-save-first">{i18n.sheet().save_first}</p>
                    })}
                    <CourseStatus course=p.course_id.clone() status=status />
                    <CourseFrame course=p.course_id.clone() status=status frame=frame />
                    {(!p.conflicts.is_empty()).then(|| view! {
                        <div class="notice warn" data-testid="program-conflicts">
                            <strong>{i18n.t().th.conflicts_title}</strong>
                            <ul>{p.conflicts.iter().map(|c| view! {
                                <li>{if c.line_id.is_empty() {
                                    (i18n.t().th.conflict_revisions)(&c.kept, &c.other)
                                } else {
                                    format!("{} · {}: {} / {}", c.exercise_title, c.field, c.kept, c.other)
                                }}</li>
                            }).collect_view()}</ul>
                        </div>
                    })}
                }.into_any(),
            }}
            <div class="editor-grid">
                <div class="editor-program">
                    <h2>{move || i18n.t().th.program_tab}</h2>
                    <ol class="edit-lines">
                        <For each=move || lines.get() key=|l| l.key children=line_card />
                    </ol>
                    {move || lines.with(Vec::is_empty).then(|| view! { <p class="empty">{i18n.t().th.program_empty}</p> })}
                    <div class="card save-bar">
                        <label class="field">
                            <span>{move || i18n.t().th.change_summary}</span>
                            <input data-testid="change-summary" placeholder=move || i18n.t().th.change_summary_hint
                                prop:value=move || summary.get() on:input=move |ev| summary.set(event_target_value(&ev)) />
                        </label>
                        <p class="error" role="alert">{move || error.get()}</p>
                        {move || saved.get().map(|n| view! {
                            <p class="notice" data-testid="program-saved">{(i18n.t().th.saved_as_revision)(n)}</p>
                        })}
                        <button class="btn primary big" data-testid="save-program" disabled=move || busy.get() on:click=save>
                            {move || i18n.t().th.save_program}
                        </button>
                    </div>
                    <details class="card revisions" data-testid="save-template">
                        <summary>{move || i18n.t().th.save_as_template}</summary>
                        <label class="field"><span>{move || i18n.t().th.template_title}</span>
                            <input data-testid="template-title" prop:value=move || template_title.get()
                                on:input=move |ev| template_title.set(event_target_value(&ev)) /></label>
                        {move || template_saved.get().then(|| view! { <p class="notice" data-testid="template-saved">{i18n.t().th.template_saved}</p> })}
                        <button class="btn secondary" data-testid="template-save"
                            disabled=move || template_busy.get() on:click=save_template>
                            {move || i18n.t().th.save_as_template}
                        </button>
                    </details>
                    {move || program.get().and_then(Result::ok).map(|p| view! {
                        <details class="card revisions">
                            <summary>{(i18n.t().th.revisions_n)(p.revisions.len())}</summary>
                            <ul>{p.revisions.iter().map(|r| view! {
                                <li data-testid="revision">
                                    <strong>{(i18n.t().th.revision_n)(r.number)}</strong>
                                    {format!(" · {} · {} · {} · ", date_time_text(r.at), r.by_name, r.summary)}
                                    {(i18n.t().th.exercises_n)(r.exercise_count)}
                                </li>
                            }).collect_view()}</ul>
                        </details>
                    })}
                </div>
                <aside class="editor-library card">
                    <h2>{move || i18n.t().th.library}</h2>
                    <LibrarySearchPanel action=|t| t.th.add on_pick=Callback::new(add) />
                </aside>
            </div>
        </div>
    }
}
