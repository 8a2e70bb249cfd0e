//! The device's response decoding, as its sync runs it on the server's bytes: decompress with a
//! bound, decode the message, then apply each reply's changes to a scratch document as the
//! device's store does (behind its panic boundary: `app/core/src/store/sync_state.rs`
//! `received`). Nothing may panic past that boundary, loop or allocate without bound.
#![no_main]

use homerehab_shared::sync::wire::{decode_response, Limits};
use libfuzzer_sys::fuzz_target;
use std::sync::Once;

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on any panic, even a caught one: only one that escapes counts.
    static QUIET: Once = Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let limits = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    if let Ok(resp) = decode_response(data, &limits) {
        for reply in resp.replies {
            let _ = std::panic::catch_unwind(|| {
                let mut doc = automerge::Automerge::new();
                let _ = doc.load_incremental(&reply.changes);
            });
        }
    }
});
