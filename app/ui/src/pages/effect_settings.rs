//! The municipality's effect settings, for its library editors: each test's meaningful change
//! with the shipped value and source beside it, the care-time follow-up offsets, and the
//! inclusion criteria and reasons (add, rename, retire). Saved as one record; the app checks
//! it and says what is wrong. Others who follow courses see the page read-only.

use crate::api::call;
use crate::i18n::{use_i18n, Lang};
use crate::use_nav;
use homerehab_app_api::{
    op, ApiError, Capability, ChangeOverrideInput, ChangeSettingView, EffectSettingsInput,
    EffectSettingsView, LabelSetting, NoQuery, TestPlanView,
};
use leptos::prelude::*;

async fn load() -> Result<EffectSettingsView, ApiError> {
    call::<op::effect_settings::Op>(op::effect_settings::Request {
        query: NoQuery {},
        body: (),
    })
    .await
}

async fn save(input: EffectSettingsInput) -> Result<EffectSettingsView, ApiError> {
    call::<op::set_effect_settings::Op>(op::set_effect_settings::Request {
        query: NoQuery {},
        body: input,
    })
    .await
}

/// A decimal as typed, Danish comma or point.
fn number(s: &str) -> Option<f64> {
    s.trim().replace(',', ".").parse().ok()
}

fn shown(v: f64) -> String {
    // Danish decimal comma; the value as stored otherwise (2.08 stays 2,08).
    v.to_string().replace('.', ",")
}

/// One test's row: its own value and source, editable.
#[derive(Clone)]
struct ChangeRow {
    view: ChangeSettingView,
    value: RwSignal<String>,
    source: RwSignal<String>,
}

/// The page's editable copy of the settings.
#[derive(Clone, Copy)]
struct Form {
    changes: RwSignal<Vec<ChangeRow>>,
    offsets: RwSignal<Vec<String>>,
    criteria: RwSignal<Vec<LabelSetting>>,
    reasons: RwSignal<Vec<LabelSetting>>,
    shipped_offsets: RwSignal<Vec<u32>>,
    /// `None`: no municipal default plan.
    plan: RwSignal<Option<TestPlanView>>,
    loaded: RwSignal<Option<EffectSettingsView>>,
}

impl Form {
    fn fill(self, v: EffectSettingsView) {
        self.changes.set(
            v.changes
                .iter()
                .map(|c| ChangeRow {
                    view: c.clone(),
                    value: RwSignal::new(c.value.map(shown).unwrap_or_default()),
                    source: RwSignal::new(c.source.clone().unwrap_or_default()),
                })
                .collect(),
        );
        self.offsets
            .set(v.follow_up_offsets.iter().map(u32::to_string).collect());
        self.criteria.set(v.criteria.clone());
        self.reasons.set(v.reasons.clone());
        self.shipped_offsets
            .set(v.shipped_follow_up_offsets.clone());
        self.plan.set(v.default_test_plan.clone());
        self.loaded.set(Some(v));
    }

    /// The record to save, or the first value that is not a number.
    fn input(self) -> Result<EffectSettingsInput, String> {
        let mut changes = Vec::new();
        for row in self.changes.get_untracked() {
            let typed = row.value.get_untracked();
            if typed.trim().is_empty() {
                continue;
            }
            let value = number(&typed).ok_or(typed)?;
            changes.push(ChangeOverrideInput {
                test: row.view.test.clone(),
                value,
                source: row.source.get_untracked(),
            });
        }
        let mut offsets = Vec::new();
        for o in self.offsets.get_untracked() {
            if o.trim().is_empty() {
                continue;
            }
            offsets.push(o.trim().parse::<u32>().map_err(|_| o.clone())?);
        }
        Ok(EffectSettingsInput {
            changes,
            follow_up_offsets: offsets,
            criteria: self.criteria.get_untracked(),
            reasons: self.reasons.get_untracked(),
            default_test_plan: self.plan.get_untracked(),
        })
    }
}

/// A criteria or reasons list: rename in both languages, retire or restore, add.
#[component]
fn LabelList(
    list: RwSignal<Vec<LabelSetting>>,
    testid: &'static str,
    title: fn(Lang) -> &'static str,
    add: fn(Lang) -> &'static str,
    editable: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let set = move |i: usize, f: &dyn Fn(&mut LabelSetting)| {
        list.update(|l| {
            if let Some(item) = l.get_mut(i) {
                f(item)
            }
        })
    };
    let rows = move || {
        let s = i18n.s();
        list.get()
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let retired = l.retired;
                view! {
                    <li class="label-row" class:retired=retired data-testid=format!("{testid}-row")>
                        <label class="field compact"><span>{s.danish}</span>
                            <input data-testid=format!("{testid}-da-{i}") prop:value=l.da.clone()
                                disabled=move || !editable.get()
                                on:change=move |ev| { let v = event_target_value(&ev); set(i, &|x| x.da = v.clone()) } /></label>
                        <label class="field compact"><span>{s.english}</span>
                            <input data-testid=format!("{testid}-en-{i}") prop:value=l.en.clone()
                                disabled=move || !editable.get()
                                on:change=move |ev| { let v = event_target_value(&ev); set(i, &|x| x.en = v.clone()) } /></label>
                        <span class="tags">
                            {retired.then(|| view! { <span class="badge">{s.retired}</span> })}
                            {(!l.shipped).then(|| view! { <span class="badge own">{s.own}</span> })}
                        </span>
                        <button class="btn secondary" data-testid=format!("{testid}-retire-{i}")
                            disabled=move || !editable.get()
                            on:click=move |_| set(i, &|x| x.retired = !x.retired)>
                            {if retired { s.restore } else { s.retire }}
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card settings-block" data-testid=testid>
            <h2>{move || title(i18n.lang.get())}</h2>
            <p class="muted">{move || i18n.s().lists_intro}</p>
            <ul class="label-list">{rows}</ul>
            <Show when=move || editable.get()>
                <button class="btn secondary" data-testid=format!("{testid}-add")
                    on:click=move |_| list.update(|l| l.push(LabelSetting {
                        key: String::new(),
                        da: String::new(),
                        en: String::new(),
                        retired: false,
                        shipped: false,
                    }))>
                    {move || add(i18n.lang.get())}
                </button>
            </Show>
        </section>
    }
}

/// The phase list of a plan: 0 start, 1 mid, 2 end.
fn phase(p: &mut TestPlanView, col: usize) -> &mut Vec<String> {
    match col {
        0 => &mut p.start,
        1 => &mut p.mid,
        _ => &mut p.end,
    }
}

/// The municipality's default test plan: on or off, then each catalogue test per phase.
#[component]
fn DefaultPlan(form: Form, editable: Signal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let on = move || form.plan.with(Option::is_some);
    let toggle_on = move |_| {
        form.plan.update(|p| {
            *p = match p {
                Some(_) => None,
                None => Some(TestPlanView {
                    start: vec!["chair_stand_30s".into(), "who5".into()],
                    mid: vec![],
                    end: vec!["chair_stand_30s".into(), "who5".into()],
                    // Delegation is decided per course by its therapist, not municipality-wide.
                    delegated: vec![],
                }),
            }
        })
    };
    let rows = move || {
        let en = i18n.lang.get() == Lang::En;
        form.changes
            .get()
            .into_iter()
            .map(|row| {
                let test = row.view.test.clone();
                let label = if en { row.view.label_en.clone() } else { row.view.label_da.clone() };
                let cells = (0..3)
                    .map(|col| {
                        let t = test.clone();
                        let t2 = test.clone();
                        let pressed = Signal::derive(move || {
                            form.plan.with(|p| {
                                p.as_ref().is_some_and(|p| match col {
                                    0 => p.start.contains(&t),
                                    1 => p.mid.contains(&t),
                                    _ => p.end.contains(&t),
                                })
                            })
                        });
                        view! {
                            <td><button class="btn choice" data-testid=format!("plan-default-{test}-{col}")
                                class:selected=move || pressed.get()
                                aria-pressed=move || if pressed.get() { "true" } else { "false" }
                                aria-label=format!("{label} – {}", i18n.s().phases[col])
                                disabled=move || !editable.get()
                                on:click=move |_| form.plan.update(|p| {
                                    if let Some(p) = p {
                                        let list = phase(p, col);
                                        match list.iter().position(|x| *x == t2) {
                                            Some(i) => { list.remove(i); }
                                            None => list.push(t2.clone()),
                                        }
                                    }
                                })>
                                {move || if pressed.get() { "✓" } else { "–" }}
                            </button></td>
                        }
                    })
                    .collect_view();
                view! { <tr><th scope="row">{label.clone()}</th>{cells}</tr> }
            })
            .collect_view()
    };
    view! {
        <section class="card settings-block" data-testid="default-plan">
            <h2>{move || i18n.s().plan_title}</h2>
            <p class="muted">{move || i18n.s().plan_intro}</p>
            <label class="check">
                <input type="checkbox" data-testid="plan-default-on" prop:checked=on
                    disabled=move || !editable.get() on:change=toggle_on />
                <span>{move || i18n.s().plan_use}</span>
            </label>
            <Show when=on>
                <table class="worklist plan">
                    <thead><tr>
                        <th scope="col">{move || i18n.s().test}</th>
                        {move || i18n.s().phases.map(|p| view! { <th scope="col">{p}</th> })}
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </Show>
        </section>
    }
}

fn texts(l: Lang) -> &'static crate::i18n::SettingsTexts {
    match l {
        Lang::Da => &crate::i18n::DA_SETTINGS,
        Lang::En => &crate::i18n::EN_SETTINGS,
    }
}

#[component]
pub fn EffectSettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let editable = Signal::derive(move || nav.may(Capability::EditLibrary));
    let form = Form {
        changes: RwSignal::new(Vec::new()),
        offsets: RwSignal::new(Vec::new()),
        criteria: RwSignal::new(Vec::new()),
        reasons: RwSignal::new(Vec::new()),
        shipped_offsets: RwSignal::new(Vec::new()),
        plan: RwSignal::new(None),
        loaded: RwSignal::new(None),
    };
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);
    let busy = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        match load().await {
            Ok(v) => form.fill(v),
            Err(e) => error.set(Some(e.message)),
        }
    });
    let on_save = move |_| {
        saved.set(false);
        let input = match form.input() {
            Ok(i) => i,
            Err(bad) => {
                error.set(Some((i18n.s().not_a_number)(&bad)));
                return;
            }
        };
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            match save(input).await {
                Ok(v) => {
                    form.fill(v);
                    saved.set(true);
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let change_rows = move || {
        let s = i18n.s();
        let en = i18n.lang.get() == Lang::En;
        form.changes
            .get()
            .into_iter()
            .map(|row| {
                let v = row.view.clone();
                let (label, unit) = if en {
                    (v.label_en.clone(), v.unit_en.clone())
                } else {
                    (v.label_da.clone(), v.unit_da.clone())
                };
                let better = if v.better == "lower" { s.lower_better } else { s.higher_better };
                let (value, source) = (row.value, row.source);
                view! {
                    <tr data-testid=format!("mcid-row-{}", v.test)>
                        <th scope="row">{label}<span class="muted block">{unit.clone()} " · " {better}</span></th>
                        <td class="shipped">
                            <strong data-testid=format!("mcid-shipped-{}", v.test)>{match v.shipped_value {
                                Some(x) => format!("{} {unit}", shown(x)),
                                None => "—".to_string(),
                            }}</strong>
                            <span class="muted block source">{v.shipped_source.clone().unwrap_or_else(|| s.no_shipped.to_string())}</span>
                        </td>
                        <td><input class="num" inputmode="decimal" data-testid=format!("mcid-{}", v.test)
                            aria-label=format!("{} – {}", s.own_value, v.label_da)
                            disabled=move || !editable.get()
                            prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) /></td>
                        <td><input data-testid=format!("mcid-source-{}", v.test) placeholder=s.own_source_hint
                            aria-label=s.own_source
                            disabled=move || !editable.get()
                            prop:value=move || source.get() on:input=move |ev| source.set(event_target_value(&ev)) /></td>
                    </tr>
                }
            })
            .collect_view()
    };
    let offset_rows = move || {
        let s = i18n.s();
        let n = form.offsets.with(Vec::len);
        form.offsets
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                view! {
                    <li class="offset-row">
                        <label class="field compact"><span>{s.days_after}</span>
                            <input class="num" inputmode="numeric" data-testid=format!("offset-{i}") prop:value=o
                                disabled=move || !editable.get()
                                on:change=move |ev| { let v = event_target_value(&ev); form.offsets.update(|l| l[i] = v) } /></label>
                        {(n > 1).then(|| view! {
                            <button class="btn secondary" data-testid=format!("offset-remove-{i}")
                                disabled=move || !editable.get()
                                on:click=move |_| form.offsets.update(|l| { l.remove(i); })>{s.remove}</button>
                        })}
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="effect-settings" data-testid="effect-settings">
            <h1>{move || i18n.s().title}</h1>
            <p class="muted">{move || i18n.s().intro}</p>
            <Show when=move || !editable.get()>
                <p class="notice warn">{move || i18n.s().read_only}</p>
            </Show>
            <section class="card settings-block">
                <h2>{move || i18n.s().mcid_title}</h2>
                <p class="muted">{move || i18n.s().mcid_intro}</p>
                <table class="worklist mcid" data-testid="mcid-table">
                    <thead><tr>
                        <th scope="col">{move || i18n.s().test}</th>
                        <th scope="col">{move || i18n.s().shipped}</th>
                        <th scope="col">{move || i18n.s().own_value}</th>
                        <th scope="col">{move || i18n.s().own_source}</th>
                    </tr></thead>
                    <tbody>{change_rows}</tbody>
                </table>
            </section>
            <section class="card settings-block" data-testid="offsets">
                <h2>{move || i18n.s().offsets_title}</h2>
                <p class="muted">{move || i18n.s().offsets_intro}</p>
                <p class="muted">{move || (i18n.s().shipped_offsets)(&form.shipped_offsets.get())}</p>
                <ul class="offset-list">{offset_rows}</ul>
                <Show when=move || editable.get() && form.offsets.with(Vec::len) < 4>
                    <button class="btn secondary" data-testid="offset-add"
                        on:click=move |_| form.offsets.update(|l| l.push(String::new()))>
                        {move || i18n.s().add_offset}
                    </button>
                </Show>
            </section>
            <DefaultPlan form editable />
            <LabelList list=form.criteria testid="criteria" editable
                title=|l| texts(l).criteria_title add=|l| texts(l).add_criterion />
            <LabelList list=form.reasons testid="reasons" editable
                title=|l| texts(l).reasons_title add=|l| texts(l).add_reason />
            // Kept in view at the bottom: the page is long and the answer belongs by the button.
            <div class="save-bar">
                <Show when=move || editable.get()>
                    <button class="btn primary big" data-testid="settings-save" disabled=move || busy.get() on:click=on_save>
                        {move || i18n.s().save}
                    </button>
                </Show>
                <p class="error" role="alert" data-testid="settings-error">{move || error.get()}</p>
                <Show when=move || saved.get()>
                    <p class="notice" data-testid="settings-saved">{move || i18n.s().saved}</p>
                </Show>
            </div>
        </section>
    }
}
