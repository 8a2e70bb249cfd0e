//! Login, tokens and the [`Authenticated`] extractor.
//!
//! A login checks the argon2 password hash, registers the device's Automerge actor id to the
//! user and hands out a random 32-byte token (hex). Only the token's SHA-256 is stored, so a
//! copy of the database does not hold usable tokens.

use crate::api_error::ApiError;
use crate::config::{Config, PasswordCost};
use crate::error::{Error, Result};
use crate::store::{now_ms, DeviceSignIn, Store, UserRecord};
use argon2::password_hash::{self, Output, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use automerge::ActorId;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use homerehab_shared::api::RevokeNotice;
use homerehab_shared::auth::Principal;
use homerehab_shared::device_registry::{DeviceAccess, LAST_SEEN_RESOLUTION_MS};
use homerehab_shared::ids::DeviceId;
use homerehab_shared::model::Millis;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Hashes and verifies passwords.
///
/// argon2 needs `m_cost` KiB of working memory per hash (19 MiB at the standard cost). It is
/// passed in as a [`HashMemory`] that the caller keeps and reuses: allocating it afresh per
/// hash made glibc keep those allocations in its per-thread arenas, and the server grew by
/// about that much per sign-in (issue #9).
pub struct Passwords {
    argon: Argon2<'static>,
    /// Verified when the user is unknown, so both cases cost the same.
    dummy: OnceLock<String>,
}

/// argon2 working memory (1 KiB blocks) for one hash at a time: kept by a password worker and
/// reused for every hash and verification it runs.
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..count]
    }
}

/// The most memory a stored hash may ask to be verified with (256 MiB, 13× the standard cost):
/// a damaged or hostile `m=` in the database is refused instead of allocated.
const MAX_HASH_BLOCKS: usize = 256 * 1024;

impl Passwords {
    pub fn new(cost: PasswordCost) -> Self {
        let params = match cost {
            PasswordCost::Standard => Params::default(),
            PasswordCost::Insecure => Params::new(256, 1, 1, None).expect("valid parameters"),
        };
        Passwords {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            dummy: OnceLock::new(),
        }
    }

    /// Working memory for hashes of this cost, allocated (and touched) now.
    pub fn memory(&self) -> HashMemory {
        HashMemory(vec![Block::default(); self.argon.params().block_count()])
    }

    /// A new hash (PHC string) with fresh working memory: for the command line and the seed.
    pub fn hash(&self, password: &str) -> Result<String> {
        self.hash_in(&mut self.memory(), password)
    }

    /// A new hash (PHC string) computed in `memory`.
    pub fn hash_in(&self, memory: &mut HashMemory, password: &str) -> Result<String> {
        let failed = |e: &dyn std::fmt::Display| Error::PasswordHash(e.to_string());
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_buf = [0u8; Salt::MAX_LENGTH];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| failed(&e))?;
        let params = self.argon.params();
        let blocks = memory.blocks(params.block_count());
        let output = Output::init_with(
            params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN),
            |out| {
                self.argon
                    .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, blocks)
                    .map_err(password_hash::Error::from)
            },
        )
        .map_err(|e| failed(&e))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: params.try_into().map_err(|e| failed(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches `hash`; with no hash, spends the same time and says no.
    pub fn verify(&self, memory: &mut HashMemory, hash: Option<&str>, password: &str) -> bool {
        let Some(hash) = hash else {
            let dummy = self.dummy.get_or_init(|| {
                self.hash_in(memory, "no such user")
                    .expect("hashing a constant works")
            });
            let _ = self.matches(memory, dummy, password);
            return false;
        };
        self.matches(memory, hash, password)
    }

    /// What `PasswordVerifier::verify_password` does (recompute with the hash's own algorithm,
    /// version, cost and salt; compare in constant time), but in `memory`.
    fn matches(&self, memory: &mut HashMemory, hash: &str, password: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (
            Algorithm::try_from(parsed.algorithm),
            Params::try_from(&parsed),
        ) else {
            return false;
        };
        let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else {
            return false;
        };
        if params.block_count() > MAX_HASH_BLOCKS {
            tracing::error!(
                m_cost = params.m_cost(),
                "a stored password hash asks for too much memory; refused"
            );
            return false;
        }
        let mut salt_buf = [0u8; Salt::MAX_LENGTH];
        let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
            return false;
        };
        let argon = Argon2::new(algorithm, version, params);
        let blocks = memory.blocks(argon.params().block_count());
        Output::init_with(expected.len(), |out| {
            argon
                .hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
                .map_err(password_hash::Error::from)
        })
        .is_ok_and(|computed| computed == expected)
    }
}

/// A successful login.
pub struct Login {
    pub token: String,
    pub expires_at: Millis,
    pub user: UserRecord,
    /// The user's key secret for the device, hex (`LoginResponse::device_secret`).
    pub device_secret: String,
}

/// The device a sign-in comes from: its actor, and its id and app version as it sent them.
#[derive(Clone, Debug)]
pub struct DeviceOf {
    pub actor: ActorId,
    pub device: Option<DeviceId>,
    pub app_version: String,
}

impl DeviceOf {
    /// The device's id; an older app that sends none is named after its actor id (16 bytes,
    /// one per device and user), so its tokens belong to a device all the same.
    pub fn id(&self) -> DeviceId {
        self.device.unwrap_or_else(|| {
            let bytes: [u8; 16] = self.actor.to_bytes().try_into().unwrap_or([0; 16]);
            DeviceId(uuid::Uuid::from_bytes(bytes))
        })
    }
}

/// An authenticated request's user and device.
#[derive(Clone, Debug)]
pub struct Session {
    pub principal: Principal,
    /// `None` for a token from before the device registry.
    pub device: Option<DeviceId>,
    /// Set while the device is revoked and handing over: only sync serves it.
    pub hand_over: Option<RevokeNotice>,
}

/// Why a request is not authenticated.
#[derive(Debug)]
pub enum AuthRejection {
    MissingToken,
    InvalidToken,
    ExpiredToken,
    /// The token's device was revoked: closed, or handing over (which only sync serves).
    DeviceRevoked(RevokeNotice),
    Internal(Error),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let e = match self {
            AuthRejection::MissingToken => {
                ApiError::Unauthorized("send Authorization: Bearer <token>; log in first")
            }
            AuthRejection::InvalidToken => ApiError::Unauthorized("the token is not valid; log in"),
            AuthRejection::ExpiredToken => {
                ApiError::Unauthorized("the token expired; log in again")
            }
            AuthRejection::DeviceRevoked(notice) => ApiError::DeviceRevoked(notice),
            // A busy or unreachable database is a 503 to try again, as for any request.
            AuthRejection::Internal(e) => ApiError::from(e),
        };
        e.into_response()
    }
}

/// Logins and token checks over a [`Store`]. All methods block, except [`AuthService::login`],
/// which runs on the password workers.
pub struct AuthService {
    store: Arc<dyn Store>,
    passwords: Passwords,
    token_ttl: Duration,
    throttle: LoginThrottle,
    workers: PasswordWorkers,
    /// One permit per token look-up running ([`AuthService::look_up`]).
    look_ups: Arc<tokio::sync::Semaphore>,
}

/// Token look-ups that run at once. Each holds a blocking thread and, on PostgreSQL, waits for
/// one of the pool's connections, so more at once only add threads: a reconnect burst of
/// 1,000 requests ran the server up to 180–230 threads. The rest wait for a permit, on no
/// thread.
pub const LOOK_UPS_AT_ONCE: usize = 32;

/// Sign-ins waiting for a password worker, per worker, before more are told to come back.
/// A standard hash takes tens of milliseconds, so a full queue is a wait of well under a second.
pub const SIGN_INS_QUEUED_PER_WORKER: usize = 8;

/// A sign-in that waited for a worker or was refused; runs on a worker with its memory.
type SignInJob = Box<dyn FnOnce(&mut HashMemory) + Send>;

/// A fixed set of threads that run sign-ins, each with one [`HashMemory`] reused for every
/// hash: at most `workers` hashes run at once and the server holds `workers` hash memories,
/// however many sign-ins arrive. Past the bounded queue a sign-in is refused at once (503).
struct PasswordWorkers {
    jobs: std::sync::mpsc::Sender<SignInJob>,
    /// One permit per running or queued sign-in.
    admitted: Arc<tokio::sync::Semaphore>,
}

impl PasswordWorkers {
    /// Starts `count` workers; they end when this is dropped.
    fn start(count: usize, memory: impl Fn() -> HashMemory) -> Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<SignInJob>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..count {
            let queue = queue.clone();
            let mut memory = memory();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || loop {
                    // The lock is held only while taking the next job, never while running it.
                    let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    // A panicking sign-in answers nothing (an internal error); the worker stays.
                    let run = std::panic::AssertUnwindSafe(|| job(&mut memory));
                    if std::panic::catch_unwind(run).is_err() {
                        tracing::error!("a sign-in panicked on a password worker");
                    }
                })?;
        }
        Ok(PasswordWorkers {
            jobs,
            admitted: Arc::new(tokio::sync::Semaphore::new(
                count * (1 + SIGN_INS_QUEUED_PER_WORKER),
            )),
        })
    }

    /// Runs `f` on a worker; `None` when every worker is busy and the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<Option<T>> {
        let Ok(permit) = self.admitted.clone().try_acquire_owned() else {
            return Ok(None);
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: SignInJob = Box::new(move |memory| {
            let _ = answer.send(f(memory));
            drop(permit);
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Task("the password workers stopped".into()))?;
        answered
            .await
            .map(Some)
            .map_err(|_| Error::Task("a password worker failed".into()))
    }
}

/// Wrong passwords allowed per username within [`LOGIN_WINDOW_MS`] before sign-in is refused
/// for the rest of the window (even with the right password): an attacker on the network gets
/// a handful of guesses per quarter hour, a person who mistyped waits at most that long.
pub const MAX_FAILED_LOGINS: u32 = 5;
pub const LOGIN_WINDOW_MS: Millis = 15 * 60 * 1000;
/// Usernames tracked at most (about 5 MB: a key is 16 bytes however long the name sent).
/// Making room never drops a lock ([`Tracked::make_room`]); filling the table with locks takes
/// five wrong passwords per name within one window, 500,000 argon2 checks in 15 minutes, more
/// than the password workers of a usual server can run.
const THROTTLE_CAPACITY: usize = 100_000;
/// How long a table full of locks is not swept again: it frees only as windows end, and a
/// sweep per sign-in would hold the lock for milliseconds each time.
const CROWDED_PAUSE_MS: Millis = LOGIN_WINDOW_MS / 16;

/// A username's attempts in its current window.
#[derive(Clone, Copy, Debug)]
struct Attempts {
    count: u32,
    /// The window's start.
    since: Millis,
    /// The latest attempt: of unlocked entries, the least recent are dropped first.
    last: Millis,
}

impl Attempts {
    fn expired(&self, now: Millis) -> bool {
        now >= self.since + LOGIN_WINDOW_MS
    }
    fn locked(&self, now: Millis) -> bool {
        self.count >= MAX_FAILED_LOGINS && !self.expired(now)
    }
}

/// The throttle's table: attempts per username, keyed by the first 16 bytes of the SHA-256 of
/// the normalised name (fixed size, so long made-up names cost no more memory).
#[derive(Default)]
struct Tracked {
    by_name: std::collections::HashMap<[u8; 16], Attempts>,
    /// Until then the table is crowded with locks: no new sweep, and a new username is
    /// refused while the table is full.
    crowded_until: Millis,
}

impl Tracked {
    /// Whether one more username fits, making room if needed: expired windows go first, then
    /// unlocked entries, fewest attempts and least recent first, down to three quarters of
    /// `capacity` (so a sweep runs once per quarter of new names). Locks are never dropped: a
    /// flood of made-up names cannot free a real user's lock. When locks alone fill the table,
    /// new usernames are refused for [`CROWDED_PAUSE_MS`] before it is swept again (failing
    /// closed rather than letting them be guessed untracked).
    fn make_room(&mut self, capacity: usize, now: Millis) -> bool {
        if self.by_name.len() < capacity {
            return true;
        }
        if now < self.crowded_until {
            return false;
        }
        self.by_name.retain(|_, a| !a.expired(now));
        let target = capacity - capacity / 4;
        if self.by_name.len() > target {
            let excess = self.by_name.len() - target;
            let mut unlocked: Vec<((u32, Millis), [u8; 16])> = self
                .by_name
                .iter()
                .filter(|(_, a)| !a.locked(now))
                .map(|(k, a)| ((a.count, a.last), *k))
                .collect();
            if unlocked.len() > excess {
                unlocked.select_nth_unstable(excess);
                unlocked.truncate(excess);
            }
            for (_, key) in unlocked {
                self.by_name.remove(&key);
            }
        }
        if self.by_name.len() > target {
            self.crowded_until = now + CROWDED_PAUSE_MS;
            // No username: only that the table is under pressure.
            tracing::warn!(
                tracked = self.by_name.len(),
                "sign-in throttle crowded with locked usernames; new usernames wait"
            );
        }
        self.by_name.len() < capacity
    }
}

/// Sign-in attempts per username (case and surrounding spaces ignored), in this process; the
/// store counts them again for every server sharing its database (`count_sign_in`), which is
/// the limit across servers. This count bounds what a flood of names can cost one process.
/// Per username only: one password tried against many usernames is not limited here (a limit
/// per client address would, behind the reverse proxy, be one limit for everyone).
struct LoginThrottle {
    capacity: usize,
    tracked: std::sync::Mutex<Tracked>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::with_capacity(THROTTLE_CAPACITY)
    }
}

impl LoginThrottle {
    fn with_capacity(capacity: usize) -> Self {
        LoginThrottle {
            capacity: capacity.max(4),
            tracked: Default::default(),
        }
    }

    fn key(username: &str) -> [u8; 16] {
        let digest = Sha256::digest(username.trim().to_lowercase().as_bytes());
        digest[..16].try_into().expect("a SHA-256 has 32 bytes")
    }

    /// Counts an attempt before its password is checked, so sign-ins running at once on
    /// several workers cannot together pass the limit; `Err(until)` when refused until then.
    /// A right password then clears the count ([`LoginThrottle::succeeded`]).
    fn attempt(&self, username: &str, now: Millis) -> Result<(), Millis> {
        let mut tracked = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        let key = Self::key(username);
        if !tracked.by_name.contains_key(&key) && !tracked.make_room(self.capacity, now) {
            return Err(tracked.crowded_until);
        }
        let a = tracked.by_name.entry(key).or_insert(Attempts {
            count: 0,
            since: now,
            last: now,
        });
        if a.expired(now) {
            *a = Attempts {
                count: 0,
                since: now,
                last: now,
            };
        }
        if a.count >= MAX_FAILED_LOGINS {
            return Err(a.since + LOGIN_WINDOW_MS);
        }
        a.count += 1;
        a.last = now;
        Ok(())
    }

    fn succeeded(&self, username: &str) {
        let mut tracked = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        tracked.by_name.remove(&Self::key(username));
    }
}

/// The answer to a sign-in.
pub enum LoginOutcome {
    Accepted(Login),
    /// The device was revoked and has handed over (or its window passed): no sign-in on it.
    DeviceRevoked(RevokeNotice),
    /// Wrong username or password (deliberately not saying which).
    Refused,
    /// Too many wrong passwords for this username (or, under a flood, the throttle holds only
    /// locks and cannot track one more name): try again after this time.
    Throttled {
        until: Millis,
    },
    /// Every password worker is busy and the queue is full: try again in a moment.
    Busy,
}

fn token_hash(token_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(token_bytes).into()
}

impl AuthService {
    /// Also starts `config.password_workers` password worker threads.
    pub fn new(store: Arc<dyn Store>, config: &Config) -> Result<Self> {
        let passwords = Passwords::new(config.password_cost);
        let workers = PasswordWorkers::start(config.password_workers, || passwords.memory())?;
        Ok(AuthService {
            store,
            passwords,
            token_ttl: config.token_ttl,
            throttle: LoginThrottle::default(),
            workers,
            look_ups: Arc::new(tokio::sync::Semaphore::new(LOOK_UPS_AT_ONCE)),
        })
    }

    /// Runs `f` (a token look-up: [`AuthService::authenticate`], [`AuthService::session`]) on
    /// a blocking thread, at most [`LOOK_UPS_AT_ONCE`] at a time.
    pub async fn look_up<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&AuthService) -> Result<T, AuthRejection> + Send + 'static,
    ) -> Result<T, AuthRejection> {
        let task = |e: String| AuthRejection::Internal(Error::Task(e));
        // Never closed: a closed semaphore would be a bug, answered as an internal error.
        let permit = self
            .look_ups
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| task(e.to_string()))?;
        let auth = self.clone();
        // The permit goes with the thread: a request dropped while its look-up runs (the
        // client gave up) does not free a place before the thread does.
        tokio::task::spawn_blocking(move || {
            let answer = f(&auth);
            drop(permit);
            answer
        })
        .await
        .map_err(|e| task(e.to_string()))?
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Signs in on a password worker ([`AuthService::login_in`] there); [`LoginOutcome::Busy`]
    /// when all of them are busy and the queue is full.
    pub async fn login(
        self: &Arc<Self>,
        username: String,
        password: String,
        device: DeviceOf,
    ) -> Result<LoginOutcome> {
        let auth = self.clone();
        let done = self
            .workers
            .run(move |memory| auth.login_in(memory, &username, &password, &device))
            .await?;
        done.unwrap_or(Ok(LoginOutcome::Busy))
    }

    /// Signs in, hashing in `memory`; refused for a wrong username or password, throttled
    /// after [`MAX_FAILED_LOGINS`] wrong ones for the username within [`LOGIN_WINDOW_MS`].
    pub fn login_in(
        &self,
        memory: &mut HashMemory,
        username: &str,
        password: &str,
        device: &DeviceOf,
    ) -> Result<LoginOutcome> {
        let actor = &device.actor;
        let now = now_ms();
        // Counted now and kept if the password is wrong (or the lookup fails).
        if let Err(until) = self.throttle.attempt(username, now) {
            return Ok(LoginOutcome::Throttled { until });
        }
        // Counted in the database too, so servers sharing it share the limit; the count in
        // this process above keeps its memory bounded under a flood of made-up names.
        let name_key = LoginThrottle::key(username);
        if let Err(until) =
            self.store
                .count_sign_in(&name_key, now, LOGIN_WINDOW_MS, MAX_FAILED_LOGINS)?
        {
            return Ok(LoginOutcome::Throttled { until });
        }
        let user = self.store.user_by_username(username)?;
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        if !self.passwords.verify(memory, hash, password) {
            return Ok(LoginOutcome::Refused);
        }
        self.throttle.succeeded(username);
        self.store.clear_sign_ins(&name_key)?;
        let user = user.expect("verify fails without a hash");
        // Told only after the password was right: a revoked device's sign-in says why it is
        // refused, and a guess learns nothing. While its hand-over is open a sign-in is
        // allowed (its token then serves the hand-over only), so work kept past the token's
        // expiry can still be handed over.
        let device_id = device.id();
        if let Some(known) = self.store.device(device_id)? {
            // A shared tablet changes hands within a municipality; a device id seen in another
            // municipality is someone else's (a guessed or copied id could otherwise move a
            // device between municipalities, or end a revoked one's hand-over for it).
            if known.municipality != user.user.municipality_id {
                return Err(Error::DeviceTaken);
            }
            if known.access(now_ms()) == DeviceAccess::Closed {
                return Ok(LoginOutcome::DeviceRevoked(
                    known.notice().expect("a closed device is revoked"),
                ));
            }
        }
        self.store.register_actor(user.user.id, actor)?;
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let now = now_ms();
        let expires_at = now.saturating_add(self.token_ttl.as_millis() as Millis);
        let mut new_key_secret = [0u8; 32];
        OsRng.fill_bytes(&mut new_key_secret);
        // Handed out only here, after the password (a closed device got no further above).
        let key_secret = self.store.sign_in_device(&DeviceSignIn {
            device: device_id,
            user: user.user.id,
            actor,
            app_version: &device.app_version,
            token_hash: &token_hash(&raw),
            new_key_secret: &new_key_secret,
            expires_at,
            now,
        })?;
        Ok(LoginOutcome::Accepted(Login {
            token: hex::encode(raw),
            expires_at,
            user,
            device_secret: hex::encode(key_secret),
        }))
    }

    /// The user of a token, for every request but sync: refused once its device was
    /// revoked ([`AuthService::session`] for sync's hand-over).
    pub fn authenticate(&self, token: &str) -> Result<Principal, AuthRejection> {
        let session = self.session(token)?;
        match session.hand_over {
            Some(notice) => Err(AuthRejection::DeviceRevoked(notice)),
            None => Ok(session.principal),
        }
    }

    /// The user and device of a token, and the device's contact recorded (to the minute). A
    /// closed device's token is refused with its revocation; a revoked device still handing
    /// over passes with [`Session::hand_over`] set.
    pub fn session(&self, token: &str) -> Result<Session, AuthRejection> {
        let raw = parse_token(token)?;
        let hash = token_hash(&raw);
        let now = now_ms();
        let holder = match self.store.token_holder(&hash) {
            Ok(Some(holder)) if holder.expires_at <= now => {
                return Err(AuthRejection::ExpiredToken)
            }
            Ok(Some(holder)) => holder,
            Ok(None) => return Err(AuthRejection::InvalidToken),
            Err(e) => return Err(AuthRejection::Internal(e)),
        };
        let principal = holder.user.principal();
        let Some(device) = holder.device else {
            // A token from before the registry: no device to revoke (sign out everywhere
            // still ends it).
            return Ok(Session {
                principal,
                device: None,
                hand_over: None,
            });
        };
        let hand_over = match device.access(now) {
            DeviceAccess::Active => None,
            DeviceAccess::HandOver => device.notice(),
            DeviceAccess::Closed => {
                let notice = device.notice().expect("a closed device is revoked");
                return Err(AuthRejection::DeviceRevoked(notice));
            }
        };
        // Written at most once a minute per device: most requests only read.
        if now.saturating_sub(device.last_seen) >= LAST_SEEN_RESOLUTION_MS {
            self.store
                .touch_device(device.id, now)
                .map_err(AuthRejection::Internal)?;
        }
        Ok(Session {
            principal,
            device: Some(device.id),
            hand_over,
        })
    }

    pub fn logout(&self, token: &str) -> Result<(), AuthRejection> {
        let raw = parse_token(token)?;
        self.store
            .delete_token(&token_hash(&raw))
            .map_err(AuthRejection::Internal)
    }
}

fn parse_token(token: &str) -> Result<[u8; 32], AuthRejection> {
    let mut raw = [0u8; 32];
    hex::decode_to_slice(token, &mut raw).map_err(|_| AuthRejection::InvalidToken)?;
    Ok(raw)
}

/// The bearer token of a request, if any. The scheme name is case-insensitive (RFC 7235).
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthRejection> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(AuthRejection::MissingToken)
}

/// The authenticated user of a request: a handler taking this runs only with a valid token.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Principal);

impl<S> FromRequestParts<S> for Authenticated
where
    Arc<AuthService>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)?.to_owned();
        let auth = Arc::<AuthService>::from_ref(state);
        auth.look_up(move |auth| auth.authenticate(&token))
            .await
            .map(Authenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_unknown_users_never_pass() {
        let p = Passwords::new(PasswordCost::Insecure);
        let m = &mut p.memory();
        let h = p.hash("demo1234").unwrap();
        assert!(p.verify(m, Some(&h), "demo1234"));
        assert!(!p.verify(m, Some(&h), "demo12345"));
        assert!(!p.verify(m, None, "no such user"));
        assert!(!p.verify(m, Some("not a phc string"), "x"));
    }

    #[test]
    fn hashes_are_interchangeable_with_the_stock_argon2_ones() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let p = Passwords::new(PasswordCost::Insecure);
        let m = &mut p.memory();
        let ours = p.hash_in(m, "demo1234").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"demo1234", &parsed)
            .is_ok());
        // Stored before the workers existed: the standard cost, hashed the stock way.
        let salt = SaltString::generate(&mut OsRng);
        let stock = Argon2::default()
            .hash_password(b"demo1234", &salt)
            .unwrap()
            .to_string();
        assert!(p.verify(m, Some(&stock), "demo1234"));
        assert!(!p.verify(m, Some(&stock), "demo1235"));
        // The memory grew to the standard cost for that, and still serves the cheap hashes.
        assert!(p.verify(m, Some(&ours), "demo1234"));
    }

    #[test]
    fn a_stored_hash_asking_for_huge_memory_is_refused_not_allocated() {
        let p = Passwords::new(PasswordCost::Insecure);
        let m = &mut p.memory();
        let h = p.hash_in(m, "demo1234").unwrap();
        let huge = h.replace("m=256,", "m=4000000000,");
        assert_ne!(h, huge);
        assert!(!p.verify(m, Some(&huge), "demo1234"));
        assert_eq!(m.0.len(), 256, "nothing was allocated for it");
    }

    #[tokio::test]
    async fn sign_ins_past_the_workers_and_their_queue_are_busy_not_queued() {
        let p = Passwords::new(PasswordCost::Insecure);
        let workers = Arc::new(PasswordWorkers::start(1, || p.memory()).unwrap());
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(std::sync::Mutex::new(held));
        // One running and SIGN_INS_QUEUED_PER_WORKER queued sign-ins, all held.
        let mut waiting = Vec::new();
        for _ in 0..=SIGN_INS_QUEUED_PER_WORKER {
            let (workers, held) = (workers.clone(), held.clone());
            waiting.push(tokio::spawn(async move {
                workers
                    .run(move |_| held.lock().unwrap().recv().is_ok())
                    .await
            }));
        }
        while workers.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(workers.run(|_| true).await.unwrap().is_none(), "busy");
        for _ in 0..waiting.len() {
            release.send(()).unwrap();
        }
        for w in waiting {
            assert_eq!(w.await.unwrap().unwrap(), Some(true));
        }
        // Answered, the places are free again.
        assert_eq!(workers.run(|_| 7).await.unwrap(), Some(7));
    }

    /// A burst of look-ups runs at most `LOOK_UPS_AT_ONCE` at a time, and every one of them
    /// is answered; requests dropped while their look-ups run (clients that gave up) keep
    /// their places until the threads are done.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn token_look_ups_run_a_bounded_number_at_once_and_all_are_answered() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(crate::store::SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap());
        let auth = Arc::new(
            AuthService::new(store, &crate::config::Config::for_tests(dir.path())).unwrap(),
        );
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // A look-up waiting `ms` for a database connection.
        let look_up = |i: usize, ms: u64| {
            let (auth, running, most) = (auth.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                auth.look_up(move |_| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(ms));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(i)
                })
                .await
            })
        };
        let burst: Vec<_> = (0..4 * LOOK_UPS_AT_ONCE).map(|i| look_up(i, 20)).collect();
        for (i, answer) in burst.into_iter().enumerate() {
            assert_eq!(answer.await.unwrap().unwrap(), i);
        }
        assert!(most.load(Ordering::SeqCst) > 1, "look-ups run side by side");

        // Every place taken, then every request dropped while its look-up runs.
        let given_up: Vec<_> = (0..LOOK_UPS_AT_ONCE).map(|i| look_up(i, 200)).collect();
        while running.load(Ordering::SeqCst) < LOOK_UPS_AT_ONCE {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        given_up.iter().for_each(|request| request.abort());
        let after: Vec<_> = (0..LOOK_UPS_AT_ONCE).map(|i| look_up(i, 20)).collect();
        for (i, answer) in after.into_iter().enumerate() {
            assert_eq!(answer.await.unwrap().unwrap(), i);
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most <= LOOK_UPS_AT_ONCE, "{most} look-ups ran at once");
    }

    #[tokio::test]
    async fn a_panicking_sign_in_is_an_error_and_the_worker_stays() {
        let p = Passwords::new(PasswordCost::Insecure);
        let workers = PasswordWorkers::start(1, || p.memory()).unwrap();
        let failed = workers.run(|_| -> u8 { panic!("test") }).await;
        assert!(matches!(failed, Err(Error::Task(_))));
        assert_eq!(workers.run(|_| 7).await.unwrap(), Some(7));
    }

    #[test]
    fn the_sixth_attempt_within_the_window_is_refused_and_a_success_clears_the_count() {
        let t = LoginThrottle::default();
        let now = 1_000_000;
        for _ in 0..MAX_FAILED_LOGINS {
            assert_eq!(t.attempt("Mette", now), Ok(()));
        }
        let until = now + LOGIN_WINDOW_MS;
        assert_eq!(t.attempt(" mette ", now + 1), Err(until));
        assert_eq!(t.attempt("Mette", until), Ok(()), "a new window");
        t.succeeded("METTE");
        for _ in 0..MAX_FAILED_LOGINS {
            assert_eq!(t.attempt("mette", until + 1), Ok(()));
        }
    }

    /// The review's attack: the table used to be cleared once 10,000 names were tracked.
    #[test]
    fn a_flood_of_made_up_usernames_never_frees_a_lock() {
        let t = LoginThrottle::default();
        let now = 1_000_000;
        for _ in 0..MAX_FAILED_LOGINS {
            assert_eq!(t.attempt("mette", now), Ok(()));
        }
        let until = now + LOGIN_WINDOW_MS;
        // Almost locked: one guess left, which the flood must not restore either.
        for _ in 1..MAX_FAILED_LOGINS {
            assert_eq!(t.attempt("jens", now), Ok(()));
        }
        for i in 0..THROTTLE_CAPACITY + 10_000 {
            let _ = t.attempt(&format!("made-up-{i}"), now + 1 + i as Millis / 1_000);
        }
        let later = now + 10 * 60 * 1000;
        assert_eq!(t.attempt("Mette", later), Err(until));
        assert_eq!(t.attempt("jens", later), Ok(()));
        assert_eq!(t.attempt("jens", later), Err(until));
        let tracked = t.tracked.lock().unwrap().by_name.len();
        assert!(tracked <= THROTTLE_CAPACITY, "{tracked}");
    }

    #[test]
    fn a_table_full_of_locks_refuses_new_names_rather_than_dropping_a_lock() {
        let t = LoginThrottle::with_capacity(100);
        let now = 1_000_000;
        let lock = |name: &str, at: Millis| {
            for _ in 0..MAX_FAILED_LOGINS {
                let _ = t.attempt(name, at);
            }
        };
        lock("mette", now);
        for i in 0..99 {
            lock(&format!("made-up-{i}"), now + 1);
        }
        // Full of locks: a new name waits (fail closed); the locked ones stay locked.
        let refused = t.attempt("ny-bruger", now + 2).unwrap_err();
        assert!(
            refused > now + 2 && refused <= now + LOGIN_WINDOW_MS,
            "{refused}"
        );
        assert_eq!(t.attempt("mette", now + 2), Err(now + LOGIN_WINDOW_MS));
        // Windows end and the table empties of them.
        let after = now + LOGIN_WINDOW_MS + 1;
        assert_eq!(t.attempt("ny-bruger", after), Ok(()));
        assert_eq!(t.attempt("mette", after), Ok(()));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
            bearer(&h).map(str::to_owned).ok()
        };
        for value in ["Bearer abc", "bearer abc", "BEARER  abc", "bEaReR abc "] {
            assert_eq!(with(value).as_deref(), Some("abc"), "{value}");
        }
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearerabc"), None);
    }

    #[test]
    fn tokens_must_be_64_hex_chars() {
        assert!(parse_token(&"ab".repeat(32)).is_ok());
        assert!(parse_token("abc").is_err());
        assert!(parse_token(&"zz".repeat(32)).is_err());
    }
}
