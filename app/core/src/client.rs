//! The sync client: signs in, runs sync rounds over HTTP, and syncs in the background with
//! backoff while the server is reachable. The decisions are the shared sans-IO core's
//! ([`homerehab_shared::sync::ClientRound`]); this module only moves bytes.

use crate::error::{CoreError, Result};
use crate::keys::ServerSecret;
use crate::store::{now_ms, Identity, SharedStore, Store};
use homerehab_shared::api;
use homerehab_shared::device_registry::{self, HandOverSync, RevokedAnswer};
use homerehab_shared::evidence::report::{EvidenceReport, EvidenceSettings, Named};
use homerehab_shared::model::Millis;
use homerehab_shared::sync::wire::{self, Limits};
use homerehab_shared::sync::{
    ClientRound, SyncReport, SyncRequest, SyncResponse, REQUEST_CHANGE_BYTES,
};
use std::time::Duration;

/// Lock scopes never span an `.await`.
fn lock(store: &SharedStore) -> std::sync::MutexGuard<'_, Store> {
    // A panic while holding the lock leaves SQLite consistent (transactions roll back).
    store.lock().unwrap_or_else(|p| p.into_inner())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        // The server closes a connection idle for 30 s (its `idle_timeout_secs`); one reused
        // just as it closes fails the request, so the device lets go of it first.
        .pool_idle_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a TLS backend is compiled in")
}

/// How long one sync request may take in all: the server's work and its answer, plus the
/// upload at a slow mobile line's pace (128 kbit/s), so a full request over a poor line is
/// not cut off at the same point every time. Silence longer than a minute still fails it.
fn sync_request_time(body_bytes: usize) -> Duration {
    const SLOW_LINE_BYTES_PER_S: u64 = 16 * 1024;
    Duration::from_secs(120 + body_bytes as u64 / SLOW_LINE_BYTES_PER_S)
}

/// The server's refusal of a request. A revoked device's refusal carries the notice.
async fn refusal(resp: reqwest::Response) -> CoreError {
    let status = resp.status().as_u16();
    if matches!(status, 502 | 504) {
        // A load balancer's answer for a server that died or did not answer in time: the
        // server is away, as if the network were (docs/deploy.md).
        return CoreError::Offline(format!(
            "a gateway answered {status}: the server behind it did not answer"
        ));
    }
    if let Some(notice) = revoke_notice(&resp) {
        if status == 401 {
            return CoreError::DeviceRevoked(notice);
        }
    }
    let token_refused = status == 401;
    let server_speaks = resp
        .headers()
        .get(api::SYNC_PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (kind, message) = resp
        .json::<api::ErrorBody>()
        .await
        .map(|b| (b.error, b.message))
        .unwrap_or_else(|_| (String::new(), "no detail".into()));
    if status == 503 {
        return CoreError::Busy(message);
    }
    if token_refused {
        // Expired, ended by "sign out everywhere", or unknown: retrying will not mend it.
        return CoreError::SignInExpired(message);
    }
    if status == 400 && kind == api::UNSUPPORTED_PROTOCOL {
        return match wire::protocol_gap(wire::PROTOCOL_VERSION, server_speaks.as_deref(), &message)
        {
            wire::ProtocolGap::AppBehind => CoreError::UpdateRequired(message),
            wire::ProtocolGap::ServerBehind => CoreError::ServerBehind(message),
        };
    }
    CoreError::Server { status, message }
}

/// The revocation a response says this device is under, if any.
fn revoke_notice(resp: &reqwest::Response) -> Option<api::RevokeNotice> {
    resp.headers()
        .get(api::DEVICE_REVOKED_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(api::RevokeNotice::from_header)
}

/// The app's version, sent at sign-in for the device list.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A server for health data is reached over TLS: `https://`, or plain `http://` only on this
/// machine (a development server, the tests). Anything else would send the password, the
/// token and citizens' data readable on the way.
pub fn check_server_url(server_url: &str) -> Result<()> {
    let url = reqwest::Url::parse(server_url)
        .map_err(|e| CoreError::SignIn(format!("`{server_url}` is not a server address: {e}")))?;
    let loopback = url
        .host_str()
        .is_some_and(homerehab_shared::net::is_loopback_host);
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(CoreError::SignIn(format!(
            "the server address must start with https:// (got `{server_url}`)"
        ))),
    }
}

/// Signs in and registers this device's actor id; the identity is kept in the store so the
/// device works offline afterwards.
pub async fn login(
    store: &SharedStore,
    server_url: &str,
    username: &str,
    password: &str,
) -> Result<Identity> {
    let gate = lock(store).sync_gate();
    let _one_at_a_time = gate.lock().await;
    let (actor, previous, device_id) = {
        let s = lock(store);
        if s.is_sealed() {
            // Nothing can be read before the key: a fresh actor (the server registers it for
            // whoever this is), and the device id from the key file.
            (
                automerge::ActorId::random(),
                None,
                s.device_id_for_sign_in()?,
            )
        } else {
            (s.actor().clone(), s.identity()?, s.device_id()?)
        }
    };
    // A different person on the same tablet gets a fresh actor, so their changes are theirs.
    // It is only kept once the server accepted the password and registered it.
    let actor = match &previous {
        Some(p) if p.username != username => automerge::ActorId::random(),
        _ => actor,
    };
    check_server_url(server_url)?;
    let url = format!("{}/v1/login", server_url.trim_end_matches('/'));
    let resp = http()
        .post(url)
        .json(&api::LoginRequest {
            username: username.into(),
            password: password.into(),
            actor_id: actor.to_hex_string(),
            device_id: Some(device_id),
            app_version: Some(APP_VERSION.to_string()),
        })
        .send()
        .await
        .map_err(|e| CoreError::Offline(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(match refusal(resp).await {
            // The device was revoked and its hand-over is over: nothing more can go.
            CoreError::DeviceRevoked(notice) => erase(store, notice, RevokedAnswer::Closed)?,
            CoreError::SignInExpired(message) => CoreError::SignIn(message),
            CoreError::Server {
                status: 429,
                message,
            } => CoreError::SignInThrottled(message),
            e => e,
        });
    }
    let body: api::LoginResponse = resp
        .json()
        .await
        .map_err(|e| CoreError::Protocol(e.to_string()))?;
    // The data key is wrapped for this user by the server's secret: without it the store
    // could only be opened by the PIN, and five wrong PINs would lose it.
    let secret = body
        .device_secret
        .as_deref()
        .ok_or_else(|| {
            CoreError::Protocol(
                "the server sent no device key secret (a server older than this app)".into(),
            )
        })
        .and_then(ServerSecret::from_hex)?;
    let previous = {
        let mut s = lock(store);
        if s.is_sealed() {
            // A forgotten PIN (or five wrong ones, or a restart without one): the sign-in
            // opens the store; someone who never signed in here cannot.
            s.unseal_with_server_secret(body.user.id, &secret)?;
            s.identity()?
        } else {
            previous
        }
    };
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
        match sync_gated(store).await {
            Ok(_) => tracing::info!("the previous user's work was synced before the handover"),
            // The tablet is revoked (and erased, if nothing of the previous user's was left):
            // nobody signs in on it, or their work would be erased at their next sync.
            Err(e @ CoreError::DeviceRevoked(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "the previous user's work could not be synced; it is kept for them")
            }
        }
    }
    let mut s = lock(store);
    // Encrypted from now on (a plain store is migrated here, before anyone's identity is
    // written), the key wrapped for this user.
    s.secure_for(identity.user_id, &secret)?;
    s.switch_user(&identity, actor)?;
    s.forget_revocation()?;
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
    let resp = send_ok(
        http()
            .get(format!("{}/v1/team", identity.server_url))
            .bearer_auth(&identity.token),
    )
    .await?;
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

/// What waits on the device besides its offers, as a sync says it.
#[derive(Clone, Copy, Debug, Default)]
struct WaitingHere {
    /// Documents parked for another user.
    parked: u32,
    /// The signed-in user's look-ups not yet in the access log (at least this many).
    look_ups: usize,
}

/// One round trip; the answer and the revocation it announces, if any.
async fn exchange(
    identity: &Identity,
    req: &SyncRequest,
    waiting: WaitingHere,
    traffic: &mut Traffic,
) -> Result<(SyncResponse, Option<api::RevokeNotice>)> {
    let body = bytes::Bytes::from(wire::encode(req));
    let mut attempt = 1;
    let resp = loop {
        traffic.bytes_up += body.len();
        let mut request = http()
            .post(format!("{}/v1/sync", identity.server_url))
            .bearer_auth(&identity.token);
        // What waits here besides the offers keeps a revoked device's hand-over open: another
        // user's unsent work, the user's look-ups (sent after the sync).
        if waiting.parked > 0 {
            request = request.header(api::PARKED_WORK_HEADER, waiting.parked.to_string());
        }
        if waiting.look_ups > 0 {
            request = request.header(api::LOOK_UPS_WAITING_HEADER, waiting.look_ups.to_string());
        }
        let resp = request
            .timeout(sync_request_time(body.len()))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body.clone())
            .send()
            .await
            .map_err(|e| CoreError::Offline(e.to_string()))?;
        if resp.status().is_success() {
            break resp;
        }
        // A 503 stored nothing (others were syncing the same documents, or the server is
        // short of its database): the same request is sent again after the pause it asks
        // for, so a busy moment does not become an error in the assistant's hands.
        match busy_pause(&resp) {
            Some(pause) if attempt < SYNC_ATTEMPTS => {
                tracing::debug!(
                    attempt,
                    pause_ms = pause.as_millis() as u64,
                    "server busy; sending the sync again"
                );
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            _ => return Err(refusal(resp).await),
        }
    };
    let revoked = revoke_notice(&resp);
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| CoreError::Offline(e.to_string()))?;
    traffic.bytes_down += bytes.len();
    let answer = wire::decode_response(&bytes, &Limits::default())
        .map_err(|e| CoreError::Protocol(e.to_string()))?;
    Ok((answer, revoked))
}

/// How often one sync request is sent while the server answers 503 (busy).
const SYNC_ATTEMPTS: u32 = 4;

/// The pause a 503 asks for (`Retry-After` seconds, at most 5, plus up to half a second so
/// devices told the same do not return together); `None` for any other answer.
fn busy_pause(resp: &reqwest::Response) -> Option<Duration> {
    if resp.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let seconds = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .min(5);
    Some(Duration::from_secs(seconds) + Duration::from_millis(rand::random::<u64>() % 500))
}

/// How many bytes of changes one sync request carries: [`REQUEST_CHANGE_BYTES`], or
/// `HOMEREHAB_SYNC_REQUEST_BYTES` where it is set to a positive number (the scenario tests
/// split a sync with a small one). Anything else is logged and the default used.
fn request_budget() -> usize {
    match std::env::var("HOMEREHAB_SYNC_REQUEST_BYTES") {
        Err(_) => REQUEST_CHANGE_BYTES,
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                tracing::warn!(
                    value = %v,
                    "HOMEREHAB_SYNC_REQUEST_BYTES is not a positive number of bytes; ignored"
                );
                REQUEST_CHANGE_BYTES
            }
        },
    }
}

/// Runs one sync now: one round trip when nothing is big, one more per
/// [`REQUEST_CHANGE_BYTES`] of unsent changes beyond the first, whatever the number of
/// documents, and one more when the server asks for whole documents.
pub async fn sync_now(store: &SharedStore) -> Result<(SyncReport, Traffic)> {
    let gate = lock(store).sync_gate();
    let _one_at_a_time = gate.lock().await;
    sync_gated(store).await
}

/// [`sync_now`] for a caller that holds the store's sync gate.
async fn sync_gated(store: &SharedStore) -> Result<(SyncReport, Traffic)> {
    if lock(store).is_sealed() {
        // Encrypted and not opened since the process started: nothing to read or send yet.
        return Err(CoreError::Locked);
    }
    let result = sync_inner(store).await;
    if result.is_ok() {
        // Colleagues' names are a convenience: a failure here must not fail the sync.
        if let Err(e) = refresh_team(store).await {
            tracing::warn!(error = %e, "could not refresh the team directory");
        }
    }
    // Refusals are not connection errors: they are kept per document (`Store::refusals`) and
    // shown with their reasons; the sync itself succeeded.
    lock(store).record_sync_outcome(result.as_ref().err())?;
    result
}

/// One sync, and the revocation its answers announced (with what this sync handed over).
async fn sync_once(
    store: &SharedStore,
) -> Result<(
    SyncReport,
    Traffic,
    Option<(api::RevokeNotice, HandOverSync)>,
)> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    if identity.token.is_empty() {
        // Signed out: the work stays until someone signs in again.
        return Err(CoreError::NotSignedIn);
    }
    let mut traffic = Traffic::default();
    let mut revoked = None;
    let mut handed = HandOverSync::default();
    let parked: u32 = lock(store)
        .sync_status()?
        .parked
        .iter()
        .map(|(_, n)| n)
        .sum();
    handed.parked_work = parked > 0;
    let look_ups = lock(store).unsent_look_ups(identity.user_id, 1)?.len();
    handed.look_ups_waiting = look_ups > 0;
    let waiting = WaitingHere { parked, look_ups };
    let (mut round, mut req) = ClientRound::begin_with_budget(&mut *lock(store), request_budget())?;
    loop {
        handed.offered_changes |= req.offers.iter().any(|o| !o.changes.is_empty());
        let (resp, notice) = exchange(&identity, &req, waiting, &mut traffic).await?;
        revoked = notice.or(revoked);
        match round.on_response(&mut *lock(store), resp)? {
            Some(next) => req = next,
            None => break,
        }
    }
    let report = round.report();
    handed.asked_whole = !report.unresolved.is_empty();
    Ok((report, traffic, revoked.map(|n| (n, handed))))
}

/// Erases the device's data for a revocation when `answer` allows it
/// (`device_registry::may_erase`); the error to report either way.
fn erase(
    store: &SharedStore,
    notice: api::RevokeNotice,
    answer: RevokedAnswer,
) -> Result<CoreError> {
    if device_registry::may_erase(answer) {
        lock(store).erase_revoked(&notice)?;
    }
    Ok(CoreError::DeviceRevoked(notice))
}

/// Syncs; a revoked device hands over what it has not synced, syncs once more to show the
/// server it has nothing left, and then erases its data (`shared::device_registry`). An answer
/// lost on the way leaves the data in place: the next sync hands over again.
async fn sync_inner(store: &SharedStore) -> Result<(SyncReport, Traffic)> {
    // The hand-over's changes, then the sync that shows nothing is left; a third try covers a
    // document the server asked for whole.
    for _ in 0..3 {
        let (report, traffic, revoked) = match sync_once(store).await {
            Err(CoreError::DeviceRevoked(notice)) => {
                return Err(erase(store, notice, RevokedAnswer::Closed)?)
            }
            other => other?,
        };
        // The look-ups recorded here go up after the documents they name; a failure leaves
        // them for the next sync.
        if let Err(e) = send_look_ups(store).await {
            tracing::warn!(error = %e, "the device's audit log waits for the next sync");
        }
        let Some((notice, handed)) = revoked else {
            return Ok((report, traffic));
        };
        // From the first answer that says so, nothing new is saved here: it could not go.
        lock(store).revoked_while_in_use(&notice)?;
        if device_registry::may_erase(RevokedAnswer::Served(handed)) {
            return Err(erase(store, notice, RevokedAnswer::Served(handed))?);
        }
        if handed.parked_work && !handed.offered_changes {
            // Only the parked user's own sign-in can hand the rest over; the data stays.
            tracing::warn!("this device was revoked; another user's unsent work waits for them");
            return Err(CoreError::DeviceRevoked(notice));
        }
        tracing::info!("this device was revoked; its unsynced work was handed over");
    }
    Err(CoreError::Offline(
        "the revoked device's hand-over did not finish; it is tried again".into(),
    ))
}

/// Sends the signed-in user's look-ups recorded on this device (`POST /v1/audit`, a page at a
/// time) and records the server's answer, so none is sent twice (the server keeps a resent
/// one once anyway).
async fn send_look_ups(store: &SharedStore) -> Result<()> {
    use homerehab_shared::audit::{AuditReceipt, AuditUpload, MAX_UPLOAD};
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    loop {
        let entries = lock(store).unsent_look_ups(identity.user_id, MAX_UPLOAD)?;
        let sent = entries.len();
        if sent == 0 {
            return Ok(());
        }
        let request = http()
            .post(format!("{}/v1/audit", identity.server_url))
            .bearer_auth(&identity.token)
            .json(&AuditUpload { entries });
        let receipt: AuditReceipt = send_json(request).await?;
        let answered = receipt.kept.len() + receipt.refused.len();
        lock(store).look_ups_answered(&receipt, now_ms())?;
        for r in &receipt.refused {
            tracing::warn!(entry = %r.entry_id, reason = %r.reason, "the server refused a look-up entry");
        }
        if sent < MAX_UPLOAD || answered == 0 {
            return Ok(());
        }
    }
}

/// Signs out: hands over what it can, ends the token on the server (`POST /v1/logout`) and
/// forgets it here. The work on the device stays (nothing unsynced is lost) until someone
/// signs in again. Returns whether the server ended the token (false when offline: it then
/// expires by itself).
pub async fn sign_out(store: &SharedStore) -> Result<bool> {
    let gate = lock(store).sync_gate();
    let _one_at_a_time = gate.lock().await;
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    if identity.token.is_empty() {
        return Ok(false);
    }
    if let Err(e) = sync_gated(store).await {
        if let CoreError::DeviceRevoked(_) = e {
            // Revoked, with another user's work still to hand over (else the store is erased
            // already): the person leaving is signed out here all the same, so the next one
            // at the tablet reads nothing of theirs; the notice is the answer.
            let mut s = lock(store);
            if s.identity()?.is_some() {
                s.signed_out()?;
            }
            return Err(e);
        }
        tracing::info!(error = %e, "signing out without a last sync");
    }
    let ended = http()
        .post(format!("{}/v1/logout", identity.server_url))
        .bearer_auth(&identity.token)
        .send()
        .await;
    let ended = match ended {
        Ok(resp) if resp.status().is_success() => true,
        Ok(resp) => {
            // Expired or ended already: it is no good to anyone either way.
            tracing::info!(
                status = resp.status().as_u16(),
                "the server did not end the token"
            );
            false
        }
        Err(e) => {
            tracing::info!(error = %e, "offline: the token is forgotten here and expires there");
            false
        }
    };
    lock(store).signed_out()?;
    Ok(ended)
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
                // Waits for the PIN or a sign-in to open the store (after that, a UI lock
                // does not stop it: the key stays in memory).
                Err(CoreError::Locked) => interval.min(Duration::from_secs(5)),
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

// ---- the leaders' evidence (#12): read from the server, the last answer kept for offline ----

/// An evidence report and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchedEvidence {
    pub report: EvidenceReport,
    pub fetched_at: Millis,
    /// The server could not be reached: this is the answer kept from `fetched_at`.
    pub offline: bool,
}

/// Sends a request to the server with the signed-in user's token; its JSON answer, or the
/// server's refusal.
async fn send_json<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T> {
    send_ok(request)
        .await?
        .json()
        .await
        .map_err(|e| CoreError::Protocol(e.to_string()))
}

/// Sends `request`: a server out of reach is `Offline`, an answer other than success the
/// server's refusal.
async fn send_ok(request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
    let resp = request
        .send()
        .await
        .map_err(|e| CoreError::Offline(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(refusal(resp).await);
    }
    Ok(resp)
}

/// `GET {server}{path}?{query}` with the signed-in user's token, as JSON.
async fn get_json<T: serde::de::DeserializeOwned>(
    identity: &Identity,
    path: &str,
    query: &[(&str, &str)],
) -> Result<T> {
    let request = http()
        .get(format!("{}{path}", identity.server_url))
        .query(query)
        .bearer_auth(&identity.token);
    send_json(request).await
}

/// One file of the municipality's BI feed (`GET /v1/export/{table}`, docs/bi-export.md) for
/// `from`–`to`: its name and its CSV, written for Danish Excel (a person downloads it here; a
/// warehouse asks the server itself). Not kept on the device: a leader downloads it online.
pub async fn bi_export(
    store: &SharedStore,
    table: &str,
    from: &str,
    to: &str,
) -> Result<(String, String)> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let resp = send_ok(
        http()
            .get(format!("{}/v1/export/{table}", identity.server_url))
            .query(&[("from", from), ("to", to), ("format", "excel")])
            .bearer_auth(&identity.token),
    )
    .await?;
    // The server names the file in its Content-Disposition; the table's name does otherwise.
    let name = resp
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("filename=\"").nth(1))
        .and_then(|v| v.split('"').next())
        .map_or_else(|| format!("homerehab-{table}.csv"), str::to_string);
    let csv = resp
        .text()
        .await
        .map_err(|e| CoreError::Protocol(e.to_string()))?;
    Ok((name, csv))
}

/// The evidence for `from`–`to` (ISO dates) and optionally one team and one of its therapists, from the server
/// (`GET /v1/evidence`), kept on the device for the signed-in user. When the server cannot be
/// reached (or fails), the answer kept for the same period and drill-down is returned, marked
/// offline; without one, the connection error stands.
pub async fn evidence(
    store: &SharedStore,
    from: &str,
    to: &str,
    team: Option<&str>,
    therapist: Option<&str>,
) -> Result<FetchedEvidence> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let user = identity.user_id.to_string();
    // The therapist only when asked, so answers kept before the drill-down existed still read.
    let mut key = format!("{from}|{to}|{}", team.unwrap_or(""));
    let mut query = vec![("from", from), ("to", to)];
    if let Some(team) = team {
        query.push(("team", team));
    }
    if let Some(therapist) = therapist {
        key.push_str(&format!("|{therapist}"));
        query.push(("therapist", therapist));
    }
    match get_json::<EvidenceReport>(&identity, "/v1/evidence", &query).await {
        Ok(report) => {
            let fetched_at = now_ms();
            let body =
                serde_json::to_string(&report).map_err(|e| CoreError::Protocol(e.to_string()))?;
            lock(store).keep_evidence(&user, &key, fetched_at, &body)?;
            Ok(FetchedEvidence {
                report,
                fetched_at,
                offline: false,
            })
        }
        Err(e) if e.is_transient() => {
            let Some(kept) = lock(store).kept_evidence(&user, &key)? else {
                return Err(e);
            };
            tracing::info!(error = %e, "evidence read from the copy kept on the device");
            let report = serde_json::from_str(&kept.body)
                .map_err(|e| CoreError::Damaged(format!("kept evidence: {e}")))?;
            Ok(FetchedEvidence {
                report,
                fetched_at: kept.fetched_at,
                offline: true,
            })
        }
        Err(e) => Err(e),
    }
}

/// The municipality's evidence settings (`GET /v1/evidence/settings`).
pub async fn evidence_settings(store: &SharedStore) -> Result<EvidenceSettings> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    get_json(&identity, "/v1/evidence/settings", &[]).await
}

/// Sets the municipality's evidence settings (`PUT /v1/evidence/settings`); the server checks
/// them and answers what it stored.
pub async fn set_evidence_settings(
    store: &SharedStore,
    settings: &EvidenceSettings,
) -> Result<EvidenceSettings> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let request = http()
        .put(format!("{}/v1/evidence/settings", identity.server_url))
        .bearer_auth(&identity.token)
        .json(settings);
    send_json(request).await
}

/// The municipalities on the server (`GET /v1/evidence/municipalities`).
pub async fn evidence_municipalities(store: &SharedStore) -> Result<Vec<Named>> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    get_json(&identity, "/v1/evidence/municipalities", &[]).await
}

// ---- the device registry (#14): on the server, for leaders and admins ----

/// The devices of the municipality's staff (`GET /v1/devices`).
pub async fn devices(store: &SharedStore) -> Result<Vec<api::DeviceView>> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    get_json(&identity, "/v1/devices", &[]).await
}

/// A citizen's access report (`GET /v1/citizens/{id}/access-report`): admins of the citizen's
/// municipality only; the server logs the look-up.
pub async fn access_report(
    store: &SharedStore,
    citizen: homerehab_shared::ids::CitizenId,
) -> Result<homerehab_shared::audit::AccessReport> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    get_json(
        &identity,
        &format!("/v1/citizens/{citizen}/access-report"),
        &[],
    )
    .await
}

// ---- retention and erasure (#14 item 5): on the server, for the municipality's admin ----

/// The municipality's retention (`GET /v1/retention`).
pub async fn retention(store: &SharedStore) -> Result<homerehab_shared::api::RetentionSettings> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    get_json(&identity, "/v1/retention", &[]).await
}

/// Sets the municipality's retention (`PUT /v1/retention`); the server checks the legal
/// minimum and answers what it stored.
pub async fn set_retention(
    store: &SharedStore,
    settings: &homerehab_shared::api::RetentionSettings,
) -> Result<homerehab_shared::api::RetentionSettings> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let request = http()
        .put(format!("{}/v1/retention", identity.server_url))
        .bearer_auth(&identity.token)
        .json(settings);
    send_json(request).await
}

/// What the retention job would erase today (`GET /v1/retention/due`): ids, no names.
pub async fn retention_due(store: &SharedStore) -> Result<homerehab_shared::api::RetentionDue> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    get_json(&identity, "/v1/retention/due", &[]).await
}

/// Erases a citizen on the server (`POST /v1/citizens/{id}/erase`); this and every other
/// device drop their copies at their next sync.
pub async fn erase_citizen(
    store: &SharedStore,
    citizen: homerehab_shared::ids::CitizenId,
    request: &homerehab_shared::api::EraseCitizenRequest,
) -> Result<homerehab_shared::api::ErasureReceipt> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let request = http()
        .post(format!(
            "{}/v1/citizens/{citizen}/erase",
            identity.server_url
        ))
        .bearer_auth(&identity.token)
        .json(request);
    send_json(request).await
}

/// Revokes a device (`POST /v1/devices/{id}/revoke`); the server answers it as it is now.
pub async fn revoke_device(
    store: &SharedStore,
    device: homerehab_shared::ids::DeviceId,
    reason: &str,
) -> Result<api::DeviceView> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let request = http()
        .post(format!(
            "{}/v1/devices/{device}/revoke",
            identity.server_url
        ))
        .bearer_auth(&identity.token)
        .json(&api::RevokeRequest {
            reason: reason.to_string(),
        });
    send_json(request).await
}

/// Ends every sign-in of `user` (`POST /v1/users/{id}/sign-out-everywhere`). For oneself, this
/// device's own sign-in is forgotten too.
pub async fn sign_out_everywhere(
    store: &SharedStore,
    user: homerehab_shared::ids::UserId,
) -> Result<api::SignedOutEverywhere> {
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let request = http()
        .post(format!(
            "{}/v1/users/{user}/sign-out-everywhere",
            identity.server_url
        ))
        .bearer_auth(&identity.token);
    let ended: api::SignedOutEverywhere = send_json(request).await?;
    if user == identity.user_id {
        lock(store).signed_out()?;
    }
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_reached_over_tls_or_on_this_machine() {
        for ok in [
            "https://homerehab.thisted.dk",
            "https://10.0.0.5:8443/",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert!(check_server_url(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://homerehab.thisted.dk",
            "http://192.168.1.20:8080",
            "http://127.0.0.1.evil.example",
            "ftp://127.0.0.1",
            "homerehab.thisted.dk",
        ] {
            assert!(
                matches!(check_server_url(refused), Err(CoreError::SignIn(_))),
                "{refused}"
            );
        }
    }

    /// A loopback server that answers every request 503 with `Retry-After: 0`, counting them.
    async fn always_busy() -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
        answering(
            "503 Service Unavailable\r\nretry-after: 0",
            r#"{"error":"busy","message":"others are syncing"}"#,
        )
        .await
    }

    /// A loopback server that answers every request with `status` (and any header lines after
    /// it) and the JSON `body`, counting them.
    async fn answering(
        status: &'static str,
        body: &'static str,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
        answering_with(status, &[], body).await
    }

    /// [`answering`] with extra response headers.
    async fn answering_with(
        status: &'static str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
        use std::sync::atomic::{AtomicU32, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(AtomicU32::new(0));
        let seen = count.clone();
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let answer = std::sync::Arc::new(format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ));
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let seen = seen.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    // Reads the request head and its (small) body before answering.
                    let _ = socket.read(&mut buf).await;
                    seen.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        (url, count)
    }

    /// The error of one exchange of `req` with the server at `url`, which refuses it.
    async fn refused_at(url: String, req: &SyncRequest) -> CoreError {
        exchange(
            &identity_at(url),
            req,
            WaitingHere::default(),
            &mut Traffic::default(),
        )
        .await
        .unwrap_err()
    }

    fn identity_at(server_url: String) -> Identity {
        Identity {
            user_id: homerehab_shared::ids::UserId::new(),
            username: "a".into(),
            display_name: "A".into(),
            role: homerehab_shared::model::Role::Assistant,
            team_id: homerehab_shared::ids::TeamId::new(),
            server_url,
            token: "t".into(),
            expires_at: 0,
            municipality_id: None,
            granted_teams: vec![],
        }
    }

    #[tokio::test]
    async fn a_busy_server_is_asked_again_and_then_said_busy_not_failed() {
        let (url, count) = always_busy().await;
        let identity = identity_at(url);
        let req = SyncRequest {
            protocol: 1,
            offers: vec![],
        };
        let mut traffic = Traffic::default();
        let err = exchange(&identity, &req, WaitingHere::default(), &mut traffic)
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::Busy(_)), "{err}");
        assert!(err.is_transient());
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            SYNC_ATTEMPTS,
            "the same request is sent again while the server is busy"
        );
        assert!(err.to_string().contains("nothing was lost"));
    }

    /// The sync server's answer to a protocol version it does not speak
    /// (`sync-server/tests/http.rs` checks it gives this kind) means "update the app": said
    /// once, not retried, and not taken for the server being away.
    #[tokio::test]
    async fn a_server_past_this_apps_protocol_says_update_the_app_once() {
        let (url, count) = answering(
            "400 Bad Request",
            r#"{"error":"unsupported_protocol","message":"protocol version 5 is not supported (this side speaks 6)"}"#,
        )
        .await;
        let req = SyncRequest {
            protocol: wire::PROTOCOL_VERSION,
            offers: vec![],
        };
        let err = refused_at(url, &req).await;
        assert!(
            matches!(&err, CoreError::UpdateRequired(m) if m.contains("version 5")),
            "{err}"
        );
        assert!(!err.is_transient());
        assert!(err.to_string().contains("update the app"), "{err}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
        // A server behind this app (upgraded after it) names its older version: the app
        // waits for it, said once, and its user is not told to update.
        let older = (wire::PROTOCOL_VERSION - 1).to_string();
        let (url, count) = answering_with(
            "400 Bad Request",
            &[(api::SYNC_PROTOCOL_HEADER, older.as_str())],
            &format!(
                r#"{{"error":"unsupported_protocol","message":"protocol version {} is not supported (this side speaks {older})"}}"#,
                wire::PROTOCOL_VERSION
            ),
        )
        .await;
        let err = refused_at(url, &req).await;
        assert!(matches!(&err, CoreError::ServerBehind(_)), "{err}");
        assert!(!err.is_transient());
        assert!(!err.to_string().contains("update the app"), "{err}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Any other refusal of the request stays the server's refusal.
        let (url, _) = answering(
            "400 Bad Request",
            r#"{"error":"malformed","message":"the message is malformed"}"#,
        )
        .await;
        let err = refused_at(url, &req).await;
        assert!(
            matches!(err, CoreError::Server { status: 400, .. }),
            "{err}"
        );
    }
}
