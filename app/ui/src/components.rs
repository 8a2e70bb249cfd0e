//! Pieces used on every page.

mod status_bar;

pub use status_bar::StatusBar;
