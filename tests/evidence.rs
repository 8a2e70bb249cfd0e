//! The leaders' evidence (issue #12) end to end with the real `sync-server`: the seeds'
//! cohorts are created through the CLI, the API and sync (`seeds_cohort`), and the evidence
//! API says what the seeds say — Aarhus' −21.81 %, 28 of 42 and 25 of 35; the evaluation's
//! 207 of 1,250 (17 %), 108 trained of 84 targeted, 63 active — and shows each municipality
//! nothing of another's but the benchmark's anonymised, suppressed figures. Someone who is
//! not a leader gets none of it.

use homerehab_scenarios::seeds_cohort::{self, *};
use homerehab_scenarios::*;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn get(server: &Server, token: &str, path: &str) -> (u16, Value) {
    let r = server.get(token, path).await;
    let status = r.status().as_u16();
    let no_store = r
        .headers()
        .get("cache-control")
        .is_some_and(|v| v == "no-store");
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if status == 200 {
        assert!(no_store, "evidence must not be cached on the way: {path}");
    }
    (status, body)
}

/// Waits until the projector has caught up with everything synced: no document is pending
/// in the server's database (read beside the running server). The metrics' gauge would not
/// do: it is as old as the projector's last round.
async fn projected(server: &Server) {
    let db = server.db();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending = db.count("SELECT COUNT(*) FROM rm_pending");
        if pending == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the read model did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The id of the team called `name` in an evidence answer.
fn team_id(r: &Value, name: &str) -> String {
    r["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no team {name} in {}", r["teams"]))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn two(v: &Value) -> String {
    format!("{:.2}", v.as_f64().unwrap_or(f64::NAN))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_reproduced_through_the_api_and_nothing_leaks_between_municipalities() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    let cohort = seeds_cohort::build(&server, &tmp.path().join("devices")).await;
    projected(&server).await;
    let q = cohort.query();

    // Aarhus' leader: the effect as Aarhus published it.
    let aarhus = token(&server, AARHUS_LEADER).await;
    let (status, r) = get(&server, &aarhus, &format!("/v1/evidence?{q}")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["municipality"]["name"], AARHUS);
    assert_eq!(r["funnel"]["total"]["referred"], 174);
    assert_eq!(r["funnel"]["total"]["completed"], 174);
    let c = &r["effect"]["completeness"];
    assert_eq!(c["citizens"], 174);
    assert_eq!(c["with_start_and_end_test"]["part"], 42);
    assert_eq!(c["with_who5_start_and_end"]["part"], 35);
    let chair = r["effect"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["test"] == "chair_stand_30s")
        .expect("the chair stand test");
    assert_eq!(
        (
            &chair["improved_or_maintained"]["part"],
            &chair["improved_or_maintained"]["whole"]
        ),
        (&Value::from(28), &Value::from(42))
    );
    let who5 = &r["effect"]["who5"]["improved_or_maintained"];
    assert_eq!(
        (&who5["part"], &who5["whole"]),
        (&Value::from(25), &Value::from(35))
    );
    let care = &r["effect"]["care_time"][0];
    assert_eq!(
        (&care["offset_days"], &care["n"]),
        (&Value::from(77), &Value::from(64))
    );
    assert_eq!(two(&care["mean_before_minutes_per_day"]), "52.81");
    assert_eq!(two(&care["mean_after_minutes_per_day"]), "41.29");
    assert_eq!(two(&care["change_percent"]), "-21.81");
    let ci = &care["ci95_change_percent"];
    assert!(ci["low"].as_f64().unwrap() < -21.81 && ci["high"].as_f64().unwrap() < 0.0);
    // Only Aarhus' own team, no one else's.
    let teams: Vec<&str> = r["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(teams, [AARHUS_TEAM]);

    // The benchmark: Aarhus named as itself; Thisted and Lemvig agreed to nothing, so they
    // are letters, and Lemvig's three citizens are too few to show.
    let bench = r["benchmark"].as_array().unwrap();
    assert_eq!(bench.len(), 3);
    assert_eq!(bench[0]["label"], AARHUS);
    assert_eq!(bench[0]["own"], true);
    for row in &bench[1..] {
        let label = row["label"].as_str().unwrap();
        assert!(label.starts_with("Kommune "), "{label}");
    }
    let citizens: Vec<&Value> = bench[1..]
        .iter()
        .map(|b| &b["figures"]["citizens_through_courses"])
        .collect();
    assert!(
        citizens.contains(&&serde_json::json!({"shown": 207})),
        "{citizens:?}"
    );
    assert!(
        citizens.contains(&&serde_json::json!({"suppressed": {"below": 10}})),
        "{citizens:?}"
    );
    // Whole quarters that have ended, whatever period was asked: a period a day shorter at
    // each end (or one asked as of another day) compares the same citizens, so differencing
    // two answers gives nothing (security.md F9).
    let quarters = r["benchmark_scope"]["quarters"].as_array().unwrap();
    assert_eq!(quarters[0]["start"], format!("{}-01-01", cohort.last_year));
    let today = homerehab_shared::schedule::date_of(homerehab_core::store::now_ms());
    let this_quarter = homerehab_shared::evidence::targets::Period::quarter_of(today).start;
    assert_eq!(
        r["benchmark_scope"]["as_of"],
        this_quarter.previous_day().unwrap().to_string()
    );
    assert_eq!(
        quarters.last().unwrap()["end"],
        r["benchmark_scope"]["as_of"]
    );
    let shorter = format!(
        "from={}-01-02&to={}-12-30&as_of={}-06-01",
        cohort.last_year,
        cohort.last_year + 1,
        cohort.last_year + 1
    );
    let (status, other) = get(&server, &aarhus, &format!("/v1/evidence?{shorter}")).await;
    assert_eq!(status, 200, "{other}");
    assert_ne!(
        other["scope"], r["scope"],
        "the own figures follow the period asked"
    );
    assert_eq!(other["benchmark"], r["benchmark"]);
    assert_eq!(other["benchmark_scope"], r["benchmark_scope"]);
    let text = r.to_string();
    for secret in [
        THISTED,
        SMALL,
        "Thisted Hjemmetræning",
        "medarbejder-",
        "Lemvig",
    ] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into Aarhus' answer"
        );
    }

    // Thisted's leader: the evaluation's Tabel 4.
    let thisted = token(&server, THISTED_LEADER).await;
    let (status, r) = get(&server, &thisted, &format!("/v1/evidence?{q}")).await;
    assert_eq!(status, 200, "{r}");
    // Courses ended early are counted by their coded reason (the therapist's words stay in
    // the course document), most frequent first.
    assert_eq!(r["funnel"]["total"]["ended_early"], 3);
    assert_eq!(
        r["funnel"]["ended_early_by_reason"],
        serde_json::json!([
            {"reason": "hospitalised", "count": 2},
            {"reason": "citizen_stopped", "count": 1}
        ])
    );
    assert!(!r.to_string().contains("lungebetændelse"));
    let target = |kind: &str| {
        r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {}", r["targets"]))
            .clone()
    };
    let citizens = target("citizens_through_courses");
    assert_eq!(
        (
            &citizens["reached"],
            &citizens["target"],
            &citizens["percent_reached"]
        ),
        (&Value::from(207), &Value::from(1250.0), &Value::from(17))
    );
    let trained = target("staff_trained");
    assert_eq!(
        (&trained["reached"], &trained["target"]),
        (&Value::from(108), &Value::from(84.0))
    );
    assert_eq!(trained["met"], true);
    let active = target("staff_active");
    assert_eq!(active["reached"], 63, "{:#}", r["staff"]);
    assert_eq!(r["staff"]["totals"]["trained"], 108);
    assert_eq!(r["staff"]["totals"]["active"], 63);
    assert_eq!(r["staff"]["totals"]["trained_not_active"], 45);
    // The leader of Nord does not serve Syd: its 45 trained but not active are counted,
    // not named.
    let named: usize = r["staff"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["trained_not_active"].as_array().unwrap().len())
        .sum();
    assert_eq!(named, 0);
    assert!(!r.to_string().contains("medarbejder-0"));
    assert!(!r.to_string().contains(AARHUS_TEAM));

    // A drill-down to a team of another municipality finds nothing.
    let aarhus_team = {
        let (_, a) = get(&server, &aarhus, &format!("/v1/evidence?{q}")).await;
        a["teams"][0]["id"].as_str().unwrap().to_string()
    };
    let (status, _) = get(
        &server,
        &thisted,
        &format!("/v1/evidence?{q}&team={aarhus_team}"),
    )
    .await;
    assert_eq!(status, 404);
    // Its own team, drilled down.
    let nord = team_id(&r, THISTED_TEAM);
    let (status, nord_only) =
        get(&server, &thisted, &format!("/v1/evidence?{q}&team={nord}")).await;
    assert_eq!(status, 200);
    assert_eq!(nord_only["team"]["name"], THISTED_TEAM);
    assert_eq!(nord_only["effect"]["completeness"]["citizens"], 207);
    assert_eq!(nord_only["staff"]["totals"]["with_access"], 3);

    // Drilled down to one of the team's therapists: the referrals attributed to them (the
    // three that ended early) and the courses they are responsible for.
    let person = |name: &str| {
        r["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["id"].as_str().unwrap().to_string())
    };
    let nord_therapist = person("thisted-terapeut").expect("the own team's therapist is named");
    assert_eq!(
        person("thisted-terapeut-syd"),
        None,
        "another team's is not"
    );
    // Nor in the recruitment table: every therapist there is a named one of a served team
    // (another team's would be known by its team's head count and referrals).
    let recruiting = r["therapists_recruiting"].as_array().unwrap();
    let named_ids: Vec<String> = r["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!recruiting.is_empty());
    for row in recruiting {
        let id = row["id"].as_str().unwrap();
        assert!(named_ids.iter().any(|n| n == id), "{row} {}", r["people"]);
    }
    let (status, one) = get(
        &server,
        &thisted,
        &format!("/v1/evidence?{q}&therapist={nord_therapist}"),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["therapist"]["name"], "thisted-terapeut");
    assert_eq!(one["team"]["name"], THISTED_TEAM, "the therapist's team");
    assert_eq!(one["funnel"]["total"]["referred"], 3);
    assert_eq!(one["funnel"]["total"]["ended_early"], 3);
    assert_eq!(one["effect"]["completeness"]["citizens"], 207);
    assert_eq!(one["staff"]["totals"]["with_access"], 1);
    // Not found: a therapist of another municipality, one asked for in a team that is not
    // theirs; a malformed id is a bad request.
    let aarhus_therapist = {
        let (_, a) = get(&server, &aarhus, &format!("/v1/evidence?{q}")).await;
        a["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == AARHUS_THERAPIST)
            .map(|p| p["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let syd = r["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] != THISTED_TEAM)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (query, expected) in [
        (format!("therapist={aarhus_therapist}"), 404),
        (format!("team={syd}&therapist={nord_therapist}"), 404),
        ("therapist=tina".to_string(), 400),
    ] {
        let (status, body) = get(&server, &thisted, &format!("/v1/evidence?{q}&{query}")).await;
        assert_eq!(status, expected, "{query}: {body}");
        assert!(!body.to_string().contains("Thisted-borger"), "{body}");
    }
    // Syd, a team of the leader's municipality that the leader does not serve: its counts
    // show, its outcomes and reasons (of fewer than 10 citizens) do not; Nord's do.
    let (status, syd_only) = get(&server, &thisted, &format!("/v1/evidence?{q}&team={syd}")).await;
    assert_eq!(status, 200, "{syd_only}");
    assert_eq!(
        syd_only["suppressed"],
        serde_json::json!(["effect", "reasons"])
    );
    assert_eq!(nord_only["suppressed"], serde_json::json!([]));

    // Who gets nothing: an assistant, a therapist, no token; a leader may not set targets.
    for who in [AARHUS_ASSISTANT, AARHUS_THERAPIST] {
        let t = token(&server, who).await;
        for path in [
            format!("/v1/evidence?{q}"),
            "/v1/evidence/settings".to_string(),
            "/v1/evidence/municipalities".to_string(),
        ] {
            let (status, body) = get(&server, &t, &path).await;
            assert_eq!(status, 403, "{who} {path}: {body}");
        }
    }
    let anonymous = reqwest::get(format!("{}/v1/evidence?{q}", server.url()))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let put = reqwest::Client::new()
        .put(format!("{}/v1/evidence/settings", server.url()))
        .bearer_auth(&thisted)
        .json(&serde_json::json!({"targets": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 403, "a leader does not set the targets");
    // The admin's settings are checked: a second target of a kind and year is refused, and
    // the stored ones stay.
    let admin = token(&server, THISTED_ADMIN).await;
    let y = cohort.last_year;
    let bad = reqwest::Client::new()
        .put(format!("{}/v1/evidence/settings", server.url()))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"targets": [
            {"kind": "staff_trained", "year": y, "target": 1},
            {"kind": "staff_trained", "year": y, "target": 2}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let (_, stored) = get(&server, &admin, "/v1/evidence/settings").await;
    assert_eq!(stored["targets"].as_array().unwrap().len(), 5);
    // A comparison group holds only municipalities that agreed to be named: a group of one
    // anonymous municipality would be its figures under a letter. Neither Aarhus nor Lemvig
    // agreed, so there is nothing to choose from, and naming Aarhus is refused.
    let (status, choosable) = get(&server, &admin, "/v1/evidence/municipalities").await;
    assert_eq!(status, 200, "{choosable}");
    assert_eq!(
        choosable,
        serde_json::json!([]),
        "only the named may be chosen"
    );
    let (_, of_aarhus) = get(&server, &aarhus, &format!("/v1/evidence?{q}")).await;
    let aarhus_id = of_aarhus["municipality"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut grouped = stored.clone();
    grouped["comparison_group"] = serde_json::json!([aarhus_id]);
    let singled_out = reqwest::Client::new()
        .put(format!("{}/v1/evidence/settings", server.url()))
        .bearer_auth(&admin)
        .json(&grouped)
        .send()
        .await
        .unwrap();
    assert_eq!(singled_out.status(), 400);
    let why = singled_out.text().await.unwrap();
    assert!(why.contains("agreed to be named"), "{why}");
    assert!(
        !why.contains(AARHUS),
        "the refusal names no municipality: {why}"
    );
    let (_, stored) = get(&server, &admin, "/v1/evidence/settings").await;
    assert_eq!(stored["comparison_group"], Value::Null, "nothing stored");
    // Bad dates are a clear 400, not a 500.
    for query in [
        "from=2026-13-01&to=2026-12-31",
        "from=2026-12-31&to=2026-01-01",
        "to=2026-01-01",
    ] {
        let (status, _) = get(&server, &thisted, &format!("/v1/evidence?{query}")).await;
        assert_eq!(status, 400, "{query}");
    }

    // The read model rebuilt from the documents gives the same answer.
    let (_, before) = get(&server, &aarhus, &format!("/v1/evidence?{q}")).await;
    let mut server = server;
    server.kill();
    server.admin(&["reproject"]);
    server.restart();
    projected(&server).await;
    let (status, after) = get(&server, &aarhus, &format!("/v1/evidence?{q}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(before["effect"], after["effect"]);
    assert_eq!(before["funnel"], after["funnel"]);

    bi_export(&server, &cohort).await;

    // Kept for the browser test that prints the evaluation report from these cohorts
    // (scripts/test sets the place; app/ui/e2e/evidence-seeds-report.test.mjs reads it).
    // A SQLite data dir only: the browser test opens the file (scripts/test runs this on
    // PostgreSQL without it).
    if let Some(keep) = std::env::var("HOMEREHAB_SEEDS_DATA")
        .ok()
        .filter(|_| !server.on_postgres())
    {
        server.kill();
        let keep = std::path::Path::new(&keep);
        let _ = std::fs::remove_dir_all(keep);
        let copied = std::process::Command::new("cp")
            .arg("-r")
            .arg(&server.data_dir)
            .arg(keep)
            .status()
            .unwrap();
        assert!(copied.success());
        let about = serde_json::json!({
            "from": cohort.from, "to": cohort.to, "password": PASSWORD,
            "aarhus_leader": AARHUS_LEADER, "thisted_leader": THISTED_LEADER,
        });
        std::fs::write(keep.join("seeds.json"), about.to_string()).unwrap();
    }
}

/// A CSV of the BI feed: its status, and its heading and rows when it is a file.
async fn csv_of(server: &Server, token: &str, path: &str) -> (u16, Vec<String>, Vec<Vec<String>>) {
    let r = server.get(token, path).await;
    let status = r.status().as_u16();
    if status != 200 {
        return (status, Vec::new(), Vec::new());
    }
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("cache-control"), "no-store", "{path}");
    assert!(header("content-type").starts_with("text/csv"), "{path}");
    assert!(
        header("content-disposition").starts_with("attachment; filename=\"homerehab-"),
        "{path}: {}",
        header("content-disposition")
    );
    let body = r.bytes().await.unwrap();
    assert!(
        !body.starts_with("\u{feff}".as_bytes()),
        "no byte-order mark"
    );
    let mut reader = csv::Reader::from_reader(body.as_ref());
    let heading = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (status, heading, rows)
}

/// The BI feed (`GET /v1/export`): an admin's files hold their municipality's rows, a
/// leader's those of the teams they serve, and nothing of another municipality's; and from those rows alone a BI team gets Aarhus' published result —
/// the home-care minutes −21.81 %, 28 of 42 chair stand tests improved or maintained — as a
/// warehouse would compute it, without Homerehab's arithmetic. Each file is in the audit log;
/// an assistant or therapist gets none.
async fn bi_export(server: &Server, cohort: &SeedsCohort) {
    let aarhus = token(server, AARHUS_LEADER).await;
    let thisted = token(server, THISTED_LEADER).await;
    let exports_before = server
        .db()
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'bi_export'");
    let mut exports = 0;
    let (status, catalogue) = get(server, &aarhus, "/v1/export").await;
    assert_eq!(status, 200, "{catalogue}");
    let tables = catalogue.as_array().unwrap();
    assert_eq!(tables.len(), 10, "{catalogue}");
    let columns_of = |table: &str| -> Vec<String> {
        tables
            .iter()
            .find(|t| t["name"] == table)
            .unwrap_or_else(|| panic!("no {table} in {catalogue}"))["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let last = cohort.last_year;
    let year = |y: i32| format!("from={y}-01-01&to={y}-12-31");
    let mut file = |token: String, table: &'static str, period: String| {
        let server = &*server;
        let heading_wanted = columns_of(table);
        exports += 1;
        async move {
            let (status, heading, rows) =
                csv_of(server, &token, &format!("/v1/export/{table}.csv?{period}")).await;
            assert_eq!(status, 200, "{table} {period}");
            assert_eq!(heading, heading_wanted, "{table}");
            let column = move |name: &str| heading.iter().position(|h| h == name).unwrap();
            (rows, column)
        }
    };
    let aarhus_team = {
        let (_, r) = get(server, &aarhus, &format!("/v1/evidence?{}", cohort.query())).await;
        r["teams"][0]["id"].as_str().unwrap().to_string()
    };

    // Aarhus' courses of the cohort's year: all 174, completed, of its one team.
    let (courses, col) = file(aarhus.clone(), "courses", year(last)).await;
    assert_eq!(courses.len(), 174);
    let (id, team, status) = (col("course_id"), col("team_id"), col("status"));
    let aarhus_courses: std::collections::HashSet<String> =
        courses.iter().map(|r| r[id].clone()).collect();
    assert_eq!(aarhus_courses.len(), 174, "one row per course");
    assert!(courses.iter().all(|r| r[team] == aarhus_team));
    assert!(courses.iter().all(|r| r[status] == "completed"));
    let (referrals, _) = file(aarhus.clone(), "referrals", year(last)).await;
    assert_eq!(referrals.len(), 174);
    let (citizens, col) = file(aarhus.clone(), "citizens", year(last)).await;
    assert_eq!(citizens.len(), 174);
    let born = col("birth_year");
    assert!(citizens
        .iter()
        .all(|r| (1940..1955).contains(&r[born].parse::<i32>().unwrap())));

    // The chair stand test, recounted from its rows: 72 at the start, 42 at the end, and of
    // those 42 the 28 who did as well or better (Aarhus: 28 of 42).
    let (results, col) = file(aarhus.clone(), "test_results", year(last)).await;
    let (course, test, phase, value) = (col("course_id"), col("test"), col("phase"), col("value"));
    let chair = |p: &str| -> std::collections::HashMap<String, f64> {
        results
            .iter()
            .filter(|r| r[test] == "chair_stand_30s" && r[phase] == p)
            .map(|r| (r[course].clone(), r[value].parse().unwrap()))
            .collect()
    };
    let (start, end) = (chair("start"), chair("end"));
    assert_eq!((start.len(), end.len()), (72, 42));
    let kept_up = end.iter().filter(|(c, v)| **v >= start[*c]).count();
    assert_eq!(kept_up, 28);
    assert!(results.iter().all(|r| aarhus_courses.contains(&r[course])));
    // WHO-5 was answered this year, in the tablet's sessions.
    let this_year = homerehab_shared::schedule::date_of(homerehab_core::store::now_ms()).year();
    let (results, col) = file(aarhus.clone(), "test_results", year(this_year)).await;
    let (test, phase) = (col("test"), col("phase"));
    let who5 = |p: &str| {
        results
            .iter()
            .filter(|r| r[test] == "who5" && r[phase] == p)
            .count()
    };
    assert_eq!((who5("start"), who5("end")), (55, 35));
    let (sessions, col) = file(aarhus.clone(), "sessions", year(this_year)).await;
    assert!(sessions.len() >= 55, "{}", sessions.len());
    let (course, started) = (col("course_id"), col("started_at"));
    for s in &sessions {
        assert!(aarhus_courses.contains(&s[course]));
        let at = &s[started];
        assert!(
            at.len() == 25 && (at.ends_with("+01:00") || at.ends_with("+02:00")),
            "an instant in Danish time: {at}"
        );
    }

    // Home-care minutes per week of the 64 with both, before (1 December) and 77 days after:
    // the warehouse's own sum gives Aarhus' −21.81 %.
    let (grants, col) = file(
        aarhus.clone(),
        "care_grants",
        format!("from={}-12-01&to={last}-11-30", last - 1),
    )
    .await;
    assert_eq!(grants.len(), 128);
    let (effective, minutes) = (col("effective"), col("minutes_per_week"));
    let sum_on = |day: &str| -> f64 {
        grants
            .iter()
            .filter(|g| g[effective] == day)
            .map(|g| g[minutes].parse::<f64>().unwrap())
            .sum()
    };
    let (before, after) = (
        sum_on(&format!("{}-12-01", last - 1)),
        sum_on(&format!("{last}-06-10")),
    );
    assert_eq!((before, after), (23_659.0, 18_498.0));
    assert_eq!(format!("{:.2}", (after / before - 1.0) * 100.0), "-21.81");

    // Thisted's leader serves Nord: Nord's courses, not Syd's — the evidence withholds Syd's
    // few outcomes from them, rows would give them back. Thisted's admin, who sets up the
    // municipality's feed, gets both teams'; neither gets any of Aarhus'.
    let nord = {
        let (_, r) = get(
            server,
            &thisted,
            &format!("/v1/evidence?{}", cohort.query()),
        )
        .await;
        team_id(&r, THISTED_TEAM)
    };
    let (leaders, col) = file(thisted.clone(), "courses", year(last)).await;
    assert!(leaders.len() >= 207, "{}", leaders.len());
    let team = col("team_id");
    assert!(leaders.iter().all(|r| r[team] == nord));
    // Syd's one course began this year; its assistants logged a visit each.
    let (leaders_now, _) = file(thisted.clone(), "courses", year(this_year)).await;
    let (leaders_sessions, _) = file(thisted.clone(), "sessions", year(this_year)).await;
    let (leaders_citizens, _) = file(thisted.clone(), "citizens", year(this_year)).await;
    let admin = token(server, THISTED_ADMIN).await;
    let admins_last_year = file(admin.clone(), "courses", year(last)).await.0.len();
    let (admins, col) = file(admin.clone(), "courses", year(this_year)).await;
    let (id, team) = (col("course_id"), col("team_id"));
    let syd: Vec<&Vec<String>> = admins.iter().filter(|r| r[team] != nord).collect();
    assert_eq!(syd.len(), 1, "Syd's course");
    let (syd_course, syd_citizen) = (&syd[0][id], &syd[0][col("citizen_id")]);
    assert!(!leaders_now.iter().any(|r| r[id] == *syd_course));
    let (admins_sessions, _) = file(admin.clone(), "sessions", year(this_year)).await;
    assert!(admins_sessions.iter().any(|r| r[1] == *syd_course));
    assert!(!leaders_sessions.iter().any(|r| r[1] == *syd_course));
    let (admins_citizens, _) = file(admin.clone(), "citizens", year(this_year)).await;
    assert!(admins_citizens.iter().any(|r| r[0] == *syd_citizen));
    assert!(!leaders_citizens.iter().any(|r| r[0] == *syd_citizen));
    // Nor the rows behind outcomes: Syd's referrals, grants and results are the admin's only.
    for table in ["referrals", "care_grants", "test_results", "goals"] {
        let (rows, _) = file(thisted.clone(), table, year(this_year)).await;
        let names = columns_of(table);
        let at = |name: &str| names.iter().position(|c| c == name);
        let of_syd = |r: &Vec<String>| {
            at("citizen_id").is_some_and(|i| r[i] == *syd_citizen)
                || at("course_id").is_some_and(|i| r[i] == *syd_course)
        };
        assert!(!rows.iter().any(of_syd), "{table}");
    }
    for courses in [&leaders, &admins] {
        assert!(courses
            .iter()
            .all(|r| !aarhus_courses.contains(&r[id]) && r[team] != aarhus_team));
    }
    assert!(admins_sessions
        .iter()
        .all(|r| !aarhus_courses.contains(&r[1])));

    // The teams named in the files: a leader's own, an admin's every one of the municipality.
    let names = |rows: Vec<Vec<String>>| rows.into_iter().map(|r| r[1].clone()).collect::<Vec<_>>();
    let (leaders_teams, _) = file(thisted.clone(), "teams", year(this_year)).await;
    assert_eq!(names(leaders_teams), [THISTED_TEAM]);
    let (admins_teams, _) = file(admin.clone(), "teams", year(this_year)).await;
    let mut admins_teams = names(admins_teams);
    admins_teams.sort();
    assert_eq!(admins_teams, [THISTED_TEAM, "Thisted Hjemmetræning Syd"]);

    // Staff in use, recounted from the admin's staff file: the evaluation's Tabel 4, 108
    // trained in the two years and 63 active today; no names.
    let (staff, col) = file(
        admin.clone(),
        "staff",
        format!("from={this_year}-01-01&to={this_year}-12-31"),
    )
    .await;
    let (trained_on, active) = (col("trained_on"), col("active"));
    let trained = staff
        .iter()
        .filter(|r| !r[trained_on].is_empty() && r[trained_on].as_str() >= cohort.from.as_str())
        .count();
    assert_eq!(trained, 108);
    assert_eq!(staff.iter().filter(|r| r[active] == "true").count(), 63);
    assert!(staff.iter().all(|r| !r.concat().contains("medarbejder")));

    // For Danish Excel: a byte-order mark, `;` and a decimal comma; the same rows.
    let excel = server
        .get(
            &aarhus,
            &format!("/v1/export/courses.csv?{}&format=excel", year(last)),
        )
        .await
        .bytes()
        .await
        .unwrap();
    let excel = String::from_utf8(excel.to_vec()).unwrap();
    assert!(
        excel.starts_with("\u{feff}course_id;citizen_id;team_id;"),
        "{excel:.80}"
    );
    assert_eq!(
        excel.lines().count(),
        175,
        "the heading and the 174 courses"
    );

    // Refused: a table that is not one (404), more than a year or a period ending before it
    // starts (400), no token (401); an assistant and a therapist get nothing (403).
    for (path, expected) in [
        (format!("/v1/export/users?{}", year(last)), 404),
        (
            format!("/v1/export/courses?from={}-01-01&to={last}-12-31", last - 1),
            400,
        ),
        (
            format!("/v1/export/courses?from={last}-12-31&to={last}-01-01"),
            400,
        ),
        (
            "/v1/export/courses?from=2025-1-1&to=2025-12-31".to_string(),
            400,
        ),
        (
            format!("/v1/export/courses?{}&format=xlsx", year(last)),
            400,
        ),
    ] {
        let (status, _, _) = csv_of(server, &aarhus, &path).await;
        assert_eq!(status, expected, "{path}");
    }
    for who in [AARHUS_ASSISTANT, AARHUS_THERAPIST] {
        let t = token(server, who).await;
        let (status, body) = get(server, &t, "/v1/export").await;
        assert_eq!(status, 403, "{who}: {body}");
        let (status, _, _) =
            csv_of(server, &t, &format!("/v1/export/courses?{}", year(last))).await;
        assert_eq!(status, 403, "{who}");
    }
    let anonymous = reqwest::get(format!("{}/v1/export/courses?{}", server.url(), year(last)))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // A BI job signs in as a device of its own; revoked (as a lost tablet is), its token
    // pulls nothing more.
    let device = uuid::Uuid::new_v4().to_string();
    let job = token_of_device(server, THISTED_ADMIN, Some(&device)).await;
    let (pulled, _) = file(job.clone(), "courses", year(last)).await;
    assert_eq!(
        pulled.len(),
        admins_last_year,
        "the job pulls what its admin may"
    );
    let revoked = reqwest::Client::new()
        .post(format!("{}/v1/devices/{device}/revoke", server.url()))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"reason": "BI-udtrækket flyttes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let (status, _, _) = csv_of(server, &job, &format!("/v1/export/courses?{}", year(last))).await;
    assert_eq!(status, 401, "a revoked BI job's token");

    // Every file made is in the audit log (those through `file` and the one for Excel); the
    // refused ones are not.
    let exports_after = server
        .db()
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'bi_export'");
    assert_eq!(exports_after - exports_before, exports + 1);
}
