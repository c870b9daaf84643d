//! Sends one logical call: builds the request, retries transient failures with jittered
//! exponential backoff (honouring `Retry-After`), and turns error statuses into [`Error`]s.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT,
};
use http::{Method, Request, Uri};
use http_body_util::Full;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::error::{Error, TransportError, excerpt, from_response};
use super::pool::{Failure, Response};
use super::{Client, Result};

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One request to WorkOS, described before it is sent.
#[derive(Debug)]
pub(crate) struct Endpoint {
    method: Method,
    /// The route template, e.g. `/user_management/users/{id}`: what logs and errors show.
    route: &'static str,
    /// The concrete, percent-encoded path, without the leading slash.
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Result<Vec<u8>, String>>,
    auth: bool,
    /// Whether transient failures are retried (the client's setting) or answered at once.
    retries: bool,
    invalid: Option<String>,
}

/// Builds the concrete path of a route template from its parameters.
pub(crate) struct PathBuf;

impl PathBuf {
    /// Fills each `{name}` of `route` with the next parameter, percent-encoded. An empty
    /// parameter is an error, since it would address a different endpoint.
    fn fill(route: &'static str, params: &[&str]) -> (String, Option<String>) {
        let mut out = String::with_capacity(route.len() + 32);
        let mut params = params.iter();
        let mut invalid = None;
        let mut rest = route.trim_start_matches('/');
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .map_or(rest.len(), |e| start + e + 1);
            let name = &rest[start + 1..end.saturating_sub(1).max(start + 1)];
            match params.next() {
                // `.` and `..` would be resolved as "this" and "the parent" segment, so an id
                // of `..` would address another endpoint (e.g. a list instead of one item).
                Some(&value) if value == "." || value == ".." => {
                    invalid.get_or_insert_with(|| {
                        format!("{name} is {value:?}: {route} needs a {name}, not a path segment")
                    });
                }
                Some(value) if !value.trim().is_empty() => {
                    out.extend(utf8_percent_encode(value, SEGMENT));
                }
                _ => {
                    invalid.get_or_insert_with(|| {
                        format!("{name} is empty: {route} needs a non-empty {name}")
                    });
                }
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        (out, invalid)
    }
}

impl Endpoint {
    pub(crate) fn new(method: Method, route: &'static str, params: &[&str]) -> Self {
        let (path, invalid) = PathBuf::fill(route, params);
        Endpoint {
            method,
            route,
            path,
            query: Vec::new(),
            body: None,
            auth: true,
            retries: true,
            invalid,
        }
    }

    pub(crate) fn get(route: &'static str, params: &[&str]) -> Self {
        Self::new(Method::GET, route, params)
    }

    pub(crate) fn post(route: &'static str, params: &[&str]) -> Self {
        Self::new(Method::POST, route, params)
    }

    pub(crate) fn put(route: &'static str, params: &[&str]) -> Self {
        Self::new(Method::PUT, route, params)
    }

    pub(crate) fn delete(route: &'static str, params: &[&str]) -> Self {
        Self::new(Method::DELETE, route, params)
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }

    /// Adds a query parameter when it has a value.
    pub(crate) fn query_opt(self, name: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }

    /// Sets a JSON body.
    pub(crate) fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = Some(serde_json::to_vec(body).map_err(|e| e.to_string()));
        self
    }

    /// Sends no `Authorization` header (public endpoints such as the JWKS).
    pub(crate) fn public(mut self) -> Self {
        self.auth = false;
        self
    }

    /// Makes one attempt only, whatever the client's retry setting: for callers that must
    /// answer fast and handle a failure themselves.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn once(mut self) -> Self {
        self.retries = false;
        self
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.route)
    }
}

impl Client {
    /// Sends the call and decodes a JSON body.
    pub(crate) async fn execute<T: DeserializeOwned>(&self, endpoint: Endpoint) -> Result<T> {
        let name = endpoint.name();
        let (status, body) = self.execute_raw(endpoint).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode {
            endpoint: name,
            status,
            message: e.to_string(),
            excerpt: excerpt(&body),
        })
    }

    /// Sends the call and ignores the (usually empty) body.
    pub(crate) async fn execute_empty(&self, endpoint: Endpoint) -> Result<()> {
        self.execute_raw(endpoint).await.map(|_| ())
    }

    async fn execute_raw(&self, mut endpoint: Endpoint) -> Result<(u16, Vec<u8>)> {
        let name = endpoint.name();
        if let Some(reason) = &endpoint.invalid {
            return Err(Error::InvalidInput(reason.clone()));
        }
        let body = match endpoint.body.take().transpose() {
            Ok(body) => body,
            Err(reason) => return Err(Error::InvalidInput(format!("{name}: {reason}"))),
        };
        let span = tracing::debug_span!("workos.request", endpoint = %name);
        self.send_with_retries(&endpoint, body, &name)
            .instrument(span)
            .await
    }

    async fn send_with_retries(
        &self,
        endpoint: &Endpoint,
        body: Option<Vec<u8>>,
        name: &str,
    ) -> Result<(u16, Vec<u8>)> {
        let Endpoint {
            method,
            path,
            query,
            auth,
            retries,
            ..
        } = endpoint;
        let (auth, retries) = (*auth, *retries);
        let inner = &self.inner;
        let mut target = format!("{}{path}", inner.base_url);
        if !query.is_empty() {
            target.push('?');
            target.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish(),
            );
        }
        let uri: Uri = target
            .parse()
            .map_err(|e| Error::InvalidInput(format!("{name}: bad path ({e})")))?;
        let body = body.map(Bytes::from);
        let idempotency_key = (*method == Method::POST && inner.idempotency_keys)
            .then(new_idempotency_key)
            .and_then(|key| HeaderValue::try_from(key).ok());
        // A POST without an idempotency key may only be replayed when it never reached WorkOS.
        let replay_safe = *method != Method::POST || idempotency_key.is_some();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut request = Request::builder()
                .method(method.clone())
                .uri(uri.clone())
                .header(USER_AGENT, inner.user_agent.clone())
                .header(ACCEPT, HeaderValue::from_static("application/json"));
            if let Some(value) = inner.authorization.as_ref().filter(|_| auth) {
                request = request.header(AUTHORIZATION, value.clone());
            }
            if let Some(key) = &idempotency_key {
                request = request.header("Idempotency-Key", key.clone());
            }
            let request = match &body {
                Some(body) => request
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(Full::new(body.clone())),
                None => request.body(Full::new(Bytes::new())),
            }
            .map_err(|e| Error::InvalidInput(format!("{name}: {e}")))?;
            let started = Instant::now();
            let retries_left = retries && attempt <= inner.max_retries;
            match inner.http.send(request).await {
                Ok(Response {
                    status,
                    headers,
                    body: bytes,
                }) => {
                    let success = status.is_success();
                    let status = status.as_u16();
                    let request_id = header_str(&headers, "x-request-id");
                    let retry_after = (!success).then(|| retry_after(&headers)).flatten();
                    if success {
                        tracing::debug!(
                            status,
                            attempt,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            request_id = request_id.as_deref(),
                            "WorkOS call succeeded"
                        );
                        return Ok((status, Vec::from(bytes)));
                    }
                    let transient = matches!(status, 408 | 429) || status >= 500;
                    if transient && retries_left && replay_safe {
                        let delay = self.backoff(attempt, retry_after);
                        tracing::warn!(
                            status,
                            attempt,
                            delay_ms = delay.as_millis() as u64,
                            request_id = request_id.as_deref(),
                            "WorkOS call failed; retrying"
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    let error = from_response(name, status, request_id, retry_after, &bytes)
                        .with_attempts(attempt);
                    if status >= 500 {
                        tracing::warn!(status, attempt, error = %error, "WorkOS call failed");
                    } else {
                        tracing::debug!(
                            status,
                            attempt,
                            code = error.code(),
                            "WorkOS answered with an error"
                        );
                    }
                    return Err(error);
                }
                Err(failure) => {
                    // A refused connection never reached WorkOS, so even a bare POST is safe to repeat.
                    let never_sent =
                        matches!(&failure, Failure::Transport(err) if err.is_connect());
                    if retries_left && (replay_safe || never_sent) {
                        let delay = self.backoff(attempt, None);
                        match &failure {
                            Failure::Timeout => {
                                tracing::warn!(attempt, "WorkOS call timed out; retrying")
                            }
                            Failure::Transport(err) => tracing::warn!(
                                attempt,
                                error = %err,
                                "WorkOS call could not complete; retrying"
                            ),
                        }
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(failed(name, attempt, failure));
                }
            }
        }
    }

    /// The wait before the next attempt: `Retry-After` when WorkOS sent one, else
    /// `base * 2^(attempt-1)` with jitter in [0.5, 1.5); capped at the configured maximum.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let max = self.inner.max_retry_delay;
        if let Some(wait) = retry_after {
            return wait.min(max);
        }
        let exp = self
            .inner
            .retry_base_delay
            .saturating_mul(1u32 << (attempt - 1).min(16));
        let jitter: f64 = rand::thread_rng().gen_range(0.5..1.5);
        exp.mul_f64(jitter).min(max)
    }
}

/// The error for a request that got no (complete) response: a timeout, or a transport failure.
fn failed(name: &str, attempts: u32, failure: Failure) -> Error {
    match failure {
        Failure::Timeout => Error::Timeout {
            endpoint: name.to_owned(),
            attempts,
        },
        Failure::Transport(source) => transport_error(name, attempts, source),
    }
}

fn transport_error(name: &str, attempts: u32, source: TransportError) -> Error {
    Error::Transport {
        endpoint: name.to_owned(),
        attempts,
        source,
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Parses `Retry-After` as delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(3600.0)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A random UUID-v4-shaped key.
fn new_idempotency_key() -> String {
    let mut bytes: [u8; 16] = rand::thread_rng().r#gen();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_are_encoded_and_empty_ones_rejected() {
        let (path, invalid) = PathBuf::fill("/user_management/users/{id}", &["a/b c"]);
        assert_eq!(path, "user_management/users/a%2Fb%20c");
        assert!(invalid.is_none());
        let (path, _) = PathBuf::fill("/user_management/users/{id}", &["a.b"]);
        assert_eq!(path, "user_management/users/a.b");
        let (_, invalid) = PathBuf::fill("/user_management/users/{id}", &[""]);
        assert_eq!(
            invalid.as_deref(),
            Some("id is empty: /user_management/users/{id} needs a non-empty id")
        );
        for dots in [".", ".."] {
            let (_, invalid) = PathBuf::fill("/user_management/users/{id}/sessions", &[dots]);
            assert!(invalid.is_some_and(|m| m.contains("not a path segment")));
        }
        // Dots inside an id are plain characters.
        let (path, invalid) = PathBuf::fill("/user_management/users/{id}", &["a..b"]);
        assert_eq!(
            (path.as_str(), invalid),
            ("user_management/users/a..b", None)
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        headers.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let parsed = retry_after(&headers).unwrap();
        assert!(parsed > Duration::from_secs(25) && parsed <= Duration::from_secs(30));
    }

    #[test]
    fn idempotency_keys_are_uuid_shaped_and_unique() {
        let a = new_idempotency_key();
        assert_eq!(a.len(), 36);
        assert_ne!(a, new_idempotency_key());
    }
}
