//! [`AuthKit`]: the configuration shared by the router, the layer and the extractors.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::http_url::HttpUrl;
use axum::response::{IntoResponse, Response};

pub use super::extract::Unauthenticated;
use crate::session::Clock;
use crate::session::core::Core;
use crate::session::refresh::Refresher;
use crate::session::stats::Stats;
use crate::session::verifier::TokenVerifier;
use crate::user_management::SignInWith;
use crate::{Client, ConfigError};

/// A boxed future, for the stored hooks.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The stored `on_sign_in` hook: `Err` is the response that refuses the sign-in.
/// A sign-in about to complete, as the [`on_sign_in`](AuthKitBuilder::on_sign_in) hook
/// sees it: the authentication (user, organization, tokens; also through `Deref`, so
/// `sign_in.user.email`) and the app's own state from the sign-in link
/// ([`SignInUrl::state`](super::SignInUrl::state)), which comes back only after the callback's
/// state check and the token's verification.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignIn {
    /// What WorkOS answered.
    pub auth: crate::user_management::AuthenticateResponse,
    /// The app's state from the sign-in link, if it had one.
    pub state: Option<String>,
}

impl std::ops::Deref for SignIn {
    type Target = crate::user_management::AuthenticateResponse;

    fn deref(&self) -> &crate::user_management::AuthenticateResponse {
        &self.auth
    }
}

pub(crate) type SignInHook = Arc<dyn Fn(SignIn) -> BoxFuture<Result<(), Response>> + Send + Sync>;

/// The stored `on_callback_error` hook.
pub(crate) type CallbackErrorHook = Arc<dyn Fn(&super::CallbackError) -> Response + Send + Sync>;

/// The AuthKit integration's configuration. Cheap to clone.
///
/// Build it from a [`Client`] and the callback URL, or from the environment:
///
/// ```
/// use authkit_axum::{AuthKit, Client};
///
/// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
/// let authkit = AuthKit::builder(client, "http://localhost:3000/auth/callback")
///     .after_sign_in("/account")
///     .build()?;
/// assert_eq!(authkit.prefix(), "/auth");
/// # Ok::<(), authkit_axum::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct AuthKit {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The session core: client, clock, verifier, refreshes, counters.
    pub core: Arc<Core>,
    pub redirect_uri: HttpUrl,
    pub session_cookie: String,
    pub origins: super::csrf::Origins,
    pub prefix: String,
    pub after_sign_in: String,
    pub after_sign_out: Option<String>,
    pub sign_in_with: SignInWith,
    pub unauthenticated: Unauthenticated,
    pub rejecting: Arc<super::extract::Rejecting>,
    pub pending_ttl: Duration,
    pub max_pending: usize,
    pub revoke_on_sign_out: bool,
    /// The trusted proxy's header with the client's IP address.
    pub client_ip_header: Option<axum::http::HeaderName>,
    pub on_sign_in: Option<SignInHook>,
    pub on_callback_error: Option<CallbackErrorHook>,
    pub users: super::UserCache,
    pub sessions: super::session::SessionCache,
    /// The app's session store, when the session layer came from
    /// [`AuthKit::session_layer`] or [`AuthKit::layer`] (step-up attempt slots live there).
    pub session_store: std::sync::OnceLock<Arc<dyn tower_sessions::SessionStore>>,
    /// Step-up attempt limits.
    pub attempts: crate::session::attempts::AttemptLimiter,
    /// API keys as credentials, when [`AuthKitBuilder::api_keys`] turned them on.
    pub api_keys: Option<Arc<super::machine::ApiKeyVerifier>>,
}

impl fmt::Debug for AuthKit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKit")
            .field("client", &self.inner.core.client)
            .field("redirect_uri", &self.inner.redirect_uri.as_str())
            .field("prefix", &self.inner.prefix)
            .field("session_cookie", &self.inner.session_cookie)
            .field("unauthenticated", &self.inner.unauthenticated)
            .finish_non_exhaustive()
    }
}

impl AuthKit {
    /// Starts configuring AuthKit for `client`, with WorkOS sending users back to
    /// `redirect_uri` (the absolute URL of the callback route, e.g.
    /// `https://app.example.com/auth/callback`, registered in the WorkOS dashboard).
    pub fn builder(client: Client, redirect_uri: impl Into<String>) -> AuthKitBuilder {
        AuthKitBuilder {
            client,
            redirect_uri: redirect_uri.into(),
            session_cookie: None,
            trusted_origins: Vec::new(),
            prefix: "/auth".to_owned(),
            after_sign_in: "/".to_owned(),
            after_sign_out: None,
            sign_in_with: SignInWith::AuthKit,
            unauthenticated: Unauthenticated::Auto,
            refresh_margin: Duration::from_secs(30),
            stale_grace: Duration::from_secs(300),
            refresh_wait: Duration::from_secs(1),
            clock: Clock::system(),
            revoke_on_sign_out: false,
            client_ip_header: None,
            on_sign_in: None,
            on_callback_error: None,
            api_keys: None,
        }
    }

    /// AuthKit configured from the environment, with the default settings:
    /// `WORKOS_API_KEY`, `WORKOS_CLIENT_ID`, `WORKOS_REDIRECT_URI` and the optional
    /// `WORKOS_BASE_URL`. To change settings as well, start from
    /// [`AuthKitBuilder::from_env`].
    ///
    /// ```
    /// # unsafe { std::env::set_var("WORKOS_API_KEY", "sk_test_1"); }
    /// # unsafe { std::env::set_var("WORKOS_CLIENT_ID", "client_1"); }
    /// # unsafe { std::env::set_var("WORKOS_REDIRECT_URI", "http://localhost:3000/auth/callback"); }
    /// let authkit = authkit_axum::AuthKit::from_env()?;
    /// assert_eq!(authkit.redirect_uri(), "http://localhost:3000/auth/callback");
    ///
    /// # unsafe { std::env::remove_var("WORKOS_REDIRECT_URI"); }
    /// let err = authkit_axum::AuthKit::from_env().unwrap_err();
    /// assert!(err.to_string().contains("WORKOS_REDIRECT_URI"));
    /// # Ok::<(), authkit_axum::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<AuthKit, ConfigError> {
        AuthKitBuilder::from_env()?.build()
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.inner.core.client
    }

    /// The route prefix, e.g. `/auth`.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The callback URL WorkOS redirects to.
    pub fn redirect_uri(&self) -> &str {
        self.inner.redirect_uri.as_str()
    }

    /// The path of the sign-in route, e.g. `/auth/login`.
    pub fn sign_in_path(&self) -> String {
        format!("{}/login", self.inner.prefix)
    }

    /// The path of the sign-up route, e.g. `/auth/signup`.
    pub fn sign_up_path(&self) -> String {
        format!("{}/signup", self.inner.prefix)
    }

    /// The path of the sign-out route (POST), e.g. `/auth/logout`.
    pub fn sign_out_path(&self) -> String {
        format!("{}/logout", self.inner.prefix)
    }

    /// The path of the organization switch route (POST), e.g. `/auth/switch-organization`.
    pub fn switch_organization_path(&self) -> String {
        format!("{}/switch-organization", self.inner.prefix)
    }

    /// Whether cookies must be `Secure`: true unless the callback is on `http://localhost`
    /// (or a loopback address).
    pub fn secure_cookies(&self) -> bool {
        !is_local_http(&self.inner.redirect_uri)
    }

    /// The name of the session cookie that [`session_layer`](Self::session_layer) sets: by
    /// default [`SECURE_SESSION_COOKIE`](super::SECURE_SESSION_COOKIE)
    /// (`__Host-authkit_session`) with `Secure` cookies, else
    /// [`SESSION_COOKIE`](super::SESSION_COOKIE) (`authkit_session`, on
    /// `http://localhost`); [`AuthKitBuilder::session_cookie_name`] changes it.
    ///
    /// ```
    /// use authkit_axum::{AuthKit, Client};
    ///
    /// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
    /// let app = AuthKit::builder(client.clone(), "https://app.example.com/auth/callback").build()?;
    /// assert_eq!(app.session_cookie_name(), "__Host-authkit_session");
    /// let dev = AuthKit::builder(client, "http://localhost:3000/auth/callback").build()?;
    /// assert_eq!(dev.session_cookie_name(), "authkit_session");
    /// # Ok::<(), authkit_axum::ConfigError>(())
    /// ```
    pub fn session_cookie_name(&self) -> &str {
        &self.inner.session_cookie
    }

    /// The CSRF guard the sign-in routes use, for your own state-changing routes: `Ok` when the
    /// request comes from the app's origin or a [trusted](AuthKitBuilder::trusted_origin) one
    /// (by `Origin`, else `Sec-Fetch-Site`; a request with neither is not a browser's and
    /// passes), else `Err` with the refusal, which answers `403` (JSON for API calls).
    ///
    /// ```
    /// use authkit_axum::{AuthKit, AuthUser};
    /// use axum::extract::State;
    /// use axum::http::HeaderMap;
    /// use axum::response::{IntoResponse, Response};
    ///
    /// async fn delete_account(State(authkit): State<AuthKit>, headers: HeaderMap, user: AuthUser) -> Response {
    ///     if let Err(refused) = authkit.check_origin(&headers) {
    ///         return refused.into_response();
    ///     }
    ///     format!("deleting {}", user.email).into_response()
    /// }
    /// # let client = authkit_axum::Client::builder().api_key("sk_test_1").client_id("client_1").build().unwrap();
    /// # let authkit = AuthKit::builder(client, "https://app.example.com/auth/callback").build().unwrap();
    /// # let mut headers = HeaderMap::new();
    /// # headers.insert("origin", "https://evil.example".parse().unwrap());
    /// # assert_eq!(authkit.check_origin(&headers).unwrap_err().into_response().status(), 403);
    /// ```
    pub fn check_origin(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), super::csrf::CrossSiteRequest> {
        self.inner.origins.check(headers)
    }

    /// The origin of the app, from the callback URL: scheme, lowercase host and port (unless
    /// it is the default), as browsers send it in `Origin`.
    ///
    /// ```
    /// # let client = authkit_axum::Client::builder().client_id("client_1").build().unwrap();
    /// let authkit = authkit_axum::AuthKit::builder(client, "http://localhost:3000/auth/callback")
    ///     .build()?;
    /// assert_eq!(authkit.origin(), "http://localhost:3000");
    /// # Ok::<(), authkit_axum::ConfigError>(())
    /// ```
    pub fn origin(&self) -> String {
        self.inner.redirect_uri.origin()
    }
}

fn is_local_http(url: &HttpUrl) -> bool {
    !url.is_https() && url.is_loopback()
}

/// Configures an [`AuthKit`]. Every setting has a default except the client and the callback URL.
#[must_use]
pub struct AuthKitBuilder {
    client: Client,
    redirect_uri: String,
    session_cookie: Option<String>,
    trusted_origins: Vec<String>,
    prefix: String,
    after_sign_in: String,
    after_sign_out: Option<String>,
    sign_in_with: SignInWith,
    unauthenticated: Unauthenticated,
    refresh_margin: Duration,
    stale_grace: Duration,
    refresh_wait: Duration,
    clock: Clock,
    revoke_on_sign_out: bool,
    client_ip_header: Option<String>,
    on_sign_in: Option<SignInHook>,
    on_callback_error: Option<CallbackErrorHook>,
    api_keys: Option<super::ApiKeys>,
}

impl fmt::Debug for AuthKitBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKitBuilder")
            .field("client", &self.client)
            .field("redirect_uri", &self.redirect_uri)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl AuthKitBuilder {
    /// A builder configured from the environment (`WORKOS_API_KEY`, `WORKOS_CLIENT_ID`,
    /// `WORKOS_REDIRECT_URI`, the optional `WORKOS_BASE_URL`), to change more settings before
    /// [`build`](Self::build).
    ///
    /// ```
    /// # unsafe { std::env::set_var("WORKOS_API_KEY", "sk_test_1"); }
    /// # unsafe { std::env::set_var("WORKOS_CLIENT_ID", "client_1"); }
    /// # unsafe { std::env::set_var("WORKOS_REDIRECT_URI", "http://localhost:3000/auth/callback"); }
    /// let authkit = authkit_axum::AuthKitBuilder::from_env()?
    ///     .after_sign_in("/account")
    ///     .build()?;
    /// # Ok::<(), authkit_axum::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<AuthKitBuilder, ConfigError> {
        let client = Client::from_env()?;
        let redirect_uri = std::env::var("WORKOS_REDIRECT_URI")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::MissingEnv("WORKOS_REDIRECT_URI"))?;
        Ok(AuthKit::builder(client, redirect_uri.trim()))
    }

    /// Where the routes are mounted (default `/auth`). The router's own paths include it, so
    /// merge the router rather than nesting it.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The name of the session cookie (default: `__Host-authkit_session` when cookies are
    /// `Secure`, i.e. the callback URL is https, else `authkit_session`).
    ///
    /// The `__Host-` prefix makes browsers accept the cookie only when it is `Secure`, has
    /// `Path=/` and no `Domain`, as [`AuthKit::session_layer`] sets it: a sibling subdomain
    /// (or a page on plain http) cannot plant a session cookie of that name in your users'
    /// browsers. A `__Host-` or `__Secure-` name needs an https callback URL; names are
    /// cookie tokens (letters, digits and `!#$%&'*+-.^_`|~`).
    pub fn session_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.session_cookie = Some(name.into());
        self
    }

    /// Another origin state-changing requests (sign-out, the organization switch, the step-up
    /// forms, and your routes guarded with [`AuthKit::check_origin`]) may come from, besides
    /// the callback URL's: another host the app is served on, or the public origin when a
    /// proxy in front of the app serves it under another name. Repeatable. An origin is
    /// `scheme://host[:port]`; anything more is refused at [`build`](Self::build).
    ///
    /// ```
    /// # let client = authkit_axum::Client::builder().api_key("sk_test_1").client_id("client_1").build()?;
    /// let authkit = authkit_axum::AuthKit::builder(client, "https://app.example.com/auth/callback")
    ///     .trusted_origin("https://www.example.com")
    ///     .build()?;
    /// # Ok::<(), authkit_axum::ConfigError>(())
    /// ```
    pub fn trusted_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted_origins.push(origin.into());
        self
    }

    /// Where users land after signing in when no `return_to` was given (default `/`).
    pub fn after_sign_in(mut self, path: impl Into<String>) -> Self {
        self.after_sign_in = path.into();
        self
    }

    /// Where WorkOS sends users after signing out (the logout `return_to`; it must be one of
    /// the dashboard's logout URIs). Default: the app's origin + `/`.
    pub fn after_sign_out(mut self, url: impl Into<String>) -> Self {
        self.after_sign_out = Some(url.into());
        self
    }

    /// How users sign in: AuthKit (default), an OAuth provider, a connection or an organization.
    pub fn sign_in_with(mut self, sign_in_with: SignInWith) -> Self {
        self.sign_in_with = sign_in_with;
        self
    }

    /// What unauthenticated requests get from the `AuthUser` extractor (default: decided per request).
    pub fn unauthenticated(mut self, unauthenticated: Unauthenticated) -> Self {
        self.unauthenticated = unauthenticated;
        self
    }

    /// How long before its expiry an access token is refreshed (default 30 s). Within the
    /// margin the token is still valid: requests are served at once while the refresh runs in
    /// the background. A margin not shorter than the tokens' lifetime would refresh on every
    /// request; it is clamped to half the lifetime (with a warning).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// While WorkOS cannot be reached (429, 5xx, network) or its keys cannot be fetched, how
    /// long past its expiry a session is still served from its last verified tokens (default
    /// 5 minutes). A failing refresh is retried with back-off (honouring `Retry-After`), not on
    /// every request.
    pub fn stale_grace(mut self, grace: Duration) -> Self {
        self.stale_grace = grace;
        self
    }

    /// How long a request on a session whose access token has expired waits for its refresh
    /// before it is served stale (default 1 s). Requests on sessions whose token is still
    /// valid never wait: their refresh runs in the background.
    pub fn refresh_wait(mut self, wait: Duration) -> Self {
        self.refresh_wait = wait;
        self
    }

    /// The clock token expiries, grace and back-off are compared with (default: the system
    /// clock). Tests give an [adjustable](Clock::adjustable) one and move it forward with the
    /// emulator's clock instead of sleeping.
    ///
    /// ```
    /// use std::time::Duration;
    /// use authkit_axum::session::Clock;
    /// use authkit_axum::{AuthKit, Client};
    ///
    /// let clock = Clock::adjustable();
    /// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
    /// let authkit = AuthKit::builder(client, "http://localhost:3000/auth/callback")
    ///     .clock(clock.clone())
    ///     .build()?;
    /// clock.advance(Duration::from_secs(300)); // tokens look five minutes older
    /// # Ok::<(), authkit_axum::ConfigError>(())
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Also revoke the WorkOS session from the server on sign-out (default: only the
    /// browser redirect to WorkOS's logout URL ends it).
    pub fn revoke_on_sign_out(mut self, revoke: bool) -> Self {
        self.revoke_on_sign_out = revoke;
        self
    }

    /// The header your reverse proxy or load balancer puts the client's IP address in (e.g.
    /// `x-forwarded-for`, `x-real-ip`, `cf-connecting-ip`, `fly-client-ip`); its last address
    /// is sent to WorkOS with the code exchange, the step-ups and every refresh, with the
    /// browser's `User-Agent`, so the WorkOS session shows where it was used and Radar can
    /// judge sign-ins. Set it only when a proxy you run sets or appends that header: any
    /// client can send one.
    ///
    /// Without it, the address of the connection is sent when the app is served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`, else none.
    ///
    /// ```
    /// use authkit_axum::{AuthKit, Client};
    ///
    /// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
    /// let authkit = AuthKit::builder(client, "https://app.example.com/auth/callback")
    ///     .client_ip_header("x-forwarded-for")
    ///     .build()?;
    /// # Ok::<(), authkit_axum::ConfigError>(())
    /// ```
    pub fn client_ip_header(mut self, header: impl Into<String>) -> Self {
        self.client_ip_header = Some(header.into());
        self
    }

    /// Runs after every successful sign-in (the code exchange and any step-ups done, the access
    /// token verified), before the session is stored: save the user, check an allow-list, ...
    /// A plain async closure that gets the [`SignIn`](super::SignIn): the
    /// `AuthenticateResponse` (user, organization, tokens; `sign_in.user` through `Deref`) and
    /// the app's own [state](super::SignInUrl::state) from the sign-in link; `Ok(())` lets the
    /// sign-in finish, `Err(response)` refuses it and answers
    /// `response` (any [`IntoResponse`]: a page, a redirect, a status and a message) with no
    /// session stored.
    ///
    /// ```
    /// use authkit_axum::AuthKitBuilder;
    /// use authkit_axum::web::SignIn;
    /// use axum::http::StatusCode;
    /// use axum::response::Redirect;
    ///
    /// fn only_our_staff(builder: AuthKitBuilder) -> AuthKitBuilder {
    ///     builder.on_sign_in(|auth: SignIn| async move {
    ///         if auth.user.email.ends_with("@example.com") {
    ///             Ok(())
    ///         } else {
    ///             Err((StatusCode::FORBIDDEN, "This app is for Example staff only."))
    ///         }
    ///     })
    /// }
    ///
    /// fn invited_only(builder: AuthKitBuilder) -> AuthKitBuilder {
    ///     builder.on_sign_in(|auth: SignIn| async move {
    ///         // The plan picked before signing up: `authkit.sign_up_url().state("pro")`.
    ///         tracing::info!(plan = auth.state.as_deref(), "a sign-in completes");
    ///         let invited = auth.user.email_verified; // look the user up in your database
    ///         if invited { Ok(()) } else { Err(Redirect::to("/not-invited")) }
    ///     })
    /// }
    /// # let client = authkit_axum::Client::builder().api_key("sk_test_1").client_id("client_1").build().unwrap();
    /// # invited_only(only_our_staff(authkit_axum::AuthKit::builder(client, "http://localhost:3000/auth/callback"))).build().unwrap();
    /// ```
    pub fn on_sign_in<F, Fut, R>(mut self, hook: F) -> Self
    where
        F: Fn(SignIn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), R>> + Send + 'static,
        R: IntoResponse,
    {
        self.on_sign_in = Some(Arc::new(move |auth| {
            let refused = hook(auth);
            Box::pin(async move { refused.await.map_err(IntoResponse::into_response) })
        }));
        self
    }

    /// Renders callback errors (WorkOS `error` parameter, bad state, failed code exchange)
    /// instead of the built-in error page: any [`IntoResponse`].
    ///
    /// ```
    /// use authkit_axum::web::CallbackError;
    /// # fn f(builder: authkit_axum::AuthKitBuilder) -> authkit_axum::AuthKitBuilder {
    /// builder.on_callback_error(|err: &CallbackError| {
    ///     (err.status(), format!("Sign-in failed: {err}. Try again from the home page."))
    /// })
    /// # }
    /// ```
    pub fn on_callback_error<F, R>(mut self, hook: F) -> Self
    where
        F: Fn(&super::CallbackError) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.on_callback_error = Some(Arc::new(move |err| hook(err).into_response()));
        self
    }

    /// Accepts API keys as well as signed-in users: the [`AuthLayer`](super::AuthLayer) takes
    /// an `Authorization: Bearer <API key>` (one not shaped like a JWT access token),
    /// validates it at WorkOS with a bounded cache, and gives handlers an
    /// [`ApiKeyClient`](super::ApiKeyClient) (or a [`Principal`](super::Principal), for routes
    /// serving users and machines). Unknown, deleted or malformed keys get `401` JSON;
    /// WorkOS failing gets a fast `503`. See [`ApiKeys`](super::ApiKeys) for the bounds,
    /// the revocation bound first. Off by default.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use authkit_axum::web::{ApiKeys, Principal};
    /// use authkit_axum::{AuthKit, Client};
    ///
    /// async fn whoami(who: Principal) -> String {
    ///     match who {
    ///         Principal::User(user) => format!("user {}", user.email),
    ///         Principal::ApiKey(machine) => format!("API key {} of {}", machine.name, machine.organization_id),
    ///         _ => "someone new".to_owned(),
    ///     }
    /// }
    ///
    /// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
    /// let authkit = AuthKit::builder(client, "http://localhost:3000/auth/callback")
    ///     .api_keys(ApiKeys::new())
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/api/whoami", get(whoami))
    ///     .layer(authkit.layer(authkit_axum::stores::MemoryStore::default()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_keys(mut self, settings: super::ApiKeys) -> Self {
        self.api_keys = Some(settings);
        self
    }

    /// Checks the settings and builds the [`AuthKit`].
    pub fn build(self) -> Result<AuthKit, ConfigError> {
        let redirect_uri = HttpUrl::parse(&self.redirect_uri).map_err(|reason| {
            ConfigError::Invalid {
                name: "redirect_uri",
                reason: format!(
                    "{:?} is not an absolute URL ({reason}); use the full callback URL, e.g. http://localhost:3000/auth/callback",
                    self.redirect_uri
                ),
            }
        })?;
        let prefix = self.prefix.trim_end_matches('/').to_owned();
        if !prefix.is_empty() && !prefix.starts_with('/') {
            return Err(ConfigError::Invalid {
                name: "prefix",
                reason: format!("{prefix:?} must start with '/', e.g. /auth"),
            });
        }
        if !super::return_to::is_local_path(&self.after_sign_in) {
            return Err(ConfigError::Invalid {
                name: "after_sign_in",
                reason: format!(
                    "{:?} must be a path on this site, e.g. /account",
                    self.after_sign_in
                ),
            });
        }
        let secure = !is_local_http(&redirect_uri);
        let session_cookie = match self.session_cookie {
            Some(name) => checked_cookie_name(name, secure)?,
            None if secure => super::SECURE_SESSION_COOKIE.to_owned(),
            None => super::SESSION_COOKIE.to_owned(),
        };
        let rejecting = Arc::new(super::extract::Rejecting {
            unauthenticated: self.unauthenticated,
            sign_in_path: format!("{prefix}/login"),
        });
        let origins = super::csrf::Origins::new(&redirect_uri, self.trusted_origins)?;
        let client_ip_header = self
            .client_ip_header
            .map(|name| {
                axum::http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                    ConfigError::Invalid {
                        name: "client_ip_header",
                        reason: format!(
                            "{name:?} is not a header name; give the header your proxy sets, e.g. x-forwarded-for"
                        ),
                    }
                })
            })
            .transpose()?;
        let api_keys = self.api_keys.map(|settings| {
            Arc::new(super::machine::ApiKeyVerifier::new(
                settings,
                self.client.clone(),
                self.clock.clone(),
            ))
        });
        let stats = Arc::new(Stats::default());
        let verifier = TokenVerifier::new(self.client.clone(), self.clock.clone(), stats.clone());
        let authkit = AuthKit {
            inner: Arc::new(Inner {
                core: Arc::new(Core {
                    client: self.client,
                    clock: self.clock,
                    stats: stats.clone(),
                    verifier,
                    refresher: Refresher::default(),
                    stale_grace: self.stale_grace,
                    refresh_wait: self.refresh_wait,
                }),
                redirect_uri,
                session_cookie,
                origins,
                prefix,
                after_sign_in: self.after_sign_in,
                after_sign_out: self.after_sign_out,
                sign_in_with: self.sign_in_with,
                unauthenticated: self.unauthenticated,
                rejecting,
                pending_ttl: Duration::from_secs(600),
                max_pending: 5,
                revoke_on_sign_out: self.revoke_on_sign_out,
                client_ip_header,
                on_sign_in: self.on_sign_in,
                on_callback_error: self.on_callback_error,
                users: super::UserCache::default(),
                sessions: super::session::SessionCache::new(self.refresh_margin, stats.clone()),
                session_store: std::sync::OnceLock::new(),
                attempts: Default::default(),
                api_keys,
            }),
        };
        // Fetch the JWKS now, in the background when there is a runtime, so the first
        // sign-ins and refreshes find the keys; a failure never fails start-up (it is retried
        // with back-off). `AuthKit::warm_up` waits for it instead.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let verifier = authkit.inner.core.verifier.clone();
            runtime.spawn(async move {
                if let Err(err) = verifier.warm_up().await {
                    tracing::warn!(error = %err, "could not fetch the WorkOS JWKS at start-up; retrying in the background");
                }
            });
        }
        Ok(authkit)
    }
}

/// A session cookie name the browser will keep: a cookie token, and a `__Host-` / `__Secure-`
/// prefix only with `Secure` cookies.
fn checked_cookie_name(name: String, secure: bool) -> Result<String, ConfigError> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(ConfigError::Invalid {
            name: "session_cookie_name",
            reason: format!(
                "{name:?} is not a cookie name: use letters, digits and !#$%&'*+-.^_`|~, e.g. __Host-myapp_session"
            ),
        });
    }
    let prefixed = ["__Host-", "__Secure-"]
        .iter()
        .any(|p| name.len() >= p.len() && name[..p.len()].eq_ignore_ascii_case(p));
    if prefixed && !secure {
        return Err(ConfigError::Invalid {
            name: "session_cookie_name",
            reason: format!(
                "{name:?} needs Secure cookies, but the callback URL is plain http on localhost, where cookies are not Secure: browsers would drop the cookie; use a name without the __Host-/__Secure- prefix there"
            ),
        });
    }
    Ok(name)
}
