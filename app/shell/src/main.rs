//! `homerehab-desktop`: the Homerehab app in a Tauri v2 window. The wasm UI (`app/ui/dist`,
//! embedded at compile time) calls the app service through the one Tauri command in
//! [`commands`] — the same operations the browser reaches over loopback HTTP. No network port is opened; the app core syncs in the background.

mod commands;
mod media;

use anyhow::Context;
use clap::Parser;
use homerehab_app_service::{Core, Settings};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tauri::Manager;

/// The repository's folders, for running from a checkout.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[derive(Parser)]
#[command(
    name = "homerehab-desktop",
    about = "Homerehab: the tablet app in its own window (Tauri)"
)]
struct Cli {
    /// Folder of the device's local store. Default: the platform's data folder for the app
    /// (`~/.local/share/dk.homerehab.desktop` on Linux).
    #[arg(long, env = "HOMEREHAB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The sync server to sign in to.
    #[arg(
        long,
        env = "HOMEREHAB_SERVER",
        default_value = "http://127.0.0.1:8377"
    )]
    server: String,
    /// The exercise library. Defaults to the checkout's `assets`.
    #[arg(long, env = "HOMEREHAB_ASSETS_DIR")]
    assets_dir: Option<PathBuf>,
    /// Seconds between background syncs (sooner after a failure, with backoff).
    #[arg(long, default_value_t = 30)]
    sync_interval: u64,
    /// Minutes without use after which the app locks itself (0: never). Needs a PIN.
    #[arg(long, env = "HOMEREHAB_LOCK_AFTER_MINUTES", default_value_t = 10)]
    lock_after_minutes: u64,
    /// Room for the photos and videos of the programs' exercises, in MiB (most important
    /// first; what does not fit is not fetched).
    #[arg(long, env = "HOMEREHAB_MEDIA_BUDGET_MB", default_value_t = 2048)]
    media_budget_mb: u64,
}

/// The app service, as `homerehab-app` opens it (background sync on the runtime shared with
/// Tauri, for the life of the process).
fn core(cli: &Cli, data_dir: PathBuf) -> anyhow::Result<Core> {
    let assets_dir = cli
        .assets_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(REPO).join("assets"));
    Ok(Core::open(&Settings {
        data_dir,
        server_url: cli.server.clone(),
        assets_dir,
        lock_after_minutes: cli.lock_after_minutes,
        media_budget_mb: cli.media_budget_mb,
        sync_interval: Duration::from_secs(cli.sync_interval),
    })?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    // Tauri's async commands and the background sync share this runtime.
    tauri::async_runtime::set(tokio::runtime::Handle::current());
    tauri::Builder::default()
        .setup(move |app| {
            let data_dir = match &cli.data_dir {
                Some(dir) => dir.clone(),
                None => app.path().app_data_dir()?,
            };
            tracing::info!(data_dir = %data_dir.display(), server = %cli.server, "homerehab-desktop");
            match core(&cli, data_dir) {
                Ok(core) => app.manage(core),
                Err(e) => {
                    // Tauri turns a setup error into a panic that drops the cause (e.g. "this
                    // data folder is in use by another Homerehab process"): say it whole, stop.
                    tracing::error!("{e:#}");
                    eprintln!("homerehab-desktop: {e:#}");
                    std::process::exit(1);
                }
            };
            Ok(())
        })
        .invoke_handler(commands::handler())
        .register_asynchronous_uri_scheme_protocol(media::SCHEME, media::serve)
        .run(tauri::generate_context!())
        .context("running the Tauri app")
}
