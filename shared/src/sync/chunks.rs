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

/// Most bytes a whole document sent by a device may hold once its compressed columns are
/// inflated. Automerge inflates a column marked compressed with no limit before it checks
/// anything, so a few kilobytes of deflated zeros would make it allocate gigabytes and abort
/// the process, which no panic boundary catches.
pub const MAX_INFLATED_DOCUMENT: u64 = 128 * 1024 * 1024;

/// Why a document chunk is refused before Automerge reads it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentColumnsError {
    #[error("a whole document's column layout cannot be read")]
    Malformed,
    #[error("a whole document inflates to more than {0} bytes")]
    TooLarge(u64),
}

/// Reads a document chunk's column layout (actors, heads, the change and op column specs
/// and lengths; Automerge's `storage/document.rs`) and measures its columns as they would be
/// inflated, streaming each compressed one into nothing: never more than `limit` bytes in all.
pub fn document_within(chunk: &Chunk<'_>, limit: u64) -> Result<(), DocumentColumnsError> {
    use std::io::Read;
    let bad = || DocumentColumnsError::Malformed;
    let (_, used) = leb128_u64(chunk.bytes.get(9..).ok_or_else(bad)?).ok_or_else(bad)?;
    let body = chunk.bytes.get(9 + used..).ok_or_else(bad)?;
    let mut at = 0usize;
    let number = |at: &mut usize| -> Result<u64, DocumentColumnsError> {
        let (n, used) = leb128_u64(body.get(*at..).ok_or_else(bad)?).ok_or_else(bad)?;
        *at += used;
        Ok(n)
    };
    let skip = |at: &mut usize, n: u64| -> Result<(), DocumentColumnsError> {
        *at = usize::try_from(n)
            .ok()
            .and_then(|n| at.checked_add(n))
            .filter(|&end| end <= body.len())
            .ok_or_else(bad)?;
        Ok(())
    };
    for _ in 0..number(&mut at)? {
        let len = number(&mut at)?;
        skip(&mut at, len)?;
    }
    let heads = number(&mut at)?;
    skip(&mut at, heads.checked_mul(32).ok_or_else(bad)?)?;
    let mut columns = Vec::new();
    for _ in 0..2 {
        let count = number(&mut at)?;
        for _ in 0..count {
            let spec = number(&mut at)?;
            let len = number(&mut at)?;
            columns.push((spec & 0b1000 != 0, len));
            if columns.len() > 1_000 {
                return Err(bad());
            }
        }
    }
    let mut total = 0u64;
    for (deflated, len) in columns {
        let start = at;
        skip(&mut at, len)?;
        let data = &body[start..at];
        total += if deflated {
            let left = limit.saturating_sub(total);
            std::io::copy(
                &mut flate2::read::DeflateDecoder::new(data).take(left.saturating_add(1)),
                &mut std::io::sink(),
            )
            .map_err(|_| bad())?
        } else {
            len
        };
        if total > limit {
            return Err(DocumentColumnsError::TooLarge(limit));
        }
    }
    Ok(())
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
pub(crate) mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    /// A document chunk of one change column holding `column` (marked compressed when
    /// `deflated`), as Automerge lays one out; the checksum is not looked at.
    pub(crate) fn document_of_one_column(column: &[u8], deflated: bool) -> Vec<u8> {
        let leb = |mut n: u64, out: &mut Vec<u8>| loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        };
        let mut body = Vec::new();
        leb(0, &mut body); // actors
        leb(0, &mut body); // heads
        leb(1, &mut body); // change columns
        leb(if deflated { 0b1000 | 1 } else { 1 }, &mut body);
        leb(column.len() as u64, &mut body);
        leb(0, &mut body); // op columns
        body.extend_from_slice(column);
        let mut chunk = MAGIC.to_vec();
        chunk.extend_from_slice(&[0; 4]);
        chunk.push(DOCUMENT);
        leb(body.len() as u64, &mut chunk);
        chunk.extend(body);
        chunk
    }

    #[test]
    fn a_document_is_measured_as_inflated_and_a_deflate_bomb_refused_unread() {
        use std::io::Write;
        // A real document with compressed columns passes; measured inflated, it is bigger
        // than its bytes.
        let mut doc = automerge::Automerge::new();
        let mut tx = doc.transaction();
        for i in 0..2_000 {
            tx.put(automerge::ROOT, format!("key-{i}"), i).unwrap();
        }
        tx.commit();
        let saved = doc.save();
        let chunk = split(&saved).unwrap()[0];
        assert_eq!(document_within(&chunk, MAX_INFLATED_DOCUMENT), Ok(()));
        assert_eq!(
            document_within(&chunk, saved.len() as u64),
            Err(DocumentColumnsError::TooLarge(saved.len() as u64)),
            "the compressed columns count as inflated"
        );
        // 64 MiB of zeros deflate to about 64 KiB: refused at the limit, never held.
        let mut zeros = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        let block = vec![0u8; 1 << 20];
        for _ in 0..64 {
            zeros.write_all(&block).unwrap();
        }
        let bomb = document_of_one_column(&zeros.finish().unwrap(), true);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let chunk = split(&bomb).unwrap()[0];
        assert_eq!(
            document_within(&chunk, 8 << 20),
            Err(DocumentColumnsError::TooLarge(8 << 20))
        );
        assert_eq!(document_within(&chunk, 65 << 20), Ok(()));
        // A layout that runs past its bytes is malformed.
        let plain = document_of_one_column(b"abc", false);
        let mut cut = plain.clone();
        cut.truncate(plain.len() - 1);
        let mut cut_chunk = split(&plain).unwrap()[0];
        cut_chunk.bytes = &cut;
        assert_eq!(document_within(&split(&plain).unwrap()[0], 10), Ok(()));
        assert_eq!(
            document_within(&cut_chunk, 10),
            Err(DocumentColumnsError::Malformed)
        );
    }

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
