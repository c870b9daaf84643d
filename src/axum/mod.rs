//! The Axum integration (feature `axum`, on by default): [`AuthKit`] configuration, its
//! sign-in [router](AuthKit::router), the [`AuthLayer`] that authenticates requests, and the
//! [`AuthUser`] extractor.

mod claims;
mod config;
mod extract;
mod layer;
mod pages;
mod refresh;
mod return_to;
mod router;
mod session;
mod stepup;
mod verifier;

pub use claims::{AccessTokenClaims, Actor};
pub use config::{
    AuthKit, AuthKitBuilder, BoxFuture, CallbackErrorHook, SignInHook, Unauthenticated,
};
pub use extract::{AuthRejection, AuthSource, AuthUser};
pub use layer::{AuthLayer, AuthService};
pub use router::CallbackError;
pub use session::{AUTH_SESSION_KEY, AuthSession};
pub use verifier::TokenError;

pub(crate) use layer::UserCache;

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

/// The default name of the app's session cookie (not tower-sessions' `id`, which an emulator
/// on another localhost port would share).
pub const SESSION_COOKIE: &str = "authkit_session";

impl AuthKit {
    /// A tower-sessions layer set up for sign-in: cookie `authkit_session`, `HttpOnly`,
    /// `SameSite=Lax` (so the session survives the redirect back from WorkOS), `Secure` unless
    /// the app runs on `http://localhost`, expiring after 7 days of inactivity. Works with any
    /// store: `MemoryStore` for one process, Redis (feature `redis`) for several.
    pub fn session_layer<Store: SessionStore + Clone>(
        &self,
        store: Store,
    ) -> SessionManagerLayer<Store> {
        SessionManagerLayer::new(store)
            .with_name(SESSION_COOKIE)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(self.secure_cookies())
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(time::Duration::days(7)))
    }

    /// How many times a session's access token was refreshed at WorkOS by this process.
    pub fn refresh_count(&self) -> u64 {
        self.inner.refresher.calls()
    }

    /// How many times the JWKS was fetched by this process.
    pub fn jwks_fetch_count(&self) -> u64 {
        self.inner.verifier.jwks_fetches()
    }
}

/// Whether the request carries no bearer token (so a missing session layer matters).
pub(crate) fn layer_bearer_absent(parts: &axum::http::request::Parts) -> bool {
    !parts
        .headers
        .contains_key(axum::http::header::AUTHORIZATION)
}
