//! The sans-IO sync core. The device and the server each implement a storage trait
//! ([`ClientStorage`], [`ServerStorage`]); the functions here decide what to send and what to
//! store. Transports (HTTP in the app and server, a simulated network in tests) only move the
//! bytes that [`wire`] encodes.
//!
//! One sync is one request and one response, plus another pair when the server misses history
//! and asks for whole documents ([`ReplyStatus::SendFull`]), and another per
//! [`REQUEST_CHANGE_BYTES`] of changes beyond the first (issue #13, [`split_offers`]): a
//! device that kept a month of work offline sends it in requests of bounded size. Unchanged documents cost their id and heads on the way up
//! and nothing on the way down; the server answers them from stored heads without loading them.

mod changes;
pub mod chunks;
pub mod client;
pub mod compaction;
pub mod rebase;
pub mod server;
pub mod sim;
pub mod squash;
pub mod wire;

pub use changes::{
    changes_since, changes_since_kept, offer_changes, raw_changes_since, OfferedChanges,
};
pub use client::{
    plan_offer, split_offers, ClientRound, ClientStorage, OfferPlan, PendingOffer, Refusal,
    RequestOffers, SyncReport, UnsentChanges, REQUEST_CHANGE_BYTES,
};
pub use rebase::{rebase_unsent, Rebased};
pub use server::{serve_sync, Quarantine, SavedDocument, ServeStats, ServerStorage};
pub use squash::{foldable, squash_unseen, Squash};
pub use wire::{Hash, Offer, Reply, ReplyStatus, SyncRequest, SyncResponse, PROTOCOL_VERSION};
