//! Route guards: tower layers that let a request through to the routes they wrap only when its
//! signed-in user passes a check, so the check sits on the routes rather than in each handler.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, Ready, ready};
use tower_layer::Layer;
use tower_service::Service;

use super::extract::{self, AuthContext, AuthRejection, AuthUser};
use super::pages;

/// What a guard checks of the signed-in user.
#[derive(Clone)]
enum Check {
    SignedIn,
    Permission(String),
    Role(String),
    Organization,
    Predicate {
        /// Says what the user lacks, in the `403`.
        describe: Arc<str>,
        allows: Arc<dyn Fn(&AuthUser) -> bool + Send + Sync>,
    },
    /// Authenticated at most `max_age` ago (on `clock`); else sign in again at `sign_in`.
    RecentAuth {
        max_age: std::time::Duration,
        clock: crate::session::Clock,
        sign_in: super::SignInUrl,
    },
}

impl Check {
    /// `None` when `user` passes; otherwise what it lacks.
    fn refusal(&self, user: &AuthUser) -> Option<String> {
        let passes = match self {
            Check::SignedIn => true,
            Check::Permission(permission) => user.claims.has_permission(permission),
            Check::Role(role) => user.claims.has_role(role),
            Check::Organization => user.organization_id.is_some(),
            Check::Predicate { allows, .. } => allows(user),
            // Answered by `reauthenticate` before this is asked.
            Check::RecentAuth { .. } => true,
        };
        (!passes).then(|| match self {
            Check::SignedIn => String::new(),
            Check::Permission(permission) => format!("this needs the permission {permission:?}"),
            Check::Role(role) => format!("this needs the role {role:?}"),
            Check::Organization => "this needs an organization: choose one first".to_owned(),
            Check::Predicate { describe, .. } => describe.to_string(),
            Check::RecentAuth { .. } => String::new(),
        })
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::SignedIn => f.write_str("SignedIn"),
            Check::Permission(p) => f.debug_tuple("Permission").field(p).finish(),
            Check::Role(r) => f.debug_tuple("Role").field(r).finish(),
            Check::Organization => f.write_str("Organization"),
            Check::Predicate { describe, .. } => f
                .debug_struct("Predicate")
                .field("describe", describe)
                .finish_non_exhaustive(),
            Check::RecentAuth { max_age, .. } => f
                .debug_struct("RecentAuth")
                .field("max_age", max_age)
                .finish_non_exhaustive(),
        }
    }
}

/// A route guard: a tower layer for `Router::route_layer` that lets only signed-in users who
/// pass its check through. Made by [`AuthKit::require_sign_in`](super::AuthKit::require_sign_in),
/// [`require_permission`](super::AuthKit::require_permission),
/// [`require_role`](super::AuthKit::require_role),
/// [`require_organization`](super::AuthKit::require_organization),
/// [`require_recent_auth`](super::AuthKit::require_recent_auth) and
/// [`require`](super::AuthKit::require).
///
/// ```
/// use axum::{Router, routing::{get, post}};
/// use authkit_axum::{AuthKit, AuthUser};
///
/// # fn app(authkit: AuthKit, store: authkit_axum::stores::MemoryStore) -> Router {
/// async fn admin_home(user: AuthUser) -> String {
///     format!("Hello, admin {}", user.email)
/// }
/// async fn create_widget() -> &'static str {
///     "created"
/// }
///
/// let admin = Router::new()
///     .route("/admin", get(admin_home))
///     .route_layer(authkit.require_role("admin"));
/// let api = Router::new()
///     .route("/api/widgets", post(create_widget))
///     .route_layer(authkit.require_permission("widgets:write"));
/// Router::new()
///     .merge(admin)
///     .merge(api)
///     .merge(authkit.router())
///     .layer(authkit.layer(store))
/// # }
/// ```
///
/// A guard answers as the [`AuthUser`] extractor does: a request without a signed-in user gets
/// the configured [`Unauthenticated`](super::Unauthenticated) answer (a `303` to sign in for
/// page loads, `401` JSON for API calls); a signed-in user who fails the check gets `403`, an
/// HTML page for page loads and JSON for API calls, naming what is missing. Guards read the
/// user [`AuthLayer`](super::AuthLayer) put into the request, so the auth layer must wrap the
/// guarded routes (`Router::layer` after `route_layer`); a guarded route without it answers
/// `500` naming the fix, never lets the request through.
///
/// With [API keys](super::AuthKitBuilder::api_keys) on, a request with a valid API key passes
/// [`require_permission`](super::AuthKit::require_permission) when the key grants the
/// permission, and [`require_organization`](super::AuthKit::require_organization) always (a key
/// acts for its organization); the other guards are for users and answer a key with `403` JSON.
#[derive(Clone, Debug)]
pub struct Guard {
    check: Check,
}

impl Guard {
    pub(crate) fn signed_in() -> Guard {
        Guard {
            check: Check::SignedIn,
        }
    }

    pub(crate) fn permission(permission: String) -> Guard {
        Guard {
            check: Check::Permission(permission),
        }
    }

    pub(crate) fn role(role: String) -> Guard {
        Guard {
            check: Check::Role(role),
        }
    }

    pub(crate) fn organization() -> Guard {
        Guard {
            check: Check::Organization,
        }
    }

    pub(crate) fn predicate(
        describe: String,
        allows: impl Fn(&AuthUser) -> bool + Send + Sync + 'static,
    ) -> Guard {
        Guard {
            check: Check::Predicate {
                describe: describe.into(),
                allows: Arc::new(allows),
            },
        }
    }

    /// `None` to let the request through, else the answer.
    fn refuse<B>(&self, request: &Request<B>) -> Option<Response> {
        let extensions = request.extensions();
        if let Some(user) = extensions.get::<AuthUser>() {
            if let Check::RecentAuth {
                max_age,
                clock,
                sign_in,
            } = &self.check
            {
                return reauthenticate(request, user, *max_age, clock, sign_in);
            }
            return match self.check.refusal(user) {
                None => None,
                Some(reason) => {
                    tracing::info!(
                        user_id = %user.id,
                        path = %request.uri().path(),
                        reason = %reason,
                        "a route guard refused a signed-in user"
                    );
                    Some(forbidden(request, reason))
                }
            };
        }
        if let Some(machine) = extensions.get::<super::ApiKeyClient>() {
            let refusal = match &self.check {
                Check::Permission(permission) if machine.has_permission(permission) => None,
                Check::Permission(permission) => {
                    Some(format!("this needs the permission {permission:?}"))
                }
                Check::Organization => None,
                _ => Some(extract::MACHINE.to_owned()),
            };
            return refusal.map(|reason| {
                tracing::info!(
                    api_key_id = %machine.id,
                    path = %request.uri().path(),
                    reason = %reason,
                    "a route guard refused an API key"
                );
                AuthRejection::Forbidden(reason).into_response()
            });
        }
        let Some(ctx) = extensions.get::<AuthContext>() else {
            return Some(AuthRejection::Misconfigured(NO_LAYER).into_response());
        };
        Some(extract::reject_anonymous(ctx, request.headers(), request.uri()).into_response())
    }
}

const NO_LAYER: &str = "a route guard (authkit.require_…) found no AuthLayer: add \
`.layer(authkit.layer(store))` to the router after `.route_layer(guard)`, so the auth layer \
wraps the guarded routes";

/// `None` when `user` authenticated at most `max_age` ago; else a page load is sent to sign in
/// again (`prompt=login`, the email filled in, back to this page) and an API call gets `401`
/// JSON `reauthentication_required`, as does a bearer token (its `auth_time` claim, if any,
/// says when its user authenticated).
fn reauthenticate<B>(
    request: &Request<B>,
    user: &AuthUser,
    max_age: std::time::Duration,
    clock: &crate::session::Clock,
    sign_in: &super::SignInUrl,
) -> Option<Response> {
    let now = clock.unix();
    let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    if user
        .authenticated_at
        .is_some_and(|at| now.saturating_sub(at) <= max_age)
    {
        return None;
    }
    tracing::info!(user_id = %user.id, path = %request.uri().path(), "a recent sign-in is required");
    if user.source == super::AuthSource::Bearer || extract::wants_json(request.headers()) {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "reauthentication_required",
                    "message": "This needs a recent sign-in: sign in again, then retry.",
                })),
            )
                .into_response(),
        );
    }
    let here = request
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let link = sign_in
        .clone()
        .prompt("login")
        .login_hint(user.email.clone())
        .return_to(here);
    Some(axum::response::Redirect::to(&link.to_string()).into_response())
}

/// `403` for a signed-in user who fails the check: a page for page loads, JSON otherwise.
fn forbidden<B>(request: &Request<B>, reason: String) -> Response {
    if extract::wants_json(request.headers()) {
        return AuthRejection::Forbidden(reason).into_response();
    }
    pages::page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        &format!(
            "<p class=\"error\">You are signed in, but {}.</p><p><a href=\"/\">Back to the start</a></p>",
            pages::esc(&reason)
        ),
    )
}

impl<S> Layer<S> for Guard {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService {
            guard: self.clone(),
            inner,
        }
    }
}

/// The service a [`Guard`] wraps routes in.
#[derive(Clone, Debug)]
pub struct GuardService<S> {
    guard: Guard,
    inner: S,
}

impl<S, B> Service<Request<B>> for GuardService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.guard.refuse(&request) {
            None => Either::Right(self.inner.call(request)),
            Some(answer) => Either::Left(ready(Ok(answer))),
        }
    }
}

impl super::AuthKit {
    /// A route guard that requires a signed-in user (a session or a bearer token): the
    /// layer form of the [`AuthUser`] extractor, for routes whose handlers don't take one.
    ///
    /// ```
    /// # use axum::{Router, routing::get};
    /// # fn app(authkit: authkit_axum::AuthKit, store: authkit_axum::stores::MemoryStore) -> Router {
    /// Router::new()
    ///     .route("/reports", get(|| async { "for signed-in users only" }))
    ///     .route_layer(authkit.require_sign_in())
    ///     .layer(authkit.layer(store))
    /// # }
    /// ```
    pub fn require_sign_in(&self) -> Guard {
        Guard::signed_in()
    }

    /// A route guard that requires a signed-in user whose access token grants `permission`
    /// (from the role in the session's organization, as WorkOS sets it) or, with
    /// [API keys](super::AuthKitBuilder::api_keys) on, an API key that grants it.
    ///
    /// ```
    /// # use axum::{Router, routing::post};
    /// # fn app(authkit: authkit_axum::AuthKit, store: authkit_axum::stores::MemoryStore) -> Router {
    /// Router::new()
    ///     .route("/api/widgets", post(|| async { "created" }))
    ///     .route_layer(authkit.require_permission("widgets:write"))
    ///     .layer(authkit.layer(store))
    /// # }
    /// ```
    pub fn require_permission(&self, permission: impl Into<String>) -> Guard {
        Guard::permission(permission.into())
    }

    /// A route guard that requires a signed-in user with the role `role` (the token's `role`
    /// or one of its `roles`).
    ///
    /// ```
    /// # use axum::{Router, routing::get};
    /// # fn app(authkit: authkit_axum::AuthKit, store: authkit_axum::stores::MemoryStore) -> Router {
    /// Router::new()
    ///     .route("/admin", get(|| async { "admins only" }))
    ///     .route_layer(authkit.require_role("admin"))
    ///     .layer(authkit.layer(store))
    /// # }
    /// ```
    pub fn require_role(&self, role: impl Into<String>) -> Guard {
        Guard::role(role.into())
    }

    /// A route guard that requires a signed-in user whose session is scoped to an
    /// organization (see the organization switch route), or an API key (which always acts for
    /// its organization).
    ///
    /// ```
    /// # use axum::{Router, routing::get};
    /// # fn app(authkit: authkit_axum::AuthKit, store: authkit_axum::stores::MemoryStore) -> Router {
    /// Router::new()
    ///     .route("/team", get(|| async { "your organization's page" }))
    ///     .route_layer(authkit.require_organization())
    ///     .layer(authkit.layer(store))
    /// # }
    /// ```
    pub fn require_organization(&self) -> Guard {
        Guard::organization()
    }

    /// A route guard over any check of the signed-in user: `allows` says whether the user may
    /// pass; `describe` says what a refused user lacks, in the `403` (e.g. "this needs a
    /// verified email").
    ///
    /// ```
    /// # use axum::{Router, routing::get};
    /// # fn app(authkit: authkit_axum::AuthKit, store: authkit_axum::stores::MemoryStore) -> Router {
    /// Router::new()
    ///     .route("/billing", get(|| async { "billing" }))
    ///     .route_layer(authkit.require(
    ///         "this needs the billing entitlement",
    ///         |user| user.claims.entitlements.iter().any(|e| e == "billing"),
    ///     ))
    ///     .layer(authkit.layer(store))
    /// # }
    /// ```
    pub fn require(
        &self,
        describe: impl Into<String>,
        allows: impl Fn(&AuthUser) -> bool + Send + Sync + 'static,
    ) -> Guard {
        Guard::predicate(describe.into(), allows)
    }

    /// A route guard for sensitive pages (change the email, delete the account): the user must
    /// have authenticated at most `max_age` ago. Otherwise a page load is sent through AuthKit
    /// again (`prompt=login`, the email filled in, back to the page) and an API call gets
    /// `401` JSON `{"error": "reauthentication_required"}`, as do bearer tokens without a
    /// recent enough `auth_time` claim. Refreshes do not count as
    /// authenticating.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum::{Router, routing::get};
    /// # fn app(authkit: authkit_axum::AuthKit, store: authkit_axum::stores::MemoryStore) -> Router {
    /// Router::new()
    ///     .route("/settings/delete-account", get(|| async { "are you sure?" }))
    ///     .route_layer(authkit.require_recent_auth(Duration::from_secs(5 * 60)))
    ///     .layer(authkit.layer(store))
    /// # }
    /// ```
    pub fn require_recent_auth(&self, max_age: std::time::Duration) -> Guard {
        Guard {
            check: Check::RecentAuth {
                max_age,
                clock: self.inner.core.clock.clone(),
                sign_in: self.sign_in_url(),
            },
        }
    }
}
