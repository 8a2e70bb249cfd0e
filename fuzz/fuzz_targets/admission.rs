//! The whole admission path as `POST /v1/sync` runs it on untrusted bytes: decode a request
//! (or take raw Automerge bytes as one offer), then admit each offer on a fork of a real stored
//! course or session log (or as a new document) for a therapist and an assistant, and use what
//! passed (save, changes for the device). Nothing may panic past admission's panic boundary.
//!
//! libfuzzer-sys aborts on any panic, even a caught one; by default this target restores a
//! quiet hook so only a panic that escapes the boundary counts. `ADMISSION_FUZZ_RAW_PANICS=1`
//! keeps the abort, to collect Automerge's own panics for the upstream report.
#![no_main]

use homerehab_fuzz::World;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        if std::env::var_os("ADMISSION_FUZZ_RAW_PANICS").is_none() {
            std::panic::set_hook(Box::new(|_| {}));
        }
        World::new()
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = world().run(data);
});
