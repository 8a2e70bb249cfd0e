//! Homerehab's domain crate: pure Rust, no I/O.
//!
//! - [`model`]: citizens, courses, programs, session logs, assessments and their validation;
//! - [`docs`]: the Automerge documents that hold them and the only functions that write them;
//! - [`schedule`]: the training week and when a course is due;
//! - [`auth`]: who may read and write which document;
//! - [`api`]: the JSON messages of sign-in and errors;
//! - [`admission`]: the server's check of incoming changes against schema and rights;
//! - [`sync`]: the sans-IO sync protocol (wire messages, client and server cores);
//! - [`library`]: the shipped exercise library and program templates.
pub mod admission;
pub mod api;
pub mod auth;
pub mod docs;
pub mod ids;
pub mod library;
pub mod model;
pub mod schedule;
pub mod sync;
