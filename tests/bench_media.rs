//! `scripts/bench media`: a tablet's media prefetch against the real server on loopback.
//!
//! A therapist uploads 20 photos/videos of 2 MB, each shown with one municipality exercise of a
//! citizen's program; the tablet syncs and prefetches them (download, SHA-256, rename). Then a
//! prefetch interrupted half-way through every file is resumed. Prints figures; the last line
//! is one JSON object.

use homerehab_core::media::{self, NewMedia};
use homerehab_core::store::now_ms;
use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use std::time::Instant;

const FILES: usize = 20;
const FILE_BYTES: usize = 2 << 20;

fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Peak resident memory of this process (the tablet side), in MiB.
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Bench");
    server.create_user("terapeut", "therapist", "Bench");
    server.create_user("assistent", "assistant", "Bench");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let me = laptop.me();

    // One course whose program uses 20 municipality exercises, each with one 2 MB file.
    let mut lines = vec![];
    let mut exercises = vec![];
    for i in 0..FILES {
        let e = local_exercise(&format!("Øvelse {i}"), me.user_id);
        laptop.store().put_local_exercise(&e)?;
        lines.push(program_line(&e.id, i as f64 + 1.0, 2));
        exercises.push(e.id);
    }
    let course = Course {
        status: CourseStatus::Active,
        ..Course::new(
            CitizenId::new(),
            me.team_id,
            me.user_id,
            "2026-11-02",
            now_ms(),
        )
    };
    laptop.store().create_course(&course, &lines)?;
    let started = Instant::now();
    let mut hashes = vec![];
    for (i, e) in exercises.iter().enumerate() {
        let new = NewMedia {
            content_type: if i % 4 == 0 {
                "video/mp4"
            } else {
                "image/jpeg"
            }
            .into(),
            file_name: format!("fil{i}.bin"),
            shows_person: false,
            consent: None,
            owner: "Bench Kommune".into(),
        };
        let item = media::upload(&laptop.store, noise(FILE_BYTES, i as u64), new, Some(e)).await?;
        hashes.push(item.sha256);
    }
    let upload_s = started.elapsed().as_secs_f64();
    laptop.sync().await;
    let total_mb = (FILES * FILE_BYTES) as f64 / 1e6;
    println!(
        "upload: {FILES} × {} MB in {upload_s:.2} s = {:.0} MB/s",
        FILE_BYTES / 1_000_000,
        total_mb / upload_s
    );

    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    tablet.sync().await;
    let started = Instant::now();
    let full = media::prefetch(&tablet.store).await?;
    let full_s = started.elapsed().as_secs_f64();
    assert_eq!(full.fetched as usize, FILES, "{full:?}");
    assert!(full.failed.is_empty());
    println!(
        "prefetch: {} files, {:.1} MB in {full_s:.2} s = {:.0} MB/s (download + SHA-256 + rename)",
        full.fetched,
        full.bytes_transferred as f64 / 1e6,
        full.bytes_transferred as f64 / 1e6 / full_s
    );
    let unchanged_started = Instant::now();
    let nothing = media::prefetch(&tablet.store).await?;
    let unchanged_ms = unchanged_started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(nothing.fetched, 0);
    println!("prefetch with everything held: {unchanged_ms:.1} ms");

    // Interrupted half-way through every file: the halves are kept as `.part`, and the next
    // round asks only for the rest of each.
    let dir = tablet.store().media_settings().dir.clone();
    for h in &hashes {
        let bytes = std::fs::read(dir.join(h))?;
        std::fs::remove_file(dir.join(h))?;
        std::fs::write(dir.join(format!("{h}.part")), &bytes[..bytes.len() / 2])?;
    }
    let started = Instant::now();
    let resumed = media::prefetch(&tablet.store).await?;
    let resume_s = started.elapsed().as_secs_f64();
    assert_eq!(resumed.fetched as usize, FILES, "{resumed:?}");
    println!(
        "resume after interruption at 50 %: {:.1} MB transferred of {total_mb:.1} MB, {resume_s:.2} s",
        resumed.bytes_transferred as f64 / 1e6
    );

    // A budget of half: the first half of the program's media, nothing over.
    tablet
        .store()
        .set_media_budget((FILES * FILE_BYTES / 2) as u64);
    let budget = media::prefetch(&tablet.store).await?;
    println!(
        "budget {:.1} MB: {} files held ({:.1} MB), {} skipped, {} evicted",
        (FILES * FILE_BYTES / 2) as f64 / 1e6,
        FILES - budget.skipped_over_budget.len(),
        budget.held_bytes as f64 / 1e6,
        budget.skipped_over_budget.len(),
        budget.evicted
    );
    let rss = peak_rss_mib();
    println!("peak RSS of the bench process (laptop + tablet side): {rss:.0} MiB");
    println!(
        "{}",
        serde_json::json!({
            "files": FILES,
            "file_bytes": FILE_BYTES,
            "upload_mb_per_s": (total_mb / upload_s).round(),
            "prefetch_s": (full_s * 1000.0).round() / 1000.0,
            "prefetch_mb_per_s": (full.bytes_transferred as f64 / 1e6 / full_s).round(),
            "prefetch_nothing_to_do_ms": (unchanged_ms * 10.0).round() / 10.0,
            "resume_bytes_transferred": resumed.bytes_transferred,
            "resume_s": (resume_s * 1000.0).round() / 1000.0,
            "budget_held_bytes": budget.held_bytes,
            "budget_skipped": budget.skipped_over_budget.len(),
            "peak_rss_mib": rss.round(),
        })
    );
    Ok(())
}
