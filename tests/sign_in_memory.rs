//! Sign-ins against the real server with the standard (19 MiB) argon2 cost: thousands of them
//! must leave the server's memory where it was after a warm-up, and a burst beyond the
//! password-hashing pool is answered 503 + Retry-After at once instead of queueing without end.
//! A longer run with figures: `scripts/bench sign-in`.

use homerehab_scenarios::sign_ins::*;
use homerehab_scenarios::*;

/// Users whose right and wrong passwords the run mixes in.
const USERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousands_of_sign_ins_give_their_memory_back() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path());
    server.create_team("Hjemmetræning Nord");
    let users: Vec<String> = (0..USERS).map(|i| format!("bruger{i}")).collect();
    for u in &users {
        server.create_user(u, "assistant", "Hjemmetræning Nord");
    }
    let pid = server.pid().unwrap();

    let warm = sign_in_run(&server, &users, 0, 60, 8).await;
    assert_eq!(warm.busy, 0, "8 at a time fit the pool and its queue");
    let before = vm_rss_kib(pid);
    let count: usize = std::env::var("SIGN_IN_COUNT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let run = sign_in_run(&server, &users, 60, count, 8).await;
    let after = vm_rss_kib(pid);
    println!(
        "{count} sign-ins 8 at a time: {:.1}/s, p50 {} ms, p99 {} ms; VmRSS {} → {} MiB, {} threads",
        run.per_second,
        run.p50_ms,
        run.p99_ms,
        before / 1024,
        after / 1024,
        threads(pid)
    );
    assert_eq!(run.busy, 0, "8 at a time fit the pool and its queue");
    assert_eq!(run.accepted, count / 4, "every right password signs in");
    assert!(
        after <= before + 64 * 1024,
        "the server kept {} MiB after {count} sign-ins ({} → {} MiB)",
        (after.saturating_sub(before)) / 1024,
        before / 1024,
        after / 1024
    );

    // A burst far beyond the pool: the excess is told to come back, quickly and clearly.
    let burst = burst(&server, 96).await;
    println!(
        "burst of 96: {} answered, {} busy (503); busy answered within {} ms",
        burst.answered, burst.busy, burst.slowest_busy_ms
    );
    assert!(burst.busy > 0, "a burst beyond the pool gets 503");
    assert_eq!(burst.answered + burst.busy, 96, "{burst:?}");
    assert!(
        burst.slowest_busy_ms < 1000,
        "503 comes at once, not after queueing: {burst:?}"
    );
    let final_rss = vm_rss_kib(pid);
    assert!(
        final_rss <= before + 64 * 1024,
        "the burst kept {} MiB",
        final_rss.saturating_sub(before) / 1024
    );

    // The per-username throttle still holds: five wrong, then 429 even with the right one.
    let http = reqwest::Client::new();
    let url = server.url();
    for _ in 0..5 {
        assert_eq!(sign_in(&http, &url, "bruger0", "forkert").await.0, 401);
    }
    let (status, retry_after) = sign_in(&http, &url, "bruger0", PASSWORD).await;
    assert_eq!(status, 429);
    assert!(retry_after.is_some_and(|s| s > 0));
    assert_eq!(sign_in(&http, &url, "bruger1", PASSWORD).await.0, 200);
}
