//! One course: its history (sessions, trends), its program (the editor) and its assessments,
//! as three big tabs. Leaders see the history only.

use crate::components::RefusalNotice;
use crate::i18n::use_i18n;
use crate::pages::{Assessments, EffectTab, History, ProgramEditor};
use crate::{use_nav, CourseTab, Page};
use leptos::prelude::*;

#[component]
pub fn CoursePage(course: String, tab: CourseTab) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let course = StoredValue::new(course);
    let edit = nav.may(homerehab_app_api::Capability::PrescribeCourses);
    let tab_button = move |t: CourseTab,
                           label: fn(&'static crate::i18n::Texts) -> &'static str,
                           testid: &'static str| {
        view! {
            <button class="tab" class:active=tab == t data-testid=testid
                aria-current=if tab == t { "page" } else { "false" }
                on:click=move |_| nav.go(Page::Course { course: course.get_value(), tab: t })>
                {move || label(i18n.t())}
            </button>
        }
    };
    view! {
        <section class="course-page">
            <RefusalNotice course=course.get_value() />
            <nav class="tabs sub" aria-label="course">
                {tab_button(CourseTab::History, |t| t.th.history_tab, "course-tab-history")}
                {edit.then(|| tab_button(CourseTab::Program, |t| t.th.program_tab, "course-tab-program"))}
                {edit.then(|| tab_button(CourseTab::Assessments, |t| t.th.assessments_tab, "course-tab-assessments"))}
                // #11 course
                <button class="tab" class:active=tab == CourseTab::Effect data-testid="course-tab-effect"
                    aria-current=if tab == CourseTab::Effect { "page" } else { "false" }
                    on:click=move |_| nav.go(Page::Course { course: course.get_value(), tab: CourseTab::Effect })>
                    {move || i18n.c().effect_tab}
                </button>
            </nav>
            {match tab {
                CourseTab::History => view! { <History course=course.get_value() /> }.into_any(),
                CourseTab::Program => view! { <ProgramEditor course=course.get_value() /> }.into_any(),
                CourseTab::Assessments => view! { <Assessments course=course.get_value() /> }.into_any(),
                // #11 course
                CourseTab::Effect => view! { <EffectTab course=course.get_value() /> }.into_any(),
            }}
        </section>
    }
}
