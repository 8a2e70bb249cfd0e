//! The audit log's requests (issue #14), over a [`Store`] (blocking; the handlers run them off
//! the async threads): what a sync sent to a device, a device's own look-ups (`POST
//! /v1/audit`), a citizen's access report for an admin of the citizen's municipality, and the
//! walk of the chain (`sync-server audit-verify`). The rules are
//! `homerehab_shared::audit`'s; the SQL the store's.

use crate::api_error::ApiError;
use crate::error::Result;
use crate::store::{now_ms, Store};
use homerehab_shared::audit::{
    self, AccessReport, AuditAction, AuditReceipt, AuditRecord, AuditUpload, BrokenLink,
    ChainCheck, Delivery, RecentDeliveries, RefusedAuditEntry,
};
use homerehab_shared::auth::{authorize, Access, Capability, Principal};
use homerehab_shared::docs::{DocumentKind, Header};
use homerehab_shared::ids::{CitizenId, DeviceId, DocumentId, UserId};
use homerehab_shared::model::Millis;
use homerehab_shared::sync::wire::Reply;
use std::collections::HashMap;

/// What a sync sent to `device`: one record per course, session log or roster whose changes
/// the answer carries, from the documents' headers (no document is decoded). A library names
/// no citizen and is not recorded; nor is a delivery `recent` says was recorded within the
/// hour ([`RecentDeliveries`]). Returns the records and the deliveries they record, to be
/// remembered once the records are durable.
pub fn sync_records(
    who: &Principal,
    device: Option<DeviceId>,
    headers: &HashMap<DocumentId, Header>,
    replies: &[Reply],
    now: Millis,
    recent: Option<&RecentDeliveries>,
) -> (Vec<AuditRecord>, Vec<Delivery>) {
    let mut deliveries = Vec::new();
    let records = replies
        .iter()
        .filter(|r| !r.changes.is_empty())
        .filter_map(|r| {
            let header = r.header.as_ref().or_else(|| headers.get(&r.doc))?;
            let action = match header.kind {
                DocumentKind::Course => AuditAction::SyncedCourse,
                DocumentKind::SessionLog => AuditAction::SyncedSessionLog,
                DocumentKind::Roster => AuditAction::SyncedRoster,
                DocumentKind::Library => return None,
            };
            if let Some(device) = device {
                let delivery = Delivery {
                    user: who.user_id,
                    device,
                    doc: r.doc,
                };
                if recent.is_some_and(|recent| !recent.needs_record(&delivery, now)) {
                    return None;
                }
                deliveries.push(delivery);
            }
            Some(AuditRecord {
                device,
                team: Some(header.team_id),
                course: header.course_id,
                ..AuditRecord::by(who, action, now)
            })
        })
        .collect();
    (records, deliveries)
}

/// `POST /v1/audit`: a device's look-ups, recorded after the documents of its sync. Only the
/// signed-in user's own (else 403, nothing kept), each about a course they may read now (else
/// refused for good); entries sent before are kept once.
pub fn receive(
    store: &dyn Store,
    who: &Principal,
    device: Option<DeviceId>,
    upload: &AuditUpload,
) -> std::result::Result<AuditReceipt, ApiError> {
    audit::check_upload(who, upload).map_err(|e| match e {
        audit::UploadRefused::AnotherUser => ApiError::Forbidden(e.to_string()),
        _ => ApiError::BadRequest {
            kind: "invalid",
            message: e.to_string(),
        },
    })?;
    let now = now_ms();
    let mut headers: HashMap<_, Option<Header>> = HashMap::new();
    let mut records = Vec::new();
    let mut receipt = AuditReceipt::default();
    let mut teams = None;
    for entry in &upload.entries {
        let doc = DocumentId::course_of(entry.course_id);
        let header = match headers.get(&doc) {
            Some(h) => *h,
            None => {
                let h = store
                    .document_header(doc)?
                    .filter(|h| h.kind == DocumentKind::Course);
                headers.insert(doc, h);
                h
            }
        };
        // The course's municipality, asked only for a course the user may not read now.
        let readable = header
            .as_ref()
            .is_none_or(|h| authorize(who, h, Access::Read).is_ok());
        let course_municipality = match (&header, readable) {
            (Some(h), false) => {
                let teams = match &teams {
                    Some(t) => t,
                    None => teams.insert(store.teams()?),
                };
                teams
                    .iter()
                    .find(|t| t.id == h.team_id)
                    .map(|t| t.municipality)
            }
            _ => None,
        };
        match audit::device_record(
            who,
            device,
            entry,
            header.as_ref(),
            course_municipality,
            now,
        ) {
            Ok(record) => {
                receipt.kept.push(entry.entry_id);
                records.push(record);
            }
            Err(reason) => receipt.refused.push(RefusedAuditEntry {
                entry_id: entry.entry_id,
                reason,
            }),
        }
    }
    store.append_audit(&records)?;
    Ok(receipt)
}

/// `GET /v1/citizens/{id}/access-report[.csv]`: every look-up of the citizen's data, for an
/// admin of the citizen's municipality (another municipality's citizen, or one the server does
/// not know, is 404). The look-up is itself logged first, so it is in the report.
pub fn access_report(
    store: &dyn Store,
    who: &Principal,
    citizen: &str,
) -> std::result::Result<AccessReport, ApiError> {
    let citizen = CitizenId(
        uuid::Uuid::parse_str(citizen).map_err(|_| ApiError::BadRequest {
            kind: "invalid",
            message: "`id` must be a citizen's id".into(),
        })?,
    );
    if !who.may(Capability::SeeAccessLog) {
        return Err(ApiError::Forbidden(format!(
            "the access report needs the right to {}",
            Capability::SeeAccessLog.as_str()
        )));
    }
    let not_found = || ApiError::NotFound("no such citizen in your municipality".into());
    let (team, municipality) = store.citizen_home_now(citizen)?.ok_or_else(not_found)?;
    if who.municipality_id != Some(municipality) {
        return Err(not_found());
    }
    let now = now_ms();
    store.append_audit(&[AuditRecord {
        team: Some(team),
        citizen: Some(citizen),
        ..AuditRecord::by(who, AuditAction::AccessReport, now)
    }])?;
    let entries: Vec<_> = store
        .audit_of_citizen(citizen)?
        .into_iter()
        // A row that does not read is `audit-verify`'s to report; the report lists the rest.
        .filter_map(|e| e.ok())
        .collect();
    let mut names: HashMap<UserId, Option<String>> = HashMap::new();
    for user in entries.iter().filter_map(|e| e.record.user) {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(user) {
            slot.insert(store.user_by_id(user)?.map(|u| u.user.display_name));
        }
    }
    Ok(audit::access_report(citizen, now, &entries, |u| {
        names.get(&u).cloned().flatten()
    }))
}

/// What `audit-verify` found: entries checked, the head's hash, the first broken link, and
/// whether a head kept from an earlier run is still in the chain.
#[derive(Debug)]
pub struct Verification {
    pub checked: u64,
    pub head: String,
    pub broken: Option<BrokenLink>,
    /// Why the kept head (`--kept SEQ:HASH`) no longer holds: the log was cut off before it,
    /// or that entry's hash differs.
    pub kept_lost: Option<String>,
}

/// A head printed by an earlier `audit-verify` (`SEQ:HASH`).
pub fn parse_kept(kept: &str) -> Option<(u64, String)> {
    let (seq, hash) = kept.split_once(':')?;
    let hash = hash.trim().to_ascii_lowercase();
    (hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()))
        .then_some((seq.trim().parse().ok()?, hash))
}

/// Walks the whole log in order, a page at a time, and stops at the first broken link; with
/// `kept`, also checks that entry `kept.0` is still there with hash `kept.1` (entries cut off
/// at the end are found only so).
pub fn verify(store: &dyn Store, kept: Option<&(u64, String)>) -> Result<Verification> {
    const PAGE: usize = 10_000;
    let mut check = ChainCheck::default();
    let mut after = 0;
    let mut kept_lost = None;
    let mut note_kept = |check: &ChainCheck| {
        if let Some((seq, hash)) = kept {
            if check.checked() == *seq && check.head() != *hash {
                kept_lost = Some(format!(
                    "entry {seq}'s hash is {} now, not the {hash} kept",
                    check.head()
                ));
            }
        }
    };
    let broken = 'walk: loop {
        let page = store.audit_entries(after, PAGE)?;
        let Some(last) = page.last() else { break None };
        after = match last {
            Ok(e) => e.seq,
            Err(u) => u.seq,
        };
        for entry in &page {
            if let Err(broken) = check.check(entry) {
                break 'walk Some(broken);
            }
            note_kept(&check);
        }
        if page.len() < PAGE {
            break None;
        }
    };
    if let Some((seq, _)) = kept {
        if broken.is_none() && check.checked() < *seq {
            kept_lost = Some(format!(
                "the log ends at entry {}, before the kept entry {seq}: entries were cut off",
                check.checked()
            ));
        }
    }
    Ok(Verification {
        checked: check.checked(),
        head: check.head(),
        broken,
        kept_lost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use homerehab_shared::ids::{CourseId, MunicipalityId, TeamId};
    use homerehab_shared::model::Role;
    use homerehab_shared::sync::wire::{ReplyStatus, SyncResponse};

    #[test]
    fn a_sync_logs_each_citizen_document_it_carries_to_the_device_once_an_hour_and_nothing_else() {
        let team = TeamId::new();
        let who = Principal {
            user_id: UserId::new(),
            role: Role::Assistant,
            team_id: team,
            granted_teams: vec![],
            municipality_id: Some(MunicipalityId::new()),
        };
        let (offered, new) = (CourseId::new(), CourseId::new());
        let offered_course = Header::course(team, offered);
        let roster = Header::roster(team);
        let library = Header::library(who.municipality_id.unwrap());
        let reply = |header: &Header, changes: &[u8], with_header: bool| Reply {
            doc: header.id,
            status: ReplyStatus::Synced,
            heads: vec![],
            changes: changes.to_vec(),
            header: with_header.then_some(*header),
            generation: 0,
        };
        let resp = SyncResponse {
            replies: vec![
                // Offered by the device: its header is the visible one.
                reply(&offered_course, b"x", false),
                // New to the device: the reply names it.
                reply(&Header::session_log(team, new), b"x", true),
                reply(&roster, b"x", false),
                // Nothing sent: nothing logged.
                reply(&Header::session_log(team, offered), b"", false),
                reply(&library, b"x", true),
            ],
            protocol: homerehab_shared::sync::wire::PROTOCOL_VERSION,
            unchanged: 0,
        };
        let headers = HashMap::from([(offered_course.id, offered_course), (roster.id, roster)]);
        let device = Some(DeviceId::new());
        let (records, deliveries) = sync_records(&who, device, &headers, &resp.replies, 7, None);
        let got: Vec<_> = records
            .iter()
            .map(|r| (r.action, r.course, r.team, r.device, r.role))
            .collect();
        assert_eq!(
            got,
            [
                (
                    AuditAction::SyncedCourse,
                    Some(offered),
                    Some(team),
                    device,
                    Some(Role::Assistant)
                ),
                (
                    AuditAction::SyncedSessionLog,
                    Some(new),
                    Some(team),
                    device,
                    Some(Role::Assistant)
                ),
                (
                    AuditAction::SyncedRoster,
                    None,
                    Some(team),
                    device,
                    Some(Role::Assistant)
                ),
            ]
        );
        assert!(records
            .iter()
            .all(|r| r.recorded_at == 7 && r.citizen.is_none()));
        assert_eq!(deliveries.len(), 3, "each record's delivery, to remember");

        // Remembered: the same deliveries within the hour are not recorded again; to another
        // device, and to one the server cannot name, they are.
        let mut recent = RecentDeliveries::default();
        for d in deliveries {
            recent.recorded(d, 7);
        }
        let again = sync_records(&who, device, &headers, &resp.replies, 8, Some(&recent));
        assert_eq!(again, (vec![], vec![]));
        let (other, _) = sync_records(
            &who,
            Some(DeviceId::new()),
            &headers,
            &resp.replies,
            8,
            Some(&recent),
        );
        assert_eq!(other.len(), 3);
        let (unnamed, remember) =
            sync_records(&who, None, &headers, &resp.replies, 8, Some(&recent));
        assert_eq!((unnamed.len(), remember.len()), (3, 0));
        let hour_later = 7 + homerehab_shared::audit::DELIVERY_RECORD_INTERVAL_MS;
        let (later, _) = sync_records(
            &who,
            device,
            &headers,
            &resp.replies,
            hour_later,
            Some(&recent),
        );
        assert_eq!(later.len(), 3);
    }
}
