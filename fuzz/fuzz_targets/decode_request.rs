//! The server's request decoding, as `POST /v1/sync` runs it on untrusted bytes: decompress
//! with a bound, decode the message, then parse each offered change set as Automerge does
//! before admission. Nothing may panic, loop or allocate without bound.
#![no_main]

use homerehab_shared::sync::wire::{decode_request, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    if let Ok(req) = decode_request(data, &limits) {
        for offer in req.offers {
            let mut doc = automerge::Automerge::new();
            let _ = doc.load_incremental(&offer.changes);
        }
    }
});
