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
//! What it serves: every User Management endpoint, with WorkOS's paths, bodies, status codes
//! and error shapes; RS256 access tokens and a JWKS
//! at `/sso/jwks/{client_id}`; a hosted sign-in page at `/user_management/authorize`; an
//! [outbox](Emulator::outbox) of the emails WorkOS would send; and [fault injection](Fault).

mod auth;
mod faults;
mod http;
mod outbox;
mod routes;
mod seed;
mod store;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use time::OffsetDateTime;
use tokio::sync::oneshot;

pub use auth::tokens::SigningKey;
pub use faults::{Fault, RecordedRequest};
pub use outbox::{Email, EmailKind};
pub use seed::SeedUser;

use faults::Faults;
use outbox::Outbox;
use store::Store;

/// The API key the emulator accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "sk_test_emulator";
/// The client id the emulator uses unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = "client_emulator";

/// Why the emulator could not start.
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
    /// The key that signs access tokens.
    pub signing_key: SigningKey,
    /// Every sign-in needs MFA: users without a factor must enroll one (`mfa_enrollment`).
    pub require_mfa: bool,
}

/// Everything the handlers share.
pub(crate) struct State {
    pub config: Config,
    pub store: Mutex<Store>,
    pub outbox: Outbox,
    pub faults: Faults,
    /// Seconds added to the real clock (see [`Emulator::advance_clock`]).
    clock_offset: AtomicI64,
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
    seed: Vec<SeedUser>,
    require_mfa: bool,
}

impl EmulatorBuilder {
    /// The key that signs access tokens. Default: [`SigningKey::development`].
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// A user to create at start (with organizations and a TOTP factor, as described).
    pub fn seed_user(mut self, user: SeedUser) -> Self {
        self.seed.push(user);
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

    /// Starts serving on `127.0.0.1`.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
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
            signing_key: self.signing_key.unwrap_or_else(SigningKey::development),
            require_mfa: self.require_mfa,
        };
        let state: SharedState = Arc::new(State {
            config,
            store: Mutex::new(Store::default()),
            outbox: Outbox::default(),
            faults: Faults::default(),
            clock_offset: AtomicI64::new(0),
        });
        seed::apply(&state, &self.seed)?;
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
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
    routes::router(state.clone()).layer(axum::middleware::from_fn_with_state(
        state,
        faults::middleware,
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

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.state.config.api_key
    }

    /// Its client id.
    pub fn client_id(&self) -> &str {
        &self.state.config.client_id
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

    /// Injects a fault (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        self.state.faults.add(fault);
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
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.state.clock_offset.fetch_add(secs, Ordering::Relaxed);
    }

    /// Creates an organization (the User Management API has no endpoint for it) and returns its id.
    pub fn create_organization(&self, name: &str) -> String {
        let org = store::OrganizationRec {
            id: store::new_id("org"),
            name: name.to_owned(),
        };
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
