//! `scripts/bench library`: search over a generated 10,000-exercise library, keystroke by
//! keystroke, as a therapist types in the program editor. Target: ≤ 30 ms per keystroke.
//! The last line is one JSON object.

use homerehab_shared::library::search::{Query, SearchIndex};
use homerehab_shared::library::{Category, Equipment, Exercise, ExerciseId};
use std::path::Path;
use std::time::Instant;

const SIZE: usize = 10_000;
const WORDS: [&str; 8] = [
    "stol", "elastik", "trappe", "væg", "let", "svær", "siddende", "rollator",
];

fn main() -> anyhow::Result<()> {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let library = homerehab_core::library::load(&assets)?;
    let base: Vec<&Exercise> = library.active_exercises().collect();
    // Variants of the shipped exercises with their own ids and a varying extra title word.
    let generated: Vec<Exercise> = (0..SIZE)
        .map(|i| {
            let mut e = base[i % base.len()].clone();
            e.id = ExerciseId::try_from(format!("{}-v{i}", e.id)).expect("valid slug");
            for t in e.text.values_mut() {
                t.title = format!("{} {} {i}", t.title, WORDS[i % WORDS.len()]);
            }
            e
        })
        .collect();
    let t0 = Instant::now();
    let index = SearchIndex::new(&generated);
    let build_ms = t0.elapsed().as_secs_f64() * 1000.0;
    println!(
        "index of {} exercises built in {build_ms:.1} ms",
        index.len()
    );

    let typed = [
        "rejse-sætte-sig stol",
        "tandemstand",
        "heel raise",
        "elastik skulder",
        "gang rollator",
    ];
    let mut times = Vec::new();
    let mut hits_total = 0;
    for phrase in typed {
        for end in phrase.char_indices().map(|(i, c)| i + c.len_utf8()) {
            for filter in [None, Some(Category::Balance)] {
                let q = Query {
                    text: phrase[..end].to_string(),
                    category: filter,
                    available_equipment: filter.map(|_| vec![Equipment::Chair, Equipment::Counter]),
                    ..Query::default()
                };
                let t = Instant::now();
                let hits = index.search(&q);
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                hits_total += hits.len();
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let (p50, p99, max) = (pct(0.5), pct(0.99), times[times.len() - 1]);
    println!("{} keystrokes: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms ({hits_total} hits in all)", times.len());
    println!(
        "{}",
        serde_json::json!({
            "exercises": index.len(),
            "index_build_ms": (build_ms * 10.0).round() / 10.0,
            "keystrokes": times.len(),
            "search_ms_p50": (p50 * 100.0).round() / 100.0,
            "search_ms_p99": (p99 * 100.0).round() / 100.0,
            "search_ms_max": (max * 100.0).round() / 100.0,
        })
    );
    Ok(())
}
