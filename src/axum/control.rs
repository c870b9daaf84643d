//! [`SessionControl`]: the signed-in session, controlled from a handler: sign the user in with
//! an authentication the app obtained itself (its own password or magic-code form), refresh
//! the tokens now, sign out.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_sessions::Session;

use super::config::AuthKit;
use super::extract::{AuthRejection, AuthUser};
use super::session;
use crate::session::jwt::TokenError;
use crate::session::refresh::{self, ExchangeError};
use crate::session::requester::Requester;
use crate::user_management::AuthenticateResponse;

/// Put into every request by [`AuthLayer`](super::AuthLayer), for [`SessionControl`].
#[derive(Clone)]
pub(crate) struct LayerKit(pub AuthKit);

/// The signed-in session, controlled from a handler. An extractor on routes behind
/// [`AuthLayer`](super::AuthLayer) (and the session layer), signed in or not:
///
/// ```
/// use axum::{Form, response::{IntoResponse, Redirect, Response}};
/// use authkit_axum::web::SessionControl;
/// use authkit_axum::user_management::AuthenticateWithPassword;
///
/// #[derive(serde::Deserialize)]
/// struct Credentials { email: String, password: String }
///
/// // The app's own sign-in form: the password is checked by WorkOS, and the session is
/// // signed in exactly as the callback would (token verified, session id cycled).
/// async fn sign_in(control: SessionControl, Form(form): Form<Credentials>) -> Response {
///     let um = control.authkit().client().user_management();
///     let auth = match um
///         .authenticate_with_password(AuthenticateWithPassword::new(form.email, form.password))
///         .await
///     {
///         Ok(auth) => auth,
///         Err(err) => return (axum::http::StatusCode::UNAUTHORIZED, err.to_string()).into_response(),
///     };
///     match control.sign_in(auth).await {
///         Ok(user) => Redirect::to("/account").into_response(),
///         Err(err) => err.into_response(),
///     }
/// }
///
/// // Sign-out done by the app (e.g. after deleting the account): the redirect ends the
/// // WorkOS session too.
/// async fn delete_account(control: SessionControl) -> Response {
///     // ... delete the app's data ...
///     control.sign_out().await
/// }
/// ```
///
/// The forms that call it are the app's, so protect them from cross-site posts with
/// [`AuthKit::check_origin`](super::AuthKit::check_origin), as the built-in routes are.
pub struct SessionControl {
    authkit: AuthKit,
    session: Session,
    requester: Requester,
}

impl std::fmt::Debug for SessionControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionControl")
            .field("session", &crate::session::id_hash(self.session.id()))
            .finish_non_exhaustive()
    }
}

const NO_LAYER: &str = "the SessionControl extractor found no AuthLayer: add \
`.layer(authkit.layer(store))` around the route";
const NO_SESSION: &str = "SessionControl found no session: add the session layer (e.g. \
`authkit.layer(store)`, which adds it with AuthLayer)";

impl<S: Send + Sync> FromRequestParts<S> for SessionControl {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let LayerKit(authkit) = parts
            .extensions
            .get::<LayerKit>()
            .cloned()
            .ok_or(AuthRejection::Misconfigured(NO_LAYER))?;
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(AuthRejection::Misconfigured(NO_SESSION))?;
        let requester = super::requester::of(
            &parts.headers,
            &parts.extensions,
            authkit.inner.client_ip_header.as_ref(),
        );
        Ok(SessionControl {
            authkit,
            session,
            requester,
        })
    }
}

/// Why a [`SessionControl`] call failed. Answers as a response with
/// [`IntoResponse`]: `401` when not signed in, `503` when the session store failed, `502` when
/// WorkOS failed or its token did not verify, or the app's own refusal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The request is not signed in (nothing to refresh).
    #[error("not signed in")]
    NotSignedIn,
    /// WorkOS refused the refresh token (revoked, or the WorkOS session ended): the session is
    /// signed out.
    #[error("WorkOS ended the session: sign in again")]
    SessionEnded,
    /// WorkOS failed or is unreachable; the session is unchanged.
    #[error("WorkOS: {0}")]
    Api(#[source] crate::Error),
    /// The access token WorkOS gave did not verify; nothing was stored.
    #[error("the access token did not verify: {0}")]
    Token(#[source] TokenError),
    /// The session store failed; try again.
    #[error("the session store failed: {0}")]
    Store(String),
    /// The app's `on_sign_in` hook refused the sign-in, with this answer.
    #[error("the app's on_sign_in hook refused the sign-in")]
    Refused(Response),
    /// The device to sign out is not one of the user's active sessions.
    #[error("no such session among the user's active sessions")]
    UnknownDevice,
    /// The organization needs the user to authenticate in its own way first (its SSO, MFA, or
    /// another allowed method): answers with a redirect to this sign-in link, scoped to the
    /// organization; the switch happens when the user comes back.
    #[error("the organization requires signing in through its own authentication first")]
    SignInRequired(super::SignInUrl),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let (status, error) = match &self {
            ControlError::Refused(_) => {
                let ControlError::Refused(response) = self else {
                    unreachable!()
                };
                return response;
            }
            ControlError::NotSignedIn | ControlError::SessionEnded => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            ControlError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            ControlError::UnknownDevice => (StatusCode::NOT_FOUND, "not_found"),
            ControlError::SignInRequired(link) => {
                return axum::response::Redirect::to(&link.to_string()).into_response();
            }
            // WorkOS refused the request itself (e.g. an organization the user is not in).
            ControlError::Api(err) if err.status().is_some_and(|s| (400..500).contains(&s)) => {
                let code = err.code().unwrap_or("bad_request").to_owned();
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({ "error": code, "message": self.to_string() })),
                )
                    .into_response();
            }
            ControlError::Api(_) | ControlError::Token(_) => (StatusCode::BAD_GATEWAY, "workos"),
        };
        (
            status,
            axum::Json(json!({ "error": error, "message": self.to_string() })),
        )
            .into_response()
    }
}

impl SessionControl {
    /// The app's [`AuthKit`] (its client, to authenticate with WorkOS).
    pub fn authkit(&self) -> &AuthKit {
        &self.authkit
    }

    /// The request's session.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Signs the session in with an authentication the app obtained (password, magic auth,
    /// email code, ...), as the callback does: the access token is verified, the app's
    /// `on_sign_in` hook runs, the session id is cycled (a planted cookie names a deleted
    /// record from then on), and the session is stored. Returns the signed-in user; later
    /// requests see it.
    pub async fn sign_in(&self, auth: AuthenticateResponse) -> Result<AuthUser, ControlError> {
        match super::flow::sign_in_session(&self.authkit, &self.session, auth, None).await {
            Ok(signed_in) => Ok(AuthUser::from_session(signed_in)),
            Err(super::flow::SignInFailure::Token(err)) => Err(ControlError::Token(err)),
            Err(super::flow::SignInFailure::Refused(response)) => {
                Err(ControlError::Refused(response))
            }
            Err(super::flow::SignInFailure::Store(err)) => Err(ControlError::Store(err)),
        }
    }

    /// Refreshes the session's tokens now (new claims after a role or organization change at
    /// WorkOS, say) and stores them; returns the refreshed user for the rest of this request.
    /// WorkOS refusing the refresh token signs the session out ([`ControlError::SessionEnded`]);
    /// WorkOS failing leaves it as it was.
    pub async fn refresh(&self) -> Result<AuthUser, ControlError> {
        self.exchange_now(None).await
    }

    /// Scopes the session to another of the user's organizations (new tokens with that
    /// organization's role and permissions) and returns the user as switched, for the rest of
    /// this request. When the organization requires its own authentication (SSO, MFA), WorkOS
    /// refuses the switch and this answers [`ControlError::SignInRequired`], whose response
    /// sends the user through AuthKit for that organization (and back to `return_to`);
    /// an organization the user is not a member of is [`ControlError::Api`] and the session is
    /// unchanged.
    ///
    /// ```
    /// use axum::{Form, response::{IntoResponse, Redirect, Response}};
    /// use authkit_axum::web::SessionControl;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Switch { organization_id: String }
    ///
    /// async fn switch(control: SessionControl, Form(form): Form<Switch>) -> Response {
    ///     match control.switch_organization(&form.organization_id, "/dashboard").await {
    ///         Ok(_) => Redirect::to("/dashboard").into_response(),
    ///         Err(err) => err.into_response(), // a redirect into AuthKit when SSO is required
    ///     }
    /// }
    /// ```
    pub async fn switch_organization(
        &self,
        organization_id: &str,
        return_to: &str,
    ) -> Result<AuthUser, ControlError> {
        self.exchange_now(Some((organization_id, return_to))).await
    }

    /// Exchanges the refresh token now, scoped to `switch`'s organization when given (with the
    /// page to come back to after the organization's own sign-in), and stores the result.
    async fn exchange_now(&self, switch: Option<(&str, &str)>) -> Result<AuthUser, ControlError> {
        let current = session::load(&self.session)
            .await
            .map_err(|err| ControlError::Store(err.to_string()))?
            .ok_or(ControlError::NotSignedIn)?;
        let core = &self.authkit.inner.core;
        let organization = switch.map(|(org, _)| org.to_owned());
        let exchanged = refresh::exchange_recovering(
            core,
            &self.session,
            &current,
            organization,
            &self.requester,
        )
        .await;
        match exchanged {
            Ok(next) => {
                refresh::save_now(&self.session, next.session())
                    .await
                    .map_err(|err| ControlError::Store(err.to_string()))?;
                if let Some((organization_id, _)) = switch {
                    tracing::info!(user = %next.session().user.id, organization = %organization_id, "switched organization");
                }
                // Unverified tokens are kept to be verified later; the verified ones serve
                // meanwhile.
                Ok(AuthUser::from_session(next.into_session()))
            }
            Err(ExchangeError::Api(err))
                if switch.is_some() && needs_organization_sign_in(&err) =>
            {
                let (organization_id, return_to) = switch.unwrap_or_default();
                tracing::info!(organization = %organization_id, code = err.code(), "the organization requires its own sign-in; sending the user through AuthKit");
                Err(ControlError::SignInRequired(organization_sign_in(
                    &self.authkit,
                    organization_id,
                    return_to,
                    &current,
                )))
            }
            Err(ExchangeError::Api(err)) if err.is_invalid_grant() => {
                let _ = session::clear(&self.session).await;
                core.stats.sign_out(crate::session::stats::SignOut::Refused);
                Err(ControlError::SessionEnded)
            }
            Err(ExchangeError::Api(err)) => Err(ControlError::Api(err)),
        }
    }

    /// Signs out: removes the session (and, with
    /// [`revoke_on_sign_out`](super::AuthKitBuilder::revoke_on_sign_out), revokes it at
    /// WorkOS) and answers with the redirect to WorkOS's logout URL, which ends the WorkOS
    /// session and comes back to the `after_sign_out` page. The same as `POST /auth/logout`.
    pub async fn sign_out(self) -> Response {
        super::flow::sign_out(&self.authkit, &self.session).await
    }
}

/// Whether WorkOS refused an organization switch because the organization requires its own
/// authentication (SSO, MFA, or another allowed method).
pub(crate) fn needs_organization_sign_in(err: &crate::Error) -> bool {
    matches!(
        err,
        crate::Error::SsoRequired(_)
            | crate::Error::MfaEnrollment(_)
            | crate::Error::MfaChallenge(_)
            | crate::Error::OrganizationAuthenticationMethodsRequired(_)
    )
}

/// The sign-in link into `organization_id` for `current`'s user, back to `return_to`.
pub(crate) fn organization_sign_in(
    authkit: &AuthKit,
    organization_id: &str,
    return_to: &str,
    current: &session::AuthSession,
) -> super::SignInUrl {
    authkit
        .sign_in_url()
        .organization(organization_id)
        .login_hint(current.user.email.clone())
        .return_to(return_to)
}
