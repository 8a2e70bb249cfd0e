//! Pieces used on every page.

mod chart;
mod course_frame;
mod course_status;
mod keypad;
mod library_search;
mod nav_tabs;
mod settle;
mod status_bar;
mod timer;

pub use chart::TrendChart;
pub use course_frame::CourseFrame;
pub use course_status::{still_open, CourseStatus};
pub use keypad::Keypad;
pub use library_search::LibrarySearchPanel;
pub use nav_tabs::NavTabs;
pub use settle::Settle;
pub use status_bar::{clock, RefusalNotice, StatusBar};
pub use timer::Timer;
