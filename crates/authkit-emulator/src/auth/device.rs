//! Device sign-in for CLIs (OAuth 2.0 device authorization, RFC 8628):
//! `POST /user_management/authorize/device` hands out a device code and a user code, the
//! verification page at `/__emulator/device` lets the user enter the user code, sign in (with
//! the hosted page's step-ups) and approve or deny, and the `device_code` grant of
//! `POST /user_management/authenticate` answers `authorization_pending` until then.
//!
//! What it enforces, as WorkOS does:
//! - a device code lives 5 minutes (on the emulator's clock), then `expired_token`;
//! - polling faster than the interval answers `slow_down` and adds 5 seconds to the interval;
//! - a denied sign-in answers `access_denied`;
//! - a device code is exchanged once: a second exchange is `invalid_grant`.

// The helpers' `Err` is the answer itself (an error page), made once per request.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::hosted::{self, AuthorizeRequest, DeviceStep, Fields};
use super::hosted_html::{self as html, Message};
use crate::actions::Requester;
use crate::http::{ApiError, Json};
use crate::store::{Record, Store, random_token};
use crate::{Emulator, EmulatorError, SharedState, State as EmulatorState};

/// How long a device code and its user code live.
const DEVICE_CODE_TTL: Duration = Duration::minutes(5);
/// The polling interval handed out, in seconds.
const POLL_INTERVAL: i64 = 5;
/// What a `slow_down` adds to the interval, in seconds (RFC 8628).
const SLOW_DOWN_STEP: i64 = 5;
/// The letters of user codes: no vowels (no words), nothing that reads like a digit.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// A device authorization. Keyed by its device code.
#[derive(Debug, Clone)]
pub(crate) struct DeviceAuthRec {
    /// The device code (the record's id), a secret of the device.
    pub device_code: String,
    /// The code the user enters on the verification page, e.g. `BCDF-GHJK`.
    pub user_code: String,
    pub expires_at: OffsetDateTime,
    /// The current polling interval in seconds (grows with each `slow_down`).
    pub interval: i64,
    /// When the device last polled.
    pub last_poll: Option<OffsetDateTime>,
    pub decision: Decision,
}

/// Where a device sign-in stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Waiting for the user.
    Pending,
    /// The user signed in and approved.
    Approved(Approval),
    /// The user denied it.
    Denied,
    /// The device code was exchanged for tokens.
    Exchanged,
}

/// Who approved a device sign-in, and into which organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Approval {
    pub user_id: String,
    pub organization_id: Option<String>,
    /// The session's `authentication_method`, e.g. `Password`.
    pub authentication_method: String,
}

impl Record for DeviceAuthRec {
    fn id(&self) -> &str {
        &self.device_code
    }
}

/// `POST /user_management/authorize/device` (public) and the verification page.
pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/authorize/device", post(authorize_device))
        .route(html::DEVICE_PATH, get(verification_page))
        .route(html::DEVICE_SIGN_IN_PATH, post(sign_in))
        .route(html::DEVICE_DECIDE_PATH, post(decide))
}

#[derive(Deserialize)]
struct AuthorizeBody {
    #[serde(default)]
    client_id: Option<String>,
}

/// A new user code: 8 letters as `XXXX-XXXX`.
fn new_user_code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        code.push(USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char);
    }
    code
}

/// A user code as typed (any case, with or without the dash or spaces) in its issued form.
fn normalize_user_code(typed: &str) -> String {
    let letters: String = typed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

/// `POST /user_management/authorize/device`: a device code, a user code and where to enter it.
async fn authorize_device(
    State(state): State<SharedState>,
    Json(body): Json<AuthorizeBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let client_id = body.client_id.unwrap_or_default();
    let expected = state.config.client_id.as_bytes();
    if !bool::from(client_id.as_bytes().ct_eq(expected)) {
        return Err(ApiError::oauth(
            "invalid_client",
            format!("Invalid client ID '{client_id}'."),
        ));
    }
    let now = state.now();
    let mut store = state.store();
    let user_code = loop {
        let code = new_user_code();
        if store.auth.devices.find(|d| d.user_code == code).is_none() {
            break code;
        }
    };
    let record = DeviceAuthRec {
        device_code: random_token(48),
        user_code: user_code.clone(),
        expires_at: now + DEVICE_CODE_TTL,
        interval: POLL_INTERVAL,
        last_poll: None,
        decision: Decision::Pending,
    };
    let device_code = record.device_code.clone();
    store.auth.devices.insert(record);
    drop(store);
    let verification_uri = format!("{}{}", state.config.base_url, html::DEVICE_PATH);
    let complete = format!("{verification_uri}?user_code={user_code}");
    tracing::info!(%user_code, "emulator: device authorization started");
    Ok(axum::Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "expires_in": DEVICE_CODE_TTL.whole_seconds(),
        "interval": POLL_INTERVAL,
    })))
}

/// The `device_code` grant: the approval to start a session with, or the OAuth error that
/// says why not yet (or never). Counts the poll for `slow_down`.
pub(crate) fn poll(
    store: &mut Store,
    device_code: &str,
    now: OffsetDateTime,
) -> Result<Approval, ApiError> {
    let Some(record) = store.auth.devices.get_mut(device_code) else {
        return Err(ApiError::oauth(
            "invalid_grant",
            "The device code is invalid.",
        ));
    };
    if record.decision == Decision::Exchanged {
        return Err(ApiError::oauth(
            "invalid_grant",
            "The device code has already been used.",
        ));
    }
    if now >= record.expires_at {
        return Err(ApiError::oauth(
            "expired_token",
            "The device code has expired: start the sign-in again.",
        ));
    }
    let last_poll = record.last_poll.replace(now);
    match &record.decision {
        Decision::Denied => Err(ApiError::oauth(
            "access_denied",
            "The user denied the device sign-in.",
        )),
        Decision::Approved(approval) => {
            let approval = approval.clone();
            record.decision = Decision::Exchanged;
            Ok(approval)
        }
        Decision::Pending | Decision::Exchanged => {
            if last_poll.is_some_and(|last| now - last < Duration::seconds(record.interval)) {
                record.interval += SLOW_DOWN_STEP;
                return Err(ApiError::oauth(
                    "slow_down",
                    format!(
                        "Polling too fast: wait {} seconds between requests.",
                        record.interval
                    ),
                ));
            }
            Err(ApiError::oauth(
                "authorization_pending",
                "The user has not approved the device sign-in yet.",
            ))
        }
    }
}

/// The device authorization showing `user_code` that is still waiting for the user.
fn pending_device<'a>(
    store: &'a mut Store,
    user_code: &str,
    now: OffsetDateTime,
) -> Option<&'a mut DeviceAuthRec> {
    let wanted = normalize_user_code(user_code);
    store.auth.devices.find_mut(|d| {
        bool::from(d.user_code.as_bytes().ct_eq(wanted.as_bytes()))
            && d.decision == Decision::Pending
            && now < d.expires_at
    })
}

/// `GET /__emulator/device[?user_code=...]`: the verification page.
async fn verification_page(RawQuery(query): RawQuery) -> Response {
    let fields = Fields::from_query(query.as_deref());
    let user_code = fields.get("user_code").map(normalize_user_code);
    let body = html::device_sign_in(user_code.as_deref().unwrap_or_default(), "", None);
    hosted::html_response(StatusCode::OK, body)
}

/// `POST /__emulator/device/sign-in`: checks the user code and the password, then runs the
/// hosted page's step-ups, which end at the approval screen.
async fn sign_in(
    State(state): State<SharedState>,
    requester: Requester,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let user_code = normalize_user_code(fields.get("user_code").unwrap_or_default());
    let email = fields.get("email").unwrap_or_default().trim().to_owned();
    let password = fields.get("password").unwrap_or_default();
    let again = |message: &str| {
        hosted::html_response(
            StatusCode::BAD_REQUEST,
            html::device_sign_in(&user_code, &email, Some(&Message::Error(message.into()))),
        )
    };
    let now = state.now();
    let (device_code, user_id) = {
        let mut store = state.store();
        let Some(device_code) =
            pending_device(&mut store, &user_code, now).map(|d| d.device_code.clone())
        else {
            tracing::debug!("emulator device page: unknown or expired user code");
            return again(
                "That code is not valid or has expired. Check the code your device shows, or start again on the device.",
            );
        };
        let user = store
            .users
            .find(|u| u.email.eq_ignore_ascii_case(&email))
            .filter(|u| {
                u.password
                    .as_deref()
                    .is_some_and(|p| bool::from(p.as_bytes().ct_eq(password.as_bytes())))
            });
        let Some(user) = user else {
            return again("Incorrect email or password.");
        };
        (device_code, user.id.clone())
    };
    let request = AuthorizeRequest {
        client_id: state.config.client_id.clone(),
        ..AuthorizeRequest::default()
    };
    let device = DeviceStep {
        device_code,
        user_code,
        ready: false,
    };
    hosted::start_flow(&state, request, user_id, Some(device), &requester).await
}

/// `POST /__emulator/device/decide`: the approval screen's answer (`decision=approve|deny`).
async fn decide(
    State(state): State<SharedState>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let flow = match hosted::load_flow(&state, &fields) {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    let Some(device) = flow.device.filter(|d| d.ready) else {
        return hosted::error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in not finished",
            "Finish signing in before approving the device.",
            None,
        );
    };
    let approve = fields.get("decision") == Some("approve");
    let mut store = state.store();
    store.auth.hosted_flows.remove(&flow.id);
    let approval = Approval {
        authentication_method: hosted::sign_in_method(&store, None),
        organization_id: flow.organization_id.clone(),
        user_id: flow.user_id.clone(),
    };
    drop(store);
    let decision = if approve {
        Decision::Approved(approval)
    } else {
        Decision::Denied
    };
    record_decision(&state, &device.device_code, decision)
}

/// Denies the device sign-in behind `device_code` (its hosted flow was cancelled) and shows
/// the last screen.
pub(crate) fn deny(state: &EmulatorState, device_code: &str) -> Response {
    record_decision(state, device_code, Decision::Denied)
}

/// Records the user's decision on a still-pending device sign-in and shows the last screen.
fn record_decision(state: &EmulatorState, device_code: &str, decision: Decision) -> Response {
    let now = state.now();
    let approved = matches!(decision, Decision::Approved(_));
    let mut store = state.store();
    match store
        .auth
        .devices
        .get_mut(device_code)
        .filter(|d| d.decision == Decision::Pending && now < d.expires_at)
    {
        Some(record) => {
            record.decision = decision;
            drop(store);
            tracing::info!(approved, "emulator device page: device sign-in decided");
            hosted::html_response(StatusCode::OK, html::device_done(approved))
        }
        None => hosted::error_page(
            StatusCode::BAD_REQUEST,
            "Device sign-in expired",
            "This device sign-in has expired or was already answered. Start again on the device.",
            None,
        ),
    }
}

/// Approves or denies, from a test or the control API, the device sign-in showing
/// `user_code`.
pub(crate) fn decide_by_user_code(
    state: &EmulatorState,
    user_code: &str,
    approve_as: Option<&str>,
) -> Result<(), EmulatorError> {
    let refused = EmulatorError::Refused;
    let now = state.now();
    let mut store = state.store();
    let approval = match approve_as {
        Some(email) => {
            let user = store
                .users
                .find(|u| u.email.eq_ignore_ascii_case(email))
                .ok_or_else(|| {
                    refused(format!("no user has the email {email:?}: create it first"))
                })?;
            let user_id = user.id.clone();
            let organization_id = hosted::active_memberships(&store, &user_id)
                .first()
                .map(|m| m.organization_id.clone());
            Some(Approval {
                authentication_method: hosted::sign_in_method(&store, None),
                organization_id,
                user_id,
            })
        }
        None => None,
    };
    let record = pending_device(&mut store, user_code, now).ok_or_else(|| {
        refused(format!(
            "no device sign-in is waiting for the user code {user_code:?}: it is unknown, expired or already answered"
        ))
    })?;
    record.decision = match approval {
        Some(approval) => Decision::Approved(approval),
        None => Decision::Denied,
    };
    Ok(())
}

/// Answering device sign-ins from tests, without a browser.
impl Emulator {
    /// Approves the device sign-in showing `user_code` as the user with `email`, as if they had
    /// entered the code on the verification page, signed in and pressed "Approve". The device's
    /// next poll gets the tokens. A member of organizations signs in to the first one. No
    /// password, email verification or MFA step is asked: use the verification page (its
    /// `verification_uri`) to test those.
    ///
    /// The same as `POST /__emulator/device/approve` `{"user_code", "email"}`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authkit_emulator::{Emulator, SeedUser};
    ///
    /// let emulator = Emulator::builder()
    ///     .seed_user(SeedUser::new("ada@example.com"))
    ///     .start()
    ///     .await?;
    /// # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
    /// let http = reqwest::Client::new();
    /// let device: serde_json::Value = http
    ///     .post(format!("{}/user_management/authorize/device", emulator.base_url()))
    ///     .json(&serde_json::json!({ "client_id": emulator.client_id() }))
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// emulator.approve_device(device["user_code"].as_str().unwrap(), "ada@example.com")?;
    /// let auth: serde_json::Value = http
    ///     .post(format!("{}/user_management/authenticate", emulator.base_url()))
    ///     .json(&serde_json::json!({
    ///         "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
    ///         "client_id": emulator.client_id(),
    ///         "device_code": device["device_code"],
    ///     }))
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(auth["user"]["email"], "ada@example.com");
    /// # Ok(()) }
    /// ```
    pub fn approve_device(&self, user_code: &str, email: &str) -> Result<(), EmulatorError> {
        decide_by_user_code(&self.state, user_code, Some(email))
    }

    /// Denies the device sign-in showing `user_code`, as if the user had pressed "Deny" on the
    /// verification page: the device's next poll gets `access_denied`.
    ///
    /// The same as `POST /__emulator/device/deny` `{"user_code"}`.
    pub fn deny_device(&self, user_code: &str) -> Result<(), EmulatorError> {
        decide_by_user_code(&self.state, user_code, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_read_back_however_they_are_typed() {
        let code = new_user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(
            code.bytes()
                .all(|b| b == b'-' || USER_CODE_ALPHABET.contains(&b))
        );
        assert_eq!(normalize_user_code(&code.to_lowercase()), code);
        assert_eq!(normalize_user_code(&code.replace('-', " ")), code);
        assert_eq!(normalize_user_code("bcdf"), "BCDF");
    }
}
