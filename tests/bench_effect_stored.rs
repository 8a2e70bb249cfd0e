//! `scripts/bench effect` (second part): the care-time import as the app runs it, stored. A
//! therapist's device (real SQLite store in a temp dir) with 1,000 citizens and a course on the
//! roster imports a 100,000-line file (100 grants per citizen) through the app service: the
//! first import (everything new), the same file again (nothing new), then opening a course's
//! effect summary with all those grants stored. Prints the figures; the last line is one JSON
//! object. `EFFECT_LINES` changes the number of lines.

use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use homerehab_app_api as api;
use homerehab_app_service::{ops, Core};
use homerehab_core::store::{now_ms, Identity, Store};
use homerehab_scenarios::{citizen, proc_status_mib, program_line, shipped_library};
use homerehab_shared::ids::{TeamId, UserId};
use homerehab_shared::model::{Course, CourseStatus, Role};

fn main() {
    let lines: usize = std::env::var("EFFECT_LINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let citizens = 1_000usize;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (me, team) = (UserId::new(), TeamId::new());
    store
        .set_identity(&Identity {
            user_id: me,
            username: "terapeut".into(),
            display_name: "Terapeut".into(),
            role: Role::Therapist,
            team_id: team,
            server_url: "http://127.0.0.1:9".into(),
            token: "t".into(),
            expires_at: now_ms() + 3_600_000,
            municipality_id: None,
            granted_teams: vec![],
        })
        .unwrap();
    let t = Instant::now();
    let mut store = store;
    let mut first = None;
    for i in 0..citizens {
        let mut c = citizen(&format!("Borger {i}"));
        c.local_ref = format!("K-{i:05}");
        store.put_citizen(&c).unwrap();
        first.get_or_insert(c.id);
    }
    let course = Course {
        status: CourseStatus::Active,
        ..Course::new(first.unwrap(), team, me, "2024-01-08", now_ms())
    };
    store
        .create_course(&course, &[program_line("sit-to-stand", 1.0, 2)])
        .unwrap();
    println!(
        "set-up: {citizens} citizens on the roster in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let core = Core::new(
        Arc::new(Mutex::new(store)),
        shipped_library(),
        "http://127.0.0.1:9".into(),
    );

    let mut file = String::from("Borgerreference;Virkningsdato;Minutter_pr_uge;Ydelseskode\n");
    let base = time::macros::date!(2023 - 01 - 02);
    for i in 0..lines {
        let c = i % citizens;
        let date = base + time::Duration::days((i / citizens) as i64 * 14);
        let code = ["1.1", "1.2"][i % 2];
        writeln!(
            file,
            "K-{c:05};{:02}-{:02}-{};{};{code}",
            date.day(),
            u8::from(date.month()),
            date.year(),
            60 + (i * 37 % 600)
        )
        .unwrap();
    }
    let file_mib = file.len() as f64 / (1 << 20) as f64;
    let before = proc_status_mib("VmRSS:");

    let import = |file: &str| {
        let t = Instant::now();
        let report = ops::import_care_time(
            &core,
            api::ImportCareTime {
                file: file.to_string(),
                choice: "all_or_nothing".into(),
            },
        )
        .expect("the import");
        (t.elapsed().as_secs_f64() * 1000.0, report)
    };
    let (first_ms, first) = import(&file);
    let peak = proc_status_mib("VmHWM:");
    assert!(
        first.bad.is_empty(),
        "{:?}",
        &first.bad[..first.bad.len().min(3)]
    );
    let (again_ms, again) = import(&file);
    assert_eq!(again.imported, 0, "the same file twice stores nothing");

    let t = Instant::now();
    let summary = ops::effect_summary(&core, &course.id.to_string()).expect("the summary");
    let summary_ms = t.elapsed().as_secs_f64() * 1000.0;

    println!(
        "{lines} lines ({file_mib:.1} MiB) for {citizens} citizens, stored: first import {first_ms:.0} ms ({} new), the same file again {again_ms:.0} ms ({} already present)",
        first.imported,
        again.already_present.len()
    );
    println!(
        "a course's effect summary with {} grants stored: {summary_ms:.0} ms (baseline {:?} min/week)",
        first.imported, summary.care_baseline_minutes_per_week
    );
    println!(
        "peak RSS {peak:.1} MiB (before the import, with the file in memory: {before:.1} MiB)"
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "effect-stored",
            "lines": lines,
            "citizens": citizens,
            "first_import_ms": first_ms,
            "same_file_again_ms": again_ms,
            "summary_ms": summary_ms,
            "peak_rss_mib": peak,
            "rss_before_mib": before,
        })
    );
}
