//! The therapist's and the leader's operations: caseload, citizens, staff, templates, course
//! creation, library search, the program editor, history with trends, assessments and the
//! team overview. Rules live in `homerehab_shared` (`caseload`, `stats`, `assessment`,
//! `program`, `auth`), rows come from the store's projection queries; this module parses the
//! request and shapes the answer ([`Core::call`] checked the capability before).

use super::convert::{
    assessment_view, course_id, dosage_in, dosage_view, exercise_title, line_view, name_of,
    non_empty, outcome_out, parse, plan_in, plan_view, status_label, UNKNOWN,
};
use super::municipal_library::line_media;
use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::error::CoreError;
use homerehab_core::store::{now_ms, CaseloadFacts, Identity, Store};
use homerehab_shared::auth::{Capabilities, Capability};
use homerehab_shared::docs::CourseDoc;
use homerehab_shared::effect::plan::{plan_for_new_course, TestPlan};
use homerehab_shared::ids::{CitizenId, CourseId, RevisionId, UserId};
use homerehab_shared::library::search::Query;
use homerehab_shared::library::{pick, BodyArea, Category, Equipment, Lang, Position, Status, Tag};
use homerehab_shared::model::{
    self, Assessment, Citizen, Course, CourseStatus, LegalBasis, MeasuredAt, Millis,
};
use homerehab_shared::municipal;
use homerehab_shared::program::{self, EditedLine};
use homerehab_shared::{assessment, caseload, rules, schedule, stats};
use std::collections::HashMap;

/// Library hits answered per search; `total` says how many matched.
pub const SEARCH_HITS: usize = 50;
/// The leader's overview looks back this many days.
const OVERVIEW_DAYS: i64 = 28;

/// The signed-in person (who may do the operation: [`Core::call`] checked its capability).
fn identity(store: &Store) -> Result<Identity> {
    Ok(store.identity()?.ok_or(CoreError::NotSignedIn)?)
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::invalid(e.to_string())
}

/// A status as the projections store it; an unknown one reads as planned.
fn course_status(label: &str) -> CourseStatus {
    CourseStatus::parse(label).unwrap_or(CourseStatus::Planned)
}

fn flag_view(f: caseload::Flag) -> api::CourseFlag {
    match f {
        caseload::Flag::NoRecentSession { days } => api::CourseFlag::NoRecentSession { days },
        caseload::Flag::LowAdherence { percent } => api::CourseFlag::LowAdherence { percent },
        caseload::Flag::HighPain { pain } => api::CourseFlag::HighPain { pain },
        caseload::Flag::ProgramConflict => api::CourseFlag::ProgramConflict,
    }
}

// ---- caseload -------------------------------------------------------------------------------

fn caseload_row(
    f: CaseloadFacts,
    names: &HashMap<UserId, String>,
    now: Millis,
) -> api::CaseloadRow {
    // Stored courses passed validation, so the date parses; today is a harmless fallback.
    let start = model::parse_date(&f.start_date).unwrap_or_else(|_| schedule::date_of(now));
    let state = caseload::assess(
        &caseload::CourseFacts {
            status: course_status(&f.status),
            start,
            planned_weeks: f.planned_weeks,
            sessions_per_week: f.sessions_per_week,
            sessions_done: f.sessions_done,
            last_session_at: f.last_session_at,
            recent_max_pain: f.recent_max_pain,
            program_conflicts: f.program_conflicts,
        },
        now,
    );
    api::CaseloadRow {
        course_id: f.id.to_string(),
        citizen_id: f.citizen_id.to_string(),
        citizen_name: f.citizen_name.unwrap_or_default(),
        legal_basis: f.legal_basis,
        status: f.status,
        start_date: f.start_date,
        planned_weeks: f.planned_weeks,
        week_of_course: state.week_of_course,
        sessions_per_week: f.sessions_per_week,
        sessions_done: f.sessions_done,
        sessions_planned_so_far: state.sessions_planned_so_far,
        adherence_percent: state.adherence_percent,
        last_session_at: f.last_session_at,
        recent_max_pain: f.recent_max_pain,
        revision_number: f.revision_count,
        responsible_therapist: name_of(names, f.responsible_therapist),
        flags: state.flags.into_iter().map(flag_view).collect(),
        tests_due: Vec::new(),
    }
}

/// Every course on the device at `now`: open courses first, the most flags first, then by
/// citizen name.
fn caseload_rows(store: &mut Store, now: Millis) -> Result<Vec<api::CaseloadRow>> {
    let names = store.staff_names()?;
    let mut rows: Vec<_> = store
        .caseload_facts(caseload::pain_window_start(now))?
        .into_iter()
        .map(|f| caseload_row(f, &names, now))
        .collect();
    let closed = |r: &api::CaseloadRow| matches!(r.status.as_str(), "completed" | "ended_early");
    for row in rows.iter_mut().filter(|r| !closed(r)) {
        let id = course_id(&row.course_id)?;
        row.tests_due = super::effect::prompts(store, id, now, |_| true)?;
    }
    rows.sort_by(|a, b| {
        closed(a)
            .cmp(&closed(b))
            .then(b.flags.len().cmp(&a.flags.len()))
            .then_with(|| a.citizen_name.cmp(&b.citizen_name))
    });
    Ok(rows)
}

/// `GET /api/caseload`.
pub fn caseload(core: &Core) -> Result<Vec<api::CaseloadRow>> {
    let mut store = core.data()?;
    caseload_rows(&mut store, now_ms())
}

// ---- citizens and staff ---------------------------------------------------------------------

/// `GET /api/citizens`: the active citizens on the device's roster, by name.
pub fn citizens(core: &Core) -> Result<Vec<api::CitizenView>> {
    let store = core.data()?;
    Ok(store
        .citizen_rows()?
        .into_iter()
        .map(|c| api::CitizenView {
            citizen_id: c.id.to_string(),
            name: c.name,
            local_ref: c.local_ref,
            address: c.address,
            assigned: c.assigned,
            open_course_id: c.open_course.map(|c| c.to_string()),
            birth_year: c.birth_year.and_then(|y| u16::try_from(y).ok()),
            sex: c.sex,
        })
        .collect())
}

/// `POST /api/citizens`: puts a citizen on the signed-in user's team roster.
pub fn create_citizen(core: &Core, req: api::NewCitizen) -> Result<api::CitizenView> {
    let mut store = core.data()?;
    let me = identity(&store)?;
    let local_ref = req.local_ref.trim().to_string();
    if model::looks_like_cpr(&local_ref) {
        return Err(Error::invalid(
            "the reference looks like a CPR number: use the municipality's case number instead",
        ));
    }
    // One active citizen per case number: a second record splits the citizen's courses and
    // grants, and makes every care-time import line for the number ambiguous.
    let roster = match store.roster_citizens(me.team_id) {
        Ok(r) => r,
        Err(CoreError::NotFound(_)) => Default::default(),
        Err(e) => return Err(e.into()),
    };
    let refs = homerehab_shared::effect::import::CitizenRefs::new(
        roster.values().map(|c| (c, c.local_ref.as_str(), c.active)),
    );
    if let Some(holder) = refs.active_holder(&local_ref) {
        return Err(Error::invalid(format!(
            "{} already has the reference `{local_ref}` on your roster: choose them instead",
            holder.name
        )));
    }
    let staff = store.staff(me.team_id)?;
    let mut assigned = std::collections::BTreeMap::new();
    for a in &req.assigned {
        let user: UserId = parse("user", a)?;
        // Checked when the team's directory is on the device (it is after a sync).
        if !staff.is_empty() && !staff.iter().any(|s| s.user_id == user) {
            return Err(Error::invalid(format!(
                "{a} is not a member of your team; choose an assistant from the staff list"
            )));
        }
        assigned.insert(user.to_string(), true);
    }
    let citizen = Citizen {
        id: CitizenId::new(),
        name: req.name.trim().to_string(),
        local_ref,
        address: non_empty(req.address),
        assigned,
        active: true,
        birth_year: super::screening::birth_year(req.birth_year)?,
        sex: super::screening::sex(req.sex.as_deref())?,
    };
    citizen.validate().map_err(invalid)?;
    store.put_citizen(&citizen)?;
    tracing::info!(citizen = %citizen.id, "citizen added to the roster");
    Ok(api::CitizenView {
        citizen_id: citizen.id.to_string(),
        name: citizen.name,
        local_ref: citizen.local_ref,
        address: citizen.address,
        assigned: citizen.assigned.into_keys().collect(),
        open_course_id: None,
        birth_year: citizen.birth_year.and_then(|y| u16::try_from(y).ok()),
        sex: super::screening::sex_label(citizen.sex),
    })
}

/// `GET /api/staff`: the signed-in user's team, as the server last said (empty before the
/// first sign-in that carried it).
pub fn staff(core: &Core) -> Result<Vec<api::StaffMember>> {
    let store = core.data()?;
    let me = identity(&store)?;
    Ok(store
        .staff(me.team_id)?
        .into_iter()
        .map(|s| api::StaffMember {
            user_id: s.user_id.to_string(),
            display_name: s.display_name,
            role: s.role.as_str().to_string(),
            runs_sessions: Capabilities::of(s.role).allows(Capability::RunSessions),
        })
        .collect())
}

// ---- templates and course creation ----------------------------------------------------------

/// The test plan a course from a template with `template_plan` gets
/// ([`plan_for_new_course`]).
fn new_course_plan(store: &mut Store, template_plan: Option<&TestPlan>) -> Result<TestPlan> {
    let municipal = store.effect_settings()?.default_test_plan;
    Ok(plan_for_new_course(template_plan, municipal.as_ref()))
}

/// `GET /api/test-plan/default`: the plan of a new course without a template (the
/// municipality's default, else the shipped one).
pub fn default_test_plan(core: &Core) -> Result<api::TestPlanView> {
    let mut store = core.data()?;
    Ok(plan_view(&new_course_plan(&mut store, None)?))
}

/// `GET /api/templates?lang=`: the active templates, by title.
pub fn templates(core: &Core, lang: Lang) -> Result<Vec<api::TemplateView>> {
    let mut store = core.data()?;
    let library = core.library_in(&mut store)?;
    let municipal = store.effect_settings()?.default_test_plan;
    let mut out: Vec<_> = library
        .templates
        .values()
        .filter(|t| t.status == Status::Active)
        .filter_map(|t| {
            let text = pick(&t.text, lang)?;
            Some(api::TemplateView {
                template_id: t.id.to_string(),
                title: text.title.clone(),
                description: text.description.clone(),
                goals: text.goals.clone(),
                legal_basis: t.legal_basis.0.clone(),
                planned_weeks: u32::from(t.frame.weeks),
                sessions_per_week: u32::from(t.frame.sessions_per_week),
                minutes_per_session: u32::from(t.frame.minutes_per_session),
                exercise_count: t.exercises.len() as u32,
                source: source_of(t.id.as_str()).into(),
                references: t.references.clone(),
                test_plan: plan_view(&plan_for_new_course(
                    t.test_plan.as_ref(),
                    municipal.as_ref(),
                )),
            })
        })
        .collect();
    out.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(out)
}

/// `GET /api/legal-bases`.
pub fn legal_bases(_core: &Core) -> Result<api::LegalBases> {
    Ok(api::LegalBases {
        known: LegalBasis::KNOWN.iter().map(|s| s.to_string()).collect(),
    })
}

/// `POST /api/courses`: a course for a citizen on the roster, from scratch or a template. It
/// is active from its start date on (planned before), so it shows on the assistants' visits.
pub fn create_course(core: &Core, req: api::NewCourse) -> Result<api::CourseCreated> {
    let mut store = core.data()?;
    let me = identity(&store)?;
    let citizen: CitizenId = parse("citizen", &req.citizen_id)?;
    let on_roster = match store.roster_citizen(me.team_id, citizen) {
        Ok(c) => c.is_some(),
        Err(CoreError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    if !on_roster {
        return Err(Error::invalid(
            "the citizen is not on your team's roster: add them first",
        ));
    }
    let referral = match req.referral_id.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(super::screening::check_course_referral(
            &mut store, r, citizen,
        )?),
        None => None,
    };
    let start = model::parse_date(&req.start_date)
        .map_err(|e| Error::invalid(format!("start date: {}", e.problem)))?;
    let (program, template_plan) = match req.template_id.as_deref().filter(|t| !t.is_empty()) {
        None => (Vec::new(), None),
        Some(t) => {
            // Program texts (load notes) in the team's language.
            let draft = core
                .library_in(&mut store)?
                .draft_from_template(t, Lang::Da)
                .map_err(|_| {
                    Error::invalid(format!(
                        "there is no template `{t}`; choose one from the list"
                    ))
                })?;
            (draft.program, draft.test_plan)
        }
    };
    // The therapist's edit of the plan shown before creating wins; else the rule's choice.
    let test_plan = match req.test_plan {
        Some(edited) => plan_in(edited)?,
        None => new_course_plan(&mut store, template_plan.as_ref())?,
    };
    let now = now_ms();
    let status = CourseStatus::first(start, schedule::date_of(now));
    let course = Course {
        legal_basis: LegalBasis(req.legal_basis.trim().to_string()),
        planned_weeks: req.planned_weeks,
        sessions_per_week: req.sessions_per_week,
        minutes_per_session: req.minutes_per_session,
        goals: req
            .goals
            .into_iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect(),
        status,
        ..Course::new(citizen, me.team_id, me.user_id, &req.start_date, now)
    };
    course.validate().map_err(invalid)?;
    store.create_course_with(&course, &program, Some(&test_plan), referral)?;
    let revision_number = store.course_doc(course.id)?.program.revision_list().len() as u32;
    tracing::info!(course = %course.id, lines = program.len(), "course created");
    Ok(api::CourseCreated {
        course_id: course.id.to_string(),
        revision_number,
    })
}

// ---- library search -------------------------------------------------------------------------

/// `shipped` or `municipality`, for the UI's badge.
fn source_of(id: &str) -> &'static str {
    if municipal::is_municipal(id) {
        "municipality"
    } else {
        "shipped"
    }
}

fn tag<T: Tag>(what: &str, key: Option<&str>) -> Result<Option<T>> {
    match key.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => T::parse(k).map(Some).ok_or_else(|| {
            let keys: Vec<_> = T::ALL.iter().map(|t| t.key()).collect();
            Error::invalid(format!(
                "`{k}` is not a {what}; use one of {}",
                keys.join(", ")
            ))
        }),
    }
}

fn options<T: Tag>(lang: Lang) -> Vec<api::FilterOption> {
    T::ALL
        .iter()
        .map(|t| api::FilterOption {
            key: t.key().to_string(),
            label: t.label(lang).to_string(),
        })
        .collect()
}

/// `GET /api/library`: the first [`SEARCH_HITS`] matches, best first. The equipment filter is
/// what the home has: exercises that need nothing beyond it (`none`: no equipment at all).
pub fn search_library(core: &Core, q: api::LibraryQuery) -> Result<api::LibrarySearch> {
    let library = {
        let mut store = core.data()?;
        core.library_in(&mut store)?
    };
    let lang = super::convert::lang(q.lang.as_deref());
    let query = Query {
        text: q.q.clone(),
        category: tag::<Category>("category", q.category.as_deref())?,
        position: tag::<Position>("position", q.position.as_deref())?,
        available_equipment: tag::<Equipment>("kind of equipment", q.equipment.as_deref())?
            .map(|e| vec![e]),
        body_area: tag::<BodyArea>("body area", q.body_area.as_deref())?,
        max_difficulty: None,
    };
    let index = core.search_index(&library);
    let found = index.search(&query);
    let hits = found
        .iter()
        .take(SEARCH_HITS)
        .filter_map(|id| library.exercise(id.as_str()))
        .map(|e| {
            let text = e.text(lang);
            let municipal = municipal::is_municipal(e.id.as_str());
            api::LibraryHit {
                exercise_ref: e.id.to_string(),
                title: text.title.clone(),
                summary: text.summary.clone(),
                // The municipality's exercises have photos and videos, not drawings.
                illustration: (!municipal)
                    .then(|| format!("/illustrations/{}", e.illustration_file())),
                category: e.category.key().to_string(),
                position: e.position.key().to_string(),
                equipment: e.equipment.iter().map(|x| x.key().to_string()).collect(),
                body_areas: e.body_areas.iter().map(|x| x.key().to_string()).collect(),
                difficulty: e.difficulty.get(),
                default_dosage: dosage_view(&e.dosage.to_program(lang)),
                source: source_of(e.id.as_str()).into(),
            }
        })
        .collect();
    Ok(api::LibrarySearch {
        hits,
        total: found.len() as u32,
        categories: options::<Category>(lang),
        positions: options::<Position>(lang),
        equipment: options::<Equipment>(lang),
        body_areas: options::<BodyArea>(lang),
    })
}

// ---- the program editor ---------------------------------------------------------------------

/// The citizen's name from the roster document (empty until it is on the device).
fn citizen_name(store: &mut Store, course: &Course) -> Result<String> {
    match store.roster_citizen(course.team_id, course.citizen_id) {
        Ok(c) => Ok(c.map(|c| c.name).unwrap_or_default()),
        Err(CoreError::NotFound(_)) => Ok(String::new()),
        Err(e) => Err(e.into()),
    }
}

fn course_of(doc: &CourseDoc) -> Result<&Course> {
    doc.course
        .as_ref()
        .ok_or_else(|| Error::not_found("the course has no record on this device yet"))
}

fn program_view(
    core: &Core,
    store: &mut Store,
    id: CourseId,
    lang: Lang,
) -> Result<api::ProgramView> {
    let library = core.library_in(store)?;
    let local = store.library_doc()?;
    let doc = store.course_doc(id)?;
    let course = course_of(&doc)?;
    let names = store.staff_names()?;
    let revisions = doc.program.revision_list();
    let lines: HashMap<String, &model::ProgramExercise> = doc
        .program
        .exercises
        .iter()
        .map(|(k, v)| (k.clone(), v))
        .collect();
    let conflicts = store
        .program_conflicts(id)?
        .into_iter()
        .map(|c| api::ProgramConflictView {
            exercise_title: lines
                .get(&c.line)
                .map(|l| exercise_title(&library, &l.exercise_ref, lang))
                .unwrap_or_default(),
            line_id: c.line,
            field: c.field,
            kept: c.values.first().cloned().unwrap_or_default(),
            other: c.values.get(1..).unwrap_or_default().join(" / "),
        })
        .collect();
    Ok(api::ProgramView {
        course_id: id.to_string(),
        citizen_name: citizen_name(store, course)?,
        legal_basis: course.legal_basis.0.clone(),
        goals: course.goals.clone(),
        planned_weeks: course.planned_weeks,
        sessions_per_week: course.sessions_per_week,
        minutes_per_session: course.minutes_per_session,
        status: course.status.as_str().to_string(),
        revision_number: revisions.len() as u32,
        lines: doc
            .program
            .ordered()
            .into_iter()
            .map(|l| api::ProgramLineView {
                media: line_media(store, local.as_ref(), &l.exercise_ref),
                ..line_view(&library, l, lang)
            })
            .collect(),
        revisions: revisions
            .iter()
            .enumerate()
            .rev()
            .map(|(i, r)| api::RevisionView {
                number: i as u32 + 1,
                at: r.at,
                by_name: name_of(&names, r.by),
                summary: r.summary.clone(),
                exercise_count: r.exercises.len() as u32,
            })
            .collect(),
        conflicts,
    })
}

/// `GET /api/courses/{course}/program?lang=`.
pub fn program(core: &Core, course: &str, lang: Lang) -> Result<api::ProgramView> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    program_view(core, &mut store, id, lang)
}

/// `GET /api/courses/{course}/program-sheet?lang=`: the citizen's copy of the program as the
/// device holds it now; what goes on paper is `program_sheet`'s rule. Refused for a course
/// that has ended (nothing left to train) and for one without exercises yet.
pub fn program_sheet(core: &Core, course: &str, lang: Lang) -> Result<api::ProgramSheet> {
    use homerehab_shared::evidence::report::planned_end;
    use homerehab_shared::program_sheet::{self as sheet, Picture};
    let id = course_id(course)?;
    let mut store = core.data()?;
    let library = core.library_in(&mut store)?;
    let local = store.library_doc()?;
    let doc = store.course_doc(id)?;
    let course = course_of(&doc)?;
    if !sheet::may_print(course.status) {
        return Err(invalid(format!(
            "a {} course has no program left to train",
            course.status.as_str()
        )));
    }
    let program = doc.program.ordered();
    if program.is_empty() {
        return Err(invalid("the program has no exercises yet"));
    }
    // Stored courses passed validation, so the date parses.
    let start = model::parse_date(&course.start_date).map_err(invalid)?;
    let today = schedule::date_of(now_ms());
    let (weeks, weeks_after) = sheet::weeks_to_tick(start, course.planned_weeks, today);
    let revisions = doc.program.revision_list();
    let lines = program
        .into_iter()
        .map(|l| {
            let line = line_view(&library, l, lang);
            let media = line_media(&store, local.as_ref(), &l.exercise_ref);
            let pictures: Vec<Picture<'_>> = media
                .iter()
                .map(|m| Picture {
                    content_type: &m.content_type,
                    shows_person: m.shows_person,
                    on_device: m.available,
                })
                .collect();
            let (photo, photos_with_person_left_out) = sheet::picture_for_paper(&pictures);
            api::SheetLine {
                picture: photo.map(|i| media[i].url.clone()).or(line.illustration),
                safety: library
                    .exercise(&l.exercise_ref)
                    .map(|e| e.text(lang).safety.clone())
                    .unwrap_or_default(),
                title: line.title,
                summary: line.summary,
                steps: line.steps,
                dosage: line.dosage,
                instructions: line.instructions,
                photos_with_person_left_out,
            }
        })
        .collect();
    let safety = &library.manifest.general_safety;
    Ok(api::ProgramSheet {
        course_id: id.to_string(),
        citizen_name: citizen_name(&mut store, course)?,
        start_date: course.start_date.clone(),
        last_day: planned_end(start, course.planned_weeks).to_string(),
        planned_weeks: course.planned_weeks,
        sessions_per_week: course.sessions_per_week,
        minutes_per_session: course.minutes_per_session,
        goals: course.goals.clone(),
        revision_number: revisions.len() as u32,
        revised_on: revisions
            .last()
            .map(|r| schedule::date_of(r.at).to_string()),
        therapist_name: name_of(&store.staff_names()?, course.responsible_therapist),
        team_name: store.team_name(course.team_id)?.unwrap_or_default(),
        lines,
        weeks: weeks
            .into_iter()
            .map(|w| api::SheetWeekView {
                number: w.number,
                first_day: w.first_day.to_string(),
                last_day: w.last_day.to_string(),
            })
            .collect(),
        weeks_after,
        // The library holds Danish always (its check); another language falls back to it.
        general_safety: safety
            .get(&lang)
            .or_else(|| safety.get(&Lang::Da))
            .cloned()
            .unwrap_or_default(),
        made_on: today.to_string(),
    })
}

/// `POST /api/courses/{course}/program`: the edited program as the fewest edits and one
/// revision; nothing at all when nothing changed. Refused when the program moved on since
/// the editor opened it (a colleague's revision arrived), so it is never silently undone.
pub fn save_program(
    core: &Core,
    course: &str,
    req: api::SaveProgram,
    lang: Lang,
) -> Result<api::ProgramView> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let library = core.library_in(&mut store)?;
    let doc = store.course_doc(id)?;
    course_of(&doc)?;
    let based_on = rules::check_based_on_latest(req.based_on_revision, &doc.program)
        .map_err(|e| Error::invalid(e.problem))?;
    let mut edited = Vec::with_capacity(req.lines.len());
    for l in &req.lines {
        let line_id = l
            .line_id
            .as_deref()
            .map(|s| parse("program line", s))
            .transpose()?;
        let exercise_ref = l.exercise_ref.trim().to_string();
        let unchanged_ref = line_id
            .and_then(|lid: homerehab_shared::ids::ProgramExerciseId| {
                doc.program.exercises.get(&lid.to_string())
            })
            .is_some_and(|old| old.exercise_ref == exercise_ref);
        // A line kept as it was may name an exercise the library no longer has; a new choice
        // must come from the library.
        if !unchanged_ref && library.exercise(&exercise_ref).is_none() {
            return Err(Error::invalid(format!(
                "`{exercise_ref}` is not in the exercise library; choose an exercise from the search"
            )));
        }
        edited.push(EditedLine {
            id: line_id,
            exercise_ref,
            dosage: dosage_in(&l.dosage)?,
            instructions: non_empty(l.instructions.clone()),
        });
    }
    let diff = program::minimal_edits(&doc.program.ordered(), &edited).map_err(invalid)?;
    if diff.is_empty() {
        return program_view(core, &mut store, id, lang);
    }
    for e in &diff.edits {
        if let homerehab_shared::docs::ProgramEdit::Upsert(line) = e {
            line.validate().map_err(|problem| {
                let title = exercise_title(&library, &line.exercise_ref, lang);
                Error::invalid(format!("{title}: {problem}"))
            })?;
        }
    }
    let summary = non_empty(req.summary)
        .unwrap_or_else(|| diff.summary_da(|r| exercise_title(&library, r, Lang::Da)));
    store.edit_program(id, &diff.edits, &summary, based_on)?;
    tracing::info!(course = %id, edits = diff.edits.len(), "program revised");
    program_view(core, &mut store, id, lang)
}

// ---- history, assessments -------------------------------------------------------------------

fn not_carried_out_label(r: model::NotCarriedOutReason) -> &'static str {
    use model::NotCarriedOutReason as R;
    match r {
        R::Ill => "ill",
        R::Declined => "declined",
        R::NotAtHome => "not_at_home",
        R::Hospitalised => "hospitalised",
        R::Other => "other",
    }
}

/// `GET /api/courses/{course}/history?lang=`: sessions newest first, each exercise's trend
/// oldest first (in program order), and the assessments by date.
pub fn history(core: &Core, course: &str, lang: Lang) -> Result<api::CourseHistory> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let library = core.library_in(&mut store)?;
    let doc = store.course_doc(id)?;
    let citizen_name = citizen_name(&mut store, course_of(&doc)?)?;
    let sessions = match store.session_log(id) {
        Ok(log) => log.sessions.into_values().collect(),
        Err(CoreError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let names = store.staff_names()?;
    let revision_number: HashMap<RevisionId, u32> = doc
        .program
        .revision_list()
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i as u32 + 1))
        .collect();
    // Exercises in the current program's order; ones no longer in it after those.
    let position = |line: &str, exercise_ref: &str| {
        doc.program
            .exercises
            .get(line)
            .or_else(|| {
                doc.program
                    .exercises
                    .values()
                    .find(|l| l.exercise_ref == exercise_ref)
            })
            .map_or(f64::MAX, |l| l.position)
    };
    let title = |r: &str| exercise_title(&library, r, lang);
    let mut items: Vec<api::SessionHistoryItem> = sessions
        .iter()
        .map(|s| {
            let mut exercises: Vec<_> = s.exercises.iter().collect();
            exercises.sort_by(|a, b| {
                position(a.0, &a.1.exercise_ref)
                    .total_cmp(&position(b.0, &b.1.exercise_ref))
                    .then(a.1.exercise_ref.cmp(&b.1.exercise_ref))
            });
            api::SessionHistoryItem {
                session_id: s.id.to_string(),
                status: status_label(s.status).to_string(),
                left_open: homerehab_shared::schedule::left_open(s.status, s.started_at, now_ms()),
                started_at: s.started_at,
                ended_at: s.ended_at,
                performed_by_name: name_of(&names, s.performed_by),
                revision_number: s
                    .program_revision
                    .and_then(|r| revision_number.get(&r).copied()),
                general_condition: s.general_condition,
                note: s.note.clone(),
                not_carried_out_reason: s.not_carried_out.map(|r| not_carried_out_label(r).into()),
                exercises: exercises
                    .into_iter()
                    .map(|(line, e)| {
                        let t = stats::totals(e);
                        api::ExerciseHistory {
                            line_id: line.clone(),
                            exercise_ref: e.exercise_ref.clone(),
                            title: title(&e.exercise_ref),
                            outcome: e.outcome.map(outcome_out),
                            skip_reason: e.skip_reason.clone(),
                            sets_done: t.sets_done,
                            reps_total: t.reps_total,
                            duration_total_s: t.duration_total_s,
                            max_load_kg: t.max_load_kg,
                            borg: e.borg,
                            pain: e.pain,
                            note: e.note.clone(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    items.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then(b.session_id.cmp(&a.session_id))
    });
    let mut trends = stats::trends(&sessions);
    trends.sort_by(|a, b| position("", &a.exercise_ref).total_cmp(&position("", &b.exercise_ref)));
    let mut assessments: Vec<_> = doc.assessments.values().collect();
    assessments.sort_by(|a, b| a.date.cmp(&b.date).then(a.kind.cmp(&b.kind)));
    Ok(api::CourseHistory {
        course_id: id.to_string(),
        citizen_name,
        sessions: items,
        trends: trends
            .into_iter()
            .map(|t| api::ExerciseTrend {
                title: title(&t.exercise_ref),
                exercise_ref: t.exercise_ref,
                points: t
                    .points
                    .into_iter()
                    .map(|p| api::TrendPoint {
                        session_id: p.session_id.to_string(),
                        at: p.at,
                        reps_total: p.reps_total,
                        duration_total_s: p.duration_total_s,
                        max_load_kg: p.max_load_kg,
                        borg: p.borg,
                        pain: p.pain,
                    })
                    .collect(),
            })
            .collect(),
        assessments: assessments
            .into_iter()
            .map(|a| assessment_view(a, &names, lang))
            .collect(),
    })
}

/// `GET /api/assessment-kinds?lang=`.
pub fn assessment_kinds(_core: &Core, lang: Lang) -> Result<Vec<api::AssessmentKindView>> {
    Ok(assessment::CATALOGUE
        .iter()
        .map(|k| api::AssessmentKindView {
            kind: k.key.to_string(),
            label: k.label(lang).to_string(),
            // Shown to people ("gange", "sek."); a result's stored unit comes from the catalogue.
            unit: k.unit_label(lang).to_string(),
            higher_is_better: k.higher_is_better,
        })
        .collect())
}

/// `POST /api/courses/{course}/status`: pause, resume, complete or end the course early.
pub fn set_course_status(
    core: &Core,
    course: &str,
    req: api::CourseStatusChange,
) -> Result<api::Saved> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let next = CourseStatus::parse(&req.status)
        .filter(|s| *s != CourseStatus::Planned)
        .ok_or_else(|| {
            Error::invalid(format!(
                "`{}` is not a course status; use active, paused, completed or ended_early",
                req.status
            ))
        })?;
    let mut course = course_of(&store.course_doc(id)?)?.clone();
    course
        .change_status(next, req.reason, req.end_reason.as_deref())
        .map_err(invalid)?;
    store.update_course(&course)?;
    tracing::info!(course = %id, status = next.as_str(), "course status changed");
    Ok(api::Saved { saved: true })
}

/// `POST /api/courses/{course}/frame`: a running course's new length and scope
/// (`Course::change_frame`).
pub fn set_course_frame(
    core: &Core,
    course: &str,
    req: api::CourseFrameChange,
) -> Result<api::Saved> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let mut course = course_of(&store.course_doc(id)?)?.clone();
    course
        .change_frame(
            model::CourseFrame {
                planned_weeks: req.planned_weeks,
                sessions_per_week: req.sessions_per_week,
                minutes_per_session: req.minutes_per_session,
            },
            homerehab_shared::schedule::date_of(now_ms()),
        )
        .map_err(invalid)?;
    store.update_course(&course)?;
    tracing::info!(course = %id, weeks = req.planned_weeks, "course frame changed");
    Ok(api::Saved { saved: true })
}

/// `POST /api/courses/{course}/assessments?lang=`: records a result; the unit comes from the
/// kind, the value must be one the test can give.
pub fn add_assessment(
    core: &Core,
    course: &str,
    req: api::NewAssessment,
    lang: Lang,
) -> Result<api::AssessmentView> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let me = identity(&store)?;
    let kind = assessment::validate(&req.kind, req.value).map_err(invalid)?;
    model::parse_date(&req.date).map_err(|e| Error::invalid(format!("date: {}", e.problem)))?;
    let phase = assessment::parse_phase(&req.phase).map_err(invalid)?;
    let place = req
        .place
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(MeasuredAt::parse)
        .transpose()
        .map_err(invalid)?;
    course_of(&store.course_doc(id)?)?;
    let a = Assessment {
        id: homerehab_shared::ids::AssessmentId::new(),
        kind: kind.key.to_string(),
        value: req.value,
        unit: kind.unit.to_string(),
        date: req.date,
        phase,
        by: me.user_id,
        note: non_empty(req.note),
        place,
    };
    store.add_assessment(id, &a)?;
    let mut names = store.staff_names()?;
    names.entry(me.user_id).or_insert(me.display_name);
    Ok(assessment_view(&a, &names, lang))
}

// ---- the leader's overview ------------------------------------------------------------------

/// `GET /api/overview`: the team's courses, sessions and staff activity, read-only.
pub fn overview(core: &Core) -> Result<api::TeamOverview> {
    let mut store = core.data()?;
    let me = identity(&store)?;
    let now = now_ms();
    let since = now - OVERVIEW_DAYS * schedule::DAY_MS;
    let counts = store.team_counts(since)?;
    let courses = caseload_rows(&mut store, now)?;
    let (done, planned) = courses
        .iter()
        .filter(|c| c.status == "active")
        .fold((0, 0), |(d, p), c| {
            (d + c.sessions_done, p + c.sessions_planned_so_far)
        });
    let status = |s: &str| counts.courses.get(s).copied().unwrap_or(0);
    Ok(api::TeamOverview {
        team_name: store
            .team_name(me.team_id)?
            .unwrap_or_else(|| UNKNOWN.to_string()),
        citizens: counts.citizens,
        courses_planned: status("planned"),
        courses_active: status("active"),
        courses_completed: status("completed"),
        courses_ended_early: status("ended_early"),
        sessions_last_28_days: counts.carried_out_since,
        not_carried_out_last_28_days: counts.not_carried_out_since,
        adherence_percent: caseload::adherence_percent(done, planned),
        staff: store
            .staff_activity(me.team_id, since)?
            .into_iter()
            .map(|s| api::StaffActivity {
                user_id: s.user_id.to_string(),
                display_name: s.display_name.unwrap_or_else(|| UNKNOWN.to_string()),
                role: s
                    .role
                    .map_or_else(|| UNKNOWN.to_string(), |r| r.as_str().to_string()),
                runs_sessions: s
                    .role
                    .is_some_and(|r| Capabilities::of(r).allows(Capability::RunSessions)),
                sessions_last_28_days: s.sessions_since,
                last_session_at: s.last_session_at,
            })
            .collect(),
        courses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_or_say_what_is_allowed() {
        assert_eq!(
            tag::<Position>("position", Some("sitting")).unwrap(),
            Some(Position::Sitting)
        );
        assert_eq!(tag::<Position>("position", Some(" ")).unwrap(), None);
        let e = tag::<Position>("position", Some("upside_down")).unwrap_err();
        assert!(e.to_string().contains("sitting"), "{e}");
    }
}
