//! A fixed world for admission fuzzing and its regression test (shared by
//! `fuzz/fuzz_targets/admission.rs` and `shared/tests/admission_fixtures.rs`): a team with a
//! therapist and an assistant, each with one registered device, and the team's stored course
//! and session log. Everything is deterministic (fixed ids, actors and times), so bundles
//! written once as seed files keep meeting the same stored history.

use automerge::{ActorId, Automerge};
use homerehab_shared::admission::{admit_or_refuse, AdmissionRefusal, Admitted};
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::{self, Header};
use homerehab_shared::ids::{CitizenId, CourseId, DocumentId, MunicipalityId, TeamId, UserId};
use homerehab_shared::model::{Course, CourseStatus, Millis, Role};
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
        }
    }

    /// The stored document an offer for `doc` meets (None: a new document).
    pub fn stored(&self, doc: DocumentId) -> Option<&Automerge> {
        if doc == self.course.id {
            Some(&self.course_doc)
        } else if doc == self.log.id {
            Some(&self.log_doc)
        } else {
            None
        }
    }

    /// Admits every offer as the server would, for the therapist and the assistant (each with
    /// their own device registered), and uses what passed as the server then does: saved, and
    /// the device's missing changes computed. Returns the outcomes.
    pub fn admit_request(&self, req: &SyncRequest) -> Vec<Result<Admitted, AdmissionRefusal>> {
        let mut out = Vec::new();
        for offer in &req.offers {
            for (who, actor) in [
                (&self.therapist, &self.therapist_actor),
                (&self.assistant, &self.assistant_actor),
            ] {
                let actors: HashSet<ActorId> = [actor.clone()].into_iter().collect();
                let outcome = admit_or_refuse(
                    offer.doc,
                    self.stored(offer.doc),
                    &offer.changes,
                    &from_hashes(&offer.heads),
                    who,
                    &actors,
                );
                if let Ok(adm) = &outcome {
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
    /// a new one) and whether the device claims the stored heads or none.
    pub fn request_for_raw(&self, selector: u8, changes: &[u8]) -> SyncRequest {
        let (doc, stored) = match selector % 3 {
            0 => (self.course.id, Some(&self.course_doc)),
            1 => (self.log.id, Some(&self.log_doc)),
            _ => (DocumentId(id(7)), None),
        };
        let heads = match (selector / 3 % 2, stored) {
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

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}
