//! The sync client: signs in, runs sync rounds over HTTP, and syncs in the background with
//! backoff while the server is reachable. The decisions are the shared sans-IO core's
//! ([`homerehab_shared::sync::ClientRound`]); this module only moves bytes.

use crate::error::{CoreError, Result};
use crate::store::{now_ms, Identity, SharedStore, Store};
use homerehab_shared::api;
use homerehab_shared::sync::wire::{self, Limits};
use homerehab_shared::sync::{ClientRound, SyncReport, SyncRequest, SyncResponse};
use std::time::Duration;

/// Lock scopes never span an `.await`.
fn lock(store: &SharedStore) -> std::sync::MutexGuard<'_, Store> {
    // A panic while holding the lock leaves SQLite consistent (transactions roll back).
    store.lock().unwrap_or_else(|p| p.into_inner())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a TLS backend is compiled in")
}

async fn refusal(resp: reqwest::Response) -> CoreError {
    let status = resp.status().as_u16();
    let message = resp
        .json::<api::ErrorBody>()
        .await
        .map(|b| b.message)
        .unwrap_or_else(|_| "no detail".into());
    CoreError::Server { status, message }
}

/// Signs in and registers this device's actor id; the identity is kept in the store so the
/// device works offline afterwards.
pub async fn login(
    store: &SharedStore,
    server_url: &str,
    username: &str,
    password: &str,
) -> Result<Identity> {
    let (actor, previous) = {
        let s = lock(store);
        (s.actor().clone(), s.identity()?)
    };
    // A different person on the same tablet gets a fresh actor, so their changes are theirs.
    // It is only kept once the server accepted the password and registered it.
    let actor = match &previous {
        Some(p) if p.username != username => automerge::ActorId::random(),
        _ => actor,
    };
    let url = format!("{}/v1/login", server_url.trim_end_matches('/'));
    let resp = http()
        .post(url)
        .json(&api::LoginRequest {
            username: username.into(),
            password: password.into(),
            actor_id: actor.to_hex_string(),
        })
        .send()
        .await
        .map_err(|e| CoreError::Offline(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(match refusal(resp).await {
            CoreError::Server {
                status: 401,
                message,
            } => CoreError::SignIn(message),
            CoreError::Server {
                status: 429,
                message,
            } => CoreError::SignInThrottled(message),
            CoreError::Server {
                status: 503,
                message,
            } => CoreError::SignInBusy(message),
            e => e,
        });
    }
    let body: api::LoginResponse = resp
        .json()
        .await
        .map_err(|e| CoreError::Protocol(e.to_string()))?;
    let identity = Identity {
        user_id: body.user.id,
        username: body.user.username,
        display_name: body.user.display_name,
        role: body.user.role,
        team_id: body.user.team_id,
        server_url: server_url.trim_end_matches('/').to_string(),
        token: body.token,
        expires_at: body.expires_at,
        municipality_id: body.user.municipality_id,
        granted_teams: body.user.granted_teams,
    };
    if previous.is_some_and(|p| p.user_id != identity.user_id) {
        // The previous user's unsent work goes to the server first, with their own token; what
        // cannot go (offline, expired, refused) is parked for them by `switch_user`.
        match sync_now(store).await {
            Ok(_) => tracing::info!("the previous user's work was synced before the handover"),
            Err(e) => {
                tracing::warn!(error = %e, "the previous user's work could not be synced; it is kept for them")
            }
        }
    }
    let mut s = lock(store);
    s.switch_user(&identity, actor)?;
    if let Some(team) = &body.team {
        s.set_team_info(team)?;
    }
    // Signed in online: the app is open and the person chooses a (new) PIN.
    s.signed_in()?;
    Ok(identity)
}

/// Fetches the signed-in user's team directory (`GET /v1/team`) into the store.
pub async fn refresh_team(store: &SharedStore) -> Result<()> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let resp = http()
        .get(format!("{}/v1/team", identity.server_url))
        .bearer_auth(&identity.token)
        .send()
        .await
        .map_err(|e| CoreError::Offline(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(refusal(resp).await);
    }
    let team: api::TeamInfo = resp
        .json()
        .await
        .map_err(|e| CoreError::Protocol(e.to_string()))?;
    lock(store).set_team_info(&team)
}

/// Bytes moved by one sync, for the benchmark and the status line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub bytes_up: usize,
    pub bytes_down: usize,
}

async fn exchange(
    identity: &Identity,
    req: &SyncRequest,
    traffic: &mut Traffic,
) -> Result<SyncResponse> {
    let body = wire::encode(req);
    traffic.bytes_up += body.len();
    let resp = http()
        .post(format!("{}/v1/sync", identity.server_url))
        .bearer_auth(&identity.token)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(body)
        .send()
        .await
        .map_err(|e| CoreError::Offline(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(refusal(resp).await);
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| CoreError::Offline(e.to_string()))?;
    traffic.bytes_down += bytes.len();
    wire::decode_response(&bytes, &Limits::default())
        .map_err(|e| CoreError::Protocol(e.to_string()))
}

/// Runs one sync now: at most two round trips, whatever the number of documents.
pub async fn sync_now(store: &SharedStore) -> Result<(SyncReport, Traffic)> {
    let result = sync_inner(store).await;
    if result.is_ok() {
        // Colleagues' names are a convenience: a failure here must not fail the sync.
        if let Err(e) = refresh_team(store).await {
            tracing::warn!(error = %e, "could not refresh the team directory");
        }
    }
    // Refusals are not connection errors: they are kept per document (`Store::refusals`) and
    // shown with their reasons; the sync itself succeeded.
    let outcome = match &result {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    lock(store).record_sync_outcome(outcome)?;
    result
}

async fn sync_inner(store: &SharedStore) -> Result<(SyncReport, Traffic)> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let mut traffic = Traffic::default();
    let (mut round, mut req) = ClientRound::begin(&mut *lock(store))?;
    loop {
        let resp = exchange(&identity, &req, &mut traffic).await?;
        match round.on_response(&mut *lock(store), resp)? {
            Some(next) => req = next,
            None => break,
        }
    }
    Ok((round.report(), traffic))
}

/// Syncs at once, then every `interval` and soon after a failure, backing off exponentially (capped) while
/// the server is unreachable. Stops when the returned handle is aborted.
pub fn spawn_background(store: SharedStore, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first attempt runs at once, so the status line tells the truth right after start
        // (an old "everything synced" must not stand while the device is offline).
        let mut delay = Duration::ZERO;
        loop {
            tokio::time::sleep(delay).await;
            delay = match sync_now(&store).await {
                Ok(_) => {
                    // Online: fetch the photos and videos the programs need while it lasts.
                    if let Err(e) = crate::media::prefetch(&store).await {
                        tracing::warn!(error = %e, "media prefetch failed");
                    }
                    interval
                }
                Err(e) if e.is_transient() => {
                    (delay * 2).clamp(Duration::from_secs(1), Duration::from_secs(300))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "background sync needs attention");
                    interval.max(Duration::from_secs(60))
                }
            };
            tracing::debug!(
                next_in_ms = delay.as_millis() as u64,
                at = now_ms(),
                "sync scheduled"
            );
        }
    })
}
