//! Device sign-in for CLIs and other devices without a browser: OAuth 2.0 device
//! authorization ([RFC 8628](https://datatracker.ietf.org/doc/html/rfc8628)), which WorkOS
//! calls CLI Auth.
//!
//! 1. [`authorize_device`](UserManagement::authorize_device) asks WorkOS for a device code and
//!    a user code (`POST /user_management/authorize/device`);
//! 2. the device shows the user the [`verification_uri`](DeviceAuthorization::verification_uri)
//!    and the [`user_code`](DeviceAuthorization::user_code) (or the
//!    [`verification_uri_complete`](DeviceAuthorization::verification_uri_complete), which
//!    carries the code); the user opens it in any browser, signs in and approves;
//! 3. [`poll_device_authorization`](UserManagement::poll_device_authorization) polls the
//!    `device_code` grant until then and returns the signed-in user and the session's tokens.
//!
//! The device needs no API key (a CLI must not ship one): a [`Client`](crate::Client) built
//! with only the client id signs it in.
//!
//! ```no_run
//! # async fn run() -> Result<(), authkit_axum::Error> {
//! use authkit_axum::Client;
//!
//! let client = Client::builder().client_id("client_01H...").build()?;
//! let device = client.user_management().authorize_device().await?;
//! println!("Open {} and enter the code {}", device.verification_uri, device.user_code);
//! let auth = client.user_management().poll_device_authorization(&device).await?;
//! println!("Signed in as {}", auth.user.email);
//! # Ok(()) }
//! ```

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize};

use super::{AuthenticateResponse, AuthenticateWithDeviceCode, UserManagement};
use crate::SecretString;
use crate::client::{DeviceCodeError, DeviceCodeErrorKind, Endpoint, Error, Result};

/// The polling interval when WorkOS names none (RFC 8628's default).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The shortest interval the poller waits, whatever the answer says.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// What each `slow_down` adds to the interval (RFC 8628).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// A device sign-in in progress: what
/// [`authorize_device`](UserManagement::authorize_device) answers (WorkOS's
/// `DeviceAuthorizationResponse`).
///
/// ```
/// use std::time::Duration;
/// use authkit_axum::user_management::DeviceAuthorization;
///
/// let device: DeviceAuthorization = serde_json::from_value(serde_json::json!({
///     "device_code": "CVE2wOfIFK4vhmiDBntpX9s8KT2f",
///     "user_code": "BCDF-GHJK",
///     "verification_uri": "https://auth.example.com/device",
///     "verification_uri_complete": "https://auth.example.com/device?user_code=BCDF-GHJK",
///     "expires_in": 300,
///     "interval": 5
/// })).unwrap();
/// assert_eq!(device.lifetime(), Duration::from_secs(300));
/// assert_eq!(device.poll_interval(), Duration::from_secs(5));
/// assert!(!format!("{device:?}").contains("CVE2w"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceAuthorization {
    /// The device's secret: what it polls with. Never show it to the user.
    pub device_code: SecretString,
    /// The code the user enters at [`verification_uri`](Self::verification_uri), e.g.
    /// `BCDF-GHJK`.
    pub user_code: String,
    /// Where the user enters the code.
    pub verification_uri: String,
    /// [`verification_uri`](Self::verification_uri) with the code in it: a link (or QR code)
    /// that saves typing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// How long the codes live, in seconds.
    #[serde(deserialize_with = "seconds")]
    pub expires_in: u64,
    /// The minimum time between polls, in seconds, when WorkOS names one.
    #[serde(
        default,
        deserialize_with = "optional_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval: Option<u64>,
    /// When this process received it, to count the lifetime from (`None` when deserialized).
    #[serde(skip)]
    received_at: Option<Instant>,
}

impl DeviceAuthorization {
    /// How long the codes live ([`expires_in`](Self::expires_in)).
    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(self.expires_in)
    }

    /// The minimum time between polls ([`interval`](Self::interval), 5 seconds when absent).
    pub fn poll_interval(&self) -> Duration {
        self.interval.map_or(DEFAULT_INTERVAL, Duration::from_secs)
    }

    /// The link to open: [`verification_uri_complete`](Self::verification_uri_complete) when
    /// WorkOS gave one, else [`verification_uri`](Self::verification_uri).
    pub fn verification_link(&self) -> &str {
        self.verification_uri_complete
            .as_deref()
            .unwrap_or(&self.verification_uri)
    }
}

/// A JSON number of seconds (the spec says `number`: `300` or `300.0`), rounded up.
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<u64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && value >= 0.0 {
        Ok(value.ceil() as u64)
    } else {
        Err(serde::de::Error::custom(format!(
            "expected a number of seconds, got {value}"
        )))
    }
}

fn optional_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "seconds")] u64);
    Option::<Wrap>::deserialize(deserializer).map(|w| w.map(|Wrap(s)| s))
}

#[derive(Serialize)]
struct AuthorizeDeviceBody<'a> {
    client_id: &'a str,
}

/// How [`PollDeviceAuthorization`] waits between polls.
type SleepFn = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

impl UserManagement {
    /// Starts a device sign-in: a device code to poll with and a user code to show.
    /// `POST /user_management/authorize/device` (no API key needed).
    ///
    /// WorkOS answers 403 `access_denied` when CLI Auth is not enabled for the environment.
    pub async fn authorize_device(&self) -> Result<DeviceAuthorization> {
        let body = AuthorizeDeviceBody {
            client_id: self.client.client_id(),
        };
        let mut device: DeviceAuthorization = self
            .client
            .execute(
                Endpoint::post("/user_management/authorize/device", &[])
                    .json(&body)
                    .public(),
            )
            .await?;
        device.received_at = Some(Instant::now());
        Ok(device)
    }

    /// Polls the device sign-in until the user approves it, and returns the user and the
    /// session's tokens. `.await` it (or set [`sleep_with`](PollDeviceAuthorization::sleep_with)
    /// and the end user's details first).
    ///
    /// It polls every [`poll_interval`](DeviceAuthorization::poll_interval), 5 seconds slower
    /// after each `slow_down`, and stops:
    /// - with the tokens, once the user approved;
    /// - with [`Error::DeviceCode`] of kind
    ///   [`AccessDenied`](DeviceCodeErrorKind::AccessDenied) when the user denied it;
    /// - with kind [`Expired`](DeviceCodeErrorKind::Expired) when the codes expired
    ///   ([`lifetime`](DeviceAuthorization::lifetime) after `authorize_device` answered): start
    ///   again with [`authorize_device`](UserManagement::authorize_device);
    /// - with any other error of the grant (e.g. a transport failure after the client's
    ///   retries).
    ///
    /// The future can be dropped at any time (a timeout, Ctrl-C in a `select!`): it stops
    /// polling.
    ///
    /// ```no_run
    /// # async fn run(client: authkit_axum::Client) -> Result<(), authkit_axum::Error> {
    /// use authkit_axum::Error;
    /// use authkit_axum::error::DeviceCodeErrorKind;
    ///
    /// let device = client.user_management().authorize_device().await?;
    /// println!("Open {} to sign in", device.verification_link());
    /// match client.user_management().poll_device_authorization(&device).await {
    ///     Ok(auth) => println!("Signed in as {}", auth.user.email),
    ///     Err(err) if err.device_code_error() == Some(DeviceCodeErrorKind::AccessDenied) => {
    ///         println!("Sign-in denied")
    ///     }
    ///     Err(err) => return Err(err),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn poll_device_authorization(
        &self,
        device: &DeviceAuthorization,
    ) -> PollDeviceAuthorization {
        PollDeviceAuthorization {
            user_management: self.clone(),
            params: AuthenticateWithDeviceCode::new(device.device_code.clone()),
            interval: device.poll_interval(),
            lifetime: device.lifetime(),
            received_at: device.received_at,
            sleep: Arc::new(|wait| Box::pin(tokio::time::sleep(wait))),
        }
    }
}

/// The polling of a device sign-in, from
/// [`poll_device_authorization`](UserManagement::poll_device_authorization): `.await` it.
///
/// Tests need not wait: [`sleep_with`](Self::sleep_with) replaces the waits, e.g. with
/// moving the emulator's clock forward.
///
/// ```
/// # async fn run(client: authkit_axum::Client, device: authkit_axum::user_management::DeviceAuthorization) -> Result<(), authkit_axum::Error> {
/// use std::sync::{Arc, Mutex};
///
/// let waits = Arc::new(Mutex::new(Vec::new()));
/// let record = waits.clone();
/// let auth = client
///     .user_management()
///     .poll_device_authorization(&device)
///     .user_agent("my-cli/1.0")
///     .sleep_with(move |wait| {
///         record.lock().unwrap().push(wait);
///         async {}
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "the polling runs when awaited"]
pub struct PollDeviceAuthorization {
    user_management: UserManagement,
    params: AuthenticateWithDeviceCode,
    interval: Duration,
    lifetime: Duration,
    received_at: Option<Instant>,
    sleep: SleepFn,
}

impl std::fmt::Debug for PollDeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollDeviceAuthorization")
            .field("params", &self.params)
            .field("interval", &self.interval)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl PollDeviceAuthorization {
    /// Waits between polls with `sleep` instead of `tokio::time::sleep`: for tests, a function
    /// that moves a clock forward (the emulator's) and returns at once.
    pub fn sleep_with<F, Fut>(mut self, sleep: F) -> Self
    where
        F: Fn(Duration) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.sleep = Arc::new(move |wait| Box::pin(sleep(wait)));
        self
    }

    /// Sends the end user's IP address with each poll.
    pub fn ip_address(mut self, ip_address: impl Into<String>) -> Self {
        self.params = self.params.ip_address(ip_address);
        self
    }

    /// Sends the end user's `User-Agent` (e.g. the CLI's name and version) with each poll.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.params = self.params.user_agent(user_agent);
        self
    }

    /// Sends an identifier of the device with each poll.
    pub fn device_id(mut self, device_id: impl Into<String>) -> Self {
        self.params = self.params.device_id(device_id);
        self
    }

    async fn run(self) -> Result<AuthenticateResponse> {
        // The codes' lifetime counts from their arrival (or, for a deserialized
        // authorization, from now).
        let started = self.received_at.unwrap_or_else(Instant::now);
        // Time as the waits tell it, so that a `sleep_with` that returns at once still ends
        // at the expiry.
        let mut waited = Duration::ZERO;
        // At least a second (an interval of 0 would poll back to back), and never past the
        // codes' lifetime (a huge one would overflow the arithmetic below).
        let mut interval = self
            .interval
            .clamp(MIN_INTERVAL, self.lifetime.max(MIN_INTERVAL));
        loop {
            let poll = self
                .user_management
                .authenticate_with_device_code(self.params.clone())
                .await;
            match poll {
                Ok(auth) => return Ok(auth),
                Err(err) => match err.device_code_error() {
                    Some(DeviceCodeErrorKind::AuthorizationPending) => {}
                    Some(DeviceCodeErrorKind::SlowDown) => {
                        interval = interval.saturating_add(SLOW_DOWN_STEP);
                    }
                    _ => return Err(err),
                },
            }
            let elapsed = started.elapsed().max(waited);
            if elapsed.saturating_add(interval) > self.lifetime {
                return Err(Error::DeviceCode(Box::new(DeviceCodeError {
                    kind: DeviceCodeErrorKind::Expired,
                    message: format!(
                        "the device code expired ({} s) before the user approved the sign-in",
                        self.lifetime.as_secs()
                    ),
                    status: None,
                    request_id: None,
                })));
            }
            tracing::debug!(
                wait_ms = interval.as_millis() as u64,
                "device sign-in pending"
            );
            (self.sleep)(interval).await;
            waited = waited.saturating_add(interval);
        }
    }
}

impl IntoFuture for PollDeviceAuthorization {
    type Output = Result<AuthenticateResponse>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
