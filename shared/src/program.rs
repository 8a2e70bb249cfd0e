//! The program editor's save, as the smallest set of document edits: the editor sends the
//! whole program in its new order, and only lines that were added, changed, moved or removed
//! are written. A concurrent edit of another line on another device then merges instead of
//! being overwritten, and an unchanged save makes no revision at all.
//!
//! Moves keep the most lines in place: the longest run of lines whose relative order did not
//! change (a longest increasing subsequence) keeps its positions, and every other line gets a
//! fractional position between its kept neighbours.

use crate::docs::ProgramEdit;
use crate::ids::ProgramExerciseId;
use crate::model::{Dosage, Invalid, ProgramExercise};
use std::collections::{HashMap, HashSet};

/// One line as the editor sends it back: an existing line keeps its id; a new one has none.
#[derive(Clone, Debug, PartialEq)]
pub struct EditedLine {
    pub id: Option<ProgramExerciseId>,
    pub exercise_ref: String,
    pub dosage: Dosage,
    pub instructions: Option<String>,
}

/// What a save changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProgramDiff {
    /// In the edited order, then the removals.
    pub edits: Vec<ProgramEdit>,
    /// Exercise refs of added, removed and changed (dosage, instructions, exercise) lines.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    /// Whether the order changed.
    pub moved: bool,
}

impl ProgramDiff {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// A revision summary in Danish (revision summaries are the team's record, written in the
    /// team's language), naming exercises with `title`.
    pub fn summary_da(&self, title: impl Fn(&str) -> String) -> String {
        let names = |refs: &[String]| refs.iter().map(|r| title(r)).collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("Tilføjet: {}", names(&self.added)));
        }
        if !self.removed.is_empty() {
            parts.push(format!("Fjernet: {}", names(&self.removed)));
        }
        if !self.changed.is_empty() {
            parts.push(format!("Ændret: {}", names(&self.changed)));
        }
        if self.moved {
            parts.push("Ny rækkefølge".to_string());
        }
        if parts.is_empty() {
            "Ingen ændringer".to_string()
        } else {
            parts.join(". ")
        }
    }
}

fn invalid(problem: String) -> Invalid {
    Invalid {
        field: "program.lines".into(),
        problem,
    }
}

/// Indices (into `ranks`) of a longest strictly increasing subsequence.
fn longest_increasing(ranks: &[usize]) -> HashSet<usize> {
    // Patience sorting with back links: O(n log n).
    let mut tails: Vec<usize> = Vec::new(); // index into ranks of the smallest tail per length
    let mut prev: Vec<Option<usize>> = vec![None; ranks.len()];
    for (i, &r) in ranks.iter().enumerate() {
        let len = tails.partition_point(|&t| ranks[t] < r);
        prev[i] = len.checked_sub(1).map(|l| tails[l]);
        if len == tails.len() {
            tails.push(i);
        } else {
            tails[len] = i;
        }
    }
    let mut keep = HashSet::new();
    let mut at = tails.last().copied();
    while let Some(i) = at {
        keep.insert(i);
        at = prev[i];
    }
    keep
}

/// Positions for the edited order: `fixed[i]` keeps its position, the others are spread
/// evenly between their kept neighbours (or 1 apart before the first / after the last).
fn positions(fixed: &[Option<f64>]) -> Vec<f64> {
    let mut out = vec![0.0; fixed.len()];
    let mut i = 0;
    while i < fixed.len() {
        if let Some(p) = fixed[i] {
            out[i] = p;
            i += 1;
            continue;
        }
        let run_start = i;
        while i < fixed.len() && fixed[i].is_none() {
            i += 1;
        }
        let n = (i - run_start) as f64;
        let lo = run_start.checked_sub(1).map(|j| out[j]);
        let hi = fixed.get(i).copied().flatten();
        for (k, slot) in out[run_start..i].iter_mut().enumerate() {
            let k = (k + 1) as f64;
            *slot = match (lo, hi) {
                (Some(lo), Some(hi)) => lo + (hi - lo) * k / (n + 1.0),
                (Some(lo), None) => lo + k,
                (None, Some(hi)) => hi - (n + 1.0 - k),
                (None, None) => k,
            };
        }
    }
    out
}

/// Whether `lines`, sorted as the document sorts them (position, then id), are in `order`.
fn sorts_as(lines: &[ProgramExercise]) -> bool {
    lines.windows(2).all(|w| {
        w[0].position
            .total_cmp(&w[1].position)
            .then(w[0].id.cmp(&w[1].id))
            .is_lt()
    })
}

/// The edits that turn `current` (any order) into `edited` (the new order).
pub fn minimal_edits(
    current: &[&ProgramExercise],
    edited: &[EditedLine],
) -> Result<ProgramDiff, Invalid> {
    let mut order: Vec<&ProgramExercise> = current.to_vec();
    order.sort_by(|a, b| a.position.total_cmp(&b.position).then(a.id.cmp(&b.id)));
    let rank: HashMap<ProgramExerciseId, usize> =
        order.iter().enumerate().map(|(i, l)| (l.id, i)).collect();
    let by_id: HashMap<ProgramExerciseId, &ProgramExercise> =
        order.iter().map(|l| (l.id, *l)).collect();
    let mut seen = HashSet::new();
    for l in edited {
        if let Some(id) = l.id {
            if !by_id.contains_key(&id) {
                return Err(invalid(format!(
                    "line {id} is no longer in the program; reload the program"
                )));
            }
            if !seen.insert(id) {
                return Err(invalid(format!("line {id} appears twice")));
            }
        }
    }
    // Existing lines in the edited order; the longest run still in the old order stays put.
    let kept: Vec<(usize, usize)> = edited
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.id.map(|id| (i, rank[&id])))
        .collect();
    let unmoved: HashSet<usize> = longest_increasing(&kept.iter().map(|k| k.1).collect::<Vec<_>>())
        .into_iter()
        .map(|k| kept[k].0)
        .collect();
    let fixed: Vec<Option<f64>> = edited
        .iter()
        .enumerate()
        .map(|(i, l)| {
            l.id.filter(|_| unmoved.contains(&i))
                .map(|id| by_id[&id].position)
        })
        .collect();
    let mut lines: Vec<ProgramExercise> = edited
        .iter()
        .zip(positions(&fixed))
        .map(|(l, position)| ProgramExercise {
            id: l.id.unwrap_or_else(ProgramExerciseId::new),
            exercise_ref: l.exercise_ref.clone(),
            position,
            dosage: l.dosage.clone(),
            instructions: l.instructions.clone(),
        })
        .collect();
    if !sorts_as(&lines) {
        // Kept neighbours with (nearly) equal positions leave no room between them: number
        // the whole program afresh. Rare (concurrent inserts at one spot), and still correct.
        for (i, l) in lines.iter_mut().enumerate() {
            l.position = (i + 1) as f64;
        }
    }
    let mut diff = ProgramDiff {
        moved: kept.len() != unmoved.len(),
        ..ProgramDiff::default()
    };
    for line in lines {
        match by_id.get(&line.id) {
            None => {
                diff.added.push(line.exercise_ref.clone());
                diff.edits.push(ProgramEdit::Upsert(line));
            }
            Some(old) if **old == line => {}
            Some(old) => {
                if old.exercise_ref != line.exercise_ref
                    || old.dosage != line.dosage
                    || old.instructions != line.instructions
                {
                    diff.changed.push(line.exercise_ref.clone());
                }
                diff.edits.push(ProgramEdit::Upsert(line));
            }
        }
    }
    for old in order {
        if !seen.contains(&old.id) {
            diff.removed.push(old.exercise_ref.clone());
            diff.edits.push(ProgramEdit::Remove(old.id));
        }
    }
    // Renumbering alone (no kept line moved in the edited order) is not a move.
    diff.moved &= diff.edits.iter().any(|e| match e {
        ProgramEdit::Upsert(l) => by_id.get(&l.id).is_some_and(|o| o.position != l.position),
        ProgramEdit::Remove(_) => false,
    });
    Ok(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(refs: &[&str]) -> Vec<ProgramExercise> {
        refs.iter()
            .enumerate()
            .map(|(i, r)| ProgramExercise::new(r, (i + 1) as f64, Dosage::reps(2, 10)))
            .collect()
    }

    fn same(l: &ProgramExercise) -> EditedLine {
        EditedLine {
            id: Some(l.id),
            exercise_ref: l.exercise_ref.clone(),
            dosage: l.dosage.clone(),
            instructions: l.instructions.clone(),
        }
    }

    fn refs(p: &[ProgramExercise]) -> Vec<&ProgramExercise> {
        p.iter().collect()
    }

    fn upserts(d: &ProgramDiff) -> Vec<&ProgramExercise> {
        d.edits
            .iter()
            .filter_map(|e| match e {
                ProgramEdit::Upsert(l) => Some(l),
                ProgramEdit::Remove(_) => None,
            })
            .collect()
    }

    /// Applies a diff the way the document does and lists the refs in order.
    fn apply(current: &[ProgramExercise], d: &ProgramDiff) -> Vec<String> {
        let mut map: HashMap<ProgramExerciseId, ProgramExercise> =
            current.iter().map(|l| (l.id, l.clone())).collect();
        for e in &d.edits {
            match e {
                ProgramEdit::Upsert(l) => {
                    map.insert(l.id, l.clone());
                }
                ProgramEdit::Remove(id) => {
                    map.remove(id);
                }
            }
        }
        let mut v: Vec<_> = map.into_values().collect();
        v.sort_by(|a, b| a.position.total_cmp(&b.position).then(a.id.cmp(&b.id)));
        v.into_iter().map(|l| l.exercise_ref).collect()
    }

    #[test]
    fn an_unchanged_program_needs_no_edit() {
        let p = program(&["a", "b", "c"]);
        let d = minimal_edits(&refs(&p), &p.iter().map(same).collect::<Vec<_>>()).unwrap();
        assert!(d.is_empty());
        assert!(!d.moved);
        assert_eq!(d.summary_da(|r| r.to_string()), "Ingen ændringer");
    }

    #[test]
    fn moving_one_line_writes_only_that_line() {
        let p = program(&["a", "b", "c", "d", "e"]);
        // e moves to the front: only e gets a new position.
        let edited: Vec<_> = [4, 0, 1, 2, 3].iter().map(|&i| same(&p[i])).collect();
        let d = minimal_edits(&refs(&p), &edited).unwrap();
        let ups = upserts(&d);
        assert_eq!(ups.len(), 1);
        assert_eq!(ups[0].exercise_ref, "e");
        assert!(ups[0].position < 1.0);
        assert!(d.moved);
        assert_eq!(apply(&p, &d), ["e", "a", "b", "c", "d"]);
        // c moves between a and b: a fractional position between theirs.
        let edited: Vec<_> = [0, 2, 1, 3, 4].iter().map(|&i| same(&p[i])).collect();
        let d = minimal_edits(&refs(&p), &edited).unwrap();
        assert_eq!(upserts(&d).len(), 1);
        assert_eq!(apply(&p, &d), ["a", "c", "b", "d", "e"]);
    }

    #[test]
    fn reorder_change_add_and_remove_in_one_save() {
        let p = program(&["a", "b", "c", "d"]);
        let mut b = same(&p[1]);
        b.dosage.reps = Some(15);
        let new = EditedLine {
            id: None,
            exercise_ref: "x".into(),
            dosage: Dosage::reps(1, 5),
            instructions: Some("Langsomt".into()),
        };
        // d to the front, b changed, c removed, x added between a and b.
        let edited = vec![same(&p[3]), same(&p[0]), new, b];
        let d = minimal_edits(&refs(&p), &edited).unwrap();
        assert_eq!(apply(&p, &d), ["d", "a", "x", "b"]);
        let ups = upserts(&d);
        let written: Vec<_> = ups.iter().map(|l| l.exercise_ref.as_str()).collect();
        assert_eq!(written, ["d", "x", "b"], "a is untouched");
        assert_eq!(ups[2].position, 2.0, "b changed dosage but kept its place");
        assert!(d.edits.contains(&ProgramEdit::Remove(p[2].id)));
        assert_eq!(
            (d.added.clone(), d.removed.clone()),
            (vec!["x".to_string()], vec!["c".to_string()])
        );
        assert_eq!(d.changed, ["b"]);
        assert_eq!(
            d.summary_da(|r| r.to_uppercase()),
            "Tilføjet: X. Fjernet: C. Ændret: B. Ny rækkefølge"
        );
    }

    #[test]
    fn lines_with_equal_positions_are_renumbered_when_there_is_no_room() {
        let mut p = program(&["a", "b"]);
        p[1].position = p[0].position;
        p.sort_by_key(|x| x.id);
        let new = EditedLine {
            id: None,
            exercise_ref: "x".into(),
            dosage: Dosage::reps(1, 5),
            instructions: None,
        };
        let edited = vec![same(&p[0]), new, same(&p[1])];
        let d = minimal_edits(&refs(&p), &edited).unwrap();
        assert_eq!(
            apply(&p, &d),
            [p[0].exercise_ref.as_str(), "x", p[1].exercise_ref.as_str()]
        );
    }

    #[test]
    fn unknown_or_repeated_lines_are_refused() {
        let p = program(&["a"]);
        let mut stranger = same(&p[0]);
        stranger.id = Some(ProgramExerciseId::new());
        assert!(minimal_edits(&refs(&p), &[stranger]).is_err());
        assert!(minimal_edits(&refs(&p), &[same(&p[0]), same(&p[0])]).is_err());
        let d = minimal_edits(&refs(&p), &[]).unwrap();
        assert_eq!(d.edits, vec![ProgramEdit::Remove(p[0].id)]);
        assert!(!d.moved);
    }
}
