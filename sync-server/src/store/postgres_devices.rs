//! The device registry's SQL for PostgreSQL (issue #14): `devices`, and the device of each
//! token and actor. Statement for statement the SQLite registry's (`sqlite_devices`); the rules
//! it serves are `homerehab_shared::device_registry`'s.

use super::documents::DEVICE_SELECT;
use super::{DeviceRecord, DeviceSignIn, Revocation};
use crate::error::Result;
use automerge::ActorId;
use homerehab_shared::device_registry::LAST_SEEN_RESOLUTION_MS;
use homerehab_shared::ids::{DeviceId, MunicipalityId, TeamId, UserId};
use homerehab_shared::model::Millis;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Row};
use std::collections::HashSet;
use uuid::Uuid;

/// Appended to the PostgreSQL migrations. A token or actor from before the registry has no
/// device: it keeps working until it expires (tokens) and is never refused as a revoked
/// device's (actors).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE devices (
    id             UUID PRIMARY KEY,
    user_id        UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    first_seen     BIGINT NOT NULL,
    last_seen      BIGINT NOT NULL,
    app_version    TEXT NOT NULL,
    revoked_at     BIGINT,
    revoked_by     UUID REFERENCES users(id),
    revoke_reason  TEXT,
    handed_over_at BIGINT
);
CREATE INDEX devices_user ON devices(user_id);
ALTER TABLE tokens ADD COLUMN device_id UUID REFERENCES devices(id);
CREATE INDEX tokens_user ON tokens(user_id);
ALTER TABLE actors ADD COLUMN device_id UUID REFERENCES devices(id);
"#;

/// Appended after [`SCHEMA`]: the secret each user gets for the device they sign in on
/// (`sqlite_devices::MIGRATION_KEY_SECRETS` says why).
pub(super) const KEY_SECRETS: &str = r#"
CREATE TABLE device_key_secrets (
    device_id  UUID NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret     BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, user_id)
);
"#;

/// A device from a row of [`DEVICE_SELECT`], its columns in that order.
fn device_at(row: &Row) -> Result<DeviceRecord> {
    device_at_from(row, 0)
}

/// A device from [`DEVICE_SELECT`]'s columns in a row, the first at `at`.
pub(super) fn device_at_from(row: &Row, at: usize) -> Result<DeviceRecord> {
    let revoked_at: Option<Millis> = row.try_get(at + 9)?;
    let revocation = match revoked_at {
        None => None,
        Some(when) => Some(Revocation {
            at: when,
            by: UserId(row.try_get::<_, Uuid>(at + 10)?),
            by_name: row
                .try_get::<_, Option<String>>(at + 11)?
                .unwrap_or_default(),
            reason: row
                .try_get::<_, Option<String>>(at + 12)?
                .unwrap_or_default(),
            handed_over_at: row.try_get(at + 13)?,
        }),
    };
    Ok(DeviceRecord {
        id: DeviceId(row.try_get(at)?),
        user: UserId(row.try_get(at + 1)?),
        username: row.try_get(at + 2)?,
        display_name: row.try_get(at + 3)?,
        team_id: TeamId(row.try_get(at + 4)?),
        municipality: Some(MunicipalityId(row.try_get(at + 5)?)),
        first_seen: row.try_get(at + 6)?,
        last_seen: row.try_get(at + 7)?,
        app_version: row.try_get(at + 8)?,
        revocation,
    })
}

fn device_where(
    client: &mut impl GenericClient,
    clause: &str,
    key: &(dyn ToSql + Sync),
) -> Result<Option<DeviceRecord>> {
    let sql = format!("{DEVICE_SELECT} WHERE {clause}");
    client
        .query_opt(&sql, &[key])?
        .map(|row| device_at(&row))
        .transpose()
}

pub(super) fn sign_in_device(
    client: &mut impl GenericClient,
    s: &DeviceSignIn<'_>,
) -> Result<[u8; 32]> {
    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO devices (id, user_id, first_seen, last_seen, app_version)
             VALUES ($1, $2, $3, $3, $4)
             ON CONFLICT (id) DO UPDATE SET user_id = $2, last_seen = $3, app_version = $4",
        &[&s.device.0, &s.user.0, &s.now, &s.app_version],
    )?;
    tx.execute(
        "UPDATE actors SET device_id = $2 WHERE actor_id = $1",
        &[&s.actor.to_bytes(), &s.device.0],
    )?;
    tx.execute("DELETE FROM tokens WHERE expires_at <= $1", &[&s.now])?;
    tx.execute(
        "INSERT INTO tokens (token_hash, user_id, created_at, expires_at, device_id)
             VALUES ($1, $2, $3, $4, $5)",
        &[
            &s.token_hash.as_slice(),
            &s.user.0,
            &s.now,
            &s.expires_at,
            &s.device.0,
        ],
    )?;
    tx.execute(
        "INSERT INTO device_key_secrets (device_id, user_id, secret, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (device_id, user_id) DO NOTHING",
        &[&s.device.0, &s.user.0, &s.new_key_secret.as_slice(), &s.now],
    )?;
    let secret: Vec<u8> = tx
        .query_one(
            "SELECT secret FROM device_key_secrets WHERE device_id = $1 AND user_id = $2",
            &[&s.device.0, &s.user.0],
        )?
        .try_get(0)?;
    tx.commit()?;
    secret.try_into().map_err(|_| {
        crate::error::Error::Corrupt("a stored device key secret is not 32 bytes".into())
    })
}

pub(super) fn device(
    client: &mut impl GenericClient,
    id: DeviceId,
) -> Result<Option<DeviceRecord>> {
    device_where(client, "d.id = $1", &id.0)
}

/// Read with every request a device makes: prepared once per connection (planning this join
/// afresh was the database's largest cost in a reconnect burst).
pub(super) fn touch_device(
    client: &mut impl GenericClient,
    id: DeviceId,
    now: Millis,
) -> Result<()> {
    client.execute(
        "UPDATE devices SET last_seen = $2 WHERE id = $1 AND last_seen <= $3",
        &[&id.0, &now, &now.saturating_sub(LAST_SEEN_RESOLUTION_MS)],
    )?;
    Ok(())
}

pub(super) fn devices_of_municipality(
    client: &mut impl GenericClient,
    municipality: MunicipalityId,
) -> Result<Vec<DeviceRecord>> {
    let sql = format!(
        "{DEVICE_SELECT}
             WHERE t.municipality_id = $1 ORDER BY d.last_seen DESC, d.id"
    );
    client
        .query(&sql, &[&municipality.0])?
        .iter()
        .map(device_at)
        .collect()
}

pub(super) fn revoke_device(
    client: &mut impl GenericClient,
    id: DeviceId,
    by: UserId,
    reason: &str,
    now: Millis,
) -> Result<bool> {
    Ok(client.execute(
        "UPDATE devices SET revoked_at = $2, revoked_by = $3, revoke_reason = $4
             WHERE id = $1 AND revoked_at IS NULL",
        &[&id.0, &now, &by.0, &reason],
    )? == 1)
}

pub(super) fn close_handover(
    client: &mut impl GenericClient,
    id: DeviceId,
    now: Millis,
) -> Result<()> {
    client.execute(
        "UPDATE devices SET handed_over_at = $2
             WHERE id = $1 AND revoked_at IS NOT NULL AND handed_over_at IS NULL",
        &[&id.0, &now],
    )?;
    Ok(())
}

pub(super) fn end_tokens_of(client: &mut impl GenericClient, user: UserId) -> Result<usize> {
    Ok(client.execute("DELETE FROM tokens WHERE user_id = $1", &[&user.0])? as usize)
}

pub(super) fn actors_for_sync(
    conn: &mut super::postgres_pool::PreparedClient,
    user: UserId,
    device: Option<DeviceId>,
    among: &[ActorId],
) -> Result<HashSet<ActorId>> {
    let device: Option<Uuid> = device.map(|d| d.0);
    // Every sync that brings changes asks, about the one or two actors they name: one key
    // look-up each, prepared. A scalar key, not `= ANY($3)`: PostgreSQL planned the array
    // form afresh at every call (105 plans for 100 calls in a burst).
    let mut registered = HashSet::new();
    for actor in among {
        let found = conn.query_prepared_opt(
            "SELECT 1 FROM actors a LEFT JOIN devices d ON d.id = a.device_id
                 WHERE a.actor_id = $3 AND a.user_id = $1 AND (d.revoked_at IS NULL OR d.id = $2)",
            &[
                (&user.0, Type::UUID),
                (&device, Type::UUID),
                (&actor.to_bytes(), Type::BYTEA),
            ],
        )?;
        if found.is_some() {
            registered.insert(actor.clone());
        }
    }
    Ok(registered)
}
