//! Which records some changes touched (issue #13 item 5): a device that absorbs changes to a
//! document it holds refreshes the rows of those records only, instead of reading the whole
//! document again. Found from the patches between the document's heads before and after
//! (`Automerge::diff`): every visible change under `citizens/<id>` or `sessions/<id>` belongs
//! to that record. Anything else a projection shows, or anything this rule does not expect
//! (a deleted record, a change at the root), answers [`Touched::Whole`]: read it all.

use super::DocumentKind;
use crate::ids::CitizenId;
use automerge::{Automerge, ChangeHash, PatchAction, Prop};
use std::collections::BTreeSet;

/// What the changes between two sets of heads touched, for the projections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TouchedRecords {
    /// Roster: citizens whose entry or fields changed.
    pub citizens: BTreeSet<CitizenId>,
    /// Roster: some care grant or care-time import changed (grants are refreshed together:
    /// the latest recording of a key wins across both maps).
    pub care_grants: bool,
    /// Session log: sessions whose entry or fields changed, by key.
    pub sessions: BTreeSet<String>,
}

impl TouchedRecords {
    pub fn is_empty(&self) -> bool {
        self.citizens.is_empty() && !self.care_grants && self.sessions.is_empty()
    }
}

/// The answer of [`touched_records`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Touched {
    /// Read the whole document again.
    Whole,
    /// Only these records changed (possibly none that a projection shows).
    Records(TouchedRecords),
}

/// The records of a `kind` document that the changes between `before` and `after` (both heads
/// of `doc`) touched. A course document (one course, small) is always [`Touched::Whole`]; so is
/// a new document (`before` empty) and anything unexpected.
pub fn touched_records(
    kind: DocumentKind,
    doc: &Automerge,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> Touched {
    if before.is_empty() {
        return Touched::Whole;
    }
    let records_of = match kind {
        DocumentKind::Roster => roster_record,
        DocumentKind::SessionLog => session_record,
        // The library is read from its document; nothing projected.
        DocumentKind::Library => return Touched::Records(TouchedRecords::default()),
        DocumentKind::Course => return Touched::Whole,
    };
    let mut touched = TouchedRecords::default();
    for patch in doc.diff(before, after) {
        let keys: Vec<&str> = patch
            .path
            .iter()
            .map(|(_, prop)| match prop {
                Prop::Map(k) => k.as_str(),
                Prop::Seq(_) => "",
            })
            .collect();
        if !records_of(&mut touched, &keys, &patch.action) {
            return Touched::Whole;
        }
    }
    Touched::Records(touched)
}

/// The key a patch in a map writes, `None` for a deletion or a sequence's action.
fn key_written(action: &PatchAction) -> Option<&str> {
    match action {
        PatchAction::PutMap { key, .. } => Some(key),
        PatchAction::Conflict { prop: Prop::Map(k) } => Some(k),
        PatchAction::Increment {
            prop: Prop::Map(k), ..
        } => Some(k),
        _ => None,
    }
}

/// Files one roster patch at `path` (the map keys down to the patched object); `false` when
/// the rule cannot say.
fn roster_record(touched: &mut TouchedRecords, path: &[&str], action: &PatchAction) -> bool {
    let citizen = |touched: &mut TouchedRecords, key: &str| match uuid::Uuid::parse_str(key) {
        Ok(id) => {
            touched.citizens.insert(CitizenId(id));
            true
        }
        Err(_) => false,
    };
    match path {
        [] => match key_written(action) {
            // A map made empty by a containers change: grants from the other map may now win.
            Some("care_grants" | "care_grant_imports") => {
                touched.care_grants = true;
                true
            }
            // Referrals are read from the document, not projected.
            Some("referrals") => true,
            _ => false,
        },
        ["citizens"] => key_written(action).is_some_and(|k| citizen(touched, k)),
        ["citizens", key, ..] => citizen(touched, key),
        ["care_grants" | "care_grant_imports", ..] => {
            touched.care_grants = true;
            true
        }
        ["referrals", ..] => true,
        _ => false,
    }
}

/// Files one session-log patch (see [`roster_record`]).
fn session_record(touched: &mut TouchedRecords, path: &[&str], action: &PatchAction) -> bool {
    let key = match path {
        ["sessions"] => match key_written(action) {
            Some(k) => k,
            None => return false,
        },
        ["sessions", key, ..] => key,
        _ => return false,
    };
    touched.sessions.insert(key.to_string());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{self, genesis, Header};
    use crate::ids::{CourseId, TeamId, UserId};
    use crate::model::{Citizen, SessionLog, SetLog};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ReadDoc, ROOT};

    fn citizen(name: &str) -> Citizen {
        Citizen {
            id: CitizenId::new(),
            name: name.into(),
            local_ref: "K-1".into(),
            address: None,
            assigned: Default::default(),
            active: true,
            birth_year: None,
            sex: None,
        }
    }

    fn records(t: Touched) -> TouchedRecords {
        match t {
            Touched::Records(r) => r,
            Touched::Whole => panic!("expected records, got Whole"),
        }
    }

    #[test]
    fn one_changed_citizen_is_the_only_one_touched() {
        let header = Header::roster(TeamId::new());
        let mut doc = genesis(&header).with_actor(ActorId::random());
        let all: Vec<Citizen> = (0..20).map(|i| citizen(&format!("B {i}"))).collect();
        for c in &all {
            docs::put_citizen(&mut doc, c, 1).unwrap();
        }
        let before = doc.get_heads();
        let mut changed = all[7].clone();
        changed.address = Some("Vejen 1".into());
        docs::put_citizen(&mut doc, &changed, 2).unwrap();
        let new = citizen("Ny");
        docs::put_citizen(&mut doc, &new, 2).unwrap();
        let t = records(touched_records(
            header.kind,
            &doc,
            &before,
            &doc.get_heads(),
        ));
        assert_eq!(t.citizens, [all[7].id, new.id].into_iter().collect());
        assert!(!t.care_grants && t.sessions.is_empty());
        // Nothing changed: nothing touched.
        let heads = doc.get_heads();
        assert!(records(touched_records(header.kind, &doc, &heads, &heads)).is_empty());
    }

    #[test]
    fn a_deleted_record_or_a_change_at_the_root_reads_it_whole() {
        let header = Header::roster(TeamId::new());
        let mut doc = genesis(&header).with_actor(ActorId::random());
        let c = citizen("B");
        docs::put_citizen(&mut doc, &c, 1).unwrap();
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        let citizens = tx.get(ROOT, "citizens").unwrap().unwrap().1;
        tx.delete(&citizens, c.id.to_string().as_str()).unwrap();
        tx.commit();
        let after = doc.get_heads();
        assert_eq!(
            touched_records(header.kind, &doc, &before, &after),
            Touched::Whole
        );
        let mut tx = doc.transaction();
        tx.put(ROOT, "schema", 2_u64).unwrap();
        tx.commit();
        assert_eq!(
            touched_records(header.kind, &doc, &after, &doc.get_heads()),
            Touched::Whole
        );
        // A new document is whole.
        assert_eq!(
            touched_records(header.kind, &doc, &[], &doc.get_heads()),
            Touched::Whole
        );
    }

    #[test]
    fn a_set_touches_its_session_and_concurrent_edits_both_count() {
        let (team, course, by) = (TeamId::new(), CourseId::new(), UserId::new());
        let header = Header::session_log(team, course);
        let mut a = genesis(&header).with_actor(ActorId::random());
        let s1 = SessionLog::start(course, by, None, 1);
        let s2 = SessionLog::start(course, by, None, 2);
        docs::put_session(&mut a, &s1, 1).unwrap();
        docs::put_session(&mut a, &s2, 1).unwrap();
        let before = a.get_heads();
        let mut b = a.fork().with_actor(ActorId::random());
        let line = crate::ids::ProgramExerciseId::new();
        let set = SetLog {
            reps: Some(8),
            duration_s: None,
            load_kg: None,
            at: 3,
        };
        docs::log_set(&mut a, s1.id, line, "x", &set, 3).unwrap();
        docs::finish_session(&mut b, s2.id, Some(3), None, 3).unwrap();
        a.merge(&mut b).unwrap();
        let t = records(touched_records(header.kind, &a, &before, &a.get_heads()));
        assert_eq!(
            t.sessions,
            [s1.id.to_string(), s2.id.to_string()].into_iter().collect()
        );
        assert!(a.get(ROOT, "sessions").unwrap().is_some());
    }
}
