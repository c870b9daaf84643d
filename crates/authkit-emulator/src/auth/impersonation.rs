//! Impersonation, as the WorkOS dashboard starts it: a dashboard user picks a user (and, for a
//! member of several organizations, one of them), gives a reason, and their browser is sent to
//! the app's **default redirect URI** with an authorization code, **without `state`**, since the
//! app did not start this sign-in. The code exchange answers `authentication_method:
//! "Impersonation"` and `impersonator: {email, reason}`, and the access tokens of the session
//! carry `act: {sub: <impersonator email>}`, on refresh too. The session ends after 60 minutes.

use url::Url;

use super::AuthCodeRec;
use crate::store;
use crate::{Emulator, EmulatorError};

/// How long the impersonation code is valid (as other authorization codes).
const CODE_TTL: time::Duration = time::Duration::minutes(10);

/// An impersonation to start with [`Emulator::impersonate`]: what the dashboard's
/// "Impersonate user" dialog asks for.
///
/// ```
/// use authkit_emulator::Impersonation;
///
/// let impersonation = Impersonation::new("ada@example.com", "support@yourcompany.com")
///     .reason("Ticket 42: the invoice page is blank");
/// # let _ = impersonation;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Impersonation {
    user_email: String,
    impersonator_email: String,
    reason: Option<String>,
    organization_id: Option<String>,
}

impl Impersonation {
    /// `impersonator_email` (a WorkOS dashboard user) impersonates the user with `user_email`.
    pub fn new(user_email: impl Into<String>, impersonator_email: impl Into<String>) -> Self {
        Impersonation {
            user_email: user_email.into(),
            impersonator_email: impersonator_email.into(),
            reason: None,
            organization_id: None,
        }
    }

    /// The reason given (required by production WorkOS environments, optional in staging;
    /// the emulator accepts both). It comes back as `impersonator.reason`.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The organization to sign in to. Required when the user is an active member of several
    /// (the dashboard asks); by default the user's only organization, if any.
    pub fn organization(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = Some(organization_id.into());
        self
    }
}

/// Impersonation: what the WorkOS dashboard's "Impersonate user" button does.
impl Emulator {
    /// Starts an impersonation as the WorkOS dashboard does and returns the URL the
    /// impersonator's browser is sent to: the default (first
    /// [registered](crate::EmulatorBuilder::redirect_uri)) redirect URI with a `code` and **no
    /// `state`** (nor PKCE): the app did not start this sign-in, so it has no state to check.
    /// An app supports dashboard impersonation when its callback accepts such a state-less
    /// callback **only if** the code exchange answers with an `impersonator`.
    ///
    /// Exchanging the code (with the API key; no `code_verifier`) answers
    /// `authentication_method: "Impersonation"` and `impersonator: {email, reason}`; every
    /// access token of the session, refreshed ones included, carries `act: {"sub":
    /// <impersonator email>}` in its signed claims. The session ends 60 minutes after the
    /// exchange, as WorkOS's impersonation sessions do. No password, email verification or
    /// MFA step is asked (the dashboard bypasses them).
    ///
    /// Refused when no redirect URI is registered, the user does not exist, or the
    /// organization is ambiguous or not one of the user's.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authkit_emulator::{Emulator, Impersonation};
    ///
    /// let emulator = Emulator::builder()
    ///     .redirect_uri("http://localhost:3000/auth/callback")
    ///     .start()
    ///     .await?;
    /// # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
    /// let http = reqwest::Client::new();
    /// http.post(format!("{}/user_management/users", emulator.base_url()))
    ///     .bearer_auth(emulator.api_key())
    ///     .json(&serde_json::json!({ "email": "ada@example.com", "email_verified": true }))
    ///     .send()
    ///     .await?;
    ///
    /// let callback = emulator.impersonate(
    ///     &Impersonation::new("ada@example.com", "support@example.com").reason("Ticket 42"),
    /// )?;
    /// assert!(callback.as_str().starts_with("http://localhost:3000/auth/callback?code="));
    /// assert!(!callback.query_pairs().any(|(k, _)| k == "state"));
    ///
    /// let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    /// let auth: serde_json::Value = http
    ///     .post(format!("{}/user_management/authenticate", emulator.base_url()))
    ///     .json(&serde_json::json!({
    ///         "grant_type": "authorization_code",
    ///         "client_id": emulator.client_id(),
    ///         "client_secret": emulator.api_key(),
    ///         "code": code,
    ///     }))
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(auth["authentication_method"], "Impersonation");
    /// assert_eq!(auth["impersonator"]["email"], "support@example.com");
    /// assert_eq!(auth["impersonator"]["reason"], "Ticket 42");
    /// # Ok(()) }
    /// ```
    pub fn impersonate(&self, impersonation: &Impersonation) -> Result<Url, EmulatorError> {
        let refused = EmulatorError::Refused;
        let redirect_uri = self
            .state
            .config
            .registered
            .redirect_uris
            .first()
            .cloned()
            .or_else(|| {
                // None registered at start: the default one created over the API.
                self.state
                    .store()
                    .redirect_uris
                    .find(|r| r.default)
                    .map(|r| r.uri.clone())
            })
            .ok_or_else(|| {
                refused(
                    "no redirect URI is registered: impersonation sends the browser to the \
                     default (first) one; register it with EmulatorBuilder::redirect_uri or \
                     POST /user_management/redirect_uris"
                        .into(),
                )
            })?;
        let mut callback = Url::parse(&redirect_uri)
            .map_err(|e| refused(format!("the default redirect URI does not parse: {e}")))?;
        if impersonation.impersonator_email.trim().is_empty() {
            return Err(refused("the impersonator's email is empty".into()));
        }
        let now = self.state.now();
        let mut store = self.state.store();
        let user_id = store
            .users
            .find(|u| u.email.eq_ignore_ascii_case(&impersonation.user_email))
            .ok_or_else(|| {
                refused(format!(
                    "no user has the email {:?}: create it first",
                    impersonation.user_email
                ))
            })?
            .id
            .clone();
        let memberships: Vec<String> = store
            .memberships
            .iter()
            .filter(|m| m.user_id == user_id && m.status == "active")
            .map(|m| m.organization_id.clone())
            .collect();
        let organization_id = match (&impersonation.organization_id, memberships.as_slice()) {
            (Some(org), _) if memberships.contains(org) => Some(org.clone()),
            (Some(org), _) => {
                return Err(refused(format!(
                    "{} is not an active member of organization {org:?}",
                    impersonation.user_email
                )));
            }
            (None, []) => None,
            (None, [only]) => Some(only.clone()),
            (None, _) => {
                return Err(refused(format!(
                    "{} belongs to several organizations: choose one with \
                     Impersonation::organization, as the dashboard asks",
                    impersonation.user_email
                )));
            }
        };
        let code = AuthCodeRec {
            code: store::random_token(32),
            user_id: user_id.clone(),
            organization_id,
            code_challenge: None,
            authentication_method: "Impersonation".into(),
            invitation_token: None,
            expires_at: now + CODE_TTL,
            used: false,
            step_ups: false,
            redirect_uri: Some(redirect_uri),
            impersonator: Some((
                impersonation.impersonator_email.clone(),
                impersonation.reason.clone(),
            )),
        };
        callback.query_pairs_mut().append_pair("code", &code.code);
        store.auth.codes.insert(code);
        tracing::info!(user_id = %user_id, "emulator: impersonation started");
        Ok(callback)
    }

    /// Ends the impersonation of session `session_id` but keeps the session: its later
    /// refreshes answer without `impersonator`, and their access tokens carry no `act` claim
    /// (the session keeps its `authentication_method` and its 60-minute end). Returns `false`
    /// when no such session was impersonated.
    ///
    /// WorkOS has no such step (ending an impersonation there means signing out): this control
    /// exists so that tests can check that an app takes the impersonator from each new signed
    /// token, and drops it when a refreshed token has no `act`, instead of carrying it over.
    pub fn end_impersonation(&self, session_id: &str) -> bool {
        let now = self.state.now();
        let mut store = self.state.store();
        match store.auth.sessions.get_mut(session_id) {
            Some(session) if session.impersonator.is_some() => {
                session.impersonator = None;
                session.updated_at = now;
                true
            }
            _ => false,
        }
    }
}
