//! The guided session: one exercise at a time with its illustration, instructions and dosage,
//! a big "Sæt udført" counter, quick feedback, next; then the general condition and finish.
//! Every tap is stored by the app core before the screen moves on.

use crate::components::{Settle, Timer};
use crate::i18n::{use_i18n, Texts};
use crate::{api, use_nav, Page};
use homerehab_app_api::*;
use leptos::prelude::*;

/// "3 × 10 gentagelser · begge sider · pause 60 sek."
pub fn dosage_text(t: &Texts, d: &DosageView) -> String {
    let mut parts = vec![];
    let amount = match (d.reps, d.duration_s) {
        (Some(r), Some(s)) => format!("{} × {r} {} ({s} {})", d.sets, t.reps, t.seconds),
        (Some(r), None) => format!("{} × {r} {}", d.sets, t.reps),
        (None, Some(s)) => format!("{} × {s} {}", d.sets, t.seconds),
        (None, None) => format!("{} {}", d.sets, t.sets_word),
    };
    parts.push(amount);
    if let Some(h) = d.hold_s {
        parts.push(format!("{} {h} {}", t.hold, t.seconds));
    }
    if let Some(l) = &d.load {
        parts.push(l.clone());
    }
    let side = match d.side.as_str() {
        "left" => t.sides[1],
        "right" => t.sides[2],
        "both" => t.sides[3],
        _ => "",
    };
    if !side.is_empty() {
        parts.push(side.to_string());
    }
    if let Some(r) = d.rest_s {
        parts.push(format!("{} {r} {}", t.rest, t.seconds));
    }
    parts.join(" · ")
}

/// A row of 0–10 buttons for Borg or pain.
#[component]
fn Scale(
    label: fn(&'static Texts) -> &'static str,
    value: RwSignal<Option<u8>>,
    testid: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <fieldset class="scale" data-testid=testid>
            <legend>{move || label(i18n.t())}</legend>
            <div class="scale-row">
                {(0u8..=10).map(|n| view! {
                    <button class="btn num" class:selected=move || value.get() == Some(n)
                        aria-pressed=move || (value.get() == Some(n)).to_string()
                        on:click=move |_| value.set(if value.get_untracked() == Some(n) { None } else { Some(n) })>
                        {n}
                    </button>
                }).collect_view()}
            </div>
        </fieldset>
    }
}

#[component]
pub fn Session(
    detail: CourseDetail,
    session: String,
    /// Sets already logged per line: a session opened again goes on counting from there.
    sets_done: std::collections::BTreeMap<String, u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let total = detail.lines.len();
    let logged_before = StoredValue::new(sets_done);
    let lines = StoredValue::new(detail.lines.clone());
    // The sets logged before this screen on the line at `i`.
    let logged_on = move |i: usize| {
        lines.with_value(|ls| {
            ls.get(i)
                .and_then(|l| logged_before.with_value(|m| m.get(&l.line_id).copied()))
                .unwrap_or(0)
        })
    };
    let first = logged_on(0);
    let detail = StoredValue::new(detail);
    let session = StoredValue::new(session);
    let index = RwSignal::new(0usize);
    let sets_done = RwSignal::new(first);
    let outcome = RwSignal::new(None::<Outcome>);
    let skip_reason = RwSignal::new(None::<usize>);
    let borg = RwSignal::new(None::<u8>);
    let pain = RwSignal::new(None::<u8>);
    let finishing = RwSignal::new(total == 0);
    let condition = RwSignal::new(None::<u8>);
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // Each exercise, the finish and each logged set arrive settling: a gloved double tap on
    // "Næste" does not pass the next exercise as skipped, nor log one set as two.
    let settle = Settle::new();
    Effect::new(move |_| {
        index.track();
        finishing.track();
        settle.moved();
    });

    let course_id = move || detail.with_value(|d| d.course_id.clone());
    let current = move || lines.with_value(|l| l.get(index.get()).cloned());
    // What the outcome is unless the assistant picks another: follows the sets logged.
    let effective = move || {
        outcome.get().unwrap_or_else(|| {
            let want = current().map_or(0, |l| l.dosage.sets);
            match sets_done.get() {
                n if n >= want => Outcome::Done,
                0 => Outcome::Skipped,
                _ => Outcome::Partly,
            }
        })
    };

    let log_set = move |_| {
        let Some(line) = current() else { return };
        busy.set(true);
        let req = LogSetRequest {
            line_id: line.line_id.clone(),
            reps: line.dosage.reps,
            duration_s: line.dosage.duration_s,
            load_kg: None,
        };
        leptos::task::spawn_local(async move {
            match api::log_set(&course_id(), &session.get_value(), req).await {
                Ok(r) => {
                    sets_done.set(r.sets_done);
                    settle.moved();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
            nav.refresh_status();
        });
    };

    let next = move |_| {
        let Some(line) = current() else { return };
        let chosen = effective();
        let reason = skip_reason
            .get_untracked()
            .map(|k| i18n.t().skip_reasons[k].to_string());
        let req = FeedbackRequest {
            line_id: line.line_id.clone(),
            outcome: chosen,
            skip_reason: (chosen == Outcome::Skipped).then_some(reason).flatten(),
            borg: borg.get_untracked(),
            pain: pain.get_untracked(),
            note: None,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::record_feedback(&course_id(), &session.get_value(), req).await {
                Ok(_) => {
                    error.set(None);
                    sets_done.set(logged_on(index.get_untracked() + 1));
                    outcome.set(None);
                    skip_reason.set(None);
                    borg.set(None);
                    pain.set(None);
                    if index.get_untracked() + 1 < total {
                        index.update(|i| *i += 1);
                    } else {
                        finishing.set(true);
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
            nav.refresh_status();
        });
    };

    let finish = move |_| {
        busy.set(true);
        let req = FinishRequest {
            general_condition: condition.get_untracked(),
            note: Some(note.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            match api::finish_session(&course_id(), &session.get_value(), req).await {
                Ok(summary) => {
                    nav.refresh_status();
                    nav.go(Page::Summary {
                        detail: detail.get_value(),
                        summary,
                    });
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let outcome_button = move |o: Outcome, label: fn(&'static Texts) -> &'static str| {
        view! {
            <button class="btn choice" data-testid=format!("outcome-{o:?}").to_lowercase()
                class:selected=move || effective() == o
                aria-pressed=move || (effective() == o).to_string()
                on:click=move |_| outcome.set(Some(o))>
                {move || label(i18n.t())}
            </button>
        }
    };

    let exercise = move || {
        let line = current()?;
        let t = i18n.t();
        let want = line.dosage.sets;
        let illustration = match &line.illustration {
            Some(p) => {
                view! { <img class="illustration" src=api::asset_url(p) alt=line.title.clone() /> }
                    .into_any()
            }
            // The municipality's own exercises show their photos and videos instead.
            None if !line.media.is_empty() => ().into_any(),
            None => view! { <div class="illustration none">{t.no_illustration}</div> }.into_any(),
        };
        Some(view! {
            <div class="exercise" data-testid="exercise">
                <div class="figure">
                    {illustration}
                    {(!line.media.is_empty()).then(|| view! {
                        <div class="line-media" data-testid="exercise-media">
                            {line.media.iter().map(|m| {
                                if !m.available {
                                    view! { <p class="muted media-missing">{t.th.media_missing}</p> }.into_any()
                                } else if m.content_type.starts_with("video/") {
                                    view! { <video class="media" src=api::asset_url(&m.url) controls=true preload="metadata"></video> }.into_any()
                                } else {
                                    view! { <img class="media" src=api::asset_url(&m.url) alt=line.title.clone() /> }.into_any()
                                }
                            }).collect_view()}
                        </div>
                    })}
                    <details class="steps">
                        <summary>{t.how_to}</summary>
                        <ol>{line.steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ol>
                    </details>
                </div>
                <div class="info">
                    <p class="progress">
                        {(t.exercise_of)(index.get_untracked() + 1, total)} " · "
                        {detail.with_value(|d| d.citizen_name.clone())}
                    </p>
                    <h1 data-testid="exercise-title">{line.title.clone()}</h1>
                    <p class="dosage" data-testid="dosage">{dosage_text(t, &line.dosage)}</p>
                    {line.instructions.clone().map(|i| view! {
                        <p class="instructions"><strong>{t.instructions} ": "</strong>{i}</p>
                    })}
                    <button class="btn set-counter" data-testid="set-done" on:click=log_set disabled=move || busy.get() || settle.settling()>
                        <span class="set-label">{t.set_done}</span>
                        <span class="set-count" data-testid="set-count">{move || (i18n.t().sets_progress)(sets_done.get(), want)}</span>
                    </button>
                    <div class="timers">
                        {line.dosage.hold_s.map(|s| view! {
                            <Timer seconds=s label=t.hold.to_string() done_label=t.timer_done start_label=t.timer_start testid="hold-timer" />
                        })}
                        {line.dosage.duration_s.map(|s| view! {
                            <Timer seconds=s label=t.timed.to_string() done_label=t.timer_done start_label=t.timer_start testid="duration-timer" />
                        })}
                        // The rest between sets starts by itself after each logged set but the last.
                        {move || {
                            let n = sets_done.get();
                            line.dosage.rest_s.filter(|_| n > 0 && n < want).map(|r| view! {
                                <Timer seconds=r label=t.rest.to_string() done_label=t.timer_done start_label=t.timer_start autostart=true testid="rest-timer" />
                            })
                        }}
                    </div>
            <div class="feedback" role="group" aria-label=t.how_did_it_go>
                <div class="choices">
                    {outcome_button(Outcome::Done, |t| t.outcome_done)}
                    {outcome_button(Outcome::Partly, |t| t.outcome_partly)}
                    {outcome_button(Outcome::Skipped, |t| t.outcome_skipped)}
                </div>
                <Show when=move || effective() == Outcome::Skipped>
                    <div class="choices small">
                        {(0..4).map(|k| view! {
                            <button class="btn choice" class:selected=move || skip_reason.get() == Some(k)
                                on:click=move |_| skip_reason.set(Some(k))>
                                {move || i18n.t().skip_reasons[k]}
                            </button>
                        }).collect_view()}
                    </div>
                </Show>
                <Scale label=|t| t.borg value=borg testid="borg" />
                <Scale label=|t| t.pain value=pain testid="pain" />
                <button class="btn primary big next" data-testid="next" on:click=next disabled=move || busy.get() || settle.settling()>
                    {move || if index.get() + 1 < total { i18n.t().next_exercise } else { i18n.t().to_finish }}
                </button>
            </div>
                </div>
            </div>
        })
    };

    let finish_panel = move || {
        let t = i18n.t();
        view! {
            <div class="card finish" data-testid="finish">
                <h1>{t.finish_title}</h1>
                <p class="citizen">{detail.with_value(|d| d.citizen_name.clone())}</p>
                <fieldset class="scale">
                    <legend>{t.general_condition}</legend>
                    <div class="choices">
                        {(1u8..=5).map(|n| view! {
                            <button class="btn choice" data-testid="condition" class:selected=move || condition.get() == Some(n)
                                aria-pressed=move || (condition.get() == Some(n)).to_string()
                                on:click=move |_| condition.set(Some(n))>
                                {n} " · " {t.conditions[usize::from(n) - 1]}
                            </button>
                        }).collect_view()}
                    </div>
                </fieldset>
                <label>
                    <span>{t.note}</span>
                    <textarea rows="3" maxlength="4000" data-testid="note" prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                </label>
                <button class="btn primary big" data-testid="finish-save" on:click=finish disabled=move || busy.get() || settle.settling()>
                    {t.finish_and_save}
                </button>
            </div>
        }
    };

    view! {
        <section class="session">
            <p class="error" role="alert">{move || error.get()}</p>
            {move || if finishing.get() { finish_panel().into_any() } else { exercise().into_any() }}
        </section>
    }
}
