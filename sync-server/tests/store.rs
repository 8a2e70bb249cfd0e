//! The `Store` contract, one suite for every backend: each test runs on a fresh SQLite file and
//! on a fresh PostgreSQL database (when `HOMEREHAB_TEST_POSTGRES` is set, as `scripts/test`
//! does inside `scripts/with-postgres`). Method by method the backends must agree: accounts,
//! tokens, actors, documents (compaction, the per-document check at commit), quarantine, media,
//! the read model and the evidence settings; and the same documents give the same evidence
//! facts on both.

mod backends;

use automerge::{ActorId, Automerge, ChangeHash};
use backends::Backend;
use homerehab_shared::docs::{self, genesis, put_session, Header, SessionLogDoc};
use homerehab_shared::evidence::report::EvidenceSettings;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::wire::to_hashes;
use homerehab_shared::sync::Quarantine;
use homerehab_sync_server::config::QuarantineLimits;
use homerehab_sync_server::store::{
    DeviceSignIn, DocumentStore, MediaRecord, NewUser, QuarantineScope, Store,
};
use homerehab_sync_server::Error;

on_both_backends!(
    usernames_are_unique_and_tokens_are_found_by_hash,
    an_admin_records_when_a_user_was_trained,
    a_tokens_holder_is_its_user_and_its_device_read_together,
    a_sync_asks_only_for_the_actors_its_changes_name,
    a_device_id_belongs_to_one_user_and_reserved_ids_to_none,
    a_team_names_its_members_and_teams_are_found_by_name_or_id,
    compaction_keeps_the_document_identical,
    a_devices_whole_document_is_stored_as_the_snapshot,
    a_sync_sees_its_teams_documents_and_its_library_in_one_read,
    a_commit_on_a_stale_base_is_refused_and_stores_nothing,
    refusals_are_kept_once_within_the_caps_listed_and_purged,
    withdrawn_media_are_no_longer_found_for_their_municipality,
    the_read_model_follows_the_documents_and_rebuilds_to_the_same_rows,
    projectors_remembering_their_last_projection_keep_the_rows_of_the_whole_log,
    two_servers_projecting_the_same_documents_do_not_deadlock,
    a_document_whose_rows_cannot_be_derived_is_set_aside_until_it_changes,
    evidence_settings_round_trip,
    sign_in_attempts_are_counted_for_every_server_sharing_the_database,
    a_wrong_password_on_one_server_counts_on_the_others,
    servers_sharing_a_database_append_one_audit_chain_and_an_edited_row_breaks_it,
    audit_appends_beside_refused_commits_are_all_kept,
    a_citizens_audit_entries_are_found_through_their_courses_and_team,
    a_citizen_synced_a_moment_ago_is_found_before_the_projector_ran,
    an_erasure_deletes_the_course_rewrites_the_roster_and_keeps_ids_only,
    retention_settings_round_trip_and_facts_come_from_the_read_model,
    staff_work_is_judged_as_of_the_day_asked,
    a_care_time_follow_up_is_counted_only_from_grants_recorded_on_or_after_its_day,
    the_bi_feed_takes_a_periods_first_and_last_day_and_sessions_by_the_danish_day,
);

fn user(store: &dyn Store, username: &str, role: Role, team: TeamId) -> UserId {
    store
        .create_user(&NewUser {
            username: username.into(),
            display_name: format!("Navn {username}"),
            password_hash: "$argon2id$...".into(),
            role,
            team_id: team,
            granted_teams: vec![],
        })
        .unwrap()
}

/// The raw changes of `doc` since `before`, as a sync sends them.
/// `user` signs in on `device` with `actor` (registered first) and a token of `token`'s bytes
/// valid until 9,000.
fn sign_in(
    store: &dyn Store,
    user: UserId,
    device: DeviceId,
    actor: &ActorId,
    token: u8,
    now: Millis,
) {
    store.register_actor(user, actor).unwrap();
    store
        .sign_in_device(&DeviceSignIn {
            device,
            user,
            actor,
            app_version: "1.2.3",
            token_hash: &[token; 32],
            new_key_secret: &[token; 32],
            expires_at: 9_000,
            now,
        })
        .unwrap();
}

fn changes_since(doc: &Automerge, before: &[ChangeHash]) -> Vec<u8> {
    doc.get_changes(before)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect()
}

/// Commits `doc` on the stored heads (as seeding does), with the changes since `before`.
fn commit(store: &dyn Store, header: &Header, doc: &Automerge, before: &[ChangeHash]) {
    let base = store.stored_heads(header.id).unwrap().unwrap_or_default();
    store
        .commit_document(header, &base, doc, &changes_since(doc, before))
        .unwrap();
}

fn session(course: CourseId, at: Millis) -> SessionLog {
    SessionLog {
        note: Some("x".repeat(40)),
        ..SessionLog::start(course, UserId::new(), None, at)
    }
}

fn usernames_are_unique_and_tokens_are_found_by_hash(b: &Backend) {
    let store = b.open();
    let m = store.ensure_municipality("Thisted Kommune").unwrap();
    assert_eq!(store.ensure_municipality("Thisted Kommune").unwrap(), m);
    let team = store.ensure_team(m, "Nord").unwrap();
    assert_eq!(store.ensure_team(m, "Nord").unwrap(), team);
    let granted = store.ensure_team(m, "Syd").unwrap();
    let new = NewUser {
        username: "terapeut1".into(),
        display_name: "Mette".into(),
        password_hash: "$argon2id$...".into(),
        role: Role::Therapist,
        team_id: team,
        granted_teams: vec![granted],
    };
    let id = store.create_user(&new).unwrap();
    assert!(matches!(
        store.create_user(&new),
        Err(Error::AlreadyExists(_))
    ));
    let found = store.user_by_username("terapeut1").unwrap().unwrap();
    assert_eq!(
        (
            found.user.id,
            found.user.municipality_id,
            found.password_hash.as_str()
        ),
        (id, Some(m), "$argon2id$...")
    );
    assert!(store.user_by_username("nobody").unwrap().is_none());

    store.insert_token(&[1; 32], id, 2_000, 1_000).unwrap();
    let (found, expires) = store.user_by_token(&[1; 32]).unwrap().unwrap();
    assert_eq!(
        (found.user.id, found.user.granted_teams, expires),
        (id, vec![granted], 2_000)
    );
    assert!(store.user_by_token(&[9; 32]).unwrap().is_none());
    // Expired tokens are swept by the next sign-in; a deleted one is gone.
    store.insert_token(&[2; 32], id, 9_000, 3_000).unwrap();
    assert!(store.user_by_token(&[1; 32]).unwrap().is_none());
    store.delete_token(&[2; 32]).unwrap();
    assert!(store.user_by_token(&[2; 32]).unwrap().is_none());
    store.ping().unwrap();
}

/// `token_holder`, every request's first read: the token's user and expiry, and the device it
/// was issued to with the device's revocation; no device for a token from before the registry.
/// A sync asks for the actors its changes name, and is answered those of them that may write:
/// the user's, not another user's nor an unknown one, and a revoked device's only on that
/// device (its hand-over). Nothing beyond what was asked: a user's actors only grow.
fn a_sync_asks_only_for_the_actors_its_changes_name(b: &Backend) {
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let mette = user(store.as_ref(), "assistent1", Role::Assistant, team);
    let leader = user(store.as_ref(), "leder1", Role::Leader, team);
    let sten = user(store.as_ref(), "assistent2", Role::Assistant, team);
    let sign_in = |user, device, actor: &ActorId, token| {
        sign_in(store.as_ref(), user, device, actor, token, 1_000)
    };
    let (tablet, laptop) = (DeviceId::new(), DeviceId::new());
    let (on_tablet, on_laptop, stens) = (ActorId::random(), ActorId::random(), ActorId::random());
    sign_in(mette, tablet, &on_tablet, 1);
    sign_in(mette, laptop, &on_laptop, 2);
    sign_in(sten, DeviceId::new(), &stens, 3);
    // Earlier users of the tablet left actors of their own: many, never asked for.
    for token in 10..40 {
        sign_in(mette, DeviceId::new(), &ActorId::random(), token);
    }
    let unknown = ActorId::random();
    let among = [on_tablet.clone(), on_laptop.clone(), stens.clone(), unknown];
    let may_write = |device: DeviceId, among: &[ActorId]| {
        let mut found: Vec<ActorId> = store
            .actors_for_sync(mette, Some(device), among)
            .unwrap()
            .into_iter()
            .collect();
        found.sort();
        found
    };
    let mut both = vec![on_tablet.clone(), on_laptop.clone()];
    both.sort();
    assert_eq!(may_write(laptop, &among), both);
    assert_eq!(may_write(laptop, &among[1..2]), vec![on_laptop.clone()]);
    assert!(may_write(laptop, &among[2..]).is_empty());
    assert!(may_write(laptop, &[]).is_empty());
    // Revoked: the tablet's actor writes only in the tablet's own hand-over.
    assert!(store.revoke_device(tablet, leader, "Tabt", 1_700).unwrap());
    assert_eq!(may_write(laptop, &among), vec![on_laptop.clone()]);
    assert_eq!(may_write(tablet, &among), both);
}

fn a_tokens_holder_is_its_user_and_its_device_read_together(b: &Backend) {
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let mette = user(store.as_ref(), "assistent1", Role::Assistant, team);
    let leader = user(store.as_ref(), "leder1", Role::Leader, team);

    store.insert_token(&[1; 32], mette, 2_000, 1_000).unwrap();
    let holder = store.token_holder(&[1; 32]).unwrap().unwrap();
    assert_eq!(
        (
            holder.user.user.id,
            holder.expires_at,
            holder.device.is_none()
        ),
        (mette, 2_000, true)
    );
    assert!(store.token_holder(&[9; 32]).unwrap().is_none());

    let (tablet, actor) = (DeviceId::new(), ActorId::random());
    sign_in(store.as_ref(), mette, tablet, &actor, 5, 1_500);
    let holder = store.token_holder(&[5; 32]).unwrap().unwrap();
    assert_eq!((holder.user.user.id, holder.expires_at), (mette, 9_000));
    let device = holder.device.unwrap();
    assert_eq!(Some(&device), store.device(tablet).unwrap().as_ref());
    assert_eq!(
        (
            device.id,
            device.user,
            device.username.as_str(),
            device.municipality,
            device.app_version.as_str(),
            device.revocation.is_none()
        ),
        (tablet, mette, "assistent1", Some(m), "1.2.3", true)
    );

    assert!(store.revoke_device(tablet, leader, "Tabt", 1_700).unwrap());
    let device = store
        .token_holder(&[5; 32])
        .unwrap()
        .unwrap()
        .device
        .unwrap();
    assert_eq!(Some(&device), store.device(tablet).unwrap().as_ref());
    let revocation = device.revocation.unwrap();
    assert_eq!(
        (revocation.at, revocation.by, revocation.by_name.as_str()),
        (1_700, leader, "Navn leder1")
    );
}

fn an_admin_records_when_a_user_was_trained(b: &Backend) {
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let id = user(store.as_ref(), "assistent1", Role::Assistant, team);
    assert_eq!(store.trained_on(id).unwrap(), None);
    assert!(store.record_training("assistent1", "2026-03-04").unwrap());
    assert_eq!(store.trained_on(id).unwrap().as_deref(), Some("2026-03-04"));
    assert!(!store.record_training("nobody", "2026-03-04").unwrap());
}

fn a_device_id_belongs_to_one_user_and_reserved_ids_to_none(b: &Backend) {
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let (anna, bent) = (
        user(store.as_ref(), "anna", Role::Assistant, team),
        user(store.as_ref(), "bent", Role::Assistant, team),
    );
    let device = ActorId::random();
    store.register_actor(anna, &device).unwrap();
    store.register_actor(anna, &device).unwrap(); // idempotent
    assert!(matches!(
        store.register_actor(bent, &device),
        Err(Error::ActorTaken)
    ));
    assert_eq!(
        store.actors_of(anna).unwrap(),
        [device.clone()].into_iter().collect()
    );
    assert!(store.actors_of(bent).unwrap().is_empty());
    // The server's own actor, a roster's or library's genesis actor (derived, not yet stored)
    // and a stored document's genesis actor are nobody's device.
    let stored = Header::session_log(team, CourseId::new());
    commit(store.as_ref(), &stored, &genesis(&stored), &[]);
    for reserved in [
        docs::server_actor(),
        docs::genesis_actor(DocumentId::roster_of(team)),
        docs::genesis_actor(DocumentId::library_of(m)),
        docs::genesis_actor(stored.id),
    ] {
        assert!(
            matches!(
                store.register_actor(bent, &reserved),
                Err(Error::ActorReserved)
            ),
            "{reserved} is reserved"
        );
    }
}

fn a_team_names_its_members_and_teams_are_found_by_name_or_id(b: &Backend) {
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let nord = store.ensure_team(m, "Nord").unwrap();
    let syd = store.ensure_team(m, "Syd").unwrap();
    let other = store.ensure_municipality("Morsø").unwrap();
    store.ensure_team(other, "Syd").unwrap();
    assert_eq!(store.find_team("Nord").unwrap(), Some(nord));
    assert_eq!(store.find_team(&nord.to_string()).unwrap(), Some(nord));
    assert_eq!(store.find_team("Vest").unwrap(), None);
    assert_eq!(store.find_team(&TeamId::new().to_string()).unwrap(), None);
    assert!(matches!(store.find_team("Syd"), Err(Error::Invalid(_))));
    let therapist = store
        .create_user(&NewUser {
            username: "t".into(),
            display_name: "Birgit".into(),
            password_hash: "x".into(),
            role: Role::Therapist,
            team_id: syd,
            granted_teams: vec![nord],
        })
        .unwrap();
    let assistant = user(store.as_ref(), "a", Role::Assistant, nord);
    let info = store.team_info(nord).unwrap().unwrap();
    assert_eq!(info.name, "Nord");
    let members: Vec<(UserId, &str, Role)> = info
        .members
        .iter()
        .map(|p| (p.user_id, p.display_name.as_str(), p.role))
        .collect();
    assert_eq!(
        members,
        [
            (therapist, "Birgit", Role::Therapist),
            (assistant, "Navn a", Role::Assistant)
        ]
    );
    assert!(store.team_info(TeamId::new()).unwrap().is_none());
    let names: Vec<String> = store
        .municipalities()
        .unwrap()
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(names, ["Morsø", "Thisted"]);
    let teams = store.teams().unwrap();
    assert_eq!(teams.len(), 3);
    assert_eq!(teams[0].name, "Nord");
}

fn compaction_keeps_the_document_identical(b: &Backend) {
    let store = b.open_compacting_eagerly();
    let (team, course) = (TeamId::new(), CourseId::new());
    let header = Header::session_log(team, course);
    let mut doc = genesis(&header).with_actor(ActorId::random());
    commit(store.as_ref(), &header, &doc, &[]);
    let mut compactions = 0;
    for i in 0..30 {
        let before = doc.get_heads();
        put_session(&mut doc, &session(course, i), i).unwrap();
        let chunks_before = store.document_footprint(header.id).unwrap().unwrap().chunks;
        commit(store.as_ref(), &header, &doc, &before);
        let after = store.document_footprint(header.id).unwrap().unwrap();
        if chunks_before > 0 && after.chunks == 0 {
            compactions += 1;
        }
        assert!(after.incremental_bytes <= after.snapshot_bytes);
        let loaded = store.load_document(header.id).unwrap().unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        assert_eq!(
            SessionLogDoc::read(&loaded).unwrap(),
            SessionLogDoc::read(&doc).unwrap()
        );
        // What a device lacking it is sent: the stored bytes as one buffer, whole.
        let (heads, bytes) = store.saved_document(header.id).unwrap().unwrap();
        let mut pulled = Automerge::new();
        pulled.load_incremental(&bytes).unwrap();
        assert_eq!(pulled.get_heads(), doc.get_heads());
        assert_eq!(heads, to_hashes(&doc.get_heads()));
        // A whole document sent as a chunk (a device's "send full") reads too.
        if i == 7 {
            let base = store.stored_heads(header.id).unwrap().unwrap();
            store
                .commit_document(&header, &base, &doc, &doc.save())
                .unwrap();
        }
        let (found, heads) = store.document_heads(&[team]).unwrap().remove(0);
        assert_eq!((found, heads), (header, to_hashes(&doc.get_heads())));
    }
    assert!(compactions >= 2, "compacted {compactions} times");
    assert_eq!(store.document_header(header.id).unwrap(), Some(header));
    assert!(store.document_header(DocumentId::new()).unwrap().is_none());
    assert!(store.load_document(DocumentId::new()).unwrap().is_none());
    assert!(store.saved_document(DocumentId::new()).unwrap().is_none());

    drop(store);
    let reopened = b.open();
    let loaded = reopened.load_document(header.id).unwrap().unwrap();
    assert_eq!(loaded.get_heads(), doc.get_heads());
    assert_eq!(SessionLogDoc::read(&loaded).unwrap().sessions.len(), 30);
}

/// A commit whose new changes came as one saved document that loads alone to the committed
/// document (`DocumentCommit::whole`, a device's `offer_changes`): those bytes are the
/// snapshot, the chunks before go, and the document reads the same, new or grown.
fn a_devices_whole_document_is_stored_as_the_snapshot(b: &Backend) {
    let store = b.open();
    let (team, course) = (TeamId::new(), CourseId::new());
    let header = Header::session_log(team, course);
    let mut doc = genesis(&header).with_actor(ActorId::random());
    for i in 0..3 {
        put_session(&mut doc, &session(course, i), i).unwrap();
    }
    // New to the server, whole. Saved uncompressed, so the bytes differ from what the store
    // would save itself: kept as they came, or the assertions below fail.
    let saved = doc.save_nocompress();
    assert_ne!(saved, doc.save());
    store
        .commit_documents(&[homerehab_sync_server::store::DocumentCommit {
            header: &header,
            base: &[],
            doc: &doc,
            new_changes: &saved,
            whole: true,
        }])
        .unwrap();
    let (_, bytes) = store.saved_document(header.id).unwrap().unwrap();
    assert_eq!(bytes, saved, "the device's bytes are the snapshot");
    // Grown by changes: a chunk beside it.
    let before = doc.get_heads();
    put_session(&mut doc, &session(course, 3), 3).unwrap();
    commit(store.as_ref(), &header, &doc, &before);
    assert_eq!(
        store.document_footprint(header.id).unwrap().unwrap().chunks,
        1
    );
    // Grown again and sent whole: the chunk goes, the bytes are the snapshot.
    let base = store.stored_heads(header.id).unwrap().unwrap();
    for i in 4..10 {
        put_session(&mut doc, &session(course, i), i).unwrap();
    }
    let saved = doc.save_nocompress();
    store
        .commit_documents(&[homerehab_sync_server::store::DocumentCommit {
            header: &header,
            base: &base,
            doc: &doc,
            new_changes: &saved,
            whole: true,
        }])
        .unwrap();
    let footprint = store.document_footprint(header.id).unwrap().unwrap();
    assert_eq!((footprint.chunks, footprint.incremental_bytes), (0, 0));
    assert_eq!(footprint.snapshot_bytes, saved.len());
    assert_eq!(store.saved_document(header.id).unwrap().unwrap().1, saved);
    let loaded = store.load_document(header.id).unwrap().unwrap();
    assert_eq!(loaded.get_heads(), doc.get_heads());
    assert_eq!(SessionLogDoc::read(&loaded).unwrap().sessions.len(), 10);
    assert_eq!(
        store.stored_heads(header.id).unwrap(),
        Some(to_hashes(&doc.get_heads()))
    );
}

/// `visible_documents`: the documents of the asked teams and the wider ones asked for that are
/// stored, each with its stored heads (as the last commit left them) and generation 0 (never
/// rewritten; the erasure test sees a rewritten one); another team's are not among them.
fn a_sync_sees_its_teams_documents_and_its_library_in_one_read(b: &Backend) {
    let store = b.open();
    let (ours, granted, theirs) = (TeamId::new(), TeamId::new(), TeamId::new());
    let municipality = MunicipalityId::new();
    let headers = [
        Header::roster(ours),
        Header::course(ours, CourseId::new()),
        Header::session_log(granted, CourseId::new()),
        Header::roster(theirs),
        Header::library(municipality),
    ];
    let mut heads = std::collections::HashMap::new();
    for header in &headers {
        let mut doc = genesis(header);
        let base = to_hashes(&doc.get_heads());
        store
            .commit_document(header, &[], &doc, &doc.save())
            .unwrap();
        // A second commit: the heads read are the last commit's, not the first's.
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        automerge::transaction::Transactable::put(&mut tx, automerge::ROOT, "seen", 1).unwrap();
        tx.commit();
        store
            .commit_document(header, &base, &doc, &changes_since(&doc, &before))
            .unwrap();
        heads.insert(header.id, to_hashes(&doc.get_heads()));
    }
    let unstored = DocumentId::library_of(MunicipalityId::new());
    let mut seen = store
        .visible_documents(&[ours, granted], &[headers[4].id, unstored])
        .unwrap();
    seen.sort_by_key(|d| d.header.id.0);
    let mut expected: Vec<_> = [0, 1, 2, 4]
        .into_iter()
        .map(|i| (headers[i], heads[&headers[i].id].clone(), 0))
        .collect();
    expected.sort_by_key(|(h, _, _)| h.id.0);
    let seen: Vec<_> = seen
        .into_iter()
        .map(|d| (d.header, d.heads, d.generation))
        .collect();
    assert_eq!(seen, expected);
    assert!(store.visible_documents(&[], &[]).unwrap().is_empty());
    // One team and its library, as most users sync (PostgreSQL reads that shape with a
    // statement of its own); a library not stored adds nothing.
    for (library, expected) in [(headers[4].id, vec![0, 1, 4]), (unstored, vec![0, 1])] {
        let mut seen: Vec<_> = store
            .visible_documents(&[ours], &[library])
            .unwrap()
            .into_iter()
            .map(|d| (d.header, d.heads, d.generation))
            .collect();
        seen.sort_by_key(|(h, _, _)| h.id.0);
        let mut expected: Vec<_> = expected
            .into_iter()
            .map(|i| (headers[i], heads[&headers[i].id].clone(), 0))
            .collect();
        expected.sort_by_key(|(h, _, _)| h.id.0);
        assert_eq!(seen, expected);
    }
}

/// A round's document whose rows cannot be derived is set aside (counted, not pending); a
/// round holding a version read before the last commit writes nothing; the next change is
/// projected and takes the document out of the failures.
fn a_document_whose_rows_cannot_be_derived_is_set_aside_until_it_changes(b: &Backend) {
    use homerehab_sync_server::store::Projection;
    let store = b.open();
    let header = Header::roster(TeamId::new());
    let mut doc = genesis(&header);
    store
        .commit_document(&header, &[], &doc, &doc.save())
        .unwrap();
    let [(id, version)] = store.pending_projections(10).unwrap()[..] else {
        panic!("one document pending");
    };
    assert_eq!(id, header.id);
    let failing = |version| Projection {
        doc: id,
        version,
        rows: Err("cannot be derived".into()),
    };
    assert_eq!(
        store.settle_projections(&[failing(version - 1)]).unwrap(),
        [false]
    );
    assert_eq!(store.projection_failure_count().unwrap(), 0);
    assert_eq!(
        store.settle_projections(&[failing(version)]).unwrap(),
        [true]
    );
    assert_eq!(store.projection_failure_count().unwrap(), 1);
    assert!(store.pending_projections(10).unwrap().is_empty());

    let base = to_hashes(&doc.get_heads());
    let before = doc.get_heads();
    let mut tx = doc.transaction();
    automerge::transaction::Transactable::put(&mut tx, automerge::ROOT, "seen", 1).unwrap();
    tx.commit();
    store
        .commit_document(&header, &base, &doc, &changes_since(&doc, &before))
        .unwrap();
    let round = store.project_pending(10).unwrap();
    assert_eq!((round.projected, round.failed, round.pending), (1, 0, 0));
    assert_eq!(store.projection_failure_count().unwrap(), 0);
}

/// The per-document check (`DocumentCommit::base`): a commit built on heads the store has
/// moved past, or a "new" document another commit stored first, is refused with
/// `DocumentMoved`, and nothing of its batch is stored.
fn a_commit_on_a_stale_base_is_refused_and_stores_nothing(b: &Backend) {
    // Two stores over one database, as two servers.
    let (one, two) = (b.open(), b.open());
    let team = TeamId::new();
    let (a, other) = (
        Header::session_log(team, CourseId::new()),
        Header::session_log(team, CourseId::new()),
    );
    let mut doc = genesis(&a).with_actor(ActorId::random());
    one.commit_document(&a, &[], &doc, &[]).unwrap();
    assert!(matches!(
        two.commit_document(&a, &[], &doc, &[]),
        Err(Error::DocumentMoved(id)) if id == a.id
    ));
    let base = to_hashes(&doc.get_heads());

    // Both servers grow the document from the same base; the second one to commit lost.
    let mut theirs = doc.fork().with_actor(ActorId::random());
    let before = doc.get_heads();
    put_session(&mut doc, &session(a.course_id.unwrap(), 1), 1).unwrap();
    put_session(&mut theirs, &session(a.course_id.unwrap(), 2), 2).unwrap();
    one.commit_document(&a, &base, &doc, &changes_since(&doc, &before))
        .unwrap();
    let fresh = genesis(&other);
    let moved = two.commit_documents(&[
        homerehab_sync_server::store::DocumentCommit {
            header: &other,
            base: &[],
            doc: &fresh,
            new_changes: &[],
            whole: false,
        },
        homerehab_sync_server::store::DocumentCommit {
            header: &a,
            base: &base,
            doc: &theirs,
            new_changes: &changes_since(&theirs, &before),
            whole: false,
        },
    ]);
    assert!(matches!(moved, Err(Error::DocumentMoved(id)) if id == a.id));
    // Nothing of that batch: not the moved document's changes, not the new document.
    assert_eq!(
        two.stored_heads(a.id).unwrap(),
        Some(to_hashes(&doc.get_heads()))
    );
    assert_eq!(two.document_header(other.id).unwrap(), None);
    let stored = two.load_document(a.id).unwrap().unwrap();
    assert_eq!(SessionLogDoc::read(&stored).unwrap().sessions.len(), 1);
    // Retried on the stored document, it lands, merged.
    let mut merged = stored.fork();
    let stored_base = to_hashes(&merged.get_heads());
    let before = merged.get_heads();
    merged.merge(&mut theirs).unwrap();
    two.commit_document(&a, &stored_base, &merged, &changes_since(&merged, &before))
        .unwrap();
    let stored = one.load_document(a.id).unwrap().unwrap();
    assert_eq!(SessionLogDoc::read(&stored).unwrap().sessions.len(), 2);
    // A document that is gone is no base either.
    assert!(matches!(
        one.commit_document(&other, &base, &fresh, &[]),
        Err(Error::DocumentMoved(_))
    ));
}

fn refusals_are_kept_once_within_the_caps_listed_and_purged(b: &Backend) {
    let store = b.open();
    let (doc, user, other) = (DocumentId::new(), UserId::new(), UserId::new());
    let limits = QuarantineLimits {
        user_entries: 3,
        user_bytes: 1_000,
        doc_entries: 4,
        doc_bytes: 1_000,
    };
    let keep = |user: UserId, bytes: &[u8]| {
        store
            .quarantine(doc, 0, user, bytes, "why", &limits)
            .unwrap()
    };
    assert_eq!(keep(user, b"refused"), Quarantine::Kept);
    assert_eq!(keep(user, b"refused"), Quarantine::Kept);
    assert_eq!(
        store.quarantined(doc).unwrap(),
        1,
        "a retried refusal is kept once"
    );
    assert_eq!(keep(user, b"refused, and more"), Quarantine::Kept);
    assert_eq!(keep(user, b"a third"), Quarantine::Kept);
    assert_eq!(
        keep(user, b"a fourth"),
        Quarantine::Full,
        "the user's entries"
    );
    assert_eq!(
        keep(other, &[0; 990]),
        Quarantine::Full,
        "the document's bytes"
    );
    assert_eq!(keep(other, b"small"), Quarantine::Kept);
    assert_eq!(
        keep(other, b"smaller"),
        Quarantine::Full,
        "the document's entries"
    );
    assert_eq!(store.quarantined(doc).unwrap(), 4);

    let all = store.quarantine_list(&QuarantineScope::default()).unwrap();
    assert_eq!(all.len(), 4);
    assert!(
        all.windows(2)
            .all(|w| (w[0].at, w[0].id) >= (w[1].at, w[1].id)),
        "newest first"
    );
    assert_eq!(all[0].bytes, 5);
    assert_eq!(
        (all[0].doc, all[0].user, all[0].reason.as_str()),
        (doc, other, "why")
    );
    let of_user = QuarantineScope {
        doc: Some(doc),
        user: Some(user),
    };
    assert_eq!(store.quarantine_list(&of_user).unwrap().len(), 3);
    assert_eq!(store.quarantine_purge(&of_user).unwrap(), 3);
    assert_eq!(store.quarantined(doc).unwrap(), 1);
    assert_eq!(
        store.quarantine_purge(&QuarantineScope::default()).unwrap(),
        1
    );
    assert!(store
        .quarantine_list(&QuarantineScope::default())
        .unwrap()
        .is_empty());
}

fn media_item(byte: u8) -> homerehab_shared::municipal::MediaItem {
    homerehab_shared::municipal::MediaItem {
        sha256: format!("{byte:02x}").repeat(32),
        content_type: "image/jpeg".into(),
        byte_size: 10,
        file_name: "knae.jpg".into(),
        shows_person: false,
        consent: None,
        owner: "Thisted Kommune".into(),
        withdrawn: false,
        added_by: UserId::new(),
        added_at: 1,
    }
}

fn withdrawn_media_are_no_longer_found_for_their_municipality(b: &Backend) {
    use homerehab_shared::municipal::{put_media, withdraw_media};
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let uploader = user(store.as_ref(), "terapeut1", Role::Therapist, team);
    let header = Header::library(m);
    let mut doc = genesis(&header).with_actor(ActorId::random());
    let record = |sha256: &str, municipality| MediaRecord {
        sha256: sha256.into(),
        municipality,
        byte_size: 10,
        content_type: "image/jpeg".into(),
        uploaded_by: uploader,
    };
    for byte in [1, 2] {
        let item = media_item(byte);
        put_media(&mut doc, &item, 1).unwrap();
        store.record_media(&record(&item.sha256, m)).unwrap();
        store.record_media(&record(&item.sha256, m)).unwrap(); // idempotent
    }
    commit(store.as_ref(), &header, &doc, &[]);
    let (one, two) = (media_item(1).sha256, media_item(2).sha256);
    assert_eq!(store.media_of(&one, m).unwrap(), Some(record(&one, m)));
    // Withdrawn on a device, and concurrently re-recorded as not withdrawn on another: the
    // withdrawal stands.
    let before = doc.get_heads();
    let mut other = doc.fork().with_actor(ActorId::random());
    withdraw_media(&mut doc, &one, 2).unwrap();
    put_media(&mut other, &media_item(1), 2).unwrap();
    doc.merge(&mut other).unwrap();
    commit(store.as_ref(), &header, &doc, &before);
    assert!(store.media_of(&one, m).unwrap().is_none());
    assert!(store.media_of(&two, m).unwrap().is_some());
    // Another municipality holding the same bytes is not affected by this library.
    let m2 = store.ensure_municipality("Morsø").unwrap();
    store.record_media(&record(&one, m2)).unwrap();
    assert!(store.media_of(&one, m2).unwrap().is_some());
    assert!(store.media_of(&"ff".repeat(32), m).unwrap().is_none());
    // The quota counts each municipality's own uploads, withdrawn ones too (their files
    // stay), recorded twice once, and not the file about to come.
    let besides = |m, sha: &str| store.media_bytes_besides(m, sha).unwrap();
    assert_eq!(besides(m, &"ff".repeat(32)), 20);
    assert_eq!(besides(m, &two), 10);
    assert_eq!(besides(m2, &"ff".repeat(32)), 10);
    assert_eq!(besides(m2, &one), 0);
}

fn the_read_model_follows_the_documents_and_rebuilds_to_the_same_rows(b: &Backend) {
    let store = b.open();
    let (team, course, by) = (TeamId::new(), CourseId::new(), UserId::new());
    let header = Header::session_log(team, course);
    let mut doc = genesis(&header).with_actor(ActorId::random());
    let first = SessionLog::start(course, by, None, 1_000);
    put_session(&mut doc, &first, 1_000).unwrap();
    commit(store.as_ref(), &header, &doc, &[]);
    let sessions = || b.count("SELECT COUNT(*) FROM rm_sessions");

    // Committed, not yet projected: the sync did not wait for the read model.
    assert_eq!(sessions(), 0);
    let round = store.project_pending(10).unwrap();
    assert_eq!((round.projected, round.failed, round.pending), (1, 0, 0));
    assert_eq!(sessions(), 1);

    // A second session and a complete WHO-5: the document's rows are replaced whole.
    let before = doc.get_heads();
    let second = SessionLog::start(course, by, None, 2_000);
    put_session(&mut doc, &second, 2_000).unwrap();
    docs::start_who5(
        &mut doc,
        second.id,
        AssessmentPhase::Start,
        by,
        MeasuredAt::Home,
        2_000,
    )
    .unwrap();
    for item in 0..5 {
        docs::record_who5_answer(&mut doc, second.id, item, 4, 2_000).unwrap();
    }
    commit(store.as_ref(), &header, &doc, &before);
    assert_eq!(store.project_pending(10).unwrap().projected, 1);
    assert_eq!(sessions(), 2);
    assert_eq!(
        b.count("SELECT COUNT(*) FROM rm_test_results WHERE test = 'who5' AND value = 80"),
        1
    );
    let check = store.check_read_model().unwrap();
    assert_eq!(
        (check.compared, check.pending, check.differing.len()),
        (1, 0, 0)
    );

    // A row that no longer says what the document says is found, and a rebuild mends it.
    b.execute(
        "UPDATE rm_sessions SET set_count = 99",
        "UPDATE rm_sessions SET set_count = 99",
    );
    assert_eq!(store.check_read_model().unwrap().differing, [header.id]);
    let rebuilt = store.reproject().unwrap();
    assert_eq!((rebuilt.projected, rebuilt.failed), (1, 0));
    assert!(store.check_read_model().unwrap().differing.is_empty());
    assert_eq!(sessions(), 2);

    // Committed again: pending, not compared, until projected.
    commit(store.as_ref(), &header, &doc, &doc.get_heads());
    assert_eq!(store.check_read_model().unwrap().pending, 1);
}

/// Two servers' projectors, each remembering what it last projected, take turns over a log
/// that grows a set at a time: each reads only the sessions written since its own last look
/// (the other settled rows meanwhile), and the stored rows are always the whole log's.
fn projectors_remembering_their_last_projection_keep_the_rows_of_the_whole_log(b: &Backend) {
    use homerehab_sync_server::store::ProjectionMemo;
    let store = b.open();
    let (team, course) = (TeamId::new(), CourseId::new());
    let header = Header::session_log(team, course);
    let mut doc = genesis(&header).with_actor(ActorId::random());
    commit(store.as_ref(), &header, &doc, &[]);
    let mut current = None;
    let mut memos = [ProjectionMemo::new(1 << 20), ProjectionMemo::new(1 << 20)];
    let line = ProgramExerciseId::new();
    for step in 0..12_i64 {
        let before = doc.get_heads();
        let at = 1_000 + step;
        if step % 4 == 0 {
            let started = session(course, at);
            put_session(&mut doc, &started, at).unwrap();
            current = Some(started.id);
        } else {
            let current = current.expect("a session was started");
            let set = SetLog {
                reps: Some(step as u32),
                duration_s: None,
                load_kg: None,
                at,
            };
            docs::log_set(&mut doc, current, line, "sit-to-stand", &set, at).unwrap();
            if step % 4 == 3 {
                docs::finish_session(&mut doc, current, Some(3), None, at).unwrap();
            }
        }
        commit(store.as_ref(), &header, &doc, &before);
        let memo = &mut memos[(step % 2) as usize];
        assert_eq!(store.project_pending_after(10, memo).unwrap().projected, 1);
        assert!(
            memo.used_bytes() > 0,
            "a session log's projection is remembered"
        );
        let check = store.check_read_model().unwrap();
        assert_eq!(
            (check.compared, check.differing.len()),
            (1, 0),
            "step {step}"
        );
    }
    assert_eq!(b.count("SELECT COUNT(*) FROM rm_sessions"), 3);
    assert_eq!(
        b.count("SELECT COUNT(*) FROM rm_sessions WHERE status = 'completed'"),
        3
    );
}

/// Two servers' projectors (or `reproject` beside a running server) take rounds over the same
/// pending documents, each from a random place in them: both write in the documents' order,
/// so one waits for the other instead of PostgreSQL breaking a lock cycle with an error.
fn two_servers_projecting_the_same_documents_do_not_deadlock(b: &Backend) {
    let (one, two) = (b.open(), b.open());
    let team = TeamId::new();
    for _ in 0..300 {
        let header = Header::session_log(team, CourseId::new());
        one.commit_document(&header, &[], &genesis(&header), &[])
            .unwrap();
    }
    for _ in 0..8 {
        one.reset_read_model().unwrap();
        std::thread::scope(|scope| {
            for store in [&one, &two] {
                scope.spawn(move || loop {
                    let round = store.project_pending(64).expect("a round never fails");
                    if round.pending == 0 {
                        break;
                    }
                });
            }
        });
    }
    assert_eq!(b.count("SELECT COUNT(*) FROM rm_pending"), 0);
    assert_eq!(b.count("SELECT COUNT(*) FROM rm_failures"), 0);
}

fn evidence_settings_round_trip(b: &Backend) {
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let admin = user(store.as_ref(), "admin", Role::Admin, team);
    assert_eq!(
        store.evidence_settings(m).unwrap(),
        EvidenceSettings::default()
    );
    let settings = EvidenceSettings {
        agreed_to_be_named: true,
        comparison_group: Some(vec![m.to_string()]),
        ..EvidenceSettings::default()
    };
    store.set_evidence_settings(m, &settings, admin).unwrap();
    assert_eq!(store.evidence_settings(m).unwrap(), settings);
    let json = serde_json::to_value(&settings).unwrap();
    let all = store.all_evidence_settings().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].0, serde_json::to_value(&all[0].1).unwrap()),
        (m, json)
    );
    // No library projected yet: the default effect settings.
    assert_eq!(store.effect_settings(m).unwrap(), Default::default());
}

/// The evidence queries are SQL per backend over one meaning (`store::evidence_facts`): the
/// evidence demo's documents, stored in both and projected, give the same facts to the last
/// digit, in the same order.
#[test]
fn the_same_documents_give_the_same_evidence_facts_on_both_backends() {
    use homerehab_sync_server::auth::Passwords;
    use homerehab_sync_server::config::PasswordCost;
    let Some(postgres) = Backend::postgres() else {
        eprintln!("{} is not set: nothing to compare", backends::POSTGRES_ENV);
        return;
    };
    let sqlite = Backend::sqlite();
    let (from, to) = (sqlite.open(), postgres.open());
    let now = homerehab_sync_server::store::now_ms();
    homerehab_sync_server::seed_evidence::seed_evidence(
        from.as_ref(),
        &Passwords::new(PasswordCost::Insecure),
        now,
    )
    .unwrap();
    let teams: Vec<TeamId> = from.teams().unwrap().into_iter().map(|t| t.id).collect();
    let libraries: Vec<DocumentId> = from
        .municipalities()
        .unwrap()
        .into_iter()
        .map(|(m, _)| DocumentId::library_of(m))
        .collect();
    let mut stored = from.document_heads(&teams).unwrap();
    stored.extend(from.document_heads_by_id(&libraries).unwrap());
    assert!(stored.len() > 50, "{} documents", stored.len());
    for (header, _) in &stored {
        let doc = from.load_document(header.id).unwrap().unwrap();
        to.commit_document(header, &[], &doc, &[]).unwrap();
    }
    for store in [&from, &to] {
        while store.project_pending(256).unwrap().pending > 0 {}
        let check = store.check_read_model().unwrap();
        assert_eq!((check.differing.len(), check.failed), (0, 0));
    }

    let year = homerehab_shared::schedule::date_of(now).year();
    let period = homerehab_shared::evidence::targets::Period::new(
        time::Date::from_calendar_date(year - 2, time::Month::January, 1).unwrap(),
        time::Date::from_calendar_date(year, time::Month::December, 31).unwrap(),
    )
    .unwrap();
    let courses = from.completed_courses(None, period).unwrap();
    assert!(courses.len() > 10, "{} courses", courses.len());
    assert!(courses
        .iter()
        .any(|c| !c.results.is_empty() && !c.grants.is_empty()));
    assert_eq!(to.completed_courses(None, period).unwrap(), courses);
    let some = &teams[..1];
    assert_eq!(
        to.completed_courses(Some(some), period).unwrap(),
        from.completed_courses(Some(some), period).unwrap()
    );
    let referrals = from.evidence_referrals(&teams, period).unwrap();
    assert!(!referrals.is_empty());
    assert_eq!(to.evidence_referrals(&teams, period).unwrap(), referrals);
    for (m, _) in from.municipalities().unwrap() {
        assert_eq!(
            to.effect_settings(m).unwrap(),
            from.effect_settings(m).unwrap()
        );
    }
    // The BI feed: every table's file the same, byte for byte (SQLite's 0/1 is PostgreSQL's
    // boolean), and of one team only what is that team's.
    use homerehab_shared::export::{to_csv, ExportTable};
    for table in ExportTable::ALL.into_iter().filter(|t| t.from_read_model()) {
        let rows = from.export_rows(table, &teams, &period).unwrap();
        assert!(!rows.is_empty(), "no {} exported", table.name());
        let file = to_csv(table, &rows).unwrap();
        let other = to_csv(table, &to.export_rows(table, &teams, &period).unwrap()).unwrap();
        assert!(
            file == other,
            "{} differs between the backends",
            table.name()
        );
        let one_team = from.export_rows(table, some, &period).unwrap();
        assert!(one_team.len() < rows.len(), "{} of one team", table.name());
    }
    let team_of_courses = from
        .export_rows(ExportTable::Courses, some, &period)
        .unwrap();
    let team_id = homerehab_shared::export::Cell::Text(some[0].to_string());
    assert!(team_of_courses.iter().all(|r| r[2] == team_id));
}

/// An assistant who logged sessions in May and again in September was active at the end of
/// May: a report on a past quarter asks who was active then, and the later work (one document,
/// one user, one kind of work) must not hide the earlier.
fn staff_work_is_judged_as_of_the_day_asked(b: &Backend) {
    use homerehab_shared::evidence::staff::Work;
    use time::macros::date;
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let assistant = user(store.as_ref(), "assistent", Role::Assistant, team);
    let course = CourseId::new();
    let header = Header::session_log(team, course);
    let mut doc = genesis(&header).with_actor(ActorId::random());
    let at = |d: time::Date| (d - date!(1970 - 01 - 01)).whole_days() * 86_400_000 + 36_000_000;
    for day in [
        date!(2026 - 05 - 20),
        date!(2026 - 05 - 22),
        date!(2026 - 09 - 14),
    ] {
        let s = SessionLog::start(course, assistant, None, at(day));
        put_session(&mut doc, &s, at(day)).unwrap();
    }
    commit(store.as_ref(), &header, &doc, &[]);
    while store.project_pending(10).unwrap().pending > 0 {}

    let last_logged = |as_of| {
        let staff = store.evidence_staff(&[team], as_of).unwrap();
        let me = staff
            .iter()
            .find(|s| s.user_id == assistant.to_string())
            .expect("the assistant is staff");
        me.last_work
            .iter()
            .find(|w| w.work == Work::LoggedSession)
            .map(|w| w.last_on)
    };
    assert_eq!(last_logged(date!(2026 - 05 - 19)), None);
    assert_eq!(
        last_logged(date!(2026 - 05 - 31)),
        Some(date!(2026 - 05 - 22))
    );
    assert_eq!(
        last_logged(date!(2026 - 12 - 01)),
        Some(date!(2026 - 09 - 14))
    );
    let active = |as_of| {
        let staff = store.evidence_staff(&[team], as_of).unwrap();
        let me = staff.iter().find(|s| s.user_id == assistant.to_string());
        me.expect("the assistant is staff").active(as_of)
    };
    assert!(active(date!(2026 - 05 - 31)), "active at the end of May");
    assert!(
        !active(date!(2026 - 08 - 31)),
        "not in the 28 days up to August's end"
    );
    assert!(
        active(date!(2026 - 09 - 30)),
        "active again at September's end"
    );
}

/// A municipality imports the care record system's grants now and then. A follow-up 77 days
/// after a course is read from grants recorded on or after that day: the last import before
/// it does not hold a cut made since, and counting its minutes would report "no change" as a
/// fact. The read model keeps the day each grant was recorded; the evidence counts the
/// follow-up once an import on or after its day is projected.
fn a_care_time_follow_up_is_counted_only_from_grants_recorded_on_or_after_its_day(b: &Backend) {
    use homerehab_shared::effect::care_time::FollowUpOffsets;
    use homerehab_shared::effect::change::default_changes;
    use homerehab_shared::evidence::report::citizen_outcome;
    use homerehab_shared::evidence::targets::Period;
    use time::macros::date;
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let actor = ActorId::random();
    let at = |d: time::Date| (d - date!(1970 - 01 - 01)).whole_days() * 86_400_000 + 36_000_000;
    let citizen = Citizen {
        id: CitizenId::new(),
        name: "Else".into(),
        local_ref: "sag-1".into(),
        address: None,
        assigned: Default::default(),
        active: true,
        birth_year: Some(1940),
        sex: None,
    };
    // A course of hers begun on a day, and how it stands; stored as a therapist's device
    // would, the read model caught up.
    let course_begun = |on: time::Date, status: CourseStatus, end_reason: Option<&str>| {
        let course = Course {
            status,
            end_reason: end_reason.map(Into::into),
            ..Course::new(
                citizen.id,
                team,
                UserId::new(),
                &homerehab_shared::effect::iso(on),
                at(on),
            )
        };
        let header = Header::course(team, course.id);
        let mut doc = genesis(&header).with_actor(ActorId::random());
        docs::put_course(&mut doc, &course, 1_000).unwrap();
        commit(store.as_ref(), &header, &doc, &[]);
        while store.project_pending(10).unwrap().pending > 0 {}
    };
    // A 12-week course from 5 January 2026: planned end 29 March, 77 days later 14 June.
    course_begun(date!(2026 - 01 - 05), CourseStatus::Completed, None);
    let grant = |effective: &str, minutes: u32, recorded: time::Date| CareGrantRecord {
        citizen_id: citizen.id,
        effective: effective.into(),
        minutes_per_week: minutes,
        service_code: None,
        recorded_by: UserId::new(),
        recorded_at: at(recorded),
    };
    // Imported on 1 June: 420 minutes since November, the cut of 10 June not yet in it.
    let roster = Header::roster(team);
    let mut rdoc = genesis(&roster).with_actor(actor);
    docs::put_citizen(&mut rdoc, &citizen, 1_000).unwrap();
    docs::put_care_grant(
        &mut rdoc,
        &grant("2025-11-01", 420, date!(2026 - 06 - 01)),
        2_000,
    )
    .unwrap();
    commit(store.as_ref(), &roster, &rdoc, &[]);
    while store.project_pending(10).unwrap().pending > 0 {}

    let period = Period::new(date!(2026 - 01 - 01), date!(2026 - 12 - 31)).unwrap();
    // Each completed course's start and whether its citizen left before its follow-ups.
    let left_out = || {
        let mut left: Vec<_> = store
            .completed_courses(None, period)
            .unwrap()
            .into_iter()
            .map(|f| (f.start_date, f.citizen_left))
            .collect();
        left.sort();
        left
    };
    let today = date!(2026 - 08 - 01);
    let follow_up = |store: &dyn Store| {
        let facts = store.completed_courses(None, period).unwrap();
        let [facts] = facts.as_slice() else {
            panic!("one course: {facts:?}")
        };
        let offsets = FollowUpOffsets::default();
        let outcome = citizen_outcome(facts, &default_changes(), &offsets, today).unwrap();
        let care = outcome.care_time.expect("grants known");
        assert_eq!(care.baseline_minutes_per_week, Some(420));
        (
            facts.grants_recorded_until.clone(),
            care.follow_ups[0].minutes_per_week,
        )
    };
    assert_eq!(
        follow_up(store.as_ref()),
        (Some("2026-06-01".to_string()), None),
        "recorded before the 77-day follow-up: not known"
    );
    // Imported again on 15 June with nothing changed: the import records her grant again
    // (`ImportPlan::confirmed`), so the follow-up is known — no change is a result too.
    let before = rdoc.get_heads();
    let unchanged = grant("2025-11-01", 420, date!(2026 - 06 - 15));
    docs::put_care_grant(&mut rdoc, &unchanged, 2_500).unwrap();
    commit(store.as_ref(), &roster, &rdoc, &before);
    while store.project_pending(10).unwrap().pending > 0 {}
    assert_eq!(
        follow_up(store.as_ref()),
        (Some("2026-06-15".to_string()), Some(420))
    );
    // Imported again on 20 June, now with a cut made on the 10th (registered late): the
    // follow-up says so.
    let before = rdoc.get_heads();
    docs::put_care_grant(
        &mut rdoc,
        &grant("2026-06-10", 300, date!(2026 - 06 - 20)),
        3_000,
    )
    .unwrap();
    commit(store.as_ref(), &roster, &rdoc, &before);
    while store.project_pending(10).unwrap().pending > 0 {}
    assert_eq!(
        follow_up(store.as_ref()),
        (Some("2026-06-20".to_string()), Some(300))
    );
    // Rows projected without the day (the migration leaves it empty until the rosters are
    // projected again): not known, and found differing.
    b.execute(
        "UPDATE rm_care_grants SET recorded_on = NULL",
        "UPDATE rm_care_grants SET recorded_on = NULL",
    );
    assert_eq!(follow_up(store.as_ref()), (None, None));
    assert_eq!(store.check_read_model().unwrap().differing, [roster.id]);
    // A starting projector marks such rosters again (rows a server of the release before
    // wrote during a rolling upgrade), once each.
    assert_eq!(store.remark_grants_without_day().unwrap(), 1);
    while store.project_pending(10).unwrap().pending > 0 {}
    assert_eq!(store.remark_grants_without_day().unwrap(), 0);
    assert_eq!(
        follow_up(store.as_ref()),
        (Some("2026-06-20".to_string()), Some(300))
    );
    // A later course of hers ended early because she moved: her grants ended for that reason,
    // not because of the course, so her care time is no longer counted (a move is no saving).
    course_begun(
        date!(2026 - 07 - 01),
        CourseStatus::EndedEarly,
        Some("moved"),
    );
    let facts = store.completed_courses(None, period).unwrap();
    assert_eq!(facts.len(), 1, "the ended course is not of the cohort");
    assert!(facts[0].citizen_left);
    let outcome = citizen_outcome(
        &facts[0],
        &default_changes(),
        &FollowUpOffsets::default(),
        today,
    )
    .unwrap();
    assert_eq!(outcome.care_time, None);
    // She moved back, and a course begun after the one that ended with the move was completed:
    // that course is hers as any other's; the one from before the move stays left out.
    course_begun(date!(2026 - 09 - 01), CourseStatus::Completed, None);
    assert_eq!(
        left_out(),
        [
            ("2026-01-05".to_string(), true),
            ("2026-09-01".to_string(), false)
        ]
    );
    // She died since, during a course begun in October: the last such course dates it, so
    // both completed courses are left out now.
    course_begun(
        date!(2026 - 10 - 01),
        CourseStatus::EndedEarly,
        Some("died"),
    );
    assert_eq!(
        left_out(),
        [
            ("2026-01-05".to_string(), true),
            ("2026-09-01".to_string(), true)
        ]
    );
}

fn sign_in_attempts_are_counted_for_every_server_sharing_the_database(b: &Backend) {
    let (one, two) = (b.open(), b.open());
    let (key, other) = ([7; 16], [8; 16]);
    const WINDOW: Millis = 60_000;
    for i in 0..5 {
        let server = if i % 2 == 0 { &one } else { &two };
        assert_eq!(
            server.count_sign_in(&key, 1_000 + i, WINDOW, 5).unwrap(),
            Ok(())
        );
    }
    // The sixth within the window, on either server: refused until the window ends.
    assert_eq!(
        two.count_sign_in(&key, 2_000, WINDOW, 5).unwrap(),
        Err(1_000 + WINDOW)
    );
    assert_eq!(
        one.count_sign_in(&key, 3_000, WINDOW, 5).unwrap(),
        Err(1_000 + WINDOW)
    );
    assert_eq!(one.count_sign_in(&other, 3_000, WINDOW, 5).unwrap(), Ok(()));
    // Once the window has passed, counting starts again.
    assert_eq!(
        two.count_sign_in(&key, 1_000 + WINDOW, WINDOW, 5).unwrap(),
        Ok(())
    );
    // A right password clears the count.
    for i in 0..4 {
        one.count_sign_in(&other, 4_000 + i, WINDOW, 5)
            .unwrap()
            .unwrap();
    }
    assert!(one
        .count_sign_in(&other, 5_000, WINDOW, 5)
        .unwrap()
        .is_err());
    two.clear_sign_ins(&other).unwrap();
    assert_eq!(one.count_sign_in(&other, 5_001, WINDOW, 5).unwrap(), Ok(()));
}

/// Through the sign-in itself: two servers (each its own `AuthService`, so its own count in
/// memory) over one database; wrong passwords alternating between them reach the limit, and a
/// third server refuses even the right password until the window ends.
fn a_wrong_password_on_one_server_counts_on_the_others(b: &Backend) {
    use homerehab_sync_server::auth::{AuthService, LoginOutcome, Passwords, MAX_FAILED_LOGINS};
    use homerehab_sync_server::config::{Config, PasswordCost};
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        password_workers: 1,
        ..Config::for_tests(dir.path())
    };
    let passwords = Passwords::new(PasswordCost::Insecure);
    let store = b.open();
    let m = store.ensure_municipality("Thisted").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    store
        .create_user(&NewUser {
            username: "assistent1".into(),
            display_name: "A".into(),
            password_hash: passwords.hash("rigtig-kode").unwrap(),
            role: Role::Assistant,
            team_id: team,
            granted_teams: vec![],
        })
        .unwrap();
    let servers: Vec<AuthService> = (0..3)
        .map(|_| AuthService::new(b.open(), &config).unwrap())
        .collect();
    let mut memory = passwords.memory();
    let device = homerehab_sync_server::auth::DeviceOf {
        actor: ActorId::random(),
        device: None,
        app_version: "test".into(),
    };
    for i in 0..MAX_FAILED_LOGINS as usize {
        let outcome = servers[i % 2]
            .login_in(&mut memory, "assistent1", "forkert", &device)
            .unwrap();
        assert!(matches!(outcome, LoginOutcome::Refused), "attempt {i}");
    }
    let third = servers[2]
        .login_in(&mut memory, "Assistent1 ", "rigtig-kode", &device)
        .unwrap();
    assert!(matches!(third, LoginOutcome::Throttled { .. }));
}

/// PostgreSQL's own migrations: servers started at once migrate once (an advisory lock), a
/// second open changes nothing, and a schema newer than the server is refused, not used.
#[test]
fn postgres_migrates_once_and_refuses_a_newer_schema() {
    use homerehab_sync_server::store::PostgresStore;
    let Some(backend) = Backend::postgres_alone() else {
        return;
    };
    let url = backend.url();
    let opened: Vec<i32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| PostgresStore::open(url, None).unwrap().schema_version()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        opened.iter().all(|v| *v == opened[0] && *v > 0),
        "{opened:?}"
    );
    let version = i64::from(opened[0]);
    assert_eq!(
        backend.count("SELECT COUNT(*) FROM schema_migrations"),
        version
    );
    backend.open().ping().unwrap();
    assert_eq!(
        backend.count("SELECT COUNT(*) FROM schema_migrations"),
        version
    );

    backend.execute(
        "",
        "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
    );
    let refused = PostgresStore::open(url, None)
        .err()
        .expect("a newer schema is refused");
    assert!(
        matches!(&refused, Error::Config(m) if m.contains("newer than this server")),
        "{refused}"
    );
}

/// TLS to PostgreSQL (`sslmode=require`): every connection of the store is encrypted, the
/// server's certificate is verified against the configured CA, and a certificate from any
/// other CA is refused rather than used unverified or dropped to plain TCP.
#[test]
fn postgres_over_tls_verifies_the_database_certificate() {
    use homerehab_sync_server::store::PostgresStore;
    let (Some(backend), Ok(ca)) = (
        Backend::postgres(),
        std::env::var("HOMEREHAB_TEST_POSTGRES_CA"),
    ) else {
        eprintln!("HOMEREHAB_TEST_POSTGRES(_CA) not set: TLS to PostgreSQL not tested");
        return;
    };
    let Backend::Postgres { url, name, .. } = &backend else {
        unreachable!()
    };
    let tls_url = format!("{url}?sslmode=require");
    let ca = std::path::Path::new(&ca);

    let store = PostgresStore::open(&tls_url, Some(ca)).expect("TLS with the test CA");
    let team = TeamId::new();
    let header = Header::course(team, CourseId::new());
    let doc = genesis(&header);
    store.commit_document(&header, &[], &doc, &[]).unwrap();
    assert!(store.load_document(header.id).unwrap().is_some());
    let (tls, plain) = (
        backend.count(&format!(
            "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = '{name}' AND s.ssl"
        )),
        backend.count(&format!(
            "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = '{name}' AND NOT s.ssl AND a.pid <> pg_backend_pid()"
        )),
    );
    assert!(
        tls >= 1,
        "the store's connections are TLS ({tls} TLS, {plain} plain)"
    );
    assert_eq!(plain, 0, "no plain connection of the store");
    drop(store);

    // The public roots do not know the test CA: refused, not connected unverified.
    let unknown = PostgresStore::open(&tls_url, None).err();
    assert!(
        unknown
            .as_ref()
            .is_some_and(|e| e.to_string().to_lowercase().contains("certificate")),
        "{unknown:?}"
    );
    // A CA for a URL that does not ask for TLS is a mistake, said as such.
    let mistaken = PostgresStore::open(url, Some(ca)).err();
    assert!(
        matches!(&mistaken, Some(Error::Config(m)) if m.contains("sslmode=require")),
        "{mistaken:?}"
    );
}

/// A lock cycle with another transaction (as `reproject` marking every document pending can
/// make with a commit) ends in PostgreSQL aborting the commit: that is `DocumentMoved`, so the
/// sync is served again, and nothing of the batch is stored.
#[test]
fn postgres_a_commit_aborted_to_break_a_deadlock_is_retried_as_moved() {
    let Some(backend) = Backend::postgres_alone() else {
        return;
    };
    let url = backend.url();
    let store = backend.open();
    let team = TeamId::new();
    let mut headers = [
        Header::session_log(team, CourseId::new()),
        Header::session_log(team, CourseId::new()),
    ];
    headers.sort_by_key(|h| h.id.0); // the commit locks in id order: first, then second
    let docs: Vec<Automerge> = headers.iter().map(genesis).collect();
    for (h, d) in headers.iter().zip(&docs) {
        store.commit_document(h, &[], d, &[]).unwrap();
    }
    let bases: Vec<Vec<homerehab_shared::sync::Hash>> =
        docs.iter().map(|d| to_hashes(&d.get_heads())).collect();
    let grown: Vec<(Automerge, Vec<u8>)> = docs
        .iter()
        .zip(&headers)
        .map(|(d, h)| {
            let mut d = d.fork().with_actor(ActorId::random());
            let before = d.get_heads();
            put_session(&mut d, &session(h.course_id.unwrap(), 1), 1).unwrap();
            let new = changes_since(&d, &before);
            (d, new)
        })
        .collect();

    let mut other = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    let mut cycle = other.transaction().unwrap();
    // This side waits long before looking for a deadlock, so the commit's side finds it.
    cycle
        .batch_execute("SET LOCAL deadlock_timeout = '20s'")
        .unwrap();
    cycle
        .execute(
            "UPDATE rm_pending SET version = version WHERE doc_id = $1",
            &[&headers[1].id.0],
        )
        .unwrap();
    let outcome = std::thread::scope(|s| {
        let commit = s.spawn(|| {
            let batch: Vec<homerehab_sync_server::store::DocumentCommit<'_>> = (0..2)
                .map(|i| homerehab_sync_server::store::DocumentCommit {
                    header: &headers[i],
                    base: &bases[i],
                    doc: &grown[i].0,
                    new_changes: &grown[i].1,
                    whole: false,
                })
                .collect();
            store.commit_documents(&batch)
        });
        // Let the commit lock the first document and wait on the second's pending row.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let _ = cycle.execute(
            "UPDATE rm_pending SET version = version WHERE doc_id = $1",
            &[&headers[0].id.0],
        );
        let outcome = commit.join().unwrap();
        let _ = cycle.rollback();
        outcome
    });
    assert!(
        matches!(outcome, Err(Error::DocumentMoved(id)) if id == headers[0].id),
        "{outcome:?}"
    );
    for (h, base) in headers.iter().zip(&bases) {
        assert_eq!(store.stored_heads(h.id).unwrap().as_ref(), Some(base));
    }
}

/// A sync's usual commit on PostgreSQL is one statement that takes the document's row lock
/// itself (`GROWN_AT_BASE`; `REPLACED_AT_BASE` for a document sent whole). Waiting for that
/// lock behind another server's commit, it checks the heads again on the row as that commit
/// left it: moved, it writes nothing (no chunk under a number read before the wait, no heads
/// overwritten, no chunk dropped); merely touched, it lands.
#[test]
fn postgres_a_commit_waiting_for_a_documents_row_checks_its_heads_after_the_wait() {
    let Some(backend) = Backend::postgres_alone() else {
        return;
    };
    let url = backend.url();
    let store = backend.open();
    let header = Header::session_log(TeamId::new(), CourseId::new());
    let course = header.course_id.unwrap();
    let original = genesis(&header);
    store.commit_document(&header, &[], &original, &[]).unwrap();
    let base = to_hashes(&original.get_heads());
    let grow = |from: &Automerge, at: Millis| {
        let mut doc = from.fork().with_actor(ActorId::random());
        let before = doc.get_heads();
        put_session(&mut doc, &session(course, at), at).unwrap();
        let new = changes_since(&doc, &before);
        (doc, new)
    };
    let (first, first_new) = grow(&original, 1);
    let (second, second_new) = grow(&original, 2);

    // Another server's commit of `first`, holding the row until it commits; `hold` is the SQL
    // it runs under the lock.
    let waiting_behind = |hold: &str,
                          params: &[&(dyn ::postgres::types::ToSql + Sync)],
                          base: &[homerehab_shared::sync::Hash],
                          doc: &Automerge,
                          new: &[u8],
                          whole: bool| {
        let mut other = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
        let mut watcher = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
        let mut holder = other.transaction().unwrap();
        holder
            .batch_execute("SET LOCAL lock_timeout = '20s'")
            .unwrap();
        holder.execute(hold, params).unwrap();
        std::thread::scope(|s| {
            let commit = s.spawn(|| {
                store.commit_documents(&[homerehab_sync_server::store::DocumentCommit {
                    header: &header,
                    base,
                    doc,
                    new_changes: new,
                    whole,
                }])
            });
            // Until the commit waits for the row (or gave up without waiting).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !commit.is_finished() && std::time::Instant::now() < deadline {
                let waiting: i64 = watcher
                    .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
                    .unwrap()
                    .get(0);
                if waiting > 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert!(!commit.is_finished(), "the commit did not wait for the row");
            holder.commit().unwrap();
            commit.join().unwrap()
        })
    };

    let heads_of =
        |doc: &Automerge| -> Vec<u8> { doc.get_heads().iter().flat_map(|h| h.0).collect() };
    // Another server's grow: the heads moved and a chunk appended.
    let grows = "WITH grown AS (
           UPDATE documents SET heads = $2::BYTEA,
             incremental_bytes = incremental_bytes + octet_length($3::BYTEA)
           WHERE id = $1
         )
         INSERT INTO doc_changes (doc_id, seq, bytes)
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $3::BYTEA FROM doc_changes WHERE doc_id = $1";
    let moved = waiting_behind(
        grows,
        &[&header.id.0, &heads_of(&first), &first_new],
        &base,
        &second,
        &second_new,
        false,
    );
    assert!(
        matches!(moved, Err(Error::DocumentMoved(id)) if id == header.id),
        "{moved:?}"
    );
    let stored = store.load_document(header.id).unwrap().unwrap();
    assert_eq!(stored.get_heads(), first.get_heads());
    assert_eq!(
        SessionLogDoc::read(&stored).unwrap(),
        SessionLogDoc::read(&first).unwrap()
    );
    assert_eq!(
        store.document_footprint(header.id).unwrap().unwrap().chunks,
        1
    );

    // Served again on what is stored now, behind a commit that touched the row but left its
    // heads: it lands, its chunk numbered after the one stored.
    let (third, third_new) = grow(&stored, 3);
    let landed = waiting_behind(
        "UPDATE documents SET updated_at = updated_at + 1 WHERE id = $1",
        &[&header.id.0],
        &to_hashes(&stored.get_heads()),
        &third,
        &third_new,
        false,
    );
    landed.unwrap();
    let stored = store.load_document(header.id).unwrap().unwrap();
    assert_eq!(stored.get_heads(), third.get_heads());
    assert_eq!(
        SessionLogDoc::read(&stored).unwrap(),
        SessionLogDoc::read(&third).unwrap()
    );
    assert_eq!(
        store.document_footprint(header.id).unwrap().unwrap().chunks,
        2
    );

    // A whole document (a device's month sent whole) built on what is stored now, waiting
    // behind another server's grow: it replaces nothing, the grown chunk stays.
    let (fourth, _) = grow(&stored, 4);
    let (fifth, fifth_new) = grow(&stored, 5);
    let moved = waiting_behind(
        grows,
        &[&header.id.0, &heads_of(&fifth), &fifth_new],
        &to_hashes(&stored.get_heads()),
        &fourth,
        &fourth.save(),
        true,
    );
    assert!(
        matches!(moved, Err(Error::DocumentMoved(id)) if id == header.id),
        "{moved:?}"
    );
    let stored = store.load_document(header.id).unwrap().unwrap();
    assert_eq!(stored.get_heads(), fifth.get_heads());
    assert_eq!(
        store.document_footprint(header.id).unwrap().unwrap().chunks,
        3
    );
}

fn audit_record(
    who: &homerehab_shared::auth::Principal,
    action: homerehab_shared::audit::AuditAction,
    course: Option<CourseId>,
) -> homerehab_shared::audit::AuditRecord {
    homerehab_shared::audit::AuditRecord {
        team: Some(who.team_id),
        course,
        ..homerehab_shared::audit::AuditRecord::by(who, action, 1_000)
    }
}

fn principal(user: UserId, role: Role, team: TeamId) -> homerehab_shared::auth::Principal {
    homerehab_shared::auth::Principal {
        user_id: user,
        role,
        team_id: team,
        granted_teams: vec![],
        municipality_id: None,
    }
}

fn servers_sharing_a_database_append_one_audit_chain_and_an_edited_row_breaks_it(b: &Backend) {
    use homerehab_shared::audit::AuditAction;
    let (one, two) = (b.open(), b.open());
    let who = principal(UserId::new(), Role::Therapist, TeamId::new());
    // Two servers, two threads each, appending at once: one chain, numbered without gaps.
    std::thread::scope(|scope| {
        for store in [&one, &two, &one, &two] {
            let who = &who;
            scope.spawn(move || {
                for _ in 0..10 {
                    let records = [
                        audit_record(who, AuditAction::SyncedCourse, Some(CourseId::new())),
                        audit_record(who, AuditAction::SyncedRoster, None),
                    ];
                    assert_eq!(store.append_audit(&records).unwrap(), 2);
                }
            });
        }
    });
    let v = homerehab_sync_server::audit::verify(one.as_ref(), None).unwrap();
    assert_eq!((v.checked, v.broken), (80, None));
    let kept = (80, v.head.clone());

    // A device sending its look-ups again: kept once.
    let resent = audit_record(&who, AuditAction::OpenedCourse, Some(CourseId::new()));
    assert_eq!(
        one.append_audit(&[resent.clone(), resent.clone()]).unwrap(),
        1
    );
    assert_eq!(two.append_audit(&[resent]).unwrap(), 0);
    // A server's own record appended again (PostgreSQL retries a group whose commit may have
    // landed though its answer was lost): kept once, though a first append does not look
    // the server's fresh ids up.
    let sent = audit_record(&who, AuditAction::SyncedCourse, Some(CourseId::new()));
    assert_eq!(one.append_audit(std::slice::from_ref(&sent)).unwrap(), 1);
    assert_eq!(two.append_audit(&[sent]).unwrap(), 0);
    assert_eq!(b.count("SELECT COUNT(*) FROM audit_log"), 82);
    // The head kept from the run at 80 entries still holds.
    let v = homerehab_sync_server::audit::verify(two.as_ref(), Some(&kept)).unwrap();
    assert_eq!((v.checked, v.broken, v.kept_lost), (82, None, None));

    // Someone with SQL access gives entry 17 another role: entry 17 is named.
    b.execute(
        "UPDATE audit_log SET role = 'leader' WHERE seq = 17",
        "UPDATE audit_log SET role = 'leader' WHERE seq = 17",
    );
    let v = homerehab_sync_server::audit::verify(two.as_ref(), None).unwrap();
    let broken = v.broken.expect("the edit is found");
    assert_eq!((broken.seq(), v.checked), (17, 16));
    assert!(
        broken.to_string().contains("entry 17 was changed"),
        "{broken}"
    );
    // Appending goes on after a broken entry (verification keeps naming the first one).
    one.append_audit(&[audit_record(&who, AuditAction::SyncedRoster, None)])
        .unwrap();
    // Deleting a row leaves a gap.
    b.execute(
        "UPDATE audit_log SET role = 'therapist' WHERE seq = 17; DELETE FROM audit_log WHERE seq = 40",
        "UPDATE audit_log SET role = 'therapist' WHERE seq = 17; DELETE FROM audit_log WHERE seq = 40",
    );
    let broken = homerehab_sync_server::audit::verify(one.as_ref(), None)
        .unwrap()
        .broken
        .unwrap();
    assert_eq!(broken.seq(), 40, "{broken}");
    // The newest entries cut off (the chain before them intact): only the kept head tells.
    b.execute(
        "DELETE FROM audit_log WHERE seq >= 40",
        "DELETE FROM audit_log WHERE seq >= 40",
    );
    let v = homerehab_sync_server::audit::verify(one.as_ref(), None).unwrap();
    assert_eq!((v.checked, v.broken.is_none()), (39, true));
    let v = homerehab_sync_server::audit::verify(one.as_ref(), Some(&kept)).unwrap();
    let lost = v.kept_lost.expect("the cut is found against the kept head");
    assert!(
        lost.contains("ends at entry 39, before the kept entry 80"),
        "{lost}"
    );
}

/// Audit appends share their transaction with the document commits of the syncs that
/// arrive with them (SQLite's group commit): a batch refused as moved beside them is rolled
/// back alone, and every append is kept, in one chain without gaps.
fn audit_appends_beside_refused_commits_are_all_kept(b: &Backend) {
    use homerehab_shared::audit::AuditAction;
    let store = b.open();
    let who = principal(UserId::new(), Role::Assistant, TeamId::new());
    let header = Header::session_log(who.team_id, CourseId::new());
    let doc = genesis(&header).with_actor(ActorId::random());
    store.commit_document(&header, &[], &doc, &[]).unwrap();
    let refused = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (store, who, header, doc, refused) = (&store, &who, &header, &doc, &refused);
            scope.spawn(move || {
                for i in 0..15 {
                    if (t + i) % 2 == 0 {
                        // On a base the store no longer has (empty): refused as moved.
                        let moved = store.commit_document(header, &[], doc, &[]);
                        assert!(matches!(moved, Err(Error::DocumentMoved(_))), "{moved:?}");
                        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    let records = [audit_record(
                        who,
                        AuditAction::SyncedSessionLog,
                        header.course_id,
                    )];
                    assert_eq!(store.append_audit(&records).unwrap(), 1);
                }
            });
        }
    });
    assert_eq!(refused.into_inner(), 30);
    let v = homerehab_sync_server::audit::verify(store.as_ref(), None).unwrap();
    assert_eq!((v.checked, v.broken), (60, None));
    assert_eq!(b.count("SELECT COUNT(*) FROM audit_log"), 60);
}

fn a_citizens_audit_entries_are_found_through_their_courses_and_team(b: &Backend) {
    use homerehab_shared::audit::AuditAction;
    let store = b.open();
    let m = store.ensure_municipality("Thisted Kommune").unwrap();
    let team = store.ensure_team(m, "Nord").unwrap();
    let other_team = store.ensure_team(m, "Syd").unwrap();
    let (citizen, course, other_course) = (CitizenId::new(), CourseId::new(), CourseId::new());
    assert_eq!(store.citizen_home(citizen).unwrap(), None);
    // The read model's rows of the roster and the course (projected from documents elsewhere).
    let doc = uuid::Uuid::new_v4();
    let rows = |blob: &str, yes: &str| {
        format!(
            "INSERT INTO rm_citizens (doc_id, citizen_id, team_id, active)
                 VALUES ({blob}, '{citizen}', '{team}', {yes});
             INSERT INTO rm_courses (doc_id, course_id, citizen_id, team_id, legal_basis,
                 start_date, planned_weeks, sessions_per_week, status, responsible_therapist,
                 created_at)
                 VALUES ({blob}, '{course}', '{citizen}', '{team}', 'sel83a', '2026-01-05', 12, 2,
                     'active', 'x', 0);"
        )
    };
    b.execute(
        &rows(&format!("x'{}'", doc.simple()), "1"),
        &rows(&format!("'{doc}'"), "true"),
    );
    assert_eq!(store.citizen_home(citizen).unwrap(), Some((team, m)));

    let user = UserId::new();
    let nord = principal(user, Role::Therapist, team);
    let syd = principal(user, Role::Therapist, other_team);
    let mine = [
        audit_record(&nord, AuditAction::OpenedCourse, Some(course)),
        audit_record(&nord, AuditAction::SyncedSessionLog, Some(course)),
        audit_record(&nord, AuditAction::SyncedRoster, None),
        homerehab_shared::audit::AuditRecord {
            citizen: Some(citizen),
            ..audit_record(&nord, AuditAction::AccessReport, None)
        },
    ];
    let others = [
        audit_record(&nord, AuditAction::OpenedHistory, Some(other_course)),
        audit_record(&syd, AuditAction::SyncedRoster, None),
        audit_record(&nord, AuditAction::EvidenceExtract, None),
    ];
    store.append_audit(&others[..1]).unwrap();
    store.append_audit(&mine[..2]).unwrap();
    store.append_audit(&others[1..]).unwrap();
    store.append_audit(&mine[2..]).unwrap();
    let found: Vec<_> = store
        .audit_of_citizen(citizen)
        .unwrap()
        .into_iter()
        .map(|e| e.unwrap().record)
        .collect();
    assert_eq!(found, mine, "in order, and nothing about anyone else");
    let page = store.audit_entries(2, 3).unwrap();
    assert_eq!(
        page.iter()
            .map(|e| e.as_ref().unwrap().seq)
            .collect::<Vec<_>>(),
        [3, 4, 5]
    );
}

/// Issue #14 item 5: a team whose roster holds two citizens; the one to be erased has an
/// ended course with a session whose note names them, and refused changes in quarantine.
struct ErasureWorld {
    municipality: MunicipalityId,
    team: TeamId,
    roster: Header,
    course: Header,
    log: Header,
    gone: Citizen,
    kept: Citizen,
}

const GONE_NAME: &str = "Gitte Glemmesen";
const GONE_NOTE: &str = "Gitte faldt i badet tirsdag";

fn a_citizen_synced_a_moment_ago_is_found_before_the_projector_ran(b: &Backend) {
    let store = b.open();
    let municipality = store.ensure_municipality("Thisted Kommune").unwrap();
    let team = store.ensure_team(municipality, "Nord").unwrap();
    let citizen = Citizen {
        id: CitizenId::new(),
        name: "Else Nylig".into(),
        local_ref: "sag-1".into(),
        address: None,
        assigned: Default::default(),
        active: true,
        birth_year: Some(1941),
        sex: None,
    };
    let roster = Header::roster(team);
    let mut doc = genesis(&roster).with_actor(ActorId::random());
    docs::put_citizen(&mut doc, &citizen, 1_000).unwrap();
    commit(store.as_ref(), &roster, &doc, &[]);
    // Committed, the projector has not run: the read model alone does not know her yet (an
    // admin's erasure or access report answered 404 here while the projector lagged).
    assert_eq!(store.citizen_home(citizen.id).unwrap(), None);
    assert_eq!(
        store.citizen_home_now(citizen.id).unwrap(),
        Some((team, municipality))
    );
    assert_eq!(store.project_pending(10).unwrap().pending, 0);
    // Nobody is invented for an id the documents do not hold.
    assert_eq!(store.citizen_home_now(CitizenId::new()).unwrap(), None);
}

fn erasure_world(store: &dyn Store) -> ErasureWorld {
    let municipality = store.ensure_municipality("Thisted Kommune").unwrap();
    let team = store.ensure_team(municipality, "Nord").unwrap();
    let actor = ActorId::random();
    let person = |name: &str| Citizen {
        id: CitizenId::new(),
        name: name.into(),
        local_ref: format!("sag-{name}"),
        address: Some(format!("{name}vej 3")),
        assigned: Default::default(),
        active: true,
        birth_year: Some(1941),
        sex: None,
    };
    let (gone, kept) = (person(GONE_NAME), person("Karl Kept"));
    let roster = Header::roster(team);
    let mut doc = genesis(&roster).with_actor(actor.clone());
    docs::put_citizen(&mut doc, &gone, 1_000).unwrap();
    docs::put_citizen(&mut doc, &kept, 1_000).unwrap();
    commit(store, &roster, &doc, &[]);
    let therapist = UserId::new();
    let course = Course {
        status: CourseStatus::Completed,
        ..Course::new(gone.id, team, therapist, "2019-01-07", 1_000)
    };
    let course_header = Header::course(team, course.id);
    let mut cdoc = genesis(&course_header).with_actor(actor.clone());
    docs::put_course(&mut cdoc, &course, 1_000).unwrap();
    commit(store, &course_header, &cdoc, &[]);
    let log = Header::session_log(team, course.id);
    let mut ldoc = genesis(&log).with_actor(actor);
    let visit = SessionLog {
        note: Some(GONE_NOTE.into()),
        ..SessionLog::start(course.id, therapist, None, 1_546_000_000_000)
    };
    put_session(&mut ldoc, &visit, 1_546_000_000_000).unwrap();
    commit(store, &log, &ldoc, &[]);
    let limits = QuarantineLimits::default();
    for (id, bytes) in [
        (log.id, GONE_NOTE.as_bytes()),
        (roster.id, GONE_NAME.as_bytes()),
    ] {
        assert_eq!(
            store
                .quarantine(id, 0, therapist, bytes, "refused", &limits)
                .unwrap(),
            Quarantine::Kept
        );
    }
    while store.project_pending(100).unwrap().pending > 0 {}
    ErasureWorld {
        municipality,
        team,
        roster,
        course: course_header,
        log,
        gone,
        kept,
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn an_erasure_deletes_the_course_rewrites_the_roster_and_keeps_ids_only(b: &Backend) {
    use homerehab_shared::audit::AuditAction;
    use homerehab_shared::retention::Erasure;
    let store = b.open();
    let w = erasure_world(store.as_ref());
    let old_roster = store.load_document(w.roster.id).unwrap().unwrap();
    let old_heads = store.stored_heads(w.roster.id).unwrap().unwrap();
    let old_hashes: Vec<_> = old_roster
        .get_changes(&[])
        .iter()
        .map(|c| c.hash().0)
        .collect();
    let course = w.course.course_id.unwrap();
    // The raw files held the name and the note before (so the check below can fail).
    let raw_files = || -> Vec<u8> {
        let Some(path) = b.sqlite_path() else {
            return vec![];
        };
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(wal).unwrap_or_default());
        bytes
    };
    if b.sqlite_path().is_some() {
        let before = raw_files();
        assert!(contains(&before, GONE_NAME) && contains(&before, GONE_NOTE));
    }
    let plan = [
        Erasure::Course {
            citizen: w.gone.id,
            team: w.team,
            course,
        },
        Erasure::Citizen {
            citizen: w.gone.id,
            team: w.team,
        },
    ];
    let done = homerehab_sync_server::erasure::execute(
        store.as_ref(),
        w.municipality,
        &plan,
        None,
        AuditAction::ErasedByRetention,
        5_000,
    )
    .unwrap();
    assert_eq!(done.deleted, [w.course.id, w.log.id]);
    assert_eq!(done.rewritten, [w.roster.id]);

    // The course and its log are gone with their quarantine and rows, and never come back.
    for id in [w.course.id, w.log.id] {
        assert!(store.document_header(id).unwrap().is_none());
        assert!(store.is_erased(id).unwrap());
        assert_eq!(store.quarantined(id).unwrap(), 0);
    }
    let fresh = genesis(&w.course);
    assert!(matches!(
        store.commit_document(&w.course, &[], &fresh, &fresh.save()),
        Err(Error::DocumentMoved(_))
    ));
    assert!(store.document_header(w.course.id).unwrap().is_none());
    for table in ["rm_courses", "rm_sessions"] {
        assert_eq!(b.count(&format!("SELECT COUNT(*) FROM {table}")), 0);
    }
    assert_eq!(
        b.count(&format!(
            "SELECT COUNT(*) FROM rm_citizens WHERE citizen_id = '{}'",
            w.gone.id
        )),
        0
    );
    assert_eq!(b.count("SELECT COUNT(*) FROM rm_citizens"), 1);

    // The roster: a new generation without the citizen, its old hashes kept, its quarantine
    // dropped; a commit built on the old generation is refused.
    assert_eq!(store.generation(w.roster.id).unwrap(), 1);
    let generations: Vec<(DocumentId, u32)> = store
        .visible_documents(&[w.team], &[])
        .unwrap()
        .into_iter()
        .filter(|d| d.generation != 0)
        .map(|d| (d.header.id, d.generation))
        .collect();
    assert_eq!(generations, [(w.roster.id, 1)]);
    // The table a server of the release before reads says so too, and holds nothing else.
    assert_eq!(
        b.count("SELECT COUNT(*) FROM document_generations WHERE generation = 1"),
        1
    );
    assert_eq!(b.count("SELECT COUNT(*) FROM document_generations"), 1);
    let new = store.load_document(w.roster.id).unwrap().unwrap();
    let citizens = docs::read_citizens(&new).unwrap();
    assert!(!citizens.contains_key(&w.gone.id.to_string()));
    assert!(citizens.contains_key(&w.kept.id.to_string()));
    assert!(!contains(&new.save_nocompress(), GONE_NAME));
    assert_eq!(store.quarantined(w.roster.id).unwrap(), 0);
    let mut asked = old_hashes.clone();
    asked.push([7; 32]);
    let mut found = store.old_generation_hashes(w.roster.id, &asked).unwrap();
    found.sort();
    let mut expected = old_hashes.clone();
    expected.sort();
    assert_eq!(found, expected);
    assert!(matches!(
        store.commit_document(&w.roster, &old_heads, &old_roster, &[]),
        Err(Error::DocumentMoved(_))
    ));

    // The ledger and the audit log: ids, times and why; never a name.
    let ledger = store.erasure_ledger().unwrap();
    assert_eq!(ledger.len(), 2);
    assert!(ledger
        .iter()
        .all(|e| e.action == AuditAction::ErasedByRetention && e.by.is_none()));
    assert_eq!(
        ledger.iter().map(|e| e.erasure.clone()).collect::<Vec<_>>(),
        plan
    );
    let audit: Vec<_> = store
        .audit_entries(0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.unwrap().record)
        .collect();
    assert_eq!(audit.len(), 2);
    assert!(audit
        .iter()
        .all(|r| r.citizen == Some(w.gone.id) && r.action == AuditAction::ErasedByRetention));
    assert_eq!(audit[0].course, Some(course));

    // On SQLite, no byte of the name or the note is left in the database file or its WAL.
    let after = raw_files();
    for needle in [GONE_NAME, GONE_NOTE, "Glemmesen"] {
        assert!(!contains(&after, needle), "{needle} is still in the files");
    }

    // A sync that read the documents before the erasure and refuses an offer after it keeps
    // nothing: not in the erased log, not in the roster's old generation (it is served again).
    let limits = QuarantineLimits::default();
    let therapist = UserId::new();
    for (id, generation, bytes) in [
        (w.log.id, 0, GONE_NOTE),
        (w.course.id, 0, GONE_NOTE),
        (w.roster.id, 0, GONE_NAME),
    ] {
        let late = store.quarantine(
            id,
            generation,
            therapist,
            bytes.as_bytes(),
            "refused",
            &limits,
        );
        assert!(
            matches!(late, Err(Error::DocumentMoved(d)) if d == id),
            "{late:?}"
        );
        assert_eq!(store.quarantined(id).unwrap(), 0);
    }
    assert!(!contains(&raw_files(), GONE_NAME));
    // At the generation it is now, a refusal is kept as before.
    assert_eq!(
        store
            .quarantine(
                w.roster.id,
                1,
                therapist,
                b"refused later",
                "refused",
                &limits
            )
            .unwrap(),
        Quarantine::Kept
    );
    assert_eq!(store.quarantined(w.roster.id).unwrap(), 1);
}

fn retention_settings_round_trip_and_facts_come_from_the_read_model(b: &Backend) {
    use homerehab_shared::retention::{due, Erasure, RetentionSettings};
    let store = b.open();
    let w = erasure_world(store.as_ref());
    assert_eq!(
        store.retention_settings(w.municipality).unwrap(),
        RetentionSettings::default()
    );
    let longer = RetentionSettings {
        course_years: 10,
        ..Default::default()
    };
    store
        .set_retention_settings(w.municipality, &longer, Some(UserId::new()))
        .unwrap();
    assert_eq!(store.retention_settings(w.municipality).unwrap(), longer);
    let facts = store.retention_facts(&[w.team]).unwrap();
    assert_eq!(facts.len(), 2);
    let gone = facts.iter().find(|f| f.citizen == w.gone.id).unwrap();
    assert_eq!(gone.courses.len(), 1);
    assert!(gone.courses[0].ended);
    // The session's day (2018-12-28) is before the start: the last entry is the start.
    assert_eq!(gone.courses[0].last_entry.to_string(), "2019-01-07");
    let course = w.course.course_id.unwrap();
    let due_then = |s: &RetentionSettings, day: time::Date| due(s, &facts, day);
    let course_due = Erasure::Course {
        citizen: w.gone.id,
        team: w.team,
        course,
    };
    let day = time::macros::date!(2026 - 01 - 01);
    assert_eq!(due_then(&RetentionSettings::default(), day), [course_due]);
    assert!(due_then(&longer, day).is_empty());
}

/// A backup restored from before an erasure forgets again when the exported ledger is applied
/// (`sync-server erasures reapply`), and applying it twice erases nothing more. SQLite: the
/// backup is a copy of the file.
#[test]
fn a_restored_backup_forgets_again_when_the_ledger_is_reapplied() {
    use homerehab_shared::audit::AuditAction;
    use homerehab_shared::retention::Erasure;
    use homerehab_sync_server::erasure::{execute, reapply};
    let b = Backend::sqlite();
    let path = b.sqlite_path().unwrap();
    let backup = path.with_extension("backup");
    let (w, ledger) = {
        let store = b.open();
        let w = erasure_world(store.as_ref());
        store.scrub().unwrap();
        std::fs::copy(&path, &backup).unwrap();
        let plan = [
            Erasure::Course {
                citizen: w.gone.id,
                team: w.team,
                course: w.course.course_id.unwrap(),
            },
            Erasure::Citizen {
                citizen: w.gone.id,
                team: w.team,
            },
        ];
        execute(
            store.as_ref(),
            w.municipality,
            &plan,
            None,
            AuditAction::ErasedRecordedInError,
            5_000,
        )
        .unwrap();
        (w, store.erasure_ledger().unwrap())
    };
    // The restore: the old file back, no WAL.
    std::fs::copy(&backup, &path).unwrap();
    for ext in ["sqlite3-wal", "sqlite3-shm"] {
        let _ = std::fs::remove_file(path.with_extension(ext));
    }
    let store = b.open();
    assert!(store.document_header(w.course.id).unwrap().is_some());
    assert!(store.erasure_ledger().unwrap().is_empty());
    let again = reapply(store.as_ref(), &ledger).unwrap();
    assert_eq!(again, ledger);
    for id in [w.course.id, w.log.id] {
        assert!(store.document_header(id).unwrap().is_none());
        assert!(store.is_erased(id).unwrap());
    }
    let roster = store.load_document(w.roster.id).unwrap().unwrap();
    let citizens = docs::read_citizens(&roster).unwrap();
    assert!(!citizens.contains_key(&w.gone.id.to_string()));
    assert!(citizens.contains_key(&w.kept.id.to_string()));
    assert_eq!(
        store.erasure_ledger().unwrap().len(),
        2,
        "written to the restored ledger again"
    );
    assert!(reapply(store.as_ref(), &ledger).unwrap().is_empty());
}

/// What the projector retries on (`Error::is_transient_conflict`), from PostgreSQL's own
/// answers: a deadlock PostgreSQL broke (40P01) and a serialization failure (40001) are
/// transient; a refused statement is not, and says its SQLSTATE.
#[test]
fn postgres_deadlocks_and_serialization_failures_are_transient_conflicts() {
    let Some(database) = Backend::postgres_alone() else {
        return;
    };
    let url = database.url();
    let connect = || ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    let mut setup = connect();
    setup
        .batch_execute(
            "CREATE TABLE conflict_probe (id INT PRIMARY KEY, n INT NOT NULL);
             INSERT INTO conflict_probe VALUES (1, 0), (2, 0);",
        )
        .unwrap();

    // A deadlock: each transaction holds one row and asks for the other's.
    let barrier = std::sync::Barrier::new(2);
    let answers: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = [(1, 2), (2, 1)]
            .into_iter()
            .map(|(first, second)| {
                let (barrier, mut client) = (&barrier, connect());
                s.spawn(move || -> Result<(), Error> {
                    let mut tx = client.transaction()?;
                    tx.execute(
                        "UPDATE conflict_probe SET n = n + 1 WHERE id = $1",
                        &[&first],
                    )?;
                    barrier.wait();
                    tx.execute(
                        "UPDATE conflict_probe SET n = n + 1 WHERE id = $1",
                        &[&second],
                    )?;
                    tx.commit()?;
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let broken: Vec<&Error> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert_eq!(
        broken.len(),
        1,
        "PostgreSQL breaks one of the two: {answers:?}"
    );
    assert!(broken[0].is_transient_conflict(), "{}", broken[0]);
    assert!(broken[0].to_string().contains("40P01"), "{}", broken[0]);

    // A serialization failure: two serializable transactions read what the other writes.
    let (mut a, mut b) = (connect(), connect());
    fn serializable(c: &mut ::postgres::Client) -> ::postgres::Transaction<'_> {
        c.build_transaction()
            .isolation_level(::postgres::IsolationLevel::Serializable)
            .start()
            .unwrap()
    }
    let mut ta = serializable(&mut a);
    let mut tb = serializable(&mut b);
    let sum = "SELECT SUM(n)::INT FROM conflict_probe";
    ta.query_one(sum, &[]).unwrap();
    tb.query_one(sum, &[]).unwrap();
    ta.execute("UPDATE conflict_probe SET n = 10 WHERE id = 1", &[])
        .unwrap();
    tb.execute("UPDATE conflict_probe SET n = 20 WHERE id = 2", &[])
        .unwrap();
    ta.commit().unwrap();
    let failed = Error::from(
        tb.commit()
            .expect_err("the second commit cannot be serialized"),
    );
    assert!(failed.is_transient_conflict(), "{failed}");
    assert!(failed.to_string().contains("40001"), "{failed}");

    // Anything else is not retried.
    let refused = Error::from(setup.batch_execute("SELEC 1").unwrap_err());
    assert!(!refused.is_transient_conflict(), "{refused}");
    assert!(refused.to_string().contains("42601"), "{refused}");
}

/// The BI feed's periods, through each backend's SQL: a course that starts on a period's first
/// or last day is in it and not in the days around; a session is in the Danish day it began —
/// one begun a millisecond before the next day's midnight (Danish time) is in the period, one
/// begun at that midnight is in the next.
fn the_bi_feed_takes_a_periods_first_and_last_day_and_sessions_by_the_danish_day(b: &Backend) {
    use homerehab_shared::evidence::targets::Period;
    use homerehab_shared::export::{period_instants, Cell, ExportTable};
    use homerehab_sync_server::auth::Passwords;
    use homerehab_sync_server::config::PasswordCost;
    let store = b.open();
    let now = homerehab_sync_server::store::now_ms();
    homerehab_sync_server::seed_evidence::seed_evidence(
        store.as_ref(),
        &Passwords::new(PasswordCost::Insecure),
        now,
    )
    .unwrap();
    while store.project_pending(256).unwrap().pending > 0 {}
    let teams: Vec<TeamId> = store.teams().unwrap().into_iter().map(|t| t.id).collect();
    let day = |d: time::Date| Period::new(d, d).unwrap();
    let year = homerehab_shared::schedule::date_of(now).year();
    let years = Period::new(
        time::Date::from_calendar_date(year - 2, time::Month::January, 1).unwrap(),
        time::Date::from_calendar_date(year, time::Month::December, 31).unwrap(),
    )
    .unwrap();
    let courses = store
        .export_rows(ExportTable::Courses, &teams, &years)
        .unwrap();
    let course = &courses[courses.len() / 2];
    let (Cell::Text(course_id), Cell::Text(start)) = (&course[0], &course[4]) else {
        panic!("{course:?}");
    };
    let start = homerehab_shared::model::parse_date(start).unwrap();
    let ids = |table, period: Period, column: usize| -> Vec<Cell> {
        store
            .export_rows(table, &teams, &period)
            .unwrap()
            .into_iter()
            .map(|r| r[column].clone())
            .collect()
    };
    let wanted = Cell::Text(course_id.clone());
    let (before, after) = (start.previous_day().unwrap(), start.next_day().unwrap());
    assert!(ids(ExportTable::Courses, day(start), 0).contains(&wanted));
    assert!(ids(ExportTable::Courses, Period::new(start, after).unwrap(), 0).contains(&wanted));
    assert!(ids(ExportTable::Courses, Period::new(before, start).unwrap(), 0).contains(&wanted));
    assert!(!ids(ExportTable::Courses, day(before), 0).contains(&wanted));
    assert!(!ids(ExportTable::Courses, day(after), 0).contains(&wanted));

    // Two sessions of that course, at the last millisecond of its first day and at the
    // next day's midnight, Danish time.
    let (_, midnight) = period_instants(&day(start));
    for (id, at) in [("s-last", midnight - 1), ("s-next", midnight)] {
        b.execute(
            &format!(
                "INSERT INTO rm_sessions (doc_id, session_id, course_id, performed_by, started_at, \
                 status, set_count) VALUES (x'00000000000000000000000000000001', '{id}', \
                 '{course_id}', 'u', {at}, 'completed', 0)"
            ),
            &format!(
                "INSERT INTO rm_sessions (doc_id, session_id, course_id, performed_by, started_at, \
                 status, set_count) VALUES ('00000000-0000-0000-0000-000000000001', '{id}', \
                 '{course_id}', 'u', {at}, 'completed', 0)"
            ),
        );
    }
    let (last, next) = (Cell::Text("s-last".into()), Cell::Text("s-next".into()));
    let on_start = ids(ExportTable::Sessions, day(start), 0);
    assert!(on_start.contains(&last) && !on_start.contains(&next));
    let on_after = ids(ExportTable::Sessions, day(after), 0);
    assert!(on_after.contains(&next) && !on_after.contains(&last));
}
