//! Writes the admission target's seed corpus from real edits: `cargo run --bin make_seeds --
//! <dir> [<responses dir>]`. Each seed is a fuzz input as `World::run` reads it (an encoded
//! request, or raw Automerge bytes with a selector); the responses, for `decode_response`, are
//! the server's answers carrying the same edits.

use automerge::Automerge;
use homerehab_fuzz::{ten_reps, World, GROWN, NOW};
use homerehab_shared::docs::{self, Header, ProgramEdit};
use homerehab_shared::ids::{CitizenId, CourseId, ProgramExerciseId, SessionId};
use homerehab_shared::model::{Course, Dosage, Millis, ProgramExercise, SessionLog, SetLog};
use homerehab_shared::sync::wire::{
    encode, to_hashes, Reply, ReplyStatus, SyncRequest, SyncResponse,
};
use homerehab_shared::sync::{changes_since, raw_changes_since, Offer, PROTOCOL_VERSION};
use std::path::PathBuf;
use uuid::Uuid;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("give the corpus directory"));
    std::fs::create_dir_all(&dir).unwrap();
    let w = World::new();
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut raw = |name: &str, selector: u8, bytes: &[u8]| {
        let mut s = vec![1, selector];
        s.extend_from_slice(bytes);
        seeds.push((format!("raw-{name}"), s));
    };

    // The therapist edits the program (selector 0: the course, stored heads claimed).
    let mut course = w.course_doc.fork().with_actor(w.therapist_actor.clone());
    let before = w.course_doc.get_heads();
    let edits: Vec<ProgramEdit> = ["sit-to-stand", "heel-raise", "tandem-stance"]
        .iter()
        .enumerate()
        .map(|(i, e)| {
            ProgramEdit::Upsert(ProgramExercise::new(e, i as f64 + 1.0, Dosage::reps(3, 10)))
        })
        .collect();
    let based_on = docs::latest_revision_id(&course).unwrap();
    docs::edit_program(
        &mut course,
        &edits,
        w.therapist.user_id,
        "Program oprettet",
        based_on,
        NOW + 1,
    )
    .unwrap();
    let program = changes_since(&course, &before);
    raw("program-bundle", 0, &program);
    let raw_changes: Vec<u8> = course
        .get_changes(&before)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    raw("program-changes", 0, &raw_changes);
    raw("course-saved", 0, &course.save());
    raw("course-program-no-heads", 3, &raw_changes);

    // The assistant logs a session with a set (selector 1: the session log).
    let mut log = w.log_doc.fork().with_actor(w.assistant_actor.clone());
    let session = SessionLog::start(w.course.course_id.unwrap(), w.assistant.user_id, None, NOW);
    docs::put_session(&mut log, &session, NOW).unwrap();
    let line = match &edits[0] {
        ProgramEdit::Upsert(pe) => pe.id,
        _ => unreachable!(),
    };
    docs::log_set(
        &mut log,
        session.id,
        line,
        "sit-to-stand",
        &SetLog {
            reps: Some(10),
            duration_s: None,
            load_kg: None,
            at: NOW + 2,
        },
        NOW + 2,
    )
    .unwrap();
    let session_bundle = changes_since(&log, &w.log_doc.get_heads());
    raw("session-bundle", 1, &session_bundle);
    raw(
        "session-changes",
        1,
        &raw_changes_since(&log, &w.log_doc.get_heads()),
    );
    raw("log-saved", 1, &log.save());

    // A new course (selector 2: an unknown document).
    let new_course = CourseId::new();
    let header = Header::course(w.team, new_course);
    let mut fresh = docs::genesis(&header).with_actor(w.therapist_actor.clone());
    let record = Course {
        id: new_course,
        ..Course::new(
            CitizenId::new(),
            w.team,
            w.therapist.user_id,
            "2026-11-09",
            NOW,
        )
    };
    docs::put_course(&mut fresh, &record, NOW).unwrap();
    raw("new-course-saved", 2, &fresh.save());
    raw("new-course-bundle", 2, &changes_since(&fresh, &[]));

    // The grown log (selectors from GROWN on): a fourth set in its last session, the same sent
    // whole, a third session, and a logged set corrected.
    let grown_heads = w.grown_log_doc.get_heads();
    let grown = |edit: &dyn Fn(&mut Automerge)| {
        let mut log = w.grown_log_doc.fork().with_actor(w.assistant_actor.clone());
        edit(&mut log);
        log
    };
    let (line, last) = (
        ProgramExerciseId(Uuid::from_bytes([8; 16])),
        SessionId(Uuid::from_bytes([20; 16])),
    );
    let at = NOW + 30_000;
    let more = grown(&|log| {
        docs::log_set(log, last, line, "sit-to-stand", &ten_reps(at), at).unwrap();
    });
    raw(
        "grown-set-changes",
        GROWN,
        &raw_changes_since(&more, &grown_heads),
    );
    raw("grown-log-saved", GROWN, &more.save());
    let third = grown(&|log| {
        let mut session = SessionLog::start(
            w.grown_log.course_id.unwrap(),
            w.assistant.user_id,
            None,
            at,
        );
        session.id = SessionId(Uuid::from_bytes([30; 16]));
        docs::put_session(log, &session, at).unwrap();
        docs::log_set(
            log,
            session.id,
            line,
            "sit-to-stand",
            &ten_reps(at + 1),
            at + 1,
        )
        .unwrap();
    });
    // Two sessions of two sets, sent whole: to the grown log (each session made by the
    // changes) and to the empty one (its sessions all new: read in one pass).
    let two_sessions = |log: &mut Automerge, course: CourseId| {
        for n in [40u8, 50] {
            let at = at + Millis::from(n) * 1000;
            let mut session = SessionLog::start(course, w.assistant.user_id, None, at);
            session.id = SessionId(Uuid::from_bytes([n; 16]));
            docs::put_session(log, &session, at).unwrap();
            for k in 1..=2 {
                let at = at + k;
                docs::log_set(log, session.id, line, "sit-to-stand", &ten_reps(at), at).unwrap();
            }
        }
    };
    let two_more = grown(&|log| two_sessions(log, w.grown_log.course_id.unwrap()));
    raw("grown-two-sessions-saved", GROWN, &two_more.save());
    let mut first = w.log_doc.fork().with_actor(w.assistant_actor.clone());
    two_sessions(&mut first, w.log.course_id.unwrap());
    raw("log-two-sessions-saved", 1, &first.save());
    raw(
        "grown-session-changes",
        GROWN,
        &raw_changes_since(&third, &grown_heads),
    );
    let corrected = grown(&|log| {
        use automerge::{transaction::Transactable, ReadDoc, ROOT};
        let object = |doc: &Automerge, at: &automerge::ObjId, key: &str| {
            doc.get(at, key).unwrap().unwrap().1
        };
        let sessions = object(log, &ROOT, "sessions");
        let session = object(log, &sessions, &last.to_string());
        let exercises = object(log, &session, "exercises");
        let exercise = object(log, &exercises, &line.to_string());
        let sets = object(log, &exercise, "sets");
        let mut tx = log.transaction();
        let first = tx
            .get(&sets, 0)
            .unwrap()
            .unwrap()
            .0
            .as_str()
            .unwrap()
            .replace("10", "99");
        tx.put(&sets, 0, first).unwrap();
        tx.commit();
    });
    raw(
        "grown-set-corrected",
        GROWN,
        &raw_changes_since(&corrected, &grown_heads),
    );

    // Whole requests, encoded as devices send them.
    let request = |offers: Vec<Offer>| {
        let mut s = vec![0];
        s.extend(encode(&SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers,
        }));
        s
    };
    let offer = |doc: &Automerge, id, since: &[automerge::ChangeHash]| Offer {
        doc: id,
        heads: to_hashes(&doc.get_heads()),
        changes: raw_changes_since(doc, since),
        generation: 0,
    };
    seeds.push((
        "request-program-and-session".into(),
        request(vec![
            offer(&course, w.course.id, &before),
            offer(&log, w.log.id, &w.log_doc.get_heads()),
        ]),
    ));
    seeds.push((
        "request-new-course".into(),
        request(vec![Offer {
            doc: header.id,
            heads: to_hashes(&fresh.get_heads()),
            changes: fresh.save(),
            generation: 0,
        }]),
    ));
    seeds.push((
        "request-unchanged".into(),
        request(vec![offer(&w.course_doc, w.course.id, &before)]),
    ));

    seeds.push((
        "request-grown-set".into(),
        request(vec![offer(&more, w.grown_log.id, &grown_heads)]),
    ));

    for (name, bytes) in &seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    println!("{} seeds in {}", seeds.len(), dir.display());

    // The server's answers: the grown log's new set, and the program as a new document.
    if let Some(responses) = std::env::args().nth(2).map(PathBuf::from) {
        std::fs::create_dir_all(&responses).unwrap();
        let reply = |doc: &Automerge, id, status, since: &[automerge::ChangeHash], header| Reply {
            doc: id,
            status,
            heads: to_hashes(&doc.get_heads()),
            changes: raw_changes_since(doc, since),
            header,
            generation: 0,
        };
        let answers = [
            (
                "response-grown-set",
                vec![reply(
                    &more,
                    w.grown_log.id,
                    ReplyStatus::Synced,
                    &grown_heads,
                    None,
                )],
            ),
            (
                "response-new-course-and-program",
                vec![
                    reply(&fresh, header.id, ReplyStatus::New, &[], Some(header)),
                    reply(&course, w.course.id, ReplyStatus::Synced, &before, None),
                    Reply {
                        status: ReplyStatus::Rejected("refused".into()),
                        ..reply(&log, w.log.id, ReplyStatus::Synced, &[], None)
                    },
                ],
            ),
        ];
        for (name, replies) in answers {
            let response = SyncResponse {
                protocol: PROTOCOL_VERSION,
                replies,
                unchanged: 3,
            };
            std::fs::write(responses.join(name), encode(&response)).unwrap();
        }
        println!("2 responses in {}", responses.display());
    }
}
