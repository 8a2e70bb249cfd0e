//! `homerehab`: the app core from the command line, for scripting, tests and support.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use homerehab_core::client;
use homerehab_core::store::{self, now_ms, Store};
use homerehab_shared::docs::ExerciseFeedback;
use homerehab_shared::ids::CourseId;
use homerehab_shared::model::{ExerciseOutcome, LogSet, NotCarriedOutReason, SessionClose, SetLog};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Parser)]
#[command(name = "homerehab", about = "Homerehab app core: local store and sync")]
struct Cli {
    /// Folder of the device's local store.
    #[arg(long, env = "HOMEREHAB_DATA_DIR", default_value = "./homerehab-device")]
    data_dir: PathBuf,
    /// The PIN that opens an encrypted store offline (each command is a process of its own,
    /// and the key lives only in a process's memory). After `login` it becomes the PIN.
    /// Without it, a process can open an encrypted store only by signing in (`login`).
    #[arg(long, env = "HOMEREHAB_PIN", hide_env_values = true)]
    pin: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in (online) and register this device.
    Login {
        #[arg(
            long,
            env = "HOMEREHAB_SERVER",
            default_value = "http://127.0.0.1:8377"
        )]
        server: String,
        #[arg(long)]
        username: String,
        #[arg(long, env = "HOMEREHAB_PASSWORD")]
        password: String,
    },
    /// Sync now and print what happened.
    Sync,
    /// Last successful sync, documents waiting, last error, and a revocation if any.
    Status,
    /// Hand over what is unsynced, end the sign-in on the server and forget it here.
    SignOut,
    /// Courses on this device.
    Courses,
    /// Sessions logged for a course.
    Sessions {
        #[arg(long)]
        course: CourseId,
    },
    /// Guide a whole session: every program exercise, its sets, feedback, finish. Prints
    /// `confirmed <n>` after each set is durably stored.
    LogSession {
        #[arg(long)]
        course: CourseId,
        /// Sets per exercise (default: the program's dosage).
        #[arg(long)]
        sets: Option<u32>,
        /// The assistant's note on the visit, kept with the session.
        #[arg(long)]
        note: Option<String>,
    },
    /// Record that a planned session did not take place.
    NotCarriedOut {
        #[arg(long)]
        course: CourseId,
        #[arg(long, value_parser = ["ill", "declined", "not_at_home", "hospitalised", "other"])]
        reason: String,
    },
    /// Copy the whole local store (including changes kept aside as damaged) into a new file
    /// for support. Reads only; works beside a running app.
    ExportSupport {
        #[arg(long)]
        out: PathBuf,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::ExportSupport { out } = &cli.command {
        store::export_support(&cli.data_dir, out, cli.pin.as_deref())
            .context("exporting the local store")?;
        writeln!(std::io::stdout(), "exported to {}", out.display())?;
        return Ok(());
    }
    let mut store = Store::open(&cli.data_dir).context("opening the local store")?;
    let signs_in = matches!(cli.command, Command::Login { .. });
    if store.is_sealed() && !signs_in {
        let Some(pin) = &cli.pin else {
            bail!("the local store is encrypted: give its PIN (--pin or HOMEREHAB_PIN), or sign in with `login`");
        };
        store
            .unlock(pin)
            .context("opening the encrypted local store")?;
    }
    let store = Arc::new(Mutex::new(store));
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Login {
            server,
            username,
            password,
        } => {
            let me = client::login(&store, &server, &username, &password).await?;
            if let Some(pin) = &cli.pin {
                // So later processes open the store offline with it.
                store
                    .lock()
                    .expect("single-threaded")
                    .set_pin(pin)
                    .context("choosing the PIN")?;
            }
            writeln!(
                out,
                "signed in as {} ({})",
                me.display_name,
                me.role.as_str()
            )?;
        }
        Command::Sync => {
            let (report, traffic) = client::sync_now(&store).await?;
            writeln!(
                out,
                "{}",
                serde_json::json!({
                    "round_trips": report.round_trips, "offered": report.offered, "unchanged": report.unchanged,
                    "pushed": report.pushed, "received": report.received, "new_documents": report.new_documents,
                    "squashed": report.squashed,
                    "rejected": report.rejected.iter().map(|(d, r)| format!("{d}: {r}")).collect::<Vec<_>>(),
                    "forbidden": report.forbidden.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                    "bytes_up": traffic.bytes_up, "bytes_down": traffic.bytes_down,
                })
            )?;
        }
        Command::SignOut => {
            let ended = client::sign_out(&store).await?;
            writeln!(out, "signed out (ended on the server: {ended})")?;
        }
        Command::Status => {
            let store = store.lock().expect("single-threaded");
            let mut status = serde_json::to_value(store.sync_status()?)?;
            // A revoked device says so, by whom and why (its data was erased).
            status["revoked"] = serde_json::to_value(store.revocation())?;
            // Every refusal with its reason: the refused changes stay here (`unsent`).
            status["refused"] = store
                .refusals()?
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "doc": r.header.id.to_string(), "kind": r.header.kind.as_str(),
                        "refusal": r.refusal.kind(), "reason": r.refusal.detail(), "unsent": r.unsent,
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string(&status)?)?;
        }
        Command::Courses => {
            let rows = store.lock().expect("single-threaded").courses()?;
            writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        }
        Command::Sessions { course } => {
            let rows = store.lock().expect("single-threaded").sessions(course)?;
            writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        }
        Command::LogSession { course, sets, note } => {
            let mut s = store.lock().expect("single-threaded");
            let program = s.course_doc(course)?.program;
            let lines: Vec<_> = program.ordered().into_iter().cloned().collect();
            if lines.is_empty() {
                bail!("the course has no program yet");
            }
            let session = s.start_session(course)?;
            writeln!(out, "session {}", session.id)?;
            let mut n = 0;
            for line in &lines {
                for _ in 0..sets.unwrap_or(line.dosage.sets) {
                    let set = SetLog {
                        reps: line.dosage.reps,
                        duration_s: line.dosage.duration_s,
                        load_kg: None,
                        at: now_ms(),
                    };
                    s.log_set(&LogSet {
                        course,
                        session: session.id,
                        line: line.id,
                        set: set.clone(),
                    })?;
                    n += 1;
                    writeln!(out, "confirmed {n}")?;
                    out.flush()?;
                }
                let fb = ExerciseFeedback {
                    outcome: ExerciseOutcome::Done,
                    skip_reason: None,
                    borg: Some(4),
                    pain: Some(1),
                    note: None,
                };
                s.record_feedback(course, session.id, line.id, &fb)?;
            }
            s.finish_session(&SessionClose {
                course,
                session: session.id,
                general_condition: Some(4),
                note,
            })?;
            writeln!(out, "finished {n} sets")?;
        }
        Command::NotCarriedOut { course, reason } => {
            let reason: NotCarriedOutReason =
                serde_json::from_value(serde_json::Value::String(reason))?;
            let id = store
                .lock()
                .expect("single-threaded")
                .session_not_carried_out(course, reason, None)?;
            writeln!(out, "recorded {id}")?;
        }
        Command::ExportSupport { .. } => unreachable!("handled before the store is opened"),
    }
    Ok(())
}
