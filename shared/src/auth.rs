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
//! | role                     | library of own municipality | of another |
//! |--------------------------|-----------------------------|------------|
//! | assistant, leader        | read                        | —          |
//! | therapist, admin         | write                       | —          |
//!
//! Always within the user's own team and teams explicitly granted to the user; never across.
//! A municipality's library (its own exercises, templates and media) is the one document wider
//! than a team: every user of the municipality reads it, its therapists and admins write it,
//! nobody of another municipality sees it.

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
    /// The municipality of the user's team; opens that municipality's library. `None` only
    /// for users known from an older server.
    #[serde(default)]
    pub municipality_id: Option<MunicipalityId>,
}

impl From<&crate::model::User> for Principal {
    fn from(u: &crate::model::User) -> Self {
        Principal {
            user_id: u.id,
            role: u.role,
            team_id: u.team_id,
            granted_teams: u.granted_teams.clone(),
            municipality_id: u.municipality_id,
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
    let allowed = if doc.kind == Library {
        // The library's id is derived from its municipality: only that municipality's users.
        who.municipality_id.map(DocumentId::library_of) == Some(doc.id)
            && (access == Read || matches!(who.role, Therapist | Admin))
    } else {
        who.serves(doc.team_id)
            && matches!(
                (who.role, doc.kind, access),
                (Assistant, Roster | Course, Read)
                    | (Assistant, SessionLog, Read | Write)
                    | (Therapist, Roster | Course, Read | Write)
                    | (Therapist, SessionLog, Read)
                    | (Leader, Roster | Course | SessionLog, Read)
                    | (Admin, Roster, Read | Write)
            )
    };
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

/// Whether `role` may `access` a team document of `kind` (roster, course, session log) of its
/// own team. The device asks this before an edit, so it refuses at once what the server would
/// refuse at the next sync (and quarantine).
pub fn may_in_own_team(role: Role, kind: DocumentKind, access: Access) -> bool {
    let team = TeamId(uuid::Uuid::from_u128(1));
    let course = CourseId(uuid::Uuid::from_u128(1));
    let doc = match kind {
        DocumentKind::Roster => Header::roster(team),
        DocumentKind::Course => Header::course(team, course),
        DocumentKind::SessionLog => Header::session_log(team, course),
        _ => return false,
    };
    let who = Principal {
        user_id: UserId(uuid::Uuid::from_u128(1)),
        role,
        team_id: team,
        granted_teams: vec![],
        municipality_id: None,
    };
    authorize(&who, &doc, access).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_matrix_role_team_kind_access() {
        let own = TeamId::new();
        let other = TeamId::new();
        let (own_m, other_m) = (MunicipalityId::new(), MunicipalityId::new());
        let course = CourseId::new();
        let expected = |role: Role, kind: DocumentKind, access: Access| -> bool {
            matches!(
                (role, kind, access),
                (Role::Assistant, DocumentKind::SessionLog, _)
                    | (Role::Assistant, _, Access::Read)
                    | (Role::Therapist, DocumentKind::SessionLog, Access::Read)
                    | (
                        Role::Therapist,
                        DocumentKind::Roster | DocumentKind::Course | DocumentKind::Library,
                        _
                    )
                    | (Role::Leader, _, Access::Read)
                    | (Role::Admin, DocumentKind::Roster | DocumentKind::Library, _)
            )
        };
        let mut checked = 0;
        for role in [Role::Assistant, Role::Therapist, Role::Leader, Role::Admin] {
            let who = Principal {
                user_id: UserId::new(),
                role,
                team_id: own,
                granted_teams: vec![],
                municipality_id: Some(own_m),
            };
            // (whether the document is the user's own team's / municipality's, header)
            let headers = [own, other]
                .into_iter()
                .flat_map(|team| {
                    [
                        Header::roster(team),
                        Header::course(team, course),
                        Header::session_log(team, course),
                    ]
                    .map(|h| (team == own, h))
                })
                .chain([
                    (true, Header::library(own_m)),
                    (false, Header::library(other_m)),
                ]);
            for (is_own, header) in headers {
                for access in [Access::Read, Access::Write] {
                    let want = is_own && expected(role, header.kind, access);
                    assert_eq!(
                        authorize(&who, &header, access).is_ok(),
                        want,
                        "{role:?} {header:?} {access:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 4 * 8 * 2);
    }

    #[test]
    fn a_user_without_a_known_municipality_opens_no_library() {
        let who = Principal {
            user_id: UserId::new(),
            role: Role::Therapist,
            team_id: TeamId::new(),
            granted_teams: vec![],
            municipality_id: None,
        };
        let library = Header::library(MunicipalityId::new());
        assert!(authorize(&who, &library, Access::Read).is_err());
        // A library's team is no team: a grant of the nil team opens nothing either.
        let granted = Principal {
            granted_teams: vec![TeamId::NONE],
            ..who
        };
        assert!(authorize(&granted, &library, Access::Read).is_err());
    }

    #[test]
    fn own_team_rights_follow_the_matrix() {
        use DocumentKind::*;
        assert!(may_in_own_team(Role::Therapist, Course, Access::Write));
        assert!(may_in_own_team(Role::Admin, Roster, Access::Write));
        assert!(!may_in_own_team(Role::Admin, Course, Access::Write));
        assert!(!may_in_own_team(Role::Leader, Roster, Access::Write));
        assert!(may_in_own_team(Role::Leader, SessionLog, Access::Read));
        assert!(!may_in_own_team(Role::Assistant, Course, Access::Write));
    }

    #[test]
    fn a_grant_opens_exactly_the_granted_team() {
        let (own, granted, third) = (TeamId::new(), TeamId::new(), TeamId::new());
        let who = Principal {
            user_id: UserId::new(),
            role: Role::Therapist,
            team_id: own,
            granted_teams: vec![granted],
            municipality_id: None,
        };
        let c = CourseId::new();
        assert!(authorize(&who, &Header::course(granted, c), Access::Write).is_ok());
        assert!(authorize(&who, &Header::course(third, c), Access::Read).is_err());
    }
}
