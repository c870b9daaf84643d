//! Step-up attempt limits that hold under concurrency, within one process and across
//! processes sharing a session store.
//!
//! A step-up (an emailed verification code, a TOTP code) allows [`MAX_ATTEMPTS`] tries.
//! Counting them in the session record is a read-modify-write: parallel requests each read the
//! same count and each write back their own, so 40 wrong codes posted at once were all checked
//! at WorkOS. Instead, before a code is checked, the request claims one of `MAX_ATTEMPTS`
//! *attempt slots*. Slot `k` is a record in the app's session store whose id is derived from
//! the step-up's secret [`Nonce`] (`SHA-256(nonce, k)`), so every process sharing the store
//! finds the same slots, and no one without the nonce (kept server-side, in the session) can
//! name them.
//!
//! A slot is claimed with [`SessionStore::create`], an insert-if-absent on the stores that
//! implement it (tower-sessions' `MemoryStore`, this crate's `stores::MemoryStore`,
//! `stores::redis::RedisStore` with `SET NX`, `stores::postgres::PostgresStore` with
//! `insert … on conflict do nothing`): on a collision they give the new record another id,
//! which tells the claimant the slot was taken (the record made under the new id is deleted).
//! On these stores the limit is exact.
//!
//! Other stores' `create` is check-then-upsert (tower-sessions-sqlx-store's own stores run
//! `select exists` and then `insert … on conflict do update`), so two racing creates can both
//! succeed; a store with the default `create` (a plain `save`) cannot detect a collision at
//! all. So a slot that is found present is skipped without writing, and after a successful
//! create the claimant writes a random value, waits [`VERIFY_DELAY`] and reads the slot back:
//! only the claimant still recorded wins, the other moves on to the next slot. The delay must
//! cover the window between a racing request's existence check and its write. That is one
//! store round trip, normally well under 10 ms, but not under load: with 50 posts at once on
//! tower-sessions-sqlx-store's PostgreSQL store, a request waiting for a pooled connection
//! between its check and its write let a sixth code through. On such stores the limit is
//! kept only while no round trip stalls for longer than the delay; use a store whose
//! `create` is an insert-if-absent.
//!
//! Within one process, tries at one step-up are also serialized by a per-step-up async lock,
//! so a process never races itself. Slots expire with the step-up (at most ten minutes).
//!
//! Without a store handle (the app built its own `SessionManagerLayer` rather than
//! `AuthKit::session_layer`), slots are counted in this process only, with one warning: the
//! limit then holds per process, not across processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;

use crate::SecretString;

/// Tries allowed per step-up (wrong codes, and tries that could not reach WorkOS: their code
/// may have been checked).
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// How long a claimant waits before reading its slot back (see the module docs).
pub(crate) const VERIFY_DELAY: Duration = Duration::from_millis(30);

/// The key, in a slot record, of the claimant's random value.
const CLAIMANT_KEY: &str = "authkit.attempt";

/// A step-up's secret nonce: 256 random bits, kept server-side with the step-up. Redacted in
/// `Debug`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Nonce(SecretString);

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonce([redacted])")
    }
}

impl Nonce {
    /// A new random nonce.
    pub(crate) fn random() -> Self {
        let bytes: [u8; 32] = rand::random();
        Nonce(SecretString::new(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The record id of attempt slot `k`.
    fn slot(&self, k: u32) -> Id {
        self.derive(b"slot", k)
    }

    /// The key of this step-up's in-process lock and local count.
    fn key(&self) -> i128 {
        self.derive(b"lock", 0).0
    }

    fn derive(&self, purpose: &[u8], k: u32) -> Id {
        let digest = crate::digest::sha256(&[
            b"authkit-axum step-up attempt ",
            purpose,
            &[0],
            self.0.expose_secret().as_bytes(),
            &k.to_be_bytes(),
        ]);
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        Id(i128::from_le_bytes(first))
    }
}

/// A claimed attempt: the right to check one code at WorkOS. Holds this process's lock of the
/// step-up until dropped, so keep it until the code has been checked.
#[derive(Debug)]
pub(crate) struct Attempt {
    number: u32,
    _serial: tokio::sync::OwnedMutexGuard<()>,
}

impl Attempt {
    /// Which try this is, from 1 to [`MAX_ATTEMPTS`].
    pub(crate) fn number(&self) -> u32 {
        self.number
    }

    /// Whether no try is left after this one.
    pub(crate) fn is_last(&self) -> bool {
        self.number >= MAX_ATTEMPTS
    }
}

/// The outcome of [`AttemptLimiter::claim`].
#[derive(Debug)]
pub(crate) enum Claim {
    /// A slot was claimed: the code may be checked.
    Granted(Attempt),
    /// Every slot is taken: the step-up is over, and no code may be checked.
    Exhausted,
}

/// Claims attempt slots; one per `AuthKit`.
pub(crate) struct AttemptLimiter {
    /// Per step-up, the lock that serializes this process's tries.
    locks: Mutex<HashMap<i128, Weak<tokio::sync::Mutex<()>>>>,
    /// Without a store handle: tries used per step-up, and when the step-up expires.
    local: Mutex<HashMap<i128, (u32, OffsetDateTime)>>,
    warned: Once,
}

impl Default for AttemptLimiter {
    fn default() -> Self {
        AttemptLimiter {
            locks: Mutex::default(),
            local: Mutex::default(),
            warned: Once::new(),
        }
    }
}

impl AttemptLimiter {
    /// Claims the next attempt slot of the step-up with `nonce`, which expires at
    /// `expires_at`, in `store` (or, without one, in this process).
    pub(crate) async fn claim(
        &self,
        store: Option<&dyn SessionStore>,
        nonce: &Nonce,
        expires_at: OffsetDateTime,
    ) -> Result<Claim, session_store::Error> {
        let serial = self.lock(nonce.key()).await;
        let number = match store {
            Some(store) => claim_in_store(store, nonce, expires_at, VERIFY_DELAY).await?,
            None => self.claim_locally(nonce.key(), expires_at),
        };
        Ok(match number {
            Some(number) => Claim::Granted(Attempt {
                number,
                _serial: serial,
            }),
            None => Claim::Exhausted,
        })
    }

    /// The step-up's lock in this process (shared by the requests at it, dropped with them).
    pub(crate) async fn lock(&self, key: i128) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.retain(|_, lock| lock.strong_count() > 0);
            match locks.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    fn claim_locally(&self, key: i128, expires_at: OffsetDateTime) -> Option<u32> {
        self.warned.call_once(|| {
            tracing::warn!(
                "step-up attempts are counted in this process only: the session layer was not \
                 made by `authkit.session_layer(store)` or `authkit.layer(store)`, so AuthKit \
                 has no handle to the session store. Instances sharing the store each allow \
                 the attempts; build the session layer with `authkit.session_layer(store)` to \
                 limit them across instances"
            );
        });
        let now = OffsetDateTime::now_utc();
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        local.retain(|_, (_, until)| *until > now);
        let (used, _) = local.entry(key).or_insert((0, expires_at));
        (*used < MAX_ATTEMPTS).then(|| {
            *used += 1;
            *used
        })
    }
}

/// Claims the first free slot of `nonce` in `store`; `None` when all are taken.
async fn claim_in_store(
    store: &dyn SessionStore,
    nonce: &Nonce,
    expires_at: OffsetDateTime,
    verify_delay: Duration,
) -> Result<Option<u32>, session_store::Error> {
    for k in 0..MAX_ATTEMPTS {
        let id = nonce.slot(k);
        // Taken already: skip it without writing (a store whose `create` cannot detect a
        // collision would overwrite it).
        if store.load(&id).await?.is_some() {
            continue;
        }
        let claimant = serde_json::Value::String(format!("{:032x}", rand::random::<u128>()));
        let mut record = Record {
            id,
            data: [(CLAIMANT_KEY.to_owned(), claimant.clone())]
                .into_iter()
                .collect(),
            expiry_date: expires_at,
        };
        store.create(&mut record).await?;
        if record.id != id {
            // The slot was taken between the check and the create: the store made our record
            // under another id instead. Remove it and try the next slot.
            store.delete(&record.id).await?;
            continue;
        }
        // A check-then-upsert store may have let a racing claimant overwrite the slot: the
        // value still recorded after the delay decides.
        tokio::time::sleep(verify_delay).await;
        let recorded = store.load(&id).await?;
        if recorded.is_some_and(|r| r.data.get(CLAIMANT_KEY) == Some(&claimant)) {
            return Ok(Some(k + 1));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_sessions::MemoryStore;

    fn in_ten_minutes() -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::minutes(10)
    }

    #[test]
    fn slots_are_distinct_per_nonce_and_index_and_the_nonce_is_redacted() {
        let a = Nonce::random();
        let b = Nonce::random();
        assert_ne!(a.slot(0), a.slot(1));
        assert_ne!(a.slot(0), b.slot(0));
        assert_eq!(a.slot(3), a.clone().slot(3));
        assert_ne!(a.slot(0).0, a.key());
        assert_eq!(format!("{a:?}"), "Nonce([redacted])");
    }

    #[tokio::test]
    async fn five_slots_then_none_in_a_store() {
        let store = MemoryStore::default();
        let limiter = AttemptLimiter::default();
        let nonce = Nonce::random();
        for n in 1..=MAX_ATTEMPTS {
            match limiter.claim(Some(&store), &nonce, in_ten_minutes()).await {
                Ok(Claim::Granted(attempt)) => {
                    assert_eq!(attempt.number(), n);
                    assert_eq!(attempt.is_last(), n == MAX_ATTEMPTS);
                }
                other => panic!("attempt {n}: {other:?}"),
            }
        }
        let sixth = limiter.claim(Some(&store), &nonce, in_ten_minutes()).await;
        assert!(matches!(sixth, Ok(Claim::Exhausted)), "{sixth:?}");
        // Another step-up has its own slots.
        let other = limiter
            .claim(Some(&store), &Nonce::random(), in_ten_minutes())
            .await;
        assert!(matches!(other, Ok(Claim::Granted(_))));
    }

    #[tokio::test]
    async fn without_a_store_the_process_counts() {
        let limiter = AttemptLimiter::default();
        let nonce = Nonce::random();
        for _ in 0..MAX_ATTEMPTS {
            let claim = limiter.claim(None, &nonce, in_ten_minutes()).await;
            assert!(matches!(claim, Ok(Claim::Granted(_))));
        }
        let sixth = limiter.claim(None, &nonce, in_ten_minutes()).await;
        assert!(matches!(sixth, Ok(Claim::Exhausted)));
    }

    /// A store whose `create` is check-then-upsert with a gap between the two, like
    /// tower-sessions-sqlx-store's: two racing creates both succeed, the later write wins.
    #[derive(Debug, Clone, Default)]
    struct CheckThenUpsert(MemoryStore);

    #[async_trait::async_trait]
    impl SessionStore for CheckThenUpsert {
        async fn create(&self, record: &mut Record) -> session_store::Result<()> {
            while self.0.load(&record.id).await?.is_some() {
                record.id = Id::default();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            self.0.save(record).await
        }
        async fn save(&self, record: &Record) -> session_store::Result<()> {
            self.0.save(record).await
        }
        async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
            self.0.load(id).await
        }
        async fn delete(&self, id: &Id) -> session_store::Result<()> {
            self.0.delete(id).await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_claims_on_a_check_then_upsert_store_never_share_a_slot() {
        let store = CheckThenUpsert::default();
        let nonce = Nonce::random();
        // Forty claimants in "separate processes" (no shared lock), all at once.
        let claims = (0..40).map(|_| {
            let (store, nonce) = (store.clone(), nonce.clone());
            tokio::spawn(async move {
                claim_in_store(&store, &nonce, in_ten_minutes(), VERIFY_DELAY).await
            })
        });
        let mut granted: Vec<u32> = futures_util::future::join_all(claims)
            .await
            .into_iter()
            .filter_map(|r| r.unwrap().unwrap())
            .collect();
        granted.sort_unstable();
        assert!(granted.len() <= MAX_ATTEMPTS as usize, "{granted:?}");
        assert!(!granted.is_empty());
        let claimed = granted.len();
        granted.dedup();
        assert_eq!(granted.len(), claimed, "two claimants won one slot");
    }
}
