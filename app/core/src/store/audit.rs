//! The device's audit log (issue #14): who opened which citizen's course, history, program or
//! summary here, recorded by the app service when it answers, kept while offline and sent to
//! the server after each sync (`client::send_look_ups`). Append-only: `audit_log` rows are
//! never changed or deleted (the device's erasure removes the whole file); the server's answer
//! per entry goes to `audit_sent`. Only the server's chain is authoritative.

use super::database::Store;
use crate::error::{CoreError, Result};
use homerehab_shared::audit::{AuditAction, AuditReceipt, DeviceAuditEntry};
use homerehab_shared::ids::{CourseId, UserId};
use homerehab_shared::model::Millis;
use rusqlite::params;

impl Store {
    /// Records that `user` opened `action`'s view of `course` at `at`.
    pub fn record_look_up(
        &self,
        user: UserId,
        action: AuditAction,
        course: CourseId,
        at: Millis,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO audit_log (entry_id, at, user_id, action, course_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                uuid::Uuid::new_v4().to_string(),
                at,
                user.to_string(),
                action.as_str(),
                course.to_string()
            ],
        )?;
        Ok(())
    }

    /// Up to `limit` of `user`'s look-ups the server has not answered yet, oldest first.
    /// Another user's wait for their own sign-in (the server takes only the signed-in user's).
    pub fn unsent_look_ups(&self, user: UserId, limit: usize) -> Result<Vec<DeviceAuditEntry>> {
        // The cast: SQLite plans a bare bound LIMIT by its value, so every binding would
        // prepare the statement again.
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.entry_id, a.at, a.action, a.course_id FROM audit_log a
                 WHERE a.user_id = ?1
                   AND NOT EXISTS (SELECT 1 FROM audit_sent s WHERE s.entry_id = a.entry_id)
                 ORDER BY a.at, a.entry_id LIMIT CAST(?2 AS INTEGER)",
        )?;
        let rows = stmt
            .query_map(params![user.to_string(), limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Millis>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, at, action, course)| {
                let damaged = |what: &str| CoreError::Damaged(format!("audit entry {id}: {what}"));
                Ok(DeviceAuditEntry {
                    entry_id: id.parse().map_err(|_| damaged("its id"))?,
                    at,
                    user_id: user,
                    action: AuditAction::parse(&action).ok_or_else(|| damaged("its action"))?,
                    course_id: course.parse().map_err(|_| damaged("its course"))?,
                })
            })
            .collect()
    }

    /// Records the server's answer: every entry it kept or refused is not sent again.
    pub fn look_ups_answered(&self, receipt: &AuditReceipt, at: Millis) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit_sent (entry_id, at, refused) VALUES (?1, ?2, ?3)
                     ON CONFLICT (entry_id) DO NOTHING",
            )?;
            for id in &receipt.kept {
                insert.execute(params![id.to_string(), at, None::<String>])?;
            }
            for r in &receipt.refused {
                insert.execute(params![r.entry_id.to_string(), at, r.reason])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use homerehab_shared::audit::RefusedAuditEntry;

    /// Every statement the connection holds prepared, with how often SQLite prepared it again.
    fn reprepared(conn: &rusqlite::Connection) -> Vec<(String, i32)> {
        use rusqlite::ffi;
        let mut found = Vec::new();
        // SAFETY: the connection is borrowed for the walk, so no statement is finalized while
        // it is read; `sqlite3_next_stmt` and `sqlite3_sql` only read the connection's list.
        unsafe {
            let db = conn.handle();
            let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
            while !stmt.is_null() {
                let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
                let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(stmt)).to_string_lossy();
                found.push((sql.into_owned(), n));
                stmt = ffi::sqlite3_next_stmt(db, stmt);
            }
        }
        found
    }

    #[test]
    fn look_ups_wait_for_their_user_and_are_sent_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (me, other, course) = (UserId::new(), UserId::new(), CourseId::new());
        store
            .record_look_up(me, AuditAction::OpenedCourse, course, 1)
            .unwrap();
        store
            .record_look_up(other, AuditAction::OpenedHistory, course, 2)
            .unwrap();
        store
            .record_look_up(me, AuditAction::OpenedSummary, course, 3)
            .unwrap();
        let mine = store.unsent_look_ups(me, 10).unwrap();
        assert_eq!(
            mine.iter().map(|e| (e.at, e.action)).collect::<Vec<_>>(),
            [
                (1, AuditAction::OpenedCourse),
                (3, AuditAction::OpenedSummary)
            ]
        );
        assert_eq!(store.unsent_look_ups(me, 1).unwrap().len(), 1);
        store
            .look_ups_answered(
                &AuditReceipt {
                    kept: vec![mine[0].entry_id],
                    refused: vec![RefusedAuditEntry {
                        entry_id: mine[1].entry_id,
                        reason: "no such course on the server".into(),
                    }],
                },
                9,
            )
            .unwrap();
        assert!(store.unsent_look_ups(me, 10).unwrap().is_empty());
        assert_eq!(store.unsent_look_ups(other, 10).unwrap().len(), 1);
        // Bound to four limits, the cached look-up was prepared once (SQLite plans a bare
        // bound `LIMIT ?` by its value and would prepare it again for every new one).
        let look_up = reprepared(&store.conn)
            .into_iter()
            .find(|(sql, _)| sql.contains("FROM audit_log a"));
        assert_eq!(look_up.map(|(_, n)| n), Some(0));
        // The log itself keeps every entry.
        let kept: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 3);
    }
}
