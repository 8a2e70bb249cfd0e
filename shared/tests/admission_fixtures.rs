//! Admission over the fuzz target's committed inputs, so CI guards them without cargo-fuzz:
//! the seeds (real edits) are admitted as they should be, and every crasher the fuzzer found
//! (`fuzz/fixtures/admission/`, minimised) is a clean refusal, never a panic.

#[path = "support/admission_world.rs"]
#[allow(dead_code)] // the fuzz crate uses all of it, this test part
mod admission_world;

use admission_world::World;
use homerehab_shared::admission::Rejection;
use std::path::{Path, PathBuf};

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn real_edits_are_admitted_for_their_author() {
    let w = World::new();
    let run = |name: &str| {
        let path = files("seeds/admission")
            .into_iter()
            .find(|p| p.ends_with(name))
            .unwrap();
        w.run(&std::fs::read(path).unwrap())
    };
    // Each offer is tried for the therapist, then the assistant.
    let program = run("raw-program-changes");
    assert!(program[0].as_ref().is_ok_and(|a| !a.new_changes.is_empty()));
    assert!(
        program[1].is_err(),
        "the assistant's device did not write it"
    );
    let session = run("raw-session-changes");
    assert!(session[0].is_err() && session[1].is_ok());
    // The same log sent whole (`offer_changes` for a big month): taken as loaded, the same
    // verdicts and the same new changes.
    let whole = run("raw-log-saved");
    assert!(whole[0].is_err());
    let (whole, changes) = (whole[1].as_ref().unwrap(), session[1].as_ref().unwrap());
    assert!(whole.whole && !changes.whole);
    assert_eq!(whole.new_changes, changes.new_changes);
    // The same set as a map, as devices wrote sets before issue #13 (one string since).
    let legacy = run("raw-session-changes-sets-as-maps");
    assert!(legacy[0].is_err() && legacy[1].is_ok());
    // Devices send raw changes; a bundle is refused before Automerge decodes it.
    assert!(run("raw-program-bundle").iter().all(|o| o.is_err()));
    assert!(run("raw-session-bundle").iter().all(|o| o.is_err()));
    let both = run("request-program-and-session");
    assert_eq!(both.iter().filter(|o| o.is_ok()).count(), 2);
    // Changes that claim no stored heads are not a device's.
    let no_heads = run("raw-course-program-no-heads");
    assert!(no_heads.iter().all(|o| o.is_err()));

    // A log that has grown sessions (each offer also admitted with what admission read of it
    // before, and judged alike: `World::admit_request`). A set more, as changes and whole.
    let set = run("raw-grown-set-changes");
    assert!(set[0].is_err());
    let set = set[1].as_ref().expect("the assistant's set");
    assert_eq!(set.new_changes.len(), 1);
    let whole = run("raw-grown-log-saved");
    let whole = whole[1].as_ref().expect("the assistant's log sent whole");
    assert!(whole.whole);
    assert_eq!(whole.new_changes, set.new_changes);
    assert!(run("raw-grown-session-changes")[1].is_ok());
    // Two sessions more, sent whole, to the grown log and to the empty one (read in one
    // pass): both read, as autosurgeon reads them.
    for seed in ["raw-grown-two-sessions-saved", "raw-log-two-sessions-saved"] {
        let two = run(seed);
        let two = two[1].as_ref().expect("the assistant's two sessions");
        assert!(two.whole);
        assert_eq!(
            two.sessions_read.as_ref().map(|r| r.sessions.len()),
            Some(2)
        );
    }
    assert!(run("request-grown-set")[1].is_ok());
    // A logged set corrected by the assistant who performs the session: theirs to change.
    let corrected = run("raw-grown-set-corrected");
    assert!(corrected[0].is_err() && corrected[1].is_ok());
}

/// A seed that stops at the version check only fuzzes that check: when the protocol version
/// moves, the request seeds move with it (`make_seeds` writes the named ones; fuzzed ones get
/// the new version written into them).
#[test]
fn every_request_seed_is_of_the_current_protocol() {
    let limits = homerehab_shared::sync::wire::Limits::default();
    let mut requests = 0;
    for path in files("seeds/admission") {
        let data = std::fs::read(&path).unwrap();
        let [mode, rest @ ..] = data.as_slice() else {
            continue;
        };
        if mode % 2 != 0 {
            continue;
        }
        use homerehab_shared::sync::wire::{decode_request, WireError};
        match decode_request(rest, &limits) {
            // Not a message at all: it fuzzes the inflater.
            Err(WireError::Compression) => continue,
            Err(WireError::Version(v)) => panic!("{}: protocol version {v}", path.display()),
            _ => requests += 1,
        }
    }
    assert!(requests >= 3, "{requests} request seeds");
}

/// The `decode_response` target's seeds are answers of the current protocol whose changes
/// load, so the fuzzer starts from what a device really decodes.
#[test]
fn every_response_seed_is_an_answer_a_device_reads() {
    let limits = homerehab_shared::sync::wire::Limits::default();
    let seeds = files("seeds/decode_response");
    assert!(seeds.len() >= 2);
    for path in seeds {
        let data = std::fs::read(&path).unwrap();
        let response = homerehab_shared::sync::wire::decode_response(&data, &limits)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!response.replies.is_empty());
        for reply in &response.replies {
            let mut doc = automerge::Automerge::new();
            doc.load_incremental(&reply.changes)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn every_fuzz_crasher_is_a_clean_refusal() {
    let w = World::new();
    let crashers = files("fixtures/admission");
    assert!(!crashers.is_empty());
    for path in crashers {
        let outcomes = w.run(&std::fs::read(&path).unwrap());
        assert!(!outcomes.is_empty(), "{}: not an offer", path.display());
        for outcome in outcomes {
            match outcome {
                Err(refusal) => assert!(
                    matches!(*refusal.rejection, Rejection::Corrupt(_)) && !refusal.from_writer,
                    "{}: {:?}",
                    path.display(),
                    refusal
                ),
                Ok(_) => panic!("{}: admitted", path.display()),
            }
        }
    }
}
