//! Two servers over one database, admitting changes to one document at the same instant: each
//! server is a [`Syncer`] with its own document cache and its own connection to one SQLite file
//! or one PostgreSQL database (as two server processes would be; both backends, see
//! `backends`), driven from threads by devices that log sessions on one
//! shared course. Without the per-document check at commit (`DocumentCommit::base`), a server
//! answers from a cached copy another server has moved past and compacts it over the other's
//! changes; with it, every session lands once and both servers end at the same heads.

mod backends;

use automerge::ActorId;
use backends::Backend;
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::{self, genesis, Header, SessionLogDoc};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::sim::MemoryDevice;
use homerehab_shared::sync::wire::{self, to_hashes, Limits};
use homerehab_shared::sync::ClientRound;
use homerehab_sync_server::config::QuarantineLimits;
use homerehab_sync_server::seed::server_actor;
use homerehab_sync_server::store::{NewUser, Store};
use homerehab_sync_server::sync::Syncer;
use homerehab_sync_server::Error;
use std::collections::HashSet;
use std::sync::{Arc, Barrier};

const DEVICES: usize = 6;
const ROUNDS: usize = 12;

struct World {
    servers: Vec<Syncer>,
    store: Arc<dyn Store>,
    course: CourseId,
    assistants: Vec<(Principal, ActorId)>,
}

/// One database, two servers, `DEVICES` assistants of one team with a registered device each.
fn world(backend: &Backend) -> World {
    // Each "server" opens the database itself; compaction on every commit, so a commit built on
    // a stale copy would replace the other server's chunks.
    let open = || -> Arc<dyn Store> { backend.open_compacting_eagerly() };
    let store = open();
    let m = store.ensure_municipality("Test Kommune").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let mut assistants = Vec::new();
    for i in 0..DEVICES {
        let id = store
            .create_user(&NewUser {
                username: format!("assistent{i}"),
                display_name: format!("Assistent {i}"),
                password_hash: "x".into(),
                role: Role::Assistant,
                team_id: team,
                granted_teams: vec![],
            })
            .unwrap();
        let actor = ActorId::random();
        store.register_actor(id, &actor).unwrap();
        let record = store
            .user_by_username(&format!("assistent{i}"))
            .unwrap()
            .unwrap();
        assistants.push((record.principal(), actor));
    }
    let course = CourseId::new();
    let header = Header::course(team, course);
    let mut doc = genesis(&header).with_actor(server_actor());
    let c = Course {
        id: course,
        legal_basis: LegalBasis("SEL §86 stk. 2".into()),
        sessions_per_week: 3,
        status: CourseStatus::Active,
        ..Course::new(
            CitizenId::new(),
            team,
            assistants[0].0.user_id,
            "2026-01-05",
            1_000,
        )
    };
    docs::put_course(&mut doc, &c, 1_000).unwrap();
    store.commit_document(&header, &[], &doc, &[]).unwrap();
    let log = Header::session_log(team, course);
    store
        .commit_document(&log, &[], &genesis(&log), &[])
        .unwrap();
    let servers = (0..2)
        .map(|_| {
            Syncer::new(
                open(),
                64 << 20,
                Limits::default(),
                QuarantineLimits::default(),
            )
        })
        .collect();
    World {
        servers,
        store,
        course,
        assistants,
    }
}

/// One complete device sync against `server`; a 503-worthy contention is retried like a
/// device's background sync would.
fn sync(server: &Syncer, who: &Principal, device: &mut MemoryDevice) {
    let (mut round, mut req) = ClientRound::begin(device).unwrap();
    loop {
        let body = loop {
            match server.handle(who, &wire::encode(&req)) {
                Ok((body, _)) => break body,
                Err(Error::DocumentMoved(_)) => continue,
                Err(e) => panic!("sync failed: {e}"),
            }
        };
        let resp = wire::decode_response(&body, &Limits::default()).unwrap();
        match round.on_response(device, resp).unwrap() {
            Some(next) => req = next,
            None => return,
        }
    }
}

fn sessions(doc: &automerge::Automerge) -> HashSet<SessionId> {
    SessionLogDoc::read(doc)
        .unwrap()
        .sessions
        .values()
        .map(|s| s.id)
        .collect()
}

on_both_backends!(
    two_servers_admitting_one_document_at_once_lose_nothing,
    a_commit_on_a_moved_document_stores_nothing,
    syncs_of_one_server_changing_one_document_take_turns,
);

/// Every device logs `ROUNDS` sessions on the shared course's log, all through `servers`
/// (device `i`'s round `r` through `pick(i, r)`), starting at once; the sessions each logged.
fn log_at_once(w: &World, pick: impl Fn(usize, usize) -> usize + Sync) -> Vec<HashSet<SessionId>> {
    let log = DocumentId::session_log_of(w.course);
    let start = Barrier::new(DEVICES);
    std::thread::scope(|s| {
        let handles: Vec<_> = w
            .assistants
            .iter()
            .enumerate()
            .map(|(i, (who, actor))| {
                let (servers, start, course, pick) = (&w.servers, &start, w.course, &pick);
                s.spawn(move || {
                    let mut device = MemoryDevice::default();
                    sync(&servers[pick(i, 0)], who, &mut device);
                    device.doc_mut(log).unwrap().set_actor(actor.clone());
                    let mut mine = HashSet::new();
                    start.wait();
                    for round in 0..ROUNDS {
                        let at = 10_000 + (i * ROUNDS + round) as Millis;
                        let session = SessionLog::start(course, who.user_id, None, at);
                        docs::put_session(device.doc_mut(log).unwrap(), &session, at).unwrap();
                        mine.insert(session.id);
                        sync(&servers[pick(i, round)], who, &mut device);
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn two_servers_admitting_one_document_at_once_lose_nothing(backend: &Backend) {
    let w = world(backend);
    let log = DocumentId::session_log_of(w.course);
    // Alternate servers, so each server's cache is behind the other's commits half of the time.
    let logged = log_at_once(&w, |i, round| (i + round) % 2);
    let all: HashSet<SessionId> = logged.into_iter().flatten().collect();
    assert_eq!(all.len(), DEVICES * ROUNDS);

    let stored = w.store.load_document(log).unwrap().unwrap();
    assert_eq!(sessions(&stored), all, "every confirmed session is stored");
    assert_eq!(
        w.store.stored_heads(log).unwrap().unwrap(),
        to_hashes(&stored.get_heads()),
        "the stored heads are the stored document's"
    );
    // Both servers answer a fresh device with everything, at the same heads.
    for server in &w.servers {
        let mut fresh = MemoryDevice::default();
        sync(server, &w.assistants[0].0, &mut fresh);
        let (_, doc) = &fresh.docs[&log];
        assert_eq!(sessions(doc), all);
        assert_eq!(doc.get_heads(), stored.get_heads());
    }
}

fn a_commit_on_a_moved_document_stores_nothing(backend: &Backend) {
    let w = world(backend);
    let log = DocumentId::session_log_of(w.course);
    let header = w.store.document_header(log).unwrap().unwrap();
    let base = w.store.stored_heads(log).unwrap().unwrap();
    let original = w.store.load_document(log).unwrap().unwrap();
    let grow = |actor: &ActorId, at: Millis| {
        let mut doc = original.fork().with_actor(actor.clone());
        let before = doc.get_heads();
        let session = SessionLog::start(w.course, w.assistants[0].0.user_id, None, at);
        docs::put_session(&mut doc, &session, at).unwrap();
        let new: Vec<u8> = doc
            .get_changes(&before)
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        (doc, new, session.id)
    };
    let (first, first_new, first_session) = grow(&w.assistants[0].1, 1);
    let (second, second_new, _) = grow(&w.assistants[1].1, 2);
    w.store
        .commit_document(&header, &base, &first, &first_new)
        .unwrap();
    // Built on the same base, which is no longer what is stored.
    let moved = w
        .store
        .commit_document(&header, &base, &second, &second_new)
        .unwrap_err();
    assert!(
        matches!(moved, Error::DocumentMoved(id) if id == log),
        "{moved}"
    );
    let stored = w.store.load_document(log).unwrap().unwrap();
    assert_eq!(sessions(&stored), HashSet::from([first_session]));
    assert_eq!(stored.get_heads(), first.get_heads());
    // A document new to the server cannot be created twice.
    let again = w
        .store
        .commit_document(&header, &[], &first, &[])
        .unwrap_err();
    assert!(matches!(again, Error::DocumentMoved(_)), "{again}");
}

/// Within one server, syncs changing the same document queue for it (`turns.rs`) rather than
/// collide at the commit's heads check: none is served again, and every session lands. Without
/// the turns, six devices logging at once on one log were served again 159 times here.
fn syncs_of_one_server_changing_one_document_take_turns(backend: &Backend) {
    let w = world(backend);
    let log = DocumentId::session_log_of(w.course);
    let logged = log_at_once(&w, |_, _| 0);
    let all: HashSet<SessionId> = logged.into_iter().flatten().collect();
    assert_eq!(all.len(), DEVICES * ROUNDS);
    let stored = w.store.load_document(log).unwrap().unwrap();
    assert_eq!(sessions(&stored), all, "every confirmed session is stored");
    assert_eq!(w.servers[0].served_again(), 0, "no sync was served again");
}
