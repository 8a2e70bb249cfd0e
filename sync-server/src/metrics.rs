//! Prometheus metrics: every metric name the server records is in this file.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use homerehab_shared::sync::ServeStats;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

const REQUESTS: &str = "homerehab_http_requests_total";
const SYNC_SECONDS: &str = "homerehab_sync_duration_seconds";
const SYNC_DOCUMENTS: &str = "homerehab_sync_documents_total";
const CACHE_HITS: &str = "homerehab_doc_cache_hits_total";
const CACHE_MISSES: &str = "homerehab_doc_cache_misses_total";
const SYNC_RETRIES: &str = "homerehab_sync_retries_total";
/// Syncs that waited for another sync of this process changing the same document (`turns.rs`).
const SYNC_TURN_WAITS: &str = "homerehab_sync_turn_waits_total";
/// Syncs whose request inflated past the slots its compressed size took, and waited for the
/// slots of its inflated size (`http::serve_in_slots`).
const SYNC_REWEIGHED: &str = "homerehab_sync_reweighed_total";
/// Answers whose changes were taken from the cache of built answers.
const ANSWERS_REUSED: &str = "homerehab_sync_answers_reused_total";
/// Answers whose changes were built from the document (not found in that cache).
const ANSWERS_BUILT: &str = "homerehab_sync_answers_built_total";
/// Refused change sets by what became of them: `kept` in quarantine, `full` (quarantine
/// full, not kept) or `dropped` (not the user's to write, or not theirs at all: never kept).
const REFUSED_CHANGE_SETS: &str = "homerehab_refused_change_sets_total";
const REFUSED_BYTES: &str = "homerehab_refused_change_bytes_total";
/// Requests or change sets that were the client's fault (bad encoding, corrupt changes), by
/// kind; the server's own faults are 5xx in `homerehab_http_requests_total`.
const CLIENT_ERRORS: &str = "homerehab_client_errors_total";
/// Documents waiting to be projected into the read model (its lag), and documents projected
/// or set aside because their rows could not be derived.
const READ_MODEL_PENDING: &str = "homerehab_read_model_pending_documents";
const READ_MODEL_PROJECTED: &str = "homerehab_read_model_projected_total";
const READ_MODEL_FAILED: &str = "homerehab_read_model_failed_total";
/// Projections answered from what the syncs' admission read, without reading the document.
const READ_MODEL_UNREAD: &str = "homerehab_read_model_unread_total";
/// Times the heap was trimmed when syncs and sign-ins went idle (`memory::Idle`).
const HEAP_TRIMS: &str = "homerehab_heap_trims_total";
/// Server time of one evidence report (`GET /v1/evidence`).
const EVIDENCE_SECONDS: &str = "homerehab_evidence_report_seconds";

/// The process-wide Prometheus recorder. A recorder can be installed once per process, so
/// every app built in it (tests build many) shares this one.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(SYNC_SECONDS.to_string()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ],
                )
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    Matcher::Full(EVIDENCE_SECONDS.to_string()),
                    &[0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0],
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

/// Renders the scrape payload.
pub fn render() -> String {
    let h = handle();
    // Without the HTTP exporter nobody else runs upkeep; a scrape is a fine moment.
    h.run_upkeep();
    h.render()
}

/// Middleware: counts requests by matched route and status.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let resp = next.run(req).await;
    metrics::counter!(REQUESTS, "route" => route, "status" => resp.status().as_u16().to_string())
        .increment(1);
    resp
}

pub fn record_sync(stats: &ServeStats, elapsed: Duration) {
    metrics::histogram!(SYNC_SECONDS).record(elapsed.as_secs_f64());
    for (outcome, n) in [
        ("unchanged", stats.unchanged),
        ("loaded", stats.loaded),
        ("accepted", stats.accepted),
        ("rejected", stats.rejected),
        ("sent_new", stats.sent_new),
    ] {
        metrics::counter!(SYNC_DOCUMENTS, "outcome" => outcome).increment(u64::from(n));
    }
    for (fate, sets, bytes) in [
        ("kept", stats.quarantined, stats.quarantined_bytes),
        ("full", stats.quarantine_full, stats.quarantine_full_bytes),
        ("dropped", stats.dropped, stats.dropped_bytes),
    ] {
        metrics::counter!(REFUSED_CHANGE_SETS, "fate" => fate).increment(u64::from(sets));
        metrics::counter!(REFUSED_BYTES, "fate" => fate).increment(bytes);
    }
    if stats.corrupt > 0 {
        metrics::counter!(CLIENT_ERRORS, "kind" => "corrupt_changes")
            .increment(u64::from(stats.corrupt));
    }
}

/// Counts a request that was the client's fault (see [`CLIENT_ERRORS`]).
pub fn client_error(kind: &'static str) {
    metrics::counter!(CLIENT_ERRORS, "kind" => kind).increment(1);
}

pub fn heap_trimmed() {
    metrics::counter!(HEAP_TRIMS).increment(1);
}

pub fn cache_hit() {
    metrics::counter!(CACHE_HITS).increment(1);
}

pub fn cache_miss() {
    metrics::counter!(CACHE_MISSES).increment(1);
}

/// Counts an answer's changes taken from the cache instead of built again.
pub fn answer_reused() {
    metrics::counter!(ANSWERS_REUSED).increment(1);
}

/// Counts an answer's changes built from the document (none were cached for its heads).
pub fn answer_built() {
    metrics::counter!(ANSWERS_BUILT).increment(1);
}

/// Counts a sync served again because a document moved under it (another sync committed to
/// it first).
pub fn sync_retried() {
    metrics::counter!(SYNC_RETRIES).increment(1);
}

pub fn sync_waited_turn() {
    metrics::counter!(SYNC_TURN_WAITS).increment(1);
}

pub fn sync_reweighed() {
    metrics::counter!(SYNC_REWEIGHED).increment(1);
}

pub fn read_model_round(round: &crate::store::ProjectionRound, unread: u64) {
    metrics::gauge!(READ_MODEL_PENDING).set(round.pending as f64);
    metrics::counter!(READ_MODEL_UNREAD).increment(unread);
    metrics::counter!(READ_MODEL_PROJECTED).increment(round.projected as u64);
    metrics::counter!(READ_MODEL_FAILED).increment(round.failed as u64);
}

pub fn evidence_report(elapsed: Duration) {
    metrics::histogram!(EVIDENCE_SECONDS).record(elapsed.as_secs_f64());
}
