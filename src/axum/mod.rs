//! The Axum integration (feature `axum`, on by default): [`AuthKit`] configuration, its
//! sign-in [router](AuthKit::router), the [`AuthLayer`] that authenticates requests, and the
//! [`AuthUser`] extractor.

pub(crate) mod action;
pub(crate) mod config;
pub(crate) mod control;
pub(crate) mod csrf;
pub(crate) mod devices;
pub(crate) mod extract;
pub(crate) mod flow;
pub(crate) mod guard;
pub(crate) mod health;
pub(crate) mod layer;
pub(crate) mod lifetime;
pub(crate) mod machine;
pub(crate) mod pages;
pub(crate) mod requester;
pub(crate) mod return_to;
pub(crate) mod router;
pub(crate) mod session;
pub(crate) mod sid_index;
pub(crate) mod sign_in_url;
pub(crate) mod stepup;
pub(crate) mod webhook;
pub(crate) mod widgets;

pub use action::{ActionRejection, WorkosAction};
pub use config::{AuthKit, AuthKitBuilder, SignIn, Unauthenticated};
pub use control::{ControlError, SessionControl};
pub use csrf::CrossSiteRequest;
pub use devices::SignedInDevice;
pub use extract::{AuthRejection, AuthSource, AuthUser};
pub use flow::CallbackError;
pub use guard::{Guard, GuardService};
pub use health::{Health, JwksHealth, RefreshHealth, StoreHealth};
pub use layer::{AuthLayer, AuthService};
pub use machine::{ApiKeyClient, ApiKeyStats, ApiKeys, Principal};
pub use sign_in_url::SignInUrl;
pub use webhook::{WebhookRejection, WorkosWebhook};

pub(crate) use layer::UserCache;

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

/// The default name of the app's session cookie on `http://localhost` (not tower-sessions'
/// `id`, which an emulator on another localhost port would share). See
/// [`AuthKit::session_cookie_name`].
pub const SESSION_COOKIE: &str = "authkit_session";

/// The default name of the app's session cookie when cookies are `Secure` (an https callback
/// URL): the `__Host-` prefix makes browsers refuse it unless it is `Secure`, `Path=/` and
/// without `Domain`, so a sibling subdomain cannot plant one. See
/// [`AuthKit::session_cookie_name`].
pub const SECURE_SESSION_COOKIE: &str = "__Host-authkit_session";

/// How long a session lasts without requests.
pub(crate) const SESSION_INACTIVITY: time::Duration = time::Duration::days(7);

impl AuthKit {
    /// A tower-sessions layer set up for sign-in: cookie
    /// [`session_cookie_name`](Self::session_cookie_name) (`__Host-authkit_session` on https,
    /// `authkit_session` on `http://localhost`), `HttpOnly`, `SameSite=Lax` (so the session
    /// survives the redirect back from WorkOS), `Secure` unless the app runs on
    /// `http://localhost`, `Path=/` and no `Domain` (a host-only cookie), expiring after 7
    /// days of inactivity. Works with any
    /// store: [`stores::MemoryStore`](crate::stores::MemoryStore) for one process (spawn its
    /// expired-record deletion), [`stores`](crate::stores) (Redis,
    /// PostgreSQL) for several.
    ///
    /// A record that holds only sign-ins in progress (made by a cookie-less
    /// `GET /auth/login`, say) expires with them, in at most ten minutes; it gets this layer's
    /// 7 days at sign-in.
    ///
    /// It also gives this `AuthKit` a handle to `store`, where the step-up pages keep their
    /// attempt slots, so the limit of 5 wrong codes holds across every instance sharing the
    /// store. An app that builds its own `SessionManagerLayer` instead gets a limit counted per
    /// process (and a warning in the log). Use one store per `AuthKit`: the first store given
    /// to `session_layer` or [`layer`](Self::layer) is the one kept.
    pub fn session_layer<Store: SessionStore + Clone>(
        &self,
        store: Store,
    ) -> SessionManagerLayer<Store> {
        if self
            .inner
            .session_store
            .set(std::sync::Arc::new(store.clone()))
            .is_err()
        {
            tracing::debug!("AuthKit already has a session store handle; keeping the first");
        }
        SessionManagerLayer::new(store)
            .with_name(self.session_cookie_name().to_owned())
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(self.secure_cookies())
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(SESSION_INACTIVITY))
    }

    /// The session layer ([`session_layer`](Self::session_layer)) and the [`AuthLayer`] as one
    /// layer, in the right order. Prefer it to adding the two separately: axum boxes and clones
    /// every `Router::layer` wrapper on every request, so one wrapper instead of two takes a
    /// share off each request's cost (see `benches/benches/auth_layer.rs`).
    ///
    /// ```
    /// use authkit_axum::stores::MemoryStore;
    /// use authkit_axum::{AuthKit, AuthUser, Client};
    /// use axum::{Router, routing::get};
    ///
    /// async fn account(user: AuthUser) -> String {
    ///     format!("Signed in as {}", user.user.email)
    /// }
    ///
    /// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
    /// let authkit = AuthKit::builder(client, "http://localhost:3000/auth/callback").build()?;
    /// let app: Router = Router::new()
    ///     .route("/account", get(account))
    ///     .merge(authkit.router())
    ///     // The same as `.layer(AuthLayer::new(authkit.clone())).layer(authkit.session_layer(..))`.
    ///     .layer(authkit.layer(MemoryStore::default()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn layer<Store: SessionStore + Clone>(
        &self,
        store: Store,
    ) -> tower_layer::Stack<AuthLayer, SessionManagerLayer<Store>> {
        tower_layer::Stack::new(AuthLayer::new(self.clone()), self.session_layer(store))
    }

    /// How many times a session's access token was refreshed at WorkOS by this process.
    pub fn refresh_count(&self) -> u64 {
        self.inner.core.refresher.calls()
    }

    /// The counters of the API key verdict cache (see
    /// [`AuthKitBuilder::api_keys`](super::AuthKitBuilder::api_keys)): validations sent to
    /// WorkOS, `503`s answered, keys cached now. All zero when API keys are off.
    pub fn api_key_stats(&self) -> ApiKeyStats {
        self.inner
            .api_keys
            .as_ref()
            .map(|verifier| verifier.stats())
            .unwrap_or_default()
    }

    /// How many times the JWKS was fetched by this process.
    pub fn jwks_fetch_count(&self) -> u64 {
        let fetches = self.inner.core.stats.snapshot().jwks_fetches;
        fetches.ok + fetches.failed
    }

    /// The counters of this `AuthKit` (this process): refreshes by outcome, stale serves,
    /// sign-outs by reason, store errors, JWKS fetches.
    pub fn stats(&self) -> crate::session::StatsSnapshot {
        self.inner.core.stats.snapshot()
    }

    /// Fetches the WorkOS JWKS now, so the first sign-ins and refreshes find the keys cached.
    /// [`build`](AuthKitBuilder::build) already starts this in the background; await it at
    /// start-up to know the keys are there. An `Err` (WorkOS unreachable) never needs to stop
    /// start-up: the fetch is retried in the background with back-off until it succeeds.
    ///
    /// ```no_run
    /// # async fn f(authkit: authkit_axum::AuthKit) {
    /// if let Err(err) = authkit.warm_up().await {
    ///     tracing::warn!(error = %err, "starting without the WorkOS keys; they will be fetched later");
    /// }
    /// # }
    /// ```
    pub async fn warm_up(&self) -> Result<(), crate::session::TokenError> {
        self.inner.core.verifier.warm_up().await
    }
}
