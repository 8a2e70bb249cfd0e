//! The `sync-server` binary: parses the command line and runs one subcommand.

use anyhow::{bail, Context};
use clap::Parser;
use homerehab_shared::audit::AuditAction;
use homerehab_shared::ids::{DocumentId, UserId};
use homerehab_shared::model::Role;
use homerehab_sync_server::auth::Passwords;
use homerehab_sync_server::config::{Cli, Command, Config, ErasuresAction, QuarantineAction};
use homerehab_sync_server::erasure;
use homerehab_sync_server::http::{self, AppState};
use homerehab_sync_server::store::{now_ms, NewUser, QuarantineScope, Store};
use homerehab_sync_server::{projector, seed};
use std::io::BufRead;
use tracing_subscriber::EnvFilter;

/// Not `#[tokio::main]`: the commands other than `serve` use the store, which blocks (the
/// PostgreSQL client must not be called from an async task), so only `serve` gets a runtime.
fn main() -> anyhow::Result<()> {
    homerehab_sync_server::memory::bound_malloc_arenas();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let config = Config::resolve(&cli.settings)?;
    match cli.command {
        Command::Serve => {
            let runtime = tokio::runtime::Runtime::new()?;
            let served = runtime.block_on(serve(config));
            // Dropping a runtime waits for its blocking work without end (a query stuck on a
            // lock): past a few seconds more the process ends anyway. What was not committed
            // is rolled back by the database; its device sends it again.
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
            served
        }
        Command::Migrate => {
            open(&config)?;
            println!("{}: the schema is up to date", config.database.describe());
            Ok(())
        }
        Command::CreateTeam { name, municipality } => {
            let store = open(&config)?;
            let m = store.ensure_municipality(&municipality)?;
            let team = store.ensure_team(m, &name)?;
            println!("team '{name}' of {municipality}: {team}");
            Ok(())
        }
        Command::CreateUser {
            username,
            display_name,
            role,
            team,
            grants,
            password_stdin,
            password,
        } => {
            let store = open(&config)?;
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role '{role}': assistant, therapist, leader or admin")
            })?;
            let find = |t: &str| -> anyhow::Result<_> {
                store
                    .find_team(t)?
                    .with_context(|| format!("no team '{t}'; create it first"))
            };
            let team_id = find(&team)?;
            let granted_teams: Vec<_> = grants
                .iter()
                .map(|t| find(t))
                .collect::<anyhow::Result<_>>()?;
            // A grant opens another team's citizens to this user: only within the user's own
            // municipality, never across (a data controller's boundary).
            if !granted_teams.is_empty() {
                let municipality_of: std::collections::HashMap<_, _> = store
                    .teams()?
                    .into_iter()
                    .map(|t| (t.id, t.municipality))
                    .collect();
                let own = municipality_of.get(&team_id);
                for (name, granted) in grants.iter().zip(&granted_teams) {
                    if municipality_of.get(granted) != own {
                        bail!(
                            "team '{name}' belongs to another municipality than team '{team}'; \
                             a user may be granted only teams of their own municipality"
                        );
                    }
                }
            }
            let password = match (password_stdin, password) {
                (true, _) => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
                (false, Some(p)) => p.expose().to_string(),
                (false, None) => bail!("give --password-stdin or --password"),
            };
            if password.chars().count() < 8 {
                bail!("the password must have at least 8 characters");
            }
            let password_hash = Passwords::new(config.password_cost).hash(&password)?;
            let id = store.create_user(&NewUser {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username: username.clone(),
                password_hash,
                role,
                team_id,
                granted_teams,
            })?;
            println!("user '{username}' ({}): {id}", role.as_str());
            Ok(())
        }
        Command::Quarantine { action } => quarantine(&config, action),
        Command::Retention { dry_run, today } => {
            let today = match today {
                Some(day) => homerehab_shared::model::parse_date(&day)
                    .map_err(|e| anyhow::anyhow!("--today {day}: {}", e.problem))?,
                None => erasure::today(),
            };
            let store = open(&config)?;
            let ran = erasure::run_retention(store.as_ref(), today, dry_run)?;
            let verb = if dry_run { "would erase" } else { "erased" };
            for (municipality, name, due, _) in ran {
                println!(
                    "{name} ({municipality}), {}: {verb} {} courses, {} referrals, {} care grants, \
                     {} citizens",
                    due.today, due.courses, due.referrals, due.care_grants, due.citizens
                );
                for e in &due.erasures {
                    println!("  {}", serde_json::to_string(e)?);
                }
            }
            Ok(())
        }
        Command::Erasures { action } => {
            let store = open(&config)?;
            match action {
                ErasuresAction::Export => {
                    for entry in store.erasure_ledger()? {
                        println!("{}", serde_json::to_string(&entry)?);
                    }
                }
                ErasuresAction::Reapply { file } => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let ledger = text
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .enumerate()
                        .map(|(i, l)| {
                            serde_json::from_str(l)
                                .with_context(|| format!("{} line {}", file.display(), i + 1))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    let again = erasure::reapply(store.as_ref(), &ledger)?;
                    println!(
                        "erased again: {} of {} ledger entries",
                        again.len(),
                        ledger.len()
                    );
                    for entry in again {
                        println!("  {}", serde_json::to_string(&entry.erasure)?);
                    }
                }
            }
            Ok(())
        }
        Command::RecordTraining { usernames, on } => {
            homerehab_shared::model::parse_date(&on)
                .map_err(|e| anyhow::anyhow!("--on {on}: {}", e.problem))?;
            let store = open(&config)?;
            // Checked first, so a typo records nothing rather than half the group.
            for username in &usernames {
                if store.user_by_username(username)?.is_none() {
                    bail!("no user '{username}'; nobody was recorded");
                }
            }
            for username in &usernames {
                store.record_training(username, &on)?;
            }
            println!("{} trained on {on}", usernames.join(", "));
            Ok(())
        }
        Command::SignOutEverywhere { username } => {
            let store = open(&config)?;
            let Some(user) = store.user_by_username(&username)? else {
                bail!("no user '{username}'");
            };
            let ended = store.end_tokens_of(user.user.id)?;
            // By the operator: no user of the app did it.
            store.append_audit(&[homerehab_shared::audit::AuditRecord {
                target: Some(user.user.id.0),
                ..homerehab_shared::audit::AuditRecord::by_server(
                    AuditAction::SignedOutEverywhere,
                    now_ms(),
                )
            }])?;
            println!("{username}: {ended} sign-in(s) ended");
            Ok(())
        }
        Command::AuditVerify { kept } => {
            let kept = kept
                .map(|k| {
                    homerehab_sync_server::audit::parse_kept(&k)
                        .with_context(|| format!("--kept {k}: give SEQ:HASH as printed before"))
                })
                .transpose()?;
            let store = open(&config)?;
            let v = homerehab_sync_server::audit::verify(store.as_ref(), kept.as_ref())?;
            if let Some(broken) = &v.broken {
                println!(
                    "audit log BROKEN at entry {}: {broken}\n{} entries before it verify",
                    broken.seq(),
                    v.checked
                );
                std::process::exit(1);
            }
            if let Some(lost) = &v.kept_lost {
                println!("audit log BROKEN: {lost}");
                std::process::exit(1);
            }
            println!(
                "audit log intact: {} entries; head {}:{} (keep it outside the database; \
                 check against it with --kept)",
                v.checked, v.checked, v.head
            );
            Ok(())
        }
        Command::Reproject { check } => {
            let store = open(&config)?;
            if check {
                let c = store.check_read_model()?;
                println!(
                    "read model: {} documents compared, {} differ, {} waiting, {} set aside",
                    c.compared,
                    c.differing.len(),
                    c.pending,
                    c.failed
                );
                for id in &c.differing {
                    println!("  differs: {id}");
                }
                if !c.differing.is_empty() {
                    bail!("the read model differs from the documents; run `sync-server reproject`");
                }
            } else {
                let r = store.reproject()?;
                println!(
                    "read model rebuilt: {} documents projected, {} set aside",
                    r.projected, r.failed
                );
            }
            Ok(())
        }
        Command::SeedDemo {
            citizens_per_team,
            history_weeks,
            evidence,
        } => {
            let store = open(&config)?;
            let size = seed::SeedSize {
                citizens_per_team,
                history_weeks,
            };
            let passwords = Passwords::new(config.password_cost);
            let mut report = seed::seed_demo_sized(store.as_ref(), &passwords, now_ms(), size)?;
            if evidence {
                report.documents_created += homerehab_sync_server::seed_evidence::seed_evidence(
                    store.as_ref(),
                    &passwords,
                    now_ms(),
                )?;
            }
            println!(
                "{} in {}: {} documents created",
                seed::MUNICIPALITY,
                config.database.describe(),
                report.documents_created
            );
            println!("demo users (password for all: {}):", seed::DEMO_PASSWORD);
            for (username, name, role, team, created) in report.users {
                let note = if created { "" } else { " (existed)" };
                println!(
                    "  {username:<12} {:<10} {name:<22} {team}{note}",
                    role.as_str()
                );
            }
            Ok(())
        }
    }
}

/// `sync-server quarantine list|purge`: an admin's view of refused changes kept on the server.
fn quarantine(config: &Config, action: QuarantineAction) -> anyhow::Result<()> {
    let store = open(config)?;
    let scope_of = |s: &homerehab_sync_server::config::QuarantineScope| QuarantineScope {
        doc: s.doc.map(DocumentId),
        user: s.user.map(UserId),
    };
    match action {
        QuarantineAction::List { scope } => {
            let entries = store.quarantine_list(&scope_of(&scope))?;
            let total: u64 = entries.iter().map(|e| e.bytes).sum();
            for e in &entries {
                println!(
                    "{}\tdoc {}\tuser {}\t{} bytes\tat {}\t{}",
                    e.id, e.doc, e.user, e.bytes, e.at, e.reason
                );
            }
            println!("{} change sets, {total} bytes", entries.len());
        }
        QuarantineAction::Purge { scope, all } => {
            let scope = scope_of(&scope);
            if scope == QuarantineScope::default() && !all {
                bail!("say what to purge: --doc <id>, --user <id> or --all");
            }
            let n = store.quarantine_purge(&scope)?;
            println!("purged {n} change sets");
        }
    }
    Ok(())
}

fn open(config: &Config) -> anyhow::Result<Box<dyn Store>> {
    homerehab_sync_server::store::open(&config.database)
        .with_context(|| format!("opening {}", config.database.describe()))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db = config.database.describe();
    // Opening connects and migrates, which blocks: off the async threads.
    let opening = config.clone();
    let state = tokio::task::spawn_blocking(move || AppState::open(&opening))
        .await?
        .with_context(|| format!("opening {db}"))?;
    let listener = http::listen(config.bind).with_context(|| format!("binding {}", config.bind))?;
    tracing::info!(addr = %listener.local_addr()?, %db, "serving");
    let projector = tokio::spawn(projector::run(state.store.clone(), state.syncer.clone()));
    let retention = tokio::spawn(daily_retention(state.clone()));
    http::serve(listener, state, shutdown_signal()).await?;
    projector.abort();
    retention.abort();
    tracing::info!("stopped");
    Ok(())
}

/// The retention job once a day, the first an hour after start (issue #14). Servers sharing a
/// database may each run it: an erasure is one transaction, and a second run finds nothing due.
async fn daily_retention(state: AppState) {
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    let mut next = tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    loop {
        tokio::time::sleep_until(next).await;
        next += DAY;
        let store = state.store.clone();
        let syncer = state.syncer.clone();
        let ran = tokio::task::spawn_blocking(move || {
            let ran = erasure::run_retention(store.as_ref(), erasure::today(), false)?;
            for (_, _, _, done) in &ran {
                syncer.forget(&done.deleted);
                syncer.forget(&done.rewritten);
            }
            Ok::<_, homerehab_sync_server::error::Error>(ran)
        })
        .await;
        match ran {
            Ok(Ok(ran)) => {
                for (municipality, _, due, _) in ran {
                    tracing::info!(%municipality, courses = due.courses, referrals = due.referrals,
                        care_grants = due.care_grants, citizens = due.citizens, "retention job");
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "retention job failed"),
            Err(e) => tracing::error!(error = %e, "retention job failed"),
        }
    }
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
