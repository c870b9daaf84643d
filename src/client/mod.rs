//! The WorkOS HTTP client: configuration, transport (retries, idempotency), errors, pagination.

mod error;
mod pagination;
mod pool;
mod tls;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

pub use error::{
    ApiError, ConfigError, DeviceCodeError, DeviceCodeErrorKind, EmailVerificationRequired, Error,
    FieldError, MfaChallenge, MfaEnrollment, OrganizationAuthenticationMethodsRequired,
    OrganizationSelectionRequired, SsoRequired, TransportError,
};
pub(crate) use pagination::paginate;
pub use pagination::{ListMetadata, Order, Page, PageParams};
pub(crate) use transport::Endpoint;

use crate::SecretString;
use crate::organizations::Organizations;
use crate::user_management::UserManagement;

/// The default WorkOS API base URL.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.workos.com";

/// The result type of every client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A WorkOS API client.
///
/// Cheap to clone (an `Arc` inside): build one at startup and share it.
///
/// ```
/// use authkit_axum::Client;
///
/// let client = Client::builder()
///     .api_key("sk_test_123")
///     .client_id("client_123")
///     .build()
///     .expect("valid configuration");
/// assert_eq!(client.base_url(), "https://api.workos.com/");
/// assert_eq!(client.client_id(), "client_123");
/// // The key never shows in debug output.
/// assert!(!format!("{client:?}").contains("sk_test_123"));
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: pool::HttpClient,
    /// Ends with `/`: API paths are appended to it.
    pub(crate) base_url: String,
    pub(crate) api_key: Option<SecretString>,
    pub(crate) client_id: String,
    pub(crate) max_retries: u32,
    pub(crate) retry_base_delay: Duration,
    pub(crate) max_retry_delay: Duration,
    pub(crate) idempotency_keys: bool,
    /// `User-Agent`, checked once at build time.
    pub(crate) user_agent: HeaderValue,
    /// `Bearer <api key>`, built once and marked sensitive so that `Debug` of a request or a
    /// header map never shows it.
    pub(crate) authorization: Option<HeaderValue>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("client_id", &self.inner.client_id)
            .field("api_key", &self.inner.api_key)
            .field("max_retries", &self.inner.max_retries)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Builds a client from the environment: `WORKOS_API_KEY`, `WORKOS_CLIENT_ID` and the
    /// optional `WORKOS_BASE_URL`.
    ///
    /// ```
    /// // With no variables set this is a clear error, never a panic.
    /// # unsafe { std::env::remove_var("WORKOS_API_KEY"); }
    /// let err = authkit_axum::Client::from_env().unwrap_err();
    /// assert!(err.to_string().contains("WORKOS_API_KEY"));
    /// ```
    pub fn from_env() -> Result<Client, ConfigError> {
        ClientBuilder::from_env()?.build()
    }

    /// The User Management API (AuthKit): users, authentication, memberships, invitations, ...
    pub fn user_management(&self) -> UserManagement {
        UserManagement::new(self.clone())
    }

    /// The Organizations API: organizations, their domains, roles and permissions.
    pub fn organizations(&self) -> Organizations {
        Organizations::new(self.clone())
    }

    /// The API base URL, ending with `/`, e.g. `https://api.workos.com/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The WorkOS client id (`client_...`).
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Whether the client has an API key (a confidential client). Without one it acts as a
    /// public client: authenticate calls send no `client_secret` and must use PKCE.
    pub fn has_api_key(&self) -> bool {
        self.inner.api_key.is_some()
    }

    pub(crate) fn api_key(&self) -> Option<&SecretString> {
        self.inner.api_key.as_ref()
    }
}

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use authkit_axum::Client;
///
/// let client = Client::builder()
///     .api_key("sk_test_123")
///     .client_id("client_123")
///     .base_url("http://127.0.0.1:4100")
///     .timeout(Duration::from_secs(10))
///     .max_retries(2)
///     .build()?;
/// # Ok::<(), authkit_axum::ConfigError>(())
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    client_id: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    max_retries: Option<u32>,
    retry_base_delay: Option<Duration>,
    max_retry_delay: Option<Duration>,
    user_agent: Option<String>,
    connect_timeout: Option<Duration>,
    proxy: Option<pool::Proxy>,
    tls: Option<rustls::ClientConfig>,
    idempotency_keys: Option<bool>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("client_id", &self.client_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder pre-filled from `WORKOS_API_KEY`, `WORKOS_CLIENT_ID` and `WORKOS_BASE_URL`
    /// (optional), so that other settings can still be changed.
    pub fn from_env() -> Result<ClientBuilder, ConfigError> {
        let var = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match std::env::var(name) {
                Ok(v) if v.trim().is_empty() => Ok(None),
                Ok(v) => Ok(Some(v.trim().to_owned())),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::Invalid {
                    name,
                    reason: "it is not valid UTF-8".into(),
                }),
            }
        };
        let api_key = var("WORKOS_API_KEY")?.ok_or(ConfigError::MissingEnv("WORKOS_API_KEY"))?;
        let client_id =
            var("WORKOS_CLIENT_ID")?.ok_or(ConfigError::MissingEnv("WORKOS_CLIENT_ID"))?;
        let mut builder = ClientBuilder::default()
            .api_key(api_key)
            .client_id(client_id);
        if let Some(base) = var("WORKOS_BASE_URL")? {
            // Checked here so that a bad value names the variable, not the builder setting.
            parse_base_url(&base, "WORKOS_BASE_URL")?;
            builder = builder.base_url(base);
        }
        Ok(builder)
    }

    /// The API key (`sk_...`), sent as the bearer token and as `client_secret`.
    pub fn api_key(mut self, api_key: impl Into<SecretString>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The client id (`client_...`). Required.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The API base URL. Default: `https://api.workos.com`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The time limit of each attempt, from sending the request to the end of the response
    /// body. Default: 60 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The time limit of opening a TCP connection. Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How many times a failed call is retried (408, 429, 5xx, network errors). Default: 3.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = Some(max_retries);
        self
    }

    /// The first retry's delay before jitter; each retry doubles it. Default: 500 ms.
    pub fn retry_base_delay(mut self, delay: Duration) -> Self {
        self.retry_base_delay = Some(delay);
        self
    }

    /// The longest wait between two attempts, `Retry-After` included. Default: 30 s.
    pub fn max_retry_delay(mut self, delay: Duration) -> Self {
        self.max_retry_delay = Some(delay);
        self
    }

    /// Whether POSTs carry an `Idempotency-Key` (one per logical call, reused across its
    /// retries). Default: true. Without keys, POSTs are retried only when the request never
    /// reached the server (connection refused), since a replay could act twice.
    pub fn idempotency_keys(mut self, enabled: bool) -> Self {
        self.idempotency_keys = Some(enabled);
        self
    }

    /// Replaces the `User-Agent` (default `authkit-axum/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Sends HTTPS requests through this HTTP proxy (a CONNECT tunnel), e.g.
    /// `http://proxy.internal:3128` or `http://user:password@proxy.internal:3128`.
    ///
    /// By default the proxy comes from `HTTPS_PROXY` (or `ALL_PROXY`), skipping the hosts
    /// listed in `NO_PROXY`. Only `http://` proxies are supported, and plain-HTTP base URLs (a
    /// local emulator) are always reached directly.
    ///
    /// ```
    /// let client = authkit_axum::Client::builder()
    ///     .client_id("client_123")
    ///     .proxy("http://proxy.internal:3128")
    ///     .build()?;
    /// # Ok::<(), authkit_axum::ConfigError>(())
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(pool::Proxy::Url(url.into()));
        self
    }

    /// Connects directly, whatever `HTTPS_PROXY` and `ALL_PROXY` say.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = Some(pool::Proxy::Off);
        self
    }

    /// Replaces the TLS settings: by default rustls on the `ring` provider, verifying
    /// certificates with the platform's verifier (the operating system's trust store). Give
    /// your own to trust a private certificate authority, say, or to present a client
    /// certificate. The ALPN protocols are set by the client (HTTP/1.1).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use authkit_axum::rustls;
    ///
    /// # fn ca_der() -> Vec<u8> { Vec::new() }
    /// let mut roots = rustls::RootCertStore::empty();
    /// # if false {
    /// roots.add(rustls::pki_types::CertificateDer::from(ca_der()))?;
    /// # }
    /// let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
    ///     rustls::crypto::ring::default_provider(),
    /// ))
    /// .with_safe_default_protocol_versions()?
    /// .with_root_certificates(roots)
    /// .with_no_client_auth();
    /// let client = authkit_axum::Client::builder()
    ///     .client_id("client_123")
    ///     .base_url("https://workos.internal.example")
    ///     .tls_config(tls)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, ConfigError> {
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or(ConfigError::Missing("client_id", "WORKOS_CLIENT_ID"))?;
        if client_id.contains(['/', '?', '#', ' ']) {
            return Err(ConfigError::Invalid {
                name: "client_id",
                reason: "a client id looks like client_01H...; it cannot contain '/', '?', '#' or spaces".into(),
            });
        }
        if let Some(key) = &self.api_key
            && (key.is_empty()
                || key
                    .expose_secret()
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(ConfigError::Invalid {
                name: "api_key",
                reason: "it is empty or contains spaces; an API key looks like sk_test_... \
                         (copy it from the API Keys page of the WorkOS dashboard)"
                    .into(),
            });
        }
        let raw_base = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let base_url = parse_base_url(&raw_base, "base_url")?;
        let user_agent = match self.user_agent {
            None => HeaderValue::from_static(concat!("authkit-axum/", env!("CARGO_PKG_VERSION"))),
            Some(ua) => HeaderValue::from_str(&ua).map_err(|_| ConfigError::Invalid {
                name: "user_agent",
                reason: format!(
                    "{ua:?} cannot be sent as an HTTP header: use printable ASCII, e.g. my-app/1.0"
                ),
            })?,
        };
        let authorization = match &self.api_key {
            None => None,
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                    .map_err(|_| ConfigError::Invalid {
                        name: "api_key",
                        reason: "it contains characters that cannot be sent in an HTTP header; \
                                 copy the key (sk_test_... or sk_live_...) again from the WorkOS dashboard"
                            .into(),
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let tls = match self.tls {
            Some(tls) => tls,
            None => tls::client_config().map_err(|reason| ConfigError::Invalid {
                name: "tls_config",
                reason,
            })?,
        };
        let http = pool::HttpClient::new(pool::Settings {
            tls,
            timeout: self.timeout.unwrap_or(Duration::from_secs(60)),
            connect_timeout: self.connect_timeout.unwrap_or(Duration::from_secs(10)),
            proxy: self.proxy.unwrap_or(pool::Proxy::FromEnv),
        })
        .map_err(|reason| ConfigError::Invalid {
            name: "proxy",
            reason,
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                api_key: self.api_key,
                client_id,
                max_retries: self.max_retries.unwrap_or(3),
                retry_base_delay: self.retry_base_delay.unwrap_or(Duration::from_millis(500)),
                max_retry_delay: self.max_retry_delay.unwrap_or(Duration::from_secs(30)),
                idempotency_keys: self.idempotency_keys.unwrap_or(true),
                user_agent,
                authorization,
            }),
        })
    }
}

/// Parses and normalizes an API base URL (scheme, lowercase host, non-default port and path,
/// ending with `/`; query and fragment dropped); `name` is the setting or variable it came
/// from.
fn parse_base_url(raw: &str, name: &'static str) -> Result<String, ConfigError> {
    let url = crate::http_url::HttpUrl::parse(raw).map_err(|reason| ConfigError::Invalid {
        name,
        reason: format!(
            "{raw:?} is not an absolute URL ({reason}); expected an http(s) URL such as https://api.workos.com"
        ),
    })?;
    Ok(url.as_base())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_built_once_and_the_key_is_marked_sensitive() {
        let client = Client::builder()
            .api_key("sk_test_123")
            .client_id("client_123")
            .build()
            .unwrap();
        let auth = client.inner.authorization.as_ref().unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth.as_bytes(), b"Bearer sk_test_123");
        assert!(!format!("{auth:?}").contains("sk_test_123"));
        assert_eq!(
            client.inner.user_agent.to_str().unwrap(),
            concat!("authkit-axum/", env!("CARGO_PKG_VERSION"))
        );
        let public = Client::builder().client_id("client_123").build().unwrap();
        assert!(public.inner.authorization.is_none());
    }

    #[test]
    fn base_url_errors_name_their_source() {
        let err = parse_base_url("api.workos.com", "WORKOS_BASE_URL").unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "WORKOS_BASE_URL",
                ..
            }
        ));
        assert_eq!(
            parse_base_url("https://x.test/a/b", "base_url").unwrap(),
            "https://x.test/a/b/"
        );
    }
}
