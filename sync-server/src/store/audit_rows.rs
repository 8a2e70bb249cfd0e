//! What both backends do for the audit log (issue #14) beyond SQL: an entry as the columns of
//! `audit_log` and back, and the append's rule (skip what is already logged, chain the rest
//! after the last entry: `homerehab_shared::audit::chain_after`). Ids are stored as their
//! hyphenated text, as the read model stores them, so a citizen's entries are found by joining
//! `rm_courses` and `rm_citizens` in either dialect.

use homerehab_shared::audit::{
    chain_after, AuditAction, AuditRecord, ChainedEntry, Purpose, UnreadableEntry,
};
use homerehab_shared::ids::{CitizenId, CourseId, DeviceId, TeamId, UserId};
use homerehab_shared::model::Role;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use uuid::Uuid;

/// The columns of `audit_log` in the order [`AuditRow`] holds them.
pub(super) const AUDIT_COLUMNS: &str = "seq, entry_id, recorded_at, occurred_at, user_id, role, \
     device_id, action, purpose, team_id, citizen_id, course_id, target, prev_hash, hash";

/// One row of `audit_log`, as stored.
#[derive(Clone, Debug)]
pub(super) struct AuditRow {
    pub seq: i64,
    pub entry_id: String,
    pub recorded_at: i64,
    pub occurred_at: i64,
    pub user_id: Option<String>,
    pub role: Option<String>,
    pub device_id: Option<String>,
    pub action: String,
    pub purpose: String,
    pub team_id: Option<String>,
    pub citizen_id: Option<String>,
    pub course_id: Option<String>,
    pub target: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

fn text(id: Option<Uuid>) -> Option<String> {
    id.map(|u| u.to_string())
}

impl AuditRow {
    pub(super) fn of(entry: &ChainedEntry) -> Self {
        let r = &entry.record;
        AuditRow {
            seq: entry.seq as i64,
            entry_id: r.entry_id.to_string(),
            recorded_at: r.recorded_at,
            occurred_at: r.occurred_at,
            user_id: text(r.user.map(|u| u.0)),
            role: r.role.map(|r| r.as_str().to_string()),
            device_id: text(r.device.map(|d| d.0)),
            action: r.action.as_str().to_string(),
            purpose: r.purpose.as_str().to_string(),
            team_id: text(r.team.map(|t| t.0)),
            citizen_id: text(r.citizen.map(|c| c.0)),
            course_id: text(r.course.map(|c| c.0)),
            target: text(r.target),
            prev_hash: entry.prev_hash.to_vec(),
            hash: entry.hash.to_vec(),
        }
    }

    /// The entry this row holds; a row no Homerehab wrote is [`UnreadableEntry`].
    pub(super) fn entry(self) -> Result<ChainedEntry, UnreadableEntry> {
        let seq = u64::try_from(self.seq).unwrap_or(0);
        let bad = |why: String| UnreadableEntry { seq, why };
        let id = |name: &str, v: Option<&str>| -> Result<Option<Uuid>, UnreadableEntry> {
            v.map(|s| Uuid::parse_str(s).map_err(|_| bad(format!("its {name} is not an id"))))
                .transpose()
        };
        let hash = |name: &str, v: &[u8]| -> Result<[u8; 32], UnreadableEntry> {
            v.try_into()
                .map_err(|_| bad(format!("its {name} is not 32 bytes")))
        };
        let record = AuditRecord {
            entry_id: id("entry id", Some(&self.entry_id))?.unwrap_or_default(),
            recorded_at: self.recorded_at,
            occurred_at: self.occurred_at,
            user: id("user", self.user_id.as_deref())?.map(UserId),
            role: match self.role.as_deref() {
                None => None,
                Some(r) => Some(Role::parse(r).ok_or_else(|| bad(format!("unknown role {r:?}")))?),
            },
            device: id("device", self.device_id.as_deref())?.map(DeviceId),
            action: AuditAction::parse(&self.action)
                .ok_or_else(|| bad(format!("unknown action {:?}", self.action)))?,
            purpose: Purpose::parse(&self.purpose)
                .ok_or_else(|| bad(format!("unknown purpose {:?}", self.purpose)))?,
            team: id("team", self.team_id.as_deref())?.map(TeamId),
            citizen: id("citizen", self.citizen_id.as_deref())?.map(CitizenId),
            course: id("course", self.course_id.as_deref())?.map(CourseId),
            target: id("target", self.target.as_deref())?,
        };
        Ok(ChainedEntry {
            seq,
            record,
            prev_hash: hash("previous hash", &self.prev_hash)?,
            hash: hash("hash", &self.hash)?,
        })
    }
}

/// The last entry's number and hash as an appender continues from. A hash that is not 32
/// bytes (a tampered row) is continued from its digest: appending never stops because of it,
/// and `audit-verify` names that entry.
pub(super) fn continue_from(last: Option<(i64, Vec<u8>)>) -> (u64, [u8; 32]) {
    match last {
        None => (0, homerehab_shared::audit::GENESIS),
        Some((seq, hash)) => {
            let hash = <[u8; 32]>::try_from(hash.as_slice())
                .unwrap_or_else(|_| Sha256::digest(&hash).into());
            (u64::try_from(seq).unwrap_or(0), hash)
        }
    }
}

/// The entry ids of `records` an append looks up in the log before writing: those a device
/// named (a look-up sent again after a lost answer), or every one when `all` (a retry of an
/// append whose commit may have landed all the same, its answer lost with the connection; or
/// where a look-up costs no round trip). The server names its own records afresh (a UUIDv7,
/// 74 random bits), so looking those up on PostgreSQL found nothing but took 6 % of the
/// database's time with 50 clients, where every sync logs the documents it sent.
pub(super) fn may_be_logged(records: &[AuditRecord], all: bool) -> Vec<String> {
    records
        .iter()
        .filter(|r| all || r.action.on_device())
        .map(|r| r.entry_id.to_string())
        .collect()
}

/// The entries to store for `records` after the last one: those whose entry id is not logged
/// yet (`known`: those of [`may_be_logged`] found in the log) and not repeated in the batch,
/// chained in order.
pub(super) fn to_append(
    records: &[AuditRecord],
    last: (u64, [u8; 32]),
    known: &HashSet<String>,
) -> Vec<ChainedEntry> {
    let mut seen = HashSet::new();
    let fresh = records
        .iter()
        .filter(|r| seen.insert(r.entry_id) && !known.contains(&r.entry_id.to_string()))
        .cloned();
    chain_after(last.0, last.1, fresh)
}

/// The schema of `audit_log`, the same in both dialects but for the hashes' type (`$bytes`):
/// append-only by rule (no code updates or deletes a row), numbered by `seq` from 1 without
/// gaps.
macro_rules! audit_schema {
    ($bytes:literal) => {
        concat!(
            "CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    entry_id    TEXT NOT NULL UNIQUE,
    recorded_at BIGINT NOT NULL,
    occurred_at BIGINT NOT NULL,
    user_id     TEXT,
    role        TEXT,
    device_id   TEXT,
    action      TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    team_id     TEXT,
    citizen_id  TEXT,
    course_id   TEXT,
    target      TEXT,
    prev_hash   ",
            $bytes,
            " NOT NULL,
    hash        ",
            $bytes,
            " NOT NULL
);
CREATE INDEX audit_log_course ON audit_log(course_id) WHERE course_id IS NOT NULL;
CREATE INDEX audit_log_citizen ON audit_log(citizen_id) WHERE citizen_id IS NOT NULL;
CREATE INDEX audit_log_roster ON audit_log(team_id) WHERE action = 'synced_roster';
"
        )
    };
}
pub(super) use audit_schema;

/// A citizen's entries, in order: those naming the citizen, those about their courses (by the
/// read model), and the transfers of their team's roster. `{p}` is the dialect's placeholder
/// of the citizen's id as text.
pub(super) fn of_citizen_sql(p: &str) -> String {
    format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log
          WHERE citizen_id = {p}
             OR course_id IN (SELECT course_id FROM rm_courses WHERE citizen_id = {p})
             OR (action = 'synced_roster'
                 AND team_id IN (SELECT team_id FROM rm_citizens WHERE citizen_id = {p}))
          ORDER BY seq"
    )
}
