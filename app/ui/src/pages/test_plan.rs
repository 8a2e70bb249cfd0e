//! Issue #11's test plan as a therapist edits it (on a new course before it is created, and on
//! the course's effect tab), with "Uddelegeret til assistent" per physical test; and the
//! tablet's entry screen of a delegated test: one number with its unit and range, big targets
//! for gloved hands, saved offline like every other write.

use crate::api::call;
use crate::i18n::use_i18n;
use crate::{use_nav, Page};
use homerehab_app_api::*;
use leptos::prelude::*;

/// Whether a test can be delegated: the physical tests. The WHO-5 is the assistant's anyway
/// and home-care minutes come from the care record (the rule is
/// `shared::effect::plan::delegable`; the app refuses anything else).
fn delegable(test: &str) -> bool {
    !matches!(test, "who5" | "home_care_minutes")
}

fn planned(p: &TestPlanView, test: &str) -> bool {
    [&p.start, &p.mid, &p.end]
        .iter()
        .any(|l| l.iter().any(|t| t == test))
}

/// Toggles `test` in column `col` (0 start, 1 mid, 2 end); a test no longer planned anywhere is
/// no longer delegated either.
pub fn toggle_phase(p: &mut TestPlanView, col: usize, test: &str) {
    let list = match col {
        0 => &mut p.start,
        1 => &mut p.mid,
        _ => &mut p.end,
    };
    match list.iter().position(|k| k == test) {
        Some(i) => {
            list.remove(i);
        }
        None => list.push(test.to_string()),
    }
    if !planned(p, test) {
        p.delegated.retain(|t| t != test);
    }
}

fn toggle_delegated(p: &mut TestPlanView, test: &str) {
    match p.delegated.iter().position(|t| t == test) {
        Some(i) => {
            p.delegated.remove(i);
        }
        None => p.delegated.push(test.to_string()),
    }
}

/// The plan as a table: a row per test of the catalogue, Start / Midtvejs / Slut toggles and,
/// for a planned physical test, "Uddelegeret til assistent".
#[component]
pub fn TestPlanTable(
    plan: RwSignal<TestPlanView>,
    kinds: RwSignal<Vec<AssessmentKindView>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        kinds
            .get()
            .into_iter()
            .map(|k| {
                let cells = (0..3)
                    .map(|col| {
                        let key = k.kind.clone();
                        let key2 = k.kind.clone();
                        let on = Memo::new(move |_| {
                            plan.with(|p| [&p.start, &p.mid, &p.end][col].contains(&key))
                        });
                        view! {
                            <td>
                                <button class="btn choice plan-toggle" class:selected=on
                                    aria-pressed=move || on.get().to_string()
                                    data-testid=format!("plan-{}-{col}", k.kind)
                                    on:click=move |_| plan.update(|p| toggle_phase(p, col, &key2))>
                                    {move || if on.get() { format!("✓ {}", i18n.c().plan_columns[col]) } else { i18n.c().plan_columns[col].to_string() }}
                                </button>
                            </td>
                        }
                    })
                    .collect_view();
                let delegate = delegable(&k.kind).then(|| {
                    let key = k.kind.clone();
                    let key2 = k.kind.clone();
                    let key3 = k.kind.clone();
                    let on = Memo::new(move |_| plan.with(|p| p.delegated.contains(&key)));
                    let can = Memo::new(move |_| plan.with(|p| planned(p, &key3)));
                    view! {
                        <button class="btn choice plan-toggle delegate-toggle" class:selected=on
                            aria-pressed=move || on.get().to_string()
                            data-testid=format!("plan-{}-delegated", k.kind)
                            disabled=move || !can.get()
                            on:click=move |_| plan.update(|p| toggle_delegated(p, &key2))>
                            {move || if on.get() { format!("✓ {}", i18n.p().delegated) } else { i18n.p().delegated.to_string() }}
                        </button>
                    }
                });
                view! {
                    <tr>
                        <th scope="row">{format!("{} ({})", k.label, k.unit)}</th>
                        {cells}
                        <td>{delegate}</td>
                    </tr>
                }
            })
            .collect_view()
    }
}

/// The tablet's entry screen of a delegated test: the test, the phase it counts for, its unit
/// and range; a big number with − and + for gloved hands, where it was measured, save.
#[component]
pub fn DelegatedTest(course: String, test: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let test = StoredValue::new(test);
    let form = RwSignal::new(None::<DelegatedTestForm>);
    let value = RwSignal::new(String::new());
    let place = RwSignal::new("home".to_string());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<AssessmentView>);
    let busy = RwSignal::new(false);

    Effect::new(move |_| {
        let lang = i18n.lang.get().code();
        leptos::task::spawn_local(async move {
            let f = call::<op::delegated_test_form::Op>(op::delegated_test_form::Request {
                course: course.get_value(),
                test: test.get_value(),
                query: LangQuery::of(lang),
                body: (),
            })
            .await;
            match f {
                Ok(f) => {
                    form.try_set(Some(f));
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    });

    let parsed = move || value.get().replace(',', ".").trim().parse::<f64>().ok();
    // −/+ step by one (a stand, a second, a point), within the range.
    let step = move |by: f64| {
        let Some(f) = form.get_untracked() else {
            return;
        };
        let now = parsed().unwrap_or(if by > 0.0 { f.min - by } else { f.min });
        let next = (now + by).clamp(f.min, f.max);
        error.set(None);
        value.set(number(next));
    };
    let save = move |_| {
        let Some(f) = form.get_untracked() else {
            return;
        };
        let p = i18n.p();
        let v = match parsed() {
            Some(v) if v >= f.min && v <= f.max && (!f.whole || v.fract() == 0.0) => v,
            _ => {
                error.set(Some((p.out_of_range)(
                    &number(f.min),
                    &number(f.max),
                    &f.unit,
                    f.whole,
                )));
                return;
            }
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let lang = i18n.lang.get_untracked().code();
            let r = call::<op::record_delegated_test::Op>(op::record_delegated_test::Request {
                course: course.get_value(),
                query: LangQuery::of(lang),
                body: DelegatedTestResult {
                    test: f.test.clone(),
                    phase: f.phase.clone(),
                    value: v,
                    place: place.get_untracked(),
                    note: None,
                },
            })
            .await;
            match r {
                Ok(a) => {
                    saved.set(Some(a));
                    nav.refresh_status();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let entry = move || {
        let f = form.get()?;
        let p = i18n.p();
        let phase = match f.phase.as_str() {
            "start" => i18n.c().phase_words[0],
            "midway" => i18n.c().phase_words[1],
            _ => i18n.c().phase_words[2],
        };
        let places = ["home", "clinic"]
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                view! {
                    <button class="btn choice big" class:selected=move || place.get() == key
                        aria-pressed=move || (place.get() == key).to_string()
                        data-testid=format!("place-{key}") on:click=move |_| place.set(key.to_string())>
                        {move || i18n.p().places[i]}
                    </button>
                }
            })
            .collect_view();
        Some(view! {
            <p class="progress" data-testid="delegated-phase">{(p.phase_test)(phase)}</p>
            <h2 class="delegated-test-name" data-testid="delegated-test-name">{f.label.clone()}</h2>
            <p class="hint" data-testid="delegated-range">{(p.range)(&number(f.min), &number(f.max), &f.unit)}</p>
            <div class="number-entry">
                <button class="btn secondary step-button" data-testid="value-minus" aria-label="−1"
                    disabled=move || busy.get() on:click=move |_| step(-1.0)>"−"</button>
                <label class="number-field">
                    <span class="sr-only">{p.result}</span>
                    <input type="text" inputmode=if f.whole { "numeric" } else { "decimal" }
                        class="big-number" data-testid="delegated-value" autocomplete="off"
                        prop:value=move || value.get()
                        on:input=move |ev| { error.set(None); value.set(event_target_value(&ev)); } />
                    <span class="unit" data-testid="delegated-unit">{f.unit.clone()}</span>
                </label>
                <button class="btn secondary step-button" data-testid="value-plus" aria-label="+1"
                    disabled=move || busy.get() on:click=move |_| step(1.0)>"+"</button>
            </div>
            <p class="label">{p.where_measured}</p>
            <div class="choices">{places}</div>
            <div class="actions">
                <button class="btn primary big" data-testid="save-delegated" disabled=move || busy.get() on:click=save>
                    {p.save_result}
                </button>
                <button class="btn secondary big" data-testid="delegated-cancel"
                    on:click=move |_| nav.go(Page::Visits { notice: None })>
                    {move || i18n.t().back_to_visits}
                </button>
            </div>
        })
    };
    let done = move || {
        let a = saved.get()?;
        Some(view! {
            <div class="delegated-done" data-testid="delegated-saved">
                <h2>{move || i18n.p().result_saved}</h2>
                <p class="who5-score">{format!("{}: {} {}", a.label, number(a.value), form.get().map(|f| f.unit).unwrap_or_default())}</p>
                <button class="btn primary big" data-testid="delegated-to-visits"
                    on:click=move |_| nav.go(Page::Visits { notice: None })>
                    {move || i18n.t().back_to_visits}
                </button>
            </div>
        })
    };

    view! {
        <section class="delegated-test" data-testid="delegated-test">
            <h1>{move || i18n.p().entry_title}
                <span class="muted">{move || form.get().map(|f| format!(" · {}", f.citizen_name))}</span></h1>
            <p class="error" role="alert" data-testid="delegated-error">{move || error.get()}</p>
            {move || if saved.get().is_some() { done().into_any() } else { entry().into_any() }}
        </section>
    }
}

/// A value as Danish writes it: no decimals for whole numbers, a decimal comma otherwise.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}").replace('.', ",")
    }
}
