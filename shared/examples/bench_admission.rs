//! `scripts/bench admission`: the server's admission of session logs, in process (no server,
//! no storage), split into its steps (issue #13: where a course's upload and a changed
//! document's CPU go).
//!
//! 1. Upload: a stored session log (its genesis, as the therapist's device created it) and
//!    one squashed change of 30 whole sessions (24 sets each, written by the same
//!    `shared::docs` writers as the app's, one change per set, folded by `squash_unseen` as
//!    the device does before it sends).
//!    1b. The same month sent as the whole document, as a device offers a course's first
//!    month (`sync::offer_changes`); then what reading its operations costs: the load, and the
//!    new change rebuilt from the loaded document and expanded.
//! 2. One set: that 30-session log stored, and one more set logged in its last session.
//! 3. One new session (started, nothing logged yet) in that log.
//!
//! Then a second set into case 2's session: admitted reading the session from the document,
//! and handed what the first set's admission read, as the sync server keeps it for a log's
//! next sync (the session grown, not read again).
//!
//! For each: the whole `admission::admit` (median of `ADMISSION_RUNS`, default 30), then the
//! steps admission takes, timed one by one on the same bytes. Then the server's read model of
//! the log after the one set: its rows read from the whole log, and from the projection of the
//! log before the set (what the projector remembers). The last line is one JSON object.

use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use homerehab_shared::admission::{admit, admit_or_refuse_knowing};
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::{self, ExerciseFeedback, Header};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::read_model;
use homerehab_shared::sync::{chunks, raw_changes_since, squash_unseen, Squash};
use std::collections::HashSet;
use std::time::Instant;

const SESSIONS: usize = 30;
const LINES: usize = 3;
const SETS_PER_LINE: u32 = 8;

/// Median milliseconds of `runs` calls of `f`.
fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// A whole guided session, as the app writes it: one change per set, per exercise's feedback,
/// at start and at finish.
fn log_session(log: &mut Automerge, course: CourseId, by: UserId, lines: &[ProgramExerciseId]) {
    let at = 1_700_000_000_000;
    let session = SessionLog::start(course, by, None, at);
    docs::put_session(log, &session, at).unwrap();
    for (n, line) in lines.iter().enumerate() {
        let exercise_ref = format!("exercise-{n}");
        for i in 0..SETS_PER_LINE {
            let set = SetLog {
                reps: Some(8 + i % 3),
                duration_s: None,
                load_kg: Some(2.0),
                at,
            };
            docs::log_set(log, session.id, *line, &exercise_ref, &set, at).unwrap();
        }
        let fb = ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg: Some(5),
            pain: Some(2),
            note: None,
        };
        docs::record_feedback(log, session.id, *line, &exercise_ref, &fb, at).unwrap();
    }
    docs::finish_session(log, session.id, Some(4), Some("Borger i godt humør"), at).unwrap();
}

struct Case {
    name: &'static str,
    header: Header,
    stored: Automerge,
    incoming: Vec<u8>,
    heads: Vec<ChangeHash>,
}

struct Split {
    admit_ms: f64,
    parse_ms: f64,
    fork_ms: f64,
    apply_ms: f64,
    diff_ms: f64,
    read_sessions_ms: f64,
    read_at_once_ms: f64,
    /// Every session of the log, all read in one pass over it (`SessionLogDoc::read_sessions`).
    read_whole_log_ms: f64,
    sessions_read: usize,
}

fn split(case: &Case, who: &Principal, actors: &HashSet<ActorId>, runs: usize) -> Split {
    let admit_ms = median_ms(runs, || {
        admit(
            case.header.id,
            Some(&case.stored),
            &case.incoming,
            &case.heads,
            who,
            actors,
        )
        .expect("admitted");
    });
    // A change is parsed on its own; a whole document only loads.
    let parse_ms = median_ms(runs, || {
        for c in chunks::split(&case.incoming).unwrap() {
            if c.kind == chunks::CHANGE {
                automerge::Change::try_from(c.bytes).unwrap();
            } else {
                std::hint::black_box(Automerge::load(c.bytes).unwrap());
            }
        }
    });
    let decode_ms = median_ms(runs, || {
        for c in chunks::split(&case.incoming).unwrap() {
            if c.kind == chunks::CHANGE {
                std::hint::black_box(automerge::Change::try_from(c.bytes).unwrap().decode());
            } else {
                std::hint::black_box(Automerge::load(c.bytes).unwrap());
            }
        }
    }) - parse_ms;
    println!("  (decoding the changes' operations: {decode_ms:.2} ms)");
    let fork_ms = median_ms(runs, || {
        std::hint::black_box(case.stored.fork());
    });
    let apply_ms = median_ms(runs, || {
        let mut copy = case.stored.fork();
        copy.load_incremental(&case.incoming).unwrap();
    }) - fork_ms;
    let mut after = case.stored.fork();
    after.load_incremental(&case.incoming).unwrap();
    let (before_heads, after_heads) = (case.stored.get_heads(), after.get_heads());
    let diff_ms = median_ms(runs, || {
        std::hint::black_box(after.diff(&before_heads, &after_heads));
    });
    // The sessions the new changes touched: every session the diff reaches.
    let mut touched = std::collections::BTreeSet::new();
    for patch in after.diff(&before_heads, &after_heads) {
        if let Some((_, automerge::Prop::Map(k))) = patch.path.get(1) {
            touched.insert(k.clone());
        } else if let automerge::PatchAction::PutMap { key, .. } = &patch.action {
            if patch.path.len() == 1 {
                touched.insert(key.clone());
            }
        }
    }
    let read_sessions_ms = median_ms(runs, || {
        for key in &touched {
            docs::read_session(&after, key).unwrap().unwrap();
        }
    });
    for key in &touched {
        assert_eq!(
            docs::read_session_at_once(&after, key).unwrap().unwrap(),
            docs::read_session(&after, key).unwrap(),
            "one pass reads what autosurgeon reads"
        );
    }
    let read_at_once_ms = median_ms(runs, || {
        for key in &touched {
            docs::read_session_at_once(&after, key)
                .unwrap()
                .unwrap()
                .unwrap();
        }
    });
    let read_whole_log_ms = median_ms(runs, || {
        std::hint::black_box(docs::SessionLogDoc::read_sessions(&after).unwrap());
    });
    Split {
        read_whole_log_ms,
        read_at_once_ms,
        admit_ms,
        parse_ms,
        fork_ms,
        apply_ms,
        diff_ms,
        read_sessions_ms,
        sessions_read: touched.len(),
    }
}

fn main() {
    let runs: usize = std::env::var("ADMISSION_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let team = TeamId::new();
    let course = CourseId::new();
    let header = Header::session_log(team, course);
    let who = Principal {
        user_id: UserId::new(),
        role: Role::Assistant,
        team_id: team,
        granted_teams: vec![],
        municipality_id: Some(MunicipalityId::new()),
    };
    let tablet = ActorId::random();
    let actors: HashSet<ActorId> = [tablet.clone()].into_iter().collect();
    let lines: Vec<ProgramExerciseId> = (0..LINES).map(|_| ProgramExerciseId::new()).collect();

    // 1. The upload: the genesis stored, 30 sessions folded into one change.
    let genesis = docs::genesis(&header);
    let mut device = genesis.fork().with_actor(tablet.clone());
    for _ in 0..SESSIONS {
        log_session(&mut device, course, who.user_id, &lines);
    }
    let sent = match squash_unseen(&device, &tablet, &genesis.get_heads()) {
        Squash::Squashed { doc, .. } => *doc,
        other => panic!("the device squashes its sessions: {other:?}"),
    };
    let upload = Case {
        name: "upload of 30 sessions (one squashed change)",
        header,
        incoming: raw_changes_since(&sent, &genesis.get_heads()),
        heads: sent.get_heads(),
        stored: genesis,
    };

    // 1b. The same month sent whole, as a device offers a course's first month
    // (`sync::offer_changes`): the saved document, not the change.
    let upload_whole = Case {
        name: "upload of 30 sessions (the whole document)",
        header,
        incoming: sent.save(),
        heads: sent.get_heads(),
        stored: upload.stored.fork(),
    };

    // 2. One set into the stored 30-session log, as the server holds it (loaded from its bytes).
    let stored = Automerge::load(&sent.save()).unwrap();
    let last_session = {
        let sessions = match stored.get(automerge::ROOT, "sessions").unwrap() {
            Some((_, obj)) => obj,
            None => unreachable!(),
        };
        let keys: Vec<String> = stored.keys(&sessions).collect();
        keys.iter()
            .map(|k| docs::read_session(&stored, k).unwrap().unwrap())
            .max_by_key(|s| s.id.to_string())
            .unwrap()
            .id
    };
    // A set logged in that session's first exercise `ms` after the first set's time.
    let log_a_set = |device: &mut Automerge, ms: i64| {
        let set = SetLog {
            reps: Some(10),
            duration_s: None,
            load_kg: None,
            at: 1_700_000_100_000 + ms,
        };
        docs::log_set(device, last_session, lines[0], "exercise-0", &set, set.at).unwrap();
    };
    let mut device = stored.fork().with_actor(tablet.clone());
    log_a_set(&mut device, 0);
    let one_set = Case {
        name: "one set into a 30-session log",
        header,
        incoming: raw_changes_since(&device, &stored.get_heads()),
        heads: device.get_heads(),
        stored: stored.fork(),
    };

    // 3. One new session into it.
    let mut device = stored.fork().with_actor(tablet.clone());
    let session = SessionLog::start(course, who.user_id, None, 1_700_000_200_000);
    docs::put_session(&mut device, &session, session.started_at).unwrap();
    let new_session = Case {
        name: "one new session into a 30-session log",
        header,
        incoming: raw_changes_since(&device, &stored.get_heads()),
        heads: device.get_heads(),
        stored,
    };

    let mut json = Vec::new();
    for (key, case) in [
        ("upload", &upload),
        ("upload_whole", &upload_whole),
        ("one_set", &one_set),
        ("new_session", &new_session),
    ] {
        let s = split(case, &who, &actors, runs);
        println!(
            "{}: admit {:.2} ms — steps: parse {:.2}, fork {:.2}, apply {:.2}, diff {:.2}, read {} sessions {:.2} (each in one pass {:.2}; the whole log in one pass {:.2}) ms ({} bytes in)",
            case.name,
            s.admit_ms,
            s.parse_ms,
            s.fork_ms,
            s.apply_ms,
            s.diff_ms,
            s.sessions_read,
            s.read_sessions_ms,
            s.read_at_once_ms,
            s.read_whole_log_ms,
            case.incoming.len()
        );
        json.push(format!(
            "\"{key}_admit_ms\":{:.3},\"{key}_apply_ms\":{:.3},\"{key}_diff_ms\":{:.3},\"{key}_read_sessions_ms\":{:.3},\"{key}_read_at_once_ms\":{:.3},\"{key}_read_whole_log_ms\":{:.3}",
            s.admit_ms, s.apply_ms, s.diff_ms, s.read_sessions_ms, s.read_at_once_ms, s.read_whole_log_ms
        ));
    }
    // What reading the whole upload's operations costs: the change rebuilt from the loaded
    // document and expanded (Automerge gives no other way to read a loaded change's
    // operations), against reading the loaded document's sessions by its diff.
    let loaded = Automerge::load(&upload_whole.incoming).unwrap();
    let load_ms = median_ms(runs, || {
        std::hint::black_box(Automerge::load(&upload_whole.incoming).unwrap());
    });
    let new_hashes: Vec<ChangeHash> = loaded
        .get_changes_meta(&upload_whole.stored.get_heads())
        .iter()
        .map(|c| c.hash)
        .collect();
    let rebuild_ms = median_ms(runs, || {
        for h in &new_hashes {
            std::hint::black_box(loaded.get_change_by_hash(h).unwrap().decode());
        }
    });
    println!(
        "the whole upload: load {load_ms:.2} ms; its new change rebuilt and expanded {rebuild_ms:.2} ms"
    );
    json.push(format!(
        "\"upload_whole_load_ms\":{load_ms:.3},\"upload_whole_rebuild_ms\":{rebuild_ms:.3}"
    ));
    // A second set into the same session, after the first was admitted: read again from the
    // document, and grown from what the first set's admission read (as the server keeps it
    // for the log's next sync).
    let first = admit(
        header.id,
        Some(&one_set.stored),
        &one_set.incoming,
        &one_set.heads,
        &who,
        &actors,
    )
    .unwrap();
    let known = first.session_values.unwrap();
    let mut device = first.doc.fork().with_actor(tablet.clone());
    log_a_set(&mut device, 1);
    let second = raw_changes_since(&device, &first.doc.get_heads());
    let second_heads = device.get_heads();
    let admit_second = |known| {
        admit_or_refuse_knowing(
            header.id,
            Some(&first.doc),
            &second,
            &second_heads,
            &who,
            &mut &actors,
            known,
        )
        .expect("admitted")
    };
    let read_ms = median_ms(runs, || {
        admit_second(None);
    });
    let mut copies: Vec<_> = (0..runs).map(|_| known.clone()).collect();
    let grown_ms = median_ms(runs, || {
        admit_second(copies.pop());
    });
    println!(
        "a second set into that session: admit {read_ms:.2} ms reading the session, {grown_ms:.2} ms growing what the first set's admission read"
    );
    json.push(format!(
        "\"second_set_read_admit_ms\":{read_ms:.3},\"second_set_grown_admit_ms\":{grown_ms:.3}"
    ));
    // The read model's rows of the log after the one set.
    let after = {
        let mut doc = one_set.stored.fork();
        doc.load_incremental(&one_set.incoming).unwrap();
        doc
    };
    let whole_ms = median_ms(runs, || {
        read_model::rows_of(&header, &after).unwrap();
    });
    let (_, before) = read_model::rows_after(&header, &one_set.stored, None).unwrap();
    let remembered_ms = median_ms(runs, || {
        read_model::rows_after(&header, &after, Some(before.clone())).unwrap();
    });
    println!(
        "read model of the log after one set: {whole_ms:.2} ms read whole, {remembered_ms:.2} ms from its last projection"
    );
    json.push(format!(
        "\"one_set_rows_whole_ms\":{whole_ms:.3},\"one_set_rows_remembered_ms\":{remembered_ms:.3}"
    ));
    println!("{{\"runs\":{runs},{}}}", json.join(","));
}
