//! What both backends do with the read model's rows for retention (issue #14 item 5): the
//! rows as the SQL reads them, assembled into `shared::retention`'s facts per citizen.

use crate::error::{Error, Result};
use homerehab_shared::ids::{CitizenId, CourseId, ReferralId, TeamId};
use homerehab_shared::retention::{CareGrantFact, CitizenFacts, CourseFact, ReferralFact};
use std::collections::BTreeMap;
use std::str::FromStr;
use time::Date;

/// `rm_citizens`: citizen, team, active.
pub(super) type CitizenRow = (String, String, bool);
/// `rm_courses` with its last session (ms) and last test result (ISO date): course, citizen,
/// team, status, start date, last session, last result.
pub(super) type CourseRow = (
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
);
/// `rm_referrals`: referral, citizen, team, referred on, screened on, course.
pub(super) type ReferralRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);
/// `rm_care_grants`: citizen, team, effective, service code.
pub(super) type GrantRow = (String, String, String, Option<String>);

fn id<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::Corrupt(format!("a {what} id in the read model")))
}

fn date(s: &str) -> Result<Date> {
    homerehab_shared::model::parse_date(s)
        .map_err(|_| Error::Corrupt("a date in the read model".into()))
}

/// The facts per citizen. A course or referral of a citizen on no roster (the roster not yet
/// projected) counts its citizen as active, so the job never erases a roster entry it cannot see.
pub(super) fn assemble(
    citizens: Vec<CitizenRow>,
    courses: Vec<CourseRow>,
    referrals: Vec<ReferralRow>,
    grants: Vec<GrantRow>,
) -> Result<Vec<CitizenFacts>> {
    let mut out: BTreeMap<CitizenId, CitizenFacts> = BTreeMap::new();
    let mut entry = |citizen: &str, team: &str, active: bool| -> Result<CitizenId> {
        let citizen: CitizenId = id(citizen, "citizen")?;
        let team: TeamId = id(team, "team")?;
        out.entry(citizen).or_insert_with(|| CitizenFacts {
            citizen,
            team,
            active,
            courses: vec![],
            referrals: vec![],
            care_grants: vec![],
        });
        Ok(citizen)
    };
    let mut courses_of = Vec::new();
    for (citizen, team, active) in citizens {
        entry(&citizen, &team, active)?;
    }
    for (course, citizen, team, status, start, last_session, last_result) in courses {
        let c = entry(&citizen, &team, true)?;
        let mut last_entry = date(&start)?;
        if let Some(ms) = last_session {
            last_entry = last_entry.max(homerehab_shared::schedule::date_of(ms));
        }
        if let Some(d) = last_result {
            last_entry = last_entry.max(date(&d)?);
        }
        courses_of.push((
            c,
            CourseFact {
                course: id::<CourseId>(&course, "course")?,
                ended: status == "completed" || status == "ended_early",
                last_entry,
            },
        ));
    }
    let mut referrals_of = Vec::new();
    for (referral, citizen, team, referred_on, screened_on, course) in referrals {
        let c = entry(&citizen, &team, true)?;
        referrals_of.push((
            c,
            ReferralFact {
                referral: id::<ReferralId>(&referral, "referral")?,
                referred_on: date(&referred_on)?,
                screened_on: screened_on.as_deref().map(date).transpose()?,
                course: course.as_deref().map(|c| id(c, "course")).transpose()?,
            },
        ));
    }
    let mut grants_of = Vec::new();
    for (citizen, team, effective, service_code) in grants {
        let c = entry(&citizen, &team, true)?;
        grants_of.push((
            c,
            CareGrantFact {
                // `CareGrantRecord::key`.
                key: format!(
                    "{citizen}/{effective}/{}",
                    service_code.as_deref().unwrap_or("")
                ),
                effective: date(&effective)?,
                service_code,
            },
        ));
    }
    for (c, f) in courses_of {
        out.get_mut(&c).expect("entered above").courses.push(f);
    }
    for (c, f) in referrals_of {
        out.get_mut(&c).expect("entered above").referrals.push(f);
    }
    for (c, f) in grants_of {
        out.get_mut(&c).expect("entered above").care_grants.push(f);
    }
    Ok(out.into_values().collect())
}
