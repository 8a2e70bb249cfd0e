//! Staff in use: per team and role, who has access, who is trained (an admin records the
//! training date), who is active, and the list "trained but not active" by name.
//!
//! **Active** means did the work of their role in the last [`ACTIVE_DAYS`] days, the date
//! itself included: logged a session, edited a program or recorded a test. Which of those is a
//! role's work is not decided here by role (only `auth::Capabilities::of` tells roles apart):
//! each kind of work needs a capability, and work counts for someone whose role has it. So an
//! assistant is active by logging sessions, a therapist by editing programs or recording tests,
//! and a leader, who has neither capability, is never "active" and never "trained but not
//! active" for lack of sessions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use crate::auth::{Capabilities, Capability};
use crate::model::Role;

/// The window for "active".
pub const ACTIVE_DAYS: i64 = 28;

/// A kind of work in the app that makes someone active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    LoggedSession,
    EditedProgram,
    RecordedTest,
}

impl Work {
    pub const ALL: [Work; 3] = [Work::LoggedSession, Work::EditedProgram, Work::RecordedTest];

    /// The snake_case name the read model stores.
    pub fn code(self) -> &'static str {
        match self {
            Work::LoggedSession => "logged_session",
            Work::EditedProgram => "edited_program",
            Work::RecordedTest => "recorded_test",
        }
    }

    pub fn from_code(code: &str) -> Option<Work> {
        Work::ALL.into_iter().find(|w| w.code() == code)
    }

    /// The capability the work needs.
    pub fn needs(self) -> Capability {
        match self {
            Work::LoggedSession => Capability::RunSessions,
            Work::EditedProgram | Work::RecordedTest => Capability::PrescribeCourses,
        }
    }
}

/// One staff member with what the read model knows of their work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub user_id: String,
    pub name: String,
    pub team_id: String,
    pub role: Role,
    /// The account may sign in.
    pub has_access: bool,
    #[serde(default, with = "optional_date")]
    pub trained_on: Option<Date>,
    /// The latest day of each kind of work (the read model's `max(date)` per kind).
    pub last_work: Vec<WorkDone>,
}

/// The last day someone did a kind of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkDone {
    pub work: Work,
    #[serde(with = "crate::effect::iso_date")]
    pub last_on: Date,
}

mod optional_date {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<time::Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&crate::effect::iso(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<time::Date>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| crate::model::parse_date(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl StaffMember {
    /// Trained on or before `as_of` (a date recorded ahead does not count yet).
    pub fn trained(&self, as_of: Date) -> bool {
        self.trained_on.is_some_and(|d| d <= as_of)
    }

    /// Whether their role does any work that makes someone active.
    pub fn can_be_active(&self) -> bool {
        let may = Capabilities::of(self.role);
        [Work::LoggedSession, Work::EditedProgram, Work::RecordedTest]
            .iter()
            .any(|w| may.allows(w.needs()))
    }

    /// Did their role's work in the [`ACTIVE_DAYS`] days up to and including `as_of`.
    pub fn active(&self, as_of: Date) -> bool {
        let from = as_of.saturating_sub(Duration::days(ACTIVE_DAYS - 1));
        let may = Capabilities::of(self.role);
        self.last_work
            .iter()
            .any(|w| may.allows(w.work.needs()) && (from..=as_of).contains(&w.last_on))
    }
}

/// Staff whose training date lies in `period`: the "staff trained" target's count for the
/// period (a target is for the people trained in its year, not everyone ever trained).
pub fn trained_in(staff: &[StaffMember], period: super::targets::Period) -> u32 {
    let n = staff
        .iter()
        .filter(|m| {
            m.trained_on
                .is_some_and(|d| (period.start..=period.end).contains(&d))
        })
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Someone trained who has not been active: the leader's follow-up list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainedNotActive {
    pub user_id: String,
    pub name: String,
    #[serde(with = "crate::effect::iso_date")]
    pub trained_on: Date,
}

/// Staff of one team and role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffGroup {
    pub team_id: String,
    pub role: Role,
    pub with_access: u32,
    pub trained: u32,
    pub active: u32,
    pub trained_not_active: Vec<TrainedNotActive>,
}

/// Totals over all groups (the targets' "staff trained" and "staff active").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffTotals {
    pub with_access: u32,
    pub trained: u32,
    pub active: u32,
    pub trained_not_active: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInUse {
    #[serde(with = "crate::effect::iso_date")]
    pub as_of: Date,
    pub groups: Vec<StaffGroup>,
    pub totals: StaffTotals,
}

/// Staff in use on `as_of`. Counts are of people: trained and active count whether or not the
/// account still has access (they were trained; their work is in the period), but only those
/// with access, and whose role does work that makes someone active, are listed as "trained but
/// not active" — someone who left needs no follow-up, nor does a leader.
/// Groups by team, then role in the order assistant, therapist, leader, admin; names sorted.
pub fn staff_in_use(staff: &[StaffMember], as_of: Date) -> StaffInUse {
    let order = |r: Role| {
        [Role::Assistant, Role::Therapist, Role::Leader, Role::Admin]
            .iter()
            .position(|x| *x == r)
            .unwrap_or(usize::MAX)
    };
    let mut groups: BTreeMap<(&str, usize), StaffGroup> = BTreeMap::new();
    let mut totals = StaffTotals::default();
    for m in staff {
        let g = groups
            .entry((m.team_id.as_str(), order(m.role)))
            .or_insert_with(|| StaffGroup {
                team_id: m.team_id.clone(),
                role: m.role,
                with_access: 0,
                trained: 0,
                active: 0,
                trained_not_active: Vec::new(),
            });
        let (trained, active) = (m.trained(as_of), m.active(as_of));
        g.with_access += u32::from(m.has_access);
        g.trained += u32::from(trained);
        g.active += u32::from(active);
        totals.with_access += u32::from(m.has_access);
        totals.trained += u32::from(trained);
        totals.active += u32::from(active);
        let follow_up = m.has_access && m.can_be_active();
        if let (true, false, true, Some(on)) = (trained, active, follow_up, m.trained_on) {
            g.trained_not_active.push(TrainedNotActive {
                user_id: m.user_id.clone(),
                name: m.name.clone(),
                trained_on: on,
            });
            totals.trained_not_active += 1;
        }
    }
    let mut groups: Vec<StaffGroup> = groups.into_values().collect();
    for g in &mut groups {
        g.trained_not_active
            .sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.user_id.cmp(&b.user_id)));
    }
    StaffInUse {
        as_of,
        groups,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    pub(crate) fn member(
        name: &str,
        team: &str,
        role: Role,
        trained_on: Option<Date>,
        work: &[(Work, Date)],
    ) -> StaffMember {
        StaffMember {
            user_id: format!("u-{name}"),
            name: name.into(),
            team_id: team.into(),
            role,
            has_access: true,
            trained_on,
            last_work: work
                .iter()
                .map(|(work, last_on)| WorkDone {
                    work: *work,
                    last_on: *last_on,
                })
                .collect(),
        }
    }

    #[test]
    fn active_is_the_roles_work_within_28_days_and_the_trained_but_idle_are_named() {
        let today = date!(2026 - 03 - 28);
        let day27 = date!(2026 - 03 - 01); // the 28th day back, inclusive
        let day28 = date!(2026 - 02 - 28);
        let trained = Some(date!(2026 - 01 - 15));
        let staff = vec![
            member(
                "Bo",
                "nord",
                Role::Assistant,
                trained,
                &[(Work::LoggedSession, day27)],
            ),
            member(
                "Ane",
                "nord",
                Role::Assistant,
                trained,
                &[(Work::LoggedSession, day28)],
            ),
            // An assistant cannot record tests: that work does not make them active.
            member(
                "Cai",
                "nord",
                Role::Assistant,
                trained,
                &[(Work::RecordedTest, today)],
            ),
            member(
                "Dea",
                "nord",
                Role::Therapist,
                trained,
                &[(Work::EditedProgram, today)],
            ),
            member(
                "Eva",
                "nord",
                Role::Therapist,
                None,
                &[(Work::RecordedTest, today)],
            ),
            member("Finn", "syd", Role::Leader, trained, &[]),
            member(
                "Gry",
                "nord",
                Role::Assistant,
                Some(date!(2026 - 04 - 01)),
                &[],
            ),
        ];
        let s = staff_in_use(&staff, today);
        assert_eq!(s.groups.len(), 3);
        let nord_assist = &s.groups[0];
        assert_eq!(
            (nord_assist.team_id.as_str(), nord_assist.role),
            ("nord", Role::Assistant)
        );
        assert_eq!(
            (
                nord_assist.with_access,
                nord_assist.trained,
                nord_assist.active
            ),
            (4, 3, 1)
        );
        let idle: Vec<&str> = nord_assist
            .trained_not_active
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(idle, ["Ane", "Cai"]);
        let nord_ther = &s.groups[1];
        assert_eq!(
            (nord_ther.trained, nord_ther.active),
            (1, 2),
            "Eva is active untrained"
        );
        assert_eq!(s.groups[2].role, Role::Leader);
        assert!(
            s.groups[2].trained_not_active.is_empty(),
            "a leader is never idle"
        );
        assert_eq!(
            s.totals,
            StaffTotals {
                with_access: 7,
                trained: 5,
                active: 3,
                trained_not_active: 2
            }
        );
        let march = super::super::targets::Period::new(date!(2026 - 03 - 01), today).unwrap();
        assert_eq!(trained_in(&staff, march), 0);
        let year = super::super::targets::Period::year(2026).unwrap();
        assert_eq!(trained_in(&staff, year), 6, "Gry's date is in 2026 too");
        // Someone who left is counted as trained but not followed up.
        let mut gone = staff[1].clone();
        gone.has_access = false;
        let s = staff_in_use(&[gone], today);
        assert_eq!((s.totals.trained, s.totals.trained_not_active), (1, 0));
        assert_eq!(staff_in_use(&[], today).totals, StaffTotals::default());
        let json = serde_json::to_string(&staff[0]).unwrap();
        assert!(json.contains("\"2026-01-15\""), "{json}");
        assert_eq!(
            serde_json::from_str::<StaffMember>(&json).unwrap(),
            staff[0]
        );
    }
}
