//! `scripts/bench effect`: parse and plan the import of a 100,000-line care-time CSV file
//! (issue #11; target ≤ 5 s and ≤ 100 MB). The file is generated as the care record system
//! exports it (byte-order mark, `;`, Danish dates), for 20,000 citizens, half its grants already
//! stored (a re-export of overlapping periods) and one line in a thousand bad. Prints the
//! figures; the last line is one JSON object. `EFFECT_LINES` changes the number of lines.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Instant;

use homerehab_shared::effect::care_time::CareGrant;
use homerehab_shared::effect::import::{parse_care_time_csv, plan_import, ImportChoice};

/// Peak resident memory of this process, in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
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
    let before = peak_rss_mib();

    let t = Instant::now();
    let mut progress_calls = 0;
    let parsed = parse_care_time_csv(file.as_bytes(), |_| progress_calls += 1).expect("header");
    let parse_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let plan = plan_import(&parsed, stored.iter().cloned(), |r| {
        references.get(r).copied()
    });
    let plan_ms = t.elapsed().as_secs_f64() * 1000.0;
    let peak = peak_rss_mib();

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
        })
    );
}
