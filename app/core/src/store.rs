//! The device's local store: one SQLite file (WAL, `synchronous=FULL`) holding the Automerge
//! documents (snapshot + incremental changes), the heads the server last confirmed, the outbox
//! of documents with unsent changes, and relational projections the UI and statistics query.
//!
//! Every write is one SQLite transaction that stores the new Automerge change *and* updates the
//! projections; it is committed before the call returns, so a confirmed set survives a crash.
//!
//! One file per job; this file only declares them and says what the crate sees:
//! - `database`: [`Store`] itself — open, the documents in memory, the write transaction;
//! - `encryption`: SQLCipher, the key file, the migration of a plain store (issue #14);
//!   `sealing`: how its files are found at open (no `Store`, so `database` can ask first);
//! - `schema`: the migrations (only ever appended);
//! - `documents`: a document on disk — its log, loading, compaction, damaged rows set aside;
//! - `projection`: the rows that mirror each document; `views`: the queries over them;
//! - `writes`: the domain operations (create a course, log a set…);
//! - `identity`: who is signed in, and the app lock's PIN persistence;
//! - `sync_state`: the status line, refusals, and the `ClientStorage` a sync round runs over;
//! - `squash`: a document's unsent changes squashed into one before a sync, and what was sent;
//! - `handover`: a different user signing in (parking another user's unsent work);
//! - `audit`: the device's audit log of look-ups, kept offline and sent after each sync;
//! - `evidence_cache`: the leaders' evidence as last fetched, per user, for offline reading;
//! - `municipal`, `media_state`: the municipality's library and the media the device holds;
//! - `revocation`: the device id, and a revoked device's erasure; `erasure`: its files and
//!   the notice kept of it (no database, so opening can finish an erasure first);
//! - `erased`: documents the municipality erased or rewrote (issue #14 item 5) — deleted with
//!   every derived row, or replaced by their new generation with unsent work rebased — and the
//!   files scrubbed of them (`secure_delete`, `VACUUM`, the WAL truncated);
//! - `folder_lock`: one process per data folder; `clock`, `columns`: small shared helpers.

mod audit;
mod clock;
mod columns;
mod database;
mod documents;
mod encryption;
mod erased;
mod erasure;
mod evidence_cache;
#[cfg(test)]
pub(crate) mod fixtures;
mod folder_lock;
mod handover;
mod identity;
mod media_state;
mod municipal;
mod projection;
mod revocation;
mod schema;
mod sealing;
mod squash;
mod sync_state;
mod views;
mod writes;

pub use clock::now_ms;
pub use database::{export_support, SharedStore, Store};
pub use erased::Replacement;
pub use erasure::{revoke_notice, NOTICE_FILE};
pub use evidence_cache::CachedEvidence;
pub use handover::Handover;
pub use identity::Identity;
pub use media_state::{MediaSettings, PrefetchReport};
pub use sync_state::{RefusedDocument, SyncStatus};
pub use views::*;
