//! The per-process cache of decoded sessions: each revision of a stored session is decoded
//! once, into the [`AuthUser`] handlers get, and found again by the session id and revision on
//! every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tower_sessions::Session;
use tower_sessions::session::Id;

use super::extract::AuthUser;
use crate::session::clock::from_unix;
pub(crate) use crate::session::stored::*;

/// A decoded session, the [`AuthUser`] made from it, and when it is due for a refresh.
pub(crate) struct Loaded {
    pub session: AuthSession,
    pub user: AuthUser,
    /// The access token's expiry less the refresh margin: before it, the session is served
    /// as it is (unless it holds unverified tokens).
    pub refresh_at: SystemTime,
    /// The access token's expiry.
    pub expires_at: SystemTime,
    /// The session holds tokens that are not verified yet (see [`AuthSession`]'s `unverified`).
    pub unverified: bool,
}

/// The last decoded session of each session record, keyed by the record's id and checked
/// against the revision stored with it, so a signed-in request reads one number from the
/// session rather than its whole text (tower-sessions copies every value it returns). A
/// refreshed, replaced or signed-out session has another revision (or none) and is read afresh.
pub(crate) struct SessionCache {
    entries: Mutex<HashMap<Id, Cached, BuildIdHasher>>,
    /// How long before its expiry an access token is refreshed.
    refresh_margin: Duration,
    /// Whether the margin was found too long for a token's lifetime (warned once).
    clamped: std::sync::atomic::AtomicBool,
    /// Counts unreadable sessions.
    stats: Arc<crate::session::stats::Stats>,
}

struct Cached {
    revision: u64,
    loaded: Arc<Loaded>,
}

/// Hashes session ids (random 128-bit numbers made by tower-sessions; only ids of records
/// found in the store are cached) by folding their halves.
#[derive(Default, Clone, Copy)]
pub(crate) struct BuildIdHasher;

impl std::hash::BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(SEED);
        }
    }

    fn write_i128(&mut self, id: i128) {
        let folded = (id as u64) ^ ((id >> 64) as u64);
        self.0 = (self.0 ^ folded).wrapping_mul(SEED);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// How many decoded sessions are kept (the cache is emptied when full).
const CACHE_CAPACITY: usize = 10_000;

/// Like [`load`], through the cache: the session's text is read and decoded only when its
/// revision is new to this process.
pub(crate) async fn load_cached(session: &Session, cache: &SessionCache) -> Read<Arc<Loaded>> {
    let header = match session.get_value(AUTH_SESSION_KEY).await {
        Ok(Some(header)) => header,
        Ok(None) => return Ok(None),
        Err(err) => {
            let err = outage(err)?;
            cache
                .stats
                .sign_out(crate::session::stats::SignOut::Unreadable);
            return unreadable(session, err).await;
        }
    };
    let revision = match revision(&header) {
        Ok(revision) => revision,
        Err(err) => {
            cache
                .stats
                .sign_out(crate::session::stats::SignOut::Unreadable);
            return unreadable(session, err).await;
        }
    };
    // The id of the record the revision came from (a record found in the store).
    let id = session.id();
    if let Some(hit) = id.and_then(|id| cache.get(id, revision)) {
        return Ok(Some(hit));
    }
    // Boxed: rare, and it keeps the per-request future small.
    Box::pin(async move {
        let Some(auth) = read_data(session).await? else {
            cache
                .stats
                .sign_out(crate::session::stats::SignOut::Unreadable);
            return Ok(None);
        };
        Ok(Some(cache.insert(id, revision, auth)))
    })
    .await
}

impl SessionCache {
    pub(crate) fn new(refresh_margin: Duration, stats: Arc<crate::session::stats::Stats>) -> Self {
        SessionCache {
            entries: Mutex::default(),
            refresh_margin,
            clamped: std::sync::atomic::AtomicBool::new(false),
            stats,
        }
    }

    /// The session decoded for this record at this revision, if it is the last one decoded.
    fn get(&self, id: Id, revision: u64) -> Option<Arc<Loaded>> {
        self.lock()
            .get(&id)
            .filter(|c| c.revision == revision)
            .map(|c| c.loaded.clone())
    }

    /// Remembers the session decoded for this record at this revision (replacing the record's
    /// earlier one).
    fn insert(&self, id: Option<Id>, revision: u64, auth: AuthSession) -> Arc<Loaded> {
        let margin = self.margin_for(&auth_claims_lifetime(&auth));
        let loaded = Arc::new(Loaded::new(auth, margin));
        if let Some(id) = id {
            let mut entries = self.lock();
            if entries.len() >= CACHE_CAPACITY && !entries.contains_key(&id) {
                entries.clear();
            }
            let cached = Cached {
                revision,
                loaded: loaded.clone(),
            };
            entries.insert(id, cached);
        }
        loaded
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Cached, BuildIdHasher>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The refresh margin for a token that lives `lifetime`: the configured one, clamped to
    /// half the lifetime when it is not shorter (a margin as long as the token would refresh
    /// on every request). Warns once.
    fn margin_for(&self, lifetime: &Option<Duration>) -> Duration {
        match lifetime {
            Some(lifetime) if self.refresh_margin >= *lifetime => {
                let clamped = *lifetime / 2;
                if !self
                    .clamped
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::warn!(
                        margin_secs = self.refresh_margin.as_secs(),
                        token_lifetime_secs = lifetime.as_secs(),
                        clamped_secs = clamped.as_secs(),
                        "the refresh margin is not shorter than the access tokens' lifetime \
                         (every request would refresh); using half the lifetime instead: \
                         lower AuthKitBuilder::refresh_margin"
                    );
                }
                clamped
            }
            _ => self.refresh_margin,
        }
    }
}

/// How long the session's access token lives (`exp - iat`), if it says when it was issued.
fn auth_claims_lifetime(auth: &AuthSession) -> Option<Duration> {
    let iat = auth.claims.iat?;
    u64::try_from(auth.claims.exp - iat)
        .ok()
        .filter(|secs| *secs > 0)
        .map(Duration::from_secs)
}

impl Loaded {
    fn new(session: AuthSession, refresh_margin: Duration) -> Self {
        let due = session.expires_at() - refresh_margin.as_secs() as i64;
        Loaded {
            user: AuthUser::from_session(session.clone()),
            refresh_at: from_unix(due),
            expires_at: from_unix(session.expires_at()),
            unverified: session.unverified.is_some(),
            session,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// A session of `email` whose access token expires at `exp`.
    fn auth(email: &str, exp: i64) -> AuthSession {
        serde_json::from_value(serde_json::json!({
            "user": {
                "id": "user_01", "email": email, "email_verified": true,
                "created_at": "2026-12-01T00:00:00.000Z", "updated_at": "2026-12-01T00:00:00.000Z"
            },
            "claims": { "sub": "user_01", "sid": "session_01", "exp": exp, "iat": exp - 300 },
            "access_token": "header.payload.signature",
            "refresh_token": "refresh_01",
        }))
        .unwrap()
    }

    #[test]
    fn a_session_is_decoded_once_per_revision() {
        let cache = SessionCache::new(Duration::from_secs(30), Default::default());
        let id = Id::default();
        assert!(cache.get(id, 7).is_none());
        let first = cache.insert(Some(id), 7, auth("ada@example.com", 2_000_000_000));
        let hit = cache.get(id, 7).expect("a cache hit");
        assert!(Arc::ptr_eq(&first, &hit));
        assert_eq!(hit.user.user.email, "ada@example.com");
        assert_eq!(
            hit.refresh_at,
            UNIX_EPOCH + Duration::from_secs(2_000_000_000 - 30)
        );
        // Another record, or another revision of this one, is not this session.
        assert!(cache.get(Id::default(), 7).is_none());
        assert!(cache.get(id, 8).is_none());
    }

    #[test]
    fn a_new_revision_replaces_the_records_entry() {
        let cache = SessionCache::new(Duration::from_secs(30), Default::default());
        let id = Id::default();
        cache.insert(Some(id), 1, auth("ada@example.com", 2_000_000_000));
        // Refreshed elsewhere, then replaced by another user's sign-in.
        cache.insert(Some(id), 2, auth("ada@example.com", 2_000_000_600));
        cache.insert(Some(id), 3, auth("grace@example.com", 2_000_000_600));
        assert!(cache.get(id, 1).is_none() && cache.get(id, 2).is_none());
        assert_eq!(
            cache.get(id, 3).unwrap().user.user.email,
            "grace@example.com"
        );
        assert_eq!(cache.lock().len(), 1, "one entry per session record");
    }

    #[test]
    fn sessions_without_a_record_id_are_decoded_but_not_cached() {
        let cache = SessionCache::new(Duration::ZERO, Default::default());
        let loaded = cache.insert(None, 1, auth("ada@example.com", 2_000_000_000));
        assert_eq!(loaded.user.user.email, "ada@example.com");
        assert!(cache.lock().is_empty());
    }

    #[test]
    fn only_numbers_are_revisions() {
        assert_eq!(revision(&serde_json::json!(42)), Ok(42));
        for value in [
            serde_json::json!("42"),
            serde_json::json!(-1),
            serde_json::json!({"user": "not a user"}),
        ] {
            assert!(revision(&value).is_err(), "{value}");
        }
    }
}
