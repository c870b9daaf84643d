//! [`FlakyStore`]: a session store that can be taken down and brought back, like a Redis or a
//! database that restarts, for the outage tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use authkit_axum::tower_sessions::session::{Id, Record};
use authkit_axum::tower_sessions::session_store::{Error, Result};
use authkit_axum::tower_sessions::{MemoryStore, SessionStore};

/// A [`MemoryStore`] whose every operation fails (as a backend I/O error) while it is down.
#[derive(Debug, Clone, Default)]
pub struct FlakyStore {
    pub inner: MemoryStore,
    down: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
}

impl FlakyStore {
    /// Takes the store down (`true`) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many operations failed because the store was down.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::SeqCst)
    }

    fn check(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            self.failures.fetch_add(1, Ordering::SeqCst);
            return Err(Error::Backend(
                "connection refused (the store is down)".into(),
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl SessionStore for FlakyStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        self.check()?;
        self.inner.create(record).await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.check()?;
        self.inner.save(record).await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        self.check()?;
        self.inner.load(id).await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.check()?;
        self.inner.delete(id).await
    }
}
