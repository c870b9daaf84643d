//! The sign-in flow shared by the callback and the step-up pages: finishing a sign-in (the
//! access token verified, the app's hook asked, the session id cycled, the session stored),
//! how a sign-in route saves its session, and how its failures are answered.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::config::{AuthKit, SignIn};
use super::lifetime::Lifetime;
use super::pages;
use super::session::{self, AuthSession, STEP_UP_KEY};
use crate::session::verifier::TokenError;
use crate::user_management::AuthenticateResponse;

/// Why a sign-in failed on the callback. Passed to the
/// [`on_callback_error`](super::AuthKitBuilder::on_callback_error) hook.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallbackError {
    /// WorkOS sent the user back with an `error` (e.g. `access_denied`).
    WorkOs {
        /// The error code.
        error: String,
        /// WorkOS's description.
        description: Option<String>,
    },
    /// The callback had no `state`.
    MissingState,
    /// No pending sign-in matches the `state`: forged, replayed, expired, or started in a
    /// session that is gone.
    UnknownState,
    /// The callback had no `code`.
    MissingCode,
    /// The code exchange failed.
    Exchange(crate::Error),
    /// WorkOS's access token did not verify.
    Token(TokenError),
    /// The session store failed.
    Session(String),
}

impl std::fmt::Display for CallbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallbackError::WorkOs { error, description } => write!(
                f,
                "WorkOS reported {error}{}",
                description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
            ),
            CallbackError::MissingState => f.write_str("the sign-in response has no state parameter"),
            CallbackError::UnknownState => f.write_str(
                "this sign-in response does not match a sign-in started here; it may have expired, been used already, or been started in another browser",
            ),
            CallbackError::MissingCode => f.write_str("the sign-in response has no code parameter"),
            CallbackError::Exchange(e) if e.is_invalid_grant() => {
                f.write_str("the sign-in code has expired or was already used")
            }
            CallbackError::Exchange(e) => write!(f, "the sign-in could not be completed: {e}"),
            CallbackError::Token(e) => write!(f, "the access token from WorkOS was refused: {e}"),
            CallbackError::Session(e) => write!(f, "the session could not be saved: {e}"),
        }
    }
}

impl std::error::Error for CallbackError {}

impl CallbackError {
    /// The status of the built-in error page.
    pub fn status(&self) -> StatusCode {
        match self {
            CallbackError::Exchange(e) if e.is_transient() => StatusCode::BAD_GATEWAY,
            CallbackError::Token(TokenError::JwksUnavailable(_)) => StatusCode::BAD_GATEWAY,
            CallbackError::Session(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Runs a sign-in route that may change the session (login, callback, step-up pages): first
/// notes the session's [`Lifetime`], then runs `route`, fits the session's expiry to what the
/// route left in it, and saves the session before answering. Saving here makes a store
/// failure the 503 page: tower-sessions' own save after the response would answer an empty
/// 500 instead (it skips its save when the answer is a 5xx).
pub(crate) async fn sign_in_route(
    authkit: &AuthKit,
    session: &Session,
    route: impl std::future::Future<Output = Response>,
) -> Response {
    let lifetime = match Lifetime::of(authkit, session).await {
        Ok(lifetime) => lifetime,
        Err(err) => return store_failed(authkit, &err.to_string()),
    };
    let response = route.await;
    if response.status().is_server_error() {
        return response;
    }
    if let Err(err) = lifetime.apply(authkit, session).await {
        return store_failed(authkit, &err.to_string());
    }
    if session.is_modified()
        && !session.is_empty().await
        && let Err(err) = session.save().await
    {
        return store_failed(authkit, &err.to_string());
    }
    response
}

/// The answer of a sign-in route whose session store failed: a `503` with `Retry-After: 1`
/// (an outage of the store is short-lived, and nothing was lost: try again).
pub(crate) fn store_failed(authkit: &AuthKit, err: &str) -> Response {
    authkit.inner.core.stats.store_error();
    tracing::warn!(error = %err, "the session store failed; answering 503");
    let mut response = pages::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is unavailable for a moment",
        "The session store cannot be reached, so the sign-in could not be saved. Try again in a few seconds.",
        &authkit.sign_in_path(),
    );
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    response
}

/// Renders a callback error with the app's hook or the built-in page.
pub(crate) fn callback_error(authkit: &AuthKit, err: CallbackError) -> Response {
    tracing::info!(error = %err, "sign-in failed");
    if let Some(hook) = &authkit.inner.on_callback_error {
        return hook(&err);
    }
    pages::error(
        err.status(),
        "Sign-in failed",
        &err.to_string(),
        &authkit.sign_in_path(),
    )
}

/// Verifies the tokens, runs the app's hook, cycles the session id, stores the session and
/// redirects to `return_to`.
pub(crate) async fn finish_sign_in(
    authkit: &AuthKit,
    session: &Session,
    auth: AuthenticateResponse,
    return_to: Option<String>,
    app_state: Option<String>,
) -> Result<Response, CallbackError> {
    match sign_in_session(authkit, session, auth, app_state).await {
        Ok(_) => {
            let target = return_to.unwrap_or_else(|| authkit.inner.after_sign_in.clone());
            Ok(Redirect::to(&target).into_response())
        }
        Err(SignInFailure::Token(err)) => Err(CallbackError::Token(err)),
        Err(SignInFailure::Refused(refusal)) => Ok(refusal),
        Err(SignInFailure::Store(err)) => Err(CallbackError::Session(err)),
    }
}

/// Why [`sign_in_session`] did not sign in.
pub(crate) enum SignInFailure {
    /// The access token did not verify.
    Token(TokenError),
    /// The app's hook refused, with this answer.
    Refused(Response),
    /// The session store failed.
    Store(String),
}

/// Signs `session` in with `auth` (the callback's, a step-up's, or one the app obtained):
/// verifies the access token, runs the app's `on_sign_in` hook, cycles the session id and
/// stores the session.
pub(crate) async fn sign_in_session(
    authkit: &AuthKit,
    session: &Session,
    auth: AuthenticateResponse,
    app_state: Option<String>,
) -> Result<AuthSession, SignInFailure> {
    let claims = authkit
        .inner
        .core
        .verifier
        .verify(auth.access_token.expose_secret())
        .await
        .map_err(SignInFailure::Token)?;
    if let Some(hook) = &authkit.inner.on_sign_in
        && let Err(refusal) = hook(SignIn {
            auth: auth.clone(),
            state: app_state,
        })
        .await
    {
        tracing::info!(user = %auth.user.id, status = refusal.status().as_u16(), "the app's on_sign_in hook refused the sign-in");
        let _ = session.remove_value(STEP_UP_KEY).await;
        return Err(SignInFailure::Refused(refusal));
    }
    let user_id = auth.user.id.clone();
    let mut signed_in = AuthSession::new(auth, claims);
    signed_in.authenticated_at = Some(authkit.inner.core.clock.unix());
    // A new session id at sign-in defeats session fixation.
    session
        .cycle_id()
        .await
        .map_err(|e| SignInFailure::Store(e.to_string()))?;
    let _ = session.remove_value(STEP_UP_KEY).await;
    session::store(session, &signed_in)
        .await
        .map_err(|e| SignInFailure::Store(e.to_string()))?;
    // The index from the WorkOS session to this record, to sign this device out from another
    // (the record is saved now to get its new id).
    if let (Some(sid), Some(_)) = (&signed_in.claims.sid, authkit.inner.session_store.get()) {
        session
            .save()
            .await
            .map_err(|e| SignInFailure::Store(e.to_string()))?;
        if let Some(id) = session.id()
            && let Err(err) = super::sid_index::remember(authkit, sid, &user_id, id).await
        {
            tracing::warn!(user = %user_id, error = %err, "could not index the session for signing devices out; signing it out from another device will revoke it at WorkOS only");
        }
    }
    tracing::info!(user = %user_id, organization = signed_in.organization_id.as_deref(), "signed in");
    Ok(signed_in)
}

/// Signs `session` out: removes AuthKit's keys, cycles the id, revokes the WorkOS session when
/// configured, and answers with the redirect to WorkOS's logout URL (or the after-sign-out page
/// when the session had no WorkOS session id).
pub(crate) async fn sign_out(authkit: &AuthKit, session: &Session) -> Response {
    let current = match session::load(session).await {
        Ok(current) => current,
        Err(err) => return store_failed(authkit, &err.to_string()),
    };
    if let Err(err) = session::clear(session).await {
        return store_failed(authkit, &err.to_string());
    }
    if current.is_some() {
        authkit
            .inner
            .core
            .stats
            .sign_out(crate::session::stats::SignOut::User);
    }
    let _ = session.cycle_id().await;
    let inner = &authkit.inner;
    let return_to = inner
        .after_sign_out
        .clone()
        .unwrap_or_else(|| format!("{}/", authkit.origin()));
    let Some(sid) = current.as_ref().and_then(|c| c.claims.sid.clone()) else {
        return Redirect::to(&return_to).into_response();
    };
    if inner.revoke_on_sign_out
        && let Err(err) = inner
            .core
            .client
            .user_management()
            .revoke_session(&sid)
            .await
    {
        tracing::warn!(error = %err, "could not revoke the WorkOS session");
    }
    tracing::info!(
        user = current.as_ref().map(|c| c.user.id.as_str()),
        "signed out"
    );
    match inner
        .core
        .client
        .user_management()
        .get_logout_url(&sid, Some(&return_to))
    {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not build the logout URL");
            Redirect::to(&return_to).into_response()
        }
    }
}
