//! [`Clock`]: the time the session core compares token expiries, grace periods and back-offs
//! with. The system clock in production; in tests, a clock that can be moved forward in step
//! with the emulator's, so nothing has to sleep.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time as the session core sees it: the system clock, plus an offset that only an
/// [`adjustable`](Clock::adjustable) clock can change. Cheap to clone; clones share the offset.
///
/// ```
/// use std::time::Duration;
/// use authkit_axum::session::Clock;
///
/// let clock = Clock::adjustable();
/// let before = clock.unix();
/// clock.advance(Duration::from_secs(600));
/// assert!(clock.unix() >= before + 600);
/// assert!(Clock::system().unix() < before + 600);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system clock; `None` for the plain system clock.
    offset: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { offset: None }
    }

    /// The system clock, plus an offset that [`advance`](Clock::advance) moves forward (for
    /// tests: advance it together with the emulator's clock).
    pub fn adjustable() -> Clock {
        Clock {
            offset: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Moves an adjustable clock forward (does nothing to the system clock).
    pub fn advance(&self, by: Duration) {
        if let Some(offset) = &self.offset {
            let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            offset.fetch_add(ms, Ordering::Relaxed);
        }
    }

    /// The time now.
    pub fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        match &self.offset {
            None => now,
            Some(offset) => {
                let ms = offset.load(Ordering::Relaxed);
                if ms >= 0 {
                    now + Duration::from_millis(ms as u64)
                } else {
                    now - Duration::from_millis(ms.unsigned_abs())
                }
            }
        }
    }

    /// The time now, Unix seconds.
    pub fn unix(&self) -> i64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// A Unix time (seconds) as a [`SystemTime`] (times before 1970 are 1970).
pub(crate) fn from_unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}
