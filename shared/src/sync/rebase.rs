//! A document rewritten on the server without its history (a new *generation*, issue #14's
//! erasure) replaces the device's copy. What the device wrote and the server never stored must
//! not be lost with the old generation: its effect is re-applied on the new one as ONE new
//! change by the device's actor, sent at the next sync like any other.
//!
//! **Which changes.** Those of the old copy beyond what the new generation already holds: the
//! heads the server confirmed, the changes it says it *absorbed* (offered changes that were
//! part of the old generation when it was rewritten — their effect is in the new one; applied
//! again a list append would appear twice), and the changes both generations share (the
//! deterministic genesis and containers changes).
//!
//! **How.** The patches between that state and the old copy's heads are replayed on the new
//! generation with [`super::squash`]'s replay (an object the device made is made whole), each
//! at the object found by the patch's *path* in the new generation: object ids differ between
//! generations (the server wrote the new one as one change), keys and positions do not.
//! Where two values were concurrent the winner is written (declining, as a squash may, would
//! lose the edit: the old generation cannot be sent any more).
//!
//! **What is dropped.** An edit whose object the new generation no longer holds (the erased
//! citizen, a referral of theirs), and any edit that names something erased: a key, a string
//! or an id's bytes equal to the id of an entry the old copy had and the new generation lost
//! (a new care grant keyed by the erased citizen's id, a new referral carrying it; an id's bytes
//! anywhere inside a bytes value). A care-time import, one bytes value holding many citizens'
//! grants, is re-applied without the erased citizens' grants. Erasure is
//! the municipality's lawful decision; nothing of what it erased may come back through a
//! device that was offline.

use super::squash::{apply, value_of, Conflicts};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    hydrate, ActorId, Automerge, ChangeHash, ObjId, ObjType, Patch, PatchAction, Prop, ReadDoc,
    ScalarValue, Value, ROOT,
};
use std::collections::HashSet;

/// The new generation with the device's unsent work on top.
#[derive(Debug)]
pub struct Rebased {
    /// The new generation, plus one change by the device's actor when anything was re-applied.
    pub doc: Automerge,
    /// How many of the old copy's changes were beyond what the new generation holds.
    pub unsent: usize,
    /// How many edits were left out (erased, or their object gone).
    pub dropped: usize,
}

impl Rebased {
    /// Whether the result holds a change the server has not seen.
    pub fn has_new_change(&self, new: &Automerge) -> bool {
        self.doc.get_heads() != new.get_heads()
    }
}

/// Re-applies `old`'s changes beyond `confirmed`, `absorbed` and what `new` already holds onto
/// `new`, as one change by `actor` (see the module's doc). Pure: both documents are only read.
pub fn rebase_unsent(
    old: &Automerge,
    confirmed: &[ChangeHash],
    absorbed: &[ChangeHash],
    new: &Automerge,
    actor: &ActorId,
) -> Rebased {
    let mut doc = new.fork().with_actor(actor.clone());
    let known: Vec<ChangeHash> = confirmed
        .iter()
        .chain(absorbed)
        .copied()
        .chain(
            old.get_changes_meta(&[])
                .into_iter()
                .map(|c| c.hash)
                .filter(|h| new.get_change_meta_by_hash(h).is_some()),
        )
        .filter(|h| old.get_change_meta_by_hash(h).is_some())
        .collect();
    let unsent = old.get_changes_meta(&known);
    if unsent.is_empty() {
        return Rebased {
            doc,
            unsent: 0,
            dropped: 0,
        };
    }
    let time = unsent.iter().map(|c| c.timestamp).max().unwrap_or(0);
    let erased = Erased::between(old, &known, new);
    let patches = old.diff(&known, &old.get_heads());
    let mut dropped = 0;
    let mut tx = doc.transaction();
    let mut made = HashSet::new();
    for patch in patches {
        // Inside an object the replay made whole: already there, as it is now.
        if made.contains(&patch.obj) || patch.path.iter().any(|(obj, _)| made.contains(obj)) {
            continue;
        }
        // A care-time import is one bytes value holding many citizens' grants: the erased
        // citizens' grants are taken out and the rest kept, not the whole import dropped.
        if let Some((key, kept)) = erased.import_without_erased(&patch) {
            let target = at_path(&tx, &patch.path);
            dropped += 1;
            if let (Some(kept), Some(target)) = (kept, target) {
                if tx
                    .put(&target, key.as_str(), ScalarValue::Bytes(kept))
                    .is_err()
                {
                    dropped += 1;
                }
            }
            continue;
        }
        if erased.named_by(old, &patch) {
            dropped += 1;
            continue;
        }
        let Some(target) = at_path(&tx, &patch.path) else {
            dropped += 1; // its object is gone from the new generation
            continue;
        };
        if apply(
            &mut tx,
            old,
            &mut made,
            &target,
            patch.action,
            Conflicts::TakeWinner,
        )
        .is_err()
        {
            dropped += 1; // e.g. a counter or a position the new generation does not have
        }
    }
    tx.commit_with(CommitOptions::default().with_time(time));
    Rebased {
        doc,
        unsent: unsent.len(),
        dropped,
    }
}

/// The object at `path` (parents and props from the root) in `doc`, if it is there.
fn at_path<D: ReadDoc>(doc: &D, path: &[(ObjId, Prop)]) -> Option<ObjId> {
    let mut at = ROOT;
    for (_, prop) in path {
        at = match doc.get(&at, prop.clone()) {
            Ok(Some((Value::Object(_), id))) => id,
            _ => return None,
        };
    }
    Some(at)
}

/// The ids of the entries the old copy's top-level maps held at the known state and the new
/// generation no longer holds (an erased citizen, their referrals), as the document writes them:
/// map keys and strings in their text form, id fields as their 16 bytes.
struct Erased {
    text: Vec<String>,
    bytes: Vec<Vec<u8>>,
}

impl Erased {
    fn between(old: &Automerge, known: &[ChangeHash], new: &Automerge) -> Erased {
        let mut text = Vec::new();
        for top in old.map_range_at(ROOT, .., known) {
            let id = top.id();
            let Value::Object(ObjType::Map) = top.value.into_value() else {
                continue;
            };
            let now = match new.get(ROOT, top.key.as_ref()) {
                Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
                _ => None,
            };
            for key in old.keys_at(&id, known) {
                let kept = now
                    .as_ref()
                    .is_some_and(|m| matches!(new.get(m, key.as_str()), Ok(Some(_))));
                if !kept && uuid::Uuid::parse_str(&key).is_ok() {
                    text.push(key);
                }
            }
        }
        let bytes = text
            .iter()
            .filter_map(|t| uuid::Uuid::parse_str(t).ok())
            .map(|u| u.as_bytes().to_vec())
            .collect();
        Erased { text, bytes }
    }

    fn in_text(&self, s: &str) -> bool {
        self.text.iter().any(|id| s.contains(id.as_str()))
    }

    /// An id's bytes anywhere in `b`: an id field, or inside an encoded record.
    fn in_bytes(&self, b: &[u8]) -> bool {
        self.bytes
            .iter()
            .any(|id| b.windows(id.len()).any(|w| w == id.as_slice()))
    }

    fn in_scalar(&self, s: &ScalarValue) -> bool {
        match s {
            ScalarValue::Str(s) => self.in_text(s),
            ScalarValue::Bytes(b) => self.in_bytes(b),
            _ => false,
        }
    }

    /// For a patch that writes a care-time import naming an erased citizen: its key and the
    /// import without their grants (`None`: nothing left, or not an import — dropped whole).
    fn import_without_erased(&self, patch: &Patch) -> Option<(String, Option<Vec<u8>>)> {
        let PatchAction::PutMap {
            key,
            value: (Value::Scalar(scalar), _),
            ..
        } = &patch.action
        else {
            return None;
        };
        let ScalarValue::Bytes(bytes) = scalar.as_ref() else {
            return None;
        };
        if !self.in_bytes(bytes) {
            return None;
        }
        let kept = postcard::from_bytes::<crate::model::CareGrantImport>(bytes)
            .ok()
            .and_then(|mut import| {
                import
                    .grants
                    .retain(|g| !self.bytes.iter().any(|id| id == g.citizen_id.as_bytes()));
                (!import.grants.is_empty()).then(|| postcard::to_stdvec(&import).ok())?
            })
            .filter(|b| !self.in_bytes(b));
        Some((key.clone(), kept))
    }

    fn in_value(&self, v: &hydrate::Value) -> bool {
        match v {
            hydrate::Value::Scalar(s) => self.in_scalar(s),
            hydrate::Value::Map(m) => m
                .iter()
                .any(|(k, v)| self.in_text(k) || self.in_value(&v.value)),
            hydrate::Value::List(l) => l.iter().any(|v| self.in_value(&v.value)),
            hydrate::Value::Text(t) => self.in_text(&t.to_string()),
        }
    }

    fn in_put(&self, doc: &Automerge, value: &Value<'_>, id: &ObjId) -> bool {
        match value {
            Value::Scalar(s) => self.in_scalar(s),
            Value::Object(kind) => value_of(doc, id, *kind).is_ok_and(|v| self.in_value(&v)),
        }
    }

    /// Whether `patch` (of `doc`) edits or writes something erased.
    fn named_by(&self, doc: &Automerge, patch: &Patch) -> bool {
        if self.text.is_empty() {
            return false;
        }
        let in_prop = |p: &Prop| matches!(p, Prop::Map(k) if self.in_text(k));
        if patch.path.iter().any(|(_, p)| in_prop(p)) {
            return true;
        }
        match &patch.action {
            PatchAction::PutMap { key, value, .. } => {
                self.in_text(key) || self.in_put(doc, &value.0, &value.1)
            }
            PatchAction::PutSeq { value, .. } => self.in_put(doc, &value.0, &value.1),
            PatchAction::Insert { values, .. } => {
                values.iter().any(|(v, id, _)| self.in_put(doc, v, id))
            }
            PatchAction::SpliceText { value, .. } => self.in_text(&value.make_string()),
            PatchAction::DeleteMap { key } => self.in_text(key),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{self, Header};
    use crate::ids::*;
    use crate::model::Citizen;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap};

    fn edit(doc: &mut Automerge, f: impl FnOnce(&mut automerge::transaction::Transaction<'_>)) {
        let mut tx = doc.transaction();
        f(&mut tx);
        tx.commit();
    }

    fn hashes(doc: &Automerge, since: &[ChangeHash]) -> Vec<ChangeHash> {
        doc.get_changes_meta(since).iter().map(|c| c.hash).collect()
    }

    /// A new generation of `old` as it was at `at`, as the server writes one: the genesis of
    /// a fresh actor, then ONE change by the server writing the value minus `without` (keys of
    /// top-level maps).
    fn rewrite(old: &Automerge, at: &[ChangeHash], without: &[&str]) -> Automerge {
        let then = old.fork_at(at).unwrap();
        let mut new = Automerge::new().with_actor(docs::server_actor());
        let mut tx = new.transaction();
        for item in then.map_range(ROOT, ..) {
            let key = item.key.to_string();
            let id = item.id();
            match item.value.into_value() {
                Value::Scalar(s) => {
                    tx.put(ROOT, key.as_str(), s.into_owned()).unwrap();
                }
                Value::Object(kind) => {
                    let hydrate::Value::Map(mut map) = value_of(&then, &id, kind).unwrap() else {
                        let v = value_of(&then, &id, kind).unwrap();
                        tx.batch_create_object(ROOT, key.as_str(), &v, false)
                            .unwrap();
                        continue;
                    };
                    let kept: HashMap<String, hydrate::Value> = map
                        .iter()
                        .filter(|(k, _)| !without.contains(&k.as_str()))
                        .map(|(k, v)| (k.to_string(), v.value.clone()))
                        .collect();
                    map = hydrate::Map::from(kept);
                    tx.batch_create_object(ROOT, key.as_str(), &map.into(), false)
                        .unwrap();
                }
            }
        }
        tx.commit_with(CommitOptions::default().with_time(0));
        new
    }

    fn device() -> ActorId {
        ActorId::from(b"tablet".as_slice())
    }

    fn citizen(name: &str) -> Citizen {
        Citizen {
            id: CitizenId::new(),
            name: name.into(),
            local_ref: "S-1".into(),
            address: Some("Vejen 1".into()),
            assigned: BTreeMap::new(),
            active: true,
            birth_year: None,
            sex: None,
        }
    }

    fn roster_with(citizens: &[&Citizen]) -> Automerge {
        let mut doc = docs::genesis(&Header::roster(TeamId::new()))
            .with_actor(ActorId::from(b"laptop".as_slice()));
        for c in citizens {
            docs::put_citizen(&mut doc, c, 1).unwrap();
        }
        doc
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    #[test]
    fn an_edit_to_the_erased_citizen_is_dropped_and_leaves_no_byte_of_them() {
        let erased = citizen("Ada Slettesen");
        let stays = citizen("Bo Bliversen");
        let server = roster_with(&[&erased, &stays]);
        let confirmed = server.get_heads();
        // The tablet, offline: renames the erased citizen, adds a grant-like key naming them,
        // and changes the other citizen's address.
        let mut tablet = server.fork().with_actor(device());
        let mut renamed = erased.clone();
        renamed.name = "Ada Hemmeligsen".into();
        docs::put_citizen(&mut tablet, &renamed, 2).unwrap();
        let mut moved = stays.clone();
        moved.address = Some("Nyvej 7".into());
        docs::put_citizen(&mut tablet, &moved, 3).unwrap();
        edit(&mut tablet, |tx| {
            let grants = tx
                .put_object(ROOT, "notes_by_citizen", ObjType::Map)
                .unwrap();
            tx.put(&grants, format!("{}/2026-01-01", erased.id).as_str(), "x")
                .unwrap();
            tx.put(&grants, "unrelated", erased.id.as_bytes().to_vec())
                .unwrap();
        });
        let new = rewrite(&server, &confirmed, &[erased.id.to_string().as_str()]);
        let out = rebase_unsent(&tablet, &confirmed, &[], &new, &device());
        assert!(out.dropped >= 2, "dropped {}", out.dropped);
        let saved = out.doc.save();
        for secret in ["Ada Slettesen", "Ada Hemmeligsen", &erased.id.to_string()] {
            assert!(!contains(&saved, secret), "{secret} survived the rebase");
        }
        assert!(!saved
            .windows(16)
            .any(|w| w == erased.id.as_bytes().as_slice()));
        let citizens = docs::read_citizens(&out.doc).unwrap();
        assert_eq!(citizens.len(), 1);
        assert_eq!(
            citizens[&stays.id.to_string()].address.as_deref(),
            Some("Nyvej 7")
        );
        // One new change, by the tablet, on top of the new generation.
        let added = out.doc.get_changes_meta(&new.get_heads());
        assert_eq!(added.len(), 1);
        assert_eq!(*added[0].actor, device());
    }

    #[test]
    fn an_unsent_import_keeps_its_other_citizens_grants_and_loses_the_erased_ones() {
        use crate::model::{CareGrantImport, ImportedGrant};
        let erased = citizen("Ada Slettesen");
        let stays = citizen("Bo Bliversen");
        let mut server = roster_with(&[&erased, &stays]);
        docs::ensure_containers(&mut server).unwrap();
        let confirmed = server.get_heads();
        // The laptop, offline: one import with a grant for each.
        let mut laptop = server.fork().with_actor(device());
        let grant = |c: &Citizen, minutes| ImportedGrant {
            citizen_id: c.id,
            effective: "2026-03-01".into(),
            minutes_per_week: minutes,
            service_code: Some("1.1".into()),
        };
        let import = CareGrantImport {
            recorded_by: UserId::new(),
            recorded_at: 5,
            grants: vec![grant(&erased, 420), grant(&stays, 120)],
        };
        docs::put_care_grant_import(&mut laptop, "import-1", &import, 5).unwrap();
        let new = rewrite(&server, &confirmed, &[erased.id.to_string().as_str()]);
        let out = rebase_unsent(&laptop, &confirmed, &[], &new, &device());
        assert!(out.dropped >= 1);
        let saved = out.doc.save();
        assert!(!saved
            .windows(16)
            .any(|w| w == erased.id.as_bytes().as_slice()));
        let roster = docs::RosterDoc::read(&out.doc).unwrap();
        let grants = roster.all_care_grants();
        assert_eq!(grants.len(), 1, "{grants:?}");
        let only = grants.values().next().unwrap();
        assert_eq!((only.citizen_id, only.minutes_per_week), (stays.id, 120));
    }

    #[test]
    fn an_absorbed_change_is_not_applied_twice() {
        let mut server = Automerge::new().with_actor(ActorId::from(b"laptop".as_slice()));
        edit(&mut server, |tx| {
            let l = tx.put_object(ROOT, "sets", ObjType::List).unwrap();
            tx.insert(&l, 0, "first").unwrap();
        });
        let confirmed = server.get_heads();
        let mut tablet = server.fork().with_actor(device());
        let sets = tablet.get(ROOT, "sets").unwrap().unwrap().1;
        edit(&mut tablet, |tx| tx.insert(&sets, 1, "sent").unwrap());
        let sent = tablet.get_heads();
        edit(&mut tablet, |tx| tx.insert(&sets, 2, "unsent").unwrap());
        // The server had stored the sent change (its answer was lost) before it rewrote.
        let mut stored = server.fork();
        stored
            .load_incremental(&crate::sync::raw_changes_since(&tablet, &confirmed))
            .unwrap();
        let stored = stored.fork_at(&sent).unwrap();
        let new = rewrite(&stored, &stored.get_heads(), &[]);
        let out = rebase_unsent(&tablet, &confirmed, &sent, &new, &device());
        assert_eq!(out.unsent, 1);
        assert_eq!(out.dropped, 0);
        assert_eq!(out.doc.hydrate(None), tablet.hydrate(None));
        // Without `absorbed` the sent set would appear twice: the test can fail.
        let twice = rebase_unsent(&tablet, &confirmed, &[], &new, &device());
        assert_ne!(twice.doc.hydrate(None), tablet.hydrate(None));
    }

    #[test]
    fn nothing_unsent_gives_the_new_generation_unchanged() {
        let a = citizen("Ada Slettesen");
        let server = roster_with(&[&a]);
        let new = rewrite(&server, &server.get_heads(), &[]);
        let out = rebase_unsent(&server, &server.get_heads(), &[], &new, &device());
        assert_eq!(out.unsent, 0);
        assert!(!out.has_new_change(&new));
    }

    /// One edit of the tablet's, offline.
    #[derive(Clone, Debug)]
    enum Op {
        Put(u8, u16),
        Append(u16),
        Delete(u8),
        Type(String),
        NewSession(u8, Vec<u16>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6, any::<u16>()).prop_map(|(k, v)| Op::Put(k, v)),
            any::<u16>().prop_map(Op::Append),
            (0u8..6).prop_map(Op::Delete),
            "[a-z ]{0,6}".prop_map(Op::Type),
            (0u8..4, proptest::collection::vec(any::<u16>(), 0..4))
                .prop_map(|(s, sets)| Op::NewSession(s, sets)),
        ]
    }

    fn perform(doc: &mut Automerge, op: &Op) {
        let fields = doc.get(ROOT, "fields").unwrap().unwrap().1;
        let list = doc.get(ROOT, "list").unwrap().unwrap().1;
        let note = doc.get(ROOT, "note").unwrap().unwrap().1;
        let sessions = doc.get(ROOT, "sessions").unwrap().unwrap().1;
        edit(doc, |tx| match op {
            Op::Put(k, v) => tx.put(&fields, format!("k{k}"), *v as i64).unwrap(),
            Op::Append(v) => {
                let n = tx.length(&list);
                tx.insert(&list, n, *v as i64).unwrap()
            }
            Op::Delete(k) => {
                let _ = tx.delete(&fields, format!("k{k}"));
            }
            Op::Type(s) => {
                let n = tx.length(&note);
                tx.splice_text(&note, n, 0, s).unwrap()
            }
            Op::NewSession(s, sets) => {
                let sess = tx
                    .put_object(&sessions, format!("s{s}"), ObjType::Map)
                    .unwrap();
                let l = tx.put_object(&sess, "sets", ObjType::List).unwrap();
                for (i, v) in sets.iter().enumerate() {
                    tx.insert(&l, i, *v as i64).unwrap();
                }
            }
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Whatever the tablet did after the server's confirmed state — part of it stored by
        /// the server before the rewrite (absorbed), the rest never sent — the rebased new
        /// generation holds exactly the tablet's value: nothing unsent is lost, nothing
        /// absorbed is doubled.
        #[test]
        fn unsent_work_survives_a_rewrite(
            before in proptest::collection::vec(op(), 0..6),
            sent in proptest::collection::vec(op(), 0..6),
            unsent in proptest::collection::vec(op(), 0..8),
        ) {
            let mut server = Automerge::new().with_actor(ActorId::from(b"laptop".as_slice()));
            edit(&mut server, |tx| {
                tx.put_object(ROOT, "fields", ObjType::Map).unwrap();
                tx.put_object(ROOT, "list", ObjType::List).unwrap();
                tx.put_object(ROOT, "note", ObjType::Text).unwrap();
                tx.put_object(ROOT, "sessions", ObjType::Map).unwrap();
            });
            for o in &before { perform(&mut server, o); }
            let confirmed = server.get_heads();
            let mut tablet = server.fork().with_actor(device());
            for o in &sent { perform(&mut tablet, o); }
            let absorbed = hashes(&tablet, &confirmed);
            let at_rewrite = tablet.get_heads();
            for o in &unsent { perform(&mut tablet, o); }
            let new = rewrite(&tablet, &at_rewrite, &[]);
            let out = rebase_unsent(&tablet, &confirmed, &absorbed, &new, &device());
            prop_assert_eq!(out.dropped, 0);
            prop_assert_eq!(out.doc.hydrate(None), tablet.hydrate(None));
            prop_assert!(out.doc.get_changes_meta(&new.get_heads()).len() <= 1);
        }
    }
}
