//! What the integration keeps in the app's tower-sessions session: the signed-in
//! [`AuthSession`] and the pending sign-ins (state nonce, PKCE verifier, return_to).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use tower_sessions::session::Id;

use super::claims::AccessTokenClaims;
use super::extract::AuthUser;
use crate::SecretString;
use crate::user_management::{AuthenticateResponse, AuthenticationMethod, Impersonator, User};

/// The session key of the signed-in session's revision: a number, replaced whenever the
/// session is stored, and read on every request. The [`AuthSession`] itself is under
/// [`AUTH_SESSION_DATA_KEY`]; signing out removes both.
pub const AUTH_SESSION_KEY: &str = "authkit.session";
/// The session key of the signed-in [`AuthSession`], as JSON text (read when its revision
/// under [`AUTH_SESSION_KEY`] is one this process has not decoded yet).
pub const AUTH_SESSION_DATA_KEY: &str = "authkit.session.data";
/// The session key of the pending sign-ins.
pub(crate) const PENDING_KEY: &str = "authkit.pending";
/// The session key of a sign-in stopped at a step-up (email code, TOTP, organization choice).
pub(crate) const STEP_UP_KEY: &str = "authkit.step_up";

/// A signed-in session, as stored in the session store.
///
/// The tokens come from WorkOS over the back channel and are verified (RS256, JWKS) when they
/// are stored, at sign-in and at every refresh; per request only `expires_at` is compared.
/// It is stored as JSON text under [`AUTH_SESSION_DATA_KEY`], beside a revision under
/// [`AUTH_SESSION_KEY`] that changes at every store.
#[derive(Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthSession {
    /// The user.
    pub user: User,
    /// The verified claims of `access_token`.
    pub claims: AccessTokenClaims,
    /// The access token, for calling APIs on the user's behalf.
    pub access_token: SecretString,
    /// The refresh token (single use; replaced at every refresh).
    pub refresh_token: SecretString,
    /// The organization the session is scoped to.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The impersonator, on impersonated sessions.
    #[serde(default)]
    pub impersonator: Option<Impersonator>,
    /// How the user signed in.
    #[serde(default)]
    pub authentication_method: Option<AuthenticationMethod>,
}

impl std::fmt::Debug for AuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSession")
            .field("user", &self.user.id)
            .field("organization_id", &self.organization_id)
            .field("expires_at", &self.claims.exp)
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .finish_non_exhaustive()
    }
}

impl AuthSession {
    /// A session from a verified authentication.
    pub(crate) fn new(auth: AuthenticateResponse, claims: AccessTokenClaims) -> Self {
        AuthSession {
            organization_id: auth.organization_id.or_else(|| claims.org_id.clone()),
            user: auth.user,
            claims,
            access_token: auth.access_token,
            refresh_token: auth.refresh_token,
            impersonator: auth.impersonator,
            authentication_method: auth.authentication_method,
        }
    }

    /// The access token's expiry, Unix seconds.
    pub fn expires_at(&self) -> i64 {
        self.claims.exp
    }
}

/// One sign-in started by `/auth/login` and not yet back on the callback.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingSignIn {
    pub state: SecretString,
    pub code_verifier: SecretString,
    pub return_to: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A sign-in stopped at a step-up on the callback, finished by the step-up pages.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StepUp {
    pub kind: StepUpKind,
    pub pending_authentication_token: SecretString,
    pub return_to: Option<String>,
    pub email: Option<String>,
    /// The user (for MFA enrollment).
    pub user_id: Option<String>,
    /// For MFA: the challenge to answer (created when the page is shown).
    pub authentication_challenge_id: Option<String>,
    /// For MFA enrollment: a factor was enrolled and its key shown, once, on the page load
    /// that enrolled it. The key itself (otpauth URI, QR code) is never stored.
    #[serde(default)]
    pub enrolled: bool,
    /// For organization selection: `(id, name)` choices.
    pub organizations: Vec<(String, String)>,
    /// For MFA: the factor id to challenge.
    pub factor_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// The secret that names this step-up's attempt slots in the session store (a step-up
    /// stored without one, by an earlier version, does not parse and must start again).
    pub nonce: crate::session::attempts::Nonce,
}

/// What a [`StepUp`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StepUpKind {
    EmailVerification,
    Mfa,
    OrganizationSelection,
}

/// The stored form of an [`AuthSession`]: its JSON as one string.
pub(crate) fn encode(auth: &AuthSession) -> Result<String, serde_json::Error> {
    serde_json::to_string(auth)
}

/// A new revision for a stored session (random, so that revisions written by several machines
/// to one record never repeat).
pub(crate) fn new_revision() -> u64 {
    rand::random()
}

/// The revision stored under [`AUTH_SESSION_KEY`]; `Err` when the value is not one.
fn revision(value: &serde_json::Value) -> Result<u64, String> {
    value
        .as_u64()
        .ok_or_else(|| "the session revision is not a number".to_owned())
}

/// Reads the signed-in session. A value that does not parse (tampered, or written by another
/// version) is removed and treated as signed out.
pub(crate) async fn load(session: &Session) -> Option<AuthSession> {
    let header = match session.get_value(AUTH_SESSION_KEY).await {
        Ok(header) => header?,
        Err(err) => return unreadable(session, &err.to_string()).await,
    };
    match revision(&header) {
        Ok(_) => read_data(session).await,
        Err(err) => unreadable(session, &err).await,
    }
}

/// Reads and decodes the session under [`AUTH_SESSION_DATA_KEY`].
async fn read_data(session: &Session) -> Option<AuthSession> {
    let decoded = match session.get_value(AUTH_SESSION_DATA_KEY).await {
        Ok(Some(serde_json::Value::String(text))) => {
            serde_json::from_str(&text).map_err(|err| err.to_string())
        }
        Ok(Some(_)) => Err("the stored session is not JSON text".to_owned()),
        Ok(None) => Err("the session has a revision but no data".to_owned()),
        Err(err) => Err(err.to_string()),
    };
    match decoded {
        Ok(decoded) => Some(decoded),
        Err(err) => unreadable(session, &err).await,
    }
}

/// Removes an unreadable session. Boxed: rare, and it keeps the per-request futures that may
/// call it small.
fn unreadable<'a, T: 'a>(
    session: &'a Session,
    err: &'a str,
) -> futures_util::future::BoxFuture<'a, Option<T>> {
    tracing::warn!(error = %err, "unreadable AuthKit session; treating it as signed out");
    Box::pin(async move {
        for key in [AUTH_SESSION_KEY, AUTH_SESSION_DATA_KEY] {
            let _ = session.remove_value(key).await;
        }
        None
    })
}

/// A decoded session, the [`AuthUser`] made from it, and when it is due for a refresh.
pub(crate) struct Loaded {
    pub session: AuthSession,
    pub user: AuthUser,
    /// The access token's expiry less the refresh margin: before it, the session is served
    /// as it is.
    pub refresh_at: SystemTime,
}

/// The last decoded session of each session record, keyed by the record's id and checked
/// against the revision stored with it, so a signed-in request reads one number from the
/// session rather than its whole text (tower-sessions copies every value it returns). A
/// refreshed, replaced or signed-out session has another revision (or none) and is read afresh.
pub(crate) struct SessionCache {
    entries: Mutex<HashMap<Id, Cached, BuildIdHasher>>,
    /// How long before its expiry an access token is refreshed.
    refresh_margin: Duration,
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
pub(crate) async fn load_cached(session: &Session, cache: &SessionCache) -> Option<Arc<Loaded>> {
    let header = match session.get_value(AUTH_SESSION_KEY).await {
        Ok(header) => header?,
        Err(err) => return unreadable(session, &err.to_string()).await,
    };
    let revision = match revision(&header) {
        Ok(revision) => revision,
        Err(err) => return unreadable(session, &err).await,
    };
    // The id of the record the revision came from (a record found in the store).
    let id = session.id();
    if let Some(hit) = id.and_then(|id| cache.get(id, revision)) {
        return Some(hit);
    }
    // Boxed: rare, and it keeps the per-request future small.
    Box::pin(async move {
        let auth = read_data(session).await?;
        Some(cache.insert(id, revision, auth))
    })
    .await
}

impl SessionCache {
    pub(crate) fn new(refresh_margin: Duration) -> Self {
        SessionCache {
            entries: Mutex::default(),
            refresh_margin,
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
        let loaded = Arc::new(Loaded::new(auth, self.refresh_margin));
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
}

impl Loaded {
    fn new(session: AuthSession, refresh_margin: Duration) -> Self {
        let due = session.expires_at() - refresh_margin.as_secs() as i64;
        Loaded {
            user: AuthUser::from_session(session.clone()),
            refresh_at: UNIX_EPOCH + Duration::from_secs(due.max(0) as u64),
            session,
        }
    }
}

/// Stores the signed-in session under a new revision.
pub(crate) async fn store(
    session: &Session,
    auth: &AuthSession,
) -> Result<(), tower_sessions::session::Error> {
    let text = encode(auth).map_err(tower_sessions::session::Error::SerdeJson)?;
    session.insert(AUTH_SESSION_DATA_KEY, text).await?;
    session.insert(AUTH_SESSION_KEY, new_revision()).await
}

/// Removes every key of ours (and none of the app's).
pub(crate) async fn clear(session: &Session) {
    for key in [
        AUTH_SESSION_KEY,
        AUTH_SESSION_DATA_KEY,
        PENDING_KEY,
        STEP_UP_KEY,
    ] {
        let _ = session.remove_value(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let cache = SessionCache::new(Duration::from_secs(30));
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
        let cache = SessionCache::new(Duration::from_secs(30));
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
        let cache = SessionCache::new(Duration::ZERO);
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
