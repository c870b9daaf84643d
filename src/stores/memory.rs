//! [`MemoryStore`]: sessions in this process's memory, deleted when they expire.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions::{ExpiredDeletion, SessionStore};

/// A session store in this process's memory, for an app that runs as one process (and for
/// tests). Unlike tower-sessions' `MemoryStore`, it deletes expired records: run
/// [`continuously_delete_expired`](ExpiredDeletion::continuously_delete_expired) next to the
/// app, or memory grows with every session ever started (a sign-in that is never finished
/// leaves a record that expires in ten minutes, but stays in memory until deleted).
///
/// ```no_run
/// use std::time::Duration;
/// use authkit_axum::stores::MemoryStore;
/// use authkit_axum::tower_sessions::ExpiredDeletion;
/// use authkit_axum::{AuthKit, Client};
/// use axum::Router;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
/// let authkit = AuthKit::builder(client, "http://localhost:3000/auth/callback").build()?;
/// let store = MemoryStore::default();
/// // Every minute, delete the records that have expired.
/// tokio::spawn(store.clone().continuously_delete_expired(Duration::from_secs(60)));
/// let app: Router = Router::new()
///     .merge(authkit.router())
///     .layer(authkit.layer(store));
/// # Ok(()) }
/// ```
///
/// Expired records are never returned by [`load`](SessionStore::load), deleted or not. Clones
/// share the records. `Debug` shows how many records there are, never their contents.
#[derive(Clone, Default)]
pub struct MemoryStore {
    records: Arc<Mutex<HashMap<Id, Record>>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records the store holds, expired ones not yet deleted included.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// A copy of every record the store holds, expired ones not yet deleted included (for
    /// tests and diagnostics: the records hold the sessions' tokens).
    pub fn records(&self) -> Vec<Record> {
        self.lock().values().cloned().collect()
    }

    /// Deletes the records that have expired by `now`, and returns how many were deleted.
    /// [`ExpiredDeletion::delete_expired`] is `delete_expired_at(OffsetDateTime::now_utc())`;
    /// a test can pass a later time to see what a deletion pass will leave then.
    pub fn delete_expired_at(&self, now: OffsetDateTime) -> usize {
        let mut records = self.lock();
        let before = records.len();
        records.retain(|_, record| record.expiry_date > now);
        before - records.len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Id, Record>> {
        // A panic while holding the lock cannot leave a record half written.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn is_active(record: &Record, now: OffsetDateTime) -> bool {
    record.expiry_date > now
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    /// Inserts `record` if no active record has its id; on a collision, gives it a new id.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let now = OffsetDateTime::now_utc();
        let mut records = self.lock();
        while records.get(&record.id).is_some_and(|r| is_active(r, now)) {
            record.id = Id::default();
        }
        records.insert(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.lock().insert(record.id, record.clone());
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc();
        Ok(self.lock().get(id).filter(|r| is_active(r, now)).cloned())
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.lock().remove(id);
        Ok(())
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for MemoryStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let deleted = self.delete_expired_at(OffsetDateTime::now_utc());
        tracing::debug!(deleted, "deleted expired sessions");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn record(expires_in: Duration) -> Record {
        Record {
            id: Id::default(),
            data: [("k".to_owned(), serde_json::json!("v"))]
                .into_iter()
                .collect(),
            expiry_date: OffsetDateTime::now_utc() + expires_in,
        }
    }

    #[tokio::test]
    async fn records_round_trip_and_expired_ones_are_not_loaded() {
        let store = MemoryStore::new();
        let mut live = record(Duration::minutes(10));
        let mut gone = record(-Duration::seconds(1));
        store.create(&mut live).await.unwrap();
        store.create(&mut gone).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), Some(live.clone()));
        assert_eq!(store.load(&gone.id).await.unwrap(), None);
        assert_eq!(store.len(), 2);
        store.delete(&live.id).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn create_never_replaces_an_active_record() {
        let store = MemoryStore::new();
        let mut first = record(Duration::minutes(10));
        store.create(&mut first).await.unwrap();
        let mut second = record(Duration::minutes(10));
        second.id = first.id;
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id);
        assert_eq!(store.load(&first.id).await.unwrap(), Some(first));
    }

    #[tokio::test]
    async fn deletion_as_of_a_time_removes_what_has_expired_by_then() {
        let store = MemoryStore::new();
        let mut soon = record(Duration::minutes(10));
        let mut later = record(Duration::days(7));
        store.create(&mut soon).await.unwrap();
        store.create(&mut later).await.unwrap();
        store.delete_expired().await.unwrap();
        assert_eq!(store.len(), 2);
        let eleven_minutes_on = OffsetDateTime::now_utc() + Duration::minutes(11);
        assert_eq!(store.delete_expired_at(eleven_minutes_on), 1);
        assert_eq!(store.records(), vec![later]);
        assert_eq!(format!("{store:?}"), "MemoryStore { records: 1 }");
    }
}
