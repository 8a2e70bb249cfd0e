//! Chaos: many real device processes (the `homerehab` CLI) log sessions and sync against a
//! real `sync-server` that is SIGKILLed every few seconds; device processes are SIGKILLed at
//! random, and some of them are started on a data folder another process holds. At the end
//! every session a device confirmed is on the server exactly once with at least the sets it
//! confirmed, every device has converged with nothing waiting, and every process that was
//! turned away said why. The same with three servers over one database behind HAProxy
//! (`docs/deploy/haproxy.cfg`), one of them SIGKILLed at a time: 20 devices on shared courses,
//! and at the end every server answers the same heads.
//!
//! `HOMEREHAB_CHAOS_SECS` (default 30) sets how long the chaos lasts, `HOMEREHAB_CHAOS_SEED`
//! replays a run (the seed is printed).

use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COURSES: usize = 4;

/// The servers under chaos: one, or three over one database behind a balancer.
struct Cluster {
    servers: Vec<Server>,
    balancer: Option<Balancer>,
}

impl Cluster {
    fn start(data_dir: &Path, servers: usize) -> Cluster {
        // Every server opens the same database (one SQLite file in the data dir).
        let servers: Vec<Server> = (0..servers).map(|_| Server::start(data_dir)).collect();
        let balancer = (servers.len() > 1).then(|| {
            let backends: Vec<String> = servers
                .iter()
                .map(|s| format!("127.0.0.1:{}", s.port))
                .collect();
            Balancer::start(&backends)
        });
        Cluster { servers, balancer }
    }

    /// Where devices sign in.
    fn url(&self) -> String {
        match &self.balancer {
            Some(b) => b.url(),
            None => self.servers[0].url(),
        }
    }
}

/// The shape of one chaos run.
struct Chaos {
    servers: usize,
    /// Data folders; workers beyond this many share a folder with another worker.
    folders: usize,
    workers: usize,
}

/// xorshift64*: enough randomness for scheduling, and replayable from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the device processes said they stored durably.
#[derive(Default)]
struct Ledger {
    /// session → (folder, sets confirmed)
    sessions: BTreeMap<SessionId, (usize, u32)>,
    /// Processes turned away because another held the folder (with the message).
    refused_in_use: Vec<String>,
    /// Processes that failed for any other reason while neither they nor the server were
    /// killed: must stay empty.
    unexpected: Vec<String>,
    runs: u32,
    killed: u32,
    /// Syncs that ended as "server busy" after the client's own retries.
    busy: u32,
}

fn cli(dir: &Path) -> Command {
    device_cli(dir)
}

/// Runs one device process; SIGKILLs it after `kill_after` if given. Returns its stdout lines,
/// its stderr and whether it exited successfully.
/// A step of the setup (before any server is killed), asked again a few times: behind the
/// balancer on a loaded machine a health check can time out and leave HAProxy no server for a
/// moment (503). Each failed attempt is printed; the setup fails if the step never succeeds.
fn set_up(what: &str, cmd: impl Fn() -> Command) {
    const ATTEMPTS: u32 = 5;
    for attempt in 1..=ATTEMPTS {
        let (_, err, ok) = run(cmd(), None);
        if ok == Some(true) {
            return;
        }
        eprintln!("chaos setup: {what} failed (attempt {attempt} of {ATTEMPTS}): {err}");
        assert!(attempt < ATTEMPTS, "chaos setup: {what} failed: {err}");
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn run(mut cmd: Command, kill_after: Option<Duration>) -> (Vec<String>, String, Option<bool>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start homerehab");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let status = match kill_after {
        Some(after) => {
            let deadline = Instant::now() + after;
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break Some(status.success());
                }
                if Instant::now() >= deadline {
                    child.kill().ok();
                    child.wait().ok();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        None => Some(child.wait().unwrap().success()),
    };
    (out.join().unwrap(), err.join().unwrap(), status)
}

/// Whether a failure is the server being away (down, or killed mid-answer).
fn is_network(stderr: &str) -> bool {
    stderr.contains("could not be reached") || stderr.contains("answer could not be read")
}

/// Whether a sync ended busy after the client sent it again (others syncing the same course
/// through another server): nothing stored, said as such, tried again later.
fn is_busy(stderr: &str) -> bool {
    stderr.contains("the server is busy; nothing was lost")
}

/// Whether a failure is the clear refusal of a second process on a held folder.
fn is_in_use(stderr: &str) -> bool {
    let s = stderr.to_lowercase();
    s.contains("in use") && s.contains("another")
}

fn worker(
    id: usize,
    folders: usize,
    dir: PathBuf,
    courses: Arc<Vec<CourseId>>,
    seed: u64,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let folder = id % folders;
    let mut rng = Rng(seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    while !stop.load(Ordering::SeqCst) {
        let kill_after = (rng.below(10) < 3).then(|| Duration::from_millis(rng.below(400)));
        let logging = rng.below(3) < 2;
        let mut cmd = cli(&dir);
        if logging {
            let course = courses[rng.below(courses.len() as u64) as usize];
            cmd.args(["log-session", "--course", &course.to_string(), "--sets"])
                .arg((1 + rng.below(3)).to_string());
        } else {
            cmd.arg("sync");
        }
        let (lines, stderr, status) = run(cmd, kill_after);
        let mut l = ledger.lock().unwrap();
        l.runs += 1;
        let mut session = None;
        for line in &lines {
            if let Some(s) = line.strip_prefix("session ") {
                let s: SessionId = s.trim().parse().expect("a session id");
                l.sessions.insert(s, (folder, 0));
                session = Some(s);
            } else if let Some(n) = line.strip_prefix("confirmed ") {
                let s = session.expect("sets follow their session");
                l.sessions.get_mut(&s).unwrap().1 = n.trim().parse().unwrap();
            }
        }
        match status {
            None => l.killed += 1,
            Some(true) => {}
            Some(false) if is_in_use(&stderr) => l.refused_in_use.push(stderr),
            // A sync fails while the server is down or killed under it: said as offline (or
            // as a cut-off answer), or as busy. Anything else is a fault.
            Some(false) if !logging && is_network(&stderr) => {}
            Some(false) if !logging && is_busy(&stderr) => l.busy += 1,
            Some(false) => l.unexpected.push(format!("worker {id}: {stderr}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_devices_and_a_server_killed_again_and_again_lose_nothing_confirmed() {
    chaos(Chaos {
        servers: 1,
        folders: 10,
        workers: 13,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_behind_a_balancer_killed_at_random_lose_nothing_confirmed() {
    chaos(Chaos {
        servers: 3,
        folders: 20,
        workers: 20,
    })
    .await;
}

async fn chaos(shape: Chaos) {
    let Chaos {
        servers,
        folders: folder_count,
        workers: worker_count,
    } = shape;
    let secs: u64 = std::env::var("HOMEREHAB_CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("HOMEREHAB_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| now_ms_u64() | 1);
    eprintln!("chaos: {servers} server(s), {secs} s, seed {seed} (HOMEREHAB_CHAOS_SEED to replay)");

    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&tmp.path().join("server"), servers);
    let admin = &cluster.servers[0];
    admin.create_team("Hjemmepleje Nord");
    admin.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    for i in 0..folder_count {
        admin.create_user(&format!("assistent{i}"), "assistant", "Hjemmepleje Nord");
    }
    let url = cluster.url();
    let laptop = Device::login_at(&tmp.path().join("laptop"), &url, "terapeut").await;
    let mut courses = Vec::new();
    for i in 0..COURSES {
        let cit = Citizen {
            id: CitizenId::new(),
            name: format!("Borger {i}"),
            local_ref: format!("SAG-{i}"),
            address: None,
            assigned: Default::default(),
            active: true,
            birth_year: None,
            sex: None,
        };
        laptop.store().put_citizen(&cit).unwrap();
        courses.push(create_course(&laptop, cit.id));
    }
    laptop.sync().await;
    let folders: Vec<PathBuf> = (0..folder_count)
        .map(|i| tmp.path().join(format!("tablet{i}")))
        .collect();
    for (i, dir) in folders.iter().enumerate() {
        let username = format!("assistent{i}");
        set_up(&format!("login of {username}"), || {
            let mut c = cli(dir);
            c.args(["login", "--server", &url]).args([
                "--username",
                &username,
                "--password",
                PASSWORD,
            ]);
            c
        });
        set_up(&format!("first sync of {username}"), || {
            let mut c = cli(dir);
            c.arg("sync");
            c
        });
    }

    // The chaos.
    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let courses = Arc::new(courses);
    let workers: Vec<_> = (0..worker_count)
        .map(|id| {
            let (dir, courses, stop, ledger) = (
                folders[id % folder_count].clone(),
                courses.clone(),
                stop.clone(),
                ledger.clone(),
            );
            std::thread::spawn(move || worker(id, folder_count, dir, courses, seed, stop, ledger))
        })
        .collect();
    let killer = {
        let stop = stop.clone();
        let mut cluster = cluster;
        std::thread::spawn(move || {
            let mut rng = Rng(seed.rotate_left(17) | 1);
            let mut kills = 0u32;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1500 + rng.below(2500)));
                let n = cluster.servers.len() as u64;
                let server = &mut cluster.servers[rng.below(n) as usize];
                server.kill();
                kills += 1;
                std::thread::sleep(Duration::from_millis(rng.below(600)));
                server.restart();
            }
            (cluster, kills)
        })
    };
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let (cluster, server_kills) = killer.join().unwrap();
    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap();
    eprintln!(
        "chaos: {} device processes ({} SIGKILLed, {} turned away from a held folder), server SIGKILLed {} times, {} sessions confirmed, {} syncs ended busy",
        ledger.runs,
        ledger.killed,
        ledger.refused_in_use.len(),
        server_kills,
        ledger.sessions.len(),
        ledger.busy
    );
    assert!(ledger.unexpected.is_empty(), "{:#?}", ledger.unexpected);
    assert!(server_kills >= 3 && ledger.killed > 0 && !ledger.sessions.is_empty());

    // Calm: every device syncs until nothing waits.
    for dir in &folders {
        let mut tries = 0;
        loop {
            let (_, err, ok) = run(
                {
                    let mut c = cli(dir);
                    c.arg("sync");
                    c
                },
                None,
            );
            tries += 1;
            let waiting = open_store(dir)
                .expect("every store opens after the chaos")
                .sync_status()
                .unwrap()
                .waiting;
            if ok == Some(true) && waiting == 0 {
                break;
            }
            assert!(tries < 5, "{} never synced: {err}", dir.display());
        }
    }
    for dir in &folders {
        let (_, err, ok) = run(
            {
                let mut c = cli(dir);
                c.arg("sync");
                c
            },
            None,
        );
        assert_eq!(ok, Some(true), "{err}");
    }
    laptop.sync().await;

    // Every confirmed session is on the server exactly once, with its confirmed sets.
    let mut on_server: BTreeMap<SessionId, u32> = BTreeMap::new();
    let mut copies = 0usize;
    for course in courses.iter() {
        for s in laptop
            .store()
            .session_log(*course)
            .unwrap()
            .sessions
            .values()
        {
            copies += 1;
            on_server.insert(s.id, s.set_count() as u32);
        }
    }
    assert_eq!(copies, on_server.len(), "a session is on the server twice");
    let mut missing = Vec::new();
    for (session, (folder, sets)) in &ledger.sessions {
        match on_server.get(session) {
            None => missing.push(format!("{session} from tablet{folder}: not on the server")),
            Some(&stored) if stored < *sets => missing.push(format!(
                "{session} from tablet{folder}: {stored} of {sets} confirmed sets"
            )),
            Some(_) => {}
        }
    }
    assert!(missing.is_empty(), "lost: {missing:#?}");

    // Every device converged: the same heads as the server's copy (the laptop), no refusals.
    let want: BTreeMap<_, _> = laptop.store().all_heads().unwrap().into_iter().collect();
    for dir in &folders {
        let store = open_store(dir).unwrap();
        assert!(store.refusals().unwrap().is_empty(), "{}", dir.display());
        let got: BTreeMap<_, _> = store.all_heads().unwrap().into_iter().collect();
        let common: BTreeSet<_> = got.keys().filter(|k| want.contains_key(k)).collect();
        assert!(
            common.len() >= COURSES * 2,
            "{} holds too few documents",
            dir.display()
        );
        for id in common {
            assert_eq!(
                got[id],
                want[id],
                "{} did not converge on {id}",
                dir.display()
            );
        }
    }
    // Every server answers a fresh device with the same heads as the laptop's.
    for (i, server) in cluster.servers.iter().enumerate() {
        let fresh = Device::login(&tmp.path().join(format!("fresh{i}")), server, "terapeut").await;
        fresh.sync().await;
        let got: BTreeMap<_, _> = fresh.store().all_heads().unwrap().into_iter().collect();
        for course in courses.iter() {
            for id in [
                DocumentId::course_of(*course),
                DocumentId::session_log_of(*course),
            ] {
                assert_eq!(
                    got.get(&id),
                    want.get(&id),
                    "server {i} answers {id} otherwise"
                );
            }
        }
    }
    // The servers, killed while appending, wrote one audit chain, numbered without gaps:
    // every entry of the log is a link of it.
    let verify = cluster.servers[0]
        .command()
        .arg("audit-verify")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(verify.status.success(), "{said}");
    let entries = cluster.servers[0]
        .db()
        .count("SELECT COUNT(*) FROM audit_log");
    assert!(entries > 0, "nothing was audited");
    assert!(said.contains(&format!("{entries} entries")), "{said}");
    drop(cluster);
}

fn now_ms_u64() -> u64 {
    homerehab_core::store::now_ms() as u64
}
