//! The screens.

mod assessments;
pub mod caseload;
mod course;
// #11 effect settings
mod effect_settings;
pub use effect_settings::EffectSettingsPage;
// #11 course
pub mod effect;
mod history;
mod library;
pub mod new_course;
mod not_carried_out;
mod overview;
mod pin;
mod program_editor;
mod program_sheet;
pub mod session;
mod sign_in;
mod summary;
// #11 plan
pub mod test_plan;
mod visits;
// #11 intake
mod care_time;
mod follow_ups;
pub mod referrals;
pub use care_time::CareTime;
pub use follow_ups::{FollowUps, Funnel};
pub use referrals::{Referrals, Screening};
// #11 intake end
// #14 devices
mod devices;
pub use devices::DevicesPage;
// #14 audit
mod access_report;
pub use access_report::AccessReportPage;
mod retention;
pub use retention::RetentionPage;
// #12 evidence
mod evidence;
pub use evidence::{EvidencePage, EvidenceReportPage, EvidenceSettingsPage};

pub use assessments::Assessments;
pub use caseload::Caseload;
pub use course::CoursePage;
// #11 course
pub use effect::{EffectTab, Who5};
pub use history::History;
pub use library::Library;
pub use new_course::NewCourse;
pub use not_carried_out::NotCarriedOut;
pub use overview::Overview;
pub use pin::{ChoosePin, Unlock};
pub use program_editor::ProgramEditor;
pub use program_sheet::ProgramSheetPage;
pub use session::Session;
pub use sign_in::SignIn;
pub use summary::Summary;
pub use visits::Visits;
// #11 plan
pub use test_plan::DelegatedTest;
