//! Stores for the unit tests of the store's files (and of the crate's other modules).

use super::{Identity, Store};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use std::path::Path;

pub(crate) fn signed_in(dir: &Path, role: Role, team: TeamId) -> Store {
    let store = Store::open(dir).unwrap();
    store
        .set_identity(&Identity {
            user_id: UserId::new(),
            username: "t".into(),
            display_name: "T".into(),
            role,
            team_id: team,
            server_url: "http://127.0.0.1:1".into(),
            token: "x".into(),
            expires_at: i64::MAX,
            municipality_id: Some(MunicipalityId(uuid::Uuid::from_u128(1))),
            granted_teams: vec![],
        })
        .unwrap();
    store
}

/// An active citizen of no one in particular, named `name`.
pub(crate) fn citizen(id: CitizenId, name: &str) -> Citizen {
    Citizen {
        id,
        name: name.into(),
        local_ref: format!("K-{name}"),
        address: None,
        assigned: Default::default(),
        active: true,
        birth_year: None,
        sex: None,
    }
}

pub(crate) fn course_with_a_logged_set(store: &mut Store, team: TeamId) -> CourseId {
    let me = store.identity().unwrap().unwrap();
    let course = Course {
        status: CourseStatus::Active,
        ..Course::new(CitizenId::new(), team, me.user_id, "2026-11-02", 0)
    };
    let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(2, 10));
    store
        .create_course(&course, std::slice::from_ref(&line))
        .unwrap();
    let session = store.start_session(course.id).unwrap();
    let set = SetLog {
        reps: Some(10),
        duration_s: None,
        load_kg: None,
        at: 1,
    };
    store
        .log_set(&LogSet {
            course: course.id,
            session: session.id,
            line: line.id,
            set: set.clone(),
        })
        .unwrap();
    course.id
}
