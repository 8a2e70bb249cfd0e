//! Sign-in, who is signed in, the app lock, the status bar and "sync now".

use crate::app_core::Core;
use crate::error::Result;
use homerehab_app_api as api;
use homerehab_core::client::{self};
use homerehab_core::lock::LockState;
use homerehab_core::store::now_ms;
use std::sync::atomic::{AtomicUsize, Ordering};

// ---- sign-in and sync ----------------------------------------------------------------------

pub async fn login(core: &Core, req: api::LoginRequest) -> Result<api::Me> {
    let me = client::login(&core.store, &core.server_url, &req.username, &req.password).await?;
    Ok(api::Me {
        capabilities: crate::capability::of(&me),
        username: me.username,
        display_name: me.display_name,
        role: me.role.as_str().to_string(),
    })
}

/// Who is signed in on this device, if anyone (works offline).
pub fn me(core: &Core) -> Result<Option<api::Me>> {
    let store = core.store();
    if store.is_sealed() {
        // Encrypted and not yet opened: who it is is inside; the PIN or a sign-in tells.
        return Ok(None);
    }
    Ok(store.identity()?.map(|me| api::Me {
        capabilities: crate::capability::of(&me),
        username: me.username,
        display_name: me.display_name,
        role: me.role.as_str().to_string(),
    }))
}

pub fn status(core: &Core) -> Result<api::Status> {
    let mut store = core.store();
    let lock = lock_state(store.lock_state(now_ms())?);
    if store.is_sealed() {
        // Nothing can be read before the PIN or a sign-in opens the store: only the lock.
        return Ok(api::Status {
            state: api::SyncState::Waiting,
            waiting: 0,
            last_sync: None,
            last_error: None,
            signed_in: true,
            lock,
            refused: Vec::new(),
            parked: Vec::new(),
            damaged: 0,
            erased_courses: 0,
            revoked: None,
        });
    }
    let s = store.sync_status()?;
    let signed_in = store.identity()?.is_some();
    // Status answers while the app is locked, so it names no citizen then.
    let open = matches!(lock, api::LockState::NoPin | api::LockState::Unlocked);
    let refused: Vec<api::RefusedChange> = store
        .refusals()?
        .into_iter()
        .map(|r| api::RefusedChange {
            document: r.header.kind.as_str().to_string(),
            course_id: r.header.course_id.map(|c| c.to_string()),
            citizen_name: r.citizen_name.filter(|_| open),
            refusal: r.refusal.kind().to_string(),
            detail: r.refusal.detail().to_string(),
            at: r.at,
            unsent: r.unsent,
        })
        .collect();
    let state = if core.syncing.load(Ordering::SeqCst) > 0 {
        api::SyncState::Syncing
    } else if store.revocation().is_some() && !signed_in {
        // Erased: nothing waits and nothing is offline; the notice says the rest.
        api::SyncState::Synced
    } else if s.update_required {
        api::SyncState::UpdateRequired
    } else if s.server_behind {
        api::SyncState::ServerBehind
    } else if s.sign_in_expired && signed_in {
        api::SyncState::SignInAgain
    } else if s.last_error.is_some() {
        api::SyncState::Offline
    } else if refused.iter().any(|r| r.unsent) {
        api::SyncState::Refused
    } else if s.waiting > 0 {
        api::SyncState::Waiting
    } else {
        api::SyncState::Synced
    };
    Ok(api::Status {
        state,
        waiting: s.waiting,
        last_sync: s.last_success,
        last_error: s.last_error,
        signed_in,
        lock,
        refused,
        parked: s.parked,
        damaged: s.damaged,
        erased_courses: s.erased_courses,
        revoked: store.revocation().map(|n| api::Revoked {
            by: n.revoked_by,
            reason: n.reason,
            at: n.revoked_at,
        }),
    })
}

// ---- the app lock (rules: homerehab_core::lock) ---------------------------------------------

fn lock_state(s: LockState) -> api::LockState {
    match s {
        LockState::SignedOut => api::LockState::SignedOut,
        LockState::SignInRequired => api::LockState::SignInRequired,
        LockState::NoPin => api::LockState::NoPin,
        LockState::Locked => api::LockState::Locked,
        LockState::Unlocked => api::LockState::Unlocked,
    }
}

/// Chooses the PIN: right after sign-in or while unlocked.
pub fn set_pin(core: &Core, req: api::PinRequest) -> Result<api::Status> {
    core.store().set_pin(&req.pin)?;
    status(core)
}

/// Opens the app with the PIN; a wrong one is `wrong_pin` with the attempts left.
pub fn unlock(core: &Core, req: api::PinRequest) -> Result<api::Status> {
    core.store().unlock(&req.pin)?;
    status(core)
}

pub fn lock(core: &Core) -> Result<api::Status> {
    core.store().lock()?;
    status(core)
}

/// The person used the app: the idle time starts again (while it is open).
pub fn touch(core: &Core) -> Result<api::LockState> {
    let state = core.store().touched(now_ms())?;
    Ok(lock_state(state))
}

/// Runs one sync now. An unreachable server is an `offline` error; the store has recorded
/// it, so [`status`] says offline afterwards.
pub async fn sync_now(core: &Core) -> Result<api::Status> {
    struct Running<'a>(&'a AtomicUsize);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    core.syncing.fetch_add(1, Ordering::SeqCst);
    let running = Running(&core.syncing);
    let result = client::sync_now(&core.store).await;
    drop(running);
    result?;
    status(core)
}

/// Signs out: hands over what is unsynced, ends the sign-in on the server (`/v1/logout`) and
/// forgets the token here; the device's work stays for the next sign-in.
pub async fn sign_out(core: &Core) -> Result<api::Status> {
    client::sign_out(&core.store).await?;
    status(core)
}
