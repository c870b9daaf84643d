//! What the integration keeps in the app's tower-sessions session: the signed-in
//! [`AuthSession`] and the pending sign-ins (state nonce, PKCE verifier, return_to).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use tower_sessions::session::Id;

use super::extract::AuthUser;
use crate::SecretString;
use crate::session::claims::AccessTokenClaims;
use crate::session::clock::from_unix;
use crate::user_management::{AuthenticateResponse, AuthenticationMethod, Impersonator, User};

/// The session key of the signed-in session's revision: a number, replaced whenever the
/// session is stored, and read on every request. The [`AuthSession`] itself is under
/// [`AUTH_SESSION_DATA_KEY`]; signing out removes both.
pub(crate) const AUTH_SESSION_KEY: &str = "authkit.session";
/// The session key of the signed-in [`AuthSession`], as JSON text (read when its revision
/// under [`AUTH_SESSION_KEY`] is one this process has not decoded yet).
pub(crate) const AUTH_SESSION_DATA_KEY: &str = "authkit.session.data";
/// The session key of the pending sign-ins.
pub(crate) const PENDING_KEY: &str = "authkit.pending";
/// The session key of a sign-in stopped at a step-up (email code, TOTP, organization choice).
pub(crate) const STEP_UP_KEY: &str = "authkit.step_up";

/// A signed-in session, as stored in the session store.
///
/// The tokens come from WorkOS over the back channel and are verified (RS256, JWKS) when they
/// are stored, at sign-in and at every refresh; per request only `expires_at` is compared.
/// It is stored as JSON text beside a revision that changes at every store; the layout of
/// the session record is private (read it with
/// [`testing::stored_session`](crate::testing::stored_session)).
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
    /// Tokens WorkOS issued at the last refresh whose access token could not be verified yet
    /// (the JWKS was unreachable, or its key not published yet). Their refresh token is
    /// already in `refresh_token` (the old one is spent, so they are never thrown away); the
    /// access token and user here are not trusted until the access token verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unverified: Option<Box<Unverified>>,
}

/// Tokens WorkOS issued that are kept until their access token can be verified.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Unverified {
    pub user: User,
    pub access_token: SecretString,
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub impersonator: Option<Impersonator>,
    #[serde(default)]
    pub authentication_method: Option<AuthenticationMethod>,
}

/// The impersonator of a session: only from the signed `act` claim (the reason, which the
/// token does not carry, from WorkOS's answer when it names the same impersonator).
fn impersonator(claims: &AccessTokenClaims, answer: Option<Impersonator>) -> Option<Impersonator> {
    let act = claims.act.as_ref()?;
    let reason = answer
        .filter(|i| i.email.eq_ignore_ascii_case(&act.sub))
        .and_then(|i| i.reason);
    Some(Impersonator {
        email: act.sub.clone(),
        reason,
    })
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
            impersonator: impersonator(&claims, auth.impersonator),
            user: auth.user,
            claims,
            access_token: auth.access_token,
            refresh_token: auth.refresh_token,
            authentication_method: auth.authentication_method,
            unverified: None,
        }
    }

    /// This session, keeping the tokens of `auth` (whose access token could not be verified
    /// yet): its refresh token replaces the spent one at once; the rest waits for
    /// [`verified`](Self::verified).
    pub(crate) fn with_unverified(&self, auth: AuthenticateResponse) -> Self {
        let mut next = self.clone();
        next.refresh_token = auth.refresh_token;
        next.unverified = Some(Box::new(Unverified {
            user: auth.user,
            access_token: auth.access_token,
            organization_id: auth.organization_id,
            impersonator: auth.impersonator,
            authentication_method: auth
                .authentication_method
                .or_else(|| self.authentication_method.clone()),
        }));
        next
    }

    /// The session of the kept tokens, now that their access token verified as `claims`.
    pub(crate) fn verified(&self, claims: AccessTokenClaims) -> Option<Self> {
        let kept = self.unverified.as_deref()?.clone();
        Some(AuthSession {
            organization_id: kept.organization_id.or_else(|| claims.org_id.clone()),
            impersonator: impersonator(&claims, kept.impersonator),
            user: kept.user,
            claims,
            access_token: kept.access_token,
            refresh_token: self.refresh_token.clone(),
            authentication_method: kept.authentication_method,
            unverified: None,
        })
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

/// An [`AuthSession`] from its stored form.
pub(crate) fn decode(text: &str) -> Result<AuthSession, serde_json::Error> {
    serde_json::from_str(text)
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

/// The session store could not be reached or failed (an I/O error, not a bad record): the
/// request gets a fast 503, and nothing is deleted.
#[derive(Debug, Clone)]
pub(crate) struct StoreUnavailable(pub String);

impl std::fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the session store is unavailable: {}", self.0)
    }
}

/// What reading the signed-in session found.
pub(crate) type Read<T> = Result<Option<T>, StoreUnavailable>;

/// Splits a session error into a store outage (kept, reported) and an unreadable value (the
/// record or our keys do not decode: removed, signed out).
fn outage(err: tower_sessions::session::Error) -> Result<String, StoreUnavailable> {
    use tower_sessions::session::Error;
    use tower_sessions::session_store::Error as Store;
    match err {
        Error::Store(Store::Backend(e)) => Err(StoreUnavailable(e)),
        other => Ok(other.to_string()),
    }
}

/// Reads the signed-in session. A value that does not parse (tampered, or written by another
/// version) is removed and treated as signed out; a store that fails is an `Err`.
pub(crate) async fn load(session: &Session) -> Read<AuthSession> {
    let header = match session.get_value(AUTH_SESSION_KEY).await {
        Ok(Some(header)) => header,
        Ok(None) => return Ok(None),
        Err(err) => return unreadable(session, outage(err)?).await,
    };
    match revision(&header) {
        Ok(_) => read_data(session).await,
        Err(err) => unreadable(session, err).await,
    }
}

/// Reads and decodes the session under [`AUTH_SESSION_DATA_KEY`].
async fn read_data(session: &Session) -> Read<AuthSession> {
    let decoded = match session.get_value(AUTH_SESSION_DATA_KEY).await {
        Ok(Some(serde_json::Value::String(text))) => {
            serde_json::from_str(&text).map_err(|err| err.to_string())
        }
        Ok(Some(_)) => Err("the stored session is not JSON text".to_owned()),
        Ok(None) => Err("the session has a revision but no data".to_owned()),
        Err(err) => Err(outage(err)?),
    };
    match decoded {
        Ok(decoded) => Ok(Some(decoded)),
        Err(err) => unreadable(session, err).await,
    }
}

/// Removes an unreadable session. Boxed: rare, and it keeps the per-request futures that may
/// call it small.
fn unreadable<'a, T: 'a>(
    session: &'a Session,
    err: String,
) -> futures_util::future::BoxFuture<'a, Read<T>> {
    tracing::warn!(error = %err, session = %crate::session::id_hash(session.id()), "unreadable AuthKit session; treating it as signed out");
    Box::pin(async move {
        for key in [AUTH_SESSION_KEY, AUTH_SESSION_DATA_KEY] {
            if let Err(err) = session.remove_value(key).await {
                outage(err)?;
            }
        }
        Ok(None)
    })
}

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
pub(crate) async fn clear(session: &Session) -> Result<(), StoreUnavailable> {
    for key in [
        AUTH_SESSION_KEY,
        AUTH_SESSION_DATA_KEY,
        PENDING_KEY,
        STEP_UP_KEY,
    ] {
        if let Err(err) = session.remove_value(key).await {
            outage(err)?;
        }
    }
    Ok(())
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
