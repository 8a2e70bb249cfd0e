//! The Tauri transport: one command per operation in `homerehab_local_api::ops`, named as the
//! `command` of its `Call` in `app/ui/src/api.rs`. A command only translates — the path
//! parameters (`course`, `session`, `lang`) and the request `body` arrive as named arguments —
//! and delegates; errors are the local API's `{kind, message}` (`homerehab_local_api::error`),
//! exactly what the HTTP transport answers.
//!
//! Adding an operation: write its command here (a copy of its neighbour) and add its name to
//! [`registered!`] below. The test at the bottom fails while api.rs and this list disagree.

use homerehab_app_api as api;
use homerehab_core::store::now_ms;
use homerehab_local_api::error::Result;
use homerehab_local_api::ops::{self, Core};
use tauri::State;

// ---- sign-in, lock and sync ------------------------------------------------------------------

#[tauri::command(rename_all = "snake_case")]
pub async fn me(core: State<'_, Core>) -> Result<Option<api::Me>> {
    ops::me(&core)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn login(core: State<'_, Core>, body: api::LoginRequest) -> Result<api::Me> {
    ops::login(&core, body).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn status(core: State<'_, Core>) -> Result<api::Status> {
    ops::status(&core)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(core: State<'_, Core>) -> Result<api::Status> {
    ops::sync_now(&core).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_pin(core: State<'_, Core>, body: api::PinRequest) -> Result<api::Status> {
    ops::set_pin(&core, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn unlock(core: State<'_, Core>, body: api::PinRequest) -> Result<api::Status> {
    ops::unlock(&core, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn lock(core: State<'_, Core>) -> Result<api::Status> {
    ops::lock(&core)
}

// ---- visits, courses and the guided session ----------------------------------------------------

#[tauri::command(rename_all = "snake_case")]
pub async fn visits(core: State<'_, Core>) -> Result<Vec<api::Visit>> {
    ops::visits(&core, now_ms())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn course_detail(
    core: State<'_, Core>,
    course: String,
    lang: Option<String>,
) -> Result<api::CourseDetail> {
    ops::course_detail(&core, &course, ops::lang(lang.as_deref()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn start_session(core: State<'_, Core>, course: String) -> Result<api::StartedSession> {
    ops::start_session(&core, &course)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn session_summary(
    core: State<'_, Core>,
    course: String,
    session: String,
) -> Result<api::SessionSummary> {
    ops::session_summary(&core, &course, &session)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn log_set(
    core: State<'_, Core>,
    course: String,
    session: String,
    body: api::LogSetRequest,
) -> Result<api::SetLogged> {
    ops::log_set(&core, &course, &session, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn record_feedback(
    core: State<'_, Core>,
    course: String,
    session: String,
    body: api::FeedbackRequest,
) -> Result<api::Saved> {
    ops::record_feedback(&core, &course, &session, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn finish_session(
    core: State<'_, Core>,
    course: String,
    session: String,
    body: api::FinishRequest,
) -> Result<api::SessionSummary> {
    ops::finish_session(&core, &course, &session, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn not_carried_out(
    core: State<'_, Core>,
    course: String,
    body: api::NotCarriedOutRequest,
) -> Result<api::SessionSummary> {
    ops::not_carried_out(&core, &course, body)
}

// ---- therapist and leader ----------------------------------------------------------------------

#[tauri::command(rename_all = "snake_case")]
pub async fn caseload(core: State<'_, Core>) -> Result<Vec<api::CaseloadRow>> {
    ops::caseload(&core)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn citizens(core: State<'_, Core>) -> Result<Vec<api::CitizenView>> {
    ops::citizens(&core)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn create_citizen(
    core: State<'_, Core>,
    body: api::NewCitizen,
) -> Result<api::CitizenView> {
    ops::create_citizen(&core, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn staff(core: State<'_, Core>) -> Result<Vec<api::StaffMember>> {
    ops::staff(&core)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn templates(
    core: State<'_, Core>,
    lang: Option<String>,
) -> Result<Vec<api::TemplateView>> {
    ops::templates(&core, ops::lang(lang.as_deref()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn legal_bases(core: State<'_, Core>) -> Result<api::LegalBases> {
    ops::legal_bases(&core)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn create_course(
    core: State<'_, Core>,
    body: api::NewCourse,
) -> Result<api::CourseCreated> {
    ops::create_course(&core, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn search_library(
    core: State<'_, Core>,
    query: api::LibraryQuery,
) -> Result<api::LibrarySearch> {
    ops::search_library(&core, query)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn program(
    core: State<'_, Core>,
    course: String,
    lang: Option<String>,
) -> Result<api::ProgramView> {
    ops::program(&core, &course, ops::lang(lang.as_deref()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn save_program(
    core: State<'_, Core>,
    course: String,
    lang: Option<String>,
    body: api::SaveProgram,
) -> Result<api::ProgramView> {
    ops::save_program(&core, &course, body, ops::lang(lang.as_deref()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn history(
    core: State<'_, Core>,
    course: String,
    lang: Option<String>,
) -> Result<api::CourseHistory> {
    ops::history(&core, &course, ops::lang(lang.as_deref()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn assessment_kinds(
    core: State<'_, Core>,
    lang: Option<String>,
) -> Result<Vec<api::AssessmentKindView>> {
    ops::assessment_kinds(&core, ops::lang(lang.as_deref()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_assessment(
    core: State<'_, Core>,
    course: String,
    lang: Option<String>,
    body: api::NewAssessment,
) -> Result<api::AssessmentView> {
    ops::add_assessment(&core, &course, body, ops::lang(lang.as_deref()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn overview(core: State<'_, Core>) -> Result<api::TeamOverview> {
    ops::overview(&core)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_course_status(
    core: State<'_, Core>,
    course: String,
    body: api::CourseStatusChange,
) -> Result<api::Saved> {
    ops::set_course_status(&core, &course, body)
}

// ---- the municipality's own library and media -------------------------------------------------
// (Uploading a photo or video is not a command yet: its body is the file's bytes.)

#[tauri::command(rename_all = "snake_case")]
pub async fn put_local_exercise(
    core: State<'_, Core>,
    body: api::LocalExerciseInput,
) -> Result<api::LocalItemSaved> {
    ops::put_local_exercise(&core, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn put_local_template(
    core: State<'_, Core>,
    body: api::LocalTemplateInput,
) -> Result<api::LocalItemSaved> {
    ops::put_local_template(&core, body)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn withdraw_media(core: State<'_, Core>, sha256: String) -> Result<api::Saved> {
    ops::withdraw_media(&core, &sha256)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn media_status(core: State<'_, Core>) -> Result<api::MediaStatus> {
    ops::media_status(&core)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn prefetch_media(core: State<'_, Core>) -> Result<api::MediaStatus> {
    ops::prefetch_media(&core).await
}

// ---- the registry ------------------------------------------------------------------------------

/// Gives `generate_handler!`'s closure its argument type.
fn typed<R: tauri::Runtime, F: Fn(tauri::ipc::Invoke<R>) -> bool>(f: F) -> F {
    f
}

/// Lists every command once: expands to [`NAMES`] and to [`handler`] (the invoke handler).
macro_rules! registered {
    ($($name:ident),* $(,)?) => {
        /// The names of the registered commands (for the test).
        #[cfg(test)]
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Dispatches an `invoke` to its command, logging the command's name at debug level (the
        /// UI asks for the status every 2 s) — never its arguments: they hold PINs, passwords
        /// and citizen data.
        pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            let dispatch = typed::<R, _>(tauri::generate_handler![$($name),*]);
            move |invoke| {
                tracing::debug!(command = invoke.message.command(), "invoke");
                dispatch(invoke)
            }
        }
    };
}

// One line per command. Keep in step with the `Call`s in app/ui/src/api.rs (the test checks).
registered![
    me,
    login,
    status,
    sync_now,
    set_pin,
    unlock,
    lock,
    visits,
    course_detail,
    start_session,
    session_summary,
    log_set,
    record_feedback,
    finish_session,
    not_carried_out,
    caseload,
    citizens,
    create_citizen,
    staff,
    templates,
    legal_bases,
    create_course,
    search_library,
    program,
    save_program,
    history,
    assessment_kinds,
    add_assessment,
    overview,
    set_course_status,
    put_local_exercise,
    put_local_template,
    withdraw_media,
    media_status,
    prefetch_media,
];

#[cfg(test)]
mod tests {
    use super::NAMES;
    use std::collections::BTreeSet;

    /// The command names in api.rs: the string literal right after `Call::<constructor>(`,
    /// outside comments.
    fn commands_in(source: &str) -> BTreeSet<String> {
        let code: Vec<&str> = (source.lines())
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        let code = code.join("\n");
        let mut names = BTreeSet::new();
        let mut rest = code.as_str();
        while let Some(at) = rest.find("Call::") {
            rest = &rest[at + "Call::".len()..];
            let constructor = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let after = rest[constructor..].trim_start();
            let Some(args) = after.strip_prefix('(') else {
                continue;
            };
            let Some(literal) = args.trim_start().strip_prefix('"') else {
                continue;
            };
            if let Some(end) = literal.find('"') {
                names.insert(literal[..end].to_string());
            }
        }
        names
    }

    #[test]
    fn finds_commands_across_lines() {
        let src = "call(Call::get(\"me\", \"/me\".into()))\n call(Call::post(\n    \"set_pin\",\n\
                   /// `Call::get(\"cmd\", ..)` in a comment\n";
        assert_eq!(
            commands_in(src),
            BTreeSet::from(["me".to_string(), "set_pin".to_string()])
        );
    }

    #[test]
    fn every_call_in_the_ui_is_a_registered_command_and_back() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/api.rs");
        let source = std::fs::read_to_string(path).expect("reading app/ui/src/api.rs");
        let ui = commands_in(&source);
        assert!(ui.len() >= 10, "found too few commands in api.rs: {ui:?}");
        let shell: BTreeSet<String> = NAMES.iter().map(|s| s.to_string()).collect();
        assert_eq!(NAMES.len(), shell.len(), "a command is registered twice");
        let missing: Vec<_> = ui.difference(&shell).collect();
        let unused: Vec<_> = shell.difference(&ui).collect();
        assert!(
            missing.is_empty(),
            "api.rs calls commands the shell does not register: {missing:?} \
             (add a #[tauri::command] in app/shell/src/commands.rs and its name to registered!)"
        );
        assert!(
            unused.is_empty(),
            "the shell registers commands no Call in api.rs uses: {unused:?}"
        );
    }
}
