//! The one error type of the client, and the typed authentication step-ups.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::SecretString;
use crate::user_management::{AuthenticationFactorSummary, OrganizationSummary, User};

/// What can go wrong when calling WorkOS.
///
/// Authentication step-ups (the user must verify an email, pass MFA, pick an organization, use
/// SSO) are variants of their own carrying what the next call needs; inspect the others with
/// [`Error::status`], [`Error::code`], [`Error::is_invalid_grant`] and friends.
///
/// ```
/// # async fn run(client: authkit_axum::Client) {
/// use authkit_axum::Error;
///
/// match client.user_management().get_user("user_123").await {
///     Ok(user) => println!("found {}", user.email),
///     Err(err) if err.is_not_found() => println!("no such user"),
///     Err(Error::Timeout { .. }) => println!("WorkOS is slow; try again"),
///     Err(err) => eprintln!("lookup failed: {err} (request id {:?})", err.request_id()),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is missing configuration or was given a malformed value.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The user's email must be verified: call `authenticate_with_email_verification` with the
    /// emailed code and this `pending_authentication_token`.
    #[error("email verification required for {}: {}", .0.email, .0.message)]
    EmailVerificationRequired(Box<EmailVerificationRequired>),
    /// The user must enroll an MFA factor (`enroll_auth_factor`), then call
    /// `authenticate_with_totp` with the returned challenge.
    #[error("MFA enrollment required: {}", .0.message)]
    MfaEnrollment(Box<MfaEnrollment>),
    /// The user must pass an MFA challenge: challenge one of `authentication_factors`, then call
    /// `authenticate_with_totp`.
    #[error("MFA challenge required: {}", .0.message)]
    MfaChallenge(Box<MfaChallenge>),
    /// The user belongs to several organizations: call `authenticate_with_selected_organization`
    /// with one of `organizations`.
    #[error("organization selection required: {}", .0.message)]
    OrganizationSelectionRequired(Box<OrganizationSelectionRequired>),
    /// The user must sign in with SSO through one of `connection_ids`.
    #[error("SSO required for {}: {}", .0.email.as_deref().unwrap_or("this user"), .0.message)]
    SsoRequired(Box<SsoRequired>),
    /// The organization requires one of `auth_methods`.
    #[error("organization requires another authentication method: {}", .0.message)]
    OrganizationAuthenticationMethodsRequired(Box<OrganizationAuthenticationMethodsRequired>),
    /// A device sign-in gave no tokens (yet): the user has not approved it, the device polls
    /// too fast, the device code expired, or the user denied it. See
    /// [`poll_device_authorization`](crate::user_management::UserManagement::poll_device_authorization).
    #[error("device sign-in: {}", .0)]
    DeviceCode(Box<DeviceCodeError>),
    /// WorkOS answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A parameter was rejected before anything was sent (e.g. an empty id).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The request did not finish in time.
    #[error("request to WorkOS timed out ({endpoint}); it was tried {attempts} time(s)")]
    Timeout {
        /// The endpoint, e.g. `POST /user_management/authenticate`.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The request could not be sent or its response could not be read (DNS, connection refused,
    /// TLS, connection reset).
    #[error("could not reach WorkOS ({endpoint}) after {attempts} attempt(s): {source}")]
    Transport {
        /// The endpoint, e.g. `GET /user_management/users`.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
        /// What failed: [`TransportError::is_connect`] tells whether a connection was made.
        #[source]
        source: TransportError,
    },
    /// WorkOS answered with a body this client could not understand.
    #[error(
        "unexpected response from WorkOS ({endpoint}): HTTP {status}, {message}; body starts: {excerpt:?}"
    )]
    Decode {
        /// The endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// What did not parse.
        message: String,
        /// The first bytes of the body, with anything that looks like a token removed.
        excerpt: String,
    },
}

/// Why a request to WorkOS got no complete response: no connection (DNS, refused, TLS, proxy),
/// a connection lost during the exchange, or a response body cut short.
///
/// It holds neither the URL nor any header, so it is safe to log; its
/// [`source`](std::error::Error::source) chain has the details (for example rustls'
/// `InvalidCertificate`).
///
/// ```
/// # async fn run(client: authkit_axum::Client) {
/// use authkit_axum::Error;
///
/// if let Err(Error::Transport { source, .. }) = client.user_management().get_jwks().await {
///     if source.is_connect() {
///         eprintln!("WorkOS is unreachable from here: {source}");
///     }
/// }
/// # }
/// ```
pub struct TransportError {
    kind: TransportKind,
    source: Box<dyn std::error::Error + Send + Sync>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    Connect,
    Request,
    Body,
}

impl TransportError {
    pub(crate) fn new(
        kind: TransportKind,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> TransportError {
        TransportError { kind, source }
    }

    /// No connection was made (name resolution, connection refused, TLS handshake, proxy
    /// tunnel), so the request never reached WorkOS.
    pub fn is_connect(&self) -> bool {
        self.kind == TransportKind::Connect
    }

    /// The response's status and headers arrived, its body did not (connection reset, cut
    /// short).
    pub fn is_body(&self) -> bool {
        self.kind == TransportKind::Body
    }

    /// The TLS layer refused the connection (an untrusted or expired certificate, no common
    /// protocol version).
    pub fn is_tls(&self) -> bool {
        self.chain()
            .any(|err| err.downcast_ref::<rustls::Error>().is_some())
    }

    /// Whether a connection attempt ran out of time (the connect timeout).
    pub(crate) fn timed_out(&self) -> bool {
        self.chain().any(|err| {
            err.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        })
    }

    /// The causes, outermost first. An `io::Error` wrapping another error is followed into
    /// that error (its own `source` skips it).
    fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let first: &(dyn std::error::Error + 'static) = &*self.source;
        std::iter::successors(Some(first), |err| {
            match err
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => err.source(),
            }
        })
    }
}

impl std::fmt::Debug for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl std::fmt::Display for TransportError {
    /// What failed, then the innermost cause (e.g. `connection refused`); the whole chain is
    /// in [`source`](std::error::Error::source).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            TransportKind::Connect => "could not connect",
            TransportKind::Request => "the connection failed during the request",
            TransportKind::Body => "the response was cut short",
        })?;
        if let Some(cause) = self.chain().last() {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// A configuration problem found while building a [`Client`](crate::Client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is not set.
    #[error(
        "environment variable {0} is not set: set it to the value from the WorkOS dashboard (API Keys page)"
    )]
    MissingEnv(&'static str),
    /// A required setting was not given to the builder.
    #[error("{0} is required: call ClientBuilder::{0}(..) or set {1}")]
    Missing(&'static str, &'static str),
    /// A setting has a malformed value.
    #[error("{name} is malformed: {reason}")]
    Invalid {
        /// The setting or environment variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// An error status from WorkOS that is not an authentication step-up.
///
/// WorkOS uses several body shapes (`{message}`, `{code, message}`, `{code, message, errors}`,
/// `{error, error_description}`); this keeps all of them.
#[derive(Debug, Clone, thiserror::Error)]
#[error("WorkOS API error: HTTP {status}{}: {message}{}{}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default(), if *attempts > 1 { format!("; gave up after {attempts} attempts") } else { String::new() })]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The machine-readable code: the body's `code`, or its OAuth-style `error`.
    pub code: Option<String>,
    /// The human-readable message: the body's `message` or `error_description`.
    pub message: String,
    /// The `X-Request-ID` response header, to quote to WorkOS support.
    pub request_id: Option<String>,
    /// Field-level errors (`errors: [{code, message}]`), e.g. for `password_strength_error`.
    pub errors: Vec<FieldError>,
    /// How long WorkOS asked to wait (`Retry-After`), on 429.
    pub retry_after: Option<Duration>,
    /// The endpoint called.
    pub endpoint: String,
    /// How many attempts were made: more than one when transient failures (408, 429, 5xx)
    /// were retried until the retries ran out.
    pub attempts: u32,
}

/// One entry of an API error's `errors` list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FieldError {
    /// The error code, e.g. `password_too_short`.
    #[serde(default)]
    pub code: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
    /// The field, when WorkOS names one.
    #[serde(default, alias = "property")]
    pub field: Option<String>,
}

/// Why a device sign-in gave no tokens: the OAuth errors of the `device_code` grant
/// (RFC 8628), in [`DeviceCodeError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceCodeErrorKind {
    /// `authorization_pending`: the user has not answered yet; poll again after the interval.
    AuthorizationPending,
    /// `slow_down`: polled too fast; poll again, 5 seconds slower from now on.
    SlowDown,
    /// `expired_token`: the device code expired before the user approved it; start again.
    Expired,
    /// `access_denied`: the user denied the sign-in.
    AccessDenied,
}

impl DeviceCodeErrorKind {
    /// The wire value (`authorization_pending`, `slow_down`, `expired_token`, `access_denied`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceCodeErrorKind::AuthorizationPending => "authorization_pending",
            DeviceCodeErrorKind::SlowDown => "slow_down",
            DeviceCodeErrorKind::Expired => "expired_token",
            DeviceCodeErrorKind::AccessDenied => "access_denied",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "authorization_pending" => DeviceCodeErrorKind::AuthorizationPending,
            "slow_down" => DeviceCodeErrorKind::SlowDown,
            "expired_token" => DeviceCodeErrorKind::Expired,
            "access_denied" => DeviceCodeErrorKind::AccessDenied,
            _ => return None,
        })
    }
}

impl std::fmt::Display for DeviceCodeErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Payload of [`Error::DeviceCode`].
///
/// ```
/// use authkit_axum::Error;
/// use authkit_axum::error::DeviceCodeErrorKind;
///
/// fn explain(err: &Error) -> &'static str {
///     match err.device_code_error() {
///         Some(DeviceCodeErrorKind::AccessDenied) => "you denied the sign-in",
///         Some(DeviceCodeErrorKind::Expired) => "the code expired: run the command again",
///         _ => "sign-in failed",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
#[non_exhaustive]
pub struct DeviceCodeError {
    /// Which of the device-flow errors.
    pub kind: DeviceCodeErrorKind,
    /// WorkOS's `error_description` (or, when the poll gave up on its own at the code's
    /// expiry, this client's).
    pub message: String,
    /// The HTTP status WorkOS used; `None` when the poll stopped at the expiry without asking.
    pub status: Option<u16>,
    /// The `X-Request-ID` response header.
    pub request_id: Option<String>,
}

/// Context common to every step-up error.
macro_rules! step_up {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub struct $name {
            /// The token the next authenticate call needs.
            pub pending_authentication_token: SecretString,
            $($(#[$fmeta])* pub $field: $ty,)*
            /// WorkOS's message.
            pub message: String,
            /// The HTTP status WorkOS used.
            pub status: u16,
            /// The `X-Request-ID` response header.
            pub request_id: Option<String>,
        }
    };
}

step_up!(
    /// Payload of [`Error::EmailVerificationRequired`].
    EmailVerificationRequired {
        /// The email address to verify.
        pub email: String,
        /// The email verification's id (see `get_email_verification`).
        pub email_verification_id: Option<String>,
    }
);
step_up!(
    /// Payload of [`Error::MfaEnrollment`].
    MfaEnrollment {
        /// The user who must enroll a factor.
        pub user: Box<User>,
    }
);
step_up!(
    /// Payload of [`Error::MfaChallenge`].
    MfaChallenge {
        /// The user being challenged.
        pub user: Box<User>,
        /// The user's factors; challenge one of them.
        pub authentication_factors: Vec<AuthenticationFactorSummary>,
    }
);
step_up!(
    /// Payload of [`Error::OrganizationSelectionRequired`].
    OrganizationSelectionRequired {
        /// The user choosing.
        pub user: Box<User>,
        /// The organizations to choose from.
        pub organizations: Vec<OrganizationSummary>,
    }
);

/// Payload of [`Error::SsoRequired`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SsoRequired {
    /// The user's email.
    pub email: Option<String>,
    /// The SSO connections the user may sign in with.
    pub connection_ids: Vec<String>,
    /// A pending token, when WorkOS gives one.
    pub pending_authentication_token: Option<SecretString>,
    /// WorkOS's message.
    pub message: String,
    /// The HTTP status WorkOS used.
    pub status: u16,
    /// The `X-Request-ID` response header.
    pub request_id: Option<String>,
}

/// Payload of [`Error::OrganizationAuthenticationMethodsRequired`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OrganizationAuthenticationMethodsRequired {
    /// The user's email.
    pub email: Option<String>,
    /// SSO connections that would satisfy the organization.
    pub sso_connection_ids: Vec<String>,
    /// Which authentication methods the organization allows.
    pub auth_methods: Map<String, Value>,
    /// A pending token, when WorkOS gives one.
    pub pending_authentication_token: Option<SecretString>,
    /// WorkOS's message.
    pub message: String,
    /// The HTTP status WorkOS used.
    pub status: u16,
    /// The `X-Request-ID` response header.
    pub request_id: Option<String>,
}

impl Error {
    /// The HTTP status WorkOS answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::EmailVerificationRequired(e) => Some(e.status),
            Error::MfaEnrollment(e) => Some(e.status),
            Error::MfaChallenge(e) => Some(e.status),
            Error::OrganizationSelectionRequired(e) => Some(e.status),
            Error::SsoRequired(e) => Some(e.status),
            Error::OrganizationAuthenticationMethodsRequired(e) => Some(e.status),
            Error::DeviceCode(e) => e.status,
            Error::Decode { status, .. } => Some(*status),
            Error::Config(_)
            | Error::InvalidInput(_)
            | Error::Timeout { .. }
            | Error::Transport { .. } => None,
        }
    }

    /// The machine-readable error code (`invalid_grant`, `user_creation_error`, `mfa_challenge`, ...).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.code.as_deref(),
            Error::EmailVerificationRequired(_) => Some("email_verification_required"),
            Error::MfaEnrollment(_) => Some("mfa_enrollment"),
            Error::MfaChallenge(_) => Some("mfa_challenge"),
            Error::OrganizationSelectionRequired(_) => Some("organization_selection_required"),
            Error::SsoRequired(_) => Some("sso_required"),
            Error::OrganizationAuthenticationMethodsRequired(_) => {
                Some("organization_authentication_methods_required")
            }
            Error::DeviceCode(e) => Some(e.kind.as_str()),
            _ => None,
        }
    }

    /// The `X-Request-ID` of the failed response, to quote to WorkOS support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::EmailVerificationRequired(e) => e.request_id.as_deref(),
            Error::MfaEnrollment(e) => e.request_id.as_deref(),
            Error::MfaChallenge(e) => e.request_id.as_deref(),
            Error::OrganizationSelectionRequired(e) => e.request_id.as_deref(),
            Error::SsoRequired(e) => e.request_id.as_deref(),
            Error::OrganizationAuthenticationMethodsRequired(e) => e.request_id.as_deref(),
            Error::DeviceCode(e) => e.request_id.as_deref(),
            _ => None,
        }
    }

    /// Which device-flow error this is (`authorization_pending`, `slow_down`,
    /// `expired_token`, `access_denied`), if it is one.
    pub fn device_code_error(&self) -> Option<DeviceCodeErrorKind> {
        match self {
            Error::DeviceCode(e) => Some(e.kind),
            _ => None,
        }
    }

    /// The `pending_authentication_token` of a step-up, if this is one.
    pub fn pending_authentication_token(&self) -> Option<&SecretString> {
        match self {
            Error::EmailVerificationRequired(e) => Some(&e.pending_authentication_token),
            Error::MfaEnrollment(e) => Some(&e.pending_authentication_token),
            Error::MfaChallenge(e) => Some(&e.pending_authentication_token),
            Error::OrganizationSelectionRequired(e) => Some(&e.pending_authentication_token),
            Error::SsoRequired(e) => e.pending_authentication_token.as_ref(),
            Error::OrganizationAuthenticationMethodsRequired(e) => {
                e.pending_authentication_token.as_ref()
            }
            _ => None,
        }
    }

    /// Whether this is an authentication step-up (the sign-in can go on with another grant).
    pub fn is_step_up(&self) -> bool {
        matches!(
            self,
            Error::EmailVerificationRequired(_)
                | Error::MfaEnrollment(_)
                | Error::MfaChallenge(_)
                | Error::OrganizationSelectionRequired(_)
                | Error::SsoRequired(_)
                | Error::OrganizationAuthenticationMethodsRequired(_)
        )
    }

    /// Whether a code, refresh token or pending token was rejected (`invalid_grant`): used,
    /// expired, revoked, or never issued. For a refresh this means the session is over.
    pub fn is_invalid_grant(&self) -> bool {
        self.code() == Some("invalid_grant")
    }

    /// Whether the email and password did not match (`invalid_credentials`).
    pub fn is_invalid_credentials(&self) -> bool {
        self.code() == Some("invalid_credentials")
    }

    /// Whether WorkOS answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether WorkOS rate-limited the call (429).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// How long WorkOS asked to wait before trying again (`Retry-After`), if it said.
    ///
    /// ```
    /// # fn f(err: authkit_axum::Error) {
    /// if let Some(wait) = err.retry_after() {
    ///     println!("try again in {} s", wait.as_secs());
    /// }
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.as_api_error().and_then(|e| e.retry_after)
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// Whether this is a transient failure (timeout, network, 408/429/5xx) worth trying again later.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Transport { .. } => true,
            _ => self
                .status()
                .is_some_and(|s| s == 408 || s == 429 || s >= 500),
        }
    }

    /// Records how many attempts the call took (API errors only).
    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        if let Error::Api(e) = &mut self {
            e.attempts = attempts;
        }
        self
    }

    /// The API error, when WorkOS answered with an error that is not a step-up.
    pub fn as_api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// The raw error body WorkOS sends, in any of its shapes.
#[derive(Debug, Default, Deserialize)]
struct RawErrorBody {
    #[serde(default)]
    code: Option<String>,
    /// A string, or (as `POST /widgets/token` answers a bad body) a list of strings.
    #[serde(default, deserialize_with = "string_or_list")]
    message: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    pending_authentication_token: Option<SecretString>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verification_id: Option<String>,
    #[serde(default)]
    user: Option<Box<User>>,
    #[serde(default)]
    authentication_factors: Option<Vec<AuthenticationFactorSummary>>,
    #[serde(default)]
    organizations: Option<Vec<OrganizationSummary>>,
    #[serde(default)]
    connection_ids: Option<Vec<String>>,
    #[serde(default)]
    sso_connection_ids: Option<Vec<String>>,
    #[serde(default)]
    auth_methods: Option<Map<String, Value>>,
}

/// A message that is a string or a list of strings (joined with `; `).
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    })
}

/// Builds the error for a non-2xx response.
pub(crate) fn from_response(
    endpoint: &str,
    status: u16,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Error {
    let raw: RawErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let code = raw.code.clone().or_else(|| raw.error.clone());
    let message = raw
        .message
        .clone()
        .or_else(|| raw.error_description.clone())
        .unwrap_or_else(|| {
            if body.is_empty() {
                format!("empty body with HTTP {status}")
            } else {
                format!("HTTP {status}; body starts: {:?}", excerpt(body))
            }
        });
    let token = raw.pending_authentication_token.clone();
    let step_up = match (code.as_deref(), token, raw.user.clone()) {
        (Some("email_verification_required"), Some(token), _) => Some(
            Error::EmailVerificationRequired(Box::new(EmailVerificationRequired {
                pending_authentication_token: token,
                email: raw.email.clone().unwrap_or_default(),
                email_verification_id: raw.email_verification_id.clone(),
                message: message.clone(),
                status,
                request_id: request_id.clone(),
            })),
        ),
        (Some("mfa_enrollment"), Some(token), Some(user)) => {
            Some(Error::MfaEnrollment(Box::new(MfaEnrollment {
                pending_authentication_token: token,
                user,
                message: message.clone(),
                status,
                request_id: request_id.clone(),
            })))
        }
        (Some("mfa_challenge"), Some(token), Some(user)) => {
            Some(Error::MfaChallenge(Box::new(MfaChallenge {
                pending_authentication_token: token,
                user,
                authentication_factors: raw.authentication_factors.clone().unwrap_or_default(),
                message: message.clone(),
                status,
                request_id: request_id.clone(),
            })))
        }
        (Some("organization_selection_required"), Some(token), Some(user)) => Some(
            Error::OrganizationSelectionRequired(Box::new(OrganizationSelectionRequired {
                pending_authentication_token: token,
                user,
                organizations: raw.organizations.clone().unwrap_or_default(),
                message: message.clone(),
                status,
                request_id: request_id.clone(),
            })),
        ),
        (Some("sso_required"), token, _) => Some(Error::SsoRequired(Box::new(SsoRequired {
            email: raw.email.clone(),
            connection_ids: raw.connection_ids.clone().unwrap_or_default(),
            pending_authentication_token: token,
            message: message.clone(),
            status,
            request_id: request_id.clone(),
        }))),
        (Some("organization_authentication_methods_required"), token, _) => {
            Some(Error::OrganizationAuthenticationMethodsRequired(Box::new(
                OrganizationAuthenticationMethodsRequired {
                    email: raw.email.clone(),
                    sso_connection_ids: raw.sso_connection_ids.clone().unwrap_or_default(),
                    auth_methods: raw.auth_methods.clone().unwrap_or_default(),
                    pending_authentication_token: token,
                    message: message.clone(),
                    status,
                    request_id: request_id.clone(),
                },
            )))
        }
        _ => None,
    };
    if let Some(err) = step_up {
        return err;
    }
    // The device flow's OAuth errors (`{error, error_description}` from the authenticate
    // endpoint; the device authorization endpoint's own `access_denied` is something else).
    if endpoint == "POST /user_management/authenticate"
        && let Some(kind) = raw
            .error
            .as_deref()
            .and_then(DeviceCodeErrorKind::from_code)
    {
        return Error::DeviceCode(Box::new(DeviceCodeError {
            kind,
            message,
            status: Some(status),
            request_id,
        }));
    }
    let errors = match raw.errors {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    };
    Error::Api(Box::new(ApiError {
        status,
        code,
        message,
        request_id,
        errors,
        retry_after,
        endpoint: endpoint.to_owned(),
        attempts: 1,
    }))
}

/// The first bytes of a body, for error messages, with token-like words masked.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.split_inclusive(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map(|word| {
            let core = word.trim_end_matches(|c: char| {
                !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
            });
            if core.len() >= 24 && !core.contains("__") {
                word.replacen(core, "[REDACTED]", 1)
            } else {
                word.to_owned()
            }
        })
        .collect()
}
