//! A WorkOS emulator: a local server that speaks the WorkOS User Management API, for
//! development and tests. **Never use it in production**: it keeps passwords in memory, signs
//! tokens with a published development key, and trusts anyone who knows its API key.
//!
//! Any HTTP client (or WorkOS SDK) pointed at [`Emulator::base_url`] with
//! [`Emulator::api_key`] talks to it as it would to `https://api.workos.com`:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authkit_emulator::Emulator;
//!
//! let emulator = Emulator::start().await?;
//! # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
//! let user: serde_json::Value = reqwest::Client::new()
//!     .post(format!("{}/user_management/users", emulator.base_url()))
//!     .bearer_auth(emulator.api_key())
//!     .json(&serde_json::json!({ "email": "ada@example.com" }))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(user["email"], "ada@example.com");
//! # Ok(()) }
//! ```
//!
//! What it serves: every User Management endpoint, the Organizations API (organizations,
//! organization domains, the roles and permissions of `/authorization`), API keys
//! (`/api_keys/validations`, an organization's and a user's keys) and widget tokens
//! (`/widgets/token`), with WorkOS's paths, bodies, status codes and error shapes (a redirect
//! URI or CORS origin created over the API takes effect: sign-ins may return to the one,
//! browser code from the other may call the API); RS256 access tokens and a JWKS at
//! `/sso/jwks/{client_id}`; a hosted sign-in page at `/user_management/authorize`; the events
//! its state changes produce, delivered as [signed webhooks](EmulatorBuilder::webhook_endpoint)
//! and listed by the Events API (`GET /events`); an [outbox](Emulator::outbox) of the emails
//! WorkOS would send; and [fault injection](Fault).
//!
//! The sections below show its controls. The binary (`cargo run -p authkit-emulator -- --help`)
//! runs the same emulator with demo users, for apps in any language.
//!
//! # Development and tests only
//!
//! The emulator listens on `127.0.0.1` only, answers only requests addressed to `localhost`,
//! `127.0.0.1` or `[::1]` (other `Host` headers get 421, so a web page cannot reach it through
//! DNS rebinding), and signs tokens with [published development keys](SigningKey). Never
//! expose it to a network, and never let a production app trust its tokens.
//!
//! # Registering your app
//!
//! As in the WorkOS dashboard, an app registers where sign-ins and sign-outs may return, and
//! the emulator refuses the rest with an error page that says what to register, never with a
//! redirect: [`redirect_uri`](EmulatorBuilder::redirect_uri) (exact match; the first is the
//! default), [`logout_redirect_uri`](EmulatorBuilder::logout_redirect_uri) (the logout URL's
//! `return_to`) and [`allowed_host`](EmulatorBuilder::allowed_host) (another name to answer
//! to, e.g. a container's). A code exchange that sends a `redirect_uri` must send the one the
//! code went to.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authkit_emulator::Emulator;
//!
//! let emulator = Emulator::builder()
//!     .redirect_uri("http://localhost:3000/auth/callback")
//!     .logout_redirect_uri("http://localhost:3000/")
//!     .start()
//!     .await?;
//! let authorize = |redirect_uri: &str| {
//!     let mut url = url::Url::parse(&format!("{}/user_management/authorize", emulator.base_url()))?;
//!     url.query_pairs_mut()
//!         .append_pair("client_id", emulator.client_id())
//!         .append_pair("response_type", "code")
//!         .append_pair("redirect_uri", redirect_uri);
//!     Ok::<_, url::ParseError>(url)
//! };
//! # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
//! let http = reqwest::Client::new();
//! let page = http.get(authorize("http://localhost:3000/auth/callback")?).send().await?;
//! assert_eq!(page.status(), 200); // the sign-in page
//! let refused = http.get(authorize("https://evil.example/callback")?).send().await?;
//! assert_eq!(refused.status(), 400);
//! assert!(refused.text().await?.contains("EmulatorBuilder::redirect_uri"));
//!
//! // A request addressed to another name (DNS rebinding) is refused.
//! let rebound = http
//!     .get(format!("{}/__emulator/outbox", emulator.base_url()))
//!     .header("host", "evil.example")
//!     .send()
//!     .await?;
//! assert_eq!(rebound.status(), 421);
//! # Ok(()) }
//! ```
//!
//! # Signing users in from tests
//!
//! [`Emulator::approve_sign_in`] completes the sign-in an app's authorization URL starts, as
//! if the user had signed in on the hosted page; the hosted page itself can be driven with
//! plain form posts (or a browser) to test its step-ups.
//!
//! # Impersonation
//!
//! [`Emulator::impersonate`] does what the dashboard's "Impersonate user" button does: it
//! sends the browser to the default redirect URI with a code and no `state`. The exchange
//! answers `authentication_method: "Impersonation"` and the
//! `impersonator`; every access token of the session carries `act: {"sub": <impersonator>}`,
//! refreshed ones too, for 60 minutes. [`Emulator::end_impersonation`] makes the session's
//! later refreshes come back without `act`, to test that an app drops the impersonator.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authkit_emulator::{Emulator, Impersonation, SeedUser};
//! use serde_json::{Value, json};
//!
//! let emulator = Emulator::builder()
//!     .redirect_uri("http://localhost:3000/auth/callback")
//!     .seed_user(SeedUser::new("ada@example.com"))
//!     .start()
//!     .await?;
//! let callback = emulator.impersonate(&Impersonation::new("ada@example.com", "support@example.com"))?;
//! let code = callback.query_pairs().find(|(k, _)| k == "code").ok_or("no code")?.1.into_owned();
//!
//! # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
//! let http = reqwest::Client::new();
//! let authenticate = |body: Value| {
//!     let mut body = body;
//!     body["client_id"] = json!(emulator.client_id());
//!     body["client_secret"] = json!(emulator.api_key());
//!     http.post(format!("{}/user_management/authenticate", emulator.base_url())).json(&body).send()
//! };
//! let auth: Value = authenticate(json!({ "grant_type": "authorization_code", "code": code }))
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(auth["impersonator"]["email"], "support@example.com");
//!
//! // The impersonation ends: the next refresh has no impersonator (and its token no `act`).
//! let sessions: Value = http
//!     .get(format!("{}/user_management/users/{}/sessions", emulator.base_url(), auth["user"]["id"].as_str().unwrap_or_default()))
//!     .bearer_auth(emulator.api_key())
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert!(emulator.end_impersonation(sessions["data"][0]["id"].as_str().unwrap_or_default()));
//! let refreshed: Value = authenticate(json!({ "grant_type": "refresh_token", "refresh_token": auth["refresh_token"] }))
//!     .await?
//!     .json()
//!     .await?;
//! assert!(refreshed.get("impersonator").is_none());
//! # Ok(()) }
//! ```
//!
//! # Signing-key rotation
//!
//! [`Emulator::rotate_signing_key`] makes a new key (with its own `kid`) sign every token from
//! now on while the JWKS keeps publishing the old one; [`Emulator::retire_signing_key`] later
//! removes the old one; [`Emulator::publish_signing_key`] publishes a key before it signs.
//! [`SigningKey::development_key`] gives four fixed development keys, so no RSA key is
//! generated at run time.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authkit_emulator::{Emulator, SigningKey};
//!
//! let emulator = Emulator::start().await?;
//! emulator.rotate_signing_key(SigningKey::development_key(2).ok_or("no key 2")?)?;
//! # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
//! let jwks: serde_json::Value = reqwest::get(format!("{}/sso/jwks/{}", emulator.base_url(), emulator.client_id()))
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2)); // old and new
//! emulator.retire_signing_key("emulator_dev_key_1")?;
//! assert_eq!(emulator.published_kids(), ["emulator_dev_key_2"]);
//! # Ok(()) }
//! ```
//!
//! # Faults and the request log
//!
//! [`Emulator::inject_fault`] makes matching requests (by path or path prefix, method, and for
//! `/user_management/authenticate` the grant type) fail with a status or wait, for a number of
//! requests or a time window on the real clock, and returns a [`FaultId`] for
//! [`Emulator::remove_fault`]. A delay holds up only the requests it hits.
//! [`Emulator::requests`] lists what the emulator was asked, with when and how long it took.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use authkit_emulator::{Emulator, Fault};
//!
//! let emulator = Emulator::start().await?;
//! let jwks = format!("{}/sso/jwks/{}", emulator.base_url(), emulator.client_id());
//! // The JWKS is down for 5 seconds, or until the fault is removed.
//! let outage = emulator.inject_fault(
//!     Fault::new("/sso/jwks/*").status(503).for_duration(Duration::from_secs(5)),
//! );
//! # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
//! assert_eq!(reqwest::get(&jwks).await?.status(), 503);
//! assert!(emulator.remove_fault(outage));
//! assert_eq!(reqwest::get(&jwks).await?.status(), 200);
//! // Only refreshes fail; sign-ins go on.
//! emulator.inject_fault(
//!     Fault::new("/user_management/authenticate").grant_type("refresh_token").status(503).retry_after(5),
//! );
//! let log = emulator.requests();
//! assert_eq!(log.len(), 2);
//! assert!(log[0].received_at <= log[1].received_at);
//! # Ok(()) }
//! ```
//!
//! # The clock
//!
//! [`Emulator::advance_clock`] moves the emulator's clock forward, so codes, tokens and
//! sessions expire without waiting.

//!
//! # Seeding
//!
//! [`EmulatorBuilder::seed`] gives the emulator its data at start, and again at every
//! [`Emulator::reset`]: users (pinned ids, passwords, names, verified or not, TOTP secrets,
//! external ids, metadata), organizations (ids, external ids, domains), memberships (role,
//! status), a role catalogue (each role's permissions go into access tokens, and unknown role
//! slugs get WorkOS's `invalid_role`), registered URIs, the API key and the client id, and what
//! the API only reads: users' OAuth `identities` and `authorized_applications`, organizations'
//! `groups`, `feature_flags` (their slugs go into access tokens) and the `jwt_template` (its
//! claims go into access tokens; `PUT /user_management/jwt_template` replaces it). Read a
//! seed from YAML or JSON with [`Seed::from_path`] (the binary's `--seed`); unknown fields are
//! refused by name. [`EmulatorBuilder::seed_user`] adds one [`SeedUser`].
//!
//! # The outbox
//!
//! [`Emulator::outbox`], [`Emulator::last_email_to`] and [`Emulator::clear_outbox`] show the
//! [`Email`]s WorkOS would send: codes, reset links, invitations, email change codes.
//!
//! # Step-ups and test helpers
//!
//! [`Emulator::approve_sign_in`] and [`Emulator::approve_sign_in_pending`] complete a sign-in
//! without a browser (the second leaves the step-ups to the code exchange);
//! [`Emulator::seed_membership`], [`Emulator::seed_magic_auth`],
//! [`Emulator::seed_authorization_code`] and [`Emulator::seed_totp_factor`] put records in
//! place directly; [`Emulator::pending_code_user`], [`Emulator::pending_code_challenge`] and
//! [`Emulator::latest_email_verification_id`] read back what the hosted page issued.
//!
//! # Device sign-in (CLIs)
//!
//! `POST /user_management/authorize/device` starts a device sign-in (RFC 8628): its
//! `verification_uri` is the emulator's verification page, `/__emulator/device`, where the
//! user enters the user code, signs in (with the hosted page's step-ups) and approves or
//! denies. The `urn:ietf:params:oauth:grant-type:device_code` grant answers
//! `authorization_pending` until then, `slow_down` when polled faster than `interval` (which
//! then grows by 5 s), `expired_token` after `expires_in` (5 minutes on the emulator's clock),
//! `access_denied` when denied, and `invalid_grant` for a device code already exchanged.
//! [`Emulator::approve_device`] and [`Emulator::deny_device`] answer for the user in tests.
//!
//! # The HTTP control API
//!
//! The same controls over HTTP, for tests in any language, under `/__emulator/` with the API
//! key as bearer token (the emulator's README has curl examples): `GET`/`DELETE
//! /__emulator/outbox`, `GET`/`DELETE /__emulator/requests`, `POST /__emulator/faults`,
//! `DELETE /__emulator/faults/{id}`, `DELETE /__emulator/faults`, `POST
//! /__emulator/clock/advance`, `GET /__emulator/signing-keys`, `POST
//! /__emulator/signing-keys/{rotate,publish,retire}`, `POST /__emulator/device/{approve,deny}`
//! and `POST /__emulator/reset`. Control
//! calls are not in the request log and injected faults never hit them.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authkit_emulator::Emulator;
//! use serde_json::{Value, json};
//!
//! let emulator = Emulator::start().await?;
//! # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
//! let http = reqwest::Client::new();
//! let fault: Value = http
//!     .post(format!("{}/__emulator/faults", emulator.base_url()))
//!     .bearer_auth(emulator.api_key())
//!     .json(&json!({ "path": "/sso/jwks/*", "status": 503, "times": 1 }))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(fault["id"], "fault_1");
//! let anonymous = http.post(format!("{}/__emulator/reset", emulator.base_url())).send().await?;
//! assert_eq!(anonymous.status(), 401);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod actions;
mod auth;
mod control;
mod faults;
mod http;
mod jwt_template;
mod outbox;
mod registration;
mod roles;
mod routes;
mod seed;
mod seed_records;
mod store;
mod webhooks;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::Router;
use time::OffsetDateTime;
use tokio::sync::oneshot;

pub use actions::{ActionEndpoint, ActionType, DEFAULT_ACTION_TIMEOUT, OnError};
pub use auth::impersonation::Impersonation;
pub use auth::tokens::SigningKey;
pub use faults::{Fault, FaultId, RecordedRequest};
pub use outbox::{Email, EmailKind};
pub use seed::{
    DomainState, MembershipStatus, Seed, SeedApiKey, SeedAuthorizedApplication, SeedDomain,
    SeedFeatureFlag, SeedGroup, SeedIdentity, SeedMembership, SeedOrganization, SeedRole, SeedUser,
    SeedWebhook,
};

use auth::tokens::KeyRing;
use faults::Faults;
use outbox::Outbox;
use registration::Registered;
use roles::Roles;
use store::Store;

/// The API key the emulator accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "sk_test_emulator";
/// The client id the emulator uses unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = "client_emulator";

/// Why the emulator could not start, or refused a control call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The port could not be bound.
    #[error(
        "the emulator could not listen on {addr}: {source} (is another process using the port? pick another with EmulatorBuilder::port)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A setting was rejected.
    #[error("invalid emulator setting: {0}")]
    Invalid(String),
    /// The seed data (a seed file or a [`Seed`]) is invalid. The text names the file, if
    /// any, the entry and the problem.
    #[error("invalid seed: {0}")]
    Seed(String),
    /// A control call or test helper was refused, e.g. a sign-in for an unknown user or to a
    /// redirect URI that is not registered. The text says why and what to do.
    #[error("the emulator refused: {0}")]
    Refused(String),
}

/// Settings fixed at start.
pub(crate) struct Config {
    pub api_key: String,
    pub client_id: String,
    /// The public base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub base_url: String,
    /// The `iss` claim of access tokens.
    pub issuer: String,
    /// Access token lifetime.
    pub access_token_ttl: Duration,
    /// Redirect URIs, logout redirect URIs and host names the app registered.
    pub registered: Registered,
    /// Every sign-in needs MFA: users without a factor must enroll one (`mfa_enrollment`).
    pub require_mfa: bool,
    /// The role catalogue.
    pub roles: Roles,
}

/// Everything the handlers share.
pub(crate) struct State {
    pub config: Config,
    pub store: Mutex<Store>,
    pub outbox: Outbox,
    pub faults: Faults,
    /// The key that signs access tokens and the keys the JWKS publishes.
    keys: RwLock<KeyRing>,
    /// Seconds added to the real clock (see [`Emulator::advance_clock`]).
    clock_offset: AtomicI64,
    /// Where webhooks are delivered (added to by the control API).
    pub webhook_endpoints: RwLock<Vec<webhooks::Endpoint>>,
    /// The app's action endpoints, one per type (see the `actions` module).
    action_endpoints: RwLock<Vec<ActionEndpoint>>,
    /// The seed, with every id filled in, that [`Emulator::reset`] restores.
    seed: Seed,
    /// The key that signed at start, restored by [`Emulator::reset`].
    initial_key: SigningKey,
}

pub(crate) type SharedState = Arc<State>;

impl State {
    /// The emulator's "now": the real clock plus any advance.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::seconds(self.clock_offset.load(Ordering::Relaxed))
    }

    /// Locks the store (a poisoned lock is recovered: the data is plain values).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The signing keys (a poisoned lock is recovered: keys are replaced whole).
    pub fn keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The signing keys, to change them.
    pub fn keys_mut(&self) -> RwLockWriteGuard<'_, KeyRing> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The action endpoints.
    pub fn action_endpoints(&self) -> RwLockReadGuard<'_, Vec<ActionEndpoint>> {
        self.action_endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The action endpoints, to change them.
    pub fn action_endpoints_mut(&self) -> RwLockWriteGuard<'_, Vec<ActionEndpoint>> {
        self.action_endpoints
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// See [`Emulator::advance_clock`].
    pub fn advance_clock(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.clock_offset.fetch_add(secs, Ordering::Relaxed);
    }

    /// See [`Emulator::reset`].
    pub fn reset(&self) {
        self.clock_offset.store(0, Ordering::Relaxed);
        self.reseed();
        self.outbox.clear();
        self.faults.reset();
        *self.keys_mut() = KeyRing::new(self.initial_key.clone());
        tracing::info!("emulator: reset to the seeded state");
    }

    /// Replaces the data with the seeded data, as at start.
    fn reseed(&self) {
        let mut store = Store::default();
        seed::apply(self, &self.seed, &mut store);
        *self.store() = store;
    }
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    state: SharedState,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.state.config.base_url)
            .field("client_id", &self.state.config.client_id)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Emulator`] before starting it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use authkit_emulator::Emulator;
///
/// let emulator = Emulator::builder()
///     .api_key("sk_test_mine")
///     .client_id("client_mine")
///     .access_token_ttl(Duration::from_secs(30))
///     .start()
///     .await?;
/// assert_eq!(emulator.api_key(), "sk_test_mine");
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct EmulatorBuilder {
    port: Option<u16>,
    api_key: Option<String>,
    client_id: Option<String>,
    issuer: Option<String>,
    access_token_ttl: Option<Duration>,
    signing_key: Option<SigningKey>,
    seed: Seed,
    require_mfa: bool,
    redirect_uris: Vec<String>,
    logout_redirect_uris: Vec<String>,
    allowed_hosts: Vec<String>,
    webhook_endpoints: Vec<webhooks::Endpoint>,
    action_endpoints: Vec<ActionEndpoint>,
}

impl EmulatorBuilder {
    /// Delivers webhooks (`user.created`, `session.revoked`, ...) to `url`, an `http://`
    /// endpoint of the app under test, signed with `secret` as WorkOS signs them, retried
    /// until it answers 2xx (four attempts over about six seconds). Repeatable.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), authkit_emulator::EmulatorError> {
    /// let emulator = authkit_emulator::Emulator::builder()
    ///     .webhook_endpoint("http://127.0.0.1:3000/webhooks/workos", "whsec_test")
    ///     .start()
    ///     .await?;
    /// assert!(emulator.events().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn webhook_endpoint(mut self, url: impl Into<String>, secret: impl Into<String>) -> Self {
        self.webhook_endpoints.push(webhooks::Endpoint {
            url: url.into(),
            secret: secret.into(),
        });
        self
    }

    /// Asks the app before sign-ups (a [user registration](ActionEndpoint::user_registration)
    /// action) or sign-ins (an [authentication](ActionEndpoint::authentication) action) on the
    /// hosted page, as AuthKit Actions do: the emulator POSTs the signed action request to the
    /// endpoint, checks the signed answer, and honours its verdict (a denial's message is shown
    /// on the hosted page, and no code is issued). One endpoint per type: a second of the same
    /// type replaces the first. The API's own grants (`POST /user_management/authenticate`,
    /// user creation) do not call actions, nor does [`Emulator::approve_sign_in`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), authkit_emulator::EmulatorError> {
    /// use authkit_emulator::{ActionEndpoint, Emulator};
    ///
    /// let emulator = Emulator::builder()
    ///     .action_endpoint(ActionEndpoint::user_registration(
    ///         "http://127.0.0.1:3000/actions/workos",
    ///         "action_secret",
    ///     ))
    ///     .start()
    ///     .await?;
    /// # drop(emulator);
    /// # Ok(()) }
    /// ```
    pub fn action_endpoint(mut self, endpoint: ActionEndpoint) -> Self {
        self.action_endpoints.push(endpoint);
        self
    }

    /// The key that signs access tokens. Default: [`SigningKey::development`].
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// A user to create at start (with organizations and a TOTP factor, as described).
    pub fn seed_user(mut self, user: SeedUser) -> Self {
        self.seed.users.push(user);
        self
    }

    /// Seed data to hold at start and after a [reset](Emulator::reset): users,
    /// organizations, memberships, the role catalogue, and the [`Seed`]'s registered URIs,
    /// API key and client id (which replace those set before). Several seeds add up; see
    /// [`Seed`] for the file format.
    pub fn seed(mut self, mut seed: Seed) -> Self {
        if let Some(api_key) = seed.api_key.take() {
            self.api_key = Some(api_key);
        }
        if let Some(client_id) = seed.client_id.take() {
            self.client_id = Some(client_id);
        }
        self.redirect_uris.append(&mut seed.redirect_uris);
        for hook in std::mem::take(&mut seed.webhooks) {
            self = self.webhook_endpoint(hook.url, hook.secret);
        }
        self.action_endpoints.append(&mut seed.actions);
        self.logout_redirect_uris
            .append(&mut seed.logout_redirect_uris);
        self.seed.merge(seed);
        self
    }

    /// The loopback port to listen on. Default: any free port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The API key to accept. Default: [`DEFAULT_API_KEY`].
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The client id. Default: [`DEFAULT_CLIENT_ID`].
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The `iss` claim of access tokens. Default: `<base URL>/user_management/<client id>`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// How long access tokens live. Default: 5 minutes, as WorkOS.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = Some(ttl);
        self
    }

    /// Requires MFA for every sign-in, as the WorkOS dashboard setting does: a user without a
    /// TOTP factor gets `mfa_enrollment` and must enroll one. Default: off.
    pub fn require_mfa(mut self, require: bool) -> Self {
        self.require_mfa = require;
        self
    }

    /// Registers a redirect URI, as in the WorkOS dashboard: a sign-in may return only to a
    /// registered one (exact match). Repeat for several; the first is the default, where
    /// [impersonation](Emulator::impersonate) sends the browser. With none registered, every
    /// sign-in is refused with a page that says which URI to register.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Registers a logout redirect URI: the `return_to` of the logout URL must be one of them
    /// (exact match), else the emulator shows an error page instead of redirecting. Repeat for
    /// several; the first is where a logout without `return_to` goes.
    pub fn logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.logout_redirect_uris.push(uri.into());
        self
    }

    /// Answers requests addressed to this host name (any port) too, e.g. the name of the
    /// emulator's container. By default only `localhost`, `127.0.0.1` and `[::1]` are answered,
    /// and other `Host` headers get 421 (no DNS rebinding of a developer's machine).
    pub fn allowed_host(mut self, name: impl Into<String>) -> Self {
        self.allowed_hosts.push(name.into());
        self
    }

    /// Starts serving on `127.0.0.1`.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let mut seed = self.seed;
        seed.resolve();
        seed.check()?;
        let roles = seed.roles()?;
        let registered = Registered::new(
            &self.redirect_uris,
            &self.logout_redirect_uris,
            &self.allowed_hosts,
        )?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port.unwrap_or(0)));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let base_url = format!("http://{addr}");
        let client_id = self
            .client_id
            .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned());
        if client_id.is_empty() || client_id.contains(['/', '?', '#']) {
            return Err(EmulatorError::Invalid(format!("client id {client_id:?}")));
        }
        let config = Config {
            api_key: self.api_key.unwrap_or_else(|| DEFAULT_API_KEY.to_owned()),
            issuer: self
                .issuer
                .unwrap_or_else(|| format!("{base_url}/user_management/{client_id}")),
            client_id,
            base_url,
            access_token_ttl: self.access_token_ttl.unwrap_or(Duration::from_secs(300)),
            registered,
            require_mfa: self.require_mfa,
            roles,
        };
        let mut action_endpoints = Vec::new();
        for endpoint in self.action_endpoints {
            let endpoint = endpoint.registered().map_err(EmulatorError::Invalid)?;
            actions::register(&mut action_endpoints, endpoint);
        }
        let signing_key = self.signing_key.unwrap_or_else(SigningKey::development);
        let state: SharedState = Arc::new(State {
            config,
            store: Mutex::new(Store::default()),
            outbox: Outbox::default(),
            faults: Faults::default(),
            keys: RwLock::new(KeyRing::new(signing_key.clone())),
            webhook_endpoints: RwLock::new(self.webhook_endpoints),
            action_endpoints: RwLock::new(action_endpoints),
            clock_offset: AtomicI64::new(0),
            seed,
            initial_key: signing_key,
        });
        state.reseed();
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "emulator server stopped");
            }
        });
        tracing::info!(
            base_url = %state.config.base_url,
            client_id = %state.config.client_id,
            "WorkOS emulator listening (for development and tests only; never production)"
        );
        Ok(Emulator {
            state,
            addr,
            shutdown: Some(tx),
        })
    }
}

fn router(state: SharedState) -> Router {
    routes::router(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            webhooks::middleware,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::middleware,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::app_settings::cors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            registration::host_guard,
        ))
}

impl Emulator {
    /// Starts an emulator with default settings on a free loopback port.
    pub async fn start() -> Result<Emulator, EmulatorError> {
        Self::builder().start().await
    }

    /// Configures an emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The base URL to give a WorkOS client, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> &str {
        &self.state.config.base_url
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every event so far (`{"id", "event", "data", "created_at"}`, oldest first), as delivered
    /// to the [webhook endpoints](EmulatorBuilder::webhook_endpoint).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.state.store().events.clone()
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.state.config.api_key
    }

    /// Its client id.
    pub fn client_id(&self) -> &str {
        &self.state.config.client_id
    }

    /// The redirect URIs registered at start (normalized), the default first. Those created
    /// later with `POST /user_management/redirect_uris` are accepted too, but not listed here.
    pub fn redirect_uris(&self) -> &[String] {
        &self.state.config.registered.redirect_uris
    }

    /// The registered logout redirect URIs (normalized), the default first.
    pub fn logout_redirect_uris(&self) -> &[String] {
        &self.state.config.registered.logout_redirect_uris
    }

    /// Every email sent so far, oldest first.
    pub fn outbox(&self) -> Vec<Email> {
        self.state.outbox.all()
    }

    /// The newest email sent to `to`, if any.
    pub fn last_email_to(&self, to: &str) -> Option<Email> {
        self.state
            .outbox
            .all()
            .into_iter()
            .rev()
            .find(|e| e.to.eq_ignore_ascii_case(to))
    }

    /// Empties the outbox.
    pub fn clear_outbox(&self) {
        self.state.outbox.clear();
    }

    /// Injects a fault (see [`Fault`]) and returns its id, for [`remove_fault`](Self::remove_fault).
    /// A fault limited to a [duration](Fault::for_duration) starts counting now.
    pub fn inject_fault(&self, fault: Fault) -> FaultId {
        self.state.faults.add(fault)
    }

    /// Removes one fault; `false` when it was already gone (removed, used up or expired).
    pub fn remove_fault(&self, id: FaultId) -> bool {
        self.state.faults.remove(id)
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.faults.requests()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.faults.clear_requests();
    }

    /// Moves the emulator's clock forward, so codes, tokens and invitations expire without
    /// waiting. Access tokens issued afterwards carry the advanced `iat`/`exp`.
    pub fn advance_clock(&self, by: Duration) {
        self.state.advance_clock(by);
    }

    /// Puts the emulator back as it started: the seeded users, organizations and memberships
    /// (with the same ids; everything made since is gone, sessions and codes included), an
    /// empty outbox and request log, no faults, the real clock, and the signing key it
    /// started with (rotated keys are dropped from the JWKS). The URIs registered at start,
    /// the API key, the client id, and the webhook and action endpoints stay; redirect URIs and
    /// CORS origins created over the API go, and the JWT template is the seeded one again (or
    /// none).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authkit_emulator::{Emulator, SeedUser};
    ///
    /// let emulator = Emulator::builder().seed_user(SeedUser::new("ada@example.com").id("user_ada")).start().await?;
    /// emulator.create_organization("Made in a test");
    /// emulator.reset();
    /// assert!(emulator.organizations().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Creates an organization directly (without an `organization.created` event; the API's
    /// `POST /organizations` emits one) and returns its id.
    pub fn create_organization(&self, name: &str) -> String {
        let org = store::OrganizationRec::new(store::new_id("org"), name, self.state.now());
        let id = org.id.clone();
        self.state.store().organizations.insert(org);
        id
    }

    /// Every organization as `(id, name)`, sorted by name.
    pub fn organizations(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self
            .state
            .store()
            .organizations
            .iter()
            .map(|o| (o.id.clone(), o.name.clone()))
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1));
        all
    }

    /// Stops the server (also done on drop).
    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
