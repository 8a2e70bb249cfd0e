//! A session the log held, grown by the new changes, from what admission read of it before
//! (issue #13).
//!
//! A tablet logs one set at a time, and each set is a sync: admission read the whole session
//! again (Automerge's `hydrate`) to judge one new set, 13 % of the server's CPU with 50
//! clients, and more as the session grows. The session as admission last read it is kept (at
//! the log's heads then, [`super::SessionValues`]); when the new changes follow on from exactly
//! those heads, what they change in it is applied to that copy instead:
//! - an object they make, inserted into a list the session held: the object as its operations
//!   made it ([`super::replay`]), at the index the document now shows it at;
//! - a scalar inserted into a list the session held (a set, one string): the value the
//!   document shows for that element, at its index;
//! - a key of a map the session held, put or deleted: what the document now shows under it.
//!
//! Anything else — a list element of the session deleted or replaced, an object the document
//! no longer shows — answers `None` and the session is read from the document. Applied
//! outermost first and each list's inserts in index order, the indexes the document shows now
//! are right for the copy as it is being grown: the elements it held keep their order, and
//! nothing is removed.

use super::replay::{Made, MAX_LIST};
use automerge::hydrate::{self, MapValue, Value};
use automerge::legacy::{Key as OpKey, OpId};
use automerge::{Automerge, ObjId, Prop, ReadDoc, ScalarValue};
use std::collections::hash_map::{Entry, HashMap};

/// An operation of the new changes on an object the log held before them, inside a session.
#[derive(Clone, Debug)]
pub(super) struct HeldOp {
    /// The object written.
    pub obj: OpId,
    /// The operation's own id (the object it makes, if it makes one).
    pub id: OpId,
    pub key: OpKey,
    pub insert: bool,
    pub makes: bool,
}

enum Edit {
    /// `value` inserted at `index` into the list at `path`.
    Insert {
        path: Vec<Prop>,
        index: usize,
        value: Value,
    },
    /// The map at `path` shows `value` under `key` (`None`: nothing).
    Key {
        path: Vec<Prop>,
        key: String,
        value: Option<Value>,
    },
}

impl Edit {
    fn order(&self) -> (usize, usize) {
        match self {
            Edit::Insert { path, index, .. } => (path.len(), *index),
            Edit::Key { path, .. } => (path.len(), 0),
        }
    }
}

/// `old` (the session filed under `key` as it was before the changes) grown by the changes'
/// operations `ops` on objects it held, with `made` the objects the changes made; `None` when
/// this cannot say (see the module's doc).
pub(super) fn grow(
    after: &Automerge,
    key: &str,
    mut old: Value,
    ops: &[HeldOp],
    made: Option<&Made>,
) -> Option<Value> {
    let mut edits = Vec::with_capacity(ops.len());
    // Each object's place looked up once: finishing a session puts (or deletes) four keys in
    // one map.
    let mut places: HashMap<&OpId, (ObjId, Vec<Prop>)> = HashMap::new();
    for op in ops {
        match (&op.key, op.insert) {
            (OpKey::Seq(_), true) if op.makes => {
                // Where the made object is now: an insert's object is the list it went into,
                // so the list's path is the made object's but for its index.
                let (_, made_at) = held(after, &op.id, key)?;
                let (Prop::Seq(index), path) = made_at.split_last()? else {
                    return None;
                };
                edits.push(Edit::Insert {
                    path: path.to_vec(),
                    index: *index,
                    value: made?.hydrate(&op.id)?,
                });
            }
            (OpKey::Seq(_), true) => {
                // A scalar inserted (a set, one string): the list's place, and the index the
                // document shows the element at.
                let (list, path) = match places.entry(&op.obj) {
                    Entry::Occupied(found) => found.get().clone(),
                    Entry::Vacant(place) => place.insert(held(after, &op.obj, key)?).clone(),
                };
                let (index, value) = element(after, &list, &op.id)?;
                edits.push(Edit::Insert { path, index, value });
            }
            (OpKey::Map(k), false) => {
                let (obj, path) = match places.entry(&op.obj) {
                    Entry::Occupied(found) => found.get().clone(),
                    Entry::Vacant(place) => place.insert(held(after, &op.obj, key)?).clone(),
                };
                let value = match after.get(&obj, k.as_str()).ok()? {
                    None => None,
                    Some((automerge::Value::Scalar(s), _)) => Some(Value::Scalar(s.into_owned())),
                    Some((automerge::Value::Object(_), id)) => Some(made?.hydrate(&op_id(&id)?)?),
                };
                edits.push(Edit::Key {
                    path,
                    key: k.to_string(),
                    value,
                });
            }
            _ => return None,
        }
    }
    edits.sort_by_key(Edit::order);
    for edit in edits {
        match edit {
            Edit::Insert { path, index, value } => {
                let Value::List(list) = at(&mut old, &path)? else {
                    return None;
                };
                if index > list.len() || list.len() >= MAX_LIST {
                    return None;
                }
                // `hydrate::List` inserts only inside Automerge: rebuilt, its values moved.
                let mut values: Vec<Value> = (0..list.len())
                    .map(|i| {
                        list.get_mut(i)
                            .map(|v| std::mem::replace(v, Value::Scalar(ScalarValue::Null)))
                    })
                    .collect::<Option<_>>()?;
                values.insert(index, value);
                *list = hydrate::List::from(values);
            }
            Edit::Key { path, key, value } => {
                let Value::Map(map) = at(&mut old, &path)? else {
                    return None;
                };
                match value {
                    Some(value) => {
                        map.insert(
                            key,
                            MapValue {
                                value,
                                conflict: false,
                            },
                        );
                    }
                    None => {
                        map.remove(&key);
                    }
                }
            }
        }
    }
    Some(old)
}

/// The value at `path` inside `v`.
fn at<'a>(mut v: &'a mut Value, path: &[Prop]) -> Option<&'a mut Value> {
    for p in path {
        v = match (v, p) {
            (Value::Map(m), Prop::Map(k)) => m.get_mut(k)?,
            (Value::List(l), Prop::Seq(i)) => l.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The object `id` of `after` and its path inside the session filed under `key`, when the
/// document shows it there.
fn held(after: &Automerge, id: &OpId, key: &str) -> Option<(ObjId, Vec<Prop>)> {
    let (obj, path) = visible_path(after, id)?;
    match path.as_slice() {
        [Prop::Map(s), Prop::Map(k), inside @ ..] if s == "sessions" && k == key => {
            Some((obj, inside.to_vec()))
        }
        _ => None,
    }
}

/// The index and value of the scalar element inserted by operation `id` into `list`, when the
/// document shows it (looked for from the end: devices append).
fn element(after: &Automerge, list: &ObjId, id: &OpId) -> Option<(usize, Value)> {
    if after.object_type(list).ok()? != automerge::ObjType::List {
        return None;
    }
    let len = after.length(list);
    if len > MAX_LIST {
        return None;
    }
    (0..len)
        .rev()
        .find_map(|i| match after.get(list, i).ok()?? {
            (automerge::Value::Scalar(s), at) if op_id(&at).as_ref() == Some(id) => {
                Some((i, Value::Scalar(s.into_owned())))
            }
            _ => None,
        })
}

/// The operation id of an object of the document.
fn op_id(id: &ObjId) -> Option<OpId> {
    match id {
        ObjId::Id(counter, actor, _) => Some(OpId(*counter, actor.clone())),
        ObjId::Root => None,
    }
}

/// The object made by operation `id` and its path from the root, when the document shows it.
pub(super) fn visible_path(doc: &Automerge, id: &OpId) -> Option<(automerge::ObjId, Vec<Prop>)> {
    // Automerge 0.12 can panic in `parents` of an object inside a deleted list element (a
    // debug assertion: its fast and slow seeks disagree; found by
    // `any_edits_get_the_diffs_verdict`). Such an object is left to the diff, not refused as
    // corrupt by admission's boundary.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let obj = doc
            .import_obj(&format!("{}@{}", id.0, id.1.to_hex_string()))
            .ok()?;
        doc.object_type(&obj).ok()?;
        let path = doc.parents(&obj).ok()?.visible_path()?;
        Some((obj, path.into_iter().map(|(_, p)| p).collect()))
    }))
    .ok()?
}
