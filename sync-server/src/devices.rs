//! The device registry's requests (issue #14), answered over a [`Store`] (the handlers in
//! `http` run them off the async threads): a leader or admin lists the devices of their
//! municipality's staff and revokes one; anyone signs themselves out everywhere, and a leader
//! or admin a colleague. Who may is `shared::auth::may_manage_devices_of`; another
//! municipality's devices and users do not exist for the asker (404). What a revoked device may
//! still do is `shared::device_registry`'s, enforced in `auth` and the sync handler.

use crate::api_error::ApiError;
use crate::store::{now_ms, DeviceRecord, Store};
use homerehab_shared::api::{DeviceRevocation, DeviceView, RevokeRequest, SignedOutEverywhere};
use homerehab_shared::audit::{AuditAction, AuditRecord};
use homerehab_shared::auth::Principal;
use homerehab_shared::auth::{
    may_manage_devices_of, may_sign_out_everywhere, Capability, DeviceScope,
};
use homerehab_shared::ids::{DeviceId, UserId};

/// The longest reason kept (a sentence or two; it is shown on the revoked device).
pub const MAX_REASON_CHARS: usize = 500;

fn view(d: DeviceRecord) -> DeviceView {
    DeviceView {
        id: d.id,
        user_id: d.user,
        username: d.username,
        display_name: d.display_name,
        team_id: d.team_id,
        first_seen: d.first_seen,
        last_seen: d.last_seen,
        app_version: d.app_version,
        revoked: d.revocation.map(|r| DeviceRevocation {
            at: r.at,
            by: r.by,
            by_name: r.by_name,
            reason: r.reason,
            handed_over_at: r.handed_over_at,
        }),
    }
}

fn path_id(value: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(value).map_err(|_| ApiError::BadRequest {
        kind: "invalid",
        message: format!("`{what}` must be an id"),
    })
}

/// The reason, trimmed; a clear 400 when empty or too long.
pub fn checked_reason(reason: &str) -> Result<String, ApiError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ApiError::BadRequest {
            kind: "invalid",
            message: "say why the device is revoked; the device shows it".into(),
        });
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::BadRequest {
            kind: "invalid",
            message: format!("the reason is longer than {MAX_REASON_CHARS} characters"),
        });
    }
    Ok(reason.to_string())
}

fn refusal(scope: DeviceScope, not_found: &str) -> Option<ApiError> {
    match scope {
        DeviceScope::Manage => None,
        DeviceScope::Forbidden => Some(ApiError::Forbidden(format!(
            "managing devices needs the right to {}",
            Capability::ManageDevices.as_str()
        ))),
        DeviceScope::Hidden => Some(ApiError::NotFound(not_found.to_string())),
    }
}

/// `GET /v1/devices`: every device of the asker's municipality's staff. Blocking.
pub fn list(store: &dyn Store, who: &Principal) -> Result<Vec<DeviceView>, ApiError> {
    if let Some(e) = refusal(
        may_manage_devices_of(who, who.municipality_id),
        "no devices",
    ) {
        return Err(e);
    }
    let municipality = who
        .municipality_id
        .expect("managed within a known municipality");
    let devices = store.devices_of_municipality(municipality)?;
    Ok(devices.into_iter().map(view).collect())
}

/// `POST /v1/devices/{id}/revoke`: from now on the device hands over its unsynced work and
/// erases its data; a device revoked already keeps its first revocation. Blocking.
pub fn revoke(
    store: &dyn Store,
    who: &Principal,
    id: &str,
    req: &RevokeRequest,
) -> Result<DeviceView, ApiError> {
    let id = DeviceId(path_id(id, "id")?);
    let reason = checked_reason(&req.reason)?;
    let not_found = || ApiError::NotFound("no such device in your municipality".into());
    let device = store.device(id)?.ok_or_else(not_found)?;
    if let Some(e) = refusal(
        may_manage_devices_of(who, device.municipality),
        "no such device in your municipality",
    ) {
        return Err(e);
    }
    let now = now_ms();
    let newly = store.revoke_device(id, who.user_id, &reason, now)?;
    if newly {
        store.append_audit(&[AuditRecord {
            target: Some(id.0),
            ..AuditRecord::by(who, AuditAction::DeviceRevoked, now)
        }])?;
    }
    // Ids only: the reason may name a person.
    tracing::info!(device = %id, by = %who.user_id, newly, "device revoked");
    Ok(view(store.device(id)?.ok_or_else(not_found)?))
}

/// `POST /v1/users/{id}/sign-out-everywhere`: ends every token of the user (the devices stay
/// registered and their data stays; each must sign in again). Blocking.
pub fn sign_out_everywhere(
    store: &dyn Store,
    who: &Principal,
    user: &str,
) -> Result<SignedOutEverywhere, ApiError> {
    let user = UserId(path_id(user, "id")?);
    let not_found = "no such user in your municipality";
    let owner = store
        .user_by_id(user)?
        .ok_or_else(|| ApiError::NotFound(not_found.into()))?;
    let scope = may_sign_out_everywhere(who, user, owner.user.municipality_id);
    if let Some(e) = refusal(scope, not_found) {
        return Err(e);
    }
    let ended = store.end_tokens_of(user)?;
    store.append_audit(&[AuditRecord {
        target: Some(user.0),
        ..AuditRecord::by(who, AuditAction::SignedOutEverywhere, now_ms())
    }])?;
    tracing::info!(%user, by = %who.user_id, ended, "signed out everywhere");
    Ok(SignedOutEverywhere {
        ended: ended as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert!(checked_reason("  ").is_err());
        assert_eq!(checked_reason(" Tabt i bussen ").unwrap(), "Tabt i bussen");
        assert!(checked_reason(&"æ".repeat(MAX_REASON_CHARS)).is_ok());
        assert!(checked_reason(&"æ".repeat(MAX_REASON_CHARS + 1)).is_err());
    }
}
