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
use super::extract::{AuthContext, AuthSource, AuthUser};
use super::refresh::{self, Refreshed};
use super::session::{self, AuthSession};
use crate::user_management::User;

/// A tower layer that authenticates requests. Put it inside (after) the session layer, or add
/// both at once with [`AuthKit::layer`](super::AuthKit::layer):
///
/// ```
/// use axum::{Router, routing::get};
/// use authkit_axum::{AuthKit, AuthLayer, AuthUser, Client};
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
/// JWKS; verdicts cached until the token expires), then the session. A missing, tampered or
/// expired-and-unrefreshable session is simply anonymous: handlers decide with the
/// [`AuthUser`] extractor (required) or `Option<AuthUser>`.
///
/// Per request it reads one number from the session, the session's revision (under
/// [`AUTH_SESSION_KEY`](super::AUTH_SESSION_KEY)), and compares the stored access token's
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
    /// use authkit_axum::{AuthKit, AuthLayer, AuthUser};
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
    ResBody: Send + 'static,
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
            // Borrowed from the request until the user is known.
            let session = request.extensions().get::<Session>();
            let has_session = session.is_some();
            let user = match (bearer_only, bearer(&request)) {
                (true, None) => None,
                (true, Some(token)) => from_bearer(&authkit, token).await,
                (false, token) => authenticate(&authkit, token, session).await,
            };
            let signed_in = user.is_some();
            if let Some(user) = user {
                request.extensions_mut().insert(user);
            } else {
                // What the extractors need to answer a request that is not signed in.
                let session_layer = has_session || bearer_only;
                request.extensions_mut().insert(AuthContext {
                    authkit,
                    session_layer,
                });
            }
            let mut response = inner.call(request).await?;
            if signed_in {
                let headers = response.headers_mut();
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
                headers.append(VARY, HeaderValue::from_static("Cookie, Authorization"));
            }
            Ok(response)
        })
    }
}

async fn authenticate(
    authkit: &AuthKit,
    token: Option<&str>,
    session: Option<&Session>,
) -> Option<AuthUser> {
    if let Some(token) = token {
        return from_bearer(authkit, token).await;
    }
    let Some(session) = session else {
        tracing::error!(
            "AuthLayer found no session: add the tower-sessions SessionManagerLayer outside it \
             (e.g. `.layer(AuthLayer::new(authkit.clone())).layer(authkit.session_layer(store))`)"
        );
        return None;
    };
    from_session(authkit, session).await
}

fn bearer<B>(request: &Request<B>) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The time now, Unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The user of the signed-in session: a cached lookup while its access token is fresh; the
/// refresh (rare) is boxed so the per-request future stays small.
async fn from_session(authkit: &AuthKit, session: &Session) -> Option<AuthUser> {
    let loaded = session::load_cached(session, &authkit.inner.sessions).await?;
    if std::time::SystemTime::now() < loaded.refresh_at {
        return Some(loaded.user.clone());
    }
    Box::pin(refresh_session(authkit, loaded.session.clone(), session)).await
}

/// Refreshes a session whose access token expires within the refresh margin.
async fn refresh_session(
    authkit: &AuthKit,
    current: AuthSession,
    session: &Session,
) -> Option<AuthUser> {
    match refresh::refresh(authkit, &current, session).await {
        Refreshed::Ok(next) => {
            // The refresh saved the new tokens to the store at once (another machine that lost
            // the race re-reads the store to find them); requests that joined it keep them in
            // their own copy of the record too, which they may save at the end.
            if let Err(err) = session::store(session, &next).await {
                tracing::warn!(error = %err, "could not store the refreshed session");
            }
            Some(AuthUser::from_session(*next))
        }
        Refreshed::Invalid(reason) => {
            // Another request, tab or machine may have refreshed first (refresh tokens are
            // single use): its tokens, once saved, are this session's now.
            if let Some(stored) = refresh::won_elsewhere(session, &current).await
                && stored.expires_at() > now()
            {
                return Some(AuthUser::from_session(stored));
            }
            tracing::info!(user = %current.user.id, %reason, "session ended at WorkOS; signing out");
            session::clear(session).await;
            None
        }
        Refreshed::Transient => {
            let grace = authkit.inner.stale_grace.as_secs() as i64;
            (current.expires_at() + grace > now()).then(|| AuthUser::from_session(current))
        }
    }
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
    let verifier = &authkit.inner.verifier;
    let claims = match verifier.cached_verdict(token, now()) {
        Some(claims) => claims,
        None => match Box::pin(verifier.verify_and_remember(token, now())).await {
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
    match authkit.inner.client.user_management().get_user(id).await {
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
            source: AuthSource::Session,
        }
    }

    fn from_bearer(user: Arc<User>, claims: Arc<super::AccessTokenClaims>, token: &str) -> Self {
        AuthUser {
            organization_id: claims.org_id.clone(),
            impersonator: None,
            expires_at: claims.exp,
            user,
            claims,
            access_token: token.into(),
            source: AuthSource::Bearer,
        }
    }
}
