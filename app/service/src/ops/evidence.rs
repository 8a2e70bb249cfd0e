//! The leaders' evidence (#12): the server computes it (`shared::evidence`), the device asks,
//! keeps the last answer per period and team for offline reading (`homerehab_core::client::
//! evidence`) and hands it to the UI. Nothing is computed here: the answer is only reshaped
//! into the API's mirror types.

use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::client;
use homerehab_core::error::CoreError;
use homerehab_core::store::now_ms;
use homerehab_shared::effect::iso;
use homerehab_shared::model::parse_date;
use homerehab_shared::schedule::date_of;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The shared type as its API mirror. The two have the same JSON by design (the mirror exists
/// because the UI's crate may not depend on the domain), so serde carries one into the other;
/// `a_whole_report_survives_the_mirror` proves nothing is lost.
fn mirror<T: Serialize, U: DeserializeOwned>(value: &T) -> Result<U> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Internal(format!("the evidence answer does not fit the app: {e}")))
}

fn date(field: &str, value: &str) -> Result<String> {
    parse_date(value)
        .map(iso)
        .map_err(|_| Error::invalid(format!("{field}: `{value}` is not a date (YYYY-MM-DD)")))
}

/// `GET /api/evidence`: for the period asked (this calendar year so far without one).
pub async fn evidence(core: &Core, q: api::EvidenceQuery) -> Result<api::EvidenceView> {
    let today = date_of(now_ms());
    let from = match &q.from {
        Some(f) => date("from", f)?,
        None => iso(today.replace_ordinal(1).unwrap_or(today)),
    };
    let to = match &q.to {
        Some(t) => date("to", t)?,
        None => iso(today),
    };
    if to < from {
        return Err(Error::invalid(format!(
            "the period ends on {to}, before it starts on {from}"
        )));
    }
    let team = q.team.as_deref().filter(|t| !t.is_empty());
    let therapist = q.therapist.as_deref().filter(|t| !t.is_empty());
    let fetched = client::evidence(&core.store, &from, &to, team, therapist)
        .await
        .map_err(|e| match e {
            CoreError::Offline(detail) => Error::Core(CoreError::Offline(format!(
                "{detail}; no evidence for this period is kept on the device yet"
            ))),
            e => Error::refused_by_server(e),
        })?;
    Ok(api::EvidenceView {
        report: mirror(&fetched.report)?,
        fetched_at: fetched.fetched_at,
        offline: fetched.offline,
    })
}

/// `GET /api/evidence/settings`.
pub async fn evidence_settings(core: &Core) -> Result<api::EvidenceSettings> {
    let s = client::evidence_settings(&core.store)
        .await
        .map_err(Error::refused_by_server)?;
    mirror(&s)
}

/// `POST /api/evidence/settings`: what the server stored. It checks them
/// (`EvidenceSettings::validate`); they are checked here first only so an obviously broken
/// record does not travel.
pub async fn set_evidence_settings(
    core: &Core,
    settings: api::EvidenceSettings,
) -> Result<api::EvidenceSettings> {
    let settings: homerehab_shared::evidence::report::EvidenceSettings = mirror(&settings)?;
    settings
        .validate()
        .map_err(|e| Error::invalid(e.to_string()))?;
    let stored = client::set_evidence_settings(&core.store, &settings)
        .await
        .map_err(Error::refused_by_server)?;
    mirror(&stored)
}

/// `GET /api/evidence/municipalities`.
pub async fn evidence_municipalities(core: &Core) -> Result<Vec<api::Named>> {
    let list = client::evidence_municipalities(&core.store)
        .await
        .map_err(Error::refused_by_server)?;
    mirror(&list)
}

/// `GET /api/bi-export/{table}?from&to`: one file of the municipality's BI feed from the server
/// (who may have which rows is the server's to say); dates checked here for a clear message.
pub async fn bi_export(
    core: &Core,
    table: &str,
    q: api::BiExportQuery,
) -> Result<api::BiExportFile> {
    let (from, to) = (date("from", &q.from)?, date("to", &q.to)?);
    // A known table's name only, so nothing but `/v1/export/{table}` is asked of the server.
    let table = homerehab_shared::export::ExportTable::from_name(table)
        .map_err(|e| Error::invalid(e.to_string()))?
        .name();
    let (file_name, csv) = client::bi_export(&core.store, table, &from, &to)
        .await
        .map_err(Error::refused_by_server)?;
    Ok(api::BiExportFile { file_name, csv })
}

#[cfg(test)]
mod tests {
    use super::*;
    use homerehab_shared::effect::care_time::FollowUpOffsets;
    use homerehab_shared::evidence::report::{
        report, BenchmarkScope, EvidenceReport, EvidenceSettings, MunicipalityEffect, Named,
        ReportFacts, Scope, Viewer,
    };
    use homerehab_shared::evidence::suppression::Suppression;
    use homerehab_shared::evidence::targets::Period;
    use serde_json::json;

    fn from<T: DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    fn named(id: &str, name: &str) -> Named {
        Named {
            id: id.into(),
            name: name.into(),
        }
    }

    /// A report with every section filled: targets, funnel with reasons, staff, a cohort with
    /// tests, WHO-5 and care time, prices, and a benchmark of two municipalities.
    fn sample_report() -> EvidenceReport {
        let cohort: Vec<_> = (0..14)
            .map(|i| {
                from(json!({
                    "citizen_id": format!("c{i}"),
                    "tests": [
                        {"test": "chair_stand_30s", "judgement": (["improved", "maintained", "declined"][i % 3])},
                        {"test": "who5", "judgement": (["improved", "maintained", "incomplete"][i % 3])}
                    ],
                    "care_time": {
                        "baseline_minutes_per_week": 300 + 10 * i,
                        "follow_ups": [
                            {"offset_days": 77, "date": "2026-09-01", "minutes_per_week": 240 + 7 * i,
                             "change_minutes": -60 - 3 * i as i64, "change_percent": -20.0},
                            {"offset_days": 365, "date": "2027-06-01", "minutes_per_week": null,
                             "change_minutes": null, "change_percent": null}
                        ]
                    },
                    "sessions_planned": 24,
                    "sessions_delivered": 18 + i % 5
                }))
            })
            .collect();
        let referrals = (0..30)
            .map(|i| {
                from(json!({
                    "team_id": if i % 3 == 0 { "t2" } else { "t1" },
                    "therapist_id": if i % 3 == 0 { "u9" } else { "u1" },
                    "month": format!("2026-0{}", 1 + i % 6),
                    "screened": i % 5 != 4,
                    "inclusion": if i % 5 == 4 { serde_json::Value::Null }
                        else if i % 7 == 0 { json!({"kind": "not_included", "reason": "too_well"}) }
                        else { json!({"kind": "included"}) },
                    "started": i % 5 != 4 && i % 7 != 0,
                    "ending": if i % 4 == 0 { json!({"kind": "ended_early", "reason": "illness"}) }
                        else { json!({"kind": "completed"}) }
                }))
            })
            .collect();
        let staff = vec![
            from(
                json!({"user_id": "u1", "name": "Tina Terapeut", "team_id": "t1", "role": "therapist",
                "has_access": true, "trained_on": "2026-02-01",
                "last_work": [{"work": "edited_program", "last_on": "2026-06-20"}]}),
            ),
            from(
                json!({"user_id": "u2", "name": "Anna Assistent", "team_id": "t1", "role": "assistant",
                "has_access": true, "trained_on": "2026-02-01", "last_work": []}),
            ),
        ];
        let settings: EvidenceSettings = from(json!({
            "targets": [{"kind": "citizens_through_courses", "year": 2026, "target": 40},
                        {"kind": "staff_trained", "year": 2026, "target": 4}],
            "prices": {"dkk_per_home_care_hour": 400.0, "dkk_per_assistant_hour": 350.0,
                "dkk_per_therapist_hour": 450.0, "therapist_hours_per_course": 8.0,
                "assistant_minutes_per_session": 45.0, "licence_dkk_per_year": 50000.0,
                "tablets_dkk_per_year": 10000.0, "hours_per_fte": 1924.0, "effect_days": 365.0},
            "agreed_to_be_named": true,
            "comparison_group": null
        }));
        let period = Period::new(
            parse_date("2026-01-01").unwrap(),
            parse_date("2026-12-31").unwrap(),
        )
        .unwrap();
        let effect = |n: usize| {
            homerehab_shared::evidence::effect::effect_evidence(
                &cohort[..n],
                &FollowUpOffsets::default(),
            )
        };
        let facts = ReportFacts {
            municipality: named("m1", "Thisted Kommune"),
            teams: vec![named("t1", "Team Nord"), named("t2", "Team Syd")],
            team: None,
            therapist: None,
            settings,
            referrals,
            therapists: vec![named("u1", "Tina Terapeut"), named("u9", "Ulla Anden")],
            cohort: cohort.clone(),
            staff: staff.clone(),
            municipality_through_courses: 14,
            municipality_staff: staff,
            offsets: FollowUpOffsets::default(),
            benchmark: vec![
                MunicipalityEffect {
                    municipality: named("m1", "Thisted Kommune"),
                    agreed_to_be_named: true,
                    effect: effect(14),
                    history: vec![effect(14)],
                    asked: 0..1,
                },
                MunicipalityEffect {
                    municipality: named("m2", "Aarhus Kommune"),
                    agreed_to_be_named: false,
                    effect: effect(5),
                    history: vec![effect(5)],
                    asked: 0..1,
                },
            ],
            benchmark_scope: BenchmarkScope::of(period, parse_date("2026-04-01").unwrap()),
            suppression: Suppression { min_citizens: 10 },
        };
        let viewer = Viewer {
            municipality_id: "m1".into(),
            teams: vec!["t1".into()],
        };
        let scope = Scope {
            period,
            as_of: parse_date("2026-07-01").unwrap(),
        };
        report(&viewer, facts, scope).unwrap()
    }

    #[test]
    fn a_whole_report_survives_the_mirror() {
        let report = sample_report();
        assert!(report.business_case.is_some() && !report.targets.is_empty());
        let view: api::EvidenceReport = mirror(&report).unwrap();
        // Back to JSON: equal only if the mirror kept every field of every section.
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            serde_json::to_value(&report).unwrap()
        );
        if let Ok(path) = std::env::var("HOMEREHAB_EVIDENCE_SAMPLE") {
            std::fs::write(path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
        }
    }

    #[test]
    fn settings_survive_the_mirror_both_ways() {
        let s: api::EvidenceSettings = from(json!({
            "targets": [{"kind": "staff_active", "year": 2026, "target": 63}],
            "prices": null, "agreed_to_be_named": false, "comparison_group": ["m2"]
        }));
        let shared: EvidenceSettings = mirror(&s).unwrap();
        assert_eq!(shared.comparison_group, Some(vec!["m2".to_string()]));
        let back: api::EvidenceSettings = mirror(&shared).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn server_refusals_keep_their_message_and_kind() {
        let e = Error::refused_by_server(CoreError::Server {
            status: 400,
            message: "`prices.hours_per_fte` must be greater than 0".into(),
        });
        assert_eq!(e.kind(), api::ErrorKind::Invalid);
        assert!(e.to_string().contains("hours_per_fte"));
        assert_eq!(
            Error::refused_by_server(CoreError::Server {
                status: 403,
                message: "no".into()
            })
            .kind(),
            api::ErrorKind::Forbidden
        );
        assert_eq!(
            date("from", "2026-13-01").unwrap_err().kind(),
            api::ErrorKind::Invalid
        );
    }
}
