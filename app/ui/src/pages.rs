//! The screens.

mod not_carried_out;
mod pin;
mod session;
mod sign_in;
mod summary;
mod visits;

pub use not_carried_out::NotCarriedOut;
pub use pin::{ChoosePin, Unlock};
pub use session::Session;
pub use sign_in::SignIn;
pub use summary::Summary;
pub use visits::Visits;
