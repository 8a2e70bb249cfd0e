//! The row of big tabs under the status bar for those who follow the team's courses (who only
//! guides sessions has one screen, today's visits, and gets no tabs).

use crate::i18n::use_i18n;
use crate::{use_nav, Page};
use homerehab_app_api::Capability;
use leptos::prelude::*;

#[component]
pub fn NavTabs() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let shown = move || {
        !nav.locked()
            && !matches!(
                nav.page.get(),
                Page::Loading | Page::SignIn | Page::ChoosePin | Page::Session { .. }
            )
            && nav.may(Capability::FollowCourses)
    };
    let tab = move |label: fn(&'static crate::i18n::Texts) -> &'static str,
                    testid: &'static str,
                    target: Page,
                    active: fn(&Page) -> bool| {
        let target = StoredValue::new(target);
        view! {
            <button class="tab" data-testid=testid
                class:active=move || active(&nav.page.get())
                aria-current=move || if active(&nav.page.get()) { "page" } else { "false" }
                on:click=move |_| nav.go(target.get_value())>
                {move || label(i18n.t())}
            </button>
        }
    };
    view! {
        <Show when=shown>
            <nav class="tabs" aria-label="Homerehab">
                {move || if nav.prescribes() {
                    view! {
                        {tab(|t| t.th.caseload_tab, "tab-caseload", Page::Caseload,
                            |p| matches!(p, Page::Caseload | Page::Course { .. }))}
                        {tab(|t| t.th.new_course, "tab-new-course", Page::NewCourse,
                            |p| matches!(p, Page::NewCourse))}
                        {tab(|t| t.th.library, "tab-library", Page::Library,
                            |p| matches!(p, Page::Library))}
                        // #11 intake
                        {tab(|t| crate::i18n::intake_of(t).referrals_tab, "tab-referrals", Page::Referrals,
                            |p| matches!(p, Page::Referrals | Page::Screening { .. } | Page::NewCourseFromReferral { .. }))}
                        {tab(|t| crate::i18n::intake_of(t).care_tab, "tab-care-time", Page::CareTime,
                            |p| matches!(p, Page::CareTime))}
                        {tab(|t| crate::i18n::intake_of(t).follow_ups_tab, "tab-follow-ups", Page::FollowUps,
                            |p| matches!(p, Page::FollowUps))}
                        // #11 intake end
                        {nav.may(Capability::ReadCourses).then(|| tab(|t| t.visits_title, "tab-visits", Page::Visits { notice: None },
                            |p| matches!(p, Page::Visits { .. } | Page::Summary { .. } | Page::NotCarriedOut { .. })))}
                    }.into_any()
                } else {
                    view! {
                        {tab(|t| t.th.overview_tab, "tab-overview", Page::Overview,
                            |p| matches!(p, Page::Overview | Page::Course { .. }))}
                        // #11 intake
                        {tab(|t| crate::i18n::intake_of(t).funnel_title, "tab-funnel", Page::Funnel,
                            |p| matches!(p, Page::Funnel))}
                        // #11 intake end
                    }.into_any()
                }}
                // #12 evidence: leaders and admins read it; admins set its targets and prices.
                {move || nav.may(Capability::SeeEvidence).then(|| tab(|t| crate::i18n::evidence_of(t).tab,
                    "tab-evidence", Page::Evidence, |p| matches!(p, Page::Evidence | Page::EvidenceReport { .. })))}
                {move || nav.may(Capability::SetEvidenceSettings).then(|| tab(|t| crate::i18n::evidence_of(t).settings_tab,
                    "tab-evidence-settings", Page::EvidenceSettings, |p| matches!(p, Page::EvidenceSettings)))}
                // #14 devices: leaders and admins list the staff's devices and revoke a lost one.
                {move || nav.may(Capability::ManageDevices).then(|| tab(|t| crate::i18n::devices_of(t).tab,
                    "tab-devices", Page::Devices, |p| matches!(p, Page::Devices)))}
                // #14 audit: the administrator makes a citizen's access report.
                {move || nav.may(Capability::SeeAccessLog).then(|| tab(|t| crate::i18n::access_of(t).tab,
                    "tab-access-report", Page::AccessReport, |p| matches!(p, Page::AccessReport)))}
                // #14 retention: the administrator sets retention and erases a citizen.
                {move || nav.may(Capability::ManageRetention).then(|| tab(|t| crate::i18n::retention_of(t).tab,
                    "tab-retention", Page::Retention, |p| matches!(p, Page::Retention)))}
                // #11 effect settings: the municipality's, set by its library editors.
                {move || nav.may(Capability::EditLibrary).then(|| tab(|t| crate::i18n::settings_of(t).tab,
                    "tab-effect-settings", Page::EffectSettings, |p| matches!(p, Page::EffectSettings)))}
            </nav>
        </Show>
    }
}
