//! Helpers for testing your app: a [`Client`](crate::Client) pointed at the
//! [`authkit-emulator`](https://docs.rs/authkit-emulator) (feature `testing`), and a signed-in
//! user for your own handlers, without a browser and without the sign-in redirects.
//!
//! [`auth_session`] turns an authentication (for example
//! [`authenticate_with_password`](crate::user_management::UserManagement::authenticate_with_password)
//! against the emulator) into the [`AuthSession`] the callback would have stored, verifying its
//! access token exactly as the callback does. [`signed_in_session`] writes it into your session
//! store and returns the `Cookie` header that makes a request signed in:
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authkit_emulator::Emulator;
//! use authkit_axum::tower_sessions::MemoryStore;
//! use authkit_axum::user_management::{AuthenticateWithPassword, CreateUser};
//! use authkit_axum::{AuthKit, AuthUser, testing};
//! use authkit_axum::web::AuthLayer;
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use tower::ServiceExt;
//!
//! async fn account(user: AuthUser) -> String {
//!     user.user.email.clone()
//! }
//!
//! let emulator = Emulator::start().await?;
//! let client = testing::emulator_client(&emulator);
//! let authkit = AuthKit::builder(client, "http://localhost:3000/auth/callback").build()?;
//! let store = MemoryStore::default();
//! let app = Router::new()
//!     .route("/account", get(account))
//!     .layer(AuthLayer::new(authkit.clone()))
//!     .layer(authkit.session_layer(store.clone()));
//!
//! // A user and a sign-in, straight at the emulator's API.
//! let um = authkit.client().user_management();
//! um.create_user(
//!     CreateUser::new("ada@example.com")
//!         .password("correct horse battery staple")
//!         .email_verified(true),
//! )
//! .await?;
//! let auth = um
//!     .authenticate_with_password(AuthenticateWithPassword::new(
//!         "ada@example.com",
//!         "correct horse battery staple",
//!     ))
//!     .await?;
//!
//! let session = testing::auth_session(&authkit, auth).await?;
//! let cookie = testing::signed_in_session(&authkit, &store, &session).await?;
//! let request = Request::get("/account").header("cookie", cookie).body(Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```
//!
//! The cookie works with any store, so the same helper signs in requests to an app on Redis.
//! It assumes the app's session layer comes from [`AuthKit::session_layer`] (cookie
//! [`AuthKit::session_cookie_name`], unsigned).

#[cfg(feature = "axum")]
use tower_sessions::SessionStore;
#[cfg(feature = "axum")]
use tower_sessions::session::{Id, Record};
#[cfg(feature = "axum")]
use tower_sessions::session_store;

#[cfg(feature = "axum")]
use crate::axum::SESSION_INACTIVITY;
#[cfg(feature = "axum")]
use crate::axum::config::AuthKit;
#[cfg(feature = "axum")]
use crate::axum::session::{AUTH_SESSION_DATA_KEY, AUTH_SESSION_KEY, new_revision};
#[cfg(feature = "axum")]
use crate::session::verifier::TokenError;
#[cfg(feature = "axum")]
use crate::user_management::AuthenticateResponse;

/// A signed-in session as the callback stores it (user, organization, tokens), for tests that
/// sign in without a browser ([`auth_session`], [`signed_in_session`]) or read what a store
/// holds ([`stored_session`]). How it is laid out in the session record is private.
#[cfg(feature = "axum")]
pub use crate::session::stored::AuthSession;

/// A [`Client`](crate::Client) for `emulator`: its base URL, API key and client id, with
/// retries kept short so tests of faults run fast.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authkit_axum::user_management::CreateUser;
///
/// let emulator = authkit_emulator::Emulator::start().await?;
/// let client = authkit_axum::testing::emulator_client(&emulator);
/// let user = client.user_management().create_user(CreateUser::new("ada@example.com")).await?;
/// assert_eq!(user.email, "ada@example.com");
/// # Ok(()) }
/// ```
#[cfg(feature = "testing")]
pub fn emulator_client(emulator: &authkit_emulator::Emulator) -> crate::Client {
    emulator_client_builder(emulator)
        .build()
        .unwrap_or_else(|e| unreachable!("the emulator's own settings are valid: {e}"))
}

/// Like [`emulator_client`], as a builder, to change other settings first.
#[cfg(feature = "testing")]
pub fn emulator_client_builder(emulator: &authkit_emulator::Emulator) -> crate::ClientBuilder {
    crate::Client::builder()
        .api_key(emulator.api_key())
        .client_id(emulator.client_id())
        .base_url(emulator.base_url())
        .retry_base_delay(std::time::Duration::from_millis(20))
}

/// The [`AuthSession`] the callback stores for this authentication: its access token is
/// verified (RS256 against the client's JWKS) first, so a forged or expired token is refused
/// here just as it would be at sign-in.
#[cfg(feature = "axum")]
pub async fn auth_session(
    authkit: &AuthKit,
    auth: AuthenticateResponse,
) -> Result<AuthSession, TokenError> {
    let claims = authkit
        .inner
        .core
        .verifier
        .verify(auth.access_token.expose_secret())
        .await?;
    let mut session = AuthSession::new(auth, claims);
    session.authenticated_at = Some(authkit.inner.core.clock.unix());
    Ok(session)
}

/// Writes `session` as the signed-in session of a new session record in `store`, and returns
/// the value of the `Cookie` header that carries it, named as `authkit`'s session layer names
/// it ([`AuthKit::session_cookie_name`]: `authkit_session=<id>` on localhost,
/// `__Host-authkit_session=<id>` on https).
///
/// The record expires like one made by [`AuthKit::session_layer`] (7 days of inactivity).
#[cfg(feature = "axum")]
pub async fn signed_in_session(
    authkit: &AuthKit,
    store: &impl SessionStore,
    session: &AuthSession,
) -> Result<String, session_store::Error> {
    let text = crate::axum::session::encode(session)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let data = [
        (AUTH_SESSION_DATA_KEY.to_owned(), text.into()),
        (AUTH_SESSION_KEY.to_owned(), new_revision().into()),
    ];
    let mut record = Record {
        id: Id::default(),
        data: data.into_iter().collect(),
        expiry_date: time::OffsetDateTime::now_utc() + SESSION_INACTIVITY,
    };
    // `create` may change the id on a collision: read it afterwards.
    store.create(&mut record).await?;
    Ok(format!("{}={}", authkit.session_cookie_name(), record.id))
}

/// The signed-in session stored in `store` under the session id `session_id` (a session
/// cookie's value), or `None` when that record holds none (signed out, never signed in, or no
/// such record).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authkit_axum::stores::MemoryStore;
///
/// let store = MemoryStore::default();
/// let none = authkit_axum::testing::stored_session(&store, "not-a-session-id").await?;
/// assert!(none.is_none());
/// # Ok(()) }
/// ```
#[cfg(feature = "axum")]
pub async fn stored_session(
    store: &impl SessionStore,
    session_id: &str,
) -> Result<Option<AuthSession>, session_store::Error> {
    use std::str::FromStr as _;

    let Ok(id) = Id::from_str(session_id) else {
        return Ok(None);
    };
    let Some(record) = store.load(&id).await? else {
        return Ok(None);
    };
    if !record.data.contains_key(AUTH_SESSION_KEY) {
        return Ok(None);
    }
    let Some(text) = record
        .data
        .get(AUTH_SESSION_DATA_KEY)
        .and_then(|v| v.as_str())
    else {
        return Ok(None);
    };
    crate::axum::session::decode(text)
        .map(Some)
        .map_err(|e| session_store::Error::Decode(e.to_string()))
}
