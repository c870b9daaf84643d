//! Webhooks: events the emulator's state changes produce (`user.*`, `session.created`,
//! `session.revoked`, `organization.*`, `organization_domain.*`, `organization_membership.*`,
//! `invitation.created/accepted/revoked/resent`, `email_verification.created`,
//! `password_reset.created/succeeded`, `magic_auth.created`, and
//! `authentication.<method>_succeeded/_failed` for password, Magic Auth, email verification
//! and MFA codes checked by `POST /user_management/authenticate` or the hosted page, and SSO
//! sign-ins), delivered to the endpoints registered with
//! [`EmulatorBuilder::webhook_endpoint`](crate::EmulatorBuilder::webhook_endpoint), signed as
//! WorkOS signs them (`WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
//! endpoint's secret), and retried (up to four attempts over about six seconds) until the
//! endpoint answers 2xx. Every event is also kept, in order, for [`Emulator::events`](crate::Emulator::events) and
//! `GET /events`.
//!
//! Endpoints are plain `http://` (the emulator has no TLS client): point them at the app under
//! test on loopback.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::SharedState;
use crate::store::{Store, new_id, ts};

/// A registered endpoint: where to deliver, and the secret that signs.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub url: String,
    pub secret: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The pauses before the second, third and fourth attempts.
const RETRY_PAUSES: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_secs(1),
    Duration::from_secs(5),
];

impl Store {
    /// Records an event of `kind` about `data`, to deliver after the current request.
    pub(crate) fn emit(&mut self, kind: &str, data: Value, now: OffsetDateTime) {
        let event = json!({
            "object": "event",
            "id": new_id("event"),
            "event": kind,
            "data": data,
            "created_at": ts(now),
        });
        tracing::debug!(event = kind, "emulator: event");
        self.events.push(event.clone());
        self.undelivered.push(event);
    }
}

/// Who tried to authenticate, and how, for an `authentication.*` event.
pub(crate) struct Attempt<'a> {
    /// The method, as the event names it: `password`, `magic_auth`, `email_verification`,
    /// `mfa`, `oauth`, `sso`.
    pub method: &'a str,
    pub user_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// `{organization_id, connection_id, session_id}` of an SSO sign-in.
    pub sso: Option<Value>,
}

impl Store {
    /// Records `authentication.<method>_succeeded`, or `_failed` with the error WorkOS
    /// answered (`code` and message of an [`ApiError`](crate::http::ApiError) body).
    pub(crate) fn emit_authentication(
        &mut self,
        attempt: Attempt<'_>,
        failure: Option<&crate::http::ApiError>,
        now: OffsetDateTime,
    ) {
        let mut data = json!({
            "type": attempt.method,
            "status": if failure.is_some() { "failed" } else { "succeeded" },
            "ip_address": attempt.ip_address,
            "user_agent": attempt.user_agent,
            "user_id": attempt.user_id,
            "email": attempt.email,
        });
        if let Some(sso) = attempt.sso {
            data["sso"] = sso;
        }
        if let Some(err) = failure {
            let field = |names: [&str; 2]| {
                names
                    .iter()
                    .find_map(|n| err.body.get(*n).and_then(Value::as_str))
                    .unwrap_or_default()
                    .to_owned()
            };
            data["error"] = json!({
                "code": field(["code", "error"]),
                "message": field(["message", "error_description"]),
            });
        }
        let outcome = if failure.is_some() {
            "failed"
        } else {
            "succeeded"
        };
        self.emit(
            &format!("authentication.{}_{outcome}", attempt.method),
            data,
            now,
        );
    }
}

/// `value` without the secrets WorkOS leaves out of an event's data (codes, tokens, links).
pub(crate) fn without_secrets(mut value: Value) -> Value {
    if let Value::Object(fields) = &mut value {
        for secret in [
            "code",
            "token",
            "accept_invitation_url",
            "password_reset_token",
            "password_reset_url",
        ] {
            fields.remove(secret);
        }
    }
    value
}

/// Delivers the events recorded since the last call to every endpoint, each in its own task.
pub(crate) fn deliver_pending(state: &SharedState) {
    let events = std::mem::take(&mut state.store().undelivered);
    let endpoints = state
        .webhook_endpoints
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if events.is_empty() || endpoints.is_empty() {
        return;
    }
    for event in events {
        let body = event.to_string();
        for endpoint in &endpoints {
            tokio::spawn(deliver(endpoint.clone(), body.clone()));
        }
    }
}

/// Axum middleware: after each request, delivers the events it produced.
pub(crate) async fn middleware(
    axum::extract::State(state): axum::extract::State<SharedState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    deliver_pending(&state);
    response
}

/// The `WorkOS-Signature` of `body` at `timestamp_ms` with `secret`.
pub(crate) fn signature(secret: &str, body: &str, timestamp_ms: u128) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp_ms}.{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp_ms}, v1={hex}")
}

async fn deliver(endpoint: Endpoint, body: String) {
    for attempt in 0..=RETRY_PAUSES.len() {
        if attempt > 0 {
            tokio::time::sleep(RETRY_PAUSES[attempt - 1]).await;
        }
        match post(&endpoint, &body).await {
            Ok(status) if (200..300).contains(&status) => return,
            Ok(status) => {
                tracing::info!(url = %endpoint.url, status, attempt, "emulator: webhook refused; retrying")
            }
            Err(err) => {
                tracing::info!(url = %endpoint.url, error = %err, attempt, "emulator: webhook not delivered; retrying")
            }
        }
    }
    tracing::warn!(url = %endpoint.url, "emulator: gave up delivering a webhook");
}

/// One POST of `body` to the endpoint, signed now; the status answered.
async fn post(endpoint: &Endpoint, body: &str) -> Result<u16, String> {
    post_signed(
        &endpoint.url,
        &endpoint.secret,
        body,
        "authkit-emulator webhooks",
        ANSWER_TIMEOUT,
        0,
    )
    .await
    .map(|(status, _)| status)
}

/// How long a webhook endpoint may take to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// One POST of `body` to `url` (`http://`), signed now with `secret` as WorkOS signs webhooks
/// and action requests; the status (within `answer_timeout` of sending) and up to `read_limit`
/// bytes of the answer (none when 0).
pub(crate) async fn post_signed(
    url: &str,
    secret: &str,
    body: &str,
    agent: &str,
    answer_timeout: Duration,
    read_limit: usize,
) -> Result<(u16, Vec<u8>), String> {
    let url = url::Url::parse(url).map_err(|e| e.to_string())?;
    if url.scheme() != "http" {
        return Err("only http:// endpoints are supported".into());
    }
    let host = url.host_str().ok_or("the URL has no host")?.to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let tcp = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| "connecting timed out".to_owned())?
    .map_err(|e| format!("could not connect to {host}:{port} ({e})"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let request = axum::http::Request::post(path)
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json")
        .header("workos-signature", signature(secret, body, now_ms))
        .header("user-agent", agent)
        .body(axum::body::Body::from(body.to_owned()))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(answer_timeout, sender.send_request(request))
        .await
        .map_err(|_| "the endpoint did not answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    if read_limit == 0 {
        return Ok((status, Vec::new()));
    }
    let answer = axum::body::to_bytes(axum::body::Body::new(response.into_body()), read_limit)
        .await
        .map_err(|e| format!("the answer could not be read ({e})"))?;
    Ok((status, answer.to_vec()))
}
