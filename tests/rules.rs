//! The real server refuses what the app refuses, from a device that skips the app's rules: a
//! device signed in over HTTP writes its documents straight with autosurgeon and
//! `shared::docs` (no app operation, no store) and syncs with the real `sync-server` process.
//! Each crafted change is refused with its reason, and a colleague's device that syncs
//! afterwards finds none of it on the server. What the app does write — two therapists'
//! revisions of one program made offline, each on the latest revision they had — reaches
//! the whole team, as a program conflict.

use automerge::{ActorId, ObjType, ReadDoc, ROOT};
use homerehab_scenarios::*;
use homerehab_shared::docs::{self, ProgramEdit};
use homerehab_shared::ids::*;
use homerehab_shared::sync::sim::MemoryDevice;
use homerehab_shared::sync::wire::{self, Limits};
use homerehab_shared::sync::{ClientRound, SyncReport};

/// A device that speaks the sync protocol itself, with its own registered actor.
struct RawDevice {
    server_url: String,
    token: String,
    actor: ActorId,
    docs: MemoryDevice,
}

impl RawDevice {
    async fn login(server: &Server, username: &str) -> RawDevice {
        let actor = ActorId::random();
        let body = serde_json::json!({
            "username": username,
            "password": PASSWORD,
            "actor_id": actor.to_hex_string(),
        });
        let resp = reqwest::Client::new()
            .post(format!("{}/v1/login", server.url()))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("login");
        assert!(resp.status().is_success(), "{}", resp.status());
        let answer: serde_json::Value =
            serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        RawDevice {
            server_url: server.url(),
            token: answer["token"].as_str().expect("a token").to_string(),
            actor,
            docs: MemoryDevice::default(),
        }
    }

    async fn sync(&mut self) -> SyncReport {
        let (mut round, mut req) = ClientRound::begin(&mut self.docs).unwrap();
        loop {
            let resp = reqwest::Client::new()
                .post(format!("{}/v1/sync", self.server_url))
                .bearer_auth(&self.token)
                .header("content-type", "application/octet-stream")
                .body(wire::encode(&req))
                .send()
                .await
                .expect("sync");
            assert!(resp.status().is_success(), "{}", resp.status());
            let resp = wire::decode_response(&resp.bytes().await.unwrap(), &Limits::default())
                .expect("a sync response");
            match round.on_response(&mut self.docs, resp).unwrap() {
                Some(next) => req = next,
                None => return round.report(),
            }
        }
    }

    /// A document this device holds, writing as its own registered actor.
    fn doc(&mut self, id: DocumentId) -> &mut automerge::Automerge {
        let actor = self.actor.clone();
        let doc = self
            .docs
            .doc_mut(id)
            .expect("the document is on the device");
        doc.set_actor(actor);
        doc
    }
}

fn rejected_reason(report: &SyncReport, doc: DocumentId) -> String {
    report
        .rejected
        .iter()
        .find(|(id, _)| *id == doc)
        .map(|(_, why)| why.clone())
        .unwrap_or_else(|| panic!("{doc} was not refused: {report:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_that_break_a_domain_rule_are_refused_by_the_real_server_and_not_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let team = laptop.me().team_id;
    let cit = citizen("Bodil Madsen");
    laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&laptop, cit.id);
    laptop.sync().await;

    // The therapist's second device, one that writes documents without the app's checks.
    let mut rogue = RawDevice::login(&server, "terapeut").await;
    let first = rogue.sync().await;
    assert!(first.rejected.is_empty(), "{first:?}");
    let (roster, course_doc) = (DocumentId::roster_of(team), DocumentId::course_of(course));

    // A citizen referred to by a CPR number, written past `Citizen::validate`.
    let mut cpr_citizen = citizen("Karl Jensen");
    cpr_citizen.local_ref = "010203-1234".into();
    {
        let doc = rogue.doc(roster);
        let mut tx = doc.transaction();
        let citizens = match tx.get(ROOT, "citizens").unwrap() {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            other => panic!("{other:?}"),
        };
        autosurgeon::reconcile_prop(
            &mut tx,
            &citizens,
            cpr_citizen.id.to_string().as_str(),
            &cpr_citizen,
        )
        .unwrap();
        tx.commit();
    }
    // Meanwhile the laptop revises the program; the rogue device then writes a revision of
    // its own that claims to be the program's first (based on no revision), on a program that
    // already has one: a revision that skips the stale-revision check.
    revise_program(
        &laptop,
        course,
        &[ProgramEdit::Upsert(program_line("wall-push-up", 4.0, 2))],
        "Armstrækninger tilføjet",
    );
    laptop.sync().await;
    let me = laptop.me().user_id;
    docs::edit_program(
        rogue.doc(course_doc),
        &[ProgramEdit::Upsert(program_line("step-ups", 5.0, 2))],
        me,
        "Trinbræt",
        None,
        homerehab_core::store::now_ms(),
    )
    .unwrap();

    let report = rogue.sync().await;
    let why = rejected_reason(&report, roster);
    assert!(why.contains("CPR"), "{why}");
    let why = rejected_reason(&report, course_doc);
    assert!(why.contains("changed meanwhile"), "{why}");

    // Nothing of it is on the server: a colleague's device (here the laptop) syncs and finds
    // neither the citizen nor the stale revision; a device that signs in fresh neither.
    laptop.sync().await;
    let mut fresh = RawDevice::login(&server, "terapeut").await;
    fresh.sync().await;
    let on_laptop = {
        let mut store = laptop.store();
        (
            store.roster(team).unwrap(),
            store.course_doc(course).unwrap().program,
        )
    };
    let on_fresh = (
        docs::RosterDoc::read(fresh.doc(roster)).unwrap(),
        docs::CourseDoc::read(fresh.doc(course_doc))
            .unwrap()
            .program,
    );
    for (who, (roster_doc, program)) in [("laptop", on_laptop), ("fresh device", on_fresh)] {
        assert!(
            !roster_doc
                .citizens
                .contains_key(&cpr_citizen.id.to_string()),
            "{who}"
        );
        assert!(
            roster_doc.citizens.contains_key(&cit.id.to_string()),
            "{who}"
        );
        assert_eq!(program.revision_list().len(), 2, "{who}");
        assert!(
            program
                .exercises
                .values()
                .all(|l| l.exercise_ref != "step-ups"),
            "{who}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_therapists_revising_one_program_offline_both_reach_the_team_as_a_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    server.create_user("kollega", "therapist", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "kollega").await;
    let cit = citizen("Bodil Madsen");
    laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&laptop, cit.id);
    laptop.sync().await;
    tablet.sync().await;

    // Both offline: each revises the program on revision 1, the latest they have, and sets
    // the first line's repetitions differently.
    let first_line = laptop.store().course_doc(course).unwrap().program.ordered()[0].clone();
    for (device, reps) in [(&laptop, 12), (&tablet, 8)] {
        let mut changed = first_line.clone();
        changed.dosage.reps = Some(reps);
        revise_program(
            device,
            course,
            &[ProgramEdit::Upsert(changed)],
            "Gentagelser",
        );
    }
    // Both sync; neither is refused.
    for device in [&laptop, &tablet] {
        let report = device.sync().await;
        assert!(report.rejected.is_empty(), "{report:?}");
        assert_eq!(device.store().sync_status().unwrap().waiting, 0);
    }

    // A third device of the team signs in fresh: both revisions are on the server, and the
    // two values are shown as a program conflict, also as the caseload's flag.
    server.create_user("vikar", "therapist", "Hjemmepleje Nord");
    let third = Device::login(&tmp.path().join("third"), &server, "vikar").await;
    third.sync().await;
    let mut store = third.store();
    let program = store.course_doc(course).unwrap().program;
    assert_eq!(program.revision_list().len(), 3);
    let conflicts = store.program_conflicts(course).unwrap();
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert_eq!(
        conflicts[0].field, "revision",
        "two revisions on revision 1"
    );
    assert_eq!(conflicts[1].field, "reps");
    let mut values = conflicts[1].values.clone();
    values.sort();
    assert_eq!(values, ["12", "8"]);
    let facts = store.caseload_facts(0).unwrap();
    let facts = facts.iter().find(|c| c.id == course).expect("the course");
    assert_eq!((facts.revision_count, facts.program_conflicts), (3, 2));
}
