//! The HTTP connection pool under the client: hyper's pooled HTTP/1.1 client over TCP, with
//! HTTPS from rustls ([`super::tls`]), CONNECT tunnels through an HTTP proxy for HTTPS
//! destinations, and a time limit on each request (response body included).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tower_service::Service;

use super::error::{TransportError, TransportKind};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which proxy HTTPS requests go through.
#[derive(Debug, Clone)]
pub(crate) enum Proxy {
    /// `HTTPS_PROXY` / `ALL_PROXY`, minus the hosts in `NO_PROXY` (the default).
    FromEnv,
    /// Always this `http://` proxy.
    Url(String),
    /// None, whatever the environment says.
    Off,
}

/// The settings of [`HttpClient::new`].
pub(crate) struct Settings {
    pub(crate) tls: rustls::ClientConfig,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) proxy: Proxy,
}

/// A response read to its end.
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Why an attempt got no complete response.
pub(crate) enum Failure {
    /// The time limit passed first.
    Timeout,
    /// The connection or the exchange failed.
    Transport(TransportError),
}

/// A pooled HTTP client; cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpClient {
    pool: PooledClient<HttpsConnector<Connector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    pub(crate) fn new(settings: Settings) -> Result<HttpClient, String> {
        let proxies = match settings.proxy {
            Proxy::FromEnv => Matcher::from_env(),
            Proxy::Url(url) => {
                let uri: Uri = url
                    .parse()
                    .map_err(|e| format!("{url:?} is not a proxy URL ({e})"))?;
                if uri.scheme_str() != Some("http") || uri.host().is_none() {
                    return Err(format!(
                        "{url:?}: the proxy must be an http:// URL such as http://proxy.internal:3128"
                    ));
                }
                Matcher::builder().https(url).build()
            }
            Proxy::Off => Matcher::builder().build(),
        };
        let mut tcp = HttpConnector::new();
        // The scheme is checked by the TLS layer above.
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(settings.connect_timeout));
        tcp.set_nodelay(true);
        let connector = Connector {
            tcp,
            proxies: Arc::new(proxies),
        };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(settings.tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let pool = PooledClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(https);
        Ok(HttpClient {
            pool,
            timeout: settings.timeout,
        })
    }

    /// Sends one request and reads the whole response, within the time limit.
    pub(crate) async fn send(&self, request: Request<Full<Bytes>>) -> Result<Response, Failure> {
        let exchange = async {
            let response = self.pool.request(request).await.map_err(|err| {
                let kind = if err.is_connect() {
                    TransportKind::Connect
                } else {
                    TransportKind::Request
                };
                TransportError::new(kind, err.into())
            })?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|err| TransportError::new(TransportKind::Body, err.into()))?
                .to_bytes();
            Ok::<_, TransportError>(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_elapsed) => Err(Failure::Timeout),
            Ok(Err(err)) if err.timed_out() => Err(Failure::Timeout),
            Ok(Err(err)) => Err(Failure::Transport(err)),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

/// Opens the TCP connection under TLS: straight to the destination, or, for an HTTPS
/// destination with a proxy, a CONNECT tunnel through it.
#[derive(Clone)]
pub(crate) struct Connector {
    tcp: HttpConnector,
    proxies: Arc<Matcher>,
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<TokioIo<tokio::net::TcpStream>, BoxError>> + Send>>;

impl Service<Uri> for Connector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let proxy = match dst.scheme_str() {
            Some("https") => self.proxies.intercept(&dst),
            // Plain HTTP (a local emulator) is always reached directly.
            _ => None,
        };
        match proxy {
            None => {
                let connecting = self.tcp.call(dst);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
            Some(proxy) if proxy.uri().scheme_str() != Some("http") => {
                let scheme = proxy.uri().scheme_str().unwrap_or("").to_owned();
                Box::pin(async move {
                    Err(format!(
                        "only http:// proxies are supported, the proxy for this host is {scheme}://"
                    )
                    .into())
                })
            }
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), self.tcp.clone());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move {
                    std::future::poll_fn(|cx| tunnel.poll_ready(cx)).await?;
                    tunnel.call(dst).await.map_err(Into::into)
                })
            }
        }
    }
}
