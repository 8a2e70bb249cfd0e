//! The app lock: sign in once online, then unlock with a 4–6 digit PIN, offline.
//!
//! The rules, in one place:
//! - a successful online sign-in unlocks the app and forgets any earlier PIN; the person then
//!   chooses a PIN ([`crate::store::Store::set_pin`]), stored only as an argon2id hash;
//! - with a PIN set the app starts locked, locks on request and after [`DEFAULT_IDLE_MS`] (or
//!   the configured time) without use, and opens again with the right PIN;
//! - after [`PIN_ATTEMPTS`] wrong PINs in a row the PIN is forgotten and only an online
//!   sign-in opens the app again. Documents and the outbox are never touched: nothing logged
//!   is lost, and background sync keeps sending it.
//!
//! The persistent part (PIN hash, wrong attempts, "sign in again") lives in the store's meta
//! table (see `Store::lock_state`); this module holds the pure parts: the PIN format, hashing,
//! and the in-memory [`Gate`] (unlocked or not, last use).

use crate::error::{CoreError, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use homerehab_shared::model::Millis;

/// Wrong PINs in a row before an online sign-in is required.
pub const PIN_ATTEMPTS: u32 = 5;

/// Idle time after which an unlocked app locks itself, unless configured otherwise.
pub const DEFAULT_IDLE_MS: Millis = 10 * 60_000;

/// What stands between the person and the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockState {
    /// No one has signed in on this device.
    SignedOut,
    /// Too many wrong PINs: sign in again online.
    SignInRequired,
    /// Signed in, no PIN chosen yet (right after sign-in): open, and a PIN may be set.
    NoPin,
    /// A PIN is set and has not been entered (or the app was idle too long).
    Locked,
    /// A PIN is set and was entered (or the person just signed in).
    Unlocked,
}

impl LockState {
    /// Whether the data may be shown and changed.
    pub fn is_open(self) -> bool {
        matches!(self, LockState::NoPin | LockState::Unlocked)
    }
}

/// argon2id's memory (KiB), passes and lanes for a PIN: its hash, and the key that wraps the
/// store's data key ([`crate::keys`]). See [`argon`] for why this cost.
pub const PIN_COST: (u32, u32, u32) = (32 * 1024, 3, 1);

/// argon2id at a moderate cost: 32 MiB, 3 passes — measured ≈ 55 ms per unlock on this
/// project's build machine (2 cores), leaving room for a slower tablet under 1 s. A PIN has few
/// possible values, so no hash cost protects it on its own: the attempt limit does, and the
/// cost only slows down guessing from a copied database file.
fn argon() -> Argon2<'static> {
    let (m_kib, t, p) = PIN_COST;
    let params = Params::new(m_kib, t, p, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PIN is 4–6 digits.
pub fn validate_pin(pin: &str) -> Result<()> {
    if (4..=6).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CoreError::InvalidPin)
    }
}

/// The PIN's argon2id hash as a PHC string (salt and parameters included).
pub fn hash_pin(pin: &str) -> Result<String> {
    validate_pin(pin)?;
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Document(format!("the PIN could not be hashed: {e}")))
}

/// Whether `pin` matches `hash` (a damaged hash matches nothing).
pub fn verify_pin(hash: &str, pin: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon().verify_password(pin.as_bytes(), &h).is_ok())
}

/// The in-memory half of the lock: whether the PIN (or a sign-in) opened the app since it
/// started, and when it was last used. A restart forgets it: the app starts locked.
#[derive(Clone, Debug)]
pub struct Gate {
    open: bool,
    last_use: Millis,
    idle_ms: Millis,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            open: false,
            last_use: 0,
            idle_ms: DEFAULT_IDLE_MS,
        }
    }
}

impl Gate {
    /// Locks after `idle_ms` without use (0: never).
    pub fn set_idle(&mut self, idle_ms: Millis) {
        self.idle_ms = idle_ms;
    }

    /// Whether it is open at `now`; closes it first if it has been idle too long.
    pub fn is_open(&mut self, now: Millis) -> bool {
        if self.open && self.idle_ms > 0 && now.saturating_sub(self.last_use) > self.idle_ms {
            self.open = false;
        }
        self.open
    }

    pub fn open(&mut self, now: Millis) {
        self.open = true;
        self.last_use = now;
    }

    pub fn close(&mut self) {
        self.open = false;
    }

    /// The app was used at `now` (a data request): the idle time starts again.
    pub fn touch(&mut self, now: Millis) {
        self.last_use = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_six_digits() {
        for ok in ["2468", "00000", "123456"] {
            assert!(validate_pin(ok).is_ok(), "{ok}");
        }
        for bad in ["", "123", "1234567", "12a4", " 1234", "١٢٣٤"] {
            assert!(
                matches!(validate_pin(bad), Err(CoreError::InvalidPin)),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_hash_verifies_its_pin_only() {
        // How long the PIN's argon2id takes is measured by `scripts/bench app`, not here.
        let hash = hash_pin("2468").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("2468"));
        assert!(verify_pin(&hash, "2468"));
        assert!(!verify_pin(&hash, "2469"));
        assert!(!verify_pin("garbage", "2468"));
    }

    #[test]
    fn the_gate_closes_after_idle_time_and_use_postpones_it() {
        let mut g = Gate::default();
        g.set_idle(1000);
        assert!(!g.is_open(0), "starts closed");
        g.open(10_000);
        assert!(g.is_open(10_900));
        g.touch(10_900);
        assert!(g.is_open(11_800), "use restarts the idle time");
        assert!(!g.is_open(11_901));
        assert!(!g.is_open(11_902), "stays closed");
        g.set_idle(0);
        g.open(0);
        assert!(g.is_open(Millis::MAX), "0 = never idle-locks");
        g.close();
        assert!(!g.is_open(1));
    }
}
