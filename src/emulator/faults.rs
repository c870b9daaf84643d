//! Fault injection and the request log: make a path fail or stall N times, and see what the
//! emulator was asked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::SharedState;

/// A fault to inject: which requests it hits and what they get instead.
///
/// ```
/// use std::time::Duration;
/// use authkit_axum::emulator::Fault;
///
/// // The next two calls to list users answer 503 with Retry-After: 1.
/// let fault = Fault::new("/user_management/users").status(503).retry_after(1).times(2);
/// // Every authenticate call waits 2 s first.
/// let slow = Fault::new("/user_management/authenticate").method("POST").delay(Duration::from_secs(2));
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    pub(crate) path: String,
    pub(crate) method: Option<Method>,
    pub(crate) status: Option<StatusCode>,
    pub(crate) delay: Option<Duration>,
    pub(crate) retry_after: Option<u64>,
    pub(crate) times: Option<u32>,
    pub(crate) after_processing: bool,
}

impl Fault {
    /// A fault on requests whose path is exactly `path` (e.g. `/user_management/users`), or
    /// starts with it when it ends with `*` (e.g. `/user_management/*`). By itself it does
    /// nothing: add a [`status`](Self::status) or a [`delay`](Self::delay).
    pub fn new(path: impl Into<String>) -> Self {
        Fault {
            path: path.into(),
            method: None,
            status: None,
            delay: None,
            retry_after: None,
            times: None,
            after_processing: false,
        }
    }

    /// Only requests with this method (e.g. `"POST"`). An unknown method matches nothing.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(Method::from_bytes(method.as_bytes()).unwrap_or(Method::CONNECT));
        self
    }

    /// Answer with this status (and a WorkOS-shaped error body).
    pub fn status(mut self, status: u16) -> Self {
        self.status = StatusCode::from_u16(status).ok();
        self
    }

    /// Wait this long before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Send `Retry-After: <seconds>` with the faulty answer.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Hit only the next `n` matching requests (default: every one until cleared).
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Run the real handler first and then replace its answer with the fault: the work is
    /// done but the caller sees a failure, as when a response is lost on the way back.
    pub fn after_processing(mut self) -> Self {
        self.after_processing = true;
        self
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        path_ok && self.method.as_ref().is_none_or(|m| m == method)
    }
}

/// One request the emulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/user_management/users`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
    /// The `User-Agent` header, if sent.
    pub user_agent: Option<String>,
    /// Whether an `Authorization` header was sent (never its value).
    pub authorized: bool,
    /// The OAuth `grant_type` of an authenticate call.
    pub grant_type: Option<String>,
    /// The JSON request body, if there was one. It holds whatever the caller sent, passwords
    /// included: the emulator is for tests, keep this log out of shared places.
    pub request_body: Option<serde_json::Value>,
    /// The JSON response body, if there was one.
    pub response_body: Option<serde_json::Value>,
}

/// A response kept for replay: status, headers worth keeping, body.
type StoredResponse = (StatusCode, Vec<(String, HeaderValue)>, Vec<u8>);

#[derive(Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<Fault>>,
    log: Mutex<Vec<RecordedRequest>>,
    /// Responses of POSTs by (path, Idempotency-Key), replayed for a repeated key.
    idempotent: Mutex<HashMap<(String, String), StoredResponse>>,
}

impl Faults {
    pub fn add(&self, fault: Fault) {
        lock(&self.rules).push(fault);
    }

    pub fn clear(&self) {
        lock(&self.rules).clear();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    /// Takes one use of the first rule matching the request.
    fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut rules = lock(&self.rules);
        let index = rules.iter().position(|f| f.matches(method, path))?;
        let fault = rules[index].clone();
        if let Some(times) = rules[index].times.as_mut() {
            *times -= 1;
            if *times == 0 {
                rules.remove(index);
            }
        }
        Some(fault)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn fault_response(fault: &Fault, status: StatusCode) -> Response {
    let body = json!({
        "code": "emulated_fault",
        "message": format!("Injected fault: HTTP {} (emulator fault injection)", status.as_u16()),
    });
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = fault.retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    response
}

/// The outermost middleware: applies faults, replays idempotent POSTs, records the request,
/// and stamps an `X-Request-ID`.
pub(crate) async fn middleware(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let faults = &state.faults;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let (idempotency_key, user_agent, authorized) = {
        let headers = request.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        (
            header("idempotency-key"),
            header("user-agent"),
            headers.contains_key("authorization"),
        )
    };

    // Read the body once so the grant type can be logged and the handler still gets it.
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let request_body = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    let grant_type = request_body
        .as_ref()
        .filter(|_| path == "/user_management/authenticate")
        .and_then(|v| v.get("grant_type")?.as_str().map(str::to_owned));
    let request = Request::from_parts(parts, Body::from(bytes));

    let fault = faults.take(&method, &path);
    if let Some(delay) = fault.as_ref().and_then(|f| f.delay) {
        tokio::time::sleep(delay).await;
    }
    let response = match (&fault, fault.as_ref().and_then(|f| f.status)) {
        (Some(f), Some(status)) if !f.after_processing => fault_response(f, status),
        _ => {
            let key = (method == Method::POST)
                .then_some(idempotency_key.as_ref())
                .flatten()
                .map(|k| (path.clone(), k.clone()));
            let cached = key
                .as_ref()
                .and_then(|k| lock(&faults.idempotent).get(k).cloned());
            let response = match cached {
                Some((status, headers, body)) => {
                    let mut response = (status, body).into_response();
                    for (name, value) in headers {
                        if let Ok(name) = axum::http::HeaderName::from_bytes(name.as_bytes()) {
                            response.headers_mut().insert(name, value);
                        }
                    }
                    response
                        .headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                    response
                }
                None => {
                    let response = next.run(request).await;
                    match key {
                        Some(key)
                            if response.status().is_success()
                                || response.status().is_client_error() =>
                        {
                            let (parts, body) = response.into_parts();
                            let body = axum::body::to_bytes(body, 8 << 20)
                                .await
                                .unwrap_or_default();
                            let headers = parts
                                .headers
                                .iter()
                                .filter(|(n, _)| n.as_str() == "content-type")
                                .map(|(n, v)| (n.as_str().to_owned(), v.clone()))
                                .collect();
                            lock(&faults.idempotent)
                                .insert(key, (parts.status, headers, body.to_vec()));
                            Response::from_parts(parts, Body::from(body))
                        }
                        _ => response,
                    }
                }
            };
            match (&fault, fault.as_ref().and_then(|f| f.status)) {
                (Some(f), Some(status)) => fault_response(f, status),
                _ => response,
            }
        }
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 8 << 20)
        .await
        .unwrap_or_default();
    let response_body = serde_json::from_slice::<serde_json::Value>(&body).ok();
    let mut response = Response::from_parts(parts, Body::from(body));
    let request_id = format!("req_{}", super::store::random_token(20));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    lock(&faults.log).push(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        status: response.status().as_u16(),
        idempotency_key,
        user_agent,
        authorized,
        grant_type,
        request_body,
        response_body,
    });
    response
}
