//! The leaders' evidence as last fetched (#12): leaders read it online, and the last answer per
//! period and team is kept here so it can still be read offline. Keyed by the signed-in user
//! as well, because figures and names in an answer are what that user may see; a different
//! user signing in drops the previous user's answers (`handover`).

use super::database::Store;
use crate::error::Result;
use homerehab_shared::model::Millis;
use rusqlite::{params, OptionalExtension};

/// One kept answer: the server's JSON as it came and when it was fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedEvidence {
    pub fetched_at: Millis,
    pub body: String,
}

impl Store {
    /// Keeps `body` as `user`'s latest answer for `key` (the period and team asked for).
    pub fn keep_evidence(
        &self,
        user: &str,
        key: &str,
        fetched_at: Millis,
        body: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO evidence_cache (user_id, key, fetched_at, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, key) DO UPDATE SET fetched_at = ?3, body = ?4",
            params![user, key, fetched_at, body],
        )?;
        Ok(())
    }

    /// `user`'s latest answer for `key`, if one was kept.
    pub fn kept_evidence(&self, user: &str, key: &str) -> Result<Option<CachedEvidence>> {
        Ok(self
            .conn
            .query_row(
                "SELECT fetched_at, body FROM evidence_cache WHERE user_id = ?1 AND key = ?2",
                params![user, key],
                |r| {
                    Ok(CachedEvidence {
                        fetched_at: r.get(0)?,
                        body: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Drops every answer kept for someone other than `user`.
    pub(super) fn drop_evidence_of_others(&self, user: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM evidence_cache WHERE user_id <> ?1",
            params![user],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_per_user_and_key_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.kept_evidence("u1", "k").unwrap(), None);
        store.keep_evidence("u1", "k", 1, "{\"a\":1}").unwrap();
        store.keep_evidence("u1", "k", 2, "{\"a\":2}").unwrap();
        store.keep_evidence("u2", "k", 3, "{}").unwrap();
        let kept = store.kept_evidence("u1", "k").unwrap().unwrap();
        assert_eq!((kept.fetched_at, kept.body.as_str()), (2, "{\"a\":2}"));
        assert_eq!(store.kept_evidence("u1", "other").unwrap(), None);
        store.drop_evidence_of_others("u2").unwrap();
        assert_eq!(store.kept_evidence("u1", "k").unwrap(), None);
        assert!(store.kept_evidence("u2", "k").unwrap().is_some());
    }

    #[test]
    fn another_user_signing_in_never_sees_the_previous_users_answers() {
        use homerehab_shared::ids::{TeamId, UserId};
        use homerehab_shared::model::Role;
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::fixtures::signed_in(dir.path(), Role::Leader, TeamId::new());
        let leader = store.identity().unwrap().unwrap();
        let me = leader.user_id.to_string();
        store
            .keep_evidence(&me, "2026-01-01|2026-12-31|", 5, "{}")
            .unwrap();
        // The same person again keeps their answers.
        let actor = store.actor().clone();
        store.switch_user(&leader, actor.clone()).unwrap();
        assert!(store
            .kept_evidence(&me, "2026-01-01|2026-12-31|")
            .unwrap()
            .is_some());
        let next = crate::store::Identity {
            user_id: UserId::new(),
            username: "other".into(),
            ..leader
        };
        store
            .switch_user(&next, automerge::ActorId::random())
            .unwrap();
        assert_eq!(
            store.kept_evidence(&me, "2026-01-01|2026-12-31|").unwrap(),
            None
        );
    }
}
