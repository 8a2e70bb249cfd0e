//! Issue #14 item 5 over the simulated network: a citizen erased on the server while a laptop
//! and a tablet hold unsent work. Their course documents are erased, the team's roster is
//! rewritten as a new generation; every device replaces, deletes and rebases, and nothing
//! confirmed or unsent is lost except what was erased — which is gone from every copy.
//!
//! The server is `serve_sync` over the in-memory server (`sim::MemoryServer`: its erase and
//! rewrite keep tombstones and the old generation's hashes, as the real stores do).

use automerge::{ActorId, Automerge};
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::{self, Header, RosterDoc, SessionLogDoc};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::sim::{sync, sync_answer_lost, MemoryDevice, MemoryServer};

const ERASED_NAME: &str = "Agnete Slettesen";
const ERASED_NOTE: &str = "Ondt i venstre knæ efter faldet";

fn principal(role: Role, team: TeamId) -> Principal {
    Principal {
        user_id: UserId::new(),
        role,
        team_id: team,
        granted_teams: vec![],
        municipality_id: None,
    }
}

fn citizen(name: &str) -> Citizen {
    Citizen {
        id: CitizenId::new(),
        name: name.into(),
        local_ref: "SAG-1".into(),
        address: Some("Kirkevej 1".into()),
        assigned: Default::default(),
        active: true,
        birth_year: None,
        sex: None,
    }
}

/// A course for `citizen` on the laptop: its document and its empty session log.
fn course_for(laptop: &mut MemoryDevice, team: TeamId, by: UserId, citizen: CitizenId) -> CourseId {
    let course = Course {
        status: CourseStatus::Active,
        ..Course::new(citizen, team, by, "2026-11-02", 1)
    };
    let header = Header::course(team, course.id);
    let mut doc = docs::genesis(&header).with_actor(laptop_actor());
    docs::put_course(&mut doc, &course, 1).unwrap();
    let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(3, 10));
    docs::edit_program(
        &mut doc,
        &[docs::ProgramEdit::Upsert(line)],
        by,
        "Program",
        None,
        1,
    )
    .unwrap();
    laptop.insert(header, doc);
    let log = Header::session_log(team, course.id);
    laptop.insert(log, docs::genesis(&log).with_actor(laptop_actor()));
    course.id
}

fn laptop_actor() -> ActorId {
    ActorId::from(b"laptop-actor".as_slice())
}

fn tablet_actor() -> ActorId {
    ActorId::from(b"tablet-actor".as_slice())
}

/// A session with `sets` sets and a note, logged on the tablet.
fn log_session(tablet: &mut MemoryDevice, course: CourseId, who: UserId, note: &str) -> SessionId {
    let course_doc = docs::CourseDoc::read(&tablet.docs[&DocumentId::course_of(course)].1).unwrap();
    let line = course_doc.program.ordered()[0].clone();
    let log = tablet.doc_mut(DocumentId::session_log_of(course)).unwrap();
    let session = SessionLog::start(course, who, None, 10);
    docs::put_session(log, &session, 10).unwrap();
    for i in 0..3 {
        let set = SetLog {
            reps: Some(10),
            duration_s: None,
            load_kg: None,
            at: 11 + i,
        };
        docs::log_set(log, session.id, line.id, &line.exercise_ref, &set, 11 + i).unwrap();
    }
    docs::finish_session(log, session.id, Some(4), Some(note), 20).unwrap();
    session.id
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Every document's saved bytes on a device or the server.
fn all_bytes<'a>(docs: impl Iterator<Item = &'a Automerge>) -> Vec<u8> {
    docs.flat_map(|d| d.save()).collect()
}

#[test]
fn a_citizen_erased_mid_way_leaves_every_copy_and_nothing_else_is_lost() {
    let team = TeamId::new();
    let therapist = principal(Role::Therapist, team);
    let assistant = principal(Role::Assistant, team);
    let mut server = MemoryServer::default();
    server
        .actors
        .entry(therapist.user_id)
        .or_default()
        .insert(laptop_actor());
    server
        .actors
        .entry(assistant.user_id)
        .or_default()
        .insert(tablet_actor());
    let (mut laptop, mut tablet) = (MemoryDevice::default(), MemoryDevice::default());

    // The laptop: a roster with the citizen to be erased and one who stays, a course each.
    let roster = Header::roster(team);
    let mut doc = docs::genesis(&roster).with_actor(laptop_actor());
    let (erased, stays) = (citizen(ERASED_NAME), citizen("Bent Bliversen"));
    docs::put_citizen(&mut doc, &erased, 1).unwrap();
    docs::put_citizen(&mut doc, &stays, 1).unwrap();
    laptop.insert(roster, doc);
    let erased_course = course_for(&mut laptop, team, therapist.user_id, erased.id);
    let kept_course = course_for(&mut laptop, team, therapist.user_id, stays.id);
    sync(&mut laptop, &mut server, &therapist).unwrap();
    sync(&mut tablet, &mut server, &assistant).unwrap();
    for (_, d) in tablet.docs.values_mut() {
        d.set_actor(tablet_actor());
    }
    assert_eq!(tablet.docs.len(), 5);

    // A session of each, confirmed, before the erasure.
    log_session(&mut tablet, erased_course, assistant.user_id, ERASED_NOTE);
    let confirmed_session = log_session(&mut tablet, kept_course, assistant.user_id, "Fin dag");
    sync(&mut tablet, &mut server, &assistant).unwrap();

    // Offline work: the tablet logs a session for each citizen; the laptop adds a citizen
    // (that sync's answer is lost: the server stored it), then edits both citizens.
    log_session(
        &mut tablet,
        erased_course,
        assistant.user_id,
        "Endnu en note om knæet",
    );
    let unsent_session = log_session(&mut tablet, kept_course, assistant.user_id, "Gik en tur");
    let added = citizen("Carla Nyborg");
    docs::put_citizen(laptop.doc_mut(roster.id).unwrap(), &added, 2).unwrap();
    sync_answer_lost(&mut laptop, &mut server, &therapist).unwrap();
    let mut moved = stays.clone();
    moved.address = Some("Nyvej 7".into());
    docs::put_citizen(laptop.doc_mut(roster.id).unwrap(), &moved, 3).unwrap();
    let mut renamed = erased.clone();
    renamed.name = "Agnete Omdøbt".into();
    docs::put_citizen(laptop.doc_mut(roster.id).unwrap(), &renamed, 3).unwrap();

    // The server erases the citizen: their course and log go, the roster is rewritten.
    let old = server.docs[&roster.id].1.clone();
    server.erase(DocumentId::course_of(erased_course));
    server.erase(DocumentId::session_log_of(erased_course));
    let what = docs::rewrite::RosterErasure {
        citizens: [erased.id].into(),
        ..Default::default()
    };
    let (new, _) = docs::rewrite::rewrite_roster_without(&old, team, &what, 1_000_000).unwrap();
    server.rewrite(roster.id, new);

    // Every device syncs: deletes, replaces, rebases; then once more to send the rebased work.
    let report = sync(&mut tablet, &mut server, &assistant).unwrap().0;
    assert_eq!(report.erased.len(), 2, "{report:?}");
    assert_eq!(report.replaced, vec![roster.id]);
    let report = sync(&mut laptop, &mut server, &therapist).unwrap().0;
    assert_eq!(report.erased.len(), 2, "{report:?}");
    assert_eq!(report.replaced, vec![roster.id]);
    assert!(
        laptop.dropped >= 1,
        "the edit to the erased citizen is dropped"
    );
    for _ in 0..2 {
        sync(&mut laptop, &mut server, &therapist).unwrap();
        sync(&mut tablet, &mut server, &assistant).unwrap();
    }

    // Converged: the same documents and heads everywhere, the new generation under them.
    let heads = |docs: &std::collections::BTreeMap<DocumentId, (Header, Automerge)>| {
        docs.iter()
            .map(|(id, (_, d))| (*id, d.get_heads()))
            .collect::<Vec<_>>()
    };
    let server_heads: Vec<_> = server
        .docs
        .iter()
        .map(|(id, (_, d))| (*id, d.get_heads()))
        .collect();
    assert_eq!(heads(&laptop.docs), server_heads);
    assert_eq!(heads(&tablet.docs), server_heads);
    assert_eq!(laptop.generations[&roster.id], 1);
    assert_eq!(tablet.generations[&roster.id], 1);
    let stored = &server.docs[&roster.id].1;
    assert!(stored
        .get_change_meta_by_hash(&old.get_heads()[0])
        .is_none());

    // Nothing else lost: the roster's other citizens with the laptop's offline edit (the
    // absorbed addition once), both sessions of the other course.
    let citizens = RosterDoc::read(stored.as_ref()).unwrap().citizens;
    let mut names: Vec<_> = citizens.values().map(|c| c.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Bent Bliversen", "Carla Nyborg"]);
    assert_eq!(
        citizens[&stays.id.to_string()].address.as_deref(),
        Some("Nyvej 7")
    );
    let log = SessionLogDoc::read(
        server.docs[&DocumentId::session_log_of(kept_course)]
            .1
            .as_ref(),
    )
    .unwrap();
    for s in [confirmed_session, unsent_session] {
        assert_eq!(log.sessions[&s.to_string()].set_count(), 3);
    }

    // And no byte of the erased citizen anywhere.
    for (whose, bytes) in [
        (
            "server",
            all_bytes(server.docs.values().map(|(_, d)| d.as_ref())),
        ),
        ("laptop", all_bytes(laptop.docs.values().map(|(_, d)| d))),
        ("tablet", all_bytes(tablet.docs.values().map(|(_, d)| d))),
    ] {
        for secret in [ERASED_NAME, "Agnete Omdøbt", ERASED_NOTE, "knæet"] {
            assert!(!contains(&bytes, secret), "{secret} on the {whose}");
        }
    }

    // An offline device still offering the erased documents later is told `Erased` again.
    let mut late = MemoryDevice::default();
    let header = Header::course(team, erased_course);
    late.insert(header, old_course_copy(&header));
    let report = sync(&mut late, &mut server, &therapist).unwrap().0;
    assert_eq!(report.erased, vec![header.id]);
    assert!(!late.docs.contains_key(&header.id));
    assert!(!server.docs.contains_key(&header.id), "not resurrected");
}

fn old_course_copy(header: &Header) -> Automerge {
    docs::genesis(header).with_actor(laptop_actor())
}
