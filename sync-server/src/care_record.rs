//! The care record feed on the server (`homerehab_shared::fhir`): the BI feed's rows of the
//! asker's municipality and its rosters' case references, made into FHIR by the shared rules,
//! the pull recorded in the audit log course by course before it is answered. Handlers in
//! [`crate::http`] translate; nothing here knows HTTP or SQL.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::evidence::{municipality_of, Refusal};
use crate::store::Store;
use homerehab_shared::audit::{AuditAction, AuditRecord};
use homerehab_shared::auth::{Capability, Principal};
use homerehab_shared::docs::{Header, RosterDoc};
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::export::{export_period, ExportTable};
use homerehab_shared::fhir::{care_record_pull, may_export_care_records, CareRecordRows};
use homerehab_shared::ids::TeamId;
use homerehab_shared::model::Millis;

/// The first day anything can have been recorded (the courses read reach back to it).
const FIRST_DAY: time::Date = time::macros::date!(2000 - 01 - 01);

/// The care records of `period` (at most a year) for the asker's municipality: one FHIR R4
/// `collection` Bundle, as JSON.
pub fn pull(
    store: &dyn Store,
    who: &Principal,
    period: Period,
    now: Millis,
) -> Result<Vec<u8>, Refusal> {
    let municipality = municipality_of(who, Capability::ExportCareRecords)?;
    let period = export_period(period).map_err(|e| Refusal::Invalid(e.to_string()))?;
    let teams: BTreeMap<TeamId, String> = store
        .teams()?
        .into_iter()
        .filter(|t| t.municipality == municipality && may_export_care_records(who, t.municipality))
        .map(|t| (t.id, t.name))
        .collect();
    let team_ids: Vec<TeamId> = teams.keys().copied().collect();
    // A course under way started before the period, perhaps long before: every course that
    // started by its end is read, and the shared rules choose.
    let by_its_end = Period::new(FIRST_DAY.min(period.start), period.end)
        .map_err(|e| Refusal::Invalid(e.to_string()))?;
    let courses = store.export_rows(ExportTable::Courses, &team_ids, &by_its_end)?;
    let sessions = store.export_rows(ExportTable::Sessions, &team_ids, &period)?;
    let test_results = store.export_rows(ExportTable::TestResults, &team_ids, &period)?;
    let citizens = store.export_rows(ExportTable::Citizens, &team_ids, &period)?;
    let mut case_references = BTreeMap::new();
    for team in &team_ids {
        let Some(doc) = store.load_document(Header::roster(*team).id)? else {
            continue;
        };
        let roster = RosterDoc::read(&doc).map_err(|e| Refusal::Failed(Error::from(e)))?;
        for (id, citizen) in roster.citizens {
            case_references.insert(id, citizen.local_ref);
        }
    }
    let made = care_record_pull(&CareRecordRows {
        municipality,
        period,
        made_at: now,
        teams: &teams,
        case_references: &case_references,
        citizens: &citizens,
        courses: &courses,
        sessions: &sessions,
        test_results: &test_results,
    })
    // A row the store gave that does not fit its columns is the server's fault.
    .map_err(|e| Refusal::Failed(Error::Corrupt(e.to_string())))?;
    let body = made.json;
    // Each course named, so the citizen's access report shows that their record left for the
    // care record system, and when; recorded before the answer, or no answer.
    let records: Vec<AuditRecord> = made
        .courses
        .iter()
        .map(|c| AuditRecord {
            team: Some(c.team),
            citizen: Some(c.citizen),
            course: Some(c.course),
            ..AuditRecord::by(who, AuditAction::CareRecordExport, now)
        })
        .collect();
    if !records.is_empty() {
        store.append_audit(&records)?;
    }
    tracing::info!(
        user = %who.user_id,
        from = %homerehab_shared::effect::iso(period.start),
        to = %homerehab_shared::effect::iso(period.end),
        courses = made.courses.len(),
        bytes = body.len(),
        "care record pull"
    );
    Ok(body)
}
