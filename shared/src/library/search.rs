//! Library search as the therapist types: every word of the query must prefix-match a word of
//! the exercise's Danish or English title, summary, search words or tags (category, position, equipment,
//! body area, id), and filters narrow the result. Words are folded (lower case; æ→ae, ø→oe,
//! å→aa, accents dropped) so "oevelse", "øvelse" and "Øvelse" meet.
//!
//! [`SearchIndex`] is built once per library as an inverted index (the sorted vocabulary of
//! folded words, each with the exercises that have it), so a keystroke looks up the words
//! starting with each typed word once and intersects their exercises as bit sets, then ranks
//! the hits on integers: well under the 30 ms target for 10,000 exercises (see
//! `scripts/bench library`).

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
    /// Sorted, deduplicated folded words (moved into the index's vocabulary once built).
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
    /// Every folded word of every entry, sorted and unique, …
    vocabulary: Vec<String>,
    /// … and for each, the entries (positions in `entries`) that have it, ascending.
    postings: Vec<Vec<u32>>,
}

/// A set of entry positions, one bit each.
struct Bits(Vec<u64>);

impl Bits {
    fn empty(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn full(n: usize) -> Bits {
        let mut b = Bits(vec![u64::MAX; n.div_ceil(64)]);
        if !n.is_multiple_of(64) {
            if let Some(last) = b.0.last_mut() {
                *last = (1u64 << (n % 64)) - 1;
            }
        }
        b
    }
    fn set(&mut self, i: u32) {
        self.0[i as usize / 64] |= 1 << (i % 64);
    }
    fn and(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            (0..64)
                .filter(move |b| bits & (1 << b) != 0)
                .map(move |b| w * 64 + b)
        })
    }
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
        let mut entries: Vec<Entry> = exercises
            .into_iter()
            .filter(|e| e.status == Status::Active)
            .map(entry)
            .collect();
        // In id order, so a hit's position breaks ties as the id would, without comparing
        // strings on every keystroke.
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        // An inverted index: a keystroke looks up the words starting with what was typed once,
        // instead of searching every entry's words.
        let mut by_word: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
        for (i, e) in entries.iter_mut().enumerate() {
            for w in std::mem::take(&mut e.words) {
                by_word.entry(w).or_default().push(i as u32);
            }
        }
        let (vocabulary, postings) = by_word.into_iter().unzip();
        SearchIndex {
            entries,
            vocabulary,
            postings,
        }
    }

    /// The entries with a word starting with `prefix`.
    fn with_prefix(&self, prefix: &str) -> Bits {
        let mut bits = Bits::empty(self.entries.len());
        let start = self.vocabulary.partition_point(|w| w.as_str() < prefix);
        for (w, list) in self.vocabulary[start..].iter().zip(&self.postings[start..]) {
            if !w.starts_with(prefix) {
                break;
            }
            for &i in list {
                bits.set(i);
            }
        }
        bits
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
        let mut candidates = Bits::full(self.entries.len());
        for t in &terms {
            candidates.and(&self.with_prefix(t));
        }
        let mut hits: Vec<(std::cmp::Reverse<usize>, usize, u8, usize)> = candidates
            .iter()
            .map(|i| (i, &self.entries[i]))
            .filter(|(_, e)| q.category.is_none_or(|c| e.category == c))
            .filter(|(_, e)| q.position.is_none_or(|p| e.position == p))
            .filter(|(_, e)| q.body_area.is_none_or(|b| e.body_areas.contains(&b)))
            .filter(|(_, e)| q.max_difficulty.is_none_or(|d| e.difficulty <= d))
            .filter(|(_, e)| {
                q.available_equipment.as_ref().is_none_or(|have| {
                    e.equipment
                        .iter()
                        .all(|x| *x == Equipment::None || have.contains(x))
                })
            })
            .map(|(i, e)| {
                let in_title = terms
                    .iter()
                    .filter(|t| has_prefix(&e.title_words, t))
                    .count();
                (
                    std::cmp::Reverse(in_title),
                    e.title_words.len(),
                    e.difficulty,
                    i,
                )
            })
            .collect();
        // More query words in the title, then the shorter title (the closer match), then
        // easier, then id (the entries are in id order): integers only.
        hits.sort_unstable();
        hits.into_iter()
            .map(|(_, _, _, i)| &self.entries[i].id)
            .collect()
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
    fn bit_sets_hold_exactly_their_members() {
        let mut b = Bits::empty(130);
        for i in [0, 63, 64, 129] {
            b.set(i);
        }
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![0, 63, 64, 129]);
        let mut all = Bits::full(130);
        assert_eq!(all.iter().count(), 130);
        all.and(&b);
        assert_eq!(all.iter().collect::<Vec<_>>(), vec![0, 63, 64, 129]);
        assert_eq!(Bits::full(128).iter().count(), 128);
    }

    #[test]
    fn prefixes_are_found_in_sorted_words() {
        let w: Vec<String> = ["balance", "stol", "straek"].map(String::from).to_vec();
        assert!(has_prefix(&w, "str"));
        assert!(has_prefix(&w, "bal"));
        assert!(!has_prefix(&w, "gang"));
    }
}
