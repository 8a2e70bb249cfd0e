//! What each document contributes to the server's read model (issue #12): plain rows, one
//! struct per table, derived by one pure function, [`rows_of`]. A storage backend (SQLite now,
//! PostgreSQL next) writes them into its own tables with its own SQL; the evidence queries read
//! those tables and never load an Automerge document.
//!
//! A document's rows are replaced whole whenever the document changes, so the tables are a
//! function of the documents: rebuilding them from the documents (`sync-server reproject`)
//! gives the same rows, which is how a backend proves its tables right.
//!
//! Deliberately absent, because evidence is counts and no one needs them to count: citizens'
//! names, addresses and case references, goal texts, notes and free-text reasons. The tables
//! hold ids, dates, codes and numbers only.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::admission::SessionsRead;
use crate::docs::{
    read_session_quickly, CourseDoc, DocumentKind, Header, RosterDoc, SchemaError, SessionLogDoc,
};
use crate::effect::change::Sex;
use crate::evidence::staff::Work;
use crate::model::{SessionLog, SessionStatus};
use crate::schedule::date_of;
use automerge::ChangeHash;

/// An enum as its snake_case wire name ("ended_early", "partly_achieved").
fn code<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A citizen on a team's roster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CitizenRow {
    pub citizen_id: String,
    pub team_id: String,
    pub birth_year: Option<i32>,
    /// `female` or `male`.
    pub sex: Option<String>,
    pub active: bool,
}

/// A home-care grant as the care record system holds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CareGrantRow {
    pub citizen_id: String,
    pub team_id: String,
    /// ISO date the grant took effect.
    pub effective: String,
    pub minutes_per_week: u32,
    pub service_code: Option<String>,
    /// ISO date (Danish) the grant was recorded, entered or imported: the citizen's grants
    /// say what was granted up to their latest such day and no further
    /// (`effect::care_time::known_on`).
    pub recorded_on: String,
}

/// A referral and its screening: the funnel's first stages (issue #11's visitation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReferralRow {
    pub referral_id: String,
    pub citizen_id: String,
    pub team_id: String,
    /// ISO date.
    pub referred_on: String,
    pub referred_by: String,
    /// ISO date; `None` until screened.
    pub screened_on: Option<String>,
    pub screened_by: Option<String>,
    /// `included` or `not_included`; `None` until screened.
    pub outcome: Option<String>,
    /// The municipality's reason key (a code, not free text) for not included.
    pub not_included_reason: Option<String>,
    /// The course created from an included referral.
    pub course_id: Option<String>,
}

/// A course.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CourseRow {
    pub course_id: String,
    pub citizen_id: String,
    pub team_id: String,
    /// The legal basis' code (`sel_83a`, …).
    pub legal_basis: String,
    /// ISO date.
    pub start_date: String,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    /// `planned`, `active`, `paused`, `completed` or `ended_early`.
    pub status: String,
    pub responsible_therapist: String,
    pub created_at: i64,
    /// Why it ended early: a key of [`crate::model::END_REASONS`], never the therapist's words.
    pub end_reason: Option<String>,
}

/// A course goal's attainment, by the goal's place in the course's list (its text stays in
/// the document).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoalRow {
    pub course_id: String,
    pub position: u32,
    /// `achieved`, `partly_achieved`, `not_achieved`; `None` until rated.
    pub attainment: Option<String>,
}

/// A test result: a therapist's assessment, or a WHO-5 answered in a session (complete only).
#[derive(Clone, Debug, PartialEq, PartialOrd)]
pub struct TestResultRow {
    /// The assessment's id, or the session's for a WHO-5.
    pub result_id: String,
    pub course_id: String,
    /// Assessment catalogue key (`chair_stand_30s`, `who5`, …).
    pub test: String,
    /// `start`, `midway`, `end` or `follow_up`.
    pub phase: String,
    pub value: f64,
    /// ISO date.
    pub date: String,
    pub measured_by: String,
}

/// A session: carried out, in progress or not carried out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionRow {
    pub session_id: String,
    pub course_id: String,
    pub performed_by: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// `in_progress`, `completed`, `not_carried_out`, …
    pub status: String,
    pub not_carried_out: Option<String>,
    pub set_count: u32,
    pub general_condition: Option<u8>,
}

/// A day someone did one kind of work in one document (one row however often that day): what
/// "active" is computed from (`evidence::staff`), as of any day, without counting a million
/// sessions per question. Every day, not only the latest: a report on a past quarter asks
/// who was active then, which work done since must not hide.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkRow {
    pub user_id: String,
    /// `logged_session`, `edited_program` or `recorded_test` (`evidence::staff::Work`).
    pub work: String,
    /// ISO date (the column `last_on`, its name from when it held only the latest day).
    pub done_on: String,
}

/// A course's sessions carried out, from its session log: adherence for 30,000 courses
/// without counting their sessions one by one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeliveryRow {
    pub course_id: String,
    pub delivered: u32,
}

/// A municipality's effect settings as its library stores them (JSON of
/// `effect::settings::StoredSettings`): the evidence judges change with the municipality's own
/// meaningful-change values, as its course summaries do.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EffectSettingsRow {
    pub settings_json: String,
}

/// Everything one document contributes. Each document kind fills its own tables only.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DocumentRows {
    pub citizens: Vec<CitizenRow>,
    pub referrals: Vec<ReferralRow>,
    pub care_grants: Vec<CareGrantRow>,
    pub courses: Vec<CourseRow>,
    pub goals: Vec<GoalRow>,
    pub test_results: Vec<TestResultRow>,
    pub sessions: Vec<SessionRow>,
    pub work: Vec<WorkRow>,
    pub deliveries: Vec<DeliveryRow>,
    pub effect_settings: Vec<EffectSettingsRow>,
}

impl DocumentRows {
    pub fn len(&self) -> usize {
        self.citizens.len()
            + self.referrals.len()
            + self.care_grants.len()
            + self.courses.len()
            + self.goals.len()
            + self.test_results.len()
            + self.sessions.len()
            + self.work.len()
            + self.deliveries.len()
            + self.effect_settings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each table's rows in one order, so rows derived now and rows read back from storage
    /// compare equal.
    pub fn sort(&mut self) {
        self.citizens.sort();
        self.referrals.sort();
        self.care_grants.sort();
        self.courses.sort();
        self.goals.sort();
        self.test_results
            .sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        self.sessions.sort();
        self.work.sort();
        self.deliveries.sort();
        self.effect_settings.sort();
    }
}

/// Each (user, work, day) of `done` once, as rows.
fn work_days(done: impl IntoIterator<Item = (String, Work, time::Date)>) -> Vec<WorkRow> {
    let days: std::collections::BTreeSet<(String, &'static str, time::Date)> = done
        .into_iter()
        .map(|(user, work, on)| (user, work.code(), on))
        .collect();
    days.into_iter()
        .map(|(user_id, work, on)| WorkRow {
            user_id,
            work: work.into(),
            done_on: crate::effect::iso(on),
        })
        .collect()
}

/// The rows a document contributes, read with the same schema checks as everywhere else. A
/// municipality's library contributes its effect settings only.
pub fn rows_of(header: &Header, doc: &automerge::Automerge) -> Result<DocumentRows, SchemaError> {
    rows_after(header, doc, None).map(|(rows, _)| rows)
}

/// One session's rows: its own and its WHO-5's, if complete.
#[derive(Clone, Debug, PartialEq)]
struct SessionRows {
    session: SessionRow,
    who5: Option<TestResultRow>,
}

impl SessionRows {
    fn of(s: &SessionLog) -> Self {
        // Only a complete WHO-5 is a result; a part-answered one is not counted.
        let who5 = s.who5.as_ref().and_then(|w| {
            let percent = w.answers().score().percent()?;
            Some(TestResultRow {
                result_id: s.id.to_string(),
                course_id: s.course_id.to_string(),
                test: "who5".into(),
                phase: code(&w.phase),
                value: percent,
                date: crate::effect::iso(date_of(w.started_at)),
                measured_by: w.by.to_string(),
            })
        });
        SessionRows {
            session: SessionRow {
                session_id: s.id.to_string(),
                course_id: s.course_id.to_string(),
                performed_by: s.performed_by.to_string(),
                started_at: s.started_at,
                ended_at: s.ended_at,
                status: code(&s.status),
                not_carried_out: s.not_carried_out.map(|r| code(&r)),
                set_count: s.set_count() as u32,
                general_condition: s.general_condition,
            },
            who5,
        }
    }

    /// Bytes it takes in memory, about.
    fn weight(&self) -> usize {
        let r = &self.session;
        std::mem::size_of::<Self>()
            + r.session_id.len()
            + r.course_id.len()
            + r.performed_by.len()
            + r.status.len()
            + r.not_carried_out.as_ref().map_or(0, String::len)
            + self.who5.as_ref().map_or(0, |w| {
                w.result_id.len()
                    + w.course_id.len()
                    + w.test.len()
                    + w.phase.len()
                    + w.date.len()
                    + w.measured_by.len()
            })
    }
}

/// A session log's rows from its sessions' (by key, the log's order).
fn session_log_rows(sessions: &BTreeMap<String, SessionRows>) -> DocumentRows {
    let mut rows = DocumentRows {
        work: work_days(sessions.values().map(|s| {
            (
                s.session.performed_by.clone(),
                Work::LoggedSession,
                date_of(s.session.started_at),
            )
        })),
        ..DocumentRows::default()
    };
    if let Some(first) = sessions.values().next() {
        let completed = code(&SessionStatus::Completed);
        rows.deliveries.push(DeliveryRow {
            course_id: first.session.course_id.clone(),
            delivered: sessions
                .values()
                .filter(|s| s.session.status == completed)
                .count() as u32,
        });
    }
    for s in sessions.values() {
        rows.sessions.push(s.session.clone());
        rows.test_results.extend(s.who5.clone());
    }
    rows
}

/// Every session of a log, read.
fn every_session(doc: &automerge::Automerge) -> Result<BTreeMap<String, SessionRows>, SchemaError> {
    Ok(SessionLogDoc::read_sessions(doc)?
        .iter()
        .map(|(key, s)| (key.clone(), SessionRows::of(s)))
        .collect())
}

/// What a projection of a document leaves for the next one: the heads it read and, for a
/// session log, its rows per session. A log grows by a set at a time, and reading every session
/// again for each set made the read model's cost grow with the log (issue #13).
#[derive(Clone, Debug)]
pub struct Projected {
    heads: Vec<ChangeHash>,
    sessions: Option<BTreeMap<String, SessionRows>>,
}

impl Projected {
    /// Whether the next projection reads less with it (a session log's; any other document is
    /// read whole).
    pub fn reads_less(&self) -> bool {
        self.sessions.is_some()
    }

    /// A session log's rows if this is its projection at `heads`: nothing to read.
    pub fn rows_at(&self, heads: &[ChangeHash]) -> Option<DocumentRows> {
        let sessions = self.sessions.as_ref()?;
        (sorted(self.heads.clone()) == sorted(heads.to_vec())).then(|| session_log_rows(sessions))
    }

    /// Bytes it takes in memory, about: what a projector's memory of them counts.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + 32 * self.heads.len()
            + self.sessions.as_ref().map_or(0, |s| {
                s.iter().map(|(k, r)| k.len() + r.weight()).sum::<usize>()
            })
    }
}

/// The rows of the sessions a log's admitted changes wrote, from the log at `since` to the log
/// at `to` (built from admission's [`SessionsRead`]): what brings a projection remembered at
/// `since` to `to` without reading the log at all. A server keeps them from its syncs for its
/// projector; an upload's sessions were otherwise read twice, once by each.
#[derive(Clone, Debug)]
pub struct SessionsWritten {
    since: Vec<ChangeHash>,
    to: Vec<ChangeHash>,
    sessions: BTreeMap<String, SessionRows>,
}

impl SessionsWritten {
    /// What admission read of a log whose admitted heads are `to`.
    pub fn of(read: &SessionsRead, to: Vec<ChangeHash>) -> Self {
        SessionsWritten {
            since: sorted(read.since.clone()),
            to: sorted(to),
            sessions: read
                .sessions
                .iter()
                .map(|(key, s)| (key.clone(), SessionRows::of(s)))
                .collect(),
        }
    }

    /// This, followed by `next`: one step from this one's `since` when `next` starts where this
    /// one ends (a session `next` wrote again is `next`'s), else `next` alone.
    pub fn then(mut self, next: SessionsWritten) -> SessionsWritten {
        if next.since != self.to {
            return next;
        }
        self.sessions.extend(next.sessions);
        self.to = next.to;
        self
    }

    /// Whether it leads to the log at `heads`.
    pub fn reaches(&self, heads: &[ChangeHash]) -> bool {
        self.to == sorted(heads.to_vec())
    }

    /// Bytes it takes in memory, about.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + 32 * (self.since.len() + self.to.len())
            + self
                .sessions
                .iter()
                .map(|(k, r)| k.len() + r.weight())
                .sum::<usize>()
    }

    /// Whether this starts where `before` (a projection of the log) is: a new log's starts from
    /// nothing, every session of it is here.
    pub fn follows(&self, before: Option<&Projected>) -> bool {
        self.since.is_empty()
            || before.is_some_and(|b| b.sessions.is_some() && sorted(b.heads.clone()) == self.since)
    }

    /// The projection at `to`, from `before`; `None` unless this [`follows`](Self::follows) it.
    pub fn after(self, before: Option<Projected>) -> Option<Projected> {
        if !self.follows(before.as_ref()) {
            return None;
        }
        let mut sessions = match before {
            Some(b) if !self.since.is_empty() => b.sessions?,
            _ => BTreeMap::new(),
        };
        sessions.extend(self.sessions);
        Some(Projected {
            heads: self.to,
            sessions: Some(sessions),
        })
    }
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort_unstable();
    heads
}

/// [`rows_of`], reading of a session log only the sessions written since `before` (what the
/// same function answered for an earlier state of this document), and what to hand the next
/// call. The rows are always [`rows_of`]'s: a session's rows depend on that session alone,
/// and whatever [`crate::admission::sessions_written_since`] cannot place reads the whole log.
pub fn rows_after(
    header: &Header,
    doc: &automerge::Automerge,
    before: Option<Projected>,
) -> Result<(DocumentRows, Projected), SchemaError> {
    let heads = doc.get_heads();
    let remembered = before
        .filter(|_| header.kind == DocumentKind::SessionLog)
        .and_then(|b| {
            let touched = if sorted(b.heads.clone()) == sorted(heads.clone()) {
                // Nothing written since.
                Default::default()
            } else {
                crate::admission::sessions_written_since(doc, &b.heads)?
            };
            Some((b.sessions?, touched))
        });
    let (rows, sessions) = match remembered {
        Some((mut sessions, touched)) => {
            for key in touched {
                match read_session_quickly(doc, &key)? {
                    Some(session) => {
                        session.validate()?;
                        sessions.insert(key, SessionRows::of(&session));
                    }
                    None => {
                        sessions.remove(&key);
                    }
                }
            }
            (session_log_rows(&sessions), Some(sessions))
        }
        None => rows_whole(header, doc)?,
    };
    Ok((rows, Projected { heads, sessions }))
}

/// The rows of a document read whole, and a session log's rows per session.
type WholeRows = (DocumentRows, Option<BTreeMap<String, SessionRows>>);

/// The rows of a document read whole (with a session log's rows per session).
fn rows_whole(header: &Header, doc: &automerge::Automerge) -> Result<WholeRows, SchemaError> {
    let mut rows = DocumentRows::default();
    match header.kind {
        DocumentKind::Library => {
            let library = crate::municipal::LibraryDoc::read(doc)?;
            rows.effect_settings.push(EffectSettingsRow {
                settings_json: serde_json::to_string(&library.effect_settings).unwrap_or_default(),
            });
        }
        DocumentKind::Roster => {
            let roster = RosterDoc::read(doc)?;
            let team = roster.team_id.to_string();
            rows.citizens = roster
                .citizens
                .values()
                .map(|c| CitizenRow {
                    citizen_id: c.id.to_string(),
                    team_id: team.clone(),
                    birth_year: c.birth_year,
                    sex: c.sex.map(|s| {
                        match s {
                            Sex::Female => "female",
                            Sex::Male => "male",
                        }
                        .to_string()
                    }),
                    active: c.active,
                })
                .collect();
            rows.referrals = roster
                .referrals
                .values()
                .map(|r| {
                    let s = r.screening.as_ref();
                    ReferralRow {
                        referral_id: r.id.to_string(),
                        citizen_id: r.citizen_id.to_string(),
                        team_id: team.clone(),
                        referred_on: r.referred_on.clone(),
                        referred_by: r.referred_by.to_string(),
                        screened_on: s.map(|s| s.screened_on.clone()),
                        screened_by: s.map(|s| s.screened_by.to_string()),
                        outcome: s.map(|s| {
                            if s.included() {
                                "included"
                            } else {
                                "not_included"
                            }
                            .to_string()
                        }),
                        not_included_reason: s.and_then(|s| s.not_included_reason.clone()),
                        course_id: r.course_id.map(|c| c.to_string()),
                    }
                })
                .collect();
            rows.care_grants = roster
                .all_care_grants()
                .values()
                .map(|g| CareGrantRow {
                    citizen_id: g.citizen_id.to_string(),
                    team_id: team.clone(),
                    effective: g.effective.clone(),
                    minutes_per_week: g.minutes_per_week,
                    service_code: g.service_code.clone(),
                    recorded_on: crate::effect::iso(g.recorded_on()),
                })
                .collect();
        }
        DocumentKind::Course => {
            // Only its genesis so far (a split upload may store it before the record): no
            // rows. `CourseDoc::read` refuses a course without its record, as admission must.
            if matches!(
                automerge::ReadDoc::get(doc, automerge::ROOT, "course"),
                Ok(None)
            ) {
                return Ok((rows, None));
            }
            let doc = CourseDoc::read(doc)?;
            // A course document exists before its record arrives (the record is its first
            // change); until then it contributes nothing.
            let Some(c) = &doc.course else {
                return Ok((rows, None));
            };
            let course = c.id.to_string();
            rows.courses.push(CourseRow {
                course_id: course.clone(),
                citizen_id: c.citizen_id.to_string(),
                team_id: c.team_id.to_string(),
                legal_basis: c.legal_basis.0.clone(),
                start_date: c.start_date.clone(),
                planned_weeks: c.planned_weeks,
                sessions_per_week: c.sessions_per_week,
                status: code(&c.status),
                responsible_therapist: c.responsible_therapist.to_string(),
                created_at: c.created_at,
                end_reason: c.end_reason.clone(),
            });
            rows.goals = c
                .goals
                .iter()
                .enumerate()
                .map(|(i, goal)| GoalRow {
                    course_id: course.clone(),
                    position: i as u32,
                    attainment: doc
                        .goal_attainment
                        .get(goal)
                        .and_then(|f| f.attainment)
                        .map(|a| code(&a)),
                })
                .collect();
            rows.test_results = doc
                .assessments
                .values()
                .map(|a| TestResultRow {
                    result_id: a.id.to_string(),
                    course_id: course.clone(),
                    test: a.kind.clone(),
                    phase: code(&a.phase),
                    value: a.value,
                    date: a.date.clone(),
                    measured_by: a.by.to_string(),
                })
                .collect();
            let edits = doc
                .program
                .revisions
                .values()
                .map(|r| (r.by.to_string(), Work::EditedProgram, date_of(r.at)));
            let tests = doc.assessments.values().filter_map(|a| {
                let on = crate::model::parse_date(&a.date).ok()?;
                Some((a.by.to_string(), Work::RecordedTest, on))
            });
            rows.work = work_days(edits.chain(tests));
        }
        DocumentKind::SessionLog => {
            let sessions = every_session(doc)?;
            return Ok((session_log_rows(&sessions), Some(sessions)));
        }
    }
    Ok((rows, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{self, genesis};
    use crate::effect::goals::{Attainment, GoalFollowUp};
    use crate::ids::{AssessmentId, CitizenId, CourseId, TeamId, UserId};
    use crate::model::{Assessment, AssessmentPhase, Citizen, Course, MeasuredAt, SessionLog};

    const NOW: i64 = 1_780_000_000_000;

    fn citizen() -> Citizen {
        Citizen {
            id: CitizenId::new(),
            name: "Karen Jensen".into(),
            local_ref: "TK-1".into(),
            address: Some("Vestergade 3".into()),
            assigned: Default::default(),
            active: true,
            birth_year: Some(1948),
            sex: Some(Sex::Female),
        }
    }

    #[test]
    fn a_course_document_before_its_record_contributes_nothing() {
        let header = Header::course(crate::ids::TeamId::new(), crate::ids::CourseId::new());
        let rows = rows_of(&header, &crate::docs::genesis(&header)).unwrap();
        assert_eq!(rows, DocumentRows::default());
    }

    #[test]
    fn a_roster_gives_citizens_without_names_or_addresses() {
        let team = TeamId::new();
        let header = Header::roster(team);
        let mut doc = genesis(&header);
        doc.set_actor(automerge::ActorId::random());
        let c = citizen();
        docs::put_citizen(&mut doc, &c, NOW).unwrap();
        let rows = rows_of(&header, &doc).unwrap();
        assert_eq!(
            rows.citizens,
            [CitizenRow {
                citizen_id: c.id.to_string(),
                team_id: team.to_string(),
                birth_year: Some(1948),
                sex: Some("female".into()),
                active: true,
            }]
        );
        assert!(rows.referrals.is_empty());

        // A referral, screened not included: its stage and reason key, never its notes.
        let referral = crate::model::ReferralRecord {
            id: crate::ids::ReferralId::new(),
            citizen_id: c.id,
            referred_on: "2026-11-02".into(),
            referred_by: crate::ids::UserId::new(),
            note: Some("Datter ringede".into()),
            recorded_at: NOW,
            screening: None,
            course_id: None,
        };
        docs::put_referral(&mut doc, &referral, NOW).unwrap();
        let screening = crate::model::ScreeningRecord {
            criteria: [("wants_to_train".to_string(), false)].into(),
            not_included_reason: Some("declined".into()),
            note: Some("Vil hellere gå til fysioterapeut".into()),
            screened_on: "2026-11-05".into(),
            screened_by: referral.referred_by,
        };
        docs::screen_referral(&mut doc, referral.id, &screening, NOW).unwrap();
        let rows = rows_of(&header, &doc).unwrap();
        assert_eq!(
            rows.referrals,
            [ReferralRow {
                referral_id: referral.id.to_string(),
                citizen_id: c.id.to_string(),
                team_id: team.to_string(),
                referred_on: "2026-11-02".into(),
                referred_by: referral.referred_by.to_string(),
                screened_on: Some("2026-11-05".into()),
                screened_by: Some(referral.referred_by.to_string()),
                outcome: Some("not_included".into()),
                not_included_reason: Some("declined".into()),
                course_id: None,
            }]
        );
        // Nothing a row holds is the citizen's name, reference or address, or a note.
        let text = format!("{rows:?}");
        for secret in ["Karen", "TK-1", "Vestergade", "Datter", "fysioterapeut"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn a_course_gives_its_record_goals_by_position_and_results() {
        let team = TeamId::new();
        let therapist = UserId::new();
        let course = Course {
            goals: vec!["Gå til købmanden".into(), "Gå på trapper".into()],
            ..Course::new(CitizenId::new(), team, therapist, "2026-03-02", NOW)
        };
        let header = Header::course(team, course.id);
        let mut doc = genesis(&header);
        doc.set_actor(automerge::ActorId::random());
        docs::put_course(&mut doc, &course, NOW).unwrap();
        let a = Assessment {
            id: AssessmentId::new(),
            kind: "chair_stand_30s".into(),
            value: 9.0,
            unit: "reps".into(),
            date: "2026-03-03".into(),
            phase: AssessmentPhase::Start,
            by: therapist,
            note: Some("træt i dag".into()),
            place: None,
        };
        docs::put_assessment(&mut doc, &a, NOW).unwrap();
        docs::set_goal_attainment(
            &mut doc,
            &GoalFollowUp {
                goal: "Gå på trapper".into(),
                attainment: Some(Attainment::PartlyAchieved),
                note: None,
            },
            NOW,
        )
        .unwrap();
        let rows = rows_of(&header, &doc).unwrap();
        assert_eq!(rows.courses.len(), 1);
        assert_eq!(rows.courses[0].status, "planned");
        assert_eq!(rows.courses[0].legal_basis, "SEL §83a");
        assert_eq!(
            rows.goals
                .iter()
                .map(|g| (g.position, g.attainment.clone()))
                .collect::<Vec<_>>(),
            [(0, None), (1, Some("partly_achieved".into()))]
        );
        assert_eq!(rows.test_results.len(), 1);
        let r = &rows.test_results[0];
        assert_eq!(
            (r.test.as_str(), r.phase.as_str(), r.value, r.date.as_str()),
            ("chair_stand_30s", "start", 9.0, "2026-03-03")
        );
        let text = format!("{rows:?}");
        assert!(
            !text.contains("træt") && !text.contains("trapper"),
            "{text}"
        );
    }

    #[test]
    fn a_session_log_gives_sessions_and_only_complete_who5s() {
        let team = TeamId::new();
        let course = CourseId::new();
        let header = Header::session_log(team, course);
        let mut doc = genesis(&header);
        doc.set_actor(automerge::ActorId::random());
        let by = UserId::new();
        let s = SessionLog::start(course, by, None, NOW);
        docs::put_session(&mut doc, &s, NOW).unwrap();
        docs::start_who5(
            &mut doc,
            s.id,
            AssessmentPhase::Start,
            by,
            MeasuredAt::Home,
            NOW,
        )
        .unwrap();
        for item in 0..4 {
            docs::record_who5_answer(&mut doc, s.id, item, 3, NOW).unwrap();
        }
        let rows = rows_of(&header, &doc).unwrap();
        assert_eq!(rows.sessions.len(), 1);
        assert_eq!(rows.sessions[0].status, "in_progress");
        assert!(rows.test_results.is_empty(), "four answers are no result");
        docs::record_who5_answer(&mut doc, s.id, 4, 5, NOW).unwrap();
        let rows = rows_of(&header, &doc).unwrap();
        // (4 × 3 + 5) × 4 = 68.
        assert_eq!(rows.test_results[0].value, 68.0);
        assert_eq!(rows.test_results[0].test, "who5");
        assert_eq!(rows.test_results[0].result_id, s.id.to_string());
    }

    /// A log projected step by step, each time from what the last projection left, has at
    /// every step the rows of a projection of the whole log: sessions started, sets logged,
    /// a WHO-5 completed, a session finished, two devices' work merged.
    #[test]
    fn a_session_log_projected_from_the_last_projection_has_the_rows_of_the_whole() {
        use crate::ids::ProgramExerciseId;
        use crate::model::SetLog;
        let course = CourseId::new();
        let header = Header::session_log(TeamId::new(), course);
        let mut tablet = genesis(&header);
        tablet.set_actor(automerge::ActorId::random());
        let mut other = tablet.fork().with_actor(automerge::ActorId::random());
        let (by, line) = (UserId::new(), ProgramExerciseId::new());
        let mut projected: Option<Projected> = None;
        let mut read_fewer = 0;
        let mut check = |doc: &automerge::Automerge, projected: &mut Option<Projected>| {
            let before = projected.take();
            if let Some(b) = &before {
                let touched = crate::admission::sessions_written_since(doc, &b.heads);
                if touched.is_some_and(|t| t.len() <= 1) {
                    read_fewer += 1;
                }
            }
            let (rows, next) = rows_after(&header, doc, before).unwrap();
            assert_eq!(rows, rows_of(&header, doc).unwrap());
            *projected = Some(next);
        };
        check(&tablet, &mut projected);
        let mut sessions = Vec::new();
        for day in 0..3 {
            let s = SessionLog::start(course, by, None, NOW + day);
            docs::put_session(&mut tablet, &s, NOW + day).unwrap();
            check(&tablet, &mut projected);
            for set in 0..3 {
                let at = NOW + day * 100 + set;
                let one = SetLog {
                    reps: Some(8),
                    duration_s: None,
                    load_kg: None,
                    at,
                };
                docs::log_set(&mut tablet, s.id, line, "sit-to-stand", &one, at).unwrap();
                check(&tablet, &mut projected);
            }
            sessions.push(s.id);
        }
        docs::start_who5(
            &mut tablet,
            sessions[0],
            AssessmentPhase::Start,
            by,
            MeasuredAt::Home,
            NOW,
        )
        .unwrap();
        for item in 0..5 {
            docs::record_who5_answer(&mut tablet, sessions[0], item, 4, NOW).unwrap();
            check(&tablet, &mut projected);
        }
        docs::finish_session(&mut tablet, sessions[1], Some(4), None, NOW + 500).unwrap();
        check(&tablet, &mut projected);
        // Another device's session, then both merged.
        other.merge(&mut tablet.clone()).unwrap();
        let s = SessionLog::start(course, UserId::new(), None, NOW + 900);
        docs::put_session(&mut other, &s, NOW + 900).unwrap();
        docs::finish_session(&mut tablet, sessions[2], None, None, NOW + 901).unwrap();
        tablet.merge(&mut other).unwrap();
        check(&tablet, &mut projected);
        let rows = rows_of(&header, &tablet).unwrap();
        assert_eq!(rows.sessions.len(), 4);
        assert_eq!(rows.deliveries[0].delivered, 2);
        assert_eq!(rows.test_results.len(), 1);
        assert!(
            read_fewer >= 15,
            "the steps read one session each, not the log: {read_fewer}"
        );
    }

    /// A log grown through admission, step by step: what admission read of each step brings the
    /// last projection to the new heads with the rows of the whole log, without reading it —
    /// from a new log's first upload on, one step at a time or several chained.
    #[test]
    fn what_admission_read_brings_a_projection_to_the_rows_of_the_whole_log() {
        use crate::admission::admit;
        use crate::auth::Principal;
        use crate::ids::ProgramExerciseId;
        use crate::model::{Role, SetLog};
        use crate::sync::raw_changes_since;
        let (team, course) = (TeamId::new(), CourseId::new());
        let header = Header::session_log(team, course);
        let who = Principal {
            user_id: UserId::new(),
            role: Role::Assistant,
            team_id: team,
            granted_teams: vec![],
            municipality_id: None,
        };
        let actor = automerge::ActorId::random();
        let actors = [actor.clone()].into_iter().collect();
        let mut tablet = genesis(&header).with_actor(actor);
        let line = ProgramExerciseId::new();
        // The server's copy, admitting what the tablet wrote since it.
        let mut server: Option<automerge::Automerge> = None;
        let mut sync = |tablet: &automerge::Automerge| {
            let since = server.as_ref().map(|d| d.get_heads()).unwrap_or_default();
            let adm = admit(
                header.id,
                server.as_ref(),
                &raw_changes_since(tablet, &since),
                &tablet.get_heads(),
                &who,
                &actors,
            )
            .unwrap();
            let written = SessionsWritten::of(&adm.sessions_read.unwrap(), adm.doc.get_heads());
            server = Some(adm.doc);
            written
        };
        let whole = |doc: &automerge::Automerge| rows_of(&header, doc).unwrap();
        let set = |at| SetLog {
            reps: Some(8),
            duration_s: None,
            load_kg: None,
            at,
        };
        // The first upload: a new log with two sessions, no projection before it.
        let first = SessionLog::start(course, who.user_id, None, NOW);
        docs::put_session(&mut tablet, &first, NOW).unwrap();
        docs::log_set(&mut tablet, first.id, line, "sit", &set(NOW + 1), NOW + 1).unwrap();
        let second = SessionLog::start(course, who.user_id, None, NOW + 2);
        docs::put_session(&mut tablet, &second, NOW + 2).unwrap();
        let written = sync(&tablet);
        assert!(
            written.follows(None),
            "a new log's upload holds every session"
        );
        let mut projected = written.after(None).unwrap();
        assert_eq!(
            projected.rows_at(&tablet.get_heads()).unwrap(),
            whole(&tablet)
        );
        // One step at a time: a set, a WHO-5 answer, a finish.
        docs::log_set(&mut tablet, second.id, line, "sit", &set(NOW + 3), NOW + 3).unwrap();
        let written = sync(&tablet);
        assert_eq!(written.sessions.len(), 1, "one set wrote one session");
        projected = written.after(Some(projected)).unwrap();
        assert_eq!(
            projected.rows_at(&tablet.get_heads()).unwrap(),
            whole(&tablet)
        );
        docs::finish_session(&mut tablet, first.id, Some(4), None, NOW + 4).unwrap();
        projected = sync(&tablet).after(Some(projected)).unwrap();
        let rows = projected.rows_at(&tablet.get_heads()).unwrap();
        assert_eq!(rows, whole(&tablet));
        assert_eq!(rows.deliveries[0].delivered, 1);
        // Three syncs before the projector comes round: chained, they are one step.
        let at_last_projection = projected.clone();
        docs::start_who5(
            &mut tablet,
            second.id,
            AssessmentPhase::Start,
            who.user_id,
            MeasuredAt::Home,
            NOW + 5,
        )
        .unwrap();
        let mut chained = sync(&tablet);
        for item in 0..5 {
            docs::record_who5_answer(&mut tablet, second.id, item, 4, NOW + 6).unwrap();
            chained = chained.then(sync(&tablet));
        }
        let third = SessionLog::start(course, who.user_id, None, NOW + 7);
        docs::put_session(&mut tablet, &third, NOW + 7).unwrap();
        chained = chained.then(sync(&tablet));
        assert!(chained.reaches(&tablet.get_heads()));
        assert!(chained.follows(Some(&at_last_projection)));
        let rows = chained
            .clone()
            .after(Some(at_last_projection.clone()))
            .unwrap()
            .rows_at(&tablet.get_heads())
            .unwrap();
        assert_eq!(rows, whole(&tablet));
        assert_eq!((rows.sessions.len(), rows.test_results.len()), (3, 1));
        // A step that does not start at the projection is not applied to it, and a projection
        // is not answered for heads it is not at.
        docs::log_set(&mut tablet, third.id, line, "sit", &set(NOW + 8), NOW + 8).unwrap();
        let later = sync(&tablet);
        assert!(!later.follows(Some(&at_last_projection)));
        assert!(later.after(Some(at_last_projection.clone())).is_none());
        assert!(at_last_projection.rows_at(&tablet.get_heads()).is_none());
        // A step after an unrelated one replaces it rather than chaining.
        docs::log_set(&mut tablet, third.id, line, "sit", &set(NOW + 9), NOW + 9).unwrap();
        let next = sync(&tablet);
        let replaced = chained.then(next.clone());
        assert!(!replaced.follows(Some(&at_last_projection)));
    }

    /// What the rule cannot place, and heads the log does not hold, read the whole log.
    #[test]
    fn a_session_log_is_read_whole_when_the_changes_since_cannot_be_placed() {
        let course = CourseId::new();
        let header = Header::session_log(TeamId::new(), course);
        let mut doc = genesis(&header);
        doc.set_actor(automerge::ActorId::random());
        let s = SessionLog::start(course, UserId::new(), None, NOW);
        docs::put_session(&mut doc, &s, NOW).unwrap();
        let (_, projected) = rows_after(&header, &doc, None).unwrap();
        // A session deleted: not something a logging device does.
        let sessions = match automerge::ReadDoc::get(&doc, automerge::ROOT, "sessions").unwrap() {
            Some((_, obj)) => obj,
            None => unreachable!("a log has its sessions"),
        };
        let mut tx = doc.transaction();
        automerge::transaction::Transactable::delete(&mut tx, &sessions, s.id.to_string().as_str())
            .unwrap();
        tx.commit();
        assert!(crate::admission::sessions_written_since(&doc, &projected.heads).is_none());
        let (rows, _) = rows_after(&header, &doc, Some(projected.clone())).unwrap();
        assert!(rows.sessions.is_empty());
        assert_eq!(rows, rows_of(&header, &doc).unwrap());
        // Heads of another document (a rewritten generation): read whole.
        let mut elsewhere = genesis(&header);
        elsewhere.set_actor(automerge::ActorId::random());
        docs::put_session(&mut elsewhere, &s, NOW).unwrap();
        let (rows, _) = rows_after(&header, &elsewhere, Some(projected)).unwrap();
        assert_eq!(rows, rows_of(&header, &elsewhere).unwrap());
        assert_eq!(rows.sessions.len(), 1);
    }
}
