//! Typed identifiers. Every entity is named by a UUID; the newtype says which kind of entity it
//! names so a course id can never be passed where a citizen id is expected.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        // By hand rather than derived: the derive does not forward bytes, so `Option<Id>`
        // would not hydrate.
        impl Reconcile for $name {
            type Key<'a> = Uuid;
            fn reconcile<R: autosurgeon::Reconciler>(&self, r: R) -> Result<(), R::Error> {
                self.0.reconcile(r)
            }
            fn key(&self) -> autosurgeon::reconcile::LoadKey<Self::Key<'_>> {
                self.0.key()
            }
            fn hydrate_key<'a, D: autosurgeon::ReadDoc>(
                doc: &D,
                obj: &automerge::ObjId,
                prop: autosurgeon::Prop<'_>,
            ) -> Result<autosurgeon::reconcile::LoadKey<Self::Key<'a>>, autosurgeon::ReconcileError> {
                Uuid::hydrate_key(doc, obj, prop)
            }
        }

        impl Hydrate for $name {
            fn hydrate_bytes(bytes: &[u8]) -> Result<Self, autosurgeon::HydrateError> {
                Uuid::hydrate_bytes(bytes).map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A municipality (kommune).
    MunicipalityId
);
id_type!(
    /// A home-care team (hjemmeplejeteam); the unit of sharing for documents.
    TeamId
);
id_type!(
    /// A person who signs in: assistant, therapist, leader or admin.
    UserId
);
id_type!(
    /// A citizen (borger) receiving a training course.
    CitizenId
);
id_type!(
    /// A training course (træningsforløb).
    CourseId
);
id_type!(
    /// One logged training session (træningsgang).
    SessionId
);
id_type!(
    /// One exercise line in a course's program (stable across revisions and reordering).
    ProgramExerciseId
);
id_type!(
    /// One revision of a program.
    RevisionId
);
id_type!(
    /// One assessment (test result) on a course.
    AssessmentId
);
id_type!(
    /// A referral of a citizen for a course (henvisning), screened before any course exists.
    ReferralId
);
id_type!(
    /// A CRDT document (roster, course, session log or a municipality's library).
    DocumentId
);

impl TeamId {
    /// The team of a document that belongs to a whole municipality, not to one team (the
    /// municipality's library): no user serves it, so team rules never open it.
    pub const NONE: TeamId = TeamId(Uuid::nil());
}

/// Namespace for ids derived from other ids, so every device derives the same id offline.
const DERIVED_NAMESPACE: Uuid = Uuid::from_u128(0x5b1f_63d4_9c0e_4a7b_8f3e_2d61_a9c4_7e10);

impl DocumentId {
    /// The roster document of a team. Derived, so a new device finds it without asking.
    pub fn roster_of(team: TeamId) -> Self {
        Self(Uuid::new_v5(
            &DERIVED_NAMESPACE,
            &[b"roster:".as_slice(), team.as_bytes()].concat(),
        ))
    }
    /// The course document of a course.
    pub fn course_of(course: CourseId) -> Self {
        Self(Uuid::new_v5(
            &DERIVED_NAMESPACE,
            &[b"course:".as_slice(), course.as_bytes()].concat(),
        ))
    }
    /// The library document of a municipality (its own exercises, templates and media).
    /// Derived, so every device of the municipality finds the same document offline.
    pub fn library_of(municipality: MunicipalityId) -> Self {
        Self(Uuid::new_v5(
            &DERIVED_NAMESPACE,
            &[b"library:".as_slice(), municipality.as_bytes()].concat(),
        ))
    }
    /// The session-log document of a course. Derived, so two tablets that each start the log
    /// offline write into the same document.
    pub fn session_log_of(course: CourseId) -> Self {
        Self(Uuid::new_v5(
            &DERIVED_NAMESPACE,
            &[b"session-log:".as_slice(), course.as_bytes()].concat(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_document_ids_are_stable_and_distinct() {
        let course = CourseId(Uuid::from_u128(7));
        assert_eq!(
            DocumentId::session_log_of(course),
            DocumentId::session_log_of(course)
        );
        assert_ne!(
            DocumentId::session_log_of(course),
            DocumentId::course_of(course)
        );
        assert_ne!(
            DocumentId::roster_of(TeamId(Uuid::from_u128(7))),
            DocumentId::course_of(course)
        );
        assert_ne!(
            DocumentId::library_of(MunicipalityId(Uuid::from_u128(7))),
            DocumentId::roster_of(TeamId(Uuid::from_u128(7)))
        );
    }

    #[test]
    fn ids_parse_from_their_display_form() {
        let id = CitizenId::new();
        assert_eq!(id.to_string().parse::<CitizenId>().unwrap(), id);
        assert!("not-a-uuid".parse::<CitizenId>().is_err());
    }
}
