//! The device registry's SQL for SQLite (issue #14): `devices`, and the device of each token
//! and actor. The rules it serves are `homerehab_shared::device_registry`'s.

use super::documents::DEVICE_SELECT;
use super::{DeviceRecord, DeviceSignIn, Revocation};
use crate::error::Result;
use automerge::ActorId;
use homerehab_shared::device_registry::LAST_SEEN_RESOLUTION_MS;
use homerehab_shared::ids::{DeviceId, MunicipalityId, TeamId, UserId};
use homerehab_shared::model::Millis;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashSet;
use uuid::Uuid;

fn id_bytes(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

fn uuid_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let bytes: Vec<u8> = row.get(idx)?;
    Uuid::from_slice(&bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Blob, Box::new(e))
    })
}

/// Appended to the store's migrations. A token or actor from before the registry has no
/// device: it keeps working until it expires (tokens) and is never refused as a revoked
/// device's (actors).
pub(super) const MIGRATION: &str = r#"
CREATE TABLE devices (
    id             BLOB PRIMARY KEY,
    user_id        BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    app_version    TEXT NOT NULL,
    revoked_at     INTEGER,
    revoked_by     BLOB REFERENCES users(id),
    revoke_reason  TEXT,
    handed_over_at INTEGER
);
CREATE INDEX devices_user ON devices(user_id);
ALTER TABLE tokens ADD COLUMN device_id BLOB REFERENCES devices(id);
CREATE INDEX tokens_user ON tokens(user_id);
ALTER TABLE actors ADD COLUMN device_id BLOB REFERENCES devices(id);
"#;

/// Appended after [`MIGRATION`] (issue #14, the encrypted device store): the secret each user
/// gets for the device they sign in on, which wraps that device's data key there
/// (`homerehab_core::keys`). Kept in clear: the server must hand it out again; it opens
/// nothing without the device's files.
pub(super) const MIGRATION_KEY_SECRETS: &str = r#"
CREATE TABLE device_key_secrets (
    device_id  BLOB NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, user_id)
);
"#;

/// A device from a row of [`DEVICE_SELECT`], its columns in that order.
fn device_at(row: &Row<'_>) -> rusqlite::Result<DeviceRecord> {
    let revoked_at: Option<Millis> = row.get(9)?;
    let revocation = match revoked_at {
        None => None,
        Some(at) => Some(Revocation {
            at,
            by: UserId(uuid_at(row, 10)?),
            by_name: row.get::<_, Option<String>>(11)?.unwrap_or_default(),
            reason: row.get::<_, Option<String>>(12)?.unwrap_or_default(),
            handed_over_at: row.get(13)?,
        }),
    };
    Ok(DeviceRecord {
        id: DeviceId(uuid_at(row, 0)?),
        user: UserId(uuid_at(row, 1)?),
        username: row.get(2)?,
        display_name: row.get(3)?,
        team_id: TeamId(uuid_at(row, 4)?),
        municipality: Some(MunicipalityId(uuid_at(row, 5)?)),
        first_seen: row.get(6)?,
        last_seen: row.get(7)?,
        app_version: row.get(8)?,
        revocation,
    })
}

fn device_where(conn: &Connection, clause: &str, key: &[u8]) -> Result<Option<DeviceRecord>> {
    let sql = format!("{DEVICE_SELECT} WHERE {clause}");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([key], device_at)
        .optional()?)
}

/// [`super::DeviceRegistry::sign_in_device`].
pub(super) fn sign_in_device(conn: &mut Connection, s: &DeviceSignIn<'_>) -> Result<[u8; 32]> {
    // IMMEDIATE, as every SQLite transaction that writes (processes may share the file).
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let device = id_bytes(&s.device.0);
    tx.prepare_cached(
        "INSERT INTO devices (id, user_id, first_seen, last_seen, app_version)
             VALUES (?1, ?2, ?3, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET user_id = ?2, last_seen = ?3, app_version = ?4",
    )?
    .execute(params![device, id_bytes(&s.user.0), s.now, s.app_version])?;
    tx.prepare_cached("UPDATE actors SET device_id = ?2 WHERE actor_id = ?1")?
        .execute(params![s.actor.to_bytes(), device])?;
    tx.prepare_cached("DELETE FROM tokens WHERE expires_at <= ?1")?
        .execute([s.now])?;
    tx.prepare_cached(
        "INSERT INTO tokens (token_hash, user_id, created_at, expires_at, device_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        s.token_hash.as_slice(),
        id_bytes(&s.user.0),
        s.now,
        s.expires_at,
        device
    ])?;
    tx.prepare_cached(
        "INSERT INTO device_key_secrets (device_id, user_id, secret, created_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device_id, user_id) DO NOTHING",
    )?
    .execute(params![
        device,
        id_bytes(&s.user.0),
        s.new_key_secret.as_slice(),
        s.now
    ])?;
    let secret: Vec<u8> = tx
        .prepare_cached(
            "SELECT secret FROM device_key_secrets WHERE device_id = ?1 AND user_id = ?2",
        )?
        .query_row(params![device, id_bytes(&s.user.0)], |r| r.get(0))?;
    tx.commit()?;
    secret.try_into().map_err(|_| {
        crate::error::Error::Corrupt("a stored device key secret is not 32 bytes".into())
    })
}

pub(super) fn device(conn: &Connection, id: DeviceId) -> Result<Option<DeviceRecord>> {
    device_where(conn, "d.id = ?1", id_bytes(&id.0))
}

pub(super) fn device_of_token(
    conn: &Connection,
    token_hash: &[u8; 32],
) -> Result<Option<DeviceRecord>> {
    device_where(
        conn,
        "d.id = (SELECT device_id FROM tokens WHERE token_hash = ?1)",
        token_hash.as_slice(),
    )
}

pub(super) fn touch_device(conn: &Connection, id: DeviceId, now: Millis) -> Result<()> {
    conn.prepare_cached("UPDATE devices SET last_seen = ?2 WHERE id = ?1 AND last_seen <= ?3")?
        .execute(params![
            id_bytes(&id.0),
            now,
            now.saturating_sub(LAST_SEEN_RESOLUTION_MS)
        ])?;
    Ok(())
}

pub(super) fn devices_of_municipality(
    conn: &Connection,
    municipality: MunicipalityId,
) -> Result<Vec<DeviceRecord>> {
    let sql = format!(
        "{DEVICE_SELECT}
             WHERE t.municipality_id = ?1 ORDER BY d.last_seen DESC, d.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let devices = stmt
        .query_map([id_bytes(&municipality.0)], device_at)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(devices)
}

pub(super) fn revoke_device(
    conn: &Connection,
    id: DeviceId,
    by: UserId,
    reason: &str,
    now: Millis,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE devices SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4
             WHERE id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![id_bytes(&id.0), now, id_bytes(&by.0), reason])?
        == 1)
}

pub(super) fn close_handover(conn: &Connection, id: DeviceId, now: Millis) -> Result<()> {
    conn.prepare_cached(
        "UPDATE devices SET handed_over_at = ?2
             WHERE id = ?1 AND revoked_at IS NOT NULL AND handed_over_at IS NULL",
    )?
    .execute(params![id_bytes(&id.0), now])?;
    Ok(())
}

pub(super) fn end_tokens_of(conn: &Connection, user: UserId) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM tokens WHERE user_id = ?1")?
        .execute([id_bytes(&user.0)])?)
}

pub(super) fn actors_for_sync(
    conn: &Connection,
    user: UserId,
    device: Option<DeviceId>,
    among: &[ActorId],
) -> Result<HashSet<ActorId>> {
    // One look-up by key per actor: a sync's changes name one or two.
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM actors a LEFT JOIN devices d ON d.id = a.device_id
             WHERE a.actor_id = ?1 AND a.user_id = ?2 AND (d.revoked_at IS NULL OR d.id = ?3)",
    )?;
    let device = device.map(|d| d.0.as_bytes().to_vec());
    let mut registered = HashSet::new();
    for actor in among {
        if stmt.exists(params![actor.to_bytes(), id_bytes(&user.0), device])? {
            registered.insert(actor.clone());
        }
    }
    Ok(registered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AccountStore, DeviceRegistry, NewUser, SqliteStore};
    use homerehab_shared::device_registry::{DeviceAccess, HANDOVER_WINDOW_MS};
    use homerehab_shared::model::Role;

    fn user(store: &SqliteStore, team: TeamId, name: &str, role: Role) -> UserId {
        store
            .create_user(&NewUser {
                username: name.into(),
                display_name: format!("{name} Hansen"),
                password_hash: "x".into(),
                role,
                team_id: team,
                granted_teams: vec![],
            })
            .unwrap()
    }

    fn sign_in(
        store: &SqliteStore,
        device: DeviceId,
        user: UserId,
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
                expires_at: now + 3_600_000,
                now,
            })
            .unwrap();
    }

    #[test]
    fn a_revoked_devices_actors_write_only_in_its_own_hand_over_and_contact_is_kept_to_the_minute()
    {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let m = store.ensure_municipality("Thisted").unwrap();
        let other = store.ensure_municipality("Haderslev").unwrap();
        let team = store.ensure_team(m, "Nord").unwrap();
        let far = store.ensure_team(other, "Syd").unwrap();
        let mette = user(&store, team, "mette", Role::Assistant);
        let leader = user(&store, team, "lis", Role::Leader);
        let stranger = user(&store, far, "sten", Role::Assistant);
        let (tablet, laptop) = (DeviceId::new(), DeviceId::new());
        let (a1, a2) = (ActorId::random(), ActorId::random());
        let t0 = 1_000_000;
        sign_in(&store, tablet, mette, &a1, 1, t0);
        sign_in(&store, laptop, mette, &a2, 2, t0);
        sign_in(&store, DeviceId::new(), stranger, &ActorId::random(), 3, t0);

        let listed = store.devices_of_municipality(m).unwrap();
        assert_eq!(
            listed.len(),
            2,
            "the other municipality's device is not listed"
        );
        assert!(listed
            .iter()
            .all(|d| d.username == "mette" && d.app_version == "1.2.3"));
        let holder = store.token_holder(&[1; 32]).unwrap().unwrap();
        assert_eq!(holder.device.unwrap().id, tablet);
        assert!(store.token_holder(&[9; 32]).unwrap().is_none());

        // Contact within the minute is not written; after it, it is.
        store.touch_device(tablet, t0 + 30_000).unwrap();
        assert_eq!(store.device(tablet).unwrap().unwrap().last_seen, t0);
        store.touch_device(tablet, t0 + 61_000).unwrap();
        assert_eq!(
            store.device(tablet).unwrap().unwrap().last_seen,
            t0 + 61_000
        );

        assert!(store
            .revoke_device(tablet, leader, "Tabt i bussen", t0 + 70_000)
            .unwrap());
        assert!(
            !store
                .revoke_device(tablet, leader, "again", t0 + 80_000)
                .unwrap(),
            "the first stands"
        );
        let revoked = store.device(tablet).unwrap().unwrap();
        let r = revoked.revocation.clone().unwrap();
        assert_eq!(
            (r.by_name.as_str(), r.reason.as_str(), r.handed_over_at),
            ("lis Hansen", "Tabt i bussen", None)
        );
        assert_eq!(revoked.access(t0 + 80_000), DeviceAccess::HandOver);
        assert_eq!(
            revoked.access(r.at + HANDOVER_WINDOW_MS),
            DeviceAccess::Closed
        );

        // The tablet's actor writes in the tablet's own hand-over only.
        let among = [a1.clone(), a2.clone()];
        let on_tablet = store.actors_for_sync(mette, Some(tablet), &among).unwrap();
        let on_laptop = store.actors_for_sync(mette, Some(laptop), &among).unwrap();
        assert_eq!(on_tablet, HashSet::from([a1.clone(), a2.clone()]));
        assert_eq!(on_laptop, HashSet::from([a2.clone()]));

        store.close_handover(tablet, t0 + 90_000).unwrap();
        let closed = store.device(tablet).unwrap().unwrap();
        assert_eq!(closed.access(t0 + 90_001), DeviceAccess::Closed);

        // Sign out everywhere ends both of Mette's tokens and no one else's.
        assert_eq!(store.end_tokens_of(mette).unwrap(), 2);
        assert!(store.user_by_token(&[1; 32]).unwrap().is_none());
        assert!(store.user_by_token(&[3; 32]).unwrap().is_some());
        assert_eq!(
            store.user_by_id(stranger).unwrap().unwrap().user.username,
            "sten"
        );
    }
}
