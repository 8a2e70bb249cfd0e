//! The citizen's copy of the program, laid out for A4 and large print: the goals, each
//! exercise with its picture, steps, dosage and the therapist's words, a week-by-week box to
//! tick after each session, and when to stop. The therapist prints it from the program tab,
//! the assistant from the visit card; the browser's print makes the paper or the PDF. What
//! goes on it (which photo, which weeks) is the app core's answer (`shared::program_sheet`).

use crate::i18n::{use_i18n, SheetTexts};
use crate::pages::session::dosage_text;
use crate::{api, use_nav, CourseTab, Page};
use homerehab_app_api::*;
use leptos::prelude::*;

/// "17. nov. 2026" of an ISO date; the text itself when it is not one.
fn day_text(t: &SheetTexts, iso: &str) -> String {
    let mut parts = iso.splitn(3, '-').map(str::parse::<u32>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(year)), Some(Ok(month @ 1..=12)), Some(Ok(day))) => {
            (t.date)(day, t.months[month as usize - 1], year as i32)
        }
        _ => iso.to_string(),
    }
}

/// "8. dec." of an ISO date (a week's days: the year is in the course's period above).
fn day_month_text(t: &SheetTexts, iso: &str) -> String {
    let mut parts = iso.splitn(3, '-').skip(1).map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(month @ 1..=12)), Some(Ok(day))) => {
            (t.day_month)(day, t.months[month as usize - 1])
        }
        _ => iso.to_string(),
    }
}

/// Today as an ISO date, on this device's clock.
fn today_iso() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

#[component]
pub fn ProgramSheetPage(course: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let sheet = RwSignal::new(None::<Result<ProgramSheet, ApiError>>);
    // In the language the page is shown in (the citizen's, chosen with the toggle).
    Effect::new(move |_| {
        let lang = i18n.lang.get().code();
        leptos::task::spawn_local(async move {
            sheet.set(Some(api::program_sheet(&course.get_value(), lang).await));
        });
    });
    let back = move |_| {
        let course = course.get_value();
        nav.go(if nav.prescribes() {
            Page::Course {
                course,
                tab: CourseTab::Program,
            }
        } else {
            Page::Visits { notice: None }
        })
    };
    let print = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };

    let exercise = move |(i, line): (usize, SheetLine)| {
        let t = i18n.t();
        let picture = line.picture.as_ref().map(|p| {
            view! { <img class="sheet-picture" src=api::asset_url(p) alt=line.title.clone() /> }
        });
        let steps = line
            .steps
            .iter()
            .map(|s| view! { <li>{s.clone()}</li> })
            .collect_view();
        view! {
            <li class="sheet-exercise" data-testid="sheet-exercise">
                <div class="sheet-picture-box">{picture}</div>
                <div class="sheet-text">
                    <h3><span class="sheet-number">{i + 1}</span>" "{line.title.clone()}</h3>
                    <p class="sheet-dose" data-testid="sheet-dose">{dosage_text(t, &line.dosage)}</p>
                    {line.summary.clone().map(|s| view! { <p>{s}</p> })}
                    <ol class="sheet-steps">{steps}</ol>
                    {line.instructions.clone().map(|n| view! {
                        <p class="sheet-note" data-testid="sheet-note"><strong>{i18n.sheet().from_therapist}</strong>" "{n}</p>
                    })}
                </div>
            </li>
        }
    };

    let document = move |s: ProgramSheet| {
        let t = i18n.sheet();
        let left_out = s.lines.iter().any(|l| l.photos_with_person_left_out > 0);
        let boxes = s.sessions_per_week;
        let weeks = s
            .weeks
            .iter()
            .map(|w| {
                view! {
                    <tr data-testid="sheet-week">
                        <th scope="row">{format!("{} {}", t.week, w.number)}
                            <br/><small>{format!("{} – {}", day_month_text(t, &w.first_day), day_month_text(t, &w.last_day))}</small></th>
                        {(0..boxes).map(|_| view! { <td><span class="tick-box"></span></td> }).collect_view()}
                    </tr>
                }
            })
            .collect_view();
        let last_on_sheet = s.weeks.last().map_or(0, |w| w.number);
        let goals = (!s.goals.is_empty()).then(|| {
            view! {
                <section class="sheet-goals">
                    <h2>{t.goals}</h2>
                    <ul>{s.goals.iter().map(|g| view! { <li>{g.clone()}</li> }).collect_view()}</ul>
                </section>
            }
        });
        view! {
            {left_out.then(|| view! { <p class="hint no-print" data-testid="sheet-person-left-out">{t.person_left_out}</p> })}
            <article class="program-sheet" data-testid="program-sheet">
                <header class="sheet-head">
                    <h1>{t.title}</h1>
                    <p class="sheet-who" data-testid="sheet-citizen">{s.citizen_name.clone()}</p>
                    <p class="sheet-frame" data-testid="sheet-frame">
                        {(t.frame)(s.planned_weeks, s.sessions_per_week, s.minutes_per_session)}
                        <br/>{(t.period)(&day_text(t, &s.start_date), &day_text(t, &s.last_day))}
                    </p>
                </header>
                {goals}
                <h2>{t.exercises}</h2>
                <ol class="sheet-exercises">
                    {s.lines.clone().into_iter().enumerate().map(exercise).collect_view()}
                </ol>
                <p class="sheet-safety" data-testid="sheet-safety">{t.safety}</p>
                {(!s.weeks.is_empty()).then(|| view! {
                    <section class="sheet-tick">
                        <h2>{t.tick_title}</h2>
                        <p class="muted">{t.tick_hint}</p>
                        <table class="tick-table"><tbody>{weeks}</tbody></table>
                        {(s.weeks_after > 0).then(|| view! {
                            <p class="muted" data-testid="sheet-weeks-after">
                                {(t.weeks_after)(last_on_sheet + 1, last_on_sheet + s.weeks_after)}</p>
                        })}
                    </section>
                })}
                <footer class="sheet-foot">
                    <p><strong>{t.therapist}":"</strong>" "{s.therapist_name.clone()}" · "{s.team_name.clone()}</p>
                    <p class="muted">
                        {(t.revision)(s.revision_number, &s.revised_on.as_deref().map(|d| day_text(t, d)).unwrap_or_default())}
                        " · "{t.printed}" "{day_text(t, &today_iso())}
                    </p>
                </footer>
            </article>
        }
    };

    view! {
        <section class="program-sheet-page" data-testid="program-sheet-page">
            <div class="report-actions no-print">
                <button class="btn secondary big" data-testid="sheet-back" on:click=back>{move || i18n.sheet().back}</button>
                <button class="btn primary big" data-testid="sheet-print" on:click=print>{move || i18n.sheet().print}</button>
            </div>
            {move || match sheet.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(s)) => document(s).into_any(),
            }}
        </section>
    }
}
