//! Library search as the therapist types: every word of the query must prefix-match a word of
//! the exercise's Danish or English title, summary, search words or tags (category, position, equipment,
//! body area, id), and filters narrow the result. Words are folded (lower case; æ→ae, ø→oe,
//! å→aa, accents dropped) so "oevelse", "øvelse" and "Øvelse" meet.
//!
//! [`SearchIndex`] is built once per library and holds each exercise's words sorted, so a
//! keystroke costs a binary search per query word per exercise: well under the 30 ms target
//! for 10,000 exercises (see `scripts/bench library`).

use super::exercise::{BodyArea, Category, Equipment, Exercise, Position, Status};
use super::text::{ExerciseId, Lang};
use super::Library;

/// What the therapist asks for. Empty text with no filters lists everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    pub text: String,
    pub category: Option<Category>,
    pub position: Option<Position>,
    /// Only exercises that need nothing beyond this equipment (what the home has).
    pub available_equipment: Option<Vec<Equipment>>,
    pub body_area: Option<BodyArea>,
    pub max_difficulty: Option<u8>,
}

struct Entry {
    id: ExerciseId,
    /// Sorted, deduplicated folded words.
    words: Vec<String>,
    /// Folded title words, for ranking title hits first.
    title_words: Vec<String>,
    category: Category,
    position: Position,
    equipment: Vec<Equipment>,
    body_areas: Vec<BodyArea>,
    difficulty: u8,
}

/// A searchable view of the active exercises.
pub struct SearchIndex {
    entries: Vec<Entry>,
}

/// Lower case with Danish letters and accents folded to ASCII.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'æ' => out.push_str("ae"),
            'ø' => out.push_str("oe"),
            'å' => out.push_str("aa"),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'á' | 'à' | 'â' | 'ä' => out.push('a'),
            'ó' | 'ò' | 'ô' | 'ö' => out.push('o'),
            'ú' | 'ù' | 'û' | 'ü' => out.push('u'),
            'í' | 'ì' | 'î' | 'ï' => out.push('i'),
            c => out.push(c),
        }
    }
    out
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(fold)
}

fn tag<T: serde::Serialize>(v: &T) -> String {
    // The serde names (`elastic_band`, `upper_body`) are the tags; split on `_` by `words`.
    toml::Value::try_from(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn entry(e: &Exercise) -> Entry {
    let mut all: Vec<String> = Vec::new();
    let mut title_words = Vec::new();
    for lang in [Lang::Da, Lang::En] {
        let t = e.text(lang);
        title_words.extend(words(&t.title));
        all.extend(words(&t.title));
        all.extend(words(&t.summary));
    }
    for w in &e.search_words {
        all.extend(words(w));
    }
    let tags = [tag(&e.category), tag(&e.position)]
        .into_iter()
        .chain(e.equipment.iter().map(tag))
        .chain(e.body_areas.iter().map(tag))
        .chain([e.id.to_string()]);
    for t in tags {
        all.extend(words(&t));
    }
    all.sort();
    all.dedup();
    title_words.sort();
    title_words.dedup();
    Entry {
        id: e.id.clone(),
        words: all,
        title_words,
        category: e.category,
        position: e.position,
        equipment: e.equipment.clone(),
        body_areas: e.body_areas.clone(),
        difficulty: e.difficulty.get(),
    }
}

/// Whether some word in the sorted `words` starts with `prefix`.
fn has_prefix(words: &[String], prefix: &str) -> bool {
    let i = words.partition_point(|w| w.as_str() < prefix);
    words.get(i).is_some_and(|w| w.starts_with(prefix))
}

impl SearchIndex {
    pub fn new<'a>(exercises: impl IntoIterator<Item = &'a Exercise>) -> SearchIndex {
        let entries = exercises
            .into_iter()
            .filter(|e| e.status == Status::Active)
            .map(entry)
            .collect();
        SearchIndex { entries }
    }

    pub fn of(library: &Library) -> SearchIndex {
        Self::new(library.exercises.values())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Matching exercise ids, best first: more query words in the title, then the shorter
    /// title, then easier, then id.
    pub fn search(&self, q: &Query) -> Vec<&ExerciseId> {
        let terms: Vec<String> = words(&q.text).collect();
        let mut hits: Vec<(usize, usize, u8, &ExerciseId)> = self
            .entries
            .iter()
            .filter(|e| q.category.is_none_or(|c| e.category == c))
            .filter(|e| q.position.is_none_or(|p| e.position == p))
            .filter(|e| q.body_area.is_none_or(|b| e.body_areas.contains(&b)))
            .filter(|e| q.max_difficulty.is_none_or(|d| e.difficulty <= d))
            .filter(|e| {
                q.available_equipment.as_ref().is_none_or(|have| {
                    e.equipment
                        .iter()
                        .all(|x| *x == Equipment::None || have.contains(x))
                })
            })
            .filter(|e| terms.iter().all(|t| has_prefix(&e.words, t)))
            .map(|e| {
                let in_title = terms
                    .iter()
                    .filter(|t| has_prefix(&e.title_words, t))
                    .count();
                (in_title, e.title_words.len(), e.difficulty, &e.id)
            })
            .collect();
        // More query words in the title, then the shorter title (the closer match), then easier.
        hits.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(b.3))
        });
        hits.into_iter().map(|(_, _, _, id)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_meets_danish_letters_and_case() {
        assert_eq!(fold("Øvelse på Stolen"), "oevelse paa stolen");
        assert_eq!(fold("Tåhævning"), "taahaevning");
    }

    #[test]
    fn prefixes_are_found_in_sorted_words() {
        let w: Vec<String> = ["balance", "stol", "straek"].map(String::from).to_vec();
        assert!(has_prefix(&w, "str"));
        assert!(has_prefix(&w, "bal"));
        assert!(!has_prefix(&w, "gang"));
    }
}
