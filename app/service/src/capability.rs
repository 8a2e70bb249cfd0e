//! Who may call an operation: the API's [`api::Capability`] is the wire mirror of
//! `homerehab_shared::auth::Capability` (the one place roles are told apart); this module
//! converts between them and checks an operation's [`Needs`] centrally, before it runs.

use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api::{self as api, Needs};
use homerehab_core::error::CoreError;
use homerehab_core::store::Identity;
use homerehab_shared::auth::{Capabilities, Capability};

/// The wire form of a capability.
pub fn to_api(c: Capability) -> api::Capability {
    match c {
        Capability::ReadCourses => api::Capability::ReadCourses,
        Capability::RunSessions => api::Capability::RunSessions,
        Capability::FollowCourses => api::Capability::FollowCourses,
        Capability::ManageCitizens => api::Capability::ManageCitizens,
        Capability::PrescribeCourses => api::Capability::PrescribeCourses,
        Capability::ReadLibrary => api::Capability::ReadLibrary,
        Capability::EditLibrary => api::Capability::EditLibrary,
        Capability::SeeOverview => api::Capability::SeeOverview,
        Capability::SeeEvidence => api::Capability::SeeEvidence,
        Capability::SetEvidenceSettings => api::Capability::SetEvidenceSettings,
        Capability::ManageDevices => api::Capability::ManageDevices,
        Capability::SeeAccessLog => api::Capability::SeeAccessLog,
        Capability::ManageRetention => api::Capability::ManageRetention,
        Capability::ExportData => api::Capability::ExportData,
        Capability::ExportCareRecords => api::Capability::ExportCareRecords,
    }
}

/// The domain's capability of its wire form.
pub fn from_api(c: api::Capability) -> Capability {
    match c {
        api::Capability::ReadCourses => Capability::ReadCourses,
        api::Capability::RunSessions => Capability::RunSessions,
        api::Capability::FollowCourses => Capability::FollowCourses,
        api::Capability::ManageCitizens => Capability::ManageCitizens,
        api::Capability::PrescribeCourses => Capability::PrescribeCourses,
        api::Capability::ReadLibrary => Capability::ReadLibrary,
        api::Capability::EditLibrary => Capability::EditLibrary,
        api::Capability::SeeOverview => Capability::SeeOverview,
        api::Capability::SeeEvidence => Capability::SeeEvidence,
        api::Capability::SetEvidenceSettings => Capability::SetEvidenceSettings,
        api::Capability::ManageDevices => Capability::ManageDevices,
        api::Capability::SeeAccessLog => Capability::SeeAccessLog,
        api::Capability::ManageRetention => Capability::ManageRetention,
        api::Capability::ExportData => Capability::ExportData,
        api::Capability::ExportCareRecords => Capability::ExportCareRecords,
    }
}

/// What the signed-in person may do, as `api::Me` carries it.
pub fn of(me: &Identity) -> Vec<api::Capability> {
    Capabilities::of(me.role).iter().map(to_api).collect()
}

/// Whether the signed-in person has `c`.
pub fn may(me: &Identity, c: Capability) -> bool {
    Capabilities::of(me.role).allows(c)
}

/// Said to someone who lacks `c`.
fn refusal(c: Capability) -> &'static str {
    match c {
        Capability::ReadCourses => "you cannot see the team's visits and courses on this device",
        Capability::RunSessions => "only those who guide the sessions can start and record them",
        Capability::FollowCourses => {
            "this is for therapists and leaders; assistants work from today's visits"
        }
        Capability::ManageCitizens => "only therapists and administrators can add citizens",
        Capability::PrescribeCourses => {
            "only therapists can create courses, change programs and record assessments"
        }
        Capability::ReadLibrary => "you cannot search the exercise library",
        Capability::EditLibrary => {
            "only therapists and administrators can change the municipality's library"
        }
        Capability::SeeOverview => "the team overview is for leaders and therapists",
        Capability::SeeEvidence => "the evidence is for leaders and administrators",
        Capability::SetEvidenceSettings => {
            "only administrators set the municipality's targets and prices"
        }
        Capability::ManageDevices => "only leaders and administrators manage devices",
        Capability::SeeAccessLog => "only administrators make a citizen's access report",
        Capability::ManageRetention => "only administrators set retention and erase a citizen",
        Capability::ExportData => "only leaders and administrators export data for BI",
        Capability::ExportCareRecords => "only administrators export care records",
    }
}

impl Core {
    /// Refuses early what the signed-in person may not do, so nothing is written that the
    /// server would refuse at the next sync. Like every data operation it needs the app open
    /// (`locked` first), then someone signed in.
    pub fn permit(&self, needs: Needs) -> Result<()> {
        let Needs::Capability(c) = needs else {
            return Ok(());
        };
        let store = self.data()?;
        let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
        let c = from_api(c);
        if may(&me, c) {
            Ok(())
        } else {
            Err(Error::forbidden(refusal(c)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capability_crosses_the_wire_and_back() {
        for c in Capability::ALL {
            assert_eq!(from_api(to_api(c)), c);
        }
        let wire: std::collections::BTreeSet<_> = Capability::ALL.into_iter().map(to_api).collect();
        assert_eq!(wire.len(), Capability::ALL.len(), "two map to one");
        assert_eq!(
            serde_json::to_string(&to_api(Capability::PrescribeCourses)).unwrap(),
            "\"prescribe_courses\""
        );
    }
}
