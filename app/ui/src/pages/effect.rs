//! Issue #11 on screen (#11 course): what is due per course (a badge on the caseload, a button
//! straight to the test on the tablet's visits), the WHO-5 answered on the tablet one item per
//! screen and saved per tap, and the course's effect tab — its test plan, goal attainment and
//! the printable effect summary.

use crate::api::call;
use crate::components::Settle;
use crate::i18n::{use_i18n, CourseTexts};
use crate::pages::new_course::today_iso;
use crate::{api, use_nav, Page};
use homerehab_app_api::*;
use leptos::prelude::*;

const NO: NoQuery = NoQuery {};

async fn effect_summary(course: String) -> Result<EffectSummary, ApiError> {
    call::<op::effect_summary::Op>(op::effect_summary::Request {
        course,
        query: NO,
        body: (),
    })
    .await
}

fn phase_word(t: &CourseTexts, phase: &str) -> &'static str {
    match phase {
        "start" => t.phase_words[0],
        "midway" => t.phase_words[1],
        _ => t.phase_words[2],
    }
}

/// A test's name: the catalogue's label where known.
fn test_label(kinds: &[AssessmentKindView], key: &str) -> String {
    if key == "who5" {
        return "WHO-5".into();
    }
    kinds
        .iter()
        .find(|k| k.kind == key)
        .map_or_else(|| key.to_string(), |k| k.label.clone())
}

/// A due test's name: [`test_label`], except that a test the catalogue does not (yet) name is
/// called by the (Danish) label it came with rather than by its key.
fn due_label(kinds: &[AssessmentKindView], d: &DueTestView) -> String {
    let named = d.test == "who5" || kinds.iter().any(|k| k.kind == d.test);
    if named || d.label.is_empty() {
        test_label(kinds, &d.test)
    } else {
        d.label.clone()
    }
}

/// One badge per phase and status: "Starttest mangler: 30 s rejse-sætte-sig, WHO-5".
struct DueBadge {
    missing: bool,
    text: String,
    tests: Vec<String>,
}

fn badges(t: &CourseTexts, due: &[DueTestView], kinds: &[AssessmentKindView]) -> Vec<DueBadge> {
    let mut out: Vec<DueBadge> = Vec::new();
    // The app core sends only what is worth a prompt (`DueTest::worth_prompting`).
    for d in due {
        let status = if d.status == "upcoming" {
            "upcoming"
        } else {
            "missing"
        };
        let text = (t.due_badge)(phase_word(t, &d.phase), status, d.days);
        match out.iter_mut().find(|b| b.text == text) {
            Some(b) => b.tests.push(due_label(kinds, d)),
            None => out.push(DueBadge {
                missing: status == "missing",
                text,
                tests: vec![due_label(kinds, d)],
            }),
        }
    }
    // What is missing first.
    out.sort_by_key(|b| !b.missing);
    out
}

/// The caseload's due-test badges for one course (text, never colour alone), from the row's
/// own `tests_due`: the row renders whole at once, with no request per row. `kinds` names the
/// tests in the chosen language once the list has them (the row's Danish label until then).
#[component]
pub fn DueBadges(
    due: Vec<DueTestView>,
    kinds: ReadSignal<Vec<AssessmentKindView>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        kinds.with(|k| {
            badges(i18n.c(), &due, k)
                .into_iter()
                .map(|b| {
                    view! {
                        <span class="due-badge" class:missing=b.missing data-testid="due-badge">
                            {format!("{}: {}", b.text, b.tests.join(", "))}
                        </span>
                    }
                })
                .collect_view()
        })
    }
}

/// On a visit card: what the assistant measures that is due (WHO-5), as a big button that
/// opens the test in this visit's session. The phase comes from what is due, so the assistant
/// never chooses it.
#[component]
pub fn VisitTests(course: String, due: Vec<DueTestView>) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let open = move |phase: String| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let lang = i18n.lang.get_untracked().code();
            let course = course.get_value();
            let opened = async {
                let detail = api::course(&course, lang).await?;
                let started = api::start_session(&course).await?;
                Ok::<_, ApiError>((detail, started.session_id))
            };
            match opened.await {
                Ok((detail, session)) => {
                    nav.refresh_status();
                    nav.go(Page::Who5 {
                        detail,
                        session,
                        phase,
                    });
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    move || {
        due.iter()
            .map(|d| {
                let t = i18n.c();
                let status = if d.status == "upcoming" {
                    "upcoming"
                } else {
                    "missing"
                };
                let badge = (t.due_badge)(phase_word(t, &d.phase), status, d.days);
                let phase = d.phase.clone();
                // #11 plan: a delegated physical test, by its name.
                let what = if d.delegated {
                    (i18n.p().measure)(&d.label)
                } else {
                    t.who5_open.to_string()
                };
                // Before its week a test is announced, not offered.
                if status == "upcoming" {
                    return view! {
                        <p><span class="due-badge" data-testid="due-badge">{format!("{badge}: {what}")}</span></p>
                    }
                    .into_any();
                }
                if d.delegated {
                    let test = d.test.clone();
                    return view! {
                        <button class="btn secondary big due-test" data-testid="due-delegated" data-test=d.test.clone()
                            on:click=move |_| nav.go(Page::DelegatedTest { course: course.get_value(), test: test.clone() })>
                            <span class="due-badge" class:missing=status == "missing" data-testid="due-badge">{badge}</span>
                            <span>{what}</span>
                        </button>
                    }
                    .into_any();
                }
                view! {
                    <button class="btn secondary big due-test" data-testid="due-who5"
                        disabled=move || busy.get() on:click=move |_| open(phase.clone())>
                        <span class="due-badge" class:missing=status == "missing" data-testid="due-badge">{badge}</span>
                        <span>{t.who5_open}</span>
                    </button>
                    <p class="error" role="alert">{move || error.get()}</p>
                }
                .into_any()
            })
            .collect_view()
    }
}

/// The WHO-5 on the tablet: one statement per screen in big type, six big answers, each tap
/// saved before the next statement shows; back is possible; the score at the end.
#[component]
pub fn Who5(detail: CourseDetail, session: String, phase: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let detail = StoredValue::new(detail);
    let session = StoredValue::new(session);
    let course = detail.with_value(|d| d.course_id.clone());
    let course = StoredValue::new(course);
    let wording = RwSignal::new(None::<Who5Questionnaire>);
    let answers = RwSignal::new(vec![None::<u8>; 5]);
    // 0–4: the statement on screen; 5: done.
    let item = RwSignal::new(0usize);
    let score = RwSignal::new(None::<(u8, u8)>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(true);
    // Each statement (and the score) arrives settling: a double tap answers one statement.
    let settle = Settle::new();
    Effect::new(move |_| {
        item.track();
        settle.moved();
    });

    let apply = move |p: Who5Progress| {
        score.set(p.raw.zip(p.percent));
        answers.set(p.answers);
    };
    // The wording follows the language.
    Effect::new(move |_| {
        let lang = i18n.lang.get().code();
        leptos::task::spawn_local(async move {
            let q = call::<op::who5_questionnaire::Op>(op::who5_questionnaire::Request {
                query: LangQuery::of(lang),
                body: (),
            })
            .await;
            match q {
                Ok(q) => {
                    wording.try_set(Some(q));
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    });
    // Begin (or resume: the first unanswered statement).
    leptos::task::spawn_local(async move {
        let started = call::<op::start_who5::Op>(op::start_who5::Request {
            course: course.get_value(),
            session: session.get_value(),
            query: NO,
            body: StartWho5 {
                phase,
                place: "home".into(),
            },
        })
        .await;
        match started {
            Ok(p) => {
                item.set(p.missing.first().map_or(5, |m| usize::from(*m) - 1));
                apply(p);
            }
            Err(e) => error.set(Some(e.message)),
        }
        busy.set(false);
    });

    let tap = move |answer: u8| {
        let at = item.get_untracked();
        if at > 4 {
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let saved = call::<op::record_who5_answer::Op>(op::record_who5_answer::Request {
                course: course.get_value(),
                session: session.get_value(),
                query: NO,
                body: Who5AnswerRequest {
                    item: at as u8 + 1,
                    answer,
                },
            })
            .await;
            match saved {
                Ok(p) => {
                    let next = if at < 4 {
                        at + 1
                    } else {
                        p.missing.first().map_or(5, |m| usize::from(*m) - 1)
                    };
                    apply(p);
                    item.set(next);
                    nav.refresh_status();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let continue_session = move |_| {
        nav.go(Page::Session {
            detail: detail.get_value(),
            session: session.get_value(),
            sets_done: Default::default(),
        })
    };

    let question = move || {
        let at = item.get();
        let q = wording.get()?;
        let statement = q.items.get(at)?.clone();
        let chosen = answers.with(|a| a.get(at).copied().flatten());
        let buttons = (0..=5u8)
            .rev()
            .map(|a| {
                let text = q.answers.get(usize::from(a)).cloned().unwrap_or_default();
                view! {
                    <button class="btn who5-answer" class:selected=chosen == Some(a)
                        aria-pressed=(chosen == Some(a)).to_string()
                        data-testid=format!("who5-answer-{a}")
                        disabled=move || busy.get() || settle.settling() on:click=move |_| tap(a)>
                        <span class="who5-num">{a.to_string()}</span>
                        <span class="who5-text">{text}</span>
                    </button>
                }
            })
            .collect_view();
        Some(view! {
            <p class="progress" data-testid="who5-progress">{(i18n.c().item_of)(at + 1, 5)}</p>
            <p class="who5-lead">{q.lead.clone()}</p>
            <p class="who5-item" data-testid="who5-item">{statement}</p>
            <div class="who5-answers">{buttons}</div>
            <button class="btn secondary big" data-testid="who5-back" disabled=move || busy.get() || settle.settling() || item.get() == 0
                on:click=move |_| item.update(|i| *i = i.saturating_sub(1))>
                {move || i18n.c().back}
            </button>
        })
    };

    let done = move || {
        view! {
            <div class="who5-done" data-testid="who5-done">
                <h2>{move || i18n.c().who5_done}</h2>
                <p class="who5-score" data-testid="who5-score">
                    {move || score.get().map(|(raw, pct)| (i18n.c().who5_score)(raw, pct))}
                </p>
                <div class="actions">
                    <button class="btn secondary big" data-testid="who5-back"
                        disabled=move || settle.settling()
                        on:click=move |_| item.set(4)>{move || i18n.c().back}</button>
                    <button class="btn primary big" data-testid="who5-continue"
                        disabled=move || settle.settling() on:click=continue_session>
                        {move || i18n.c().continue_session}
                    </button>
                    <button class="btn secondary big" data-testid="who5-to-visits"
                        disabled=move || settle.settling()
                        on:click=move |_| nav.go(Page::Visits { notice: None })>
                        {move || i18n.t().back_to_visits}
                    </button>
                </div>
            </div>
        }
    };

    view! {
        <section class="who5" data-testid="who5">
            <h1>{move || i18n.c().who5_title} <span class="muted">{detail.with_value(|d| format!(" · {}", d.citizen_name))}</span></h1>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || if item.get() > 4 { done().into_any() } else { question().into_any() }}
            <p class="who5-attribution muted" data-testid="who5-attribution">{move || wording.get().map(|q| q.attribution)}</p>
        </section>
    }
}

fn judgement_index(j: &str) -> Option<usize> {
    ["improved", "maintained", "declined", "incomplete"]
        .iter()
        .position(|x| *x == j)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}").replace('.', ",")
    }
}

/// Start → end per test as paired bars, each test on its own scale (the tests' units differ).
fn outcome_chart(tests: &[TestOutcomeView], kinds: &[AssessmentKindView]) -> impl IntoView {
    let rows: Vec<_> = tests
        .iter()
        .filter(|o| o.start.is_some() || o.end.is_some())
        .collect();
    let row_h = 44.0;
    let h = row_h * rows.len() as f64 + 8.0;
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let y = 4.0 + i as f64 * row_h;
            let max = o.start.unwrap_or(0.0).max(o.end.unwrap_or(0.0)).max(1e-9);
            let bar = |v: Option<f64>, dy: f64, class: &'static str| {
                v.map(|v| {
                    let w = 300.0 * v / max;
                    view! {
                        <rect class=class x="220" y=y + dy width=w height="16" />
                        <text class="chart-value" x=228.0 + w y=y + dy + 13.0>{number(v)}</text>
                    }
                })
            };
            view! {
                <text class="chart-label" x="0" y=y + 24.0>{test_label(kinds, &o.test)}</text>
                {bar(o.start, 2.0, "bar-start")}
                {bar(o.end, 20.0, "bar-end")}
            }
        })
        .collect_view();
    view! {
        <svg class="effect-chart" viewBox=format!("0 0 600 {h}") role="img" data-testid="effect-chart">
            {bars}
        </svg>
    }
}

/// The course's effect tab: test plan and goal attainment (for who prescribes), and the
/// effect summary with its print button.
#[component]
pub fn EffectTab(course: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let edit = nav.may(Capability::PrescribeCourses);
    let course = StoredValue::new(course);
    let detail = RwSignal::new(None::<CourseDetail>);
    let summary = RwSignal::new(None::<Result<EffectSummary, ApiError>>);
    let kinds = RwSignal::new(Vec::<AssessmentKindView>::new());
    let plan = RwSignal::new(TestPlanView::default());
    let plan_notice = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let load = move || {
        leptos::task::spawn_local(async move {
            let lang = i18n.lang.get_untracked().code();
            let id = course.get_value();
            if let Ok(k) = api::assessment_kinds(lang).await {
                kinds.try_set(k);
            }
            if let Ok(d) = api::course(&id, lang).await {
                // The plan in force, delegations included (#11 plan).
                plan.try_set(d.test_plan.clone());
                detail.try_set(Some(d));
            }
            let s = effect_summary(id.clone()).await;
            summary.try_set(Some(s));
        });
    };
    load();
    nav.reload_on_sync(load);

    let save_plan = move |_| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let saved = call::<op::set_test_plan::Op>(op::set_test_plan::Request {
                course: course.get_value(),
                query: NO,
                body: plan.get_untracked(),
            })
            .await;
            match saved {
                Ok(p) => {
                    plan.set(p);
                    plan_notice.set(true);
                    nav.refresh_status();
                    load();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let rate = move |goal: String, attainment: &'static str| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let saved = call::<op::set_goal_attainment::Op>(op::set_goal_attainment::Request {
                course: course.get_value(),
                query: NO,
                body: GoalRating {
                    goal,
                    attainment: attainment.into(),
                    note: None,
                },
            })
            .await;
            match saved {
                Ok(_) => {
                    nav.refresh_status();
                    load();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let print = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };

    let plan_editor = move || {
        let t = i18n.c();
        view! {
            <div class="card no-print" data-testid="test-plan">
                <h2>{t.test_plan}</h2>
                <p class="hint">{t.test_plan_hint}" "{i18n.p().delegated_hint}</p>
                <table class="plan-table"><tbody>
                    <crate::pages::test_plan::TestPlanTable plan kinds />
                </tbody></table>
                <div class="actions">
                    <button class="btn primary big" data-testid="save-plan" disabled=move || busy.get() on:click=save_plan>
                        {t.save_plan}
                    </button>
                </div>
                <Show when=move || plan_notice.get()>
                    <p class="notice" data-testid="plan-saved">{move || i18n.c().plan_saved}</p>
                </Show>
            </div>
        }
    };

    let goal_editor = move || {
        let t = i18n.c();
        let rated = summary
            .get()
            .and_then(|s| s.ok())
            .map(|s| s.goals)
            .unwrap_or_default();
        let goals = detail.get().map(|d| d.goals).unwrap_or_default();
        let rows = goals
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                let current = rated
                    .iter()
                    .find(|r| r.goal == g)
                    .and_then(|r| r.attainment.clone());
                let buttons = ["achieved", "partly_achieved", "not_achieved"]
                    .into_iter()
                    .enumerate()
                    .map(|(k, a)| {
                        let goal = g.clone();
                        let on = current.as_deref() == Some(a);
                        view! {
                            <button class="btn choice big" class:selected=on aria-pressed=on.to_string()
                                data-testid=format!("goal-{i}-{a}") disabled=move || busy.get()
                                on:click=move |_| rate(goal.clone(), a)>
                                {if on { format!("✓ {}", t.attainments[k]) } else { t.attainments[k].to_string() }}
                            </button>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="goal-rating" data-testid="goal-rating">
                        <p class="goal-text">{g.clone()}</p>
                        <div class="choices">{buttons}</div>
                    </div>
                }
            })
            .collect_view();
        view! {
            <div class="card no-print" data-testid="goal-attainment">
                <h2>{t.goal_attainment}</h2>
                {rows}
            </div>
        }
    };

    let summary_view = move || {
        let t = i18n.c();
        let s = match summary.get() {
            None => return view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
            Some(Err(e)) => return view! { <p class="error">{e.message}</p> }.into_any(),
            Some(Ok(s)) => s,
        };
        let k = kinds.get();
        let test_rows = s
            .tests
            .iter()
            .map(|o| {
                // The summary's own (Danish) unit, else the catalogue's.
                let unit = if o.unit.is_empty() {
                    k.iter()
                        .find(|x| x.kind == o.test)
                        .map(|x| x.unit.clone())
                        .unwrap_or_default()
                } else {
                    o.unit.clone()
                };
                let limit = o
                    .meaningful_change
                    .map(|m| format!("{} ±{} {unit}", t.mcid_is, number(m)));
                let value = |v: Option<f64>| {
                    v.map_or("—".to_string(), |v| format!("{} {unit}", number(v)))
                };
                // #11 plan: who measured it and where.
                let measured = |v: Option<f64>, by: &Option<String>, place: &Option<String>| {
                    v.and(by.as_ref()).map(|by| {
                        let text = (i18n.p().measured)(by, i18n.place_word(place.as_deref()));
                        view! { <br/><small class="muted" data-testid="measured-by">{text}</small> }
                    })
                };
                let start_measured = measured(o.start, &o.start_by, &o.start_place);
                let end_measured = measured(o.end, &o.end_by, &o.end_place);
                let (class, mark, text) = match o.judgement.as_deref().and_then(judgement_index) {
                    Some(0) => ("improved", "▲", t.judgements[0]),
                    Some(1) => ("maintained", "●", t.judgements[1]),
                    Some(2) => ("declined", "▼", t.judgements[2]),
                    Some(_) => ("incomplete", "?", t.judgements[3]),
                    None => ("none", "–", t.no_mcid),
                };
                let norm = match (o.norm_mean, o.norm_position.as_deref()) {
                    (Some(mean), Some(pos)) => {
                        let p = match pos {
                            "below" => t.norm_positions[0],
                            "above" => t.norm_positions[2],
                            _ => t.norm_positions[1],
                        };
                        format!("{} {unit}: {p}", number(mean))
                    }
                    _ => t.norm_unknown.to_string(),
                };
                let label = if o.test == "who5" {
                    t.wellbeing.to_string()
                } else {
                    test_label(&k, &o.test)
                };
                view! {
                    <tr data-testid="outcome-row" data-test=o.test.clone()>
                        <th scope="row">{label}</th>
                        <td>{value(o.start)}{start_measured}</td>
                        <td>{value(o.end)}{end_measured}</td>
                        <td><span class=format!("judgement {class}") data-testid="judgement">
                            <span aria-hidden="true">{mark}</span>" "{text}</span>
                            {limit.map(|l| view! { <br/><small class="muted" data-testid="mcid">{l}</small> })}</td>
                        <td>{norm}</td>
                    </tr>
                }
            })
            .collect_view();
        let goals = if s.goals.is_empty() {
            view! { <p class="muted">{t.no_goals}</p> }.into_any()
        } else {
            s.goals
                .iter()
                .map(|g| {
                    let a = match g.attainment.as_deref() {
                        Some("achieved") => t.attainments[0],
                        Some("partly_achieved") => t.attainments[1],
                        Some("not_achieved") => t.attainments[2],
                        _ => t.not_rated,
                    };
                    view! { <li data-testid="summary-goal"><span>{g.goal.clone()}</span>": "<strong>{a}</strong></li> }
                })
                .collect_view()
                .into_any()
        };
        let minutes = |m: Option<u32>| m.map_or(t.not_yet.to_string(), |m| (t.minutes_week)(m));
        let care = s
            .care_follow_ups
            .iter()
            .map(|f| {
                let change = match (f.change_minutes, f.change_percent) {
                    (Some(m), Some(p)) => format!(" ({m:+} min, {p:+.1} %)").replace('.', ","),
                    (Some(m), None) => format!(" ({m:+} min)"),
                    _ => String::new(),
                };
                let shown = if f.citizen_left && f.minutes_per_week.is_none() {
                    t.not_followed_up_citizen_left.to_string()
                } else if f.not_followed_up && f.minutes_per_week.is_none() {
                    t.not_followed_up.to_string()
                } else if f.awaiting_grants {
                    t.awaiting_grants.to_string()
                } else {
                    minutes(f.minutes_per_week)
                };
                view! {
                    <tr><th scope="row">{(t.after_days)(f.offset_days)}" · "{f.date.clone()}</th>
                        <td data-testid="care-follow-up">{shown}{change}</td></tr>
                }
            })
            .collect_view();
        let d = detail.get();
        view! {
            <article class="card effect-summary" data-testid="effect-summary">
                <div class="page-head">
                    <h2>{t.effect_summary}</h2>
                    <button class="btn secondary no-print" data-testid="print" on:click=print>{t.print}</button>
                </div>
                <p class="effect-who"><strong>{d.as_ref().map(|d| d.citizen_name.clone())}</strong>
                    {d.as_ref().map(|d| format!(" · {}", d.legal_basis))}
                    <span class="print-only">{format!(" · {} {}", t.printed_on, today_iso())}</span></p>
                <p data-testid="sessions-done">{(t.sessions_done)(s.sessions_done, s.sessions_planned)}</p>
                <h3>{t.tests_start_end}</h3>
                <table class="effect-table">
                    <thead><tr><th>{i18n.t().th.test}</th><th>{t.start}</th><th>{t.end}</th><th>{t.judgement}</th><th>{t.norm}</th></tr></thead>
                    <tbody>{test_rows}</tbody>
                </table>
                <details class="mcid-sources" open>
                    <summary>{t.mcid_sources}</summary>
                    <ul>{s.tests.iter().filter_map(|o| {
                        let (m, src) = (o.meaningful_change?, o.meaningful_change_source.clone()?);
                        let name = if o.label.is_empty() { o.test.clone() } else { o.label.clone() };
                        Some(view! { <li><strong>{name}</strong>{format!(": ±{} {} — ", number(m), o.unit)}{src}</li> })
                    }).collect_view()}</ul>
                </details>
                {outcome_chart(&s.tests, &k)}
                <p class="chart-legend muted"><span class="key bar-start"></span>{t.start}" "<span class="key bar-end"></span>{t.end}</p>
                <h3>{t.goals}</h3>
                <ul class="effect-goals">{goals}</ul>
                <h3>{t.care_time}</h3>
                <table class="effect-table care">
                    <tbody>
                        <tr><th scope="row">{t.baseline}</th><td data-testid="care-baseline">{minutes(s.care_baseline_minutes_per_week)}</td></tr>
                        {care}
                    </tbody>
                </table>
            </article>
        }
        .into_any()
    };

    view! {
        <div class="effect" data-testid="effect-tab">
            <p class="error" role="alert">{move || error.get()}</p>
            {move || edit.then(plan_editor)}
            {move || edit.then(goal_editor)}
            {summary_view}
        </div>
    }
}
