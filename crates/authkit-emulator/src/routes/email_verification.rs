//! Email verification: `POST /user_management/users/{id}/email_verification/send` and
//! `.../confirm`, and `GET /user_management/email_verification/{id}`.
//!
//! Codes are 6 digits and live 10 minutes of emulator time. Only the user's newest code is
//! accepted; sending a new one supersedes the older ones.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::http::{ApiError, Json};
use crate::outbox::{Email, EmailKind};
use crate::store::{EmailVerificationRec, Store, new_id, random_code, ts};
use crate::{SharedState, State as EmulatorState};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/user_management/users/{id}/email_verification/send",
            post(send),
        )
        .route(
            "/user_management/users/{id}/email_verification/confirm",
            post(confirm),
        )
        .route("/user_management/email_verification/{id}", get(read))
}

/// How long a verification code is valid.
const EMAIL_VERIFICATION_TTL: time::Duration = time::Duration::minutes(10);

/// The spec's `EmailVerification`.
fn email_verification_json(rec: &EmailVerificationRec) -> Value {
    json!({
        "object": "email_verification",
        "id": rec.id,
        "user_id": rec.user_id,
        "email": rec.email,
        "code": rec.code,
        "expires_at": ts(rec.expires_at),
        "created_at": ts(rec.created_at),
        "updated_at": ts(rec.updated_at),
    })
}

/// Creates a verification code for the user and emails it. Returns the record id, or `None`
/// when there is no such user.
pub(crate) fn create_email_verification(
    state: &EmulatorState,
    store: &mut Store,
    user_id: &str,
    now: OffsetDateTime,
) -> Option<String> {
    let email = store.users.get(user_id)?.email.clone();
    let rec = EmailVerificationRec {
        id: new_id("email_verification"),
        user_id: user_id.to_owned(),
        email,
        code: random_code(),
        expires_at: now + EMAIL_VERIFICATION_TTL,
        used: false,
        created_at: now,
        updated_at: now,
    };
    state.outbox.send(Email {
        to: rec.email.clone(),
        kind: EmailKind::EmailVerification,
        subject: "Verify your email address".to_owned(),
        code: Some(rec.code.clone()),
        link: None,
        token: None,
        sent_at: now,
    });
    let id = rec.id.clone();
    store.emit("email_verification.created", rec.event_json(), now);
    store.email_verifications.insert(rec);
    Some(id)
}

async fn send(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let user = store
        .users
        .get(&id)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    if user.email_verified {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "email_already_verified",
            "The user's email address is already verified.",
        ));
    }
    let user_json = user.to_json();
    create_email_verification(&state, &mut store, &id, now)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    Ok(axum::Json(json!({ "user": user_json })))
}

#[derive(Deserialize)]
struct ConfirmBody {
    code: String,
}

fn bad(code: &str, message: &str) -> ApiError {
    ApiError::code(StatusCode::BAD_REQUEST, code, message)
}

async fn confirm(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(body): Json<ConfirmBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let user = store
        .users
        .get(&id)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    if user.email_verified {
        return Err(bad(
            "email_previously_verified",
            "The user's email address was already verified.",
        ));
    }
    let email = user.email.clone();
    // Only codes sent to the user's current address count; the newest supersedes the rest.
    let newest = store
        .email_verifications
        .iter()
        .rev()
        .find(|r| r.user_id == id && r.email.eq_ignore_ascii_case(&email))
        .map(|r| r.id.clone());
    let matching = store
        .email_verifications
        .iter()
        .rev()
        .find(|r| {
            use subtle::ConstantTimeEq;
            r.user_id == id && bool::from(r.code.as_bytes().ct_eq(body.code.trim().as_bytes()))
        })
        .cloned();
    let Some(rec) = matching else {
        return Err(bad(
            "email_verification_code_incorrect",
            "The email verification code is incorrect.",
        ));
    };
    if rec.used {
        return Err(bad(
            "email_verification_code_previously_used",
            "The email verification code has already been used.",
        ));
    }
    if now >= rec.expires_at {
        return Err(bad(
            "email_verification_code_expired",
            "The email verification code has expired.",
        ));
    }
    if newest.as_deref() != Some(rec.id.as_str()) {
        return Err(bad(
            "email_verification_code_incorrect",
            "The email verification code is incorrect (a newer code was sent).",
        ));
    }
    if let Some(rec) = store.email_verifications.get_mut(&rec.id) {
        rec.used = true;
        rec.updated_at = now;
    }
    let user = store
        .users
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    user.email_verified = true;
    user.updated_at = now;
    Ok(axum::Json(json!({ "user": user.to_json() })))
}

async fn read(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let rec = store
        .email_verifications
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Email verification", &id))?;
    Ok(axum::Json(email_verification_json(rec)))
}

impl crate::Emulator {
    /// The id of the newest email verification of a user (sent by
    /// `POST /user_management/users/{id}/email_verification/send` or by a sign-in that needs
    /// verification), to read it back with `GET /user_management/email_verification/{id}`.
    pub fn latest_email_verification_id(&self, user_id: &str) -> Option<String> {
        self.state
            .store()
            .email_verifications
            .iter()
            .rev()
            .find(|r| r.user_id == user_id)
            .map(|r| r.id.clone())
    }
}
