//! AuthKit Actions: the hosted page asks the app before a sign-up creates a user (a user
//! registration action) and before a sign-in returns to the app (an authentication action).
//!
//! The emulator POSTs the action request (`{object: "<type>_action_context", ...}`), signed as
//! a webhook (`WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
//! endpoint's secret), and expects `200` with `{object: "<type>_action_response", payload:
//! {timestamp, verdict, error_message?}, signature}`, the signature being the hex HMAC-SHA256
//! of `"<payload.timestamp>.<payload as compact JSON>"`. The payload is checked as sent, with
//! insignificant whitespace removed (the bytes a compact serializer writes); its timestamp
//! must be within a minute of now.
//!
//! When the endpoint cannot be reached, does not answer within its timeout (default 10 s),
//! answers a non-2xx status, or sends an answer that does not verify, the endpoint's
//! [`OnError`] behaviour applies: deny (the default, as WorkOS), or allow. Every denial is
//! recorded as an `action.<type>.denied` event.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::store::new_id;
use crate::{Emulator, SharedState};

/// How long the emulator waits for an action endpoint, unless told otherwise.
pub const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How far an answer's `payload.timestamp` may be from now.
const RESPONSE_TOLERANCE_MS: u64 = 60_000;
/// The largest answer read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The type of an action: which step of the hosted page asks the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActionType {
    /// `authentication`: after the user signed in (and passed any email verification, MFA
    /// and organization choice), before the code is issued and the browser sent back.
    Authentication,
    /// `user_registration`: after the sign-up form, before the user is created.
    UserRegistration,
}

impl ActionType {
    /// The wire name, `authentication` or `user_registration`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionType::Authentication => "authentication",
            ActionType::UserRegistration => "user_registration",
        }
    }
}

/// What happens when the endpoint fails (unreachable, too slow, an error status, an answer
/// that does not verify).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnError {
    /// Deny the sign-up or sign-in, with a page saying why (WorkOS's default).
    #[default]
    Deny,
    /// Let it go on, as if the app had allowed it.
    Allow,
}

/// An action endpoint of the app: which action, where, the secret that signs both ways, what
/// happens when it fails, and how long to wait for it. One per action type; registering
/// another of the same type replaces it.
///
/// In a seed file or the control API (`POST /__emulator/actions`):
/// `{ type: user_registration, url: http://127.0.0.1:3000/actions/workos, secret: ...,
/// on_error: deny, timeout_ms: 10000 }` (`on_error` and `timeout_ms` optional).
///
/// ```
/// use std::time::Duration;
/// use authkit_emulator::{ActionEndpoint, OnError};
///
/// let endpoint = ActionEndpoint::authentication("http://127.0.0.1:3000/actions/workos", "secret")
///     .on_error(OnError::Allow)
///     .timeout(Duration::from_secs(2));
/// assert!(!format!("{endpoint:?}").contains("secret\""));
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionEndpoint {
    #[serde(rename = "type")]
    kind: ActionType,
    url: String,
    secret: String,
    #[serde(default)]
    on_error: OnError,
    #[serde(default, rename = "timeout_ms", with = "millis_option")]
    timeout: Option<Duration>,
    /// `action_endpoint_...`, given when registered.
    #[serde(skip)]
    id: String,
}

mod millis_option {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

impl std::fmt::Debug for ActionEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionEndpoint")
            .field("type", &self.kind)
            .field("url", &self.url)
            .field("on_error", &self.on_error)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ActionEndpoint {
    /// An endpoint of `kind` at `url` (`http://`, the app under test on loopback), signing
    /// with `secret`.
    pub fn new(kind: ActionType, url: impl Into<String>, secret: impl Into<String>) -> Self {
        ActionEndpoint {
            kind,
            url: url.into(),
            secret: secret.into(),
            on_error: OnError::Deny,
            timeout: None,
            id: String::new(),
        }
    }

    /// An authentication action endpoint.
    pub fn authentication(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::new(ActionType::Authentication, url, secret)
    }

    /// A user registration action endpoint.
    pub fn user_registration(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::new(ActionType::UserRegistration, url, secret)
    }

    /// What happens when the endpoint fails. Default: [`OnError::Deny`].
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// How long to wait for the whole call (connect, request, answer). Default: 10 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The action type.
    pub fn kind(&self) -> ActionType {
        self.kind
    }

    /// Checks the URL and gives the endpoint its id.
    pub(crate) fn registered(mut self) -> Result<Self, String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("url {:?}: {e}", self.url))?;
        if url.scheme() != "http" || url.host_str().is_none() {
            return Err(
                "the emulator calls action endpoints over http:// only (the app under test on loopback)"
                    .into(),
            );
        }
        self.id = new_id("action_endpoint");
        Ok(self)
    }
}

/// Registers `endpoint` in `endpoints`, replacing one of the same type.
pub(crate) fn register(endpoints: &mut Vec<ActionEndpoint>, endpoint: ActionEndpoint) {
    endpoints.retain(|e| e.kind != endpoint.kind);
    endpoints.push(endpoint);
}

impl Emulator {
    /// Registers an action endpoint (replacing the one of the same type), as the
    /// [builder](crate::EmulatorBuilder::action_endpoint) does. Refused for a URL that is not
    /// `http://`.
    pub fn set_action_endpoint(
        &self,
        endpoint: ActionEndpoint,
    ) -> Result<(), crate::EmulatorError> {
        let endpoint = endpoint
            .registered()
            .map_err(crate::EmulatorError::Invalid)?;
        register(&mut self.state.action_endpoints_mut(), endpoint);
        Ok(())
    }

    /// Removes every action endpoint: sign-ups and sign-ins go on without asking.
    pub fn clear_action_endpoints(&self) {
        self.state.action_endpoints_mut().clear();
    }
}

/// The browser asking: its address and user agent, sent in action requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct Requester {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Requester {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let forwarded = header("x-forwarded-for")
            .and_then(|v| v.split(',').next().map(|ip| ip.trim().to_owned()))
            .filter(|ip| !ip.is_empty());
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(Requester {
            ip_address: forwarded.or(peer),
            user_agent: header("user-agent"),
        })
    }
}

/// The app's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    /// Denied, with the message to show.
    Deny(String),
}

/// What the denial event says about the user.
pub(crate) struct Subject<'a> {
    pub user_id: Option<&'a str>,
    pub email: &'a str,
    pub organization_id: Option<&'a str>,
}

/// Asks the app's `kind` endpoint, if one is registered, about `context` (the request
/// without `id` and `object`, which are added here). Never waits longer than the endpoint's
/// timeout. A denial is recorded as an `action.<type>.denied` event.
pub(crate) async fn ask(
    state: &SharedState,
    kind: ActionType,
    mut context: Value,
    requester: &Requester,
    subject: Subject<'_>,
) -> Verdict {
    let endpoint = state
        .action_endpoints()
        .iter()
        .find(|e| e.kind == kind)
        .cloned();
    let Some(endpoint) = endpoint else {
        return Verdict::Allow;
    };
    let execution_id = new_id("action_execution");
    if let Value::Object(fields) = &mut context {
        fields.insert("id".into(), json!(execution_id));
        fields.insert(
            "object".into(),
            json!(format!("{}_action_context", kind.as_str())),
        );
        fields.insert("ip_address".into(), json!(requester.ip_address));
        fields.insert("user_agent".into(), json!(requester.user_agent));
    }
    let timeout = endpoint.timeout.unwrap_or(DEFAULT_ACTION_TIMEOUT);
    let answer =
        match tokio::time::timeout(timeout, call(&endpoint, &context.to_string(), timeout)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "the endpoint did not answer within {} ms",
                timeout.as_millis()
            )),
        };
    let verdict = match answer {
        Ok(verdict) => verdict,
        Err(problem) => {
            tracing::warn!(url = %endpoint.url, action = kind.as_str(), %problem, "emulator: action endpoint failed");
            match endpoint.on_error {
                OnError::Allow => Verdict::Allow,
                OnError::Deny => Verdict::Deny(format!(
                    "This {} was denied because the app's {} action failed: {problem}. \
                     (The endpoint's error behaviour is to deny.)",
                    match kind {
                        ActionType::Authentication => "sign-in",
                        ActionType::UserRegistration => "sign-up",
                    },
                    kind.as_str().replace('_', " "),
                )),
            }
        }
    };
    if let Verdict::Deny(_) = &verdict {
        let mut data = json!({
            "action_endpoint_id": endpoint.id,
            "action_execution_id": execution_id,
            "type": kind.as_str(),
            "verdict": "Deny",
            "organization_id": subject.organization_id,
            "email": subject.email,
            "ip_address": requester.ip_address,
            "user_agent": requester.user_agent,
        });
        if kind == ActionType::Authentication {
            data["user_id"] = json!(subject.user_id);
        }
        let event = format!("action.{}.denied", kind.as_str());
        state.store().emit(&event, data, state.now());
    }
    verdict
}

/// One signed POST of `body`, and the verified verdict of the answer.
async fn call(endpoint: &ActionEndpoint, body: &str, timeout: Duration) -> Result<Verdict, String> {
    let (status, answer) = crate::webhooks::post_signed(
        &endpoint.url,
        &endpoint.secret,
        body,
        "authkit-emulator actions",
        // The caller's timeout (the same) bounds the whole call and names the delay.
        timeout + Duration::from_secs(1),
        MAX_RESPONSE_BYTES,
    )
    .await?;
    if !(200..300).contains(&status) {
        return Err(format!("the endpoint answered HTTP {status}"));
    }
    verify_answer(
        &answer,
        endpoint.kind,
        &endpoint.secret,
        now_ms(SystemTime::now()),
    )
}

fn now_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[derive(Deserialize)]
struct Answer<'a> {
    object: Option<String>,
    #[serde(borrow)]
    payload: Option<&'a serde_json::value::RawValue>,
    signature: Option<String>,
}

#[derive(Deserialize)]
struct AnswerPayload {
    timestamp: u64,
    verdict: String,
    #[serde(default)]
    error_message: Option<String>,
}

/// Checks an answer: its object, its signature (constant time) and its timestamp.
fn verify_answer(
    answer: &[u8],
    kind: ActionType,
    secret: &str,
    now_ms: u64,
) -> Result<Verdict, String> {
    let answer: Answer<'_> = serde_json::from_slice(answer)
        .map_err(|e| format!("the answer is not an action response ({e})"))?;
    let expected = format!("{}_action_response", kind.as_str());
    if answer.object.as_deref() != Some(expected.as_str()) {
        return Err(format!(
            "the answer's object is {:?}, not {expected:?}",
            answer.object.unwrap_or_default()
        ));
    }
    let raw = answer.payload.ok_or("the answer has no payload")?;
    let payload: AnswerPayload = serde_json::from_str(raw.get())
        .map_err(|e| format!("the answer's payload is not {{timestamp, verdict}} ({e})"))?;
    let signature = answer
        .signature
        .as_deref()
        .and_then(decode_hex)
        .ok_or("the answer has no hex signature")?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let signed = format!("{}.{}", payload.timestamp, compact(raw.get()));
    // `ring::hmac::verify` compares in constant time.
    ring::hmac::verify(&key, signed.as_bytes(), &signature)
        .map_err(|_| "the answer's signature does not match (check the action secret)")?;
    let distance = now_ms.abs_diff(payload.timestamp);
    if distance > RESPONSE_TOLERANCE_MS {
        return Err(format!(
            "the answer's timestamp is {} s from now (a replayed answer, or a clock far off)",
            distance / 1000
        ));
    }
    match payload.verdict.as_str() {
        "Allow" => Ok(Verdict::Allow),
        "Deny" => Ok(Verdict::Deny(
            payload
                .error_message
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| "The app denied this request.".to_owned()),
        )),
        other => Err(format!(
            "the answer's verdict is {other:?}, not \"Allow\" or \"Deny\""
        )),
    }
}

/// JSON text without the whitespace between tokens.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_764_842_400_000;

    fn signed(payload: &str, secret: &str) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let timestamp: Value = serde_json::from_str(payload).unwrap();
        let tag = ring::hmac::sign(
            &key,
            format!("{}.{}", timestamp["timestamp"], compact(payload)).as_bytes(),
        );
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn answer(object: &str, payload: &str, signature: &str) -> Vec<u8> {
        format!(r#"{{"object":"{object}","payload":{payload},"signature":"{signature}"}}"#)
            .into_bytes()
    }

    #[test]
    fn signed_answers_verify_pretty_printed_or_not() {
        let payload = format!(r#"{{"timestamp":{T},"verdict":"Deny","error_message":"No."}}"#);
        let sig = signed(&payload, "s");
        let ok = answer("user_registration_action_response", &payload, &sig);
        assert_eq!(
            verify_answer(&ok, ActionType::UserRegistration, "s", T + 1000),
            Ok(Verdict::Deny("No.".into()))
        );
        let pretty = format!(
            "{{ \"timestamp\": {T},\n  \"verdict\": \"Deny\", \"error_message\": \"No.\" }}"
        );
        let ok = answer("user_registration_action_response", &pretty, &sig);
        assert!(verify_answer(&ok, ActionType::UserRegistration, "s", T).is_ok());
        // Spaces inside strings are signed.
        assert_eq!(
            compact(r#"{ "a" : "b c" , "d\" e": 1 }"#),
            r#"{"a":"b c","d\" e":1}"#
        );
    }

    #[test]
    fn tampered_unsigned_stale_and_mistyped_answers_are_refused() {
        let payload = format!(r#"{{"timestamp":{T},"verdict":"Deny"}}"#);
        let sig = signed(&payload, "s");
        let check =
            |body: Vec<u8>, now: u64| verify_answer(&body, ActionType::Authentication, "s", now);
        let tampered = format!(r#"{{"timestamp":{T},"verdict":"Allow"}}"#);
        let err = check(answer("authentication_action_response", &tampered, &sig), T).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let other_secret = signed(&payload, "t");
        assert!(
            check(
                answer("authentication_action_response", &payload, &other_secret),
                T
            )
            .is_err()
        );
        let unsigned =
            format!(r#"{{"object":"authentication_action_response","payload":{payload}}}"#);
        assert!(
            check(unsigned.into_bytes(), T)
                .unwrap_err()
                .contains("no hex signature")
        );
        let stale = check(
            answer("authentication_action_response", &payload, &sig),
            T + 61_000,
        );
        assert!(stale.unwrap_err().contains("from now"));
        let wrong_type = check(
            answer("user_registration_action_response", &payload, &sig),
            T,
        );
        assert!(
            wrong_type
                .unwrap_err()
                .contains("not \"authentication_action_response\"")
        );
        assert!(
            check(b"<html>oops</html>".to_vec(), T)
                .unwrap_err()
                .contains("not an action response")
        );
        let maybe = format!(r#"{{"timestamp":{T},"verdict":"Maybe"}}"#);
        let err = check(
            answer(
                "authentication_action_response",
                &maybe,
                &signed(&maybe, "s"),
            ),
            T,
        );
        assert!(err.unwrap_err().contains("Maybe"));
    }
}
