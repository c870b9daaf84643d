//! Fault injection and the request log: make a path fail or stall N times or for a while, and
//! see what the emulator was asked, and when.
//!
//! The same middleware replays POSTs by `Idempotency-Key`, as WorkOS does: the first final
//! answer for a (path, key) pair is kept and returned to any later request with that key,
//! and requests with one key are processed one at a time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::SharedState;

/// A fault to inject: which requests it hits (path, method, grant type), what they get instead
/// (a status, a delay), and for how long (a number of requests, a time window, or until
/// [removed](crate::Emulator::remove_fault)).
///
/// ```
/// use std::time::Duration;
/// use authkit_emulator::Fault;
///
/// // The next two calls to list users answer 503 with Retry-After: 1.
/// let fault = Fault::new("/user_management/users").status(503).retry_after(1).times(2);
/// // Every authenticate call waits 2 s first.
/// let slow = Fault::new("/user_management/authenticate").method("POST").delay(Duration::from_secs(2));
/// // The JWKS is down for the next 5 seconds.
/// let jwks_down = Fault::new("/sso/jwks/*").status(503).for_duration(Duration::from_secs(5));
/// // Refreshes fail with 503 (sign-ins and other grants still work).
/// let no_refresh = Fault::new("/user_management/authenticate").grant_type("refresh_token").status(503);
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    pub(crate) path: String,
    pub(crate) method: Option<Method>,
    pub(crate) grant_type: Option<String>,
    pub(crate) status: Option<StatusCode>,
    pub(crate) delay: Option<Duration>,
    pub(crate) retry_after: Option<u64>,
    pub(crate) times: Option<u32>,
    pub(crate) window: Option<Window>,
    pub(crate) after_processing: bool,
}

/// How long a fault lasts on the real clock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Window {
    /// From injection, this long.
    For(Duration),
    /// Until this instant.
    Until(Instant),
}

/// The id of an injected fault, to [remove](crate::Emulator::remove_fault) it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(u64);

impl FaultId {
    /// Reads an id as [`Display`](std::fmt::Display) writes it, e.g. `fault_1`.
    pub(crate) fn parse(text: &str) -> Option<FaultId> {
        text.strip_prefix("fault_")?.parse().ok().map(FaultId)
    }
}

impl std::fmt::Display for FaultId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fault_{}", self.0)
    }
}

impl Fault {
    /// A fault on requests whose path is exactly `path` (e.g. `/user_management/users`), or
    /// starts with it when it ends with `*` (e.g. `/user_management/*`). By itself it does
    /// nothing: add a [`status`](Self::status) or a [`delay`](Self::delay).
    pub fn new(path: impl Into<String>) -> Self {
        Fault {
            path: path.into(),
            method: None,
            grant_type: None,
            status: None,
            delay: None,
            retry_after: None,
            times: None,
            window: None,
            after_processing: false,
        }
    }

    /// Only `POST /user_management/authenticate` calls with this `grant_type` (e.g.
    /// `"refresh_token"`, `"authorization_code"`): make refreshes fail while sign-ins work.
    /// Requests without that grant type (any other path) do not match.
    pub fn grant_type(mut self, grant_type: impl Into<String>) -> Self {
        self.grant_type = Some(grant_type.into());
        self
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

    /// Hit only the next `n` matching requests (default: every one until cleared). With a
    /// time window too, the fault ends at whichever limit comes first.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Hit matching requests for this long, on the real clock, counted from
    /// [injection](crate::Emulator::inject_fault) (not the emulator's
    /// [advanced clock](crate::Emulator::advance_clock)): an outage window. A request that
    /// arrives during the window gets the whole fault, its delay included, even if the window
    /// ends meanwhile.
    pub fn for_duration(mut self, duration: Duration) -> Self {
        self.window = Some(Window::For(duration));
        self
    }

    /// Hit matching requests until `deadline` (real clock), like
    /// [`for_duration`](Self::for_duration) with a fixed end.
    pub fn until(mut self, deadline: Instant) -> Self {
        self.window = Some(Window::Until(deadline));
        self
    }

    /// Run the real handler first and then replace its answer with the fault: the work is
    /// done but the caller sees a failure, as when a response is lost on the way back.
    ///
    /// The real answer of a POST with an `Idempotency-Key` is still kept, so a retry with the
    /// same key gets it replayed (as WorkOS does) instead of acting twice.
    ///
    /// ```
    /// use authkit_emulator::Fault;
    ///
    /// // The next user creation happens, but the client is told 503.
    /// let lost = Fault::new("/user_management/users").method("POST").status(503).times(1).after_processing();
    /// ```
    pub fn after_processing(mut self) -> Self {
        self.after_processing = true;
        self
    }

    fn matches(&self, method: &Method, path: &str, grant_type: Option<&str>) -> bool {
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        path_ok
            && self.method.as_ref().is_none_or(|m| m == method)
            && self
                .grant_type
                .as_deref()
                .is_none_or(|g| Some(g) == grant_type)
    }
}

/// An injected fault with its id and its end on the real clock.
struct Rule {
    id: FaultId,
    fault: Fault,
    ends_at: Option<Instant>,
}

impl Rule {
    fn live(&self, now: Instant) -> bool {
        self.fault.times != Some(0) && self.ends_at.is_none_or(|end| now < end)
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
    /// The status answered; 499 when the client closed the connection during an injected
    /// fault before the answer (e.g. its timeout was shorter than the fault's delay).
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
    /// When the request arrived (real clock).
    pub received_at: SystemTime,
    /// How long the emulator took to answer (injected delays included); for a request the
    /// client abandoned, how long until it went away.
    pub duration: Duration,
}

/// A response kept for replay: status, headers worth keeping, body.
type StoredResponse = (StatusCode, Vec<(String, HeaderValue)>, Vec<u8>);

/// A POST's identity for idempotent replay: (path, `Idempotency-Key`).
type IdempotencyKey = (String, String);

/// The largest request body the emulator reads.
const MAX_REQUEST_BODY: usize = 1 << 20;

#[derive(Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<Rule>>,
    next_id: AtomicU64,
    log: Mutex<Vec<RecordedRequest>>,
    /// Responses of POSTs by (path, Idempotency-Key), replayed for a repeated key.
    idempotent: Mutex<HashMap<IdempotencyKey, StoredResponse>>,
    /// One gate per key being processed, so that a retry arriving while the first attempt is
    /// still running waits for it and replays its answer instead of acting a second time.
    in_flight: Mutex<HashMap<IdempotencyKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Faults {
    pub fn add(&self, fault: Fault) -> FaultId {
        let id = FaultId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let now = Instant::now();
        // A window too long to represent has no end.
        let ends_at = fault.window.and_then(|w| match w {
            Window::For(d) => now.checked_add(d),
            Window::Until(t) => Some(t),
        });
        lock(&self.rules).push(Rule { id, fault, ends_at });
        id
    }

    pub fn remove(&self, id: FaultId) -> bool {
        let mut rules = lock(&self.rules);
        let now = Instant::now();
        rules.retain(|r| r.live(now));
        let before = rules.len();
        rules.retain(|r| r.id != id);
        rules.len() != before
    }

    pub fn clear(&self) {
        lock(&self.rules).clear();
    }

    /// Forgets the faults, the request log and the answers kept for idempotent replay.
    pub fn reset(&self) {
        self.clear();
        self.clear_requests();
        lock(&self.idempotent).clear();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    /// Takes one use of the first rule matching the request. A rule whose uses have run out
    /// (including one made with `times(0)`) or whose window has passed matches nothing and is
    /// dropped.
    fn take(&self, method: &Method, path: &str, grant_type: Option<&str>) -> Option<Fault> {
        let mut rules = lock(&self.rules);
        let now = Instant::now();
        rules.retain(|r| r.live(now));
        let index = rules
            .iter()
            .position(|r| r.fault.matches(method, path, grant_type))?;
        let fault = rules[index].fault.clone();
        if let Some(times) = rules[index].fault.times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                rules.remove(index);
            }
        }
        Some(fault)
    }

    /// Waits until no other request with the same key is being processed.
    async fn enter(&self, key: IdempotencyKey) -> InFlight<'_> {
        let gate = lock(&self.in_flight)
            .entry(key.clone())
            .or_default()
            .clone();
        let guard = gate.clone().lock_owned().await;
        InFlight {
            faults: self,
            key,
            gate,
            guard: Some(guard),
        }
    }

    fn stored(&self, key: &IdempotencyKey) -> Option<StoredResponse> {
        lock(&self.idempotent).get(key).cloned()
    }

    /// Keeps the first final answer for a key; later ones never replace it.
    fn store(&self, key: IdempotencyKey, response: StoredResponse) {
        lock(&self.idempotent).entry(key).or_insert(response);
    }
}

/// Holds a key's gate while its request is processed; frees the gate's slot when the last
/// user is done (also when the request is abandoned because the client went away).
struct InFlight<'a> {
    faults: &'a Faults,
    key: IdempotencyKey,
    gate: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = lock(&self.faults.in_flight);
        // One reference in the map and ours: nobody else is waiting. Clones are made only
        // under this lock, so the count cannot grow meanwhile.
        if Arc::strong_count(&self.gate) == 2 {
            map.remove(&self.key);
        }
    }
}

/// The status recorded for a request whose client went away before the answer (nginx's 499).
const CLIENT_CLOSED_REQUEST: u16 = 499;

/// Records a request that was dropped before it was answered.
struct Abandoned<'a> {
    faults: &'a Faults,
    started: Instant,
    record: Option<RecordedRequest>,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.duration = self.started.elapsed();
            lock(&self.faults.log).push(record);
        }
    }
}

/// Whether an answer is final for its idempotency key and replayed on a retry: successes and
/// client errors, except those that say "not now" or "not you" (401, 408, 409, 429), after
/// which a retry with the same key must be processed afresh.
fn is_replayable(status: StatusCode) -> bool {
    status.is_success()
        || (status.is_client_error() && !matches!(status.as_u16(), 401 | 408 | 409 | 429))
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

fn replayed(stored: StoredResponse) -> Response {
    let (status, headers, body) = stored;
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

/// Runs the handler for a POST with an idempotency key, or replays the answer its key
/// already got. Concurrent requests with one key are processed one at a time.
async fn run_idempotent(
    faults: &Faults,
    key: IdempotencyKey,
    request: Request,
    next: Next,
) -> Response {
    let _in_flight = faults.enter(key.clone()).await;
    if let Some(stored) = faults.stored(&key) {
        return replayed(stored);
    }
    let response = next.run(request).await;
    if !is_replayable(response.status()) {
        return response;
    }
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
    faults.store(key, (parts.status, headers, body.to_vec()));
    Response::from_parts(parts, Body::from(body))
}

/// The outermost middleware: applies faults, replays idempotent POSTs, records the request,
/// and stamps an `X-Request-ID`.
pub(crate) async fn middleware(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with(crate::control::PREFIX) {
        return next.run(request).await;
    }
    let faults = &state.faults;
    let received_at = SystemTime::now();
    let started = Instant::now();
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
    let (bytes, too_large) = match axum::body::to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (axum::body::Bytes::new(), true),
    };
    let request_body = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    let grant_type = request_body
        .as_ref()
        .filter(|_| path == "/user_management/authenticate")
        .and_then(|v| v.get("grant_type")?.as_str().map(str::to_owned));
    let request = Request::from_parts(parts, Body::from(bytes));

    let fault = faults.take(&method, &path, grant_type.as_deref());
    let fault_status = fault.as_ref().and_then(|f| f.status.map(|s| (f, s)));
    // Until the answer is ready the request is recorded as abandoned: if the client gives up
    // during an injected delay (its timeout), the log still shows the attempt.
    let mut abandoned = fault.as_ref().map(|_| Abandoned {
        faults,
        started,
        record: Some(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            status: CLIENT_CLOSED_REQUEST,
            idempotency_key: idempotency_key.clone(),
            user_agent: user_agent.clone(),
            authorized,
            grant_type: grant_type.clone(),
            request_body: request_body.clone(),
            response_body: Some(json!({
                "code": "emulated_fault",
                "message": "The client closed the connection before the emulator answered (injected fault).",
            })),
            received_at,
            duration: Duration::ZERO,
        }),
    });
    if let Some(delay) = fault.as_ref().and_then(|f| f.delay) {
        tokio::time::sleep(delay).await;
    }
    let response = match fault_status {
        Some((f, status)) if !f.after_processing => fault_response(f, status),
        _ if too_large => crate::http::ApiError::message(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request body is larger than the emulator's limit of {MAX_REQUEST_BODY} bytes."
            ),
        )
        .into_response(),
        _ => {
            let key = idempotency_key
                .as_ref()
                .filter(|_| method == Method::POST)
                .map(|k| (path.clone(), k.clone()));
            let response = match key {
                Some(key) => run_idempotent(faults, key, request, next).await,
                None => next.run(request).await,
            };
            // after_processing: the work is done (and kept for replay); the caller sees the fault.
            match fault_status {
                Some((f, status)) => fault_response(f, status),
                None => response,
            }
        }
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 8 << 20)
        .await
        .unwrap_or_default();
    let response_body = serde_json::from_slice::<serde_json::Value>(&body).ok();
    if let Some(abandoned) = abandoned.as_mut() {
        abandoned.record = None;
    }
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
        received_at,
        duration: started.elapsed(),
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_used_up_or_made_with_zero_times_matches_nothing() {
        let faults = Faults::default();
        faults.add(Fault::new("/a").status(503).times(0));
        assert!(faults.take(&Method::GET, "/a", None).is_none());
        faults.add(Fault::new("/a").status(503).times(2));
        assert!(faults.take(&Method::GET, "/a", None).is_some());
        assert!(faults.take(&Method::GET, "/a", None).is_some());
        assert!(faults.take(&Method::GET, "/a", None).is_none());
        assert!(lock(&faults.rules).is_empty());
    }

    #[test]
    fn a_fault_with_a_window_ends_with_it_and_one_fault_can_be_removed() {
        let faults = Faults::default();
        let past = faults.add(Fault::new("/a").status(503).until(Instant::now()));
        assert!(faults.take(&Method::GET, "/a", None).is_none());
        assert!(!faults.remove(past), "an ended fault is already gone");
        let long = faults.add(
            Fault::new("/a")
                .status(503)
                .for_duration(Duration::from_secs(60)),
        );
        let other = faults.add(Fault::new("/b").status(500));
        assert_ne!(long, other);
        assert!(faults.take(&Method::GET, "/a", None).is_some());
        assert!(faults.take(&Method::GET, "/a", None).is_some());
        assert!(faults.remove(long));
        assert!(!faults.remove(long));
        assert!(faults.take(&Method::GET, "/a", None).is_none());
        assert!(
            faults.take(&Method::GET, "/b", None).is_some(),
            "the other fault stays"
        );
    }

    #[test]
    fn faults_match_by_path_prefix_method_and_grant_type() {
        let fault = Fault::new("/user_management/*").method("POST");
        assert!(fault.matches(&Method::POST, "/user_management/users", None));
        assert!(!fault.matches(&Method::GET, "/user_management/users", None));
        assert!(!fault.matches(&Method::POST, "/sso/jwks/x", None));
        assert!(Fault::new("/a").matches(&Method::DELETE, "/a", None));
        assert!(!Fault::new("/a").matches(&Method::GET, "/a/b", None));
        assert!(Fault::new("/sso/jwks/*").matches(&Method::GET, "/sso/jwks/client_1", None));
        let refresh = Fault::new("/user_management/authenticate").grant_type("refresh_token");
        let path = "/user_management/authenticate";
        assert!(refresh.matches(&Method::POST, path, Some("refresh_token")));
        assert!(!refresh.matches(&Method::POST, path, Some("authorization_code")));
        assert!(!refresh.matches(&Method::POST, path, None));
    }

    #[test]
    fn only_final_answers_are_replayed() {
        assert!(is_replayable(StatusCode::CREATED));
        assert!(is_replayable(StatusCode::BAD_REQUEST));
        assert!(is_replayable(StatusCode::NOT_FOUND));
        for status in [401, 408, 409, 429, 500, 503] {
            assert!(
                !is_replayable(StatusCode::from_u16(status).unwrap()),
                "{status}"
            );
        }
    }

    #[test]
    fn the_first_stored_answer_for_a_key_wins() {
        let faults = Faults::default();
        let key = ("/p".to_owned(), "k".to_owned());
        faults.store(
            key.clone(),
            (StatusCode::CREATED, Vec::new(), b"first".to_vec()),
        );
        faults.store(
            key.clone(),
            (StatusCode::BAD_REQUEST, Vec::new(), b"second".to_vec()),
        );
        let (status, _, body) = faults.stored(&key).unwrap();
        assert_eq!(
            (status, body.as_slice()),
            (StatusCode::CREATED, &b"first"[..])
        );
    }

    #[tokio::test]
    async fn requests_with_one_key_are_processed_one_at_a_time() {
        let faults = Arc::new(Faults::default());
        let key = ("/p".to_owned(), "k".to_owned());
        let first = faults.enter(key.clone()).await;
        let waiting = {
            let faults = faults.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let _second = faults.enter(key).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "a second request ran alongside the first"
        );
        // Another key is not held up.
        drop(faults.enter(("/p".to_owned(), "other".to_owned())).await);
        drop(first);
        waiting.await.unwrap();
        assert!(
            lock(&faults.in_flight).is_empty(),
            "gates are freed after use"
        );
    }
}
