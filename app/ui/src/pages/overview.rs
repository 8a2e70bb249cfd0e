//! The leader's read-only overview of the team: courses by status, sessions in the last four
//! weeks, adherence, each staff member's use of the app, and the course list with its flags.

use crate::i18n::use_i18n;
use crate::pages::caseload::{date_text, CourseList};
use crate::{api, use_nav};
use homerehab_app_api::*;
use leptos::prelude::*;

#[component]
fn Tile(label: Signal<&'static str>, value: String, testid: &'static str) -> impl IntoView {
    view! {
        <div class="tile" data-testid=testid>
            <span class="tile-value">{value}</span>
            <span class="tile-label">{move || label.get()}</span>
        </div>
    }
}

#[component]
pub fn Overview() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let data = RwSignal::new(None::<Result<TeamOverview, ApiError>>);
    let load =
        move || leptos::task::spawn_local(async move { data.set(Some(api::overview().await)) });
    load();
    nav.reload_on_sync(load);
    view! {
        <section class="overview" data-testid="overview">
            {move || match data.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(o)) => {
                    let t = i18n.t();
                    view! {
                        <h1>{t.th.overview_title} " · " {o.team_name.clone()}</h1>
                        <div class="tiles">
                            <Tile label=Signal::derive(move || i18n.t().th.tile_active) value=o.courses_active.to_string() testid="tile-active" />
                            <Tile label=Signal::derive(move || i18n.t().th.tile_planned) value=o.courses_planned.to_string() testid="tile-planned" />
                            <Tile label=Signal::derive(move || i18n.t().th.tile_completed) value=o.courses_completed.to_string() testid="tile-completed" />
                            <Tile label=Signal::derive(move || i18n.t().th.tile_sessions) value=o.sessions_last_28_days.to_string() testid="tile-sessions" />
                            <Tile label=Signal::derive(move || i18n.t().th.tile_nco) value=o.not_carried_out_last_28_days.to_string() testid="tile-nco" />
                            <Tile label=Signal::derive(move || i18n.t().th.tile_adherence)
                                value=o.adherence_percent.map_or("–".to_string(), |p| format!("{p} %")) testid="tile-adherence" />
                        </div>
                        <h2>{t.th.staff_activity}</h2>
                        <table class="history-table card">
                            <thead><tr><th>{t.th.name}</th><th>{t.th.role}</th><th>{t.th.sessions_28}</th><th>{t.th.last_session}</th></tr></thead>
                            <tbody>{o.staff.iter().map(|s| {
                                let idle = s.sessions_last_28_days == 0 && s.runs_sessions;
                                view! {
                                    <tr data-testid="staff-row" class:idle=idle>
                                        <th scope="row">{s.display_name.clone()}</th>
                                        <td>{role_name(t, &s.role)}</td>
                                        <td>{s.sessions_last_28_days}</td>
                                        <td>{s.last_session_at.map_or("–".to_string(), date_text)}</td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                        <h2>{t.th.courses}</h2>
                        <CourseList rows=o.courses.clone() />
                    }.into_any()
                }
            }}
        </section>
    }
}

fn role_name(t: &crate::i18n::Texts, role: &str) -> &'static str {
    match role {
        "assistant" => t.th.roles[0],
        "therapist" => t.th.roles[1],
        "leader" => t.th.roles[2],
        _ => t.th.roles[3],
    }
}
