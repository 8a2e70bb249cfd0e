//! The audit log's SQL for PostgreSQL (issue #14): statement for statement the SQLite log's
//! (`sqlite_audit`), appended under a transaction-scoped advisory lock so that every server
//! sharing the database takes turns and builds one chain.

use super::audit_rows::{
    continue_from, may_be_logged, of_citizen_sql, to_append, AuditRow, AUDIT_COLUMNS,
};
use super::StoredAuditEntry;
use crate::error::Result;
use homerehab_shared::audit::AuditRecord;
use homerehab_shared::audit::ChainedEntry;
use homerehab_shared::ids::{CitizenId, MunicipalityId, TeamId};
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{GenericClient, Row};
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::{Condvar, LazyLock, Mutex, PoisonError};
use uuid::Uuid;

/// Appended to the PostgreSQL migrations.
pub(super) const SCHEMA: &str = super::audit_rows::audit_schema!("BYTEA");

/// The advisory lock every append holds until its transaction ends ("HrAudit").
const AUDIT_LOCK: i64 = 0x4872_4175_6469_7400;

/// The chain's turn: its lock, held to the end of the transaction, and sequential scans off for
/// the rest of it (see [`append_group`]).
const CHAIN_TURN: &str =
    "SELECT pg_advisory_xact_lock($1), set_config('enable_seqscan', 'off', true)";

/// The chain's last entry, read in its turn.
const LAST_ENTRY: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

/// Appends rows given as one array per column ([`AUDIT_COLUMNS`]' order).
static INSERT_ROWS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS})
         SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[],
           $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[],
           $13::TEXT[], $14::BYTEA[], $15::BYTEA[])"
    )
});

fn row_at(r: &Row) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get(0)?,
        entry_id: r.try_get(1)?,
        recorded_at: r.try_get(2)?,
        occurred_at: r.try_get(3)?,
        user_id: r.try_get(4)?,
        role: r.try_get(5)?,
        device_id: r.try_get(6)?,
        action: r.try_get(7)?,
        purpose: r.try_get(8)?,
        team_id: r.try_get(9)?,
        citizen_id: r.try_get(10)?,
        course_id: r.try_get(11)?,
        target: r.try_get(12)?,
        prev_hash: r.try_get(13)?,
        hash: r.try_get(14)?,
    })
}

/// The audit appends of this server's concurrent requests, written together: a member that
/// finds nobody writing takes the chain's lock (shared by every server) and writes, in one
/// transaction, every member queued by then, its own included; the others wait for that commit,
/// and the first of those left over writes the next group. Each member writes at most one
/// group, so none answers late for others. Each appending under the lock alone queued a burst's
/// 900 answered syncs one transaction after another (p50 0.6 s). A group that fails is not
/// answered for its members: each then appends alone, so each gets its own error (a database
/// gone is a 503, not another member's 500) and nothing is written twice.
#[derive(Default)]
pub(super) struct AuditGroup {
    queue: Mutex<AuditQueue>,
    written: Condvar,
}

#[derive(Default)]
struct AuditQueue {
    /// Members waiting for the next group: a ticket and their records.
    waiting: Vec<(u64, Vec<AuditRecord>)>,
    next_ticket: u64,
    /// Whether a member is writing a group now.
    writing: bool,
    /// Members whose group was written: how many of their records were appended, or `None`
    /// when the group failed and they append alone.
    done: HashMap<u64, Option<usize>>,
}

impl AuditGroup {
    /// Appends `records` with whatever other members queue meanwhile; `write` writes a group
    /// (see [`append_group`]), told whether it retries a member of a group that failed.
    pub(super) fn append(
        &self,
        records: &[AuditRecord],
        write: impl Fn(&[&[AuditRecord]], bool) -> Result<Vec<usize>>,
    ) -> Result<usize> {
        if records.is_empty() {
            return Ok(0);
        }
        let lock = || self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let mut queue = lock();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push((ticket, records.to_vec()));
        let done = loop {
            if let Some(done) = queue.done.remove(&ticket) {
                break done;
            }
            if queue.writing {
                queue = self
                    .written
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // Nobody writes and this member's records wait: it writes the group they are in.
            queue.writing = true;
            let group = std::mem::take(&mut queue.waiting);
            drop(queue);
            let members: Vec<&[AuditRecord]> = group.iter().map(|(_, r)| r.as_slice()).collect();
            // A failed (or panicking) group is rolled back whole; its members append alone.
            let counts = std::panic::catch_unwind(AssertUnwindSafe(|| write(&members, false)))
                .ok()
                .and_then(|written| written.ok());
            queue = lock();
            for (i, (member, _)) in group.iter().enumerate() {
                queue.done.insert(*member, counts.as_ref().map(|c| c[i]));
            }
            queue.writing = false;
            self.written.notify_all();
        };
        drop(queue);
        match done {
            Some(appended) => Ok(appended),
            // The group's commit may have landed though it failed: the retry looks up every id.
            None => Ok(write(&[records], true)?[0]),
        }
    }
}

/// The chain's last entry as this server last wrote or read it, so that an append usually
/// needs no read before its write (see [`append_group`]). `None` until the first append, and
/// after any failed one.
#[derive(Default)]
pub(super) struct ChainEnd(Mutex<Option<Entry>>);

/// An entry of the chain by its number and hash.
type Entry = (u64, [u8; 32]);

impl ChainEnd {
    fn get(&self) -> Option<Entry> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn set(&self, end: Option<Entry>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = end;
    }
}

/// Appends rows given as one array per column ([`AUDIT_COLUMNS`]' order) only if the chain's
/// turn is free now (`$16`: [`AUDIT_LOCK`]), taken for this statement alone, and the entry
/// they are chained after is in the log (`$17`, `$18`: its number and hash; number 0 is the
/// empty log's): one round trip. No rows otherwise.
static APPEND_IF_FREE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH turn AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($16) AS ours)
         INSERT INTO audit_log ({AUDIT_COLUMNS})
         SELECT entry.* FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[],
           $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[],
           $12::TEXT[], $13::TEXT[], $14::BYTEA[], $15::BYTEA[]) AS entry, turn
         WHERE turn.ours
           AND ($17 = 0 OR EXISTS (SELECT 1 FROM audit_log WHERE seq = $17 AND hash = $18))"
    )
});

/// Appends the records of each member of a group, in the members' order, and answers how many
/// of each member's records were appended (a record already logged, or an earlier member's
/// with the same entry id, is not its). `retry`: see [`may_be_logged`].
///
/// Usually in one statement ([`APPEND_IF_FREE`]): the entries chained after the last one this
/// server wrote (`end`), inserted if the chain's turn is free. That the chain stays one is the
/// key's doing: `seq` is unique, so entries chained after an end another server has since
/// moved past collide with its entry and nothing is inserted. Then, or when the turn is taken,
/// or nothing is known of the end, or entry ids must be looked up, the append waits for the
/// turn in a transaction and reads the end first ([`append_in_turn`]). Five round trips each,
/// the audit log was about 30 % of the database's round trips with 50 clients.
pub(super) fn append_group(
    conn: &mut super::postgres_pool::PreparedClient,
    group: &[&[AuditRecord]],
    retry: bool,
    end: &ChainEnd,
) -> Result<Vec<usize>> {
    let records: Vec<AuditRecord> = group.iter().flat_map(|m| m.iter().cloned()).collect();
    if records.is_empty() {
        return Ok(vec![0; group.len()]);
    }
    let ids = may_be_logged(&records, retry);
    let known_end = end.get();
    // Until an append succeeds, nothing is known of the end: a statement whose answer was
    // lost may have landed.
    end.set(None);
    let written = match known_end {
        Some(last) if ids.is_empty() => {
            let entries = to_append(&records, last, &HashSet::new());
            let rows: Vec<AuditRow> = entries.iter().map(AuditRow::of).collect();
            let (client, prepared) = conn.split();
            match insert_rows(client, prepared, &rows, Some(last)) {
                Ok(n) if n == rows.len() as u64 => Some((rows, entries.last().map(end_of))),
                // The turn is another transaction's, or the end known is not the log's.
                Ok(_) => None,
                // Another server wrote after the end this one knew.
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => None,
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    let (rows, last) = match written {
        Some(written) => written,
        None => append_in_turn(conn, &records, &ids)?,
    };
    end.set(last);
    let mut appended: HashSet<String> = rows.into_iter().map(|r| r.entry_id).collect();
    Ok(group
        .iter()
        .map(|member| {
            member
                .iter()
                .filter(|r| appended.remove(&r.entry_id.to_string()))
                .count()
        })
        .collect())
}

fn end_of(entry: &ChainedEntry) -> Entry {
    (entry.seq, entry.hash)
}

/// [`append_group`]'s way in turn: in one transaction, the chain's lock, its last entry, the
/// ids already logged among `ids`, the rows. Answers the rows written and the chain's end.
fn append_in_turn(
    conn: &mut super::postgres_pool::PreparedClient,
    records: &[AuditRecord],
    ids: &[String],
) -> Result<(Vec<AuditRow>, Option<Entry>)> {
    let (client, prepared) = conn.split();
    let mut tx = client.transaction()?;
    // One round trip each (the lock's statement prepared once per connection), while every
    // server's appends queue on the chain's lock (a burst's 900 answered syncs each append).
    // Sequential scans are off for the rest of this transaction, so the plan the next read
    // keeps on this connection walks the key's index from its end however small the log was
    // when it was made: a plan kept from an almost empty log scanned it whole once it had
    // grown, and planning it on every call instead was 5 % of the database's time with 50
    // clients.
    prepared.query(&mut tx, CHAIN_TURN, &[(&AUDIT_LOCK, Type::INT8)])?;
    let last = prepared
        .query_opt(&mut tx, LAST_ENTRY, &[])?
        .map(|r| -> Result<(i64, Vec<u8>)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
        .transpose()?;
    let known: HashSet<String> = if ids.is_empty() {
        HashSet::new()
    } else {
        tx.query_typed(
            "SELECT entry_id FROM audit_log WHERE entry_id = ANY($1)",
            &[(&ids, Type::TEXT_ARRAY)],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?
    };
    let last = continue_from(last);
    let entries = to_append(records, last, &known);
    let rows: Vec<AuditRow> = entries.iter().map(AuditRow::of).collect();
    insert_rows(&mut tx, prepared, &rows, None)?;
    tx.commit()?;
    let end = entries.last().map(end_of).unwrap_or(last);
    Ok((rows, Some(end)))
}

/// Inserts `rows` in one statement whatever their number, prepared once per connection (a
/// `VALUES` list was a new statement text, parsed and planned, for every group size): in the
/// caller's transaction, or with `after` ([`APPEND_IF_FREE`]) only if the chain's turn is free
/// and that entry is in the log. Answers the number of rows inserted.
fn insert_rows(
    client: &mut impl GenericClient,
    prepared: &mut super::postgres_pool::Prepared,
    rows: &[AuditRow],
    after: Option<Entry>,
) -> std::result::Result<u64, postgres::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&AuditRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let entry_ids = column(|r| Some(r.entry_id.clone()));
    let recorded: Vec<i64> = rows.iter().map(|r| r.recorded_at).collect();
    let occurred: Vec<i64> = rows.iter().map(|r| r.occurred_at).collect();
    let users = column(|r| r.user_id.clone());
    let roles = column(|r| r.role.clone());
    let devices = column(|r| r.device_id.clone());
    let actions = column(|r| Some(r.action.clone()));
    let purposes = column(|r| Some(r.purpose.clone()));
    let teams = column(|r| r.team_id.clone());
    let citizens = column(|r| r.citizen_id.clone());
    let courses = column(|r| r.course_id.clone());
    let targets = column(|r| r.target.clone());
    let prev_hashes: Vec<&[u8]> = rows.iter().map(|r| r.prev_hash.as_slice()).collect();
    let hashes: Vec<&[u8]> = rows.iter().map(|r| r.hash.as_slice()).collect();
    let mut params: Vec<(&(dyn postgres::types::ToSql + Sync), Type)> = vec![
        (&seqs, Type::INT8_ARRAY),
        (&entry_ids, Type::TEXT_ARRAY),
        (&recorded, Type::INT8_ARRAY),
        (&occurred, Type::INT8_ARRAY),
        (&users, Type::TEXT_ARRAY),
        (&roles, Type::TEXT_ARRAY),
        (&devices, Type::TEXT_ARRAY),
        (&actions, Type::TEXT_ARRAY),
        (&purposes, Type::TEXT_ARRAY),
        (&teams, Type::TEXT_ARRAY),
        (&citizens, Type::TEXT_ARRAY),
        (&courses, Type::TEXT_ARRAY),
        (&targets, Type::TEXT_ARRAY),
        (&prev_hashes, Type::BYTEA_ARRAY),
        (&hashes, Type::BYTEA_ARRAY),
    ];
    let after = after.map(|(seq, hash)| (i64::try_from(seq).unwrap_or(i64::MAX), hash.to_vec()));
    let sql = match &after {
        Some((seq, hash)) => {
            params.push((&AUDIT_LOCK, Type::INT8));
            params.push((seq, Type::INT8));
            params.push((hash, Type::BYTEA));
            APPEND_IF_FREE.as_str()
        }
        None => INSERT_ROWS.as_str(),
    };
    prepared.execute(client, sql, &params)
}

pub(super) fn entries(
    client: &mut impl GenericClient,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredAuditEntry>> {
    let rows = client.query(
        &format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"),
        &[&(after as i64), &(limit as i64)],
    )?;
    rows.iter().map(|r| Ok(row_at(r)?.entry())).collect()
}

pub(super) fn of_citizen(
    client: &mut impl GenericClient,
    citizen: CitizenId,
) -> Result<Vec<StoredAuditEntry>> {
    let rows = client.query(&of_citizen_sql("$1"), &[&citizen.to_string()])?;
    rows.iter().map(|r| Ok(row_at(r)?.entry())).collect()
}

pub(super) fn citizen_home(
    client: &mut impl GenericClient,
    citizen: CitizenId,
) -> Result<Option<(TeamId, MunicipalityId)>> {
    let row = client.query_opt(
        "SELECT c.team_id, t.municipality_id FROM rm_citizens c
             JOIN teams t ON t.id::text = c.team_id
             WHERE c.citizen_id = $1 LIMIT 1",
        &[&citizen.to_string()],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let team: String = row.try_get(0)?;
    let municipality: Uuid = row.try_get(1)?;
    Ok(Uuid::parse_str(&team)
        .ok()
        .map(|t| (TeamId(t), MunicipalityId(municipality))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres_pool::PreparedClient;
    use homerehab_shared::audit::AuditAction;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh schema named after `prefix` holding an empty `audit_log`, the client's search
    /// path set to it: a test's own log on the shared test cluster. Answers its name.
    fn log_of_its_own(client: &mut postgres::Client, prefix: &str) -> String {
        let schema = format!("{prefix}_{}", Uuid::new_v4().simple());
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; SET search_path = {schema}"
            ))
            .unwrap();
        client.batch_execute(SCHEMA).unwrap();
        schema
    }

    /// The chain's last entry is read by walking the key's index from its end even when the
    /// log is a few rows, the plan a connection keeps from its first append: the plan PostgreSQL
    /// picks for so small a log is a sequential scan and a sort, and kept, it read a log of
    /// 200,000 entries whole (42.9 ms) for every append. Sequential scans are off only in the
    /// chain's turn. Needs a PostgreSQL server (`scripts/with-postgres`); says so and passes
    /// without.
    #[test]
    fn the_chains_last_entry_walks_the_index_even_on_a_log_of_three_rows() {
        let Some(mut client) = crate::store::postgres_pool::test_client() else {
            return;
        };
        let schema = log_of_its_own(&mut client, "audit_plan");
        client
            .batch_execute(
                "INSERT INTO audit_log
                   (seq, entry_id, recorded_at, occurred_at, action, purpose, prev_hash, hash)
                 SELECT g, g::TEXT, 0, 0, 'synced_course', 'care', '\\x00', '\\x00'
                 FROM generate_series(1, 3) g;
                 ANALYZE audit_log",
            )
            .unwrap();
        let plan = |tx: &mut postgres::Transaction<'_>| -> String {
            tx.query(&format!("EXPLAIN {LAST_ENTRY}"), &[])
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n")
        };
        // Outside the chain's turn: what a kept plan would have been.
        let mut tx = client.transaction().unwrap();
        let outside = plan(&mut tx);
        tx.rollback().unwrap();
        assert!(outside.contains("Seq Scan"), "{outside}");

        let mut tx = client.transaction().unwrap();
        tx.query(CHAIN_TURN, &[&AUDIT_LOCK]).unwrap();
        let in_turn = plan(&mut tx);
        assert!(
            in_turn.contains("Index Scan Backward") && !in_turn.contains("Seq Scan"),
            "{in_turn}"
        );
        tx.commit().unwrap();
        // The rest of the connection's work plans as before.
        let after: String = client.query_one("SHOW enable_seqscan", &[]).unwrap().get(0);
        assert_eq!(after, "on");
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    }

    /// Each link of the log, in order: its number and whether it follows the entry before it.
    fn links(client: &mut postgres::Client) -> Vec<(i64, bool)> {
        let mut before = homerehab_shared::audit::GENESIS.to_vec();
        client
            .query(
                "SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| {
                let (prev, hash): (Vec<u8>, Vec<u8>) = (r.get(1), r.get(2));
                let follows = prev == before;
                before = hash;
                (r.get::<_, i64>(0), follows)
            })
            .collect()
    }

    /// An append writes in one statement after the end it knows, but never in another
    /// server's turn, nor after an end another server has moved past, nor after an end no
    /// longer in the log: then it waits for the turn and reads the end. Needs a PostgreSQL
    /// server (`scripts/with-postgres`); says so and passes without.
    #[test]
    fn an_append_takes_its_turn_and_follows_the_chain_as_the_log_has_it() {
        let Some(mut admin) = crate::store::postgres_pool::test_client() else {
            return;
        };
        let schema = log_of_its_own(&mut admin, "audit_turns");
        // Two servers' connections to the same log.
        let server = || {
            let mut c = crate::store::postgres_pool::test_client().unwrap();
            c.batch_execute(&format!(
                "SET search_path = {schema}; SET lock_timeout = '20s'"
            ))
            .unwrap();
            PreparedClient::for_test(c)
        };
        let (mut ours, mut theirs) = (server(), server());
        let (end, their_end) = (ChainEnd::default(), ChainEnd::default());
        let whole = |admin: &mut postgres::Client, n: i64| {
            let links = links(admin);
            assert_eq!(links.len() as i64, n, "{links:?}");
            for (i, (seq, follows)) in links.into_iter().enumerate() {
                assert_eq!(seq, i as i64 + 1);
                assert!(follows, "entry {seq} does not follow entry {}", seq - 1);
            }
        };

        // The first append reads the end (none yet); the next follows what it wrote.
        assert_eq!(append_records(&mut ours, 2, &end), [2]);
        assert_eq!(end.get().map(|e| e.0), Some(2));
        assert_eq!(append_records(&mut ours, 1, &end), [1]);
        assert_eq!(end.get().map(|e| e.0), Some(3));

        // Another server holds the turn (it has read the end, its write to come): the append
        // waits for it and follows that server's entry.
        let mut watcher = crate::store::postgres_pool::test_client().unwrap();
        let (client, prepared) = theirs.split();
        let mut turn = client.transaction().unwrap();
        turn.query(CHAIN_TURN, &[&AUDIT_LOCK]).unwrap();
        let theirs_last = turn
            .query_opt(LAST_ENTRY, &[])
            .unwrap()
            .map(|r| (r.get(0), r.get(1)));
        std::thread::scope(|s| {
            let append = s.spawn(|| append_group(&mut ours, &[&records(1)], false, &end));
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !append.is_finished() && std::time::Instant::now() < deadline {
                let waiting: i64 = watcher
                    .query_one(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                        &[],
                    )
                    .unwrap()
                    .get(0);
                if waiting > 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert!(
                !append.is_finished(),
                "the append did not wait for the other turn"
            );
            let entries = to_append(&records(1), continue_from(theirs_last), &HashSet::new());
            let rows: Vec<AuditRow> = entries.iter().map(AuditRow::of).collect();
            assert_eq!(insert_rows(&mut turn, prepared, &rows, None).unwrap(), 1);
            turn.commit().unwrap();
            assert_eq!(append.join().unwrap().unwrap(), [1]);
        });
        assert_eq!(end.get().map(|e| e.0), Some(5));
        whole(&mut admin, 5);

        // The other server appends: the end this one knows is behind.
        assert_eq!(append_records(&mut theirs, 2, &their_end), [2]);
        assert_eq!(append_records(&mut ours, 1, &end), [1]);
        assert_eq!(end.get().map(|e| e.0), Some(8));
        whole(&mut admin, 8);

        // The log cut back (restored from a backup, say) behind the end this server knows.
        admin
            .batch_execute("DELETE FROM audit_log WHERE seq >= 6")
            .unwrap();
        assert_eq!(append_records(&mut ours, 1, &end), [1]);
        assert_eq!(end.get().map(|e| e.0), Some(6));
        whole(&mut admin, 6);
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    }

    /// `n` new records appended by `conn` as one group (no retry); what was appended.
    fn append_records(conn: &mut PreparedClient, n: usize, end: &ChainEnd) -> Vec<usize> {
        append_group(conn, &[&records(n)], false, end).unwrap()
    }

    fn records(n: usize) -> Vec<AuditRecord> {
        (0..n)
            .map(|_| AuditRecord::by_server(AuditAction::SyncedCourse, 1_000))
            .collect()
    }

    /// Members appending at once are written in fewer groups than members, each told how
    /// many of its own records were appended; a group that fails is appended member by
    /// member, each with its own outcome.
    #[test]
    fn concurrent_appends_are_written_together_and_a_failed_group_member_by_member() {
        let group = AuditGroup::default();
        let (writes, written) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let write = |members: &[&[AuditRecord]], retry: bool| -> Result<Vec<usize>> {
            assert!(!retry, "no group failed");
            writes.fetch_add(1, Ordering::SeqCst);
            // A transaction's round trips: others queue meanwhile.
            std::thread::sleep(std::time::Duration::from_millis(5));
            written.fetch_add(members.iter().map(|m| m.len()).sum(), Ordering::SeqCst);
            Ok(members.iter().map(|m| m.len()).collect())
        };
        std::thread::scope(|scope| {
            for n in 1..=16 {
                let (group, write) = (&group, &write);
                scope.spawn(move || {
                    for _ in 0..5 {
                        assert_eq!(group.append(&records(n), write).unwrap(), n);
                    }
                });
            }
        });
        assert_eq!(written.load(Ordering::SeqCst), 5 * (1..=16).sum::<usize>());
        let groups = writes.load(Ordering::SeqCst);
        assert!(groups < 80, "80 appends in {groups} transactions");
        assert!(group.queue.lock().unwrap().done.is_empty());

        // Every group of several fails (as one bad record would fail its transaction); alone,
        // a member with one record succeeds and one with two fails with its own error.
        let failing = |members: &[&[AuditRecord]], retry: bool| -> Result<Vec<usize>> {
            std::thread::sleep(std::time::Duration::from_millis(5));
            match members {
                [one] if one.len() == 1 => Ok(vec![1]),
                [_] => Err(crate::Error::Invalid("its own".into())),
                _ => {
                    assert!(!retry, "a retry writes one member's records");
                    Err(crate::Error::Invalid("the group's".into()))
                }
            }
        };
        std::thread::scope(|scope| {
            for n in [1, 2, 1, 2, 1, 2] {
                let (group, failing) = (&group, &failing);
                scope.spawn(move || {
                    for _ in 0..3 {
                        match (n, group.append(&records(n), failing)) {
                            (1, Ok(1)) => {}
                            (2, Err(crate::Error::Invalid(why))) => assert_eq!(why, "its own"),
                            (n, other) => panic!("{n} records: {other:?}"),
                        }
                    }
                });
            }
        });
        let queue = group.queue.lock().unwrap();
        assert!(!queue.writing && queue.waiting.is_empty() && queue.done.is_empty());
    }
}
