//! The care record feed: a municipality's home-training courses, their visits and their test
//! results as FHIR R4 resources for its care record system (EOJ), which documents them on the
//! citizen's record and reports them on to the KL Gateway (../shared/domain.md §3, gap 9).
//!
//! The layout is the KL Gateway's: one `collection` Bundle per citizen, as
//! `klgateway-140-delivery-report`, with the citizen (`Patient`), each course as a planned
//! intervention (`CarePlan`, its FSIII code from the course's legal basis: [`intervention`]),
//! each session as a visit in the home (`Encounter`, linked to its course by the Gateway's
//! `BasedOnCarePlanExtension`) and each test result as an `Observation`; all of them in one
//! `collection` Bundle for the period, as `klgateway-140-incremental-delivery`. They are base
//! R4 resources and claim no KL profile (`meta.profile`): Homerehab holds no CPR number and no
//! SOR code, which the Gateway requires and the care record system adds, and says what the
//! profiles leave out (an early end's coded reason, a visit without an end). The citizen is
//! named by the municipality's own case reference (`Citizen::local_ref`), which the care
//! record system knows them by.
//!
//! The rows are the BI feed's (`crate::export`: the same read model, the same queries on both
//! backends); only the case reference comes from the team's roster. A resource's id is its
//! record's Homerehab id, the same in every pull, so a later pull's resource replaces the
//! earlier one (an observation's is derived from its result: [`observation_id`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::assessment::kind_of;
use crate::evidence::targets::Period;
use crate::export::{instant, Cell, ExportError, ExportTable};
use crate::ids::{CitizenId, CourseId, MunicipalityId, TeamId};
use crate::model::Millis;

/// Danish Health Data Authority's OID for FSIII (Fællessprog III), as the KL Gateway names it.
pub const FSIII: &str = "urn:oid:1.2.208.176.2.21";
/// KL's code system for care and social codes (delivery types).
pub const KL_CARE_SOCIAL_CODES: &str = "http://fhir.kl.dk/term/CodeSystem/CareSocialCodes";
/// The KL Gateway Rehab's extension linking a visit to its intervention.
pub const BASED_ON_CARE_PLAN: &str =
    "http://fhir.kl.dk/rehab/StructureDefinition/BasedOnCarePlanExtension";
/// The KL Gateway Rehab's extension saying how an intervention is delivered.
pub const DELIVERY_TYPE: &str = "http://fhir.kl.dk/rehab/StructureDefinition/DeliveryType";
/// Homerehab's own code system for its tests (`crate::assessment::CATALOGUE` keys).
pub const ASSESSMENT_CODES: &str = "https://homerehab.dk/fhir/CodeSystem/assessment";
/// Homerehab's extension for the phase a test was taken in (`start`, `midway`, `end`,
/// `follow_up`): the Gateway has none, and start against end is what the effect is.
pub const ASSESSMENT_PHASE: &str = "https://homerehab.dk/fhir/StructureDefinition/assessment-phase";
/// Homerehab's extension for why a visit was not carried out (`ill`, `declined`,
/// `not_at_home`, `hospitalised`, `other`): R4's Encounter has no field for a cancellation's
/// reason, and the care record wants it.
pub const NOT_CARRIED_OUT_REASON: &str =
    "https://homerehab.dk/fhir/StructureDefinition/not-carried-out-reason";
/// The naming system of Homerehab's team ids.
pub const TEAM_IDS: &str = "https://homerehab.dk/fhir/sid/team";
const UCUM: &str = "http://unitsofmeasure.org";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

/// The naming system of a municipality's case references: one per municipality, since each
/// numbers its cases its own way.
pub fn case_reference_system(municipality: MunicipalityId) -> String {
    format!("https://homerehab.dk/fhir/sid/case-reference/{municipality}")
}

/// An FSIII intervention (level 2): its code and Danish display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intervention {
    pub code: &'static str,
    pub display: &'static str,
}

/// The FSIII intervention a course of `legal_basis` (the app's label, `LegalBasis::KNOWN`)
/// delivers, as KL's terminology (kl-term 2.3) names them; `None` where FSIII has no code that
/// says it (§83 personal care, the Elderly Act's new services, "other"): the care record
/// system codes those itself, from the basis in the resource's text.
pub fn intervention(legal_basis: &str) -> Option<Intervention> {
    let (code, display) = match legal_basis {
        // KLTrainingInterventionsFSIII: "Kommunal genoptræning efter sygehusophold".
        "Sundhedsloven §140" => ("2abe20c7-c0b4-41c1-b397-52acf36499ef", "Fysisk træning"),
        // FSIII's §86 stk. 1 "Genoptræning" and stk. 2 "Vedligeholdelsestræning".
        "SEL §86 stk. 1" => (
            "49b9601f-eff7-43a4-8263-56296ec82601",
            "Genoptræning af funktionsnedsættelse",
        ),
        "SEL §86 stk. 2" => (
            "c7d79b23-a53d-4ad5-a536-24d7c7fe8e18",
            "Vedligehold af færdigheder",
        ),
        // §83a's rehabilitation course, personal help and care: the physical training in the
        // home that Homerehab guides is its mobility part.
        "SEL §83a" => ("0b654911-f2b6-47d3-948b-3e9fb315b4c9", "RH Mobilitet"),
        _ => return None,
    };
    Some(Intervention { code, display })
}

/// The id of the observation of one test result: a result is named by its assessment's id, or
/// its session's for a WHO-5, which is also the visit's id; derived, so it is stable from pull
/// to pull and unique in a Bundle.
pub fn observation_id(result_id: &str, test: &str, phase: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("https://homerehab.dk/fhir/Observation/{result_id}/{test}/{phase}").as_bytes(),
    )
}

/// What one pull is made from: the BI feed's rows (`crate::export`, each in its table's
/// columns) of the teams the asker may export, and the case references of their citizens.
pub struct CareRecordRows<'a> {
    pub municipality: MunicipalityId,
    pub period: Period,
    /// When the pull is made (the Bundles' `timestamp`).
    pub made_at: Millis,
    /// The teams, by id, with their names.
    pub teams: &'a BTreeMap<TeamId, String>,
    /// Citizen id → the municipality's case reference, from the rosters.
    pub case_references: &'a BTreeMap<String, String>,
    pub citizens: &'a [Vec<Cell>],
    /// Courses that started by the period's end (the period's selection is made here).
    pub courses: &'a [Vec<Cell>],
    /// Sessions started in the period.
    pub sessions: &'a [Vec<Cell>],
    /// Test results taken in the period.
    pub test_results: &'a [Vec<Cell>],
}

/// A pull: the Bundle as JSON, and the courses in it (each is one entry in the audit log).
#[derive(Debug)]
pub struct CareRecordPull {
    pub json: Vec<u8>,
    pub courses: Vec<ReportedCourse>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportedCourse {
    pub team: TeamId,
    pub citizen: CitizenId,
    pub course: CourseId,
}

/// One row read by its columns' names.
struct Row<'a> {
    table: ExportTable,
    cells: &'a [Cell],
}

impl<'a> Row<'a> {
    fn new(table: ExportTable, cells: &'a [Cell]) -> Result<Self, ExportError> {
        if cells.len() != table.columns().len() {
            return Err(ExportError::RowWidth {
                table: table.name(),
                row: 0,
                got: cells.len(),
                expected: table.columns().len(),
            });
        }
        Ok(Row { table, cells })
    }

    fn cell(&self, name: &'static str) -> (&'a Cell, ExportError) {
        let columns = self.table.columns();
        let at = columns.iter().position(|c| c.name == name);
        let wrong = ExportError::CellKind {
            table: self.table.name(),
            column: at.map_or(name, |i| columns[i].name),
        };
        (at.map_or(&Cell::Null, |i| &self.cells[i]), wrong)
    }

    fn text(&self, name: &'static str) -> Result<&'a str, ExportError> {
        self.opt_text(name)?.ok_or(self.cell(name).1)
    }

    fn opt_text(&self, name: &'static str) -> Result<Option<&'a str>, ExportError> {
        match self.cell(name) {
            (Cell::Text(s), _) => Ok(Some(s)),
            (Cell::Null, _) => Ok(None),
            (_, wrong) => Err(wrong),
        }
    }

    fn integer(&self, name: &'static str) -> Result<i64, ExportError> {
        self.opt_integer(name)?.ok_or(self.cell(name).1)
    }

    fn opt_integer(&self, name: &'static str) -> Result<Option<i64>, ExportError> {
        match self.cell(name) {
            (Cell::Integer(n), _) => Ok(Some(*n)),
            (Cell::Null, _) => Ok(None),
            (_, wrong) => Err(wrong),
        }
    }

    fn decimal(&self, name: &'static str) -> Result<f64, ExportError> {
        match self.cell(name) {
            (Cell::Decimal(x), _) if x.is_finite() => Ok(*x),
            (Cell::Integer(n), _) => Ok(*n as f64),
            (_, wrong) => Err(wrong),
        }
    }

    fn id<T: std::str::FromStr>(&self, name: &'static str) -> Result<T, ExportError> {
        self.text(name)?.parse().map_err(|_| self.cell(name).1)
    }
}

/// How long after its planned last day a course that ended is still sent: a month.
pub const ENDED_LATE_DAYS: i64 = 31;

/// The last day of a course's planned weeks; `None` for one without weeks.
fn planned_end(start: time::Date, weeks: i64) -> Option<time::Date> {
    (weeks > 0)
        .then(|| start.checked_add(time::Duration::days(weeks * 7 - 1)))
        .flatten()
}

fn date(text: &str) -> Option<time::Date> {
    time::Date::parse(text, &time::format_description::well_known::Iso8601::DATE).ok()
}

/// A reference to the resource whose id is `id`, by its `fullUrl` in the Bundle.
fn reference(id: &str) -> Value {
    json!({ "reference": format!("urn:uuid:{id}") })
}

fn entry(id: &str, resource: Value) -> Value {
    json!({ "fullUrl": format!("urn:uuid:{id}"), "resource": resource })
}

/// The pull for `rows`: each citizen with a course in the period, in a Bundle of their own. A
/// course is in the period when it had a visit or a test result in it, is still planned,
/// running or paused (a course under way is part of every month's record), or its planned
/// weeks and the [`ENDED_LATE_DAYS`] after them overlap it.
pub fn care_record_pull(rows: &CareRecordRows) -> Result<CareRecordPull, ExportError> {
    let stamp = instant(rows.made_at).ok_or(ExportError::CellKind {
        table: "care_record",
        column: "timestamp",
    })?;
    let period_text = (
        crate::effect::iso(rows.period.start),
        crate::effect::iso(rows.period.end),
    );

    // Visits and results by course.
    let mut sessions: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    for cells in rows.sessions {
        let row = Row::new(ExportTable::Sessions, cells)?;
        sessions
            .entry(row.text("course_id")?)
            .or_default()
            .push(row);
    }
    let mut results: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    for cells in rows.test_results {
        let row = Row::new(ExportTable::TestResults, cells)?;
        results.entry(row.text("course_id")?).or_default().push(row);
    }

    // The courses in the period, by citizen.
    let mut courses: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    for cells in rows.courses {
        let row = Row::new(ExportTable::Courses, cells)?;
        let id = row.text("course_id")?;
        let Some(started) = date(row.text("start_date")?) else {
            return Err(row.cell("start_date").1);
        };
        let under_way = matches!(row.text("status")?, "planned" | "active" | "paused");
        let touched = sessions.contains_key(id) || results.contains_key(id);
        // The read model keeps no day a course ended, so one that ended is sent while its
        // planned weeks, and a month after them, overlap the period: its last status reaches
        // the care record even when the therapist closed it a little late.
        let planned_end = planned_end(started, row.integer("planned_weeks")?);
        let planned_in = planned_end.is_none_or(|end| {
            end.checked_add(time::Duration::days(ENDED_LATE_DAYS))
                .is_none_or(|late| late >= rows.period.start)
        });
        if started <= rows.period.end && (under_way || touched || planned_in) {
            courses
                .entry(row.text("citizen_id")?)
                .or_default()
                .push(row);
        }
    }

    let pull_id = Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!(
            "https://homerehab.dk/fhir/Bundle/{}/{}/{}/{}",
            rows.municipality, period_text.0, period_text.1, rows.made_at
        )
        .as_bytes(),
    );
    // Written a citizen at a time: a quarter of a big municipality is tens of thousands of
    // visits, and only one citizen's resources are held as JSON values at once.
    let mut json = serde_json::to_vec(&json!({
        "resourceType": "Bundle",
        "id": pull_id.to_string(),
        "type": "collection",
        "timestamp": stamp,
    }))
    .map_err(|_| ExportError::CellKind {
        table: "care_record",
        column: "bundle",
    })?;
    json.pop(); // its closing brace: the entries follow
    let mut reported = Vec::new();
    // A citizen on two teams' rosters is one citizen: one report.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for cells in rows.citizens {
        let citizen = Row::new(ExportTable::Citizens, cells)?;
        let citizen_id = citizen.text("citizen_id")?;
        let Some(their_courses) = courses.get(citizen_id) else {
            continue;
        };
        if !done.insert(citizen_id) {
            continue;
        }
        let team: TeamId = citizen.id("team_id")?;
        let mut resources = vec![entry(
            citizen_id,
            patient(rows, &citizen, citizen_id, team)?,
        )];
        let mut teams_named = BTreeSet::new();
        teams_named.insert(team);
        for course in their_courses {
            let course_id = course.text("course_id")?;
            let course_team: TeamId = course.id("team_id")?;
            teams_named.insert(course_team);
            let visits = sessions.get(course_id).map(Vec::as_slice).unwrap_or(&[]);
            resources.push(entry(
                course_id,
                care_plan(course, course_id, citizen_id, course_team)?,
            ));
            for visit in visits {
                let session_id = visit.text("session_id")?;
                resources.push(entry(
                    session_id,
                    encounter(visit, session_id, course_id, citizen_id)?,
                ));
            }
            for result in results.get(course_id).map(Vec::as_slice).unwrap_or(&[]) {
                let (id, observation) = observation(result, course_id, citizen_id)?;
                resources.push(entry(&id.to_string(), observation));
            }
            reported.push(ReportedCourse {
                team: course_team,
                citizen: citizen.id("citizen_id")?,
                course: course.id("course_id")?,
            });
        }
        for team in teams_named {
            let id = team.to_string();
            resources.push(entry(&id, organization(rows, team, &id)));
        }
        let report_id = Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!(
                "https://homerehab.dk/fhir/Bundle/{citizen_id}/{}/{}",
                period_text.0, period_text.1
            )
            .as_bytes(),
        )
        .to_string();
        json.extend_from_slice(if done.len() == 1 {
            b",\"entry\":["
        } else {
            b","
        });
        // Writing a value to a Vec cannot fail.
        let _ = serde_json::to_writer(
            &mut json,
            &entry(
                &report_id,
                json!({
                    "resourceType": "Bundle",
                    "id": report_id,
                    "type": "collection",
                    "timestamp": stamp,
                    "entry": resources,
                }),
            ),
        );
    }
    // FHIR has no empty arrays: a month without courses is a Bundle without entries.
    json.extend_from_slice(if done.is_empty() { b"}" } else { b"]}" });
    Ok(CareRecordPull {
        json,
        courses: reported,
    })
}

fn patient(
    rows: &CareRecordRows,
    citizen: &Row,
    id: &str,
    team: TeamId,
) -> Result<Value, ExportError> {
    let mut p = Map::new();
    p.insert("resourceType".into(), json!("Patient"));
    p.insert("id".into(), json!(id));
    if let Some(reference) = rows
        .case_references
        .get(id)
        .filter(|r| !r.trim().is_empty())
    {
        p.insert(
            "identifier".into(),
            json!([{
                "use": "usual",
                "system": case_reference_system(rows.municipality),
                "value": reference.trim(),
            }]),
        );
    }
    let active = match citizen.cell("active").0 {
        Cell::Boolean(b) => *b,
        Cell::Integer(n) => *n == 1,
        _ => return Err(citizen.cell("active").1),
    };
    p.insert("active".into(), json!(active));
    if let Some(sex) = citizen.opt_text("sex")? {
        let gender = match sex {
            "female" => "female",
            "male" => "male",
            _ => "unknown",
        };
        p.insert("gender".into(), json!(gender));
    }
    // A year alone is a FHIR date; Homerehab keeps no more of the birth date.
    if let Some(year) = citizen.opt_integer("birth_year")? {
        p.insert("birthDate".into(), json!(format!("{year:04}")));
    }
    p.insert("managingOrganization".into(), reference(&team.to_string()));
    Ok(Value::Object(p))
}

fn care_plan(course: &Row, id: &str, citizen: &str, team: TeamId) -> Result<Value, ExportError> {
    let legal_basis = course.text("legal_basis")?;
    let status = course.text("status")?;
    let (plan_status, activity_status) = match status {
        "planned" => ("active", "not-started"),
        "active" => ("active", "in-progress"),
        "paused" => ("on-hold", "on-hold"),
        "completed" => ("completed", "completed"),
        "ended_early" => ("revoked", "stopped"),
        _ => ("unknown", "unknown"),
    };
    let start = course.text("start_date")?;
    let mut period = Map::new();
    period.insert("start".into(), json!(start));
    if let Some(end) =
        date(start).and_then(|d| planned_end(d, course.integer("planned_weeks").unwrap_or(0)))
    {
        period.insert("end".into(), json!(crate::effect::iso(end)));
    }
    let mut code = Map::new();
    if let Some(i) = intervention(legal_basis) {
        code.insert(
            "coding".into(),
            json!([{ "system": FSIII, "code": i.code, "display": i.display }]),
        );
    }
    code.insert(
        "text".into(),
        json!(format!("Hjemmetræning, {legal_basis}")),
    );
    let mut detail = Map::new();
    detail.insert(
        "extension".into(),
        json!([{
            "url": DELIVERY_TYPE,
            "valueCodeableConcept": { "coding": [{
                "system": KL_CARE_SOCIAL_CODES,
                "code": "8d12d74c-17da-47a7-a4fe-e69dbaec0a8c",
                "display": "Individuel indsats",
            }]},
        }]),
    );
    detail.insert("code".into(), Value::Object(code));
    detail.insert("status".into(), json!(activity_status));
    if let Some(reason) = course.opt_text("end_reason")? {
        detail.insert(
            "statusReason".into(),
            json!({ "coding": [{
                "system": "https://homerehab.dk/fhir/CodeSystem/course-end-reason",
                "code": reason,
            }]}),
        );
    }
    detail.insert("performer".into(), json!([reference(&team.to_string())]));
    // No `outcomeReference` to the visits: a pull holds one period's, and a later pull's
    // plan replaces the earlier one; each visit names its plan instead.
    Ok(json!({
        "resourceType": "CarePlan",
        "id": id,
        "status": plan_status,
        "intent": "plan",
        "subject": reference(citizen),
        "period": period,
        "activity": [{ "detail": detail }],
    }))
}

/// A visit's FHIR status. One under way when the pull is made is `in-progress`, without an
/// end: a later pull of a period that holds its start says how it went.
fn visit_status(visit: &Row) -> Result<&'static str, ExportError> {
    Ok(match visit.text("status")? {
        "completed" => "finished",
        "not_carried_out" => "cancelled",
        "in_progress" => "in-progress",
        _ => "unknown",
    })
}

fn encounter(visit: &Row, id: &str, course: &str, citizen: &str) -> Result<Value, ExportError> {
    let status = visit_status(visit)?;
    let wrong = || visit.cell("started_at").1;
    let mut period = Map::new();
    period.insert(
        "start".into(),
        json!(instant(visit.integer("started_at")?).ok_or_else(wrong)?),
    );
    if let Some(end) = visit.opt_integer("ended_at")? {
        period.insert("end".into(), json!(instant(end).ok_or_else(wrong)?));
    }
    let mut extension =
        vec![json!({ "url": BASED_ON_CARE_PLAN, "valueReference": reference(course) })];
    if let Some(reason) = visit.opt_text("not_carried_out")? {
        extension.push(json!({ "url": NOT_CARRIED_OUT_REASON, "valueCode": reason }));
    }
    Ok(json!({
        "resourceType": "Encounter",
        "id": id,
        "extension": extension,
        "status": status,
        "class": { "system": ACT_CODE, "code": "HH", "display": "home health" },
        "subject": reference(citizen),
        "period": period,
    }))
}

fn observation(result: &Row, course: &str, citizen: &str) -> Result<(Uuid, Value), ExportError> {
    let test = result.text("test")?;
    let phase = result.text("phase")?;
    let id = observation_id(result.text("result_id")?, test, phase);
    let value = result.decimal("value")?;
    let kind = kind_of(test);
    let (label, unit) = kind.map_or((test, ""), |k| (k.label_da, k.unit));
    let (ucum, category) = match unit {
        "reps" => ("{repetitions}", "exam"),
        "s" => ("s", "exam"),
        "m/s" => ("m/s", "exam"),
        "kg" => ("kg", "exam"),
        // Home care per day, a test only in name: the care the citizen gets.
        "min" => ("min/d", "social-history"),
        _ => ("{score}", if test == "who5" { "survey" } else { "exam" }),
    };
    let mut quantity = Map::new();
    quantity.insert("value".into(), json!(value));
    if !unit.is_empty() {
        quantity.insert("unit".into(), json!(unit));
        quantity.insert("system".into(), json!(UCUM));
        quantity.insert("code".into(), json!(ucum));
    }
    Ok((
        id,
        json!({
            "resourceType": "Observation",
            "id": id.to_string(),
            "extension": [{ "url": ASSESSMENT_PHASE, "valueCode": phase }],
            "basedOn": [reference(course)],
            "status": "final",
            "category": [{ "coding": [{ "system": OBSERVATION_CATEGORY, "code": category }] }],
            "code": {
                "coding": [{ "system": ASSESSMENT_CODES, "code": test, "display": label }],
                "text": label,
            },
            "subject": reference(citizen),
            "effectiveDateTime": result.text("date")?,
            "valueQuantity": quantity,
        }),
    ))
}

fn organization(rows: &CareRecordRows, team: TeamId, id: &str) -> Value {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Organization"));
    o.insert("id".into(), json!(id));
    o.insert(
        "identifier".into(),
        json!([{ "system": TEAM_IDS, "value": id }]),
    );
    if let Some(name) = rows.teams.get(&team).filter(|n| !n.trim().is_empty()) {
        o.insert("name".into(), json!(name));
    }
    Value::Object(o)
}

/// Whether `who` may pull the care records of a team of `municipality`: the capability (admins)
/// and their own municipality, every team of it (the care record system is the municipality's).
pub fn may_export_care_records(who: &crate::auth::Principal, municipality: MunicipalityId) -> bool {
    who.may(crate::auth::Capability::ExportCareRecords) && who.municipality_id == Some(municipality)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const CITIZEN: &str = "0b7c2a4e-6d1f-4c3a-9e8b-1a2b3c4d5e6f";
    const OTHER: &str = "1c8d3b5f-7e2a-4d4b-8f9c-2b3c4d5e6f70";
    const TEAM: &str = "2d9e4c6a-8f3b-4e5c-9a0d-3c4d5e6f7081";
    const COURSE: &str = "3eaf5d7b-9a4c-4f6d-8b1e-4d5e6f708192";
    const OLD_COURSE: &str = "4fb06e8c-ab5d-4a7e-9c2f-5e6f708192a3";
    const DONE_LONG_AGO: &str = "5ac17f9d-bc6e-4b8f-8d3a-6f708192a3b4";
    const VISIT: &str = "6bd28a0e-cd7f-4c9a-9e4b-708192a3b4c5";
    const SKIPPED: &str = "7ce39b1f-de8a-4dab-8f5c-8192a3b4c5d6";
    const UNDER_WAY: &str = "8df4ac2a-ef9b-4ebc-9a6d-92a3b4c5d6e7";
    const THERAPIST: &str = "9e05bd3b-f0ac-4fcd-8b7e-a3b4c5d6e7f8";

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn course(id: &str, citizen: &str, basis: &str, start: &str, status: &str) -> Vec<Cell> {
        vec![
            text(id),
            text(citizen),
            text(TEAM),
            text(basis),
            text(start),
            Cell::Integer(12),
            Cell::Integer(3),
            text(status),
            text(THERAPIST),
            Cell::Integer(1_767_225_600_000),
            if status == "ended_early" {
                text("hospitalised")
            } else {
                Cell::Null
            },
        ]
    }

    fn session(id: &str, course: &str, at: Millis, status: &str) -> Vec<Cell> {
        vec![
            text(id),
            text(course),
            text(THERAPIST),
            Cell::Integer(at),
            if status == "completed" {
                Cell::Integer(at + 15 * 60_000)
            } else {
                Cell::Null
            },
            text(status),
            if status == "not_carried_out" {
                text("ill")
            } else {
                Cell::Null
            },
            Cell::Integer(24),
            Cell::Null,
        ]
    }

    fn citizen(id: &str) -> Vec<Cell> {
        vec![
            text(id),
            text(TEAM),
            Cell::Integer(1941),
            text("female"),
            Cell::Integer(1),
        ]
    }

    /// 2026-11-10 09:15 Danish time (UTC+1).
    const NOV_10: Millis = 1_794_298_500_000;

    /// The pull of `period` and its Bundle, parsed back.
    fn pull(period: Period) -> Pulled {
        let made = made(period);
        Pulled {
            bundle: serde_json::from_slice(&made.json).expect("the pull is JSON"),
            courses: made.courses,
        }
    }

    struct Pulled {
        bundle: Value,
        courses: Vec<ReportedCourse>,
    }

    fn made(period: Period) -> CareRecordPull {
        let teams = BTreeMap::from([(TEAM.parse().unwrap(), "Hjemmetræning Nord".to_string())]);
        let refs = BTreeMap::from([(CITIZEN.to_string(), " SAG-2026-0042 ".to_string())]);
        // Gitte twice, as a citizen on two teams' rosters is.
        let citizens = [citizen(CITIZEN), citizen(OTHER), citizen(CITIZEN)];
        let courses = [
            course(
                COURSE,
                CITIZEN,
                "Sundhedsloven §140",
                "2026-10-01",
                "active",
            ),
            course(OLD_COURSE, CITIZEN, "Andet", "2024-02-01", "completed"),
            course(
                DONE_LONG_AGO,
                OTHER,
                "SEL §83a",
                "2025-01-06",
                "ended_early",
            ),
        ];
        let sessions = [
            session(VISIT, COURSE, NOV_10, "completed"),
            session(SKIPPED, COURSE, NOV_10 + 86_400_000, "not_carried_out"),
            session(UNDER_WAY, COURSE, NOV_10 + 2 * 86_400_000, "in_progress"),
            // A WHO-5 answered in the visit: its result is named by the session.
        ];
        let results = [
            vec![
                text("a1b2c3d4-0000-4000-8000-000000000001"),
                text(COURSE),
                text("chair_stand_30s"),
                text("start"),
                Cell::Decimal(9.0),
                text("2026-11-10"),
                text(THERAPIST),
            ],
            vec![
                text(VISIT),
                text(COURSE),
                text("who5"),
                text("start"),
                Cell::Integer(56),
                text("2026-11-10"),
                text(THERAPIST),
            ],
        ];
        care_record_pull(&CareRecordRows {
            municipality: "5f0c2a9e-3b1d-4c7e-8a6f-9b2d1c3e5a70".parse().unwrap(),
            period,
            made_at: NOV_10 + 30 * 86_400_000,
            teams: &teams,
            case_references: &refs,
            citizens: &citizens,
            courses: &courses,
            sessions: &sessions,
            test_results: &results,
        })
        .unwrap()
    }

    fn november() -> Period {
        Period::new(date!(2026 - 11 - 01), date!(2026 - 11 - 30)).unwrap()
    }

    fn resources<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
        report["resource"]["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == kind)
            .collect()
    }

    #[test]
    fn a_month_holds_each_citizens_running_courses_visits_and_results_in_a_report_of_their_own() {
        let made = pull(november());
        let reports = made.bundle["entry"].as_array().unwrap();
        // The other citizen's one course ended early last year: nothing of theirs this month;
        // the citizen on two rosters is in one report.
        assert_eq!(reports.len(), 1, "{:#}", made.bundle);
        let report = &reports[0];
        let patients = resources(report, "Patient");
        assert_eq!(patients.len(), 1);
        assert_eq!(
            patients[0]["identifier"][0]["value"], "SAG-2026-0042",
            "the case reference, trimmed"
        );
        assert_eq!(patients[0]["birthDate"], "1941");
        // Only the running course: the one completed in 2024 had nothing this month.
        let plans = resources(report, "CarePlan");
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0]["id"], COURSE);
        assert_eq!(plans[0]["status"], "active");
        assert_eq!(plans[0]["period"]["end"], "2026-12-23");
        let code = &plans[0]["activity"][0]["detail"]["code"]["coding"][0];
        assert_eq!(code["system"], FSIII);
        assert_eq!(code["display"], "Fysisk træning");
        // The visit, the cancelled one, and the one under way, without an end yet.
        let visits = resources(report, "Encounter");
        let states: Vec<_> = visits.iter().map(|v| v["status"].clone()).collect();
        assert_eq!(
            states,
            [json!("finished"), json!("cancelled"), json!("in-progress")]
        );
        assert!(visits[2]["period"].get("end").is_none());
        // Why the cancelled one was not carried out, coded; the others say nothing of it.
        assert_eq!(visits[1]["extension"][1]["url"], NOT_CARRIED_OUT_REASON);
        assert_eq!(visits[1]["extension"][1]["valueCode"], "ill");
        assert_eq!(visits[0]["extension"].as_array().unwrap().len(), 1);
        assert_eq!(visits[0]["period"]["start"], "2026-11-10T09:15:00+01:00");
        assert_eq!(visits[0]["period"]["end"], "2026-11-10T09:30:00+01:00");
        assert_eq!(
            visits[0]["extension"][0]["valueReference"]["reference"],
            format!("urn:uuid:{COURSE}")
        );
        let results = resources(report, "Observation");
        assert_eq!(results.len(), 2);
        assert_eq!(results[1]["valueQuantity"]["value"], json!(56.0));
        assert_eq!(results[1]["category"][0]["coding"][0]["code"], "survey");
        // Every fullUrl once (the WHO-5 is named by its visit's id, its observation is not).
        let urls: BTreeSet<_> = report["resource"]["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["fullUrl"].as_str().unwrap())
            .collect();
        assert_eq!(
            urls.len(),
            report["resource"]["entry"].as_array().unwrap().len()
        );
        assert_eq!(made.courses.len(), 1);
        assert_eq!(made.courses[0].course.to_string(), COURSE);
    }

    #[test]
    fn a_course_that_ran_ended_or_had_visits_in_the_period_is_in_it_and_its_ids_stay() {
        let early_2025 = Period::new(date!(2025 - 01 - 01), date!(2025 - 01 - 31)).unwrap();
        let made = pull(early_2025);
        let reports = made.bundle["entry"].as_array().unwrap();
        assert_eq!(reports.len(), 1);
        let plans = resources(&reports[0], "CarePlan");
        assert_eq!(plans[0]["id"], DONE_LONG_AGO);
        assert_eq!(plans[0]["status"], "revoked");
        let detail = &plans[0]["activity"][0]["detail"];
        assert_eq!(detail["status"], "stopped");
        assert_eq!(detail["statusReason"]["coding"][0]["code"], "hospitalised");
        assert_eq!(detail["code"]["coding"][0]["display"], "RH Mobilitet");
        // No case reference known: no identifier, rather than an empty one.
        assert!(resources(&reports[0], "Patient")[0]
            .get("identifier")
            .is_none());
        // Its planned weeks ended on 30 March 2025: its end is sent for a month after that
        // (it may have been closed late), then no more.
        let plans_in = |from, to| -> Vec<String> {
            let made = pull(Period::new(from, to).unwrap());
            made.bundle["entry"]
                .as_array()
                .map(|reports| {
                    reports
                        .iter()
                        .flat_map(|r| resources(r, "CarePlan"))
                        .map(|p| p["id"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            plans_in(date!(2025 - 04 - 01), date!(2025 - 04 - 30)),
            [DONE_LONG_AGO]
        );
        assert_eq!(
            plans_in(date!(2025 - 04 - 30), date!(2025 - 05 - 31)),
            [DONE_LONG_AGO]
        );
        assert!(plans_in(date!(2025 - 05 - 01), date!(2025 - 05 - 31)).is_empty());
        // Before any course: a Bundle without entries (FHIR has no empty arrays).
        let before = pull(Period::new(date!(2023 - 01 - 01), date!(2023 - 12 - 31)).unwrap());
        assert!(before.bundle.get("entry").is_none(), "{:#}", before.bundle);
        assert!(before.courses.is_empty());
        // Pulled again: the same resources by the same ids.
        let again = pull(november());
        let ids = |b: &Value| -> Vec<String> {
            b["entry"][0]["resource"]["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["fullUrl"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids(&again.bundle), ids(&pull(november()).bundle));
    }

    #[test]
    fn a_basis_without_an_fsiii_code_is_said_in_text_and_every_known_one_is_coded() {
        for basis in crate::model::LegalBasis::KNOWN {
            let coded = intervention(basis).is_some();
            let expected = !matches!(basis, "SEL §83" | "Ældreloven" | "Andet");
            assert_eq!(coded, expected, "{basis}");
        }
    }

    #[test]
    fn a_row_of_the_wrong_shape_is_an_error_not_a_resource() {
        let teams = BTreeMap::new();
        let refs = BTreeMap::new();
        let short = [vec![text(COURSE)]];
        let wrong_kind = [course(COURSE, CITIZEN, "SEL §83a", "2026-11-02", "active")
            .into_iter()
            .enumerate()
            .map(|(i, c)| if i == 5 { text("twelve") } else { c })
            .collect::<Vec<_>>()];
        let citizens = [citizen(CITIZEN)];
        for courses in [&short[..], &wrong_kind[..]] {
            let made = care_record_pull(&CareRecordRows {
                municipality: "5f0c2a9e-3b1d-4c7e-8a6f-9b2d1c3e5a70".parse().unwrap(),
                period: november(),
                made_at: NOV_10,
                teams: &teams,
                case_references: &refs,
                citizens: &citizens,
                courses,
                sessions: &[],
                test_results: &[],
            });
            assert!(made.is_err());
        }
    }
}
