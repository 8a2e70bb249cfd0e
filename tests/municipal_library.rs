//! A municipality's own library through sync, with the real sync-server binary and real SQLite
//! stores: a therapist adds an exercise and a template, a colleague in the same municipality
//! starts a course from them, an assistant reads them, and a therapist of another municipality
//! neither receives the document nor gets to write it.

use homerehab_core::error::CoreError;
use homerehab_core::store::now_ms;
use homerehab_scenarios::*;
use homerehab_shared::docs::{genesis, Header};
use homerehab_shared::ids::*;
use homerehab_shared::library::search::{Query, SearchIndex};
use homerehab_shared::library::Lang;
use homerehab_shared::municipal::{self, LocalTemplate, LocalTemplateLine, LocalTemplateText};
use homerehab_shared::sync::wire::{self, Limits};
use homerehab_shared::sync::{Offer, ReplyStatus, SyncRequest, PROTOCOL_VERSION};

fn template(id: &str, exercise: &str, author: UserId) -> LocalTemplate {
    let line = |exercise: &str| LocalTemplateLine {
        exercise: exercise.into(),
        dosage: None,
        note: None,
    };
    LocalTemplate {
        id: id.into(),
        version: 1,
        retired: false,
        legal_basis: "SEL §86 stk. 2".into(),
        weeks: 6,
        sessions_per_week: 2,
        minutes_per_session: 20,
        text: [(
            "da".to_string(),
            LocalTemplateText {
                title: "Knæ efter operation".into(),
                description: "Kommunens eget forløb efter knæalloplastik.".into(),
                goals: vec!["Gå på trapper igen".into()],
            },
        )]
        .into(),
        exercises: vec![line("sit-to-stand"), line(exercise)],
        updated_by: author,
        updated_at: 1,
        test_plan: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn municipality_content_reaches_its_own_staff_and_no_one_else() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Nord");
    server.create_team("Syd");
    server.admin(&[
        "create-team",
        "--name",
        "Vest",
        "--municipality",
        "Haderslev Kommune",
    ]);
    server.create_user("terapeut1", "therapist", "Nord");
    server.create_user("terapeut2", "therapist", "Syd");
    server.create_user("assistent1", "assistant", "Nord");
    server.create_user("terapeut-h", "therapist", "Vest");
    let author = Device::login(&tmp.path().join("laptop1"), &server, "terapeut1").await;
    let colleague = Device::login(&tmp.path().join("laptop2"), &server, "terapeut2").await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent1").await;
    let stranger = Device::login(&tmp.path().join("haderslev"), &server, "terapeut-h").await;
    let shipped = shipped_library();
    let thisted = author
        .me()
        .municipality_id
        .expect("the server says the municipality");
    assert_eq!(colleague.me().municipality_id, Some(thisted));
    assert_ne!(stranger.me().municipality_id, Some(thisted));

    // The author adds an exercise and a template offline, then syncs.
    let author_id = author.me().user_id;
    let exercise = local_exercise("Knæstræk med håndklæde", author_id);
    let template_id = municipal::new_id("Knæ efter operation");
    {
        let mut s = author.store();
        s.put_local_exercise(&exercise).unwrap();
        s.put_local_template(&template(&template_id, &exercise.id, author_id), &shipped)
            .unwrap();
        // A template line must name a known exercise.
        let bad = template(&municipal::new_id("x"), "m-no-such-exercise", author_id);
        assert!(matches!(
            s.put_local_template(&bad, &shipped),
            Err(CoreError::NotFound(_))
        ));
    }
    author.sync().await;

    // A colleague in another team of the same municipality gets it and starts a course from it.
    colleague.sync().await;
    let library = colleague.store().library(&shipped).unwrap();
    assert_eq!(library.exercises.len(), shipped.exercises.len() + 1);
    let draft = library.draft_from_template(&template_id, Lang::Da).unwrap();
    let refs: Vec<_> = draft
        .program
        .iter()
        .map(|l| l.exercise_ref.as_str())
        .collect();
    assert_eq!(refs, ["sit-to-stand", exercise.id.as_str()]);
    let index = SearchIndex::of(&library);
    let hits = index.search(&Query {
        text: "håndklæde knæ".into(),
        ..Query::default()
    });
    assert_eq!(
        hits.first().map(|id| id.as_str()),
        Some(exercise.id.as_str())
    );
    let citizen = CitizenId::new();
    let me = colleague.me();
    let course = draft.course(citizen, me.team_id, me.user_id, "2026-12-01", now_ms());
    colleague
        .store()
        .create_course(&course, &draft.program)
        .unwrap();
    let line = colleague
        .store()
        .course_doc(course.id)
        .unwrap()
        .program
        .ordered()[1]
        .clone();
    assert_eq!(line.exercise_ref, exercise.id);
    assert_eq!(line.dosage, exercise.dosage);

    // An assistant of the municipality reads it, but may not write it.
    tablet.sync().await;
    let local = tablet
        .store()
        .library_doc()
        .unwrap()
        .expect("the library arrived");
    assert!(local.exercises.contains_key(&exercise.id));
    let own = local_exercise("Egen øvelse", tablet.me().user_id);
    assert!(matches!(
        tablet.store().put_local_exercise(&own),
        Err(CoreError::Forbidden(_))
    ));

    // Another municipality never receives the document…
    stranger.sync().await;
    let library_id = DocumentId::library_of(thisted);
    assert!(stranger
        .store()
        .all_heads()
        .unwrap()
        .iter()
        .all(|(id, _)| *id != library_id));
    // …and its changes to it are refused, even made with its own registered device.
    let header = Header::library(thisted);
    let mut doc = genesis(&header).with_actor(stranger.store().actor().clone());
    let intruder = local_exercise("Indtrængende øvelse", stranger.me().user_id);
    municipal::put_exercise(&mut doc, &intruder, now_ms()).unwrap();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![Offer {
            doc: library_id,
            heads: doc.get_heads().iter().map(|h| h.0).collect(),
            changes: doc.save(),
            generation: 0,
        }],
    };
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/sync", server.url()))
        .bearer_auth(&stranger.me().token)
        .body(wire::encode(&req))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = wire::decode_response(&resp.bytes().await.unwrap(), &Limits::default()).unwrap();
    assert_eq!(resp.replies.len(), 1, "{resp:?}");
    assert_eq!(resp.replies[0].status, ReplyStatus::Forbidden);
    colleague.sync().await;
    let local = colleague.store().library_doc().unwrap().unwrap();
    assert!(!local.exercises.contains_key(&intruder.id));
    assert_eq!(local.exercises.len(), 1);
}
