//! Every operation the UI calls, declared once in [`for_each_operation!`]: its name, HTTP method
//! and path, request parts (path parameters, query, JSON body), response and who may call it.
//!
//! From that one table come:
//! - a module per operation (`op::log_set`) with its `Request` and a marker `Op` implementing
//!   [`Operation`] (name, method, path, capability, how to assemble and split a request);
//! - the [`Operations`] trait the app service implements, one method per operation, so a
//!   missing or mismatched implementation does not compile;
//! - [`for_each`], which hands every operation's type to a [`Visitor`]: the local HTTP router
//!   adds one generic route per operation, the Tauri shell dispatches its one `call` command
//!   by name, and the UI builds a typed call from a request value.
//!
//! Adding an operation: one line in the table plus its method in the service's `Operations`
//! implementation. (Byte streams — uploading a photo or video, `GET /media/{sha256}`, static
//! files — are not operations: their bodies are not JSON; the transports route them by hand.)

use crate::Capability;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// The HTTP method of an operation (reads are `GET`, everything that changes state `POST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Who may call an operation. The service checks it before the operation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Sign-in, who is signed in, the lock and the status: before or around signing in (each
    /// operation itself says what it needs of the device's state).
    Anyone,
    /// The signed-in person must have this capability (and the app be open).
    Capability(Capability),
}

/// No query parameters (any given are ignored, as before).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoQuery {}

/// `?lang=en`: the language of library texts (Danish when absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

impl LangQuery {
    pub fn of(lang: &str) -> Self {
        LangQuery {
            lang: Some(lang.to_string()),
        }
    }
}

/// One operation, as its marker type `op::<name>::Op`.
pub trait Operation: 'static {
    /// The operation's name: the Tauri `call`'s `operation`, the service's method.
    const NAME: &'static str;
    const METHOD: Method;
    /// The path under `/api`; `{name}` is the request's path parameter `name`.
    const PATH: &'static str;
    /// The request's path parameters, in the order the table names them.
    const PATH_PARAMS: &'static [&'static str];
    const NEEDS: Needs;
    /// The query string's fields ([`NoQuery`] when none).
    type Query: Serialize + DeserializeOwned + Send + 'static;
    /// The JSON body (`()` when none).
    type Body: Serialize + DeserializeOwned + Send + 'static;
    /// Path parameters + `query` + `body`, as one value (what the Tauri `call` carries).
    type Request: Serialize + DeserializeOwned + Send + 'static;
    type Response: Serialize + DeserializeOwned + Send + 'static;

    /// A request from its parts; `None` when `path` lacks a parameter of [`Self::PATH`].
    fn assemble(
        path: &mut dyn FnMut(&str) -> Option<String>,
        query: Self::Query,
        body: Self::Body,
    ) -> Option<Self::Request>;

    /// A request's parts: the path parameters by name, the query, the body.
    fn split(request: Self::Request) -> (Vec<(&'static str, String)>, Self::Query, Self::Body);

    /// Runs the operation on `service` (unchecked: callers go through the service's checked
    /// entry point).
    fn run<S: Operations>(
        service: &S,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, S::Error>> + Send;
}

/// Receives every operation's type from [`for_each`].
pub trait Visitor {
    fn visit<O: Operation>(&mut self);
}

macro_rules! declare_operations {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident: $method:ident $path:literal
            [$($param:ident),*] query $query:ty, body $body:ty => $response:ty, $needs:expr;
    )*) => {
        /// One module per operation: its request and its [`Operation`] marker.
        #[allow(non_camel_case_types)]
        pub mod op {
            $(
                $(#[doc = $doc])*
                pub mod $name {
                    use crate::operations::*;

                    /// The whole request: path parameters, query and body.
                    #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
                    pub struct Request {
                        $(pub $param: String,)*
                        pub query: $query,
                        pub body: $body,
                    }

                    /// The operation's marker type.
                    pub struct Op;

                    impl Operation for Op {
                        const NAME: &'static str = stringify!($name);
                        const METHOD: Method = Method::$method;
                        const PATH: &'static str = $path;
                        const PATH_PARAMS: &'static [&'static str] = &[$(stringify!($param)),*];
                        const NEEDS: Needs = $needs;
                        type Query = $query;
                        type Body = $body;
                        type Request = Request;
                        type Response = $response;

                        #[allow(unused_variables)]
                        fn assemble(
                            path: &mut dyn FnMut(&str) -> Option<String>,
                            query: Self::Query,
                            body: Self::Body,
                        ) -> Option<Request> {
                            Some(Request { $($param: path(stringify!($param))?,)* query, body })
                        }

                        fn split(request: Request) -> (Vec<(&'static str, String)>, $query, $body) {
                            (
                                vec![$((stringify!($param), request.$param)),*],
                                request.query,
                                request.body,
                            )
                        }

                        fn run<S: Operations>(
                            service: &S,
                            request: Request,
                        ) -> impl std::future::Future<Output = Result<$response, S::Error>> + Send {
                            service.$name(request)
                        }
                    }
                }
            )*
        }

        /// What the app service implements: one method per operation. Callers go through the
        /// service's checked entry point (it checks [`Operation::NEEDS`] first).
        pub trait Operations: Sync {
            type Error;
            $(
                $(#[doc = $doc])*
                fn $name(
                    &self,
                    request: op::$name::Request,
                ) -> impl Future<Output = Result<$response, Self::Error>> + Send;
            )*
        }

        /// Hands every operation's type to `visitor`, in the table's order.
        pub fn for_each<V: Visitor>(visitor: &mut V) {
            $(visitor.visit::<op::$name::Op>();)*
        }

        /// Every operation's name, in the table's order.
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

use Capability::*;
use Needs::Anyone;

/// Shorthand for the table.
const fn may(capability: Capability) -> Needs {
    Needs::Capability(capability)
}

declare_operations! {
    // ---- sign-in, lock and sync --------------------------------------------------------------
    /// Who is signed in on this device, if anyone (works offline).
    me: Get "/me" [] query NoQuery, body () => Option<crate::Me>, Anyone;
    /// Signs in online (and keeps the team's staff directory).
    login: Post "/login" [] query NoQuery, body crate::LoginRequest => crate::Me, Anyone;
    status: Get "/status" [] query NoQuery, body () => crate::Status, Anyone;
    /// One sync now.
    sync_now: Post "/sync" [] query NoQuery, body () => crate::Status, Anyone;
    /// Chooses the PIN: right after sign-in or while unlocked.
    set_pin: Post "/pin" [] query NoQuery, body crate::PinRequest => crate::Status, Anyone;
    /// Opens the app with the PIN.
    unlock: Post "/unlock" [] query NoQuery, body crate::PinRequest => crate::Status, Anyone;
    lock: Post "/lock" [] query NoQuery, body () => crate::Status, Anyone;
    /// The person used the app (a tap, a key): the idle lock counts from the last use. Data
    /// requests are not use — screens reload themselves after every background sync, which
    /// would keep an unattended tablet open for ever. Answers the lock's state.
    touch: Post "/touch" [] query NoQuery, body () => crate::LockState, Anyone;
    /// Hands over what is unsynced, ends the sign-in on the server and forgets it here; the
    /// work on the device stays for the next sign-in.
    sign_out: Post "/sign-out" [] query NoQuery, body () => crate::Status, Anyone;
    /// Ends every sign-in of the user on the server: oneself always, a colleague with
    /// manage devices (the server decides).
    sign_out_everywhere: Post "/users/{user}/sign-out-everywhere" [user]
        query NoQuery, body () => crate::SignedOutEverywhere, Anyone;

    // ---- the device registry (#14), on the server -----------------------------------------------
    /// The municipality's staff's devices, most recently seen first.
    devices: Get "/devices" [] query NoQuery, body () => Vec<crate::DeviceRow>, may(ManageDevices);
    /// Revokes a device: it hands over its unsynced work, then erases its data.
    revoke_device: Post "/devices/{device}/revoke" [device]
        query NoQuery, body crate::RevokeDeviceRequest => crate::DeviceRow, may(ManageDevices);
    /// A citizen's access report from the server's audit log (its look-up is logged too).
    access_report: Get "/citizens/{citizen}/access-report" [citizen]
        query NoQuery, body () => crate::AccessReportView, may(SeeAccessLog);

    // ---- retention and erasure (#14), on the server ----------------------------------------------
    /// The municipality's retention, years per kind, with the allowed range.
    retention: Get "/retention" [] query NoQuery, body () => crate::RetentionView, may(ManageRetention);
    /// Sets the municipality's retention; the server refuses years below the legal minimum.
    set_retention: Post "/retention" []
        query NoQuery, body crate::RetentionYears => crate::RetentionView, may(ManageRetention);
    /// What the retention job would erase today.
    retention_due: Get "/retention/due" [] query NoQuery, body () => crate::RetentionDueView, may(ManageRetention);
    /// Erases a citizen everywhere, where the law allows; devices drop their copies at their
    /// next sync.
    erase_citizen: Post "/citizens/{citizen}/erase" [citizen]
        query NoQuery, body crate::EraseCitizenBody => crate::ErasureReceiptView, may(ManageRetention);

    // ---- visits, courses and the guided session --------------------------------------------
    visits: Get "/visits" [] query NoQuery, body () => Vec<crate::Visit>, may(ReadCourses);
    course_detail: Get "/courses/{course}" [course]
        query LangQuery, body () => crate::CourseDetail, may(ReadCourses);
    start_session: Post "/courses/{course}/sessions" [course]
        query NoQuery, body () => crate::StartedSession, may(RunSessions);
    session_summary: Get "/courses/{course}/sessions/{session}" [course, session]
        query NoQuery, body () => crate::SessionSummary, may(ReadCourses);
    /// Logs one set; durable when it answers.
    log_set: Post "/courses/{course}/sessions/{session}/sets" [course, session]
        query NoQuery, body crate::LogSetRequest => crate::SetLogged, may(RunSessions);
    record_feedback: Post "/courses/{course}/sessions/{session}/feedback" [course, session]
        query NoQuery, body crate::FeedbackRequest => crate::Saved, may(RunSessions);
    finish_session: Post "/courses/{course}/sessions/{session}/finish" [course, session]
        query NoQuery, body crate::FinishRequest => crate::SessionSummary, may(RunSessions);
    not_carried_out: Post "/courses/{course}/not-carried-out" [course]
        query NoQuery, body crate::NotCarriedOutRequest => crate::SessionSummary, may(RunSessions);

    // ---- the therapist's and the leader's ------------------------------------------------------
    caseload: Get "/caseload" [] query NoQuery, body () => Vec<crate::CaseloadRow>, may(FollowCourses);
    citizens: Get "/citizens" [] query NoQuery, body () => Vec<crate::CitizenView>, may(FollowCourses);
    create_citizen: Post "/citizens" []
        query NoQuery, body crate::NewCitizen => crate::CitizenView, may(ManageCitizens);
    staff: Get "/staff" [] query NoQuery, body () => Vec<crate::StaffMember>, may(FollowCourses);
    templates: Get "/templates" []
        query LangQuery, body () => Vec<crate::TemplateView>, may(FollowCourses);
    legal_bases: Get "/legal-bases" [] query NoQuery, body () => crate::LegalBases, may(FollowCourses);
    create_course: Post "/courses" []
        query NoQuery, body crate::NewCourse => crate::CourseCreated, may(PrescribeCourses);
    /// The library's search: the query's fields are the query string. (For those who plan
    /// programs: assistants see a line's exercise through the course, not by searching.)
    search_library: Get "/library" []
        query crate::LibraryQuery, body () => crate::LibrarySearch, may(FollowCourses);
    program: Get "/courses/{course}/program" [course]
        query LangQuery, body () => crate::ProgramView, may(FollowCourses);
    save_program: Post "/courses/{course}/program" [course]
        query LangQuery, body crate::SaveProgram => crate::ProgramView, may(PrescribeCourses);
    /// The citizen's copy of the program, to print (logged as the program opened).
    program_sheet: Get "/courses/{course}/program-sheet" [course]
        query LangQuery, body () => crate::ProgramSheet, may(ReadCourses);
    history: Get "/courses/{course}/history" [course]
        query LangQuery, body () => crate::CourseHistory, may(FollowCourses);
    assessment_kinds: Get "/assessment-kinds" []
        query LangQuery, body () => Vec<crate::AssessmentKindView>, may(FollowCourses);
    add_assessment: Post "/courses/{course}/assessments" [course]
        query LangQuery, body crate::NewAssessment => crate::AssessmentView, may(PrescribeCourses);
    overview: Get "/overview" [] query NoQuery, body () => crate::TeamOverview, may(SeeOverview);
    set_course_status: Post "/courses/{course}/status" [course]
        query NoQuery, body crate::CourseStatusChange => crate::Saved, may(PrescribeCourses);
    set_course_frame: Post "/courses/{course}/frame" [course]
        query NoQuery, body crate::CourseFrameChange => crate::Saved, may(PrescribeCourses);

    // ---- effect measurement (#11) ---------------------------------------------------------------
    /// The plan a new course without a template gets (shown, and editable, before creating).
    default_test_plan: Get "/test-plan/default" []
        query NoQuery, body () => crate::TestPlanView, may(FollowCourses);
    set_test_plan: Post "/courses/{course}/test-plan" [course]
        query NoQuery, body crate::TestPlanView => crate::TestPlanView, may(PrescribeCourses);
    due_tests: Get "/courses/{course}/due-tests" [course]
        query NoQuery, body () => Vec<crate::DueTestView>, may(ReadCourses);
    /// The WHO-5 is answered with the assistant during a visit, in that visit's session.
    start_who5: Post "/courses/{course}/sessions/{session}/who5" [course, session]
        query NoQuery, body crate::StartWho5 => crate::Who5Progress, may(RunSessions);
    /// One answer, durable when it answers.
    record_who5_answer: Post "/courses/{course}/sessions/{session}/who5/answers" [course, session]
        query NoQuery, body crate::Who5AnswerRequest => crate::Who5Progress, may(RunSessions);
    /// A delegated test's entry screen on the tablet: the test, the phase due, unit and range.
    delegated_test_form: Get "/courses/{course}/delegated-tests/{test}" [course, test]
        query LangQuery, body () => crate::DelegatedTestForm, may(ReadCourses);
    /// The result of a test the therapist delegated to the assistant, measured on a visit;
    /// refused for a test not delegated on the course or a value outside the test's range.
    record_delegated_test: Post "/courses/{course}/delegated-tests" [course]
        query LangQuery, body crate::DelegatedTestResult => crate::AssessmentView, may(RunSessions);
    set_goal_attainment: Post "/courses/{course}/goals" [course]
        query NoQuery, body crate::GoalRating => crate::Saved, may(PrescribeCourses);
    /// Grants live on the roster (per citizen, across courses), which needs this capability.
    add_care_grant: Post "/citizens/{citizen}/care-grants" [citizen]
        query NoQuery, body crate::NewCareGrant => crate::Saved, may(ManageCitizens);
    /// Home care ended on a day: 0 minutes from then for every service granted before it.
    record_care_ended: Post "/citizens/{citizen}/care-ended" [citizen]
        query NoQuery, body crate::CareEnded => crate::Saved, may(ManageCitizens);
    /// A care-time CSV file: idempotent, never half-applied, a report per line.
    import_care_time: Post "/care-time/import" []
        query NoQuery, body crate::ImportCareTime => crate::ImportReport, may(ManageCitizens);
    /// The import running now, read while its request is pending.
    import_progress: Get "/care-time/import/progress" []
        query NoQuery, body () => crate::ImportProgress, may(ManageCitizens);
    care_follow_ups: Get "/care-time/follow-ups" []
        query NoQuery, body () => Vec<crate::CareFollowUpDue>, may(FollowCourses);
    care_grants: Get "/citizens/{citizen}/care-grants" [citizen]
        query NoQuery, body () => Vec<crate::CareGrantView>, may(FollowCourses);
    effect_summary: Get "/courses/{course}/effect" [course]
        query NoQuery, body () => crate::EffectSummary, may(FollowCourses);
    /// The questionnaire's wording, for the tablet's WHO-5 screens.
    who5_questionnaire: Get "/who5" []
        query LangQuery, body () => crate::Who5Questionnaire, may(ReadCourses);

    // ---- referral and screening (#11) -----------------------------------------------------------
    /// A referral is kept on the team's roster, which needs this capability.
    refer_citizen: Post "/citizens/{citizen}/referrals" [citizen]
        query NoQuery, body crate::NewReferral => crate::ReferralView, may(ManageCitizens);
    referrals: Get "/referrals" [] query LangQuery, body () => Vec<crate::ReferralView>, may(FollowCourses);
    screening_setup: Get "/screening-setup" []
        query LangQuery, body () => crate::ScreeningSetup, may(FollowCourses);
    /// Deciding who gets a course is the prescriber's.
    screen_referral: Post "/referrals/{referral}/screening" [referral]
        query LangQuery, body crate::ScreeningRequest => crate::ReferralView, may(PrescribeCourses);
    referral_funnel: Get "/referrals/funnel" []
        query LangQuery, body () => crate::ReferralFunnel, may(SeeOverview);

    // ---- the municipality's effect settings (#11) ------------------------------------------------
    /// Read by everyone who sees summaries and screenings.
    effect_settings: Get "/effect-settings" []
        query NoQuery, body () => crate::EffectSettingsView, may(FollowCourses);
    /// Stored in the municipality's library document, so its editors set them.
    set_effect_settings: Post "/effect-settings" []
        query NoQuery, body crate::EffectSettingsInput => crate::EffectSettingsView, may(EditLibrary);

    // ---- the leaders' evidence (#12), fetched from the server ---------------------------------------
    /// The server's answer for the period (and team); offline, the last answer kept for the
    /// same period, team and user, marked `offline`.
    evidence: Get "/evidence" []
        query crate::EvidenceQuery, body () => crate::EvidenceView, may(SeeEvidence);
    /// Targets, prices, naming and comparison group (read by leaders, set by admins).
    evidence_settings: Get "/evidence/settings" []
        query NoQuery, body () => crate::EvidenceSettings, may(SeeEvidence);
    /// The server checks the settings; its message is the answer to invalid ones.
    set_evidence_settings: Post "/evidence/settings" []
        query NoQuery, body crate::EvidenceSettings => crate::EvidenceSettings, may(SetEvidenceSettings);
    /// The municipalities on the server, to choose a comparison group from.
    evidence_municipalities: Get "/evidence/municipalities" []
        query NoQuery, body () => Vec<crate::Named>, may(SeeEvidence);
    /// One table of the municipality's BI feed for a period, as CSV (online only).
    bi_export: Get "/bi-export/{table}" [table]
        query crate::BiExportQuery, body () => crate::BiExportFile, may(ExportData);

    // ---- the municipality's own library and media ----------------------------------------------
    put_local_exercise: Post "/library/exercises" []
        query NoQuery, body crate::LocalExerciseInput => crate::LocalItemSaved, may(EditLibrary);
    put_local_template: Post "/library/templates" []
        query NoQuery, body crate::LocalTemplateInput => crate::LocalItemSaved, may(EditLibrary);
    withdraw_media: Post "/library/media/{sha256}/withdraw" [sha256]
        query NoQuery, body () => crate::Saved, may(EditLibrary);
    media_status: Get "/media/status" [] query NoQuery, body () => crate::MediaStatus, Anyone;
    prefetch_media: Post "/media/prefetch" [] query NoQuery, body () => crate::MediaStatus, Anyone;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Collects what the transports rely on: unique names, unique method + path, and every
    /// `{param}` of a path is a field of the request.
    struct Check {
        names: BTreeSet<&'static str>,
        routes: BTreeSet<(String, &'static str)>,
    }

    impl Visitor for Check {
        fn visit<O: Operation>(&mut self) {
            assert!(self.names.insert(O::NAME), "{} declared twice", O::NAME);
            let route = (format!("{:?}", O::METHOD), O::PATH);
            assert!(self.routes.insert(route), "{} {} twice", O::NAME, O::PATH);
            let named: Vec<&str> = (O::PATH.split('/'))
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(O::PATH_PARAMS, named, "{}: path parameters", O::NAME);
            // Where a request can be made without a body, its parts round-trip.
            let query: O::Query = serde_json::from_str("{}").unwrap();
            if let Ok(body) = serde_json::from_str::<O::Body>("null") {
                let made = O::assemble(&mut |p| Some(format!("<{p}>")), query, body);
                let (params, _, _) = O::split(made.expect("assembles"));
                let params: Vec<&str> = params.iter().map(|(p, _)| *p).collect();
                assert_eq!(params, named, "{}: split", O::NAME);
            }
        }
    }

    #[test]
    fn every_operation_has_one_name_one_route_and_its_path_parameters() {
        let mut check = Check {
            names: BTreeSet::new(),
            routes: BTreeSet::new(),
        };
        for_each(&mut check);
        assert_eq!(check.names.len(), NAMES.len());
        assert!(NAMES.contains(&"log_set"));
    }

    #[test]
    fn a_missing_path_parameter_assembles_nothing() {
        let made = <op::log_set::Op as Operation>::assemble(
            &mut |p| (p == "course").then(|| "c".to_string()),
            NoQuery {},
            crate::LogSetRequest {
                line_id: "l".into(),
                reps: Some(1),
                duration_s: None,
                load_kg: None,
            },
        );
        assert!(made.is_none());
    }
}
