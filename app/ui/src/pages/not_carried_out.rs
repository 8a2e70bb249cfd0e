//! "Ikke gennemført": the session did not take place, with the reason.

use crate::i18n::use_i18n;
use crate::{api, use_nav, Notice, Page};
use homerehab_app_api::{NotCarriedOutReason, NotCarriedOutRequest};
use leptos::prelude::*;

const REASONS: [NotCarriedOutReason; 5] = [
    NotCarriedOutReason::Ill,
    NotCarriedOutReason::Declined,
    NotCarriedOutReason::NotAtHome,
    NotCarriedOutReason::Hospitalised,
    NotCarriedOutReason::Other,
];

#[component]
pub fn NotCarriedOut(course: String, citizen: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let reason = RwSignal::new(None::<NotCarriedOutReason>);
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let course = StoredValue::new(course);
    let save = move |_| {
        let Some(r) = reason.get_untracked() else {
            return;
        };
        busy.set(true);
        let req = NotCarriedOutRequest {
            reason: r,
            note: Some(note.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            match api::not_carried_out(&course.get_value(), req).await {
                Ok(_) => {
                    nav.refresh_status();
                    nav.go(Page::Visits {
                        notice: Some(Notice::NotCarriedOutRecorded),
                    });
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card nco">
            <h1>{move || i18n.t().nco_title}</h1>
            <p class="citizen">{citizen}</p>
            <div class="choices column" role="radiogroup">
                {REASONS.iter().enumerate().map(|(k, r)| {
                    let r = *r;
                    view! {
                        <button class="btn choice big" role="radio" data-testid="nco-reason"
                            aria-checked=move || (reason.get() == Some(r)).to_string()
                            class:selected=move || reason.get() == Some(r)
                            on:click=move |_| reason.set(Some(r))>
                            {move || i18n.t().nco_reasons[k]}
                        </button>
                    }
                }).collect_view()}
            </div>
            <label>
                <span>{move || i18n.t().note}</span>
                <textarea rows="2" maxlength="4000" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))></textarea>
            </label>
            <p class="error" role="alert">{move || error.get()}</p>
            <div class="actions">
                <button class="btn primary big" data-testid="nco-save"
                    disabled=move || busy.get() || reason.get().is_none() on:click=save>
                    {move || i18n.t().save}
                </button>
                <button class="btn secondary big" on:click=move |_| nav.home()>
                    {move || i18n.t().cancel}
                </button>
            </div>
        </section>
    }
}
