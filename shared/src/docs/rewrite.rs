//! A roster rewritten without its history (issue #14 item 5, erasure): Automerge keeps every
//! value a document ever held, so forgetting a citizen on the team's shared roster means a new
//! **generation** of the document that never held them. The new generation is the document's
//! deterministic genesis, the release's [`containers_changes`] (so a device's later
//! `ensure_containers` finds them and makes nothing new), then one change by
//! [`server_actor`] writing the current value minus what is erased. No change of the old
//! generation is in it.

use super::{
    containers_changes, genesis, read_header, server_actor, DocumentKind, Header, RosterDoc,
    SchemaError,
};
use crate::ids::{CitizenId, ReferralId, TeamId};
use crate::model::Millis;
use automerge::transaction::CommitOptions;
use automerge::Automerge;
use std::collections::BTreeSet;

/// What a roster's rewrite leaves out: citizens with everything of theirs (their entry and
/// assignments, entered and imported care grants, referrals with their screening), and single
/// referrals or grants past retention.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RosterErasure {
    pub citizens: BTreeSet<CitizenId>,
    pub referrals: BTreeSet<ReferralId>,
    /// Grant keys (`CareGrantRecord::key`), entered or inside an import.
    pub care_grants: BTreeSet<String>,
}

impl RosterErasure {
    pub fn is_empty(&self) -> bool {
        self.citizens.is_empty() && self.referrals.is_empty() && self.care_grants.is_empty()
    }

    /// `value` without what this erases; an import left with no grants goes too.
    pub fn apply(&self, value: &mut RosterDoc) {
        value.citizens.retain(|_, c| !self.citizens.contains(&c.id));
        value.care_grants.retain(|key, g| {
            !self.citizens.contains(&g.citizen_id) && !self.care_grants.contains(key)
        });
        for import in value.care_grant_imports.values_mut() {
            let (by, at) = (import.recorded_by, import.recorded_at);
            import.grants.retain(|g| {
                let key = crate::model::CareGrantRecord {
                    citizen_id: g.citizen_id,
                    effective: g.effective.clone(),
                    minutes_per_week: g.minutes_per_week,
                    service_code: g.service_code.clone(),
                    recorded_by: by,
                    recorded_at: at,
                }
                .key();
                !self.citizens.contains(&g.citizen_id) && !self.care_grants.contains(&key)
            });
        }
        value.care_grant_imports.retain(|_, i| !i.grants.is_empty());
        value.referrals.retain(|_, r| {
            !self.citizens.contains(&r.citizen_id) && !self.referrals.contains(&r.id)
        });
    }
}

/// The next generation of team `team`'s roster `doc`: its current value without `what`, with
/// no history of the old generation. Returns the new document and its value (checked to read
/// back equal). `now` is the time of the one rewriting change.
pub fn rewrite_roster_without(
    doc: &Automerge,
    team: TeamId,
    what: &RosterErasure,
    now: Millis,
) -> Result<(Automerge, RosterDoc), SchemaError> {
    let header = Header::roster(team);
    if read_header(doc, header.id)?.kind != DocumentKind::Roster {
        return Err(SchemaError::Header("kind"));
    }
    let mut value = RosterDoc::read(doc)?;
    what.apply(&mut value);
    let mut new = genesis(&header);
    new.apply_changes(containers_changes(&header))?;
    new.set_actor(server_actor());
    let mut tx = new.transaction();
    autosurgeon::reconcile(&mut tx, &value)?;
    tx.commit_with(CommitOptions::default().with_time(now / 1000));
    if RosterDoc::read(&new)? != value {
        return Err(SchemaError::Write(
            "the rewritten roster does not read back as its value".into(),
        ));
    }
    Ok((new, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{
        ensure_containers, put_care_grant, put_care_grant_import, put_citizen, put_referral,
    };
    use crate::ids::UserId;
    use crate::model::{CareGrantImport, CareGrantRecord, Citizen, ReferralRecord};
    use automerge::ActorId;
    use std::collections::BTreeMap;

    const NOW: Millis = 1_790_000_000_000;

    fn person(name: &str) -> Citizen {
        Citizen {
            id: CitizenId::new(),
            name: name.into(),
            local_ref: format!("ref-{name}"),
            address: Some(format!("{name}vej 1")),
            assigned: BTreeMap::from([(UserId::new().to_string(), true)]),
            active: true,
            birth_year: Some(1940),
            sex: None,
        }
    }

    fn grant(c: CitizenId, on: &str, by: UserId, at: Millis) -> CareGrantRecord {
        CareGrantRecord {
            citizen_id: c,
            effective: on.into(),
            minutes_per_week: 120,
            service_code: Some("1.1".into()),
            recorded_by: by,
            recorded_at: at,
        }
    }

    fn referral(c: CitizenId, note: &str) -> ReferralRecord {
        ReferralRecord {
            id: ReferralId::new(),
            citizen_id: c,
            referred_on: "2026-01-05".into(),
            referred_by: UserId::new(),
            note: Some(note.into()),
            recorded_at: NOW,
            screening: None,
            course_id: None,
        }
    }

    /// A roster with two citizens, each with grants (entered and in one shared import) and a
    /// referral, and history: the erased citizen's name was changed twice.
    fn roster() -> (TeamId, Automerge, Citizen, Citizen) {
        let team = TeamId::new();
        let mut doc = genesis(&Header::roster(team)).with_actor(ActorId::random());
        let mut gone = person("Oldname Forgotten");
        let kept = person("Karen Kept");
        put_citizen(&mut doc, &gone, NOW).unwrap();
        gone.name = "Middlename Forgotten".into();
        put_citizen(&mut doc, &gone, NOW).unwrap();
        gone.name = "Erasmus Forgotten".into();
        put_citizen(&mut doc, &gone, NOW).unwrap();
        put_citizen(&mut doc, &kept, NOW).unwrap();
        let by = UserId::new();
        for c in [gone.id, kept.id] {
            put_care_grant(&mut doc, &grant(c, "2026-01-01", by, NOW), NOW).unwrap();
        }
        let import = CareGrantImport::of(&[
            grant(gone.id, "2026-02-01", by, NOW + 1),
            grant(kept.id, "2026-02-01", by, NOW + 1),
        ])
        .unwrap();
        put_care_grant_import(&mut doc, "import-1", &import, NOW).unwrap();
        let only_gone = CareGrantImport::of(&[grant(gone.id, "2026-03-01", by, NOW + 2)]).unwrap();
        put_care_grant_import(&mut doc, "import-2", &only_gone, NOW).unwrap();
        put_referral(&mut doc, &referral(gone.id, "Erasmus falder ofte"), NOW).unwrap();
        put_referral(&mut doc, &referral(kept.id, "Karen vil gerne gå"), NOW).unwrap();
        (team, doc, gone, kept)
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    #[test]
    fn the_rewritten_roster_is_the_old_value_without_the_citizen_and_holds_no_byte_of_them() {
        let (team, doc, gone, kept) = roster();
        let before = RosterDoc::read(&doc).unwrap();
        // The old generation holds every name it ever had.
        assert!(contains(&doc.save_nocompress(), "Oldname"));
        let what = RosterErasure {
            citizens: BTreeSet::from([gone.id]),
            ..Default::default()
        };
        let (new, value) = rewrite_roster_without(&doc, team, &what, NOW).unwrap();
        let mut expected = before.clone();
        expected.citizens.remove(&gone.id.to_string());
        expected.care_grants.retain(|_, g| g.citizen_id != gone.id);
        expected.care_grant_imports.remove("import-2");
        expected
            .care_grant_imports
            .get_mut("import-1")
            .unwrap()
            .grants
            .retain(|g| g.citizen_id != gone.id);
        expected.referrals.retain(|_, r| r.citizen_id != gone.id);
        assert_eq!(value, expected);
        assert_eq!(RosterDoc::read(&new).unwrap(), expected);
        assert!(expected.citizens.contains_key(&kept.id.to_string()));
        assert_eq!(expected.all_care_grants().len(), 2);
        let reloaded = Automerge::load(&new.save()).unwrap();
        assert_eq!(RosterDoc::read(&reloaded).unwrap(), expected);
        for bytes in [new.save(), new.save_nocompress()] {
            for needle in [
                "Oldname",
                "Middlename",
                "Erasmus",
                "Forgotten",
                "falder ofte",
                &gone.id.to_string(),
            ] {
                assert!(!contains(&bytes, needle), "{needle} is still in the roster");
            }
            // The citizen's id in binary form too (grants inside imports are postcard).
            assert!(!bytes.windows(16).any(|w| w == gone.id.as_bytes()));
        }
        // Not one change of the old generation but the genesis and container changes.
        let own: BTreeSet<_> = crate::docs::own_changes(&Header::roster(team))
            .into_iter()
            .collect();
        let old: BTreeSet<_> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let new_hashes: BTreeSet<_> = new.get_changes(&[]).iter().map(|c| c.hash()).collect();
        assert!(old.intersection(&new_hashes).all(|h| own.contains(h)));
        assert_eq!(new_hashes.len(), own.len() + 1);
    }

    #[test]
    fn a_device_writes_on_the_new_generation_as_on_any_roster() {
        let (team, doc, gone, kept) = roster();
        let what = RosterErasure {
            citizens: BTreeSet::from([gone.id]),
            ..Default::default()
        };
        let (new, _) = rewrite_roster_without(&doc, team, &what, NOW).unwrap();
        let mut device = new.fork().with_actor(ActorId::random());
        let heads = device.get_heads();
        ensure_containers(&mut device).unwrap();
        assert_eq!(
            device.get_heads(),
            heads,
            "the containers are there already"
        );
        let mut renamed = kept.clone();
        renamed.name = "Karen Renamed".into();
        put_citizen(&mut device, &renamed, NOW + 5).unwrap();
        let newcomer = person("Nils New");
        put_citizen(&mut device, &newcomer, NOW + 5).unwrap();
        put_care_grant(
            &mut device,
            &grant(newcomer.id, "2026-04-01", UserId::new(), NOW + 5),
            NOW + 5,
        )
        .unwrap();
        let read = RosterDoc::read(&device).unwrap();
        assert_eq!(read.citizens[&kept.id.to_string()].name, "Karen Renamed");
        assert!(read.citizens.contains_key(&newcomer.id.to_string()));
        // And the server merges the device's changes into its copy of the new generation.
        let mut server = new.clone();
        server
            .apply_changes(device.get_changes(&new.get_heads()))
            .unwrap();
        assert_eq!(RosterDoc::read(&server).unwrap(), read);
    }

    #[test]
    fn single_referrals_and_grants_go_and_the_rest_stays() {
        let (team, doc, gone, _) = roster();
        let before = RosterDoc::read(&doc).unwrap();
        let referral = before
            .referrals
            .values()
            .find(|r| r.citizen_id == gone.id)
            .unwrap()
            .id;
        let grant_key = grant(gone.id, "2026-02-01", UserId::new(), 0).key();
        let what = RosterErasure {
            referrals: BTreeSet::from([referral]),
            care_grants: BTreeSet::from([grant_key.clone()]),
            ..Default::default()
        };
        let (_, value) = rewrite_roster_without(&doc, team, &what, NOW).unwrap();
        assert!(value.citizens.contains_key(&gone.id.to_string()));
        assert!(!value.referrals.contains_key(&referral.to_string()));
        assert!(!value.all_care_grants().contains_key(&grant_key));
        assert_eq!(
            value.all_care_grants().len(),
            before.all_care_grants().len() - 1
        );
    }

    #[test]
    fn only_a_roster_is_rewritten() {
        let team = TeamId::new();
        let course = genesis(&Header::course(team, crate::ids::CourseId::new()));
        assert!(rewrite_roster_without(&course, team, &RosterErasure::default(), NOW).is_err());
    }
}
