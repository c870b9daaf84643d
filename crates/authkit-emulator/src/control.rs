//! The HTTP control API under `/__emulator/`: what the library's [`Emulator`](crate::Emulator)
//! methods do, for tests in any language. JSON in and out; every call needs the API key
//! (`Authorization: Bearer <api key>`), answers errors as `{"code", "message"}`, and stays out
//! of the request log and out of reach of injected faults.

use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::tokens::SigningKey;
use crate::faults::{Fault, FaultId, RecordedRequest};
use crate::http::{ApiError, Json, Query, require_api_key};
use crate::{EmulatorError, SharedState};

/// The prefix of every control path.
pub(crate) const PREFIX: &str = "/__emulator/";

/// The control routes, behind the API-key check.
pub(crate) fn routes(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/__emulator/outbox", get(outbox).delete(clear_outbox))
        .route("/__emulator/requests", get(requests).delete(clear_requests))
        .route("/__emulator/faults", post(add_fault).delete(clear_faults))
        .route("/__emulator/faults/{id}", delete(remove_fault))
        .route("/__emulator/clock/advance", post(advance_clock))
        .route("/__emulator/signing-keys", get(signing_keys))
        .route("/__emulator/signing-keys/rotate", post(rotate_key))
        .route("/__emulator/signing-keys/publish", post(publish_key))
        .route("/__emulator/signing-keys/retire", post(retire_key))
        .route("/__emulator/reset", post(reset))
        .route("/__emulator/events", get(events))
        .route("/__emulator/webhooks", post(add_webhook))
        .route("/__emulator/device/approve", post(approve_device))
        .route("/__emulator/device/deny", post(deny_device))
        .route(
            "/__emulator/actions",
            post(set_action).delete(clear_actions),
        )
        .route("/__emulator/{*rest}", axum::routing::any(unknown))
        .route_layer(axum::middleware::from_fn_with_state(state, require_api_key))
}

fn refused(err: EmulatorError) -> ApiError {
    let message = match err {
        EmulatorError::Refused(m) | EmulatorError::Invalid(m) | EmulatorError::Seed(m) => m,
        other => other.to_string(),
    };
    ApiError::code(StatusCode::CONFLICT, "refused", message)
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::code(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_parameters",
        message,
    )
}

#[derive(Deserialize)]
struct OutboxQuery {
    to: Option<String>,
}

/// `GET /__emulator/outbox[?to=<email>]`: the emails sent, oldest first.
async fn outbox(
    State(state): State<SharedState>,
    Query(q): Query<OutboxQuery>,
) -> axum::Json<Value> {
    let emails: Vec<_> = state
        .outbox
        .all()
        .into_iter()
        .filter(|e| {
            q.to.as_deref()
                .is_none_or(|to| e.to.eq_ignore_ascii_case(to))
        })
        .collect();
    axum::Json(json!({ "data": emails }))
}

/// `DELETE /__emulator/outbox`.
async fn clear_outbox(State(state): State<SharedState>) -> StatusCode {
    state.outbox.clear();
    StatusCode::NO_CONTENT
}

fn rfc3339(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn request_json(r: &RecordedRequest) -> Value {
    json!({
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "status": r.status,
        "idempotency_key": r.idempotency_key,
        "user_agent": r.user_agent,
        "authorized": r.authorized,
        "grant_type": r.grant_type,
        "request_body": r.request_body,
        "response_body": r.response_body,
        "received_at": rfc3339(r.received_at),
        "duration_ms": r.duration.as_secs_f64() * 1000.0,
    })
}

/// `GET /__emulator/requests`: the request log, oldest first.
/// `GET /__emulator/events`: every event so far, oldest first.
async fn events(State(state): State<SharedState>) -> axum::Json<Value> {
    axum::Json(json!({ "data": state.store().events.clone() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    url: String,
    secret: String,
}

/// `POST /__emulator/webhooks` `{url, secret}`: delivers the events from now on to `url` too.
async fn add_webhook(
    State(state): State<SharedState>,
    Json(body): Json<WebhookBody>,
) -> Result<StatusCode, ApiError> {
    if !body.url.starts_with("http://") {
        return Err(ApiError::invalid_params(
            "url",
            "the emulator delivers webhooks to http:// endpoints only (the app under test on loopback)",
        ));
    }
    state
        .webhook_endpoints
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .push(crate::webhooks::Endpoint {
            url: body.url,
            secret: body.secret,
        });
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceDecisionBody {
    user_code: String,
    #[serde(default)]
    email: Option<String>,
}

/// `POST /__emulator/device/approve` `{user_code, email}`: approves that device sign-in as the
/// user with `email` (see [`Emulator::approve_device`](crate::Emulator::approve_device)).
async fn approve_device(
    State(state): State<SharedState>,
    Json(body): Json<DeviceDecisionBody>,
) -> Result<StatusCode, ApiError> {
    let email = body
        .email
        .ok_or_else(|| ApiError::invalid_params("email", "email is required"))?;
    crate::auth::device::decide_by_user_code(&state, &body.user_code, Some(&email))
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /__emulator/device/deny` `{user_code}`: denies that device sign-in.
async fn deny_device(
    State(state): State<SharedState>,
    Json(body): Json<DeviceDecisionBody>,
) -> Result<StatusCode, ApiError> {
    crate::auth::device::decide_by_user_code(&state, &body.user_code, None).map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /__emulator/actions` `{type, url, secret, on_error?, timeout_ms?}`: the hosted page
/// asks this endpoint from now on (replacing the one of the same type).
async fn set_action(
    State(state): State<SharedState>,
    Json(endpoint): Json<crate::ActionEndpoint>,
) -> Result<StatusCode, ApiError> {
    let endpoint = endpoint
        .registered()
        .map_err(|message| ApiError::invalid_params("url", &message))?;
    crate::actions::register(&mut state.action_endpoints_mut(), endpoint);
    Ok(StatusCode::CREATED)
}

/// `DELETE /__emulator/actions`: sign-ups and sign-ins go on without asking.
async fn clear_actions(State(state): State<SharedState>) -> StatusCode {
    state.action_endpoints_mut().clear();
    StatusCode::NO_CONTENT
}

async fn requests(State(state): State<SharedState>) -> axum::Json<Value> {
    let log: Vec<Value> = state.faults.requests().iter().map(request_json).collect();
    axum::Json(json!({ "data": log }))
}

/// `DELETE /__emulator/requests`.
async fn clear_requests(State(state): State<SharedState>) -> StatusCode {
    state.faults.clear_requests();
    StatusCode::NO_CONTENT
}

/// The body of `POST /__emulator/faults`: [`Fault`]'s builder methods as fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    path: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    grant_type: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    for_ms: Option<u64>,
    /// An RFC 3339 instant, e.g. `2030-01-01T00:00:00Z` (real clock).
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    after_processing: bool,
}

/// `POST /__emulator/faults`: injects one fault; answers 201 `{"id": "fault_1"}`.
async fn add_fault(
    State(state): State<SharedState>,
    Json(body): Json<FaultBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    if !body.path.starts_with('/') {
        return Err(bad_request(
            "path must start with '/', e.g. /user_management/users or /sso/jwks/*",
        ));
    }
    if body.status.is_none() && body.delay_ms.is_none() {
        return Err(bad_request("a fault needs a status, a delay_ms, or both"));
    }
    if body.for_ms.is_some() && body.until.is_some() {
        return Err(bad_request("give for_ms or until, not both"));
    }
    let mut fault = Fault::new(body.path);
    if let Some(status) = body.status {
        if !(100..=599).contains(&status) {
            return Err(bad_request(format!(
                "status {status} is not an HTTP status (100 to 599)"
            )));
        }
        fault = fault.status(status);
    }
    if let Some(method) = &body.method {
        fault = fault.method(&method.to_ascii_uppercase());
    }
    if let Some(grant_type) = body.grant_type {
        fault = fault.grant_type(grant_type);
    }
    if let Some(ms) = body.delay_ms {
        fault = fault.delay(Duration::from_millis(ms));
    }
    if let Some(secs) = body.retry_after {
        fault = fault.retry_after(secs);
    }
    if let Some(n) = body.times {
        fault = fault.times(n);
    }
    if let Some(ms) = body.for_ms {
        fault = fault.for_duration(Duration::from_millis(ms));
    }
    if let Some(until) = &body.until {
        let at = time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
            .map_err(|e| bad_request(format!("until {until:?} is not an RFC 3339 time: {e}")))?;
        let left = SystemTime::from(at)
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        fault = fault.until(Instant::now() + left);
    }
    if body.after_processing {
        fault = fault.after_processing();
    }
    let id = state.faults.add(fault);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "id": id.to_string() })),
    ))
}

/// `DELETE /__emulator/faults/{id}`: 204, or 404 when it is already gone.
async fn remove_fault(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let parsed = FaultId::parse(&id).ok_or_else(|| {
        ApiError::code(
            StatusCode::NOT_FOUND,
            "fault_not_found",
            format!(
                "No fault '{id}': fault ids look like fault_1, as POST /__emulator/faults answers."
            ),
        )
    })?;
    if state.faults.remove(parsed) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::code(
            StatusCode::NOT_FOUND,
            "fault_not_found",
            format!("No fault '{id}': it was removed, used up or expired."),
        ))
    }
}

/// `DELETE /__emulator/faults`: removes every fault.
async fn clear_faults(State(state): State<SharedState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    seconds: u64,
}

/// `POST /__emulator/clock/advance` `{"seconds": N}`: answers the emulator's new `now`.
async fn advance_clock(
    State(state): State<SharedState>,
    Json(body): Json<AdvanceBody>,
) -> axum::Json<Value> {
    state.advance_clock(Duration::from_secs(body.seconds));
    let now = state
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    axum::Json(json!({ "now": now }))
}

fn keys_json(state: &SharedState) -> Value {
    let keys = state.keys();
    json!({ "signing_kid": keys.signing_kid(), "published_kids": keys.published_kids() })
}

/// `GET /__emulator/signing-keys`: `{"signing_kid", "published_kids"}`.
async fn signing_keys(State(state): State<SharedState>) -> axum::Json<Value> {
    axum::Json(keys_json(&state))
}

/// Which key to rotate to or publish: a development key by number, a PEM key, or (no body)
/// the first development key not published yet.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    #[serde(default)]
    development_key: Option<usize>,
    #[serde(default)]
    private_key_pem: Option<String>,
    #[serde(default)]
    certificate_pem: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

fn key_of(state: &SharedState, body: KeyBody) -> Result<SigningKey, ApiError> {
    match body {
        KeyBody {
            development_key: Some(n),
            private_key_pem: None,
            ..
        } => SigningKey::development_key(n)
            .ok_or_else(|| bad_request(format!("development_key {n} does not exist: use 1 to 4"))),
        KeyBody {
            development_key: None,
            private_key_pem: Some(key),
            certificate_pem: Some(cert),
            kid: Some(kid),
        } => SigningKey::from_pem(&key, &cert, &kid)
            .map_err(|e| bad_request(format!("the PEM key was refused: {e}"))),
        KeyBody {
            development_key: None,
            private_key_pem: None,
            certificate_pem: None,
            kid: None,
        } => {
            let published = state.keys().published_kids();
            (1..=4)
                .filter_map(SigningKey::development_key)
                .find(|k| !published.iter().any(|p| p == k.kid()))
                .ok_or_else(|| {
                    refused(EmulatorError::Refused(
                        "every development key is published already: retire one first".into(),
                    ))
                })
        }
        _ => Err(bad_request(
            "give {\"development_key\": 1 to 4}, or private_key_pem, certificate_pem and kid, or no body",
        )),
    }
}

/// `POST /__emulator/signing-keys/rotate`: a new key signs from now on.
async fn rotate_key(
    State(state): State<SharedState>,
    Json(body): Json<KeyBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let key = key_of(&state, body)?;
    state.keys_mut().rotate(key).map_err(refused)?;
    Ok(axum::Json(keys_json(&state)))
}

/// `POST /__emulator/signing-keys/publish`: the JWKS publishes a key that does not sign yet.
async fn publish_key(
    State(state): State<SharedState>,
    Json(body): Json<KeyBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let key = key_of(&state, body)?;
    state.keys_mut().publish(&key).map_err(refused)?;
    Ok(axum::Json(keys_json(&state)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetireBody {
    kid: String,
}

/// `POST /__emulator/signing-keys/retire` `{"kid"}`: the JWKS stops publishing it.
async fn retire_key(
    State(state): State<SharedState>,
    Json(body): Json<RetireBody>,
) -> Result<axum::Json<Value>, ApiError> {
    state.keys_mut().retire(&body.kid).map_err(refused)?;
    Ok(axum::Json(keys_json(&state)))
}

/// `POST /__emulator/reset`: back to the seeded state.
async fn reset(State(state): State<SharedState>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

async fn unknown(uri: axum::http::Uri) -> ApiError {
    ApiError::code(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "No control endpoint {}: see the emulator's README for /__emulator/outbox, requests, faults, clock/advance, signing-keys and reset.",
            uri.path()
        ),
    )
}
