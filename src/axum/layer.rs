//! [`AuthLayer`]: loads the signed-in session (refreshing it shortly before it expires) or
//! verifies a bearer token, and puts the [`AuthUser`] into the request's extensions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use http::header::{AUTHORIZATION, CACHE_CONTROL, HeaderValue, VARY};
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use tower_sessions::Session;

use super::config::AuthKit;
use super::extract::{AuthContext, AuthRejection, AuthSource, AuthUser};
use super::machine::{Refusal, looks_like_jwt};
use super::session::{self, AuthSession, StoreUnavailable};
use crate::session::refresh::{self, Refreshed};
use crate::user_management::{Impersonator, User};
use axum::response::IntoResponse as _;

/// A tower layer that authenticates requests. Put it inside (after) the session layer, or add
/// both at once with [`AuthKit::layer`](super::AuthKit::layer):
///
/// ```
/// use axum::{Router, routing::get};
/// use authkit_axum::{AuthKit, AuthUser, Client};
/// use authkit_axum::web::AuthLayer;
///
/// # fn app(authkit: AuthKit) -> Router {
/// async fn account(user: AuthUser) -> String {
///     format!("Hello, {}", user.user.email)
/// }
///
/// Router::new()
///     .route("/account", get(account))
///     .merge(authkit.router())
///     .layer(AuthLayer::new(authkit.clone()))
///     .layer(authkit.session_layer(tower_sessions::MemoryStore::default()))
/// # }
/// ```
///
/// It reads, in order: an `Authorization: Bearer <access token>` header (verified against the
/// JWKS; verdicts cached until the token expires), then the session. With
/// [API keys](super::AuthKitBuilder::api_keys) on, a bearer token that is not a JWT is taken
/// for an API key instead: validated at WorkOS (verdicts cached, bounded) into an
/// [`ApiKeyClient`](super::ApiKeyClient), or answered `401`/`503` here. A missing, tampered or
/// expired-and-unrefreshable session is simply anonymous: handlers decide with the
/// [`AuthUser`] extractor (required) or `Option<AuthUser>`.
///
/// Per request it reads one number from the session, the session's revision, and compares the
/// stored access token's
/// expiry: tokens are verified when they are stored, and each revision is decoded once per
/// process.
///
/// Refreshing (shortly before the access token expires, see
/// [`refresh_margin`](super::AuthKitBuilder::refresh_margin)) is single-flight per session
/// within one `AuthKit`: concurrent requests share one call to WorkOS, and the new tokens are
/// written to the store at once. Instances that share a store (several machines) may still race;
/// WorkOS refresh tokens are single use, so the loser gets `invalid_grant`, and then re-reads
/// the store for a short while (about half a second) to pick up the winner's tokens before it
/// signs the session out. WorkOS failures (429, 5xx, network) keep the session, for
/// [`stale_grace`](super::AuthKitBuilder::stale_grace) past its expiry, and the next request
/// tries again.
///
/// Caveat: tower-sessions saves whole records at the end of a request that changed the session.
/// A slow request that read the session before a refresh and changes one of the app's own keys
/// writes the old tokens back; the `AuthKit` that refreshed remembers the result for a minute and
/// restores it, but another instance would find the refresh token spent and sign out.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    authkit: AuthKit,
    bearer_only: bool,
}

impl AuthLayer {
    /// A layer for this AuthKit configuration: bearer tokens, then the session.
    pub fn new(authkit: AuthKit) -> Self {
        AuthLayer {
            authkit,
            bearer_only: false,
        }
    }

    /// A layer for APIs that only accept `Authorization: Bearer` access tokens (SPAs, mobile
    /// apps, other services): no session layer is needed, and requests without a valid token
    /// are anonymous.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use authkit_axum::{AuthKit, AuthUser};
    /// use authkit_axum::web::AuthLayer;
    ///
    /// # fn api(authkit: AuthKit) -> Router {
    /// async fn me(user: AuthUser) -> String {
    ///     user.user.id.clone()
    /// }
    /// Router::new().route("/api/me", get(me)).layer(AuthLayer::bearer_only(authkit))
    /// # }
    /// ```
    pub fn bearer_only(authkit: AuthKit) -> Self {
        AuthLayer {
            authkit,
            bearer_only: true,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authkit: self.authkit.clone(),
            bearer_only: self.bearer_only,
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    authkit: AuthKit,
    bearer_only: bool,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<axum::body::Body> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let authkit = self.authkit.clone();
        let bearer_only = self.bearer_only;
        // The clone that was polled ready handles this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            // An API key, when they are accepted: a machine, or a refusal answered here.
            if let Some(verifier) = &authkit.inner.api_keys
                && let Some(token) = bearer(&request).filter(|t| !looks_like_jwt(t))
            {
                let machine = match verifier.authenticate(token).await {
                    Ok(machine) => machine,
                    Err(refusal) => {
                        let rejection = match refusal {
                            Refusal::Invalid(reason) => AuthRejection::InvalidApiKey(reason.into()),
                            Refusal::Unavailable => AuthRejection::ApiKeyUnavailable,
                        };
                        return Ok(rejection.into_response().map(ResBody::from));
                    }
                };
                let extensions = request.extensions_mut();
                extensions.insert(super::control::LayerKit(authkit.clone()));
                extensions.insert(AuthContext {
                    rejecting: authkit.inner.rejecting.clone(),
                    session_layer: true,
                });
                extensions.insert(machine);
                let mut response = inner.call(request).await?;
                private(response.headers_mut());
                return Ok(response);
            }
            // Borrowed from the request until the user is known.
            let session = request.extensions().get::<Session>();
            let has_session = session.is_some();
            let user = match (bearer_only, bearer(&request)) {
                (true, None) => None,
                (true, Some(token)) => from_bearer(&authkit, token).await,
                (false, token) => match authenticate(
                    &authkit,
                    token,
                    session,
                    Head(request.headers(), request.extensions()),
                )
                .await
                {
                    Ok(user) => user,
                    // The store is down: answer at once rather than guess (anonymous would
                    // sign the user out of this page, and the session layer could not save
                    // anyway). Nothing is deleted; the next request after recovery is signed in.
                    Err(outage) => {
                        return Ok(store_unavailable(&authkit, request.headers(), &outage));
                    }
                },
            };
            let signed_in = user.is_some();
            request
                .extensions_mut()
                .insert(super::control::LayerKit(authkit.clone()));
            if let Some(user) = user {
                request.extensions_mut().insert(user);
            } else {
                // What the extractors need to answer a request that is not signed in.
                let session_layer = has_session || bearer_only;
                request.extensions_mut().insert(AuthContext {
                    rejecting: authkit.inner.rejecting.clone(),
                    session_layer,
                });
            }
            let mut response = inner.call(request).await?;
            if signed_in {
                private(response.headers_mut());
            }
            Ok(response)
        })
    }
}

/// A signed-in page must not be cached for others; a handler that chose its own caching (e.g.
/// `private, max-age=60`) keeps it.
fn private(headers: &mut http::HeaderMap) {
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    headers.append(VARY, HeaderValue::from_static("Cookie, Authorization"));
}

/// The request's headers and extensions, for the end user a refresh is made for.
#[derive(Clone, Copy)]
struct Head<'a>(&'a http::HeaderMap, &'a http::Extensions);

async fn authenticate(
    authkit: &AuthKit,
    token: Option<&str>,
    session: Option<&Session>,
    head: Head<'_>,
) -> Result<Option<AuthUser>, StoreUnavailable> {
    if let Some(token) = token {
        return Ok(from_bearer(authkit, token).await);
    }
    let Some(session) = session else {
        tracing::error!(
            "AuthLayer found no session: add the tower-sessions SessionManagerLayer outside it \
             (e.g. `.layer(AuthLayer::new(authkit.clone())).layer(authkit.session_layer(store))`)"
        );
        return Ok(None);
    };
    from_session(authkit, session, head).await
}

/// The fast answer while the session store is down: `503` with `Retry-After`, as a page for
/// browsers and JSON for API calls.
#[cold]
fn store_unavailable<B: From<axum::body::Body>>(
    authkit: &AuthKit,
    headers: &http::HeaderMap,
    outage: &StoreUnavailable,
) -> Response<B> {
    use axum::response::IntoResponse;
    authkit.inner.core.stats.store_error();
    tracing::warn!(error = %outage, "the session store is unavailable; answering 503");
    const MESSAGE: &str = "Sessions are unavailable for a moment (the session store cannot be reached). Try again in a few seconds; you are still signed in.";
    let mut response = if super::extract::wants_json(headers) {
        (
            http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "error": "session_store_unavailable",
                "message": MESSAGE,
            })),
        )
            .into_response()
    } else {
        super::pages::page(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "Try again in a moment",
            &format!("<p>{}</p>", super::pages::esc(MESSAGE)),
        )
    };
    let out = response.headers_mut();
    out.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    out.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.map(B::from)
}

fn bearer<B>(request: &Request<B>) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The time now, Unix seconds (system clock).
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The user of the signed-in session: a cached lookup while its access token is fresh; the
/// rest (rare) is boxed so the per-request future stays small.
async fn from_session(
    authkit: &AuthKit,
    session: &Session,
    head: Head<'_>,
) -> Result<Option<AuthUser>, StoreUnavailable> {
    let Some(loaded) = session::load_cached(session, &authkit.inner.sessions).await? else {
        return Ok(None);
    };
    if authkit.inner.core.clock.now() < loaded.refresh_at && !loaded.unverified {
        return Ok(Some(loaded.user.clone()));
    }
    Ok(Box::pin(due(authkit, loaded, session, head)).await)
}

/// A session due for a refresh (or holding tokens still to verify).
///
/// - While its access token is valid the request is served at once and the refresh runs in
///   the background.
/// - Once it has expired, the request waits for the refresh until it has run for
///   [`refresh_wait`](super::AuthKitBuilder::refresh_wait), then is served from the expired
///   (verified) tokens within the [`stale_grace`](super::AuthKitBuilder::stale_grace), else as
///   anonymous; the session is kept either way (only WorkOS refusing the refresh token signs
///   it out).
async fn due(
    authkit: &AuthKit,
    loaded: Arc<session::Loaded>,
    session: &Session,
    Head(headers, extensions): Head<'_>,
) -> Option<AuthUser> {
    let inner = &authkit.inner;
    let requester = super::requester::of(headers, extensions, inner.client_ip_header.as_ref());
    let flight = refresh::begin(&authkit.inner.core, &loaded.session, session, requester);
    let now = inner.core.clock.now();
    if now < loaded.expires_at {
        // Still valid: use a result that is already there, else serve now.
        if let Some(Refreshed::Ok(next, saved)) = flight.as_ref().and_then(|(f, _)| f.peek()) {
            return Some(adopt(session, next, *saved).await);
        }
        return Some(loaded.user.clone());
    }
    // Wait for the refresh, but never past the bound counted from when it started: once a
    // refresh has taken longer than that (WorkOS slow, or retrying), later requests are served
    // stale at once instead of each waiting again.
    let outcome = match flight {
        Some((flight, started)) => match flight.peek() {
            Some(done) => Some(done.clone()),
            None => {
                let left = inner.core.refresh_wait.saturating_sub(started.elapsed());
                tokio::time::timeout(left, flight).await.ok()
            }
        },
        None => None,
    };
    match outcome {
        Some(Refreshed::Ok(next, saved)) => Some(adopt(session, &next, saved).await),
        Some(Refreshed::Invalid) => {
            // The refresh signed the session out (after checking for a racing winner); this
            // request's copy of the record must not bring it back.
            let _ = session::clear(session).await;
            None
        }
        Some(Refreshed::Transient { .. }) | None => {
            let grace = crate::session::clock::from_unix(loaded.session.expires_at())
                + inner.core.stale_grace;
            if inner.core.clock.now() < grace {
                inner.core.stats.stale_serve();
                Some(loaded.user.clone())
            } else {
                tracing::info!(
                    user = %loaded.session.user.id,
                    session = %crate::session::id_hash(session.id()),
                    "the session's access token expired past the stale grace and could not be refreshed; treating this request as signed out (the session is kept)"
                );
                None
            }
        }
    }
}

/// Takes a finished refresh's session into this request: the refresh saved it to the store at
/// once; requests that joined it keep it in their own copy of the record too (which they may
/// save at the end), so they never write the spent tokens back. When the store did not take it
/// (`saved` false: it failed just then, and the refresh keeps trying), the copy is left alone,
/// so this request does not end in a failing save of its own.
async fn adopt(session: &Session, next: &AuthSession, saved: bool) -> AuthUser {
    let stored = session::load(session).await.ok().flatten();
    let current = stored
        .as_ref()
        .is_some_and(|s| s.refresh_token.ct_eq(&next.refresh_token));
    if saved
        && !current
        && let Err(err) = session::store(session, next).await
    {
        tracing::warn!(error = %err, "could not store the refreshed session");
    }
    AuthUser::from_session(next.clone())
}

/// Users of bearer tokens, fetched once per minute at most.
#[derive(Default)]
pub(crate) struct UserCache {
    users: Mutex<HashMap<String, (Instant, Arc<User>)>>,
}

const USER_TTL: Duration = Duration::from_secs(60);
const USER_CAPACITY: usize = 10_000;

/// The user of a bearer token. A token seen before (and its user) costs two lookups; the
/// first sight of a token (signature check, maybe a JWKS fetch) and of its user (a WorkOS
/// call) take the slow path, boxed so the per-request future stays small.
async fn from_bearer(authkit: &AuthKit, token: &str) -> Option<AuthUser> {
    let verifier = &authkit.inner.core.verifier;
    let claims = match verifier.cached_verdict(token) {
        Some(claims) => claims,
        None => match Box::pin(verifier.verify_and_remember(token)).await {
            Ok(claims) => claims,
            Err(err) => {
                tracing::debug!(error = %err, "bearer token refused");
                return None;
            }
        },
    };
    let user = match authkit.inner.users.get(&claims.sub) {
        Some(user) => user,
        None => Box::pin(fetch_user(authkit, &claims.sub)).await?,
    };
    Some(AuthUser::from_bearer(user, claims, token))
}

impl UserCache {
    fn get(&self, id: &str) -> Option<Arc<User>> {
        self.lock()
            .get(id)
            .filter(|(at, _)| at.elapsed() < USER_TTL)
            .map(|(_, user)| user.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<User>)>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Loads a bearer token's user from WorkOS and remembers it for [`USER_TTL`].
async fn fetch_user(authkit: &AuthKit, id: &str) -> Option<Arc<User>> {
    match authkit
        .inner
        .core
        .client
        .user_management()
        .get_user(id)
        .await
    {
        Ok(user) => {
            let user = Arc::new(user);
            let mut users = authkit.inner.users.lock();
            if users.len() >= USER_CAPACITY {
                users.retain(|_, (at, _)| at.elapsed() < USER_TTL);
            }
            users.insert(id.to_owned(), (Instant::now(), user.clone()));
            Some(user)
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not load the bearer token's user");
            None
        }
    }
}

/// Builds the session a sign-in produced into the user the extractors see.
impl AuthUser {
    pub(crate) fn from_session(s: AuthSession) -> Self {
        AuthUser {
            organization_id: s.organization_id.clone(),
            impersonator: s.impersonator.clone(),
            expires_at: s.claims.exp,
            user: Arc::new(s.user),
            claims: Arc::new(s.claims),
            access_token: s.access_token,
            authenticated_at: s.authenticated_at,
            source: AuthSource::Session,
        }
    }

    fn from_bearer(
        user: Arc<User>,
        claims: Arc<crate::session::AccessTokenClaims>,
        token: &str,
    ) -> Self {
        // A bearer token says when its user authenticated only if it has `auth_time`.
        let authenticated_at = claims.auth_time;
        AuthUser {
            organization_id: claims.org_id.clone(),
            // Impersonation comes from the signed token alone.
            impersonator: claims.act.as_ref().map(|act| Impersonator {
                email: act.sub.clone(),
                reason: None,
            }),
            expires_at: claims.exp,
            user,
            claims,
            access_token: token.into(),
            authenticated_at,
            source: AuthSource::Bearer,
        }
    }
}
