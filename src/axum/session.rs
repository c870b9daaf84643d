//! What the integration keeps in the app's tower-sessions session: the signed-in
//! [`AuthSession`] and the pending sign-ins (state nonce, PKCE verifier, return_to).

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::claims::AccessTokenClaims;
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

/// Reads the signed-in session. A value that does not parse (tampered, or written by another
/// version) is removed and treated as signed out.
pub(crate) async fn load(session: &Session) -> Option<AuthSession> {
    match session.get::<AuthSession>(AUTH_SESSION_KEY).await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(error = %err, "unreadable AuthKit session; treating it as signed out");
            let _ = session.remove_value(AUTH_SESSION_KEY).await;
            None
        }
    }
}

/// Stores the signed-in session.
pub(crate) async fn store(
    session: &Session,
    auth: &AuthSession,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(AUTH_SESSION_KEY, auth).await
}

/// Removes every key of ours (and none of the app's).
pub(crate) async fn clear(session: &Session) {
    for key in [AUTH_SESSION_KEY, PENDING_KEY, STEP_UP_KEY] {
        let _ = session.remove_value(key).await;
    }
}
