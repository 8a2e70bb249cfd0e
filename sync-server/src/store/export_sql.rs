//! The BI feed's queries (`homerehab_shared::export`), one per table, for both backends: the
//! same SELECT over the read model's `rm_*` tables, its columns in the order
//! [`ExportTable::columns`] declares. The backends differ only in how a list of teams is
//! bound, so each gives its own predicate for "this team id is one of `$1`".
//!
//! Parameters: `$1` the teams, `$2` and `$3` the period's bounds — ISO dates, both days
//! included; for sessions the instants of `shared::export::period_instants`, the end excluded.
//! The citizens take only `$1` (the roster as it stands).

use crate::error::{Error, Result};
use homerehab_shared::export::ExportTable;

/// The query for `table`, with `teams(column)` saying that `column` is one of the teams in `$1`;
/// an error for a table that is not the read model's (the erasures come from the ledger).
pub(super) fn export_query(table: ExportTable, teams: impl Fn(&str) -> String) -> Result<String> {
    // Goals, test results and sessions belong to a course; its team is the course's.
    let course_of_teams = |extra: &str| {
        format!(
            "course_id IN (SELECT course_id FROM rm_courses WHERE {}{extra})",
            teams("team_id")
        )
    };
    let columns = table
        .columns()
        .iter()
        .map(|c| match c.name {
            // Rows projected before the rosters kept the day have an empty or no day.
            "recorded_on" => "NULLIF(recorded_on,'') AS recorded_on",
            // A merge can leave a reason on a course that did not end early (`Course::
            // validate_stored`); it is a reason only with an early end, as the funnel reads it.
            "end_reason" => "CASE WHEN status = 'ended_early' THEN end_reason END AS end_reason",
            name => name,
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (from, filter, order) = match table {
        ExportTable::Citizens => ("rm_citizens", teams("team_id"), "team_id, citizen_id"),
        ExportTable::Referrals => (
            "rm_referrals",
            format!("{} AND referred_on BETWEEN $2 AND $3", teams("team_id")),
            "referred_on, referral_id",
        ),
        ExportTable::CareGrants => (
            "rm_care_grants",
            format!("{} AND effective BETWEEN $2 AND $3", teams("team_id")),
            // Every column the grant's key and roster tell apart, so the order is total and
            // the same on both backends (which put NULLs at opposite ends).
            "citizen_id, effective, COALESCE(service_code, ''), team_id, minutes_per_week",
        ),
        ExportTable::Courses => (
            "rm_courses",
            format!("{} AND start_date BETWEEN $2 AND $3", teams("team_id")),
            "start_date, course_id",
        ),
        ExportTable::Goals => (
            "rm_goals",
            course_of_teams(" AND start_date BETWEEN $2 AND $3"),
            "course_id, position",
        ),
        ExportTable::TestResults => (
            "rm_test_results",
            format!("{} AND date BETWEEN $2 AND $3", course_of_teams("")),
            "date, result_id, test, phase",
        ),
        ExportTable::Sessions => (
            "rm_sessions",
            format!(
                "{} AND started_at >= $2 AND started_at < $3",
                course_of_teams("")
            ),
            "started_at, session_id",
        ),
        ExportTable::Teams | ExportTable::Staff | ExportTable::Erasures => {
            return Err(Error::Corrupt(format!(
                "{} is not a read-model table",
                table.name()
            )))
        }
    };
    Ok(format!(
        "SELECT {columns} FROM {from} WHERE {filter} ORDER BY {order}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_selects_the_tables_columns_in_order_and_binds_its_period() {
        for table in ExportTable::ALL {
            let Ok(sql) = export_query(table, |c| format!("{c} = ANY($1)")) else {
                assert!(!table.from_read_model(), "{}", table.name());
                continue;
            };
            let selected = sql
                .strip_prefix("SELECT ")
                .and_then(|s| s.split(" FROM ").next())
                .unwrap();
            let names: Vec<_> = selected
                .split(", ")
                .map(|c| c.rsplit(' ').next().unwrap())
                .collect();
            let declared: Vec<_> = table.columns().iter().map(|c| c.name).collect();
            assert_eq!(names, declared, "{sql}");
            assert!(sql.contains("$1"), "{sql}");
            let by_period = table.period_column().is_some();
            assert_eq!(sql.contains("$2") && sql.contains("$3"), by_period, "{sql}");
        }
    }
}
