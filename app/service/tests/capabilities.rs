//! Every declared operation × every role: the service refuses, before anything else, exactly
//! the operations whose capability the role lacks — through the same entry point the Tauri
//! transport uses (the HTTP one goes through `Core::call`, which checks the same way).

use homerehab_app_api::{self as api, ErrorKind, Needs, Operation, Visitor};
use homerehab_app_service::{capability, Core};
use homerehab_core::store::{Identity, Store};
use homerehab_shared::auth::Capabilities;
use homerehab_shared::ids::{TeamId, UserId};
use homerehab_shared::model::Role;
use std::path::Path;
use std::sync::{Arc, Mutex};

const ROLES: [Role; 4] = [Role::Assistant, Role::Therapist, Role::Leader, Role::Admin];

fn core_signed_in_as(role: Role, dir: &Path) -> Core {
    let store = Store::open(dir).unwrap();
    store
        .set_identity(&Identity {
            user_id: UserId::new(),
            username: "someone".into(),
            display_name: "Someone".into(),
            role,
            team_id: TeamId::new(),
            // Unreachable: nothing here may leave the device.
            server_url: "http://127.0.0.1:9".into(),
            token: "t".into(),
            expires_at: i64::MAX,
            municipality_id: None,
            granted_teams: vec![],
        })
        .unwrap();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets");
    let library = homerehab_core::library::load(&assets).unwrap();
    Core::new(
        Arc::new(Mutex::new(store)),
        Arc::new(library),
        "http://127.0.0.1:9".into(),
    )
}

/// The names of the operations that need a capability, with it.
struct Guarded(Vec<(&'static str, api::Capability)>);

impl Visitor for Guarded {
    fn visit<O: Operation>(&mut self) {
        if let Needs::Capability(c) = O::NEEDS {
            self.0.push((O::NAME, c));
        }
    }
}

#[tokio::test]
async fn each_operation_is_refused_exactly_to_roles_without_its_capability() {
    let mut guarded = Guarded(vec![]);
    api::for_each(&mut guarded);
    assert!(guarded.0.len() >= 25, "{:?}", guarded.0);
    for role in ROLES {
        let dir = tempfile::tempdir().unwrap();
        let core = core_signed_in_as(role, dir.path());
        let me = core.call::<api::op::me::Op>(api::op::me::Request {
            query: api::NoQuery {},
            body: (),
        });
        let me = me.await.unwrap().expect("signed in");
        let granted = Capabilities::of(role);
        for (name, needed) in &guarded.0 {
            let may = granted.allows(capability::from_api(*needed));
            assert_eq!(me.may(*needed), may, "{role:?}: me.capabilities");
            // `null` is no operation's request: allowed ones get past the check and fail
            // reading it; refused ones never get that far.
            let answer = core.call_by_name(name, serde_json::Value::Null).await;
            let kind = answer.expect_err("no request").kind();
            if may {
                assert_eq!(kind, ErrorKind::Invalid, "{role:?} {name}");
            } else {
                assert_eq!(kind, ErrorKind::Forbidden, "{role:?} {name}");
            }
        }
    }
}

/// Today's rules, stated for the operations the tests and screens rely on.
#[tokio::test]
async fn who_may_what_stays_as_before() {
    let refused = |role: Role, name: &'static str| async move {
        let dir = tempfile::tempdir().unwrap();
        let core = core_signed_in_as(role, dir.path());
        let answer = core.call_by_name(name, serde_json::Value::Null).await;
        answer.expect_err("no request").kind() == ErrorKind::Forbidden
    };
    for name in [
        "caseload",
        "citizens",
        "search_library",
        "create_course",
        "save_program",
    ] {
        assert!(refused(Role::Assistant, name).await, "assistant {name}");
    }
    for name in [
        "create_citizen",
        "create_course",
        "save_program",
        "add_assessment",
    ] {
        assert!(refused(Role::Leader, name).await, "leader {name}");
    }
    for name in ["log_set", "start_session", "visits", "course_detail"] {
        assert!(!refused(Role::Assistant, name).await, "assistant {name}");
    }
    for name in [
        "caseload",
        "create_course",
        "save_program",
        "put_local_exercise",
        "overview",
    ] {
        assert!(!refused(Role::Therapist, name).await, "therapist {name}");
    }
    assert!(!refused(Role::Admin, "create_citizen").await);
    assert!(refused(Role::Admin, "create_course").await);
}

#[tokio::test]
async fn an_unknown_operation_is_invalid_and_anyone_may_ask_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_signed_in_as(Role::Assistant, dir.path());
    let e = core
        .call_by_name("drop_tables", serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    let status = core
        .call_by_name("status", serde_json::json!({"query": {}, "body": null}))
        .await
        .unwrap();
    assert_eq!(status["signed_in"], serde_json::json!(true));
}
