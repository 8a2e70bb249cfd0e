//! A fixed world for admission fuzzing and its regression test (shared by
//! `fuzz/fuzz_targets/admission.rs` and `shared/tests/admission_fixtures.rs`): a team with a
//! therapist and an assistant, each with one registered device, and the team's stored course
//! and session log, and a second course's session log that has grown two sessions with sets
//! (what admission read of it kept, as the server keeps it for the next offer). Everything is
//! deterministic (fixed ids, actors and times), so bundles written once as seed files keep
//! meeting the same stored history.

use automerge::{ActorId, Automerge};
use homerehab_shared::admission::Rejection;
use homerehab_shared::admission::{
    admit_or_refuse_knowing, AdmissionRefusal, Admitted, SessionValues,
};
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::{self, Header};
use homerehab_shared::ids::{
    CitizenId, CourseId, DocumentId, MunicipalityId, ProgramExerciseId, SessionId, TeamId, UserId,
};
use homerehab_shared::model::{Course, CourseStatus, Millis, Role, SessionLog, SetLog};
use homerehab_shared::sync::raw_changes_since;
use homerehab_shared::sync::wire::{from_hashes, SyncRequest};
use std::collections::HashSet;
use uuid::Uuid;

pub const NOW: Millis = 1_760_000_000_000;

pub struct World {
    pub team: TeamId,
    pub course: Header,
    pub log: Header,
    pub course_doc: Automerge,
    pub log_doc: Automerge,
    pub therapist: Principal,
    pub assistant: Principal,
    pub therapist_actor: ActorId,
    pub assistant_actor: ActorId,
    /// A second course's session log with two sessions of three sets each, by the assistant.
    pub grown_log: Header,
    pub grown_log_doc: Automerge,
    /// What admission read of the grown log when its last set came, at its heads: offers to
    /// it are admitted both with and without it, and must be judged alike.
    pub grown_known: SessionValues,
}

/// A set of ten repetitions at `at`.
pub fn ten_reps(at: Millis) -> SetLog {
    SetLog {
        reps: Some(10),
        duration_s: None,
        load_kg: None,
        at,
    }
}

fn id(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn principal(user: u8, role: Role, team: TeamId) -> Principal {
    Principal {
        user_id: UserId(id(user)),
        role,
        team_id: team,
        granted_teams: vec![],
        municipality_id: Some(MunicipalityId(id(9))),
    }
}

impl World {
    pub fn new() -> World {
        let team = TeamId(id(1));
        let course_id = CourseId(id(2));
        let therapist = principal(3, Role::Therapist, team);
        let assistant = principal(4, Role::Assistant, team);
        let therapist_actor = ActorId::from([0x11u8; 16].as_slice());
        let assistant_actor = ActorId::from([0x22u8; 16].as_slice());
        let course = Header::course(team, course_id);
        let log = Header::session_log(team, course_id);
        let mut course_doc = docs::genesis(&course).with_actor(therapist_actor.clone());
        let record = Course {
            id: course_id,
            status: CourseStatus::Active,
            goals: vec!["Kan rejse sig fra stol uden hjælp".into()],
            ..Course::new(CitizenId(id(5)), team, therapist.user_id, "2026-11-02", NOW)
        };
        docs::put_course(&mut course_doc, &record, NOW).expect("a valid course");
        let log_doc = docs::genesis(&log).with_actor(assistant_actor.clone());
        let (grown_log, grown_log_doc, grown_known) = grown(team, &assistant, &assistant_actor);
        World {
            team,
            course,
            log,
            course_doc,
            log_doc,
            therapist,
            assistant,
            therapist_actor,
            assistant_actor,
            grown_log,
            grown_log_doc,
            grown_known,
        }
    }

    /// The stored document an offer for `doc` meets (None: a new document).
    pub fn stored(&self, doc: DocumentId) -> Option<&Automerge> {
        if doc == self.course.id {
            Some(&self.course_doc)
        } else if doc == self.log.id {
            Some(&self.log_doc)
        } else if doc == self.grown_log.id {
            Some(&self.grown_log_doc)
        } else {
            None
        }
    }

    /// Admits every offer as the server would, for the therapist and the assistant (each with
    /// their own device registered), and uses what passed as the server then does: saved, and
    /// the device's missing changes computed. Returns the outcomes. An offer to the grown log
    /// is admitted once more with what admission read of it before, as the server does when it
    /// kept that: the two must agree (the same verdict, the same new changes), or this panics.
    pub fn admit_request(&self, req: &SyncRequest) -> Vec<Result<Admitted, AdmissionRefusal>> {
        let mut out = Vec::new();
        for offer in &req.offers {
            for (who, actor) in [
                (&self.therapist, &self.therapist_actor),
                (&self.assistant, &self.assistant_actor),
            ] {
                let actors: HashSet<ActorId> = [actor.clone()].into_iter().collect();
                let admit = |known: Option<SessionValues>| {
                    admit_or_refuse_knowing(
                        offer.doc,
                        self.stored(offer.doc),
                        &offer.changes,
                        &from_hashes(&offer.heads),
                        who,
                        &mut &actors,
                        known,
                    )
                };
                let outcome = admit(None);
                if offer.doc == self.grown_log.id {
                    let knowing = admit(Some(self.grown_known.clone()));
                    if let Ok(adm) = &knowing {
                        read_as_autosurgeon_reads(adm);
                    }
                    assert_eq!(
                        verdict(&outcome),
                        verdict(&knowing),
                        "admission judged an offer to a grown log differently with what it \
                         read of the log before"
                    );
                }
                if let Ok(adm) = &outcome {
                    read_as_autosurgeon_reads(adm);
                    let _ = adm.doc.save();
                    let _ =
                        homerehab_shared::sync::changes_since(&adm.doc, &from_hashes(&offer.heads));
                }
                out.push(outcome);
            }
        }
        out
    }

    /// Raw Automerge bytes as an offer: `selector` picks the document (course, session log or
    /// a new one; from 128 on, the grown log) and whether the device claims the stored heads or
    /// none.
    pub fn request_for_raw(&self, selector: u8, changes: &[u8]) -> SyncRequest {
        let (doc, stored) = match selector % 3 {
            _ if selector >= GROWN => (self.grown_log.id, Some(&self.grown_log_doc)),
            0 => (self.course.id, Some(&self.course_doc)),
            1 => (self.log.id, Some(&self.log_doc)),
            _ => (DocumentId(id(7)), None),
        };
        let heads = match ((selector % GROWN) / 3 % 2, stored) {
            (0, Some(d)) => homerehab_shared::sync::wire::to_hashes(&d.get_heads()),
            _ => vec![[0u8; 32]],
        };
        SyncRequest {
            protocol: homerehab_shared::sync::PROTOCOL_VERSION,
            offers: vec![homerehab_shared::sync::Offer {
                doc,
                heads,
                changes: changes.to_vec(),
                generation: 0,
            }],
        }
    }

    /// One fuzz input: the first byte chooses between an encoded request (even) and raw
    /// Automerge bytes offered as one document's changes (odd; the second byte is the selector).
    pub fn run(&self, data: &[u8]) -> Vec<Result<Admitted, AdmissionRefusal>> {
        let limits = homerehab_shared::sync::wire::Limits {
            max_decompressed: 1 << 20,
            ..Default::default()
        };
        match data {
            [mode, rest @ ..] if mode % 2 == 0 => {
                match homerehab_shared::sync::wire::decode_request(rest, &limits) {
                    Ok(req) => self.admit_request(&req),
                    Err(_) => vec![],
                }
            }
            [_, selector, rest @ ..] => self.admit_request(&self.request_for_raw(*selector, rest)),
            _ => vec![],
        }
    }
}

/// Raw selectors from here on offer to the grown log.
pub const GROWN: u8 = 128;

/// Panics unless what admission read of the sessions (made by the changes, grown from what it
/// knew, read in one pass) is what autosurgeon reads of them in the admitted document.
fn read_as_autosurgeon_reads(adm: &Admitted) {
    for (key, session) in adm.sessions_read.iter().flat_map(|r| &r.sessions) {
        let read = docs::read_session(&adm.doc, key);
        assert!(
            matches!(&read, Ok(Some(s)) if s == session),
            "admission read session {key} as {session:?}, autosurgeon as {read:?}"
        );
    }
}

/// What must not depend on whether admission knew what it read of a log before: the verdict,
/// the new changes and the sessions read.
type Verdict = Result<
    (Vec<automerge::ChangeHash>, Vec<(String, SessionLog)>),
    (std::mem::Discriminant<Rejection>, bool),
>;

fn verdict(outcome: &Result<Admitted, AdmissionRefusal>) -> Verdict {
    match outcome {
        Ok(adm) => {
            let mut sessions: Vec<(String, SessionLog)> = adm
                .sessions_read
                .iter()
                .flat_map(|r| r.sessions.clone())
                .collect();
            sessions.sort_by(|a, b| a.0.cmp(&b.0));
            Ok((adm.new_changes.clone(), sessions))
        }
        Err(r) => Err((std::mem::discriminant(&*r.rejection), r.from_writer)),
    }
}

/// The second course's session log: two sessions of three sets, the last set admitted on top
/// of the rest so that what admission read is at the log's heads.
fn grown(
    team: TeamId,
    assistant: &Principal,
    actor: &ActorId,
) -> (Header, Automerge, SessionValues) {
    let course = CourseId(id(6));
    let header = Header::session_log(team, course);
    let mut log = docs::genesis(&header).with_actor(actor.clone());
    let line = ProgramExerciseId(id(8));
    let mut before_last = None;
    for n in [10u8, 20] {
        let at = NOW + Millis::from(n) * 1000;
        let mut session = SessionLog::start(course, assistant.user_id, None, at);
        session.id = SessionId(id(n));
        docs::put_session(&mut log, &session, at).expect("a valid session");
        for k in 1..=3 {
            if n == 20 && k == 3 {
                before_last = Some(log.get_heads());
            }
            let at = at + k * 100;
            docs::log_set(
                &mut log,
                session.id,
                line,
                "sit-to-stand",
                &ten_reps(at),
                at,
            )
            .expect("a valid set");
        }
    }
    let before_last = before_last.expect("the last set");
    let stored = log.fork_at(&before_last).expect("earlier heads");
    let actors: HashSet<ActorId> = [actor.clone()].into_iter().collect();
    let admitted = admit_or_refuse_knowing(
        header.id,
        Some(&stored),
        &raw_changes_since(&log, &before_last),
        &log.get_heads(),
        assistant,
        &mut &actors,
        None,
    )
    .unwrap_or_else(|r| panic!("the last set is the assistant's: {:?}", r.rejection));
    let known = admitted
        .session_values
        .expect("admission keeps what it read of a log");
    assert_eq!(known.heads(), log.get_heads().as_slice());
    (header, log, known)
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}
