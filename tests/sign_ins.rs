//! Sign-ins in bulk against a real server, and its memory from `/proc`: shared by the
//! `sign_in_memory` scenario and `scripts/bench sign-in`.

use crate::{Server, PASSWORD};
use std::time::{Duration, Instant};

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
pub fn attempt(i: usize, users: &[String]) -> (String, &'static str) {
    let user = users[(i / 4) % users.len()].clone();
    match i % 4 {
        0 => (format!("ukendt{i}"), "gæt-et-kodeord"),
        1 | 2 => (user, "forkert-kodeord"),
        _ => (user, PASSWORD),
    }
}

pub fn actor_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Status and `Retry-After` of one sign-in.
pub async fn sign_in(
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
pub async fn sign_in_run(
    server: &Server,
    users: &[String],
    first: usize,
    count: usize,
    parallel: usize,
) -> Run {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(first));
    let started = Instant::now();
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
                let t = Instant::now();
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
    Run {
        accepted: all.iter().filter(|(s, _)| *s == 200).count(),
        busy: all.iter().filter(|(s, _)| *s == 503).count(),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&latencies, 0.5),
        p99_ms: percentile_ms(&latencies, 0.99),
    }
}

/// What a burst of sign-ins at once got.
#[derive(Debug)]
pub struct Burst {
    /// Signed in or refused (401): the password was checked.
    pub answered: usize,
    /// 503 with Retry-After.
    pub busy: usize,
    pub slowest_busy_ms: u64,
    /// Latency of the answered ones.
    pub p50_ms: u64,
    pub p99_ms: u64,
}

/// `n` sign-ins of unknown usernames at once.
pub async fn burst(server: &Server, n: usize) -> Burst {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = server.url();
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            let t = Instant::now();
            let username = format!("stormløb{i}");
            let (status, retry_after) = sign_in(&http, &url, &username, "gæt-et-kodeord").await;
            (status, retry_after.is_some(), t.elapsed())
        });
    }
    let mut b = Burst {
        answered: 0,
        busy: 0,
        slowest_busy_ms: 0,
        p50_ms: 0,
        p99_ms: 0,
    };
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, retry_after, took) = done.expect("a burst task");
        match status {
            401 => {
                b.answered += 1;
                latencies.push(took);
            }
            503 => {
                assert!(retry_after, "503 says when to come back");
                b.busy += 1;
                b.slowest_busy_ms = b.slowest_busy_ms.max(took.as_millis() as u64);
            }
            other => panic!("burst sign-in answered {other}"),
        }
    }
    latencies.sort();
    b.p50_ms = percentile_ms(&latencies, 0.5);
    b.p99_ms = percentile_ms(&latencies, 0.99);
    b
}

/// The `q` quantile of sorted latencies, in ms (0 for none).
fn percentile_ms(sorted: &[Duration], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q) as usize].as_millis() as u64
}

/// Resident memory of a process, in KiB.
pub fn vm_rss_kib(pid: u32) -> u64 {
    proc_status_field(pid, "VmRSS:")
}

pub fn threads(pid: u32) -> u64 {
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
