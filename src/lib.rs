//! # authkit-axum
//!
//! WorkOS AuthKit sign-in for [Axum](https://docs.rs/axum) apps, and the typed WorkOS User
//! Management client it is built on.
//!
//! - [`Client`]: a typed, async client for every WorkOS User Management operation, with
//!   retries, idempotency keys, typed errors (authentication step-ups included) and pagination
//!   as pages or a `Stream`. See [`user_management`], and [`organizations`] for organizations,
//!   their domains, roles and permissions.
//! - `AuthKit`, `AuthUser` (feature `axum`): sign-in routes, a tower layer that authenticates
//!   each request from its session (refreshing tokens before they expire) or its bearer token,
//!   and extractors for handlers; the rest of the integration is in `web`, the framework-free
//!   session core (clock, token claims, counters) in `session`, session stores in `stores`.
//! - [`error`]: the API's errors and the authentication step-ups.
//! - [`testing`]: helpers for your tests: a signed-in session cookie without a browser, and
//!   (feature `testing`) a [`Client`] pointed at the [`authkit-emulator`](https://docs.rs/authkit-emulator),
//!   a local WorkOS with a hosted sign-in page, an outbox for emails, RS256 tokens and faults.
//!
//! ## Feature flags
//!
//! | Feature | Default | What it adds |
//! |---|---|---|
//! | `axum` | yes | The Axum integration: `AuthKit`, its router, `AuthLayer`, `AuthUser`, tower-sessions |
//! | `testing` | no | [`testing::emulator_client`]: a `Client` for an `authkit_emulator::Emulator` |
//! | `redis` | no | `stores::redis`: a Redis session store that reconnects and fails fast, for apps on several machines |
//! | `postgres` | no | `stores::postgres`: a PostgreSQL session store, likewise |
//!
//! Without default features only the client is compiled (hyper, rustls on `ring`, serde, tokio
//! timers).
//!
//! ## Configuration from the environment
//!
//! | Variable | Used by | Meaning |
//! |---|---|---|
//! | `WORKOS_API_KEY` | [`Client::from_env`] | API key (`sk_...`), sent as bearer token and `client_secret` |
//! | `WORKOS_CLIENT_ID` | [`Client::from_env`] | Client id (`client_...`) |
//! | `WORKOS_BASE_URL` | [`Client::from_env`] | API base URL; default `https://api.workos.com` |
//! | `WORKOS_REDIRECT_URI` | `AuthKit::from_env` | The callback URL registered in the WorkOS dashboard |
//!
#![cfg_attr(
    all(feature = "testing", feature = "axum"),
    doc = include_str!("../docs/tutorial.md")
)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

/// The README's examples, compiled (and the runnable ones run) as doc tests.
#[cfg(all(
    doctest,
    feature = "testing",
    feature = "axum",
    feature = "redis",
    feature = "postgres"
))]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

#[macro_use]
mod macros;

pub mod actions;
#[cfg(feature = "axum")]
mod axum;
mod client;
mod digest;
mod http_url;
pub mod organizations;
mod secret;
#[cfg(feature = "axum")]
pub mod session;
#[cfg(feature = "axum")]
pub mod stores;
pub mod user_management;
pub mod webhooks;

#[cfg(any(feature = "axum", feature = "testing"))]
pub mod testing;

pub use client::{Client, ClientBuilder, ConfigError, Error, Result};
pub use secret::SecretString;

/// The TLS library under the client, for [`ClientBuilder::tls_config`].
pub use rustls;

#[cfg(feature = "axum")]
pub use crate::axum::{AuthKit, AuthKitBuilder, AuthUser};
#[cfg(feature = "axum")]
pub use tower_sessions;

/// The errors of WorkOS API calls: [`ApiError`](error::ApiError) (the API's answer, with its
/// code and field errors), the authentication step-ups a sign-in can answer with, which
/// [`Error`] carries ([`Error::EmailVerificationRequired`] and the others), and why a device
/// sign-in gave no tokens ([`DeviceCodeError`](error::DeviceCodeError)).
pub mod error {
    pub use crate::client::{
        ApiError, DeviceCodeError, DeviceCodeErrorKind, EmailVerificationRequired, FieldError,
        MfaChallenge, MfaEnrollment, OrganizationAuthenticationMethodsRequired,
        OrganizationSelectionRequired, SsoRequired, TransportError,
    };
}

/// What the Axum integration is made of, beyond [`AuthKit`], [`AuthUser`] and the builder:
/// the [`AuthLayer`](web::AuthLayer) (which [`AuthKit::layer`] combines with the session
/// layer), what the extractor answers when nobody is signed in
/// ([`Unauthenticated`](web::Unauthenticated), [`AuthRejection`](web::AuthRejection)), where
/// a user came from ([`AuthSource`](web::AuthSource)), sign-in failures
/// ([`CallbackError`](web::CallbackError)), the readiness answer ([`Health`](web::Health)) and
/// the session cookie's default names.
#[cfg(feature = "axum")]
pub mod web {
    pub use crate::axum::{
        ActionRejection, ApiKeyClient, ApiKeyStats, ApiKeys, AuthLayer, AuthRejection, AuthService,
        AuthSource, CallbackError, ControlError, CrossSiteRequest, Guard, GuardService, Health,
        JwksHealth, Principal, RefreshHealth, SECURE_SESSION_COOKIE, SESSION_COOKIE,
        SessionControl, SignIn, SignInUrl, SignedInDevice, StoreHealth, Unauthenticated,
        WebhookRejection, WorkosAction, WorkosWebhook,
    };
}
