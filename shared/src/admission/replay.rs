//! The objects a chain of new changes made, rebuilt from their operations alone (issue #13).
//!
//! Admission reads every session an upload wrote; a month offline is 30 new sessions in one
//! change, and reading them back from the document after applying it (Automerge's `hydrate` of
//! each) cost as much as applying it. An object the new changes *made* holds nothing but what
//! those operations put in it, so when the changes follow one another (each depends on the one
//! before, as one device writes them) and their operations only ever add, replace what they
//! name as replaced, or delete, replaying them in order gives exactly what the document shows.
//! Anything else — concurrent changes, a conflict, a counter, marks, text, an operation number
//! out of order — answers `None`, and the caller reads the document instead, so this can make
//! admission cheaper but never different.

use automerge::hydrate;
use automerge::legacy::{
    Change as Expanded, ElementId, Key as OpKey, ObjectId as OpObject, OpId, OpType as OpAction,
};
use automerge::{ChangeHash, ObjType, ScalarValue};
use foldhash::HashMap;

/// Longer lists are left to the document: inserting into the middle of a list here costs its
/// length, and no session holds a list this long (its sets, one per repetition block).
pub(super) const MAX_LIST: usize = 1024;

/// A value in a made object: a scalar, or another object the changes made.
#[derive(Clone, Debug)]
enum Val {
    Scalar(ScalarValue),
    Obj(OpId),
}

/// A made object's visible content, each entry with the operation that wrote it.
#[derive(Debug)]
enum Obj {
    Map(HashMap<String, (OpId, Val)>),
    /// Elements in order: (element id, operation that wrote the value, value).
    List(Vec<(OpId, OpId, Val)>),
}

/// The objects a chain of changes made, as their operations left them.
#[derive(Debug, Default)]
pub(super) struct Made {
    objects: HashMap<OpId, Obj>,
}

impl Made {
    /// Replays `changes` (in the order given) over the objects they make. `None` when the
    /// changes are not one chain or an operation on a made object does anything but what is
    /// described at the top of this module; operations on objects made before are skipped
    /// (the caller judges those from the document).
    pub(super) fn replay(changes: &[Expanded]) -> Option<Made> {
        let mut made = Made::default();
        let mut previous: Option<ChangeHash> = None;
        // Operation ids must grow: then "insert right after the element named" is Automerge's
        // order too (a later element inserted at the same place has the greater id and goes
        // first).
        let mut last_counter = 0u64;
        for change in changes {
            if let Some(p) = previous {
                if !change.deps.contains(&p) {
                    return None;
                }
            }
            previous = Some(change.hash?);
            for (i, op) in change.operations.iter().enumerate() {
                let counter = change.start_op.get().checked_add(i as u64)?;
                if counter <= last_counter {
                    return None;
                }
                last_counter = counter;
                let id = OpId(counter, change.actor_id.clone());
                let target = match &op.obj {
                    OpObject::Id(obj) if made.objects.contains_key(obj) => obj.clone(),
                    // An object held before (or the root): not ours to replay, but what it
                    // makes in it is.
                    _ => {
                        if let OpAction::Make(kind) = &op.action {
                            made.objects.insert(id, Obj::new(*kind)?);
                        }
                        continue;
                    }
                };
                let value = match &op.action {
                    OpAction::Make(kind) => {
                        made.objects.insert(id.clone(), Obj::new(*kind)?);
                        Some(Val::Obj(id.clone()))
                    }
                    OpAction::Put(v) if !matches!(v, ScalarValue::Counter(_)) => {
                        Some(Val::Scalar(v.clone()))
                    }
                    OpAction::Delete => None,
                    _ => return None,
                };
                // Exactly the one operation `id` (or none): compared without collecting, as
                // this runs for every operation of an upload.
                let replaces = |id: Option<&OpId>| {
                    op.pred.len() == usize::from(id.is_some())
                        && op.pred.iter().zip(id).all(|(p, w)| p == w)
                };
                match (made.objects.get_mut(&target)?, &op.key, op.insert) {
                    (Obj::Map(entries), OpKey::Map(key), false) => {
                        // What it replaces must be exactly what is there: no conflict left.
                        if !replaces(entries.get(key.as_str()).map(|(w, _)| w)) {
                            return None;
                        }
                        match value {
                            Some(v) => {
                                entries.insert(key.to_string(), (id, v));
                            }
                            None => {
                                entries.remove(key.as_str());
                            }
                        }
                    }
                    (Obj::List(elems), OpKey::Seq(after), true) => {
                        let value = value?;
                        if !op.pred.is_empty() {
                            return None;
                        }
                        if elems.len() >= MAX_LIST {
                            return None;
                        }
                        let at = match after {
                            ElementId::Head => 0,
                            // Devices append: look from the end.
                            ElementId::Id(e) => elems.iter().rposition(|(el, _, _)| el == e)? + 1,
                        };
                        elems.insert(at, (id.clone(), id, value));
                    }
                    (Obj::List(elems), OpKey::Seq(ElementId::Id(e)), false) => {
                        let at = elems.iter().rposition(|(el, _, _)| el == e)?;
                        if !replaces(Some(&elems[at].1)) {
                            return None;
                        }
                        match value {
                            Some(v) => {
                                elems[at].1 = id;
                                elems[at].2 = v;
                            }
                            None => {
                                elems.remove(at);
                            }
                        }
                    }
                    _ => return None,
                }
            }
        }
        Some(made)
    }

    /// The object made by operation `id`, as Automerge's `hydrate` would answer it; `None` if
    /// the changes did not make it.
    pub(super) fn hydrate(&self, id: &OpId) -> Option<hydrate::Value> {
        self.value(&Val::Obj(id.clone()), 0)
    }

    fn value(&self, v: &Val, depth: usize) -> Option<hydrate::Value> {
        // Made objects nest as the operations say, never in a cycle (an object is made
        // before anything is put in it); the bound only keeps a crafted change from recursing
        // deep.
        if depth > 32 {
            return None;
        }
        Some(match v {
            Val::Scalar(s) => hydrate::Value::Scalar(s.clone()),
            Val::Obj(id) => match self.objects.get(id)? {
                Obj::Map(entries) => {
                    // Filled in place: `Map::from(HashMap)` would build a second table.
                    let mut map = hydrate::Map::default();
                    map.reserve(entries.len());
                    for (k, (_, v)) in entries {
                        let value = self.value(v, depth + 1)?;
                        map.insert(
                            k.clone(),
                            hydrate::MapValue {
                                value,
                                conflict: false,
                            },
                        );
                    }
                    map.into()
                }
                Obj::List(elems) => elems
                    .iter()
                    .map(|(_, _, v)| self.value(v, depth + 1))
                    .collect::<Option<Vec<hydrate::Value>>>()?
                    .into(),
            },
        })
    }
}

impl Obj {
    fn new(kind: ObjType) -> Option<Obj> {
        match kind {
            ObjType::Map => Some(Obj::Map(HashMap::default())),
            ObjType::List => Some(Obj::List(Vec::new())),
            // Text (its splices and marks) and tables are read by the document.
            ObjType::Text | ObjType::Table => None,
        }
    }
}
