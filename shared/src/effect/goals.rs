//! Goal attainment at the end of a course.
//!
//! Three levels (achieved / partly / not achieved), not Goal Attainment Scaling −2…+2: GAS
//! needs five observable levels written for every goal when it is set, which courses' free-text
//! goals (`Course::goals`) do not have, and its T-score needs weights; Danish §83a follow-up is
//! reported as achieved / partly / not, and a leader can count three levels across courses.

use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    autosurgeon::Reconcile,
    autosurgeon::Hydrate,
)]
#[serde(rename_all = "snake_case")]
pub enum Attainment {
    Achieved,
    PartlyAchieved,
    NotAchieved,
}

impl Attainment {
    pub fn label_da(self) -> &'static str {
        match self {
            Attainment::Achieved => "Opnået",
            Attainment::PartlyAchieved => "Delvist opnået",
            Attainment::NotAchieved => "Ikke opnået",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Attainment::Achieved => "Achieved",
            Attainment::PartlyAchieved => "Partly achieved",
            Attainment::NotAchieved => "Not achieved",
        }
    }
}

/// One course goal followed up; `attainment` is `None` until the therapist has rated it.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    autosurgeon::Reconcile,
    autosurgeon::Hydrate,
)]
pub struct GoalFollowUp {
    /// The goal's text as on the course.
    pub goal: String,
    pub attainment: Option<Attainment>,
    pub note: Option<String>,
}

/// Counts for the effect summary; unrated goals are counted, not left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalSummary {
    pub achieved: u32,
    pub partly: u32,
    pub not_achieved: u32,
    pub not_rated: u32,
}

/// One follow-up per goal of the course, carrying over ratings already given to the same
/// goal text (so the list follows edits to the course's goals).
pub fn follow_ups_for(goals: &[String], rated: &[GoalFollowUp]) -> Vec<GoalFollowUp> {
    goals
        .iter()
        .map(|g| {
            rated
                .iter()
                .find(|r| &r.goal == g)
                .cloned()
                .unwrap_or(GoalFollowUp {
                    goal: g.clone(),
                    attainment: None,
                    note: None,
                })
        })
        .collect()
}

pub fn summarise(follow_ups: &[GoalFollowUp]) -> GoalSummary {
    let mut s = GoalSummary::default();
    for f in follow_ups {
        match f.attainment {
            Some(Attainment::Achieved) => s.achieved += 1,
            Some(Attainment::PartlyAchieved) => s.partly += 1,
            Some(Attainment::NotAchieved) => s.not_achieved += 1,
            None => s.not_rated += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_goal_is_followed_up_and_counted() {
        let goals = vec![
            "Gå til købmanden".to_string(),
            "Rejse sig fra sofaen uden hjælp".to_string(),
            "Gå på trapper".to_string(),
        ];
        let rated = vec![
            GoalFollowUp {
                goal: "Gå til købmanden".into(),
                attainment: Some(Attainment::Achieved),
                note: None,
            },
            GoalFollowUp {
                goal: "Et mål der er slettet".into(),
                attainment: Some(Attainment::NotAchieved),
                note: None,
            },
            GoalFollowUp {
                goal: "Gå på trapper".into(),
                attainment: Some(Attainment::PartlyAchieved),
                note: Some("med gelænder".into()),
            },
        ];
        let f = follow_ups_for(&goals, &rated);
        assert_eq!(f.len(), 3);
        assert_eq!(f[1].attainment, None);
        assert_eq!(f[2].note.as_deref(), Some("med gelænder"));
        assert_eq!(
            summarise(&f),
            GoalSummary {
                achieved: 1,
                partly: 1,
                not_achieved: 0,
                not_rated: 1
            }
        );
        assert_eq!(Attainment::PartlyAchieved.label_da(), "Delvist opnået");
        assert_eq!(
            serde_json::to_string(&Attainment::PartlyAchieved).unwrap(),
            "\"partly_achieved\""
        );
    }
}
