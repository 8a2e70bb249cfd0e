//! The audit log's rules (issue #14, items 3 and 4), for the server, the device and the
//! verification command: what an entry records, the hash chain that makes the log
//! tamper-evident, what a device may submit, and how an entry reads in a citizen's access
//! report.
//!
//! An entry holds references only — ids, role, action, purpose, times, device — never a name,
//! note or value: the names in an access report are looked up when the report is made.
//!
//! **The chain.** Entry *n* (numbered from 1, without gaps) carries `hash = SHA-256(prev ‖
//! canonical(n, record))`, where `prev` is entry *n−1*'s hash ([`GENESIS`] for the first) and
//! [`canonical`] a fixed, length-prefixed encoding of every field. Editing a field breaks that
//! entry's hash; replacing a whole row (its hash recomputed) breaks the next entry's `prev`;
//! deleting one leaves a gap. [`ChainCheck`] walks the log and names the first broken link.
//! Cutting off the tail is not detectable from inside the database: `audit-verify` prints the
//! head's number and hash, to be kept elsewhere (docs/security.md).

mod deliveries;

pub use deliveries::{
    Delivery, RecentDeliveries, DELIVERY_RECORD_INTERVAL_MS, REMEMBERED_DELIVERIES,
};

use crate::auth::{authorize, Access, Principal};
use crate::docs::Header;
use crate::ids::{CitizenId, CourseId, DeviceId, MunicipalityId, TeamId, UserId};
use crate::model::{Millis, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev` of entry 1.
pub const GENESIS: [u8; 32] = [0; 32];

/// The most entries a device sends in one request (`POST /v1/audit`).
pub const MAX_UPLOAD: usize = 1_000;

/// What happened. Stored by [`AuditAction::as_str`]; only ever add variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A device received changes of a course document in a sync.
    SyncedCourse,
    /// A device received changes of a course's session log in a sync.
    SyncedSessionLog,
    /// A device received changes of its team's roster (names, addresses of every citizen of
    /// the team) in a sync.
    SyncedRoster,
    /// On a device: a citizen's course opened (the visit's course screen).
    OpenedCourse,
    /// On a device: a session's summary opened.
    OpenedSession,
    /// On a device: a course's history opened.
    OpenedHistory,
    /// On a device: a course's program opened.
    OpenedProgram,
    /// On a device: a course's effect summary opened.
    OpenedSummary,
    /// The leaders' evidence answered (pseudonymised figures of teams, no citizen's).
    EvidenceExtract,
    /// A citizen's access report made (its CSV or its screen).
    AccessReport,
    /// A device revoked by a leader or admin.
    DeviceRevoked,
    /// Every sign-in of a user ended.
    SignedOutEverywhere,
    /// A citizen, or records of theirs, erased at the citizen's request (GDPR art. 17) by an
    /// admin (issue #14 item 5). An erasure's entry says why by its action: coded, so no free
    /// text can carry what was erased. The documents' ids are in the erasure ledger.
    ErasedOnRequest,
    /// Erased by an admin: recorded in error (the wrong person, a duplicate).
    ErasedRecordedInError,
    /// Erased by an admin on an authority's order (a court, the Data Protection Agency).
    ErasedByOrder,
    /// Erased by the retention job: past the municipality's retention.
    ErasedByRetention,
    /// A table of the municipality's pseudonymised rows pulled for its BI warehouse
    /// (`crate::export`): who and when, no team (the whole municipality) and no citizen; the
    /// table and period go to the server's log.
    BiExport,
    /// A course of the citizen's, its visits and test results, pulled as FHIR resources for
    /// the municipality's care record system (`crate::fhir`): one entry per course, naming the
    /// citizen, so the citizen's access report shows it.
    CareRecordExport,
}

impl AuditAction {
    pub const ALL: [AuditAction; 18] = [
        AuditAction::SyncedCourse,
        AuditAction::SyncedSessionLog,
        AuditAction::SyncedRoster,
        AuditAction::OpenedCourse,
        AuditAction::OpenedSession,
        AuditAction::OpenedHistory,
        AuditAction::OpenedProgram,
        AuditAction::OpenedSummary,
        AuditAction::EvidenceExtract,
        AuditAction::AccessReport,
        AuditAction::DeviceRevoked,
        AuditAction::SignedOutEverywhere,
        AuditAction::ErasedOnRequest,
        AuditAction::ErasedRecordedInError,
        AuditAction::ErasedByOrder,
        AuditAction::ErasedByRetention,
        AuditAction::BiExport,
        AuditAction::CareRecordExport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SyncedCourse => "synced_course",
            AuditAction::SyncedSessionLog => "synced_session_log",
            AuditAction::SyncedRoster => "synced_roster",
            AuditAction::OpenedCourse => "opened_course",
            AuditAction::OpenedSession => "opened_session",
            AuditAction::OpenedHistory => "opened_history",
            AuditAction::OpenedProgram => "opened_program",
            AuditAction::OpenedSummary => "opened_summary",
            AuditAction::EvidenceExtract => "evidence_extract",
            AuditAction::AccessReport => "access_report",
            AuditAction::DeviceRevoked => "device_revoked",
            AuditAction::SignedOutEverywhere => "signed_out_everywhere",
            AuditAction::ErasedOnRequest => "erased_on_request",
            AuditAction::ErasedRecordedInError => "erased_recorded_in_error",
            AuditAction::ErasedByOrder => "erased_by_order",
            AuditAction::ErasedByRetention => "erased_by_retention",
            AuditAction::BiExport => "bi_export",
            AuditAction::CareRecordExport => "care_record_export",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether a device may report it (a look-up on the device, about a course).
    pub fn on_device(self) -> bool {
        matches!(
            self,
            AuditAction::OpenedCourse
                | AuditAction::OpenedSession
                | AuditAction::OpenedHistory
                | AuditAction::OpenedProgram
                | AuditAction::OpenedSummary
        )
    }

    /// Why such a look-up happens: one fixed purpose per action (C-579/21 gives the citizen
    /// the purposes of look-ups; no free text, so nothing personal enters the log).
    pub fn purpose(self) -> Purpose {
        match self {
            AuditAction::OpenedCourse | AuditAction::OpenedSession => Purpose::Visit,
            AuditAction::OpenedHistory
            | AuditAction::OpenedProgram
            | AuditAction::OpenedSummary => Purpose::FollowUp,
            AuditAction::SyncedCourse
            | AuditAction::SyncedSessionLog
            | AuditAction::SyncedRoster => Purpose::OfflineCopy,
            AuditAction::EvidenceExtract | AuditAction::BiExport => Purpose::Statistics,
            AuditAction::AccessReport => Purpose::AccessRequest,
            AuditAction::CareRecordExport => Purpose::CareRecord,
            AuditAction::DeviceRevoked | AuditAction::SignedOutEverywhere => Purpose::Security,
            AuditAction::ErasedOnRequest
            | AuditAction::ErasedRecordedInError
            | AuditAction::ErasedByOrder
            | AuditAction::ErasedByRetention => Purpose::Erasure,
        }
    }

    /// The action in the access report (Danish).
    pub fn danish(self) -> &'static str {
        match self {
            AuditAction::SyncedCourse => "Forløb overført til enhed",
            AuditAction::SyncedSessionLog => "Træningslog overført til enhed",
            AuditAction::SyncedRoster => "Holdets borgerliste overført til enhed",
            AuditAction::OpenedCourse => "Forløb åbnet",
            AuditAction::OpenedSession => "Træning (session) åbnet",
            AuditAction::OpenedHistory => "Historik åbnet",
            AuditAction::OpenedProgram => "Program åbnet",
            AuditAction::OpenedSummary => "Effektopsummering åbnet",
            AuditAction::EvidenceExtract => "Ledelsesdata udtrukket",
            AuditAction::AccessReport => "Adgangsrapport (udtræk af loggen)",
            AuditAction::DeviceRevoked => "Enhed spærret",
            AuditAction::SignedOutEverywhere => "Logget ud overalt",
            AuditAction::ErasedOnRequest => "Slettet efter borgerens anmodning",
            AuditAction::ErasedRecordedInError => "Slettet: registreret ved en fejl",
            AuditAction::ErasedByOrder => "Slettet efter påbud fra myndighed",
            AuditAction::ErasedByRetention => "Slettet: opbevaringsperioden udløbet",
            AuditAction::BiExport => "Pseudonymiserede data udtrukket til kommunens BI",
            AuditAction::CareRecordExport => "Forløb og besøg overført til omsorgssystemet",
        }
    }
}

/// Why something was looked up: the reason kind an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A home visit: the training with the citizen.
    Visit,
    /// The therapist's follow-up of the course.
    FollowUp,
    /// The device keeps the team's data to work offline.
    OfflineCopy,
    /// Pseudonymised management figures.
    Statistics,
    /// The citizen's right of access: the report itself.
    AccessRequest,
    /// Protecting the data: devices and sign-ins.
    Security,
    /// Erasure: retention or a citizen's erasure (issue #14 item 5).
    Erasure,
    /// Documentation in the municipality's care record system (its EOJ).
    CareRecord,
}

impl Purpose {
    pub const ALL: [Purpose; 8] = [
        Purpose::Visit,
        Purpose::FollowUp,
        Purpose::OfflineCopy,
        Purpose::Statistics,
        Purpose::AccessRequest,
        Purpose::Security,
        Purpose::Erasure,
        Purpose::CareRecord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Visit => "visit",
            Purpose::FollowUp => "follow_up",
            Purpose::OfflineCopy => "offline_copy",
            Purpose::Statistics => "statistics",
            Purpose::AccessRequest => "access_request",
            Purpose::Security => "security",
            Purpose::Erasure => "erasure",
            Purpose::CareRecord => "care_record",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The purpose in the access report (Danish).
    pub fn danish(self) -> &'static str {
        match self {
            Purpose::Visit => "Hjemmetræning (besøg)",
            Purpose::FollowUp => "Opfølgning på forløbet",
            Purpose::OfflineCopy => "Kopi til brug uden netforbindelse",
            Purpose::Statistics => "Ledelsesinformation (pseudonymiseret)",
            Purpose::AccessRequest => "Aktindsigt i loggen",
            Purpose::Security => "Datasikkerhed",
            Purpose::Erasure => "Sletning",
            Purpose::CareRecord => "Dokumentation i kommunens omsorgssystem",
        }
    }
}

/// A role as the access report names it (Danish): display only.
pub fn role_danish(role: Role) -> &'static str {
    match role {
        Role::Assistant => "Træningsassistent",
        Role::Therapist => "Terapeut",
        Role::Leader => "Leder",
        Role::Admin => "Administrator",
    }
}

/// One entry's content: references only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unique: a device's entries are named on the device, so a resend is recognised.
    pub entry_id: Uuid,
    /// When the server recorded it (the server's clock).
    pub recorded_at: Millis,
    /// When it happened: the device's clock for a look-up on a device (a claim), else
    /// `recorded_at`.
    pub occurred_at: Millis,
    /// Who; `None` for the server's own command line.
    pub user: Option<UserId>,
    /// Their role at the time.
    pub role: Option<Role>,
    /// The device it happened on or was sent to.
    pub device: Option<DeviceId>,
    pub action: AuditAction,
    pub purpose: Purpose,
    /// The team whose data it was.
    pub team: Option<TeamId>,
    /// The citizen, when the action names one directly (a report); a course's citizen is
    /// found through the course when the report is made.
    pub citizen: Option<CitizenId>,
    pub course: Option<CourseId>,
    /// What an administrative action acted on: the device revoked, the user signed out.
    pub target: Option<Uuid>,
}

impl AuditRecord {
    /// A record of `action` by `who` now, its purpose the action's.
    pub fn by(who: &Principal, action: AuditAction, now: Millis) -> Self {
        AuditRecord {
            user: Some(who.user_id),
            role: Some(who.role),
            ..Self::by_server(action, now)
        }
    }

    /// A record of `action` the server did on its own now (the retention job), by nobody.
    pub fn by_server(action: AuditAction, now: Millis) -> Self {
        AuditRecord {
            entry_id: time_ordered_id(now),
            recorded_at: now,
            occurred_at: now,
            user: None,
            role: None,
            device: None,
            action,
            purpose: action.purpose(),
            team: None,
            citizen: None,
            course: None,
            target: None,
        }
    }
}

/// A fresh entry id whose leading bits are `now` (UUIDv7): entries recorded together sit
/// side by side in the log's unique index, so an append writes one of its pages, not one per
/// entry (issue #13: a sync that sends 50 courses records 50 entries).
fn time_ordered_id(now: Millis) -> Uuid {
    let ms = u64::try_from(now).unwrap_or(0);
    let at = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
    Uuid::new_v7(at)
}

/// An entry as stored: its number, its record and its link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainedEntry {
    /// The entry number, from 1, without gaps.
    pub seq: u64,
    pub record: AuditRecord,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// The bytes an entry's hash covers: a version tag, then every field in a fixed order, each
/// optional field with a presence byte and every string with its length, so no two records
/// encode alike.
pub fn canonical(seq: u64, r: &AuditRecord) -> Vec<u8> {
    fn uuid(out: &mut Vec<u8>, id: Option<&Uuid>) {
        match id {
            Some(id) => {
                out.push(1);
                out.extend_from_slice(id.as_bytes());
            }
            None => out.push(0),
        }
    }
    fn text(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => {
                out.push(1);
                out.extend_from_slice(&(s.len() as u32).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            None => out.push(0),
        }
    }
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"homerehab-audit-1\0");
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(r.entry_id.as_bytes());
    out.extend_from_slice(&r.recorded_at.to_be_bytes());
    out.extend_from_slice(&r.occurred_at.to_be_bytes());
    uuid(&mut out, r.user.as_ref().map(|u| &u.0));
    text(&mut out, r.role.map(Role::as_str));
    uuid(&mut out, r.device.as_ref().map(|d| &d.0));
    text(&mut out, Some(r.action.as_str()));
    text(&mut out, Some(r.purpose.as_str()));
    uuid(&mut out, r.team.as_ref().map(|t| &t.0));
    uuid(&mut out, r.citizen.as_ref().map(|c| &c.0));
    uuid(&mut out, r.course.as_ref().map(|c| &c.0));
    uuid(&mut out, r.target.as_ref());
    out
}

/// The hash of entry `seq` holding `record` after an entry whose hash is `prev`.
pub fn link_hash(prev: &[u8; 32], seq: u64, record: &AuditRecord) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(seq, record));
    h.finalize().into()
}

/// Chains `records` after the entry (`seq`, `hash`) now last (`(0, GENESIS)` for an empty
/// log): what an appender stores, inside the transaction that holds the log's lock.
pub fn chain_after(
    last_seq: u64,
    last_hash: [u8; 32],
    records: impl IntoIterator<Item = AuditRecord>,
) -> Vec<ChainedEntry> {
    let (mut seq, mut prev) = (last_seq, last_hash);
    records
        .into_iter()
        .map(|record| {
            seq += 1;
            let hash = link_hash(&prev, seq, &record);
            let entry = ChainedEntry {
                seq,
                record,
                prev_hash: prev,
                hash,
            };
            prev = hash;
            entry
        })
        .collect()
}

/// A row the store could not read back as an entry (an unknown action or role, a bad id):
/// it was written by no Homerehab, so it is a broken link too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadableEntry {
    pub seq: u64,
    pub why: String,
}

/// The first place the chain does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    #[error("entry {expected} is missing: the entry after entry {} is numbered {found}", expected - 1)]
    Missing { expected: u64, found: u64 },
    #[error(
        "entry {seq} does not follow entry {}: its previous hash is {} but that entry's hash is {}",
        seq - 1, hex(.stored), hex(.expected)
    )]
    PrevHash {
        seq: u64,
        stored: [u8; 32],
        expected: [u8; 32],
    },
    #[error(
        "entry {seq} was changed after it was written: its content hashes to {} but its stored hash is {}",
        hex(.computed), hex(.stored)
    )]
    Content {
        seq: u64,
        stored: [u8; 32],
        computed: [u8; 32],
    },
    #[error("entry {seq} cannot be read as an entry: {why}")]
    Unreadable { seq: u64, why: String },
}

impl BrokenLink {
    /// The number of the entry where the chain breaks.
    pub fn seq(&self) -> u64 {
        match self {
            BrokenLink::Missing { expected, .. } => *expected,
            BrokenLink::PrevHash { seq, .. }
            | BrokenLink::Content { seq, .. }
            | BrokenLink::Unreadable { seq, .. } => *seq,
        }
    }
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Walks a log entry by entry, in order, and stops at the first broken link.
#[derive(Clone, Debug)]
pub struct ChainCheck {
    next_seq: u64,
    prev: [u8; 32],
}

impl Default for ChainCheck {
    fn default() -> Self {
        ChainCheck {
            next_seq: 1,
            prev: GENESIS,
        }
    }
}

impl ChainCheck {
    /// Checks the next entry (entries in order of their number).
    pub fn check(
        &mut self,
        entry: &Result<ChainedEntry, UnreadableEntry>,
    ) -> Result<(), BrokenLink> {
        let seq = match entry {
            Ok(e) => e.seq,
            Err(u) => u.seq,
        };
        if seq != self.next_seq {
            return Err(BrokenLink::Missing {
                expected: self.next_seq,
                found: seq,
            });
        }
        let entry = entry.as_ref().map_err(|u| BrokenLink::Unreadable {
            seq,
            why: u.why.clone(),
        })?;
        if entry.prev_hash != self.prev {
            return Err(BrokenLink::PrevHash {
                seq,
                stored: entry.prev_hash,
                expected: self.prev,
            });
        }
        let computed = link_hash(&entry.prev_hash, seq, &entry.record);
        if computed != entry.hash {
            return Err(BrokenLink::Content {
                seq,
                stored: entry.hash,
                computed,
            });
        }
        self.prev = entry.hash;
        self.next_seq += 1;
        Ok(())
    }

    /// Entries checked so far.
    pub fn checked(&self) -> u64 {
        self.next_seq - 1
    }

    /// The hash of the last entry checked ([`GENESIS`] for none): the head to keep elsewhere.
    pub fn head(&self) -> String {
        hex(&self.prev)
    }
}

/// A look-up on a device, as the device sends it (`POST /v1/audit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuditEntry {
    /// Made on the device: a resend is recognised by it.
    pub entry_id: Uuid,
    /// The device's clock.
    pub at: Millis,
    /// Who looked: must be the user the request is signed in as.
    pub user_id: UserId,
    pub action: AuditAction,
    pub course_id: CourseId,
}

/// `POST /v1/audit`'s body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditUpload {
    pub entries: Vec<DeviceAuditEntry>,
}

/// `POST /v1/audit`'s answer: every entry is either kept (now or before) or refused for
/// good, so the device sends neither again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReceipt {
    pub kept: Vec<Uuid>,
    pub refused: Vec<RefusedAuditEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedAuditEntry {
    pub entry_id: Uuid,
    pub reason: String,
}

/// Why a whole upload is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefused {
    #[error("a device submits only the look-ups of the user signed in on it")]
    AnotherUser,
    #[error("{0} is not a look-up a device records")]
    NotADeviceAction(&'static str),
    #[error("at most {MAX_UPLOAD} entries at a time")]
    TooMany,
}

/// Checks an upload as a whole: only `who`'s own look-ups, only a device's actions.
pub fn check_upload(who: &Principal, upload: &AuditUpload) -> Result<(), UploadRefused> {
    if upload.entries.len() > MAX_UPLOAD {
        return Err(UploadRefused::TooMany);
    }
    for e in &upload.entries {
        if e.user_id != who.user_id {
            return Err(UploadRefused::AnotherUser);
        }
        if !e.action.on_device() {
            return Err(UploadRefused::NotADeviceAction(e.action.as_str()));
        }
    }
    Ok(())
}

/// The record of one device look-up, given the header of the course it names (`None` when
/// the server holds no such course) and the municipality of that course's team: kept when
/// `who` may read that course now, or when it is in `who`'s own municipality — a look-up
/// made offline while they could read it, whose access went before the device synced (a
/// grant withdrawn, a move to another team), is still the citizen's to see in their access
/// report. Refused for any other municipality's course (a device cannot write into another
/// municipality's log).
pub fn device_record(
    who: &Principal,
    device: Option<DeviceId>,
    entry: &DeviceAuditEntry,
    course: Option<&Header>,
    course_municipality: Option<MunicipalityId>,
    now: Millis,
) -> Result<AuditRecord, String> {
    let header = course.ok_or_else(|| "no such course on the server".to_string())?;
    if let Err(forbidden) = authorize(who, header, Access::Read) {
        let own = who.municipality_id.is_some() && course_municipality == who.municipality_id;
        if !own {
            return Err(forbidden.to_string());
        }
    }
    // The device's clock: a time before 2020 or after tomorrow is a wrong clock (or a hostile
    // one: a time past year 9999 cannot be shown), and the look-up is kept at the time it
    // reached the server.
    const FIRST_PLAUSIBLE: Millis = 1_577_836_800_000; // 2020-01-01
    let occurred_at = if (FIRST_PLAUSIBLE..=now.saturating_add(24 * 3_600_000)).contains(&entry.at)
    {
        entry.at
    } else {
        now
    };
    Ok(AuditRecord {
        entry_id: entry.entry_id,
        occurred_at,
        device,
        team: Some(header.team_id),
        course: Some(entry.course_id),
        ..AuditRecord::by(who, entry.action, now)
    })
}

/// A citizen's access report: every look-up of their data, oldest first (issue #14 item 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessReport {
    pub citizen_id: CitizenId,
    /// When the report was made (the server's clock).
    pub made_at: Millis,
    pub lines: Vec<AccessLine>,
}

/// One look-up, as the citizen reads it: references resolved to a name and Danish words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLine {
    /// The entry's number in the log.
    pub entry: u64,
    /// When it happened (for a look-up on a device: the device's clock).
    pub at: Millis,
    /// The staff member's name; for the server's own command line, "Driftsansvarlig".
    pub who: String,
    /// Their role (Danish).
    pub role: String,
    /// What (Danish).
    pub what: String,
    /// Why (Danish).
    pub purpose: String,
    /// The device's id, when on or to a device.
    pub device: Option<DeviceId>,
    pub course: Option<CourseId>,
}

/// The report of `entries` (the citizen's, in order); `name_of` gives a staff member's name
/// (`None` for a user no longer known).
pub fn access_report(
    citizen: CitizenId,
    made_at: Millis,
    entries: &[ChainedEntry],
    name_of: impl Fn(UserId) -> Option<String>,
) -> AccessReport {
    let lines = entries
        .iter()
        .map(|e| {
            let r = &e.record;
            AccessLine {
                entry: e.seq,
                at: r.occurred_at,
                who: match r.user {
                    Some(u) => name_of(u).unwrap_or_else(|| format!("Ukendt bruger {u}")),
                    None => "Driftsansvarlig".into(),
                },
                role: r.role.map(role_danish).unwrap_or("").into(),
                what: r.action.danish().into(),
                purpose: r.purpose.danish().into(),
                device: r.device,
                course: r.course,
            }
        })
        .collect();
    AccessReport {
        citizen_id: citizen,
        made_at,
        lines,
    }
}

/// A cell Excel shows as text, never runs: a value beginning with `=`, `+`, `-`, `@`, a tab or
/// a carriage return is a formula to a spreadsheet (OWASP's CSV injection), and a staff
/// member's name is typed by people; such a value gets a leading `'`, which Excel hides.
pub(crate) fn spreadsheet_text(value: String) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value
    }
}

/// The report as CSV for Danish Excel: UTF-8 with a byte-order mark, `;` between fields,
/// Danish headings, Danish time; text cells never formulas ([`spreadsheet_text`]).
pub fn to_csv(report: &AccessReport) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        let heading = [
            "Løbenummer",
            "Tidspunkt (dansk tid)",
            "Medarbejder",
            "Rolle",
            "Handling",
            "Formål",
            "Enhed",
            "Forløb",
        ];
        // Writing to a Vec cannot fail.
        let _ = w.write_record(heading);
        for l in &report.lines {
            let _ = w.write_record([
                l.entry.to_string(),
                danish_time(l.at),
                spreadsheet_text(l.who.clone()),
                spreadsheet_text(l.role.clone()),
                spreadsheet_text(l.what.clone()),
                spreadsheet_text(l.purpose.clone()),
                l.device.map(|d| d.to_string()).unwrap_or_default(),
                l.course.map(|c| c.to_string()).unwrap_or_default(),
            ]);
        }
        let _ = w.flush();
    }
    out
}

/// `at` as Danish local time, `dd-mm-åååå tt:mm`: CET, and CEST from the last Sunday of
/// March to the last Sunday of October (01:00 UTC, the EU rule).
pub fn danish_time(at: Millis) -> String {
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000)) else {
        return String::new();
    };
    let Some(t) = utc.checked_to_offset(crate::schedule::danish_offset(at)) else {
        return String::new();
    };
    format!(
        "{:02}-{:02}-{} {:02}:{:02}",
        t.day(),
        t.month() as u8,
        t.year(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_unique_and_ordered_by_the_time_they_were_recorded() {
        let now = 1_764_000_000_123;
        let ids: Vec<Uuid> = [now, now, now + 1, now + 1_000]
            .iter()
            .map(|&at| AuditRecord::by_server(AuditAction::ErasedByRetention, at).entry_id)
            .collect();
        assert_eq!(ids[0].get_version_num(), 7);
        assert_ne!(ids[0], ids[1], "one millisecond, two ids");
        // As stored (text), later is greater: the unique index is appended at its end.
        let text: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        assert!(text[0] < text[2] && text[1] < text[2] && text[2] < text[3]);
        let ms = |id: &Uuid| id.get_timestamp().unwrap().to_unix();
        assert_eq!(ms(&ids[3]), (1_764_000_001, 123_000_000));
    }

    fn principal(role: Role, team: TeamId) -> Principal {
        Principal {
            user_id: UserId::new(),
            role,
            team_id: team,
            granted_teams: vec![],
            municipality_id: None,
        }
    }

    fn records(n: usize) -> Vec<AuditRecord> {
        let who = principal(Role::Therapist, TeamId::new());
        (0..n)
            .map(|i| AuditRecord {
                course: Some(CourseId::new()),
                ..AuditRecord::by(&who, AuditAction::OpenedCourse, 1_000 + i as Millis)
            })
            .collect()
    }

    fn walk(entries: &[ChainedEntry]) -> Result<u64, BrokenLink> {
        let mut check = ChainCheck::default();
        for e in entries {
            check.check(&Ok(e.clone()))?;
        }
        Ok(check.checked())
    }

    #[test]
    fn a_chain_verifies_and_each_kind_of_tampering_names_its_entry() {
        let entries = chain_after(0, GENESIS, records(5));
        assert_eq!(walk(&entries), Ok(5));
        // Continuing a chain gives the same as chaining at once.
        let mut two = chain_after(0, GENESIS, records(0));
        assert!(two.is_empty());
        let first = chain_after(0, GENESIS, entries[..3].iter().map(|e| e.record.clone()));
        let rest = chain_after(
            3,
            first[2].hash,
            entries[3..].iter().map(|e| e.record.clone()),
        );
        two.extend(first);
        two.extend(rest);
        assert_eq!(two, entries);

        // A field edited in place.
        let mut edited = entries.clone();
        edited[2].record.role = Some(Role::Leader);
        assert!(matches!(
            walk(&edited),
            Err(BrokenLink::Content { seq: 3, .. })
        ));
        // A row replaced with its hash recomputed: the next one no longer follows.
        let mut replaced = entries.clone();
        replaced[1].record.occurred_at += 1;
        replaced[1].hash = link_hash(&replaced[1].prev_hash, 2, &replaced[1].record);
        let broken = walk(&replaced).unwrap_err();
        assert!(matches!(broken, BrokenLink::PrevHash { seq: 3, .. }));
        assert!(broken
            .to_string()
            .starts_with("entry 3 does not follow entry 2"));
        // A row deleted.
        let mut gap = entries.clone();
        gap.remove(3);
        assert_eq!(
            walk(&gap),
            Err(BrokenLink::Missing {
                expected: 4,
                found: 5
            })
        );
        // A row the store could not read.
        let mut check = ChainCheck::default();
        check.check(&Ok(entries[0].clone())).unwrap();
        let unreadable = check.check(&Err(UnreadableEntry {
            seq: 2,
            why: "unknown action".into(),
        }));
        assert_eq!(unreadable.unwrap_err().seq(), 2);
    }

    #[test]
    fn no_two_records_encode_alike() {
        let r = &records(1)[0];
        let mut other = r.clone();
        other.course = None;
        other.target = r.course.map(|c| c.0);
        assert_ne!(canonical(1, r), canonical(1, &other));
        assert_ne!(canonical(1, r), canonical(2, r));
    }

    #[test]
    fn a_device_submits_its_own_users_look_ups_of_courses_they_may_read() {
        const LOOKED_UP: Millis = 1_796_126_400_000; // 2026-12-01 12:00 UTC
        const NOW: Millis = LOOKED_UP + 4_000;
        let team = TeamId::new();
        let therapist = principal(Role::Therapist, team);
        let course = CourseId::new();
        let entry = DeviceAuditEntry {
            entry_id: Uuid::new_v4(),
            at: LOOKED_UP,
            user_id: therapist.user_id,
            action: AuditAction::OpenedHistory,
            course_id: course,
        };
        let upload = AuditUpload {
            entries: vec![entry.clone()],
        };
        assert_eq!(check_upload(&therapist, &upload), Ok(()));
        let colleague = principal(Role::Therapist, team);
        assert_eq!(
            check_upload(&colleague, &upload),
            Err(UploadRefused::AnotherUser)
        );
        let mut admin_act = upload.clone();
        admin_act.entries[0].action = AuditAction::DeviceRevoked;
        assert!(check_upload(&therapist, &admin_act).is_err());

        let header = Header::course(team, course);
        let record = device_record(&therapist, None, &entry, Some(&header), None, NOW).unwrap();
        assert_eq!(
            (
                record.occurred_at,
                record.recorded_at,
                record.team,
                record.purpose
            ),
            (LOOKED_UP, NOW, Some(team), Purpose::FollowUp)
        );
        let elsewhere = Header::course(TeamId::new(), course);
        assert!(device_record(&therapist, None, &entry, Some(&elsewhere), None, NOW).is_err());
        assert!(device_record(&therapist, None, &entry, None, None, NOW).is_err());
        // A course of the own municipality the user may no longer read (looked up offline
        // under a grant withdrawn since): kept; another municipality's: refused.
        let (own, other) = (MunicipalityId::new(), MunicipalityId::new());
        let therapist = Principal {
            municipality_id: Some(own),
            ..therapist
        };
        let kept = device_record(&therapist, None, &entry, Some(&elsewhere), Some(own), NOW);
        assert_eq!(kept.unwrap().team, Some(elsewhere.team_id));
        for municipality in [Some(other), None] {
            assert!(device_record(
                &therapist,
                None,
                &entry,
                Some(&elsewhere),
                municipality,
                NOW
            )
            .is_err());
        }
        let nowhere = Principal {
            municipality_id: None,
            ..therapist.clone()
        };
        assert!(device_record(&nowhere, None, &entry, Some(&elsewhere), None, NOW).is_err());
        // A device clock far off (or a hostile one, past year 9999): kept at the time it
        // reached the server, and the report can still show it.
        for wrong in [5, NOW + 2 * 24 * 3_600_000, 253_402_297_200_000, i64::MAX] {
            let entry = DeviceAuditEntry {
                at: wrong,
                ..entry.clone()
            };
            let record = device_record(&therapist, None, &entry, Some(&header), None, NOW).unwrap();
            assert_eq!(record.occurred_at, NOW, "{wrong}");
        }
        assert_eq!(danish_time(253_402_297_200_000), "");
    }

    #[test]
    fn danish_time_follows_summer_time() {
        // 2026-03-29 is the last Sunday of March: 00:59 UTC is winter, 01:00 UTC summer.
        assert_eq!(danish_time(1_774_745_940_000), "29-03-2026 01:59");
        assert_eq!(danish_time(1_774_746_000_000), "29-03-2026 03:00");
        // 2026-12-01 12:00 UTC.
        assert_eq!(danish_time(1_796_126_400_000), "01-12-2026 13:00");
    }

    #[test]
    fn the_csv_opens_in_danish_excel_and_quotes_what_needs_it() {
        let who = principal(Role::Assistant, TeamId::new());
        let citizen = CitizenId::new();
        let entries = chain_after(
            0,
            GENESIS,
            [AuditRecord {
                course: Some(CourseId::new()),
                ..AuditRecord::by(&who, AuditAction::OpenedCourse, 1_796_126_400_000)
            }],
        );
        let report = access_report(citizen, 0, &entries, |_| Some("Mette; Hansen".into()));
        let csv = to_csv(&report);
        assert!(csv.starts_with("\u{feff}".as_bytes()));
        let text = String::from_utf8(csv).unwrap();
        let mut lines = text.lines();
        assert!(lines
            .next()
            .unwrap()
            .contains("Løbenummer;Tidspunkt (dansk tid);Medarbejder;Rolle"));
        assert_eq!(
            lines.next().unwrap().split(';').take(2).collect::<Vec<_>>(),
            ["1", "01-12-2026 13:00"]
        );
        assert!(
            text.contains("\"Mette; Hansen\";Træningsassistent;Forløb åbnet;Hjemmetræning (besøg)")
        );
        // A name that reads as a formula is text to Excel.
        for (name, cell) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\";",
            ),
            ("+45 1234", "'+45 1234;"),
            ("-1", "'-1;"),
            ("@SUM(A1)", "'@SUM(A1);"),
        ] {
            let report = access_report(citizen, 0, &entries, |_| Some(name.into()));
            let text = String::from_utf8(to_csv(&report)).unwrap();
            assert!(
                text.contains(&format!(";{cell}Træningsassistent")),
                "{text}"
            );
        }
    }

    #[test]
    fn every_action_and_purpose_reads_back_from_its_name() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            assert!(!a.danish().is_empty());
        }
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
    }
}
