//! `homerehab-desktop`: the Homerehab app in a Tauri v2 window. The wasm UI (`app/ui/dist`,
//! embedded at compile time) calls the app core through the Tauri commands in [`commands`],
//! which delegate to `homerehab_local_api::ops` — the same operations the browser reaches
//! over loopback HTTP. No network port is opened; the app core syncs in the background.

mod commands;
mod media;

use anyhow::Context;
use clap::Parser;
use homerehab_core::{client, library, store::Store};
use homerehab_local_api::ops::Core;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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
}

/// Opens the store and the library and starts the background sync: the app core, as
/// `homerehab-app` builds it.
fn core(cli: &Cli, data_dir: PathBuf) -> anyhow::Result<Core> {
    let assets = cli
        .assets_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(REPO).join("assets"));
    let library = library::load(&assets).context("loading the exercise library")?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let mut store = Store::open(&data_dir).context("opening the local store")?;
    // With a PIN set the app starts locked (the store's gate starts closed).
    store.set_idle_lock(cli.lock_after_minutes.saturating_mul(60_000) as i64);
    let store = Arc::new(Mutex::new(store));
    // Runs for the life of the process (on the runtime shared with Tauri).
    let _sync = client::spawn_background(store.clone(), Duration::from_secs(cli.sync_interval));
    Ok(Core::new(store, Arc::new(library), cli.server.clone()))
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
