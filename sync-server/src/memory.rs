//! How the server process gives memory back (glibc's malloc; elsewhere these do nothing).
//!
//! - [`bound_malloc_arenas`]: glibc gives a thread that finds the arenas busy one of its own,
//!   up to 8 per core, and an arena keeps what was freed in it. A reconnect burst runs hundreds
//!   of blocking threads at once, so the server kept 172 MiB after the scale bench's burst;
//!   with one arena per core 148 MiB. Syncs wait on the database far more than on malloc, so
//!   fewer arenas cost no measurable time.
//! - [`Idle`]: what a burst freed stays in the arenas, mapped, until the heap's top is free.
//!   When the last sync or sign-in in flight finishes, `malloc_trim` hands the free pages
//!   back (2–7 ms over the scale bench's heap, at most once per [`TRIM_GAP`], on a blocking
//!   thread; issue #13: RSS after the scale bench's burst 151–169 → 97–107 MiB on SQLite,
//!   docs/benchmarks.md).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most one trim per this long; a server going idle again sooner is trimmed at its end.
pub const TRIM_GAP: Duration = Duration::from_secs(1);

/// Bounds malloc's arenas to one per core. Call it first in `main`, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn bound_malloc_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // SAFETY: sets one of malloc's parameters; called first in `main`, before any thread.
    unsafe {
        libc::mallopt(
            libc::M_ARENA_MAX,
            cores.try_into().unwrap_or(libc::c_int::MAX),
        );
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn bound_malloc_arenas() {}

/// Hands free heap pages back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only releases memory malloc holds free; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// Counts the syncs and sign-ins in flight, and trims the heap when they reach none.
#[derive(Debug, Default)]
pub struct Idle {
    in_flight: AtomicUsize,
    last_trim: Mutex<Option<Instant>>,
    /// A trim is waiting for [`TRIM_GAP`] to pass.
    trailing: AtomicBool,
    trims: AtomicUsize,
}

/// One piece of work in flight; dropping it may start a trim.
pub struct Working(Arc<Idle>);

impl Idle {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Counts a piece of work until the guard is dropped.
    pub fn working(self: &Arc<Self>) -> Working {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Working(self.clone())
    }

    /// How many trims this one ran (`homerehab_heap_trims_total` counts every one).
    pub fn trims(&self) -> usize {
        self.trims.load(Ordering::Relaxed)
    }

    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
    }

    /// The server went idle: trim now, or once the gap since the last trim has passed.
    fn went_idle(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let wait = {
            let last = self.last_trim.lock().unwrap_or_else(|e| e.into_inner());
            last.map_or(Duration::ZERO, |t| TRIM_GAP.saturating_sub(t.elapsed()))
        };
        if wait > Duration::ZERO && self.trailing.swap(true, Ordering::SeqCst) {
            return; // a trailing trim is already waiting
        }
        let me = self.clone();
        runtime.spawn(async move {
            if wait > Duration::ZERO {
                tokio::time::sleep(wait).await;
                me.trailing.store(false, Ordering::SeqCst);
            }
            // Busy again meanwhile: the next time it goes idle trims.
            if !me.is_idle() {
                return;
            }
            {
                let mut last = me.last_trim.lock().unwrap_or_else(|e| e.into_inner());
                if last.is_some_and(|t| t.elapsed() < TRIM_GAP) {
                    return;
                }
                *last = Some(Instant::now());
            }
            let counted = me.clone();
            let _ = tokio::task::spawn_blocking(move || {
                trim();
                counted.trims.fetch_add(1, Ordering::Relaxed);
                crate::metrics::heap_trimmed();
            })
            .await;
        });
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.went_idle();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn going_idle_trims_at_once_then_at_most_once_per_gap_and_never_while_busy() {
        let idle = Idle::new();
        let a = idle.working();
        let b = idle.working();
        drop(a);
        settle().await;
        assert_eq!(idle.trims(), 0, "one still in flight");
        drop(b);
        settle().await;
        assert_eq!(idle.trims(), 1, "idle: trimmed at once");
        // Idle again twice within the gap: one trailing trim, after the gap.
        drop(idle.working());
        drop(idle.working());
        settle().await;
        assert_eq!(idle.trims(), 1, "within the gap");
        tokio::time::sleep(TRIM_GAP).await;
        assert_eq!(idle.trims(), 2, "the trailing trim ran once");
        // Busy when the trailing trim's time comes: none.
        tokio::time::sleep(TRIM_GAP).await;
        drop(idle.working());
        settle().await;
        assert_eq!(idle.trims(), 3);
        drop(idle.working());
        let busy = idle.working();
        tokio::time::sleep(TRIM_GAP + Duration::from_millis(100)).await;
        assert_eq!(idle.trims(), 3, "busy at the trailing trim's time");
        drop(busy);
        settle().await;
        assert_eq!(idle.trims(), 4, "idle again: trimmed");
    }
}
