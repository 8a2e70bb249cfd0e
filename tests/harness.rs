//! Harness for cross-crate scenarios and the sync benchmark: starts the real `sync-server`
//! binary on loopback with a temp data dir, creates teams and users through its CLI, and opens
//! device stores (real SQLite files) that sign in over HTTP.

use homerehab_core::client;
use homerehab_core::store::SharedStore;
use homerehab_core::store::{now_ms, Store};
use homerehab_shared::docs::ExerciseFeedback;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod seeds_cohort;
pub mod sign_ins;

pub const PASSWORD: &str = "korrekt-hest-batteri";
/// The PIN every test device chooses after its sign-in, so another process (the `homerehab`
/// CLI, given it as `HOMEREHAB_PIN`, or this one reopening the folder) opens its encrypted
/// store offline, as a person does after a restart.
pub const TEST_PIN: &str = "2468";

/// The launch key every test's `homerehab-app` is started with (`HOMEREHAB_LAUNCH_KEY`);
/// its API answers only requests that carry it ([`app_client`]).
pub const APP_LAUNCH_KEY: &str = "scenario-launch-key-0123456789abcdef";

/// An HTTP client for a `homerehab-app` started with [`APP_LAUNCH_KEY`]: every request carries
/// it, as a program (not a browser) sends it.
pub fn app_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-homerehab-key",
        reqwest::header::HeaderValue::from_static(APP_LAUNCH_KEY),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// The `homerehab` CLI on a device folder, with the test PIN.
pub fn device_cli(dir: &Path) -> Command {
    let mut c = Command::new(binary("homerehab"));
    c.arg("--data-dir")
        .arg(dir)
        .env("HOMEREHAB_PIN", TEST_PIN)
        .env("RUST_LOG", "warn");
    c
}

/// Opens a device folder's store as a restarted app does: an encrypted one with the test PIN.
pub fn open_store(dir: &Path) -> homerehab_core::error::Result<Store> {
    let mut store = Store::open(dir)?;
    if store.is_sealed() {
        store.unlock(TEST_PIN)?;
    }
    Ok(store)
}

/// The device store's data key in SQLCipher's `PRAGMA key` form, opened with the test PIN:
/// for tests that open the file themselves (another writer, a support export).
pub fn device_key(dir: &Path) -> String {
    let file = homerehab_core::keys::KeyFile::read(dir)
        .unwrap()
        .expect("an encrypted store");
    let key = file
        .open_with_pin(TEST_PIN)
        .unwrap()
        .expect("the test PIN opens it");
    key.sqlcipher_literal().to_string()
}

/// `homerehab` (the device CLI, with the test PIN) run on `dir` with `args`, quiet logs.
pub fn run_device_cli(dir: &Path, args: &[&str]) -> std::process::Output {
    device_cli(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run homerehab")
}

/// The standard output of a command that must have succeeded.
pub fn succeeded(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "the command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `dir` with its bytes (a database, its WAL, the key file, media…).
pub fn every_file(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(every_file(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// Whether `needle` occurs anywhere in `haystack`'s raw bytes.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The app as a person runs it in a browser: the `homerehab-app` process (the local API) on a
/// device folder, talking to `server_url`; killed when dropped.
pub struct AppProcess {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl AppProcess {
    /// The process id (what the folder lock names).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn start(dir: &Path, server_url: &str) -> AppProcess {
        let port = free_port();
        let child = Command::new(binary("homerehab-app"))
            .arg("--data-dir")
            .arg(dir)
            .arg("--server")
            .arg(server_url)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env("HOMEREHAB_LAUNCH_KEY", APP_LAUNCH_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start homerehab-app");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "homerehab-app did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        AppProcess {
            child,
            url: format!("http://127.0.0.1:{port}/api"),
            http: app_client(),
        }
    }

    /// `GET /api{path}`: the status and the JSON answer (null if it was not JSON).
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// `POST /api{path}` with a JSON body: the status and the JSON answer.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// The person unlocks the restarted app (its store is encrypted) with the test PIN.
    pub async fn unlock(&self) {
        let (status, body) = self
            .post("/unlock", serde_json::json!({ "pin": TEST_PIN }))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The folder holding the workspace's built binaries (next to this test or bench binary).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

pub fn binary(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is not built; run `cargo build --workspace --bins` first (scripts/test does)",
        p.display()
    );
    p
}

/// The real sync server, as a child process on a loopback port.
pub struct Server {
    pub data_dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
    /// Settings passed to `serve` (e.g. `--max-media-bytes`).
    serve_args: Vec<String>,
    /// The PostgreSQL database of its data dir when the scenarios run on PostgreSQL.
    postgres: Option<Arc<PostgresDatabase>>,
}

/// Set (by `scripts/with-postgres`) to a PostgreSQL server's URL: every data dir given to a
/// [`Server`] then has a fresh database of its own there, created when its first server starts
/// and dropped when its last is dropped (servers started on one data dir share it, as they
/// share the SQLite file otherwise), so every scenario runs unchanged against PostgreSQL.
pub const POSTGRES_ENV: &str = "HOMEREHAB_TEST_POSTGRES";

/// A database created for one test server on the PostgreSQL server of [`POSTGRES_ENV`].
struct PostgresDatabase {
    admin: String,
    name: String,
    url: String,
}

/// Runs SQL with `psql` (a plain process: no async runtime of its own to clash with the test's);
/// its unaligned, tuples-only output.
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .expect("run psql (scripts/with-postgres puts it on PATH)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl PostgresDatabase {
    /// The database of `data_dir`: the one its running servers use, else a new one.
    fn of(data_dir: &Path) -> Option<Arc<PostgresDatabase>> {
        use std::collections::HashMap;
        use std::sync::{OnceLock, Weak};
        static BY_DATA_DIR: OnceLock<Mutex<HashMap<PathBuf, Weak<PostgresDatabase>>>> =
            OnceLock::new();
        let mut by_dir = BY_DATA_DIR
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(db) = by_dir.get(data_dir).and_then(Weak::upgrade) {
            return Some(db);
        }
        let db = Arc::new(PostgresDatabase::create()?);
        by_dir.insert(data_dir.to_path_buf(), Arc::downgrade(&db));
        Some(db)
    }

    fn create() -> Option<PostgresDatabase> {
        let admin = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
        let name = format!("homerehab_scenario_{}", uuid::Uuid::new_v4().simple());
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let (server, _) = admin.rsplit_once('/').expect("a postgres://…/DATABASE URL");
        let url = format!("{server}/{name}");
        Some(PostgresDatabase { admin, name, url })
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &self.admin, "-c", &drop])
            .output();
    }
}

/// The server's database as a test reads or changes it beside the running server (the SQLite
/// file in WAL mode, or the PostgreSQL database through `psql`). Its SQL must read the same in
/// both dialects.
pub enum ServerDb {
    Sqlite(rusqlite::Connection),
    Postgres(String),
}

impl ServerDb {
    /// The one number a `SELECT COUNT(*)` or `SUM` answers (NULL as 0).
    pub fn count(&self, sql: &str) -> i64 {
        match self {
            ServerDb::Sqlite(db) => db
                .query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
                .unwrap()
                .unwrap_or(0),
            ServerDb::Postgres(url) => {
                let out = psql(url, sql);
                if out.is_empty() {
                    0
                } else {
                    out.parse().unwrap_or_else(|_| panic!("{sql} gave {out}"))
                }
            }
        }
    }

    pub fn execute(&self, sql: &str) {
        match self {
            ServerDb::Sqlite(db) => {
                db.execute_batch(sql).unwrap();
            }
            ServerDb::Postgres(url) => {
                psql(url, sql);
            }
        }
    }
}

/// A port nobody listens on, below the kernel's ephemeral range (32768 and up): a port that
/// `bind(0)` hands out is from that range, and an outgoing connection may take it before the
/// server binds it ("address already in use"). Each process walks its own stretch (from its
/// pid), and no port is handed out twice by one process.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let start = std::process::id().wrapping_mul(7_919) % SPAN;
    for _ in 0..SPAN {
        let port = FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let port = u16::try_from(port).expect("below 32000");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + SPAN);
}

impl Server {
    /// Creates the data dir's teams and users, then starts serving.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// Like [`Server::start`], with settings for `serve` (`["--max-media-bytes", "1000"]`).
    pub fn start_with(data_dir: &Path, serve_args: &[&str]) -> Server {
        let mut s = Server {
            data_dir: data_dir.to_path_buf(),
            port: free_port(),
            child: None,
            serve_args: serve_args.iter().map(|a| a.to_string()).collect(),
            postgres: PostgresDatabase::of(data_dir),
        };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET {path}` of this server with `token` as the bearer: the answer as it came.
    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", self.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `sync-server` with this server's data dir and database, for a command.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(binary("sync-server"));
        cmd.arg("--data-dir").arg(&self.data_dir);
        if let Some(db) = &self.postgres {
            cmd.arg("--database").arg(&db.url);
        }
        cmd
    }

    /// The server's log (its stdout: warnings and errors), appended to across restarts beside
    /// its data directory, so a failure under load can be read afterwards.
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.with_extension("log")
    }

    /// The log's lines that record an error.
    pub fn logged_errors(&self) -> Vec<String> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("ERROR"))
            .map(str::to_string)
            .collect()
    }

    fn log(&self) -> Stdio {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null())
    }

    /// Whether this server keeps its data in PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The server's own store, opened beside the running server (as an operator's command
    /// does): for benchmarks that fill the database faster than devices could.
    pub fn store(&self) -> Box<dyn homerehab_sync_server::store::Store> {
        use homerehab_sync_server::store::{PostgresStore, SqliteStore};
        match &self.postgres {
            Some(db) => Box::new(PostgresStore::open(&db.url, None).expect("open PostgreSQL")),
            None => Box::new(
                SqliteStore::open(&self.data_dir.join("homerehab.sqlite3")).expect("open SQLite"),
            ),
        }
    }

    /// The server's database, opened beside it.
    pub fn db(&self) -> ServerDb {
        match &self.postgres {
            Some(db) => ServerDb::Postgres(db.url.clone()),
            None => {
                let db = rusqlite::Connection::open(self.data_dir.join("homerehab.sqlite3"))
                    .expect("open the server's database");
                db.busy_timeout(Duration::from_secs(5)).unwrap();
                ServerDb::Sqlite(db)
            }
        }
    }

    pub fn admin(&self, args: &[&str]) {
        let out = self.command().args(args).output().expect("run sync-server");
        assert!(
            out.status.success(),
            "sync-server {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn create_team(&self, name: &str) {
        self.admin(&["create-team", "--name", name]);
    }

    pub fn create_user(&self, username: &str, role: &str, team: &str) {
        self.admin(&[
            "create-user",
            "--username",
            username,
            "--role",
            role,
            "--team",
            team,
            "--password",
            PASSWORD,
        ]);
    }

    /// Starts (again) on the same port and data dir; waits until /healthz answers.
    pub fn restart(&mut self) {
        let child = self
            .command()
            .arg("--bind")
            .arg(format!("127.0.0.1:{}", self.port))
            .args(&self.serve_args)
            .arg("serve")
            .env("RUST_LOG", "warn")
            .stdout(self.log())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sync-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("sync-server did not start listening");
    }

    /// SIGKILL: no shutdown, no flushing.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// The exit status if the server process has ended (`None` while it runs).
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits up to `timeout` for the server process to end by itself; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.try_exit_status() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// CPU time (user + system) the server process has used, in milliseconds.
    pub fn cpu_ms(&self) -> f64 {
        cpu_ms_of(&self.pid().expect("running").to_string())
    }
}

/// What `/proc/<pid>/stat` says of a process: its command name, its parent, its own CPU ticks
/// (user + system) and those of its children it waited for. `None` once it has ended.
struct ProcStat {
    comm: String,
    parent: u32,
    ticks: f64,
    ended_children_ticks: f64,
}

fn proc_stat(pid: &str) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some(ProcStat {
        comm: stat[open + 1..close].to_string(),
        parent: field(1)? as u32,
        ticks: field(11)? + field(12)?,
        ended_children_ticks: field(13)? + field(14)?,
    })
}

fn ticks_to_ms(ticks: f64) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks * 1000.0 / hz
}

/// CPU time (user + system) in ms of process `pid` ("self": this one), from `/proc`.
pub fn cpu_ms_of(pid: &str) -> f64 {
    ticks_to_ms(proc_stat(pid).expect("proc stat").ticks)
}

/// CPU time (user + system) in ms of this machine's PostgreSQL: every `postgres` process,
/// and the backends that already ended (their postmaster's waited-for children). 0 where none
/// runs. Benches add it to the server's where the server keeps its data there.
pub fn postgres_cpu_ms() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let procs: std::collections::HashMap<u32, ProcStat> = dir
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((pid, proc_stat(&pid.to_string())?)) // `None`: ended meanwhile
        })
        .collect();
    let is_postgres = |pid: &u32| procs.get(pid).is_some_and(|p| p.comm == "postgres");
    let ticks: f64 = procs
        .iter()
        .filter(|(pid, _)| is_postgres(pid))
        .map(|(_, p)| {
            // The postmaster is the one whose parent is not PostgreSQL.
            p.ticks
                + if is_postgres(&p.parent) {
                    0.0
                } else {
                    p.ended_children_ticks
                }
        })
        .sum();
    ticks_to_ms(ticks)
}

impl Drop for Server {
    fn drop(&mut self) {
        // Killed first: its database is dropped after (PostgresDatabase's Drop).
        self.kill();
    }
}

/// A device: its own SQLite store in its own folder.
pub struct Device {
    pub dir: PathBuf,
    pub store: SharedStore,
}

impl Device {
    /// Opens the device folder as a restarted app does: an encrypted store with the PIN.
    pub fn open(dir: &Path) -> Device {
        let store = open_store(dir).expect("open the store with the test PIN");
        Device {
            dir: dir.to_path_buf(),
            store: Arc::new(Mutex::new(store)),
        }
    }

    pub async fn login(dir: &Path, server: &Server, username: &str) -> Device {
        Device::login_at(dir, &server.url(), username).await
    }

    /// Signs in at a URL (a load balancer's, say).
    pub async fn login_at(dir: &Path, url: &str, username: &str) -> Device {
        let d = Device::open(dir);
        client::login(&d.store, url, username, PASSWORD)
            .await
            .expect("login");
        // As a person does right after signing in (and so later processes open it offline).
        d.store().set_pin(TEST_PIN).expect("choose the PIN");
        d
    }

    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap()
    }

    pub async fn sync(&self) -> homerehab_shared::sync::SyncReport {
        let (report, _) = client::sync_now(&self.store).await.expect("sync");
        assert!(report.rejected.is_empty(), "{report:?}");
        report
    }

    pub fn me(&self) -> homerehab_core::store::Identity {
        self.store().identity().unwrap().unwrap()
    }
}

/// A citizen for the roster (case reference made up).
pub fn citizen(name: &str) -> Citizen {
    Citizen {
        id: CitizenId::new(),
        name: name.into(),
        local_ref: "SAG-2026-0042".into(),
        address: None,
        assigned: Default::default(),
        active: true,
        birth_year: None,
        sex: None,
    }
}

pub fn program_line(exercise: &str, position: f64, sets: u32) -> ProgramExercise {
    ProgramExercise {
        instructions: Some("Hold fast i stolen ved behov".into()),
        ..ProgramExercise::new(exercise, position, Dosage::reps(sets, 10))
    }
}

/// A therapist creates a course with a 3-exercise program (8 sets each: a 24-set session).
pub fn create_course(therapist: &Device, citizen: CitizenId) -> CourseId {
    let me = therapist.me();
    let course = Course {
        goals: vec!["Kan gå på trapper igen".into()],
        status: CourseStatus::Active,
        ..Course::new(citizen, me.team_id, me.user_id, "2026-11-02", now_ms())
    };
    let program = [
        program_line("sit-to-stand", 1.0, 8),
        program_line("heel-raises-standing", 2.0, 8),
        program_line("tandem-stance", 3.0, 8),
    ];
    therapist
        .store()
        .create_course(&course, &program)
        .expect("create course");
    course.id
}

/// A program revision on `device`, made as the editor makes it on the latest revision the
/// device holds (the `based_on` the app's `save_program` records).
pub fn revise_program(
    device: &Device,
    course: CourseId,
    edits: &[homerehab_shared::docs::ProgramEdit],
    summary: &str,
) -> RevisionId {
    let mut store = device.store();
    let program = store.course_doc(course).expect("the course").program;
    let based_on = program.latest_revision().map(|r| r.id);
    store
        .edit_program(course, edits, summary, based_on)
        .expect("a program revision")
}

/// An assistant guides a whole session: every set of every exercise, feedback, finish.
pub fn log_session(tablet: &Device, course: CourseId) -> SessionId {
    log_session_noted(tablet, course, "Borger i godt humør")
}

/// [`log_session`], finished with the assistant's `note` on the visit.
pub fn log_session_noted(tablet: &Device, course: CourseId, note: &str) -> SessionId {
    let mut s = tablet.store();
    let lines: Vec<ProgramExercise> = s
        .course_doc(course)
        .unwrap()
        .program
        .ordered()
        .into_iter()
        .cloned()
        .collect();
    let session = s.start_session(course).unwrap();
    for line in &lines {
        for i in 0..line.dosage.sets {
            let set = SetLog {
                reps: Some(8 + i % 3),
                duration_s: None,
                load_kg: Some(2.0),
                at: now_ms(),
            };
            s.log_set(&LogSet {
                course,
                session: session.id,
                line: line.id,
                set: set.clone(),
            })
            .unwrap();
        }
        let fb = ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg: Some(5),
            pain: Some(2),
            note: None,
        };
        s.record_feedback(course, session.id, line.id, &fb).unwrap();
    }
    s.finish_session(&SessionClose {
        course,
        session: session.id,
        general_condition: Some(4),
        note: Some(note.into()),
    })
    .unwrap();
    session.id
}

/// The shipped exercise library from the checkout's `assets/`.
pub fn shipped_library() -> Arc<homerehab_shared::library::Library> {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    Arc::new(homerehab_core::library::load(&assets).expect("the shipped library loads"))
}

/// A municipality exercise as a therapist would add it (Danish text only), by `author`.
pub fn local_exercise(title: &str, author: UserId) -> homerehab_shared::municipal::LocalExercise {
    use homerehab_shared::municipal::{new_id, LocalExercise, LocalText};
    LocalExercise {
        id: new_id(title),
        version: 1,
        retired: false,
        category: "strength".into(),
        position: "sitting".into(),
        equipment: vec!["chair".into(), "towel".into()],
        body_areas: vec!["knee".into()],
        difficulty: 2,
        dosage: Dosage::reps(2, 10),
        text: [(
            "da".to_string(),
            LocalText {
                title: title.into(),
                summary: "Styrker låret med et sammenrullet håndklæde under knæet.".into(),
                steps: vec![
                    "Sid godt tilbage på stolen.".into(),
                    "Pres knæet ned i håndklædet og stræk benet.".into(),
                ],
                key_points: vec!["Rolige bevægelser.".into()],
                common_errors: vec![],
                safety: vec!["Stop ved smerter i knæet.".into()],
            },
        )]
        .into(),
        media: Default::default(),
        updated_by: author,
        updated_at: now_ms(),
    }
}

/// A `/proc/self/status` memory figure (`VmHWM:` peak, `VmRSS:` now) in MiB; 0 where there is
/// no `/proc`. For the benchmarks.
pub fn proc_status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// HAProxy (Debian's package) in front of sync servers, with the config shipped in
/// `docs/deploy/haproxy.cfg` (it takes the addresses from the environment).
pub struct Balancer {
    pub port: u16,
    child: Child,
}

impl Balancer {
    /// Starts HAProxy over `backends` (`127.0.0.1:PORT`, exactly three, as the config names).
    pub fn start(backends: &[String]) -> Balancer {
        assert_eq!(
            backends.len(),
            3,
            "docs/deploy/haproxy.cfg names three servers"
        );
        let haproxy = ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("haproxy is not installed: `apt-get install haproxy` (scripts/test does)");
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/deploy/haproxy.cfg");
        let port = free_port();
        let mut child = Command::new(haproxy)
            .arg("-f")
            .arg(&config)
            .arg("-db")
            .env("HOMEREHAB_LB_BIND", format!("127.0.0.1:{port}"))
            .env("HOMEREHAB_SYNC_1", &backends[0])
            .env("HOMEREHAB_SYNC_2", &backends[1])
            .env("HOMEREHAB_SYNC_3", &backends[2])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Balancer { port, child };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().ok();
        child.wait().ok();
        panic!("haproxy did not start listening");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
