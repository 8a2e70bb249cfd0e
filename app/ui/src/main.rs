//! The Homerehab UI: Leptos (client-side rendered) compiled to wasm.
//!
//! - [`api`]: the only module that reaches the app core (browser: HTTP; Tauri shell: `invoke`);
//! - [`i18n`]: every string, Danish and English;
//! - [`pages`]: sign-in, choose a PIN, unlock, today's visits, the guided session, its
//!   summary, "not carried out";
//! - [`components`]: the status bar that is always on screen, the PIN keypad.
//!
//! Navigation is one [`Page`] signal in context; no router, since the tablet has no address bar.
//! The lock is not a page: while the app core says `locked`, the unlock screen replaces the
//! page on screen, and the page (with its state, e.g. a session half done) returns after.

mod api;
mod components;
mod i18n;
// #11 intake
mod intake_api;
// #11 intake end
mod pages;

use homerehab_app_api::{
    Capability, CourseDetail, ErrorKind, LockState, Me, SessionSummary, Status,
};
use leptos::prelude::*;

/// What the screen shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Page {
    Loading,
    /// Opened without the app's launch key: nothing can be read (browser mode).
    LaunchKey,
    SignIn,
    /// Right after sign-in (or when no PIN is set yet).
    ChoosePin,
    Visits {
        /// A confirmation to show on top (after recording "not carried out").
        notice: Option<Notice>,
    },
    Session {
        detail: CourseDetail,
        session: String,
        /// Sets already logged per line (a session opened again).
        sets_done: std::collections::BTreeMap<String, u32>,
    },
    Summary {
        detail: CourseDetail,
        summary: SessionSummary,
    },
    NotCarriedOut {
        course: String,
        citizen: String,
    },
    /// The therapist's caseload: every course with its flags.
    Caseload,
    /// Create a course (and, if needed, the citizen) from scratch or from a template.
    NewCourse,
    /// One course: its history, program editor or assessments.
    Course {
        course: String,
        tab: CourseTab,
    },
    /// The leader's read-only overview of the team.
    Overview,
    /// The exercise library: browse, the municipality's own exercises and their media.
    Library,
    // #11 intake
    /// Referred citizens and where each stands.
    Referrals,
    /// Screening one referral against the municipality's checklist.
    Screening {
        referral: String,
    },
    /// A new course for an included referral: citizen and referral preselected.
    NewCourseFromReferral {
        citizen: String,
        referral: String,
        name: String,
    },
    /// Importing home-care time, and a grant by hand.
    CareTime,
    /// Home-care follow-ups after courses, due first.
    FollowUps,
    /// The leader's funnel from referral to course.
    Funnel,
    /// The municipality's effect settings (its library editors edit them).
    EffectSettings,
    // #11 intake end
    // #11 course
    /// The WHO-5 on the tablet, answered in a visit's session, in the phase that is due.
    Who5 {
        detail: CourseDetail,
        session: String,
        phase: String,
    },
    // #11 plan
    /// A test the therapist delegated, entered on the tablet during a visit.
    DelegatedTest {
        course: String,
        test: String,
    },
    // #12 evidence
    /// The leaders' evidence: targets, funnel, staff, effect, business case, benchmark.
    Evidence,
    /// The evaluation report of the evidence on screen, laid out for A4.
    EvidenceReport {
        view: Box<homerehab_app_api::EvidenceView>,
    },
    /// The municipality's targets, prices and benchmark choices (its admin).
    EvidenceSettings,
    // #14 devices
    /// The staff's devices, with "Spær" (leaders and admins).
    Devices,
    // #14 audit
    /// A citizen's access report from the audit log (admins).
    AccessReport,
    /// Retention and a citizen's erasure (admins).
    Retention,
    /// The citizen's copy of a course's program, to print.
    ProgramSheet {
        course: String,
    },
}

/// The parts of the course page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CourseTab {
    History,
    Program,
    Assessments,
    // #11 course
    /// Test plan, goal attainment and the printable effect summary.
    Effect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    NotCarriedOutRecorded,
}

/// Shared through context: where we are and the last known sync status.
#[derive(Clone, Copy)]
pub struct Nav {
    pub page: RwSignal<Page>,
    pub status: RwSignal<Option<Status>>,
    /// Who is signed in (decides the home page and what may be edited).
    pub me: RwSignal<Option<Me>>,
}

impl Nav {
    pub fn go(self, page: Page) {
        self.page.set(page);
    }

    /// Whether the signed-in person may do `c` (false before anyone is known).
    pub fn may(self, c: Capability) -> bool {
        self.me.with(|m| m.as_ref().is_some_and(|m| m.may(c)))
    }

    /// Whether the signed-in person plans the team's work (the roster, courses, programs,
    /// assessments): their screens are the caseload, a new course and the library.
    pub fn prescribes(self) -> bool {
        self.may(Capability::PrescribeCourses) || self.may(Capability::ManageCitizens)
    }

    /// The start page of the signed-in user's role: today's visits for assistants, the
    /// caseload for therapists, the team overview for leaders.
    pub fn home(self) {
        leptos::task::spawn_local(async move {
            if self.me.get_untracked().is_none() {
                if let Ok(me) = api::me().await {
                    self.me.set(me);
                }
            }
            let page = if self.prescribes() {
                Page::Caseload
            } else if self.may(Capability::SeeOverview) {
                Page::Overview
            } else {
                Page::Visits { notice: None }
            };
            self.go(page);
        });
    }

    /// Whether the unlock screen covers the page.
    pub fn locked(self) -> bool {
        self.status
            .with(|s| s.as_ref().is_some_and(|s| s.lock == LockState::Locked))
    }

    /// Runs `load` again whenever a sync has finished (the page follows what it brought in).
    pub fn reload_on_sync(self, load: impl Fn() + 'static) {
        Effect::new(move |prev: Option<Option<i64>>| {
            let last = self.status.get().and_then(|s| s.last_sync);
            if prev.is_some_and(|p| p != last) {
                load();
            }
            last
        });
    }

    /// Fetches the sync status now (after every write, so "N ændringer venter" is current).
    pub fn refresh_status(self) {
        leptos::task::spawn_local(async move {
            if let Ok(s) = api::status().await {
                self.status.set(Some(s));
            }
        });
    }
}

pub fn use_nav() -> Nav {
    expect_context::<Nav>()
}

#[component]
fn App() -> impl IntoView {
    let i18n = i18n::I18n::new();
    provide_context(i18n);
    let nav = Nav {
        page: RwSignal::new(Page::Loading),
        status: RwSignal::new(None),
        me: RwSignal::new(None),
    };
    provide_context(nav);
    api::adopt_launch_key();
    // The printed address opened in this tab later: only its fragment changed, so start again
    // with the key.
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        if api::adopt_launch_key() {
            let _ = window().location().reload();
        }
    });
    leptos::task::spawn_local(async move {
        let status = api::status().await;
        if status.is_ok() {
            api::learn_media_key().await;
        }
        let next = match status.as_ref().map(|s| s.lock) {
            Err(e) if e.kind == ErrorKind::LaunchKey => Some(Page::LaunchKey),
            Ok(LockState::NoPin) => Some(Page::ChoosePin),
            // The unlock screen covers the page; after the PIN, the home page.
            Ok(LockState::Locked) => Some(Page::Loading),
            Ok(LockState::Unlocked) => None,
            _ => Some(Page::SignIn),
        };
        if let Ok(s) = status {
            nav.status.set(Some(s));
        }
        match next {
            Some(page) => nav.go(page),
            None => nav.home(),
        }
    });
    // The idle lock counts from the last tap or key, not from the last request (the screens
    // reload themselves after every background sync): told at most every 15 s.
    let last_touch = StoredValue::new(0.0_f64);
    let touched = move || {
        let now = js_sys::Date::now();
        if now - last_touch.get_value() > 15_000.0 {
            last_touch.set_value(now);
            leptos::task::spawn_local(async move {
                let _ = api::touch().await;
            });
        }
    };
    // For the page's life: a dropped handle leaves its listener in place.
    let _ = window_event_listener(leptos::ev::pointerdown, move |_| touched());
    let _ = window_event_listener(leptos::ev::keydown, move |_| touched());
    Effect::new(move |_| {
        let lang = i18n.lang.get();
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", lang.code());
        }
    });
    view! {
        <div class="app">
            <components::StatusBar />
            <components::NavTabs />
            <Show when=move || nav.locked()>
                <main class="page"><pages::Unlock /></main>
            </Show>
            <main class="page" hidden=move || nav.locked()>
                {move || match nav.page.get() {
                    Page::Loading => view! { <p class="loading">{move || i18n.t().loading}</p> }.into_any(),
                    Page::LaunchKey => view! {
                        <section class="notice-page" data-testid="launch-key-needed">
                            <h1>{move || i18n.t().launch_key_title}</h1>
                            <p>{move || i18n.t().launch_key_text}</p>
                        </section>
                    }.into_any(),
                    Page::SignIn => view! { <pages::SignIn /> }.into_any(),
                    Page::ChoosePin => view! { <pages::ChoosePin /> }.into_any(),
                    Page::Visits { notice } => view! { <pages::Visits notice /> }.into_any(),
                    Page::Session { detail, session, sets_done } => view! { <pages::Session detail session sets_done /> }.into_any(),
                    Page::Summary { detail, summary } => view! { <pages::Summary detail summary /> }.into_any(),
                    Page::NotCarriedOut { course, citizen } => view! { <pages::NotCarriedOut course citizen /> }.into_any(),
                    Page::Caseload => view! { <pages::Caseload /> }.into_any(),
                    Page::NewCourse => view! { <pages::NewCourse /> }.into_any(),
                    Page::Course { course, tab } => view! { <pages::CoursePage course tab /> }.into_any(),
                    Page::Overview => view! { <pages::Overview /> }.into_any(),
                    Page::Library => view! { <pages::Library /> }.into_any(),
                    // #11 intake
                    Page::Referrals => view! { <pages::Referrals /> }.into_any(),
                    Page::Screening { referral } => view! { <pages::Screening referral /> }.into_any(),
                    Page::NewCourseFromReferral { citizen, referral, name } => view! {
                        <pages::NewCourse from_referral=(citizen, referral, name) />
                    }.into_any(),
                    Page::CareTime => view! { <pages::CareTime /> }.into_any(),
                    Page::FollowUps => view! { <pages::FollowUps /> }.into_any(),
                    Page::Funnel => view! { <pages::Funnel /> }.into_any(),
                    Page::EffectSettings => view! { <pages::EffectSettingsPage /> }.into_any(),
                    // #11 intake end
                    // #11 course
                    Page::Who5 { detail, session, phase } => view! { <pages::Who5 detail session phase /> }.into_any(),
                    // #11 plan
                    Page::DelegatedTest { course, test } => view! { <pages::DelegatedTest course test /> }.into_any(),
                    // #12 evidence
                    Page::Evidence => view! { <pages::EvidencePage /> }.into_any(),
                    Page::EvidenceReport { view } => view! { <pages::EvidenceReportPage view /> }.into_any(),
                    Page::EvidenceSettings => view! { <pages::EvidenceSettingsPage /> }.into_any(),
                    // #14 devices
                    Page::Devices => view! { <pages::DevicesPage /> }.into_any(),
                    // #14 audit
                    Page::AccessReport => view! { <pages::AccessReportPage /> }.into_any(),
                    Page::Retention => view! { <pages::RetentionPage /> }.into_any(),
                    Page::ProgramSheet { course } => view! { <pages::ProgramSheetPage course /> }.into_any(),
                }}
            </main>
        </div>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
