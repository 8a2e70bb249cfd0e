//! The therapist's and leader's views as projection queries (one query per view, never one
//! per course), and the team's staff directory the server sends.

use super::database::Store;
use crate::error::{CoreError, Result};
use homerehab_shared::api::TeamInfo;
use homerehab_shared::ids::*;
use homerehab_shared::model::{CareGrantRecord, Millis, Role};
use rusqlite::{params, OptionalExtension, Row};
use std::collections::HashMap;

pub(super) fn parse_id<T: std::str::FromStr>(row: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    row.get::<_, String>(i)?.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            "not a uuid".into(),
        )
    })
}

/// One course with what the caseload rules need.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseloadFacts {
    pub id: CourseId,
    pub citizen_id: CitizenId,
    pub citizen_name: Option<String>,
    pub legal_basis: String,
    pub status: String,
    pub start_date: String,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub revision_count: u32,
    pub responsible_therapist: UserId,
    pub program_conflicts: u32,
    /// Completed or in progress.
    pub sessions_done: u32,
    /// Of any kind, carried out or not.
    pub last_session_at: Option<Millis>,
    /// Highest pain in sessions started since the given time.
    pub recent_max_pain: Option<u8>,
}

/// A citizen on the roster, with assignments and the open course.
#[derive(Clone, Debug, PartialEq)]
pub struct CitizenRow {
    pub id: CitizenId,
    pub name: String,
    pub local_ref: String,
    pub address: Option<String>,
    pub assigned: Vec<String>,
    pub open_course: Option<CourseId>,
    pub birth_year: Option<i32>,
    /// `female` or `male`.
    pub sex: Option<String>,
}

/// An active course as a card on today's visits.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitRow {
    pub course_id: CourseId,
    pub citizen_name: Option<String>,
    pub address: Option<String>,
    pub legal_basis: String,
    pub sessions_per_week: u32,
    /// Carried out since the given week start.
    pub sessions_this_week: u32,
    pub last_session_at: Option<Millis>,
}

/// A member of the team as the directory lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffRow {
    pub user_id: UserId,
    pub display_name: String,
    pub role: Role,
}

/// One person's logged sessions, for the leader; `None` name and role for someone who logged
/// sessions on this team's courses but is not in the directory (yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffActivityRow {
    pub user_id: UserId,
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub sessions_since: u32,
    pub last_session_at: Option<Millis>,
}

/// The team's totals for the leader's overview.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamCounts {
    pub citizens: u32,
    /// Courses by status label.
    pub courses: HashMap<String, u32>,
    pub carried_out_since: u32,
    pub not_carried_out_since: u32,
}

/// A course as listed on the device.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CourseRow {
    pub id: CourseId,
    pub citizen_id: CitizenId,
    pub citizen_name: Option<String>,
    pub legal_basis: String,
    pub status: String,
    pub start_date: String,
    pub sessions_per_week: u32,
    pub revision_count: u32,
    pub sessions_logged: u32,
    pub planned_weeks: u32,
    /// Why the course ended early (a key of `model::END_REASONS`), if it did.
    pub end_reason: Option<String>,
}

/// A logged session as listed on the device.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SessionRow {
    pub id: SessionId,
    pub course_id: CourseId,
    pub performed_by: UserId,
    pub program_revision: Option<RevisionId>,
    pub started_at: Millis,
    pub status: String,
    pub set_count: u32,
}

impl Store {
    /// A team's home-care grants as projected from its roster, or one citizen's of them.
    pub fn care_grants(
        &self,
        team: TeamId,
        citizen: Option<CitizenId>,
    ) -> Result<Vec<CareGrantRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT citizen_id, effective, minutes_per_week, service_code, recorded_by,
                    recorded_at
             FROM care_grants WHERE team_id = ?1 AND (?2 IS NULL OR citizen_id = ?2)",
        )?;
        let rows = stmt.query_map(
            params![team.to_string(), citizen.map(|c| c.to_string())],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (citizen, effective, minutes_per_week, service_code, by, at) = row?;
            let id = |what: &str, s: &str| CoreError::Corrupt(format!("care_grants.{what} `{s}`"));
            out.push(CareGrantRecord {
                citizen_id: citizen.parse().map_err(|_| id("citizen_id", &citizen))?,
                effective,
                minutes_per_week,
                service_code,
                recorded_by: by.parse().map_err(|_| id("recorded_by", &by))?,
                recorded_at: at,
            });
        }
        Ok(out)
    }

    /// The exercise of a line of `course`'s current program, from its projection row (one
    /// primary-key lookup; the course document is not loaded).
    pub(super) fn program_line_exercise(
        &self,
        course: CourseId,
        line: ProgramExerciseId,
    ) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT exercise_ref FROM program_lines WHERE course_id = ?1 AND line_id = ?2",
            )?
            .query_row([course.to_string(), line.to_string()], |r| r.get(0))
            .optional()?)
    }

    // ---- queries (projections) -------------------------------------------------------------

    pub fn courses(&self) -> Result<Vec<CourseRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.id, c.citizen_id, z.name, c.legal_basis, c.status, c.start_date, c.sessions_per_week,
                    c.revision_count, (SELECT COUNT(*) FROM sessions s WHERE s.course_id = c.id),
                    c.planned_weeks, c.end_reason
             FROM courses c LEFT JOIN citizens z ON z.id = c.citizen_id ORDER BY z.name, c.start_date",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CourseRow {
                id: parse_id(r, 0)?,
                citizen_id: parse_id(r, 1)?,
                citizen_name: r.get(2)?,
                legal_basis: r.get(3)?,
                status: r.get(4)?,
                start_date: r.get(5)?,
                sessions_per_week: r.get(6)?,
                revision_count: r.get(7)?,
                sessions_logged: r.get(8)?,
                planned_weeks: r.get(9)?,
                end_reason: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn sessions(&self, course: CourseId) -> Result<Vec<SessionRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, course_id, performed_by, program_revision, started_at, status, set_count
             FROM sessions WHERE course_id = ?1 ORDER BY started_at, id",
        )?;
        let rows = stmt.query_map([course.to_string()], |r| {
            Ok(SessionRow {
                id: parse_id(r, 0)?,
                course_id: parse_id(r, 1)?,
                performed_by: parse_id(r, 2)?,
                program_revision: match r.get::<_, Option<String>>(3)? {
                    Some(_) => Some(parse_id(r, 3)?),
                    None => None,
                },
                started_at: r.get(4)?,
                status: r.get(5)?,
                set_count: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every course on the device with its session figures: one query.
    pub fn caseload_facts(&self, pain_since: Millis) -> Result<Vec<CaseloadFacts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.citizen_id, z.name, c.legal_basis, c.status, c.start_date,
                    c.planned_weeks, c.sessions_per_week, c.revision_count,
                    c.responsible_therapist, c.program_conflicts,
                    COALESCE(s.done, 0), s.last_at, s.recent_pain
             FROM courses c
             LEFT JOIN citizens z ON z.id = c.citizen_id
             LEFT JOIN (
                 SELECT course_id,
                        SUM(status = 'completed') AS done,
                        MAX(started_at) AS last_at,
                        MAX(CASE WHEN started_at >= ?1 THEN max_pain END) AS recent_pain
                 FROM sessions GROUP BY course_id
             ) s ON s.course_id = c.id
             ORDER BY z.name IS NULL, z.name, c.start_date, c.id",
        )?;
        let rows = stmt.query_map([pain_since], |r| {
            Ok(CaseloadFacts {
                id: parse_id(r, 0)?,
                citizen_id: parse_id(r, 1)?,
                citizen_name: r.get(2)?,
                legal_basis: r.get(3)?,
                status: r.get(4)?,
                start_date: r.get(5)?,
                planned_weeks: r.get(6)?,
                sessions_per_week: r.get(7)?,
                revision_count: r.get(8)?,
                responsible_therapist: parse_id(r, 9)?,
                program_conflicts: r.get(10)?,
                sessions_done: r.get(11)?,
                last_session_at: r.get(12)?,
                recent_max_pain: r.get(13)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Active citizens on the device's rosters, by name: one query.
    pub fn citizen_rows(&self) -> Result<Vec<CitizenRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT z.id, z.name, z.local_ref, z.address,
                    (SELECT group_concat(a.user_id) FROM citizen_assignments a
                     WHERE a.citizen_id = z.id),
                    (SELECT c.id FROM courses c
                     WHERE c.citizen_id = z.id AND c.status IN ('planned', 'active', 'paused')
                     ORDER BY c.start_date DESC, c.id LIMIT 1),
                    z.birth_year, z.sex
             FROM citizens z WHERE z.active = 1 ORDER BY z.name, z.id",
        )?;
        let rows = stmt.query_map([], |r| {
            let assigned: Option<String> = r.get(4)?;
            let mut assigned: Vec<String> = assigned
                .map(|a| a.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            assigned.sort();
            Ok(CitizenRow {
                id: parse_id(r, 0)?,
                name: r.get(1)?,
                local_ref: r.get(2)?,
                address: r.get(3)?,
                assigned,
                open_course: r
                    .get::<_, Option<String>>(5)?
                    .map(|s| s.parse())
                    .transpose()
                    .map_err(|_| rusqlite::Error::InvalidQuery)?,
                birth_year: r.get(6)?,
                sex: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Active courses for today's visits, with this week's sessions: one query. For an
    /// assistant (`only_for`), only the courses of citizens assigned to them — once the roster
    /// is on the device; before the first sync every active course shows.
    pub fn visit_rows(
        &self,
        week_start: Millis,
        only_for: Option<UserId>,
    ) -> Result<Vec<VisitRow>> {
        let roster_known: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM documents WHERE kind = 'roster')",
            [],
            |r| r.get(0),
        )?;
        let only_for = only_for.filter(|_| roster_known).map(|u| u.to_string());
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, z.name, z.address, c.legal_basis, c.sessions_per_week,
                    COALESCE(s.this_week, 0), s.last_at
             FROM courses c
             LEFT JOIN citizens z ON z.id = c.citizen_id
             LEFT JOIN (
                 SELECT course_id,
                        SUM(status = 'completed' AND started_at >= ?1) AS this_week,
                        MAX(started_at) AS last_at
                 FROM sessions GROUP BY course_id
             ) s ON s.course_id = c.id
             WHERE c.status = 'active'
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM citizen_assignments a
                                          WHERE a.citizen_id = c.citizen_id AND a.user_id = ?2))
             ORDER BY z.name, c.id",
        )?;
        let rows = stmt.query_map(params![week_start, only_for], |r| {
            Ok(VisitRow {
                course_id: parse_id(r, 0)?,
                citizen_name: r.get(1)?,
                address: r.get(2)?,
                legal_basis: r.get(3)?,
                sessions_per_week: r.get(4)?,
                sessions_this_week: r.get(5)?,
                last_session_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- the staff directory ------------------------------------------------------------

    /// Replaces what the device knows of a team's name and members.
    pub fn set_team_info(&mut self, team: &TeamInfo) -> Result<()> {
        let id = team.team_id.to_string();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO teams (team_id, name) VALUES (?1, ?2)",
            params![id, team.name],
        )?;
        tx.execute("DELETE FROM staff WHERE team_id = ?1", [&id])?;
        for m in &team.members {
            tx.execute(
                "INSERT OR REPLACE INTO staff (team_id, user_id, display_name, role)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, m.user_id.to_string(), m.display_name, m.role.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn team_name(&self, team: TeamId) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name FROM teams WHERE team_id = ?1",
                [team.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The team's members by name.
    pub fn staff(&self, team: TeamId) -> Result<Vec<StaffRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT user_id, display_name, role FROM staff WHERE team_id = ?1
             ORDER BY display_name, user_id",
        )?;
        let rows = stmt.query_map([team.to_string()], |r| {
            Ok((parse_id(r, 0)?, r.get(1)?, r.get::<_, String>(2)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (user_id, display_name, role) = row?;
            let role = Role::parse(&role).ok_or_else(|| CoreError::Document(role.clone()))?;
            out.push(StaffRow {
                user_id,
                display_name,
                role,
            });
        }
        Ok(out)
    }

    /// Display names of everyone in any team directory on the device.
    pub fn staff_names(&self) -> Result<HashMap<UserId, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT user_id, display_name FROM staff")?;
        let rows = stmt.query_map([], |r| Ok((parse_id(r, 0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- the leader's overview ----------------------------------------------------------

    /// Citizens, courses by status and sessions since `since`: three small aggregates.
    pub fn team_counts(&self, since: Millis) -> Result<TeamCounts> {
        let citizens =
            self.conn
                .query_row("SELECT COUNT(*) FROM citizens WHERE active = 1", [], |r| {
                    r.get(0)
                })?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, COUNT(*) FROM courses GROUP BY status")?;
        let courses = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let (carried_out_since, not_carried_out_since) = self.conn.query_row(
            "SELECT COALESCE(SUM(status = 'completed'), 0),
                    COALESCE(SUM(status = 'not_carried_out'), 0)
             FROM sessions WHERE started_at >= ?1",
            [since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(TeamCounts {
            citizens,
            courses,
            carried_out_since,
            not_carried_out_since,
        })
    }

    /// The team's members and anyone else who logged sessions on the device, with their
    /// sessions since `since` and their latest: one query.
    pub fn staff_activity(&self, team: TeamId, since: Millis) -> Result<Vec<StaffActivityRow>> {
        let mut stmt = self.conn.prepare_cached(
            "WITH people AS (
                 SELECT user_id, display_name, role FROM staff WHERE team_id = ?1
                 UNION
                 SELECT DISTINCT performed_by, NULL, NULL FROM sessions
                 WHERE performed_by NOT IN (SELECT user_id FROM staff WHERE team_id = ?1)
             )
             SELECT p.user_id, p.display_name, p.role,
                    (SELECT COUNT(*) FROM sessions s
                     WHERE s.performed_by = p.user_id AND s.started_at >= ?2),
                    (SELECT MAX(started_at) FROM sessions s WHERE s.performed_by = p.user_id)
             FROM people p ORDER BY p.display_name IS NULL, p.display_name, p.user_id",
        )?;
        let rows = stmt.query_map(params![team.to_string(), since], |r| {
            Ok(StaffActivityRow {
                user_id: parse_id(r, 0)?,
                display_name: r.get(1)?,
                role: r.get::<_, Option<String>>(2)?.and_then(|s| Role::parse(&s)),
                sessions_since: r.get(3)?,
                last_session_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::signed_in;
    use homerehab_shared::api::TeamMember;
    use homerehab_shared::model::*;

    #[test]
    fn views_come_from_the_projections() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let me = store.identity().unwrap().unwrap();
        let assistant = UserId::new();
        store
            .set_team_info(&TeamInfo {
                team_id: team,
                name: "Hjemmetræning Nord".into(),
                members: vec![
                    TeamMember {
                        user_id: me.user_id,
                        display_name: "Mette Kjær".into(),
                        role: Role::Therapist,
                    },
                    TeamMember {
                        user_id: assistant,
                        display_name: "Lone Mikkelsen".into(),
                        role: Role::Assistant,
                    },
                ],
            })
            .unwrap();
        let citizen = Citizen {
            id: CitizenId::new(),
            name: "Karen Jensen".into(),
            local_ref: "TK-1".into(),
            address: Some("Storegade 12".into()),
            assigned: [(assistant.to_string(), true)].into(),
            active: true,
            birth_year: None,
            sex: None,
        };
        store.put_citizen(&citizen).unwrap();
        let course = Course {
            status: CourseStatus::Active,
            ..Course::new(citizen.id, team, me.user_id, "2026-01-05", 0)
        };
        let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(2, 10));
        store
            .create_course(&course, std::slice::from_ref(&line))
            .unwrap();
        let s = store.start_session(course.id).unwrap();
        let fb = homerehab_shared::docs::ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg: Some(4),
            pain: Some(7),
            note: None,
        };
        store
            .record_feedback(course.id, s.id, line.id, &fb)
            .unwrap();
        store
            .finish_session(&SessionClose {
                course: course.id,
                session: s.id,
                general_condition: Some(4),
                note: None,
            })
            .unwrap();
        store
            .session_not_carried_out(course.id, NotCarriedOutReason::Ill, None)
            .unwrap();
        // Begun and not finished (now, or left when the citizen was not home): not done.
        store.start_session(course.id).unwrap();

        let facts = store.caseload_facts(0).unwrap();
        assert_eq!(facts.len(), 1);
        let f = &facts[0];
        assert_eq!(f.citizen_name.as_deref(), Some("Karen Jensen"));
        assert_eq!((f.sessions_done, f.recent_max_pain), (1, Some(7)));
        assert_eq!(f.revision_count, 1);
        assert!(f.last_session_at.is_some());
        assert_eq!(
            store.caseload_facts(i64::MAX).unwrap()[0].recent_max_pain,
            None
        );

        let citizens = store.citizen_rows().unwrap();
        assert_eq!(citizens[0].assigned, vec![assistant.to_string()]);
        assert_eq!(citizens[0].open_course, Some(course.id));
        assert_eq!(citizens[0].address.as_deref(), Some("Storegade 12"));

        let mine = store.visit_rows(0, Some(assistant)).unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].sessions_this_week, 1);
        assert!(store.visit_rows(0, Some(UserId::new())).unwrap().is_empty());

        let names = store.staff_names().unwrap();
        assert_eq!(names[&assistant], "Lone Mikkelsen");
        assert_eq!(
            store.team_name(team).unwrap().as_deref(),
            Some("Hjemmetræning Nord")
        );
        let counts = store.team_counts(0).unwrap();
        assert_eq!((counts.citizens, counts.courses["active"]), (1, 1));
        assert_eq!(
            (counts.carried_out_since, counts.not_carried_out_since),
            (1, 1)
        );
        let activity = store.staff_activity(team, 0).unwrap();
        let mine: Vec<_> = activity
            .iter()
            .map(|a| (a.display_name.as_deref(), a.sessions_since))
            .collect();
        // Use of the tool counts every session recorded, finished or not.
        assert_eq!(
            mine,
            vec![(Some("Lone Mikkelsen"), 0), (Some("Mette Kjær"), 3)]
        );
    }

    #[test]
    fn projections_are_rebuilt_from_the_documents() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let citizen = Citizen {
            id: CitizenId::new(),
            name: "Poul Nielsen".into(),
            local_ref: "TK-2".into(),
            address: Some("Vestergade 4".into()),
            assigned: Default::default(),
            active: true,
            birth_year: None,
            sex: None,
        };
        store.put_citizen(&citizen).unwrap();
        // As a device from before the address was projected.
        store
            .conn
            .execute("UPDATE citizens SET address = NULL", [])
            .unwrap();
        store.reproject_all().unwrap();
        assert_eq!(
            store.citizen_rows().unwrap()[0].address.as_deref(),
            Some("Vestergade 4")
        );
        // An upgrade whose rebuild never ran (the app killed after the migrations committed):
        // the next open rebuilds, and the open after that does not again.
        store
            .conn
            .execute("UPDATE citizens SET address = NULL", [])
            .unwrap();
        store
            .set_meta(super::super::schema::REPROJECT_PENDING, &[1])
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.citizen_rows().unwrap()[0].address.as_deref(),
            Some("Vestergade 4")
        );
        store
            .conn
            .execute("UPDATE citizens SET address = NULL", [])
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.citizen_rows().unwrap()[0].address,
            None,
            "rebuilt once, not at every open"
        );
    }

    /// The rebuild after an upgrade: a document today's rules refuse keeps its rows and does
    /// not keep the app from opening or the others from being rebuilt; another user's parked
    /// work stays hidden.
    #[test]
    fn a_rebuild_passes_over_a_refused_document_and_leaves_parked_work_hidden() {
        use crate::store::fixtures::{citizen, course_with_a_logged_set};
        use crate::store::projection::Projection;
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        use homerehab_shared::docs::Header;
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        store
            .put_citizen(&citizen(CitizenId::new(), "Poul Nielsen"))
            .unwrap();
        let course = course_with_a_logged_set(&mut store, team);
        let parked = course_with_a_logged_set(&mut store, team);
        // The roster as an older build wrote it: a name today's rules refuse (empty).
        let roster = Header::roster(team).id;
        store
            .write(roster, Projection::Unchanged, |doc| {
                let mut tx = doc.transaction();
                let (_, citizens) = tx.get(automerge::ROOT, "citizens").unwrap().unwrap();
                let id = tx.keys(&citizens).next().unwrap();
                let (_, one) = tx.get(&citizens, id.as_str()).unwrap().unwrap();
                tx.put(&one, "name", "").unwrap();
                tx.commit();
                Ok(())
            })
            .unwrap();
        // Another user's course, parked at a hand-over: no rows.
        let parked_header = Header::course(team, parked);
        store
            .conn
            .execute(
                "INSERT INTO parked (doc_id, user_id, display_name, since) VALUES (?1, 'u', 'U', 0)",
                [parked_header.id.0.as_bytes().as_slice()],
            )
            .unwrap();
        super::super::handover::unproject(&store.conn, &parked_header).unwrap();
        store
            .conn
            .execute("DELETE FROM courses WHERE id = ?1", [course.to_string()])
            .unwrap();

        store
            .set_meta(super::super::schema::REPROJECT_PENDING, &[1])
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).expect("the app opens");
        let courses: Vec<CourseId> = store.courses().unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(
            courses,
            [course],
            "rebuilt, and the parked one still hidden"
        );
        assert_eq!(
            store.citizen_rows().unwrap()[0].name,
            "Poul Nielsen",
            "the refused roster's rows as they were"
        );
    }
}
