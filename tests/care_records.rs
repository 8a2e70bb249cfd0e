//! The care record feed end to end with the real `sync-server` (`GET /v1/care-records`,
//! docs/care-records.md): a therapist's courses and test results, an assistant's visits, synced
//! from real device stores; the municipality's admin pulls the month as FHIR R4 and every
//! course, visit and result is there, under the citizen's case reference and nobody's name;
//! two independent FHIR validators from PyPI accept the file (and refuse a broken copy); each
//! course pulled is in the citizen's access report; nobody else gets any of it.

use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

const NORD: &str = "Hjemmetræning Nord";
const HADERSLEV: &str = "Hjemmetræning Haderslev";
const GITTE: &str = "Gitte Glemmesen";
const NOTE: &str = "Gitte faldt i badet tirsdag";

fn iso(d: time::Date) -> String {
    homerehab_shared::effect::iso(d)
}

/// The resources of `kind` in a citizen's report.
fn resources<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["resource"]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

/// Runs the two FHIR validators (scripts/fhir-validate) over `file`: whether both accept it,
/// and what they said.
fn validated(file: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fhir-validate");
    let out = std::process::Command::new(script)
        .arg(file)
        .output()
        .expect("scripts/fhir-validate runs (python3 with venv and pip)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_months_courses_visits_and_results_reach_the_care_record_system_as_valid_fhir() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team(NORD);
    server.admin(&[
        "create-team",
        "--name",
        HADERSLEV,
        "--municipality",
        "Haderslev Kommune",
    ]);
    server.create_user("terapeut", "therapist", NORD);
    server.create_user("assistent", "assistant", NORD);
    server.create_user("leder", "leader", NORD);
    server.create_user("admin", "admin", NORD);
    server.create_user("admin-haderslev", "admin", HADERSLEV);
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    let me = laptop.me();
    let today = homerehab_shared::schedule::date_of(homerehab_core::store::now_ms());
    let days_ago = |n: i64| iso(today - time::Duration::days(n));

    // Gitte on a §140 course with a chair-stand test at its start; Karl on a maintenance
    // course (§86 stk. 2) without visits yet, and on one that ended in 2015.
    let gitte = Citizen {
        local_ref: "SAG-2026-0042".into(),
        birth_year: Some(1941),
        sex: Some(Sex::Female),
        ..citizen(GITTE)
    };
    let karl = Citizen {
        local_ref: "SAG-2026-0077".into(),
        ..citizen("Karl Gammel")
    };
    for c in [&gitte, &karl] {
        laptop.store().put_citizen(c).unwrap();
    }
    let course_of = |citizen: CitizenId, basis: &str, start: String| Course {
        status: CourseStatus::Active,
        legal_basis: LegalBasis(basis.into()),
        ..Course::new(
            citizen,
            me.team_id,
            me.user_id,
            &start,
            homerehab_core::store::now_ms(),
        )
    };
    let training = course_of(gitte.id, "Sundhedsloven §140", days_ago(10));
    let maintenance = course_of(karl.id, "SEL §86 stk. 2", days_ago(5));
    let mut old = course_of(karl.id, "SEL §83a", "2015-01-05".into());
    for c in [&training, &maintenance, &old] {
        laptop
            .store()
            .create_course(c, &[program_line("sit-to-stand", 1.0, 2)])
            .unwrap();
    }
    laptop
        .store()
        .add_assessment(
            training.id,
            &Assessment {
                id: AssessmentId::new(),
                kind: "chair_stand_30s".into(),
                value: 9.0,
                unit: "reps".into(),
                date: days_ago(10),
                phase: AssessmentPhase::Start,
                by: me.user_id,
                note: None,
                place: Some(MeasuredAt::Home),
            },
        )
        .unwrap();
    laptop.sync().await;
    old.change_status(CourseStatus::Completed, None, None)
        .unwrap();
    laptop.store().update_course(&old).unwrap();
    laptop.sync().await;

    // The assistant's visits: one carried out (with a note naming her), one not (ill).
    tablet.sync().await;
    let visit = log_session_noted(&tablet, training.id, NOTE);
    let missed = tablet
        .store()
        .session_not_carried_out(training.id, NotCarriedOutReason::Ill, None)
        .unwrap();
    tablet.sync().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.db().count("SELECT COUNT(*) FROM rm_sessions") < 2
        || server.db().count("SELECT COUNT(*) FROM rm_test_results") < 1
        || server.db().count("SELECT COUNT(*) FROM rm_pending") > 0
    {
        assert!(Instant::now() < deadline, "the read model never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The admin pulls the last 30 days (to tomorrow: the visits may have crossed midnight).
    let admin = Device::login(&tmp.path().join("admin"), &server, "admin").await;
    let tomorrow = today + time::Duration::days(1);
    let month = format!("from={}&to={}", days_ago(30), iso(tomorrow));
    let r = server
        .get(&admin.me().token, &format!("/v1/care-records?{month}"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/fhir+json");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.bytes().await.unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    for secret in [GITTE, "Karl Gammel", NOTE] {
        assert!(!text.contains(secret), "{secret} left for the care record");
    }
    let bundle: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let reports = bundle["entry"].as_array().unwrap();
    assert_eq!(reports.len(), 2, "Gitte's and Karl's: {bundle:#}");
    let report_of = |citizen: CitizenId| {
        reports
            .iter()
            .find(|r| resources(r, "Patient")[0]["id"] == citizen.to_string())
            .unwrap_or_else(|| panic!("no report of {citizen}"))
    };

    let hers = report_of(gitte.id);
    let patient = resources(hers, "Patient")[0];
    assert_eq!(patient["identifier"][0]["value"], "SAG-2026-0042");
    assert_eq!(patient["gender"], "female");
    assert_eq!(patient["birthDate"], "1941");
    let plans = resources(hers, "CarePlan");
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0]["id"], training.id.to_string());
    assert_eq!(plans[0]["status"], "active");
    assert_eq!(plans[0]["period"]["start"], days_ago(10));
    let code = &plans[0]["activity"][0]["detail"]["code"]["coding"][0];
    assert_eq!(
        (code["system"].as_str(), code["code"].as_str()),
        (
            Some("urn:oid:1.2.208.176.2.21"),
            Some("2abe20c7-c0b4-41c1-b397-52acf36499ef")
        ),
        "FSIII's Fysisk træning"
    );
    let visits = resources(hers, "Encounter");
    let mut seen: Vec<(String, String)> = visits
        .iter()
        .map(|v| {
            assert_eq!(v["class"]["code"], "HH", "a visit in the home");
            assert_eq!(
                v["extension"][0]["valueReference"]["reference"],
                format!("urn:uuid:{}", training.id)
            );
            let day = &v["period"]["start"].as_str().unwrap()[..10];
            assert!(day == iso(today) || day == iso(tomorrow), "{day}");
            (
                v["id"].as_str().unwrap().to_string(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let cancelled = visits.iter().find(|v| v["status"] == "cancelled").unwrap();
    assert_eq!(cancelled["extension"][1]["valueCode"], "ill", "why, coded");
    seen.sort();
    let mut expected = vec![
        (visit.to_string(), "finished".to_string()),
        (missed.to_string(), "cancelled".to_string()),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let tests = resources(hers, "Observation");
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0]["code"]["coding"][0]["code"], "chair_stand_30s");
    assert_eq!(tests[0]["valueQuantity"]["value"], 9.0);
    assert_eq!(tests[0]["effectiveDateTime"], days_ago(10));

    let his = report_of(karl.id);
    let plans = resources(his, "CarePlan");
    assert_eq!(plans.len(), 1, "the course of 2015 is not this month's");
    assert_eq!(plans[0]["id"], maintenance.id.to_string());
    assert_eq!(
        plans[0]["activity"][0]["detail"]["code"]["coding"][0]["display"],
        "Vedligehold af færdigheder"
    );
    assert!(resources(his, "Encounter").is_empty());

    // Two independent validators accept it, and refuse it with a visit's status taken out.
    let file = tmp.path().join("care-records.json");
    std::fs::write(&file, &body).unwrap();
    let (valid, said) = validated(&file);
    assert!(valid, "{said}");
    let mut broken = bundle.clone();
    let visit_entry = broken["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .flat_map(|r| r["resource"]["entry"].as_array_mut().unwrap().iter_mut())
        .find(|e| e["resource"]["resourceType"] == "Encounter")
        .unwrap();
    visit_entry["resource"]
        .as_object_mut()
        .unwrap()
        .remove("status");
    let broken_file = tmp.path().join("broken.json");
    std::fs::write(&broken_file, serde_json::to_vec(&broken).unwrap()).unwrap();
    let (valid, said) = validated(&broken_file);
    assert!(!valid, "a visit without a status passed: {said}");
    for validator in ["fhir.resources", "fhirclient"] {
        assert!(
            said.contains(&format!("{validator}: INVALID")),
            "{validator} let it pass: {said}"
        );
    }
    assert!(said.contains("status"), "{said}");

    // Each course pulled is one entry, naming the citizen: in her access report.
    assert_eq!(
        server
            .db()
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'care_record_export'"),
        2
    );
    let r = server
        .get(
            &admin.me().token,
            &format!("/v1/citizens/{}/access-report", gitte.id),
        )
        .await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    let exported = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["what"] == "Forløb og besøg overført til omsorgssystemet")
        .count();
    assert_eq!(exported, 1, "{report:#}");

    // Nobody else: not a leader or therapist (403), not unsigned (401); another
    // municipality's admin gets their own municipality's, which has none; a period past a
    // year or a date that is none is a bad request.
    let leader = Device::login(&tmp.path().join("leader"), &server, "leder").await;
    let haderslev = Device::login(&tmp.path().join("haderslev"), &server, "admin-haderslev").await;
    for (token, status) in [
        (leader.me().token, 403),
        (laptop.me().token, 403),
        (tablet.me().token, 403),
        ("not-a-token".to_string(), 401),
    ] {
        let r = server
            .get(&token, &format!("/v1/care-records?{month}"))
            .await;
        assert_eq!(r.status(), status);
    }
    let r = server
        .get(&haderslev.me().token, &format!("/v1/care-records?{month}"))
        .await;
    assert_eq!(r.status(), 200);
    let theirs: Value = r.json().await.unwrap();
    assert!(theirs.get("entry").is_none(), "{theirs:#}");
    for query in [
        format!("from={}&to={}", days_ago(400), iso(today)),
        format!("from={}&to={}", iso(today), days_ago(1)),
        "from=2026-02-30&to=2026-03-31".to_string(),
        "from=2026-03-01".to_string(),
    ] {
        let r = server
            .get(&admin.me().token, &format!("/v1/care-records?{query}"))
            .await;
        assert_eq!(r.status(), 400, "{query}");
    }
    assert_eq!(
        server
            .db()
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'care_record_export'"),
        2,
        "a refused pull records nothing"
    );
    assert!(
        server.logged_errors().is_empty(),
        "{:?}",
        server.logged_errors()
    );
}
