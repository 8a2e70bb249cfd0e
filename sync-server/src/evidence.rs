//! The leaders' evidence (issue #12) on the server: who may ask for what, and the facts read
//! from the store ([`Store`]'s evidence methods, SQL over the read model) handed to
//! `homerehab_shared::evidence::report`, where every figure is computed. Handlers in
//! [`crate::http`] translate; nothing here knows HTTP or SQL.
//!
//! **Scope.** A leader (or admin) of municipality A sees A's figures, drilled down to any of
//! A's teams, and names only of the teams they serve themselves; of every other municipality
//! only the benchmark's anonymised, suppressed indicators. A drill-down to one therapist is
//! for a therapist of a team the asker serves (names are shown only there); any other id
//! answers "not found", as for a team of another municipality. Someone without
//! `Capability::SeeEvidence` (assistants, therapists) gets none of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::store::{Store, TeamRecord};
use homerehab_shared::auth::{Capability, Principal};
use homerehab_shared::effect::settings::EffectSettings;
use homerehab_shared::evidence::effect::{effect_evidence, quarterly_history, CitizenOutcome};
use homerehab_shared::evidence::report::{
    self, citizen_outcome, BenchmarkScope, CourseFacts, EvidenceReport, EvidenceSettings,
    MunicipalityEffect, Named, ReportFacts, Scope, Viewer,
};
use homerehab_shared::evidence::suppression::Suppression;
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::export::{
    catalogue, erasure_rows, export_period, may_export_team, staff_rows, team_rows, to_csv_as,
    Dialect, ExportTable, TableInfo,
};
use homerehab_shared::ids::{MunicipalityId, TeamId, UserId};
use homerehab_shared::model::Role;
use time::Date;

/// The longest period one question may span: ten years of figures is an evaluation; more is a
/// mistake or an attempt to make the server work for nothing.
const MAX_PERIOD_DAYS: i64 = 3660;

/// What a leader asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvidenceQuery {
    pub from: Date,
    pub to: Date,
    pub team: Option<TeamId>,
    /// A therapist of a team the asker serves: their referrals, their courses, themselves.
    pub therapist: Option<UserId>,
    /// Defaults to the period's end, and is never after today.
    pub as_of: Option<Date>,
}

/// Why a question was refused.
#[derive(Debug)]
pub enum Refusal {
    /// The asker lacks the capability, or belongs to no municipality.
    Forbidden(String),
    /// The team is not one of the asker's municipality.
    NotFound(String),
    Invalid(String),
    Failed(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Failed(e)
    }
}

/// The municipality whose evidence `who` may see with `capability`.
pub fn municipality_of(who: &Principal, capability: Capability) -> Result<MunicipalityId, Refusal> {
    if !who.may(capability) {
        return Err(Refusal::Forbidden(format!(
            "your role may not {}",
            capability.as_str()
        )));
    }
    who.municipality_id
        .ok_or_else(|| Refusal::Forbidden("your account belongs to no municipality".into()))
}

/// The scope of a question: its period and the day the figures are for.
pub fn scope_of(q: &EvidenceQuery, today: Date) -> Result<Scope, Refusal> {
    let period = Period::new(q.from, q.to).map_err(|e| Refusal::Invalid(e.to_string()))?;
    if period.days() > MAX_PERIOD_DAYS {
        return Err(Refusal::Invalid(format!(
            "a period may span at most {MAX_PERIOD_DAYS} days"
        )));
    }
    // Nothing is recorded before 2000 (the benchmark's history begins there; a period in
    // year 1 would span eight thousand quarters of it), and figures are never judged as of a
    // day still to come: today's grants would stand in for follow-ups not yet due.
    if period.start < HISTORY_FROM {
        return Err(Refusal::Invalid(format!(
            "a period begins on {HISTORY_FROM} or later"
        )));
    }
    Ok(Scope {
        period,
        as_of: q.as_of.unwrap_or(q.to).min(today),
    })
}

/// One municipality's cohort, judged with its own effect settings.
fn outcomes(
    courses: &[&CourseFacts],
    settings: &EffectSettings,
    today: Date,
) -> Vec<CitizenOutcome> {
    courses
        .iter()
        .filter_map(|c| citizen_outcome(c, &settings.changes, &settings.follow_up_offsets, today))
        .collect()
}

/// The first day the benchmark's history may start: no course ends before it.
const HISTORY_FROM: Date = time::macros::date!(2000 - 01 - 01);

/// Every municipality's effect in the benchmark's quarters, and in every quarter the server
/// has up to the benchmark's day (the history its suppression cuts blocks from, starting at
/// the first quarter any course ended in: not at the question), each judged with its own
/// effect settings: the benchmark before anyone's view of it (anonymising and suppressing
/// are per viewer).
pub fn municipality_effects(
    store: &dyn Store,
    teams: &[TeamRecord],
    municipalities: &[(MunicipalityId, String)],
    settings_of: &HashMap<MunicipalityId, EvidenceSettings>,
    bench: &BenchmarkScope,
) -> Result<Vec<MunicipalityEffect>, Refusal> {
    let team_of: HashMap<String, &TeamRecord> =
        teams.iter().map(|t| (t.id.to_string(), t)).collect();
    let asked_period = bench.period();
    let everything = Scope {
        period: Period {
            start: HISTORY_FROM.min(asked_period.start),
            end: bench.as_of,
        },
        as_of: bench.as_of,
    };
    let courses = store.completed_courses(None, everything.period)?;
    let cohort: Vec<(MunicipalityId, Date, &CourseFacts)> = courses
        .iter()
        .filter(|c| c.in_cohort(&everything))
        .filter_map(|c| Some((team_of.get(&c.team_id)?.municipality, c.planned_end()?, c)))
        .collect();
    let history = bench.history(cohort.iter().map(|(_, end, _)| *end).min());
    let (quarters, asked) = (&history.quarters, history.asked.clone());
    let mut by_municipality: HashMap<MunicipalityId, Vec<Vec<&CourseFacts>>> = HashMap::new();
    for (municipality, end, c) in cohort {
        by_municipality
            .entry(municipality)
            .or_insert_with(|| vec![Vec::new(); quarters.len()])[history.index_of(end)]
        .push(c);
    }
    // Like for like: every municipality judged by the shipped meaningful-change values and
    // follow-ups. With its own, a municipality that raised a threshold would turn its
    // declines into "maintained" and rank higher for it.
    let effect_settings = EffectSettings::effective(None);
    let offsets = &effect_settings.follow_up_offsets;
    let mut out = Vec::with_capacity(municipalities.len());
    for (id, name) in municipalities {
        let judged: Vec<Vec<CitizenOutcome>> = match by_municipality.get(id) {
            Some(by_quarter) => by_quarter
                .iter()
                .map(|cohort| outcomes(cohort, &effect_settings, bench.as_of))
                .collect(),
            None => vec![Vec::new(); quarters.len()],
        };
        let in_asked: Vec<CitizenOutcome> =
            judged[asked.clone()].iter().flatten().cloned().collect();
        out.push(MunicipalityEffect {
            municipality: Named {
                id: id.to_string(),
                name: name.clone(),
            },
            agreed_to_be_named: settings_of.get(id).is_some_and(|s| s.agreed_to_be_named),
            effect: effect_evidence(&in_asked, offsets),
            history: quarterly_history(&judged, offsets),
            asked: asked.clone(),
        });
    }
    Ok(out)
}

/// How long a benchmark across municipalities is reused before it is computed again.
pub const BENCHMARK_MAX_AGE: Duration = Duration::from_secs(600);

/// The benchmark's first and last day and the day its figures are judged on.
type BenchmarkKey = (Date, Date, Date);
type KeptBenchmark = Arc<Vec<MunicipalityEffect>>;

/// The benchmark across municipalities, kept for [`BENCHMARK_MAX_AGE`] per span of quarters.
/// Computing it reads every municipality's courses (about 0.1 s for 30,000 courses, see
/// docs/benchmarks.md); a leader's own figures are always live, and comparing with the other
/// municipalities as they stood minutes ago changes no conclusion. The naming agreement is
/// read with it, so a municipality that withdraws it is anonymised within that time too.
#[derive(Default)]
pub struct BenchmarkCache {
    kept: Mutex<HashMap<BenchmarkKey, (Instant, KeptBenchmark)>>,
}

impl BenchmarkCache {
    /// The kept benchmark of `bench`, or `compute`'s (then kept).
    pub fn get(
        &self,
        bench: &BenchmarkScope,
        compute: impl FnOnce() -> Result<Vec<MunicipalityEffect>, Refusal>,
    ) -> Result<Arc<Vec<MunicipalityEffect>>, Refusal> {
        let period = bench.period();
        let key = (period.start, period.end, bench.as_of);
        let now = Instant::now();
        {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            kept.retain(|_, (at, _)| now.duration_since(*at) < BENCHMARK_MAX_AGE);
            if let Some((_, b)) = kept.get(&key) {
                return Ok(b.clone());
            }
        }
        let fresh = Arc::new(compute()?);
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (now, fresh.clone()));
        Ok(fresh)
    }
}

/// The whole report for `who`.
pub fn report(
    store: &dyn Store,
    who: &Principal,
    q: &EvidenceQuery,
    today: Date,
    suppression: Suppression,
    benchmark: &BenchmarkCache,
) -> Result<EvidenceReport, Refusal> {
    let municipality = municipality_of(who, Capability::SeeEvidence)?;
    let scope = scope_of(q, today)?;
    let all_teams = store.teams()?;
    let own_teams: Vec<&TeamRecord> = all_teams
        .iter()
        .filter(|t| t.municipality == municipality)
        .collect();
    let own_ids: Vec<TeamId> = own_teams.iter().map(|t| t.id).collect();
    let municipality_staff = store.evidence_staff(&own_ids, scope.as_of)?;
    let mut team = match q.team {
        Some(id) => Some(
            own_teams
                .iter()
                .find(|t| t.id == id)
                .copied()
                .ok_or_else(|| Refusal::NotFound("no such team in your municipality".into()))?,
        ),
        None => None,
    };
    // A therapist of a team the asker serves (where names are shown), in the team asked for.
    let therapist = match q.therapist {
        Some(id) => {
            let id = id.to_string();
            let served: Vec<String> = who.teams().map(|t| t.to_string()).collect();
            let member = municipality_staff
                .iter()
                .find(|s| {
                    s.user_id == id
                        && s.role == Role::Therapist
                        && served.contains(&s.team_id)
                        && team.is_none_or(|t| t.id.to_string() == s.team_id)
                })
                .ok_or_else(|| Refusal::NotFound("no such therapist in a team you serve".into()))?;
            team = own_teams
                .iter()
                .find(|t| t.id.to_string() == member.team_id)
                .copied();
            Some(member.clone())
        }
        None => None,
    };
    let of_therapist = |user: &str| therapist.as_ref().is_none_or(|t| t.user_id == user);
    let named = |t: &TeamRecord| Named {
        id: t.id.to_string(),
        name: t.name.clone(),
    };
    let scope_teams: Vec<TeamId> = match team {
        Some(t) => vec![t.id],
        None => own_teams.iter().map(|t| t.id).collect(),
    };
    let municipalities = store.municipalities()?;
    let settings_of: HashMap<MunicipalityId, EvidenceSettings> =
        store.all_evidence_settings()?.into_iter().collect();
    let settings = settings_of.get(&municipality).cloned().unwrap_or_default();

    // The own municipality's cohort, live; the benchmark's every municipality from the cache.
    let own_courses = store.completed_courses(Some(&own_ids), scope.period)?;
    let own_cohort: Vec<&CourseFacts> =
        own_courses.iter().filter(|c| c.in_cohort(&scope)).collect();
    let own_effect = EffectSettings::effective(Some(&store.effect_settings(municipality)?));
    let own_through = report::citizens_in(&own_cohort);
    let in_scope: Vec<&CourseFacts> = own_cohort
        .iter()
        .copied()
        .filter(|c| team.is_none_or(|t| c.team_id == t.id.to_string()))
        .filter(|c| of_therapist(&c.responsible_therapist))
        .collect();
    let own_cohort = outcomes(&in_scope, &own_effect, scope.as_of);
    // Whole quarters that have ended, whatever period and day were asked (security.md F9).
    let benchmark_scope = BenchmarkScope::of(scope.period, today);
    let benchmark = match &benchmark_scope {
        Some(bench) => benchmark
            .get(bench, || {
                municipality_effects(store, &all_teams, &municipalities, &settings_of, bench)
            })?
            .as_ref()
            .clone(),
        None => Vec::new(),
    };

    let staff: Vec<_> = municipality_staff
        .iter()
        .filter(|s| team.is_none_or(|t| s.team_id == t.id.to_string()))
        .filter(|s| of_therapist(&s.user_id))
        .cloned()
        .collect();
    let mut referrals = store.evidence_referrals(&scope_teams, scope.period)?;
    referrals
        .retain(|r| therapist.is_none() || r.therapist_id.as_deref().is_some_and(&of_therapist));
    let therapists = staff
        .iter()
        .filter(|s| s.role == Role::Therapist)
        .map(|s| Named {
            id: s.user_id.clone(),
            name: s.name.clone(),
        })
        .collect();
    let facts = ReportFacts {
        municipality: Named {
            id: municipality.to_string(),
            name: municipalities
                .iter()
                .find(|(id, _)| *id == municipality)
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
        },
        teams: own_teams.iter().map(|t| named(t)).collect(),
        team: team.map(named),
        therapist: therapist.map(|t| Named {
            id: t.user_id,
            name: t.name,
        }),
        settings,
        referrals,
        therapists,
        cohort: own_cohort,
        staff,
        municipality_through_courses: own_through,
        municipality_staff,
        offsets: own_effect.follow_up_offsets.clone(),
        benchmark,
        benchmark_scope,
        suppression,
    };
    let viewer = Viewer {
        municipality_id: municipality.to_string(),
        teams: who.teams().map(|t| t.to_string()).collect(),
    };
    report::report(&viewer, facts, scope).map_err(|e| Refusal::Invalid(e.to_string()))
}

/// The municipality's evidence settings, for anyone who may see its evidence.
pub fn settings(store: &dyn Store, who: &Principal) -> Result<EvidenceSettings, Refusal> {
    let municipality = municipality_of(who, Capability::SeeEvidence)?;
    Ok(store.evidence_settings(municipality)?)
}

/// Replaces the municipality's evidence settings (admins), after checking them: a comparison
/// group names only municipalities on this server that agreed to be named (the benchmark
/// leaves any other out: [`homerehab_shared::evidence::suppression::benchmark`]).
pub fn set_settings(
    store: &dyn Store,
    who: &Principal,
    settings: EvidenceSettings,
) -> Result<EvidenceSettings, Refusal> {
    let municipality = municipality_of(who, Capability::SetEvidenceSettings)?;
    settings
        .validate()
        .map_err(|e| Refusal::Invalid(e.to_string()))?;
    if let Some(group) = &settings.comparison_group {
        let named = named_municipalities(store, municipality)?;
        let own = municipality.to_string();
        let allowed = |g: &String| *g == own || named.iter().any(|n| n.id == *g);
        if let Some(other) = group.iter().find(|g| !allowed(g)) {
            return Err(Refusal::Invalid(format!(
                "comparison_group: `{other}` is no municipality on this server that agreed to be named"
            )));
        }
    }
    store.set_evidence_settings(municipality, &settings, who.user_id)?;
    Ok(settings)
}

/// A file of the BI feed: the rows of the table named `table` in `period` of the teams the
/// asker may export (`may_export_team`: an admin's municipality, a leader's own teams)
/// (`homerehab_shared::export`), with its file name; the export is recorded in the audit log
/// before the file is answered (an export that cannot be recorded is not made).
pub fn export(
    store: &dyn Store,
    who: &Principal,
    table: &str,
    period: Period,
    dialect: Dialect,
    now: homerehab_shared::model::Millis,
) -> Result<(String, Vec<u8>), Refusal> {
    municipality_of(who, Capability::ExportData)?;
    let table = ExportTable::from_name(table).map_err(|e| Refusal::NotFound(e.to_string()))?;
    let period = export_period(period).map_err(|e| Refusal::Invalid(e.to_string()))?;
    let mut teams = store.teams()?;
    teams.retain(|t| may_export_team(who, t.id, t.municipality));
    let team_ids: Vec<TeamId> = teams.iter().map(|t| t.id).collect();
    let rows = if table == ExportTable::Teams {
        team_rows(teams.iter().map(|t| (t.id, t.name.as_str())))
    } else if table.from_read_model() {
        store.export_rows(table, &team_ids, &period)?
    } else if table == ExportTable::Staff {
        let as_of = period.end.min(homerehab_shared::schedule::date_of(now));
        staff_rows(&store.evidence_staff(&team_ids, as_of)?, as_of)
    } else {
        let ledger = store.erasure_ledger()?;
        erasure_rows(
            ledger
                .iter()
                .map(|e| (e.at, e.municipality, &e.erasure, e.action)),
            who,
            &period,
        )
    };
    // A row the store gave that does not fit its columns is the server's fault, not the asker's.
    let file = to_csv_as(table, &rows, dialect)
        .map_err(|e| Refusal::Failed(Error::Corrupt(e.to_string())))?;
    store.append_audit(&[homerehab_shared::audit::AuditRecord::by(
        who,
        homerehab_shared::audit::AuditAction::BiExport,
        now,
    )])?;
    tracing::info!(
        user = %who.user_id,
        table = table.name(),
        from = %homerehab_shared::effect::iso(period.start),
        to = %homerehab_shared::effect::iso(period.end),
        rows = rows.len(),
        "BI export"
    );
    Ok((table.file_name(&period), file))
}

/// The BI feed's tables and columns, for anyone who may export.
pub fn export_catalogue(who: &Principal) -> Result<Vec<TableInfo>, Refusal> {
    municipality_of(who, Capability::ExportData)?;
    Ok(catalogue())
}

/// The other municipalities on the server that agreed to be named, to choose a comparison
/// group from (a group of anonymous ones would single them out).
pub fn municipalities(store: &dyn Store, who: &Principal) -> Result<Vec<Named>, Refusal> {
    let own = municipality_of(who, Capability::SeeEvidence)?;
    named_municipalities(store, own)
}

/// Every municipality but `own` that agreed to be named, by name.
fn named_municipalities(store: &dyn Store, own: MunicipalityId) -> Result<Vec<Named>, Refusal> {
    let agreed: Vec<MunicipalityId> = store
        .all_evidence_settings()?
        .into_iter()
        .filter(|(_, s)| s.agreed_to_be_named)
        .map(|(id, _)| id)
        .collect();
    Ok(store
        .municipalities()?
        .into_iter()
        .filter(|(id, _)| *id != own && agreed.contains(id))
        .map(|(id, name)| Named {
            id: id.to_string(),
            name,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn asked(from: Date, to: Date, as_of: Option<Date>) -> EvidenceQuery {
        EvidenceQuery {
            from,
            to,
            team: None,
            therapist: None,
            as_of,
        }
    }

    #[test]
    fn a_period_begins_in_2000_or_later_and_is_judged_as_of_today_at_the_latest() {
        let today = date!(2026 - 07 - 01);
        assert!(matches!(
            scope_of(
                &asked(date!(0001 - 01 - 01), date!(0010 - 12 - 31), None),
                today
            ),
            Err(Refusal::Invalid(_))
        ));
        let year = |as_of| {
            scope_of(
                &asked(date!(2026 - 01 - 01), date!(2026 - 12 - 31), as_of),
                today,
            )
        };
        assert_eq!(year(None).unwrap().as_of, today);
        assert_eq!(year(Some(date!(2027 - 06 - 01))).unwrap().as_of, today);
        assert_eq!(
            year(Some(date!(2026 - 03 - 31))).unwrap().as_of,
            date!(2026 - 03 - 31)
        );
        let past = scope_of(
            &asked(date!(2025 - 01 - 01), date!(2025 - 12 - 31), None),
            today,
        );
        assert_eq!(past.unwrap().as_of, date!(2025 - 12 - 31));
    }
}
