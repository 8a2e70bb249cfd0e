//! Every string the UI shows, one table per language: Danish (the default) and English.
//! Words follow the project glossary (borger, træningsforløb, sæt, almentilstand…).

use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Da,
    En,
}

impl Lang {
    /// The code the app core takes for library texts.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Da => "da",
            Lang::En => "en",
        }
    }
}

pub struct Texts {
    pub sign_in_title: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub signing_in: &'static str,
    pub sign_in_online_hint: &'static str,
    pub visits_title: &'static str,
    pub visits_empty: &'static str,
    pub unknown_citizen: &'static str,
    pub this_week: fn(u32, u32) -> String,
    pub due: &'static str,
    pub not_due: &'static str,
    pub start_session: &'static str,
    pub not_carried_out: &'static str,
    pub loading: &'static str,
    pub exercise_of: fn(usize, usize) -> String,
    pub set_done: &'static str,
    pub sets_progress: fn(u32, u32) -> String,
    pub reps: &'static str,
    pub seconds: &'static str,
    pub hold: &'static str,
    pub rest: &'static str,
    /// none, left, right, both
    pub sides: [&'static str; 4],
    pub instructions: &'static str,
    pub how_to: &'static str,
    pub how_did_it_go: &'static str,
    pub outcome_done: &'static str,
    pub outcome_partly: &'static str,
    pub outcome_skipped: &'static str,
    pub skip_reasons: [&'static str; 4],
    pub borg: &'static str,
    pub pain: &'static str,
    pub pain_short: &'static str,
    pub next_exercise: &'static str,
    pub to_finish: &'static str,
    pub finish_title: &'static str,
    pub general_condition: &'static str,
    /// 1 (poor) – 5 (very good)
    pub conditions: [&'static str; 5],
    pub note: &'static str,
    pub finish_and_save: &'static str,
    pub summary_title: &'static str,
    pub summary_saved: &'static str,
    pub sets_word: &'static str,
    pub back_to_visits: &'static str,
    pub nco_title: &'static str,
    /// ill, declined, not at home, hospitalised, other
    pub nco_reasons: [&'static str; 5],
    pub save: &'static str,
    pub cancel: &'static str,
    pub nco_recorded: &'static str,
    pub offline: &'static str,
    pub syncing: &'static str,
    pub synced: &'static str,
    pub waiting: fn(u32) -> String,
    pub sync_now: &'static str,
    pub last_sync: &'static str,
    pub other_language: &'static str,
    pub no_illustration: &'static str,
    pub choose_pin_title: &'static str,
    pub repeat_pin_title: &'static str,
    pub choose_pin_hint: &'static str,
    pub pins_differ: &'static str,
    pub unlock_title: &'static str,
    pub wrong_pin: fn(u32) -> String,
    pub sign_in_again: &'static str,
    pub lock: &'static str,
    pub erase: &'static str,
}

fn da_this_week(done: u32, of: u32) -> String {
    format!("{done} af {of} træninger denne uge")
}
fn da_exercise_of(n: usize, of: usize) -> String {
    format!("Øvelse {n} af {of}")
}
fn da_sets(done: u32, of: u32) -> String {
    format!("{done} af {of} sæt")
}
fn da_waiting(n: u32) -> String {
    if n == 1 {
        "1 ændring venter".into()
    } else {
        format!("{n} ændringer venter")
    }
}

fn da_wrong_pin(n: u32) -> String {
    format!("Forkert pinkode — {n} forsøg tilbage")
}

fn en_wrong_pin(n: u32) -> String {
    if n == 1 {
        "Wrong PIN — 1 attempt left".into()
    } else {
        format!("Wrong PIN — {n} attempts left")
    }
}

fn en_this_week(done: u32, of: u32) -> String {
    format!("{done} of {of} sessions this week")
}
fn en_exercise_of(n: usize, of: usize) -> String {
    format!("Exercise {n} of {of}")
}
fn en_sets(done: u32, of: u32) -> String {
    format!("{done} of {of} sets")
}
fn en_waiting(n: u32) -> String {
    if n == 1 {
        "1 change waiting".into()
    } else {
        format!("{n} changes waiting")
    }
}

pub const DA: Texts = Texts {
    sign_in_title: "Log ind",
    username: "Brugernavn",
    password: "Adgangskode",
    sign_in: "Log ind",
    signing_in: "Logger ind…",
    sign_in_online_hint: "Første gang skal tabletten have net. Derefter virker den uden.",
    visits_title: "Dagens besøg",
    visits_empty: "Ingen borgere med træning lige nu.",
    unknown_citizen: "Borger (ikke hentet endnu)",
    this_week: da_this_week,
    due: "Træning mangler",
    not_due: "Ugens træning er gjort",
    start_session: "Start træning",
    not_carried_out: "Ikke gennemført",
    loading: "Henter…",
    exercise_of: da_exercise_of,
    set_done: "Sæt udført",
    sets_progress: da_sets,
    reps: "gentagelser",
    seconds: "sek.",
    hold: "hold",
    rest: "pause",
    sides: ["", "venstre side", "højre side", "begge sider"],
    instructions: "Terapeutens instruktion",
    how_to: "Sådan gør du",
    how_did_it_go: "Hvordan gik det?",
    outcome_done: "Udført",
    outcome_partly: "Delvist udført",
    outcome_skipped: "Sprunget over",
    skip_reasons: ["Smerter", "Træt", "Borger ønskede ikke", "Andet"],
    borg: "Anstrengelse (Borg 0–10)",
    pain: "Smerte (0–10)",
    pain_short: "Smerte",
    next_exercise: "Næste øvelse",
    to_finish: "Afslut træning",
    finish_title: "Afslut træning",
    general_condition: "Almentilstand i dag",
    conditions: ["Meget dårlig", "Dårlig", "Middel", "God", "Meget god"],
    note: "Bemærkning",
    finish_and_save: "Afslut og gem",
    summary_title: "Træningen er gemt",
    summary_saved: "Gemt på enheden — sendes ved næste synkronisering.",
    sets_word: "sæt",
    back_to_visits: "Tilbage til dagens besøg",
    nco_title: "Træning ikke gennemført",
    nco_reasons: [
        "Borger syg",
        "Borger ønskede ikke",
        "Ikke hjemme",
        "Indlagt",
        "Andet",
    ],
    save: "Gem",
    cancel: "Annuller",
    nco_recorded: "Registreret: træning ikke gennemført.",
    offline: "Offline — ændringer gemt på enheden",
    syncing: "Synkroniserer…",
    synced: "Alt er synkroniseret",
    waiting: da_waiting,
    sync_now: "Synkronisér nu",
    last_sync: "Sidst synkroniseret",
    other_language: "English",
    no_illustration: "Ingen tegning",
    choose_pin_title: "Vælg pinkode",
    repeat_pin_title: "Gentag pinkode",
    choose_pin_hint: "4–6 cifre. Med pinkoden låser du tabletten op — også uden net.",
    pins_differ: "Pinkoderne var ikke ens — vælg igen",
    unlock_title: "Lås op med pinkode",
    wrong_pin: da_wrong_pin,
    sign_in_again:
        "For mange forkerte pinkoder. Log ind igen (kræver net). Intet registreret er gået tabt.",
    lock: "Lås",
    erase: "Slet",
};

pub const EN: Texts = Texts {
    sign_in_title: "Sign in",
    username: "Username",
    password: "Password",
    sign_in: "Sign in",
    signing_in: "Signing in…",
    sign_in_online_hint: "The first time the tablet needs a network. After that it works without.",
    visits_title: "Today's visits",
    visits_empty: "No citizens with training right now.",
    unknown_citizen: "Citizen (not fetched yet)",
    this_week: en_this_week,
    due: "Session due",
    not_due: "This week's sessions done",
    start_session: "Start session",
    not_carried_out: "Not carried out",
    loading: "Loading…",
    exercise_of: en_exercise_of,
    set_done: "Set done",
    sets_progress: en_sets,
    reps: "reps",
    seconds: "s",
    hold: "hold",
    rest: "rest",
    sides: ["", "left side", "right side", "both sides"],
    instructions: "Therapist's instructions",
    how_to: "How to",
    how_did_it_go: "How did it go?",
    outcome_done: "Done",
    outcome_partly: "Partly done",
    outcome_skipped: "Skipped",
    skip_reasons: ["Pain", "Tired", "Citizen declined", "Other"],
    borg: "Exertion (Borg 0–10)",
    pain: "Pain (0–10)",
    pain_short: "Pain",
    next_exercise: "Next exercise",
    to_finish: "Finish session",
    finish_title: "Finish session",
    general_condition: "General condition today",
    conditions: ["Very poor", "Poor", "Fair", "Good", "Very good"],
    note: "Note",
    finish_and_save: "Finish and save",
    summary_title: "Session saved",
    summary_saved: "Saved on this device — sent at the next sync.",
    sets_word: "sets",
    back_to_visits: "Back to today's visits",
    nco_title: "Session not carried out",
    nco_reasons: [
        "Citizen ill",
        "Citizen declined",
        "Not at home",
        "Hospitalised",
        "Other",
    ],
    save: "Save",
    cancel: "Cancel",
    nco_recorded: "Recorded: session not carried out.",
    offline: "Offline — changes saved on this device",
    syncing: "Syncing…",
    synced: "Everything synced",
    waiting: en_waiting,
    sync_now: "Sync now",
    last_sync: "Last synced",
    other_language: "Dansk",
    no_illustration: "No illustration",
    choose_pin_title: "Choose a PIN",
    repeat_pin_title: "Repeat the PIN",
    choose_pin_hint: "4–6 digits. The PIN unlocks the tablet — also without a network.",
    pins_differ: "The PINs were not the same — choose again",
    unlock_title: "Unlock with PIN",
    wrong_pin: en_wrong_pin,
    sign_in_again:
        "Too many wrong PINs. Sign in again (needs a network). Nothing recorded has been lost.",
    lock: "Lock",
    erase: "Erase",
};

/// The language in force, shared through context. `Copy`, so views capture it freely.
#[derive(Clone, Copy)]
pub struct I18n {
    pub lang: RwSignal<Lang>,
}

const STORAGE_KEY: &str = "homerehab.lang";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl I18n {
    /// Danish unless the user chose English on this device before.
    pub fn new() -> Self {
        let saved = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        let lang = if saved.as_deref() == Some("en") {
            Lang::En
        } else {
            Lang::Da
        };
        I18n {
            lang: RwSignal::new(lang),
        }
    }

    /// The texts of the current language (reactive: call it inside a closure).
    pub fn t(self) -> &'static Texts {
        match self.lang.get() {
            Lang::Da => &DA,
            Lang::En => &EN,
        }
    }

    pub fn toggle(self) {
        let next = match self.lang.get_untracked() {
            Lang::Da => Lang::En,
            Lang::En => Lang::Da,
        };
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, next.code());
        }
        self.lang.set(next);
    }
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}
