//! Every object held in a map, as Automerge's `hydrate` answers it, read in one pass over the
//! document (issue #13: reading a month of 30 sessions one `hydrate` at a time was 39 % of an
//! upload's server CPU). `hydrate` seeks each nested object afresh — a session is about 30
//! objects, each a new set of column iterators — while Automerge's document iterator walks
//! the objects in the order they are stored, moving the same iterators forward.

use automerge::hydrate::{self, Value};
use automerge::iter::DocItem;
use automerge::{Automerge, ObjId, ObjType, ReadDoc, ScalarValue, ValueRef};
use std::collections::HashMap;

/// Objects nested deeper than this are not what this crate writes; read them the usual way.
const MAX_DEPTH: usize = 32;

/// What an object's entry holds, until the objects below it are read too.
enum Slot {
    Scalar(ScalarValue),
    Object(ObjId, ObjType),
}

/// An object's entries as the iterator gave them: a map's keys, or a list's elements in
/// order, each with whether other values conflict with it.
enum Entries {
    Map(Vec<(String, Slot, bool)>),
    List(Vec<Slot>),
}

/// The objects filed under the keys of the map `obj`, each as `ReadDoc::hydrate` answers it
/// (`value == hydrate(object)` for every one answered); a key holding a scalar is left out.
/// `None` where this cannot answer exactly what `hydrate` would — text, a table, a counter, a
/// list element in conflict, nesting past [`MAX_DEPTH`] — so the caller reads the usual way.
pub fn objects_in_map(doc: &Automerge, obj: &ObjId) -> Option<HashMap<String, Value>> {
    // Keyed by Automerge's object ids, which it made: foldhash, as admission's other maps of
    // operation ids (SipHash was a twentieth of this reading).
    let mut entries: foldhash::HashMap<ObjId, Entries> = Default::default();
    let mut top: Vec<(String, ObjId, ObjType)> = Vec::new();
    for item in doc.iter_at(obj, None) {
        let parent: &ObjId = &item.obj;
        match item.item {
            DocItem::Map(entry) => {
                let slot = slot(&entry.value, || entry.id())?;
                if parent == obj {
                    if let Slot::Object(id, kind) = slot {
                        top.push((entry.key.into_owned(), id, kind));
                    }
                    continue;
                }
                match entries
                    .entry(parent.clone())
                    .or_insert_with(|| Entries::Map(Vec::new()))
                {
                    Entries::Map(map) => map.push((entry.key.into_owned(), slot, entry.conflict)),
                    Entries::List(_) => return None,
                }
            }
            DocItem::List(element) => {
                // `hydrate::List` keeps a conflict only through Automerge's own `push`.
                if element.conflict || parent == obj {
                    return None;
                }
                let slot = slot(&element.value, || element.id())?;
                match entries
                    .entry(parent.clone())
                    .or_insert_with(|| Entries::List(Vec::new()))
                {
                    Entries::List(list) => list.push(slot),
                    Entries::Map(_) => return None,
                }
            }
            DocItem::Text(_) => return None,
        }
    }
    top.into_iter()
        .map(|(key, id, kind)| Some((key, build(&mut entries, id, kind, 0)?)))
        .collect()
}

fn slot(value: &ValueRef<'_>, id: impl FnOnce() -> ObjId) -> Option<Slot> {
    Some(match value {
        ValueRef::Object(kind @ (ObjType::Map | ObjType::List)) => Slot::Object(id(), *kind),
        ValueRef::Object(ObjType::Text | ObjType::Table) => return None,
        ValueRef::Scalar(scalar) => match ScalarValue::from(scalar) {
            // Counters are read with their increments by `hydrate`; not worth matching here.
            ScalarValue::Counter(_) => return None,
            scalar => Slot::Scalar(scalar),
        },
    })
}

/// The object `id` (of kind `kind`) from the entries read, taken out of them.
fn build(
    entries: &mut foldhash::HashMap<ObjId, Entries>,
    id: ObjId,
    kind: ObjType,
    depth: usize,
) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let value = |entries: &mut foldhash::HashMap<ObjId, Entries>, slot: Slot| match slot {
        Slot::Scalar(scalar) => Some(Value::Scalar(scalar)),
        Slot::Object(id, kind) => build(entries, id, kind, depth + 1),
    };
    Some(match (kind, entries.remove(&id)) {
        (ObjType::Map, None) => Value::Map(hydrate::Map::default()),
        (ObjType::List, None) => Value::List(hydrate::List::default()),
        (ObjType::Map, Some(Entries::Map(items))) => {
            let mut map = hydrate::Map::default();
            map.reserve(items.len());
            for (key, slot, conflict) in items {
                let value = value(entries, slot)?;
                map.insert(key, hydrate::MapValue { value, conflict });
            }
            Value::Map(map)
        }
        (ObjType::List, Some(Entries::List(items))) => items
            .into_iter()
            .map(|slot| value(entries, slot))
            .collect::<Option<Vec<Value>>>()?
            .into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    /// Every object under `obj`'s keys, one `hydrate` each.
    fn one_by_one(doc: &Automerge, obj: &ObjId) -> HashMap<String, Value> {
        doc.map_range(obj, ..)
            .filter(|item| matches!(item.value, ValueRef::Object(_)))
            .map(|item| {
                let value = ReadDoc::hydrate(doc, item.id(), None).unwrap();
                (item.key.into_owned(), value)
            })
            .collect()
    }

    fn sessions(doc: &mut Automerge) -> ObjId {
        let mut tx = doc.transaction();
        let sessions = tx.put_object(ROOT, "sessions", ObjType::Map).unwrap();
        tx.commit();
        sessions
    }

    #[test]
    fn nested_maps_and_lists_read_as_hydrate_reads_them() {
        let mut doc = Automerge::new();
        let sessions = sessions(&mut doc);
        let mut tx = doc.transaction();
        for s in 0..5 {
            let session = tx
                .put_object(&sessions, format!("s{s}"), ObjType::Map)
                .unwrap();
            tx.put(&session, "note", format!("note {s}")).unwrap();
            tx.put(&session, "at", s as i64).unwrap();
            tx.put_object(&session, "empty_list", ObjType::List)
                .unwrap();
            tx.put_object(&session, "empty_map", ObjType::Map).unwrap();
            let lines = tx.put_object(&session, "lines", ObjType::List).unwrap();
            for l in 0..3 {
                let line = tx.insert_object(&lines, l, ObjType::Map).unwrap();
                let sets = tx.put_object(&line, "sets", ObjType::List).unwrap();
                for i in 0..4 {
                    let set = tx.insert_object(&sets, i, ObjType::Map).unwrap();
                    tx.put(&set, "reps", (8 + i) as u64).unwrap();
                    tx.put(&set, "load", 2.5).unwrap();
                }
                tx.insert(&sets, 0, ScalarValue::Null).unwrap();
            }
            // Deleted and overwritten entries are not read.
            tx.put(&session, "gone", true).unwrap();
            tx.delete(&session, "gone").unwrap();
            tx.delete(&lines, 1).unwrap();
        }
        tx.put(&sessions, "scalar", 1).unwrap();
        tx.commit();
        let loaded = Automerge::load(&doc.save()).unwrap();
        for doc in [&doc, &loaded] {
            let read = objects_in_map(doc, &sessions).expect("read in one pass");
            assert_eq!(read.len(), 5, "the scalar entry is left out");
            assert_eq!(read, one_by_one(doc, &sessions));
        }
    }

    #[test]
    fn a_map_entry_in_conflict_keeps_its_mark() {
        let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16].as_slice()));
        let sessions = sessions(&mut doc);
        let mut tx = doc.transaction();
        let session = tx.put_object(&sessions, "s", ObjType::Map).unwrap();
        tx.put(&session, "note", "a").unwrap();
        tx.commit();
        let mut other = doc.fork().with_actor(ActorId::from([2u8; 16].as_slice()));
        other.transact(|tx| tx.put(&session, "note", "b")).unwrap();
        doc.transact(|tx| tx.put(&session, "note", "c")).unwrap();
        doc.merge(&mut other).unwrap();
        let read = objects_in_map(&doc, &sessions).unwrap();
        assert_eq!(read, one_by_one(&doc, &sessions));
        let Value::Map(map) = &read["s"] else {
            panic!("a map")
        };
        assert!(map.iter().any(|(k, v)| k == "note" && v.conflict));
    }

    #[test]
    fn what_it_cannot_read_exactly_is_left_to_hydrate() {
        // Text, a counter, and a list element in conflict.
        let cases: [fn(&mut Automerge, &ObjId); 3] = [
            |doc, sessions| {
                let mut tx = doc.transaction();
                let s = tx.put_object(sessions, "s", ObjType::Map).unwrap();
                let text = tx.put_object(&s, "note", ObjType::Text).unwrap();
                tx.splice_text(&text, 0, 0, "hej").unwrap();
                tx.commit();
            },
            |doc, sessions| {
                let mut tx = doc.transaction();
                let s = tx.put_object(sessions, "s", ObjType::Map).unwrap();
                tx.put(&s, "n", ScalarValue::counter(1)).unwrap();
                tx.increment(&s, "n", 2).unwrap();
                tx.commit();
            },
            |doc, sessions| {
                let mut tx = doc.transaction();
                let s = tx.put_object(sessions, "s", ObjType::Map).unwrap();
                let list = tx.put_object(&s, "l", ObjType::List).unwrap();
                tx.insert(&list, 0, 1).unwrap();
                tx.commit();
                let mut other = doc.fork().with_actor(ActorId::from([9u8; 16].as_slice()));
                other.transact(|tx| tx.put(&list, 0, 2)).unwrap();
                doc.transact(|tx| tx.put(&list, 0, 3)).unwrap();
                doc.merge(&mut other).unwrap();
            },
        ];
        for make in cases {
            let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16].as_slice()));
            let sessions = sessions(&mut doc);
            make(&mut doc, &sessions);
            assert_eq!(objects_in_map(&doc, &sessions), None);
        }
    }
}
