//! Pieces used on every page.

mod keypad;
mod status_bar;

pub use keypad::Keypad;
pub use status_bar::StatusBar;
