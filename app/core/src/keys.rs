//! The device store's data key and the slots that wrap it (issue #14, item 1).
//!
//! The database (SQLCipher) and the media files are encrypted with one random 256-bit
//! [`DataKey`] per device store. It is never written in clear: [`KeyFile`]
//! (`homerehab.keys`, beside the database, unencrypted) holds it *wrapped*
//! (XChaCha20-Poly1305) by
//! - the **PIN slot**: a key derived from the PIN with argon2id at [`crate::lock`]'s cost,
//!   so the app opens offline after a restart;
//! - one **server slot per user**: a 256-bit secret the server keeps for this user and
//!   device and hands out only at an online sign-in, so a forgotten PIN (or five wrong ones)
//!   is recovered by signing in online, and nothing on the device alone opens it.
//!
//! An OS keystore slot is where a platform offers one (Android Keystore, iOS Keychain);
//! Linux desktops have none that is always there, so none is written — see
//! docs/security.md. Nothing in the file reveals the key without the PIN or a server
//! secret: every slot's tag is checked, and its associated data binds it to this device and
//! its kind, so a slot copied from another device or moved to another kind does not open.
//!
//! Pure but for reading and writing the file itself; the store does the SQL
//! (`store::encryption`).

use crate::error::{CoreError, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use homerehab_shared::ids::{DeviceId, UserId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// The key file's name, beside the database.
pub const KEY_FILE: &str = "homerehab.keys";

/// The store's 256-bit data key. Zeroed when dropped; never printed.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(withheld)")
    }
}

impl DataKey {
    pub fn random() -> DataKey {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        DataKey(key)
    }

    /// SQLCipher's raw-key form, `x'…'`: the key is used as it is, without SQLCipher's own
    /// PBKDF2 (it is random already; the PIN's cost is paid once, by argon2id). Public for
    /// tools that open the file themselves (`PRAGMA key`), such as tests playing another
    /// writer.
    pub fn sqlcipher_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex::encode(self.0.as_ref())))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The secret the server holds for one user on this device (`LoginResponse::device_secret`).
#[derive(Clone)]
pub struct ServerSecret(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(withheld)")
    }
}

impl ServerSecret {
    /// From the 64 hex characters the server sends.
    pub fn from_hex(hex_str: &str) -> Result<ServerSecret> {
        let mut out = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_str, out.as_mut()).map_err(|_| {
            CoreError::Protocol("the server's device key secret is not 64 hex characters".into())
        })?;
        Ok(ServerSecret(out))
    }
}

/// One wrapped copy of the data key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// 24 bytes, hex.
    nonce: String,
    /// The data key encrypted, with its 16-byte tag, hex.
    wrapped: String,
}

/// The PIN slot: the data key wrapped by argon2id(PIN, salt) at the stored cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinSlot {
    /// argon2id memory in KiB, passes and lanes, kept so a later cost change still opens it.
    m_kib: u32,
    t: u32,
    p: u32,
    /// 16 bytes, hex.
    salt: String,
    slot: Slot,
}

/// `homerehab.keys`: the wrapped data key and what must be known before the database opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    pub version: u32,
    /// The device's id (also in the database's `meta`): an online sign-in names the device
    /// before the database can be read. Not secret: the server lists it.
    pub device_id: DeviceId,
    pub pin: Option<PinSlot>,
    /// Wrong PINs in a row since the last right one. Here, not in the database, because it is
    /// counted while the database cannot be read.
    #[serde(default)]
    pub pin_failures: u32,
    /// By user id (a shared tablet: each user who signed in here).
    #[serde(default)]
    pub server: BTreeMap<UserId, Slot>,
}

fn aad(kind: &str, device: DeviceId) -> Vec<u8> {
    format!("homerehab data key v1|{kind}|{device}").into_bytes()
}

fn seal(kek: &[u8; 32], key: &DataKey, aad: &[u8]) -> Slot {
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(kek.into());
    let wrapped = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: key.bytes(),
                aad,
            },
        )
        .expect("a 32-byte message always encrypts");
    Slot {
        nonce: hex::encode(nonce),
        wrapped: hex::encode(wrapped),
    }
}

/// The key in `slot`, or `None` if `kek` is not the one it was wrapped with (or the slot was
/// altered).
fn open(kek: &[u8; 32], slot: &Slot, aad: &[u8]) -> Option<DataKey> {
    let nonce = hex::decode(&slot.nonce).ok().filter(|n| n.len() == 24)?;
    let wrapped = hex::decode(&slot.wrapped).ok()?;
    let plain = Zeroizing::new(
        XChaCha20Poly1305::new(kek.into())
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &wrapped, aad })
            .ok()?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return None;
    }
    key.copy_from_slice(&plain);
    Some(DataKey(key))
}

fn pin_kek(pin: &str, salt: &[u8], m_kib: u32, t: u32, p: u32) -> Result<Zeroizing<[u8; 32]>> {
    let params = argon2::Params::new(m_kib, t, p, Some(32))
        .map_err(|e| CoreError::Corrupt(format!("the PIN slot's cost: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(pin.as_bytes(), salt, out.as_mut())
        .map_err(|e| CoreError::Corrupt(format!("the PIN slot: {e}")))?;
    Ok(out)
}

/// The most memory a PIN slot may ask for (a damaged or crafted file must not allocate GiBs).
const MAX_PIN_SLOT_KIB: u32 = 256 * 1024;

impl KeyFile {
    pub fn new(device_id: DeviceId) -> KeyFile {
        KeyFile {
            version: 1,
            device_id,
            pin: None,
            pin_failures: 0,
            server: BTreeMap::new(),
        }
    }

    /// Wraps `key` with the PIN (validated) as the PIN slot, replacing any earlier one.
    pub fn set_pin(&mut self, key: &DataKey, pin: &str) -> Result<()> {
        crate::lock::validate_pin(pin)?;
        let (m_kib, t, p) = crate::lock::PIN_COST;
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let kek = pin_kek(pin, &salt, m_kib, t, p)?;
        self.pin = Some(PinSlot {
            m_kib,
            t,
            p,
            salt: hex::encode(salt),
            slot: seal(&kek, key, &aad("pin", self.device_id)),
        });
        self.pin_failures = 0;
        Ok(())
    }

    /// The data key if `pin` opens the PIN slot; `None` for a wrong PIN (or no slot).
    pub fn open_with_pin(&self, pin: &str) -> Result<Option<DataKey>> {
        let Some(slot) = &self.pin else {
            return Ok(None);
        };
        if slot.m_kib > MAX_PIN_SLOT_KIB {
            return Err(CoreError::Corrupt(
                "the PIN slot asks for too much memory".into(),
            ));
        }
        let salt = hex::decode(&slot.salt)
            .map_err(|_| CoreError::Corrupt("the PIN slot's salt".into()))?;
        let kek = pin_kek(pin, &salt, slot.m_kib, slot.t, slot.p)?;
        Ok(open(&kek, &slot.slot, &aad("pin", self.device_id)))
    }

    /// Wraps `key` for `user`'s server secret, replacing that user's earlier slot.
    pub fn set_server(&mut self, key: &DataKey, user: UserId, secret: &ServerSecret) {
        let slot = seal(
            &secret.0,
            key,
            &aad(&format!("server {user}"), self.device_id),
        );
        self.server.insert(user, slot);
    }

    /// The data key if `user` has a slot here and `secret` opens it.
    pub fn open_with_server(&self, user: UserId, secret: &ServerSecret) -> Option<DataKey> {
        let slot = self.server.get(&user)?;
        open(
            &secret.0,
            slot,
            &aad(&format!("server {user}"), self.device_id),
        )
    }

    /// Reads the file in `folder`, if there is one. A file that cannot be read is reported,
    /// never replaced (it may be the only way to the data).
    pub fn read(folder: &Path) -> Result<Option<KeyFile>> {
        Self::read_from(&folder.join(KEY_FILE))
    }

    /// [`KeyFile::read`] of another name (a support export's copy).
    pub fn read_from(path: &Path) -> Result<Option<KeyFile>> {
        let path = path.to_path_buf();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CoreError::Folder(format!("{}: {e}", path.display()))),
        };
        let file: KeyFile = serde_json::from_slice(&bytes)
            .map_err(|e| CoreError::Corrupt(format!("{}: {e}", path.display())))?;
        if file.version == 0 {
            return Err(CoreError::Corrupt(format!(
                "{}: no version 0 was ever written",
                path.display()
            )));
        }
        if file.version > 1 {
            return Err(CoreError::AppTooOld(format!(
                "{} is of version {}, this app knows version 1",
                path.display(),
                file.version
            )));
        }
        Ok(Some(file))
    }

    /// Written whole or not at all: a temporary file, synced, renamed over the old one, the
    /// folder synced.
    pub fn write(&self, folder: &Path) -> Result<()> {
        self.write_to(&folder.join(KEY_FILE))
    }

    /// [`KeyFile::write`] to another name (a support export's copy).
    pub fn write_to(&self, path: &Path) -> Result<()> {
        let folder = path.parent().unwrap_or(Path::new("."));
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp_name);
        let bytes = serde_json::to_vec_pretty(self).expect("a key file serializes");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            std::fs::File::open(folder)?.sync_all()
        };
        write().map_err(|e| CoreError::Folder(format!("{}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(b: u8) -> ServerSecret {
        ServerSecret::from_hex(&hex::encode([b; 32])).unwrap()
    }

    #[test]
    fn each_slot_opens_with_its_own_secret_only() {
        let key = DataKey::random();
        let device = DeviceId::new();
        let (alice, bob) = (UserId::new(), UserId::new());
        let mut file = KeyFile::new(device);
        file.set_pin(&key, "2468").unwrap();
        file.set_server(&key, alice, &secret(7));
        let got = file.open_with_pin("2468").unwrap().unwrap();
        assert_eq!(got.bytes(), key.bytes());
        assert!(file.open_with_pin("2469").unwrap().is_none());
        let got = file.open_with_server(alice, &secret(7)).unwrap();
        assert_eq!(got.bytes(), key.bytes());
        assert!(file.open_with_server(alice, &secret(8)).is_none());
        assert!(file.open_with_server(bob, &secret(7)).is_none(), "no slot");
        // Alice's slot moved to Bob does not open for Bob with Alice's secret.
        let mut moved = file.clone();
        let slot = moved.server.remove(&alice).unwrap();
        moved.server.insert(bob, slot);
        assert!(moved.open_with_server(bob, &secret(7)).is_none());
        // Nor does the file on another device.
        let mut other = file.clone();
        other.device_id = DeviceId::new();
        assert!(other.open_with_pin("2468").unwrap().is_none());
    }

    #[test]
    fn the_file_holds_no_key_pin_or_secret_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let key = DataKey::random();
        let mut file = KeyFile::new(DeviceId::new());
        file.set_pin(&key, "135790").unwrap();
        file.set_server(&key, UserId::new(), &secret(9));
        file.write(dir.path()).unwrap();
        let bytes = std::fs::read(dir.path().join(KEY_FILE)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&hex::encode(key.bytes())));
        assert!(!text.contains("135790"));
        assert!(!text.contains(&hex::encode([9u8; 32])));
        assert!(bytes.windows(32).all(|w| w != key.bytes()));
        assert_eq!(KeyFile::read(dir.path()).unwrap().unwrap(), file);
        assert!(format!("{key:?}{:?}", secret(9)).contains("withheld"));
    }

    #[test]
    fn a_damaged_or_greedy_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"{not json").unwrap();
        assert!(matches!(
            KeyFile::read(dir.path()),
            Err(CoreError::Corrupt(_))
        ));
        let key = DataKey::random();
        let mut file = KeyFile::new(DeviceId::new());
        file.set_pin(&key, "2468").unwrap();
        file.pin.as_mut().unwrap().m_kib = u32::MAX;
        assert!(matches!(
            file.open_with_pin("2468"),
            Err(CoreError::Corrupt(_))
        ));
        assert!(ServerSecret::from_hex("abc").is_err());
        assert!(KeyFile::read(&dir.path().join("none")).unwrap().is_none());
    }

    /// A key file a newer app wrote (an update taken back) is said to be newer, not damaged:
    /// told "damaged", IT resets the tablet and its unsent work with it.
    #[test]
    fn a_newer_key_file_says_the_app_is_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = KeyFile::new(DeviceId::new());
        file.version = 2;
        file.write(dir.path()).unwrap();
        let e = KeyFile::read(dir.path()).unwrap_err();
        assert!(matches!(e, CoreError::AppTooOld(_)), "{e}");
        assert!(e
            .to_string()
            .contains("nothing on this device was changed or deleted"));
    }
}
