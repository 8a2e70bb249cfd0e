//! #14 item 5: the municipality's retention and a citizen's erasure, asked of the server for
//! its administrator. The server decides (the legal minimum, running courses, who may); its
//! refusals come back as their messages. Names are added from this device's roster only.

use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::client;
use homerehab_shared::api::{EraseCitizenRequest, ErasureReason, RetentionSettings as Settings};
use homerehab_shared::ids::CitizenId;
use homerehab_shared::retention::{Erasure, RecordKind, MAXIMUM_YEARS};

fn years(s: &Settings) -> api::RetentionYears {
    api::RetentionYears {
        course_years: s.course_years,
        referral_years: s.referral_years,
        care_grant_years: s.care_grant_years,
    }
}

fn view(s: &Settings) -> api::RetentionView {
    api::RetentionView {
        years: years(s),
        minimum: api::RetentionYears {
            course_years: RecordKind::Course.minimum_years(),
            referral_years: RecordKind::Referral.minimum_years(),
            care_grant_years: RecordKind::CareGrant.minimum_years(),
        },
        maximum_years: MAXIMUM_YEARS,
    }
}

/// `GET /api/retention`.
pub async fn retention(core: &Core) -> Result<api::RetentionView> {
    drop(core.data()?);
    let settings = client::retention(&core.store)
        .await
        .map_err(Error::refused_by_server)?;
    Ok(view(&settings))
}

/// `POST /api/retention`: checked here first (the same rule as the server's) so a typo is
/// answered without a round trip.
pub async fn set_retention(core: &Core, r: api::RetentionYears) -> Result<api::RetentionView> {
    let settings = Settings {
        course_years: r.course_years,
        referral_years: r.referral_years,
        care_grant_years: r.care_grant_years,
    };
    settings
        .validate()
        .map_err(|e| Error::invalid(e.to_string()))?;
    drop(core.data()?);
    let stored = client::set_retention(&core.store, &settings)
        .await
        .map_err(Error::refused_by_server)?;
    Ok(view(&stored))
}

/// `GET /api/retention/due`.
pub async fn retention_due(core: &Core) -> Result<api::RetentionDueView> {
    drop(core.data()?);
    let due = client::retention_due(&core.store)
        .await
        .map_err(Error::refused_by_server)?;
    let names: std::collections::HashMap<CitizenId, String> = core
        .data()?
        .citizen_rows()?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let lines = due
        .erasures
        .iter()
        .map(|e| {
            let kind = match e {
                Erasure::Course { .. } => "course",
                Erasure::Referral { .. } => "referral",
                Erasure::CareGrant { .. } => "care_grant",
                Erasure::Citizen { .. } => "citizen",
            };
            api::RetentionDueLine {
                kind: kind.into(),
                citizen_id: e.citizen().to_string(),
                citizen_name: names.get(&e.citizen()).cloned().unwrap_or_default(),
            }
        })
        .collect();
    Ok(api::RetentionDueView {
        today: danish_date(&due.today),
        courses: due.courses,
        referrals: due.referrals,
        care_grants: due.care_grants,
        citizens: due.citizens,
        lines,
    })
}

/// `YYYY-MM-DD` as `dd-mm-åååå`; anything else as it came.
fn danish_date(iso: &str) -> String {
    match iso.split('-').collect::<Vec<_>>()[..] {
        [y, m, d] => format!("{d}-{m}-{y}"),
        _ => iso.to_string(),
    }
}

/// `POST /api/citizens/{citizen}/erase`.
pub async fn erase_citizen(
    core: &Core,
    citizen: &str,
    body: api::EraseCitizenBody,
) -> Result<api::ErasureReceiptView> {
    let citizen = citizen
        .parse::<CitizenId>()
        .map_err(|_| Error::invalid("not a citizen's id"))?;
    let reason = match body.reason.as_str() {
        "citizen_request" => ErasureReason::CitizenRequest,
        "recorded_in_error" => ErasureReason::RecordedInError,
        "order" => ErasureReason::Order,
        other => {
            return Err(Error::invalid(format!(
                "unknown reason '{other}': citizen_request, recorded_in_error or order"
            )))
        }
    };
    drop(core.data()?);
    let receipt = client::erase_citizen(
        &core.store,
        citizen,
        &EraseCitizenRequest {
            reason,
            force: body.force,
        },
    )
    .await
    .map_err(Error::refused_by_server)?;
    Ok(api::ErasureReceiptView {
        citizen_id: receipt.citizen_id.to_string(),
        deleted_documents: receipt.deleted_documents.len() as u32,
        rewritten_documents: receipt.rewritten_documents.len() as u32,
        erased_at_text: homerehab_shared::audit::danish_time(receipt.erased_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_judged_reads_in_danish() {
        assert_eq!(danish_date("2031-06-04"), "04-06-2031");
        assert_eq!(danish_date("soon"), "soon");
    }
}
