//! Every object held in a map, as Automerge's `hydrate` answers it, read in one pass over the
//! document (issue #13: reading a month of 30 sessions one `hydrate` at a time was 39 % of an
//! upload's server CPU). `hydrate` seeks each nested object afresh — a session is about 30
//! objects, each a new set of column iterators — while Automerge's document iterator walks
//! the objects in the order they are stored, moving the same iterators forward.
//!
//! The objects are read as [`Node`]s borrowed from the document (keys and strings not copied)
//! and made into `hydrate`'s owned values only where one is kept: a month's sessions are read
//! into `SessionLog`s straight from the nodes.

use automerge::hydrate::{self, Value};
use automerge::iter::DocItem;
use automerge::{Automerge, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, ValueRef};
use std::borrow::Cow;
#[cfg(test)]
use std::collections::HashMap;

/// Objects nested deeper than this are not what this crate writes; read them the usual way.
const MAX_DEPTH: usize = 32;

/// A value as the document holds it, borrowed from the document: what `hydrate` answers,
/// without copying a key or a string (issue #13: building `hydrate`'s maps of owned strings was
/// half of reading a month of sessions). [`Node::to_hydrate`] makes the owned value.
#[derive(Clone, Debug, PartialEq)]
pub enum Node<'a> {
    Scalar(ScalarValueRef<'a>),
    /// A map's visible entries in key order, each with whether other values conflict with it.
    Map(Vec<(Cow<'a, str>, Node<'a>, bool)>),
    List(Vec<Node<'a>>),
}

impl Node<'_> {
    /// The value `ReadDoc::hydrate` answers for the same object.
    pub fn to_hydrate(&self) -> Value {
        match self {
            Node::Scalar(scalar) => Value::Scalar(ScalarValue::from(scalar)),
            Node::Map(entries) => {
                let mut map = hydrate::Map::default();
                map.reserve(entries.len());
                for (key, node, conflict) in entries {
                    map.insert(
                        key.to_string(),
                        hydrate::MapValue {
                            value: node.to_hydrate(),
                            conflict: *conflict,
                        },
                    );
                }
                Value::Map(map)
            }
            Node::List(items) => items
                .iter()
                .map(Node::to_hydrate)
                .collect::<Vec<Value>>()
                .into(),
        }
    }

    /// A map's entry under `key`.
    pub fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, ..)| k == key).map(|(_, n, _)| n),
            _ => None,
        }
    }
}

/// What an object's entry holds, until the objects below it are read too.
enum Slot<'a> {
    Scalar(ScalarValueRef<'a>),
    Object(ObjId, ObjType),
}

/// An object's entries as the iterator gave them: a map's keys, or a list's elements in
/// order, each with whether other values conflict with it.
enum Entries<'a> {
    Map(Vec<(Cow<'a, str>, Slot<'a>, bool)>),
    List(Vec<Slot<'a>>),
}

/// The objects filed under the keys of the map `obj`, each as `ReadDoc::hydrate` answers it
/// (`value == hydrate(object)` for every one answered); a key holding a scalar is left out.
/// `None` where this cannot answer exactly what `hydrate` would — text, a table, a counter, a
/// list element in conflict, nesting past [`MAX_DEPTH`] — so the caller reads the usual way.
/// (The tests' measure of [`nodes_in_map`] against `hydrate`.)
#[cfg(test)]
pub fn objects_in_map(doc: &Automerge, obj: &ObjId) -> Option<HashMap<String, Value>> {
    Some(
        nodes_in_map(doc, obj)?
            .into_iter()
            .map(|(key, node)| (key.into_owned(), node.to_hydrate()))
            .collect(),
    )
}

/// The objects filed under the keys of the map `obj`, as [`Node`]s borrowed from `doc`, in
/// key order; each `node.to_hydrate() == hydrate(object)`, and a key holding a scalar is left
/// out. `None` where this cannot answer exactly what `hydrate` would — text, a table, a
/// counter, a list element in conflict, nesting past [`MAX_DEPTH`] — so the caller reads the
/// usual way.
pub fn nodes_in_map<'a>(doc: &'a Automerge, obj: &ObjId) -> Option<Vec<(Cow<'a, str>, Node<'a>)>> {
    // Keyed by Automerge's object ids, which it made: foldhash, as admission's other maps of
    // operation ids (SipHash was a twentieth of this reading).
    let mut entries: foldhash::HashMap<ObjId, Entries<'a>> = Default::default();
    let mut top: Vec<(Cow<'a, str>, ObjId, ObjType)> = Vec::new();
    for item in doc.iter_at(obj, None) {
        let parent: &ObjId = &item.obj;
        match item.item {
            DocItem::Map(entry) => {
                let id = matches!(entry.value, ValueRef::Object(_)).then(|| entry.id());
                let slot = slot(entry.value, id)?;
                if parent == obj {
                    if let Slot::Object(id, kind) = slot {
                        top.push((entry.key, id, kind));
                    }
                    continue;
                }
                match entries
                    .entry(parent.clone())
                    .or_insert_with(|| Entries::Map(Vec::new()))
                {
                    Entries::Map(map) => map.push((entry.key, slot, entry.conflict)),
                    Entries::List(_) => return None,
                }
            }
            DocItem::List(element) => {
                // `hydrate::List` keeps a conflict only through Automerge's own `push`.
                if element.conflict || parent == obj {
                    return None;
                }
                let id = matches!(element.value, ValueRef::Object(_)).then(|| element.id());
                let slot = slot(element.value, id)?;
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

/// `id`: the object's id, when `value` is an object.
fn slot(value: ValueRef<'_>, id: Option<ObjId>) -> Option<Slot<'_>> {
    Some(match value {
        ValueRef::Object(kind @ (ObjType::Map | ObjType::List)) => Slot::Object(id?, kind),
        ValueRef::Object(ObjType::Text | ObjType::Table) => return None,
        // Counters are read with their increments by `hydrate`; not worth matching here.
        ValueRef::Scalar(ScalarValueRef::Counter(_)) => return None,
        ValueRef::Scalar(scalar) => Slot::Scalar(scalar),
    })
}

/// The object `id` (of kind `kind`) from the entries read, taken out of them.
fn build<'a>(
    entries: &mut foldhash::HashMap<ObjId, Entries<'a>>,
    id: ObjId,
    kind: ObjType,
    depth: usize,
) -> Option<Node<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let node = |entries: &mut foldhash::HashMap<ObjId, Entries<'a>>, slot: Slot<'a>| match slot {
        Slot::Scalar(scalar) => Some(Node::Scalar(scalar)),
        Slot::Object(id, kind) => build(entries, id, kind, depth + 1),
    };
    Some(match (kind, entries.remove(&id)) {
        (ObjType::Map, None) => Node::Map(Vec::new()),
        (ObjType::List, None) => Node::List(Vec::new()),
        // Keys come sorted, each once; were one ever there twice, `Node::get` (the first) and
        // `to_hydrate` (the last) would disagree: read the usual way then.
        (ObjType::Map, Some(Entries::Map(items)))
            if items.windows(2).any(|pair| pair[0].0 >= pair[1].0) =>
        {
            return None
        }
        (ObjType::Map, Some(Entries::Map(items))) => Node::Map(
            items
                .into_iter()
                .map(|(key, slot, conflict)| Some((key, node(entries, slot)?, conflict)))
                .collect::<Option<_>>()?,
        ),
        (ObjType::List, Some(Entries::List(items))) => Node::List(
            items
                .into_iter()
                .map(|slot| node(entries, slot))
                .collect::<Option<_>>()?,
        ),
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
