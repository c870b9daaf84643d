//! The single-flight map of refreshes: one entry per refresh token being spent (in flight,
//! recently succeeded, or backing off after a failure), and what a refresh ends with.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use futures_util::future::{BoxFuture, Shared};

use super::stored::AuthSession;

/// The result of a refresh.
#[derive(Clone, Debug)]
pub(crate) enum Refreshed {
    /// New tokens, verified; `true` when they are in the store already (else they are being
    /// saved in the background until the store takes them).
    Ok(Box<AuthSession>, bool),
    /// WorkOS refused the refresh token (used, revoked, session ended): signed out.
    Invalid,
    /// WorkOS could not be reached or failed, or its tokens could not be verified yet: the
    /// session keeps its current (verified) tokens; try again at `retry_at`.
    Transient { retry_at: SystemTime },
}

pub(crate) type Flight = Shared<BoxFuture<'static, Refreshed>>;

/// The refresh state of one refresh token.
pub(crate) struct Entry {
    /// When the flight started (real time, for forgetting old entries).
    pub started: Instant,
    /// The entry's number, so a finished flight only clears its own entry.
    pub id: u64,
    pub flight: Flight,
    /// Failures in a row of this session's refresh (for the back-off).
    pub failures: u32,
}

/// The refreshes in flight, recently succeeded or backing off, keyed by the SHA-256 of the
/// refresh token being spent.
#[derive(Default)]
pub(crate) struct Refresher {
    pub entries: Mutex<HashMap<[u8; 32], Entry>>,
    pub calls: AtomicU64,
    pub next_id: AtomicU64,
}

impl Refresher {
    /// How many refresh calls were made to WorkOS.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
