//! The store's SQLite schema. Migrations are only ever appended, never edited.

use crate::error::{CoreError, Result};
use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

/// Migrations are only ever appended, never edited.
pub(super) const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE documents (
    doc_id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    team_id BLOB NOT NULL,
    course_id BLOB,
    heads BLOB NOT NULL,
    server_heads BLOB,
    snapshot BLOB NOT NULL,
    incremental_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE doc_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id BLOB NOT NULL, bytes BLOB NOT NULL);
CREATE INDEX doc_changes_by_doc ON doc_changes(doc_id, seq);
CREATE TABLE outbox (doc_id BLOB PRIMARY KEY, since INTEGER NOT NULL);
CREATE TABLE citizens (
    id TEXT PRIMARY KEY, team_id TEXT NOT NULL, name TEXT NOT NULL, local_ref TEXT NOT NULL, active INTEGER NOT NULL
);
CREATE TABLE citizen_assignments (citizen_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (citizen_id, user_id));
CREATE TABLE courses (
    id TEXT PRIMARY KEY, citizen_id TEXT NOT NULL, team_id TEXT NOT NULL, legal_basis TEXT NOT NULL,
    start_date TEXT NOT NULL, planned_weeks INTEGER NOT NULL, sessions_per_week INTEGER NOT NULL,
    minutes_per_session INTEGER NOT NULL, status TEXT NOT NULL, responsible_therapist TEXT NOT NULL,
    current_revision TEXT, revision_count INTEGER NOT NULL
);
CREATE INDEX courses_by_citizen ON courses(citizen_id);
CREATE TABLE program_lines (
    course_id TEXT NOT NULL, line_id TEXT NOT NULL, exercise_ref TEXT NOT NULL, position REAL NOT NULL,
    sets INTEGER NOT NULL, reps INTEGER, duration_s INTEGER, load TEXT,
    PRIMARY KEY (course_id, line_id)
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, course_id TEXT NOT NULL, performed_by TEXT NOT NULL, program_revision TEXT,
    started_at INTEGER NOT NULL, ended_at INTEGER, status TEXT NOT NULL, not_carried_out TEXT,
    general_condition INTEGER, set_count INTEGER NOT NULL, max_pain INTEGER
);
CREATE INDEX sessions_by_course ON sessions(course_id, started_at);
"#,
    ),
    // The therapist's and leader's views (caseload, citizens, staff, overview) as projection
    // queries: program conflicts and addresses projected, the team's staff directory kept.
    M::up(
        r#"
ALTER TABLE courses ADD COLUMN program_conflicts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE citizens ADD COLUMN address TEXT;
CREATE INDEX sessions_by_performer ON sessions(performed_by, started_at);
CREATE INDEX citizen_assignments_by_user ON citizen_assignments(user_id);
CREATE TABLE teams (team_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE staff (
    team_id TEXT NOT NULL, user_id TEXT NOT NULL, display_name TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
"#,
    ),
    // Documents whose changes the server refused: why, and the heads holding the refused
    // changes (offered again only once the document changes; `shared::sync::plan_offer`).
    M::up(
        r#"
CREATE TABLE refusals (
    doc_id BLOB PRIMARY KEY, kind TEXT NOT NULL, reason TEXT NOT NULL, heads BLOB NOT NULL, at INTEGER NOT NULL
);
"#,
    ),
    // Damage kept aside byte for byte (a change row that cannot be applied, e.g. two processes
    // that wrote the same actor's sequence number), and documents parked while they hold
    // unsent work of a user who is not the one signed in.
    M::up(
        r#"
CREATE TABLE damaged_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id BLOB NOT NULL, original_seq INTEGER NOT NULL,
    bytes BLOB NOT NULL, error TEXT NOT NULL, found_at INTEGER NOT NULL
);
CREATE TABLE parked (
    doc_id BLOB PRIMARY KEY, user_id TEXT NOT NULL, display_name TEXT NOT NULL, since INTEGER NOT NULL
);
"#,
    ),
    // The citizen's birth year and sex for the age/sex norms (issue #11), projected like the
    // rest of the roster.
    M::up(
        r#"
ALTER TABLE citizens ADD COLUMN birth_year INTEGER;
ALTER TABLE citizens ADD COLUMN sex TEXT;
"#,
    ),
    // Home-care grants (issue #11), projected from the roster so the effect summary, the
    // follow-up worklist and the care-time import read one citizen's rows, or all of them,
    // without hydrating a roster that may hold 100,000 grants.
    M::up(
        r#"
CREATE TABLE care_grants (
    key TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    citizen_id TEXT NOT NULL,
    effective TEXT NOT NULL,
    minutes_per_week INTEGER NOT NULL,
    service_code TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX care_grants_by_citizen ON care_grants (citizen_id);
CREATE INDEX care_grants_by_team ON care_grants (team_id);
"#,
    ),
    // The leaders' evidence as last fetched (issue #12), per user and period/team, for
    // reading offline. Not a projection: nothing rebuilds it, a fetch replaces it.
    M::up(
        r#"
CREATE TABLE evidence_cache (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
"#,
    ),
    // The heads last sent per document (issue #13): changes beyond them and beyond the
    // server's confirmed heads were never in a request, so the device may squash them. What a
    // device held before this migration may have been sent by an earlier version: all of it
    // counts as sent.
    M::up(
        r#"
ALTER TABLE documents ADD COLUMN sent_heads BLOB;
UPDATE documents SET sent_heads = heads;
"#,
    ),
    // Who opened which citizen's course, history or summary on this device (issue #14), kept
    // while offline and sent to the server after each sync (`store::audit`). Append-only: a
    // row is never changed or deleted; what the server answered is recorded beside it.
    M::up(
        r#"
CREATE TABLE audit_log (
    entry_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    course_id TEXT NOT NULL
);
CREATE INDEX audit_log_by_user ON audit_log (user_id, at);
CREATE TABLE audit_sent (
    entry_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    refused TEXT
);
"#,
    ),
    // A document's generation (issue #14 item 5): 0 until the server rewrites it without its
    // history (an erasure); offered with every sync so the server answers an older one with
    // the new generation.
    M::up(
        r#"
ALTER TABLE documents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
"#,
    ),
    // Why a course ended early (`Course::end_reason`): the care-time worklist and the effect
    // summary leave out citizens who died or moved, and read it here instead of loading every
    // ended course's document. Filled by the projections' rebuild after this upgrade.
    M::up(
        r#"
ALTER TABLE courses ADD COLUMN end_reason TEXT;
"#,
    ),
];

/// Sets the connection up (WAL, `synchronous=FULL`, `secure_delete`), checks the file and brings its schema up
/// to date. Returns whether the schema was upgraded from an earlier one, so the projections
/// must be rebuilt from the documents.
pub(super) fn prepare(conn: &mut Connection) -> Result<bool> {
    let check = |conn: &Connection| -> rusqlite::Result<()> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted cells and freed pages are zeroed: an erased citizen's data leaves no byte
        // behind in the (decrypted) pages (`erased`).
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let ok: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(rusqlite::Error::InvalidQuery);
        }
        Ok(())
    };
    check(conn).map_err(|e| CoreError::Corrupt(e.to_string()))?;
    let version = |c: &Connection| -> rusqlite::Result<i64> {
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
    };
    let before = version(conn)?;
    if before > MIGRATIONS.len() as i64 {
        return Err(CoreError::AppTooOld(format!(
            "its database is at version {before}, this app knows up to {}",
            MIGRATIONS.len()
        )));
    }
    let migrations = Migrations::from_slice(MIGRATIONS);
    // A newer schema may project more of each document: fill the new columns from the
    // documents already on the device instead of waiting for each one to change. Said on
    // disk before the migrations commit, and cleared only once every projection is rebuilt
    // ([`super::Store::reproject_all`]): an app killed in between rebuilds at its next open
    // instead of showing the new columns empty for good.
    if before > 0 && before < MIGRATIONS.len() as i64 {
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, X'01')",
            [REPROJECT_PENDING],
        )?;
    }
    migrations.to_latest(conn)?;
    let pending: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM meta WHERE key = ?1",
            [REPROJECT_PENDING],
            |r| r.get(0),
        )
        .optional()?;
    Ok(pending.is_some())
}

/// The `meta` key that says the projections wait to be rebuilt from the documents.
pub(super) const REPROJECT_PENDING: &str = "reproject_pending";
