//! `scripts/bench effect`: parse and plan the import of a 100,000-line care-time CSV file
//! (issue #11; target ≤ 5 s and ≤ 100 MB). The file is generated as the care record system
//! exports it (byte-order mark, `;`, Danish dates), for 20,000 citizens, half its grants already
//! stored (a re-export of overlapping periods) and one line in a thousand bad. Prints the
//! figures; the last line is one JSON object. `EFFECT_LINES` changes the number of lines.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Instant;

use homerehab_shared::effect::care_time::{care_time_change, CareGrant, FollowUpOffsets};
use homerehab_shared::effect::change::{default_changes, default_norms, Sex};
use homerehab_shared::effect::import::{parse_care_time_csv, plan_import, ImportChoice};
use homerehab_shared::effect::plan::TestPlan;
use homerehab_shared::effect::summary::{test_outcomes, NormSubject};
use homerehab_shared::ids::{AssessmentId, UserId};
use homerehab_shared::model::{Assessment, AssessmentPhase};

/// The rules' part of opening a course's effect summary (no storage): six tests with start,
/// mid and end results, 40 care-time grants, baseline and both follow-ups. Mean µs per summary.
fn summary_rules_us() -> f64 {
    let tests = [
        "chair_stand_30s",
        "timed_up_and_go",
        "gait_speed_4m",
        "sppb",
        "grip_strength",
        "who5",
    ];
    let mut assessments = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        for (phase, date) in [
            (AssessmentPhase::Start, "2026-01-06"),
            (AssessmentPhase::Midway, "2026-02-17"),
            (AssessmentPhase::End, "2026-03-26"),
        ] {
            assessments.push(Assessment {
                id: AssessmentId::new(),
                kind: (*t).into(),
                value: 5.0 + i as f64,
                unit: String::new(),
                date: date.into(),
                phase,
                by: UserId::new(),
                note: None,
                place: None,
            });
        }
    }
    let base = time::macros::date!(2024 - 01 - 01);
    let grants: Vec<CareGrant> = (0..40)
        .map(|i| CareGrant {
            effective: base + time::Duration::days(i * 30),
            minutes_per_week: 300 + (i as u32 * 7) % 120,
            service_code: Some(["1.1", "2.1"][i as usize % 2].into()),
        })
        .collect();
    let (plan, table, norms) = (TestPlan::default_plan(), default_changes(), default_norms());
    let subject = Some(NormSubject {
        birth_year: 1946,
        sex: Sex::Female,
    });
    let (start, end, today) = (
        time::macros::date!(2026 - 01 - 05),
        time::macros::date!(2026 - 03 - 29),
        time::macros::date!(2027 - 04 - 01),
    );
    let rounds = 10_000;
    let t = Instant::now();
    let mut judged = 0;
    for _ in 0..rounds {
        let o = test_outcomes(&assessments, &plan, &table, &norms, subject);
        let offsets = FollowUpOffsets::default();
        let c = care_time_change(&grants, start, end, &offsets, Some(today), today);
        judged += o.len() + c.follow_ups.len();
    }
    assert_eq!(judged, rounds * 8);
    t.elapsed().as_secs_f64() * 1e6 / rounds as f64
}

fn main() {
    let lines: usize = std::env::var("EFFECT_LINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let citizens = 20_000usize;
    let base = time::macros::date!(2024 - 01 - 01);

    // The file: each citizen's grants on successive dates, a few services.
    let mut file =
        String::from("\u{feff}Borgerreference;Virkningsdato;Minutter_pr_uge;Ydelseskode\n");
    let mut stored: Vec<(usize, CareGrant)> = Vec::new();
    for i in 0..lines {
        let citizen = i % citizens;
        let date = base + time::Duration::days((i / citizens) as i64 * 30 + (citizen % 28) as i64);
        let minutes = 60 + (i * 37 % 600) as u32;
        let code = ["1.1", "1.2", "2.1", ""][i % 4];
        if i % 1000 == 999 {
            writeln!(
                file,
                "Å-{citizen};{:02}-13-{};{minutes};{code}",
                date.day(),
                date.year()
            )
            .unwrap();
            continue;
        }
        writeln!(
            file,
            "Å-{citizen};{:02}-{:02}-{};{minutes};{code}",
            date.day(),
            u8::from(date.month()),
            date.year()
        )
        .unwrap();
        if i % 2 == 0 {
            stored.push((
                citizen,
                CareGrant {
                    effective: date,
                    minutes_per_week: minutes,
                    service_code: (!code.is_empty()).then(|| code.to_string()),
                },
            ));
        }
    }
    let references: HashMap<String, usize> = (0..citizens).map(|c| (format!("Å-{c}"), c)).collect();
    let file_mib = file.len() as f64 / (1024.0 * 1024.0);
    let before = homerehab_scenarios::proc_status_mib("VmHWM:");

    let t = Instant::now();
    let mut progress_calls = 0;
    let parsed = parse_care_time_csv(file.as_bytes(), |_| progress_calls += 1).expect("header");
    let parse_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let plan = plan_import(&parsed, stored.iter().cloned(), |r| {
        references.get(r).copied().ok_or(
            homerehab_shared::effect::import::LineProblem::UnknownCitizen {
                reference: r.into(),
            },
        )
    });
    let plan_ms = t.elapsed().as_secs_f64() * 1000.0;
    let peak = homerehab_scenarios::proc_status_mib("VmHWM:");

    assert_eq!(parsed.grants.len() + parsed.bad.len(), lines);
    assert_eq!(
        plan.new.len() + plan.already_present.len() + plan.bad.len(),
        lines
    );
    let to_apply = plan.to_apply(ImportChoice::GoodLines).len();
    println!(
        "{lines} lines ({file_mib:.1} MiB), {} stored grants: parse {parse_ms:.0} ms, plan {plan_ms:.0} ms, total {:.0} ms",
        stored.len(),
        parse_ms + plan_ms
    );
    println!(
        "new {}, already present {}, bad {}, duplicates {}; good lines to apply {to_apply}; {progress_calls} progress reports",
        plan.new.len(),
        plan.already_present.len(),
        plan.bad.len(),
        plan.duplicates.len()
    );
    let summary_us = summary_rules_us();
    println!("a course's effect summary, rules only (6 tests, 40 grants): {summary_us:.1} µs");
    println!("peak RSS {peak:.1} MiB (before parsing, with the file and the stored grants in memory: {before:.1} MiB)");
    println!(
        "{}",
        serde_json::json!({
            "bench": "effect",
            "lines": lines,
            "file_mib": file_mib,
            "parse_ms": parse_ms,
            "plan_ms": plan_ms,
            "total_ms": parse_ms + plan_ms,
            "peak_rss_mib": peak,
            "new": plan.new.len(),
            "already_present": plan.already_present.len(),
            "bad": plan.bad.len(),
            "summary_rules_us": summary_us,
        })
    );
}
