//! The app service's implementation of the declared operations ([`Operations`]): each method
//! unpacks its request and calls its function in [`crate::ops`]. [`Core::call`] is the checked
//! entry point every transport uses.

use crate::app_core::Core;
use crate::error::{Error, Result};
use crate::ops::{self, lang};
use homerehab_app_api::{self as api, op, Operation, Operations, Visitor};
use homerehab_core::store::now_ms;
use homerehab_shared::audit::AuditAction;
use std::future::Future;
use std::pin::Pin;

impl Core {
    /// Runs operation `O` if the signed-in person may ([`Operation::NEEDS`]).
    pub async fn call<O: Operation>(&self, request: O::Request) -> Result<O::Response> {
        self.permit(O::NEEDS)?;
        O::run(self, request).await
    }

    /// Runs the operation named `operation` with its request as JSON, answering JSON (the
    /// Tauri transport's one command), checked as [`Core::call`]. An unknown name or a
    /// malformed request is `invalid`.
    pub async fn call_by_name(
        &self,
        operation: &str,
        request: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let mut by_name = ByName {
            core: self,
            operation,
            request: Some(request),
            found: None,
        };
        api::for_each(&mut by_name);
        match by_name.found {
            Some(call) => call.await,
            None => Err(Error::invalid(format!("no operation `{operation}`"))),
        }
    }
}

impl Core {
    /// Records in the device's audit log that the signed-in user opened a view of a citizen's
    /// course (issue #14), once per operation that answered: no look-up of a course is shown
    /// unrecorded.
    fn looked_up(&self, action: AuditAction, course: &str) -> Result<()> {
        let course = crate::ops::convert::course_id(course)?;
        let store = self.store();
        let me = store
            .identity()?
            .ok_or(homerehab_core::error::CoreError::NotSignedIn)?;
        store.record_look_up(me.user_id, action, course, now_ms())?;
        Ok(())
    }
}

type Answer<'a> = Pin<Box<dyn Future<Output = Result<serde_json::Value>> + Send + 'a>>;

/// Finds the operation by its name and prepares its call.
struct ByName<'a> {
    core: &'a Core,
    operation: &'a str,
    request: Option<serde_json::Value>,
    found: Option<Answer<'a>>,
}

impl<'a> Visitor for ByName<'a> {
    fn visit<O: Operation>(&mut self) {
        if O::NAME != self.operation {
            return;
        }
        let (core, request) = (self.core, self.request.take().unwrap_or_default());
        self.found = Some(Box::pin(async move {
            // Who may is checked before the request is even read.
            core.permit(O::NEEDS)?;
            let request: O::Request = serde_json::from_value(request)
                .map_err(|e| Error::invalid(format!("{}: {e}", O::NAME)))?;
            let answer = O::run(core, request).await?;
            serde_json::to_value(answer).map_err(|e| Error::Internal(e.to_string()))
        }));
    }
}

impl Operations for Core {
    type Error = Error;

    async fn me(&self, _: op::me::Request) -> Result<Option<api::Me>> {
        ops::me(self)
    }

    async fn login(&self, r: op::login::Request) -> Result<api::Me> {
        ops::login(self, r.body).await
    }

    async fn status(&self, _: op::status::Request) -> Result<api::Status> {
        ops::status(self)
    }

    async fn sync_now(&self, _: op::sync_now::Request) -> Result<api::Status> {
        ops::sync_now(self).await
    }

    async fn set_pin(&self, r: op::set_pin::Request) -> Result<api::Status> {
        ops::set_pin(self, r.body)
    }

    async fn unlock(&self, r: op::unlock::Request) -> Result<api::Status> {
        ops::unlock(self, r.body)
    }

    async fn lock(&self, _: op::lock::Request) -> Result<api::Status> {
        ops::lock(self)
    }

    async fn touch(&self, _: op::touch::Request) -> Result<api::LockState> {
        ops::touch(self)
    }

    async fn sign_out(&self, _: op::sign_out::Request) -> Result<api::Status> {
        ops::sign_out(self).await
    }

    async fn sign_out_everywhere(
        &self,
        r: op::sign_out_everywhere::Request,
    ) -> Result<api::SignedOutEverywhere> {
        ops::sign_out_everywhere(self, &r.user).await
    }

    async fn devices(&self, _: op::devices::Request) -> Result<Vec<api::DeviceRow>> {
        ops::devices(self).await
    }

    async fn revoke_device(&self, r: op::revoke_device::Request) -> Result<api::DeviceRow> {
        ops::revoke_device(self, &r.device, r.body).await
    }

    async fn access_report(&self, r: op::access_report::Request) -> Result<api::AccessReportView> {
        ops::access_report(self, &r.citizen).await
    }

    async fn retention(&self, _: op::retention::Request) -> Result<api::RetentionView> {
        ops::retention(self).await
    }

    async fn set_retention(&self, r: op::set_retention::Request) -> Result<api::RetentionView> {
        ops::set_retention(self, r.body).await
    }

    async fn retention_due(&self, _: op::retention_due::Request) -> Result<api::RetentionDueView> {
        ops::retention_due(self).await
    }

    async fn erase_citizen(
        &self,
        r: op::erase_citizen::Request,
    ) -> Result<api::ErasureReceiptView> {
        ops::erase_citizen(self, &r.citizen, r.body).await
    }

    async fn visits(&self, _: op::visits::Request) -> Result<Vec<api::Visit>> {
        ops::visits(self, now_ms())
    }

    async fn course_detail(&self, r: op::course_detail::Request) -> Result<api::CourseDetail> {
        let answer = ops::course_detail(self, &r.course, lang(r.query.lang.as_deref()))?;
        self.looked_up(AuditAction::OpenedCourse, &r.course)?;
        Ok(answer)
    }

    async fn start_session(&self, r: op::start_session::Request) -> Result<api::StartedSession> {
        ops::start_session(self, &r.course)
    }

    async fn session_summary(
        &self,
        r: op::session_summary::Request,
    ) -> Result<api::SessionSummary> {
        let answer = ops::session_summary(self, &r.course, &r.session)?;
        self.looked_up(AuditAction::OpenedSession, &r.course)?;
        Ok(answer)
    }

    async fn log_set(&self, r: op::log_set::Request) -> Result<api::SetLogged> {
        ops::log_set(self, &r.course, &r.session, r.body)
    }

    async fn record_feedback(&self, r: op::record_feedback::Request) -> Result<api::Saved> {
        ops::record_feedback(self, &r.course, &r.session, r.body)
    }

    async fn finish_session(&self, r: op::finish_session::Request) -> Result<api::SessionSummary> {
        ops::finish_session(self, &r.course, &r.session, r.body)
    }

    async fn not_carried_out(
        &self,
        r: op::not_carried_out::Request,
    ) -> Result<api::SessionSummary> {
        ops::not_carried_out(self, &r.course, r.body)
    }

    async fn caseload(&self, _: op::caseload::Request) -> Result<Vec<api::CaseloadRow>> {
        ops::caseload(self)
    }

    async fn citizens(&self, _: op::citizens::Request) -> Result<Vec<api::CitizenView>> {
        ops::citizens(self)
    }

    async fn create_citizen(&self, r: op::create_citizen::Request) -> Result<api::CitizenView> {
        ops::create_citizen(self, r.body)
    }

    async fn staff(&self, _: op::staff::Request) -> Result<Vec<api::StaffMember>> {
        ops::staff(self)
    }

    async fn templates(&self, r: op::templates::Request) -> Result<Vec<api::TemplateView>> {
        ops::templates(self, lang(r.query.lang.as_deref()))
    }

    async fn legal_bases(&self, _: op::legal_bases::Request) -> Result<api::LegalBases> {
        ops::legal_bases(self)
    }

    async fn create_course(&self, r: op::create_course::Request) -> Result<api::CourseCreated> {
        ops::create_course(self, r.body)
    }

    async fn search_library(&self, r: op::search_library::Request) -> Result<api::LibrarySearch> {
        ops::search_library(self, r.query)
    }

    async fn program(&self, r: op::program::Request) -> Result<api::ProgramView> {
        let answer = ops::program(self, &r.course, lang(r.query.lang.as_deref()))?;
        self.looked_up(AuditAction::OpenedProgram, &r.course)?;
        Ok(answer)
    }

    async fn save_program(&self, r: op::save_program::Request) -> Result<api::ProgramView> {
        ops::save_program(self, &r.course, r.body, lang(r.query.lang.as_deref()))
    }

    async fn program_sheet(&self, r: op::program_sheet::Request) -> Result<api::ProgramSheet> {
        let answer = ops::program_sheet(self, &r.course, lang(r.query.lang.as_deref()))?;
        self.looked_up(AuditAction::OpenedProgram, &r.course)?;
        Ok(answer)
    }

    async fn history(&self, r: op::history::Request) -> Result<api::CourseHistory> {
        let answer = ops::history(self, &r.course, lang(r.query.lang.as_deref()))?;
        self.looked_up(AuditAction::OpenedHistory, &r.course)?;
        Ok(answer)
    }

    async fn assessment_kinds(
        &self,
        r: op::assessment_kinds::Request,
    ) -> Result<Vec<api::AssessmentKindView>> {
        ops::assessment_kinds(self, lang(r.query.lang.as_deref()))
    }

    async fn add_assessment(&self, r: op::add_assessment::Request) -> Result<api::AssessmentView> {
        ops::add_assessment(self, &r.course, r.body, lang(r.query.lang.as_deref()))
    }

    async fn overview(&self, _: op::overview::Request) -> Result<api::TeamOverview> {
        ops::overview(self)
    }

    async fn set_course_status(&self, r: op::set_course_status::Request) -> Result<api::Saved> {
        ops::set_course_status(self, &r.course, r.body)
    }

    async fn set_course_frame(&self, r: op::set_course_frame::Request) -> Result<api::Saved> {
        ops::set_course_frame(self, &r.course, r.body)
    }

    async fn set_test_plan(&self, r: op::set_test_plan::Request) -> Result<api::TestPlanView> {
        ops::set_test_plan(self, &r.course, r.body)
    }

    async fn default_test_plan(
        &self,
        _: op::default_test_plan::Request,
    ) -> Result<api::TestPlanView> {
        ops::default_test_plan(self)
    }

    async fn delegated_test_form(
        &self,
        r: op::delegated_test_form::Request,
    ) -> Result<api::DelegatedTestForm> {
        ops::delegated_test_form(self, &r.course, &r.test, lang(r.query.lang.as_deref()))
    }

    async fn record_delegated_test(
        &self,
        r: op::record_delegated_test::Request,
    ) -> Result<api::AssessmentView> {
        ops::record_delegated_test(self, &r.course, r.body, lang(r.query.lang.as_deref()))
    }

    async fn due_tests(&self, r: op::due_tests::Request) -> Result<Vec<api::DueTestView>> {
        ops::due_tests(self, &r.course)
    }

    async fn start_who5(&self, r: op::start_who5::Request) -> Result<api::Who5Progress> {
        ops::start_who5(self, &r.course, &r.session, r.body)
    }

    async fn record_who5_answer(
        &self,
        r: op::record_who5_answer::Request,
    ) -> Result<api::Who5Progress> {
        ops::record_who5_answer(self, &r.course, &r.session, r.body)
    }

    async fn set_goal_attainment(&self, r: op::set_goal_attainment::Request) -> Result<api::Saved> {
        ops::set_goal_attainment(self, &r.course, r.body)
    }

    async fn add_care_grant(&self, r: op::add_care_grant::Request) -> Result<api::Saved> {
        ops::add_care_grant(self, &r.citizen, r.body)
    }

    async fn record_care_ended(&self, r: op::record_care_ended::Request) -> Result<api::Saved> {
        ops::record_care_ended(self, &r.citizen, r.body)
    }

    async fn import_care_time(
        &self,
        r: op::import_care_time::Request,
    ) -> Result<api::ImportReport> {
        ops::import_care_time(self, r.body)
    }

    async fn import_progress(
        &self,
        _: op::import_progress::Request,
    ) -> Result<api::ImportProgress> {
        Ok(ops::import_progress(self))
    }

    async fn care_follow_ups(
        &self,
        _: op::care_follow_ups::Request,
    ) -> Result<Vec<api::CareFollowUpDue>> {
        ops::care_follow_ups(self)
    }

    async fn care_grants(&self, r: op::care_grants::Request) -> Result<Vec<api::CareGrantView>> {
        ops::care_grants(self, &r.citizen)
    }

    async fn effect_summary(&self, r: op::effect_summary::Request) -> Result<api::EffectSummary> {
        let answer = ops::effect_summary(self, &r.course)?;
        self.looked_up(AuditAction::OpenedSummary, &r.course)?;
        Ok(answer)
    }

    async fn refer_citizen(&self, r: op::refer_citizen::Request) -> Result<api::ReferralView> {
        ops::refer_citizen(self, &r.citizen, r.body)
    }

    async fn referrals(&self, r: op::referrals::Request) -> Result<Vec<api::ReferralView>> {
        ops::referrals(self, lang(r.query.lang.as_deref()))
    }

    async fn screening_setup(
        &self,
        r: op::screening_setup::Request,
    ) -> Result<api::ScreeningSetup> {
        ops::screening_setup(self, lang(r.query.lang.as_deref()))
    }

    async fn screen_referral(&self, r: op::screen_referral::Request) -> Result<api::ReferralView> {
        ops::screen_referral(self, &r.referral, r.body, lang(r.query.lang.as_deref()))
    }

    async fn referral_funnel(
        &self,
        r: op::referral_funnel::Request,
    ) -> Result<api::ReferralFunnel> {
        ops::referral_funnel(self, lang(r.query.lang.as_deref()))
    }

    async fn who5_questionnaire(
        &self,
        r: op::who5_questionnaire::Request,
    ) -> Result<api::Who5Questionnaire> {
        Ok(ops::who5_questionnaire(lang(r.query.lang.as_deref())))
    }

    async fn effect_settings(
        &self,
        _: op::effect_settings::Request,
    ) -> Result<api::EffectSettingsView> {
        ops::effect_settings(self)
    }

    async fn set_effect_settings(
        &self,
        r: op::set_effect_settings::Request,
    ) -> Result<api::EffectSettingsView> {
        ops::set_effect_settings(self, r.body)
    }

    async fn evidence(&self, r: op::evidence::Request) -> Result<api::EvidenceView> {
        ops::evidence(self, r.query).await
    }

    async fn evidence_settings(
        &self,
        _: op::evidence_settings::Request,
    ) -> Result<api::EvidenceSettings> {
        ops::evidence_settings(self).await
    }

    async fn set_evidence_settings(
        &self,
        r: op::set_evidence_settings::Request,
    ) -> Result<api::EvidenceSettings> {
        ops::set_evidence_settings(self, r.body).await
    }

    async fn evidence_municipalities(
        &self,
        _: op::evidence_municipalities::Request,
    ) -> Result<Vec<api::Named>> {
        ops::evidence_municipalities(self).await
    }

    async fn bi_export(&self, r: op::bi_export::Request) -> Result<api::BiExportFile> {
        ops::bi_export(self, &r.table, r.query).await
    }

    async fn put_local_exercise(
        &self,
        r: op::put_local_exercise::Request,
    ) -> Result<api::LocalItemSaved> {
        ops::put_local_exercise(self, r.body)
    }

    async fn put_local_template(
        &self,
        r: op::put_local_template::Request,
    ) -> Result<api::LocalItemSaved> {
        ops::put_local_template(self, r.body)
    }

    async fn withdraw_media(&self, r: op::withdraw_media::Request) -> Result<api::Saved> {
        ops::withdraw_media(self, &r.sha256)
    }

    async fn media_status(&self, _: op::media_status::Request) -> Result<api::MediaStatus> {
        ops::media_status(self)
    }

    async fn prefetch_media(&self, _: op::prefetch_media::Request) -> Result<api::MediaStatus> {
        ops::prefetch_media(self).await
    }
}
