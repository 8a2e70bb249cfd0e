//! Today's visits: one big card per citizen with a course, due ones first.

use crate::components::RefusalNotice;
use crate::i18n::use_i18n;
use crate::{api, use_nav, Notice, Page};
use homerehab_app_api::{ApiError, MediaStatus, Visit};
use leptos::prelude::*;

/// "1.3 kB", "12 MB", "2 GB".
fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000_000 => format!("{:.1} GB", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.0} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}

#[component]
pub fn Visits(notice: Option<Notice>) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let visits = RwSignal::new(None::<Result<Vec<Visit>, ApiError>>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let load = move || {
        leptos::task::spawn_local(async move { visits.set(Some(api::visits().await)) });
    };
    load();
    nav.reload_on_sync(load);

    // The photos and videos held offline for the programs (fetched when online).
    let media = RwSignal::new(None::<MediaStatus>);
    leptos::task::spawn_local(async move { media.set(api::media_status().await.ok()) });
    let fetch_media = move |_| {
        leptos::task::spawn_local(async move { media.set(api::prefetch_media().await.ok()) });
    };

    let start = move |course: String| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let lang = i18n.lang.get_untracked().code();
            let started = async {
                let detail = api::course(&course, lang).await?;
                let started = api::start_session(&course).await?;
                Ok::<_, ApiError>((detail, started))
            };
            match started.await {
                Ok((detail, started)) => {
                    nav.refresh_status();
                    nav.go(Page::Session {
                        detail,
                        session: started.session_id,
                        sets_done: started.sets_done,
                    });
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let card = move |v: Visit| {
        let t = i18n.t();
        let course = v.course_id.clone();
        let course2 = v.course_id.clone();
        let course3 = v.course_id.clone();
        let citizen = v.citizen_name.clone();
        view! {
            <article class="card visit" class:due=v.due data-testid="visit">
                <div class="visit-head">
                    <h2 class="citizen">
                        {if v.citizen_name.is_empty() { t.unknown_citizen.to_string() } else { v.citizen_name.clone() }}
                    </h2>
                    <span class="badge" class:due=v.due>{if v.due { t.due } else { t.not_due }}</span>
                </div>
                <p class="address">{v.address.clone()}</p>
                <RefusalNotice course=v.course_id.clone() />
                <p class="week">{(t.this_week)(v.sessions_this_week, v.sessions_per_week)} " · " {v.legal_basis.clone()}</p>
                // #11 course
                <crate::pages::effect::VisitTests course=v.course_id.clone() due=v.tests_due.clone() />
                <div class="actions">
                    <button class="btn primary big" data-testid="start-session" disabled=move || busy.get()
                        on:click=move |_| start(course.clone())>
                        {t.start_session}
                    </button>
                    <button class="btn secondary big" data-testid="not-carried-out"
                        on:click=move |_| nav.go(Page::NotCarriedOut { course: course2.clone(), citizen: citizen.clone() })>
                        {t.not_carried_out}
                    </button>
                </div>
                <button class="btn ghost-dark sheet-link" data-testid="open-program-sheet"
                    on:click=move |_| nav.go(Page::ProgramSheet { course: course3.clone() })>
                    {i18n.sheet().open_short}
                </button>
            </article>
        }
    };

    view! {
        <section class="visits">
            <h1>{move || i18n.t().visits_title}</h1>
            {notice.map(|n| match n {
                Notice::NotCarriedOutRecorded => view! {
                    <p class="notice" data-testid="notice">{move || i18n.t().nco_recorded}</p>
                },
            })}
            <p class="error" role="alert">{move || error.get()}</p>
            {move || match visits.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{i18n.t().visits_empty}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="visit-grid">{list.into_iter().map(card).collect_view()}</div>
                }.into_any(),
            }}
            {move || media.get().map(|m| view! {
                <p class="media-status muted" data-testid="media-status">
                    {(i18n.t().th.media_on_device)(&size_text(m.held_bytes), &size_text(m.budget_bytes))}
                    " "
                    <button class="btn ghost-dark" data-testid="fetch-media" on:click=fetch_media>{i18n.t().th.fetch_media_now}</button>
                </p>
            })}
        </section>
    }
}
