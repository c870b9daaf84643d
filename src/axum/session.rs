//! What the integration keeps in the app's tower-sessions session: the signed-in
//! [`AuthSession`] and the pending sign-ins (state nonce, PKCE verifier, return_to).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::claims::AccessTokenClaims;
use super::extract::AuthUser;
use crate::SecretString;
use crate::user_management::{AuthenticateResponse, AuthenticationMethod, Impersonator, User};

/// The session key of the signed-in [`AuthSession`].
pub const AUTH_SESSION_KEY: &str = "authkit.session";
/// The session key of the pending sign-ins.
pub(crate) const PENDING_KEY: &str = "authkit.pending";
/// The session key of a sign-in stopped at a step-up (email code, TOTP, organization choice).
pub(crate) const STEP_UP_KEY: &str = "authkit.step_up";

/// A signed-in session, as stored in the session store.
///
/// The tokens come from WorkOS over the back channel and are verified (RS256, JWKS) when they
/// are stored, at sign-in and at every refresh; per request only `expires_at` is compared.
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
    /// For MFA enrollment: the factor's otpauth URI and QR code to show once.
    pub totp_uri: Option<SecretString>,
    pub totp_qr_code: Option<String>,
    /// For organization selection: `(id, name)` choices.
    pub organizations: Vec<(String, String)>,
    /// For MFA: the factor id to challenge.
    pub factor_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Wrong codes so far.
    pub attempts: u32,
}

/// What a [`StepUp`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StepUpKind {
    EmailVerification,
    Mfa,
    OrganizationSelection,
}

/// The stored form of an [`AuthSession`]: its JSON as one string, so that loading a session
/// record copies one string rather than a tree of values, and a decoded session can be cached
/// by its exact text.
pub(crate) fn encode(auth: &AuthSession) -> Result<String, serde_json::Error> {
    serde_json::to_string(auth)
}

fn decode(value: serde_json::Value) -> Result<AuthSession, serde_json::Error> {
    match value {
        serde_json::Value::String(text) => serde_json::from_str(&text),
        // A session stored as a JSON object (by hand, or by an older version).
        other => serde_json::from_value(other),
    }
}

/// Reads the signed-in session. A value that does not parse (tampered, or written by another
/// version) is removed and treated as signed out.
pub(crate) async fn load(session: &Session) -> Option<AuthSession> {
    let value = match session.get_value(AUTH_SESSION_KEY).await {
        Ok(value) => value?,
        Err(err) => return unreadable(session, &err.to_string()).await,
    };
    match decode(value) {
        Ok(auth) => Some(auth),
        Err(err) => unreadable(session, &err.to_string()).await,
    }
}

async fn unreadable<T>(session: &Session, err: &str) -> Option<T> {
    tracing::warn!(error = %err, "unreadable AuthKit session; treating it as signed out");
    let _ = session.remove_value(AUTH_SESSION_KEY).await;
    None
}

/// A decoded session and the [`AuthUser`] made from it.
pub(crate) struct Loaded {
    pub session: AuthSession,
    pub user: AuthUser,
}

/// Decoded sessions by their stored text, so the per-request cost of a signed-in request is
/// a lookup rather than a JSON parse. Content-addressed: a refreshed, replaced or tampered
/// session has other text and is decoded afresh.
#[derive(Default)]
pub(crate) struct SessionCache {
    entries: Mutex<HashMap<Arc<str>, Arc<Loaded>, BuildWordHasher>>,
}

/// A fast word-at-a-time hasher for the cache's keys (a session's JSON text, ~2 KB). The keys
/// come from our own session store, so speed matters more than resistance to crafted
/// collisions; equal hashes are still compared in full.
#[derive(Default, Clone, Copy)]
pub(crate) struct BuildWordHasher;

impl std::hash::BuildHasher for BuildWordHasher {
    type Hasher = WordHasher;

    fn build_hasher(&self) -> WordHasher {
        WordHasher(0)
    }
}

pub(crate) struct WordHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl std::hash::Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// How many decoded sessions are kept (the cache is emptied when full).
const CACHE_CAPACITY: usize = 10_000;

/// Like [`load`], through the cache.
pub(crate) async fn load_cached(session: &Session, cache: &SessionCache) -> Option<Arc<Loaded>> {
    let value = match session.get_value(AUTH_SESSION_KEY).await {
        Ok(value) => value?,
        Err(err) => return unreadable(session, &err.to_string()).await,
    };
    let serde_json::Value::String(text) = value else {
        return match decode(value) {
            Ok(auth) => Some(Arc::new(Loaded {
                user: AuthUser::from_session(auth.clone()),
                session: auth,
            })),
            Err(err) => unreadable(session, &err.to_string()).await,
        };
    };
    if let Some(hit) = cache.lock().get(text.as_str()) {
        return Some(hit.clone());
    }
    let auth: AuthSession = match serde_json::from_str(&text) {
        Ok(auth) => auth,
        Err(err) => return unreadable(session, &err.to_string()).await,
    };
    let loaded = Arc::new(Loaded {
        user: AuthUser::from_session(auth.clone()),
        session: auth,
    });
    let mut entries = cache.lock();
    if entries.len() >= CACHE_CAPACITY {
        entries.clear();
    }
    entries.insert(Arc::from(text), loaded.clone());
    Some(loaded)
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Loaded>, BuildWordHasher>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Stores the signed-in session.
pub(crate) async fn store(
    session: &Session,
    auth: &AuthSession,
) -> Result<(), tower_sessions::session::Error> {
    let text = encode(auth).map_err(tower_sessions::session::Error::SerdeJson)?;
    session.insert(AUTH_SESSION_KEY, text).await
}

/// Removes every key of ours (and none of the app's).
pub(crate) async fn clear(session: &Session) {
    for key in [AUTH_SESSION_KEY, PENDING_KEY, STEP_UP_KEY] {
        let _ = session.remove_value(key).await;
    }
}
