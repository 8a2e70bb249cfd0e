//! The operations the UI calls, as plain functions over [`crate::Core`]: DTO in, app core call, DTO
//! out. Both transports reach these through [`Core::call`] (which first checks the operation's
//! capability), so the two cannot behave differently. No SQL here: reads and writes go through
//! `homerehab_core::store::Store`; this module only parses ids and shapes answers.

pub(crate) mod convert;
mod device;
mod devices;
mod effect;
mod effect_settings;
mod evidence;
mod municipal_library;
mod retention;
mod screening;
mod session;
mod therapist;
pub use convert::lang;
pub use device::*;
pub use devices::*;
pub use effect::*;
pub use effect_settings::*;
pub use evidence::*;
pub use municipal_library::*;
pub use retention::*;
pub use screening::{refer_citizen, referral_funnel, referrals, screen_referral, screening_setup};
pub use session::*;
pub use therapist::*;
