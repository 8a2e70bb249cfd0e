//! Photos and videos encrypted at rest with the store's data key (issue #14, item 1).
//!
//! A media file is a sequence of records, each the plain length (u32, little-endian), a
//! 24-byte nonce, and the ciphertext with its 16-byte tag: XChaCha20-Poly1305 with the file's
//! name (its SHA-256) and the record's number as associated data, so records cannot be
//! swapped, reordered or moved to another file unnoticed. Records let a download be resumed
//! where it broke off (a torn last record is cut away) and a video be hashed without holding
//! it in memory.

use crate::keys::DataKey;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The most plain bytes in one record.
pub const RECORD: usize = 64 * 1024;
const HEADER: usize = 4 + 24;
const TAG: usize = 16;

fn aad(name: &str, index: u64) -> Vec<u8> {
    format!("homerehab media v1|{name}|{index}").into_bytes()
}

fn cipher(key: &DataKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.bytes().into())
}

/// `plain` (at most [`RECORD`] bytes) as record number `index` of the file `name`.
fn seal_record(key: &DataKey, name: &str, index: u64, plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher(key)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: &aad(name, index),
            },
        )
        .expect("a record encrypts");
    let mut out = Vec::with_capacity(HEADER + sealed.len());
    out.extend_from_slice(&(plain.len() as u32).to_le_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// `plain` as records numbered from `first`: the bytes to append, and the next number.
pub fn seal(key: &DataKey, name: &str, first: u64, plain: &[u8]) -> (Vec<u8>, u64) {
    let mut out = Vec::with_capacity(plain.len() + plain.len() / RECORD * (HEADER + TAG) + 64);
    let mut index = first;
    for chunk in plain.chunks(RECORD) {
        out.extend(seal_record(key, name, index, chunk));
        index += 1;
    }
    (out, index)
}

/// Reads the records of `path` in order, handing each one's plain bytes to `each`. Stops at
/// the first record that is torn or does not open; returns (plain bytes, records, the byte
/// offset where the good records end, whether the whole file was good).
fn read_records(
    path: &Path,
    key: &DataKey,
    name: &str,
    mut each: impl FnMut(&[u8]),
) -> std::io::Result<(u64, u64, u64, bool)> {
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    let cipher = cipher(key);
    let (mut plain_len, mut index, mut offset) = (0u64, 0u64, 0u64);
    let mut header = [0u8; HEADER];
    loop {
        match file.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                // Clean end, or a torn header (then the file is longer than `offset`).
                let whole = file.stream_position()? == offset;
                return Ok((plain_len, index, offset, whole));
            }
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        if len > RECORD {
            return Ok((plain_len, index, offset, false));
        }
        let mut sealed = vec![0u8; len + TAG];
        if file.read_exact(&mut sealed).is_err() {
            return Ok((plain_len, index, offset, false));
        }
        let Ok(plain) = cipher.decrypt(
            XNonce::from_slice(&header[4..]),
            Payload {
                msg: &sealed,
                aad: &aad(name, index),
            },
        ) else {
            return Ok((plain_len, index, offset, false));
        };
        each(&plain);
        plain_len += plain.len() as u64;
        index += 1;
        offset += (HEADER + sealed.len()) as u64;
    }
}

/// Where a download into `path` resumes: the plain bytes and records held, after cutting away
/// a torn or damaged tail. A missing file holds nothing.
pub fn resume_point(path: &Path, key: &DataKey, name: &str) -> std::io::Result<(u64, u64)> {
    if !path.exists() {
        return Ok((0, 0));
    }
    let (plain, records, good_until, whole) = read_records(path, key, name, |_| {})?;
    if !whole {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(good_until)?;
    }
    Ok((plain, records))
}

/// The SHA-256 (hex) of the plain bytes of `path`, or `None` if any record does not open.
pub fn plain_sha256(path: &Path, key: &DataKey, name: &str) -> std::io::Result<Option<String>> {
    let mut hasher = Sha256::new();
    let (_, _, _, whole) = read_records(path, key, name, |p| hasher.update(p))?;
    Ok(whole.then(|| hex::encode(hasher.finalize())))
}

/// The whole plain content of `path`; an error if any record does not open.
pub fn read_plain(path: &Path, key: &DataKey, name: &str) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let (_, _, _, whole) = read_records(path, key, name, |p| out.extend_from_slice(p))?;
    if whole {
        Ok(out)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the media file is damaged or not this device's",
        ))
    }
}

/// The plain length of `path`, from its records' headers alone (nothing decrypted).
pub fn plain_len(path: &Path) -> std::io::Result<u64> {
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut header = [0u8; HEADER];
    let mut total = 0u64;
    loop {
        match file.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(total),
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as u64;
        total += len;
        file.seek_relative((len as usize + TAG) as i64)?;
    }
}

/// The plain bytes `start..=end` of `path`: only the records that hold them are read and
/// decrypted (the others' headers are stepped over), so a video's range costs its own size,
/// not the file's. An error if a record needed does not open or the range is past the end.
pub fn read_plain_range(
    path: &Path,
    key: &DataKey,
    name: &str,
    start: u64,
    end: u64,
) -> std::io::Result<Vec<u8>> {
    let damaged = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the media file is damaged or not this device's",
        )
    };
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    let cipher = cipher(key);
    let mut out = Vec::with_capacity((end.saturating_sub(start) + 1).min(1 << 24) as usize);
    let (mut at, mut index) = (0u64, 0u64);
    let mut header = [0u8; HEADER];
    while at <= end {
        file.read_exact(&mut header).map_err(|_| damaged())?;
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        if len > RECORD {
            return Err(damaged());
        }
        let record_end = at + len as u64; // exclusive
        if record_end <= start {
            file.seek_relative((len + TAG) as i64)?;
        } else {
            let mut sealed = vec![0u8; len + TAG];
            file.read_exact(&mut sealed).map_err(|_| damaged())?;
            let plain = cipher
                .decrypt(
                    XNonce::from_slice(&header[4..]),
                    Payload {
                        msg: &sealed,
                        aad: &aad(name, index),
                    },
                )
                .map_err(|_| damaged())?;
            let from = start.saturating_sub(at) as usize;
            let to = ((end + 1).min(record_end) - at) as usize;
            out.extend_from_slice(&plain[from..to]);
        }
        at = record_end;
        index += 1;
    }
    Ok(out)
}

/// Writes `plain` whole as the encrypted file `path` (a temporary name of its own, then
/// renamed). Not `<name>.part`: that is a download's, which a prefetch round resumes and may
/// cut short while this is being written.
pub fn write_whole(path: &Path, key: &DataKey, name: &str, plain: &[u8]) -> std::io::Result<()> {
    let (sealed, _) = seal(key, name, 0, plain);
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".keep-{}", uuid::Uuid::new_v4().simple()));
    let tmp = std::path::PathBuf::from(tmp_name);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&sealed)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_resume_after_a_tear_and_refuse_another_key_or_name() {
        let dir = tempfile::tempdir().unwrap();
        let key = DataKey::random();
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let name = hex::encode(Sha256::digest(&plain));
        let path = dir.path().join(&name);
        // A download of the same file in progress keeps its `.part`: the uploader's copy is
        // written under a name of its own.
        let part = dir.path().join(format!("{name}.part"));
        std::fs::write(&part, b"a download's first record").unwrap();
        write_whole(&path, &key, &name, &plain).unwrap();
        assert_eq!(std::fs::read(&part).unwrap(), b"a download's first record");
        std::fs::remove_file(&part).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        let on_disk = std::fs::read(&path).unwrap();
        assert!(!on_disk
            .windows(64)
            .any(|w| plain.windows(64).take(1000).any(|p| p == w)));
        assert_eq!(read_plain(&path, &key, &name).unwrap(), plain);
        // Ranges read only their records, across record boundaries and at the ends.
        assert_eq!(plain_len(&path).unwrap(), plain.len() as u64);
        let last = plain.len() as u64 - 1;
        for (a, b) in [
            (0, 0),
            (0, last),
            (65_535, 65_536),
            (70_000, 140_000),
            (last, last),
        ] {
            assert_eq!(
                read_plain_range(&path, &key, &name, a, b).unwrap(),
                plain[a as usize..=b as usize],
                "{a}-{b}"
            );
        }
        assert!(read_plain_range(&path, &key, &name, last, last + 1).is_err());
        assert!(read_plain_range(&path, &DataKey::random(), &name, 0, 10).is_err());
        assert_eq!(
            plain_sha256(&path, &key, &name).unwrap(),
            Some(name.clone())
        );
        assert!(read_plain(&path, &DataKey::random(), &name).is_err());
        assert!(read_plain(&path, &key, "another").is_err());
        // A download torn in its third record resumes after the second.
        let part = dir.path().join("x.part");
        std::fs::write(&part, &on_disk[..2 * (HEADER + RECORD + TAG) + 100]).unwrap();
        assert_eq!(
            resume_point(&part, &key, &name).unwrap(),
            (2 * RECORD as u64, 2)
        );
        let (rest, _) = seal(&key, &name, 2, &plain[2 * RECORD..]);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&part)
            .unwrap();
        f.write_all(&rest).unwrap();
        assert_eq!(read_plain(&part, &key, &name).unwrap(), plain);
    }
}
