//! Retention and erasure on the server (issue #14 item 5): an admin's erasure of one citizen
//! (`POST /v1/citizens/{id}/erase`), the municipality's retention settings (`GET`/`PUT
//! /v1/retention`), what is due (`GET /v1/retention/due`) and the retention job (`sync-server
//! retention`, and daily inside `serve`).
//!
//! An erasure deletes the documents that are the citizen's alone (a course and its session
//! log: rows, changes, quarantined change sets, read-model rows; a tombstone keeps the id from
//! being stored again) and rewrites the team's roster without the citizen as a new generation
//! (`shared::docs::rewrite::rewrite_roster_without`), in one store transaction with the erasure
//! ledger's lines; then the audit log records who, when, which ids and why (a coded reason),
//! and the store scrubs what the backend can (`ErasureStore::scrub`). Devices replace or
//! delete their copies at their next sync (`ReplyStatus::Replaced` / `Erased`).

use crate::api_error::ApiError;
use crate::error::{Error, Result};
use crate::store::{now_ms, DocumentRewrite, ErasureCommit, LedgerEntry, Store};
use homerehab_shared::api::{
    EraseCitizenRequest, ErasureReason, ErasureReceipt, RetentionDue, RetentionSettings,
};
use homerehab_shared::audit::{AuditAction, AuditRecord};
use homerehab_shared::auth::{Capability, Principal};
use homerehab_shared::docs::rewrite::RosterErasure;
use homerehab_shared::docs::{self, Header};
use homerehab_shared::ids::{CitizenId, DocumentId, MunicipalityId, TeamId};
use homerehab_shared::model::Millis;
use homerehab_shared::retention::{add_years, due, Erasure, RecordKind};
use homerehab_shared::sync::wire::to_hashes;
use std::collections::BTreeMap;
use time::Date;

/// How often an erasure is tried again when a sync moved the roster under it.
const ATTEMPTS: u32 = 8;

/// What one executed plan did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Executed {
    pub deleted: Vec<DocumentId>,
    pub rewritten: Vec<DocumentId>,
}

/// Erases `plan` (all of one municipality) and records it: the ledger in the erasure's
/// transaction, then one audit entry per erasure (`action` says why; `who` is `None` for the
/// retention job), then the backend's scrub. Blocking.
pub fn execute(
    store: &dyn Store,
    municipality: MunicipalityId,
    plan: &[Erasure],
    who: Option<&Principal>,
    action: AuditAction,
    now: Millis,
) -> Result<Executed> {
    let mut by_team: BTreeMap<TeamId, Vec<&Erasure>> = BTreeMap::new();
    for e in plan {
        by_team.entry(e.team()).or_default().push(e);
    }
    let mut done = Executed::default();
    for (team, erasures) in by_team {
        let mut deleted = Vec::new();
        let mut roster = RosterErasure::default();
        for e in &erasures {
            match e {
                Erasure::Course { course, .. } => {
                    deleted.push(DocumentId::course_of(*course));
                    deleted.push(DocumentId::session_log_of(*course));
                }
                Erasure::Referral { referral, .. } => {
                    roster.referrals.insert(*referral);
                }
                Erasure::CareGrant { key, .. } => {
                    roster.care_grants.insert(key.clone());
                }
                Erasure::Citizen { citizen, .. } => {
                    roster.citizens.insert(*citizen);
                }
            }
        }
        let ledger: Vec<LedgerEntry> = erasures
            .iter()
            .map(|e| LedgerEntry {
                at: now,
                municipality,
                erasure: (*e).clone(),
                by: who.map(|w| w.user_id),
                action,
            })
            .collect();
        let rewritten = erase_team(store, team, &deleted, &roster, &ledger, now)?;
        done.deleted.extend(deleted);
        done.rewritten.extend(rewritten);
        // References only: ids, never a name or what was erased.
        let records: Vec<AuditRecord> = erasures
            .iter()
            .map(|e| {
                let base = match who {
                    Some(w) => AuditRecord::by(w, action, now),
                    None => AuditRecord::by_server(action, now),
                };
                AuditRecord {
                    team: Some(team),
                    citizen: Some(e.citizen()),
                    course: match e {
                        Erasure::Course { course, .. } => Some(*course),
                        _ => None,
                    },
                    target: match e {
                        Erasure::Referral { referral, .. } => Some(referral.0),
                        _ => None,
                    },
                    ..base
                }
            })
            .collect();
        store.append_audit(&records)?;
    }
    store.scrub()?;
    tracing::info!(
        deleted = done.deleted.len(),
        rewritten = done.rewritten.len(),
        by = ?who.map(|w| w.user_id),
        "erased"
    );
    Ok(done)
}

/// One team's part of an erasure, in one store transaction, tried again from the store when
/// a sync moved the roster meanwhile. Returns the rewritten documents.
fn erase_team(
    store: &dyn Store,
    team: TeamId,
    deleted: &[DocumentId],
    roster: &RosterErasure,
    ledger: &[LedgerEntry],
    now: Millis,
) -> Result<Vec<DocumentId>> {
    let header = Header::roster(team);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut rewrite = None;
        if !roster.is_empty() {
            if let (Some(heads), Some(doc)) = (
                store.stored_heads(header.id)?,
                store.load_document(header.id)?,
            ) {
                if to_hashes(&doc.get_heads()) != heads {
                    // Moved between the two reads: read again.
                    if attempt < ATTEMPTS {
                        continue;
                    }
                    return Err(Error::DocumentMoved(header.id));
                }
                let (new, _) = docs::rewrite::rewrite_roster_without(&doc, team, roster, now)?;
                let old_hashes: Vec<_> = doc.get_changes(&[]).iter().map(|c| c.hash().0).collect();
                let generation = store.generation(header.id)? + 1;
                rewrite = Some((heads, new, old_hashes, generation));
            }
        }
        let rewrites: Vec<DocumentRewrite<'_>> = rewrite
            .iter()
            .map(|(heads, doc, old_hashes, generation)| DocumentRewrite {
                header: &header,
                base: heads,
                doc,
                generation: *generation,
                old_hashes,
            })
            .collect();
        match store.erase(&ErasureCommit {
            deleted,
            rewritten: &rewrites,
            ledger,
        }) {
            Err(Error::DocumentMoved(_)) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(e),
            Ok(()) => return Ok(rewrites.iter().map(|r| r.header.id).collect()),
        }
    }
}

fn path_citizen(id: &str) -> std::result::Result<CitizenId, ApiError> {
    id.parse().map_err(|_| ApiError::BadRequest {
        kind: "invalid",
        message: "`id` must be a citizen's id".into(),
    })
}

fn needs_right(who: &Principal) -> std::result::Result<MunicipalityId, ApiError> {
    if !who.may(Capability::ManageRetention) {
        return Err(ApiError::Forbidden(format!(
            "this needs the right to {}",
            Capability::ManageRetention.as_str()
        )));
    }
    who.municipality_id
        .ok_or_else(|| ApiError::NotFound("no municipality".into()))
}

/// `POST /v1/citizens/{id}/erase`. Blocking.
pub fn erase_citizen(
    store: &dyn Store,
    who: &Principal,
    id: &str,
    req: &EraseCitizenRequest,
    today: Date,
) -> std::result::Result<(ErasureReceipt, Executed), ApiError> {
    let citizen = path_citizen(id)?;
    let municipality = needs_right(who)?;
    let not_found = || ApiError::NotFound("no such citizen in your municipality".into());
    let (team, home) = store.citizen_home_now(citizen)?.ok_or_else(not_found)?;
    if home != municipality {
        return Err(not_found());
    }
    let facts = store
        .retention_facts(&[team])?
        .into_iter()
        .find(|f| f.citizen == citizen)
        .ok_or_else(not_found)?;
    let running = facts.courses.iter().any(|c| !c.ended);
    match req.reason {
        ErasureReason::CitizenRequest => {
            let within =
                |from: Date, kind: RecordKind| add_years(from, kind.minimum_years()) > today;
            let kept = running
                || facts
                    .courses
                    .iter()
                    .any(|c| within(c.last_entry, RecordKind::Course))
                || facts
                    .referrals
                    .iter()
                    .any(|r| within(r.screened_on.unwrap_or(r.referred_on), RecordKind::Referral));
            if kept {
                return Err(ApiError::Conflict {
                    kind: "within_retention",
                    message: format!(
                        "the citizen's records are within the legal minimum retention ({} years \
                         after a course's last entry or a referral's screening), which the right \
                         to erasure does not override; erase only a record made in error or on \
                         an authority's order",
                        RecordKind::Course.minimum_years()
                    ),
                });
            }
        }
        ErasureReason::RecordedInError | ErasureReason::Order => {
            if running && !req.force {
                return Err(ApiError::Conflict {
                    kind: "course_active",
                    message: "the citizen has a course that is planned, active or paused: end it \
                              first, or erase with `force` (its therapist and assistants lose it \
                              at their next sync)"
                        .into(),
                });
            }
        }
    }
    let mut plan: Vec<Erasure> = facts
        .courses
        .iter()
        .map(|c| Erasure::Course {
            citizen,
            team,
            course: c.course,
        })
        .collect();
    plan.push(Erasure::Citizen { citizen, team });
    let action = match req.reason {
        ErasureReason::CitizenRequest => AuditAction::ErasedOnRequest,
        ErasureReason::RecordedInError => AuditAction::ErasedRecordedInError,
        ErasureReason::Order => AuditAction::ErasedByOrder,
    };
    let now = now_ms();
    let done = execute(store, municipality, &plan, Some(who), action, now)?;
    Ok((
        ErasureReceipt {
            citizen_id: citizen,
            deleted_documents: done.deleted.clone(),
            rewritten_documents: done.rewritten.clone(),
            erased_at: now,
        },
        done,
    ))
}

/// `GET /v1/retention`. Blocking.
pub fn settings(
    store: &dyn Store,
    who: &Principal,
) -> std::result::Result<RetentionSettings, ApiError> {
    let municipality = needs_right(who)?;
    Ok(store.retention_settings(municipality)?)
}

/// `PUT /v1/retention`. Blocking.
pub fn set_settings(
    store: &dyn Store,
    who: &Principal,
    settings: &RetentionSettings,
) -> std::result::Result<RetentionSettings, ApiError> {
    let municipality = needs_right(who)?;
    settings.validate().map_err(|e| ApiError::BadRequest {
        kind: "invalid",
        message: e.to_string(),
    })?;
    store.set_retention_settings(municipality, settings, Some(who.user_id))?;
    Ok(store.retention_settings(municipality)?)
}

/// What is due in `municipality` on `today` under its settings.
pub fn due_in(
    store: &dyn Store,
    municipality: MunicipalityId,
    today: Date,
) -> Result<(RetentionSettings, Vec<Erasure>)> {
    let settings = store.retention_settings(municipality)?;
    let teams: Vec<TeamId> = store
        .teams()?
        .into_iter()
        .filter(|t| t.municipality == municipality)
        .map(|t| t.id)
        .collect();
    let facts = store.retention_facts(&teams)?;
    let plan = due(&settings, &facts, today);
    Ok((settings, plan))
}

/// Counts and ids of a plan, no names.
pub fn summary(today: Date, settings: RetentionSettings, plan: Vec<Erasure>) -> RetentionDue {
    let count = |f: fn(&Erasure) -> bool| plan.iter().filter(|e| f(e)).count() as u32;
    RetentionDue {
        today: today.to_string(),
        settings,
        courses: count(|e| matches!(e, Erasure::Course { .. })),
        referrals: count(|e| matches!(e, Erasure::Referral { .. })),
        care_grants: count(|e| matches!(e, Erasure::CareGrant { .. })),
        citizens: count(|e| matches!(e, Erasure::Citizen { .. })),
        erasures: plan,
    }
}

/// `GET /v1/retention/due`. Blocking.
pub fn due_view(
    store: &dyn Store,
    who: &Principal,
    today: Date,
) -> std::result::Result<RetentionDue, ApiError> {
    let municipality = needs_right(who)?;
    let (settings, plan) = due_in(store, municipality, today)?;
    Ok(summary(today, settings, plan))
}

/// The retention job over every municipality: what it erased (or, `dry_run`, would erase).
/// Blocking.
pub fn run_retention(
    store: &dyn Store,
    today: Date,
    dry_run: bool,
) -> Result<Vec<(MunicipalityId, String, RetentionDue, Executed)>> {
    let mut out = Vec::new();
    for (municipality, name) in store.municipalities()? {
        let (settings, plan) = due_in(store, municipality, today)?;
        let executed = if dry_run || plan.is_empty() {
            Executed::default()
        } else {
            execute(
                store,
                municipality,
                &plan,
                None,
                AuditAction::ErasedByRetention,
                now_ms(),
            )?
        };
        out.push((municipality, name, summary(today, settings, plan), executed));
    }
    Ok(out)
}

/// Whether the store holds again what `entry` erased (after a restored backup).
fn holds_again(store: &dyn Store, entry: &LedgerEntry) -> Result<bool> {
    let e = &entry.erasure;
    if let Erasure::Course { course, .. } = e {
        let ids = [
            DocumentId::course_of(*course),
            DocumentId::session_log_of(*course),
        ];
        for id in ids {
            if store.document_header(id)?.is_some() || !store.is_erased(id)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let Some(doc) = store.load_document(Header::roster(e.team()).id)? else {
        return Ok(false);
    };
    let roster = docs::RosterDoc::read(&doc)?;
    Ok(match e {
        Erasure::Citizen { citizen, .. } => {
            roster.citizens.contains_key(&citizen.to_string())
                || roster.referrals.values().any(|r| r.citizen_id == *citizen)
                || roster
                    .all_care_grants()
                    .values()
                    .any(|g| g.citizen_id == *citizen)
        }
        Erasure::Referral { referral, .. } => roster.referrals.contains_key(&referral.to_string()),
        Erasure::CareGrant { key, .. } => roster.all_care_grants().contains_key(key),
        Erasure::Course { .. } => false,
    })
}

/// `sync-server erasures reapply`: erases again what `ledger` lists and the store holds again
/// (a backup restored from before the erasure), each as the server's own action with the
/// reason it had, recorded in the audit log and the ledger again. Blocking.
pub fn reapply(store: &dyn Store, ledger: &[LedgerEntry]) -> Result<Vec<LedgerEntry>> {
    let mut again = Vec::new();
    for entry in ledger {
        if holds_again(store, entry)? {
            again.push(entry.clone());
        }
    }
    let mut groups: BTreeMap<(MunicipalityId, &'static str), (AuditAction, Vec<Erasure>)> =
        BTreeMap::new();
    for entry in &again {
        groups
            .entry((entry.municipality, entry.action.as_str()))
            .or_insert_with(|| (entry.action, vec![]))
            .1
            .push(entry.erasure.clone());
    }
    for ((municipality, _), (action, plan)) in groups {
        execute(store, municipality, &plan, None, action, now_ms())?;
    }
    Ok(again)
}

/// Today's date (UTC).
pub fn today() -> Date {
    homerehab_shared::schedule::date_of(now_ms())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> std::result::Result<Date, ApiError> {
    homerehab_shared::model::parse_date(s).map_err(|_| ApiError::BadRequest {
        kind: "invalid",
        message: "`today` must be a date, YYYY-MM-DD".into(),
    })
}
