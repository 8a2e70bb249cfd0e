//! `homerehab-app`: the app in browser mode — the app core behind a loopback HTTP API, serving
//! the built UI. Open the printed address in a browser (it carries the app's launch key).

use anyhow::Context;
use clap::Parser;
use homerehab_app_service::{Core, Settings};
use homerehab_local_api::http;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The repository's folders, for running from a checkout.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[derive(Parser)]
#[command(
    name = "homerehab-app",
    about = "Homerehab in a browser: the app core over loopback HTTP, serving the UI"
)]
struct Cli {
    /// Folder of the device's local store.
    #[arg(long, env = "HOMEREHAB_DATA_DIR", default_value = "./homerehab-device")]
    data_dir: PathBuf,
    /// The sync server to sign in to.
    #[arg(
        long,
        env = "HOMEREHAB_SERVER",
        default_value = "http://127.0.0.1:8377"
    )]
    server: String,
    /// Loopback address to serve on.
    #[arg(long, env = "HOMEREHAB_BIND", default_value = "127.0.0.1:8378")]
    bind: SocketAddr,
    /// The built UI (trunk's output). Defaults to the checkout's `app/ui/dist`.
    #[arg(long, env = "HOMEREHAB_UI_DIR")]
    ui_dir: Option<PathBuf>,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    forbid_core_dumps();
    let cli = Cli::parse();
    // The API is for the page the app opens on this machine: never on a network.
    if !cli.bind.ip().is_loopback() {
        anyhow::bail!(
            "{} is not a loopback address: the app serves this machine only",
            cli.bind
        );
    }
    let assets = cli
        .assets_dir
        .unwrap_or_else(|| PathBuf::from(REPO).join("assets"));
    let ui = cli
        .ui_dir
        .unwrap_or_else(|| PathBuf::from(REPO).join("app/ui/dist"));
    if !ui.join("index.html").exists() {
        tracing::warn!(dir = %ui.display(), "no built UI there (run `trunk build` in app/ui); the API still works");
    }
    let core = Arc::new(Core::open(&Settings {
        data_dir: cli.data_dir,
        server_url: cli.server,
        assets_dir: assets.clone(),
        lock_after_minutes: cli.lock_after_minutes,
        media_budget_mb: cli.media_budget_mb,
        sync_interval: Duration::from_secs(cli.sync_interval),
    })?);
    let dirs = http::Dirs {
        ui,
        illustrations: assets.join("illustrations"),
    };
    let listener = tokio::net::TcpListener::bind(cli.bind)
        .await
        .with_context(|| format!("binding {}", cli.bind))?;
    // The launch key (at least 32 letters, digits, `-` or `_`), for a launcher that opens the
    // browser itself; by default a new random one at every start. From the environment only:
    // a command-line argument is shown to every user of the machine (`ps`).
    let given = std::env::var("HOMEREHAB_LAUNCH_KEY").ok();
    let key = match given.as_deref() {
        Some(given) => http::LaunchKey::given(given)
            .context("the launch key must be at least 32 letters, digits, '-' or '_'")?,
        None => http::LaunchKey::random(),
    };
    // The only place the key is shown: the address to open (never logged).
    println!(
        "homerehab-app: open http://{}/#key={}",
        listener.local_addr()?,
        key.as_str()
    );
    axum::serve(listener, http::app(core, &dirs, key))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// No core dump of this process: it would hold the data key and decrypted pages of the store,
/// written where the store's encryption does not reach (`/var/lib/systemd/coredump`).
fn forbid_core_dumps() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}
