//! The home-care follow-up worklist ("Opfølgning på hjemmeplejetid": what is due first, per
//! citizen, 77 days and 1 year after the course) and the leader's funnel from referral to
//! course, as bars.

use crate::i18n::use_i18n;
use crate::intake_api::{self, CareFollowUpDue, ReferralFunnel};
use crate::pages::referrals::danish_date;
use crate::{use_nav, CourseTab, Page};
use homerehab_app_api::ApiError;
use leptos::prelude::*;

/// Due first, then upcoming, then recorded; by date within each.
fn worklist_order(list: &mut [CareFollowUpDue]) {
    let rank = |s: &str| match s {
        "due" => 0,
        "upcoming" => 1,
        _ => 2,
    };
    list.sort_by(|a, b| {
        (rank(&a.status), &a.date, &a.citizen_name).cmp(&(
            rank(&b.status),
            &b.date,
            &b.citizen_name,
        ))
    });
}

#[component]
pub fn FollowUps() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let rows = RwSignal::new(None::<Result<Vec<CareFollowUpDue>, ApiError>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let list = intake_api::care_follow_ups().await.map(|mut l| {
                worklist_order(&mut l);
                l
            });
            rows.set(Some(list));
        })
    };
    load();
    nav.reload_on_sync(load);
    let status_text = move |s: &str| {
        let t = i18n.intake();
        match s {
            "due" => t.follow_up_statuses[1],
            "recorded" => t.follow_up_statuses[2],
            _ => t.follow_up_statuses[0],
        }
    };
    let row = move |f: CareFollowUpDue| {
        let course = f.course_id.clone();
        let status = f.status.clone();
        let class = format!("status-pill {}", f.status);
        view! {
            <tr class=format!("follow-up {}", f.status) data-testid="follow-up-row">
                <td><button class="link" on:click=move |_| nav.go(Page::Course { course: course.clone(), tab: CourseTab::History })>
                    <strong>{f.citizen_name.clone()}</strong></button>
                    <span class="muted">" · " {f.local_ref.clone()}</span></td>
                <td data-testid="follow-up-offset">{move || (i18n.intake().offset)(f.offset_days)}</td>
                <td>{danish_date(&f.date)}</td>
                <td><span class=class data-testid="follow-up-status">{move || status_text(&status)}</span></td>
                <td>{move || f.minutes_per_week.map(|m| (i18n.intake().minutes_week)(m))}</td>
            </tr>
        }
    };
    view! {
        <section class="follow-ups">
            <h1>{move || i18n.intake().follow_ups_title}</h1>
            {move || match rows.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{i18n.intake().follow_ups_empty}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="worklist" data-testid="follow-ups">
                        <thead><tr>{move || i18n.intake().follow_up_columns.map(|c| view! { <th scope="col">{c}</th> })}</tr></thead>
                        <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}

/// The leader's funnel: referred → screened → course → how it ended, as horizontal bars.
#[component]
pub fn Funnel() -> impl IntoView {
    let i18n = use_i18n();
    let funnel = RwSignal::new(None::<Result<ReferralFunnel, ApiError>>);
    leptos::task::spawn_local(async move {
        let lang = i18n.lang.get_untracked().code();
        funnel.set(Some(intake_api::referral_funnel(lang).await));
    });
    let bars = move |f: ReferralFunnel| {
        let values = [
            ("referred", f.referred),
            ("awaiting", f.awaiting_screening),
            ("included", f.included),
            ("not-included", f.not_included),
            ("courses", f.courses_created),
            ("completed", f.courses_completed),
            ("ended-early", f.courses_ended_early),
        ];
        let max = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
        view! {
            <ul class="funnel" data-testid="funnel">
                {values.into_iter().enumerate().map(|(i, (key, v))| view! {
                    <li class=format!("funnel-row {key}") data-testid=format!("funnel-{key}")>
                        <span class="funnel-label">{move || i18n.intake().funnel_labels[i]}</span>
                        <span class="funnel-bar"><span style=format!("width:{}%", v * 100 / max)></span></span>
                        <strong class="funnel-count">{v}</strong>
                    </li>
                }).collect_view()}
            </ul>
            <ul class="reasons">
                {f.not_included_by_reason.into_iter().map(|(_, text, n)| view! {
                    <li>{text} ": " <strong>{n}</strong></li>
                }).collect_view()}
            </ul>
        }
    };
    view! {
        <section class="card funnel-card">
            <h2>{move || i18n.intake().funnel_title}</h2>
            {move || match funnel.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(f)) => bars(f).into_any(),
            }}
        </section>
    }
}
