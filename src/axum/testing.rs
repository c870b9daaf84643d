//! Helpers for testing your own handlers with a signed-in user, without a browser and without
//! the sign-in redirects.
//!
//! [`auth_session`] turns an authentication (for example
//! [`authenticate_with_password`](crate::user_management::UserManagement::authenticate_with_password)
//! against the emulator, feature `emulator`) into the [`AuthSession`] the callback would have
//! stored, verifying its access token exactly as the callback does. [`signed_in_session`] writes
//! it into your session store and returns the `Cookie` header that makes a request signed in:
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authkit_axum::emulator::Emulator;
//! use authkit_axum::tower_sessions::MemoryStore;
//! use authkit_axum::user_management::{AuthenticateWithPassword, CreateUser};
//! use authkit_axum::{AuthKit, AuthLayer, AuthUser, testing};
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use tower::ServiceExt;
//!
//! async fn account(user: AuthUser) -> String {
//!     user.user.email.clone()
//! }
//!
//! let emulator = Emulator::start().await?;
//! let authkit = AuthKit::builder(emulator.client(), "http://localhost:3000/auth/callback").build()?;
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
//! let cookie = testing::signed_in_session(&store, &session).await?;
//! let request = Request::get("/account").header("cookie", cookie).body(Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "emulator"))]
//! # fn main() {}
//! ```
//!
//! The cookie works with any store, so the same helper signs in requests to an app on Redis.
//! It assumes the app's session layer comes from [`AuthKit::session_layer`] (cookie
//! [`SESSION_COOKIE`], unsigned).

use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;

use super::config::AuthKit;
use super::session::{AUTH_SESSION_DATA_KEY, AUTH_SESSION_KEY, AuthSession, new_revision};
use super::verifier::TokenError;
use super::{SESSION_COOKIE, SESSION_INACTIVITY};
use crate::user_management::AuthenticateResponse;

/// The [`AuthSession`] the callback stores for this authentication: its access token is
/// verified (RS256 against the client's JWKS) first, so a forged or expired token is refused
/// here just as it would be at sign-in.
pub async fn auth_session(
    authkit: &AuthKit,
    auth: AuthenticateResponse,
) -> Result<AuthSession, TokenError> {
    let claims = authkit
        .inner
        .verifier
        .verify(auth.access_token.expose_secret())
        .await?;
    Ok(AuthSession::new(auth, claims))
}

/// Writes `session` as the signed-in session of a new session record in `store`, and returns
/// the value of the `Cookie` header that carries it (`authkit_session=<id>`).
///
/// The record expires like one made by [`AuthKit::session_layer`] (7 days of inactivity).
pub async fn signed_in_session(
    store: &impl SessionStore,
    session: &AuthSession,
) -> Result<String, session_store::Error> {
    let text =
        super::session::encode(session).map_err(|e| session_store::Error::Encode(e.to_string()))?;
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
    Ok(format!("{SESSION_COOKIE}={}", record.id))
}
