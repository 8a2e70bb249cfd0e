//! Command line and configuration. Settings are layered: flags > `HOMEREHAB_*` environment
//! variables > the TOML file given by `--config` > defaults. See `config.example.toml`.

use crate::error::{Error, Result};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The example configuration, with every setting and its default.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

#[derive(Debug, Parser)]
#[command(name = "sync-server", version, about = "The Homerehab sync server")]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API until SIGTERM or ctrl-c (migrating the database first).
    Serve,
    /// Bring the database's schema up to date and exit (`serve` does it too; a schema newer
    /// than this server is refused by both).
    Migrate,
    /// Create a team (and its municipality if new).
    CreateTeam {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Thisted Kommune")]
        municipality: String,
    },
    /// Create a user.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        /// assistant, therapist, leader or admin.
        #[arg(long)]
        role: String,
        /// The user's own team, by name or id.
        #[arg(long)]
        team: String,
        /// Further teams the user may serve, by name or id (repeatable).
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// The password (visible in the process list; prefer --password-stdin).
        #[arg(long, env = "HOMEREHAB_NEW_USER_PASSWORD", hide_env_values = true)]
        password: Option<Secret>,
    },
    /// Fill the database with a demo municipality, teams, users and courses (idempotent).
    SeedDemo {
        /// Citizens (each with a course) per team; more than 10 repeats the names numbered.
        #[arg(long, default_value_t = 10)]
        citizens_per_team: usize,
        /// Weeks of logged history per course (default: 2–8 weeks, at most 12 sessions);
        /// `--history-weeks 52` gives every course a year of sessions, for benchmarks.
        #[arg(long)]
        history_weeks: Option<u32>,
        /// Also a year of referrals, completed courses with tests, WHO-5 and care time, staff
        /// training, targets and prices, and two more municipalities (the leaders' evidence).
        #[arg(long)]
        evidence: bool,
    },
    /// Record the date a user was trained in the app (the leaders' "trained vs. active").
    RecordTraining {
        /// Everyone trained that day (a course trains a group).
        #[arg(required = true)]
        usernames: Vec<String>,
        /// The training date, YYYY-MM-DD.
        #[arg(long)]
        on: String,
    },
    /// End every sign-in of a user (a lost tablet, a leaver): each of their devices must sign
    /// in again; their data stays. Leaders revoke a device from the app.
    SignOutEverywhere { username: String },
    /// Walk the audit log's hash chain: prints the entries checked and the head (`SEQ:HASH`),
    /// or the first broken link (entry number and what differs) and exits non-zero.
    AuditVerify {
        /// A head printed by an earlier run (`SEQ:HASH`): that entry must still be there with
        /// that hash, so entries cut off at the end are found too.
        #[arg(long)]
        kept: Option<String>,
    },
    /// Rebuild the read model (the evidence tables) from the documents.
    Reproject {
        /// Only compare the read model with the documents; exit non-zero if they differ.
        #[arg(long)]
        check: bool,
    },
    /// See and purge refused changes kept in quarantine.
    Quarantine {
        #[command(subcommand)]
        action: QuarantineAction,
    },
    /// The retention job (issue #14): erase what is past each municipality's retention and
    /// print it (counts and ids, no names). `serve` runs it once a day.
    Retention {
        /// Only print what would be erased.
        #[arg(long)]
        dry_run: bool,
        /// Judge as of this day (YYYY-MM-DD) instead of today.
        #[arg(long)]
        today: Option<String>,
    },
    /// The erasure ledger (ids and times only): export it, or erase again after a restore.
    Erasures {
        #[command(subcommand)]
        action: ErasuresAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ErasuresAction {
    /// Print the ledger as JSON lines, oldest first. Keep the output apart from the
    /// database's backups: it is what makes a restored backup forget again.
    Export,
    /// Erase again what an exported ledger lists and the database (restored from a backup)
    /// holds again; prints what it erased.
    Reapply { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineAction {
    /// List what is kept (newest first): id, document, user, bytes, time, reason.
    List {
        #[command(flatten)]
        scope: QuarantineScope,
    },
    /// Delete kept change sets: of one document, of one user, or all.
    Purge {
        #[command(flatten)]
        scope: QuarantineScope,
        /// Everything in quarantine.
        #[arg(long, conflicts_with_all = ["doc", "user"])]
        all: bool,
    },
}

/// Which quarantined change sets a command applies to (none given: all, for `list`).
#[derive(Debug, Clone, Args)]
pub struct QuarantineScope {
    /// Only this document (its id).
    #[arg(long)]
    pub doc: Option<uuid::Uuid>,
    /// Only this user (their id).
    #[arg(long)]
    pub user: Option<uuid::Uuid>,
}

/// Settings as given on the command line, in the environment or in the file; unset fields
/// fall through to the next layer. The same struct parses flags and TOML.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// TOML configuration file.
    #[arg(long, global = true, env = "HOMEREHAB_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Directory of the media files and, unless `--database` says otherwise, the SQLite
    /// database (homerehab.sqlite3) [default: ./data].
    #[arg(long, global = true, env = "HOMEREHAB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The database: a `postgres://` or `postgresql://` URL for PostgreSQL (several servers
    /// may share it), or the path of a SQLite file [default: DATA_DIR/homerehab.sqlite3].
    #[arg(
        long,
        global = true,
        env = "HOMEREHAB_DATABASE",
        hide_env_values = true
    )]
    pub database: Option<Secret>,
    /// The CA certificate(s) (PEM) that signed the PostgreSQL server's certificate, for a
    /// URL with `sslmode=require` [default: the public web roots].
    #[arg(long, global = true, env = "HOMEREHAB_DATABASE_CA")]
    pub database_ca: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8377].
    #[arg(long, global = true, env = "HOMEREHAB_BIND")]
    pub bind: Option<SocketAddr>,
    /// Lifetime of a login token in seconds [default: 43200, 12 h].
    #[arg(long, global = true, env = "HOMEREHAB_TOKEN_TTL_SECS")]
    pub token_ttl_secs: Option<u64>,
    /// Largest accepted request body in bytes, compressed [default: 16 MiB].
    #[arg(long, global = true, env = "HOMEREHAB_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest sync request once decompressed, in bytes [default: 64 MiB].
    #[arg(long, global = true, env = "HOMEREHAB_MAX_DECOMPRESSED_BYTES")]
    pub max_decompressed_bytes: Option<usize>,
    /// Memory for loaded documents kept between syncs, in MiB (estimated from their stored
    /// size) [default: 64].
    #[arg(long, global = true, env = "HOMEREHAB_CACHE_MIB")]
    pub cache_mib: Option<usize>,
    /// Largest photo or video accepted by `PUT /v1/media`, in bytes [default: 256 MiB].
    #[arg(long, global = true, env = "HOMEREHAB_MAX_MEDIA_BYTES")]
    pub max_media_bytes: Option<u64>,
    /// Photos and videos one municipality may hold on the server, in bytes, all uploads
    /// together [default: 20 GiB].
    #[arg(long, global = true, env = "HOMEREHAB_MEDIA_QUOTA_BYTES")]
    pub media_quota_bytes: Option<u64>,
    /// Threads hashing passwords for sign-ins, each with its own argon2 memory (19 MiB)
    /// [default: the number of cores].
    #[arg(long, global = true, env = "HOMEREHAB_PASSWORD_WORKERS")]
    pub password_workers: Option<usize>,
    /// Refused changes kept in quarantine per user, in bytes [default: 16 MiB].
    #[arg(long, global = true, env = "HOMEREHAB_QUARANTINE_USER_BYTES")]
    pub quarantine_user_bytes: Option<u64>,
    /// Refused change sets kept in quarantine per user [default: 100].
    #[arg(long, global = true, env = "HOMEREHAB_QUARANTINE_USER_ENTRIES")]
    pub quarantine_user_entries: Option<u64>,
    /// Refused changes kept in quarantine per document, in bytes [default: 32 MiB].
    #[arg(long, global = true, env = "HOMEREHAB_QUARANTINE_DOC_BYTES")]
    pub quarantine_doc_bytes: Option<u64>,
    /// Refused change sets kept in quarantine per document [default: 200].
    #[arg(long, global = true, env = "HOMEREHAB_QUARANTINE_DOC_ENTRIES")]
    pub quarantine_doc_entries: Option<u64>,
    /// The fewest citizens a benchmark figure of a municipality may rest on; fewer and it is
    /// suppressed [default: 10].
    #[arg(long, global = true, env = "HOMEREHAB_MIN_CITIZENS")]
    pub min_citizens: Option<u32>,
    /// Seconds a connection may keep the server waiting: for a request's headers (an idle
    /// kept-alive connection too) and between two pieces of a request's body [default: 30].
    #[arg(long, global = true, env = "HOMEREHAB_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Seconds a stopping server gives the requests in flight before it exits anyway
    /// [default: 30].
    #[arg(long, global = true, env = "HOMEREHAB_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
}

impl Settings {
    /// Fields set here win over `lower`.
    fn over(self, lower: Settings) -> Settings {
        Settings {
            config: self.config.or(lower.config),
            data_dir: self.data_dir.or(lower.data_dir),
            database: self.database.or(lower.database),
            database_ca: self.database_ca.or(lower.database_ca),
            bind: self.bind.or(lower.bind),
            token_ttl_secs: self.token_ttl_secs.or(lower.token_ttl_secs),
            max_body_bytes: self.max_body_bytes.or(lower.max_body_bytes),
            max_decompressed_bytes: self.max_decompressed_bytes.or(lower.max_decompressed_bytes),
            cache_mib: self.cache_mib.or(lower.cache_mib),
            max_media_bytes: self.max_media_bytes.or(lower.max_media_bytes),
            media_quota_bytes: self.media_quota_bytes.or(lower.media_quota_bytes),
            password_workers: self.password_workers.or(lower.password_workers),
            quarantine_user_bytes: self.quarantine_user_bytes.or(lower.quarantine_user_bytes),
            quarantine_user_entries: self
                .quarantine_user_entries
                .or(lower.quarantine_user_entries),
            quarantine_doc_bytes: self.quarantine_doc_bytes.or(lower.quarantine_doc_bytes),
            quarantine_doc_entries: self.quarantine_doc_entries.or(lower.quarantine_doc_entries),
            min_citizens: self.min_citizens.or(lower.min_citizens),
            idle_timeout_secs: self.idle_timeout_secs.or(lower.idle_timeout_secs),
            shutdown_grace_secs: self.shutdown_grace_secs.or(lower.shutdown_grace_secs),
        }
    }

    pub fn from_toml(text: &str) -> Result<Settings> {
        toml::from_str(text).map_err(|e| Error::Config(e.to_string()))
    }
}

/// Where the server keeps its data, chosen by the `database` setting.
#[derive(Clone, Debug)]
pub enum Database {
    /// One SQLite file (the default: nothing to install).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (a secret, as it may carry a password) and the CA that signed the
    /// database's certificate, for `sslmode=require`.
    Postgres { url: Secret, ca: Option<PathBuf> },
}

impl Database {
    /// For logs and messages: the file, or only that it is PostgreSQL (the URL may carry a
    /// password).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres { .. } => "the PostgreSQL database".to_string(),
        }
    }
}

/// Whether a database setting names PostgreSQL rather than a SQLite file.
pub fn is_postgres_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database: Database,
    pub bind: SocketAddr,
    pub token_ttl: Duration,
    pub max_body_bytes: usize,
    pub max_decompressed_bytes: usize,
    /// Memory budget of the document cache, in bytes.
    pub cache_bytes: usize,
    pub max_media_bytes: u64,
    /// What one municipality's photos and videos may take on the server in all: a user with
    /// the library right cannot fill the disk every municipality shares.
    pub media_quota_bytes: u64,
    /// How much refused changes the server keeps (see [`QuarantineLimits`]).
    pub quarantine: QuarantineLimits,
    /// Small-number suppression of the benchmark across municipalities.
    pub suppression: homerehab_shared::evidence::suppression::Suppression,
    /// argon2 cost for new password hashes; verification reads the cost from each hash.
    pub password_cost: PasswordCost,
    /// Sign-ins hashed at once; each worker keeps one argon2 memory.
    pub password_workers: usize,
    /// How long a connection may keep the server waiting for headers or the next piece of a
    /// body: a client that sends a byte now and then holds no connection for ever.
    pub idle_timeout: Duration,
    /// How long a stopping server waits for requests in flight.
    pub shutdown_grace: Duration,
}

/// Bounds on the quarantine, so refused changes cannot fill the disk: past any of them a
/// refusal is answered but not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuarantineLimits {
    pub user_bytes: u64,
    pub user_entries: u64,
    pub doc_bytes: u64,
    pub doc_entries: u64,
}

impl Default for QuarantineLimits {
    fn default() -> Self {
        QuarantineLimits {
            user_bytes: 16 << 20,
            user_entries: 100,
            doc_bytes: 32 << 20,
            doc_entries: 200,
        }
    }
}

/// How expensive new password hashes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCost {
    /// argon2id with the OWASP-recommended parameters (19 MiB, 2 passes).
    Standard,
    /// Cheap hashes, for tests only.
    Insecure,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            database: Database::Sqlite(PathBuf::from("./data/homerehab.sqlite3")),
            bind: SocketAddr::from(([127, 0, 0, 1], 8377)),
            token_ttl: Duration::from_secs(12 * 3600),
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            cache_bytes: 64 << 20,
            max_media_bytes: 256 << 20,
            media_quota_bytes: 20 << 30,
            quarantine: QuarantineLimits::default(),
            suppression: Default::default(),
            password_cost: PasswordCost::Standard,
            password_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// Resolves flags and environment (already merged by clap) over the file over defaults.
    pub fn resolve(args: &Settings) -> Result<Config> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
                Settings::from_toml(&text)?
            }
            None => Settings::default(),
        };
        let s = args.clone().over(file);
        let d = Config::default();
        let data_dir = s.data_dir.unwrap_or(d.data_dir);
        let database = match s.database {
            Some(url) if is_postgres_url(url.expose()) => Database::Postgres {
                url,
                ca: s.database_ca.clone(),
            },
            Some(path) if !path.expose().is_empty() => Database::Sqlite(path.expose().into()),
            _ => Database::Sqlite(data_dir.join("homerehab.sqlite3")),
        };
        let config = Config {
            data_dir,
            database,
            bind: s.bind.unwrap_or(d.bind),
            token_ttl: s
                .token_ttl_secs
                .map(Duration::from_secs)
                .unwrap_or(d.token_ttl),
            max_body_bytes: s.max_body_bytes.unwrap_or(d.max_body_bytes),
            max_decompressed_bytes: s.max_decompressed_bytes.unwrap_or(d.max_decompressed_bytes),
            cache_bytes: s.cache_mib.map_or(d.cache_bytes, |m| m << 20),
            max_media_bytes: s.max_media_bytes.unwrap_or(d.max_media_bytes),
            media_quota_bytes: s.media_quota_bytes.unwrap_or(d.media_quota_bytes),
            quarantine: QuarantineLimits {
                user_bytes: s.quarantine_user_bytes.unwrap_or(d.quarantine.user_bytes),
                user_entries: s
                    .quarantine_user_entries
                    .unwrap_or(d.quarantine.user_entries),
                doc_bytes: s.quarantine_doc_bytes.unwrap_or(d.quarantine.doc_bytes),
                doc_entries: s.quarantine_doc_entries.unwrap_or(d.quarantine.doc_entries),
            },
            suppression: homerehab_shared::evidence::suppression::Suppression {
                min_citizens: s.min_citizens.unwrap_or(d.suppression.min_citizens),
            },
            password_cost: d.password_cost,
            password_workers: s.password_workers.unwrap_or(d.password_workers),
            idle_timeout: s
                .idle_timeout_secs
                .map_or(d.idle_timeout, Duration::from_secs),
            shutdown_grace: s
                .shutdown_grace_secs
                .map_or(d.shutdown_grace, Duration::from_secs),
        };
        if config.suppression.min_citizens == 0 {
            return Err(Error::Config("min_citizens must be at least 1".into()));
        }
        if s.database_ca.is_some() && matches!(config.database, Database::Sqlite(_)) {
            return Err(Error::Config(
                "database_ca is for a PostgreSQL database; the database is a SQLite file".into(),
            ));
        }
        if config.cache_bytes == 0 {
            return Err(Error::Config("cache_mib must be at least 1".into()));
        }
        // Hyper adds it to the clock: past a day it is no limit, and near u64::MAX an overflow.
        if config.idle_timeout.is_zero() || config.idle_timeout > Duration::from_secs(86_400) {
            return Err(Error::Config("idle_timeout_secs must be 1 to 86400".into()));
        }
        if config.shutdown_grace > Duration::from_secs(86_400) {
            return Err(Error::Config(
                "shutdown_grace_secs must be at most 86400".into(),
            ));
        }
        if config.password_workers == 0 {
            return Err(Error::Config("password_workers must be at least 1".into()));
        }
        Ok(config)
    }

    /// Photos and videos, one file per SHA-256 (see [`crate::media`]).
    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    /// A configuration for tests: data in `dir`, cheap password hashes.
    pub fn for_tests(dir: &Path) -> Config {
        Config {
            data_dir: dir.to_path_buf(),
            database: Database::Sqlite(dir.join("homerehab.sqlite3")),
            password_cost: PasswordCost::Insecure,
            ..Config::default()
        }
    }
}

/// A password or token: printed as `[redacted]` by `Debug`.
#[derive(Clone, Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_says_the_defaults() {
        let s = Settings::from_toml(EXAMPLE).unwrap();
        let c = Config::resolve(&s.clone().over(Settings::default())).unwrap();
        let d = Config::default();
        assert_eq!(
            (
                c.data_dir,
                c.bind,
                c.token_ttl,
                c.max_body_bytes,
                c.cache_bytes,
                c.max_media_bytes,
                c.media_quota_bytes,
                c.quarantine,
                c.idle_timeout,
                c.shutdown_grace
            ),
            (
                d.data_dir,
                d.bind,
                d.token_ttl,
                d.max_body_bytes,
                d.cache_bytes,
                d.max_media_bytes,
                d.media_quota_bytes,
                d.quarantine,
                d.idle_timeout,
                d.shutdown_grace
            )
        );
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "bind = \"0.0.0.0:9000\"\ncache_mib = 7\n").unwrap();
        let cli = Cli::try_parse_from([
            "sync-server",
            "--config",
            path.to_str().unwrap(),
            "--cache-mib",
            "9",
            "serve",
        ])
        .unwrap();
        let c = Config::resolve(&cli.settings).unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.cache_bytes, 9 << 20);
        assert_eq!(c.token_ttl, Duration::from_secs(43200));
    }

    #[test]
    fn a_database_ca_goes_with_postgresql_only() {
        let s = Settings::from_toml(
            "database = \"postgres://h@db.example/h?sslmode=require\"\ndatabase_ca = \"/etc/ca.pem\"",
        )
        .unwrap();
        let c = Config::resolve(&s).unwrap();
        assert!(
            matches!(&c.database, Database::Postgres { ca: Some(p), .. } if p == Path::new("/etc/ca.pem"))
        );
        let s = Settings::from_toml("database_ca = \"/etc/ca.pem\"").unwrap();
        assert!(Config::resolve(&s).is_err());
    }

    #[test]
    fn an_idle_timeout_of_zero_or_past_a_day_is_refused() {
        for bad in [
            "idle_timeout_secs = 0",
            "idle_timeout_secs = 9223372036854775807",
        ] {
            let s = Settings::from_toml(bad).unwrap();
            assert!(Config::resolve(&s).is_err(), "{bad}");
        }
        let s = Settings::from_toml("idle_timeout_secs = 5\nshutdown_grace_secs = 0").unwrap();
        let c = Config::resolve(&s).unwrap();
        assert_eq!(
            (c.idle_timeout, c.shutdown_grace),
            (Duration::from_secs(5), Duration::ZERO)
        );
    }

    #[test]
    fn password_workers_default_to_the_cores_and_zero_is_refused() {
        let cores = std::thread::available_parallelism().unwrap().get();
        let c = Config::resolve(&Settings::default()).unwrap();
        assert_eq!(c.password_workers, cores);
        let s = Settings::from_toml("password_workers = 3").unwrap();
        assert_eq!(Config::resolve(&s).unwrap().password_workers, 3);
        let s = Settings::from_toml("password_workers = 0").unwrap();
        assert!(Config::resolve(&s).is_err());
    }

    #[test]
    fn the_database_is_postgresql_by_its_url_and_sqlite_otherwise() {
        let dir = Settings {
            data_dir: Some("/srv/h".into()),
            ..Settings::default()
        };
        let c = Config::resolve(&dir).unwrap();
        assert!(
            matches!(&c.database, Database::Sqlite(p) if p == Path::new("/srv/h/homerehab.sqlite3"))
        );
        for url in ["postgres://u:pw@db/h", "postgresql://db/h"] {
            let s = Settings::from_toml(&format!("database = \"{url}\"")).unwrap();
            let c = Config::resolve(&s).unwrap();
            assert!(matches!(&c.database, Database::Postgres { url: u, .. } if u.expose() == url));
            assert!(
                !format!("{c:?}").contains("pw"),
                "the password is not printed"
            );
        }
        let s = Settings::from_toml("database = \"/var/lib/h.sqlite3\"").unwrap();
        let c = Config::resolve(&s).unwrap();
        assert!(matches!(&c.database, Database::Sqlite(p) if p == Path::new("/var/lib/h.sqlite3")));
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        assert!(Settings::from_toml("bnid = \"x\"").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "[redacted]");
    }
}
