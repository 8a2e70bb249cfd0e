//! `scripts/bench sign-in`: sign-ins at the standard argon2 cost against the real server on
//! loopback. A warm-up of 50, then `SIGN_IN_COUNT` (default 5,000) 8 at a time (a quarter
//! unknown usernames, half wrong passwords, a quarter right ones), then a burst of 200 at
//! once. Prints the server's resident memory and threads after each step, hashes per second and
//! latencies; the last line is one JSON object.

use homerehab_scenarios::sign_ins::*;
use homerehab_scenarios::*;
use std::time::Duration;

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path());
    server.create_team("Hjemmetræning Nord");
    let users: Vec<String> = (0..8).map(|i| format!("bruger{i}")).collect();
    for u in &users {
        server.create_user(u, "assistant", "Hjemmetræning Nord");
    }
    let pid = server.pid().unwrap();
    let count: usize = std::env::var("SIGN_IN_COUNT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let mib = |kib: u64| kib / 1024;

    let fresh = vm_rss_kib(pid);
    sign_in_run(&server, &users, 0, 48, 8).await;
    let (warm, warm_threads) = (vm_rss_kib(pid), threads(pid));
    println!(
        "fresh server {} MiB; after 48 sign-ins {} MiB, {warm_threads} threads",
        mib(fresh),
        mib(warm)
    );
    let run = sign_in_run(&server, &users, 48, count, 8).await;
    let (after, after_threads) = (vm_rss_kib(pid), threads(pid));
    println!(
        "{count} sign-ins 8 at a time: {:.1} hashes/s, p50 {} ms, p99 {} ms, {} busy; \
         {} MiB, {after_threads} threads",
        run.per_second,
        run.p50_ms,
        run.p99_ms,
        run.busy,
        mib(after)
    );
    let b = burst(&server, 200).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (end, end_threads) = (vm_rss_kib(pid), threads(pid));
    println!(
        "burst of 200 at once: {} checked (p50 {} ms, p99 {} ms), {} busy (503, slowest {} ms); \
         {} MiB, {end_threads} threads",
        b.answered,
        b.p50_ms,
        b.p99_ms,
        b.busy,
        b.slowest_busy_ms,
        mib(end)
    );
    println!(
        "{}",
        serde_json::json!({
            "sign_ins": count,
            "rss_fresh_mib": mib(fresh),
            "rss_warm_mib": mib(warm),
            "rss_after_mib": mib(after),
            "rss_after_burst_mib": mib(end),
            "threads_warm": warm_threads,
            "threads_after": after_threads,
            "threads_after_burst": end_threads,
            "hashes_per_s": (run.per_second * 10.0).round() / 10.0,
            "p50_ms": run.p50_ms,
            "p99_ms": run.p99_ms,
            "burst_checked": b.answered,
            "burst_busy": b.busy,
            "burst_p50_ms": b.p50_ms,
            "burst_p99_ms": b.p99_ms,
            "burst_slowest_busy_ms": b.slowest_busy_ms,
        })
    );
}
