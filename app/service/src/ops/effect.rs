//! Issue #11's operations: the test plan and what is due, WHO-5 per tap, goal attainment,
//! home-care grants and the course's effect summary. The rules are `homerehab_shared::effect`;
//! this module gathers what they need from the documents and shapes the answers.

use super::convert::{assessment_view, course_id, name_of, parse, plan_in, plan_view, session_id};
use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::error::CoreError;
use homerehab_core::store::{now_ms, CourseRow, Store};
use homerehab_shared::assessment;
use homerehab_shared::docs::{CourseDoc, SessionLogDoc};
use homerehab_shared::effect::care_time::{
    begun_before_leaving, care_end_days, care_time_change, ended_since, follow_up_states,
    home_care_ended, left_for_another_reason, may_end_care_on, minutes_in_force, FollowUpState,
};
use homerehab_shared::effect::change::default_norms;
use homerehab_shared::effect::goals::{follow_ups_for, Attainment, GoalFollowUp};
use homerehab_shared::effect::import::{
    not_named, parse_care_time_csv, plan_import, CitizenRefs, ImportChoice, MAX_LISTED_LINES,
};
use homerehab_shared::effect::plan::{
    due_tests as plan_due_tests, window, DelegationError, DueStatus, DueTest, TestPlan,
};
use homerehab_shared::effect::summary::{test_outcomes, NormSubject};
use homerehab_shared::effect::who5::{Who5Answers, Who5Score};
use homerehab_shared::ids::{AssessmentId, CitizenId, CourseId, TeamId};
use homerehab_shared::library::Lang;
use homerehab_shared::model::Millis;
use homerehab_shared::model::{
    self, Assessment, AssessmentPhase, CareGrantRecord, Course, CourseStatus, MeasuredAt,
    SessionStatus,
};
use homerehab_shared::schedule::date_of;
use std::collections::HashMap;

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::invalid(e.to_string())
}

fn course_of(doc: &CourseDoc) -> Result<&Course> {
    doc.course
        .as_ref()
        .ok_or_else(|| Error::not_found("the course has no record on this device yet"))
}

fn json_label<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn phase_label(p: AssessmentPhase) -> String {
    json_label(&p)
}

/// The course's results: its assessments plus every complete WHO-5 answered in a session (as
/// the `who5` result of its phase, dated the day it was begun).
fn results(course: &CourseDoc, log: &SessionLogDoc) -> Vec<Assessment> {
    let mut all: Vec<Assessment> = course.assessments.values().cloned().collect();
    for s in log.sessions.values() {
        let Some(w) = &s.who5 else { continue };
        if let Some(percent) = w.answers().score().percent() {
            all.push(Assessment {
                // Derived, not stored: the id only tells it apart here.
                id: AssessmentId::new(),
                kind: "who5".into(),
                value: percent,
                unit: assessment::kind_of("who5")
                    .map_or("", |k| k.unit)
                    .to_string(),
                date: homerehab_shared::effect::iso(date_of(w.started_at)),
                phase: w.phase,
                by: w.by,
                note: None,
                place: Some(w.place),
            });
        }
    }
    all
}

/// `POST /api/courses/{course}/test-plan`.
pub fn set_test_plan(
    core: &Core,
    course: &str,
    req: api::TestPlanView,
) -> Result<api::TestPlanView> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    course_of(&store.course_doc(id)?)?;
    let plan = plan_in(req)?;
    store.set_test_plan(id, &plan)?;
    Ok(plan_view(&plan))
}

/// The course's planned tests without a result, with where each stands on `today`, and the
/// plan they come from.
fn due_of(store: &mut Store, id: CourseId, now: Millis) -> Result<(Vec<DueTest>, TestPlan)> {
    let doc = store.course_doc(id)?;
    let c = course_of(&doc)?;
    let start = model::parse_date(&c.start_date).map_err(invalid)?;
    let log = store.session_log(id)?;
    let results = results(&doc, &log);
    let recorded = results.iter().map(|a| (a.kind.as_str(), a.phase));
    let plan = doc.test_plan();
    let due = plan_due_tests(start, c.planned_weeks, &plan, recorded, date_of(now));
    Ok((due, plan))
}

fn due_view(d: DueTest, plan: &TestPlan) -> api::DueTestView {
    let (status, days) = match d.status {
        DueStatus::Upcoming { days_until } => ("upcoming", days_until),
        DueStatus::Due { days_left } => ("due", days_left),
        DueStatus::Overdue { days_over } => ("overdue", days_over),
    };
    api::DueTestView {
        label: assessment::kind_of(&d.test)
            .map_or_else(|| d.test.clone(), |k| k.label(Lang::Da).to_string()),
        phase: phase_label(d.phase),
        window_start: homerehab_shared::effect::iso(d.window_start),
        window_end: homerehab_shared::effect::iso(d.window_end),
        status: status.into(),
        days,
        delegated: plan.is_delegated(&d.test),
        test: d.test,
    }
}

/// `GET /api/courses/{course}/due-tests`: planned tests without a result, as of today.
pub fn due_tests(core: &Core, course: &str) -> Result<Vec<api::DueTestView>> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let (due, plan) = due_of(&mut store, id, now_ms())?;
    Ok(due.into_iter().map(|d| due_view(d, &plan)).collect())
}

/// What a caseload row or a visit card prompts for today: the tests worth prompting
/// (`DueTest::worth_prompting`), narrowed by `measures` to those the viewer carries out. A
/// course whose record has not arrived yet prompts nothing, and neither does one whose
/// session log is parked for another user of a shared tablet (their unsent work): one
/// course must not empty the whole list.
pub(crate) fn prompts(
    store: &mut Store,
    id: CourseId,
    now: Millis,
    measures: impl Fn(&api::DueTestView) -> bool,
) -> Result<Vec<api::DueTestView>> {
    let (due, plan) = match due_of(store, id, now) {
        Ok(due) => due,
        Err(Error::NotFound(_) | Error::Core(homerehab_core::error::CoreError::NotFound(_))) => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e),
    };
    Ok(due
        .into_iter()
        .filter(|d| d.worth_prompting())
        .map(|d| due_view(d, &plan))
        .filter(|d| measures(d))
        .collect())
}

/// The phase a delegated test is due in now (its week has begun, no result yet): what a result
/// the assistant enters counts for. The assistant never chooses the phase.
fn delegated_phase_due(
    store: &mut Store,
    id: CourseId,
    test: &str,
    now: Millis,
) -> Result<AssessmentPhase> {
    let (due, plan) = due_of(store, id, now)?;
    if !plan.is_delegated(test) {
        return Err(Error::forbidden(
            DelegationError::NotDelegated(test.to_string()).to_string(),
        ));
    }
    due.into_iter()
        .find(|d| d.test == test && d.status.open())
        .map(|d| d.phase)
        .ok_or_else(|| Error::invalid(format!("no result of `{test}` is due on this course now")))
}

/// `GET /api/courses/{course}/delegated-tests/{test}?lang=`: the tablet's entry screen.
pub fn delegated_test_form(
    core: &Core,
    course: &str,
    test: &str,
    lang: Lang,
) -> Result<api::DelegatedTestForm> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let kind = assessment::kind_of(test).ok_or_else(|| {
        invalid(homerehab_shared::effect::EffectError::UnknownTest(
            test.into(),
        ))
    })?;
    let phase = delegated_phase_due(&mut store, id, test, now_ms())?;
    let doc = store.course_doc(id)?;
    let c = course_of(&doc)?;
    let citizen_name = store
        .roster(c.team_id)
        .ok()
        .and_then(|r| {
            r.citizens
                .get(&c.citizen_id.to_string())
                .map(|ci| ci.name.clone())
        })
        .unwrap_or_default();
    Ok(api::DelegatedTestForm {
        course_id: id.to_string(),
        citizen_name,
        test: kind.key.to_string(),
        label: kind.label(lang).to_string(),
        phase: phase_label(phase),
        unit: kind.unit_label(lang).to_string(),
        min: kind.min,
        max: kind.max,
        whole: kind.whole,
    })
}

/// `POST /api/courses/{course}/delegated-tests?lang=`: the assistant's result of a delegated
/// test, measured today, stored on the course with who measured it and where. Refused for a
/// test not delegated on the course (or not planned for the phase) and for a value the test
/// cannot give: the rule admission applies again on the server
/// (`TestPlan::check_delegated_result`).
pub fn record_delegated_test(
    core: &Core,
    course: &str,
    req: api::DelegatedTestResult,
    lang: Lang,
) -> Result<api::AssessmentView> {
    let id = course_id(course)?;
    let shown = assessment::parse_phase(&req.phase).map_err(invalid)?;
    let place = MeasuredAt::parse(&req.place).map_err(invalid)?;
    let mut store = core.data()?;
    let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
    // The result counts for the phase due now, as the entry screen showed it; a screen opened
    // before a phase began, or a second tap after the result was stored, is refused.
    let phase = delegated_phase_due(&mut store, id, &req.test, now_ms())?;
    if phase != shown {
        return Err(Error::invalid(format!(
            "the {} test of `{}` is due now, not the {}: open the test again",
            phase_label(phase),
            req.test,
            phase_label(shown)
        )));
    }
    let doc = store.course_doc(id)?;
    course_of(&doc)?;
    let kind = doc
        .test_plan()
        .check_delegated_result(&req.test, phase, req.value)
        .map_err(|e| match e {
            DelegationError::Value(v) => invalid(v),
            other => Error::forbidden(other.to_string()),
        })?;
    let a = Assessment {
        id: AssessmentId::new(),
        kind: kind.key.to_string(),
        value: req.value,
        unit: kind.unit.to_string(),
        date: homerehab_shared::effect::iso(date_of(now_ms())),
        phase,
        by: me.user_id,
        note: super::convert::non_empty(req.note),
        place: Some(place),
    };
    store.add_assessment(id, &a)?;
    tracing::info!(course = %id, test = %a.kind, "delegated test recorded");
    let mut names = store.staff_names()?;
    names.entry(me.user_id).or_insert(me.display_name);
    Ok(assessment_view(&a, &names, lang))
}

/// `GET /api/who5?lang=da`: the questionnaire's wording from `shared::effect::who5`.
pub fn who5_questionnaire(lang: Lang) -> api::Who5Questionnaire {
    use homerehab_shared::effect::who5::{ANSWERS, ATTRIBUTION, ITEMS, LEAD_DA, LEAD_EN};
    // Only the Danish and the English versions are in the app so far; a Swedish or Norwegian
    // user reads the English rather than a translation of our own.
    let pick = |(da, en): &(&str, &str)| match lang {
        Lang::Da => (*da).to_string(),
        _ => (*en).to_string(),
    };
    api::Who5Questionnaire {
        lead: pick(&(LEAD_DA, LEAD_EN)),
        items: ITEMS.iter().map(pick).collect(),
        answers: ANSWERS.iter().map(pick).collect(),
        attribution: ATTRIBUTION.to_string(),
    }
}

fn progress(a: Who5Answers) -> api::Who5Progress {
    let (raw, percent, missing) = match a.score() {
        Who5Score::Complete { raw, percent } => (Some(raw), Some(percent), vec![]),
        Who5Score::Incomplete { missing } => (None, None, missing),
        Who5Score::Invalid { .. } => (None, None, vec![]),
    };
    api::Who5Progress {
        answers: a.0.to_vec(),
        missing: missing.into_iter().map(|i| i as u8 + 1).collect(),
        raw,
        percent,
    }
}

/// `POST /api/courses/{course}/sessions/{session}/who5`: begins or resumes the WHO-5.
pub fn start_who5(
    core: &Core,
    course: &str,
    session: &str,
    req: api::StartWho5,
) -> Result<api::Who5Progress> {
    let (id, sid) = (course_id(course)?, session_id(session)?);
    let phase = assessment::parse_phase(&req.phase).map_err(invalid)?;
    let place = match req.place.as_str() {
        "home" => MeasuredAt::Home,
        "clinic" => MeasuredAt::Clinic,
        other => {
            return Err(Error::invalid(format!(
                "`{other}` is not a place; use home or clinic"
            )))
        }
    };
    let mut store = core.data()?;
    let begun = store
        .session_log(id)?
        .sessions
        .get(&sid.to_string())
        .and_then(|s| s.who5.clone());
    match begun {
        // Resumed: the answers given stay under the phase they were given for.
        Some(w) if w.answers().0.iter().any(Option::is_some) => {}
        _ => {
            // The phase is one a WHO-5 is due in now, as the visit card showed it.
            let (due, _) = due_of(&mut store, id, now_ms())?;
            let is_due = due
                .iter()
                .any(|d| d.test == "who5" && d.phase == phase && d.status.open());
            if !is_due {
                return Err(Error::invalid(format!(
                    "no {} WHO-5 is due on this course now",
                    phase_label(phase)
                )));
            }
            store.start_who5(id, sid, phase, place)?;
        }
    }
    let answers = who5_of(&mut store, id, &sid.to_string())?;
    Ok(progress(answers))
}

fn who5_of(store: &mut Store, course: CourseId, session: &str) -> Result<Who5Answers> {
    let log = store.session_log(course)?;
    Ok(log
        .sessions
        .get(session)
        .and_then(|s| s.who5.as_ref())
        .map(|w| w.answers())
        .unwrap_or_default())
}

/// `POST /api/courses/{course}/sessions/{session}/who5/answers`: one tap, saved on its own.
pub fn record_who5_answer(
    core: &Core,
    course: &str,
    session: &str,
    req: api::Who5AnswerRequest,
) -> Result<api::Who5Progress> {
    let (id, sid) = (course_id(course)?, session_id(session)?);
    if !(1..=5).contains(&req.item) || req.answer > 5 {
        return Err(Error::invalid(format!(
            "item {} answer {}: WHO-5 has items 1–5 answered 0–5",
            req.item, req.answer
        )));
    }
    let mut store = core.data()?;
    let answers = store.record_who5_answer(id, sid, usize::from(req.item - 1), req.answer)?;
    Ok(progress(answers))
}

/// `POST /api/courses/{course}/goals`: rates one of the course's goals.
pub fn set_goal_attainment(core: &Core, course: &str, req: api::GoalRating) -> Result<api::Saved> {
    let id = course_id(course)?;
    let attainment: Attainment = serde_json::from_value(serde_json::Value::String(
        req.attainment.clone(),
    ))
    .map_err(|_| {
        Error::invalid(format!(
            "`{}` is not an attainment; use achieved, partly_achieved or not_achieved",
            req.attainment
        ))
    })?;
    let mut store = core.data()?;
    let doc = store.course_doc(id)?;
    if !course_of(&doc)?.goals.contains(&req.goal) {
        return Err(Error::invalid("the course has no such goal"));
    }
    let note = req.note.filter(|n| !n.trim().is_empty());
    store.set_goal_attainment(
        id,
        &GoalFollowUp {
            goal: req.goal,
            attainment: Some(attainment),
            note,
        },
    )?;
    Ok(api::Saved { saved: true })
}

/// `POST /api/citizens/{citizen}/care-grants`: a home-care grant, on the citizen's roster.
pub fn add_care_grant(core: &Core, citizen: &str, req: api::NewCareGrant) -> Result<api::Saved> {
    let citizen: CitizenId = parse("citizen", citizen)?;
    let mut store = core.data()?;
    let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
    // The signed-in user's roster: where `create_citizen` puts citizens.
    let team = me.team_id;
    if !store
        .roster_citizens(team)?
        .contains_key(&citizen.to_string())
    {
        return Err(Error::not_found("no such citizen on this team's roster"));
    }
    let grant = CareGrantRecord {
        citizen_id: citizen,
        effective: req.effective,
        minutes_per_week: req.minutes_per_week,
        service_code: req.service_code.filter(|c| !c.trim().is_empty()),
        recorded_by: me.user_id,
        recorded_at: now_ms(),
    };
    grant.validate().map_err(invalid)?;
    store.put_care_grant(team, &grant)?;
    Ok(api::Saved { saved: true })
}

/// `GET /api/courses/{course}/effect`: tests start → end judged and against norms, goals,
/// home-care minutes baseline → follow-ups, sessions done of planned.
pub fn effect_summary(core: &Core, course: &str) -> Result<api::EffectSummary> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let doc = store.course_doc(id)?;
    let c = course_of(&doc)?.clone();
    let log = store.session_log(id)?;
    let citizens = store.roster_citizens(c.team_id)?;
    let citizen = citizens.get(&c.citizen_id.to_string());
    let subject = citizen.and_then(|ci| {
        Some(NormSubject {
            birth_year: ci.birth_year?,
            sex: ci.sex?,
        })
    });
    let settings = store.effect_settings()?;
    let changes = settings.changes;
    let outcomes = test_outcomes(
        &results(&doc, &log),
        &doc.test_plan(),
        &changes,
        &default_norms(),
        subject,
    );
    let names = store.staff_names()?;
    let rated: Vec<GoalFollowUp> = doc.goal_attainment.values().cloned().collect();
    let goals = follow_ups_for(&c.goals, &rated);
    let start = model::parse_date(&c.start_date).map_err(invalid)?;
    // The course's planned last day (a course record has no end date of its own yet).
    let (_, end) = window(start, c.planned_weeks, AssessmentPhase::End);
    let records = store.care_grants(c.team_id, Some(c.citizen_id))?;
    let grants: Vec<_> = records.iter().filter_map(|g| g.grant().ok()).collect();
    let last_recorded = records.iter().map(|g| g.recorded_on()).max();
    let care = care_time_change(
        &grants,
        start,
        end,
        &settings.follow_up_offsets,
        last_recorded,
        date_of(now_ms()),
    );
    let sessions_done = log
        .sessions
        .values()
        .filter(|s| s.status == SessionStatus::Completed)
        .count() as u32;
    // A course that ended early is not followed up (`CourseStatus::follows_up_care_time`: not
    // in the leaders' figures), nor one of a citizen who died or moved (the worklist leaves them
    // out, `follow_ups_of`): it says so instead of waiting for grants.
    let citizen_left = left_for_another_reason_among(&store.courses()?)
        .get(&c.citizen_id)
        .is_some_and(|last| begun_before_leaving(&c.start_date, last));
    let followed_up = c.status != CourseStatus::EndedEarly && !citizen_left;
    Ok(api::EffectSummary {
        tests: outcomes
            .into_iter()
            .map(|o| api::TestOutcomeView {
                label: assessment::kind_of(&o.test)
                    .map_or_else(|| o.test.clone(), |k| k.label(Lang::Da).to_string()),
                unit: assessment::kind_of(&o.test)
                    .map_or("", |k| k.unit_label(Lang::Da))
                    .to_string(),
                meaningful_change: changes.iter().find(|m| m.test == o.test).map(|m| m.value),
                meaningful_change_source: changes
                    .iter()
                    .find(|m| m.test == o.test)
                    .map(|m| m.source.clone()),
                judgement: o.judgement.map(|j| json_label(&j)),
                norm_mean: o.norm.as_ref().map(|n| n.norm.mean),
                norm_position: o.norm.as_ref().map(|n| json_label(&n.position)),
                start_by: o.start_measured.map(|m| name_of(&names, m.by)),
                start_place: o
                    .start_measured
                    .and_then(|m| m.place)
                    .map(|p| p.as_str().to_string()),
                end_by: o.end_measured.map(|m| name_of(&names, m.by)),
                end_place: o
                    .end_measured
                    .and_then(|m| m.place)
                    .map(|p| p.as_str().to_string()),
                test: o.test,
                start: o.start,
                end: o.end,
            })
            .collect(),
        goals: goals
            .into_iter()
            .map(|g| api::GoalView {
                goal: g.goal,
                attainment: g.attainment.map(|a| json_label(&a)),
                note: g.note,
            })
            .collect(),
        care_baseline_minutes_per_week: care.baseline_minutes_per_week,
        care_follow_ups: care
            .follow_ups
            .into_iter()
            .map(|f| api::CareFollowUpView {
                offset_days: f.offset_days,
                date: homerehab_shared::effect::iso(f.date),
                minutes_per_week: f.minutes_per_week,
                change_minutes: f.change_minutes,
                change_percent: f.change_percent,
                awaiting_grants: f.awaiting_grants && followed_up,
                not_followed_up: !followed_up,
                citizen_left,
            })
            .collect(),
        sessions_done,
        sessions_planned: c.planned_weeks * c.sessions_per_week,
    })
}

/// `POST /api/care-time/import`: parses the file, resolves each line's citizen by the roster's
/// `local_ref`, plans against the grants stored, and stores what the choice allows as one
/// change (so a crash leaves all or nothing). The same file twice stores nothing new.
pub fn import_care_time(core: &Core, req: api::ImportCareTime) -> Result<api::ImportReport> {
    let choice = match req.choice.as_str() {
        "good_lines" => ImportChoice::GoodLines,
        "all_or_nothing" => ImportChoice::AllOrNothing,
        other => {
            return Err(Error::invalid(format!(
                "`{other}` is not a choice; use good_lines or all_or_nothing"
            )))
        }
    };
    let file = req.file.as_bytes();
    let total = file.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let progress = |phase: &str, done: u64, running: bool| {
        let mut p = core
            .import
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *p = api::ImportProgress {
            running,
            phase: phase.into(),
            lines_done: done,
            lines_total: Some(total),
        };
    };
    progress("reading", 0, true);
    // Whatever happens below, the progress ends not running.
    struct Finished<'a>(&'a Core);
    impl Drop for Finished<'_> {
        fn drop(&mut self) {
            let mut p = (self.0.import.lock()).unwrap_or_else(std::sync::PoisonError::into_inner);
            p.running = false;
        }
    }
    let _finished = Finished(core);
    // The parser reports bytes read; the screen shows lines, in proportion.
    let mut reported = 0u64;
    let size = file.len().max(1) as u64;
    let parsed = parse_care_time_csv(file, |byte| {
        if byte >= reported + (64 << 10) {
            reported = byte;
            progress("reading", total * byte / size, true);
        }
    })
    .map_err(invalid)?;
    progress("checking", total, true);
    let mut store = core.data()?;
    let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
    let citizens = store.roster_citizens(me.team_id)?;
    let refs = CitizenRefs::new(
        citizens
            .values()
            .map(|c| (c.id, c.local_ref.as_str(), c.active)),
    );
    let stored_grants = store.care_grants(me.team_id, None)?;
    let stored = stored_grants
        .iter()
        .filter_map(|g| Some((g.citizen_id, g.grant().ok()?)));
    let mut plan = plan_import(&parsed, stored, |r| refs.resolve(r));
    // The file, its parse and the stored grants are done with: let them go before the write,
    // which holds the import's change besides (a 100,000-line file's peak memory).
    drop((refs, stored_grants, parsed, req));
    let now = now_ms();
    // The new grants, and one again for each citizen the file found unchanged: the import
    // says their grants were still so today (`ImportPlan::confirmed`).
    let records: Vec<CareGrantRecord> = plan
        .to_record(choice)
        .map(|p| CareGrantRecord {
            citizen_id: p.citizen,
            effective: homerehab_shared::effect::iso(p.grant.effective),
            minutes_per_week: p.grant.minutes_per_week,
            service_code: p.grant.service_code.clone(),
            recorded_by: me.user_id,
            recorded_at: now,
        })
        .collect();
    // The first lines listed, the rest counted: built only for those listed.
    let mut listed: Vec<_> = plan.bad.iter().collect();
    listed.sort_by_key(|b| b.line);
    listed.truncate(MAX_LISTED_LINES);
    let bad: Vec<api::BadLineView> = listed
        .into_iter()
        .map(|b| {
            let v = serde_json::to_value(&b.problem).unwrap_or_default();
            let problem = v["kind"].as_str().unwrap_or_default().to_string();
            let detail = v.as_object().and_then(|o| {
                o.iter()
                    .find(|(k, _)| *k != "kind")
                    .map(|(_, v)| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            });
            api::BadLineView {
                line: b.line,
                problem,
                detail,
            }
        })
        .collect();
    let bad_total = plan.bad.len() as u64;
    let mut report = api::ImportReport {
        applied: !records.is_empty(),
        imported: plan.to_apply(choice).len() as u32,
        already_present: std::mem::take(&mut plan.already_present),
        duplicates: plan
            .duplicates
            .iter()
            .take(MAX_LISTED_LINES)
            .map(|d| (d.line, d.same_as))
            .collect(),
        duplicates_total: plan.duplicates.len() as u64,
        bad,
        bad_total,
        not_in_file: Vec::new(),
    };
    let named = std::mem::take(&mut plan.named);
    drop(plan);
    if !records.is_empty() {
        progress("saving", total, true);
        store.put_care_grants(me.team_id, &records)?;
        drop(records);
        // Asked once the import is stored (the citizens it confirmed are known now). The
        // import is stored whatever happens here: a failure costs the question, not the answer.
        report.not_in_file = not_in_file(&named, &mut store, me.team_id).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the citizens not in the imported file could not be listed");
            Vec::new()
        });
    }
    progress("done", total, false);
    tracing::info!(
        imported = report.imported,
        bad = report.bad.len(),
        "care-time file imported"
    );
    Ok(report)
}

/// The citizens with a care-time follow-up waiting for grants whom the imported file does not
/// name (`import::not_named`), each once with their earliest such day; not those who left home
/// care for another reason (`care_time::left_for_another_reason`) or are no longer active.
fn not_in_file(
    named: &[CitizenId],
    store: &mut Store,
    team: TeamId,
) -> Result<Vec<api::NotInFileView>> {
    let mut earliest: HashMap<String, api::CareFollowUpDue> = HashMap::new();
    for f in follow_ups_in(store, team)? {
        if f.status != "due" {
            continue;
        }
        match earliest.get(&f.citizen_id) {
            Some(e) if e.date <= f.date => {}
            _ => {
                earliest.insert(f.citizen_id.clone(), f);
            }
        }
    }
    let waiting = earliest
        .into_values()
        .filter_map(|f| Some((f.citizen_id.parse::<CitizenId>().ok()?, f)));
    let asked = not_named(named, waiting, |(c, _)| c);
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let citizens = store.roster_citizens(team)?;
    let mut records: HashMap<CitizenId, Vec<CareGrantRecord>> = HashMap::new();
    for g in store.care_grants(team, None)? {
        records.entry(g.citizen_id).or_default().push(g);
    }
    let today = date_of(now_ms());
    let mut out = Vec::with_capacity(asked.len());
    for (citizen, f) in asked {
        if !citizens.get(&f.citizen_id).is_some_and(|c| c.active) {
            continue;
        }
        let theirs = records.get(&citizen).map(Vec::as_slice).unwrap_or_default();
        let grants: Vec<_> = theirs.iter().filter_map(|g| g.grant().ok()).collect();
        let waiting = model::parse_date(&f.date).ok();
        let minutes = waiting.and_then(|on| minutes_in_force(&grants, on));
        let last_recorded = theirs.iter().map(|g| g.recorded_on()).max();
        let days = care_end_days(&grants, last_recorded, waiting, today);
        out.push(api::NotInFileView {
            citizen_id: f.citizen_id,
            citizen_name: f.citizen_name,
            local_ref: f.local_ref,
            follow_up_date: f.date,
            minutes_per_week: minutes,
            last_recorded: last_recorded.map(homerehab_shared::effect::iso),
            ended_since: ended_since(&grants, today).map(homerehab_shared::effect::iso),
            first_end_day: days
                .and_then(|(first, _)| first)
                .map(homerehab_shared::effect::iso),
            last_end_day: days.map(|(_, last)| homerehab_shared::effect::iso(last)),
        });
    }
    out.sort_by(|a, b| {
        (a.follow_up_date.as_str(), a.citizen_name.as_str())
            .cmp(&(b.follow_up_date.as_str(), b.citizen_name.as_str()))
    });
    Ok(out)
}

/// The citizens of whom one of `courses` ended early because they left home care for another
/// reason than the course (`care_time::left_for_another_reason`: died, moved), each with the
/// start of the last such course (`care_time::begun_before_leaving` tells a course from before
/// they left from a return), from what the device's course rows hold (no document is read).
fn left_for_another_reason_among(courses: &[CourseRow]) -> HashMap<CitizenId, String> {
    let mut left: HashMap<CitizenId, String> = HashMap::new();
    for c in courses.iter().filter(|c| ended_as_citizen_left(c)) {
        let last = left.entry(c.citizen_id).or_default();
        if *last < c.start_date {
            last.clone_from(&c.start_date);
        }
    }
    left
}

/// Whether `citizen` is away from home care for another reason than a course as far as the
/// team knows: a course of theirs ended because they died or moved, and none was begun after
/// (a course only planned has not begun: it may never).
fn still_left(
    left: &HashMap<CitizenId, String>,
    courses: &[CourseRow],
    citizen: CitizenId,
) -> bool {
    left.get(&citizen).is_some_and(|last| {
        !courses.iter().any(|c| {
            c.citizen_id == citizen
                && c.status != CourseStatus::Planned.as_str()
                && !begun_before_leaving(&c.start_date, last)
        })
    })
}

/// Whether `course` ended early because its citizen died or moved.
fn ended_as_citizen_left(course: &CourseRow) -> bool {
    course.status == CourseStatus::EndedEarly.as_str()
        && left_for_another_reason(course.end_reason.as_deref())
}

/// `POST /api/citizens/{citizen}/care-ended`: the citizen's home care ended on a day. Stored as
/// the care record system would hold it: 0 minutes from that day for each service
/// (`care_time::home_care_ended`), recorded now, so follow-ups on or before today are known —
/// hence only a day `care_time::may_end_care_on` allows, and not for a citizen who left for
/// another reason (died, moved: no outcome of a course).
pub fn record_care_ended(core: &Core, citizen: &str, req: api::CareEnded) -> Result<api::Saved> {
    let citizen: CitizenId = parse("citizen", citizen)?;
    let on = model::parse_date(&req.date).map_err(invalid)?;
    let now = now_ms();
    let mut store = core.data()?;
    let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
    let team = me.team_id;
    let Some(who) = store.roster_citizens(team)?.remove(&citizen.to_string()) else {
        return Err(Error::not_found("no such citizen on this team's roster"));
    };
    let courses = store.courses()?;
    let left = left_for_another_reason_among(&courses);
    if !who.active || still_left(&left, &courses, citizen) {
        return Err(Error::invalid(
            "the citizen left home care for another reason than the course (died, moved or no longer active): it is not recorded as an end of home care",
        ));
    }
    let records = store.care_grants(team, Some(citizen))?;
    let grants: Vec<_> = records.iter().filter_map(|g| g.grant().ok()).collect();
    let last_recorded = records.iter().map(|g| g.recorded_on()).max();
    let citizen_key = citizen.to_string();
    let earliest_waiting = follow_ups_of(&mut store, team, courses, &left)?
        .into_iter()
        .filter(|f| f.citizen_id == citizen_key && f.status == "due")
        .filter_map(|f| model::parse_date(&f.date).ok())
        .min();
    may_end_care_on(on, &grants, last_recorded, earliest_waiting, date_of(now)).map_err(invalid)?;
    let ended: Vec<CareGrantRecord> = home_care_ended(&grants, on)
        .into_iter()
        .map(|g| CareGrantRecord {
            citizen_id: citizen,
            effective: homerehab_shared::effect::iso(g.effective),
            minutes_per_week: 0,
            service_code: g.service_code,
            recorded_by: me.user_id,
            recorded_at: now,
        })
        .collect();
    for r in &ended {
        r.validate().map_err(invalid)?;
    }
    store.put_care_grants(team, &ended)?;
    Ok(api::Saved { saved: true })
}

/// `GET /api/care-time/import/progress`.
pub fn import_progress(core: &Core) -> api::ImportProgress {
    core.import
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// `GET /api/care-time/follow-ups`: the care-time follow-ups after the planned end of each
/// course they are asked for (see `follows_up_care_time`), due ones first (the rule is
/// `care_time::follow_up_states`).
pub fn care_follow_ups(core: &Core) -> Result<Vec<api::CareFollowUpDue>> {
    let mut store = core.data()?;
    let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
    follow_ups_in(&mut store, me.team_id)
}

/// Every care-time follow-up of the team's courses as the store holds them now, due first:
/// of the courses whose follow-ups are asked for (`CourseStatus::follows_up_care_time`), not
/// of a citizen who died or moved (`care_time::left_for_another_reason`: no grant would say
/// anything about the course, and "no home care" would count a death as success).
fn follow_ups_in(store: &mut Store, team: TeamId) -> Result<Vec<api::CareFollowUpDue>> {
    let courses = store.courses()?;
    let left = left_for_another_reason_among(&courses);
    follow_ups_of(store, team, courses, &left)
}

/// [`follow_ups_in`] of the team's `courses`, `left` those of citizens who died or moved
/// ([`left_for_another_reason_among`]), when the caller has them already.
fn follow_ups_of(
    store: &mut Store,
    team: TeamId,
    courses: Vec<CourseRow>,
    left: &HashMap<CitizenId, String>,
) -> Result<Vec<api::CareFollowUpDue>> {
    let citizens = match store.roster_citizens(team) {
        Ok(r) => r,
        Err(CoreError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let all_grants = store.care_grants(team, None)?;
    let mut by_citizen: HashMap<CitizenId, Vec<&CareGrantRecord>> = HashMap::new();
    for g in &all_grants {
        by_citizen.entry(g.citizen_id).or_default().push(g);
    }
    let today = date_of(now_ms());
    let offsets = store.effect_settings()?.follow_up_offsets;
    let mut out = Vec::new();
    for c in courses {
        let followed =
            CourseStatus::parse(&c.status).is_some_and(CourseStatus::follows_up_care_time);
        let before_leaving = left
            .get(&c.citizen_id)
            .is_some_and(|last| begun_before_leaving(&c.start_date, last));
        if !followed || before_leaving {
            continue;
        }
        let Ok(start) = model::parse_date(&c.start_date) else {
            continue;
        };
        let (_, end) = window(start, c.planned_weeks, AssessmentPhase::End);
        let records = by_citizen.get(&c.citizen_id).cloned().unwrap_or_default();
        let grants: Vec<_> = records.iter().filter_map(|g| g.grant().ok()).collect();
        let last_recorded = records.iter().map(|g| g.recorded_on()).max();
        let citizen = citizens.get(&c.citizen_id.to_string());
        for (offset, date, state) in follow_up_states(end, &offsets, last_recorded, today) {
            let status = match state {
                FollowUpState::Upcoming { .. } => "upcoming",
                FollowUpState::Due { .. } => "due",
                FollowUpState::Recorded => "recorded",
            };
            out.push(api::CareFollowUpDue {
                course_id: c.id.to_string(),
                citizen_id: c.citizen_id.to_string(),
                citizen_name: citizen.map(|z| z.name.clone()).unwrap_or_default(),
                local_ref: citizen.map(|z| z.local_ref.clone()).unwrap_or_default(),
                offset_days: offset,
                date: homerehab_shared::effect::iso(date),
                status: status.into(),
                minutes_per_week: (state == FollowUpState::Recorded)
                    .then(|| minutes_in_force(&grants, date))
                    .flatten(),
            });
        }
    }
    let rank = |s: &str| match s {
        "due" => 0,
        "upcoming" => 1,
        _ => 2,
    };
    out.sort_by(|a, b| {
        rank(&a.status)
            .cmp(&rank(&b.status))
            .then_with(|| a.date.cmp(&b.date))
            .then_with(|| a.citizen_name.cmp(&b.citizen_name))
    });
    Ok(out)
}

/// `GET /api/citizens/{citizen}/care-grants`: the citizen's grants, newest first.
pub fn care_grants(core: &Core, citizen: &str) -> Result<Vec<api::CareGrantView>> {
    let citizen: CitizenId = parse("citizen", citizen)?;
    let store = core.data()?;
    let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
    let names = store.staff_names()?;
    let mut grants: Vec<api::CareGrantView> = store
        .care_grants(me.team_id, Some(citizen))?
        .iter()
        .map(|g| api::CareGrantView {
            effective: g.effective.clone(),
            minutes_per_week: g.minutes_per_week,
            service_code: g.service_code.clone(),
            recorded_by_name: names.get(&g.recorded_by).cloned().unwrap_or_default(),
            recorded_at: g.recorded_at,
        })
        .collect();
    grants.sort_by(|a, b| b.effective.cmp(&a.effective));
    Ok(grants)
}
