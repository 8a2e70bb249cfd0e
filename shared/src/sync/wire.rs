//! The sync wire format: the messages and their codec (postcard, then DEFLATE).
//!
//! The message structs are frozen by the protocol (docs/sync-protocol.md): add fields only in a
//! new protocol version.

use crate::docs::Header;
use crate::ids::DocumentId;
use serde::{Deserialize, Serialize};

/// Version of the sync protocol; a server answers a request of another version with 400.
/// Version 2 added the document kind `library` (a municipality's own library), which a
/// version 1 device could not decode. Version 3 added generations and erasure (issue #14):
/// `generation` in [`Offer`] and [`Reply`], [`ReplyStatus::Erased`] and
/// [`ReplyStatus::Replaced`]. Version 4 (issue #13) stores a logged set in a session log as
/// one string, which a version 3 app cannot read: such an app is told to update instead of
/// being sent sessions it would fail on. Version 5 (issue #13) stores no null for a session's
/// `None` fields and an exercise's feedback as one string, which a version 4 app cannot read.
pub const PROTOCOL_VERSION: u16 = 5;

/// Which side is behind when a server refused this app's protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolGap {
    /// The server speaks a newer protocol (or does not say which): the app must be updated.
    AppBehind,
    /// The server speaks an older protocol: it is being upgraded after the app (a rolling
    /// upgrade), and the next sync after its upgrade goes through. Nothing for the user to do.
    ServerBehind,
}

/// The gap between an app speaking `app_speaks` and a server that refused it, from what the
/// server said it speaks: the [`crate::api::SYNC_PROTOCOL_HEADER`] header, or else the sentence
/// every server since version 3 sends ("… (this side speaks N)"). Unknown is taken as the app
/// being behind: that was the only case before servers named their version.
pub fn protocol_gap(app_speaks: u16, header: Option<&str>, message: &str) -> ProtocolGap {
    let from_message = || {
        let (_, tail) = message.rsplit_once("this side speaks ")?;
        tail.trim_end_matches(')').trim().parse::<u16>().ok()
    };
    match header
        .and_then(|h| h.trim().parse::<u16>().ok())
        .or_else(from_message)
    {
        Some(server) if server < app_speaks => ProtocolGap::ServerBehind,
        _ => ProtocolGap::AppBehind,
    }
}

/// An Automerge change hash.
pub type Hash = [u8; 32];

/// What a device sends: every document it holds, with its heads, and the changes the server
/// may lack. Sent once per sync; a second request follows only for documents the server asked
/// to see whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u16,
    pub offers: Vec<Offer>,
}

/// One document as a device holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub doc: DocumentId,
    /// The device's heads of the document.
    pub heads: Vec<Hash>,
    /// Changes since the last heads the server confirmed (concatenated raw Automerge changes),
    /// or the whole saved document when the server asked for it; empty when nothing is new.
    #[serde(with = "serde_bytes")]
    pub changes: Vec<u8>,
    /// The generation of the document the device holds: 0 until the server first rewrote it
    /// without its history (an erasure), +1 per rewrite.
    pub generation: u32,
}

/// The server's answer: one reply per offered document that needs something, plus every
/// document the device may read but did not offer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub protocol: u16,
    pub replies: Vec<Reply>,
    /// How many offered documents were unchanged (not listed in `replies`).
    pub unchanged: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub doc: DocumentId,
    pub status: ReplyStatus,
    /// The server's heads after this exchange (empty when the document was refused).
    pub heads: Vec<Hash>,
    /// Changes the device lacks (raw changes, or a saved document for a new one).
    #[serde(with = "serde_bytes")]
    pub changes: Vec<u8>,
    /// Present for documents the device did not offer.
    pub header: Option<Header>,
    /// The server's generation of the document (0 for a refusal or an erased document).
    pub generation: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ReplyStatus {
    /// Changes were exchanged; the device's offered changes (if any) are stored.
    Synced,
    /// A document the device may read but did not have.
    New,
    /// The server misses earlier changes: send the whole document.
    SendFull,
    /// The offered changes were refused and kept aside on the server; the reason says why.
    Rejected(String),
    /// The device may not read this document.
    Forbidden,
    /// The document was erased (retention or a citizen's erasure): the device deletes its copy
    /// and everything derived from it, and never offers it again. Unsent changes to it are
    /// dropped: erasure is the municipality's lawful decision (the audit log records it).
    Erased,
    /// The document was rewritten without its history as `generation`; `changes` is that
    /// generation saved whole and `heads` its heads. `absorbed` lists which of the offered
    /// changes (their hashes) were already part of the old generation when it was rewritten,
    /// so their effect is in the new one. The device replaces its copy and re-applies its
    /// other unsent changes on top of the new generation as new changes (next sync).
    Replaced { absorbed: Vec<Hash> },
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("the message is not valid compressed data")]
    Compression,
    #[error("the message is larger than {0} bytes when decompressed")]
    TooLarge(usize),
    #[error("the message is malformed: {0}")]
    Malformed(String),
    #[error("protocol version {0} is not supported (this side speaks {PROTOCOL_VERSION})")]
    Version(u16),
    #[error("the message has too many entries ({0})")]
    TooMany(usize),
    #[error("the request offers document {0} more than once")]
    DuplicateOffer(DocumentId),
}

/// Bounds on what a decoder accepts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_decompressed: usize,
    pub max_docs: usize,
    pub max_heads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: 64 << 20,
            max_docs: 20_000,
            max_heads: 256,
        }
    }
}

pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let raw = postcard::to_stdvec(msg).expect("serializing to a Vec cannot fail");
    deflate(&raw)
}

/// (De)compressors kept for the next message, at most [`KEPT`]; more at once are made and
/// dropped.
struct Kept<T>(std::sync::Mutex<Vec<T>>);

/// 256 KiB each for a compressor by zlib's formula for its default window and memory level.
const KEPT: usize = 8;

impl<T> Kept<T> {
    const fn new() -> Self {
        Kept(std::sync::Mutex::new(Vec::new()))
    }

    fn take(&self) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    /// Keeps `one`, reset by the caller, unless enough are kept.
    fn give_back(&self, one: T) {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() < KEPT {
            kept.push(one);
        }
    }
}

/// Making a compressor allocates and clears its window and tables, which was 4 % of the
/// server's CPU with 50 devices syncing small changes.
static DEFLATERS: Kept<flate2::Compress> = Kept::new();

fn deflate(raw: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    // The fastest level: Automerge's changes and documents are compressed columns already,
    // so level 6 made them only 4-6 % smaller than level 1 for 2.5 times the CPU (a session
    // log, 15 new sets), and encoding answers was 14 % of the server's CPU in a reconnect burst.
    let mut deflater = DEFLATERS
        .take()
        .unwrap_or_else(|| Compress::new(Compression::fast(), false));
    let mut out = Vec::with_capacity(raw.len() / 2 + 64);
    loop {
        // `total_in` counts from the last reset: what of `raw` it has taken so far.
        let rest = raw.get(deflater.total_in() as usize..).unwrap_or_default();
        let status = deflater
            .compress_vec(rest, &mut out, FlushCompress::Finish)
            .expect("deflating into a Vec cannot fail");
        match status {
            Status::StreamEnd => break,
            // Out of room: it goes on where it stopped.
            Status::Ok | Status::BufError => out.reserve(out.capacity().max(64)),
        }
    }
    deflater.reset();
    DEFLATERS.give_back(deflater);
    out
}

/// A fresh decompressor allocates and clears its window: 1 % of the server's CPU with 50
/// devices syncing small changes.
static INFLATERS: Kept<flate2::Decompress> = Kept::new();

fn inflate(bytes: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
    with_inflater(|inflater| inflate_with(inflater, bytes, limit))
}

/// Runs `f` with a kept decompressor, reset and kept again afterwards.
fn with_inflater<T>(f: impl FnOnce(&mut flate2::Decompress) -> T) -> T {
    let mut inflater = INFLATERS
        .take()
        .unwrap_or_else(|| flate2::Decompress::new(false));
    let done = f(&mut inflater);
    inflater.reset(false);
    INFLATERS.give_back(inflater);
    done
}

/// A request's body inflated within a budget ([`inflate_request`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Inflated {
    /// The whole message, to be read by [`decode_inflated_request`].
    Within(Vec<u8>),
    /// It inflates past the budget, within the limit, to this many bytes (counted, not kept).
    Beyond { inflated: usize },
}

/// Inflates a request's body into at most `budget` bytes, so a server can weigh a request by
/// what it inflates to before it holds that much: a few KB can inflate to the whole limit.
/// Past the budget the rest is inflated into a small scratch buffer and only counted, so the
/// answer is the exact size without the bytes; past [`Limits::max_decompressed`] it is
/// [`WireError::TooLarge`], as for [`decode_request`].
pub fn inflate_request(
    bytes: &[u8],
    budget: usize,
    limits: &Limits,
) -> Result<Inflated, WireError> {
    let limit = limits.max_decompressed;
    with_inflater(
        |inflater| match inflate_with(inflater, bytes, budget.min(limit)) {
            Ok(raw) => Ok(Inflated::Within(raw)),
            // What came out so far is dropped; the decompressor goes on from where it stopped.
            Err(WireError::TooLarge(_)) if budget < limit => {
                count_the_rest(inflater, bytes, limit).map(|inflated| Inflated::Beyond { inflated })
            }
            Err(e) => Err(e),
        },
    )
}

/// How many bytes `bytes` inflate to in all, `inflater` having stopped part way: the rest is
/// inflated into a scratch buffer of 64 KiB, over and over, and counted.
fn count_the_rest(
    inflater: &mut flate2::Decompress,
    bytes: &[u8],
    limit: usize,
) -> Result<usize, WireError> {
    let mut scratch = vec![0; 64 << 10];
    while !inflate_step(inflater, bytes, limit, |inflater, rest| {
        inflater.decompress(rest, &mut scratch, flate2::FlushDecompress::Finish)
    })? {}
    Ok(usize::try_from(inflater.total_out()).unwrap_or(usize::MAX))
}

fn inflate_with(
    inflater: &mut flate2::Decompress,
    bytes: &[u8],
    limit: usize,
) -> Result<Vec<u8>, WireError> {
    // Room for a message that shrank fourfold (a sync's heads and changes shrink less), but
    // not reserved ahead for a big body (it grows by doubling), nor past the limit.
    let guess = bytes.len().saturating_mul(4).clamp(64, 4 << 20);
    let mut out = Vec::with_capacity(guess.min(limit.saturating_add(1)));
    while !inflate_step(inflater, bytes, limit, |inflater, rest| {
        inflater.decompress_vec(rest, &mut out, flate2::FlushDecompress::Finish)
    })? {
        if out.len() == out.capacity() {
            // Out of room: at most one byte past the limit, to tell a bomb from a fit.
            let more = out
                .capacity()
                .max(64)
                .min(limit.saturating_add(1) - out.len());
            out.reserve_exact(more);
        }
    }
    Ok(out)
}

/// One `decompress` of what `inflater` has not yet taken of `bytes`: whether the stream ended.
/// Too large once more than `limit` came out since the inflater's reset; truncated when
/// nothing moved (every caller gives it room to write).
fn inflate_step(
    inflater: &mut flate2::Decompress,
    bytes: &[u8],
    limit: usize,
    decompress: impl FnOnce(
        &mut flate2::Decompress,
        &[u8],
    ) -> Result<flate2::Status, flate2::DecompressError>,
) -> Result<bool, WireError> {
    let (read, written) = (inflater.total_in(), inflater.total_out());
    // `total_in` counts from the last reset: what of `bytes` it has taken so far.
    let rest = bytes.get(read as usize..).unwrap_or_default();
    let status = decompress(inflater, rest).map_err(|_| WireError::Compression)?;
    if usize::try_from(inflater.total_out()).unwrap_or(usize::MAX) > limit {
        return Err(WireError::TooLarge(limit));
    }
    match status {
        flate2::Status::StreamEnd => Ok(true),
        // Nothing moved: the stream ends before its end (truncated).
        _ if (read, written) == (inflater.total_in(), inflater.total_out()) => {
            Err(WireError::Compression)
        }
        _ => Ok(false),
    }
}

fn check_offers_or_replies(
    n: usize,
    heads: impl Iterator<Item = usize>,
    limits: &Limits,
) -> Result<(), WireError> {
    if n > limits.max_docs {
        return Err(WireError::TooMany(n));
    }
    for h in heads {
        if h > limits.max_heads {
            return Err(WireError::TooMany(h));
        }
    }
    Ok(())
}

/// The protocol version, read before the rest: both messages begin with it, and a message of
/// another version does not decode as this version's (v3 added fields), yet must be answered
/// "update the app", not "malformed".
fn check_version(raw: &[u8]) -> Result<(), WireError> {
    let (protocol, _) =
        postcard::take_from_bytes::<u16>(raw).map_err(|e| WireError::Malformed(e.to_string()))?;
    if protocol != PROTOCOL_VERSION {
        return Err(WireError::Version(protocol));
    }
    Ok(())
}

/// Decodes a request the server received. Every failure is a clear error, never a panic.
pub fn decode_request(bytes: &[u8], limits: &Limits) -> Result<SyncRequest, WireError> {
    decode_inflated_request(&inflate(bytes, limits.max_decompressed)?, limits)
}

/// [`decode_request`] of a body [`inflate_request`] inflated.
pub fn decode_inflated_request(raw: &[u8], limits: &Limits) -> Result<SyncRequest, WireError> {
    if raw.len() > limits.max_decompressed {
        return Err(WireError::TooLarge(limits.max_decompressed));
    }
    check_version(raw)?;
    // The number of offers, read before they are: a few bytes each on the wire, several
    // times that decoded, so millions of them must be refused unbuilt.
    let malformed = |e: postcard::Error| WireError::Malformed(e.to_string());
    let (_, rest) = postcard::take_from_bytes::<u16>(raw).map_err(malformed)?;
    let (count, _) = postcard::take_from_bytes::<u64>(rest).map_err(malformed)?;
    if count > limits.max_docs as u64 {
        return Err(WireError::TooMany(
            usize::try_from(count).unwrap_or(usize::MAX),
        ));
    }
    let req: SyncRequest = postcard::from_bytes(raw).map_err(malformed)?;
    check_offers_or_replies(
        req.offers.len(),
        req.offers.iter().map(|o| o.heads.len()),
        limits,
    )?;
    // One offer per document: a document offered twice would be answered (and its delivery
    // recorded in the access log) once per copy, and staged twice.
    let mut seen = std::collections::HashSet::with_capacity(req.offers.len());
    if let Some(o) = req.offers.iter().find(|o| !seen.insert(o.doc)) {
        return Err(WireError::DuplicateOffer(o.doc));
    }
    Ok(req)
}

/// Decodes a response the device received.
pub fn decode_response(bytes: &[u8], limits: &Limits) -> Result<SyncResponse, WireError> {
    let raw = inflate(bytes, limits.max_decompressed)?;
    check_version(&raw)?;
    let resp: SyncResponse =
        postcard::from_bytes(&raw).map_err(|e| WireError::Malformed(e.to_string()))?;
    check_offers_or_replies(
        resp.replies.len(),
        resp.replies.iter().map(|r| r.heads.len()),
        limits,
    )?;
    Ok(resp)
}

pub fn to_hashes(heads: &[automerge::ChangeHash]) -> Vec<Hash> {
    heads.iter().map(|h| h.0).collect()
}

pub fn from_hashes(heads: &[Hash]) -> Vec<automerge::ChangeHash> {
    heads.iter().map(|h| automerge::ChangeHash(*h)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers: vec![Offer {
                doc: DocumentId::new(),
                heads: vec![[7; 32]],
                changes: vec![1, 2, 3],
                generation: 2,
            }],
        }
    }

    #[test]
    fn a_response_with_the_erasure_statuses_round_trips() {
        let reply = |status| Reply {
            doc: DocumentId::new(),
            status,
            heads: vec![[1; 32]],
            changes: vec![9],
            header: None,
            generation: 1,
        };
        let resp = SyncResponse {
            protocol: PROTOCOL_VERSION,
            replies: vec![
                reply(ReplyStatus::Erased),
                reply(ReplyStatus::Replaced {
                    absorbed: vec![[3; 32], [4; 32]],
                }),
                reply(ReplyStatus::Synced),
            ],
            unchanged: 0,
        };
        assert_eq!(
            decode_response(&encode(&resp), &Limits::default()).unwrap(),
            resp
        );
    }

    /// A compressor used again compresses each message as a fresh one would: small,
    /// incompressible past the first guess of room, and empty, in turn on one thread, and
    /// from threads at once.
    #[test]
    fn messages_encoded_one_after_another_and_at_once_each_decode_to_themselves() {
        let with_changes = |changes: Vec<u8>| SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers: vec![Offer {
                doc: DocumentId::new(),
                heads: vec![[7; 32]],
                changes,
                generation: 1,
            }],
        };
        // An xorshift stream: bytes deflate cannot shrink, so the output outgrows its room.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let messages = vec![
            with_changes(vec![1, 2, 3]),
            with_changes(noise.clone()),
            with_changes(vec![0; 100_000]),
            with_changes(Vec::new()),
            with_changes(noise[..70_000].to_vec()),
        ];
        let limits = Limits::default();
        for round in 0..3 {
            for m in &messages {
                let decoded = decode_request(&encode(m), &limits).unwrap();
                assert_eq!(&decoded, m, "round {round}");
            }
        }
        std::thread::scope(|s| {
            for m in &messages {
                let limits = &limits;
                s.spawn(move || {
                    for _ in 0..20 {
                        assert_eq!(&decode_request(&encode(m), limits).unwrap(), m);
                    }
                });
            }
        });
    }

    /// A version 2 device's request (no `generation`) is answered "update the app", not
    /// "malformed".
    #[test]
    fn a_version_2_request_is_a_version_error() {
        #[derive(Serialize)]
        struct OfferV2 {
            doc: DocumentId,
            heads: Vec<Hash>,
            changes: Vec<u8>,
        }
        #[derive(Serialize)]
        struct RequestV2 {
            protocol: u16,
            offers: Vec<OfferV2>,
        }
        let old = encode(&RequestV2 {
            protocol: 2,
            offers: vec![OfferV2 {
                doc: DocumentId::new(),
                heads: vec![[7; 32]],
                changes: vec![1, 2, 3],
            }],
        });
        assert!(matches!(
            decode_request(&old, &Limits::default()),
            Err(WireError::Version(2))
        ));
    }

    /// A change's bytes go as one slice (`serde_bytes`), which postcard writes exactly as it
    /// wrote the byte-by-byte sequence before: the wire format is unchanged both ways.
    #[test]
    fn changes_as_one_slice_are_the_bytes_a_sequence_of_bytes_was() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct OfferAsSequence {
            doc: DocumentId,
            heads: Vec<Hash>,
            changes: Vec<u8>,
            generation: u32,
        }
        let offer = Offer {
            doc: DocumentId::new(),
            heads: vec![[7; 32], [8; 32]],
            changes: (0..=255).chain(0..200).collect(),
            generation: 3,
        };
        let as_sequence = OfferAsSequence {
            doc: offer.doc,
            heads: offer.heads.clone(),
            changes: offer.changes.clone(),
            generation: offer.generation,
        };
        let bytes = postcard::to_stdvec(&offer).unwrap();
        assert_eq!(bytes, postcard::to_stdvec(&as_sequence).unwrap());
        assert_eq!(
            postcard::from_bytes::<OfferAsSequence>(&bytes).unwrap(),
            as_sequence
        );
        assert_eq!(postcard::from_bytes::<Offer>(&bytes).unwrap(), offer);
        // A length past the end is malformed, not a huge allocation or a panic.
        let mut lying = bytes.clone();
        lying.truncate(bytes.len() - 10);
        assert!(postcard::from_bytes::<Offer>(&lying).is_err());
    }

    /// A decompressor used again reads each message as a fresh one would, and a stream cut
    /// anywhere is an error, never a shorter message.
    #[test]
    fn kept_decompressors_read_every_message_and_refuse_every_cut() {
        let l = Limits::default();
        let request = sample();
        let bytes = encode(&request);
        for cut in 0..bytes.len() {
            assert!(decode_request(&bytes[..cut], &l).is_err(), "cut at {cut}");
            assert_eq!(decode_request(&bytes, &l).unwrap(), request);
        }
        // Exactly at the limit fits; one byte less is too large.
        let raw_len = postcard::to_stdvec(&request).unwrap().len();
        let at = |max_decompressed| Limits {
            max_decompressed,
            ..l
        };
        assert_eq!(decode_request(&bytes, &at(raw_len)).unwrap(), request);
        assert!(matches!(
            decode_request(&bytes, &at(raw_len - 1)),
            Err(WireError::TooLarge(_))
        ));
    }

    #[test]
    fn a_document_offered_twice_or_too_many_offers_are_refused() {
        let l = Limits::default();
        let mut req = sample();
        req.offers.push(req.offers[0].clone());
        assert!(matches!(
            decode_request(&encode(&req), &l),
            Err(WireError::DuplicateOffer(d)) if d == req.offers[0].doc
        ));
        // A count past the limit is refused from the count alone: the bytes after it are not
        // offers at all.
        let mut raw = postcard::to_stdvec(&PROTOCOL_VERSION).unwrap();
        raw.extend(postcard::to_stdvec(&(l.max_docs as u64 + 1)).unwrap());
        let mut deflated =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut deflated, &raw).unwrap();
        assert!(matches!(
            decode_request(&deflated.finish().unwrap(), &l),
            Err(WireError::TooMany(n)) if n == l.max_docs + 1
        ));
    }

    #[test]
    fn round_trip() {
        let req = sample();
        assert_eq!(
            decode_request(&encode(&req), &Limits::default()).unwrap(),
            req
        );
    }

    #[test]
    fn a_refusal_of_the_protocol_says_which_side_is_behind() {
        let older = (PROTOCOL_VERSION - 1).to_string();
        let newer = (PROTOCOL_VERSION + 1).to_string();
        // The header decides.
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION, Some(&older), ""),
            ProtocolGap::ServerBehind
        );
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION, Some(&newer), ""),
            ProtocolGap::AppBehind
        );
        // A server's sentence, as `WireError::Version` words it on the server's side.
        let said = |server: u16| {
            format!(
                "protocol version {} is not supported (this side speaks {server})",
                PROTOCOL_VERSION
            )
        };
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION, None, &said(PROTOCOL_VERSION - 1)),
            ProtocolGap::ServerBehind
        );
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION, None, &said(PROTOCOL_VERSION + 1)),
            ProtocolGap::AppBehind
        );
        // The sentence this side's own refusal says: an app one version ahead of this code,
        // refused by it, reads that the server is behind (the wording and the reading stay
        // together).
        let refused = WireError::Version(PROTOCOL_VERSION + 1).to_string();
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION + 1, None, &refused),
            ProtocolGap::ServerBehind
        );
        // The header wins over the sentence; nothing readable means update the app.
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION, Some(&newer), &said(PROTOCOL_VERSION - 1)),
            ProtocolGap::AppBehind
        );
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION, Some("x"), "no detail"),
            ProtocolGap::AppBehind
        );
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION, None, ""),
            ProtocolGap::AppBehind
        );
        // The same version is no gap the app can wait out.
        assert_eq!(
            protocol_gap(PROTOCOL_VERSION, Some(&PROTOCOL_VERSION.to_string()), ""),
            ProtocolGap::AppBehind
        );
    }

    #[test]
    fn rejects_garbage_truncation_bombs_and_versions() {
        let l = Limits::default();
        assert!(matches!(
            decode_request(b"garbage", &l),
            Err(WireError::Compression | WireError::Malformed(_))
        ));
        let bytes = encode(&sample());
        assert!(decode_request(&bytes[..bytes.len() / 2], &l).is_err());
        let bomb = encode(&SyncRequest {
            protocol: 1,
            offers: vec![Offer {
                doc: DocumentId::new(),
                heads: vec![],
                changes: vec![0; 1 << 20],
                generation: 0,
            }],
        });
        let small = Limits {
            max_decompressed: 1 << 16,
            ..l
        };
        assert!(matches!(
            decode_request(&bomb, &small),
            Err(WireError::TooLarge(_))
        ));
        for other in [1, PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1] {
            let msg = encode(&SyncRequest {
                protocol: other,
                offers: vec![],
            });
            assert!(matches!(
                decode_request(&msg, &l),
                Err(WireError::Version(v)) if v == other
            ));
        }
    }

    /// Within its budget a body inflates to what [`decode_request`] reads; past it the answer
    /// is how large it is, not the bytes, and past the limit it is too large as before.
    #[test]
    fn a_request_inflates_within_its_budget_or_says_how_large_it_is() {
        let l = Limits::default();
        let request = sample();
        let bytes = encode(&request);
        let raw_len = postcard::to_stdvec(&request).unwrap().len();
        let Ok(Inflated::Within(raw)) = inflate_request(&bytes, raw_len, &l) else {
            panic!("a budget of its own size holds it");
        };
        assert_eq!(decode_inflated_request(&raw, &l).unwrap(), request);
        assert_eq!(
            inflate_request(&bytes, raw_len - 1, &l).unwrap(),
            Inflated::Beyond { inflated: raw_len }
        );
        // Under 100 KB that inflate to 8 MiB: counted exactly past a budget of 1 MiB.
        let bomb_request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers: vec![Offer {
                doc: DocumentId::new(),
                heads: vec![],
                changes: vec![0; 8 << 20],
                generation: 0,
            }],
        };
        let bomb = encode(&bomb_request);
        let bomb_len = postcard::to_stdvec(&bomb_request).unwrap().len();
        assert!(bomb.len() < 100_000, "{}", bomb.len());
        assert_eq!(
            inflate_request(&bomb, 1 << 20, &l).unwrap(),
            Inflated::Beyond { inflated: bomb_len }
        );
        // Past the limit it is too large, whether the budget ends below the limit or not.
        let small = Limits {
            max_decompressed: 4 << 20,
            ..l
        };
        for budget in [1 << 20, 4 << 20, usize::MAX] {
            assert!(matches!(
                inflate_request(&bomb, budget, &small),
                Err(WireError::TooLarge(_))
            ));
        }
        // A body cut short is refused on the counting path too.
        assert!(matches!(
            inflate_request(&bomb[..bomb.len() - 10], 1 << 20, &l),
            Err(WireError::Compression)
        ));
        // Read whole, it is refused by a limit below its size too.
        let Ok(Inflated::Within(raw)) = inflate_request(&bomb, usize::MAX, &l) else {
            panic!("within the default limit");
        };
        assert!(matches!(
            decode_inflated_request(&raw, &small),
            Err(WireError::TooLarge(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = decode_request(&bytes, &Limits::default());
            let _ = decode_response(&bytes, &Limits::default());
            let _ = inflate_request(&bytes, 16, &Limits::default());
        }

        /// Whatever the budget, a deflated body is either whole within it or counted to its
        /// exact size past it.
        #[test]
        fn a_body_is_within_its_budget_or_counted_exactly(
            raw in proptest::collection::vec(0u8..4, 0..150_000),
            budget in 0usize..200_000,
        ) {
            let body = deflate(&raw);
            match inflate_request(&body, budget, &Limits::default()).unwrap() {
                Inflated::Within(whole) => {
                    prop_assert!(whole.len() <= budget);
                    prop_assert_eq!(whole, raw);
                }
                Inflated::Beyond { inflated } => {
                    prop_assert!(raw.len() > budget);
                    prop_assert_eq!(inflated, raw.len());
                }
            }
        }
    }
}
