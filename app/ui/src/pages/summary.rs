//! After finishing: what was stored, per exercise.

use crate::i18n::use_i18n;
use crate::use_nav;
use homerehab_app_api::{CourseDetail, Outcome, SessionSummary};
use leptos::prelude::*;

#[component]
pub fn Summary(detail: CourseDetail, summary: SessionSummary) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let title = {
        let lines = detail.lines.clone();
        move |line_id: &str, fallback: &str| {
            lines
                .iter()
                .find(|l| l.line_id == line_id)
                .map_or_else(|| fallback.to_string(), |l| l.title.clone())
        }
    };
    let rows = summary
        .exercises
        .iter()
        .map(|e| (title(&e.line_id, &e.exercise_ref), e.clone()))
        .collect::<Vec<_>>();
    let condition = summary.general_condition;
    view! {
        <section class="card summary" data-testid="summary">
            <h1>{move || i18n.t().summary_title}</h1>
            <p class="citizen">{detail.citizen_name.clone()}</p>
            <p class="hint">{move || i18n.t().summary_saved}</p>
            <table class="summary-table">
                <tbody>
                    {rows.into_iter().map(|(title, e)| view! {
                        <tr data-testid="summary-row">
                            <th scope="row">{title}</th>
                            <td>{e.sets_done} " " {move || i18n.t().sets_word}</td>
                            <td>{move || {
                                let t = i18n.t();
                                match e.outcome {
                                    Some(Outcome::Done) => t.outcome_done,
                                    Some(Outcome::Partly) => t.outcome_partly,
                                    Some(Outcome::Skipped) => t.outcome_skipped,
                                    None => "–",
                                }
                            }}</td>
                            <td>{e.borg.map(|b| format!("Borg {b}"))}</td>
                            <td>{move || e.pain.map(|p| format!("{} {p}", i18n.t().pain_short))}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {condition.map(|c| view! {
                <p class="condition">{move || i18n.t().general_condition} ": " {c} " · " {move || i18n.t().conditions[usize::from(c).clamp(1, 5) - 1]}</p>
            })}
            <button class="btn primary big" data-testid="back-to-visits" on:click=move |_| nav.home()>
                {move || i18n.t().back_to_visits}
            </button>
        </section>
    }
}
