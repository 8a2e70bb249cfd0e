//! The BI feed: the read model's tables as flat, documented CSV files a municipality's BI team
//! pulls every month (../shared/domain.md §3 "What BI teams want": raw monthly pulls into
//! their own warehouse). Which tables, their columns and what each means are declared here
//! once ([`ExportTable::columns`]); `docs/bi-export.md` describes the same columns and a test
//! holds the two together. The server's stores fill the rows, in the columns' order.
//!
//! What is in it: the municipality's own rows, pseudonymised as the read model is — ids are
//! Homerehab's own random UUIDs, no person's name (the teams' names are), no CPR number, no
//! note (reasons and outcomes are codes; a course's legal basis is the label the app sent).
//! A row-level file is not aggregated, so nothing is suppressed; it is the municipality's own
//! data for its own warehouse, and only roles with [`crate::auth::Capability::ExportData`]
//! get it, of the teams [`may_export_team`] allows.
//!
//! The format is for machines first (RFC 4180): UTF-8 without a byte-order mark, `,` between
//! fields, CRLF, a heading row of column names, dates `YYYY-MM-DD`, instants ISO 8601 in Danish
//! time with their offset, decimals with a point, an empty field for "none". A text that
//! Excel would take for a formula gets a leading `'` (as the access report's CSV).

use crate::audit::AuditAction;
use crate::auth::{Capability, Principal};
use crate::evidence::staff::{StaffMember, Work};
use crate::evidence::targets::Period;
use crate::ids::{MunicipalityId, TeamId};
use crate::model::{Millis, Role};
use crate::retention::Erasure;
use serde::Serialize;
use thiserror::Error;

/// The longest period one file may cover: a year. BI pulls a month at a time; a longer period
/// is a mistake or an attempt to make the server hold a decade of sessions in one answer.
pub const MAX_EXPORT_DAYS: i64 = 366;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExportError {
    #[error("no export table is called {0:?}; there are: {1}")]
    UnknownTable(String, String),
    #[error(
        "an export covers at most {MAX_EXPORT_DAYS} days; ask for one month or one year at a time"
    )]
    PeriodTooLong,
    #[error("row {row} of {table} has {got} fields, its columns are {expected}")]
    RowWidth {
        table: &'static str,
        row: usize,
        got: usize,
        expected: usize,
    },
    #[error("no file format is called {0:?}; there are: rfc4180 (the default), excel")]
    UnknownFormat(String),
    #[error("column {column} of {table} holds a value of the wrong kind")]
    CellKind {
        table: &'static str,
        column: &'static str,
    },
}

/// One table of the feed: seven of the read model's tables, the teams, the staff and the
/// erasures, each scoped to the teams the asker may export (a course's goals, test results
/// and sessions through their course's team).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportTable {
    /// The teams the rows name, with their names: the one table with words in it, none a
    /// person's.
    Teams,
    Citizens,
    Referrals,
    CareGrants,
    Courses,
    Goals,
    TestResults,
    Sessions,
    /// The teams' users (no names): role, training date, their last day of each kind of work
    /// and whether that makes them active, as the evidence's "staff in use" judges it.
    Staff,
    /// What Homerehab erased (a citizen at their request, by retention, …): the warehouse
    /// must erase the same rows. From the erasure ledger, not the read model.
    Erasures,
}

/// What a column holds, and so how it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// A Homerehab id (a UUID as text).
    Id,
    /// A code from a fixed list (`status`, `legal_basis`, reasons …).
    Code,
    /// `YYYY-MM-DD`.
    Date,
    /// A moment, stored as milliseconds since 1970; written ISO 8601 in Danish time.
    Instant,
    Integer,
    Decimal,
    /// `true` / `false`.
    Boolean,
}

/// A column: its name in the heading row, its kind, and whether it may be empty
/// (`docs/bi-export.md` says what each means).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub nullable: bool,
}

const fn col(name: &'static str, kind: ColumnKind) -> Column {
    Column {
        name,
        kind,
        nullable: false,
    }
}

const fn opt(name: &'static str, kind: ColumnKind) -> Column {
    Column {
        name,
        kind,
        nullable: true,
    }
}

use ColumnKind::{Boolean, Code, Date, Decimal, Id, Instant, Integer};

const TEAMS: &[Column] = &[col("team_id", Id), col("name", Code)];
const CITIZENS: &[Column] = &[
    col("citizen_id", Id),
    col("team_id", Id),
    opt("birth_year", Integer),
    opt("sex", Code),
    col("active", Boolean),
];
const REFERRALS: &[Column] = &[
    col("referral_id", Id),
    col("citizen_id", Id),
    col("team_id", Id),
    col("referred_on", Date),
    col("referred_by", Id),
    opt("screened_on", Date),
    opt("screened_by", Id),
    opt("outcome", Code),
    opt("not_included_reason", Code),
    opt("course_id", Id),
];
const CARE_GRANTS: &[Column] = &[
    col("citizen_id", Id),
    col("team_id", Id),
    col("effective", Date),
    col("minutes_per_week", Integer),
    opt("service_code", Code),
    opt("recorded_on", Date),
];
const COURSES: &[Column] = &[
    col("course_id", Id),
    col("citizen_id", Id),
    col("team_id", Id),
    col("legal_basis", Code),
    col("start_date", Date),
    col("planned_weeks", Integer),
    col("sessions_per_week", Integer),
    col("status", Code),
    col("responsible_therapist", Id),
    col("created_at", Instant),
    opt("end_reason", Code),
];
const GOALS: &[Column] = &[
    col("course_id", Id),
    col("position", Integer),
    opt("attainment", Code),
];
const TEST_RESULTS: &[Column] = &[
    col("result_id", Id),
    col("course_id", Id),
    col("test", Code),
    col("phase", Code),
    col("value", Decimal),
    col("date", Date),
    col("measured_by", Id),
];
const ERASURES: &[Column] = &[
    col("erased_at", Instant),
    col("citizen_id", Id),
    col("team_id", Id),
    col("record", Code),
    opt("record_id", Code),
    col("reason", Code),
];
const STAFF: &[Column] = &[
    col("user_id", Id),
    col("team_id", Id),
    col("role", Code),
    opt("trained_on", Date),
    col("as_of", Date),
    col("may_be_active", Boolean),
    col("active", Boolean),
    opt("last_logged_session", Date),
    opt("last_edited_program", Date),
    opt("last_recorded_test", Date),
];
const SESSIONS: &[Column] = &[
    col("session_id", Id),
    col("course_id", Id),
    col("performed_by", Id),
    col("started_at", Instant),
    opt("ended_at", Instant),
    col("status", Code),
    opt("not_carried_out", Code),
    col("set_count", Integer),
    opt("general_condition", Integer),
];

impl ExportTable {
    pub const ALL: [ExportTable; 10] = [
        ExportTable::Teams,
        ExportTable::Citizens,
        ExportTable::Referrals,
        ExportTable::CareGrants,
        ExportTable::Courses,
        ExportTable::Goals,
        ExportTable::TestResults,
        ExportTable::Sessions,
        ExportTable::Staff,
        ExportTable::Erasures,
    ];

    /// The table's name in the API's path and in the file's name.
    pub fn name(self) -> &'static str {
        match self {
            ExportTable::Teams => "teams",
            ExportTable::Citizens => "citizens",
            ExportTable::Referrals => "referrals",
            ExportTable::CareGrants => "care_grants",
            ExportTable::Courses => "courses",
            ExportTable::Goals => "goals",
            ExportTable::TestResults => "test_results",
            ExportTable::Sessions => "sessions",
            ExportTable::Staff => "staff",
            ExportTable::Erasures => "erasures",
        }
    }

    pub fn from_name(name: &str) -> Result<ExportTable, ExportError> {
        ExportTable::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = ExportTable::ALL.iter().map(|t| t.name()).collect();
                ExportError::UnknownTable(name.chars().take(40).collect(), names.join(", "))
            })
    }

    /// The columns in the order the stores give them and the file writes them.
    pub fn columns(self) -> &'static [Column] {
        match self {
            ExportTable::Teams => TEAMS,
            ExportTable::Citizens => CITIZENS,
            ExportTable::Referrals => REFERRALS,
            ExportTable::CareGrants => CARE_GRANTS,
            ExportTable::Courses => COURSES,
            ExportTable::Goals => GOALS,
            ExportTable::TestResults => TEST_RESULTS,
            ExportTable::Sessions => SESSIONS,
            ExportTable::Staff => STAFF,
            ExportTable::Erasures => ERASURES,
        }
    }

    /// Which rows a period takes: `None` for the teams and the citizens, as they stand, and
    /// the staff, as they stand with their work judged as of the period's end.
    pub fn period_column(self) -> Option<&'static str> {
        match self {
            ExportTable::Teams | ExportTable::Citizens | ExportTable::Staff => None,
            ExportTable::Referrals => Some("referred_on"),
            ExportTable::CareGrants => Some("effective"),
            // A course's goals come with the course: both by the course's start.
            ExportTable::Courses | ExportTable::Goals => Some("start_date"),
            ExportTable::TestResults => Some("date"),
            // By the Danish day the session began; an erasure by the day it was made.
            ExportTable::Sessions => Some("started_at"),
            ExportTable::Erasures => Some("erased_at"),
        }
    }

    /// Whether the rows are one of the read model's tables as a store's query reads them
    /// (the teams are the server's, the staff the evidence's staff facts, the erasures the
    /// erasure ledger's).
    pub fn from_read_model(self) -> bool {
        !matches!(
            self,
            ExportTable::Teams | ExportTable::Staff | ExportTable::Erasures
        )
    }

    /// The file's name: `homerehab-sessions-2026-11-01-2026-11-30.csv`.
    pub fn file_name(self, period: &Period) -> String {
        format!(
            "homerehab-{}-{}-{}.csv",
            self.name(),
            crate::effect::iso(period.start),
            crate::effect::iso(period.end)
        )
    }
}

/// A table as `GET /v1/export` lists it, so a BI tool can find the tables and their columns.
#[derive(Clone, Debug, Serialize)]
pub struct TableInfo {
    pub name: &'static str,
    /// The column a period selects rows by; none for the teams, the citizens and the staff.
    pub period_column: Option<&'static str>,
    pub columns: &'static [Column],
}

/// Every table of the feed.
pub fn catalogue() -> Vec<TableInfo> {
    ExportTable::ALL
        .into_iter()
        .map(|t| TableInfo {
            name: t.name(),
            period_column: t.period_column(),
            columns: t.columns(),
        })
        .collect()
}

/// Whether `who` may export the rows of `team` (of `municipality`): an admin the whole own
/// municipality's (the BI feed is set up for the municipality), a leader only those of the
/// teams they serve — the evidence withholds the outcomes of few citizens of other teams from
/// them (docs/security.md F9), and rows would give those back.
pub fn may_export_team(who: &Principal, team: TeamId, municipality: MunicipalityId) -> bool {
    who.may(Capability::ExportData)
        && who.municipality_id == Some(municipality)
        && (who.role == Role::Admin || who.serves(team))
}

/// The `erasures` file's rows: the ledger's entries (when, of which municipality, what, why) of
/// the teams `who` may export, made within `period`'s Danish days, oldest first.
pub fn erasure_rows<'a>(
    ledger: impl IntoIterator<Item = (Millis, MunicipalityId, &'a Erasure, AuditAction)>,
    who: &Principal,
    period: &Period,
) -> Vec<Vec<Cell>> {
    let (from, to) = period_instants(period);
    let mut rows: Vec<(Millis, Vec<Cell>)> = ledger
        .into_iter()
        .filter(|(at, m, erasure, _)| {
            (from..to).contains(at) && may_export_team(who, erasure.team(), *m)
        })
        .map(|(at, _, erasure, why)| {
            let (record, id) = match erasure {
                Erasure::Citizen { .. } => ("citizen", None),
                Erasure::Course { course, .. } => ("course", Some(course.to_string())),
                Erasure::Referral { referral, .. } => ("referral", Some(referral.to_string())),
                Erasure::CareGrant { key, .. } => ("care_grant", Some(key.clone())),
            };
            let row = vec![
                Cell::Integer(at),
                Cell::Text(erasure.citizen().to_string()),
                Cell::Text(erasure.team().to_string()),
                Cell::Text(record.into()),
                id.map_or(Cell::Null, Cell::Text),
                Cell::Text(why.as_str().into()),
            ];
            (at, row)
        })
        .collect();
    rows.sort_by_key(|(at, _)| *at);
    rows.into_iter().map(|(_, row)| row).collect()
}

/// The `teams` file's rows: each team's id and name, by id.
pub fn team_rows<'a>(teams: impl IntoIterator<Item = (TeamId, &'a str)>) -> Vec<Vec<Cell>> {
    let mut rows: Vec<(String, &str)> = teams
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    rows.sort();
    rows.into_iter()
        .map(|(id, name)| vec![Cell::Text(id), Cell::Text(name.into())])
        .collect()
}

/// The `staff` file's rows: each member as the evidence judges them on `as_of` (the period's
/// end, or today if that is earlier), by team and id.
pub fn staff_rows(staff: &[StaffMember], as_of: time::Date) -> Vec<Vec<Cell>> {
    let mut members: Vec<&StaffMember> = staff.iter().collect();
    members.sort_by(|a, b| (&a.team_id, &a.user_id).cmp(&(&b.team_id, &b.user_id)));
    let date = |d: Option<time::Date>| d.map_or(Cell::Null, |d| Cell::Text(crate::effect::iso(d)));
    members
        .into_iter()
        .map(|m| {
            let last = |work: Work| {
                date(
                    m.last_work
                        .iter()
                        .find(|w| w.work == work)
                        .map(|w| w.last_on),
                )
            };
            vec![
                Cell::Text(m.user_id.clone()),
                Cell::Text(m.team_id.clone()),
                Cell::Text(m.role.as_str().into()),
                date(m.trained_on),
                date(Some(as_of)),
                Cell::Boolean(m.can_be_active()),
                Cell::Boolean(m.active(as_of)),
                last(Work::LoggedSession),
                last(Work::EditedProgram),
                last(Work::RecordedTest),
            ]
        })
        .collect()
}

/// The period one file covers, checked: at most [`MAX_EXPORT_DAYS`].
pub fn export_period(period: Period) -> Result<Period, ExportError> {
    if period.days() > MAX_EXPORT_DAYS {
        return Err(ExportError::PeriodTooLong);
    }
    Ok(period)
}

/// The instants a period's Danish days span, `[start, end)`: what a session's `started_at` is
/// compared with.
pub fn period_instants(period: &Period) -> (Millis, Millis) {
    let after_end = period.end.next_day().unwrap_or(period.end);
    (
        crate::schedule::start_of(period.start),
        crate::schedule::start_of(after_end),
    )
}

/// One field of a row as a store read it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Integer(i64),
    Decimal(f64),
    Boolean(bool),
}

/// The file: the heading row, then every row, checked against the table's columns (a store
/// that gave a row of the wrong width or kind is a bug, answered as an error, not a file that
/// a warehouse would read wrong).
pub fn to_csv(table: ExportTable, rows: &[Vec<Cell>]) -> Result<Vec<u8>, ExportError> {
    to_csv_as(table, rows, Dialect::Rfc4180)
}

/// How a file is written: for a warehouse (RFC 4180, the default), or for Danish Excel opened
/// with a double click — `;` between fields, a byte-order mark and a decimal comma, as the
/// access report's CSV — for a leader who downloads a table in the app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    Rfc4180,
    DanishExcel,
}

impl Dialect {
    /// `format=` of the API: absent or `rfc4180`, or `excel`.
    pub fn from_name(name: Option<&str>) -> Result<Dialect, ExportError> {
        match name {
            None | Some("rfc4180") => Ok(Dialect::Rfc4180),
            Some("excel") => Ok(Dialect::DanishExcel),
            Some(other) => Err(ExportError::UnknownFormat(other.chars().take(40).collect())),
        }
    }
}

/// [`to_csv`] in `dialect`.
pub fn to_csv_as(
    table: ExportTable,
    rows: &[Vec<Cell>],
    dialect: Dialect,
) -> Result<Vec<u8>, ExportError> {
    let columns = table.columns();
    let mut out = Vec::with_capacity(64 + rows.len() * 16 * columns.len());
    let excel = dialect == Dialect::DanishExcel;
    if excel {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(if excel { b';' } else { b',' })
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = w.write_record(columns.iter().map(|c| c.name));
        let mut fields: Vec<String> = Vec::with_capacity(columns.len());
        for (i, row) in rows.iter().enumerate() {
            if row.len() != columns.len() {
                return Err(ExportError::RowWidth {
                    table: table.name(),
                    row: i + 1,
                    got: row.len(),
                    expected: columns.len(),
                });
            }
            fields.clear();
            for (column, cell) in columns.iter().zip(row) {
                let mut text = field(table, column, cell)?;
                if excel && column.kind == Decimal {
                    text = text.replace('.', ",");
                }
                fields.push(text);
            }
            let _ = w.write_record(&fields);
        }
        let _ = w.flush();
    }
    Ok(out)
}

fn field(table: ExportTable, column: &Column, cell: &Cell) -> Result<String, ExportError> {
    let wrong = || ExportError::CellKind {
        table: table.name(),
        column: column.name,
    };
    Ok(match (column.kind, cell) {
        (_, Cell::Null) if column.nullable => String::new(),
        (Id | Code | Date, Cell::Text(s)) => crate::audit::spreadsheet_text(s.clone()),
        (Instant, Cell::Integer(ms)) => instant(*ms).ok_or_else(wrong)?,
        (Integer, Cell::Integer(n)) => n.to_string(),
        (Decimal, Cell::Decimal(x)) if x.is_finite() => x.to_string(),
        (Decimal, Cell::Integer(n)) => n.to_string(),
        (Boolean, Cell::Boolean(b)) => b.to_string(),
        // SQLite keeps a boolean as 0 or 1.
        (Boolean, Cell::Integer(n @ (0 | 1))) => (*n == 1).to_string(),
        _ => return Err(wrong()),
    })
}

/// `at` in Danish time with its offset: `2026-11-30T09:15:00+01:00`; `None` past the years
/// a date can hold.
pub fn instant(at: Millis) -> Option<String> {
    let offset = crate::schedule::danish_offset(at);
    let t = time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
        .ok()
        .and_then(|t| t.checked_to_offset(offset))?;
    let (h, m) = (offset.whole_hours(), offset.minutes_past_hour().abs());
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        if h < 0 { '-' } else { '+' },
        h.abs(),
        m
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn period(start: time::Date, end: time::Date) -> Period {
        Period::new(start, end).unwrap()
    }

    /// A 4-metre gait speed of 0.85 m/s: a test result with a decimal value.
    fn gait_speed_row() -> Vec<Vec<Cell>> {
        vec![vec![
            Cell::Text("r".into()),
            Cell::Text("c".into()),
            Cell::Text("gait_speed_4m".into()),
            Cell::Text("end".into()),
            Cell::Decimal(0.85),
            Cell::Text("2026-01-01".into()),
            Cell::Text("u".into()),
        ]]
    }

    #[test]
    fn every_table_is_found_by_its_name_and_nothing_else_is() {
        for t in ExportTable::ALL {
            assert_eq!(ExportTable::from_name(t.name()), Ok(t));
            let names: Vec<_> = t.columns().iter().map(|c| c.name).collect();
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{} repeats a column", t.name());
            if let Some(p) = t.period_column() {
                assert!(
                    names.contains(&p) || t == ExportTable::Goals,
                    "{} filters on a column it lacks",
                    t.name()
                );
            }
        }
        let err = ExportTable::from_name("users").unwrap_err().to_string();
        assert!(
            err.contains("\"users\"") && err.contains("sessions"),
            "{err}"
        );
    }

    /// `docs/bi-export.md` is what a BI team reads: every table and every column there, in
    /// the order of the file's heading, and nothing that is not.
    #[test]
    fn the_documentation_describes_every_table_and_column_in_order() {
        let doc = include_str!("../../docs/bi-export.md");
        let sections: Vec<&str> = doc.split("\n### `").skip(1).collect();
        assert_eq!(sections.len(), ExportTable::ALL.len());
        for (table, section) in ExportTable::ALL.into_iter().zip(sections) {
            assert!(
                section.starts_with(&format!("{}`", table.name())),
                "{section}"
            );
            let documented: Vec<&str> = section
                .lines()
                .filter_map(|l| l.strip_prefix("| `"))
                .filter_map(|l| l.split('`').next())
                .collect();
            let declared: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
            assert_eq!(documented, declared, "{}", table.name());
            for c in table.columns() {
                let line = section
                    .lines()
                    .find(|l| l.starts_with(&format!("| `{}` |", c.name)))
                    .unwrap();
                assert_eq!(line.contains("may be empty"), c.nullable, "{line}");
            }
        }
    }

    #[test]
    fn an_admin_exports_the_municipality_a_leader_the_teams_they_serve() {
        let (m, other) = (MunicipalityId::new(), MunicipalityId::new());
        let (own, granted, unserved) = (TeamId::new(), TeamId::new(), TeamId::new());
        let person = |role| Principal {
            user_id: crate::ids::UserId::new(),
            role,
            team_id: own,
            granted_teams: vec![granted],
            municipality_id: Some(m),
        };
        let admin = person(Role::Admin);
        let leader = person(Role::Leader);
        for team in [own, granted, unserved] {
            assert!(may_export_team(&admin, team, m));
            assert!(
                !may_export_team(&admin, team, other),
                "another municipality"
            );
        }
        assert!(may_export_team(&leader, own, m));
        assert!(may_export_team(&leader, granted, m));
        assert!(!may_export_team(&leader, unserved, m));
        for role in [Role::Therapist, Role::Assistant] {
            assert!(!may_export_team(&person(role), own, m), "{role:?}");
        }
        let nowhere = Principal {
            municipality_id: None,
            ..admin
        };
        assert!(!may_export_team(&nowhere, own, m));
    }

    #[test]
    fn erasures_are_the_ledgers_entries_of_the_teams_and_days_asked() {
        use crate::ids::{CitizenId, CourseId};
        let m = MunicipalityId::new();
        let (own, unserved) = (TeamId::new(), TeamId::new());
        let leader = Principal {
            user_id: crate::ids::UserId::new(),
            role: Role::Leader,
            team_id: own,
            granted_teams: vec![],
            municipality_id: Some(m),
        };
        let (citizen, course) = (CitizenId::new(), CourseId::new());
        let erased_citizen = Erasure::Citizen { citizen, team: own };
        let erased_course = Erasure::Course {
            citizen,
            team: own,
            course,
        };
        let grant = Erasure::CareGrant {
            citizen,
            team: unserved,
            key: format!("{citizen}/2026-01-01/"),
        };
        let november = period(date!(2026 - 11 - 01), date!(2026 - 11 - 30));
        let (from, to) = period_instants(&november);
        let ledger = [
            (to - 1, m, &erased_citizen, AuditAction::ErasedOnRequest),
            (from, m, &erased_course, AuditAction::ErasedByRetention),
            (from + 5, m, &grant, AuditAction::ErasedByRetention),
            (to, m, &erased_course, AuditAction::ErasedByRetention),
            (from - 1, m, &erased_course, AuditAction::ErasedByRetention),
            (
                from,
                MunicipalityId::new(),
                &erased_course,
                AuditAction::ErasedByOrder,
            ),
        ];
        let rows = erasure_rows(ledger, &leader, &november);
        assert_eq!(
            rows.len(),
            2,
            "November's, of the leader's team and municipality"
        );
        let csv = String::from_utf8(to_csv(ExportTable::Erasures, &rows).unwrap()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "erased_at,citizen_id,team_id,record,record_id,reason"
        );
        assert_eq!(
            lines[1],
            format!(
                "2026-11-01T00:00:00+01:00,{citizen},{own},course,{course},erased_by_retention"
            )
        );
        assert_eq!(
            lines[2],
            format!("2026-11-30T23:59:59+01:00,{citizen},{own},citizen,,erased_on_request")
        );
        let admin = Principal {
            role: Role::Admin,
            ..leader
        };
        assert_eq!(erasure_rows(ledger, &admin, &november).len(), 3);
    }

    #[test]
    fn staff_are_judged_as_of_the_day_given() {
        use crate::evidence::staff::WorkDone;
        let member = |id: &str, role, last_on: Option<time::Date>| StaffMember {
            user_id: id.into(),
            name: "Navn Navnesen".into(),
            team_id: "t".into(),
            role,
            has_access: true,
            trained_on: Some(date!(2026 - 05 - 01)),
            last_work: last_on
                .map(|d| WorkDone {
                    work: Work::LoggedSession,
                    last_on: d,
                })
                .into_iter()
                .collect(),
        };
        let staff = [
            member("b", Role::Assistant, Some(date!(2026 - 11 - 10))),
            member("a", Role::Assistant, Some(date!(2026 - 10 - 01))),
            member("c", Role::Leader, None),
        ];
        let rows = staff_rows(&staff, date!(2026 - 11 - 30));
        let csv = String::from_utf8(to_csv(ExportTable::Staff, &rows).unwrap()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "user_id,team_id,role,trained_on,as_of,may_be_active,active,last_logged_session,last_edited_program,last_recorded_test");
        assert_eq!(
            lines[1],
            "a,t,assistant,2026-05-01,2026-11-30,true,false,2026-10-01,,"
        );
        assert_eq!(
            lines[2],
            "b,t,assistant,2026-05-01,2026-11-30,true,true,2026-11-10,,"
        );
        assert_eq!(lines[3], "c,t,leader,2026-05-01,2026-11-30,false,false,,,");
        assert!(!csv.contains("Navn"), "no names");
    }

    #[test]
    fn for_danish_excel_a_file_has_a_bom_semicolons_and_a_decimal_comma() {
        let rows = gait_speed_row();
        let file = to_csv_as(ExportTable::TestResults, &rows, Dialect::DanishExcel).unwrap();
        let text = String::from_utf8(file).unwrap();
        assert!(
            text.starts_with("\u{feff}result_id;course_id;test;"),
            "{text}"
        );
        assert!(
            text.ends_with("r;c;gait_speed_4m;end;0,85;2026-01-01;u\r\n"),
            "{text}"
        );
        assert_eq!(Dialect::from_name(None), Ok(Dialect::Rfc4180));
        assert_eq!(Dialect::from_name(Some("excel")), Ok(Dialect::DanishExcel));
        assert!(Dialect::from_name(Some("xlsx")).is_err());
    }

    #[test]
    fn a_year_is_the_longest_period() {
        assert!(export_period(period(date!(2024 - 01 - 01), date!(2024 - 12 - 31))).is_ok());
        assert_eq!(
            export_period(period(date!(2024 - 01 - 01), date!(2025 - 01 - 01))),
            Err(ExportError::PeriodTooLong)
        );
    }

    #[test]
    fn a_period_is_its_danish_days() {
        // Winter: midnight in Denmark is 23:00 UTC the day before.
        let (from, to) = period_instants(&period(date!(2026 - 11 - 01), date!(2026 - 11 - 30)));
        assert_eq!(instant(from).unwrap(), "2026-11-01T00:00:00+01:00");
        assert_eq!(instant(to).unwrap(), "2026-12-01T00:00:00+01:00");
        // Summer time: +02:00.
        let (from, _) = period_instants(&period(date!(2026 - 07 - 01), date!(2026 - 07 - 31)));
        assert_eq!(instant(from).unwrap(), "2026-07-01T00:00:00+02:00");
        assert_eq!(instant(from - 1).unwrap(), "2026-06-30T23:59:59+02:00");
        assert_eq!(instant(i64::MAX), None);
    }

    #[test]
    fn the_file_is_rfc_4180_with_a_heading_and_empty_fields_for_none() {
        let rows = vec![
            vec![
                Cell::Text("s1".into()),
                Cell::Text("c1".into()),
                Cell::Text("u1".into()),
                Cell::Integer(1_764_490_500_000),
                Cell::Null,
                Cell::Text("completed".into()),
                Cell::Null,
                Cell::Integer(12),
                Cell::Integer(4),
            ],
            vec![
                Cell::Text("s2".into()),
                Cell::Text("c1".into()),
                Cell::Text("u,\"2\"".into()),
                Cell::Integer(1_764_490_500_000),
                Cell::Integer(1_764_491_400_000),
                Cell::Text("=cmd".into()),
                Cell::Text("ill".into()),
                Cell::Integer(0),
                Cell::Null,
            ],
        ];
        let csv = String::from_utf8(to_csv(ExportTable::Sessions, &rows).unwrap()).unwrap();
        let lines: Vec<_> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "session_id,course_id,performed_by,started_at,ended_at,status,not_carried_out,set_count,general_condition"
        );
        assert_eq!(
            lines[1],
            "s1,c1,u1,2025-11-30T09:15:00+01:00,,completed,,12,4"
        );
        assert_eq!(
            lines[2],
            "s2,c1,\"u,\"\"2\"\"\",2025-11-30T09:15:00+01:00,2025-11-30T09:30:00+01:00,'=cmd,ill,0,"
        );
        assert_eq!(lines[3], "");
        assert!(!csv.starts_with('\u{feff}'));
    }

    #[test]
    fn a_row_that_does_not_fit_its_columns_is_an_error_not_a_file() {
        let short = vec![vec![Cell::Text("c1".into())]];
        assert!(matches!(
            to_csv(ExportTable::Goals, &short),
            Err(ExportError::RowWidth {
                expected: 3,
                got: 1,
                ..
            })
        ));
        let null_id = vec![vec![Cell::Null, Cell::Integer(1), Cell::Null]];
        assert!(matches!(
            to_csv(ExportTable::Goals, &null_id),
            Err(ExportError::CellKind {
                column: "course_id",
                ..
            })
        ));
        let text_count = vec![vec![
            Cell::Text("c".into()),
            Cell::Text("1".into()),
            Cell::Null,
        ]];
        assert!(to_csv(ExportTable::Goals, &text_count).is_err());
        let nan = vec![vec![
            Cell::Text("r".into()),
            Cell::Text("c".into()),
            Cell::Text("tug".into()),
            Cell::Text("start".into()),
            Cell::Decimal(f64::NAN),
            Cell::Text("2026-01-01".into()),
            Cell::Text("u".into()),
        ]];
        assert!(to_csv(ExportTable::TestResults, &nan).is_err());
        let never = vec![vec![
            Cell::Integer(i64::MAX),
            Cell::Text("c".into()),
            Cell::Text("t".into()),
            Cell::Text("citizen".into()),
            Cell::Null,
            Cell::Text("erased_on_request".into()),
        ]];
        assert!(matches!(
            to_csv(ExportTable::Erasures, &never),
            Err(ExportError::CellKind {
                column: "erased_at",
                ..
            })
        ));
    }

    #[test]
    fn booleans_and_decimals_are_written_for_machines() {
        let rows = vec![vec![
            Cell::Text("c".into()),
            Cell::Text("t".into()),
            Cell::Integer(1941),
            Cell::Null,
            Cell::Integer(1),
        ]];
        let csv = String::from_utf8(to_csv(ExportTable::Citizens, &rows).unwrap()).unwrap();
        assert!(csv.ends_with("c,t,1941,,true\r\n"), "{csv}");
        let rows = gait_speed_row();
        let csv = String::from_utf8(to_csv(ExportTable::TestResults, &rows).unwrap()).unwrap();
        assert!(
            csv.ends_with("r,c,gait_speed_4m,end,0.85,2026-01-01,u\r\n"),
            "{csv}"
        );
    }
}
