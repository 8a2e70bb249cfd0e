//! The messages between the Homerehab UI and the app core, as plain serde types.
//!
//! Both transports carry exactly these: the local HTTP API (`homerehab-local-api`, for browsers
//! and the end-to-end tests) and, later, the Tauri commands. The UI (wasm) and the native side
//! compile this same crate, so the two cannot drift apart. Ids travel as strings (UUIDs); the
//! native side parses them into the domain's typed ids.
//!
//! Errors are always [`ApiError`]: `{"kind": "...", "message": "..."}`.

mod device;
mod dosage;
mod effect;
mod effect_settings;
mod evidence;
mod media;
mod operations;
mod retention;
mod screening;
mod session;
mod therapist;
pub use device::*;
pub use dosage::*;
pub use effect::*;
pub use effect_settings::*;
pub use evidence::*;
pub use media::*;
pub use operations::*;
pub use retention::*;
pub use screening::*;
pub use session::*;
pub use therapist::*;
