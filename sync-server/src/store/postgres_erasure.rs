//! Retention and erasure in PostgreSQL (issue #14 item 5); the same as `sqlite_erasure`, in
//! this backend's SQL.
//!
//! What PostgreSQL keeps after an erasure, said plainly (docs/security.md): a deleted or
//! updated row stays in its table's pages as a dead tuple until `VACUUM` reclaims the space
//! (and even then the bytes may lie in free space until overwritten; only `VACUUM FULL`
//! rewrites the files); the WAL holds the old rows until its segments are recycled, and WAL
//! archives and base backups hold them for as long as they are kept. [`scrub`] runs `VACUUM`
//! on the touched tables after an erasure; the erasure ledger lets a restored backup forget
//! again.

use super::postgres_read_model as read_model;
use super::retention_rows::{assemble, CitizenRow, CourseRow, GrantRow, ReferralRow};
use super::{ErasureCommit, LedgerEntry};
use crate::error::{Error, Result};
use homerehab_shared::audit::AuditAction;
use homerehab_shared::ids::{DocumentId, MunicipalityId, TeamId, UserId};
use homerehab_shared::read_model::rows_of;
use homerehab_shared::retention::{CitizenFacts, RetentionSettings};
use homerehab_shared::sync::Hash;
use postgres::types::Type;
use postgres::GenericClient;
use uuid::Uuid;

/// Appended to the store's migrations.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE document_generations (
    doc_id     UUID PRIMARY KEY,
    generation INTEGER NOT NULL
);
CREATE TABLE old_generation_changes (
    doc_id UUID NOT NULL,
    hash   BYTEA NOT NULL,
    PRIMARY KEY (doc_id, hash)
);
CREATE TABLE erased_documents (
    id        UUID PRIMARY KEY,
    erased_at BIGINT NOT NULL
);
CREATE TABLE erasure_ledger (
    seq             BIGSERIAL PRIMARY KEY,
    at              BIGINT NOT NULL,
    municipality_id UUID NOT NULL,
    erasure         TEXT NOT NULL,
    by_user         UUID,
    action          TEXT NOT NULL
);
CREATE TABLE retention_settings (
    municipality_id UUID PRIMARY KEY,
    settings        TEXT NOT NULL,
    updated_by      UUID
);
"#;

/// Appended after [`SCHEMA`] (2026-12-07): a document's generation is a column of its row.
/// Every sync reads each visible document's generation: the left join probed the mostly empty
/// table's index once per document, 200 of the 214 buffers the read touched for a team of 100
/// documents. The table stays for servers of the release before, which read and write it
/// during a rolling upgrade: this release writes both, and a trigger carries what an older
/// server writes into the table onto the row. A later release drops the table, the trigger and
/// its function `document_generation_onto_row`.
pub(super) const GENERATION_COLUMN: &str = r#"
ALTER TABLE documents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
UPDATE documents d SET generation = g.generation
  FROM document_generations g WHERE g.doc_id = d.id;
CREATE FUNCTION document_generation_onto_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE documents SET generation = NEW.generation WHERE id = NEW.doc_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER document_generation_onto_row AFTER INSERT OR UPDATE ON document_generations
    FOR EACH ROW EXECUTE FUNCTION document_generation_onto_row();
"#;

/// The tables an erasure deletes from or rewrites, besides the read model's own
/// (`read_model::TABLES`): vacuumed afterwards.
const TOUCHED: [&str; 5] = [
    "documents",
    "doc_changes",
    "quarantine",
    "rm_pending",
    "rm_failures",
];

/// The advisory lock of one document id: an erasure and the insert of a document new to the
/// server take it, so a document cannot be stored again between its tombstone and its delete.
pub(super) fn lock_document(tx: &mut impl GenericClient, id: DocumentId) -> Result<()> {
    let key = i64::from_be_bytes(id.as_bytes()[..8].try_into().expect("16 bytes"));
    tx.query_typed("SELECT pg_advisory_xact_lock($1)", &[(&key, Type::INT8)])?;
    Ok(())
}

pub(super) fn generation(client: &mut impl GenericClient, id: DocumentId) -> Result<u32> {
    let row = client.query_typed_opt(
        "SELECT generation FROM documents WHERE id = $1",
        &[(&id.0, Type::UUID)],
    )?;
    Ok(match row {
        Some(r) => u32::try_from(r.try_get::<_, i32>(0)?).unwrap_or(0),
        None => 0,
    })
}

pub(super) fn is_erased(client: &mut impl GenericClient, id: DocumentId) -> Result<bool> {
    Ok(client
        .query_typed_opt(
            "SELECT 1 FROM erased_documents WHERE id = $1",
            &[(&id.0, Type::UUID)],
        )?
        .is_some())
}

pub(super) fn old_generation_hashes(
    client: &mut impl GenericClient,
    id: DocumentId,
    among: &[Hash],
) -> Result<Vec<Hash>> {
    let among: Vec<Vec<u8>> = among.iter().map(|h| h.to_vec()).collect();
    let rows = client.query_typed(
        "SELECT hash FROM old_generation_changes WHERE doc_id = $1 AND hash = ANY($2)",
        &[(&id.0, Type::UUID), (&among, Type::BYTEA_ARRAY)],
    )?;
    rows.iter()
        .map(|r| {
            let h: Vec<u8> = r.try_get(0)?;
            h.try_into()
                .map_err(|_| Error::Corrupt("an old generation's change hash".into()))
        })
        .collect()
}

pub(super) fn erase(
    tx: &mut postgres::Transaction<'_>,
    e: &ErasureCommit<'_>,
    now: i64,
) -> Result<()> {
    let mut ids: Vec<DocumentId> = e
        .deleted
        .iter()
        .copied()
        .chain(e.rewritten.iter().map(|r| r.header.id))
        .collect();
    ids.sort();
    for id in &ids {
        lock_document(tx, *id)?;
    }
    // After any projector's round on them: its rows are committed, so the deletes below see them.
    for id in &ids {
        read_model::lock_projection(tx, id.0)?;
    }
    for r in e.rewritten {
        let id = r.header.id.0;
        let stored = tx.query_opt(
            "SELECT heads FROM documents WHERE id = $1 FOR UPDATE",
            &[&id],
        )?;
        let heads: Option<Vec<u8>> = stored.map(|row| row.try_get(0)).transpose()?;
        if heads.is_none() || super::documents::moved(r.base, heads.as_deref()) {
            return Err(Error::DocumentMoved(r.header.id));
        }
        tx.execute("DELETE FROM doc_changes WHERE doc_id = $1", &[&id])?;
        tx.execute(
            "UPDATE documents SET heads = $2, incremental_bytes = 0, updated_at = $3,
               snapshot = $4, generation = $5 WHERE id = $1",
            &[
                &id,
                &super::documents::heads_bytes(r.doc),
                &now,
                &r.doc.save(),
                &(r.generation as i32),
            ],
        )?;
        let hashes: Vec<Vec<u8>> = r.old_hashes.iter().map(|h| h.to_vec()).collect();
        tx.execute(
            "INSERT INTO old_generation_changes (doc_id, hash)
             SELECT $1, h FROM unnest($2::BYTEA[]) AS h ON CONFLICT DO NOTHING",
            &[&id, &hashes],
        )?;
        // For servers of the release before, during a rolling upgrade ([`GENERATION_COLUMN`]).
        tx.execute(
            "INSERT INTO document_generations (doc_id, generation) VALUES ($1, $2)
             ON CONFLICT (doc_id) DO UPDATE SET generation = excluded.generation",
            &[&id, &(r.generation as i32)],
        )?;
        tx.execute("DELETE FROM quarantine WHERE doc_id = $1", &[&id])?;
        let rows = rows_of(r.header, r.doc)?;
        read_model::delete_rows_of(tx, &[id])?;
        read_model::insert_rows(tx, &[(id, &rows)])?;
        tx.execute("DELETE FROM rm_pending WHERE doc_id = $1", &[&id])?;
        tx.execute("DELETE FROM rm_failures WHERE doc_id = $1", &[&id])?;
    }
    for doc in e.deleted {
        let id = doc.0;
        tx.execute(
            "INSERT INTO erased_documents (id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&id, &now],
        )?;
        tx.execute("DELETE FROM doc_changes WHERE doc_id = $1", &[&id])?;
        tx.execute("DELETE FROM documents WHERE id = $1", &[&id])?;
        tx.execute("DELETE FROM quarantine WHERE doc_id = $1", &[&id])?;
        read_model::delete_rows_of(tx, &[id])?;
        tx.execute("DELETE FROM rm_pending WHERE doc_id = $1", &[&id])?;
        tx.execute("DELETE FROM rm_failures WHERE doc_id = $1", &[&id])?;
        tx.execute("DELETE FROM document_generations WHERE doc_id = $1", &[&id])?;
        tx.execute(
            "DELETE FROM old_generation_changes WHERE doc_id = $1",
            &[&id],
        )?;
    }
    for entry in e.ledger {
        tx.execute(
            "INSERT INTO erasure_ledger (at, municipality_id, erasure, by_user, action)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &entry.at,
                &entry.municipality.0,
                &serde_json::to_string(&entry.erasure)
                    .map_err(|e| Error::Invalid(e.to_string()))?,
                &entry.by.map(|u| u.0),
                &entry.action.as_str(),
            ],
        )?;
    }
    Ok(())
}

/// `VACUUM` of every table an erasure touches (outside a transaction, as PostgreSQL requires).
pub(super) fn scrub(client: &mut impl GenericClient) -> Result<()> {
    for table in TOUCHED.iter().chain(&read_model::TABLES) {
        client.batch_execute(&format!("VACUUM {table}"))?;
    }
    Ok(())
}

pub(super) fn ledger(client: &mut impl GenericClient) -> Result<Vec<LedgerEntry>> {
    client
        .query(
            "SELECT at, municipality_id, erasure, by_user, action FROM erasure_ledger ORDER BY seq",
            &[],
        )?
        .iter()
        .map(|r| {
            let erasure: String = r.try_get(2)?;
            Ok(LedgerEntry {
                at: r.try_get(0)?,
                municipality: MunicipalityId(r.try_get(1)?),
                erasure: serde_json::from_str(&erasure)
                    .map_err(|_| Error::Corrupt("an erasure in the ledger".into()))?,
                by: r.try_get::<_, Option<Uuid>>(3)?.map(UserId),
                action: AuditAction::parse(&r.try_get::<_, String>(4)?)
                    .ok_or_else(|| Error::Corrupt("an action in the erasure ledger".into()))?,
            })
        })
        .collect()
}

pub(super) fn retention_settings(
    client: &mut impl GenericClient,
    municipality: MunicipalityId,
) -> Result<RetentionSettings> {
    let row = client.query_opt(
        "SELECT settings FROM retention_settings WHERE municipality_id = $1",
        &[&municipality.0],
    )?;
    match row {
        None => Ok(RetentionSettings::default()),
        Some(r) => serde_json::from_str(&r.try_get::<_, String>(0)?)
            .map_err(|_| Error::Corrupt("a municipality's retention settings".into())),
    }
}

pub(super) fn set_retention_settings(
    client: &mut impl GenericClient,
    municipality: MunicipalityId,
    settings: &RetentionSettings,
    by: Option<UserId>,
) -> Result<()> {
    client.execute(
        "INSERT INTO retention_settings (municipality_id, settings, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (municipality_id) DO UPDATE SET settings = excluded.settings,
           updated_by = excluded.updated_by",
        &[
            &municipality.0,
            &serde_json::to_string(settings).map_err(|e| Error::Invalid(e.to_string()))?,
            &by.map(|u| u.0),
        ],
    )?;
    Ok(())
}

pub(super) fn retention_facts(
    client: &mut impl GenericClient,
    teams: &[TeamId],
) -> Result<Vec<CitizenFacts>> {
    let teams: Vec<String> = teams.iter().map(|t| t.to_string()).collect();
    let citizens: Vec<CitizenRow> = client
        .query(
            "SELECT citizen_id, team_id, active FROM rm_citizens WHERE team_id = ANY($1)",
            &[&teams],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<_>>()?;
    let courses: Vec<CourseRow> = client
        .query(
            "SELECT c.course_id, c.citizen_id, c.team_id, c.status, c.start_date,
               (SELECT MAX(COALESCE(s.ended_at, s.started_at)) FROM rm_sessions s
                 WHERE s.course_id = c.course_id),
               (SELECT MAX(t.date) FROM rm_test_results t WHERE t.course_id = c.course_id)
             FROM rm_courses c WHERE c.team_id = ANY($1)",
            &[&teams],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
            ))
        })
        .collect::<Result<_>>()?;
    let referrals: Vec<ReferralRow> = client
        .query(
            "SELECT referral_id, citizen_id, team_id, referred_on, screened_on, course_id
             FROM rm_referrals WHERE team_id = ANY($1)",
            &[&teams],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
            ))
        })
        .collect::<Result<_>>()?;
    let grants: Vec<GrantRow> = client
        .query(
            "SELECT citizen_id, team_id, effective, service_code FROM rm_care_grants
             WHERE team_id = ANY($1)",
            &[&teams],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<_>>()?;
    assemble(citizens, courses, referrals, grants)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DocumentStore, ErasureStore};
    use homerehab_shared::docs::{genesis, put_session, Header};
    use homerehab_shared::ids::CourseId;
    use homerehab_shared::model::SessionLog;
    use std::time::Duration;

    /// A rewritten document's generation, kept in a table of its own before, is on its row
    /// after the upgrade, and what a server of the release before writes into that table
    /// reaches the row; a document never rewritten is of generation 0. Needs a PostgreSQL
    /// server.
    #[test]
    fn a_documents_generation_moves_onto_its_row_in_the_upgrade() {
        let Some(db) = super::super::postgres_pool::TestDatabase::create("generation_column")
        else {
            return;
        };
        let team = TeamId::new();
        let rewritten = Header::session_log(team, CourseId::new());
        let plain = Header::session_log(team, CourseId::new());
        {
            // The schema before this migration, as `migrate` would have left it.
            let mut client = db.connect();
            client
                .batch_execute(
                    "CREATE TABLE schema_migrations (
                         version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
                )
                .unwrap();
            let migrations = super::super::postgres::MIGRATIONS;
            let before = migrations
                .iter()
                .position(|m| *m == GENERATION_COLUMN)
                .unwrap();
            for (i, sql) in migrations[..before].iter().enumerate() {
                client.batch_execute(sql).unwrap();
                client
                    .execute(
                        "INSERT INTO schema_migrations VALUES ($1, 0)",
                        &[&(i as i32 + 1)],
                    )
                    .unwrap();
            }
            for header in [&rewritten, &plain] {
                let doc = genesis(header);
                client
                    .execute(
                        "INSERT INTO documents (id, kind, team_id, course_id, heads, updated_at, snapshot)
                         VALUES ($1, 'session_log', $2, $3, $4, 0, $5)",
                        &[
                            &header.id.0,
                            &team.0,
                            &header.course_id.map(|c| c.0),
                            &super::super::documents::heads_bytes(&doc),
                            &doc.save(),
                        ],
                    )
                    .unwrap();
            }
            client
                .execute(
                    "INSERT INTO document_generations (doc_id, generation) VALUES ($1, 3)",
                    &[&rewritten.id.0],
                )
                .unwrap();
        }
        let store = super::super::PostgresStore::open(&db.url, None).unwrap();
        crate::store::assert_generations(&store, team, &[(rewritten.id, 3), (plain.id, 0)]);
        // A server of the release before, still running, rewrites a document as it did: the
        // row has the generation too.
        let mut old_server = db.connect();
        for generation in [1i32, 2] {
            old_server
                .execute(
                    "INSERT INTO document_generations (doc_id, generation) VALUES ($1, $2)
                     ON CONFLICT (doc_id) DO UPDATE SET generation = excluded.generation",
                    &[&plain.id.0, &generation],
                )
                .unwrap();
            crate::store::assert_generations(
                &store,
                team,
                &[(rewritten.id, 3), (plain.id, generation as u32)],
            );
        }
    }

    /// An erasure beside a projector's round that is writing the erased document's rows (not
    /// committed yet): the erasure waits for the round's turn on the document, so its deletes
    /// see those rows and none outlives the erasure. Without that turn, the erasure's delete
    /// missed the uncommitted rows and they stayed. Needs a PostgreSQL server.
    #[test]
    fn an_erasure_waits_for_a_projectors_round_and_leaves_none_of_its_rows() {
        let Some(db) = super::super::postgres_pool::TestDatabase::create("erase_turns") else {
            return;
        };
        let url = &db.url;
        let store = std::sync::Arc::new(super::super::PostgresStore::open(url, None).unwrap());
        let course = CourseId::new();
        let header = Header::session_log(TeamId::new(), course);
        let mut doc = genesis(&header).with_actor(automerge::ActorId::random());
        put_session(
            &mut doc,
            &SessionLog::start(course, UserId::new(), None, 1),
            1,
        )
        .unwrap();
        store.commit_document(&header, &[], &doc, &[]).unwrap();

        // A projector's round, mid-write: its turn on the document taken, its rows written.
        let mut projector = db.connect();
        let mut round = projector.transaction().unwrap();
        read_model::lock_projection(&mut round, header.id.0).unwrap();
        let rows = rows_of(&header, &doc).unwrap();
        read_model::insert_rows(&mut round, &[(header.id.0, &rows)]).unwrap();
        let erasing = std::thread::spawn({
            let store = store.clone();
            move || {
                store.erase(&ErasureCommit {
                    deleted: &[header.id],
                    rewritten: &[],
                    ledger: &[],
                })
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(!erasing.is_finished(), "the erasure waits for the round");
        round.commit().unwrap();
        erasing.join().unwrap().unwrap();
        let left: i64 = projector
            .query_one(
                "SELECT COUNT(*) FROM rm_sessions WHERE doc_id = $1",
                &[&header.id.0],
            )
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "no row of the erased document is left");
        assert!(store.is_erased(header.id).unwrap());
    }
}
