//! Extractors: [`AuthUser`] (required) and `Option<AuthUser>`, and the [`AuthRejection`]
//! a handler gets when the request is not signed in or lacks a permission.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

use serde_json::json;

use crate::SecretString;
use crate::session::claims::AccessTokenClaims;
use crate::user_management::{Impersonator, User};

/// Put into the extensions of requests without a signed-in user by [`AuthLayer`](super::AuthLayer):
/// what the extractors need to answer them.
#[derive(Clone)]
pub(crate) struct AuthContext {
    /// How to answer, and where sign-in starts.
    pub rejecting: Arc<Rejecting>,
    pub session_layer: bool,
}

/// How the extractors answer a request without a signed-in user: from the AuthKit's settings.
#[derive(Debug)]
pub(crate) struct Rejecting {
    pub unauthenticated: Unauthenticated,
    /// The sign-in route (e.g. `/auth/login`).
    pub sign_in_path: String,
}

/// What a request without a signed-in user gets from the [`AuthUser`](AuthUser) extractor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unauthenticated {
    /// Decide per request: browser page loads get a redirect to sign in, API and `fetch`
    /// requests get 401 JSON (by `Accept`, `Sec-Fetch-Mode` and `X-Requested-With`).
    #[default]
    Auto,
    /// Always `303 See Other` to the sign-in route, with `return_to` set to the request path.
    Redirect,
    /// Always `401 Unauthorized` with a JSON body.
    Json,
}

/// Whether the request carries no bearer token (so a missing session layer matters).
fn layer_bearer_absent(headers: &HeaderMap) -> bool {
    !headers.contains_key(axum::http::header::AUTHORIZATION)
}

/// Where an [`AuthUser`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthSource {
    /// The browser session (cookie).
    Session,
    /// An `Authorization: Bearer` access token.
    Bearer,
}

/// The signed-in user of a request. Use it as an extractor to require sign-in:
///
/// ```
/// use authkit_axum::AuthUser;
///
/// async fn account(user: AuthUser) -> String {
///     let org = user.organization_id.as_deref().unwrap_or("no organization");
///     format!("{} ({org}, role {:?})", user.user.email, user.claims.role)
/// }
///
/// async fn home(user: Option<AuthUser>) -> String {
///     match user {
///         Some(user) => format!("Welcome back, {}", user.user.display_name()),
///         None => "Welcome! Sign in at /auth/login".to_owned(),
///     }
/// }
/// ```
///
/// Without a signed-in user the required form answers as configured with
/// [`Unauthenticated`]: a `303` to the sign-in route for page loads, `401` JSON for API calls.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthUser {
    /// The user.
    pub user: Arc<User>,
    /// The verified access-token claims: session id, organization, role(s), permissions,
    /// entitlements, feature flags, impersonator.
    pub claims: Arc<AccessTokenClaims>,
    /// The organization the session is scoped to.
    pub organization_id: Option<String>,
    /// The impersonator, on impersonated sessions.
    pub impersonator: Option<Impersonator>,
    /// The raw access token, to call downstream APIs on the user's behalf.
    pub access_token: SecretString,
    /// When the access token expires (Unix seconds; refreshed automatically for sessions).
    pub expires_at: i64,
    /// When the user last authenticated, Unix seconds: recorded at sign-in for sessions, the
    /// token's `auth_time` claim for bearer tokens (`None` when it has none). See
    /// [`AuthKit::require_recent_auth`](super::AuthKit::require_recent_auth).
    pub authenticated_at: Option<i64>,
    /// Session or bearer token.
    pub source: AuthSource,
}

/// An `AuthUser` reads as the [`User`] it holds: `user.email`, `user.id`,
/// `user.display_name()`.
///
/// ```
/// use authkit_axum::AuthUser;
///
/// async fn hello(user: AuthUser) -> String {
///     format!("Hello, {} ({})", user.display_name(), user.email)
/// }
/// ```
impl std::ops::Deref for AuthUser {
    type Target = User;

    fn deref(&self) -> &User {
        &self.user
    }
}

impl AuthUser {
    /// The WorkOS session id (`sid`), if the token has one.
    pub fn session_id(&self) -> Option<&str> {
        self.claims.sid.as_deref()
    }

    /// The role slug in the current organization.
    pub fn role(&self) -> Option<&str> {
        self.claims.role.as_deref()
    }

    /// The permission slugs.
    pub fn permissions(&self) -> &[String] {
        &self.claims.permissions
    }

    /// The access token's claims as your own type (e.g. the custom claims of your WorkOS JWT
    /// template); see [`AccessTokenClaims::custom`].
    ///
    /// ```
    /// use authkit_axum::AuthUser;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Plan {
    ///     tier: String,
    /// }
    ///
    /// async fn plan(user: AuthUser) -> String {
    ///     match user.custom_claims::<Plan>() {
    ///         Ok(plan) => format!("{} is on {}", user.email, plan.tier),
    ///         Err(_) => "no plan claim in the token".to_owned(),
    ///     }
    /// }
    /// ```
    pub fn custom_claims<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.claims.custom()
    }

    /// Requires a permission: `Err` is a `403` rejection naming it.
    ///
    /// ```
    /// use authkit_axum::AuthUser;
    /// use authkit_axum::web::AuthRejection;
    ///
    /// async fn delete_widget(user: AuthUser) -> Result<&'static str, AuthRejection> {
    ///     user.require_permission("widgets:manage")?;
    ///     Ok("deleted")
    /// }
    /// ```
    pub fn require_permission(&self, permission: &str) -> Result<(), AuthRejection> {
        if self.claims.has_permission(permission) {
            Ok(())
        } else {
            Err(AuthRejection::Forbidden(format!(
                "this needs the permission {permission:?}"
            )))
        }
    }

    /// Requires a role (`role` or one of `roles`).
    pub fn require_role(&self, role: &str) -> Result<(), AuthRejection> {
        if self.claims.has_role(role) {
            Ok(())
        } else {
            Err(AuthRejection::Forbidden(format!(
                "this needs the role {role:?}"
            )))
        }
    }

    /// Requires the session to be scoped to an organization; returns its id.
    pub fn require_organization(&self) -> Result<&str, AuthRejection> {
        self.organization_id.as_deref().ok_or_else(|| {
            AuthRejection::Forbidden("this needs an organization: choose one first".into())
        })
    }
}

/// Why the [`AuthUser`] extractor refused a request. Implements `IntoResponse`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthRejection {
    /// Not signed in: `303` to this sign-in URL (browser page loads).
    Redirect(String),
    /// Not signed in: `401` JSON (API and fetch requests).
    Unauthorized,
    /// Signed in but not allowed: `403` with the reason.
    Forbidden(String),
    /// The app is misconfigured (no `AuthLayer`, or no session layer): `500` naming the fix.
    Misconfigured(&'static str),
    /// The request's API key is malformed, unknown or deleted: `401` JSON
    /// `{"error": "invalid_api_key"}` with the reason.
    InvalidApiKey(String),
    /// The route needs an API key and the request has none: `401` JSON
    /// `{"error": "api_key_required"}`.
    ApiKeyRequired,
    /// The request's API key could not be checked (WorkOS down or slow, or too many unknown
    /// keys at once): `503` JSON `{"error": "api_key_validation_unavailable"}` with
    /// `Retry-After: 1`. Never treated as valid.
    ApiKeyUnavailable,
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthRejection::Redirect(to) => write!(f, "sign-in required (redirecting to {to})"),
            AuthRejection::Unauthorized => f.write_str("sign-in required"),
            AuthRejection::Forbidden(reason) => write!(f, "forbidden: {reason}"),
            AuthRejection::Misconfigured(fix) => {
                write!(f, "authentication is misconfigured: {fix}")
            }
            AuthRejection::InvalidApiKey(reason) => write!(f, "invalid API key: {reason}"),
            AuthRejection::ApiKeyRequired => f.write_str("an API key is required"),
            AuthRejection::ApiKeyUnavailable => {
                f.write_str("the API key could not be checked for now")
            }
        }
    }
}

impl std::error::Error for AuthRejection {}

impl AuthRejection {
    /// The HTTP status this rejection answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthRejection::Redirect(_) => StatusCode::SEE_OTHER,
            AuthRejection::Unauthorized => StatusCode::UNAUTHORIZED,
            AuthRejection::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthRejection::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AuthRejection::InvalidApiKey(_) | AuthRejection::ApiKeyRequired => {
                StatusCode::UNAUTHORIZED
            }
            AuthRejection::ApiKeyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Redirect(to) => Redirect::to(&to).into_response(),
            AuthRejection::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(json!({
                    "error": "unauthorized",
                    "message": "Sign in first: this endpoint needs a signed-in session or a bearer access token."
                })),
            )
                .into_response(),
            AuthRejection::Forbidden(reason) => (
                StatusCode::FORBIDDEN,
                axum::Json(json!({ "error": "forbidden", "message": reason })),
            )
                .into_response(),
            AuthRejection::Misconfigured(fix) => {
                tracing::error!("{fix}");
                (StatusCode::INTERNAL_SERVER_ERROR, format!("Authentication is misconfigured: {fix}"))
                    .into_response()
            }
            AuthRejection::InvalidApiKey(reason) => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
                axum::Json(json!({ "error": "invalid_api_key", "message": reason })),
            )
                .into_response(),
            AuthRejection::ApiKeyRequired => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(json!({
                    "error": "api_key_required",
                    "message": "This endpoint needs an API key: send `Authorization: Bearer <key>`."
                })),
            )
                .into_response(),
            AuthRejection::ApiKeyUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1"), (header::CACHE_CONTROL, "no-store")],
                axum::Json(json!({
                    "error": "api_key_validation_unavailable",
                    "message": "The API key cannot be checked right now. Try again in a moment."
                })),
            )
                .into_response(),
        }
    }
}

/// What a machine (API key) gets on a route for signed-in users.
pub(crate) const MACHINE: &str = "this endpoint is for signed-in users; an API key cannot use it";

const NO_LAYER: &str = "the AuthUser extractor found no AuthLayer: add `.layer(AuthLayer::new(authkit.clone()))` to the router, inside the session layer";
const NO_SESSION: &str = "AuthLayer found no session: add the tower-sessions SessionManagerLayer (e.g. `authkit.session_layer(store)`) outside AuthLayer";

/// Whether an unauthenticated request should get JSON rather than a redirect.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    if get("x-requested-with").eq_ignore_ascii_case("xmlhttprequest") {
        return true;
    }
    // A client that sent a bearer token (refused, or we would not be here) is an API client
    // whatever it accepts: it needs the 401, not a sign-in page. (Not `Basic`: browsers send
    // that on page loads behind a password-protected proxy.)
    if get("authorization")
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "))
    {
        return true;
    }
    match get("sec-fetch-mode") {
        "navigate" => return false,
        "cors" | "same-origin" | "no-cors" => return true,
        _ => {}
    }
    let accept = get("accept");
    if accept.contains("text/html") {
        return false;
    }
    accept.contains("application/json")
        || headers.contains_key(header::AUTHORIZATION)
        || !accept.is_empty()
}

/// The answer to a request without a signed-in user on a route that needs one (the extractor's
/// and the route guards'): `500` when there is no session layer to have signed in with, else
/// as configured by [`Unauthenticated`].
pub(crate) fn reject_anonymous(ctx: &AuthContext, headers: &HeaderMap, uri: &Uri) -> AuthRejection {
    if !ctx.session_layer && layer_bearer_absent(headers) {
        return AuthRejection::Misconfigured(NO_SESSION);
    }
    let json = match ctx.rejecting.unauthenticated {
        Unauthenticated::Json => true,
        Unauthenticated::Redirect => false,
        Unauthenticated::Auto => wants_json(headers),
    };
    if json {
        return AuthRejection::Unauthorized;
    }
    let return_to = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    AuthRejection::Redirect(format!(
        "{}?return_to={encoded}",
        ctx.rejecting.sign_in_path
    ))
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        if parts.extensions.get::<super::ApiKeyClient>().is_some() {
            return Err(AuthRejection::Forbidden(MACHINE.into()));
        }
        let ctx = parts
            .extensions
            .get::<AuthContext>()
            .ok_or(AuthRejection::Misconfigured(NO_LAYER))?;
        Err(reject_anonymous(ctx, &parts.headers, &parts.uri))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(Some(user.clone()));
        }
        let ctx = parts
            .extensions
            .get::<AuthContext>()
            .ok_or(AuthRejection::Misconfigured(NO_LAYER))?;
        if !ctx.session_layer && layer_bearer_absent(&parts.headers) {
            return Err(AuthRejection::Misconfigured(NO_SESSION));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn page_loads_redirect_and_api_calls_get_json() {
        assert!(!wants_json(&headers(&[(
            "accept",
            "text/html,application/xhtml+xml"
        )])));
        assert!(!wants_json(&headers(&[
            ("sec-fetch-mode", "navigate"),
            ("accept", "*/*")
        ])));
        assert!(wants_json(&headers(&[("accept", "application/json")])));
        assert!(wants_json(&headers(&[("sec-fetch-mode", "cors")])));
        assert!(wants_json(&headers(&[(
            "x-requested-with",
            "XMLHttpRequest"
        )])));
        assert!(!wants_json(&headers(&[])));
        assert!(wants_json(&headers(&[
            ("authorization", "Bearer x"),
            ("accept", "text/html")
        ])));
        assert!(!wants_json(&headers(&[
            ("authorization", "Basic YTpi"),
            ("accept", "text/html")
        ])));
    }
}
