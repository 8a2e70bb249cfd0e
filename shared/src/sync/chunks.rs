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

/// Why a chunk is refused before Automerge reads it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ColumnsError {
    #[error("a whole document's column layout cannot be read")]
    Malformed,
    #[error("a whole document inflates to more than {0} bytes")]
    TooLarge(u64),
    #[error("a change's column says it holds more than {0} values")]
    TooManyValues(u64),
}

/// The most bytes one byte of a deflate stream inflates to: a 258-byte match coded in two
/// bits (a one-bit length code and a one-bit distance code) is 1,032 bytes per byte.
const MAX_DEFLATE_RATIO: u64 = 1_032;

/// Reads a document chunk's column layout (actors, heads, the change and op column specs
/// and lengths; Automerge's `storage/document.rs`) and measures its columns as they would be
/// inflated, streaming each compressed one into nothing: never more than `limit` bytes in all.
/// Columns that could not pass `limit` at deflate's greatest ratio are not inflated; a broken
/// stream among them is refused by Automerge's strict load, which inflates each.
pub fn document_within(chunk: &Chunk<'_>, limit: u64) -> Result<(), ColumnsError> {
    use std::io::Read;
    let bad = || ColumnsError::Malformed;
    let (_, used) = leb128_u64(chunk.bytes.get(9..).ok_or_else(bad)?).ok_or_else(bad)?;
    let body = chunk.bytes.get(9 + used..).ok_or_else(bad)?;
    let mut at = 0usize;
    let number = |at: &mut usize| -> Result<u64, ColumnsError> {
        let (n, used) = leb128_u64(body.get(*at..).ok_or_else(bad)?).ok_or_else(bad)?;
        *at += used;
        Ok(n)
    };
    let skip = |at: &mut usize, n: u64| -> Result<(), ColumnsError> {
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
    let mut spans = Vec::with_capacity(columns.len());
    let mut most = 0u64;
    for (deflated, len) in columns {
        let start = at;
        skip(&mut at, len)?;
        spans.push((deflated, &body[start..at]));
        most = most.saturating_add(if deflated {
            len.saturating_mul(MAX_DEFLATE_RATIO)
        } else {
            len
        });
    }
    // Columns that could not inflate past the limit even at deflate's greatest ratio need not
    // be inflated to know it (a month's document: 3 KB; inflating them was a fortieth of an
    // upload's server CPU, and Automerge inflates them again as it loads).
    if most <= limit {
        return Ok(());
    }
    let mut total = 0u64;
    for (deflated, data) in spans {
        let len = data.len() as u64;
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
            return Err(ColumnsError::TooLarge(limit));
        }
    }
    Ok(())
}

/// Most values a column of one change may say it holds. Automerge takes a run's length at face
/// value and walks every op it implies before it checks anything, so a run of 2^62 in a
/// hundred bytes would keep a server thread busy for ever. A device's biggest change (a
/// month squashed into one, a roster built offline) holds thousands of ops; an import of
/// 100,000 care grants is one.
pub const MAX_VALUES_PER_CHANGE_COLUMN: u64 = 1_000_000;

/// Reads a change chunk's op columns (Automerge's `storage/change.rs`; change columns are never
/// compressed) and adds up the values each one's runs say it holds, without decoding a value:
/// refused when any column would hold more than `limit`.
pub fn change_within(chunk: &Chunk<'_>, limit: u64) -> Result<(), ColumnsError> {
    let bad = || ColumnsError::Malformed;
    let (_, used) = leb128_u64(chunk.bytes.get(9..).ok_or_else(bad)?).ok_or_else(bad)?;
    let body = chunk.bytes.get(9 + used..).ok_or_else(bad)?;
    let mut r = Reader { bytes: body, at: 0 };
    let deps = r.unsigned()?;
    r.skip(deps.checked_mul(32).ok_or_else(bad)?)?;
    let actor = r.unsigned()?;
    r.skip(actor)?;
    r.unsigned()?; // seq
    r.unsigned()?; // start op
    r.signed()?; // time
    let message = r.unsigned()?;
    r.skip(message)?;
    for _ in 0..r.unsigned()? {
        let other = r.unsigned()?;
        r.skip(other)?;
    }
    let mut columns = Vec::new();
    for _ in 0..r.unsigned()? {
        let spec = r.unsigned()?;
        let len = r.unsigned()?;
        columns.push((spec, len));
        if columns.len() > 1_000 {
            return Err(bad());
        }
    }
    for (spec, len) in columns {
        let start = r.at;
        r.skip(len)?;
        let mut column = Reader {
            bytes: &body[start..r.at],
            at: 0,
        };
        let values = match spec & 0b111 {
            // Booleans: alternating run lengths of false and true.
            4 => {
                let mut n = 0u64;
                while !column.done() {
                    n = n.saturating_add(column.unsigned()?);
                    if n > limit {
                        break;
                    }
                }
                n
            }
            // Raw value bytes: no runs.
            7 => 0,
            kind => column.runs(kind, limit)?,
        };
        if values > limit {
            return Err(ColumnsError::TooManyValues(limit));
        }
    }
    Ok(())
}

/// A cursor over column bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn unsigned(&mut self) -> Result<u64, ColumnsError> {
        let (n, used) = leb128_u64(self.bytes.get(self.at..).unwrap_or_default())
            .ok_or(ColumnsError::Malformed)?;
        self.at += used;
        Ok(n)
    }

    fn signed(&mut self) -> Result<i64, ColumnsError> {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        let mut value = 0i64;
        for (i, b) in rest.iter().take(10).enumerate() {
            value |= i64::from(b & 0x7f)
                .checked_shl(7 * i as u32)
                .ok_or(ColumnsError::Malformed)?;
            if b & 0x80 == 0 {
                if i < 9 && b & 0x40 != 0 {
                    value |= -1i64 << (7 * (i + 1));
                }
                self.at += i + 1;
                return Ok(value);
            }
        }
        Err(ColumnsError::Malformed)
    }

    fn skip(&mut self, n: u64) -> Result<(), ColumnsError> {
        self.at = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|&end| end <= self.bytes.len())
            .ok_or(ColumnsError::Malformed)?;
        Ok(())
    }

    /// One value of a run-length column of `kind`: a string is length-prefixed, a delta is
    /// signed, the rest unsigned.
    fn value(&mut self, kind: u64) -> Result<(), ColumnsError> {
        match kind {
            5 => {
                let len = self.unsigned()?;
                self.skip(len)
            }
            3 => self.signed().map(drop),
            _ => self.unsigned().map(drop),
        }
    }

    /// The values a run-length column's runs add up to (at most a little past `limit`):
    /// a positive count repeats one value, a negative one lists that many, zero is a run of
    /// nulls of the length that follows.
    fn runs(&mut self, kind: u64, limit: u64) -> Result<u64, ColumnsError> {
        let mut n = 0u64;
        while !self.done() && n <= limit {
            match self.signed()? {
                count if count > 0 => {
                    self.value(kind)?;
                    n = n.saturating_add(count.unsigned_abs());
                }
                count if count < 0 => {
                    for _ in 0..count.unsigned_abs() {
                        self.value(kind)?;
                    }
                    n = n.saturating_add(count.unsigned_abs());
                }
                _ => n = n.saturating_add(self.unsigned()?),
            }
        }
        Ok(n)
    }
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
            Err(ColumnsError::TooLarge(saved.len() as u64)),
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
            Err(ColumnsError::TooLarge(8 << 20))
        );
        assert_eq!(document_within(&chunk, 65 << 20), Ok(()));
        // Deflate's greatest ratio bounds the most compressible input at the best level.
        let mut best = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..16 {
            best.write_all(&block).unwrap();
        }
        let best = best.finish().unwrap();
        assert!(16 << 20 <= best.len() as u64 * MAX_DEFLATE_RATIO);
        assert!((16 << 20) / best.len() as u64 > 1_000, "{}", best.len());
        // Columns too small to inflate past the limit are not inflated: a broken stream is
        // left to Automerge's load, which refuses it.
        let broken = document_of_one_column(&[0xff; 64], true);
        let chunk = split(&broken).unwrap()[0];
        assert_eq!(document_within(&chunk, 1 << 20), Ok(()));
        assert_eq!(document_within(&chunk, 1_000), Err(ColumnsError::Malformed));
        // With a true checksum, so it is the stream Automerge refuses, not the chunk's sum.
        let mut broken = broken;
        let checksum = {
            use sha2::Digest;
            sha2::Sha256::digest(&broken[8..])
        };
        broken[4..8].copy_from_slice(&checksum[..4]);
        let refused = automerge::Automerge::load(&broken).unwrap_err().to_string();
        assert!(refused.contains("corrupt deflate stream"), "{refused}");
        // A layout that runs past its bytes is malformed.
        let plain = document_of_one_column(b"abc", false);
        let mut cut = plain.clone();
        cut.truncate(plain.len() - 1);
        let mut cut_chunk = split(&plain).unwrap()[0];
        cut_chunk.bytes = &cut;
        assert_eq!(document_within(&split(&plain).unwrap()[0], 10), Ok(()));
        assert_eq!(
            document_within(&cut_chunk, 10),
            Err(ColumnsError::Malformed)
        );
    }

    /// A hundred bytes of change chunk that say one column holds 2^62 values.
    pub(crate) fn change_of_one_run_of_2_62() -> Vec<u8> {
        let mut body = vec![0]; // no dependencies
        body.push(16);
        body.extend([7u8; 16]); // the actor
        body.extend([1, 1, 0, 0, 0]); // seq, start op, time, message, other actors
        let mut column = Vec::new();
        // A signed LEB128 run length of 2^62, then its one value.
        let mut n: i64 = 1 << 62;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 && byte & 0x40 == 0 {
                column.push(byte);
                break;
            }
            column.push(byte | 0x80);
        }
        column.push(1);
        body.extend([1, (1 << 4) | 2, column.len() as u8]); // one integer column
        body.extend(&column);
        let mut chunk = MAGIC.to_vec();
        chunk.extend([0; 4]);
        chunk.push(CHANGE);
        chunk.push(body.len() as u8);
        chunk.extend(body);
        chunk
    }

    #[test]
    fn a_changes_columns_are_counted_from_their_runs_and_a_run_of_billions_refused() {
        use automerge::ObjType;
        // Real changes of every column kind pass, and are counted as they hold.
        let mut doc = automerge::Automerge::new();
        let mut tx = doc.transaction();
        let list = tx
            .put_object(automerge::ROOT, "list", ObjType::List)
            .unwrap();
        for i in 0..500 {
            tx.insert(&list, i, i as i64 - 250).unwrap();
        }
        let text = tx
            .put_object(automerge::ROOT, "text", ObjType::Text)
            .unwrap();
        tx.splice_text(&text, 0, 0, "Hjemmetræning i Thisted")
            .unwrap();
        tx.put(automerge::ROOT, "flag", true).unwrap();
        tx.put(automerge::ROOT, "bytes", vec![1u8, 2, 3]).unwrap();
        tx.commit();
        let mut tx = doc.transaction();
        tx.delete(&list, 3).unwrap();
        tx.put(automerge::ROOT, "flag", false).unwrap();
        tx.commit();
        let raw = crate::sync::raw_changes_since(&doc, &[]);
        for c in split(&raw).unwrap() {
            assert_eq!(change_within(&c, MAX_VALUES_PER_CHANGE_COLUMN), Ok(()));
        }
        let first = split(&raw).unwrap()[0];
        assert_eq!(
            change_within(&first, 100),
            Err(ColumnsError::TooManyValues(100)),
            "500 inserts are more than 100 values"
        );
        let chunk = change_of_one_run_of_2_62();
        let crafted = split(&chunk).unwrap()[0];
        assert_eq!(
            change_within(&crafted, MAX_VALUES_PER_CHANGE_COLUMN),
            Err(ColumnsError::TooManyValues(MAX_VALUES_PER_CHANGE_COLUMN))
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
