//! Who may do what. Two questions, answered here once for the device, the server and the UI:
//!
//! - **What may this person do?** [`Capabilities::of`] a role: the one place that names roles.
//!   Every screen, operation, endpoint and admission check asks for a [`Capability`], never for
//!   a role.
//! - **May they read or write this document?** [`authorize`]: the capability that the
//!   document's kind and the access need, and the document's scope (the user's own team and
//!   teams explicitly granted to them; for a municipality's library, their municipality).
//!
//! | capability        | assistant | therapist | leader | admin |
//! |-------------------|-----------|-----------|--------|-------|
//! | read courses      | ✓         | ✓         | ✓      |       |
//! | run sessions      | ✓         |           |        |       |
//! | follow courses    |           | ✓         | ✓      | ✓     |
//! | manage citizens   |           | ✓         |        | ✓     |
//! | prescribe courses |           | ✓         |        |       |
//! | read library      | ✓         | ✓         | ✓      | ✓     |
//! | edit library      |           | ✓         |        | ✓     |
//! | see overview      |           | ✓         | ✓      | ✓     |
//! | see evidence      |           |           | ✓      | ✓     |
//! | set evidence settings |       |           |        | ✓     |
//! | manage devices    |           |           | ✓      | ✓     |
//! | see access log    |           |           |        | ✓     |
//! | manage retention  |           |           |        | ✓     |
//! | export data       |           |           | ✓      | ✓     |
//! | export care records |         |           |        | ✓     |
//!
//! | document      | read                            | write            |
//! |---------------|---------------------------------|------------------|
//! | roster        | read courses or manage citizens | manage citizens  |
//! | course        | read courses                    | prescribe courses¹|
//! | session log   | read courses                    | run sessions     |
//! | library       | read library                    | edit library     |
//!
//! ¹ and run sessions, for new results of tests delegated on the course only
//! ([`records_delegated_tests`], checked result by result in admission).
//!
//! A municipality's library (its own exercises, templates and media) is the one document wider
//! than a team: every user of the municipality reads it, nobody of another municipality sees it.
//!
//! Issue #11's data, by where it is stored and so who may write it: **referrals, home-care
//! grants, birth year and sex** are on the roster (manage citizens); a referral's **screening**
//! is written on the roster too, and its operation also asks prescribe courses (deciding who
//! gets a course is the prescriber's); **test plans, test results and goal attainment** are on
//! the course (prescribe courses), except that a therapist may **delegate** a planned physical
//! test to the assistant, who then records its result on the course (run sessions; admission
//! lets an assistant add to a course nothing but results of tests delegated on it, measured by
//! themselves: [`records_delegated_tests`]); the **WHO-5** is answered in a session (run sessions). The
//! referral funnel needs see overview; every other #11 read needs follow courses, except the
//! WHO-5's wording and a visit's due tests (read courses).
//!
//! The municipality's **effect settings** (its own meaningful-change values, follow-up offsets,
//! inclusion criteria and reasons, default test plan) are in its library document, so setting
//! them needs edit library (`set_effect_settings`) — the document's write right, which
//! admission enforces; a narrower capability would need a right per field of one document.
//! Reading them (`effect_settings`) needs follow courses, like the summaries and screenings
//! that use them.

use crate::docs::{DocumentKind, Header};
use crate::ids::*;
use crate::model::Role;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Something a person may do in Homerehab. Screens, operations, endpoints and admission ask
/// for one of these; [`Capabilities::of`] says who has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Read the team's roster, courses and session logs: today's visits, a course, a session.
    ReadCourses,
    /// Guide a session and write its log: start, log sets, feedback, finish, "not carried out",
    /// and the WHO-5 the citizen answers during the visit (it is stored in the session); record
    /// the result of a physical test the therapist delegated (stored on the course).
    RunSessions,
    /// Follow all the team's courses: caseload, citizens, staff, programs, history, templates.
    FollowCourses,
    /// Add citizens to the team's roster, with their birth year, sex, referrals and home-care
    /// grants (entered or imported).
    ManageCitizens,
    /// Create courses, change their program and status, record assessments, set the test plan,
    /// rate goal attainment and screen referrals.
    PrescribeCourses,
    /// Read the municipality's own exercises, templates and media.
    ReadLibrary,
    /// Add and change the municipality's exercises, templates and media.
    EditLibrary,
    /// The leader's overview: the team's courses, sessions and staff activity in figures.
    SeeOverview,
    /// The leaders' evidence (issue #12): the municipality's targets, funnel, staff in use,
    /// effect, business case and the benchmark across municipalities, from the server.
    SeeEvidence,
    /// Set the municipality's targets, prices, naming in the benchmark and comparison group.
    SetEvidenceSettings,
    /// List the devices of the municipality's staff, revoke one (a lost tablet) and sign a
    /// colleague out everywhere (issue #14). Scoped by [`may_manage_devices_of`].
    ManageDevices,
    /// Read the audit log about a citizen of the own municipality: the citizen's access report
    /// (issue #14; who looked at the record, when and why). Its own look-up is logged too.
    SeeAccessLog,
    /// Set the municipality's retention, see what the retention job would erase, and erase a
    /// citizen of the own municipality where the law allows (issue #14 item 5).
    ManageRetention,
    /// Pull the municipality's read-model tables as row-level, pseudonymised CSV files for its
    /// BI warehouse (`crate::export`): leaders and admins, own municipality only.
    ExportData,
    /// Pull the municipality's courses, visits and test results as FHIR resources that name
    /// the citizen by the municipality's case reference, for its care record system
    /// (`crate::fhir`): identifiable, so admins only, who set up the integration.
    ExportCareRecords,
}

impl Capability {
    pub const ALL: [Capability; 15] = [
        Capability::ReadCourses,
        Capability::RunSessions,
        Capability::FollowCourses,
        Capability::ManageCitizens,
        Capability::PrescribeCourses,
        Capability::ReadLibrary,
        Capability::EditLibrary,
        Capability::SeeOverview,
        Capability::SeeEvidence,
        Capability::SetEvidenceSettings,
        Capability::ManageDevices,
        Capability::SeeAccessLog,
        Capability::ManageRetention,
        Capability::ExportData,
        Capability::ExportCareRecords,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::ReadCourses => "read courses",
            Capability::RunSessions => "run sessions",
            Capability::FollowCourses => "follow courses",
            Capability::ManageCitizens => "manage citizens",
            Capability::PrescribeCourses => "prescribe courses",
            Capability::ReadLibrary => "read the library",
            Capability::EditLibrary => "edit the library",
            Capability::SeeOverview => "see the overview",
            Capability::SeeEvidence => "see the evidence",
            Capability::SetEvidenceSettings => "set the evidence settings",
            Capability::ManageDevices => "manage devices",
            Capability::SeeAccessLog => "see the access log",
            Capability::ManageRetention => "manage retention and erasure",
            Capability::ExportData => "export data for BI",
            Capability::ExportCareRecords => "export care records",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The set of [`Capability`]s a person has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Capabilities(u16);

impl Capabilities {
    /// What a role may do: the only place in Homerehab where roles are told apart.
    pub fn of(role: Role) -> Self {
        use Capability::*;
        let granted: &[Capability] = match role {
            Role::Assistant => &[ReadCourses, RunSessions, ReadLibrary],
            Role::Therapist => &[
                ReadCourses,
                FollowCourses,
                ManageCitizens,
                PrescribeCourses,
                ReadLibrary,
                EditLibrary,
                SeeOverview,
            ],
            Role::Leader => &[
                ReadCourses,
                FollowCourses,
                ReadLibrary,
                SeeOverview,
                SeeEvidence,
                ManageDevices,
                ExportData,
            ],
            Role::Admin => &[
                FollowCourses,
                ManageCitizens,
                ReadLibrary,
                EditLibrary,
                SeeOverview,
                SeeEvidence,
                SetEvidenceSettings,
                ManageDevices,
                SeeAccessLog,
                ManageRetention,
                ExportData,
                ExportCareRecords,
            ],
        };
        Capabilities(granted.iter().fold(0, |bits, c| bits | c.bit()))
    }

    pub fn allows(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    /// The capabilities in the set, in [`Capability::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.allows(*c))
    }
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
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::of(self.role)
    }
    pub fn may(&self, capability: Capability) -> bool {
        self.capabilities().allows(capability)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{role} may not {access} {kind} documents of this team")]
pub struct Forbidden {
    pub role: &'static str,
    pub access: &'static str,
    pub kind: &'static str,
}

/// Whether `who` may record results of tests a therapist delegated to them on a course of
/// their team (issue #11): the one part of a course document someone who may not write it may
/// add to. Admission then checks every added result against the course's test plan
/// (`admission`), so this only opens the door to that check.
pub fn records_delegated_tests(who: &Principal, doc: &Header) -> bool {
    doc.kind == DocumentKind::Course && who.serves(doc.team_id) && who.may(Capability::RunSessions)
}

/// Whether `who` may offer changes to the document at all: they may write it, or it is a
/// course they may add delegated test results to ([`records_delegated_tests`]).
pub fn may_offer_changes(who: &Principal, doc: &Header) -> Result<(), Forbidden> {
    authorize(who, doc, Access::Write).or_else(|forbidden| {
        if records_delegated_tests(who, doc) {
            Ok(())
        } else {
            Err(forbidden)
        }
    })
}

/// What `who` may do about the devices and sign-ins of a user of `owner_municipality`
/// (issue #14's device registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceScope {
    /// List, revoke, sign out everywhere.
    Manage,
    /// The user is of the asker's municipality, but the asker may not manage devices.
    Forbidden,
    /// Another municipality (or unknown): not even its existence is told.
    Hidden,
}

/// Whom `who` may manage devices of: every user of their own municipality, with
/// [`Capability::ManageDevices`] (a lost tablet must be cut off by whoever is on duty, whatever
/// team it belongs to). Another municipality's users are [`DeviceScope::Hidden`], and so is
/// everyone when the asker's municipality is unknown.
pub fn may_manage_devices_of(
    who: &Principal,
    owner_municipality: Option<MunicipalityId>,
) -> DeviceScope {
    match (who.municipality_id, owner_municipality) {
        (Some(mine), Some(theirs)) if mine == theirs => {
            if who.may(Capability::ManageDevices) {
                DeviceScope::Manage
            } else {
                DeviceScope::Forbidden
            }
        }
        _ => DeviceScope::Hidden,
    }
}

/// Whether `who` may end every sign-in of `user` (of `owner_municipality`): anyone for
/// themselves ("I left my tablet on the bus"), else as [`may_manage_devices_of`].
pub fn may_sign_out_everywhere(
    who: &Principal,
    user: UserId,
    owner_municipality: Option<MunicipalityId>,
) -> DeviceScope {
    if who.user_id == user {
        DeviceScope::Manage
    } else {
        may_manage_devices_of(who, owner_municipality)
    }
}

/// Whether `who` may read or write the document described by `doc`.
pub fn authorize(who: &Principal, doc: &Header, access: Access) -> Result<(), Forbidden> {
    let may = |c: Capability| who.may(c);
    let allowed = match (doc.kind, access) {
        // The library's id is derived from its municipality: only that municipality's users.
        (DocumentKind::Library, _) => {
            who.municipality_id.map(DocumentId::library_of) == Some(doc.id)
                && may(match access {
                    Access::Read => Capability::ReadLibrary,
                    Access::Write => Capability::EditLibrary,
                })
        }
        (kind, access) => {
            who.serves(doc.team_id)
                && match (kind, access) {
                    (DocumentKind::Roster, Access::Read) => {
                        may(Capability::ReadCourses) || may(Capability::ManageCitizens)
                    }
                    (DocumentKind::Roster, Access::Write) => may(Capability::ManageCitizens),
                    (DocumentKind::Course, Access::Read) => may(Capability::ReadCourses),
                    (DocumentKind::Course, Access::Write) => may(Capability::PrescribeCourses),
                    (DocumentKind::SessionLog, Access::Read) => may(Capability::ReadCourses),
                    (DocumentKind::SessionLog, Access::Write) => may(Capability::RunSessions),
                    _ => false,
                }
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(Forbidden {
            role: who.role.as_str(),
            access: match access {
                Access::Read => "read",
                Access::Write => "write",
            },
            kind: doc.kind.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The capability table of the module docs, cell by cell: a role gains or loses a
    /// capability only by changing this table too.
    #[test]
    fn every_role_has_exactly_the_capabilities_of_the_table() {
        use Capability::*;
        const ROLES: [Role; 4] = [Role::Assistant, Role::Therapist, Role::Leader, Role::Admin];
        // capability → (assistant, therapist, leader, admin)
        let table: [(Capability, [bool; 4]); 15] = [
            (ReadCourses, [true, true, true, false]),
            (RunSessions, [true, false, false, false]),
            (FollowCourses, [false, true, true, true]),
            (ManageCitizens, [false, true, false, true]),
            (PrescribeCourses, [false, true, false, false]),
            (ReadLibrary, [true, true, true, true]),
            (EditLibrary, [false, true, false, true]),
            (SeeOverview, [false, true, true, true]),
            (SeeEvidence, [false, false, true, true]),
            (SetEvidenceSettings, [false, false, false, true]),
            (ManageDevices, [false, false, true, true]),
            (SeeAccessLog, [false, false, false, true]),
            (ManageRetention, [false, false, false, true]),
            (ExportData, [false, false, true, true]),
            (ExportCareRecords, [false, false, false, true]),
        ];
        assert_eq!(
            table.map(|(c, _)| c),
            Capability::ALL,
            "the table lists every capability"
        );
        for (capability, by_role) in table {
            for (role, want) in ROLES.into_iter().zip(by_role) {
                assert_eq!(
                    Capabilities::of(role).allows(capability),
                    want,
                    "{role:?} {capability:?}"
                );
            }
        }
    }

    #[test]
    fn devices_are_managed_within_the_own_municipality_only() {
        let here = MunicipalityId::new();
        let there = MunicipalityId::new();
        let person = |role: Role, municipality: Option<MunicipalityId>| Principal {
            user_id: UserId::new(),
            role,
            team_id: TeamId::new(),
            granted_teams: vec![],
            municipality_id: municipality,
        };
        let leader = person(Role::Leader, Some(here));
        let admin = person(Role::Admin, Some(here));
        let assistant = person(Role::Assistant, Some(here));
        // Another team of the same municipality is managed too: whoever is on duty.
        assert_eq!(
            may_manage_devices_of(&leader, Some(here)),
            DeviceScope::Manage
        );
        assert_eq!(
            may_manage_devices_of(&admin, Some(here)),
            DeviceScope::Manage
        );
        assert_eq!(
            may_manage_devices_of(&assistant, Some(here)),
            DeviceScope::Forbidden
        );
        // Another municipality's, or an unknown one's, devices do not exist for them.
        for who in [&leader, &admin, &assistant] {
            assert_eq!(may_manage_devices_of(who, Some(there)), DeviceScope::Hidden);
            assert_eq!(may_manage_devices_of(who, None), DeviceScope::Hidden);
        }
        let nowhere = person(Role::Admin, None);
        assert_eq!(may_manage_devices_of(&nowhere, None), DeviceScope::Hidden);
        // Everyone may sign themselves out everywhere; others only as above.
        assert_eq!(
            may_sign_out_everywhere(&assistant, assistant.user_id, Some(here)),
            DeviceScope::Manage
        );
        assert_eq!(
            may_sign_out_everywhere(&assistant, leader.user_id, Some(here)),
            DeviceScope::Forbidden
        );
        assert_eq!(
            may_sign_out_everywhere(&leader, assistant.user_id, Some(here)),
            DeviceScope::Manage
        );
        assert_eq!(
            may_sign_out_everywhere(&leader, UserId::new(), Some(there)),
            DeviceScope::Hidden
        );
    }

    #[test]
    fn capabilities_serialize_as_snake_case_names() {
        assert_eq!(
            serde_json::to_string(&Capability::PrescribeCourses).unwrap(),
            "\"prescribe_courses\""
        );
        let leader: Vec<_> = Capabilities::of(Role::Leader).iter().collect();
        assert_eq!(
            leader,
            [
                Capability::ReadCourses,
                Capability::FollowCourses,
                Capability::ReadLibrary,
                Capability::SeeOverview,
                Capability::SeeEvidence,
                Capability::ManageDevices,
                Capability::ExportData
            ]
        );
    }

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
