//! Homerehab's domain crate: pure Rust, no I/O.
//!
//! - [`model`]: citizens, courses, programs, session logs, assessments and their validation;
//! - [`docs`]: the Automerge documents that hold them and the only functions that write them;
//! - [`schedule`]: the training week, when a course is due, its week and sessions planned so far;
//! - [`caseload`]: adherence and the flags on a therapist's caseload;
//! - [`stats`]: per-exercise totals and trends from session logs;
//! - [`assessment`]: the assessment catalogue (30-s chair stand, TUG, …) and its value ranges;
//! - [`effect`]: effect measurement: judged change, WHO-5, test plans, goals, home-care time;
//! - [`evidence`]: the leaders' evidence: targets, funnel, staff in use, cohort effect,
//!   business case, suppression and benchmark (pure arithmetic over the read model's facts);
//! - [`export`]: the BI feed: the read model's tables as documented CSV files, and who exports
//!   which teams;
//! - [`program`]: the program editor's save as the smallest set of edits;
//! - [`program_sheet`]: what the citizen's printed copy of the program holds;
//! - [`rules`]: the rules that need a document's history (a course's first status, the
//!   stale-revision guard), run by the device before writing and by admission;
//! - [`auth`]: who may read and write which document;
//! - [`api`]: the JSON messages of sign-in and errors;
//! - [`admission`]: the server's check of incoming changes against schema and rights;
//! - [`sync`]: the sans-IO sync protocol (wire messages, client and server cores);
//! - [`library`]: the shipped exercise library and program templates;
//! - [`municipal`]: a municipality's own library document (exercises, templates, media);
//! - [`retention`]: how long each kind of record is kept per municipality, and what is past it.
pub mod admission;
pub mod api;
pub mod assessment;
pub mod audit;
pub mod auth;
pub mod caseload;
pub mod device_registry;
pub mod docs;
pub mod effect;
pub mod evidence;
pub mod export;
pub mod fhir;
pub mod ids;
pub mod library;
pub mod model;
pub mod municipal;
pub mod net;
pub mod program;
pub mod program_sheet;
pub mod read_model;
pub mod retention;
pub mod rules;
pub mod schedule;
pub mod stats;
pub mod sync;
