//! Automerge's chunk framing, read without decoding any column: magic (4 bytes), checksum (4),
//! type (1), length (unsigned LEB128), then that many bytes. The server walks offered bytes
//! with it before Automerge sees them (`admission`), the device walks its stored change rows.

/// Chunk types as Automerge numbers them.
pub const DOCUMENT: u8 = 0;
pub const CHANGE: u8 = 1;
pub const BUNDLE: u8 = 3;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// One framed chunk: its type and all its bytes (header included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub kind: u8,
    pub bytes: &'a [u8],
}

/// Why bytes are not a sequence of chunks; the offset is where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("not an Automerge chunk at byte {0}")]
    NotAChunk(usize),
    #[error("a chunk's length cannot be read at byte {0}")]
    BadLength(usize),
    #[error("the chunk at byte {0} is longer than the data")]
    CutOff(usize),
}

/// Splits `bytes` into its chunks; every byte must belong to one.
pub fn split(bytes: &[u8]) -> Result<Vec<Chunk<'_>>, FramingError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 10 || rest[..4] != MAGIC {
            return Err(FramingError::NotAChunk(at));
        }
        let (len, used) = leb128_u64(&rest[9..]).ok_or(FramingError::BadLength(at))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| (9 + used).checked_add(len))
            .filter(|&end| end <= rest.len())
            .ok_or(FramingError::CutOff(at))?;
        out.push(Chunk {
            kind: rest[8],
            bytes: &rest[..end],
        });
        at += end;
    }
    Ok(out)
}

/// The raw change chunks in `bytes`, each with its hash, read from the framing without
/// decoding a column (a change's hash is the SHA-256 of its type, length and body); other
/// chunks (a whole saved document, a compressed change) and unframed bytes give none. Bytes
/// whose hash is a change's hash are that change, whoever sent them.
pub fn change_chunks(bytes: &[u8]) -> Vec<([u8; 32], &[u8])> {
    use sha2::Digest;
    let Ok(chunks) = split(bytes) else {
        return vec![];
    };
    chunks
        .into_iter()
        .filter(|c| c.kind == CHANGE && c.bytes.len() > 8)
        .map(|c| (sha2::Sha256::digest(&c.bytes[8..]).into(), c.bytes))
        .collect()
}

/// An unsigned LEB128 number and the bytes it took; `None` past 10 bytes or the end.
fn leb128_u64(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().take(10).enumerate() {
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    #[test]
    fn leb128_lengths_read_as_automerge_writes_them() {
        assert_eq!(leb128_u64(&[0x05]), Some((5, 1)));
        assert_eq!(leb128_u64(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
        assert_eq!(leb128_u64(&[0x80]), None);
        assert_eq!(leb128_u64(&[0xff; 11]), None);
    }

    /// A document of three changes, one after the other.
    fn three_changes() -> automerge::Automerge {
        let mut doc = automerge::Automerge::new();
        for i in 0..3 {
            let mut tx = doc.transaction();
            tx.put(automerge::ROOT, "n", i).unwrap();
            tx.commit();
        }
        doc
    }

    #[test]
    fn changes_split_into_their_chunks_and_anything_else_is_refused() {
        let doc = three_changes();
        let raw: Vec<u8> = crate::sync::raw_changes_since(&doc, &[]);
        let chunks = split(&raw).unwrap();
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.kind == CHANGE));
        assert_eq!(split(&doc.save()).unwrap()[0].kind, DOCUMENT);
        let mut trailing = raw.clone();
        trailing.extend_from_slice(b"x");
        assert_eq!(split(&trailing), Err(FramingError::NotAChunk(raw.len())));
        assert!(matches!(
            split(&raw[..raw.len() - 1]),
            Err(FramingError::CutOff(_))
        ));
    }

    #[test]
    fn a_change_chunk_hashes_to_its_change_hash_and_other_chunks_give_none() {
        let doc = three_changes();
        let raw = crate::sync::raw_changes_since(&doc, &[]);
        let found = change_chunks(&raw);
        let expected: Vec<_> = doc
            .get_changes(&[])
            .iter()
            .map(|c| (c.hash().0, c.raw_bytes().to_vec()))
            .collect();
        let found: Vec<_> = found.into_iter().map(|(h, b)| (h, b.to_vec())).collect();
        assert_eq!(found, expected);
        assert!(change_chunks(&doc.save()).is_empty());
        assert!(change_chunks(b"garbage").is_empty());
    }
}
