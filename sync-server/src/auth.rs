//! Login, tokens and the [`Authenticated`] extractor.
//!
//! A login checks the argon2 password hash, registers the device's Automerge actor id to the
//! user and hands out a random 32-byte token (hex). Only the token's SHA-256 is stored, so a
//! copy of the database does not hold usable tokens.

use crate::config::{Config, PasswordCost};
use crate::error::{Error, Result};
use crate::http::ApiError;
use crate::store::{now_ms, Store, UserRecord};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use automerge::ActorId;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use homerehab_shared::auth::Principal;
use homerehab_shared::model::Millis;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Hashes and verifies passwords.
pub struct Passwords {
    argon: Argon2<'static>,
    /// Verified when the user is unknown, so both cases cost the same.
    dummy: OnceLock<String>,
}

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

    pub fn hash(&self, password: &str) -> Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::PasswordHash(e.to_string()))
    }

    /// Whether `password` matches `hash`; with no hash, spends the same time and says no.
    pub fn verify(&self, hash: Option<&str>, password: &str) -> bool {
        let Some(hash) = hash else {
            let dummy = self
                .dummy
                .get_or_init(|| self.hash("no such user").expect("hashing a constant works"));
            let _ = self.matches(dummy, password);
            return false;
        };
        self.matches(hash, password)
    }

    fn matches(&self, hash: &str, password: &str) -> bool {
        PasswordHash::new(hash)
            .map(|parsed| {
                self.argon
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

/// A successful login.
pub struct Login {
    pub token: String,
    pub expires_at: Millis,
    pub user: UserRecord,
}

/// Why a request is not authenticated.
#[derive(Debug)]
pub enum AuthRejection {
    MissingToken,
    InvalidToken,
    ExpiredToken,
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
            AuthRejection::Internal(e) => ApiError::Internal(e),
        };
        e.into_response()
    }
}

/// Logins and token checks over a [`Store`]. All methods block.
pub struct AuthService {
    store: Arc<dyn Store>,
    passwords: Passwords,
    token_ttl: Duration,
    throttle: LoginThrottle,
}

/// Wrong passwords allowed per username within [`LOGIN_WINDOW_MS`] before sign-in is refused
/// for the rest of the window (even with the right password): an attacker on the network gets
/// a handful of guesses per quarter hour, a person who mistyped waits at most that long.
pub const MAX_FAILED_LOGINS: u32 = 5;
pub const LOGIN_WINDOW_MS: Millis = 15 * 60 * 1000;
/// Usernames tracked at most; beyond that the oldest windows are dropped (memory stays bounded
/// however many names an attacker tries).
const THROTTLE_CAPACITY: usize = 10_000;

/// Failed sign-ins per username (lower case), in this process. Several servers over one
/// database each keep their own count, so the limit is per server.
#[derive(Default)]
struct LoginThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<String, (u32, Millis)>>,
}

impl LoginThrottle {
    fn key(username: &str) -> String {
        username.trim().to_lowercase()
    }

    /// When the window of a refused username ends, if it is refused now.
    fn refused_until(&self, username: &str, now: Millis) -> Option<Millis> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(&Self::key(username)) {
            Some(&(count, since))
                if count >= MAX_FAILED_LOGINS && now < since + LOGIN_WINDOW_MS =>
            {
                Some(since + LOGIN_WINDOW_MS)
            }
            _ => None,
        }
    }

    fn failed(&self, username: &str, now: Millis) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= THROTTLE_CAPACITY {
            failures.retain(|_, (_, since)| now < *since + LOGIN_WINDOW_MS);
            if failures.len() >= THROTTLE_CAPACITY {
                failures.clear();
            }
        }
        let entry = failures.entry(Self::key(username)).or_insert((0, now));
        if now >= entry.1 + LOGIN_WINDOW_MS {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    fn succeeded(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&Self::key(username));
    }
}

/// The answer to a sign-in.
pub enum LoginOutcome {
    Accepted(Login),
    /// Wrong username or password (deliberately not saying which).
    Refused,
    /// Too many wrong passwords for this username: try again after this time.
    Throttled {
        until: Millis,
    },
}

fn token_hash(token_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(token_bytes).into()
}

impl AuthService {
    pub fn new(store: Arc<dyn Store>, config: &Config) -> Self {
        AuthService {
            store,
            passwords: Passwords::new(config.password_cost),
            token_ttl: config.token_ttl,
            throttle: LoginThrottle::default(),
        }
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Signs in; refused for a wrong username or password, throttled after
    /// [`MAX_FAILED_LOGINS`] wrong ones for the username within [`LOGIN_WINDOW_MS`].
    pub fn login(&self, username: &str, password: &str, actor: &ActorId) -> Result<LoginOutcome> {
        let now = now_ms();
        if let Some(until) = self.throttle.refused_until(username, now) {
            return Ok(LoginOutcome::Throttled { until });
        }
        let user = self.store.user_by_username(username)?;
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        if !self.passwords.verify(hash, password) {
            self.throttle.failed(username, now);
            return Ok(LoginOutcome::Refused);
        }
        self.throttle.succeeded(username);
        let user = user.expect("verify fails without a hash");
        self.store.register_actor(user.user.id, actor)?;
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let now = now_ms();
        let expires_at = now.saturating_add(self.token_ttl.as_millis() as Millis);
        self.store
            .insert_token(&token_hash(&raw), user.user.id, expires_at, now)?;
        Ok(LoginOutcome::Accepted(Login {
            token: hex::encode(raw),
            expires_at,
            user,
        }))
    }

    pub fn authenticate(&self, token: &str) -> Result<Principal, AuthRejection> {
        let raw = parse_token(token)?;
        match self.store.user_by_token(&token_hash(&raw)) {
            Ok(Some((_, expires_at))) if expires_at <= now_ms() => Err(AuthRejection::ExpiredToken),
            Ok(Some((user, _))) => Ok(user.principal()),
            Ok(None) => Err(AuthRejection::InvalidToken),
            Err(e) => Err(AuthRejection::Internal(e)),
        }
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
        tokio::task::spawn_blocking(move || auth.authenticate(&token))
            .await
            .map_err(|e| AuthRejection::Internal(Error::Task(e.to_string())))?
            .map(Authenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_unknown_users_never_pass() {
        let p = Passwords::new(PasswordCost::Insecure);
        let h = p.hash("demo1234").unwrap();
        assert!(p.verify(Some(&h), "demo1234"));
        assert!(!p.verify(Some(&h), "demo12345"));
        assert!(!p.verify(None, "no such user"));
        assert!(!p.verify(Some("not a phc string"), "x"));
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
