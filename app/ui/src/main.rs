//! The Homerehab UI: Leptos (client-side rendered) compiled to wasm.
//!
//! - [`api`]: the only module that reaches the app core (browser: HTTP; Tauri: later);
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
mod pages;

use homerehab_app_api::{CourseDetail, LockState, SessionSummary, Status};
use leptos::prelude::*;

/// What the screen shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Page {
    Loading,
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
    },
    Summary {
        detail: CourseDetail,
        summary: SessionSummary,
    },
    NotCarriedOut {
        course: String,
        citizen: String,
    },
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
}

impl Nav {
    pub fn go(self, page: Page) {
        self.page.set(page);
    }

    /// Whether the unlock screen covers the page.
    pub fn locked(self) -> bool {
        self.status
            .with(|s| s.as_ref().is_some_and(|s| s.lock == LockState::Locked))
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
    };
    provide_context(nav);
    leptos::task::spawn_local(async move {
        let status = api::status().await;
        let next = match status.as_ref().map(|s| s.lock) {
            Ok(LockState::NoPin) => Page::ChoosePin,
            // The unlock screen covers the page; after the PIN, today's visits.
            Ok(LockState::Locked) => Page::Loading,
            Ok(LockState::Unlocked) => Page::Visits { notice: None },
            _ => Page::SignIn,
        };
        if let Ok(s) = status {
            nav.status.set(Some(s));
        }
        nav.go(next);
    });
    Effect::new(move |_| {
        let lang = i18n.lang.get();
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", lang.code());
        }
    });
    view! {
        <div class="app">
            <components::StatusBar />
            <Show when=move || nav.locked()>
                <main class="page"><pages::Unlock /></main>
            </Show>
            <main class="page" hidden=move || nav.locked()>
                {move || match nav.page.get() {
                    Page::Loading => view! { <p class="loading">{move || i18n.t().loading}</p> }.into_any(),
                    Page::SignIn => view! { <pages::SignIn /> }.into_any(),
                    Page::ChoosePin => view! { <pages::ChoosePin /> }.into_any(),
                    Page::Visits { notice } => view! { <pages::Visits notice /> }.into_any(),
                    Page::Session { detail, session } => view! { <pages::Session detail session /> }.into_any(),
                    Page::Summary { detail, summary } => view! { <pages::Summary detail summary /> }.into_any(),
                    Page::NotCarriedOut { course, citizen } => view! { <pages::NotCarriedOut course citizen /> }.into_any(),
                }}
            </main>
        </div>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
