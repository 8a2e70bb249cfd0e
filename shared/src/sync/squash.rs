//! The device squashes its own changes that no other peer can have seen into one change
//! before it sends them, so the server admits one change per document per sync instead of
//! one per logged set (issue #13: applying ~1,000 small changes per course was nearly all of
//! the server's CPU for an upload).
//!
//! **Which changes may be rewritten.** Only changes that were never in any request: a request
//! whose answer was lost may have landed, so the device records the heads it sends *before*
//! the request leaves ([`super::ClientStorage::sending`]), and `seen` is those heads together
//! with the heads the server confirmed. Of what lies beyond them, only the device's own run
//! at the top of the document is rewritten: a chain of its own changes, each depending on
//! nothing but the one before, ending in the document's only head. Then nothing else depends
//! on them and nothing in the document is concurrent with them, so one change with the first
//! one's dependencies, the same actor and the first one's sequence number, doing what the run
//! did, is the same edit as the run — for this document and for every peer that merges it.
//!
//! **Rules judged at a change's own dependencies.** Admission checks a new program revision
//! against the program at the change's dependencies (`rules::check_revisions_build_on_latest`)
//! and a delegated test's result against the test plan there
//! (`admission::check_delegated_results`). Folded into a change with earlier dependencies, a
//! second offline revision would be judged against a program without the first one and be
//! refused as stale. So such a change starts the run: the changes before it are sent as they
//! are.
//!
//! **The squash itself.** Fork the document at the run's dependencies, replay the patches
//! between those dependencies and the head in one transaction (an object the run made is
//! made whole, as it is now), commit once, and keep the
//! result only if its value equals the document's. Anything unexpected (a conflict, a mark,
//! a value that differs) declines the squash: the originals are sent as they are, which is
//! always correct.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    hydrate, ActorId, Automerge, ChangeHash, ObjId, ObjType, PatchAction, Prop, ReadDoc, Value,
    ROOT,
};
use std::collections::{BTreeSet, HashMap, HashSet};

/// What [`squash_unseen`] made of a document.
#[derive(Debug)]
pub enum Squash {
    /// Fewer than two of the device's own unseen changes in a run at the top: nothing to gain.
    Nothing,
    /// The document with `folded` of its changes replaced by one; the same value. Boxed: an
    /// `Automerge` is large and the other outcomes are small.
    Squashed { doc: Box<Automerge>, folded: usize },
    /// The squash did not reproduce the document (or met what it does not rewrite): keep the
    /// original changes. Says why, for the log.
    Declined(String),
}

/// Squashes `actor`'s changes in `doc` that lie beyond `seen` (the heads last sent and those
/// the server confirmed; hashes `doc` does not know are ignored) into one change, where that
/// is the same edit (see the module's doc). `doc` is only read.
pub fn squash_unseen(doc: &Automerge, actor: &ActorId, seen: &[ChangeHash]) -> Squash {
    let run = unseen_run(doc, actor, seen);
    if run.len() < 2 {
        return Squash::Nothing;
    }
    let head = run[0].hash;
    let last_time = run[0].timestamp;
    let Run {
        seq: first_seq,
        deps: base,
        ..
    } = run.last().expect("two or more").clone();
    match replay(doc, actor, &base, head, last_time) {
        Ok(squashed) => match check(doc, &squashed, actor, first_seq, &base) {
            Ok(()) => Squash::Squashed {
                doc: Box::new(squashed),
                folded: run.len(),
            },
            Err(why) => Squash::Declined(why),
        },
        Err(why) => Squash::Declined(why),
    }
}

/// How many changes [`squash_unseen`] would fold into one (0 or 1: none), found from the
/// changes' metadata without replaying anything: a cheap test before the squash.
pub fn foldable(doc: &Automerge, actor: &ActorId, seen: &[ChangeHash]) -> usize {
    match unseen_run(doc, actor, seen).len() {
        n if n >= 2 => n,
        _ => 0,
    }
}

/// One change of the run.
#[derive(Clone)]
struct Run {
    hash: ChangeHash,
    seq: u64,
    deps: Vec<ChangeHash>,
    timestamp: i64,
}

/// The run at the top of `doc`, newest first: `actor`'s changes beyond `seen`, each the only
/// dependency of the one after it, the first of them ending in the document's only head.
fn unseen_run(doc: &Automerge, actor: &ActorId, seen: &[ChangeHash]) -> Vec<Run> {
    let heads = doc.get_heads();
    let [head] = heads.as_slice() else {
        return Vec::new(); // concurrent heads: something is not below the own run
    };
    // Cheap exits first: the head must not be seen (no look-up: Automerge builds a change's
    // metadata to answer one) and must be the device's own.
    if seen.contains(head) {
        return Vec::new();
    }
    match doc.get_change_meta_by_hash(head) {
        Some(c) if *c.actor == *actor => {}
        _ => return Vec::new(),
    }
    let seen: Vec<ChangeHash> = seen
        .iter()
        .copied()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .collect();
    let unseen: HashSet<ChangeHash> = doc
        .get_changes_meta(&seen)
        .into_iter()
        .map(|c| c.hash)
        .collect();
    let mut run = Vec::new();
    let mut at = *head;
    while let Some(change) = doc.get_change_meta_by_hash(&at) {
        if *change.actor != *actor || !unseen.contains(&at) {
            break;
        }
        let starts_the_run = judged_at_its_dependencies(doc, &change.deps, &change.hash);
        let only_dep = match change.deps.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        run.push(Run {
            hash: change.hash,
            seq: change.seq,
            deps: change.deps,
            timestamp: change.timestamp,
        });
        match only_dep {
            Some(dep) if !starts_the_run => at = dep,
            _ => break,
        }
    }
    run
}

/// Whether admission judges what `change` adds at the change's own dependencies: a new program
/// revision (the stale-revision guard) or a new test result (a delegated test's plan).
fn judged_at_its_dependencies(doc: &Automerge, deps: &[ChangeHash], change: &ChangeHash) -> bool {
    let map_at = |obj: &ObjId, key: &str| match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    };
    let revisions = map_at(&ROOT, "program").and_then(|p| map_at(&p, "revisions"));
    let assessments = map_at(&ROOT, "assessments");
    [revisions, assessments].into_iter().flatten().any(|obj| {
        let before: BTreeSet<String> = doc.keys_at(&obj, deps).collect();
        doc.keys_at(&obj, &[*change]).any(|k| !before.contains(&k))
    })
}

/// `doc` at `base` with the patches from `base` to `head` made as one change by `actor`.
fn replay(
    doc: &Automerge,
    actor: &ActorId,
    base: &[ChangeHash],
    head: ChangeHash,
    time: i64,
) -> Result<Automerge, String> {
    let mut squashed = doc.fork_at(base).map_err(|e| e.to_string())?;
    squashed.set_actor(actor.clone());
    let patches = doc.diff(base, &[head]);
    let mut tx = squashed.transaction();
    let mut made = HashSet::new();
    for patch in patches {
        // An object the run made was made whole, with its contents as they are now.
        if made.contains(&patch.obj) || patch.path.iter().any(|(obj, _)| made.contains(obj)) {
            continue;
        }
        let target = patch.obj.clone();
        if let Err(why) = apply(
            &mut tx,
            doc,
            &mut made,
            &target,
            patch.action,
            Conflicts::Decline,
        ) {
            tx.rollback();
            return Err(why);
        }
    }
    tx.commit_with(CommitOptions::default().with_time(time));
    Ok(squashed)
}

/// What a replay does where the source document holds concurrent values.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Conflicts {
    /// The squash declines: one change cannot keep two concurrent values.
    Decline,
    /// The rebase (`super::rebase`) writes the winning value: the old generation is gone, so
    /// declining would lose the edit.
    TakeWinner,
}

/// Applies one patch's `action`, read from `doc`, to `obj` of the transaction's document (the
/// patch's own object in a squash; the object at the same path in a rebase).
pub(super) fn apply<T: Transactable>(
    tx: &mut T,
    doc: &Automerge,
    made: &mut HashSet<ObjId>,
    obj: &ObjId,
    action: PatchAction,
    conflicts: Conflicts,
) -> Result<(), String> {
    let obj = obj.clone();
    let failed = |e: automerge::AutomergeError| e.to_string();
    let decline = conflicts == Conflicts::Decline;
    match action {
        PatchAction::PutMap {
            key,
            value,
            conflict,
        } => {
            if conflict && decline {
                return Err(format!("a conflict at {key}"));
            }
            put(tx, doc, made, &obj, Prop::Map(key), value, false)
        }
        PatchAction::PutSeq {
            index,
            value,
            conflict,
        } => {
            if conflict && decline {
                return Err(format!("a conflict at index {index}"));
            }
            put(tx, doc, made, &obj, Prop::Seq(index), value, false)
        }
        PatchAction::Insert { index, values } => {
            for (i, (value, id, _)) in values.iter().enumerate() {
                put(
                    tx,
                    doc,
                    made,
                    &obj,
                    Prop::Seq(index + i),
                    (value.clone(), id.clone()),
                    true,
                )?;
            }
            Ok(())
        }
        PatchAction::SpliceText {
            index,
            value,
            marks,
        } => {
            if marks.is_some_and(|m| !m.is_empty()) {
                return Err("marked text".into());
            }
            tx.splice_text(&obj, index, 0, &value.make_string())
                .map_err(failed)
        }
        PatchAction::Increment { prop, value } => tx.increment(&obj, prop, value).map_err(failed),
        PatchAction::DeleteMap { key } => tx.delete(&obj, key.as_str()).map_err(failed),
        PatchAction::DeleteSeq { index, length } => match tx.object_type(&obj) {
            Ok(ObjType::Text) => tx
                .splice_text(&obj, index, length as isize, "")
                .map_err(failed),
            _ => (0..length).try_for_each(|_| tx.delete(&obj, index).map_err(failed)),
        },
        PatchAction::Conflict { prop } if decline => Err(format!("a conflict at {prop:?}")),
        PatchAction::Conflict { .. } => Ok(()),
        PatchAction::Mark { .. } => Err("a mark".into()),
    }
}

/// Puts or inserts `value` at `prop` of `obj`. An object the run made is made whole in one
/// step (`batch_create_object`: far cheaper than an operation per value) with what it holds
/// in `doc` now, and remembered so the patches inside it are skipped.
fn put<T: Transactable>(
    tx: &mut T,
    doc: &Automerge,
    made: &mut HashSet<ObjId>,
    obj: &ObjId,
    prop: Prop,
    (value, id): (Value<'static>, ObjId),
    insert: bool,
) -> Result<(), String> {
    let failed = |e: automerge::AutomergeError| e.to_string();
    match (value, prop) {
        (Value::Object(kind), prop) => {
            let whole = value_of(doc, &id, kind)?;
            tx.batch_create_object(obj, prop, &whole, insert)
                .map_err(failed)?;
            made.insert(id);
        }
        (Value::Scalar(s), Prop::Map(key)) => tx.put(obj, key, s.into_owned()).map_err(failed)?,
        (Value::Scalar(s), Prop::Seq(index)) => if insert {
            tx.insert(obj, index, s.into_owned())
        } else {
            tx.put(obj, index, s.into_owned())
        }
        .map_err(failed)?,
    }
    Ok(())
}

/// What object `obj` of `doc` holds now (winning values), as a value to make it from.
pub(super) fn value_of(
    doc: &Automerge,
    obj: &ObjId,
    kind: ObjType,
) -> Result<hydrate::Value, String> {
    let at = |v: Value<'_>, id: ObjId| -> Result<hydrate::Value, String> {
        match v {
            Value::Object(kind) => value_of(doc, &id, kind),
            Value::Scalar(s) => Ok(hydrate::Value::Scalar(s.into_owned())),
        }
    };
    let failed = |e: automerge::AutomergeError| e.to_string();
    match kind {
        ObjType::Map => {
            let mut map = HashMap::new();
            for item in doc.map_range(obj, ..) {
                let id = item.id();
                map.insert(item.key.into_owned(), at(item.value.into_value(), id)?);
            }
            Ok(hydrate::Map::from(map).into())
        }
        ObjType::List => doc
            .list_range(obj, ..)
            .map(|item| {
                let id = item.id();
                at(item.value.into_value(), id)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(hydrate::Value::from),
        ObjType::Text => {
            Ok(hydrate::Text::new(doc.text_encoding(), doc.text(obj).map_err(failed)?).into())
        }
        ObjType::Table => Err("a table".into()),
    }
}

/// The squashed document is kept only if it holds the same value as the original and its one
/// new change is `actor`'s next after what was seen, on the run's dependencies.
fn check(
    original: &Automerge,
    squashed: &Automerge,
    actor: &ActorId,
    seq: u64,
    base: &[ChangeHash],
) -> Result<(), String> {
    let [head] = squashed.get_heads()[..] else {
        return Err("the replay did not end in one change".into());
    };
    let change = squashed
        .get_change_meta_by_hash(&head)
        .ok_or("the replay's change is missing")?;
    let mut deps = change.deps.clone();
    let mut expected = base.to_vec();
    deps.sort();
    expected.sort();
    if *change.actor != *actor || change.seq != seq || deps != expected {
        return Err(format!(
            "the replay's change is not the run's place (seq {} for {seq})",
            change.seq
        ));
    }
    if squashed.hydrate(None) != original.hydrate(None) {
        return Err("the replay's value differs from the document's".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ScalarValue;

    fn own(doc: &Automerge) -> Automerge {
        doc.fork().with_actor(ActorId::from(b"device".as_slice()))
    }

    fn edit(doc: &mut Automerge, f: impl FnOnce(&mut automerge::transaction::Transaction<'_>)) {
        let mut tx = doc.transaction();
        f(&mut tx);
        tx.commit();
    }

    fn squashed(doc: &Automerge, seen: &[ChangeHash]) -> (Automerge, usize) {
        match squash_unseen(doc, doc.get_actor(), seen) {
            Squash::Squashed { doc, folded } => (*doc, folded),
            other => panic!("not squashed: {other:?}"),
        }
    }

    /// A base every peer holds, by another actor.
    fn base() -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from(b"genesis".as_slice()));
        edit(&mut doc, |tx| {
            let sessions = tx.put_object(ROOT, "sessions", ObjType::Map).unwrap();
            tx.put(&sessions, "old", "kept").unwrap();
            tx.put(ROOT, "count", ScalarValue::counter(1)).unwrap();
            let list = tx.put_object(ROOT, "list", ObjType::List).unwrap();
            tx.insert(&list, 0, "a").unwrap();
            tx.insert(&list, 1, "b").unwrap();
            let text = tx.put_object(ROOT, "note", ObjType::Text).unwrap();
            tx.splice_text(&text, 0, 0, "hello world").unwrap();
        });
        doc
    }

    #[test]
    fn a_run_of_own_changes_becomes_one_change_with_the_same_value() {
        let shared = base();
        let seen = shared.get_heads();
        let mut doc = own(&shared);
        let sessions = doc.get(ROOT, "sessions").unwrap().unwrap().1;
        let list = doc.get(ROOT, "list").unwrap().unwrap().1;
        let text = doc.get(ROOT, "note").unwrap().unwrap().1;
        for i in 0..20 {
            edit(&mut doc, |tx| {
                let s = tx
                    .put_object(&sessions, format!("s{i}").as_str(), ObjType::Map)
                    .unwrap();
                let sets = tx.put_object(&s, "sets", ObjType::List).unwrap();
                tx.insert(&sets, 0, i as i64).unwrap();
                let t = tx.put_object(&s, "note", ObjType::Text).unwrap();
                tx.splice_text(&t, 0, 0, "ok").unwrap();
                tx.increment(ROOT, "count", 1).unwrap();
            });
        }
        edit(&mut doc, |tx| {
            tx.insert(&list, 1, "between").unwrap();
            tx.delete(&list, 0).unwrap();
            tx.splice_text(&text, 0, 5, "goodbye").unwrap();
            tx.delete(&sessions, "s3").unwrap();
            tx.put(&sessions, "old", "changed").unwrap();
        });
        let (after, folded) = squashed(&doc, &seen);
        assert_eq!(folded, 21);
        assert_eq!(after.hydrate(None), doc.hydrate(None));
        assert_eq!(after.get_changes_meta(&seen).len(), 1);
        // A peer holding the base takes the one change and ends with the same value.
        let mut peer = shared.fork();
        peer.load_incremental(&crate::sync::raw_changes_since(&after, &seen))
            .unwrap();
        assert_eq!(peer.hydrate(None), doc.hydrate(None));
        assert!(after.save().len() < doc.save().len());
    }

    #[test]
    fn changes_already_sent_are_never_rewritten() {
        let shared = base();
        let mut doc = own(&shared);
        for i in 0..5 {
            edit(&mut doc, |tx| {
                tx.put(ROOT, format!("k{i}").as_str(), i).unwrap()
            });
        }
        let sent = doc.get_heads();
        let sent_changes: Vec<ChangeHash> = doc
            .get_changes_meta(&shared.get_heads())
            .iter()
            .map(|c| c.hash)
            .collect();
        // Everything sent: nothing to squash.
        assert!(matches!(
            squash_unseen(&doc, doc.get_actor(), &sent),
            Squash::Nothing
        ));
        for i in 5..9 {
            edit(&mut doc, |tx| {
                tx.put(ROOT, format!("k{i}").as_str(), i).unwrap()
            });
        }
        // Sent heads count even when the server never confirmed them (a lost answer).
        let (after, folded) = squashed(&doc, &[shared.get_heads(), sent.clone()].concat());
        assert_eq!(folded, 4);
        for h in &sent_changes {
            assert!(
                after.get_change_meta_by_hash(h).is_some(),
                "a sent change was rewritten"
            );
        }
        let new = after.get_changes_meta(&sent);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].seq, 6, "follows the last sent change");
        assert_eq!(new[0].deps, sent);
    }

    #[test]
    fn nothing_concurrent_or_foreign_is_folded() {
        let shared = base();
        let mut doc = own(&shared);
        for i in 0..3 {
            edit(&mut doc, |tx| {
                tx.put(ROOT, format!("mine{i}").as_str(), i).unwrap()
            });
        }
        let mine: Vec<ChangeHash> = doc
            .get_changes_meta(&shared.get_heads())
            .iter()
            .map(|c| c.hash)
            .collect();
        // Another peer's change arrives, concurrent with the own run: two heads.
        let mut other = shared.fork();
        edit(&mut other, |tx| tx.put(ROOT, "theirs", 1).unwrap());
        doc.merge(&mut other).unwrap();
        assert!(matches!(
            squash_unseen(&doc, doc.get_actor(), &shared.get_heads()),
            Squash::Nothing
        ));
        // Own changes on top of the merge: only those after it form the run (the first
        // depends on two heads, so it starts the run).
        for i in 0..3 {
            edit(&mut doc, |tx| {
                tx.put(ROOT, format!("later{i}").as_str(), i).unwrap()
            });
        }
        let seen = [shared.get_heads(), other.get_heads()].concat();
        let (after, folded) = squashed(&doc, &seen);
        assert_eq!(folded, 3);
        assert_eq!(after.hydrate(None), doc.hydrate(None));
        // The concurrent own changes are kept as they were.
        for h in &mine {
            assert!(after.get_change_meta_by_hash(h).is_some());
        }
        // A change by another actor on top ends the run before it: nothing to fold.
        let mut foreign = after.fork();
        edit(&mut foreign, |tx| tx.put(ROOT, "x", 1).unwrap());
        assert!(matches!(
            squash_unseen(&foreign, after.get_actor(), &seen),
            Squash::Nothing
        ));
    }

    #[test]
    fn a_new_program_revision_starts_the_run() {
        let shared = base();
        let mut doc = own(&shared);
        edit(&mut doc, |tx| {
            let p = tx.put_object(ROOT, "program", ObjType::Map).unwrap();
            tx.put_object(&p, "revisions", ObjType::Map).unwrap();
        });
        let revisions = doc
            .get(doc.get(ROOT, "program").unwrap().unwrap().1, "revisions")
            .unwrap()
            .unwrap()
            .1;
        let seen = doc.get_heads();
        for r in ["r1", "r2"] {
            edit(&mut doc, |tx| {
                tx.put_object(&revisions, r, ObjType::Map).unwrap();
            });
            edit(&mut doc, |tx| tx.put(ROOT, r, 1).unwrap());
        }
        // r1 and its follow-up are sent as they are; r2 starts the folded run.
        let (after, folded) = squashed(&doc, &seen);
        assert_eq!(folded, 2);
        assert_eq!(after.get_changes_meta(&seen).len(), 3);
        assert_eq!(after.hydrate(None), doc.hydrate(None));
    }
}
