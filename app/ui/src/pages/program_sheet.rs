//! The citizen's copy of the program, laid out for A4 and large print: the goals, each
//! exercise with its picture, steps, dosage, safety notes and the therapist's words, the
//! library's rules for training, and a box to tick after each session, week by week of the
//! course. The therapist prints it from the program tab, the assistant from the visit card;
//! the browser's print makes the paper or the PDF. What goes on it (which photo, which weeks)
//! is the app core's answer (`shared::program_sheet`).

use crate::i18n::{use_i18n, SheetTexts};
use crate::pages::session::dosage_text;
use crate::{api, use_nav, CourseTab, Page};
use homerehab_app_api::*;
use leptos::prelude::*;

/// An ISO date's year, month (1–12) and day; `None` when it is not one.
fn ymd(iso: &str) -> Option<(i32, usize, u32)> {
    let mut parts = iso.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = parts
        .next()?
        .parse()
        .ok()
        .filter(|m| (1..=12).contains(m))?;
    let day = parts.next()?.parse().ok()?;
    Some((year, month, day))
}

/// "17. november 2026" of an ISO date; the text itself when it is not one.
fn day_text(t: &SheetTexts, iso: &str) -> String {
    ymd(iso).map_or_else(
        || iso.to_string(),
        |(year, month, day)| (t.date)(day, t.months[month - 1], year),
    )
}

/// "17. november": a week's days (the year is in the course's period above them).
fn day_month_text(t: &SheetTexts, iso: &str) -> String {
    ymd(iso).map_or_else(
        || iso.to_string(),
        |(_, month, day)| (t.day_month)(day, t.months[month - 1]),
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
        let safety = (!line.safety.is_empty()).then(|| {
            view! {
                <p class="sheet-take-care" data-testid="sheet-take-care">
                    <strong>{i18n.sheet().take_care}</strong>" "{line.safety.join(" ")}
                </p>
            }
        });
        view! {
            <li class="sheet-exercise" data-testid="sheet-exercise">
                <div class="sheet-picture-box">{picture}</div>
                <div class="sheet-text">
                    <h3><span class="sheet-number">{i + 1}</span>" "{line.title.clone()}</h3>
                    <p class="sheet-dose" data-testid="sheet-dose">{dosage_text(t, &line.dosage)}</p>
                    {line.summary.clone().map(|s| view! { <p>{s}</p> })}
                    <ol class="sheet-steps">{steps}</ol>
                    {safety}
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
                        <th scope="row">{(t.week)(w.number)}
                            <br/><small>{format!("{} – {}", day_month_text(t, &w.first_day), day_month_text(t, &w.last_day))}</small></th>
                        <td><div class="tick-boxes">
                            {(0..boxes).map(|_| view! { <span class="tick-box"></span> }).collect_view()}
                        </div></td>
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
        let tick = if s.weeks.is_empty() {
            view! { <p class="hint no-print" data-testid="sheet-no-weeks">{t.no_weeks_left}</p> }
                .into_any()
        } else {
            view! {
                <section class="sheet-tick">
                    <h2>{t.tick_title}</h2>
                    <p class="muted">{t.tick_hint}</p>
                    <table class="tick-table"><tbody>{weeks}</tbody></table>
                    {(s.weeks_after > 0).then(|| view! {
                        <p class="muted" data-testid="sheet-weeks-after">
                            {(t.weeks_after)(last_on_sheet + 1, last_on_sheet.saturating_add(s.weeks_after))}</p>
                    })}
                </section>
            }
            .into_any()
        };
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
                    // Who to call, first thing on the sheet. The number is written in by hand:
                    // it is the team's own business, and Homerehab keeps none.
                    <p class="sheet-therapist"><strong>{t.therapist}":"</strong>" "{s.therapist_name.clone()}" · "{s.team_name.clone()}
                        <span class="sheet-phone"><strong>{t.phone}</strong>" "<span class="write-in"></span></span></p>
                </header>
                {goals}
                <h2>{t.exercises}</h2>
                <ol class="sheet-exercises">
                    {s.lines.clone().into_iter().enumerate().map(exercise).collect_view()}
                </ol>
                <section class="sheet-safety" data-testid="sheet-safety">
                    <h2>{t.safety_title}</h2>
                    <ul>{s.general_safety.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul>
                </section>
                {tick}
                <footer class="sheet-foot">
                    <p class="muted" data-testid="sheet-version">
                        {(t.revision)(s.revision_number, &s.revised_on.as_deref().map(|d| day_text(t, d)).unwrap_or_default())}
                        " · "{t.printed}" "{day_text(t, &s.made_on)}
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
