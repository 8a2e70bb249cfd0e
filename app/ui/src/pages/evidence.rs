//! The leaders' evidence (#12): targets with lights, the funnel, staff in use, effect, the
//! business case and the benchmark, for a period and (drilled down) one team; the evaluation
//! report on A4; and the admin's evidence settings. Every figure is the server's
//! (`shared::evidence`): this file only draws and formats them. Charts are plain HTML bars and
//! small inline SVGs, printed as they are shown.

use crate::i18n::{use_i18n, EvidenceTexts};
use crate::{use_nav, Page};
use homerehab_app_api::*;
use leptos::prelude::*;

// ---- fetching ------------------------------------------------------------------------------

async fn fetch(
    from: String,
    to: String,
    team: Option<String>,
    therapist: Option<String>,
) -> Result<EvidenceView, ApiError> {
    crate::api::call::<op::evidence::Op>(op::evidence::Request {
        query: EvidenceQuery {
            from: Some(from),
            to: Some(to),
            team,
            therapist,
        },
        body: (),
    })
    .await
}

/// Test and reason names in the user's language, from the municipality's effect settings (a
/// key stands for itself when unknown).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels {
    tests: Vec<(String, String, String)>,
    reasons: Vec<(String, String, String)>,
    end_reasons: Vec<(String, String, String)>,
}

impl Labels {
    async fn load() -> Labels {
        let Ok(s) = crate::api::call::<op::effect_settings::Op>(op::effect_settings::Request {
            query: NoQuery {},
            body: (),
        })
        .await
        else {
            return Labels::default();
        };
        Labels {
            tests: s
                .changes
                .into_iter()
                .map(|c| (c.test, c.label_da, c.label_en))
                .collect(),
            reasons: s.reasons.into_iter().map(|r| (r.key, r.da, r.en)).collect(),
            end_reasons: s
                .end_reasons
                .into_iter()
                .map(|r| (r.key, r.da, r.en))
                .collect(),
        }
    }

    fn find(list: &[(String, String, String)], key: &str, en: bool) -> String {
        list.iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, da, e)| if en { e.clone() } else { da.clone() })
            .unwrap_or_else(|| key.replace('_', " "))
    }

    fn test(&self, key: &str, en: bool) -> String {
        Self::find(&self.tests, key, en)
    }

    /// A not-included reason (`ended` false) or an ended-early one: two lists, whose keys may
    /// be the same word ("other").
    fn reason(&self, key: &Option<String>, ended: bool, t: &EvidenceTexts, en: bool) -> String {
        let list = if ended {
            &self.end_reasons
        } else {
            &self.reasons
        };
        match key {
            None => t.no_reason.to_string(),
            Some(k) => Self::find(list, k, en),
        }
    }
}

// ---- formatting (Danish notation: 1.234,5) -------------------------------------------------

fn num(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "−"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac}")
    }
}

fn pct(ratio: f64) -> String {
    format!("{} %", num(ratio * 100.0, 0))
}

/// `2026-03-01` as `1.3.2026`.
fn day(iso: &str) -> String {
    let p: Vec<&str> = iso.split('-').collect();
    match p.as_slice() {
        [y, m, d] => format!(
            "{}.{}.{y}",
            d.trim_start_matches('0'),
            m.trim_start_matches('0')
        ),
        _ => iso.to_string(),
    }
}

fn fetched_at(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{}.{}.{} {:02}:{:02}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year(),
        d.get_hours(),
        d.get_minutes()
    )
}

fn role_name(role: &str, t: &EvidenceTexts) -> String {
    match role {
        "assistant" => t.roles[0],
        "therapist" => t.roles[1],
        "leader" => t.roles[2],
        "admin" => t.roles[3],
        other => other,
    }
    .to_string()
}

/// A period's target: whole from 10 up, else with one decimal (a part year's 4,6).
fn target_text(x: f64) -> String {
    num(x, if x >= 10.0 || x.fract() == 0.0 { 0 } else { 1 })
}

fn kind_index(k: TargetKind) -> usize {
    match k {
        TargetKind::CitizensThroughCourses => 0,
        TargetKind::StaffTrained => 1,
        TargetKind::StaffActive => 2,
    }
}

/// `width:NN%` of `part` of `whole` (0 for an empty whole).
fn width(part: f64, whole: f64) -> String {
    let w = if whole > 0.0 {
        (part / whole * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!("width:{w:.1}%")
}

// ---- periods --------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    ThisYear,
    LastYear,
    Last12,
    Custom,
}

fn iso_of(d: &js_sys::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

fn period_of(c: Choice) -> (String, String) {
    let now = js_sys::Date::new_0();
    let y = now.get_full_year();
    match c {
        Choice::LastYear => (format!("{}-01-01", y - 1), format!("{}-12-31", y - 1)),
        Choice::Last12 => {
            let start = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
                now.get_time() - 364.0 * 86_400_000.0,
            ));
            (iso_of(&start), iso_of(&now))
        }
        _ => (format!("{y}-01-01"), iso_of(&now)),
    }
}

// ---- the screen -----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Targets,
    Funnel,
    Staff,
    Effect,
    Business,
    Benchmark,
}

const SECTIONS: [(Section, &str); 6] = [
    (Section::Targets, "targets"),
    (Section::Funnel, "funnel"),
    (Section::Staff, "staff"),
    (Section::Effect, "effect"),
    (Section::Business, "business"),
    (Section::Benchmark, "benchmark"),
];

/// The leader's evidence screen.
#[component]
pub fn EvidencePage() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let choice = RwSignal::new(Choice::ThisYear);
    let (f0, t0) = period_of(Choice::ThisYear);
    let period = RwSignal::new((f0.clone(), t0.clone()));
    let custom_from = RwSignal::new(f0);
    let custom_to = RwSignal::new(t0);
    let team = RwSignal::new(None::<String>);
    // A therapist of a team the leader serves, picked from the recruitment table; the answer
    // says which team that is.
    let therapist = RwSignal::new(None::<String>);
    let section = RwSignal::new(Section::Targets);
    let data = RwSignal::new(None::<Result<EvidenceView, ApiError>>);
    let labels = RwSignal::new(Labels::default());
    leptos::task::spawn_local(async move { labels.set(Labels::load().await) });
    Effect::new(move |_| {
        let (from, to) = period.get();
        let team = team.get();
        let therapist = therapist.get();
        data.set(None);
        leptos::task::spawn_local(
            async move { data.set(Some(fetch(from, to, team, therapist).await)) },
        );
    });
    let drill = Callback::new(move |id: String| {
        therapist.set(Some(id));
        section.set(Section::Funnel);
    });
    // The team the figures are for, as the answer says (a therapist's drill-down sets it).
    let answered_team = move || {
        data.with(|d| match d {
            Some(Ok(v)) => v.report.team.as_ref().map(|t| t.id.clone()),
            _ => team.get(),
        })
    };
    let pick = move |c: Choice| {
        choice.set(c);
        if c != Choice::Custom {
            period.set(period_of(c));
        }
    };
    view! {
        <section class="evidence" data-testid="evidence">
            <h1>{move || i18n.evidence().title}</h1>
            <div class="evidence-controls">
                <div class="segmented" role="group" data-testid="period-picker">
                    {[(Choice::ThisYear, "this-year"), (Choice::LastYear, "last-year"),
                      (Choice::Last12, "last-12"), (Choice::Custom, "custom")].into_iter().enumerate()
                        .map(|(i, (c, id))| view! {
                            <button class="btn" data-testid=format!("period-{id}")
                                class:active=move || choice.get() == c
                                aria-pressed=move || (choice.get() == c).to_string()
                                on:click=move |_| pick(c)>
                                {move || i18n.evidence().periods[i]}
                            </button>
                        }).collect_view()}
                </div>
                <Show when=move || choice.get() == Choice::Custom>
                    <div class="custom-period">
                        <label>{move || i18n.evidence().from}
                            <input type="date" data-testid="period-from" prop:value=move || custom_from.get()
                                on:input=move |e| custom_from.set(event_target_value(&e)) /></label>
                        <label>{move || i18n.evidence().to}
                            <input type="date" data-testid="period-to" prop:value=move || custom_to.get()
                                on:input=move |e| custom_to.set(event_target_value(&e)) /></label>
                        <button class="btn primary" data-testid="period-apply"
                            on:click=move |_| period.set((custom_from.get(), custom_to.get()))>
                            {move || i18n.evidence().show}</button>
                    </div>
                </Show>
                <label class="team-pick">{move || i18n.evidence().team}
                    <select data-testid="team-select" on:change=move |e| {
                        let v = event_target_value(&e);
                        therapist.set(None);
                        team.set((!v.is_empty()).then_some(v));
                    }>
                        <option value="" selected=move || answered_team().is_none()>
                            {move || i18n.evidence().whole_municipality}</option>
                        {move || data.with(|d| match d {
                            Some(Ok(v)) => v.report.teams.clone(),
                            _ => Vec::new(),
                        }).into_iter().map(|t| {
                            let id = t.id.clone();
                            view! { <option value=t.id.clone()
                                selected=move || answered_team().as_deref() == Some(id.as_str())>{t.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button class="btn primary big print-report" data-testid="print-report"
                    disabled=move || !matches!(data.get(), Some(Ok(_)))
                    on:click=move |_| {
                        if let Some(Ok(v)) = data.get_untracked() {
                            nav.go(Page::EvidenceReport { view: Box::new(v) });
                        }
                    }>
                    {move || i18n.evidence().print_report}
                </button>
            </div>
            {move || match data.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" data-testid="evidence-error">{e.message}</p> }.into_any(),
                Some(Ok(v)) => view! {
                    <Freshness view=v.clone() />
                    {v.report.therapist.clone().map(|p| view! {
                        <p class="drilled" data-testid="therapist-drilled">
                            <span>{move || i18n.evidence().therapist} ": " <strong>{p.name.clone()}</strong></span>
                            <button class="btn secondary" data-testid="clear-therapist"
                                on:click=move |_| therapist.set(None)>
                                {move || i18n.evidence().whole_team}
                            </button>
                        </p>
                    })}
                    <div class="segmented sections" role="tablist">
                        {SECTIONS.into_iter().enumerate().map(|(i, (s, id))| view! {
                            <button class="btn" role="tab" data-testid=format!("section-{id}")
                                class:active=move || section.get() == s
                                aria-selected=move || (section.get() == s).to_string()
                                on:click=move |_| section.set(s)>
                                {move || i18n.evidence().sections[i]}
                            </button>
                        }).collect_view()}
                    </div>
                    {move || {
                        let t = i18n.evidence();
                        let en = i18n.lang.get() == crate::i18n::Lang::En;
                        let l = labels.get();
                        let r = &v.report;
                        match section.get() {
                            Section::Targets => targets(r, t).into_any(),
                            Section::Funnel => funnel(r, t, &l, en, Some(drill)).into_any(),
                            Section::Staff => staff(r, t).into_any(),
                            Section::Effect => effect(r, t, &l, en).into_any(),
                            Section::Business => business(r, t).into_any(),
                            Section::Benchmark => benchmark(r, t, &l, en).into_any(),
                        }
                    }}
                }.into_any(),
            }}
            <Show when=move || nav.may(Capability::ExportData)>
                <BiExport period=period />
            </Show>
        </section>
    }
}

/// The municipality's BI feed for the period shown: a button per table asks the server for the
/// file, then a link saves it (docs/bi-export.md). The server decides whose rows are in it.
#[component]
fn BiExport(period: RwSignal<(String, String)>) -> impl IntoView {
    let i18n = use_i18n();
    let file = RwSignal::new(None::<Result<BiExportFile, ApiError>>);
    let busy = RwSignal::new(false);
    let fetch = move |table: &'static str| {
        busy.set(true);
        file.set(None);
        let (from, to) = period.get_untracked();
        leptos::task::spawn_local(async move {
            file.set(Some(crate::api::bi_export(table, from, to).await));
            busy.set(false);
        });
    };
    view! {
        <section class="card bi-export no-print" data-testid="bi-export">
            <h2>{move || i18n.bi().title}</h2>
            <p class="hint">{move || i18n.bi().hint}</p>
            <div class="bi-tables">
                {crate::i18n::BI_TABLES.into_iter().enumerate().map(|(i, table)| view! {
                    <button class="btn big" data-testid=format!("bi-{table}")
                        disabled=move || busy.get()
                        on:click=move |_| fetch(table)>
                        {move || i18n.bi().tables[i]}
                    </button>
                }).collect_view()}
            </div>
            {move || match file.get() {
                None if busy.get() => view! { <p class="loading">{i18n.bi().fetching}</p> }.into_any(),
                None => ().into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(f)) => {
                    let href = format!(
                        "data:text/csv;charset=utf-8,{}",
                        String::from(js_sys::encode_uri_component(&f.csv))
                    );
                    view! {
                        <a class="btn primary big" data-testid="bi-save" href=href
                            download=f.file_name.clone()>
                            {move || i18n.bi().save} " " {f.file_name.clone()}
                        </a>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// Whose figures, for which period, and whether they are the copy kept offline.
#[component]
fn Freshness(view: EvidenceView) -> impl IntoView {
    let i18n = use_i18n();
    let r = &view.report;
    let whose = scope_name(r);
    let period = format!(
        "{} – {}",
        day(&r.scope.period.start),
        day(&r.scope.period.end)
    );
    let fetched = fetched_at(view.fetched_at);
    let offline = view.offline;
    view! {
        <p class="freshness" data-testid="freshness">
            <strong data-testid="evidence-scope">{whose}</strong> " · " {period} " · "
            {move || i18n.evidence().fetched} " " <span data-testid="fetched-at">{fetched.clone()}</span>
            {offline.then(|| view! {
                <span class="offline-badge" data-testid="offline-badge">{move || i18n.evidence().offline_badge}</span>
            })}
        </p>
    }
}

// ---- sections (shared by the screen and the report) ------------------------------------------

fn light_view(light: Option<Light>, t: &EvidenceTexts) -> impl IntoView {
    let (class, text, mark) = match light {
        Some(Light::Green) => ("light green", t.lights[0], "●"),
        Some(Light::Yellow) => ("light yellow", t.lights[1], "▲"),
        Some(Light::Red) => ("light red", t.lights[2], "■"),
        None => ("light none", t.lights[3], "○"),
    };
    let key = match light {
        Some(Light::Green) => "green",
        Some(Light::Yellow) => "yellow",
        Some(Light::Red) => "red",
        None => "none",
    };
    view! {
        <span class=class data-testid="light" data-light=key>
            <span class="light-mark" aria-hidden="true">{mark}</span> {text}
        </span>
    }
}

fn targets(r: &EvidenceReport, t: &'static EvidenceTexts) -> impl IntoView {
    let cards = r
        .targets
        .iter()
        .map(|s| {
            let scale = s.target.max(f64::from(s.reached)).max(s.expected_by_date);
            let kind = kind_index(s.kind);
            view! {
                <article class="target-card" data-testid=format!("target-{}", ["citizens", "trained", "active"][kind])>
                    <h3>{t.target_kinds[kind]}</h3>
                    <p class="target-figure">
                        <strong class="big-figure" data-testid="target-reached">{s.reached}</strong>
                        " / " {target_text(s.target)}
                        <span class="target-percent" data-testid="target-percent">
                            {s.percent_reached.map(|p| format!(" · {p} %")).unwrap_or_default()}
                        </span>
                    </p>
                    <div class="hbar target-bar" role="img"
                        aria-label=format!("{} {} / {} {}", t.reached, s.reached, t.target_word, num(s.target, 0))>
                        <span class=format!("fill {}", match s.light { Some(Light::Red) => "red", Some(Light::Yellow) => "yellow", _ => "green" })
                            style=width(f64::from(s.reached), scale)></span>
                        <span class="marker target" style=format!("left:{:.1}%", s.target / scale.max(1e-9) * 100.0)></span>
                        <span class="marker expected" style=format!("left:{:.1}%", s.expected_by_date / scale.max(1e-9) * 100.0)></span>
                    </div>
                    <p class="target-legend">
                        <span class="key target-key"></span> {t.target_word} ": " {target_text(s.target)}
                        <span class="key expected"></span>
                        {(t.expected_by)(&day(&s.as_of))} ": " {num(s.expected_by_date, 0)}
                        {s.percent_expected.map(|p| format!(" ({p} %)")).unwrap_or_default()}
                    </p>
                    {s.projected_percent.map(|p| view! { <p class="muted">{(t.projected)(p)}</p> })}
                    {light_view(s.light, t)}
                </article>
            }
        })
        .collect_view();
    let missing = (!r.targets_missing.is_empty()).then(|| {
        view! {
            <div class="targets-missing" data-testid="targets-missing">
                <h3>{t.targets_missing}</h3>
                <ul>{r.targets_missing.iter().map(|k| view! { <li>{t.target_kinds[kind_index(*k)]}</li> }).collect_view()}</ul>
                <p class="muted">{t.targets_missing_hint}</p>
            </div>
        }
    });
    view! {
        <section class="ev-section" data-testid="ev-targets">
            <h2>{t.sections[0]}</h2>
            <div class="target-cards">{cards}</div>
            <p class="muted small">{t.light_rule}</p>
            {missing}
        </section>
    }
}

fn stage_values(c: &StageCounts) -> [u32; 5] {
    [c.referred, c.screened, c.included, c.started, c.completed]
}

/// Reasons with their counts as bars; `rows` are (label, count), most frequent first.
fn reason_bars(title: &'static str, rows: Vec<(String, u32)>, id: &'static str) -> impl IntoView {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    view! {
        <div class="reasons-block" data-testid=id>
            <h3>{title}</h3>
            <ul class="bars small">
                {rows.into_iter().map(|(label, count)| view! {
                    <li class="bar-row">
                        <span class="bar-label">{label}</span>
                        <span class="hbar"><span class="fill muted-fill" style=width(f64::from(count), f64::from(max))></span></span>
                        <strong class="bar-count">{count}</strong>
                    </li>
                }).collect_view()}
            </ul>
        </div>
    }
}

/// Referred and completed per month as paired columns.
fn month_chart(months: &[MonthCounts], t: &'static EvidenceTexts) -> impl IntoView {
    const H: f64 = 150.0;
    let n = months.len().max(1) as f64;
    let w = 64.0 * n + 40.0;
    let max = months
        .iter()
        .map(|m| m.counts.referred.max(m.counts.completed))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let cols = months.iter().enumerate().map(|(i, m)| {
        let x = 20.0 + 64.0 * i as f64;
        let hr = f64::from(m.counts.referred) / max * H;
        let hc = f64::from(m.counts.completed) / max * H;
        let label = m
            .month
            .get(5..7)
            .and_then(|mm| mm.parse::<usize>().ok())
            .and_then(|mm| t.months.get(mm.wrapping_sub(1)))
            .map(|name| name.to_string())
            .unwrap_or_else(|| m.month.clone());
        view! {
            <g>
                <rect class="col referred" x=x + 8.0 y=20.0 + H - hr width=22 height=hr />
                <rect class="col completed" x=x + 32.0 y=20.0 + H - hc width=22 height=hc />
                <text x=x + 19.0 y=16.0 + H - hr class="val" text-anchor="middle">{m.counts.referred}</text>
                <text x=x + 43.0 y=16.0 + H - hc class="val" text-anchor="middle">{m.counts.completed}</text>
                <text x=x + 32.0 y=H + 40.0 text-anchor="middle">{label}</text>
            </g>
        }
    }).collect_view();
    view! {
        <figure class="month-chart" data-testid="month-chart">
            <svg viewBox=format!("0 0 {w} {}", H + 50.0) width=w height=H + 50.0 role="img" aria-label=t.by_month>
                <line x1=10 x2=w - 10.0 y1=20.0 + H y2=20.0 + H class="axis" />
                {cols}
            </svg>
            <figcaption class="chart-legend">
                <span class="key referred"></span>{t.referred_short}
                <span class="key completed"></span>{t.completed_short}
            </figcaption>
        </figure>
    }
}

/// Municipality, team and therapist the figures are for: "Thisted Kommune · Nord · Tina".
fn scope_name(r: &EvidenceReport) -> String {
    let mut parts = vec![r.municipality.name.clone()];
    parts.extend(r.team.iter().map(|t| t.name.clone()));
    parts.extend(r.therapist.iter().map(|t| t.name.clone()));
    parts.join(" · ")
}

/// The funnel; `drill` (the screen, not the printed report) makes a named therapist's row a
/// button to their own figures.
fn funnel(
    r: &EvidenceReport,
    t: &'static EvidenceTexts,
    labels: &Labels,
    en: bool,
    drill: Option<Callback<String>>,
) -> impl IntoView {
    let total = stage_values(&r.funnel.total);
    let max = f64::from(total.iter().copied().max().unwrap_or(0).max(1));
    let ids = ["referred", "screened", "included", "started", "completed"];
    let labelled = |list: &[ReasonCount], ended: bool| -> Vec<(String, u32)> {
        list.iter()
            .map(|r| (labels.reason(&r.reason, ended, t, en), r.count))
            .collect()
    };
    let not_included = labelled(&r.funnel.not_included_by_reason, false);
    let ended_early = labelled(&r.funnel.ended_early_by_reason, true);
    let rows = total
        .iter()
        .enumerate()
        .map(|(i, v)| {
            view! {
                <li class="bar-row funnel-stage" data-testid=format!("stage-{}", ids[i])>
                    <span class="bar-label">{t.stages[i]}</span>
                    <span class="hbar"><span class="fill stage" style=width(f64::from(*v), max)></span></span>
                    <strong class="bar-count">{*v}</strong>
                </li>
            }
        })
        .collect_view();
    let by_team = (r.team.is_none() && r.funnel.by_team.len() > 1).then(|| {
        view! {
            <div class="by-team">
                <h3>{t.by_team}</h3>
                <table class="ev-table">
                    <thead><tr><th>{t.team}</th>{t.stages.iter().map(|s| view! { <th class="num">{*s}</th> }).collect_view()}</tr></thead>
                    <tbody>{r.funnel.by_team.iter().map(|tc| view! {
                        <tr><td>{r.team_name(&tc.team_id)}</td>
                        {stage_values(&tc.counts).into_iter().map(|v| view! { <td class="num">{v}</td> }).collect_view()}</tr>
                    }).collect_view()}</tbody>
                </table>
            </div>
        }
    });
    let recruit_row = |x: &Recruitment| {
        let name = if x.unit == "team" {
            r.team_name(&x.id)
        } else {
            r.person_name(&x.id)
                .map(str::to_string)
                .unwrap_or_else(|| t.other_team_therapist.to_string())
        };
        let flagged = x.refers_few || x.completes_few;
        let unit = if x.unit == "team" {
            t.team
        } else {
            t.therapist
        };
        // Only a therapist the viewer may see named can be drilled down to.
        let named = x.unit != "team" && r.person_name(&x.id).is_some();
        let cell = match drill.filter(|_| named && r.therapist.is_none()) {
            Some(drill) => {
                let id = x.id.clone();
                view! {
                    <button class="link" data-testid="drill-therapist"
                        on:click=move |_| drill.run(id.clone())>{name}</button>
                }
                .into_any()
            }
            None => name.into_any(),
        };
        view! {
            <tr class:flagged=flagged data-testid="recruitment-row">
                <td class="muted">{unit}</td>
                <td>{cell}</td>
                <td class="num">{x.referred}</td>
                <td class="num">{x.completed}</td>
                <td>
                    {x.refers_few.then(|| view! { <span class="flag">"⚑ " {t.refers_few}</span> })}
                    {x.completes_few.then(|| view! { <span class="flag">"⚑ " {t.completes_few}</span> })}
                </td>
            </tr>
        }
    };
    let recruiting: Vec<&Recruitment> = r
        .teams_recruiting
        .iter()
        .filter(|_| r.team.is_none())
        .chain(r.therapists_recruiting.iter())
        .collect();
    let median = r
        .therapists_recruiting
        .first()
        .map(|x| {
            format!(
                "{} {}: {} / {}",
                t.median,
                t.referred_short.to_lowercase(),
                num(x.median_referred, 1),
                num(x.median_completed, 1)
            )
        })
        .unwrap_or_default();
    view! {
        <section class="ev-section" data-testid="ev-funnel">
            <h2>{t.sections[1]}</h2>
            {(r.funnel.total.referred == 0).then(|| view! { <p class="notice">{t.nothing_yet}</p> })}
            <ul class="bars funnel-bars">{rows}</ul>
            {withheld_notice(r, "reasons", t)}
            <div class="two-col">
                {reason_bars(t.not_included, not_included, "not-included-reasons")}
                {reason_bars(t.ended_early, ended_early, "ended-early-reasons")}
            </div>
            <h3>{t.by_month}</h3>
            {month_chart(&r.funnel.by_month, t)}
            {by_team}
            <h3>{t.recruiting_title}</h3>
            <p class="muted small">{t.recruiting_hint} " (" {median} ")"</p>
            <table class="ev-table" data-testid="recruitment">
                <thead><tr><th></th><th></th><th class="num">{t.referred_short}</th><th class="num">{t.completed_short}</th><th></th></tr></thead>
                <tbody>{recruiting.into_iter().map(recruit_row).collect_view()}</tbody>
            </table>
        </section>
    }
}

fn staff(r: &EvidenceReport, t: &'static EvidenceTexts) -> impl IntoView {
    let s = &r.staff;
    let trio = |access: u32, trained: u32, active: u32| {
        let max = f64::from(access.max(trained).max(active).max(1));
        view! {
            <ul class="bars trio">
                <li class="bar-row"><span class="bar-label">{t.with_access}</span>
                    <span class="hbar"><span class="fill access" style=width(f64::from(access), max)></span></span>
                    <strong class="bar-count">{access}</strong></li>
                <li class="bar-row"><span class="bar-label">{t.trained}</span>
                    <span class="hbar"><span class="fill trained" style=width(f64::from(trained), max)></span></span>
                    <strong class="bar-count">{trained}</strong></li>
                <li class="bar-row"><span class="bar-label">{t.active}</span>
                    <span class="hbar"><span class="fill active" style=width(f64::from(active), max)></span></span>
                    <strong class="bar-count">{active}</strong></li>
            </ul>
        }
    };
    let groups = s
        .groups
        .iter()
        .map(|g| {
            let names = if g.trained_not_active.is_empty() {
                None
            } else {
                Some(view! {
                    <p class="tna" data-testid="trained-not-active"><strong>{t.trained_not_active} ": "</strong>
                        {g.trained_not_active.iter().map(|p| format!("{} ({} {})", p.name, t.trained_on, day(&p.trained_on)))
                            .collect::<Vec<_>>().join(", ")}</p>
                })
            };
            // Trained but inactive people exist, their names withheld (not the viewer's team).
            let hidden = g.trained_not_active.is_empty() && g.trained > g.active;
            view! {
                <article class="staff-group" data-testid="staff-group">
                    <h3>{r.team_name(&g.team_id)} " · " {role_name(&g.role, t)}</h3>
                    {trio(g.with_access, g.trained, g.active)}
                    {names}
                    {hidden.then(|| view! { <p class="muted small">{t.names_hidden}</p> })}
                </article>
            }
        })
        .collect_view();
    view! {
        <section class="ev-section" data-testid="ev-staff">
            <h2>{(t.staff_title)(&day(&s.as_of))}</h2>
            <article class="staff-group total" data-testid="staff-total">
                <h3>{t.total}</h3>
                {trio(s.totals.with_access, s.totals.trained, s.totals.active)}
                <p>{t.trained_not_active} ": " <strong>{s.totals.trained_not_active}</strong></p>
            </article>
            <div class="staff-groups">{groups}</div>
        </section>
    }
}

fn share_line(text: String, share: &Share) -> impl IntoView {
    let ratio = share.ratio.unwrap_or(0.0).min(1.0);
    view! {
        <li class="bar-row share-row">
            <span class="bar-label wide">{text}</span>
            <span class="hbar"><span class="fill stage" style=format!("width:{:.1}%", ratio * 100.0)></span></span>
            <strong class="bar-count">{share.percent.map(|p| format!("{p} %")).unwrap_or_else(|| "–".into())}</strong>
        </li>
    }
}

/// Improved / maintained / declined as one stacked bar, counts in the segments.
fn judgement_bar(title: String, j: &JudgementCounts, t: &'static EvidenceTexts) -> impl IntoView {
    let whole = f64::from(j.complete.max(1));
    let seg = |class: &'static str, n: u32, label: &'static str| {
        (n > 0).then(|| {
            view! {
                <span class=format!("seg {class}") style=width(f64::from(n), whole) title=format!("{label}: {n}")>{n}</span>
            }
        })
    };
    view! {
        <div class="judgement-row" data-testid="judgement-row">
            <p class="judgement-title"><strong>{title}</strong> " – "
                {(t.improved_or_maintained)(j.improved_or_maintained.part, j.improved_or_maintained.whole)}
                {j.improved_or_maintained.percent.map(|p| format!(" ({p} %)")).unwrap_or_default()}</p>
            <div class="stacked">
                {seg("improved", j.improved, t.judgements[0])}
                {seg("maintained", j.maintained, t.judgements[1])}
                {seg("declined", j.declined, t.judgements[2])}
            </div>
        </div>
    }
}

/// Mean minutes per day before and after, as two bars, with n, change and its interval.
fn care_pair(c: &CareTimeEffect, t: &'static EvidenceTexts) -> impl IntoView {
    let (Some(before), Some(after)) = (c.mean_before_minutes_per_day, c.mean_after_minutes_per_day)
    else {
        return view! {
            <div class="care-pair empty"><h3>{(t.after_days)(c.offset_days)}</h3><p class="muted">{t.no_care_data} " (n = " {c.n} ")"</p></div>
        }
        .into_any();
    };
    let max = before.max(after).max(1.0);
    const H: f64 = 140.0;
    let hb = before / max * H;
    let ha = after / max * H;
    let change = c
        .change_percent
        .map(|p| format!("{}{} %", if p > 0.0 { "+" } else { "" }, num(p, 2)))
        .unwrap_or_else(|| "–".into());
    let ci = c
        .ci95_change_percent
        .map(|i| format!("{} % til {} %", num(i.low, 1), num(i.high, 1)))
        .unwrap_or_else(|| "–".into());
    view! {
        <div class="care-pair" data-testid=format!("care-{}", c.offset_days)>
            <h3>{(t.after_days)(c.offset_days)} " · n = " {c.n}</h3>
            <svg viewBox="0 0 260 190" width="260" height="190" role="img"
                aria-label=format!("{} {} → {}", t.care_time_title, num(before, 1), num(after, 1))>
                <line x1=10 x2=250 y1=20.0 + H y2=20.0 + H class="axis" />
                <rect class="col before" x=40 y=20.0 + H - hb width=70 height=hb />
                <rect class="col after" x=150 y=20.0 + H - ha width=70 height=ha />
                <text x=75 y=14.0 + H - hb text-anchor="middle" class="val">{num(before, 2)}</text>
                <text x=185 y=14.0 + H - ha text-anchor="middle" class="val">{num(after, 2)}</text>
                <text x=75 y=H + 42.0 text-anchor="middle">{t.before}</text>
                <text x=185 y=H + 42.0 text-anchor="middle">{(t.after_days)(c.offset_days)}</text>
            </svg>
            <p>{t.change} " " <strong class="big-figure" data-testid="care-change">{change}</strong>
                " (" {num(before, 2)} " → " {num(after, 2)} " " {t.min_per_day} ")"</p>
            <p class="muted small">{t.ci95} ": " {ci}</p>
        </div>
    }
    .into_any()
}

fn effect(
    r: &EvidenceReport,
    t: &'static EvidenceTexts,
    labels: &Labels,
    en: bool,
) -> impl IntoView {
    let e = &r.effect;
    let c = &e.completeness;
    let mut lines = vec![
        share_line(
            (t.completeness_tests)(
                c.with_start_and_end_test.part,
                c.with_start_and_end_test.whole,
            ),
            &c.with_start_and_end_test,
        )
        .into_any(),
        share_line(
            (t.completeness_who5)(
                c.with_who5_start_and_end.part,
                c.with_who5_start_and_end.whole,
            ),
            &c.with_who5_start_and_end,
        )
        .into_any(),
    ];
    for f in &c.with_care_time {
        lines.push(
            share_line(
                (t.completeness_care)(f.share.part, f.share.whole, f.offset_days),
                &f.share,
            )
            .into_any(),
        );
    }
    let s = &e.sessions;
    view! {
        <section class="ev-section" data-testid="ev-effect">
            <h2>{t.sections[3]}</h2>
            {withheld_notice(r, "effect", t)}
            <div class="completeness" data-testid="completeness">
                <h3>{t.completeness}</h3>
                <ul class="bars">{lines}</ul>
            </div>
            <div class="judgements">
                {e.tests.iter().map(|j| judgement_bar(labels.test(&j.test, en), j, t)).collect_view()}
                {judgement_bar(t.who5.to_string(), &e.who5, t)}
                <p class="chart-legend">
                    <span class="key improved"></span>{t.judgements[0]}
                    <span class="key maintained"></span>{t.judgements[1]}
                    <span class="key declined"></span>{t.judgements[2]}
                </p>
            </div>
            <h3>{t.care_time_title}</h3>
            <div class="care-pairs">{e.care_time.iter().map(|c| care_pair(c, t)).collect_view()}</div>
            <h3>{t.sessions_title}</h3>
            <p data-testid="sessions">{(t.sessions_line)(s.delivered, s.planned, s.courses)}
                " · " {t.adherence} " " <strong>{s.adherence_percent.map(|p| format!("{p} %")).unwrap_or_else(|| "–".into())}</strong></p>
        </section>
    }
}

fn business(r: &EvidenceReport, t: &'static EvidenceTexts) -> impl IntoView {
    let body = match &r.business_case {
        Some(b) => view! {
            <p class="muted">{(t.business_intro)(b.offset_days)}</p>
            <table class="ev-table business" data-testid="business-lines">
                <thead><tr><th></th><th>{t.formula}</th><th>{t.worked}</th><th class="num">{t.value}</th></tr></thead>
                <tbody>{b.lines.lines.iter().map(|l| view! {
                    <tr data-testid=format!("line-{}", l.key)>
                        <th scope="row">{l.label_da.clone()}</th>
                        <td class="formula">{l.formula_da.clone()}</td>
                        <td class="worked">{l.worked_da.clone()}</td>
                        <td class="num value"><strong>{l.value.map(|v| format!("{} {}", num(v, if v.abs() >= 100.0 { 0 } else { 2 }), l.unit)).unwrap_or_else(|| "–".into())}</strong></td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
        }
        .into_any(),
        None => {
            let text = if r.business_case.is_none() && r.effect.care_time.iter().any(|c| c.mean_change_minutes_per_day.is_some()) {
                t.no_prices
            } else {
                t.no_saving
            };
            view! { <p class="notice" data-testid="no-business-case">{text}</p> }.into_any()
        }
    };
    view! {
        <section class="ev-section" data-testid="ev-business">
            <h2>{t.business_title}</h2>
            {withheld_notice(r, "effect", t)}
            {body}
        </section>
    }
}

/// Why a section shows nothing: fewer than the minimum of citizens, of a team the viewer does
/// not serve (the server withheld it).
fn withheld_notice(r: &EvidenceReport, section: &str, t: &'static EvidenceTexts) -> impl IntoView {
    r.withheld(section).then(|| {
        view! {
            <p class="notice" data-testid=format!("withheld-{section}")>{(t.withheld)(r.min_citizens)}</p>
        }
    })
}

/// A header that may wrap after a slash ("fremgang/vedligehold" is one long word otherwise).
fn breakable(s: &str) -> String {
    s.replace('/', "/\u{200B}")
}

/// A benchmark figure's text, whether it is hidden, and a bar's length (0–1) for a share.
fn figure_text(f: &Figure<f64>, percent: bool) -> (String, bool, Option<f64>) {
    match f {
        Figure::Shown(v) if percent => (pct(*v), false, Some(*v)),
        // A change in per cent: less home care is the good direction; the bar shows its size.
        Figure::Shown(v) => (format!("{} %", num(*v, 1)), false, Some(v.abs() / 50.0)),
        Figure::Suppressed { below } => (format!("<{below}"), true, None),
    }
}

fn benchmark(
    r: &EvidenceReport,
    t: &'static EvidenceTexts,
    labels: &Labels,
    en: bool,
) -> impl IntoView {
    let first = r.benchmark.first();
    let tests: Vec<String> = first
        .map(|b| {
            b.figures
                .tests_improved_or_maintained
                .iter()
                .map(|x| x.test.clone())
                .collect()
        })
        .unwrap_or_default();
    let offsets: Vec<u32> = first
        .map(|b| {
            b.figures
                .care_time_change_percent
                .iter()
                .map(|x| x.offset_days)
                .collect()
        })
        .unwrap_or_default();
    let cell = |(text, hidden, bar): (String, bool, Option<f64>)| {
        view! {
            <td class="num" class:suppressed=hidden data-suppressed=hidden.to_string()>{text}
                {bar.map(|b| view! { <span class="mini-bar"><span style=format!("width:{:.0}%", b.clamp(0.0, 1.0) * 100.0)></span></span> })}
            </td>
        }
    };
    let rows = r
        .benchmark
        .iter()
        .map(|b| {
            let f = &b.figures;
            let citizens = match f.citizens_through_courses {
                Figure::Shown(n) => (n.to_string(), false, None),
                Figure::Suppressed { below } => (format!("<{below}"), true, None),
            };
            view! {
                <tr class:own=b.own data-testid=if b.own { "benchmark-own" } else { "benchmark-row" }>
                    <th scope="row">{b.label.clone()} {b.own.then_some(" ")} {b.own.then_some(t.own)}</th>
                    {cell(citizens)}
                    {cell(figure_text(&f.share_tested, true))}
                    {tests.iter().map(|k| cell(f.tests_improved_or_maintained.iter().find(|x| &x.test == k)
                        .map(|x| figure_text(&x.figure, true)).unwrap_or(("–".into(), false, None)))).collect_view()}
                    {cell(figure_text(&f.who5_improved_or_maintained, true))}
                    {offsets.iter().map(|d| cell(f.care_time_change_percent.iter().find(|x| x.offset_days == *d)
                        .map(|x| figure_text(&x.figure, false)).unwrap_or(("–".into(), false, None)))).collect_view()}
                    {cell(figure_text(&f.adherence, true))}
                </tr>
            }
        })
        .collect_view();
    let quarters = r.benchmark_scope.as_ref().map(|b| {
        let quarter = |iso: &str| {
            let month: u32 = iso.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
            (t.quarter)(month.div_ceil(3), iso.get(..4).unwrap_or(iso))
        };
        let first = b
            .quarters
            .first()
            .map(|q| quarter(&q.start))
            .unwrap_or_default();
        let last = b
            .quarters
            .last()
            .map(|q| quarter(&q.start))
            .unwrap_or_default();
        (t.benchmark_quarters)(&first, &last, &day(&b.as_of))
    });
    view! {
        <section class="ev-section" data-testid="ev-benchmark">
            <h2>{t.benchmark_title}</h2>
            <div class="table-scroll">
            <table class="ev-table benchmark" data-testid="benchmark">
                <thead><tr>
                    <th>{t.municipality}</th>
                    <th class="num">{t.indicators[0]}</th>
                    <th class="num">{t.indicators[1]}</th>
                    {tests.iter().map(|k| view! { <th class="num">{labels.test(k, en)} " " {breakable(t.test_improved)}</th> }).collect_view()}
                    <th class="num">{breakable(t.indicators[2])}</th>
                    {offsets.iter().map(|d| view! { <th class="num">{(t.care_change_days)(*d)}</th> }).collect_view()}
                    <th class="num">{t.indicators[3]}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
            <p class="muted small" data-testid="benchmark-quarters">{quarters}</p>
            <p class="muted small">{(t.suppressed_hint)(r.min_citizens)}</p>
            <p class="muted small">{t.anonymised_hint}</p>
        </section>
    }
}

// ---- the evaluation report --------------------------------------------------------------------

/// The evaluation report on A4, in Danish whatever the screen's language: the evaluation's
/// shape (targets with lights, funnel, staff, effect with completeness, business case,
/// benchmark).
#[component]
pub fn EvidenceReportPage(view: Box<EvidenceView>) -> impl IntoView {
    let nav = use_nav();
    let t = &crate::i18n::DA_EVIDENCE;
    let labels = RwSignal::new(Labels::default());
    leptos::task::spawn_local(async move { labels.set(Labels::load().await) });
    let v = *view;
    let r = v.report.clone();
    let whose = scope_name(&r);
    let print = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    let printed = fetched_at(js_sys::Date::now() as i64);
    view! {
        <article class="evidence-report" data-testid="evidence-report" lang="da">
            <div class="no-print report-actions">
                <button class="btn big" data-testid="report-back" on:click=move |_| nav.go(Page::Evidence)>{t.back}</button>
                <button class="btn primary big" data-testid="report-print" on:click=print>{t.print}</button>
            </div>
            <header class="report-head">
                <h1>{t.report_title}</h1>
                <p class="report-whose"><strong>{whose}</strong></p>
                <p>{(t.report_period)(&day(&r.scope.period.start), &day(&r.scope.period.end))}
                    " · " {t.fetched} " " {fetched_at(v.fetched_at)}
                    " · " {t.report_printed} " " {printed}</p>
                {v.offline.then(|| view! { <p class="offline-badge">{t.offline_badge}</p> })}
            </header>
            {move || {
                let l = labels.get();
                view! {
                    {targets(&r, t)}
                    {funnel(&r, t, &l, false, None)}
                    {staff(&r, t)}
                    <div class="page-break">{effect(&r, t, &l, false)}</div>
                    {business(&r, t)}
                    {benchmark(&r, t, &l, false)}
                }
            }}
        </article>
    }
}

// ---- the admin's settings ---------------------------------------------------------------------

fn price_values(p: &Prices) -> [f64; 9] {
    [
        p.dkk_per_home_care_hour,
        p.dkk_per_assistant_hour,
        p.dkk_per_therapist_hour,
        p.therapist_hours_per_course,
        p.assistant_minutes_per_session,
        p.licence_dkk_per_year,
        p.tablets_dkk_per_year,
        p.hours_per_fte,
        p.effect_days,
    ]
}

fn prices_of(v: [f64; 9]) -> Prices {
    Prices {
        dkk_per_home_care_hour: v[0],
        dkk_per_assistant_hour: v[1],
        dkk_per_therapist_hour: v[2],
        therapist_hours_per_course: v[3],
        assistant_minutes_per_session: v[4],
        licence_dkk_per_year: v[5],
        tablets_dkk_per_year: v[6],
        hours_per_fte: v[7],
        effect_days: v[8],
    }
}

/// A number typed with a comma or a point.
fn parse_num(s: &str) -> Option<f64> {
    let s = s.trim().replace(' ', "");
    let s = if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else {
        s
    };
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

const PRICE_IDS: [&str; 9] = [
    "home-care-hour",
    "assistant-hour",
    "therapist-hour",
    "therapist-hours-per-course",
    "assistant-minutes-per-session",
    "licence",
    "tablets",
    "hours-per-fte",
    "effect-days",
];

/// Yearly targets, prices, naming and comparison group (the municipality's admin).
#[component]
pub fn EvidenceSettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let loaded = RwSignal::new(None::<Result<(), ApiError>>);
    let year_now = js_sys::Date::new_0().get_full_year() as i32;
    // One row per year: the three targets as typed.
    let years = RwSignal::new(Vec::<(i32, [RwSignal<String>; 3])>::new());
    let use_prices = RwSignal::new(false);
    let prices: [RwSignal<String>; 9] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let named = RwSignal::new(false);
    let compare_all = RwSignal::new(true);
    let group = RwSignal::new(Vec::<String>::new());
    let municipalities = RwSignal::new(Vec::<Named>::new());
    let message = RwSignal::new(None::<Result<String, String>>);
    let fill = move |s: EvidenceSettings| {
        let mut ys: Vec<i32> = s.targets.iter().map(|t| t.year).collect();
        ys.push(year_now);
        ys.sort();
        ys.dedup();
        years.set(
            ys.into_iter()
                .map(|y| {
                    let cells = TargetKind::ALL.map(|k| {
                        RwSignal::new(
                            s.targets
                                .iter()
                                .find(|t| t.year == y && t.kind == k)
                                .map(|t| t.target.to_string())
                                .unwrap_or_default(),
                        )
                    });
                    (y, cells)
                })
                .collect(),
        );
        use_prices.set(s.prices.is_some());
        let defaults = Prices {
            dkk_per_home_care_hour: 0.0,
            dkk_per_assistant_hour: 0.0,
            dkk_per_therapist_hour: 0.0,
            therapist_hours_per_course: 0.0,
            assistant_minutes_per_session: 0.0,
            licence_dkk_per_year: 0.0,
            tablets_dkk_per_year: 0.0,
            hours_per_fte: 1924.0,
            effect_days: 365.0,
        };
        for (cell, v) in prices
            .iter()
            .zip(price_values(s.prices.as_ref().unwrap_or(&defaults)))
        {
            cell.set(num(v, if v.fract() == 0.0 { 0 } else { 2 }).replace('.', ""));
        }
        named.set(s.agreed_to_be_named);
        compare_all.set(s.comparison_group.is_none());
        group.set(s.comparison_group.unwrap_or_default());
    };
    leptos::task::spawn_local(async move {
        let s = crate::api::call::<op::evidence_settings::Op>(op::evidence_settings::Request {
            query: NoQuery {},
            body: (),
        })
        .await;
        match s {
            Ok(s) => {
                fill(s);
                loaded.set(Some(Ok(())));
            }
            Err(e) => loaded.set(Some(Err(e))),
        }
        if let Ok(list) = crate::api::call::<op::evidence_municipalities::Op>(
            op::evidence_municipalities::Request {
                query: NoQuery {},
                body: (),
            },
        )
        .await
        {
            municipalities.set(list);
        }
    });
    // The record as typed, or the first field that is not a number.
    let gather = move || -> Result<EvidenceSettings, String> {
        let t = i18n.evidence();
        let mut targets = Vec::new();
        for (y, cells) in years.get_untracked() {
            for (k, cell) in TargetKind::ALL.into_iter().zip(cells) {
                let text = cell.get_untracked();
                if text.trim().is_empty() {
                    continue;
                }
                let target = text.trim().parse::<u32>().map_err(|_| {
                    format!(
                        "{} {y}: {}",
                        t.target_kinds[kind_index(k)],
                        t.must_be_number
                    )
                })?;
                targets.push(YearlyTarget {
                    kind: k,
                    year: y,
                    target,
                });
            }
        }
        let prices = if use_prices.get_untracked() {
            let mut v = [0.0; 9];
            for (i, cell) in prices.iter().enumerate() {
                v[i] = parse_num(&cell.get_untracked())
                    .ok_or_else(|| format!("{}: {}", t.price_fields[i], t.must_be_number))?;
            }
            Some(prices_of(v))
        } else {
            None
        };
        Ok(EvidenceSettings {
            targets,
            prices,
            agreed_to_be_named: named.get_untracked(),
            comparison_group: (!compare_all.get_untracked()).then(|| group.get_untracked()),
        })
    };
    let save = move |_| {
        message.set(None);
        let settings = match gather() {
            Ok(s) => s,
            Err(e) => return message.set(Some(Err(e))),
        };
        leptos::task::spawn_local(async move {
            let r = crate::api::call::<op::set_evidence_settings::Op>(
                op::set_evidence_settings::Request {
                    query: NoQuery {},
                    body: settings,
                },
            )
            .await;
            match r {
                Ok(s) => {
                    fill(s);
                    message.set(Some(Ok(i18n.evidence().saved.to_string())));
                }
                Err(e) => message.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="evidence-settings card" data-testid="evidence-settings">
            <h1>{move || i18n.evidence().settings_title}</h1>
            <p class="muted">{move || i18n.evidence().settings_intro}</p>
            {move || match loaded.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(())) => view! {
                    <h2>{move || i18n.evidence().targets_title}</h2>
                    <table class="ev-table targets-table">
                        <thead><tr><th>{move || i18n.evidence().year}</th>
                            {(0..3).map(|i| view! { <th>{move || i18n.evidence().target_kinds[i]}</th> }).collect_view()}</tr></thead>
                        <tbody>{move || years.get().into_iter().map(|(y, cells)| view! {
                            <tr><th scope="row">{y}</th>
                            {cells.into_iter().enumerate().map(|(i, cell)| view! {
                                <td><input class="num" inputmode="numeric"
                                    data-testid=format!("target-{y}-{}", ["citizens", "trained", "active"][i])
                                    prop:value=move || cell.get() on:input=move |e| cell.set(event_target_value(&e)) /></td>
                            }).collect_view()}</tr>
                        }).collect_view()}</tbody>
                    </table>
                    <button class="btn secondary" data-testid="add-year" on:click=move |_| years.update(|ys| {
                        let next = ys.iter().map(|(y, _)| *y).max().unwrap_or(year_now) + 1;
                        ys.push((next, std::array::from_fn(|_| RwSignal::new(String::new()))));
                    })>{move || i18n.evidence().add_year}</button>

                    <h2>{move || i18n.evidence().prices_title}</h2>
                    <label class="check big-check"><input type="checkbox" data-testid="use-prices"
                        prop:checked=move || use_prices.get() on:change=move |e| use_prices.set(event_target_checked(&e)) />
                        {move || i18n.evidence().use_prices}</label>
                    <div class="price-grid" class:disabled=move || !use_prices.get()>
                        {prices.into_iter().enumerate().map(|(i, cell)| view! {
                            <label>{move || i18n.evidence().price_fields[i]}
                                <input class="num" inputmode="decimal" data-testid=format!("price-{}", PRICE_IDS[i])
                                    disabled=move || !use_prices.get()
                                    prop:value=move || cell.get() on:input=move |e| cell.set(event_target_value(&e)) /></label>
                        }).collect_view()}
                    </div>

                    <h2>{move || i18n.evidence().naming_title}</h2>
                    <label class="check big-check"><input type="checkbox" data-testid="agree-named"
                        prop:checked=move || named.get() on:change=move |e| named.set(event_target_checked(&e)) />
                        {move || i18n.evidence().agree_named}</label>

                    <h2>{move || i18n.evidence().comparison_title}</h2>
                    <label class="check big-check"><input type="checkbox" data-testid="compare-all"
                        prop:checked=move || compare_all.get() on:change=move |e| compare_all.set(event_target_checked(&e)) />
                        {move || i18n.evidence().compare_all}</label>
                    <Show when=move || !compare_all.get()>
                        <p class="hint" data-testid="group-only-named">{move || i18n.evidence().group_only_named}</p>
                        <ul class="check-list">{move || municipalities.get().into_iter().map(|m| {
                            let id = m.id.clone();
                            let id2 = m.id.clone();
                            view! {
                                <li><label class="check big-check"><input type="checkbox" data-testid=format!("compare-{}", m.id)
                                    prop:checked=move || group.get().contains(&id)
                                    on:change=move |e| {
                                        let on = event_target_checked(&e);
                                        group.update(|g| {
                                            g.retain(|x| x != &id2);
                                            if on { g.push(id2.clone()); }
                                        });
                                    } /> {m.name}</label></li>
                            }
                        }).collect_view()}</ul>
                    </Show>
                    <div class="save-bar">
                        <button class="btn primary big" data-testid="save-evidence-settings" on:click=save>
                            {move || i18n.evidence().save}</button>
                        {move || message.get().map(|m| match m {
                            Ok(text) => view! { <p class="notice" data-testid="settings-saved">{text}</p> }.into_any(),
                            Err(text) => view! { <p class="error" data-testid="settings-error">{text}</p> }.into_any(),
                        })}
                    </div>
                }.into_any(),
            }}
        </section>
    }
}
