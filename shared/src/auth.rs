//! Who may read and write which document. One pure function, [`authorize`], decides; the
//! server calls it for every document of every request.
//!
//! | role      | roster | course | session log        |
//! |-----------|--------|--------|--------------------|
//! | assistant | read   | read   | read + append      |
//! | therapist | write  | write  | read               |
//! | leader    | read   | read   | read               |
//! | admin     | write  | —      | —                  |
//!
//! Always within the user's own team and teams explicitly granted to the user; never across.

use crate::docs::{DocumentKind, Header};
use crate::ids::*;
use crate::model::Role;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// An authenticated user as the server knows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub team_id: TeamId,
    /// Further teams this user was granted (e.g. a therapist covering a neighbouring team).
    pub granted_teams: Vec<TeamId>,
}

impl From<&crate::model::User> for Principal {
    fn from(u: &crate::model::User) -> Self {
        Principal {
            user_id: u.id,
            role: u.role,
            team_id: u.team_id,
            granted_teams: u.granted_teams.clone(),
        }
    }
}

impl Principal {
    pub fn serves(&self, team: TeamId) -> bool {
        self.team_id == team || self.granted_teams.contains(&team)
    }
    pub fn teams(&self) -> impl Iterator<Item = TeamId> + '_ {
        std::iter::once(self.team_id).chain(self.granted_teams.iter().copied())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{role} may not {access} {kind} documents of this team")]
pub struct Forbidden {
    pub role: &'static str,
    pub access: &'static str,
    pub kind: &'static str,
}

/// Whether `who` may read or write the document described by `doc`.
pub fn authorize(who: &Principal, doc: &Header, access: Access) -> Result<(), Forbidden> {
    use Access::*;
    use DocumentKind::*;
    use Role::*;
    let allowed = who.serves(doc.team_id)
        && matches!(
            (who.role, doc.kind, access),
            (Assistant, Roster | Course, Read)
                | (Assistant, SessionLog, Read | Write)
                | (Therapist, Roster | Course, Read | Write)
                | (Therapist, SessionLog, Read)
                | (Leader, _, Read)
                | (Admin, Roster, Read | Write)
        );
    if allowed {
        Ok(())
    } else {
        Err(Forbidden {
            role: who.role.as_str(),
            access: match access {
                Read => "read",
                Write => "write",
            },
            kind: doc.kind.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_matrix_role_team_kind_access() {
        let own = TeamId::new();
        let other = TeamId::new();
        let course = CourseId::new();
        let expected = |role: Role, kind: DocumentKind, access: Access| -> bool {
            matches!(
                (role, kind, access),
                (Role::Assistant, DocumentKind::SessionLog, _)
                    | (Role::Assistant, _, Access::Read)
                    | (Role::Therapist, DocumentKind::SessionLog, Access::Read)
                    | (
                        Role::Therapist,
                        DocumentKind::Roster | DocumentKind::Course,
                        _
                    )
                    | (Role::Leader, _, Access::Read)
                    | (Role::Admin, DocumentKind::Roster, _)
            )
        };
        let mut checked = 0;
        for role in [Role::Assistant, Role::Therapist, Role::Leader, Role::Admin] {
            let who = Principal {
                user_id: UserId::new(),
                role,
                team_id: own,
                granted_teams: vec![],
            };
            for team in [own, other] {
                for header in [
                    Header::roster(team),
                    Header::course(team, course),
                    Header::session_log(team, course),
                ] {
                    for access in [Access::Read, Access::Write] {
                        let want = team == own && expected(role, header.kind, access);
                        assert_eq!(
                            authorize(&who, &header, access).is_ok(),
                            want,
                            "{role:?} {header:?} {access:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 4 * 2 * 3 * 2);
    }

    #[test]
    fn a_grant_opens_exactly_the_granted_team() {
        let (own, granted, third) = (TeamId::new(), TeamId::new(), TeamId::new());
        let who = Principal {
            user_id: UserId::new(),
            role: Role::Therapist,
            team_id: own,
            granted_teams: vec![granted],
        };
        let c = CourseId::new();
        assert!(authorize(&who, &Header::course(granted, c), Access::Write).is_ok());
        assert!(authorize(&who, &Header::course(third, c), Access::Read).is_err());
    }
}
