//! What a sign-in keeps in the app's tower-sessions session: the signed-in [`AuthSession`]
//! (read, stored, cleared, telling a store outage from an unreadable value) and the sign-ins
//! in progress (pending sign-ins with their state nonce, PKCE verifier and return_to; a
//! step-up). Nothing here depends on axum.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::SecretString;
use crate::session::claims::AccessTokenClaims;
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

/// How long a step-up may take (WorkOS's pending tokens last 10 minutes).
pub(crate) const STEP_UP_TTL: i64 = 600;

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
    /// When the user last authenticated (signed in, with any step-ups), Unix seconds on the
    /// session core's clock; kept through refreshes. `None` for sessions stored before it was
    /// recorded.
    #[serde(default)]
    pub authenticated_at: Option<i64>,
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
            authenticated_at: None,
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
            authenticated_at: self.authenticated_at,
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
    /// The app's own state from the sign-in link, handed to the `on_sign_in` hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_state: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A sign-in stopped at a step-up on the callback, finished by the step-up pages.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StepUp {
    pub kind: StepUpKind,
    pub pending_authentication_token: SecretString,
    pub return_to: Option<String>,
    /// The app's own state from the sign-in link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_state: Option<String>,
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
pub(crate) fn revision(value: &serde_json::Value) -> Result<u64, String> {
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
pub(crate) fn outage(err: tower_sessions::session::Error) -> Result<String, StoreUnavailable> {
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
pub(crate) async fn read_data(session: &Session) -> Read<AuthSession> {
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
pub(crate) fn unreadable<'a, T: 'a>(
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
