//! `scripts/bench scale`: the sync server under issue #13's loads, against the real server
//! process on loopback. Devices here are the shared crate's in-memory device driving the real
//! wire protocol over HTTP (their changes are made by the same `shared::docs` writers as the
//! app's, one Automerge change per logged set), so thousands of them fit in one process.
//!
//! 1. Upload: one device logs 30 sessions in each of N courses offline and syncs once; the
//!    server's CPU for that one sync and the read model's catch-up after it, at N = 100 and
//!    300 (their ratio shows linearity), then a fresh device's cold pull of it all; each the
//!    median of three runs.
//! 2. 50 concurrent clients, each changing one of its own documents and syncing, for 10 s:
//!    changed documents per second and server CPU per changed document. Once as one team of
//!    50 (every change is sent on to 49 devices), once as 10 teams of 5 (a home-care group's
//!    tablets; teams do not see each other's courses). The devices hold their teammates'
//!    changes back and apply them after the window (`HoldingDevice`), then every device is
//!    checked to hold every change the server confirmed.
//! 3. A small sync's latency while another device uploads a month of sessions; the teammate's
//!    sync that brings that month down is timed apart (it is not small).
//! 4. A reconnect burst: 1,000 devices × 30 documents, mostly unchanged, fired within one
//!    second: p50/p99 latency of the server's answers, errors, and the server's memory after
//!    and at its peak. The devices' requests are built before and their answers applied after
//!    the burst (a tablet's own work, on its own CPU; here it would share the server's cores).
//!
//! Prints figures as it goes; the last line is one JSON object. `HOMEREHAB_BENCH_UPLOAD_ONLY=1`
//! runs part 1 alone, `HOMEREHAB_BENCH_PART=concurrent|behind|burst` one of the others;
//! `HOMEREHAB_SYNC_REQUEST_BYTES` sets the devices' request budget (a huge
//! one sends the upload in one request, as before issue #13 item 5).
// The JSON line below has more fields than serde_json's macro recurses by default.
#![recursion_limit = "256"]

use automerge::{ActorId, ReadDoc};
use homerehab_scenarios::*;
use homerehab_shared::api::{LoginRequest, LoginResponse};
use homerehab_shared::docs::{self, CourseDoc, ExerciseFeedback};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::client::{PendingOffer, Refusal, UnsentChanges, WholeDocument};
use homerehab_shared::sync::sim::{has_unconfirmed_changes, MemoryDevice};
use homerehab_shared::sync::wire::{self, from_hashes, to_hashes, Hash, Limits};
use homerehab_shared::sync::{ClientRound, ClientStorage, REQUEST_CHANGE_BYTES};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SESSIONS_PER_COURSE: usize = 30;
/// A session holds at most 50 sets of one exercise; the streams of single sets start a new
/// session this often.
const SETS_PER_SESSION: Millis = 40;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn fresh_actor() -> ActorId {
    ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice())
}

/// A device's way to the server: its HTTP client, the server and its token.
#[derive(Clone)]
struct Line {
    http: reqwest::Client,
    url: String,
    token: String,
}

/// Syncs a busy server turned away (503) and the devices sent again after its `Retry-After`,
/// as the app does (`app/core`'s sync client): counted, and in the latency they waited.
static TURNED_AWAY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Line {
    /// Sends `body` as a sync request; the answer's bytes.
    async fn send(&self, body: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        loop {
            let resp = self
                .http
                .post(format!("{}/v1/sync", self.url))
                .bearer_auth(&self.token)
                .header("content-type", "application/octet-stream")
                .body(body.clone())
                .send()
                .await?;
            let status = resp.status();
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                let wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .unwrap_or(1);
                TURNED_AWAY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            let body = resp.bytes().await?;
            anyhow::ensure!(status.is_success(), "sync answered {status}");
            return Ok(body.to_vec());
        }
    }
}

/// The in-memory device, which can hold back what its teammates logged (part 2): a document
/// with nothing unsent takes the server's changes as bytes, applied when the device next
/// reads or writes it, or after the measured window. A tablet applies them on its own CPU;
/// here the 50 devices share the server's two cores, and applying every teammate's change
/// (Automerge's `load_incremental` into 49 session logs per sync) was 55 % of their CPU, a
/// ceiling of 620–720 changed documents/s in one team of 50 whatever the server cost. The
/// server sees the same requests either way: a held document is offered at the heads the
/// server confirmed, which are its heads once the held changes are applied.
#[derive(Default)]
struct HoldingDevice {
    device: MemoryDevice,
    /// Whether changes for documents with nothing unsent are held rather than applied.
    holding: bool,
    /// Held changes per document, in the order they came.
    held: HashMap<DocumentId, Vec<Vec<u8>>>,
}

/// A simulated device's failure, as text.
type DeviceError = std::io::Error;

impl HoldingDevice {
    /// Applies what is held for `id`.
    fn apply_held(&mut self, id: DocumentId) -> Result<(), DeviceError> {
        let Some(held) = self.held.remove(&id) else {
            return Ok(());
        };
        let doc = self
            .device
            .doc_mut(id)
            .ok_or_else(|| DeviceError::other("held changes for a document not held"))?;
        for changes in held {
            doc.load_incremental(&changes).map_err(DeviceError::other)?;
        }
        Ok(())
    }

    /// Applies everything held; answers how many documents had changes held.
    fn apply_all_held(&mut self) -> Result<usize, DeviceError> {
        let ids: Vec<DocumentId> = self.held.keys().copied().collect();
        ids.iter().try_for_each(|id| self.apply_held(*id))?;
        Ok(ids.len())
    }

    /// The document `id`, with what is held for it applied.
    fn doc(&mut self, id: DocumentId) -> Result<&automerge::Automerge, DeviceError> {
        self.apply_held(id)?;
        self.device
            .docs
            .get(&id)
            .map(|(_, doc)| doc)
            .ok_or_else(|| DeviceError::other("no such document on the device"))
    }

    fn doc_mut(&mut self, id: DocumentId) -> Result<&mut automerge::Automerge, DeviceError> {
        self.apply_held(id)?;
        self.device
            .doc_mut(id)
            .ok_or_else(|| DeviceError::other("no such document on the device"))
    }

    /// Documents whose copy lacks a change the server confirmed (none, once everything held
    /// is applied, if holding lost nothing).
    fn missing_confirmed(&self) -> usize {
        self.device
            .docs
            .iter()
            .filter(|(id, (_, doc))| {
                let confirmed = self
                    .device
                    .server_heads
                    .get(id)
                    .cloned()
                    .unwrap_or_default();
                !doc.get_missing_deps(&confirmed).is_empty()
            })
            .count()
    }
}

impl ClientStorage for HoldingDevice {
    type Error = DeviceError;
    fn squash_unseen(&mut self) -> Result<u32, DeviceError> {
        // A held document has no change of this device (held only with nothing unsent): left
        // out while the others are squashed, its stale copy is not looked at.
        let held = &self.held;
        self.device
            .squash_unseen_except(|id| held.contains_key(id))
            .map_err(DeviceError::other)
    }
    fn sending(&mut self, sent: &[(DocumentId, Vec<Hash>)]) -> Result<(), DeviceError> {
        self.device.sending(sent).map_err(DeviceError::other)
    }
    fn offers(&mut self) -> Result<Vec<PendingOffer>, DeviceError> {
        let mut offers = self.device.offers().map_err(DeviceError::other)?;
        for pending in &mut offers {
            if self.held.contains_key(&pending.offer.doc) {
                // Its heads once the held changes are applied: the server's, nothing to build.
                let confirmed = to_hashes(&self.device.server_heads[&pending.offer.doc]);
                pending.offer.heads = confirmed.clone();
                pending.confirmed = Some(confirmed);
                pending.unbuilt = false;
            }
        }
        Ok(offers)
    }
    fn unsent(&mut self, id: DocumentId) -> Result<Option<UnsentChanges>, DeviceError> {
        self.apply_held(id)?;
        self.device.unsent(id).map_err(DeviceError::other)
    }
    fn whole(&mut self, id: DocumentId) -> Result<Option<WholeDocument>, DeviceError> {
        self.apply_held(id)?;
        self.device.whole(id).map_err(DeviceError::other)
    }
    fn absorb(
        &mut self,
        id: DocumentId,
        header: Option<&docs::Header>,
        generation: u32,
        changes: &[u8],
        server_heads: &[Hash],
    ) -> Result<(), DeviceError> {
        // What the app's store would keep in its outbox, by the simulation's own rule.
        let nothing_unsent = |device: &MemoryDevice| {
            device.docs.get(&id).is_some_and(|(_, doc)| {
                !has_unconfirmed_changes(doc, device.server_heads.get(&id))
                    && !device.refusals.contains_key(&id)
            })
        };
        if self.holding
            && header.is_none()
            && (self.held.contains_key(&id) || nothing_unsent(&self.device))
        {
            self.held.entry(id).or_default().push(changes.to_vec());
            self.device
                .server_heads
                .insert(id, from_hashes(server_heads));
            return Ok(());
        }
        self.apply_held(id)?;
        self.device
            .absorb(id, header, generation, changes, server_heads)
            .map_err(DeviceError::other)
    }
    fn erased(&mut self, ids: &[DocumentId]) -> Result<(), DeviceError> {
        for id in ids {
            self.held.remove(id);
        }
        self.device.erased(ids).map_err(DeviceError::other)
    }
    fn replaced(
        &mut self,
        id: DocumentId,
        generation: u32,
        saved: &[u8],
        absorbed: &[Hash],
    ) -> Result<bool, DeviceError> {
        self.apply_held(id)?;
        self.device
            .replaced(id, generation, saved, absorbed)
            .map_err(DeviceError::other)
    }
    fn refused(&mut self, id: DocumentId, refusal: &Refusal) -> Result<(), DeviceError> {
        self.apply_held(id)?;
        self.device.refused(id, refusal).map_err(DeviceError::other)
    }
}

/// A device on the wire: an in-memory store, its way to the server and its actor.
struct WireDevice {
    line: Line,
    actor: ActorId,
    user: UserId,
    store: HoldingDevice,
    /// Documents the last sync squashed before offering them.
    squashed: u32,
    /// Documents whose changes (made by others) the last sync brought down.
    received: u32,
}

impl WireDevice {
    /// Signs in; a busy server (503, its password workers full) is asked again after the
    /// `Retry-After` it names, as the app does.
    async fn login(http: &reqwest::Client, url: &str, username: &str) -> anyhow::Result<Self> {
        let actor = fresh_actor();
        let resp = loop {
            let resp = http
                .post(format!("{url}/v1/login"))
                .json(&LoginRequest {
                    username: username.into(),
                    password: PASSWORD.into(),
                    actor_id: actor.to_hex_string(),
                    // Each simulated device is named after its actor, as an older app's is.
                    device_id: None,
                    app_version: None,
                })
                .send()
                .await?;
            if resp.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE {
                break resp.error_for_status()?.json::<LoginResponse>().await?;
            }
            let wait = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
        };
        Ok(WireDevice {
            line: Line {
                http: http.clone(),
                url: url.into(),
                token: resp.token,
            },
            actor,
            user: resp.user.id,
            store: HoldingDevice::default(),
            squashed: 0,
            received: 0,
        })
    }

    /// One complete sync; returns the round trips. Its requests carry at most
    /// `HOMEREHAB_SYNC_REQUEST_BYTES` of changes where set (as the app's), so one run can
    /// measure a big upload in one request against the same upload split.
    async fn sync(&mut self) -> anyhow::Result<u32> {
        let budget = std::env::var("HOMEREHAB_SYNC_REQUEST_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(REQUEST_CHANGE_BYTES);
        let (round, body) = self.prepare(budget)?;
        let answer = self.line.send(body).await?;
        Ok(1 + self.finish(round, &answer).await?)
    }

    /// A sync's first request, built ahead (the burst fires prepared requests, so what it
    /// times is the server's answer, not the simulated devices building them).
    fn prepare(&mut self, budget: usize) -> anyhow::Result<(ClientRound, Vec<u8>)> {
        let (round, req) = ClientRound::begin_with_budget(&mut self.store, budget)?;
        Ok((round, wire::encode(&req)))
    }

    /// Applies a prepared round's first answer and finishes the round; the round trips after
    /// the first.
    async fn finish(&mut self, mut round: ClientRound, body: &[u8]) -> anyhow::Result<u32> {
        let mut resp = wire::decode_response(body, &Limits::default())?;
        let mut trips = 0;
        while let Some(next) = round.on_response(&mut self.store, resp)? {
            trips += 1;
            let body = self.line.send(wire::encode(&next)).await?;
            resp = wire::decode_response(&body, &Limits::default())?;
        }
        let report = round.report();
        (self.squashed, self.received) = (report.squashed, report.received);
        Ok(trips)
    }

    /// A whole guided session in `course`, as the app writes it: one change per set, per
    /// exercise's feedback, at start and at finish.
    fn log_session(&mut self, course: CourseId, at: Millis) -> anyhow::Result<()> {
        let lines: Vec<ProgramExercise> = {
            CourseDoc::read(self.store.doc(DocumentId::course_of(course))?)?
                .program
                .ordered()
                .into_iter()
                .cloned()
                .collect()
        };
        let actor = self.actor.clone();
        let user = self.user;
        let log = self.store.doc_mut(DocumentId::session_log_of(course))?;
        log.set_actor(actor);
        let session = SessionLog::start(course, user, None, at);
        docs::put_session(log, &session, at)?;
        for line in &lines {
            for i in 0..line.dosage.sets {
                let set = SetLog {
                    reps: Some(8 + i % 3),
                    duration_s: None,
                    load_kg: Some(2.0),
                    at,
                };
                docs::log_set(log, session.id, line.id, &line.exercise_ref, &set, at)?;
            }
            let fb = ExerciseFeedback {
                outcome: ExerciseOutcome::Done,
                skip_reason: None,
                borg: Some(5),
                pain: Some(2),
                note: None,
            };
            docs::record_feedback(log, session.id, line.id, &line.exercise_ref, &fb, at)?;
        }
        docs::finish_session(log, session.id, Some(4), Some("Borger i godt humør"), at)?;
        Ok(())
    }

    fn courses(&self) -> Vec<CourseId> {
        self.store
            .device
            .docs
            .values()
            .filter_map(|(h, _)| {
                (h.kind == docs::DocumentKind::Course)
                    .then_some(h.course_id)
                    .flatten()
            })
            .collect()
    }
}

/// A server with one team, a therapist who created `courses` courses, and `assistants`
/// assistants; returns the server and the course ids.
async fn world(
    tmp: &std::path::Path,
    courses: usize,
    assistants: usize,
) -> anyhow::Result<(Server, Vec<CourseId>)> {
    world_of_teams(tmp, 1, courses, assistants).await
}

/// A server with `teams` teams, each with a therapist who created `courses` courses and
/// `assistants` assistants (`assistent{i}` counts on across teams); returns the server and
/// the course ids, team by team.
async fn world_of_teams(
    tmp: &std::path::Path,
    teams: usize,
    courses: usize,
    assistants: usize,
) -> anyhow::Result<(Server, Vec<CourseId>)> {
    let server = Server::start(&tmp.join("server"));
    let mut ids = Vec::new();
    for t in 0..teams {
        let team = format!("Bench {t}");
        let therapist = format!("terapeut{t}");
        server.create_team(&team);
        server.create_user(&therapist, "therapist", &team);
        for i in 0..assistants {
            server.create_user(
                &format!("assistent{}", t * assistants + i),
                "assistant",
                &team,
            );
        }
        let laptop = Device::login(&tmp.join(&therapist), &server, &therapist).await;
        ids.extend((0..courses).map(|_| create_course(&laptop, CitizenId::new())));
        laptop.sync().await;
    }
    Ok((server, ids))
}

struct Upload {
    courses: usize,
    server_cpu_s: f64,
    wall_s: f64,
    cold_pull_s: f64,
    cold_pull_cpu_s: f64,
    server_rss_mib: f64,
    /// The server's peak RSS (VmHWM) right after the upload, before the cold pull.
    server_peak_mib: f64,
    /// The upload's requests.
    requests: u32,
    /// PostgreSQL's own CPU over the upload (0 on SQLite: the server's, in process).
    database_cpu_s: f64,
}

/// Part 1 at `n` courses.
async fn upload(http: &reqwest::Client, n: usize) -> anyhow::Result<Upload> {
    let tmp = tempfile::tempdir()?;
    let (server, courses) = world(tmp.path(), n, 2).await?;
    let mut tablet = WireDevice::login(http, &server.url(), "assistent0").await?;
    tablet.sync().await?;
    for (i, course) in courses.iter().enumerate() {
        for s in 0..SESSIONS_PER_COURSE {
            tablet.log_session(*course, 1_700_000_000_000 + (i * 100 + s) as Millis)?;
        }
    }
    // Said before the timed sync, so a profiler can start on it.
    println!("uploading {n} courses");
    let (cpu0, db_cpu0) = (server.cpu_ms(), postgres_cpu_ms());
    let t = Instant::now();
    let requests = tablet.sync().await?;
    let wall_s = t.elapsed().as_secs_f64();
    // Every session log goes up as one change, or the server admits ~900 per course.
    anyhow::ensure!(
        tablet.squashed as usize == n,
        "{} of {n} session logs squashed",
        tablet.squashed
    );
    let answered_cpu_s = (server.cpu_ms() - cpu0) / 1000.0;
    // The read model's projector catches up after the sync is answered: its work is the
    // upload's too, so the CPU is read once the server has gone quiet.
    let server_cpu_s = (quiet_cpu_ms(&server).await - cpu0) / 1000.0;
    let database_cpu_s = (postgres_cpu_ms() - db_cpu0) / 1000.0;
    let server_peak_mib = server_status_mib(&server, "VmHWM:");
    let mut fresh = WireDevice::login(http, &server.url(), "assistent1").await?;
    let cpu0 = server.cpu_ms();
    let t = Instant::now();
    fresh.sync().await?;
    let cold_pull_s = t.elapsed().as_secs_f64();
    let cold_pull_cpu_s = (server.cpu_ms() - cpu0) / 1000.0;
    anyhow::ensure!(fresh.courses().len() == n, "the cold pull got every course");
    let server_rss_mib = server_status_mib(&server, "VmRSS:");
    println!(
        "upload {n} courses × {SESSIONS_PER_COURSE} sessions in one sync ({requests} requests): server CPU {server_cpu_s:.2} s ({:.1} ms per course, {answered_cpu_s:.2} s of it until the sync was answered, the rest the read model catching up; PostgreSQL's own {database_cpu_s:.2} s), wall {wall_s:.2} s, server peak RSS {server_peak_mib:.0} MiB; cold pull {cold_pull_s:.2} s (server CPU {cold_pull_cpu_s:.2} s); server RSS {server_rss_mib:.0} MiB",
        server_cpu_s * 1000.0 / n as f64
    );
    Ok(Upload {
        courses: n,
        server_cpu_s,
        wall_s,
        cold_pull_s,
        cold_pull_cpu_s,
        server_rss_mib,
        server_peak_mib,
        requests,
        database_cpu_s,
    })
}

/// Uploads of `n` courses taken for each figure: one run's server CPU varied by a third on
/// these shared cores (2.0–2.7 ms per course at 300), more than the changes it should show.
const UPLOAD_RUNS: usize = 3;

/// Part 1 at `n` courses, [`UPLOAD_RUNS`] times, each on a fresh server: the run of the median
/// server CPU, after each run's figures.
async fn median_upload(http: &reqwest::Client, n: usize) -> anyhow::Result<Upload> {
    let mut runs = Vec::with_capacity(UPLOAD_RUNS);
    for _ in 0..UPLOAD_RUNS {
        runs.push(upload(http, n).await?);
    }
    runs.sort_by(|a, b| a.server_cpu_s.total_cmp(&b.server_cpu_s));
    let cpu: Vec<String> = runs
        .iter()
        .map(|r| format!("{:.1}", r.server_cpu_s * 1000.0 / n as f64))
        .collect();
    let median = runs.swap_remove(UPLOAD_RUNS / 2);
    println!(
        "upload {n} courses: median of {UPLOAD_RUNS} runs {:.2} ms of server CPU per course (runs: {} ms)",
        median.server_cpu_s * 1000.0 / n as f64,
        cpu.join(", ")
    );
    Ok(median)
}

/// The server's CPU (ms) once it has gone quiet: no tick of CPU in 300 ms (the read model's
/// projector done), or after 20 s.
async fn quiet_cpu_ms(server: &Server) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = server.cpu_ms();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = server.cpu_ms();
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// The server process's `/proc/PID/status` memory figure in MiB.
fn server_status_mib(server: &Server, field: &str) -> f64 {
    let pid = server.pid().expect("running");
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A session a device has begun, with the program line it logs sets on: read from the course
/// once when the session starts, as the app shows the program then (reading the whole course
/// for every set was a tenth of the simulated devices' CPU).
struct OpenSession {
    id: SessionId,
    line: ProgramExercise,
}

/// One set logged in the device's open session of `course`.
fn log_one_set(device: &mut WireDevice, course: CourseId, session: &OpenSession, at: Millis) {
    let log = device
        .store
        .doc_mut(DocumentId::session_log_of(course))
        .unwrap();
    let set = SetLog {
        reps: Some(10),
        duration_s: None,
        load_kg: None,
        at,
    };
    let line = &session.line;
    docs::log_set(log, session.id, line.id, &line.exercise_ref, &set, at).unwrap();
}

fn start_session(device: &mut WireDevice, course: CourseId, at: Millis) -> OpenSession {
    let line = {
        let course = device.store.doc(DocumentId::course_of(course)).unwrap();
        CourseDoc::read(course).unwrap().program.ordered()[0].clone()
    };
    let (actor, user) = (device.actor.clone(), device.user);
    let log = device
        .store
        .doc_mut(DocumentId::session_log_of(course))
        .unwrap();
    log.set_actor(actor);
    let session = SessionLog::start(course, user, None, at);
    docs::put_session(log, &session, at).unwrap();
    OpenSession {
        id: session.id,
        line,
    }
}

struct Concurrent {
    clients: usize,
    wall_s: f64,
    changed_docs_per_s: f64,
    server_cpu_ms_per_changed_doc: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU of the simulated devices (this process) over the same time: they run on the
    /// server's cores. They hold their teammates' changes back (`HoldingDevice`).
    devices_cpu_s: f64,
    /// CPU the devices spent after the window applying what they held: a tablet's own work.
    held_apply_cpu_s: f64,
    /// Documents with changes held, over all devices, when the window closed.
    held_docs: usize,
    /// PostgreSQL's own CPU per changed document (0 on SQLite).
    database_cpu_ms_per_changed_doc: f64,
}

impl Concurrent {
    fn devices_cpu_ms_per_changed_doc(&self) -> f64 {
        self.devices_cpu_s * 1000.0 / (self.changed_docs_per_s * self.wall_s)
    }

    /// Changed documents per second the devices' own CPU would allow on `cores` cores with a
    /// server that cost nothing.
    fn devices_ceiling_per_s(&self, cores: f64) -> f64 {
        cores * 1000.0 / self.devices_cpu_ms_per_changed_doc()
    }
}

/// Part 2: `clients` devices in `teams` teams, each with its own course, change and sync for
/// `secs`. A device holds its team's courses, so each sync also brings it what its team's
/// other devices logged: with one team of 50, every change is sent to 49 devices.
async fn concurrent(
    http: &reqwest::Client,
    teams: usize,
    clients: usize,
    secs: u64,
) -> anyhow::Result<Concurrent> {
    let tmp = tempfile::tempdir()?;
    let per_team = (clients / teams).max(1);
    let (server, courses) = world_of_teams(tmp.path(), teams, per_team, per_team).await?;
    let clients = per_team * teams;
    let mut devices = Vec::new();
    for i in 0..clients {
        let mut d = WireDevice::login(http, &server.url(), &format!("assistent{i}")).await?;
        d.sync().await?;
        // Teammates' changes held from here on, applied after the window (see `HoldingDevice`).
        d.store.holding = true;
        devices.push(d);
    }
    // Said before the measured part starts, so a profiler can be attached to it alone.
    println!("{clients} clients signed in and pulled; changing and syncing for {secs} s");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (cpu0, own_cpu0, db_cpu0) = (server.cpu_ms(), cpu_ms_of("self"), postgres_cpu_ms());
    let t = Instant::now();
    let tasks: Vec<_> = devices
        .into_iter()
        .zip(courses)
        .map(|(mut d, course)| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut session = start_session(&mut d, course, 1);
                let mut at = 2;
                while Instant::now() < deadline {
                    if at % SETS_PER_SESSION == 0 {
                        session = start_session(&mut d, course, at);
                    }
                    log_one_set(&mut d, course, &session, at);
                    at += 1;
                    let t = Instant::now();
                    d.sync().await.expect("sync");
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                (d, latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut devices = Vec::new();
    for task in tasks {
        let (d, l) = task.await?;
        devices.push(d);
        latencies.extend(l);
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu_ms = server.cpu_ms() - cpu0;
    let devices_cpu_s = (cpu_ms_of("self") - own_cpu0) / 1000.0;
    let db_cpu_ms = postgres_cpu_ms() - db_cpu0;
    // What the devices held back, applied now: holding must have lost nothing the server
    // confirmed.
    let own_cpu1 = cpu_ms_of("self");
    let mut held_docs = 0;
    for d in &mut devices {
        held_docs += d.store.apply_all_held()?;
    }
    let held_cpu_s = (cpu_ms_of("self") - own_cpu1) / 1000.0;
    for d in &devices {
        let missing = d.store.missing_confirmed();
        anyhow::ensure!(
            missing == 0,
            "a device lacks confirmed changes of {missing} documents after applying what it held"
        );
    }
    latencies.sort_by(f64::total_cmp);
    let changed = latencies.len() as f64;
    let r = Concurrent {
        clients,
        wall_s: wall,
        changed_docs_per_s: changed / wall,
        server_cpu_ms_per_changed_doc: cpu_ms / changed,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        devices_cpu_s,
        held_apply_cpu_s: held_cpu_s,
        held_docs,
        database_cpu_ms_per_changed_doc: db_cpu_ms / changed,
    };
    println!(
        "{clients} concurrent clients in {teams} team(s) for {secs} s: {:.0} changed documents/s, server CPU {:.2} ms per changed document ({:.1} s in all; PostgreSQL's own {:.1} s; the simulated devices {:.1} s), sync p50 {:.1} ms / p99 {:.1} ms",
        r.changed_docs_per_s, r.server_cpu_ms_per_changed_doc, cpu_ms / 1000.0, db_cpu_ms / 1000.0, r.devices_cpu_s, r.p50_ms, r.p99_ms
    );
    // The devices share the server's cores: what they spend per changed document bounds the
    // rate whatever the server costs.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!(
        "  the simulated devices: {:.2} ms of CPU per changed document; on {cores} cores they alone would allow {:.0} changed documents/s",
        r.devices_cpu_ms_per_changed_doc(),
        r.devices_ceiling_per_s(cores)
    );
    println!(
        "  after the window they applied what they held back ({} documents over all devices) in {:.2} s of CPU, and every device held every change the server confirmed",
        r.held_docs, r.held_apply_cpu_s
    );
    Ok(r)
}

struct BehindUpload {
    small_syncs: usize,
    p50_ms: f64,
    p99_ms: f64,
    upload_s: f64,
    /// The syncs that brought the uploaded month down to the small device (its teammate's
    /// sessions): not small, so not among the small syncs; their slowest latency.
    receiving: usize,
    receiving_max_ms: f64,
}

/// Months uploaded in part 3, each on a fresh server: one month's upload is over in about a
/// quarter of a second, too few small syncs for a p99 of one.
const BEHIND_ROUNDS: usize = 5;

/// Part 3: a small sync's latency while another device uploads a month of sessions (12 per
/// course in 40 courses: about 12,000 changes), [`BEHIND_ROUNDS`] times. The two devices are
/// of one team, so the small device's sync after the upload's commit brings that month down
/// (40 session logs, about 58 KB, which the device applies in some 40 ms of its own): that
/// sync is timed apart, not as a small one.
async fn behind_upload(http: &reqwest::Client) -> anyhow::Result<BehindUpload> {
    let (mut latencies, mut receiving) = (Vec::new(), Vec::new());
    let mut upload_s = 0.0;
    for _ in 0..BEHIND_ROUNDS {
        let (small, brought, took) = behind_one_upload(http).await?;
        latencies.extend(small);
        receiving.extend(brought);
        upload_s += took / BEHIND_ROUNDS as f64;
    }
    latencies.sort_by(f64::total_cmp);
    let r = BehindUpload {
        small_syncs: latencies.len(),
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        upload_s,
        receiving: receiving.len(),
        receiving_max_ms: receiving.iter().copied().fold(f64::NAN, f64::max),
    };
    // Whether a small sync catches the month before the upload ends is timing: none may.
    let slowest = if r.receiving == 0 {
        "none".to_string()
    } else {
        format!("the slowest {:.1} ms", r.receiving_max_ms)
    };
    println!(
        "a small sync while another device uploads a month ({:.2} s on average, {BEHIND_ROUNDS} months): {} syncs, p50 {:.1} ms / p99 {:.1} ms; apart from them, syncs that brought the month down: {}, {slowest} (the device's own apply included)",
        r.upload_s, r.small_syncs, r.p50_ms, r.p99_ms, r.receiving
    );
    Ok(r)
}

/// One month's upload on a fresh server: the small syncs' latencies (ms), those of the syncs
/// that brought the uploaded sessions down, and the upload's wall time (s).
async fn behind_one_upload(http: &reqwest::Client) -> anyhow::Result<(Vec<f64>, Vec<f64>, f64)> {
    let tmp = tempfile::tempdir()?;
    let (server, courses) = world(tmp.path(), 41, 2).await?;
    let mut big = WireDevice::login(http, &server.url(), "assistent0").await?;
    big.sync().await?;
    let mut small = WireDevice::login(http, &server.url(), "assistent1").await?;
    small.sync().await?;
    let (own, month) = courses.split_last().unwrap();
    for (i, course) in month.iter().enumerate() {
        for s in 0..12 {
            big.log_session(*course, 1_700_000_000_000 + (i * 100 + s) as Millis)?;
        }
    }
    let session = start_session(&mut small, *own, 1);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let uploader = {
        let done = done.clone();
        // On a thread of its own: building and absorbing a month's sync is CPU work, and on a
        // runtime worker it could hold up the small device's task in this process.
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            runtime.block_on(big.sync()).expect("the upload");
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            t.elapsed().as_secs_f64()
        })
    };
    let (mut latencies, mut receiving) = (Vec::new(), Vec::new());
    let mut at = 2;
    // Let the upload reach the server first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut session = session;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        if at % SETS_PER_SESSION == 0 {
            session = start_session(&mut small, *own, at);
        }
        log_one_set(&mut small, *own, &session, at);
        at += 1;
        let t = Instant::now();
        small.sync().await?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        if small.received > 0 {
            receiving.push(took);
        } else {
            latencies.push(took);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let upload_s = uploader.await?;
    Ok((latencies, receiving, upload_s))
}

struct Burst {
    devices: usize,
    docs_each: usize,
    stored_documents: usize,
    sign_in_s: f64,
    sign_in_errors: usize,
    sign_in_peak_mib: f64,
    changed: usize,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    server_rss_after_mib: f64,
    server_peak_mib: f64,
    /// CPU the server and the simulated devices (this process) spent over the burst.
    server_cpu_s: f64,
    devices_cpu_s: f64,
    /// CPU PostgreSQL's processes spent over the burst (0 on SQLite): they share the cores.
    database_cpu_s: f64,
    /// Answers of 503 (sent again after `Retry-After`).
    turned_away: usize,
    /// Syncs the server served again because a document moved under them.
    retries: u64,
    /// Answers (a document's changes for a device) the server built, and took from its cache.
    answers_built: u64,
    answers_reused: u64,
}

const ANSWERS_BUILT: &str = "homerehab_sync_answers_built_total";
const ANSWERS_REUSED: &str = "homerehab_sync_answers_reused_total";

/// The server's count of syncs served again because a document moved (`/metrics`).
async fn sync_retries(server: &Server) -> anyhow::Result<u64> {
    server_counter(server, "homerehab_sync_retries_total").await
}

/// A counter of the server's `/metrics`, 0 when not yet recorded.
async fn server_counter(server: &Server, name: &str) -> anyhow::Result<u64> {
    let text = reqwest::get(format!("{}/metrics", server.url()))
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map_or(Ok(0), |n| n.trim().parse::<f64>().map(|n| n as u64))?)
}

/// Writes `documents` documents of other teams (1,000 course documents and session logs per
/// 10 teams, as they are at genesis) straight into the server's database, then brings the
/// read model up to date so the server's projector is idle during what is measured.
fn store_other_teams(server: &Server, documents: usize) -> anyhow::Result<()> {
    use homerehab_sync_server::store::DocumentCommit;
    let store = server.store();
    // 100 documents a team, 10 teams a transaction.
    let (per_team, per_commit) = (100, 1_000);
    let t = Instant::now();
    for _ in 0..documents.div_ceil(per_commit) {
        let headers: Vec<docs::Header> = (0..per_commit / per_team)
            .flat_map(|_| {
                let team = TeamId::new();
                (0..per_team / 2).flat_map(move |_| {
                    let course = CourseId::new();
                    [
                        docs::Header::course(team, course),
                        docs::Header::session_log(team, course),
                    ]
                })
            })
            .collect();
        let geneses: Vec<_> = headers.iter().map(docs::genesis).collect();
        let batch: Vec<DocumentCommit<'_>> = headers
            .iter()
            .zip(&geneses)
            .map(|(header, doc)| DocumentCommit {
                header,
                base: &[],
                doc,
                new_changes: &[],
                whole: false,
            })
            .collect();
        store.commit_documents(&batch)?;
    }
    drop(store);
    let written = t.elapsed().as_secs_f64();
    let t = Instant::now();
    server.admin(&["reproject"]);
    println!(
        "{documents} documents of other teams written in {written:.1} s, the read model rebuilt in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Lets the server's peak resident memory (`VmHWM`) start again from now.
fn reset_peak(server: &Server) {
    let pid = server.pid().expect("running");
    // Writing 5 to clear_refs resets the peak RSS (Linux ≥ 4.0).
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak RSS");
}

/// Part 4: a server storing `stored` documents of other teams; `devices` devices of one team
/// (15 courses: 30 documents each) sign in at once and pull them (the server's peak memory),
/// then reconnect within one second, one in ten with a logged set (latency, errors, memory).
async fn burst(devices: usize, stored: usize) -> anyhow::Result<Burst> {
    let tmp = tempfile::tempdir()?;
    let (server, courses) = world(tmp.path(), 15, 1).await?;
    // Blocking (PostgreSQL's client runs its own runtime): off this task's worker.
    tokio::task::block_in_place(|| store_other_teams(&server, stored))?;
    // Every device at once: sign in (argon2, 503 + Retry-After when the password workers are
    // full), then the first sync. One HTTP client per device, as the tablets are.
    reset_peak(&server);
    let t = Instant::now();
    let url = server.url();
    let signing_in: Vec<_> = (0..devices)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::builder().build()?;
                let mut d = WireDevice::login(&http, &url, "assistent0").await?;
                d.sync().await?;
                anyhow::Ok(d)
            })
        })
        .collect();
    let mut fleet = Vec::new();
    let mut sign_in_errors = 0;
    for task in signing_in {
        match task.await? {
            Ok(d) => fleet.push(d),
            Err(e) => {
                sign_in_errors += 1;
                eprintln!("sign-in or first sync failed: {e:#}");
            }
        }
    }
    let sign_in_s = t.elapsed().as_secs_f64();
    if sign_in_errors > 0 {
        // The server's side of it (its log keeps no password, token or document content).
        for line in server.logged_errors().iter().take(5) {
            eprintln!("server: {line}");
        }
    }
    let sign_in_peak_mib = server_status_mib(&server, "VmHWM:");
    anyhow::ensure!(!fleet.is_empty(), "no device signed in");
    let docs_each = fleet[0].store.device.docs.len();
    println!(
        "{} devices signed in and pulled {docs_each} documents each in {sign_in_s:.1} s ({sign_in_errors} errors); server peak {sign_in_peak_mib:.0} MiB",
        fleet.len()
    );
    // Mostly unchanged: one device in ten logged a set since.
    let mut changed = 0;
    for (i, d) in fleet.iter_mut().enumerate().step_by(10) {
        let course = courses[i % courses.len()];
        let session = start_session(d, course, 1);
        log_one_set(d, course, &session, 2);
        changed += 1;
    }
    // Each device's request is built before the burst and its answer applied after it: a
    // tablet does that work on its own CPU, and here the 1,000 devices share the server's
    // two cores (applying the busy logs' new sets into 900 copies took 8 s of CPU there
    // when it ran inside the burst, so the latency measured was mostly the simulation's).
    let mut prepared = Vec::with_capacity(fleet.len());
    for mut d in fleet {
        let (round, body) = d.prepare(REQUEST_CHANGE_BYTES)?;
        prepared.push((d, round, body));
    }
    reset_peak(&server);
    // Said before the timed burst, so a profiler can start on it.
    println!("firing the burst");
    // CPU of the server and of this process (the 1,000 devices' HTTP clients) over the
    // burst: both share the machine's cores.
    let (server_cpu0, own_cpu0, db_cpu0) = (server.cpu_ms(), cpu_ms_of("self"), postgres_cpu_ms());
    let turned_away0 = TURNED_AWAY.load(std::sync::atomic::Ordering::Relaxed);
    let retries0 = sync_retries(&server).await?;
    let built0 = server_counter(&server, ANSWERS_BUILT).await?;
    let reused0 = server_counter(&server, ANSWERS_REUSED).await?;
    let start = Instant::now() + Duration::from_millis(200);
    let tasks: Vec<_> = prepared
        .iter_mut()
        .enumerate()
        .map(|(i, (d, _, body))| {
            let (line, body) = (d.line.clone(), std::mem::take(body));
            // Spread over one second, as a morning's reconnects within a second.
            let at = start + Duration::from_micros((i as u64 * 1_000_000) / devices as u64);
            tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                let t = Instant::now();
                let answer = line.send(body).await;
                (t.elapsed().as_secs_f64() * 1000.0, answer)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut answers = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (ms, answer) = task.await?;
        match answer {
            Ok(body) => {
                latencies.push(ms);
                answers.push(Some(body));
            }
            Err(e) => {
                errors += 1;
                eprintln!("burst sync failed: {e:#}");
                answers.push(None);
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let turned_away = TURNED_AWAY.load(std::sync::atomic::Ordering::Relaxed) - turned_away0;
    let burst_server_cpu_s = (server.cpu_ms() - server_cpu0) / 1000.0;
    let burst_devices_cpu_s = (cpu_ms_of("self") - own_cpu0) / 1000.0;
    let burst_database_cpu_s = (postgres_cpu_ms() - db_cpu0) / 1000.0;
    let retries = sync_retries(&server).await? - retries0;
    let answers_built = server_counter(&server, ANSWERS_BUILT).await? - built0;
    let answers_reused = server_counter(&server, ANSWERS_REUSED).await? - reused0;
    // Every answer applied, the rounds finished: what was answered was what the devices need.
    let mut later_trips = 0;
    for ((mut d, round, _), answer) in prepared.into_iter().zip(answers) {
        if let Some(body) = answer {
            later_trips += d.finish(round, &body).await?;
        }
    }
    if errors > 0 {
        for line in server.logged_errors().iter().take(5) {
            eprintln!("server: {line}");
        }
    }
    if later_trips > 0 {
        println!("the burst's rounds took {later_trips} more round trips after their first");
    }
    let r = Burst {
        server_cpu_s: burst_server_cpu_s,
        devices_cpu_s: burst_devices_cpu_s,
        database_cpu_s: burst_database_cpu_s,
        turned_away,
        retries,
        answers_built,
        answers_reused,
        devices,
        docs_each,
        stored_documents: stored,
        sign_in_s,
        sign_in_errors,
        sign_in_peak_mib,
        changed,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        errors,
        server_rss_after_mib: server_status_mib(&server, "VmRSS:"),
        server_peak_mib: server_status_mib(&server, "VmHWM:"),
    };
    println!(
        "reconnect burst: {devices} devices × {docs_each} documents within 1 s ({changed} with a new set): p50 {:.1} ms / p99 {:.1} ms, {errors} errors, {} turned away (503) and sent again, {} served again (a document moved); server RSS {:.0} MiB after, peak {:.0} MiB; CPU: server {:.2} s, PostgreSQL's own {:.2} s, the simulated devices {:.2} s; answers built {}, reused {}",
        r.p50_ms, r.p99_ms, r.turned_away, r.retries, r.server_rss_after_mib, r.server_peak_mib, r.server_cpu_s, r.database_cpu_s, r.devices_cpu_s, r.answers_built, r.answers_reused
    );
    Ok(r)
}

/// The last JSON line of each backend's run, as a table of figures and one JSON object
/// `{"sqlite": {…}, "postgresql": {…}}`.
fn side_by_side(sqlite: &str, postgresql: &str) -> anyhow::Result<()> {
    let last_json = |path: &str| -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
        let text = std::fs::read_to_string(path)?;
        let line = text
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .ok_or_else(|| anyhow::anyhow!("{path}: no JSON line"))?;
        match serde_json::from_str(line)? {
            serde_json::Value::Object(map) => Ok(map),
            _ => anyhow::bail!("{path}: not a JSON object"),
        }
    };
    let (a, b) = (last_json(sqlite)?, last_json(postgresql)?);
    let show = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::Number(n)) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap()),
        Some(v) => v.to_string(),
        None => "—".into(),
    };
    println!("{:<36} {:>14} {:>14}", "figure", "SQLite", "PostgreSQL");
    for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        println!(
            "{key:<36} {:>14} {:>14}",
            show(a.get(key)),
            show(b.get(key))
        );
    }
    println!("{}", serde_json::json!({ "sqlite": a, "postgresql": b }));
    Ok(())
}

/// Whether the servers of this run keep their data in PostgreSQL (`scripts/with-postgres
/// scripts/bench scale`; see the harness's `POSTGRES_ENV`).
fn server_on_postgres() -> bool {
    std::env::var(POSTGRES_ENV).is_ok_and(|url| !url.is_empty())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    // `bench-scale side-by-side SQLITE_OUT POSTGRESQL_OUT`: the two runs' last lines as one
    // table and one JSON line (`scripts/bench scale` runs both backends, then this).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, sqlite, postgresql] = args.as_slice() {
        anyhow::ensure!(
            mode == "side-by-side",
            "usage: bench-scale [side-by-side A B]"
        );
        return side_by_side(sqlite, postgresql);
    }
    // `HOMEREHAB_BENCH_QUICK=1`: a tenth of every load, to check the bench itself.
    let scale = if std::env::var_os("HOMEREHAB_BENCH_QUICK").is_some() {
        10
    } else {
        1
    };
    let http = reqwest::Client::new();
    // `HOMEREHAB_BENCH_PART=concurrent|behind|burst`: that part alone (to profile it).
    match std::env::var("HOMEREHAB_BENCH_PART").as_deref() {
        Ok("concurrent") => {
            concurrent(&http, 10, 50 / scale, 10 / scale as u64).await?;
            return concurrent(&http, 1, 50 / scale, 10 / scale as u64)
                .await
                .map(drop);
        }
        Ok("behind") => return behind_upload(&http).await.map(drop),
        Ok("burst") => return burst(1000 / scale, 100_000 / scale).await.map(drop),
        _ => {}
    }
    let small = median_upload(&http, 100 / scale).await?;
    let large = median_upload(&http, 300 / scale).await?;
    let ratio = large.server_cpu_s / small.server_cpu_s;
    println!("linearity: 300 courses cost {ratio:.2}× the server CPU of 100 (3.0 = linear)");
    if std::env::var_os("HOMEREHAB_BENCH_UPLOAD_ONLY").is_some() {
        // Part 1 alone (the split of a big upload, issue #13 item 5).
        let json = serde_json::json!({
            "upload_300_requests": large.requests,
            "upload_300_server_cpu_s": large.server_cpu_s,
            "upload_300_wall_s": large.wall_s,
            "upload_300_server_peak_mib": large.server_peak_mib,
            "upload_300_server_rss_mib": large.server_rss_mib,
        });
        println!("{json}");
        return Ok(());
    }
    let conc = concurrent(&http, 1, 50 / scale, 10 / scale as u64).await?;
    let teams = concurrent(&http, 10, 50 / scale, 10 / scale as u64).await?;
    let behind = behind_upload(&http).await?;
    let burst = burst(1000 / scale, 100_000 / scale).await?;
    let mut json = serde_json::json!({
        "backend": if server_on_postgres() { "postgresql" } else { "sqlite" },
        "upload_100_server_cpu_s": small.server_cpu_s,
        "upload_300_server_cpu_s": large.server_cpu_s,
        "upload_300_ms_per_course": large.server_cpu_s * 1000.0 / large.courses as f64,
        "upload_300_wall_s": large.wall_s,
        "upload_linearity_300_vs_100": ratio,
        "cold_pull_300_s": large.cold_pull_s,
        "cold_pull_300_server_cpu_s": large.cold_pull_cpu_s,
        "upload_300_server_rss_mib": large.server_rss_mib,
        "upload_300_server_peak_mib": large.server_peak_mib,
        "upload_300_requests": large.requests,
        "concurrent_clients": conc.clients,
        "changed_docs_per_s": conc.changed_docs_per_s,
        "server_cpu_ms_per_changed_doc": conc.server_cpu_ms_per_changed_doc,
        "concurrent_sync_p50_ms": conc.p50_ms,
        "concurrent_sync_p99_ms": conc.p99_ms,
        "concurrent_devices_cpu_s": conc.devices_cpu_s,
        "concurrent_devices_cpu_ms_per_changed_doc": conc.devices_cpu_ms_per_changed_doc(),
        "concurrent_held_apply_cpu_s": conc.held_apply_cpu_s,
        "teams_of_5_changed_docs_per_s": teams.changed_docs_per_s,
        "teams_of_5_server_cpu_ms_per_changed_doc": teams.server_cpu_ms_per_changed_doc,
        "teams_of_5_sync_p50_ms": teams.p50_ms,
        "teams_of_5_sync_p99_ms": teams.p99_ms,
        "teams_of_5_devices_cpu_s": teams.devices_cpu_s,
        "teams_of_5_devices_cpu_ms_per_changed_doc": teams.devices_cpu_ms_per_changed_doc(),
        "teams_of_5_held_apply_cpu_s": teams.held_apply_cpu_s,
        "small_sync_behind_upload_p50_ms": behind.p50_ms,
        "small_sync_behind_upload_p99_ms": behind.p99_ms,
        "month_upload_s": behind.upload_s,
        "burst_devices": burst.devices,
        "burst_docs_each": burst.docs_each,
        "burst_p50_ms": burst.p50_ms,
        "burst_p99_ms": burst.p99_ms,
        "burst_errors": burst.errors,
        "burst_turned_away": burst.turned_away,
        "burst_served_again": burst.retries,
        "burst_server_rss_after_mib": burst.server_rss_after_mib,
        "burst_server_peak_mib": burst.server_peak_mib,
        "burst_server_cpu_s": burst.server_cpu_s,
        "burst_devices_cpu_s": burst.devices_cpu_s,
        "burst_database_cpu_s": burst.database_cpu_s,
        "burst_answers_built": burst.answers_built,
        "burst_answers_reused": burst.answers_reused,
        "burst_changed_devices": burst.changed,
        "stored_documents": burst.stored_documents,
        "sign_in_burst_s": burst.sign_in_s,
        "sign_in_burst_errors": burst.sign_in_errors,
        "sign_in_burst_server_peak_mib": burst.sign_in_peak_mib,
    });
    // Beside the macro's list (its recursion limit).
    json["sync_bringing_the_month_max_ms"] = serde_json::json!(behind.receiving_max_ms);
    if server_on_postgres() {
        // The database's share of the server side, beside the sync server's own.
        for (key, value) in [
            ("upload_300_database_cpu_s", large.database_cpu_s),
            (
                "database_cpu_ms_per_changed_doc",
                conc.database_cpu_ms_per_changed_doc,
            ),
            (
                "teams_of_5_database_cpu_ms_per_changed_doc",
                teams.database_cpu_ms_per_changed_doc,
            ),
        ] {
            json[key] = serde_json::json!(value);
        }
    }
    println!("{json}");
    Ok(())
}
