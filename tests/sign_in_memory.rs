//! Sign-ins against the real server with the standard (19 MiB) argon2 cost: thousands of them
//! must leave the server's memory where it was after a warm-up, and a burst beyond the
//! password-hashing pool is answered 503 + Retry-After at once instead of queueing without end.
//! A longer run with figures: `scripts/bench sign-in`.

use homerehab_scenarios::*;
use std::time::Duration;

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

/// What a run of sign-ins got.
#[derive(Debug)]
pub struct Run {
    pub accepted: usize,
    pub busy: usize,
    pub per_second: f64,
    pub p50_ms: u64,
    pub p99_ms: u64,
}

/// Sign-in number `i` of a run: a quarter unknown usernames, half wrong passwords of real
/// users, a quarter right ones. Each user sees wrong, wrong, right in turn, so the throttle
/// (five wrong in a row) never trips.
fn attempt(i: usize, users: &[String]) -> (String, &'static str) {
    let user = users[(i / 4) % users.len()].clone();
    match i % 4 {
        0 => (format!("ukendt{i}"), "gæt-et-kodeord"),
        1 | 2 => (user, "forkert-kodeord"),
        _ => (user, PASSWORD),
    }
}

fn actor_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Status and `Retry-After` of one sign-in.
async fn sign_in(
    http: &reqwest::Client,
    url: &str,
    username: &str,
    password: &str,
) -> (u16, Option<u64>) {
    let resp = http
        .post(format!("{url}/v1/login"))
        .json(&serde_json::json!({
            "username": username,
            "password": password,
            "actor_id": actor_hex(),
        }))
        .send()
        .await
        .expect("the server answers");
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.expect("a JSON body");
    if status != 200 {
        assert!(body["error"].is_string(), "{status}: {body}");
    }
    (status, retry)
}

/// Sign-ins `first..first + count`, `parallel` at a time.
async fn sign_in_run(
    server: &Server,
    users: &[String],
    first: usize,
    count: usize,
    parallel: usize,
) -> Run {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(first));
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel {
        let next = next.clone();
        let users = users.to_vec();
        let url = server.url();
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= first + count {
                    return got;
                }
                let (username, password) = attempt(i, &users);
                let t = std::time::Instant::now();
                let (status, _) = sign_in(&http, &url, &username, password).await;
                let expected = if password == PASSWORD { 200 } else { 401 };
                assert!(
                    status == expected || status == 503,
                    "sign-in {i} ({username}): {status}"
                );
                got.push((status, t.elapsed()));
            }
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("a sign-in task"));
    }
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = all.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_millis() as u64;
    Run {
        accepted: all.iter().filter(|(s, _)| *s == 200).count(),
        busy: all.iter().filter(|(s, _)| *s == 503).count(),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    }
}

#[derive(Debug)]
struct Burst {
    answered: usize,
    busy: usize,
    slowest_busy_ms: u64,
}

/// `n` sign-ins of unknown usernames at once.
async fn burst(server: &Server, n: usize) -> Burst {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = server.url();
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            let t = std::time::Instant::now();
            let username = format!("stormløb{i}");
            let (status, retry_after) = sign_in(&http, &url, &username, "gæt-et-kodeord").await;
            (status, retry_after.is_some(), t.elapsed())
        });
    }
    let mut b = Burst {
        answered: 0,
        busy: 0,
        slowest_busy_ms: 0,
    };
    while let Some(done) = tasks.join_next().await {
        let (status, retry_after, took) = done.expect("a burst task");
        match status {
            401 => b.answered += 1,
            503 => {
                assert!(retry_after, "503 says when to come back");
                b.busy += 1;
                b.slowest_busy_ms = b.slowest_busy_ms.max(took.as_millis() as u64);
            }
            other => panic!("burst sign-in answered {other}"),
        }
    }
    b
}

/// Resident memory of a process, in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    proc_status_field(pid, "VmRSS:")
}

fn threads(pid: u32) -> u64 {
    proc_status_field(pid, "Threads:")
}

fn proc_status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}
