//! The PostgreSQL [`Store`]: what several sync servers share. Chosen by a `postgres://` or
//! `postgresql://` database URL (`store::open`); same semantics as [`super::SqliteStore`]
//! method by method, with the SQL of this backend only. Its read model and evidence queries
//! are in `postgres_read_model` and `postgres_evidence`.
//!
//! The blocking `postgres` client, pooled by r2d2: the [`Store`] trait is blocking, called from
//! `spawn_blocking` and from CLI commands, never from an async task (each pooled client blocks
//! on a small runtime of its own, which would panic there). Ids are `UUID`, blobs `BYTEA`,
//! milliseconds `BIGINT`; every text column that is sorted or compared is `COLLATE "C"`, so it
//! orders by bytes as SQLite and Rust do (the evidence queries merge ordered rows).
//!
//! The hot reads (a token, a user, document heads, a document's bytes) use `query_typed`: one
//! round trip where a statement prepared per call takes three.
//!
//! Concurrency: several servers write at once. `commit_documents` locks each document's row
//! (`SELECT … FOR UPDATE`, in id order so two batches cannot deadlock) and checks its heads are
//! still the commit's base (else `DocumentMoved`: the batch rolls back, the sync is served
//! again); a new document is inserted with `ON CONFLICT DO NOTHING` and moved if it was not; the
//! quarantine's caps are checked under a table lock (refusals are rare); everything else is one
//! statement or an `INSERT … ON CONFLICT` that is safe as it stands.

use super::documents::{
    actor_as_document, decode, heads_bytes, heads_from_bytes, moved, reserved_by_derivation,
    saved_bytes, sign_in_verdict, snapshot_of, withdrawn_media,
};
use super::postgres_devices as devices;
use super::postgres_erasure as erasure;
use super::postgres_evidence as evidence;
use super::postgres_read_model as read_model;
use super::{
    now_ms, AccountStore, AuditStore, DeviceRecord, DeviceRegistry, DeviceSignIn, DocumentCommit,
    DocumentFootprint, DocumentStore, ErasureCommit, ErasureStore, EvidenceStore, LedgerEntry,
    MediaRecord, MediaStore, NewUser, Projection, QuarantineEntry, QuarantineScope, ReadModelStore,
    Store, StoredAuditEntry, TeamRecord, TokenHolder, UserRecord, VisibleDocument,
};
use crate::config::QuarantineLimits;
use crate::error::{Error, Result};
use automerge::{ActorId, Automerge};
use homerehab_shared::audit::AuditRecord;
use homerehab_shared::docs::{DocumentKind, Header};
use homerehab_shared::effect::settings::StoredSettings;
use homerehab_shared::evidence::funnel::ReferralFacts;
use homerehab_shared::evidence::report::{CourseFacts, EvidenceSettings};
use homerehab_shared::evidence::staff::StaffMember;
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::export::{Cell, ExportTable};
use homerehab_shared::ids::{
    CitizenId, CourseId, DeviceId, DocumentId, MunicipalityId, TeamId, UserId,
};
use homerehab_shared::model::{Millis, Role, User};
use homerehab_shared::read_model::DocumentRows;
use homerehab_shared::retention::{CitizenFacts, RetentionSettings};
use homerehab_shared::sync::{compaction, Hash, Quarantine, SavedDocument};
use postgres::config::SslMode;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Row};
use r2d2_postgres::{r2d2, PostgresConnectionManager};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;
use uuid::Uuid;

use super::postgres_pool::{Conn, Manager, Prepared, PreparedClient};
type Pool = r2d2::Pool<Manager>;

/// Connections per server process. Syncs run on blocking threads and each holds one
/// connection for its transaction; more than this wait (up to [`CONNECT_TIMEOUT`]).
const POOL_SIZE: u32 = 16;
/// How long an operation waits for a connection (or the first one to be made) before failing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The key of the advisory lock that lets one server at a time migrate.
const MIGRATION_LOCK: i64 = 0x486f_6d65_7265_6862; // "Homerehb"

/// Schema migrations. Only ever append: a released migration is never edited. PostgreSQL was
/// never released before this list, so its first entry is the whole schema of the time.
pub(super) const MIGRATIONS: &[&str] = &[
    SCHEMA,
    read_model::SCHEMA,
    evidence::SCHEMA,
    // Sign-in attempts counted for every server (per digest of the username, never the name).
    "CREATE TABLE sign_in_attempts (
         name_key BYTEA PRIMARY KEY,
         count    INTEGER NOT NULL,
         since    BIGINT NOT NULL
     );
     CREATE INDEX sign_in_attempts_since ON sign_in_attempts(since);",
    // The device registry (issue #14); see `postgres_devices`.
    devices::SCHEMA,
    // The audit log (issue #14): append-only, hash-chained; see `postgres_audit`.
    super::postgres_audit::SCHEMA,
    // The secret that wraps a device's data key for each user (#14, encrypted store).
    devices::KEY_SECRETS,
    // Retention and erasure (issue #14 item 5); see `postgres_erasure`.
    super::postgres_erasure::SCHEMA,
    // Every day of work, so staff active as of a past day is right (issue #12).
    read_model::WORK_DAYS,
    // When each grant was recorded (care-time follow-ups); see `read_model::GRANTS_RECORDED`.
    read_model::GRANTS_RECORDED,
    // The citizens who died or moved, from an index; see `read_model::CITIZENS_LEFT`.
    read_model::CITIZENS_LEFT,
    // A document's generation on its own row; see `postgres_erasure::GENERATION_COLUMN`.
    super::postgres_erasure::GENERATION_COLUMN,
    // When each citizen left, from the index too; see `read_model::CITIZENS_LEFT_DATED`.
    read_model::CITIZENS_LEFT_DATED,
];

const SCHEMA: &str = r#"
CREATE TABLE municipalities (
    id   UUID PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE
);
CREATE TABLE teams (
    id              UUID PRIMARY KEY,
    municipality_id UUID NOT NULL REFERENCES municipalities(id),
    name            TEXT COLLATE "C" NOT NULL,
    UNIQUE (municipality_id, name)
);
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT COLLATE "C" NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('assistant', 'therapist', 'leader', 'admin')),
    team_id       UUID NOT NULL REFERENCES teams(id),
    created_at    BIGINT NOT NULL,
    -- ISO date an admin recorded the user was trained in the app (issue #12's staff in use).
    trained_on    TEXT COLLATE "C"
);
CREATE INDEX users_team ON users(team_id);
-- Teams granted to a user beyond their own.
CREATE TABLE user_grants (
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    team_id UUID NOT NULL REFERENCES teams(id),
    PRIMARY KEY (user_id, team_id)
);
CREATE INDEX user_grants_team ON user_grants(team_id);
CREATE TABLE tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens(expires_at);
CREATE TABLE actors (
    actor_id      BYTEA PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    registered_at BIGINT NOT NULL
);
CREATE INDEX actors_user ON actors(user_id);
-- A library belongs to no team: its team_id is the nil UUID.
CREATE TABLE documents (
    id                UUID PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('roster', 'course', 'session_log', 'library')),
    team_id           UUID NOT NULL,
    course_id         UUID,
    heads             BYTEA NOT NULL,
    incremental_bytes BIGINT NOT NULL DEFAULT 0,
    updated_at        BIGINT NOT NULL,
    snapshot          BYTEA NOT NULL
);
CREATE INDEX documents_team ON documents(team_id);
CREATE TABLE doc_changes (
    doc_id UUID NOT NULL REFERENCES documents(id),
    seq    BIGINT NOT NULL,
    bytes  BYTEA NOT NULL,
    PRIMARY KEY (doc_id, seq)
);
-- Refused changes, each distinct payload of a user and document kept once.
CREATE TABLE quarantine (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id  UUID NOT NULL,
    user_id UUID NOT NULL,
    bytes   BYTEA NOT NULL,
    reason  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    digest  BYTEA NOT NULL,
    UNIQUE (doc_id, user_id, digest)
);
CREATE INDEX quarantine_doc ON quarantine(doc_id);
CREATE INDEX quarantine_user ON quarantine(user_id);
-- Photos and videos: the bytes are files named by their SHA-256 (crate::media); here is who
-- may fetch them. One row per municipality that uploaded the same bytes.
CREATE TABLE media (
    sha256          TEXT NOT NULL,
    municipality_id UUID NOT NULL REFERENCES municipalities(id),
    byte_size       BIGINT NOT NULL,
    content_type    TEXT NOT NULL,
    uploaded_by     UUID NOT NULL REFERENCES users(id),
    uploaded_at     BIGINT NOT NULL,
    PRIMARY KEY (sha256, municipality_id)
);
-- Media a library withdrew, mirrored from the library in the transaction that stores it.
CREATE TABLE media_withdrawn (
    library_id UUID NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (library_id, sha256)
);
"#;

/// Brings the schema up to date, one server at a time (an advisory lock held by the one
/// transaction that applies every missing migration); refuses a schema newer than this server.
fn migrate(client: &mut impl GenericClient) -> Result<i32> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    // Not a notice on every start that the table is already there.
    tx.batch_execute("SET LOCAL client_min_messages = warning")?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at BIGINT NOT NULL
         )",
    )?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .try_get(0)?;
    let known = MIGRATIONS.len() as i32;
    if current > known {
        return Err(Error::Config(format!(
            "the database's schema is version {current}, newer than this server's {known}; \
             run a newer sync-server"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&(i as i32 + 1), &now_ms()],
        )?;
    }
    tx.commit()?;
    Ok(known)
}

/// The TLS client for the database: ring's primitives, the certificate checked against `ca`
/// (PEM, one or more certificates) or else the public web roots.
fn tls_config(ca: Option<&Path>) -> Result<MakeRustlsConnect> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let unreadable = |e: &dyn std::fmt::Display| {
                Error::Config(format!("database_ca {}: {e}", path.display()))
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| unreadable(&e))?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| unreadable(&e))?;
            if certs.is_empty() {
                return Err(unreadable(&"no PEM certificate in it"));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| unreadable(&e))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Config(format!("TLS for PostgreSQL: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

pub struct PostgresStore {
    /// `None` only while dropping (see `Drop`).
    pool: Option<Pool>,
    compact_min_bytes: i64,
    schema_version: i32,
    /// Audit appends of this server's concurrent requests, written together.
    audit_group: super::postgres_audit::AuditGroup,
    chain_end: super::postgres_audit::ChainEnd,
}

impl PostgresStore {
    /// Connects to `url` and brings its schema up to date. The URL is never logged or quoted
    /// in an error: it may carry a password.
    ///
    /// TLS: with `sslmode=require` in the URL every connection is TLS and the database's
    /// certificate is verified — against `ca` (a PEM file) if given, else the public roots —
    /// and its name checked (libpq's `verify-full`; plain `require` would let anyone in the
    /// middle present any certificate). Without it, connections are plain TCP (never
    /// libpq's "prefer", which falls back silently): for a database on this host or a
    /// private network, said in a warning when the host is not loopback.
    pub fn open(url: &str, ca: Option<&Path>) -> Result<Self> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| Error::Config(format!("the PostgreSQL database URL: {e}")))?;
        let tls = tls_config(ca)?;
        if config.get_ssl_mode() == SslMode::Require {
            tracing::debug!("connecting to PostgreSQL over TLS");
        } else {
            if ca.is_some() {
                return Err(Error::Config(
                    "database_ca is set, but the PostgreSQL database URL does not ask for TLS: \
                     add sslmode=require to it"
                        .into(),
                ));
            }
            config.ssl_mode(SslMode::Disable);
            let remote = config.get_hosts().iter().any(|h| match h {
                postgres::config::Host::Tcp(name) => !homerehab_shared::net::is_loopback_host(name),
                #[cfg(unix)]
                postgres::config::Host::Unix(_) => false,
            });
            if remote {
                tracing::warn!(
                    "the PostgreSQL database is reached over the network without TLS: add \
                     sslmode=require to its URL (and database_ca for a private CA)"
                );
            }
        }
        // One connection first, so a refusal says why (a certificate not trusted, a refused
        // password): the pool keeps only the outermost message.
        if let Err(e) = config.connect(tls.clone()) {
            let mut why = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                why.push_str(": ");
                why.push_str(&c.to_string());
                cause = c.source();
            }
            return Err(Error::Config(format!(
                "cannot connect to the PostgreSQL database: {why}"
            )));
        }
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            // Not a round trip before every use: a connection the database closed fails its
            // one request (answered 503, `api_error`) and is then dropped by the pool.
            .test_on_check_out(false)
            .connection_timeout(CONNECT_TIMEOUT)
            .build(Manager(PostgresConnectionManager::new(config, tls)))?;
        let mut store = PostgresStore {
            pool: Some(pool),
            compact_min_bytes: compaction::MIN_BYTES,
            schema_version: 0,
            audit_group: Default::default(),
            chain_end: Default::default(),
        };
        store.schema_version = migrate(&mut *store.conn()?)?;
        Ok(store)
    }

    /// Compacts any document whose chunks outweigh its snapshot, however small (for tests).
    pub fn compact_eagerly(mut self) -> Self {
        self.compact_min_bytes = 0;
        self
    }

    /// The schema version this store brought the database to.
    pub fn schema_version(&self) -> i32 {
        self.schema_version
    }

    pub(super) fn conn(&self) -> Result<Conn> {
        Ok(Conn(self.pool.as_ref().expect("pool until dropped").get()?))
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // A pooled client closes by blocking on its own runtime, which panics on a thread that
        // drives async tasks (a store dropped at the end of `serve`): close them elsewhere.
        if let Some(pool) = self.pool.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(pool)).join();
            }
        }
    }
}

fn header_at(row: &Row) -> Result<Header> {
    let id = DocumentId(row.try_get(0)?);
    let kind: &str = row.try_get(1)?;
    Ok(Header {
        id,
        kind: DocumentKind::parse(kind)
            .ok_or_else(|| Error::CorruptDocument(id, format!("unknown kind {kind}")))?,
        team_id: TeamId(row.try_get(2)?),
        course_id: row.try_get::<_, Option<Uuid>>(3)?.map(CourseId),
    })
}

/// A `SELECT id, kind, team_id, course_id, heads` row: the header and its stored heads.
fn header_and_heads(row: &Row) -> Result<(Header, Vec<Hash>)> {
    let header = header_at(row)?;
    let heads: &[u8] = row.try_get(4)?;
    Ok((header, heads_from_bytes(header.id, heads)?))
}

fn role_of(role: &str) -> Result<Role> {
    Role::parse(role).ok_or_else(|| Error::Corrupt(format!("unknown role {role}")))
}

/// The columns [`user_at`] reads ...
macro_rules! user_columns {
    () => {
        "SELECT u.id, u.username, u.display_name, u.password_hash, u.role, u.team_id,
                t.municipality_id,
                ARRAY(SELECT g.team_id FROM user_grants g WHERE g.user_id = u.id ORDER BY g.team_id)"
    };
}
/// ... and the tables they come from; a statement adds its key.
macro_rules! user_tables {
    () => {
        " FROM users u LEFT JOIN teams t ON t.id = u.team_id"
    };
}
const USER_BY_ID: &str = concat!(user_columns!(), user_tables!(), " WHERE u.id = $1");
const USER_BY_USERNAME: &str = concat!(user_columns!(), user_tables!(), " WHERE u.username = $1");
/// The user of a token and when the token expires.
const USER_BY_TOKEN: &str = concat!(
    user_columns!(),
    ", k.expires_at",
    user_tables!(),
    " JOIN tokens k ON k.user_id = u.id WHERE k.token_hash = $1"
);
/// Every request's first read, one round trip: [`USER_BY_TOKEN`] and, from column
/// [`TOKEN_HOLDER_DEVICE`], the token's device as `DEVICE_SELECT` gives it (its user `du`, that
/// user's team `dt`, the revoker `r`; all null for a token without a device).
const TOKEN_HOLDER: &str = concat!(
    user_columns!(),
    ", k.expires_at,
       d.id, d.user_id, du.username, du.display_name, du.team_id, dt.municipality_id,
       d.first_seen, d.last_seen, d.app_version, d.revoked_at, d.revoked_by, r.display_name,
       d.revoke_reason, d.handed_over_at",
    user_tables!(),
    " JOIN tokens k ON k.user_id = u.id
      LEFT JOIN (devices d JOIN users du ON du.id = d.user_id
                 JOIN teams dt ON dt.id = du.team_id
                 LEFT JOIN users r ON r.id = d.revoked_by) ON d.id = k.device_id
      WHERE k.token_hash = $1"
);
const TOKEN_HOLDER_DEVICE: usize = 9;

/// A user with their granted teams (ordered by id, as SQLite's key gives them) and their
/// team's municipality: the 8 columns of `user_columns`.
fn user_at(row: &Row) -> Result<UserRecord> {
    let granted: Vec<Uuid> = row.try_get(7)?;
    Ok(UserRecord {
        user: User {
            id: UserId(row.try_get(0)?),
            username: row.try_get(1)?,
            display_name: row.try_get(2)?,
            role: role_of(row.try_get(4)?)?,
            team_id: TeamId(row.try_get(5)?),
            granted_teams: granted.into_iter().map(TeamId).collect(),
            municipality_id: row.try_get::<_, Option<Uuid>>(6)?.map(MunicipalityId),
        },
        password_hash: row.try_get(3)?,
    })
}

/// The user `sql` ([`USER_BY_ID`], [`USER_BY_USERNAME`]) finds by `key`.
fn user_where(
    conn: &mut PreparedClient,
    sql: &'static str,
    key: (&(dyn ToSql + Sync), Type),
) -> Result<Option<UserRecord>> {
    conn.query_prepared_opt(sql, &[key])?
        .map(|row| user_at(&row))
        .transpose()
}

/// Whether `actor` is nobody's device (see `documents::reserved_by_derivation`).
fn reserved_actor(client: &mut impl GenericClient, actor: &ActorId) -> Result<bool> {
    if let Some(as_id) = actor_as_document(actor) {
        let stored: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM documents WHERE id = $1)",
                &[&as_id.0],
            )?
            .try_get(0)?;
        if stored {
            return Ok(true);
        }
    }
    let teams = client
        .query("SELECT id FROM teams", &[])?
        .iter()
        .map(|r| r.try_get(0).map(TeamId))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let municipalities = client
        .query("SELECT id FROM municipalities", &[])?
        .iter()
        .map(|r| r.try_get(0).map(MunicipalityId))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(reserved_by_derivation(actor, &teams, &municipalities))
}

/// A stored document as bytes: its snapshot and its incremental chunks, in order.
type StoredBytes = (Vec<u8>, Vec<Vec<u8>>);

/// A stored document's bytes, read in one statement (so a compaction cannot fall between
/// reading the snapshot and the chunks).
fn document_bytes(conn: &mut PreparedClient, id: DocumentId) -> Result<Option<StoredBytes>> {
    let row = conn.query_prepared_opt(
        "SELECT snapshot,
                ARRAY(SELECT bytes FROM doc_changes WHERE doc_id = $1 ORDER BY seq)
         FROM documents WHERE id = $1",
        &[(&id.0, Type::UUID)],
    )?;
    Ok(match row {
        Some(row) => Some((row.try_get(0)?, row.try_get(1)?)),
        None => None,
    })
}

/// Replaces a library's rows in `media_withdrawn` with what its document withdraws now.
fn mirror_withdrawn(
    client: &mut impl GenericClient,
    library: DocumentId,
    doc: &Automerge,
) -> Result<()> {
    let withdrawn = withdrawn_media(library, doc)?;
    client.execute(
        "DELETE FROM media_withdrawn WHERE library_id = $1",
        &[&library.0],
    )?;
    if !withdrawn.is_empty() {
        client.execute(
            "INSERT INTO media_withdrawn (library_id, sha256) SELECT $1, UNNEST($2::TEXT[])
             ON CONFLICT DO NOTHING",
            &[&library.0, &withdrawn],
        )?;
    }
    Ok(())
}

/// `WHERE` clause and parameters of a quarantine scope.
fn quarantine_where(scope: &QuarantineScope) -> (String, Vec<Uuid>) {
    let mut clauses = vec![];
    let mut args = vec![];
    if let Some(doc) = scope.doc {
        args.push(doc.0);
        clauses.push(format!("doc_id = ${}", args.len()));
    }
    if let Some(user) = scope.user {
        args.push(user.0);
        clauses.push(format!("user_id = ${}", args.len()));
    }
    if clauses.is_empty() {
        ("TRUE".to_string(), args)
    } else {
        (clauses.join(" AND "), args)
    }
}

/// A deadlock or serialization failure: the transaction was rolled back and may be run again.
fn is_retryable(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    matches!(
        e.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED | &SqlState::T_R_SERIALIZATION_FAILURE)
    )
}

fn as_params(args: &[Uuid]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

/// A stored document grown by a sync's new changes (`$5`; none when empty) if it is still at
/// the sync's base (`$3`, its heads column): its heads and size moved and the document marked
/// pending for the read model ([`read_model::mark_pending_where_sql`]), in one round trip that
/// takes the row lock itself. Answers the grown size and the snapshot's size, or no row
/// (nothing written) when the document moved or is not stored.
///
/// The `UPDATE` re-checks its `WHERE` on the row as it is once its lock is granted (read
/// committed), so a commit that got there first leaves this one writing nothing. The chunk's
/// `MAX(seq)` is read from the statement's snapshot, taken before that wait, which is why the
/// chunk is inserted only if the row was updated: whoever committed in between moved the
/// heads. (Were it ever not so, the key `(doc_id, seq)` refuses the chunk and the whole
/// statement: a failed sync, served again, never a lost chunk.)
const GROWN_AT_BASE: &str = concat!(
    "WITH grown AS (
       UPDATE documents SET heads = $2, incremental_bytes = incremental_bytes + octet_length($5),
         updated_at = $4
       WHERE id = $1 AND heads = $3
       RETURNING incremental_bytes, octet_length(snapshot)::BIGINT
     ), change AS (
       INSERT INTO doc_changes (doc_id, seq, bytes)
       SELECT $1, COALESCE(MAX(seq), 0) + 1, $5 FROM doc_changes WHERE doc_id = $1
       HAVING octet_length($5) > 0 AND EXISTS (SELECT 1 FROM grown)
     ), pending AS (
       ",
    read_model::mark_pending_where_sql!("EXISTS (SELECT 1 FROM grown)"),
    "
     )
     SELECT * FROM grown"
);

/// A document's chunks folded into a new snapshot (`$3`) if it is still at the heads that
/// snapshot has (`$2`): nothing written when another commit grew it meanwhile (that one's
/// successor compacts it instead).
const SNAPSHOT_AT_HEADS: &str = "WITH snapshot AS (
       UPDATE documents SET incremental_bytes = 0, snapshot = $3 WHERE id = $1 AND heads = $2
       RETURNING 1
     )
     DELETE FROM doc_changes WHERE doc_id = $1 AND EXISTS (SELECT 1 FROM snapshot)";

/// A stored document replaced by the whole document a device sent (`$5`, its snapshot) if it is
/// still at the sync's base (`$3`): its chunks dropped and the document marked pending, in one
/// round trip that takes the row lock itself, as [`GROWN_AT_BASE`] does (the chunks deleted
/// only if the row was updated: a commit in between would have moved the heads). Answers a row,
/// or none (nothing written) when the document moved or is not stored.
const REPLACED_AT_BASE: &str = concat!(
    "WITH replaced AS (
       UPDATE documents SET heads = $2, incremental_bytes = 0, updated_at = $4, snapshot = $5
       WHERE id = $1 AND heads = $3
       RETURNING 1
     ), chunks AS (
       DELETE FROM doc_changes WHERE doc_id = $1 AND EXISTS (SELECT 1 FROM replaced)
     ), pending AS (
       ",
    read_model::mark_pending_where_sql!("EXISTS (SELECT 1 FROM replaced)"),
    "
     )
     SELECT 1 FROM replaced"
);

/// Whether a commit is stored by one statement ([`GROWN_AT_BASE`], and at most
/// [`SNAPSHOT_AT_HEADS`]; or [`REPLACED_AT_BASE`]), each its own transaction: a stored document
/// (it has a base), not a library (whose withdrawn media are mirrored in the transaction that
/// stores it). The usual sync's commit, and a course's first month sent whole: one round trip,
/// where a transaction took four to six (`BEGIN`, the row lock, the writes, `COMMIT`).
fn stored_alone(c: &DocumentCommit<'_>) -> bool {
    !c.base.is_empty() && c.header.kind != DocumentKind::Library
}

impl PostgresStore {
    /// Stores one document of a batch if it is still at its base. A stored document takes one
    /// statement that locks its row, checks and writes: grown by changes ([`GROWN_AT_BASE`])
    /// or replaced by a whole one ([`REPLACED_AT_BASE`]). A new document is inserted only if
    /// no other commit (of this or another server) stored it meanwhile.
    fn commit_in(
        &self,
        tx: &mut impl GenericClient,
        prepared: &mut Prepared,
        c: &DocumentCommit<'_>,
        now: Millis,
    ) -> Result<()> {
        let (header, doc, new_changes) = (c.header, c.doc, c.new_changes);
        let id = header.id.0;
        let heads = heads_bytes(doc);
        if !c.base.is_empty() {
            let base = c.base.concat();
            if c.whole {
                // Sent whole (`compaction::snapshot_now` whatever the sizes): the bytes at hand
                // are the snapshot.
                let replaced = prepared.query_opt(
                    tx,
                    REPLACED_AT_BASE,
                    &[
                        (&id, Type::UUID),
                        (&heads, Type::BYTEA),
                        (&base, Type::BYTEA),
                        (&now, Type::INT8),
                        (&snapshot_of(c).as_ref(), Type::BYTEA),
                    ],
                )?;
                if replaced.is_none() {
                    // Moved, or gone (erased): with a base it was stored when the sync read it.
                    return Err(Error::DocumentMoved(header.id));
                }
            } else {
                let Some(grown) = prepared.query_opt(
                    tx,
                    GROWN_AT_BASE,
                    &[
                        (&id, Type::UUID),
                        (&heads, Type::BYTEA),
                        (&base, Type::BYTEA),
                        (&now, Type::INT8),
                        (&new_changes, Type::BYTEA),
                    ],
                )?
                else {
                    return Err(Error::DocumentMoved(header.id));
                };
                let (incremental, snapshot): (i64, i64) = (grown.try_get(0)?, grown.try_get(1)?);
                if compaction::snapshot_now(false, incremental, snapshot, self.compact_min_bytes) {
                    prepared.query(
                        tx,
                        SNAPSHOT_AT_HEADS,
                        &[
                            (&id, Type::UUID),
                            (&heads, Type::BYTEA),
                            (&snapshot_of(c).as_ref(), Type::BYTEA),
                        ],
                    )?;
                }
            }
            if header.kind == DocumentKind::Library {
                mirror_withdrawn(tx, header.id, doc)?;
            }
            return Ok(());
        }
        // A document new to the server (no base): stored by nobody else meanwhile.
        let stored = prepared.query_opt(
            tx,
            "SELECT heads FROM documents WHERE id = $1 FOR UPDATE",
            &[(&id, Type::UUID)],
        )?;
        let stored_heads: Option<&[u8]> = stored.as_ref().map(|r| r.try_get(0)).transpose()?;
        if moved(c.base, stored_heads) {
            return Err(Error::DocumentMoved(header.id));
        }
        // An erased document's id is never stored again (the erasure holds the same lock
        // between its tombstone and its delete): served again, the sync meets the tombstone.
        erasure::lock_document(tx, header.id)?;
        if erasure::is_erased(tx, header.id)? {
            return Err(Error::DocumentMoved(header.id));
        }
        let inserted = prepared.query(
            tx,
            "INSERT INTO documents
               (id, kind, team_id, course_id, heads, incremental_bytes, updated_at, snapshot)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7)
             ON CONFLICT (id) DO NOTHING
             RETURNING 1",
            &[
                (&id, Type::UUID),
                (&header.kind.as_str(), Type::TEXT),
                (&header.team_id.0, Type::UUID),
                (&header.course_id.map(|c| c.0), Type::UUID),
                (&heads, Type::BYTEA),
                (&now, Type::INT8),
                (&snapshot_of(c).as_ref(), Type::BYTEA),
            ],
        )?;
        if inserted.is_empty() {
            // Another commit stored it between our read and our insert.
            return Err(Error::DocumentMoved(header.id));
        }
        read_model::mark_pending(tx, prepared, id)?;
        if header.kind == DocumentKind::Library {
            mirror_withdrawn(tx, header.id, doc)?;
        }
        Ok(())
    }
}

/// The audit log's SQL is in `postgres_audit`.
impl AuditStore for PostgresStore {
    fn append_audit(&self, records: &[AuditRecord]) -> Result<usize> {
        self.audit_group.append(records, |group, retry| {
            super::postgres_audit::append_group(
                self.conn()?.prepared(),
                group,
                retry,
                &self.chain_end,
            )
        })
    }
    fn audit_entries(&self, after: u64, limit: usize) -> Result<Vec<StoredAuditEntry>> {
        super::postgres_audit::entries(&mut *self.conn()?, after, limit)
    }
    fn audit_of_citizen(&self, citizen: CitizenId) -> Result<Vec<StoredAuditEntry>> {
        super::postgres_audit::of_citizen(&mut *self.conn()?, citizen)
    }
    fn citizen_home(&self, citizen: CitizenId) -> Result<Option<(TeamId, MunicipalityId)>> {
        super::postgres_audit::citizen_home(&mut *self.conn()?, citizen)
    }
}

impl DeviceRegistry for PostgresStore {
    fn sign_in_device(&self, sign_in: &DeviceSignIn<'_>) -> Result<[u8; 32]> {
        devices::sign_in_device(&mut *self.conn()?, sign_in)
    }
    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>> {
        devices::device(&mut *self.conn()?, id)
    }
    fn token_holder(&self, token_hash: &[u8; 32]) -> Result<Option<TokenHolder>> {
        let row = self
            .conn()?
            .prepared()
            .query_prepared_opt(TOKEN_HOLDER, &[(&token_hash.as_slice(), Type::BYTEA)])?;
        let Some(row) = row else {
            return Ok(None);
        };
        let device_id: Option<Uuid> = row.try_get(TOKEN_HOLDER_DEVICE)?;
        Ok(Some(TokenHolder {
            user: user_at(&row)?,
            expires_at: row.try_get(8)?,
            device: match device_id {
                Some(_) => Some(devices::device_at_from(&row, TOKEN_HOLDER_DEVICE)?),
                None => None,
            },
        }))
    }
    fn touch_device(&self, id: DeviceId, now: Millis) -> Result<()> {
        devices::touch_device(&mut *self.conn()?, id, now)
    }
    fn devices_of_municipality(&self, municipality: MunicipalityId) -> Result<Vec<DeviceRecord>> {
        devices::devices_of_municipality(&mut *self.conn()?, municipality)
    }
    fn revoke_device(&self, id: DeviceId, by: UserId, reason: &str, now: Millis) -> Result<bool> {
        devices::revoke_device(&mut *self.conn()?, id, by, reason, now)
    }
    fn close_handover(&self, id: DeviceId, now: Millis) -> Result<()> {
        devices::close_handover(&mut *self.conn()?, id, now)
    }
    fn end_tokens_of(&self, user: UserId) -> Result<usize> {
        devices::end_tokens_of(&mut *self.conn()?, user)
    }
    fn actors_for_sync(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        among: &[ActorId],
    ) -> Result<HashSet<ActorId>> {
        devices::actors_for_sync(self.conn()?.prepared(), user, device, among)
    }
    fn user_by_id(&self, user: UserId) -> Result<Option<UserRecord>> {
        user_where(self.conn()?.prepared(), USER_BY_ID, (&user.0, Type::UUID))
    }
}

impl ErasureStore for PostgresStore {
    fn generation(&self, id: DocumentId) -> Result<u32> {
        erasure::generation(&mut *self.conn()?, id)
    }
    fn is_erased(&self, id: DocumentId) -> Result<bool> {
        erasure::is_erased(&mut *self.conn()?, id)
    }
    fn old_generation_hashes(&self, id: DocumentId, among: &[Hash]) -> Result<Vec<Hash>> {
        erasure::old_generation_hashes(&mut *self.conn()?, id, among)
    }
    fn erase(&self, e: &ErasureCommit<'_>) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        erasure::erase(&mut tx, e, now_ms())?;
        tx.commit()?;
        Ok(())
    }
    fn scrub(&self) -> Result<()> {
        erasure::scrub(&mut *self.conn()?)
    }
    fn erasure_ledger(&self) -> Result<Vec<LedgerEntry>> {
        erasure::ledger(&mut *self.conn()?)
    }
    fn retention_settings(&self, municipality: MunicipalityId) -> Result<RetentionSettings> {
        erasure::retention_settings(&mut *self.conn()?, municipality)
    }
    fn set_retention_settings(
        &self,
        municipality: MunicipalityId,
        settings: &RetentionSettings,
        by: Option<UserId>,
    ) -> Result<()> {
        erasure::set_retention_settings(&mut *self.conn()?, municipality, settings, by)
    }
    fn retention_facts(&self, teams: &[TeamId]) -> Result<Vec<CitizenFacts>> {
        erasure::retention_facts(&mut *self.conn()?, teams)
    }
}

impl Store for PostgresStore {
    fn ping(&self) -> Result<()> {
        self.conn()?.simple_query("SELECT 1")?;
        Ok(())
    }
}

impl AccountStore for PostgresStore {
    fn ensure_municipality(&self, name: &str) -> Result<MunicipalityId> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO municipalities (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&Uuid::new_v4(), &name],
        )?;
        let row = conn.query_one("SELECT id FROM municipalities WHERE name = $1", &[&name])?;
        Ok(MunicipalityId(row.try_get(0)?))
    }

    fn ensure_team(&self, municipality: MunicipalityId, name: &str) -> Result<TeamId> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO teams (id, municipality_id, name) VALUES ($1, $2, $3)
             ON CONFLICT (municipality_id, name) DO NOTHING",
            &[&Uuid::new_v4(), &municipality.0, &name],
        )?;
        let row = conn.query_one(
            "SELECT id FROM teams WHERE municipality_id = $1 AND name = $2",
            &[&municipality.0, &name],
        )?;
        Ok(TeamId(row.try_get(0)?))
    }

    fn find_team(&self, id_or_name: &str) -> Result<Option<TeamId>> {
        let mut conn = self.conn()?;
        if let Ok(id) = Uuid::parse_str(id_or_name) {
            let found = conn.query_opt("SELECT id FROM teams WHERE id = $1", &[&id])?;
            return Ok(found.map(|_| TeamId(id)));
        }
        let rows = conn.query("SELECT id FROM teams WHERE name = $1", &[&id_or_name])?;
        match rows.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(TeamId(one.try_get(0)?))),
            _ => Err(Error::Invalid(format!(
                "several teams are named '{id_or_name}'; give the team id"
            ))),
        }
    }

    fn team_info(&self, team: TeamId) -> Result<Option<homerehab_shared::api::TeamInfo>> {
        use homerehab_shared::api::{TeamInfo, TeamMember};
        let mut conn = self.conn()?;
        let Some(name) = conn.query_opt("SELECT name FROM teams WHERE id = $1", &[&team.0])? else {
            return Ok(None);
        };
        let rows = conn.query(
            "SELECT id, display_name, role FROM users WHERE team_id = $1
             UNION
             SELECT u.id, u.display_name, u.role FROM user_grants g JOIN users u ON u.id = g.user_id
             WHERE g.team_id = $1
             ORDER BY 2, 1",
            &[&team.0],
        )?;
        let members = rows
            .iter()
            .map(|r| {
                Ok(TeamMember {
                    user_id: UserId(r.try_get(0)?),
                    display_name: r.try_get(1)?,
                    role: role_of(r.try_get(2)?)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(TeamInfo {
            team_id: team,
            name: name.try_get(0)?,
            members,
        }))
    }

    fn create_user(&self, user: &NewUser) -> Result<UserId> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let id = UserId::new();
        let inserted = tx.execute(
            "INSERT INTO users (id, username, display_name, password_hash, role, team_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (username) DO NOTHING",
            &[
                &id.0,
                &user.username,
                &user.display_name,
                &user.password_hash,
                &user.role.as_str(),
                &user.team_id.0,
                &now_ms(),
            ],
        )?;
        if inserted == 0 {
            return Err(Error::AlreadyExists(format!("user '{}'", user.username)));
        }
        for team in &user.granted_teams {
            tx.execute(
                "INSERT INTO user_grants (user_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id.0, &team.0],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        user_where(
            self.conn()?.prepared(),
            USER_BY_USERNAME,
            (&username, Type::TEXT),
        )
    }

    fn record_training(&self, username: &str, on: &str) -> Result<bool> {
        Ok(self.conn()?.execute(
            "UPDATE users SET trained_on = $2 WHERE username = $1",
            &[&username, &on],
        )? == 1)
    }

    fn trained_on(&self, user: UserId) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_opt("SELECT trained_on FROM users WHERE id = $1", &[&user.0])?
            .map(|r| r.try_get::<_, Option<String>>(0))
            .transpose()?
            .flatten())
    }

    fn register_actor(&self, user: UserId, actor: &ActorId) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        if reserved_actor(&mut tx, actor)? {
            return Err(Error::ActorReserved);
        }
        tx.execute(
            "INSERT INTO actors (actor_id, user_id, registered_at) VALUES ($1, $2, $3)
             ON CONFLICT (actor_id) DO NOTHING",
            &[&actor.to_bytes(), &user.0, &now_ms()],
        )?;
        let owner: Uuid = tx
            .query_one(
                "SELECT user_id FROM actors WHERE actor_id = $1",
                &[&actor.to_bytes()],
            )?
            .try_get(0)?;
        if owner != user.0 {
            return Err(Error::ActorTaken);
        }
        tx.commit()?;
        Ok(())
    }

    fn actors_of(&self, user: UserId) -> Result<HashSet<ActorId>> {
        let rows = self
            .conn()?
            .query("SELECT actor_id FROM actors WHERE user_id = $1", &[&user.0])?;
        rows.iter()
            .map(|r| Ok(ActorId::from(r.try_get::<_, &[u8]>(0)?)))
            .collect()
    }

    fn insert_token(
        &self,
        token_hash: &[u8; 32],
        user: UserId,
        expires_at: Millis,
        now: Millis,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("DELETE FROM tokens WHERE expires_at <= $1", &[&now])?;
        tx.execute(
            "INSERT INTO tokens (token_hash, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[&token_hash.as_slice(), &user.0, &now, &expires_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn user_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<(UserRecord, Millis)>> {
        let row = self
            .conn()?
            .prepared()
            .query_prepared_opt(USER_BY_TOKEN, &[(&token_hash.as_slice(), Type::BYTEA)])?;
        row.map(|row| Ok((user_at(&row)?, row.try_get(8)?)))
            .transpose()
    }

    fn delete_token(&self, token_hash: &[u8; 32]) -> Result<()> {
        self.conn()?.execute(
            "DELETE FROM tokens WHERE token_hash = $1",
            &[&token_hash.as_slice()],
        )?;
        Ok(())
    }

    fn count_sign_in(
        &self,
        name_key: &[u8; 16],
        now: Millis,
        window_ms: Millis,
        max: u32,
    ) -> Result<std::result::Result<(), Millis>> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM sign_in_attempts WHERE since <= $1",
            &[&(now - window_ms)],
        )?;
        // One statement per attempt: concurrent attempts on several servers queue on the
        // row. Past `max` the count stops at `max + 1`: that marks a refused attempt.
        let row = tx.query_one(
            "INSERT INTO sign_in_attempts (name_key, count, since) VALUES ($1, 1, $2)
             ON CONFLICT (name_key) DO UPDATE
               SET count = LEAST(sign_in_attempts.count + 1, $3 + 1)
             RETURNING count, since",
            &[&name_key.as_slice(), &now, &(max as i32)],
        )?;
        let (count, since): (i32, Millis) = (row.try_get(0)?, row.try_get(1)?);
        tx.commit()?;
        Ok(sign_in_verdict(i64::from(count), since, window_ms, max))
    }

    fn clear_sign_ins(&self, name_key: &[u8; 16]) -> Result<()> {
        self.conn()?.execute(
            "DELETE FROM sign_in_attempts WHERE name_key = $1",
            &[&name_key.as_slice()],
        )?;
        Ok(())
    }

    fn municipalities(&self) -> Result<Vec<(MunicipalityId, String)>> {
        self.conn()?
            .query("SELECT id, name FROM municipalities ORDER BY name", &[])?
            .iter()
            .map(|r| Ok((MunicipalityId(r.try_get(0)?), r.try_get(1)?)))
            .collect()
    }

    fn teams(&self) -> Result<Vec<TeamRecord>> {
        self.conn()?
            .query(
                "SELECT id, name, municipality_id FROM teams ORDER BY name",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(TeamRecord {
                    id: TeamId(r.try_get(0)?),
                    name: r.try_get(1)?,
                    municipality: MunicipalityId(r.try_get(2)?),
                })
            })
            .collect()
    }
}

/// The documents a sync sees, with their heads and generation, where `$w` holds.
macro_rules! visible_where {
    ($w:literal) => {
        concat!(
            "SELECT d.id, d.kind, d.team_id, d.course_id, d.heads, d.generation
             FROM documents d
             WHERE ",
            $w
        )
    };
}

impl DocumentStore for PostgresStore {
    fn visible_documents(
        &self,
        teams: &[TeamId],
        wider: &[DocumentId],
    ) -> Result<Vec<VisibleDocument>> {
        let teams: Vec<Uuid> = teams.iter().map(|t| t.0).collect();
        let wider: Vec<Uuid> = wider.iter().map(|d| d.0).collect();
        // Every unchanged sync's one read of the documents (it was three: a reconnect burst's
        // requests each waited for three round trips and three plans). Prepared to save its
        // parse. Over arrays it is still planned per call (see `postgres_pool`): planning was
        // 60 % of its database time with 50 clients. Most users see one team and one document
        // beyond it (their municipality's library): keyed by those two values, its generic
        // plan is the custom one, and is kept.
        let mut conn = self.conn()?;
        let rows = match (teams.as_slice(), wider.as_slice()) {
            ([team], [library]) => conn.prepared().query_prepared(
                visible_where!("d.team_id = $1 OR d.id = $2"),
                &[(team, Type::UUID), (library, Type::UUID)],
            )?,
            _ => conn.prepared().query_prepared(
                visible_where!("d.team_id = ANY($1) OR d.id = ANY($2)"),
                &[(&teams, Type::UUID_ARRAY), (&wider, Type::UUID_ARRAY)],
            )?,
        };
        rows.iter()
            .map(|row| {
                let (header, heads) = header_and_heads(row)?;
                Ok(VisibleDocument {
                    header,
                    heads,
                    generation: u32::try_from(row.try_get::<_, i32>(5)?).unwrap_or(0),
                })
            })
            .collect()
    }

    fn document_heads(&self, teams: &[TeamId]) -> Result<Vec<(Header, Vec<Hash>)>> {
        let teams: Vec<Uuid> = teams.iter().map(|t| t.0).collect();
        self.conn()?
            .query_typed(
                "SELECT id, kind, team_id, course_id, heads FROM documents
                 WHERE team_id = ANY($1)",
                &[(&teams, Type::UUID_ARRAY)],
            )?
            .iter()
            .map(header_and_heads)
            .collect()
    }

    fn document_heads_by_id(&self, ids: &[DocumentId]) -> Result<Vec<(Header, Vec<Hash>)>> {
        let ids: Vec<Uuid> = ids.iter().map(|d| d.0).collect();
        self.conn()?
            .query_typed(
                "SELECT id, kind, team_id, course_id, heads FROM documents WHERE id = ANY($1)",
                &[(&ids, Type::UUID_ARRAY)],
            )?
            .iter()
            .map(header_and_heads)
            .collect()
    }

    fn document_header(&self, id: DocumentId) -> Result<Option<Header>> {
        self.conn()?
            .prepared()
            .query_prepared_opt(
                "SELECT id, kind, team_id, course_id FROM documents WHERE id = $1",
                &[(&id.0, Type::UUID)],
            )?
            .map(|r| header_at(&r))
            .transpose()
    }

    fn load_document(&self, id: DocumentId) -> Result<Option<Automerge>> {
        // The connection goes back to the pool before decoding, the expensive part.
        let stored = document_bytes(self.conn()?.prepared(), id)?;
        stored
            .map(|(snapshot, chunks)| decode(id, &snapshot, &chunks))
            .transpose()
    }

    fn saved_document(&self, id: DocumentId) -> Result<Option<SavedDocument>> {
        // One statement: the heads are those of the bytes.
        let row = self.conn()?.prepared().query_prepared_opt(
            "SELECT heads, snapshot,
                    ARRAY(SELECT bytes FROM doc_changes WHERE doc_id = $1 ORDER BY seq)
             FROM documents WHERE id = $1",
            &[(&id.0, Type::UUID)],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let heads = heads_from_bytes(id, row.try_get(0)?)?;
        Ok(Some((heads, saved_bytes(row.try_get(1)?, row.try_get(2)?))))
    }

    fn commit_documents(&self, batch: &[DocumentCommit<'_>]) -> Result<()> {
        let now = now_ms();
        // Rows are locked in id order, so two servers' batches cannot wait on each other.
        let mut ordered: Vec<&DocumentCommit<'_>> = batch.iter().collect();
        ordered.sort_by_key(|c| c.header.id.0);
        let Some(first) = ordered.first().map(|c| c.header.id) else {
            return Ok(());
        };
        let mut conn = self.conn()?;
        let (client, prepared) = conn.prepared().split();
        let stored = match ordered.as_slice() {
            [alone] if stored_alone(alone) => self.commit_in(client, prepared, alone, now),
            _ => {
                let mut tx = client.transaction()?;
                ordered
                    .into_iter()
                    .try_for_each(|c| self.commit_in(&mut tx, prepared, c, now))
                    .and_then(|()| Ok(tx.commit()?))
            }
        };
        match stored {
            // PostgreSQL broke a lock cycle (a `reproject` marking every document pending while
            // this batch marks its own) by aborting this transaction: nothing was stored, and
            // serving the sync again is the remedy, as for a moved document.
            Err(Error::Postgres(e)) if is_retryable(&e) => Err(Error::DocumentMoved(first)),
            other => other,
        }
    }

    fn document_footprint(&self, id: DocumentId) -> Result<Option<DocumentFootprint>> {
        let row = self.conn()?.query_opt(
            "SELECT octet_length(snapshot)::BIGINT, incremental_bytes,
               (SELECT COUNT(*) FROM doc_changes WHERE doc_id = $1)
             FROM documents WHERE id = $1",
            &[&id.0],
        )?;
        row.map(|r| {
            Ok(DocumentFootprint {
                snapshot_bytes: r.try_get::<_, i64>(0)? as usize,
                incremental_bytes: r.try_get::<_, i64>(1)? as usize,
                chunks: r.try_get::<_, i64>(2)? as usize,
            })
        })
        .transpose()
    }

    fn quarantine(
        &self,
        doc: DocumentId,
        generation: u32,
        user: UserId,
        bytes: &[u8],
        reason: &str,
        limits: &QuarantineLimits,
    ) -> Result<Quarantine> {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes).to_vec();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // The erasure's lock on the document first: an erasure is wholly before this (its
        // tombstone or new generation seen below, read committed) or waits for it (and then
        // deletes what this keeps).
        super::postgres_erasure::lock_document(&mut tx, doc)?;
        if super::postgres_erasure::is_erased(&mut tx, doc)?
            || super::postgres_erasure::generation(&mut tx, doc)? != generation
        {
            return Err(Error::DocumentMoved(doc));
        }
        // One writer at a time (also across servers): two refusals cannot both slip under a
        // limit. Readers are not blocked; refusals are rare.
        tx.batch_execute("LOCK TABLE quarantine IN SHARE ROW EXCLUSIVE MODE")?;
        let known: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM quarantine
                   WHERE doc_id = $1 AND user_id = $2 AND digest = $3)",
                &[&doc.0, &user.0, &digest],
            )?
            .try_get(0)?;
        if known {
            return Ok(Quarantine::Kept);
        }
        let mut usage = |column: &str, key: &Uuid| -> Result<(u64, u64)> {
            let row = tx.query_one(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(octet_length(bytes)), 0)::BIGINT
                     FROM quarantine WHERE {column} = $1"
                ),
                &[key],
            )?;
            Ok((
                row.try_get::<_, i64>(0)? as u64,
                row.try_get::<_, i64>(1)? as u64,
            ))
        };
        let size = bytes.len() as u64;
        let (user_entries, user_bytes) = usage("user_id", &user.0)?;
        let (doc_entries, doc_bytes) = usage("doc_id", &doc.0)?;
        if user_entries >= limits.user_entries
            || user_bytes + size > limits.user_bytes
            || doc_entries >= limits.doc_entries
            || doc_bytes + size > limits.doc_bytes
        {
            return Ok(Quarantine::Full);
        }
        tx.execute(
            "INSERT INTO quarantine (doc_id, user_id, bytes, reason, at, digest)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&doc.0, &user.0, &bytes, &reason, &now_ms(), &digest],
        )?;
        tx.commit()?;
        Ok(Quarantine::Kept)
    }

    fn quarantined(&self, doc: DocumentId) -> Result<usize> {
        let n: i64 = self
            .conn()?
            .query_one(
                "SELECT COUNT(*) FROM quarantine WHERE doc_id = $1",
                &[&doc.0],
            )?
            .try_get(0)?;
        Ok(n as usize)
    }

    fn quarantine_list(&self, scope: &QuarantineScope) -> Result<Vec<QuarantineEntry>> {
        let (clause, args) = quarantine_where(scope);
        let rows = self.conn()?.query(
            &format!(
                "SELECT id, doc_id, user_id, octet_length(bytes)::BIGINT, reason, at
                 FROM quarantine WHERE {clause} ORDER BY at DESC, id DESC"
            ),
            &as_params(&args),
        )?;
        rows.iter()
            .map(|r| {
                Ok(QuarantineEntry {
                    id: r.try_get(0)?,
                    doc: DocumentId(r.try_get(1)?),
                    user: UserId(r.try_get(2)?),
                    bytes: r.try_get::<_, i64>(3)? as u64,
                    reason: r.try_get(4)?,
                    at: r.try_get(5)?,
                })
            })
            .collect()
    }

    fn quarantine_purge(&self, scope: &QuarantineScope) -> Result<usize> {
        let (clause, args) = quarantine_where(scope);
        let n = self.conn()?.execute(
            &format!("DELETE FROM quarantine WHERE {clause}"),
            &as_params(&args),
        )?;
        Ok(n as usize)
    }
}

impl MediaStore for PostgresStore {
    fn media_bytes_besides(&self, municipality: MunicipalityId, sha256: &str) -> Result<u64> {
        let bytes: i64 = self
            .conn()?
            .query_one(
                "SELECT COALESCE(SUM(byte_size), 0)::BIGINT FROM media
                 WHERE municipality_id = $1 AND sha256 <> $2",
                &[&municipality.0, &sha256],
            )?
            .try_get(0)?;
        Ok(bytes.max(0) as u64)
    }

    fn record_media(&self, media: &MediaRecord) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO media (sha256, municipality_id, byte_size, content_type, uploaded_by,
               uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256, municipality_id) DO NOTHING",
            &[
                &media.sha256,
                &media.municipality.0,
                &(media.byte_size as i64),
                &media.content_type,
                &media.uploaded_by.0,
                &now_ms(),
            ],
        )?;
        Ok(())
    }

    fn media_of(&self, sha256: &str, municipality: MunicipalityId) -> Result<Option<MediaRecord>> {
        let row = self.conn()?.query_opt(
            "SELECT byte_size, content_type, uploaded_by FROM media
             WHERE sha256 = $1 AND municipality_id = $2
               AND NOT EXISTS (SELECT 1 FROM media_withdrawn
                               WHERE library_id = $3 AND sha256 = $1)",
            &[
                &sha256,
                &municipality.0,
                &DocumentId::library_of(municipality).0,
            ],
        )?;
        row.map(|r| {
            Ok(MediaRecord {
                sha256: sha256.to_string(),
                municipality,
                byte_size: r.try_get::<_, i64>(0)? as u64,
                content_type: r.try_get(1)?,
                uploaded_by: UserId(r.try_get(2)?),
            })
        })
        .transpose()
    }
}

impl ReadModelStore for PostgresStore {
    fn pending_projections(&self, limit: usize) -> Result<Vec<(DocumentId, i64)>> {
        Ok(read_model::pending(&mut *self.conn()?, limit)?
            .into_iter()
            .map(|(doc, version)| (DocumentId(doc), version))
            .collect())
    }

    fn pending_projection_count(&self) -> Result<u64> {
        read_model::pending_count(&mut *self.conn()?)
    }

    fn settle_projections(&self, round: &[Projection]) -> Result<Vec<bool>> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let settled = read_model::write_round(&mut tx, round, now_ms())?;
        tx.commit()?;
        Ok(settled)
    }

    fn remark_grants_without_day(&self) -> Result<u64> {
        Ok(self
            .conn()?
            .execute(read_model::REMARK_GRANTS_WITHOUT_DAY, &[])?)
    }

    fn reset_read_model(&self) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        read_model::reset(&mut tx)?;
        tx.commit()?;
        Ok(())
    }

    fn read_model_documents(&self) -> Result<Vec<(DocumentId, bool)>> {
        Ok(read_model::documents(&mut *self.conn()?)?
            .into_iter()
            .map(|(doc, pending)| (DocumentId(doc), pending))
            .collect())
    }

    fn projection_failure_count(&self) -> Result<u64> {
        read_model::failure_count(&mut *self.conn()?)
    }

    fn stored_rows(&self, doc: DocumentId) -> Result<DocumentRows> {
        read_model::stored_rows(&mut *self.conn()?, doc.0)
    }
}

impl EvidenceStore for PostgresStore {
    fn evidence_settings(&self, municipality: MunicipalityId) -> Result<EvidenceSettings> {
        evidence::settings(&mut *self.conn()?, municipality)
    }

    fn all_evidence_settings(&self) -> Result<Vec<(MunicipalityId, EvidenceSettings)>> {
        evidence::all_settings(&mut *self.conn()?)
    }

    fn set_evidence_settings(
        &self,
        municipality: MunicipalityId,
        settings: &EvidenceSettings,
        by: UserId,
    ) -> Result<()> {
        evidence::set_settings(&mut *self.conn()?, municipality, settings, by, now_ms())
    }

    fn effect_settings(&self, municipality: MunicipalityId) -> Result<StoredSettings> {
        let library = DocumentId::library_of(municipality);
        match evidence::effect_settings_json(&mut *self.conn()?, library.0)? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| Error::Corrupt(format!("projected effect settings: {e}"))),
            None => Ok(StoredSettings::default()),
        }
    }

    fn evidence_referrals(&self, teams: &[TeamId], period: Period) -> Result<Vec<ReferralFacts>> {
        evidence::referrals(&mut *self.conn()?, teams, period)
    }

    fn evidence_staff(&self, teams: &[TeamId], as_of: time::Date) -> Result<Vec<StaffMember>> {
        evidence::staff(&mut *self.conn()?, teams, as_of)
    }

    fn completed_courses(
        &self,
        teams: Option<&[TeamId]>,
        period: Period,
    ) -> Result<Vec<CourseFacts>> {
        evidence::completed_courses(&mut *self.conn()?, teams, period)
    }

    fn export_rows(
        &self,
        table: ExportTable,
        teams: &[TeamId],
        period: &Period,
    ) -> Result<Vec<Vec<Cell>>> {
        evidence::export_rows(&mut *self.conn()?, table, teams, period)
    }
}
