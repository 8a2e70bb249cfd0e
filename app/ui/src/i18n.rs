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
    /// The page was opened without the app's launch key (browser mode).
    pub launch_key_title: &'static str,
    pub launch_key_text: &'static str,
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
    /// The server needs a newer app: nothing syncs until it is updated.
    pub update_required: &'static str,
    pub server_behind: &'static str,
    pub sync_sign_in_ended: &'static str,
    pub sign_in_again_button: &'static str,
    pub syncing: &'static str,
    pub synced: &'static str,
    pub waiting: fn(u32) -> String,
    /// "N changes refused by the server" in the status bar.
    pub refused: fn(usize) -> String,
    pub refused_why: &'static str,
    /// Under the list of refusals: the changes are not lost.
    pub refused_kept: &'static str,
    /// The kind of refusal: rejected, forbidden, unresolved.
    pub refusal_kinds: [&'static str; 3],
    /// On the affected course or visit.
    pub refused_here: &'static str,
    /// Another user's unsent work kept on the device: (their name, documents).
    pub parked: fn(&str, u32) -> String,
    /// Stored changes kept aside as unreadable.
    pub damaged: fn(u32) -> String,
    /// Courses the municipality erased that left this device (issue #14).
    pub erased_courses: fn(u32) -> String,
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
    pub wrong_password: &'static str,
    pub too_many_attempts: &'static str,
    /// The server is busy with other sign-ins (many tablets at once in the morning).
    pub server_busy: &'static str,
    pub timer_start: &'static str,
    pub timer_done: &'static str,
    /// The label of a timed exercise's countdown.
    pub timed: &'static str,
    /// The therapist's and leader's screens.
    pub th: &'static ThTexts,
}

/// Strings of the therapist's and leader's screens.
pub struct ThTexts {
    pub caseload_tab: &'static str,
    pub caseload_title: &'static str,
    pub caseload_empty: &'static str,
    pub find_citizen: &'static str,
    pub only_flagged: &'static str,
    pub new_course: &'static str,
    pub overview_tab: &'static str,
    pub overview_title: &'static str,
    pub week_of: fn(u32, u32) -> String,
    pub sessions_done_of: fn(u32, u32) -> String,
    pub last_session: &'static str,
    pub no_sessions_yet: &'static str,
    pub flag_no_session: fn(u32) -> String,
    pub flag_low_adherence: fn(u32) -> String,
    pub flag_high_pain: fn(u8) -> String,
    pub flag_conflict: &'static str,
    /// planned, active, paused, completed, ended early
    pub status_names: [&'static str; 5],
    pub who: &'static str,
    pub new_citizen: &'static str,
    pub citizen_name: &'static str,
    pub local_ref: &'static str,
    pub address: &'static str,
    pub assistants_visiting: &'static str,
    pub choose_citizen_first: &'static str,
    pub template: &'static str,
    pub no_template: &'static str,
    pub no_template_hint: &'static str,
    pub template_frame: fn(u32, u32, u32, u32) -> String,
    pub template_sources: &'static str,
    pub frame: &'static str,
    pub frame_text: fn(u32, u32, u32) -> String,
    pub legal_basis: &'static str,
    pub start_date: &'static str,
    pub weeks: &'static str,
    pub per_week: &'static str,
    pub minutes: &'static str,
    pub goals: &'static str,
    pub goals_hint: &'static str,
    pub create_course: &'static str,
    pub history_tab: &'static str,
    pub program_tab: &'static str,
    pub assessments_tab: &'static str,
    pub revision_n: fn(u32) -> String,
    pub revisions_n: fn(usize) -> String,
    pub exercises_n: fn(u32) -> String,
    pub in_progress: &'static str,
    /// A session left in progress on an earlier day.
    pub not_finished: &'static str,
    pub completed: &'static str,
    pub exercise: &'static str,
    pub done_amount: &'static str,
    pub outcome: &'static str,
    pub trends: &'static str,
    pub no_trend_yet: &'static str,
    pub sessions: &'static str,
    /// reps, seconds, kg
    pub amount_labels: [&'static str; 3],
    pub sets: &'static str,
    pub reps: &'static str,
    pub seconds: &'static str,
    pub hold_s: &'static str,
    pub rest_s: &'static str,
    pub load: &'static str,
    pub side: &'static str,
    pub side_none: &'static str,
    pub move_up: &'static str,
    pub move_down: &'static str,
    pub remove: &'static str,
    pub add: &'static str,
    pub any: &'static str,
    pub hits: fn(u32) -> String,
    pub library: &'static str,
    pub search_library: &'static str,
    pub position: &'static str,
    pub equipment: &'static str,
    pub body_area: &'static str,
    pub category: &'static str,
    pub program_empty: &'static str,
    pub change_summary: &'static str,
    pub change_summary_hint: &'static str,
    pub save_program: &'static str,
    pub saved_as_revision: fn(u32) -> String,
    pub conflicts_title: &'static str,
    /// Two revisions saved at once: their summaries, the one the program shows first.
    pub conflict_revisions: fn(&str, &str) -> String,
    pub new_assessment: &'static str,
    pub test: &'static str,
    pub phase: &'static str,
    /// start, midway, end, follow-up
    pub phases: [&'static str; 4],
    pub value: &'static str,
    pub value_needed: &'static str,
    pub date: &'static str,
    pub by: &'static str,
    pub save_assessment: &'static str,
    pub no_assessments: &'static str,
    pub tile_active: &'static str,
    pub tile_planned: &'static str,
    pub tile_completed: &'static str,
    pub tile_sessions: &'static str,
    pub tile_nco: &'static str,
    pub tile_adherence: &'static str,
    pub staff_activity: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    /// assistant, therapist, leader, admin
    pub roles: [&'static str; 4],
    pub sessions_28: &'static str,
    pub courses: &'static str,
    pub own_exercise: &'static str,
    pub difficulty_n: fn(u8) -> String,
    pub show: &'static str,
    pub pick_exercise: &'static str,
    pub new_own_exercise: &'static str,
    pub exercise_title: &'static str,
    pub exercise_summary: &'static str,
    pub exercise_steps: &'static str,
    pub no_equipment: &'static str,
    pub save_exercise: &'static str,
    pub add_media: &'static str,
    pub media_file: &'static str,
    pub choose_file: &'static str,
    pub media_owner: &'static str,
    pub media_owner_hint: &'static str,
    pub shows_person: &'static str,
    pub consent_who: &'static str,
    pub consent_date: &'static str,
    pub consent_scope: &'static str,
    pub consent_scope_hint: &'static str,
    pub upload: &'static str,
    pub media_uploaded: &'static str,
    pub withdraw: &'static str,
    pub withdraw_confirm: &'static str,
    pub save_as_template: &'static str,
    pub template_title: &'static str,
    pub template_saved: &'static str,
    pub media_on_device: fn(&str, &str) -> String,
    pub fetch_media_now: &'static str,
    pub media_missing: &'static str,
    pub start_course: &'static str,
    pub pause_course: &'static str,
    pub resume_course: &'static str,
    pub complete_course: &'static str,
    pub change_frame: &'static str,
    pub change_frame_hint: &'static str,
    pub save_frame: &'static str,
    pub end_course_early: &'static str,
    pub why_ended: &'static str,
    pub end_note: &'static str,
    pub cancel_end: &'static str,
}

pub const DA_TH: ThTexts = ThTexts {
    caseload_tab: "Forløb",
    caseload_title: "Forløb",
    caseload_empty: "Ingen forløb endnu.",
    find_citizen: "Find borger",
    only_flagged: "Kun med advarsler",
    new_course: "Nyt forløb",
    overview_tab: "Overblik",
    overview_title: "Overblik",
    week_of: |w, of| format!("Uge {w} af {of}"),
    sessions_done_of: |d, of| {
        if of == 0 {
            format!("{d} træninger")
        } else {
            format!("{d} af {of} træninger")
        }
    },
    last_session: "Seneste træning",
    no_sessions_yet: "Ingen træninger endnu",
    flag_no_session: |d| format!("Ingen træning i {d} dage"),
    flag_low_adherence: |p| format!("Lav gennemførelse {p} %"),
    flag_high_pain: |p| format!("Smerte {p}/10"),
    flag_conflict: "Programmet blev ændret to steder",
    status_names: ["Planlagt", "Aktivt", "På pause", "Afsluttet", "Afbrudt"],
    who: "Borger",
    new_citizen: "Ny borger",
    citizen_name: "Navn",
    local_ref: "Sagsnummer (ikke CPR)",
    address: "Adresse",
    assistants_visiting: "Hvem træner med borgeren?",
    choose_citizen_first: "Vælg en borger først.",
    template: "Skabelon",
    no_template: "Uden skabelon",
    no_template_hint: "Start med et tomt program",
    template_frame: |w, s, m, n| format!("{w} uger · {s}×/uge · {m} min · {n} øvelser"),
    template_sources: "Kilder",
    frame: "Rammer",
    frame_text: |w, s, m| format!("{w} uger · {s}×/uge · {m} min"),
    legal_basis: "Lovgrundlag",
    start_date: "Startdato",
    weeks: "Uger",
    per_week: "Træninger pr. uge",
    minutes: "Minutter pr. træning",
    goals: "Mål",
    goals_hint: "Ét mål pr. linje, fx »Kan selv rejse sig fra stol«",
    create_course: "Opret forløb",
    history_tab: "Historik",
    program_tab: "Program",
    assessments_tab: "Målinger",
    revision_n: |n| format!("Revision {n}"),
    revisions_n: |n| format!("{n} revisioner"),
    exercises_n: |n| format!("{n} øvelser"),
    in_progress: "I gang",
    not_finished: "Ikke afsluttet",
    completed: "Gennemført",
    exercise: "Øvelse",
    done_amount: "Udført",
    outcome: "Resultat",
    trends: "Udvikling pr. øvelse",
    no_trend_yet: "Ingen træninger at vise endnu.",
    sessions: "Træninger",
    amount_labels: [
        "Gentagelser i alt",
        "Sekunder i alt",
        "Største belastning (kg)",
    ],
    sets: "Sæt",
    reps: "Gentagelser",
    seconds: "Sekunder",
    hold_s: "Hold, sek.",
    rest_s: "Pause, sek.",
    load: "Belastning",
    side: "Side",
    side_none: "–",
    move_up: "Flyt op",
    move_down: "Flyt ned",
    remove: "Fjern",
    add: "Tilføj",
    any: "Alle",
    hits: |n| format!("{n} øvelser"),
    library: "Øvelsesbibliotek",
    search_library: "Søg øvelse, fx »rejse« eller »balance«",
    position: "Stilling",
    equipment: "Udstyr",
    body_area: "Kropsområde",
    category: "Type",
    program_empty: "Programmet er tomt: tilføj øvelser fra biblioteket.",
    change_summary: "Hvad er ændret?",
    change_summary_hint: "Fx »Øget til 3 sæt, ny balanceøvelse«",
    save_program: "Gem program",
    saved_as_revision: |n| format!("Gemt som revision {n}"),
    conflicts_title: "Ændret samtidig på to enheder — tjek disse felter:",
    conflict_revisions: |a, b| {
        format!("Programmet blev gemt to steder samtidig («{a}» og «{b}»): tjek øvelserne og gem det, der skal gælde")
    },
    new_assessment: "Ny måling",
    test: "Test",
    phase: "Tidspunkt",
    phases: ["Start", "Midtvejs", "Slut", "Opfølgning"],
    value: "Resultat",
    value_needed: "Skriv et tal som resultat.",
    date: "Dato",
    by: "Målt af",
    save_assessment: "Gem måling",
    no_assessments: "Ingen målinger endnu.",
    tile_active: "Aktive forløb",
    tile_planned: "Planlagte forløb",
    tile_completed: "Afsluttede forløb",
    tile_sessions: "Træninger, 28 dage",
    tile_nco: "Ikke gennemført, 28 dage",
    tile_adherence: "Gennemførelse",
    staff_activity: "Medarbejdere",
    name: "Navn",
    role: "Rolle",
    roles: ["Assistent", "Terapeut", "Leder", "Administrator"],
    sessions_28: "Træninger, 28 dage",
    courses: "Forløb",
    own_exercise: "Kommunens egen",
    difficulty_n: |n| format!("Sværhedsgrad {n} af 5"),
    show: "Vis",
    pick_exercise: "Vælg en øvelse for at se den.",
    new_own_exercise: "Ny øvelse i kommunens bibliotek",
    exercise_title: "Titel",
    exercise_summary: "Kort beskrivelse",
    exercise_steps: "Sådan gør du (ét trin pr. linje)",
    no_equipment: "Intet udstyr",
    save_exercise: "Gem øvelse",
    add_media: "Foto eller video",
    media_file: "Fil (JPEG, PNG, WebP, MP4, WebM)",
    choose_file: "Vælg en fil først.",
    media_owner: "Rettighedshaver",
    media_owner_hint: "Fx Thisted Kommune",
    shows_person: "Der kan genkendes en person",
    consent_who: "Samtykke givet af",
    consent_date: "Samtykke dato",
    consent_scope: "Samtykket dækker",
    consent_scope_hint: "Fx »intern brug i kommunen«",
    upload: "Upload",
    media_uploaded: "Gemt — tabletterne henter den, når de har net.",
    withdraw: "Træk tilbage",
    withdraw_confirm: "Træk tilbage for hele kommunen? Det kan ikke fortrydes.",
    save_as_template: "Gem som kommunens skabelon",
    template_title: "Skabelonens navn",
    template_saved: "Skabelonen er gemt og deles med kommunens terapeuter.",
    media_on_device: |held, budget| format!("Billeder og video på tabletten: {held} af {budget}"),
    fetch_media_now: "Hent billeder og video nu",
    media_missing: "Ikke hentet endnu",
    start_course: "Start forløbet",
    pause_course: "Sæt på pause",
    resume_course: "Genoptag",
    complete_course: "Afslut forløbet",
    change_frame: "Ret længde og omfang",
    change_frame_hint: "Kortere, hvis borgeren klarer sig selv før tid; længere eller oftere, hvis der er brug for det. Sluttestens tidspunkt flytter med, og et nyt antal træninger om ugen gælder hele forløbet.",
    save_frame: "Gem ramme",
    end_course_early: "Afbryd forløbet",
    why_ended: "Hvorfor afbrydes forløbet?",
    end_note: "Uddybning (valgfri, skal udfyldes ved Andet)",
    cancel_end: "Fortryd",
};

pub const EN_TH: ThTexts = ThTexts {
    caseload_tab: "Courses",
    caseload_title: "Courses",
    caseload_empty: "No courses yet.",
    find_citizen: "Find citizen",
    only_flagged: "Flagged only",
    new_course: "New course",
    overview_tab: "Overview",
    overview_title: "Overview",
    week_of: |w, of| format!("Week {w} of {of}"),
    sessions_done_of: |d, of| {
        if of == 0 {
            format!("{d} sessions")
        } else {
            format!("{d} of {of} sessions")
        }
    },
    last_session: "Last session",
    no_sessions_yet: "No sessions yet",
    flag_no_session: |d| format!("No session for {d} days"),
    flag_low_adherence: |p| format!("Low adherence {p} %"),
    flag_high_pain: |p| format!("Pain {p}/10"),
    flag_conflict: "Program changed in two places",
    status_names: ["Planned", "Active", "Paused", "Completed", "Ended early"],
    who: "Citizen",
    new_citizen: "New citizen",
    citizen_name: "Name",
    local_ref: "Case number (not CPR)",
    address: "Address",
    assistants_visiting: "Who trains with the citizen?",
    choose_citizen_first: "Choose a citizen first.",
    template: "Template",
    no_template: "No template",
    no_template_hint: "Start with an empty program",
    template_frame: |w, s, m, n| format!("{w} weeks · {s}×/week · {m} min · {n} exercises"),
    template_sources: "Sources",
    frame: "Frame",
    frame_text: |w, s, m| format!("{w} weeks · {s}×/week · {m} min"),
    legal_basis: "Legal basis",
    start_date: "Start date",
    weeks: "Weeks",
    per_week: "Sessions per week",
    minutes: "Minutes per session",
    goals: "Goals",
    goals_hint: "One goal per line, e.g. “Gets up from a chair unaided”",
    create_course: "Create course",
    history_tab: "History",
    program_tab: "Program",
    assessments_tab: "Assessments",
    revision_n: |n| format!("Revision {n}"),
    revisions_n: |n| format!("{n} revisions"),
    exercises_n: |n| format!("{n} exercises"),
    in_progress: "In progress",
    not_finished: "Not finished",
    completed: "Completed",
    exercise: "Exercise",
    done_amount: "Done",
    outcome: "Outcome",
    trends: "Progress per exercise",
    no_trend_yet: "No sessions to show yet.",
    sessions: "Sessions",
    amount_labels: ["Total reps", "Total seconds", "Highest load (kg)"],
    sets: "Sets",
    reps: "Reps",
    seconds: "Seconds",
    hold_s: "Hold (s)",
    rest_s: "Rest (s)",
    load: "Load",
    side: "Side",
    side_none: "–",
    move_up: "Move up",
    move_down: "Move down",
    remove: "Remove",
    add: "Add",
    any: "Any",
    hits: |n| format!("{n} exercises"),
    library: "Exercise library",
    search_library: "Search, e.g. “stand” or “balance”",
    position: "Position",
    equipment: "Equipment",
    body_area: "Body area",
    category: "Type",
    program_empty: "The program is empty: add exercises from the library.",
    change_summary: "What changed?",
    change_summary_hint: "E.g. “Up to 3 sets, new balance exercise”",
    save_program: "Save program",
    saved_as_revision: |n| format!("Saved as revision {n}"),
    conflicts_title: "Changed at the same time on two devices — check these fields:",
    conflict_revisions: |a, b| {
        format!("The program was saved in two places at once (“{a}” and “{b}”): check the exercises and save what should apply")
    },
    new_assessment: "New assessment",
    test: "Test",
    phase: "When",
    phases: ["Start", "Midway", "End", "Follow-up"],
    value: "Result",
    value_needed: "Enter a number as the result.",
    date: "Date",
    by: "Measured by",
    save_assessment: "Save assessment",
    no_assessments: "No assessments yet.",
    tile_active: "Active courses",
    tile_planned: "Planned courses",
    tile_completed: "Completed courses",
    tile_sessions: "Sessions, 28 days",
    tile_nco: "Not carried out, 28 days",
    tile_adherence: "Adherence",
    staff_activity: "Staff",
    name: "Name",
    role: "Role",
    roles: ["Assistant", "Therapist", "Leader", "Administrator"],
    sessions_28: "Sessions, 28 days",
    courses: "Courses",
    own_exercise: "Municipality's own",
    difficulty_n: |n| format!("Difficulty {n} of 5"),
    show: "Show",
    pick_exercise: "Choose an exercise to see it.",
    new_own_exercise: "New exercise in the municipality's library",
    exercise_title: "Title",
    exercise_summary: "Short description",
    exercise_steps: "How to (one step per line)",
    no_equipment: "No equipment",
    save_exercise: "Save exercise",
    add_media: "Photo or video",
    media_file: "File (JPEG, PNG, WebP, MP4, WebM)",
    choose_file: "Choose a file first.",
    media_owner: "Rights holder",
    media_owner_hint: "E.g. Thisted Kommune",
    shows_person: "A person can be recognised",
    consent_who: "Consent given by",
    consent_date: "Consent date",
    consent_scope: "Consent covers",
    consent_scope_hint: "E.g. “internal use in the municipality”",
    upload: "Upload",
    media_uploaded: "Saved — the tablets fetch it when they are online.",
    withdraw: "Withdraw",
    withdraw_confirm: "Withdraw for the whole municipality? This cannot be undone.",
    save_as_template: "Save as the municipality's template",
    template_title: "Template name",
    template_saved: "The template is saved and shared with the municipality's therapists.",
    media_on_device: |held, budget| format!("Photos and video on the tablet: {held} of {budget}"),
    fetch_media_now: "Fetch photos and video now",
    media_missing: "Not fetched yet",
    start_course: "Start the course",
    pause_course: "Pause",
    resume_course: "Resume",
    complete_course: "Complete the course",
    change_frame: "Change length and scope",
    change_frame_hint: "Shorter if the citizen manages on their own sooner; longer or more often if they need it. The end tests move with it, and a new number of sessions a week counts for the whole course.",
    save_frame: "Save the frame",
    end_course_early: "End the course early",
    why_ended: "Why does the course end early?",
    end_note: "Details (optional; needed for Other)",
    cancel_end: "Cancel",
};

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

fn da_refused(n: usize) -> String {
    if n == 1 {
        "1 ændring afvist af serveren".into()
    } else {
        format!("{n} ændringer afvist af serveren")
    }
}

fn en_refused(n: usize) -> String {
    if n == 1 {
        "1 change refused by the server".into()
    } else {
        format!("{n} changes refused by the server")
    }
}

fn da_parked(who: &str, n: u32) -> String {
    let docs = if n == 1 {
        "1 dokument".to_string()
    } else {
        format!("{n} dokumenter")
    };
    format!("{who}s ikke-sendte arbejde ({docs}) er gemt her og sendes, når {who} logger ind igen.")
}

fn en_parked(who: &str, n: u32) -> String {
    let docs = if n == 1 {
        "1 document".to_string()
    } else {
        format!("{n} documents")
    };
    format!("{who}'s unsent work ({docs}) is kept here and is sent when {who} signs in again.")
}

fn da_erased_courses(n: u32) -> String {
    if n == 1 {
        "1 forløb er slettet efter kommunens beslutning.".into()
    } else {
        format!("{n} forløb er slettet efter kommunens beslutning.")
    }
}

fn en_erased_courses(n: u32) -> String {
    if n == 1 {
        "1 course was erased by the municipality's decision.".into()
    } else {
        format!("{n} courses were erased by the municipality's decision.")
    }
}

fn da_damaged(n: u32) -> String {
    format!(
        "{n} beskadigede ændringer er lagt til side uden tab. Kontakt support (export-support)."
    )
}

fn en_damaged(n: u32) -> String {
    format!("{n} damaged changes were set aside, nothing lost. Contact support (export-support).")
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
    launch_key_title: "Åbn Homerehab fra appens eget link",
    launch_key_text: "Denne side blev ikke åbnet fra den adresse, Homerehab viste, da den startede. Adressen indeholder en nøgle, så ingen andre på denne computer kan se borgernes data. Luk siden og åbn Homerehab igen fra genvejen eller adressen.",
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
    update_required: "Opdatér appen for at synkronisere — ændringer gemt på enheden",
    server_behind: "Serveren opdateres — ændringer gemt på enheden",
    sync_sign_in_ended: "Log ind igen for at sende — ændringer gemt på enheden",
    sign_in_again_button: "Log ind igen",
    syncing: "Synkroniserer…",
    synced: "Alt er synkroniseret",
    waiting: da_waiting,
    refused: da_refused,
    refused_why: "Hvorfor?",
    refused_kept:
        "Ændringerne er gemt på enheden og går ikke tabt. Kontakt din leder eller terapeut.",
    refusal_kinds: [
        "Serveren afviste ændringerne",
        "Du har ikke adgang til dette forløb",
        "Serveren kunne ikke modtage hele dokumentet",
    ],
    refused_here: "Serveren afviste ændringer her. De er gemt på enheden.",
    parked: da_parked,
    erased_courses: da_erased_courses,
    damaged: da_damaged,
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
    wrong_password: "Forkert brugernavn eller adgangskode",
    too_many_attempts: "For mange forkerte adgangskoder. Prøv igen om et kvarter.",
    server_busy: "Serveren har travlt med andre, der logger ind. Prøv igen om et øjeblik.",
    timer_start: "Start",
    timer_done: "Færdig",
    timed: "Tid",
    th: &DA_TH,
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
    launch_key_title: "Open Homerehab from the app's own link",
    launch_key_text: "This page was not opened from the address Homerehab showed when it started. That address holds a key, so no one else on this computer can see the citizens' data. Close this page and open Homerehab again from its shortcut or address.",
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
    update_required: "Update the app to sync — changes saved on this device",
    server_behind: "The server is being updated — changes saved on this device",
    sync_sign_in_ended: "Sign in again to send — changes saved on this device",
    sign_in_again_button: "Sign in again",
    syncing: "Syncing…",
    synced: "Everything synced",
    waiting: en_waiting,
    refused: en_refused,
    refused_why: "Why?",
    refused_kept:
        "The changes are kept on this device and are not lost. Contact your leader or therapist.",
    refusal_kinds: [
        "The server refused the changes",
        "You do not have access to this course",
        "The server could not take the whole document",
    ],
    refused_here: "The server refused changes here. They are kept on this device.",
    parked: en_parked,
    erased_courses: en_erased_courses,
    damaged: en_damaged,
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
    wrong_password: "Wrong username or password",
    too_many_attempts: "Too many wrong passwords. Try again in a quarter of an hour.",
    server_busy: "The server is busy signing others in. Try again in a moment.",
    timer_start: "Start",
    timer_done: "Done",
    timed: "Time",
    th: &EN_TH,
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

// #11 intake ---------------------------------------------------------------------------------
// Referral, screening, care-time import and the follow-up worklist. Kept in one block (and
// reached through `I18n::intake`, not a field of `Texts`) so parallel edits of this file merge.

/// Strings of the referral, screening, care-time and follow-up screens.
pub struct IntakeTexts {
    pub referrals_tab: &'static str,
    pub referrals_title: &'static str,
    pub referrals_empty: &'static str,
    pub refer: &'static str,
    pub refer_title: &'static str,
    pub referred_on: &'static str,
    pub referral_note: &'static str,
    pub referred_by: &'static str,
    pub save_referral: &'static str,
    pub choose_citizen: &'static str,
    /// awaiting screening, included, not included, course created
    pub statuses: [&'static str; 4],
    pub screen: &'static str,
    pub open_course: &'static str,
    pub create_course_for: &'static str,
    pub screening_title: fn(&str) -> String,
    pub screening_hint: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub include: &'static str,
    pub not_include: &'static str,
    pub reason: &'static str,
    pub choose_reason: &'static str,
    pub reason_required: &'static str,
    pub answer_all: &'static str,
    pub screened_by: fn(&str, &str) -> String,
    pub from_referral: fn(&str) -> String,
    pub birth_year: &'static str,
    pub sex: &'static str,
    pub sex_unknown: &'static str,
    pub female: &'static str,
    pub male: &'static str,
    pub care_tab: &'static str,
    pub care_title: &'static str,
    pub care_file: &'static str,
    pub care_file_hint: &'static str,
    pub choice_title: &'static str,
    pub choice_good: &'static str,
    pub choice_good_hint: &'static str,
    pub choice_all: &'static str,
    pub choice_all_hint: &'static str,
    pub import: &'static str,
    pub choose_csv_first: &'static str,
    /// reading, checking, saving, done
    pub phases: [&'static str; 4],
    pub lines_progress: fn(u64, Option<u64>) -> String,
    pub report_title: &'static str,
    pub imported_n: fn(u32) -> String,
    pub present_n: fn(usize) -> String,
    pub nothing_new: &'static str,
    pub nothing_applied: &'static str,
    pub duplicates_n: fn(usize) -> String,
    pub duplicate_of: fn(u64, u64) -> String,
    pub bad_n: fn(usize) -> String,
    pub not_listed_n: fn(u64) -> String,
    pub line_n: fn(u64) -> String,
    pub problem: fn(&str, Option<&str>) -> String,
    pub add_grant: &'static str,
    pub grant_effective: &'static str,
    pub grant_minutes: &'static str,
    pub grant_service: &'static str,
    pub grant_saved: &'static str,
    pub grants_title: &'static str,
    pub follow_ups_tab: &'static str,
    pub follow_ups_title: &'static str,
    pub follow_ups_empty: &'static str,
    pub offset: fn(u32) -> String,
    /// upcoming, due, recorded
    pub follow_up_statuses: [&'static str; 3],
    /// citizen, follow-up, date, status, home-care time
    pub follow_up_columns: [&'static str; 5],
    pub minutes_week: fn(u32) -> String,
    pub funnel_title: &'static str,
    /// referred, awaiting, included, not included, courses created, completed, ended early
    pub funnel_labels: [&'static str; 7],
    pub not_in_file_n: fn(usize) -> String,
    pub not_in_file_hint: &'static str,
    pub follow_up_on: fn(&str) -> String,
    pub had_minutes: fn(u32) -> String,
    pub ended_on: &'static str,
    pub care_ended: &'static str,
    pub care_ended_saved: fn(&str) -> String,
    pub choose_end_day: &'static str,
    pub no_end_day: &'static str,
    pub end_day_refused: &'static str,
    pub ended_since: fn(&str) -> String,
    pub still_ended: &'static str,
    pub still_ended_saved: &'static str,
}

fn da_screening_title(name: &str) -> String {
    format!("Screening af {name}")
}
fn en_screening_title(name: &str) -> String {
    format!("Screening of {name}")
}
fn da_screened_by(by: &str, on: &str) -> String {
    format!("Screenet af {by} den {on}")
}
fn en_screened_by(by: &str, on: &str) -> String {
    format!("Screened by {by} on {on}")
}
fn da_from_referral(name: &str) -> String {
    format!("Forløb ud fra henvisningen af {name}")
}
fn en_from_referral(name: &str) -> String {
    format!("Course from the referral of {name}")
}
fn da_lines_progress(done: u64, total: Option<u64>) -> String {
    match total {
        Some(t) => format!("{done} af {t} linjer"),
        None => format!("{done} linjer"),
    }
}
fn en_lines_progress(done: u64, total: Option<u64>) -> String {
    match total {
        Some(t) => format!("{done} of {t} lines"),
        None => format!("{done} lines"),
    }
}
fn da_imported(n: u32) -> String {
    match n {
        1 => "1 ny bevilling importeret".to_string(),
        n => format!("{n} nye bevillinger importeret"),
    }
}
fn en_imported(n: u32) -> String {
    match n {
        1 => "1 new grant imported".to_string(),
        n => format!("{n} new grants imported"),
    }
}
fn da_present(n: usize) -> String {
    match n {
        1 => "1 linje var allerede importeret og ændrer intet".to_string(),
        n => format!("{n} linjer var allerede importeret og ændrer intet"),
    }
}
fn en_present(n: usize) -> String {
    match n {
        1 => "1 line was imported already and changes nothing".to_string(),
        n => format!("{n} lines were imported already and change nothing"),
    }
}
fn da_duplicates(n: usize) -> String {
    match n {
        1 => "1 linje stod der to gange (importeret én gang)".to_string(),
        n => format!("{n} linjer stod der to gange (importeret én gang)"),
    }
}
fn en_duplicates(n: usize) -> String {
    match n {
        1 => "1 line appeared twice (imported once)".to_string(),
        n => format!("{n} lines appeared twice (imported once)"),
    }
}
fn da_duplicate_of(line: u64, same: u64) -> String {
    format!("Linje {line} er magen til linje {same}")
}
fn en_duplicate_of(line: u64, same: u64) -> String {
    format!("Line {line} is the same as line {same}")
}
fn da_bad(n: usize) -> String {
    match n {
        1 => "1 linje kunne ikke importeres".to_string(),
        n => format!("{n} linjer kunne ikke importeres"),
    }
}
fn en_bad(n: usize) -> String {
    match n {
        1 => "1 line could not be imported".to_string(),
        n => format!("{n} lines could not be imported"),
    }
}
fn da_line(n: u64) -> String {
    format!("Linje {n}")
}
fn en_line(n: u64) -> String {
    format!("Line {n}")
}
/// A bad line's problem (`BadLineView::problem`, see `shared::effect::import::LineProblem`).
fn da_problem(problem: &str, detail: Option<&str>) -> String {
    let d = detail.unwrap_or("");
    match problem {
        "malformed" => "Linjen kan ikke læses (forkert antal felter eller tegn)".to_string(),
        "missing_citizen_ref" => "Borgerreference mangler".to_string(),
        "bad_date" => format!("Datoen «{d}» er ikke en gyldig dato (DD-MM-ÅÅÅÅ)"),
        "bad_number" => format!("«{d}» er ikke et helt antal minutter"),
        "negative_minutes" => format!("Minuttallet «{d}» er negativt"),
        "too_many_minutes" => format!("«{d}» minutter er mere end en uge har"),
        "unknown_citizen" => format!("Ingen borger har referencen «{d}»"),
        "ambiguous_citizen" => format!(
            "Flere borgere har referencen «{d}»; ret den i borgerlisten, så linjen kan placeres"
        ),
        "unclosed_quote" => format!(
            "Et anførselstegn på linje {d} lukkes ikke, så linjerne derfra blev læst som én; ret filen"
        ),
        "long_service_code" => format!("Ydelseskoden «{d}» er længere end 40 tegn"),
        "conflicts_with_line" => {
            format!("Samme borger, dato og ydelse som linje {d}, men andre minutter")
        }
        "conflicts_with_stored" => format!(
            "Samme borger, dato og ydelse er allerede gemt med {d} minutter; ret det i omsorgssystemet"
        ),
        other => format!("Fejl: {other} {d}"),
    }
}
fn en_problem(problem: &str, detail: Option<&str>) -> String {
    let d = detail.unwrap_or("");
    match problem {
        "malformed" => "The line cannot be read (wrong number of fields or characters)".to_string(),
        "missing_citizen_ref" => "The citizen reference is missing".to_string(),
        "bad_date" => format!("“{d}” is not a valid date (DD-MM-YYYY)"),
        "bad_number" => format!("“{d}” is not a whole number of minutes"),
        "negative_minutes" => format!("The minutes “{d}” are negative"),
        "too_many_minutes" => format!("“{d}” minutes is more than a week has"),
        "unknown_citizen" => format!("No citizen has the reference “{d}”"),
        "ambiguous_citizen" => format!(
            "Several citizens have the reference “{d}”; correct it in the citizen list so the line can be placed"
        ),
        "unclosed_quote" => format!(
            "A quote on line {d} is not closed, so the lines from there were read as one; correct the file"
        ),
        "long_service_code" => format!("The service code “{d}” is longer than 40 characters"),
        "conflicts_with_line" => {
            format!("Same citizen, date and service as line {d}, but other minutes")
        }
        "conflicts_with_stored" => format!(
            "Same citizen, date and service already stored with {d} minutes; correct it in the care record system"
        ),
        other => format!("Error: {other} {d}"),
    }
}
fn da_offset(days: u32) -> String {
    match days {
        365 => "1 år".to_string(),
        d => format!("{d} dage"),
    }
}
fn en_offset(days: u32) -> String {
    match days {
        365 => "1 year".to_string(),
        d => format!("{d} days"),
    }
}
fn da_minutes_week(m: u32) -> String {
    format!("{m} min/uge")
}
fn en_minutes_week(m: u32) -> String {
    format!("{m} min/week")
}

pub const DA_INTAKE: IntakeTexts = IntakeTexts {
    referrals_tab: "Henvisninger",
    referrals_title: "Henvisninger",
    referrals_empty: "Ingen henviste borgere endnu.",
    refer: "Henvis borger",
    refer_title: "Ny henvisning",
    referred_on: "Henvist den",
    referral_note: "Note (valgfri)",
    referred_by: "Henvist af",
    save_referral: "Gem henvisningen",
    choose_citizen: "Vælg borgeren",
    statuses: ["Afventer screening", "Inkluderet", "Ikke inkluderet", "Forløb oprettet"],
    screen: "Screen",
    open_course: "Åbn forløbet",
    create_course_for: "Opret forløb",
    screening_title: da_screening_title,
    screening_hint: "Svar ja eller nej til hvert kriterium.",
    yes: "Ja",
    no: "Nej",
    include: "Inkluder",
    not_include: "Ikke inkluderet",
    reason: "Begrundelse",
    choose_reason: "Vælg begrundelse…",
    reason_required: "Vælg en begrundelse, før borgeren kan registreres som ikke inkluderet.",
    answer_all: "Svar på alle kriterier først.",
    screened_by: da_screened_by,
    from_referral: da_from_referral,
    birth_year: "Fødselsår (valgfrit)",
    sex: "Køn (valgfrit)",
    sex_unknown: "Ikke oplyst",
    female: "Kvinde",
    male: "Mand",
    care_tab: "Hjemmeplejetid",
    care_title: "Hjemmeplejetid",
    care_file: "CSV-fil fra omsorgssystemet",
    care_file_hint: "Borgerreference; virkningsdato; minutter pr. uge; ydelseskode (valgfri).",
    choice_title: "Hvis nogle linjer har fejl:",
    choice_good: "Importer de gode linjer",
    choice_good_hint: "De gode linjer gemmes; linjer med fejl vises nedenfor, så de kan rettes og importeres igen.",
    choice_all: "Alt eller intet",
    choice_all_hint: "Intet gemmes, hvis blot én linje har fejl.",
    import: "Importer",
    choose_csv_first: "Vælg en CSV-fil først.",
    phases: ["Læser filen", "Kontrollerer linjerne", "Gemmer", "Færdig"],
    lines_progress: da_lines_progress,
    report_title: "Resultat af importen",
    imported_n: da_imported,
    present_n: da_present,
    nothing_new: "Intet nyt: filen var allerede importeret, så intet er ændret.",
    nothing_applied: "Intet er gemt (alt eller intet, og der var fejl).",
    duplicates_n: da_duplicates,
    duplicate_of: da_duplicate_of,
    bad_n: da_bad,
    not_listed_n: |n| format!("… og {n} linjer mere. Ret filen, og importér den igen."),
    line_n: da_line,
    problem: da_problem,
    add_grant: "Tilføj bevilling",
    grant_effective: "Virkningsdato",
    grant_minutes: "Minutter pr. uge",
    grant_service: "Ydelseskode (valgfri)",
    grant_saved: "Bevillingen er gemt.",
    grants_title: "Bevillinger",
    follow_ups_tab: "Opfølgning",
    follow_ups_title: "Opfølgning på hjemmeplejetid",
    follow_ups_empty: "Ingen opfølgninger endnu.",
    offset: da_offset,
    follow_up_statuses: ["Kommende", "Skal følges op", "Registreret"],
    follow_up_columns: ["Borger", "Opfølgning", "Dato", "Status", "Hjemmeplejetid"],
    minutes_week: da_minutes_week,
    funnel_title: "Fra henvisning til forløb",
    funnel_labels: [
        "Henvist",
        "Afventer screening",
        "Inkluderet",
        "Ikke inkluderet",
        "Forløb oprettet",
        "Gennemført",
        "Afbrudt",
    ],
    not_in_file_n: |n| match n {
        1 => "1 borger, der venter på opfølgning af hjemmeplejetid, er ikke i filen".to_string(),
        n => format!("{n} borgere, der venter på opfølgning af hjemmeplejetid, er ikke i filen"),
    },
    not_in_file_hint: "Udtrækket nævner kun borgere, der får hjemmepleje. Er en borgers hjemmepleje ophørt, så angiv dagen – så tæller opfølgningen med i effekten. Ikke hvis borgeren er død eller flyttet. Ellers venter den på næste fil.",
    follow_up_on: |d| format!("Opfølgning {}", crate::pages::referrals::danish_date(d)),
    had_minutes: |m| format!("havde {m} min/uge"),
    ended_on: "Hjemmepleje ophørt den",
    care_ended: "Hjemmepleje ophørt",
    care_ended_saved: |d| format!("Registreret: 0 min/uge fra {}", crate::pages::referrals::danish_date(d)),
    choose_end_day: "Vælg dagen, hjemmeplejen ophørte, i det viste interval (efter sidste registrering og senest på opfølgningsdagen).",
    no_end_day: "Ingen dag kan vælges: en bevilling af minutter træder i kraft efter opfølgningsdagen. Ret den i omsorgssystemet, og indlæs filen igen.",
    end_day_refused: "Dagen kan ikke længere registreres: borgerens bevillinger eller forløb er ændret, siden listen blev vist. Indlæs filen igen.",
    ended_since: |d| format!("Hjemmepleje ophørt {} (registreret)", crate::pages::referrals::danish_date(d)),
    still_ended: "Stadig uden hjemmepleje",
    still_ended_saved: "Registreret: stadig uden hjemmepleje.",
};

pub const EN_INTAKE: IntakeTexts = IntakeTexts {
    referrals_tab: "Referrals",
    referrals_title: "Referrals",
    referrals_empty: "No referred citizens yet.",
    refer: "Refer citizen",
    refer_title: "New referral",
    referred_on: "Referred on",
    referral_note: "Note (optional)",
    referred_by: "Referred by",
    save_referral: "Save the referral",
    choose_citizen: "Choose the citizen",
    statuses: [
        "Awaiting screening",
        "Included",
        "Not included",
        "Course created",
    ],
    screen: "Screen",
    open_course: "Open the course",
    create_course_for: "Create course",
    screening_title: en_screening_title,
    screening_hint: "Answer yes or no to each criterion.",
    yes: "Yes",
    no: "No",
    include: "Include",
    not_include: "Not included",
    reason: "Reason",
    choose_reason: "Choose a reason…",
    reason_required: "Choose a reason before recording the citizen as not included.",
    answer_all: "Answer every criterion first.",
    screened_by: en_screened_by,
    from_referral: en_from_referral,
    birth_year: "Birth year (optional)",
    sex: "Sex (optional)",
    sex_unknown: "Not given",
    female: "Female",
    male: "Male",
    care_tab: "Home-care time",
    care_title: "Home-care time",
    care_file: "CSV file from the care record system",
    care_file_hint: "Citizen reference; effective date; minutes per week; service code (optional).",
    choice_title: "If some lines have errors:",
    choice_good: "Import the good lines",
    choice_good_hint:
        "The good lines are saved; lines with errors are listed below to correct and import again.",
    choice_all: "All or nothing",
    choice_all_hint: "Nothing is saved if even one line has an error.",
    import: "Import",
    choose_csv_first: "Choose a CSV file first.",
    phases: ["Reading the file", "Checking the lines", "Saving", "Done"],
    lines_progress: en_lines_progress,
    report_title: "Result of the import",
    imported_n: en_imported,
    present_n: en_present,
    nothing_new: "Nothing new: the file was imported already, so nothing changed.",
    nothing_applied: "Nothing was saved (all or nothing, and there were errors).",
    duplicates_n: en_duplicates,
    duplicate_of: en_duplicate_of,
    bad_n: en_bad,
    not_listed_n: |n| format!("… and {n} more lines. Correct the file and import it again."),
    line_n: en_line,
    problem: en_problem,
    add_grant: "Add grant",
    grant_effective: "Effective date",
    grant_minutes: "Minutes per week",
    grant_service: "Service code (optional)",
    grant_saved: "The grant is saved.",
    grants_title: "Grants",
    follow_ups_tab: "Follow-up",
    follow_ups_title: "Home-care time follow-up",
    follow_ups_empty: "No follow-ups yet.",
    offset: en_offset,
    follow_up_statuses: ["Upcoming", "Due", "Recorded"],
    follow_up_columns: ["Citizen", "Follow-up", "Date", "Status", "Home-care time"],
    minutes_week: en_minutes_week,
    funnel_title: "From referral to course",
    funnel_labels: [
        "Referred",
        "Awaiting screening",
        "Included",
        "Not included",
        "Courses created",
        "Completed",
        "Ended early",
    ],
    not_in_file_n: |n| match n {
        1 => "1 citizen waiting for a home-care time follow-up is not in the file".to_string(),
        n => format!("{n} citizens waiting for a home-care time follow-up are not in the file"),
    },
    not_in_file_hint: "The export names only citizens who receive home care. If a citizen's home care has ended, give the day, and the follow-up counts in the effect. Not if the citizen died or moved. Otherwise it waits for the next file.",
    follow_up_on: |d| format!("Follow-up {d}"),
    had_minutes: |m| format!("had {m} min/week"),
    ended_on: "Home care ended on",
    care_ended: "Home care ended",
    care_ended_saved: |d| format!("Recorded: 0 min/week from {d}"),
    choose_end_day: "Choose the day home care ended within the range shown (after the last recording, on the follow-up day at the latest).",
    no_end_day: "No day can be chosen: a grant of minutes takes effect after the follow-up day. Correct it in the care record system and import the file again.",
    end_day_refused: "The day can no longer be recorded: the citizen's grants or course changed after the list was shown. Import the file again.",
    ended_since: |d| format!("Home care ended {d} (recorded)"),
    still_ended: "Still without home care",
    still_ended_saved: "Recorded: still without home care.",
};

impl I18n {
    /// The intake screens' texts in the current language (reactive, like [`I18n::t`]).
    pub fn intake(self) -> &'static IntakeTexts {
        match self.lang.get() {
            Lang::Da => &DA_INTAKE,
            Lang::En => &EN_INTAKE,
        }
    }
}
/// The intake texts in the same language as `t` (for helpers that receive [`Texts`]).
pub fn intake_of(t: &'static Texts) -> &'static IntakeTexts {
    // `DA`/`EN` are consts, so their addresses are not a reliable identity: compare a text.
    if t.other_language == EN.other_language {
        &EN_INTAKE
    } else {
        &DA_INTAKE
    }
}
// #11 intake end
// #11 course: the effect screens (WHO-5 on the tablet, due tests, test plan, goals, effect
// summary). A table of its own, so the other #11 screens' strings merge beside it.

pub struct CourseTexts {
    pub who5_open: &'static str,
    pub who5_title: &'static str,
    pub item_of: fn(usize, usize) -> String,
    pub back: &'static str,
    pub who5_done: &'static str,
    pub who5_score: fn(u8, u8) -> String,
    pub continue_session: &'static str,
    /// (phase word, status word) → "Starttest mangler", "Sluttest om 3 dage".
    pub due_badge: fn(&str, &str, i64) -> String,
    /// start, midway, end
    pub phase_words: [&'static str; 3],
    pub effect_tab: &'static str,
    pub test_plan: &'static str,
    pub test_plan_hint: &'static str,
    /// start, mid, end
    pub plan_columns: [&'static str; 3],
    pub save_plan: &'static str,
    pub plan_saved: &'static str,
    pub goal_attainment: &'static str,
    /// achieved, partly, not achieved
    pub attainments: [&'static str; 3],
    pub not_rated: &'static str,
    pub effect_summary: &'static str,
    pub print: &'static str,
    pub tests_start_end: &'static str,
    pub start: &'static str,
    pub end: &'static str,
    pub judgement: &'static str,
    pub norm: &'static str,
    /// improved, maintained, declined, incomplete
    pub judgements: [&'static str; 4],
    pub no_mcid: &'static str,
    /// Heading of the list of meaningful-change values and their sources under the tests.
    pub mcid_sources: &'static str,
    /// "betydende ændring ±2,5 gange" under a judgement.
    pub mcid_is: &'static str,
    /// below, within, above
    pub norm_positions: [&'static str; 3],
    pub norm_unknown: &'static str,
    pub wellbeing: &'static str,
    pub care_time: &'static str,
    pub baseline: &'static str,
    pub after_days: fn(u32) -> String,
    pub minutes_week: fn(u32) -> String,
    pub not_yet: &'static str,
    /// A follow-up whose day has come, before grants were recorded on or after it.
    pub awaiting_grants: &'static str,
    pub not_followed_up: &'static str,
    pub not_followed_up_citizen_left: &'static str,
    pub sessions_done: fn(u32, u32) -> String,
    pub goals: &'static str,
    pub no_goals: &'static str,
    pub printed_on: &'static str,
}

pub const DA_COURSE: CourseTexts = CourseTexts {
    who5_open: "Trivsel (WHO-5)",
    who5_title: "Trivsel (WHO-5)",
    item_of: |n, of| format!("Udsagn {n} af {of}"),
    back: "Tilbage",
    who5_done: "Tak! Alle fem svar er gemt.",
    who5_score: |raw, pct| format!("Score {pct} af 100 (råscore {raw} × 4)"),
    continue_session: "Fortsæt til træning",
    due_badge: |phase, status, days| match status {
        "upcoming" if days == 1 => format!("{phase}test i morgen"),
        "upcoming" => format!("{phase}test om {days} dage"),
        _ => format!("{phase}test mangler"),
    },
    phase_words: ["Start", "Midt", "Slut"],
    effect_tab: "Effekt",
    test_plan: "Testplan",
    test_plan_hint:
        "Starttest i første uge, sluttest i sidste uge. Vælg hvilke test der tages hvornår.",
    plan_columns: ["Start", "Midtvejs", "Slut"],
    save_plan: "Gem testplan",
    plan_saved: "Testplanen er gemt",
    goal_attainment: "Målopfyldelse",
    attainments: ["Opfyldt", "Delvist opfyldt", "Ikke opfyldt"],
    not_rated: "Ikke vurderet",
    effect_summary: "Effekt af forløbet",
    print: "Udskriv",
    tests_start_end: "Test ved start og slut",
    start: "Start",
    end: "Slut",
    judgement: "Vurdering",
    norm: "Norm for alder og køn",
    judgements: ["Forbedret", "Uændret", "Forværret", "Ufuldstændig"],
    no_mcid: "Ingen grænse for betydende ændring",
    mcid_sources: "Betydende ændring, og hvor værdien kommer fra",
    mcid_is: "betydende ændring",
    norm_positions: ["under normen", "inden for normen", "over normen"],
    norm_unknown: "—",
    wellbeing: "Trivsel (WHO-5, 0–100)",
    care_time: "Hjemmehjælp (minutter pr. uge)",
    baseline: "Ved start",
    after_days: |d| format!("{d} dage efter"),
    minutes_week: |m| format!("{m} min/uge"),
    not_yet: "Ikke målt endnu",
    awaiting_grants: "Afventer bevillinger fra omsorgssystemet (importér eller indtast dem)",
    not_followed_up: "Følges ikke op: forløbet sluttede før tid",
    not_followed_up_citizen_left: "Følges ikke op: borgeren er død eller flyttet",
    sessions_done: |d, of| format!("{d} af {of} planlagte træninger gennemført"),
    goals: "Mål",
    no_goals: "Forløbet har ingen mål.",
    printed_on: "Udskrevet",
};

pub const EN_COURSE: CourseTexts = CourseTexts {
    who5_open: "Wellbeing (WHO-5)",
    who5_title: "Wellbeing (WHO-5)",
    item_of: |n, of| format!("Statement {n} of {of}"),
    back: "Back",
    who5_done: "Thank you! All five answers are saved.",
    who5_score: |raw, pct| format!("Score {pct} of 100 (raw {raw} × 4)"),
    continue_session: "Continue to training",
    due_badge: |phase, status, days| match status {
        "upcoming" if days == 1 => format!("{phase} test tomorrow"),
        "upcoming" => format!("{phase} test in {days} days"),
        _ => format!("{phase} test missing"),
    },
    phase_words: ["Start", "Midway", "End"],
    effect_tab: "Effect",
    test_plan: "Test plan",
    test_plan_hint:
        "Start tests in the first week, end tests in the last. Choose which tests when.",
    plan_columns: ["Start", "Midway", "End"],
    save_plan: "Save test plan",
    plan_saved: "The test plan is saved",
    goal_attainment: "Goal attainment",
    attainments: ["Achieved", "Partly achieved", "Not achieved"],
    not_rated: "Not rated",
    effect_summary: "Effect of the course",
    print: "Print",
    tests_start_end: "Tests at start and end",
    start: "Start",
    end: "End",
    judgement: "Judgement",
    norm: "Norm for age and sex",
    judgements: ["Improved", "Maintained", "Declined", "Incomplete"],
    no_mcid: "No meaningful-change value",
    mcid_sources: "Meaningful change, and where the value comes from",
    mcid_is: "meaningful change",
    norm_positions: ["below the norm", "within the norm", "above the norm"],
    norm_unknown: "—",
    wellbeing: "Wellbeing (WHO-5, 0–100)",
    care_time: "Home care (minutes per week)",
    baseline: "At start",
    after_days: |d| format!("{d} days after"),
    minutes_week: |m| format!("{m} min/week"),
    not_yet: "Not measured yet",
    awaiting_grants: "Waiting for the care record system's grants (import or enter them)",
    not_followed_up: "Not followed up: the course ended early",
    not_followed_up_citizen_left: "Not followed up: the citizen died or moved",
    sessions_done: |d, of| format!("{d} of {of} planned sessions done"),
    goals: "Goals",
    no_goals: "The course has no goals.",
    printed_on: "Printed",
};

impl I18n {
    /// The #11 course screens' texts in the current language (reactive).
    pub fn c(self) -> &'static CourseTexts {
        match self.lang.get() {
            Lang::Da => &DA_COURSE,
            Lang::En => &EN_COURSE,
        }
    }
}
// #11 effect settings --------------------------------------------------------------------------
// The municipality's effect settings page (its library editors). Its own block, like the
// others, so parallel edits of this file merge.

/// Strings of the effect settings page.
pub struct SettingsTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub mcid_title: &'static str,
    pub mcid_intro: &'static str,
    pub test: &'static str,
    pub shipped: &'static str,
    pub no_shipped: &'static str,
    pub own_value: &'static str,
    pub own_source: &'static str,
    pub own_source_hint: &'static str,
    pub higher_better: &'static str,
    pub lower_better: &'static str,
    pub offsets_title: &'static str,
    pub offsets_intro: &'static str,
    pub shipped_offsets: fn(&[u32]) -> String,
    pub days_after: &'static str,
    pub add_offset: &'static str,
    pub remove: &'static str,
    pub criteria_title: &'static str,
    pub reasons_title: &'static str,
    pub lists_intro: &'static str,
    pub danish: &'static str,
    pub english: &'static str,
    pub add_criterion: &'static str,
    pub add_reason: &'static str,
    pub retire: &'static str,
    pub restore: &'static str,
    pub retired: &'static str,
    pub own: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub not_a_number: fn(&str) -> String,
    pub read_only: &'static str,
    pub plan_title: &'static str,
    pub plan_intro: &'static str,
    pub plan_use: &'static str,
    pub phases: [&'static str; 3],
}

fn da_offsets(o: &[u32]) -> String {
    let days: Vec<String> = o.iter().map(u32::to_string).collect();
    format!(
        "Standard: {} dage efter forløbets afslutning",
        days.join(" og ")
    )
}

fn en_offsets(o: &[u32]) -> String {
    let days: Vec<String> = o.iter().map(u32::to_string).collect();
    format!(
        "Default: {} days after the course ended",
        days.join(" and ")
    )
}

pub const DA_SETTINGS: SettingsTexts = SettingsTexts {
    tab: "Effektindstillinger",
    title: "Kommunens effektindstillinger",
    intro: "Værdierne gælder for hele kommunen og følger med kommunens bibliotek til alle enheder, også offline. Tomt felt betyder Homerehabs standard.",
    mcid_title: "Meningsfuld ændring pr. test",
    mcid_intro: "Den mindste ændring fra start til slut, der tæller som forbedring eller tilbagegang. Angiv altid kilden til kommunens egen værdi.",
    test: "Test",
    shipped: "Homerehabs standard",
    no_shipped: "Ingen standardværdi: testen vurderes kun med kommunens egen værdi.",
    own_value: "Kommunens værdi",
    own_source: "Kilde",
    own_source_hint: "fx Kommunens kvalitetsstandard 2026",
    higher_better: "højere er bedre",
    lower_better: "lavere er bedre",
    offsets_title: "Opfølgning på hjemmeplejetid",
    offsets_intro: "Dage efter forløbets afslutning, hvor den visiterede tid følges op (1–4 opfølgninger, 1–1095 dage, stigende).",
    shipped_offsets: da_offsets,
    days_after: "Dage efter",
    add_offset: "Tilføj opfølgning",
    remove: "Fjern",
    criteria_title: "Inklusionskriterier",
    reasons_title: "Årsager til ikke at inkludere",
    lists_intro: "Et kriterium eller en årsag slettes ikke, men udgår: tidligere screeninger viser den stadig.",
    danish: "Dansk",
    english: "Engelsk",
    add_criterion: "Tilføj kriterium",
    add_reason: "Tilføj årsag",
    retire: "Lad udgå",
    restore: "Genindfør",
    retired: "Udgået",
    own: "Kommunens egen",
    save: "Gem indstillinger",
    saved: "Indstillingerne er gemt.",
    not_a_number: |v| format!("»{v}« er ikke et tal"),
    read_only: "Kun bibliotekets redaktører kan ændre indstillingerne.",
    plan_title: "Kommunens standardtestplan",
    plan_intro: "Testene et nyt forløb starter med, når skabelonen ikke siger andet. Uden kommunens egen plan bruges 30 sek. rejse-sætte-sig og WHO-5 ved start og slut.",
    plan_use: "Kommunen har sin egen standardtestplan",
    phases: ["Start", "Midtvejs", "Slut"],
};

pub const EN_SETTINGS: SettingsTexts = SettingsTexts {
    tab: "Effect settings",
    title: "The municipality's effect settings",
    intro: "These values apply to the whole municipality and travel with its library to every device, offline too. An empty field means Homerehab's default.",
    mcid_title: "Meaningful change per test",
    mcid_intro: "The least change from start to end that counts as improved or declined. Always give the source of the municipality's own value.",
    test: "Test",
    shipped: "Homerehab's default",
    no_shipped: "No default value: the test is judged only with the municipality's own.",
    own_value: "Municipality's value",
    own_source: "Source",
    own_source_hint: "e.g. the municipality's quality standard 2026",
    higher_better: "higher is better",
    lower_better: "lower is better",
    offsets_title: "Home-care time follow-up",
    offsets_intro: "Days after the course ended on which granted home-care time is followed up (1–4 follow-ups, 1–1095 days, increasing).",
    shipped_offsets: en_offsets,
    days_after: "Days after",
    add_offset: "Add follow-up",
    remove: "Remove",
    criteria_title: "Inclusion criteria",
    reasons_title: "Reasons for not including",
    lists_intro: "A criterion or reason is never deleted, only retired: earlier screenings still show it.",
    danish: "Danish",
    english: "English",
    add_criterion: "Add criterion",
    add_reason: "Add reason",
    retire: "Retire",
    restore: "Restore",
    retired: "Retired",
    own: "The municipality's own",
    save: "Save settings",
    saved: "The settings are saved.",
    not_a_number: |v| format!("“{v}” is not a number"),
    read_only: "Only the library's editors can change the settings.",
    plan_title: "The municipality's default test plan",
    plan_intro: "The tests a new course starts with when its template says nothing else. Without the municipality's own plan: 30-s chair stand and WHO-5 at start and end.",
    plan_use: "The municipality has its own default test plan",
    phases: ["Start", "Midway", "End"],
};

impl I18n {
    /// The effect settings page's texts in the current language (reactive).
    pub fn s(self) -> &'static SettingsTexts {
        match self.lang.get() {
            Lang::Da => &DA_SETTINGS,
            Lang::En => &EN_SETTINGS,
        }
    }
}

/// The settings texts in the same language as `t` (for the tab row).
pub fn settings_of(t: &'static Texts) -> &'static SettingsTexts {
    if t.other_language == EN.other_language {
        &EN_SETTINGS
    } else {
        &DA_SETTINGS
    }
}
// #11 effect settings end
// #11 plan: test plans on a new course, delegation to the assistant and the tablet's entry
// screen of a delegated test. A table of its own, beside the other #11 tables.

pub struct PlanTexts {
    /// The per-test toggle in the plan editor.
    pub delegated: &'static str,
    pub delegated_hint: &'static str,
    /// The new course's step heading and what it says about where the plan comes from.
    pub course_plan: &'static str,
    pub course_plan_hint: &'static str,
    /// The visit card's button: "Mål: 30 sekunders rejse-sætte-sig".
    pub measure: fn(&str) -> String,
    pub entry_title: &'static str,
    /// "Starttest" from the phase word.
    pub phase_test: fn(&str) -> String,
    /// (min, max, unit) → "Mellem 0 og 60 gange".
    pub range: fn(&str, &str, &str) -> String,
    /// (min, max, unit, whole) → what a value must be.
    pub out_of_range: fn(&str, &str, &str, bool) -> String,
    pub result: &'static str,
    pub where_measured: &'static str,
    /// home, clinic
    pub places: [&'static str; 2],
    pub save_result: &'static str,
    pub result_saved: &'static str,
    /// Who measured a result and where: (name, place word).
    pub measured: fn(&str, &str) -> String,
    /// home, clinic, unknown
    pub place_words: [&'static str; 3],
    pub place: &'static str,
}

pub const DA_PLAN: PlanTexts = PlanTexts {
    delegated: "Uddelegeret til assistent",
    delegated_hint: "En uddelegeret test måler assistenten hos borgeren og registrerer på tabletten.",
    course_plan: "Testplan",
    course_plan_hint: "Planen kommer fra skabelonen (ellers standardplanen). Ret den her, eller senere under Effekt.",
    measure: |test| format!("Mål: {test}"),
    entry_title: "Uddelegeret test",
    phase_test: |phase| format!("{phase}test"),
    range: |min, max, unit| format!("Mellem {min} og {max} {unit}"),
    out_of_range: |min, max, unit, whole| {
        if whole {
            format!("Skriv et helt tal mellem {min} og {max} {unit}")
        } else {
            format!("Skriv et tal mellem {min} og {max} {unit}")
        }
    },
    result: "Resultat",
    where_measured: "Hvor blev testen taget?",
    places: ["Hjemme", "I klinikken"],
    save_result: "Gem resultat",
    result_saved: "Resultatet er gemt",
    measured: |name, place| format!("målt af {name}, {place}"),
    place_words: ["hjemme", "i klinikken", "sted ukendt"],
    place: "Sted",
};

pub const EN_PLAN: PlanTexts = PlanTexts {
    delegated: "Delegated to assistant",
    delegated_hint: "The assistant measures a delegated test at the citizen's and records it on the tablet.",
    course_plan: "Test plan",
    course_plan_hint: "The plan comes from the template (else the default plan). Change it here, or later under Effect.",
    measure: |test| format!("Measure: {test}"),
    entry_title: "Delegated test",
    phase_test: |phase| format!("{phase} test"),
    range: |min, max, unit| format!("Between {min} and {max} {unit}"),
    out_of_range: |min, max, unit, whole| {
        if whole {
            format!("Enter a whole number between {min} and {max} {unit}")
        } else {
            format!("Enter a number between {min} and {max} {unit}")
        }
    },
    result: "Result",
    where_measured: "Where was the test taken?",
    places: ["At home", "At the clinic"],
    save_result: "Save result",
    result_saved: "The result is saved",
    measured: |name, place| format!("measured by {name}, {place}"),
    place_words: ["at home", "at the clinic", "place unknown"],
    place: "Place",
};

impl I18n {
    /// The test plan and delegated-test texts in the current language (reactive).
    pub fn p(self) -> &'static PlanTexts {
        match self.lang.get() {
            Lang::Da => &DA_PLAN,
            Lang::En => &EN_PLAN,
        }
    }

    /// A result's place as a reader says it (`None`: not recorded).
    pub fn place_word(self, place: Option<&str>) -> &'static str {
        let p = self.p();
        match place {
            Some("home") => p.place_words[0],
            Some("clinic") => p.place_words[1],
            _ => p.place_words[2],
        }
    }
}
// #11 plan end
// #12 evidence -----------------------------------------------------------------------------------
// The leaders' evidence screens, the evaluation report and the admin's evidence settings. Its
// own block, like the others, so parallel edits of this file merge.

/// Strings of the evidence screens and the evaluation report.
pub struct EvidenceTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub settings_tab: &'static str,
    pub settings_title: &'static str,
    /// this year, last year, last 12 months, custom
    pub periods: [&'static str; 4],
    pub from: &'static str,
    pub to: &'static str,
    pub show: &'static str,
    pub whole_municipality: &'static str,
    pub whole_team: &'static str,
    pub team: &'static str,
    pub therapist: &'static str,
    /// targets, funnel, staff, effect, business case, benchmark
    pub sections: [&'static str; 6],
    pub offline_badge: &'static str,
    pub fetched: &'static str,
    pub print_report: &'static str,
    pub back: &'static str,
    pub print: &'static str,
    /// citizens through courses, staff trained, staff active
    pub target_kinds: [&'static str; 3],
    pub target_word: &'static str,
    pub reached: &'static str,
    pub expected_by: fn(&str) -> String,
    pub projected: fn(u32) -> String,
    /// green, yellow, red, none
    pub lights: [&'static str; 4],
    pub light_rule: &'static str,
    pub targets_missing: &'static str,
    pub targets_missing_hint: &'static str,
    /// referred, screened, included, started, completed
    pub stages: [&'static str; 5],
    pub not_included: &'static str,
    pub ended_early: &'static str,
    pub no_reason: &'static str,
    pub by_month: &'static str,
    pub months: [&'static str; 12],
    pub by_team: &'static str,
    pub referred_short: &'static str,
    pub completed_short: &'static str,
    pub recruiting_title: &'static str,
    pub recruiting_hint: &'static str,
    pub refers_few: &'static str,
    pub completes_few: &'static str,
    pub median: &'static str,
    pub other_team_therapist: &'static str,
    pub staff_title: fn(&str) -> String,
    pub with_access: &'static str,
    pub trained: &'static str,
    pub active: &'static str,
    pub trained_not_active: &'static str,
    pub trained_on: &'static str,
    pub names_hidden: &'static str,
    pub total: &'static str,
    pub completeness: &'static str,
    pub completeness_tests: fn(u32, u32) -> String,
    pub completeness_who5: fn(u32, u32) -> String,
    pub completeness_care: fn(u32, u32, u32) -> String,
    pub judgements: [&'static str; 3],
    pub improved_or_maintained: fn(u32, u32) -> String,
    pub who5: &'static str,
    pub care_time_title: &'static str,
    pub before: &'static str,
    pub after_days: fn(u32) -> String,
    pub min_per_day: &'static str,
    pub change: &'static str,
    pub ci95: &'static str,
    pub no_care_data: &'static str,
    pub sessions_title: &'static str,
    pub sessions_line: fn(u64, u64, u32) -> String,
    pub adherence: &'static str,
    pub business_title: &'static str,
    pub business_intro: fn(u32) -> String,
    pub no_prices: &'static str,
    pub no_saving: &'static str,
    pub formula: &'static str,
    pub worked: &'static str,
    pub value: &'static str,
    pub benchmark_title: &'static str,
    pub municipality: &'static str,
    /// citizens through courses, share tested, WHO-5 improved/maintained, adherence
    pub indicators: [&'static str; 4],
    pub care_change_days: fn(u32) -> String,
    pub test_improved: &'static str,
    pub own: &'static str,
    pub suppressed_hint: fn(u32) -> String,
    pub anonymised_hint: &'static str,
    /// The benchmark's quarters (first, last) and the day it is judged on.
    pub benchmark_quarters: fn(&str, &str, &str) -> String,
    /// A quarter: its number and year.
    pub quarter: fn(u32, &str) -> String,
    pub report_title: &'static str,
    pub report_period: fn(&str, &str) -> String,
    pub report_printed: &'static str,
    /// assistant, therapist, leader, admin
    pub roles: [&'static str; 4],
    pub nothing_yet: &'static str,
    pub withheld: fn(u32) -> String,
    // settings
    pub settings_intro: &'static str,
    pub targets_title: &'static str,
    pub year: &'static str,
    pub add_year: &'static str,
    pub prices_title: &'static str,
    pub use_prices: &'static str,
    /// the nine fields of `Prices`, in its order
    pub price_fields: [&'static str; 9],
    pub naming_title: &'static str,
    pub agree_named: &'static str,
    pub comparison_title: &'static str,
    pub compare_all: &'static str,
    /// why the group lists only some municipalities
    pub group_only_named: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub must_be_number: &'static str,
}

pub static DA_EVIDENCE: EvidenceTexts = EvidenceTexts {
    tab: "Effekt og evidens",
    title: "Effekt og evidens",
    settings_tab: "Mål og priser",
    settings_title: "Mål, priser og benchmark",
    periods: ["I år", "Sidste år", "Seneste 12 mdr.", "Vælg periode"],
    from: "Fra",
    to: "Til",
    show: "Vis",
    whole_municipality: "Hele kommunen",
    whole_team: "Tilbage til hele teamet",
    team: "Team",
    therapist: "Terapeut",
    sections: ["Mål", "Forløb", "Personale", "Effekt", "Business case", "Benchmark"],
    offline_badge: "Offline – viser senest hentede tal",
    fetched: "Hentet",
    print_report: "Udskriv evalueringsrapport",
    back: "Tilbage",
    print: "Udskriv / gem som PDF",
    target_kinds: ["Borgere gennem forløb", "Medarbejdere uddannet", "Medarbejdere der bruger appen"],
    target_word: "Mål",
    reached: "Nået",
    expected_by: |d| format!("Forventet pr. {d}"),
    projected: |p| format!("Med samme tempo: {p} % ved periodens slut"),
    lights: ["Grøn: på vej", "Gul: bagud", "Rød: langt bagud", "Ingen vurdering endnu"],
    light_rule: "Lyset følger evalueringens tabel 3: den andel, perioden ender på, hvis tempoet holder.",
    targets_missing: "Mål der ikke er sat",
    targets_missing_hint: "Kommunens administrator sætter årlige mål under »Mål og priser«.",
    stages: ["Henvist", "Screenet", "Inkluderet", "Startet", "Gennemført"],
    not_included: "Ikke inkluderet",
    ended_early: "Afsluttet før tid",
    no_reason: "Ingen årsag angivet",
    by_month: "Udvikling pr. måned",
    months: ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
    by_team: "Pr. team",
    referred_short: "Henvist",
    completed_short: "Gennemført",
    recruiting_title: "Hvem henviser og gennemfører få?",
    recruiting_hint: "Markeret når under halvdelen af medianen for de øvrige (evalueringens første anbefaling).",
    refers_few: "Henviser få",
    completes_few: "Gennemfører få",
    median: "median",
    other_team_therapist: "Terapeut i andet team",
    staff_title: |d| format!("Personale i brug pr. {d}"),
    with_access: "Har adgang",
    trained: "Uddannet",
    active: "Aktive (28 dage)",
    trained_not_active: "Uddannet men ikke aktiv",
    trained_on: "uddannet",
    names_hidden: "navne vises kun for dine egne teams",
    total: "I alt",
    completeness: "Datakomplethed",
    completeness_tests: |p, w| format!("{p} af {w} har test ved start og slut"),
    completeness_who5: |p, w| format!("{p} af {w} har WHO-5 ved start og slut"),
    completeness_care: |p, w, d| format!("{p} af {w} har hjemmeplejetid før og {d} dage efter"),
    judgements: ["Fremgang", "Vedligehold", "Tilbagegang"],
    improved_or_maintained: |p, w| format!("{p} af {w} har fremgang eller vedligehold"),
    who5: "Trivsel (WHO-5)",
    care_time_title: "Hjemmeplejetid før og efter",
    before: "Før",
    after_days: |d| format!("{d} dage efter"),
    min_per_day: "min./dag",
    change: "Ændring",
    ci95: "95 % sikkerhedsinterval",
    no_care_data: "Endnu ingen borgere med hjemmeplejetid før og efter.",
    sessions_title: "Træninger og fremmøde",
    sessions_line: |d, p, c| format!("{d} af {p} planlagte træninger gennemført i {c} forløb"),
    adherence: "Fremmøde",
    business_title: "Business case",
    business_intro: |d| format!("Beregnet på den målte ændring i hjemmeplejetid {d} dage efter forløbet. Hver linje viser formel og tal."),
    no_prices: "Kommunen har ikke sat priser endnu – administratoren sætter dem under »Mål og priser«.",
    no_saving: "Ingen målt ændring i hjemmeplejetid i perioden endnu, så besparelsen kan ikke beregnes.",
    formula: "Formel",
    worked: "Udregning",
    value: "Resultat",
    benchmark_title: "Benchmark mellem kommuner",
    municipality: "Kommune",
    indicators: ["Borgere gennem forløb", "Andel testet", "WHO-5 fremgang/vedligehold", "Fremmøde"],
    care_change_days: |d| format!("Hjemmepleje {d} dage"),
    test_improved: "fremgang/vedligehold",
    own: "(jer)",
    suppressed_hint: |n| format!("»<{n}«: tallet bygger på færre end {n} borgere (eller ville afsløre et sådant tal) og vises ikke."),
    anonymised_hint: "Kommuner, der ikke har sagt ja til at blive navngivet, vises som »Kommune B, C …«. Alle kommuner vurderes her med de samme, medfølgende værdier for meningsfuld ændring, så sammenligningen er lige.",
    benchmark_quarters: |first, last, as_of| {
        let span = if first == last { first.to_string() } else { format!("{first} – {last}") };
        format!("Sammenligningen bruger hele, afsluttede kvartaler: {span}, opgjort pr. {as_of} — ikke den valgte periode, så to opgørelser ikke kan trækkes fra hinanden og pege på enkelte borgere.")
    },
    quarter: |q, year| format!("{q}. kvt. {year}"),
    report_title: "Evalueringsrapport – hjemmerehabilitering",
    report_period: |f, t| format!("Periode {f} – {t}"),
    report_printed: "Udskrevet",
    roles: ["Assistent", "Terapeut", "Leder", "Administrator"],
    nothing_yet: "Ingen data i perioden endnu.",
    withheld: |n| format!("Vises ikke: færre end {n} borgere i et team, du ikke selv er tilknyttet."),
    settings_intro: "Kommunens årlige mål, priser til business casen, og hvem I sammenligner jer med. Serveren tjekker indstillingerne, når de gemmes.",
    targets_title: "Årlige mål",
    year: "År",
    add_year: "Tilføj år",
    prices_title: "Priser til business case",
    use_prices: "Brug priser (ellers ingen business case)",
    price_fields: [
        "Pris pr. hjemmeplejetime (kr.)",
        "Pris pr. assistenttime (kr.)",
        "Pris pr. terapeuttime (kr.)",
        "Terapeuttimer pr. forløb",
        "Assistentminutter pr. træning",
        "Licens pr. år (kr.)",
        "Tablets pr. år (kr.)",
        "Timer pr. årsværk",
        "Dage med effekt",
    ],
    naming_title: "Navngivning i benchmark",
    agree_named: "Andre kommuner må se vores navn",
    comparison_title: "Sammenligningsgruppe",
    compare_all: "Sammenlign med alle kommuner",
    group_only_named: "Kun kommuner, der har sagt ja til at blive navngivet, kan vælges. Med en gruppe vises de anonyme kommuner ikke.",
    save: "Gem",
    saved: "Gemt",
    must_be_number: "skal være et tal",
};

pub static EN_EVIDENCE: EvidenceTexts = EvidenceTexts {
    tab: "Evidence",
    title: "Effect and evidence",
    settings_tab: "Targets and prices",
    settings_title: "Targets, prices and benchmark",
    periods: ["This year", "Last year", "Last 12 months", "Choose period"],
    from: "From",
    to: "To",
    show: "Show",
    whole_municipality: "Whole municipality",
    whole_team: "Back to the whole team",
    team: "Team",
    therapist: "Therapist",
    sections: ["Targets", "Funnel", "Staff", "Effect", "Business case", "Benchmark"],
    offline_badge: "Offline – showing the figures last fetched",
    fetched: "Fetched",
    print_report: "Print evaluation report",
    back: "Back",
    print: "Print / save as PDF",
    target_kinds: ["Citizens through courses", "Staff trained", "Staff using the app"],
    target_word: "Target",
    reached: "Reached",
    expected_by: |d| format!("Expected by {d}"),
    projected: |p| format!("At this pace: {p} % by the period's end"),
    lights: ["Green: on track", "Yellow: behind", "Red: far behind", "No rating yet"],
    light_rule: "The light follows the evaluation's Table 3: the share the period ends at if the pace holds.",
    targets_missing: "Targets not set",
    targets_missing_hint: "The municipality's administrator sets yearly targets under \"Targets and prices\".",
    stages: ["Referred", "Screened", "Included", "Started", "Completed"],
    not_included: "Not included",
    ended_early: "Ended early",
    no_reason: "No reason recorded",
    by_month: "By month",
    months: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    by_team: "By team",
    referred_short: "Referred",
    completed_short: "Completed",
    recruiting_title: "Who refers and completes few?",
    recruiting_hint: "Flagged below half the median of the others (the evaluation's first recommendation).",
    refers_few: "Refers few",
    completes_few: "Completes few",
    median: "median",
    other_team_therapist: "Therapist in another team",
    staff_title: |d| format!("Staff in use as of {d}"),
    with_access: "With access",
    trained: "Trained",
    active: "Active (28 days)",
    trained_not_active: "Trained but not active",
    trained_on: "trained",
    names_hidden: "names are shown for your own teams only",
    total: "Total",
    completeness: "Completeness",
    completeness_tests: |p, w| format!("{p} of {w} have a test at start and end"),
    completeness_who5: |p, w| format!("{p} of {w} have WHO-5 at start and end"),
    completeness_care: |p, w, d| format!("{p} of {w} have home-care time before and {d} days after"),
    judgements: ["Improved", "Maintained", "Declined"],
    improved_or_maintained: |p, w| format!("{p} of {w} improved or maintained"),
    who5: "Wellbeing (WHO-5)",
    care_time_title: "Home-care time before and after",
    before: "Before",
    after_days: |d| format!("{d} days after"),
    min_per_day: "min/day",
    change: "Change",
    ci95: "95 % confidence interval",
    no_care_data: "No citizens with home-care time before and after yet.",
    sessions_title: "Sessions and adherence",
    sessions_line: |d, p, c| format!("{d} of {p} planned sessions delivered in {c} courses"),
    adherence: "Adherence",
    business_title: "Business case",
    business_intro: |d| format!("From the measured change in home-care time {d} days after the course. Each line shows its formula and numbers."),
    no_prices: "The municipality has not set prices yet – the administrator sets them under \"Targets and prices\".",
    no_saving: "No measured change in home-care time in the period yet, so no saving can be computed.",
    formula: "Formula",
    worked: "Worked",
    value: "Result",
    benchmark_title: "Benchmark across municipalities",
    municipality: "Municipality",
    indicators: ["Citizens through courses", "Share tested", "WHO-5 improved/maintained", "Adherence"],
    care_change_days: |d| format!("Home care {d} days"),
    test_improved: "improved/maintained",
    own: "(you)",
    suppressed_hint: |n| format!("\"<{n}\": the figure rests on fewer than {n} citizens (or would reveal such a figure) and is not shown."),
    anonymised_hint: "Municipalities that have not agreed to be named appear as \"Kommune B, C …\". Every municipality is judged here by the same, shipped meaningful-change values, so the comparison is like for like.",
    benchmark_quarters: |first, last, as_of| {
        let span = if first == last { first.to_string() } else { format!("{first} – {last}") };
        format!("The comparison uses whole quarters that have ended: {span}, as of {as_of} — not the period chosen, so two answers cannot be subtracted to point at single citizens.")
    },
    quarter: |q, year| format!("Q{q} {year}"),
    report_title: "Evaluation report – home rehabilitation",
    report_period: |f, t| format!("Period {f} – {t}"),
    report_printed: "Printed",
    roles: ["Assistant", "Therapist", "Leader", "Administrator"],
    nothing_yet: "No data in the period yet.",
    withheld: |n| format!("Not shown: fewer than {n} citizens in a team you do not serve."),
    settings_intro: "The municipality's yearly targets, prices for the business case, and whom you compare with. The server checks the settings when they are saved.",
    targets_title: "Yearly targets",
    year: "Year",
    add_year: "Add year",
    prices_title: "Prices for the business case",
    use_prices: "Use prices (otherwise no business case)",
    price_fields: [
        "Price per home-care hour (DKK)",
        "Price per assistant hour (DKK)",
        "Price per therapist hour (DKK)",
        "Therapist hours per course",
        "Assistant minutes per session",
        "Licence per year (DKK)",
        "Tablets per year (DKK)",
        "Hours per FTE",
        "Days of effect",
    ],
    naming_title: "Naming in the benchmark",
    agree_named: "Other municipalities may see our name",
    comparison_title: "Comparison group",
    compare_all: "Compare with every municipality",
    group_only_named: "Only municipalities that agreed to be named can be chosen. With a group, the anonymous municipalities are not shown.",
    save: "Save",
    saved: "Saved",
    must_be_number: "must be a number",
};

impl I18n {
    pub fn evidence(self) -> &'static EvidenceTexts {
        match self.lang.get() {
            Lang::Da => &DA_EVIDENCE,
            Lang::En => &EN_EVIDENCE,
        }
    }
}

/// The BI feed's card on the evidence screen (docs/bi-export.md).
pub struct BiTexts {
    pub title: &'static str,
    pub hint: &'static str,
    /// In `BI_TABLES`' order.
    pub tables: [&'static str; 10],
    pub fetching: &'static str,
    pub save: &'static str,
}

/// The BI feed's tables, by their names in the API.
pub const BI_TABLES: [&str; 10] = [
    "teams",
    "citizens",
    "referrals",
    "care_grants",
    "courses",
    "goals",
    "test_results",
    "sessions",
    "staff",
    "erasures",
];

pub static DA_BI: BiTexts = BiTexts {
    title: "Data til kommunens BI",
    hint: "Pseudonymiserede rækker for perioden ovenfor, som CSV til jeres datavarehus. Ingen personnavne eller CPR-numre. Hvert udtræk logges.",
    tables: [
        "Teams",
        "Borgere",
        "Henvisninger",
        "Visiteret tid",
        "Forløb",
        "Mål",
        "Test og WHO-5",
        "Træninger",
        "Medarbejdere",
        "Sletninger",
    ],
    fetching: "Henter …",
    save: "Gem",
};

pub static EN_BI: BiTexts = BiTexts {
    title: "Data for the municipality's BI",
    hint: "Pseudonymised rows for the period above, as CSV for your data warehouse. No person's name or CPR number. Every pull is logged.",
    tables: [
        "Teams",
        "Citizens",
        "Referrals",
        "Home-care time",
        "Courses",
        "Goals",
        "Tests and WHO-5",
        "Sessions",
        "Staff",
        "Erasures",
    ],
    fetching: "Fetching …",
    save: "Save",
};

impl I18n {
    pub fn bi(self) -> &'static BiTexts {
        match self.lang.get() {
            Lang::Da => &DA_BI,
            Lang::En => &EN_BI,
        }
    }
}

/// The evidence texts in the same language as `t` (for the tab row).
pub fn evidence_of(t: &'static Texts) -> &'static EvidenceTexts {
    if t.other_language == EN.other_language {
        &EN_EVIDENCE
    } else {
        &DA_EVIDENCE
    }
}
// #12 evidence end

// #14 devices --------------------------------------------------------------------------------
// The device registry: the leaders' and admins' device list with "Spær", signing out, and what
// a revoked device shows. Reached through `devices_of`, so parallel edits of this file merge.

pub struct DeviceTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub person: &'static str,
    pub first_seen: &'static str,
    pub last_seen: &'static str,
    pub version: &'static str,
    pub state: &'static str,
    pub active: &'static str,
    /// (by, reason)
    pub revoked_by: fn(&str, &str) -> String,
    pub handed_over: &'static str,
    pub awaiting_hand_over: &'static str,
    pub revoke: &'static str,
    pub reason: &'static str,
    pub reason_hint: &'static str,
    pub confirm: &'static str,
    pub sign_out_everywhere: &'static str,
    /// The number of sign-ins ended.
    pub signed_out_everywhere: fn(u32) -> String,
    pub sign_out: &'static str,
    /// Marks the device the list is shown on.
    pub this_device: &'static str,
    /// On the sign-in screen of an erased device: (by, reason, when).
    pub erased_notice: fn(&str, &str, &str) -> String,
}

pub static DA_DEVICES: DeviceTexts = DeviceTexts {
    tab: "Enheder",
    title: "Enheder",
    intro:
        "Tablets og computere, som kommunens medarbejdere er logget ind på. Spær en enhed, der er \
            bortkommet: den afleverer først det arbejde, der ikke er synkroniseret, og sletter \
            derefter alle data på enheden.",
    empty: "Ingen enheder endnu.",
    person: "Medarbejder",
    first_seen: "Første gang",
    last_seen: "Sidst set",
    version: "Version",
    state: "Status",
    active: "I brug",
    revoked_by: |by, reason| format!("Spærret af {by}: {reason}"),
    handed_over: "data slettet",
    awaiting_hand_over: "venter på at enheden melder sig",
    revoke: "Spær",
    reason: "Hvorfor spærres enheden?",
    reason_hint: "F.eks. \"Glemt i bussen\". Begrundelsen vises på enheden.",
    confirm: "Spær enheden",
    sign_out_everywhere: "Log ud overalt",
    signed_out_everywhere: |n| format!("{n} login afsluttet"),
    sign_out: "Log ud",
    this_device: "denne enhed",
    erased_notice: |by, reason, when| {
        format!("Denne enhed blev spærret af {by} ({when}): {reason}. Alle data på enheden er slettet; det arbejde, der var gemt, nåede serveren først.")
    },
};

pub static EN_DEVICES: DeviceTexts = DeviceTexts {
    tab: "Devices",
    title: "Devices",
    intro: "Tablets and computers the municipality's staff are signed in on. Revoke a lost one: \
            it first hands over the work it has not synced, then erases all data on it.",
    empty: "No devices yet.",
    person: "Staff member",
    first_seen: "First seen",
    last_seen: "Last seen",
    version: "Version",
    state: "State",
    active: "In use",
    revoked_by: |by, reason| format!("Revoked by {by}: {reason}"),
    handed_over: "data erased",
    awaiting_hand_over: "waiting for the device to get in touch",
    revoke: "Revoke",
    reason: "Why is the device revoked?",
    reason_hint: "E.g. \"Left on the bus\". The device shows the reason.",
    confirm: "Revoke the device",
    sign_out_everywhere: "Sign out everywhere",
    signed_out_everywhere: |n| format!("{n} sign-in(s) ended"),
    sign_out: "Sign out",
    this_device: "this device",
    erased_notice: |by, reason, when| {
        format!("This device was revoked by {by} ({when}): {reason}. All data on it was erased; the work saved on it reached the server first.")
    },
};

/// The device texts in the same language as `t`.
pub fn devices_of(t: &'static Texts) -> &'static DeviceTexts {
    if t.other_language == EN.other_language {
        &EN_DEVICES
    } else {
        &DA_DEVICES
    }
}
// #14 devices end

// #14 audit -----------------------------------------------------------------------------------
// The citizen's access report. Reached through `access_of`, so parallel edits of this file merge.

pub struct AccessTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub citizen: &'static str,
    pub choose: &'static str,
    pub or_id: &'static str,
    pub make: &'static str,
    pub print: &'static str,
    pub csv: &'static str,
    pub report_title: &'static str,
    /// (citizen id, number of look-ups)
    pub made: fn(&str, usize) -> String,
    /// (when, by whom)
    pub made_by: fn(&str, &str) -> String,
    pub legal: &'static str,
    pub nothing: &'static str,
    pub when: &'static str,
    pub who: &'static str,
    pub role: &'static str,
    pub what: &'static str,
    pub why: &'static str,
    pub device: &'static str,
    pub footer: &'static str,
}

pub static DA_ACCESS: AccessTexts = AccessTexts {
    tab: "Adgangsrapport",
    title: "Adgangsrapport for en borger",
    intro: "Hvem har set borgerens oplysninger, hvornår, hvad og hvorfor – fra serverens \
            log. Vælg borgeren; rapporten kan udskrives (gem som PDF) eller hentes som CSV. \
            Dit opslag logges også.",
    citizen: "Borger",
    choose: "Vælg borger …",
    or_id: "eller borgerens id",
    make: "Lav rapport",
    print: "Udskriv / gem som PDF",
    csv: "Hent CSV",
    report_title: "Adgangsrapport: opslag i borgerens oplysninger",
    made: |id, n| format!("Borger-id {id} · {n} opslag"),
    made_by: |when, who| format!("Lavet {when} af {who} (administrator) på borgerens anmodning"),
    legal: "Rapporten viser alle registrerede opslag i og overførsler af borgerens oplysninger i \
            Homerehab: hvornår, af hvem (navn og rolle), hvad og med hvilket formål \
            (sundhedslovens § 42 a, stk. 9, og EU-Domstolens dom C-579/21). Opslag på en tablet \
            uden netforbindelse står med tabletens tid og kommer med, når den har synkroniseret.",
    nothing: "Ingen registrerede opslag.",
    when: "Tidspunkt",
    who: "Medarbejder",
    role: "Rolle",
    what: "Handling",
    why: "Formål",
    device: "Enhed",
    footer:
        "Loggen er sikret mod ændringer: hver post er kædet til den forrige med en SHA-256-værdi.",
};

pub static EN_ACCESS: AccessTexts = AccessTexts {
    tab: "Access report",
    title: "A citizen's access report",
    intro: "Who looked at the citizen's data, when, what and why – from the server's log. \
            Choose the citizen; the report prints (save as PDF) or downloads as CSV. Your \
            look-up is logged too.",
    citizen: "Citizen",
    choose: "Choose a citizen …",
    or_id: "or the citizen's id",
    make: "Make the report",
    print: "Print / save as PDF",
    csv: "Download CSV",
    report_title: "Access report: look-ups of the citizen's data",
    made: |id, n| format!("Citizen id {id} · {n} look-ups"),
    made_by: |when, who| format!("Made {when} by {who} at the citizen's request"),
    legal: "Every recorded look-up and transfer of the citizen's data in Homerehab.",
    nothing: "No recorded look-ups.",
    when: "When",
    who: "Staff member",
    role: "Role",
    what: "What",
    why: "Purpose",
    device: "Device",
    footer: "The log is tamper-evident: each entry is chained to the previous one by SHA-256.",
};

/// The access report's texts in the same language as `t`.
pub fn access_of(t: &'static Texts) -> &'static AccessTexts {
    if t.other_language == EN.other_language {
        &EN_ACCESS
    } else {
        &DA_ACCESS
    }
}
// #14 audit end

// #14 retention and erasure. Reached through `retention_of`, so parallel edits of this file merge.
pub struct RetentionTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub settings_title: &'static str,
    pub course: &'static str,
    pub referral: &'static str,
    pub care_grant: &'static str,
    pub at_least: fn(u32) -> String,
    pub whole_years: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    /// (the day judged)
    pub due_title: fn(&str) -> String,
    pub due_courses: &'static str,
    pub due_referrals: &'static str,
    pub due_care_grants: &'static str,
    pub due_citizens: &'static str,
    pub due_nothing: &'static str,
    pub due_nightly: &'static str,
    /// A due line's kind (`course`, `referral`, `care_grant`, `citizen`).
    pub kind: fn(&str) -> &'static str,
    pub erase_title: &'static str,
    pub erase_intro: &'static str,
    pub citizen: &'static str,
    pub choose: &'static str,
    pub reason: &'static str,
    /// In the order `citizen_request`, `recorded_in_error`, `order`.
    pub reasons: [&'static str; 3],
    pub force: &'static str,
    pub erase: &'static str,
    /// (the citizen's name)
    pub are_you_sure: fn(&str) -> String,
    pub cannot_undo: &'static str,
    pub confirm: &'static str,
    /// Before the server's reason for refusing an erasure.
    pub refused: &'static str,
    pub erased: fn(&homerehab_app_api::ErasureReceiptView) -> String,
}

pub static DA_RETENTION: RetentionTexts = RetentionTexts {
    tab: "Sletning",
    title: "Opbevaring og sletning",
    intro: "Hvor længe kommunen opbevarer hver slags oplysning, hvad der skal slettes nu, og \
            sletning af en borger. Sletningen når alle enheder ved deres næste synkronisering; \
            loggen gemmer kun, at der er slettet – ikke hvad.",
    settings_title: "Opbevaringsfrister (år)",
    course: "Forløb med træningslog – efter forløbets sidste registrering",
    referral: "Henvisninger uden forløb – efter visitationen",
    care_grant: "Hjemmeplejebevillinger – efter de er afløst",
    at_least: |n| format!("Mindst {n} år (lovkrav), højst 30."),
    whole_years: "Skriv hele år i alle tre felter.",
    save: "Gem frister",
    saved: "Fristerne er gemt.",
    due_title: |day| format!("Skal slettes pr. {day}"),
    due_courses: "Forløb",
    due_referrals: "Henvisninger",
    due_care_grants: "Bevillinger",
    due_citizens: "Borgere",
    due_nothing: "Intet har overskredet fristerne.",
    due_nightly: "Serveren sletter dette automatisk i nat.",
    kind: |k| match k {
        "course" => "Forløb",
        "referral" => "Henvisning",
        "care_grant" => "Bevilling",
        _ => "Borger",
    },
    erase_title: "Slet en borger",
    erase_intro: "Borgerens navn, forløb, noter, testresultater, henvisninger og bevillinger \
                  slettes på serveren og på alle enheder, også i historikken. På borgerens \
                  egen anmodning kun når lovens 5 år er gået.",
    citizen: "Borger",
    choose: "Vælg borger …",
    reason: "Begrundelse",
    reasons: [
        "Borgerens anmodning (GDPR art. 17)",
        "Fejlregistrering (forkert person, dublet)",
        "Påbud fra myndighed (domstol, Datatilsynet)",
    ],
    force: "Slet også selvom et forløb er i gang",
    erase: "Slet borger …",
    are_you_sure: |name| format!("Slet {name} for altid?"),
    cannot_undo: "Det kan ikke fortrydes. Ikke-synkroniseret arbejde om borgeren på tablets \
                  slettes også.",
    confirm: "Ja, slet borgeren",
    refused: "Serveren afviste sletningen",
    erased: |r| {
        format!(
            "Borgeren er slettet {}: {} {} slettet, {} {} omskrevet.",
            r.erased_at_text,
            r.deleted_documents,
            if r.deleted_documents == 1 {
                "dokument"
            } else {
                "dokumenter"
            },
            r.rewritten_documents,
            if r.rewritten_documents == 1 {
                "borgerliste"
            } else {
                "borgerlister"
            }
        )
    },
};

pub static EN_RETENTION: RetentionTexts = RetentionTexts {
    tab: "Erasure",
    title: "Retention and erasure",
    intro: "How long the municipality keeps each kind of record, what is due for erasure now, \
            and erasing a citizen. An erasure reaches every device at its next sync; the log \
            keeps that something was erased, not what.",
    settings_title: "Retention (years)",
    course: "Courses with their session log – after the course's last entry",
    referral: "Referrals without a course – after the screening",
    care_grant: "Home-care grants – after they were replaced",
    at_least: |n| format!("At least {n} years (the law), at most 30."),
    whole_years: "Write whole years in all three fields.",
    save: "Save retention",
    saved: "The retention is saved.",
    due_title: |day| format!("Due for erasure on {day}"),
    due_courses: "Courses",
    due_referrals: "Referrals",
    due_care_grants: "Grants",
    due_citizens: "Citizens",
    due_nothing: "Nothing is past its retention.",
    due_nightly: "The server erases this automatically tonight.",
    kind: |k| match k {
        "course" => "Course",
        "referral" => "Referral",
        "care_grant" => "Grant",
        _ => "Citizen",
    },
    erase_title: "Erase a citizen",
    erase_intro: "The citizen's name, courses, notes, test results, referrals and grants are \
                  erased on the server and on every device, history included. At the \
                  citizen's own request only once the law's 5 years have passed.",
    citizen: "Citizen",
    choose: "Choose a citizen …",
    reason: "Reason",
    reasons: [
        "The citizen's request (GDPR art. 17)",
        "Recorded in error (wrong person, duplicate)",
        "Ordered by an authority (a court, the DPA)",
    ],
    force: "Erase even though a course is running",
    erase: "Erase citizen …",
    are_you_sure: |name| format!("Erase {name} for good?"),
    cannot_undo: "This cannot be undone. Unsynced work about the citizen on tablets is erased too.",
    confirm: "Yes, erase the citizen",
    refused: "The server refused the erasure",
    erased: |r| {
        format!(
            "The citizen was erased {}: {} {} deleted, {} {} rewritten.",
            r.erased_at_text,
            r.deleted_documents,
            if r.deleted_documents == 1 {
                "document"
            } else {
                "documents"
            },
            r.rewritten_documents,
            if r.rewritten_documents == 1 {
                "roster"
            } else {
                "rosters"
            }
        )
    },
};

/// The retention page's texts in the same language as `t`.
pub fn retention_of(t: &'static Texts) -> &'static RetentionTexts {
    if t.other_language == EN.other_language {
        &EN_RETENTION
    } else {
        &DA_RETENTION
    }
}
// #14 retention end

// The citizen's printed program ----------------------------------------------------------------

/// The citizen's copy of the program (`pages::program_sheet`): written to the citizen ("du"),
/// in plain words and with month names written out for older readers.
pub struct SheetTexts {
    /// The button that opens it on the program screen, and the visit card's smaller link.
    pub open: &'static str,
    pub open_short: &'static str,
    /// The program screen's note while the program has unsaved changes.
    pub save_first: &'static str,
    /// Under a line's instructions in the editor: they go on the paper too.
    pub instructions_printed: &'static str,
    pub title: &'static str,
    /// "10 uger · 2 gange om ugen · ca. 20 minutter"
    pub frame: fn(u32, u32, u32) -> String,
    /// "Fra 3. november 2026 til 11. januar 2027"
    pub period: fn(&str, &str) -> String,
    pub goals: &'static str,
    pub exercises: &'static str,
    pub from_therapist: &'static str,
    pub take_care: &'static str,
    pub tick_title: &'static str,
    pub tick_hint: &'static str,
    /// "Træningsuge 3": a week of the course, not of the calendar.
    pub week: fn(u32) -> String,
    /// "Træningsuge 13–20 kommer på et nyt ark."
    pub weeks_after: fn(u32, u32) -> String,
    /// The screen's note when the planned weeks are over (nothing to tick).
    pub no_weeks_left: &'static str,
    pub safety_title: &'static str,
    pub therapist: &'static str,
    /// Before a line to write the therapist's phone number on by hand (Homerehab keeps none).
    pub phone: &'static str,
    /// "Version 3 af programmet, lavet 8. december 2026"
    pub revision: fn(u32, &str) -> String,
    pub printed: &'static str,
    pub print: &'static str,
    pub back: &'static str,
    /// The screen's note that a photo with a person stays in the app.
    pub person_left_out: &'static str,
    pub months: [&'static str; 12],
    /// A day: its number, month's name and year ("17. november 2026", "17 November 2026").
    pub date: fn(u32, &str, i32) -> String,
    /// A day without its year ("17. november", "17 November").
    pub day_month: fn(u32, &str) -> String,
}

pub static DA_SHEET: SheetTexts = SheetTexts {
    open: "Træningsprogram til borgeren",
    open_short: "Udskriv program til borgeren",
    save_first: "Gem programmet først: borgerens papir viser det gemte program.",
    instructions_printed: "Står også på borgerens papir under „Fra din terapeut“.",
    title: "Mit træningsprogram",
    frame: |weeks, per_week, minutes| {
        format!(
            "{weeks} {} · {per_week} {} om ugen · ca. {minutes} minutter",
            if weeks == 1 { "uge" } else { "uger" },
            if per_week == 1 { "gang" } else { "gange" }
        )
    },
    period: |from, to| format!("Fra {from} til {to}"),
    goals: "Mine mål",
    exercises: "Mine øvelser",
    from_therapist: "Fra din terapeut:",
    take_care: "Pas på:",
    tick_title: "Sæt kryds, når du har trænet",
    tick_hint: "Et kryds for hver gang du træner — også på dage uden besøg.",
    week: |n| format!("Træningsuge {n}"),
    weeks_after: |from, to| format!("Træningsuge {from}–{to} kommer på et nyt ark."),
    no_weeks_left: "Forløbets planlagte uger er gået: der er ingen uger at sætte kryds i. Ret forløbets ramme, hvis borgeren skal træne videre.",
    safety_title: "Når du træner",
    therapist: "Din terapeut",
    phone: "Telefon:",
    revision: |n, on| format!("Version {n} af programmet, lavet {on}"),
    printed: "Udskrevet",
    print: "Udskriv",
    back: "Tilbage",
    person_left_out: "Et foto, hvor en person kan genkendes, vises kun i appen og kommer ikke med på papir.",
    months: [
        "januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
        "oktober", "november", "december",
    ],
    date: |day, month, year| format!("{day}. {month} {year}"),
    day_month: |day, month| format!("{day}. {month}"),
};

pub static EN_SHEET: SheetTexts = SheetTexts {
    open: "Programme for the citizen",
    open_short: "Print the citizen's programme",
    save_first: "Save the programme first: the citizen's paper shows the saved programme.",
    instructions_printed: "Also printed on the citizen's paper, under \"From your therapist\".",
    title: "My exercise programme",
    frame: |weeks, per_week, minutes| {
        format!(
            "{weeks} {} · {per_week} {} a week · about {minutes} minutes",
            if weeks == 1 { "week" } else { "weeks" },
            if per_week == 1 { "time" } else { "times" }
        )
    },
    period: |from, to| format!("From {from} to {to}"),
    goals: "My goals",
    exercises: "My exercises",
    from_therapist: "From your therapist:",
    take_care: "Take care:",
    tick_title: "Tick when you have trained",
    tick_hint: "One tick each time you train — on days without a visit too.",
    week: |n| format!("Training week {n}"),
    weeks_after: |from, to| format!("Training weeks {from}–{to} come on a new sheet."),
    no_weeks_left: "The course's planned weeks are over: there are no weeks to tick. Change the course's frame if the citizen is to train on.",
    safety_title: "When you train",
    therapist: "Your therapist",
    phone: "Phone:",
    revision: |n, on| format!("Version {n} of the programme, made {on}"),
    printed: "Printed",
    print: "Print",
    back: "Back",
    person_left_out: "A photo in which a person can be recognised is shown in the app only and is not printed.",
    months: [
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ],
    date: |day, month, year| format!("{day} {month} {year}"),
    day_month: |day, month| format!("{day} {month}"),
};

impl I18n {
    pub fn sheet(self) -> &'static SheetTexts {
        match self.lang.get() {
            Lang::Da => &DA_SHEET,
            Lang::En => &EN_SHEET,
        }
    }
}
