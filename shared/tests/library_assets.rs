//! Checks the shipped exercise library in `assets/` against the schema in
//! `homerehab_shared::library`, and keeps the illustrations generated from the exercise data.
//!
//! - `HOMEREHAB_REGENERATE_ILLUSTRATIONS=1` rewrites `assets/illustrations/*.svg` from the data
//!   instead of comparing (run `cargo test -p homerehab-shared --test library_assets illustrations`).
//! - `HOMEREHAB_ILLUSTRATION_PREVIEW=<dir>` also writes contact sheets (each animation at four
//!   moments, of every exercise or of those listed in `HOMEREHAB_ILLUSTRATION_PREVIEW_IDS=a,b`)
//!   to `<dir>`; `scripts/library-contact-sheet` renders them to `docs/library-contact-sheet-*.png`.

use homerehab_shared::library::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Everything under `assets/illustrations/` together must stay below this, so the whole library
/// is a small part of the app download: about 5 KB for each of 120 exercises (105 shipped in
/// release 4).
const ILLUSTRATION_BUDGET_BYTES: u64 = 600 * 1024;
/// And no single illustration may be larger than this.
const ILLUSTRATION_MAX_BYTES: u64 = 8 * 1024;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

/// `(file name, contents)` of every file in `assets/<dir>` ending in `ext`, sorted by name.
fn read_files(dir: &str, ext: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(assets().join(dir))
        .unwrap_or_else(|e| panic!("cannot list assets/{dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn illustration_names() -> BTreeSet<String> {
    read_files("illustrations", "svg")
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

fn load() -> Library {
    let manifest = fs::read_to_string(assets().join("library.toml")).expect("assets/library.toml");
    let exercises = read_files("exercises", "toml");
    let templates = read_files("templates", "toml");
    Library::parse(
        &manifest,
        exercises.iter().map(|(n, s)| (n.as_str(), s.as_str())),
        templates.iter().map(|(n, s)| (n.as_str(), s.as_str())),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_file_parses_and_the_library_checks_out() {
    let library = load();
    if let Err(e) = library.check(&illustration_names()) {
        panic!("{e}");
    }
}

/// The clinical lint (issue #15): a caution wherever the movement carries a risk, every
/// template goal served by a line. Chains are part of `Library::check` above.
#[test]
fn the_library_passes_the_clinical_lint() {
    let problems = load().lint();
    assert!(
        problems.is_empty(),
        "{} findings:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn library_is_big_enough_and_covers_every_category() {
    let library = load();
    assert!(
        library.active_exercises().count() >= 100,
        "{} exercises",
        library.exercises.len()
    );
    assert!(
        library.templates.len() >= 8,
        "{} templates",
        library.templates.len()
    );
    for category in [
        Category::Strength,
        Category::Balance,
        Category::Mobility,
        Category::Transfer,
        Category::GaitEndurance,
        Category::UpperBody,
        Category::Breathing,
    ] {
        let n = library
            .active_exercises()
            .filter(|e| e.category == category)
            .count();
        assert!(n >= 3, "only {n} exercises in {category:?}");
    }
    for position in [Position::Lying, Position::Sitting, Position::Standing] {
        assert!(
            library.active_exercises().any(|e| e.position == position),
            "nothing {position:?}"
        );
    }
}

#[test]
fn templates_cover_the_courses_municipalities_run() {
    let library = load();
    for id in [
        "fall-prevention",
        "after-hip-fracture",
        "general-strength-83a",
        "balance",
        "knee-osteoarthritis",
        "shoulder",
        "endurance-copd",
        "maintenance-86",
        "in-bed",
    ] {
        let t = library
            .templates
            .get(id)
            .unwrap_or_else(|| panic!("template {id} is missing"));
        let f = t.frame;
        assert!(
            (8..=12).contains(&f.weeks) && (2..=3).contains(&f.sessions_per_week),
            "{id}: {f:?}"
        );
        assert!((15..=30).contains(&f.minutes_per_session), "{id}: {f:?}");
    }
    assert_eq!(
        library.templates["general-strength-83a"].legal_basis.0,
        "SEL §83a"
    );
    assert_eq!(library.templates["general-strength-83a"].frame.weeks, 10);
    assert_eq!(
        library.templates["maintenance-86"].legal_basis.0,
        "SEL §86 stk. 2"
    );
    assert_eq!(
        library.templates["after-hip-fracture"].legal_basis.0,
        "Sundhedsloven §140"
    );
    // Its goal is to walk further, so the COPD course walks (issue #15).
    let copd = &library.templates["endurance-copd"];
    assert!(
        copd.exercises
            .iter()
            .any(|l| l.exercise.as_str().starts_with("walking-")),
        "endurance-copd has no walking"
    );
}

/// Templates checked against their evidence (issue #15): COPD's endurance minutes per the ATS/ERS
/// statement, the shoulder's rotator cuff, a grip exercise where grip is a goal (the clinical
/// lint checks every goal), a programme in bed.
#[test]
fn templates_follow_their_evidence() {
    let library = load();
    let dose = |l: &TemplateEntry| l.dosage_or(&library.exercises[&l.exercise].dosage).clone();
    // COPD: at least 20 minutes of endurance work in each session at the low end of the doses
    // (Spruit et al. 2013: 20-60 minutes, 3-5 times a week), walking among it.
    let copd = &library.templates["endurance-copd"];
    assert!(copd.references.iter().any(|r| r.starts_with("Spruit MA")));
    let endurance: u32 = copd
        .exercises
        .iter()
        .filter(|l| library.exercises[&l.exercise].category == Category::GaitEndurance)
        .map(|l| {
            let d = dose(l);
            u32::from(d.sets) * u32::from(d.duration_s.map_or(0, |s| s.min()))
        })
        .sum();
    assert!(endurance >= 20 * 60, "COPD endurance work is {endurance} s");
    assert!(copd.frame.sessions_per_week >= 3);
    // Pursed-lip breathing is a technique, not labelled a warm-up.
    let lips = copd
        .exercises
        .iter()
        .find(|l| l.exercise.as_str() == "pursed-lip-breathing")
        .unwrap();
    assert!(!lips.note.as_ref().unwrap()[&Lang::Da].contains("Opvarmning"));
    // Shoulder: the rotator cuff.
    let shoulder = &library.templates["shoulder"];
    assert!(shoulder.exercises.iter().any(|l| l
        .exercise
        .as_str()
        .starts_with("shoulder-external-rotation")));
    // General strength sets a grip goal and has a grip exercise.
    let strength = &library.templates["general-strength-83a"];
    assert!(strength.text[&Lang::Da]
        .goals
        .iter()
        .any(|g| g.contains("greb")));
    assert!(strength
        .exercises
        .iter()
        .any(|l| l.exercise.as_str().starts_with("grip-")));
    // In bed: every line is done lying or sitting on the bed.
    let in_bed = &library.templates["in-bed"];
    for l in &in_bed.exercises {
        let e = &library.exercises[&l.exercise];
        assert!(
            e.equipment.contains(&Equipment::Bed),
            "{} is not done in bed",
            e.id
        );
    }
}

/// Progression chains the therapists rely on, spelled out so a data edit cannot break them
/// silently.
#[test]
fn key_progression_chains_are_in_place() {
    let library = load();
    let chains: [&[&str]; 4] = [
        &[
            "sit-to-stand-with-arms",
            "sit-to-stand",
            "sit-to-stand-slow",
            "sit-to-stand-low-seat",
        ],
        &[
            "feet-together-stance",
            "semi-tandem-stance",
            "tandem-stance",
            "tandem-walk",
        ],
        &["single-leg-stance-support", "single-leg-stance"],
        &[
            "heel-raises-seated",
            "heel-raises-standing",
            "heel-raises-single-leg",
        ],
    ];
    for chain in chains {
        for pair in chain.windows(2) {
            let e = &library.exercises[pair[0]];
            assert!(
                e.progressions.iter().any(|p| p.as_str() == pair[1]),
                "{} → {}",
                pair[0],
                pair[1]
            );
        }
    }
}

/// The Otago Exercise Programme (Campbell & Robertson, ACC 2003): its 5 strength and 12 balance
/// exercises, each level as the programme names it, easiest first, and the library exercise
/// that is that level. The manual's levels that only raise the dose (a heavier ankle weight,
/// more sets) are the same exercise.
const OTAGO: &[(&str, &[(&str, &str)])] = &[
    (
        "front-knee-strengthening",
        &[("ankle weight", "seated-knee-extension-weight")],
    ),
    (
        "back-knee-strengthening",
        &[("ankle weight", "standing-knee-flexion-weight")],
    ),
    (
        "side-hip-strengthening",
        &[("ankle weight", "standing-hip-abduction-weight")],
    ),
    (
        "calf-raises",
        &[
            ("support", "heel-raises-standing"),
            ("no support", "heel-raises-no-support"),
            ("one leg, support", "heel-raises-single-leg"),
            ("one leg, no support", "heel-raises-single-leg-no-support"),
        ],
    ),
    (
        "toe-raises",
        &[
            ("support", "toe-raises-standing"),
            ("no support", "toe-raises-no-support"),
        ],
    ),
    (
        "knee-bends",
        &[
            ("support", "mini-squat-support"),
            ("no support", "mini-squat"),
        ],
    ),
    (
        "backwards-walking",
        &[
            ("support", "backward-walking"),
            ("no support", "backward-walking-no-support"),
        ],
    ),
    (
        "walking-and-turning-around",
        &[
            ("walk and turn", "walking-turning-around"),
            ("figure of eight", "figure-of-eight-walking"),
        ],
    ),
    (
        "sideways-walking",
        &[
            ("support", "sideways-walking"),
            ("no support", "sideways-walking-no-support"),
        ],
    ),
    (
        "tandem-stance",
        &[
            ("support", "tandem-stance"),
            ("no support", "tandem-stance-no-support"),
        ],
    ),
    (
        "tandem-walk",
        &[
            ("support", "tandem-walk"),
            ("no support", "tandem-walk-no-support"),
        ],
    ),
    (
        "one-leg-stand",
        &[
            ("support", "single-leg-stance-support"),
            ("no support", "single-leg-stance"),
        ],
    ),
    (
        "heel-walking",
        &[
            ("support", "heel-walking"),
            ("no support", "heel-walking-no-support"),
        ],
    ),
    (
        "toe-walking",
        &[
            ("support", "toe-walking"),
            ("no support", "toe-walking-no-support"),
        ],
    ),
    (
        "heel-toe-walking-backwards",
        &[("no support", "heel-toe-walking-backwards")],
    ),
    (
        "sit-to-stand",
        &[
            ("two hands", "sit-to-stand-with-arms"),
            ("one hand", "sit-to-stand-one-hand"),
            ("no hands", "sit-to-stand"),
        ],
    ),
    ("stair-walking", &[("as instructed", "stair-climbing")]),
];

const OTAGO_CITATION: &str = "Campbell AJ, Robertson MC. Otago Exercise Programme to prevent falls in older adults. Wellington: ACC, 2003.";

/// Every Otago exercise and level is in the library, marked as that item and level, citing the
/// manual, and each level links to the next as its progression (issue #15).
#[test]
fn the_otago_programme_is_complete_with_every_level_linked() {
    let library = load();
    assert_eq!(
        OTAGO.len(),
        17,
        "Otago has 5 strength and 12 balance exercises"
    );
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for (item, levels) in OTAGO {
        for (level, id) in *levels {
            listed.insert(*id);
            let Some(e) = library.exercise(id) else {
                problems.push(format!("Otago {item}, {level}: no exercise `{id}`"));
                continue;
            };
            let expected = ProgrammeLevel {
                name: "otago".into(),
                item: (*item).into(),
                level: (*level).into(),
            };
            if e.programme.as_ref() != Some(&expected) {
                problems.push(format!(
                    "{id} should be marked {expected:?}, is {:?}",
                    e.programme
                ));
            }
            if !e.references.iter().any(|r| r == OTAGO_CITATION) {
                problems.push(format!("{id} does not cite the Otago manual"));
            }
        }
        for pair in levels.windows(2) {
            let (easier, harder) = (pair[0].1, pair[1].1);
            let linked = library
                .exercise(easier)
                .is_some_and(|e| e.progressions.iter().any(|p| p.as_str() == harder));
            if !linked {
                problems.push(format!(
                    "Otago {item}: {easier} must list {harder} as a progression"
                ));
            }
        }
    }
    // And nothing else claims to be an Otago level.
    for e in library.exercises.values() {
        let otago = e.programme.as_ref().is_some_and(|p| p.name == "otago");
        if otago && !listed.contains(e.id.as_str()) {
            problems.push(format!(
                "{} is marked Otago but is in no level of the list",
                e.id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The falls-prevention template is Otago: all five strength exercises, every balance
/// exercise a beginner starts with at its first level, the manual's doses, and its walking
/// plan between the sessions.
#[test]
fn the_fall_prevention_template_follows_otago() {
    let library = load();
    let t = &library.templates["fall-prevention"];
    assert!(t.references.iter().any(|r| r == OTAGO_CITATION));
    let level_of = |id: &str| {
        library
            .exercise(id)
            .and_then(|e| e.programme.clone())
            .filter(|p| p.name == "otago")
    };
    let items: BTreeSet<String> = t
        .exercises
        .iter()
        .filter_map(|l| level_of(l.exercise.as_str()))
        .map(|p| p.item)
        .collect();
    for item in [
        "front-knee-strengthening",
        "back-knee-strengthening",
        "side-hip-strengthening",
        "calf-raises",
        "toe-raises",
        "knee-bends",
        "backwards-walking",
        "walking-and-turning-around",
        "sideways-walking",
        "tandem-stance",
        "one-leg-stand",
        "sit-to-stand",
    ] {
        assert!(items.contains(item), "fall-prevention lacks Otago's {item}");
    }
    for line in &t.exercises {
        let Some(p) = level_of(line.exercise.as_str()) else {
            continue;
        };
        // Each starts at the programme's first level of its item.
        let first = OTAGO.iter().find(|(i, _)| *i == p.item).unwrap().1[0].1;
        assert_eq!(
            line.exercise.as_str(),
            first,
            "{}: start at level one",
            p.item
        );
        // Strength: 2 sets of 10 (Otago).
        if p.item.ends_with("strengthening") || p.item.ends_with("raises") {
            let d = line.dosage_or(&library.exercises[&line.exercise].dosage);
            assert_eq!((d.sets, d.reps), (2, Some(Amount::Exact(10))), "{}", p.item);
        }
    }
    // The walking plan: between the sessions, up to 30 minutes, 3 times a week, 10-minute bouts.
    let walk = t
        .exercises
        .iter()
        .find(|l| l.between_sessions)
        .expect("a walking plan line");
    let e = &library.exercises[&walk.exercise];
    assert_eq!(e.category, Category::GaitEndurance);
    let d = walk.dosage_or(&e.dosage);
    assert_eq!(d.duration_s, Some(Amount::Range([600, 1800])));
    let note = &walk.note.as_ref().unwrap()[&Lang::Da];
    assert!(
        note.contains("3 gange om ugen") && note.contains("30 min") && note.contains("10 min"),
        "{note}"
    );
    // It does not count towards the session: without it the rest still fits 30 minutes…
    let session: u32 = t
        .exercises
        .iter()
        .filter(|l| !l.between_sessions)
        .map(|l| {
            l.dosage_or(&library.exercises[&l.exercise].dosage)
                .minimum_seconds()
        })
        .sum();
    assert!(session <= 30 * 60, "{session} s");
    // …and with it, it would not.
    assert!(session + d.minimum_seconds() > 30 * 60 || t.frame.minutes_per_session < 40);
}

#[test]
fn illustrations_are_generated_from_the_exercise_data() {
    let library = load();
    let dir = assets().join("illustrations");
    let regenerate =
        std::env::var_os("HOMEREHAB_REGENERATE_ILLUSTRATIONS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for e in library.exercises.values() {
        let svg = render_svg(&e.illustration);
        let path = dir.join(e.illustration_file());
        if regenerate {
            fs::write(&path, &svg).unwrap();
        } else if fs::read_to_string(&path).ok().as_deref() != Some(svg.as_str()) {
            stale.push(e.illustration_file());
        }
    }
    if regenerate {
        for name in illustration_names() {
            if !library
                .exercises
                .contains_key(name.trim_end_matches(".svg"))
            {
                fs::remove_file(dir.join(name)).unwrap();
            }
        }
    }
    if let Some(preview) = std::env::var_os("HOMEREHAB_ILLUSTRATION_PREVIEW") {
        write_contact_sheets(&library, Path::new(&preview));
    }
    assert!(
        stale.is_empty(),
        "these illustrations differ from their exercise data; run with \
         HOMEREHAB_REGENERATE_ILLUSTRATIONS=1 (see assets/README.md): {stale:?}"
    );
}

/// The pictures issue #15 found unclear show their key moment (checked on the figure's joints,
/// so a later edit cannot lose it silently).
#[test]
fn pictures_show_the_key_moment() {
    let library = load();
    let ill = |id: &str| &library.exercises[id].illustration;
    let lean = |f: &Figure| {
        let (p, n) = (f[Joint::Pelvis], f[Joint::Neck]);
        (n.0 - p.0).atan2(n.1 - p.1).to_degrees()
    };
    let frames = |i: &Illustration| {
        (0..=24)
            .map(|k| i.frame(k as f32 / 24.0))
            .collect::<Vec<_>>()
    };
    // Standing up from a chair, with or without armrests, leans forward (nose over the toes).
    for id in [
        "sit-to-stand-with-arms",
        "sit-to-stand-one-hand",
        "sit-to-stand",
        "chair-stand-30s",
    ] {
        let most = frames(ill(id)).iter().map(lean).fold(0.0, f32::max);
        assert!(most >= 40.0, "{id} leans {most:.0}°");
    }
    // Getting down to the floor reaches it: both hands on the floor at the end.
    let down = ill("get-down-to-floor-with-chair").frame(1.0);
    assert!(
        down[Joint::NearHand].1 < 8.0 && down[Joint::FarHand].1 < 8.0,
        "hands at {:?}",
        down[Joint::NearHand]
    );
    // The cane goes forward with the opposite leg (the cane is in the near hand).
    let cane = ill("walking-with-cane");
    for t in [0.0, 1.0] {
        let f = cane.frame(t);
        let cane_ahead = f[Joint::NearHand].0 > f[Joint::Pelvis].0 + 8.0;
        let far_leg_ahead = f[Joint::FarAnkle].0 > f[Joint::NearAnkle].0;
        assert_eq!(
            cane_ahead, far_leg_ahead,
            "t = {t}: the cane must move with the far leg"
        );
    }
    // Toe raises lift the forefoot clearly (the toe well above the floor).
    for id in ["toe-raises-standing", "toe-raises-no-support"] {
        let f = ill(id).frame(1.0);
        assert!(
            f[Joint::NearToe].1 > 8.0,
            "{id}: toe at {:?}",
            f[Joint::NearToe]
        );
    }
    // With support a hand is on the counter's top; without, the hands are clear of it.
    let on_counter = |id: &str| {
        let i = ill(id);
        let counters: Vec<(f32, f32, f32)> = i
            .props
            .iter()
            .filter_map(|p| match p {
                Prop::Counter { x, height, width } => Some((*x, *height, *width)),
                _ => None,
            })
            .collect();
        assert!(!counters.is_empty(), "{id} draws no counter");
        let f = i.frame(0.0);
        [Joint::NearHand, Joint::FarHand].iter().any(|&h| {
            let (x, y) = f[h];
            counters
                .iter()
                .any(|&(cx, ch, cw)| x >= cx - 2.0 && x <= cx + cw && (y - ch).abs() <= 6.0)
        })
    };
    for id in [
        "backward-walking",
        "sideways-walking",
        "heel-walking",
        "toe-walking",
        "tandem-walk",
        "heel-raises-standing",
        "toe-raises-standing",
        "single-leg-stance-support",
        "marching-with-support",
        "reach-forward",
    ] {
        assert!(on_counter(id), "{id}: no hand on the counter");
    }
    for id in [
        "backward-walking-no-support",
        "sideways-walking-no-support",
        "heel-raises-no-support",
        "toe-raises-no-support",
        "single-leg-stance",
        "tandem-walk-no-support",
        "heel-walking-no-support",
        "toe-walking-no-support",
        "heel-toe-walking-backwards",
    ] {
        assert!(!on_counter(id), "{id}: a hand rests on the counter");
    }
    // Tandem stance says heel to toe in a second view.
    assert!(ill("tandem-stance").props.contains(&Prop::Footprints {
        stance: Stance::Tandem
    }));
}

#[test]
fn a_second_pose_on_the_way_needs_the_first() {
    let mini = Mini::new().edit(
        "easy.toml",
        "[illustration.end]",
        "[illustration.then]\nanchor = \"near_toe\"\nat = [30, 0]\ntrunk = 10\nnear_arm = [60, -130]\nfar_arm = [60, -130]\nnear_leg = [60, -8, 80]\nfar_leg = [60, -8, 80]\n\n[illustration.end]",
    );
    let problems = mini.problems();
    assert!(
        problems.iter().any(|p| matches!(p, LibraryError::Illustration { problem, .. } if problem.contains("give `via` first"))),
        "{problems:?}"
    );
}

#[test]
fn illustrations_fit_the_size_budget() {
    let mut total = 0;
    for name in illustration_names() {
        let size = fs::metadata(assets().join("illustrations").join(&name))
            .unwrap()
            .len();
        assert!(size <= ILLUSTRATION_MAX_BYTES, "{name} is {size} bytes");
        total += size;
    }
    assert!(
        total <= ILLUSTRATION_BUDGET_BYTES,
        "illustrations total {total} bytes"
    );
}

/// The moments of each animation on a contact sheet: the start pose, a quarter, half and
/// three quarters of the way (with a `via` pose, half-way is the via pose), and the end pose.
const SHEET_MOMENTS: [f32; 4] = [0.0, 0.5, 0.75, 1.0];
/// Exercises per row and rows per sheet.
const SHEET_COLUMNS: usize = 3;
const SHEET_ROWS: usize = 12;

/// Writes SVG contact sheets (`sheet-00.svg`, …): every exercise, or those listed in
/// `HOMEREHAB_ILLUSTRATION_PREVIEW_IDS`, as stills at [`SHEET_MOMENTS`] with its id and Danish
/// title, [`SHEET_COLUMNS`] exercises a row. `scripts/library-contact-sheet` renders them to PNG.
fn write_contact_sheets(library: &Library, dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for old in fs::read_dir(dir).unwrap().flatten() {
        if old.file_name().to_string_lossy().starts_with("sheet-") {
            fs::remove_file(old.path()).unwrap();
        }
    }
    // One still is 120 × 105 (the canvas is 240 × 210 figure units).
    let (w, h, gap) = (120.0_f32, 105.0_f32, 6.0_f32);
    let cell_w = w * SHEET_MOMENTS.len() as f32 + gap * 4.0;
    let cell_h = h + 22.0;
    let only = std::env::var("HOMEREHAB_ILLUSTRATION_PREVIEW_IDS").unwrap_or_default();
    let exercises: Vec<&Exercise> = library
        .exercises
        .values()
        .filter(|e| only.is_empty() || only.split(',').any(|id| id == e.id.as_str()))
        .collect();
    for (n, page) in exercises.chunks(SHEET_COLUMNS * SHEET_ROWS).enumerate() {
        let rows = page.len().div_ceil(SHEET_COLUMNS);
        let mut sheet = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>",
            cell_w * SHEET_COLUMNS as f32,
            cell_h * rows as f32
        );
        for (i, e) in page.iter().enumerate() {
            let (x0, y0) = (
                cell_w * (i % SHEET_COLUMNS) as f32,
                cell_h * (i / SHEET_COLUMNS) as f32,
            );
            sheet.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/><text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\">{} — {}</text>",
                x0 + 1.0,
                y0 + 1.0,
                cell_w - 2.0,
                cell_h - 2.0,
                x0 + 5.0,
                y0 + 14.0,
                e.id,
                e.text(Lang::Da).title
            ));
            for (col, t) in SHEET_MOMENTS.into_iter().enumerate() {
                let still = render_still(&e.illustration, t).replacen(
                    "<svg ",
                    &format!(
                        "<svg x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{h}\" ",
                        x0 + gap + col as f32 * (w + gap),
                        y0 + 18.0
                    ),
                    1,
                );
                sheet.push_str(&still);
            }
        }
        sheet.push_str("</svg>");
        fs::write(dir.join(format!("sheet-{n:02}.svg")), sheet).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// The checks themselves, on small in-memory libraries: each one must catch its mistake.

/// A valid exercise file with the given links; `extra` is appended to the top-level keys.
fn exercise_toml(id: &str, difficulty: u8, progressions: &[&str], regressions: &[&str]) -> String {
    let list = |ids: &[&str]| {
        ids.iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        r#"id = "{id}"
version = 1
category = "strength"
position = "sitting"
equipment = ["chair"]
body_areas = ["knee"]
difficulty = {difficulty}
progressions = [{}]
regressions = [{}]

[dosage]
sets = 3
reps = [8, 12]
rest_s = 60

[text.da]
title = "Øvelse {id}"
summary = "En øvelse."
steps = ["Sid på stolen.", "Rejs dig op."]
key_points = ["Rolig vejrtrækning."]
common_errors = ["Dumper ned: sæt dig langsomt."]
safety = ["Stolen står mod en væg."]

[text.en]
title = "Exercise {id}"
summary = "An exercise."
steps = ["Sit on the chair.", "Stand up."]
key_points = ["Calm breathing."]
common_errors = ["Dropping down: sit down slowly."]
safety = ["The chair stands against a wall."]

[illustration]
view = "side"
props = [{{ kind = "chair", x = 0 }}]

[illustration.start]
anchor = "near_toe"
at = [30, 0]
trunk = 25
near_arm = [60, -130]
far_arm = [60, -130]
near_leg = [84, -8, 80]
far_leg = [84, -8, 80]

[illustration.end]
anchor = "near_toe"
at = [30, 0]
trunk = 0
near_arm = [30, -160]
far_arm = [30, -160]
near_leg = [0, 0, 80]
far_leg = [0, 0, 80]
"#,
        list(progressions),
        list(regressions)
    )
}

const MINI_TEMPLATE: &str = r#"id = "mini"
version = 1
legal_basis = "SEL §83a"
references = ["Campbell AJ, Robertson MC. Otago Exercise Programme to prevent falls in older adults. ACC, 2003."]

[frame]
weeks = 10
sessions_per_week = 2
minutes_per_session = 20

[text.da]
title = "Mini"
description = "En lille skabelon."
goals = ["Rejse sig selv."]

[text.en]
title = "Mini"
description = "A small template."
goals = ["Get up unaided."]

[[exercises]]
exercise = "easy"

[[exercises]]
exercise = "medium"

[[exercises]]
exercise = "hard"
"#;

fn mini_manifest(exercises: &[&str]) -> String {
    let ids = exercises
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"schema_version = 1
library_version = 1

[general_safety]
da = ["Stop ved brystsmerter."]
en = ["Stop with chest pain."]

[[releases]]
library_version = 1
date = "2026-11-24"
notes = "First."

[releases.exercises]
added = [{ids}]

[releases.templates]
added = ["mini"]
"#
    )
}

/// A small library: easy → medium → hard, and a template using all three.
struct Mini {
    manifest: String,
    exercises: Vec<(String, String)>,
    templates: Vec<(String, String)>,
    illustrations: BTreeSet<String>,
}

impl Mini {
    fn new() -> Mini {
        let exercises = vec![
            (
                "easy.toml".to_owned(),
                exercise_toml("easy", 1, &["medium"], &[]),
            ),
            (
                "medium.toml".to_owned(),
                exercise_toml("medium", 2, &["hard"], &["easy"]),
            ),
            (
                "hard.toml".to_owned(),
                exercise_toml("hard", 3, &[], &["medium"]),
            ),
        ];
        Mini {
            manifest: mini_manifest(&["easy", "medium", "hard"]),
            exercises,
            templates: vec![("mini.toml".to_owned(), MINI_TEMPLATE.to_owned())],
            illustrations: ["easy.svg", "medium.svg", "hard.svg"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    fn edit(mut self, file: &str, from: &str, to: &str) -> Mini {
        let src = self
            .exercises
            .iter_mut()
            .chain(self.templates.iter_mut())
            .find(|(name, _)| name == file)
            .map(|(_, src)| src)
            .unwrap_or_else(|| panic!("no file {file}"));
        assert!(src.contains(from), "{file} has no `{from}`");
        *src = src.replacen(from, to, 1);
        self
    }

    fn parse(&self) -> Result<Library, LibraryError> {
        Library::parse(
            &self.manifest,
            self.exercises.iter().map(|(n, s)| (n.as_str(), s.as_str())),
            self.templates.iter().map(|(n, s)| (n.as_str(), s.as_str())),
        )
    }

    /// Every problem found, parsing and checking.
    fn problems(&self) -> Vec<LibraryError> {
        let result = self.parse().and_then(|lib| lib.check(&self.illustrations));
        match result {
            Ok(()) => vec![],
            Err(e) => e.problems().into_iter().cloned().collect(),
        }
    }
}

#[test]
fn an_unlinked_exercise_must_say_why() {
    // `hard` loses its link to `medium` both ways: now it is alone, and says nothing.
    let mini = Mini::new()
        .edit(
            "medium.toml",
            "progressions = [\"hard\"]",
            "progressions = []",
        )
        .edit(
            "hard.toml",
            "regressions = [\"medium\"]",
            "regressions = []",
        );
    let problems = mini.problems();
    assert!(
        problems.iter().any(|p| matches!(p, LibraryError::Field { owner, field: "progressions", .. } if owner == "exercise hard")),
        "{problems:?}"
    );
    // With the reason it passes…
    let reason = mini.edit(
        "hard.toml",
        "regressions = []",
        "regressions = []\nstandalone = \"The only hard one.\"",
    );
    assert_eq!(reason.problems(), vec![]);
    // …but a linked exercise may not claim to be alone.
    let linked = Mini::new().edit(
        "medium.toml",
        "regressions = [\"easy\"]",
        "regressions = [\"easy\"]\nstandalone = \"Alone.\"",
    );
    assert!(linked.problems().iter().any(|p| matches!(
        p,
        LibraryError::Field {
            field: "standalone",
            ..
        }
    )));
}

#[test]
fn a_programme_level_cites_its_programme() {
    let marked = Mini::new().edit(
        "easy.toml",
        "regressions = []",
        "regressions = []\nprogramme = { name = \"otago\", item = \"calf-raises\", level = \"support\" }",
    );
    assert!(marked.problems().iter().any(
        |p| matches!(p, LibraryError::Field { owner, field: "references", .. } if owner == "exercise easy")
    ));
    let cited = marked.edit(
        "easy.toml",
        "regressions = []",
        "regressions = []\nreferences = [\"Campbell AJ, Robertson MC. Otago Exercise Programme to prevent falls in older adults. Wellington: ACC, 2003.\"]",
    );
    assert_eq!(cited.problems(), vec![]);
    let lib = cited.parse().unwrap();
    assert_eq!(
        lib.exercises["easy"].programme.as_ref().unwrap().level,
        "support"
    );
}

#[test]
fn a_line_between_sessions_does_not_count_towards_the_session() {
    // 5 minutes is too short for the three lines…
    let short = Mini::new().edit(
        "mini.toml",
        "minutes_per_session = 20",
        "minutes_per_session = 5",
    );
    assert!(!short.problems().is_empty());
    // …but with two of them done between sessions (each with its note) the third fits.
    let between = short
        .edit(
            "mini.toml",
            "exercise = \"easy\"",
            "exercise = \"easy\"\nbetween_sessions = true\nnote = { da = \"Gå en tur.\", en = \"Go for a walk.\" }",
        )
        .edit(
            "mini.toml",
            "exercise = \"medium\"",
            "exercise = \"medium\"\nbetween_sessions = true",
        );
    let problems = between.problems();
    // The line without a note is reported, the session length no longer.
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        matches!(&problems[0], LibraryError::Field { field: "note", .. }),
        "{problems:?}"
    );
}

/// The clinical lint's findings on a small library, as text.
fn lint_of(mini: &Mini) -> Vec<String> {
    mini.parse()
        .unwrap()
        .lint()
        .iter()
        .map(|p| p.to_string())
        .collect()
}

/// The small library with safety notes that are cautions and a goal its lines serve.
fn clean_for_lint() -> Mini {
    let mut mini = Mini::new();
    for (_, src) in &mut mini.exercises {
        *src = src
            .replace("Stolen står mod en væg.", "Stolen skal stå mod en væg.")
            .replace(
                "The chair stands against a wall.",
                "The chair must stand against a wall.",
            );
    }
    mini.edit(
        "mini.toml",
        "goals = [\"Rejse sig selv.\"]",
        "goals = [\"Mere styrke i benene.\"]",
    )
    .edit(
        "mini.toml",
        "goals = [\"Get up unaided.\"]",
        "goals = [\"Stronger legs.\"]",
    )
}

#[test]
fn the_lint_passes_a_clean_small_library() {
    assert_eq!(lint_of(&clean_for_lint()), Vec::<String>::new());
}

#[test]
fn the_lint_finds_a_tip_among_the_cautions() {
    // Mini's own note states a fact and asks for nothing: a tip.
    let found = lint_of(&Mini::new());
    assert!(
        found
            .iter()
            .any(|f| f.contains("exercise easy") && f.contains("reads as a tip")),
        "{found:?}"
    );
}

#[test]
fn the_lint_wants_a_fall_caution_where_the_citizen_stands() {
    let standing = clean_for_lint().edit(
        "easy.toml",
        "position = \"sitting\"",
        "position = \"standing\"",
    );
    let found = lint_of(&standing);
    assert!(
        found
            .iter()
            .any(|f| f.contains("exercise easy") && f.contains("risk of a fall")),
        "{found:?}"
    );
    let cautioned = standing
        .edit(
            "easy.toml",
            "Stolen skal stå mod en væg.",
            "Hold fast i stolen, så et fald undgås.",
        )
        .edit(
            "easy.toml",
            "The chair must stand against a wall.",
            "Hold the chair so a fall is avoided.",
        );
    assert_eq!(lint_of(&cautioned), Vec::<String>::new());
}

#[test]
fn the_lint_wants_breathing_exercises_to_caution_for_severe_copd() {
    let breathing = clean_for_lint().edit(
        "easy.toml",
        "category = \"strength\"",
        "category = \"breathing\"",
    );
    let found = lint_of(&breathing);
    assert!(found.iter().any(|f| f.contains("COPD")), "{found:?}");
}

#[test]
fn the_lint_wants_every_template_goal_served() {
    // Rising from a chair, and no line is a sit-to-stand.
    let rising = clean_for_lint().edit(
        "mini.toml",
        "Mere styrke i benene.",
        "Rejse sig fra stolen.",
    );
    let found = lint_of(&rising);
    assert!(
        found
            .iter()
            .any(|f| f.contains("template mini") && f.contains("rising from a chair")),
        "{found:?}"
    );
    // A goal naming nothing the lint knows is reported, not let through.
    let vague = clean_for_lint().edit("mini.toml", "Mere styrke i benene.", "Have det bedre.");
    let found = lint_of(&vague);
    assert!(
        found.iter().any(|f| f.contains("names no activity")),
        "{found:?}"
    );
}

#[test]
fn a_correct_small_library_passes() {
    assert_eq!(Mini::new().problems(), vec![]);
}

#[test]
fn a_broken_progression_link_is_reported() {
    let mini = Mini::new().edit(
        "medium.toml",
        "progressions = [\"hard\"]",
        "progressions = [\"hrad\"]",
    );
    let problems = mini.problems();
    assert!(
        problems.contains(&LibraryError::UnknownExercise {
            owner: "exercise medium".into(),
            relation: "progression",
            target: "hrad".into()
        }),
        "{problems:?}"
    );
    // …and `hard` no longer gets its regression returned.
    assert!(problems
        .iter()
        .any(|p| matches!(p, LibraryError::OneWayLink { owner, .. } if owner == "exercise hard")));
}

#[test]
fn a_progression_must_not_be_easier() {
    let problems = Mini::new()
        .edit("hard.toml", "difficulty = 3", "difficulty = 1")
        .problems();
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, LibraryError::LinkDifficulty { .. })),
        "{problems:?}"
    );
}

#[test]
fn missing_english_text_is_reported() {
    let mini = Mini::new();
    let src = &mini.exercises[0].1;
    let without_en = src[..src.find("[text.en]").unwrap()].to_owned()
        + &src[src.find("[illustration]").unwrap()..];
    let mini = Mini {
        exercises: vec![("easy.toml".into(), without_en)],
        ..Mini::new()
    }
    .edit(
        "easy.toml",
        "progressions = [\"medium\"]",
        "progressions = []",
    );
    let problems = mini.problems();
    assert!(
        problems.contains(&LibraryError::MissingLanguage {
            owner: "exercise easy".into(),
            language: "English"
        }),
        "{problems:?}"
    );
}

#[test]
fn steps_must_be_translated_one_by_one() {
    let problems = Mini::new()
        .edit(
            "easy.toml",
            "steps = [\"Sit on the chair.\", \"Stand up.\"]",
            "steps = [\"Sit down and stand up.\"]",
        )
        .problems();
    assert!(problems
        .iter()
        .any(|p| matches!(p, LibraryError::TranslationMismatch { field: "steps", .. })));
}

#[test]
fn a_misspelt_field_names_the_field() {
    let err = Mini::new()
        .edit("easy.toml", "rest_s = 60", "rest = 60")
        .parse()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("easy.toml: cannot be read"), "{text}");
    assert!(text.contains("rest"), "{text}");
}

#[test]
fn a_difficulty_outside_1_to_5_is_explained() {
    let err = Mini::new()
        .edit("easy.toml", "difficulty = 1", "difficulty = 7")
        .parse()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("difficulty must be 1 (easiest) to 5 (hardest), not 7"),
        "{err}"
    );
}

#[test]
fn the_file_name_must_match_the_id() {
    let mut mini = Mini::new();
    mini.exercises[0].0 = "Easy.toml".into();
    let err = mini.parse().unwrap_err();
    assert!(err.problems().contains(&&LibraryError::FileName {
        file: "Easy.toml".into(),
        id: "easy".into()
    }));
}

#[test]
fn impossible_dosages_are_reported() {
    let problems = Mini::new()
        .edit("easy.toml", "rest_s = 60", "rest_s = 60\nduration_s = 120")
        .problems();
    assert!(
        problems.iter().any(
            |p| matches!(p, LibraryError::Dosage { problem, .. } if problem.contains("not both"))
        ),
        "{problems:?}"
    );
    let problems = Mini::new()
        .edit("easy.toml", "reps = [8, 12]", "reps = [12, 8]")
        .problems();
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, LibraryError::Dosage { .. })),
        "{problems:?}"
    );
}

#[test]
fn a_template_line_must_name_an_existing_active_exercise() {
    let problems = Mini::new()
        .edit("mini.toml", "exercise = \"hard\"", "exercise = \"hardest\"")
        .problems();
    assert!(problems.contains(&LibraryError::UnknownExercise {
        owner: "template mini".into(),
        relation: "exercise",
        target: "hardest".into()
    }));
}

#[test]
fn a_template_must_fit_its_session_length() {
    let problems = Mini::new()
        .edit(
            "mini.toml",
            "minutes_per_session = 20",
            "minutes_per_session = 5",
        )
        .problems();
    assert!(
        problems.iter().any(|p| matches!(p, LibraryError::Field { field: "exercises", problem, .. } if problem.contains("minutes"))),
        "{problems:?}"
    );
}

#[test]
fn a_template_must_cite_its_sources() {
    let reference_problem = |problems: &[LibraryError]| {
        problems.iter().any(
            |p| matches!(p, LibraryError::Field { owner, field: "references", .. } if owner == "template mini"),
        )
    };
    let mini = Mini::new();
    let parsed = mini.parse().unwrap();
    assert_eq!(
        parsed.templates["mini"].references,
        vec!["Campbell AJ, Robertson MC. Otago Exercise Programme to prevent falls in older adults. ACC, 2003."]
    );
    // Without any: reported, naming the field.
    let without = Mini::new()
        .edit("mini.toml", "references = [", "# references = [")
        .problems();
    assert!(reference_problem(&without), "{without:?}");
    // A bare link is not a citation.
    let link = Mini::new()
        .edit(
            "mini.toml",
            "references = [",
            "references = [\"https://example.org/otago\", ",
        )
        .problems();
    assert!(reference_problem(&link), "{link:?}");
    // Too many.
    let five = Mini::new()
        .edit(
            "mini.toml",
            "references = [",
            "references = [\"A 2001.\", \"B 2002.\", \"C 2003.\", \"D 2004.\", ",
        )
        .problems();
    assert!(reference_problem(&five), "{five:?}");
}

#[test]
fn every_shipped_template_cites_its_sources() {
    let library = load();
    for t in library.templates.values() {
        assert!(
            !t.references.is_empty(),
            "template {} cites no source",
            t.id
        );
    }
}

#[test]
fn shipped_ids_are_never_removed() {
    let mut mini = Mini::new();
    mini.exercises.retain(|(name, _)| name != "hard.toml");
    mini.illustrations.remove("hard.svg");
    let problems = mini.problems();
    assert!(
        problems.iter().any(|p| matches!(p, LibraryError::Manifest { problem } if problem.contains("`hard` was shipped"))),
        "{problems:?}"
    );
}

#[test]
fn a_new_exercise_must_be_listed_in_a_release() {
    let mut mini = Mini::new();
    mini.exercises
        .push(("extra.toml".into(), exercise_toml("extra", 1, &[], &[])));
    mini.illustrations.insert("extra.svg".into());
    let problems = mini.problems();
    assert!(problems.iter().any(|p| matches!(p, LibraryError::Manifest { problem } if problem.contains("`extra` is in no release"))));
}

#[test]
fn a_correction_bumps_the_version_and_is_listed() {
    // Bumping the version without a release that lists the change is an error…
    let bumped = Mini::new().edit("easy.toml", "version = 1", "version = 2");
    assert!(bumped
        .problems()
        .iter()
        .any(|p| matches!(p, LibraryError::Manifest { problem } if problem.contains("must be 1"))));
    // …and with release 2 listing it as changed, it is right.
    let mut fixed = bumped;
    fixed.manifest = fixed.manifest.replace("library_version = 1\n\n[general", "library_version = 2\n\n[general")
        + "\n[[releases]]\nlibrary_version = 2\ndate = \"2027-03-01\"\nnotes = \"Clearer steps.\"\n\n[releases.exercises]\nchanged = [\"easy\"]\n";
    assert_eq!(fixed.problems(), vec![]);
}

#[test]
fn a_retired_exercise_stays_and_is_not_linked_to() {
    let mut mini = Mini::new().edit(
        "hard.toml",
        "version = 1",
        "version = 1\nstatus = \"retired\"\nreplaced_by = \"medium\"",
    );
    mini.manifest = mini.manifest.replace("library_version = 1\n\n[general", "library_version = 2\n\n[general")
        + "\n[[releases]]\nlibrary_version = 2\ndate = \"2027-03-01\"\nnotes = \"Retire hard.\"\n\n[releases.exercises]\nretired = [\"hard\"]\n";
    let problems = mini.problems();
    // medium still links to it, and the template still uses it: both reported.
    assert!(problems.iter().any(
        |p| matches!(p, LibraryError::RetiredExercise { owner, .. } if owner == "exercise medium")
    ));
    assert!(problems.iter().any(
        |p| matches!(p, LibraryError::RetiredExercise { owner, .. } if owner == "template mini")
    ));
    // A program that still refers to `hard` is shown its replacement.
    let lib = mini.parse().unwrap();
    assert_eq!(lib.current("hard").unwrap().id.as_str(), "medium");
    assert_eq!(lib.exercise("hard").unwrap().status, Status::Retired);
}

#[test]
fn a_missing_or_left_over_illustration_is_reported() {
    let mut mini = Mini::new();
    mini.illustrations.remove("easy.svg");
    mini.illustrations.insert("old.svg".into());
    let problems = mini.problems();
    assert!(problems.contains(&LibraryError::MissingIllustration {
        owner: "exercise easy".into(),
        file: "easy.svg".into()
    }));
    assert!(problems
        .iter()
        .any(|p| matches!(p, LibraryError::Manifest { problem } if problem.contains("old.svg"))));
}

#[test]
fn a_pose_below_the_floor_is_reported() {
    let problems = Mini::new()
        .edit(
            "easy.toml",
            "at = [30, 0]\ntrunk = 0",
            "at = [30, -20]\ntrunk = 0",
        )
        .problems();
    assert!(
        problems.iter().any(|p| matches!(p, LibraryError::Illustration { problem, .. } if problem.contains("below the floor"))),
        "{problems:?}"
    );
}

#[test]
fn the_generator_is_deterministic_and_animates_between_the_poses() {
    let lib = Mini::new().parse().unwrap();
    let ill = &lib.exercises["easy"].illustration;
    let svg = render_svg(ill);
    assert_eq!(svg, render_svg(ill));
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains("<animate attributeName=\"d\""));
    // The still frames differ, and the animation's first frame is the start pose.
    let (start, end) = (render_still(ill, 0.0), render_still(ill, 1.0));
    assert_ne!(start, end);
    let first_limb = |s: &str| {
        s.split("class=\"r\" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    // (In the animated file, the first limb after the end-pose ghost group.)
    let after_ghost = svg.split("</g>").nth(1).unwrap();
    assert_eq!(first_limb(&start), first_limb(after_ghost));
    // A foot anchored on the floor stays there through the movement.
    for i in 0..=10 {
        let toe = ill.frame(i as f32 / 10.0)[Joint::NearToe];
        assert!((toe.0 - 30.0).abs() < 0.01 && toe.1.abs() < 0.01, "{toe:?}");
    }
}

#[test]
fn a_library_dose_starts_a_program_at_the_low_end() {
    let lib = load();
    let d = lib.exercises["seated-knee-extension-weight"]
        .dosage
        .to_program(Lang::Da);
    assert_eq!(
        (d.sets, d.reps, d.hold_s, d.rest_s),
        (3, Some(8), Some(2), Some(60))
    );
    assert_eq!(d.load.as_deref(), Some("0,5-2 kg manchetvægt om anklen"));
    d.validate().unwrap();
    // A hold without repetitions becomes one hold per set.
    let d = lib.exercises["tandem-stance"].dosage.to_program(Lang::En);
    assert_eq!((d.reps, d.hold_s), (Some(1), Some(10)));
    d.validate().unwrap();
    // Every shipped default dose is a valid program dose.
    for e in lib.exercises.values() {
        e.dosage
            .to_program(Lang::Da)
            .validate()
            .unwrap_or_else(|err| panic!("{}: {err:?}", e.id));
    }
}

#[test]
fn search_finds_exercises_as_the_therapist_types() {
    use homerehab_shared::library::search::{Query, SearchIndex};
    let library = load();
    let index = SearchIndex::of(&library);
    let q = |text: &str| Query {
        text: text.into(),
        ..Query::default()
    };
    // Every prefix of a Danish title word finds the exercise, Danish letters typed or folded.
    for typed in [
        "r",
        "rej",
        "rejse",
        "rejse sætte",
        "rejse saette",
        "Sit to st",
    ] {
        let hits = index.search(&q(typed));
        assert!(
            hits.iter().any(|id| id.as_str() == "sit-to-stand"),
            "{typed}: {hits:?}"
        );
    }
    assert_eq!(index.search(&q("tandemstand"))[0].as_str(), "tandem-stance");
    // An earlier or colloquial name finds the exercise (issue #15): "armbøj" the biceps curl
    // (and the push-ups, "armbøjninger"), the old title of belly breathing.
    let armboej = index.search(&q("armbøj"));
    assert!(
        armboej.iter().any(|id| id.as_str() == "elbow-curl"),
        "{armboej:?}"
    );
    assert!(
        armboej.iter().any(|id| id.as_str() == "wall-push-up"),
        "{armboej:?}"
    );
    assert!(!index
        .search(&q("armbøjning"))
        .iter()
        .any(|id| id.as_str() == "elbow-curl"));
    assert_eq!(
        index.search(&q("vejrtrækning med maven"))[0].as_str(),
        "belly-breathing"
    );
    assert!(index.search(&q("xyzzy")).is_empty());
    // Filters: balance exercises doable with only a chair at hand.
    let chair_balance = index.search(&Query {
        category: Some(Category::Balance),
        available_equipment: Some(vec![Equipment::Chair]),
        ..Query::default()
    });
    assert!(!chair_balance.is_empty());
    for id in chair_balance {
        let e = library.exercise(id.as_str()).unwrap();
        assert_eq!(e.category, Category::Balance);
        assert!(
            e.equipment
                .iter()
                .all(|x| matches!(x, Equipment::None | Equipment::Chair)),
            "{id}"
        );
    }
    assert_eq!(
        index.search(&Query::default()).len(),
        library.active_exercises().count()
    );
}

#[test]
fn every_template_becomes_a_valid_course_draft_in_one_step() {
    let library = load();
    for id in library.templates.keys() {
        for lang in [Lang::Da, Lang::En] {
            let draft = library.draft_from_template(id.as_str(), lang).unwrap();
            assert!(!draft.program.is_empty(), "{id}");
            for line in &draft.program {
                line.validate()
                    .unwrap_or_else(|e| panic!("{id} {}: {e}", line.exercise_ref));
                assert!(library.exercise(&line.exercise_ref).is_some());
            }
            let positions: Vec<f64> = draft.program.iter().map(|l| l.position).collect();
            assert!(
                positions.windows(2).all(|w| w[0] < w[1]),
                "{id}: lines keep the template's order"
            );
            assert!((8..=16).contains(&draft.planned_weeks), "{id}");
            assert!(!draft.goals.is_empty(), "{id}");
        }
    }
    assert!(library
        .draft_from_template("no-such-template", Lang::Da)
        .is_err());
}
