//! Issue #11's referral and screening operations: a referral on the team's roster, its
//! screening against the inclusion criteria (the rule is `shared::effect::screening`), and the
//! funnel that counts every referral. Criteria and reasons are the municipality's effect
//! settings in force (`shared::effect::settings`: the shipped lists until it edits them).

use super::convert::parse;
use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::error::CoreError;
use homerehab_core::store::{now_ms, Store};
use homerehab_shared::effect::screening::{Labelled, Screening, ScreeningOutcome};
use homerehab_shared::effect::settings::EffectSettings;
use homerehab_shared::ids::{CitizenId, ReferralId, UserId};
use homerehab_shared::library::Lang;
use homerehab_shared::model::{Citizen, ReferralRecord, ScreeningRecord};
use homerehab_shared::schedule::date_of;
use std::collections::{BTreeMap, HashMap};

fn text(l: &Labelled, lang: Lang) -> String {
    match lang {
        Lang::Da => l.da.clone(),
        _ => l.en.clone(),
    }
}

fn labelled_views(list: &[Labelled], lang: Lang) -> Vec<api::LabelledView> {
    list.iter()
        .map(|l| api::LabelledView {
            key: l.key.clone(),
            text: text(l, lang),
        })
        .collect()
}

/// `GET /api/screening-setup`: the municipality's criteria and reasons in force, without
/// retired ones (a new screening does not ask them).
pub fn screening_setup(core: &Core, lang: Lang) -> Result<api::ScreeningSetup> {
    let settings = core.data()?.effect_settings()?;
    Ok(api::ScreeningSetup {
        criteria: labelled_views(&settings.active_criteria(), lang),
        reasons: labelled_views(&settings.active_reasons(), lang),
    })
}

/// A criterion's or reason's text by key, retired ones included (old screenings name them);
/// the key itself for one no list knows.
fn text_of(list: &[Labelled], key: &str, lang: Lang) -> String {
    list.iter()
        .find(|l| l.key == key)
        .map_or_else(|| key.to_string(), |l| text(l, lang))
}

/// What screening reads of the signed-in user's team roster: its citizens and referrals (not
/// its care grants, which may be many).
struct TeamRoster {
    citizens: BTreeMap<String, Citizen>,
    referrals: BTreeMap<String, ReferralRecord>,
}

fn roster(store: &mut Store) -> Result<(TeamRoster, homerehab_core::store::Identity)> {
    let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
    let read = |store: &mut Store| -> homerehab_core::error::Result<TeamRoster> {
        Ok(TeamRoster {
            citizens: store.roster_citizens(me.team_id)?,
            referrals: store.referrals(me.team_id)?,
        })
    };
    let roster = match read(store) {
        Ok(r) => r,
        Err(CoreError::NotFound(_)) => {
            return Err(Error::not_found(
                "the team's roster is not on this device yet",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    Ok((roster, me))
}

fn view(
    r: &ReferralRecord,
    roster: &TeamRoster,
    names: &HashMap<UserId, String>,
    settings: &EffectSettings,
    lang: Lang,
) -> api::ReferralView {
    let name_of = |u: &UserId| names.get(u).cloned().unwrap_or_default();
    let s = r.screening.as_ref();
    let reason = s.and_then(|s| s.not_included_reason.clone());
    api::ReferralView {
        referral_id: r.id.to_string(),
        citizen_id: r.citizen_id.to_string(),
        citizen_name: roster
            .citizens
            .get(&r.citizen_id.to_string())
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        referred_on: r.referred_on.clone(),
        referred_by_name: name_of(&r.referred_by),
        note: r.note.clone(),
        status: match s {
            None => "awaiting_screening",
            Some(s) if s.included() => "included",
            Some(_) => "not_included",
        }
        .into(),
        criteria: s
            .map(|s| {
                s.criteria
                    .iter()
                    .map(|(key, met)| api::CriterionAnswer {
                        text: text_of(&settings.criteria, key, lang),
                        key: key.clone(),
                        met: *met,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        reason_text: reason
            .as_ref()
            .map(|key| text_of(&settings.not_included_reasons, key, lang)),
        reason,
        screened_on: s.map(|s| s.screened_on.clone()),
        screened_by_name: s.map(|s| name_of(&s.screened_by)),
        course_id: r.course_id.map(|c| c.to_string()),
    }
}

/// `POST /api/citizens/{citizen}/referrals`: a referral for a citizen on the team's roster.
pub fn refer_citizen(
    core: &Core,
    citizen: &str,
    req: api::NewReferral,
) -> Result<api::ReferralView> {
    let citizen: CitizenId = parse("citizen", citizen)?;
    let mut store = core.data()?;
    let (roster, me) = roster(&mut store)?;
    if !roster.citizens.contains_key(&citizen.to_string()) {
        return Err(Error::not_found("no such citizen on this team's roster"));
    }
    let referral = ReferralRecord {
        id: ReferralId::new(),
        citizen_id: citizen,
        referred_on: req.referred_on.trim().to_string(),
        referred_by: me.user_id,
        note: req.note.filter(|n| !n.trim().is_empty()),
        recorded_at: now_ms(),
        screening: None,
        course_id: None,
    };
    referral
        .validate()
        .map_err(|e| Error::invalid(e.to_string()))?;
    store.put_referral(me.team_id, &referral)?;
    tracing::info!(referral = %referral.id, "citizen referred");
    let (roster, _) = self::roster(&mut store)?;
    let settings = store.effect_settings()?;
    Ok(view(
        &referral,
        &roster,
        &store.staff_names()?,
        &settings,
        Lang::Da,
    ))
}

/// `GET /api/referrals`: the team's referrals, those awaiting screening first, newest first.
pub fn referrals(core: &Core, lang: Lang) -> Result<Vec<api::ReferralView>> {
    let mut store = core.data()?;
    let (roster, _) = match roster(&mut store) {
        Ok(r) => r,
        Err(Error::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let names = store.staff_names()?;
    let settings = store.effect_settings()?;
    let mut list: Vec<&ReferralRecord> = roster.referrals.values().collect();
    list.sort_by(|a, b| {
        (a.screening.is_some(), &b.referred_on, b.recorded_at).cmp(&(
            b.screening.is_some(),
            &a.referred_on,
            a.recorded_at,
        ))
    });
    Ok(list
        .into_iter()
        .map(|r| view(r, &roster, &names, &settings, lang))
        .collect())
}

/// `POST /api/referrals/{referral}/screening`: the checklist and the outcome, once.
pub fn screen_referral(
    core: &Core,
    referral: &str,
    req: api::ScreeningRequest,
    lang: Lang,
) -> Result<api::ReferralView> {
    let id: ReferralId = parse("referral", referral)?;
    let outcome = match req.outcome.as_str() {
        "included" => ScreeningOutcome::Included,
        "not_included" => ScreeningOutcome::NotIncluded {
            reason: req.reason.clone().unwrap_or_default(),
        },
        other => {
            return Err(Error::invalid(format!(
                "`{other}` is not an outcome; use included or not_included"
            )))
        }
    };
    let screening = Screening {
        answers: req
            .criteria
            .iter()
            .map(|c| (c.key.clone(), c.met))
            .collect(),
        outcome,
        note: req.note.filter(|n| !n.trim().is_empty()),
    };
    let mut store = core.data()?;
    // Against the criteria and reasons in force on this device: the ones its user saw.
    let settings = store.effect_settings()?;
    screening
        .check(&settings.active_criteria(), &settings.active_reasons())
        .map_err(|e| Error::invalid(e.to_string()))?;
    let (roster, me) = roster(&mut store)?;
    let Some(existing) = roster.referrals.get(&id.to_string()) else {
        return Err(Error::not_found("no such referral on this team's roster"));
    };
    let record = ScreeningRecord {
        criteria: screening.answers.iter().cloned().collect(),
        not_included_reason: match &screening.outcome {
            ScreeningOutcome::Included => None,
            ScreeningOutcome::NotIncluded { reason } => Some(reason.clone()),
        },
        note: screening.note.clone(),
        screened_on: homerehab_shared::effect::iso(date_of(now_ms())),
        screened_by: me.user_id,
    };
    if let Some(stored) = &existing.screening {
        // The same screening sent again (a retry whose answer was lost): it stands, answered
        // as the first time, so the user goes on to the course.
        let same = ScreeningRecord {
            screened_on: stored.screened_on.clone(),
            ..record.clone()
        };
        if *stored == same {
            return Ok(view(
                existing,
                &roster,
                &store.staff_names()?,
                &settings,
                lang,
            ));
        }
        return Err(Error::invalid(
            "this referral is screened already; a screening is not changed afterwards",
        ));
    }
    store.screen_referral(me.team_id, id, &record)?;
    tracing::info!(referral = %id, included = record.included(), "referral screened");
    let (roster, _) = self::roster(&mut store)?;
    let r = &roster.referrals[&id.to_string()];
    Ok(view(r, &roster, &store.staff_names()?, &settings, lang))
}

/// For `create_course`: checks that `referral` may lead to a course for `citizen`.
pub(crate) fn check_course_referral(
    store: &mut Store,
    referral: &str,
    citizen: CitizenId,
) -> Result<ReferralId> {
    let id: ReferralId = parse("referral", referral)?;
    let (roster, _) = roster(store)?;
    let Some(r) = roster.referrals.get(&id.to_string()) else {
        return Err(Error::invalid("no such referral on this team's roster"));
    };
    if r.citizen_id != citizen {
        return Err(Error::invalid("the referral is for another citizen"));
    }
    if !r.screening.as_ref().is_some_and(ScreeningRecord::included) {
        return Err(Error::invalid(
            "only an included referral leads to a course: screen it first",
        ));
    }
    if r.course_id.is_some() {
        return Err(Error::invalid(
            "a course was created from this referral already",
        ));
    }
    Ok(id)
}

/// `GET /api/referrals/funnel`: every referral of the team counted, and what became of the
/// courses created from them.
pub fn referral_funnel(core: &Core, lang: Lang) -> Result<api::ReferralFunnel> {
    let mut store = core.data()?;
    let (roster, _) = match roster(&mut store) {
        Ok(r) => r,
        Err(Error::NotFound(_)) => return Ok(api::ReferralFunnel::default()),
        Err(e) => return Err(e),
    };
    let statuses: HashMap<String, String> = store
        .courses()?
        .into_iter()
        .map(|c| (c.id.to_string(), c.status))
        .collect();
    let mut f = api::ReferralFunnel::default();
    let mut by_reason: HashMap<String, u32> = HashMap::new();
    for r in roster.referrals.values() {
        f.referred += 1;
        match &r.screening {
            None => f.awaiting_screening += 1,
            Some(s) => match &s.not_included_reason {
                None => f.included += 1,
                Some(reason) => {
                    f.not_included += 1;
                    *by_reason.entry(reason.clone()).or_default() += 1;
                }
            },
        }
        if let Some(course) = r.course_id {
            f.courses_created += 1;
            match statuses.get(&course.to_string()).map(String::as_str) {
                Some("completed") => f.courses_completed += 1,
                Some("ended_early") => f.courses_ended_early += 1,
                _ => {}
            }
        }
    }
    let reasons = store.effect_settings()?.not_included_reasons;
    let mut by_reason: Vec<(String, String, u32)> = by_reason
        .into_iter()
        .map(|(key, n)| {
            let t = text_of(&reasons, &key, lang);
            (key, t, n)
        })
        .collect();
    by_reason.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    f.not_included_by_reason = by_reason;
    Ok(f)
}

/// Birth year from the API: optional, within living memory.
pub(crate) fn birth_year(year: Option<u16>) -> Result<Option<i32>> {
    let this_year = date_of(now_ms()).year();
    match year.map(i32::from) {
        Some(y) if !(1900..=this_year).contains(&y) => Err(Error::invalid(format!(
            "birth year {y} is not between 1900 and {this_year}"
        ))),
        y => Ok(y),
    }
}

/// Sex from the API: `female`, `male` or nothing.
pub(crate) fn sex(sex: Option<&str>) -> Result<Option<homerehab_shared::effect::change::Sex>> {
    use homerehab_shared::effect::change::Sex;
    match sex.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some("female") => Ok(Some(Sex::Female)),
        Some("male") => Ok(Some(Sex::Male)),
        Some(other) => Err(Error::invalid(format!(
            "`{other}` is not a sex the norms know; use female or male, or leave it out"
        ))),
    }
}

/// Sex to the API.
pub(crate) fn sex_label(sex: Option<homerehab_shared::effect::change::Sex>) -> Option<String> {
    use homerehab_shared::effect::change::Sex;
    sex.map(|s| {
        match s {
            Sex::Female => "female",
            Sex::Male => "male",
        }
        .to_string()
    })
}
