//! Who is signed in on this device, and the app lock's persistence: the PIN hash, wrong
//! attempts and "sign in again" in `meta` (the rules: [`crate::lock`]).

use super::clock::now_ms;
use super::database::Store;
use crate::error::{CoreError, Result};
use crate::lock::{self, LockState};
use homerehab_shared::ids::*;
use homerehab_shared::model::{Millis, Role};
use rusqlite::OptionalExtension;

/// Who is signed in on this device.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub team_id: TeamId,
    pub server_url: String,
    pub token: String,
    pub expires_at: Millis,
    /// Whose library the device holds; absent in identities stored before it was sent.
    #[serde(default)]
    pub municipality_id: Option<MunicipalityId>,
    /// Further teams the user serves; absent in identities stored before it was kept.
    #[serde(default)]
    pub granted_teams: Vec<TeamId>,
}

/// Without the token: a debug print that reaches a log must not hand out the session.
impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("team_id", &self.team_id)
            .field("server_url", &self.server_url)
            .field("token", &"(withheld)")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The user as the server's rules see them (`shared::auth`).
    pub fn principal(&self) -> homerehab_shared::auth::Principal {
        homerehab_shared::auth::Principal {
            user_id: self.user_id,
            role: self.role,
            team_id: self.team_id,
            granted_teams: self.granted_teams.clone(),
            municipality_id: self.municipality_id,
        }
    }
}

impl Store {
    pub fn set_identity(&self, id: &Identity) -> Result<()> {
        self.set_meta("identity", &serde_json::to_vec(id).expect("serializable"))
    }

    pub fn identity(&self) -> Result<Option<Identity>> {
        Ok(self
            .meta("identity")?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    pub(super) fn me(&self) -> Result<Identity> {
        self.identity()?.ok_or(CoreError::NotSignedIn)
    }

    // ---- the app lock (the rules: crate::lock) ----------------------------------------------
    //
    // Meta keys: `pin_hash` (argon2id PHC string), `pin_failures` (wrong PINs in a row, decimal),
    // `sign_in_required` (present after too many wrong PINs). The open/closed gate is in memory.

    /// Locks the app after `idle_ms` without a data request (0: never).
    pub fn set_idle_lock(&mut self, idle_ms: Millis) {
        self.gate.set_idle(idle_ms);
    }

    /// What stands between the person and the data at `now` (applies the idle rule).
    pub fn lock_state(&mut self, now: Millis) -> Result<LockState> {
        if self.is_sealed() {
            // Encrypted and the key not known: the PIN slot, else only a sign-in, opens it.
            return Ok(if self.has_pin()? {
                LockState::Locked
            } else {
                LockState::SignInRequired
            });
        }
        Ok(if self.identity()?.is_none() {
            LockState::SignedOut
        } else if self.meta("sign_in_required")?.is_some() {
            LockState::SignInRequired
        } else if !self.has_pin()? {
            LockState::NoPin
        } else if self.gate.is_open(now) {
            LockState::Unlocked
        } else {
            LockState::Locked
        })
    }

    /// Every data request asks this first: fine while open, [`CoreError::Locked`] while
    /// locked or after too many wrong PINs. A request is not use ([`Store::touched`] is): the
    /// screens reload themselves after every background sync.
    pub fn require_unlocked(&mut self, now: Millis) -> Result<()> {
        match self.lock_state(now)? {
            LockState::SignedOut => Err(CoreError::NotSignedIn),
            LockState::SignInRequired | LockState::Locked => Err(CoreError::Locked),
            LockState::NoPin | LockState::Unlocked => Ok(()),
        }
    }

    /// The person used the app at `now` (a tap, a key): the idle time starts again while it
    /// is open. Returns the lock's state.
    pub fn touched(&mut self, now: Millis) -> Result<LockState> {
        let state = self.lock_state(now)?;
        if matches!(state, LockState::NoPin | LockState::Unlocked) {
            self.gate.touch(now);
        }
        Ok(state)
    }

    /// Whether a PIN is set: the key file's PIN slot once encrypted, else the PIN's hash.
    fn has_pin(&self) -> Result<bool> {
        Ok(match self.key_file() {
            Some(file) => file.pin.is_some(),
            None => self.meta("pin_hash")?.is_some(),
        })
    }

    /// After a successful online sign-in: the app is open, any earlier PIN and count of wrong
    /// PINs are forgotten, and the person chooses a new PIN.
    pub fn signed_in(&mut self) -> Result<()> {
        self.readable()?;
        self.update_key_file(|f| {
            f.pin = None;
            f.pin_failures = 0;
            Ok(())
        })?;
        self.conn.execute(
            "DELETE FROM meta WHERE key IN ('pin_hash', 'pin_failures', 'sign_in_required')",
            [],
        )?;
        // Rights may differ now: refused changes are offered once more.
        self.conn.execute("DELETE FROM refusals", [])?;
        self.gate.open(now_ms());
        Ok(())
    }

    /// After signing out: the token is forgotten and only an online sign-in opens the app
    /// again; documents, outbox and refusals stay for whoever signs in next (the same person's
    /// work goes on; another's is parked by `switch_user`).
    pub fn signed_out(&mut self) -> Result<()> {
        self.readable()?;
        // The PIN no longer opens the file either: only a sign-in (the server's slot) does.
        self.update_key_file(|f| {
            f.pin = None;
            f.pin_failures = 0;
            Ok(())
        })?;
        let tx = self.conn.transaction()?;
        if let Some(bytes) = tx
            .query_row("SELECT value FROM meta WHERE key = 'identity'", [], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?
        {
            if let Ok(mut identity) = serde_json::from_slice::<Identity>(&bytes) {
                identity.token.clear();
                tx.execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'identity'",
                    [serde_json::to_vec(&identity).expect("serializable")],
                )?;
            }
        }
        tx.execute(
            "DELETE FROM meta WHERE key IN ('pin_hash', 'pin_failures')",
            [],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('sign_in_required', X'01')",
            [],
        )?;
        tx.commit()?;
        self.gate.close();
        Ok(())
    }

    /// Sets the PIN (4–6 digits): only while the app is open — right after sign-in or unlocked.
    pub fn set_pin(&mut self, pin: &str) -> Result<()> {
        lock::validate_pin(pin)?;
        let now = now_ms();
        match self.lock_state(now)? {
            LockState::SignedOut => return Err(CoreError::NotSignedIn),
            LockState::SignInRequired => return Err(CoreError::SignInRequired),
            LockState::Locked => return Err(CoreError::Locked),
            LockState::NoPin | LockState::Unlocked => {}
        }
        if let Some(key) = self.data_key().cloned() {
            // Encrypted: the PIN slot is the PIN's only trace (no hash in the database).
            self.update_key_file(|f| f.set_pin(&key, pin))?;
            self.conn.execute(
                "DELETE FROM meta WHERE key IN ('pin_hash', 'pin_failures')",
                [],
            )?;
            self.gate.open(now);
            return Ok(());
        }
        let hash = lock::hash_pin(pin)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('pin_hash', ?1)",
            [hash.as_bytes()],
        )?;
        tx.execute("DELETE FROM meta WHERE key = 'pin_failures'", [])?;
        tx.commit()?;
        self.gate.open(now);
        Ok(())
    }

    /// Opens the app with the PIN. A wrong PIN says how many attempts are left; the last one
    /// forgets the PIN and requires an online sign-in (documents and outbox stay).
    pub fn unlock(&mut self, pin: &str) -> Result<()> {
        let now = now_ms();
        match self.lock_state(now)? {
            LockState::SignedOut => return Err(CoreError::NotSignedIn),
            LockState::SignInRequired => return Err(CoreError::SignInRequired),
            LockState::NoPin => return Err(CoreError::NoPin),
            LockState::Locked | LockState::Unlocked => {}
        }
        lock::validate_pin(pin)?;
        if self.is_encrypted() {
            return self.unlock_encrypted(pin);
        }
        let hash = self
            .meta("pin_hash")?
            .and_then(|h| String::from_utf8(h).ok())
            .unwrap_or_default();
        if lock::verify_pin(&hash, pin) {
            self.conn
                .execute("DELETE FROM meta WHERE key = 'pin_failures'", [])?;
            // The idle time starts when the app opens, not when the (slow) PIN check began.
            self.gate.open(now_ms());
            return Ok(());
        }
        self.gate.close();
        let failures = self.pin_failures()? + 1;
        if failures >= lock::PIN_ATTEMPTS {
            let tx = self.conn.transaction()?;
            tx.execute(
                "DELETE FROM meta WHERE key IN ('pin_hash', 'pin_failures')",
                [],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('sign_in_required', X'01')",
                [],
            )?;
            tx.commit()?;
            return Err(CoreError::WrongPin { attempts_left: 0 });
        }
        self.set_meta("pin_failures", failures.to_string().as_bytes())?;
        Err(CoreError::WrongPin {
            attempts_left: lock::PIN_ATTEMPTS - failures,
        })
    }

    /// [`Store::unlock`] of an encrypted store: the PIN opens the PIN slot or it is wrong. The
    /// wrong ones are counted in the key file (the database may be unreadable); the last one
    /// drops the PIN slot — the server's slots and every byte of data stay, so an online
    /// sign-in opens the store again.
    fn unlock_encrypted(&mut self, pin: &str) -> Result<()> {
        let Some(file) = self.key_file() else {
            return Err(CoreError::NoPin);
        };
        let (opened, failures) = (file.open_with_pin(pin)?, file.pin_failures);
        match opened {
            Some(key) => {
                self.unseal(key)?;
                if failures > 0 {
                    self.update_key_file(|f| {
                        f.pin_failures = 0;
                        Ok(())
                    })?;
                }
                self.gate.open(now_ms());
                Ok(())
            }
            None => {
                self.gate.close();
                let failures = failures + 1;
                if failures >= lock::PIN_ATTEMPTS {
                    self.update_key_file(|f| {
                        f.pin = None;
                        f.pin_failures = 0;
                        Ok(())
                    })?;
                    if !self.is_sealed() {
                        self.set_meta("sign_in_required", &[1])?;
                    }
                    return Err(CoreError::WrongPin { attempts_left: 0 });
                }
                self.update_key_file(|f| {
                    f.pin_failures = failures;
                    Ok(())
                })?;
                Err(CoreError::WrongPin {
                    attempts_left: lock::PIN_ATTEMPTS - failures,
                })
            }
        }
    }

    /// Locks the app now (the "Lås" button). Needs a PIN to open it again.
    pub fn lock(&mut self) -> Result<()> {
        match self.lock_state(now_ms())? {
            LockState::SignedOut => Err(CoreError::NotSignedIn),
            LockState::NoPin => Err(CoreError::NoPin),
            LockState::SignInRequired | LockState::Locked | LockState::Unlocked => {
                self.gate.close();
                Ok(())
            }
        }
    }

    /// Wrong PINs in a row so far.
    fn pin_failures(&self) -> Result<u32> {
        if let Some(file) = self.key_file() {
            return Ok(file.pin_failures);
        }
        Ok(self
            .meta("pin_failures")?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{course_with_a_logged_set, signed_in};
    use std::path::Path;

    /// A device signed in with PIN 2468, restarted (so locked).
    fn locked_with_pin(dir: &Path) -> Store {
        let mut store = signed_in(dir, Role::Assistant, TeamId::new());
        store.signed_in().unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::NoPin);
        store.set_pin("2468").unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Unlocked);
        drop(store);
        let mut store = Store::open(dir).unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Locked);
        store
    }

    #[test]
    fn a_debug_print_of_the_identity_withholds_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in(dir.path(), Role::Assistant, TeamId::new());
        let mut me = store.identity().unwrap().unwrap();
        me.token = "9f2c7d1e-session-token".into();
        let printed = format!("{me:?}");
        assert!(
            !me.token.is_empty() && !printed.contains(&me.token),
            "{printed}"
        );
        assert!(printed.contains(&me.username));
    }

    #[test]
    fn a_pin_unlocks_and_a_wrong_one_says_how_many_attempts_are_left() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = locked_with_pin(dir.path());
        assert!(matches!(
            store.require_unlocked(now_ms()),
            Err(CoreError::Locked)
        ));
        assert!(matches!(store.set_pin("1111"), Err(CoreError::Locked)));
        assert!(matches!(
            store.unlock("1357"),
            Err(CoreError::WrongPin { attempts_left: 4 })
        ));
        assert!(matches!(store.unlock("12"), Err(CoreError::InvalidPin)));
        assert!(matches!(
            store.unlock("1357"),
            Err(CoreError::WrongPin { attempts_left: 3 })
        ));
        let t = std::time::Instant::now();
        store.unlock("2468").unwrap();
        eprintln!("unlock took {:?}", t.elapsed());
        store.require_unlocked(now_ms()).unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Unlocked);
        store.lock().unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Locked);
    }

    #[test]
    fn the_right_pin_resets_the_count_of_wrong_ones_even_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = locked_with_pin(dir.path());
        for left in [4, 3, 2] {
            assert!(matches!(
                store.unlock("0000"),
                Err(CoreError::WrongPin { attempts_left }) if attempts_left == left
            ));
        }
        drop(store);
        // A restart does not give new attempts.
        let mut store = Store::open(dir.path()).unwrap();
        assert!(matches!(
            store.unlock("0000"),
            Err(CoreError::WrongPin { attempts_left: 1 })
        ));
        store.unlock("2468").unwrap();
        store.lock().unwrap();
        assert!(matches!(
            store.unlock("0000"),
            Err(CoreError::WrongPin { attempts_left: 4 })
        ));
    }

    #[test]
    fn five_wrong_pins_require_an_online_sign_in_and_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = locked_with_pin(dir.path());
        store.unlock("2468").unwrap();
        let team = store.identity().unwrap().unwrap().team_id;
        let course = course_with_a_logged_set(&mut store, team);
        let heads = store.all_heads().unwrap();
        let waiting = store.sync_status().unwrap().waiting;
        assert!(waiting >= 1);
        store.lock().unwrap();
        for left in (1..5).rev() {
            assert!(matches!(
                store.unlock("9999"),
                Err(CoreError::WrongPin { attempts_left }) if attempts_left == left
            ));
        }
        assert!(matches!(
            store.unlock("9999"),
            Err(CoreError::WrongPin { attempts_left: 0 })
        ));
        assert_eq!(
            store.lock_state(now_ms()).unwrap(),
            LockState::SignInRequired
        );
        // Even the right PIN no longer opens it, nor does setting a new one; it stays so after a restart.
        assert!(matches!(
            store.unlock("2468"),
            Err(CoreError::SignInRequired)
        ));
        assert!(matches!(
            store.set_pin("1234"),
            Err(CoreError::SignInRequired)
        ));
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.lock_state(now_ms()).unwrap(),
            LockState::SignInRequired
        );
        assert!(matches!(
            store.require_unlocked(now_ms()),
            Err(CoreError::Locked)
        ));
        // Nothing logged is lost: documents, the outbox and the logged set are all there.
        assert_eq!(store.all_heads().unwrap(), heads);
        assert_eq!(store.sync_status().unwrap().waiting, waiting);
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 1);
        // An online sign-in opens it again; the person chooses a new PIN.
        store.signed_in().unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::NoPin);
        store.require_unlocked(now_ms()).unwrap();
        store.set_pin("1357").unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Unlocked);
    }

    #[test]
    fn an_idle_app_locks_itself_and_use_keeps_it_open_but_requests_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = locked_with_pin(dir.path());
        store.set_idle_lock(60_000);
        store.unlock("2468").unwrap();
        let t0 = now_ms();
        assert_eq!(store.touched(t0 + 50_000).unwrap(), LockState::Unlocked);
        assert_eq!(store.touched(t0 + 100_000).unwrap(), LockState::Unlocked);
        // Requests alone (the screens reloading after a sync) are not use.
        store.require_unlocked(t0 + 150_000).unwrap();
        assert_eq!(store.lock_state(t0 + 170_000).unwrap(), LockState::Locked);
        assert_eq!(store.touched(t0 + 170_000).unwrap(), LockState::Locked);
        assert!(matches!(
            store.require_unlocked(t0 + 170_000),
            Err(CoreError::Locked)
        ));
    }

    #[test]
    fn without_a_pin_there_is_nothing_to_lock() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.lock_state(0).unwrap(), LockState::SignedOut);
        assert!(matches!(store.set_pin("2468"), Err(CoreError::NotSignedIn)));
        drop(store);
        let mut store = signed_in(dir.path(), Role::Assistant, TeamId::new());
        assert_eq!(store.lock_state(0).unwrap(), LockState::NoPin);
        assert!(matches!(store.lock(), Err(CoreError::NoPin)));
        assert!(matches!(store.unlock("2468"), Err(CoreError::NoPin)));
        assert!(matches!(store.set_pin("24680"), Ok(())));
        assert!(matches!(store.set_pin("2468x"), Err(CoreError::InvalidPin)));
    }
}
