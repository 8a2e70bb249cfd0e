//! The server's request decoding, as `POST /v1/sync` runs it on untrusted bytes: decompress
//! within a budget (the sync slots', then the limit), decode the message, then parse each offered change set as Automerge does
//! before admission. Nothing may panic, loop or allocate without bound.
#![no_main]

use homerehab_shared::sync::wire::{decode_inflated_request, inflate_request, Inflated, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    // A small budget first, as for a body that weighs one slot; then the whole limit.
    let raw = match inflate_request(data, 1 << 12, &limits) {
        Ok(Inflated::Within(raw)) => raw,
        Ok(Inflated::Beyond { inflated }) => {
            // Counted past the budget, within the limit: inflated whole, it is that size.
            assert!(inflated > 1 << 12 && inflated <= limits.max_decompressed);
            match inflate_request(data, usize::MAX, &limits) {
                Ok(Inflated::Within(raw)) => {
                    assert_eq!(raw.len(), inflated);
                    raw
                }
                other => panic!("counted {inflated} bytes, then {other:?}"),
            }
        }
        Err(_) => return,
    };
    if let Ok(req) = decode_inflated_request(&raw, &limits) {
        for offer in req.offers {
            let mut doc = automerge::Automerge::new();
            let _ = doc.load_incremental(&offer.changes);
        }
    }
});
