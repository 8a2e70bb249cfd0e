//! The device registry (#14) for leaders and admins, asked of the server: the staff's
//! devices, revoking one, and signing a user out everywhere. The server decides who may; its
//! refusals come back as their messages.

use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::client;
use homerehab_shared::api::DeviceView;
use homerehab_shared::ids::{DeviceId, UserId};

fn row(d: DeviceView, this_device: Option<DeviceId>) -> api::DeviceRow {
    api::DeviceRow {
        this_device: this_device == Some(d.id),
        id: d.id.to_string(),
        user_id: d.user_id.to_string(),
        username: d.username,
        display_name: d.display_name,
        first_seen: d.first_seen,
        last_seen: d.last_seen,
        app_version: d.app_version,
        revoked: d.revoked.map(|r| api::DeviceRevokedRow {
            at: r.at,
            by_name: r.by_name,
            reason: r.reason,
            handed_over_at: r.handed_over_at,
        }),
    }
}

/// `GET /api/devices`.
pub async fn devices(core: &Core) -> Result<Vec<api::DeviceRow>> {
    let devices = client::devices(&core.store)
        .await
        .map_err(Error::refused_by_server)?;
    let this = core.store().device_id().ok();
    Ok(devices.into_iter().map(|d| row(d, this)).collect())
}

/// `POST /api/devices/{device}/revoke`.
pub async fn revoke_device(
    core: &Core,
    device: &str,
    req: api::RevokeDeviceRequest,
) -> Result<api::DeviceRow> {
    let device = device
        .parse::<DeviceId>()
        .map_err(|_| Error::invalid("not a device id"))?;
    if req.reason.trim().is_empty() {
        return Err(Error::invalid(
            "say why the device is revoked; the device shows it",
        ));
    }
    let view = client::revoke_device(&core.store, device, req.reason.trim())
        .await
        .map_err(Error::refused_by_server)?;
    let this = core.store().device_id().ok();
    Ok(row(view, this))
}

/// `POST /api/users/{user}/sign-out-everywhere`: needs the app open and someone signed in.
pub async fn sign_out_everywhere(core: &Core, user: &str) -> Result<api::SignedOutEverywhere> {
    let user = user
        .parse::<UserId>()
        .map_err(|_| Error::invalid("not a user id"))?;
    drop(core.data()?);
    let ended = client::sign_out_everywhere(&core.store, user)
        .await
        .map_err(Error::refused_by_server)?;
    Ok(api::SignedOutEverywhere { ended: ended.ended })
}

/// `GET /api/citizens/{citizen}/access-report`: the server's report, the citizen's name added
/// from this device's roster when it holds it (the server's log names nobody).
pub async fn access_report(core: &Core, citizen: &str) -> Result<api::AccessReportView> {
    let citizen = citizen
        .parse::<homerehab_shared::ids::CitizenId>()
        .map_err(|_| Error::invalid("not a citizen's id"))?;
    let report = client::access_report(&core.store, citizen)
        .await
        .map_err(Error::refused_by_server)?;
    let citizen_name = core
        .data()?
        .citizen_rows()?
        .into_iter()
        .find(|c| c.id == citizen)
        .map(|c| c.name)
        .unwrap_or_default();
    let csv = homerehab_shared::audit::to_csv(&report);
    Ok(api::AccessReportView {
        citizen_id: citizen.to_string(),
        citizen_name,
        made_at: report.made_at,
        made_at_text: homerehab_shared::audit::danish_time(report.made_at),
        csv: String::from_utf8_lossy(&csv).into_owned(),
        lines: report
            .lines
            .into_iter()
            .map(|l| api::AccessLineView {
                entry: l.entry,
                at: l.at,
                at_text: homerehab_shared::audit::danish_time(l.at),
                who: l.who,
                role: l.role,
                what: l.what,
                purpose: l.purpose,
                device: l.device.map(|d| d.to_string()),
            })
            .collect(),
    })
}
