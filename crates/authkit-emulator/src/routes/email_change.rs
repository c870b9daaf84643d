//! Email change: `POST /user_management/users/{id}/email_change/send` emails a code to the new
//! address (it lands in the outbox as [`EmailKind::EmailChange`]); `.../confirm` with that code
//! makes it the user's email (verified: the code proved the address) and emits `user.updated`.
//!
//! Codes are 6 digits and live 10 minutes of emulator time; only the newest code of a user
//! counts, once, and five wrong codes end the change (`email_change_too_many_attempts` until
//! a new code is sent).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::users::valid_email;
use crate::SharedState;
use crate::http::{ApiError, Json};
use crate::outbox::{Email, EmailKind};
use crate::store::{EmailChangeRec, new_id, random_code, ts};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/users/{id}/email_change/send", post(send))
        .route(
            "/user_management/users/{id}/email_change/confirm",
            post(confirm),
        )
}

/// How long a code is valid.
const EMAIL_CHANGE_TTL: time::Duration = time::Duration::minutes(10);
/// Wrong codes allowed before the change ends.
const MAX_ATTEMPTS: u32 = 5;

#[derive(Deserialize)]
struct SendBody {
    new_email: String,
}

fn conflict(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::code(StatusCode::CONFLICT, code, message)
}

async fn send(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(body): Json<SendBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let user = store
        .users
        .get(&id)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    let new_email = body.new_email.trim().to_owned();
    if !valid_email(&new_email) {
        return Err(ApiError::code(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
            format!("'{new_email}' is not a valid email address."),
        ));
    }
    if user.email.eq_ignore_ascii_case(&new_email) {
        return Err(conflict(
            "email_change_not_needed",
            format!("The user's email is already {new_email}."),
        ));
    }
    let user_json = user.to_json();
    if store
        .users
        .find(|u| u.id != id && u.email.eq_ignore_ascii_case(&new_email))
        .is_some()
    {
        return Err(conflict(
            "email_not_available",
            format!("Another user has the email {new_email}."),
        ));
    }
    let rec = EmailChangeRec {
        id: new_id("email_change"),
        user_id: id,
        new_email: new_email.clone(),
        code: random_code(),
        expires_at: now + EMAIL_CHANGE_TTL,
        used: false,
        failed_attempts: 0,
        created_at: now,
    };
    state.outbox.send(Email {
        to: new_email.clone(),
        kind: EmailKind::EmailChange,
        subject: "Confirm your new email address".to_owned(),
        code: Some(rec.code.clone()),
        link: None,
        token: None,
        sent_at: now,
    });
    let out = json!({
        "object": "email_change",
        "user": user_json,
        "new_email": new_email,
        "expires_at": ts(rec.expires_at),
        "created_at": ts(rec.created_at),
    });
    store.email_changes.insert(rec);
    Ok(axum::Json(out))
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
    if store.users.get(&id).is_none() {
        return Err(ApiError::not_found("User", &id));
    }
    let code = body.code.trim();
    let matches = |rec: &EmailChangeRec| {
        use subtle::ConstantTimeEq;
        bool::from(rec.code.as_bytes().ct_eq(code.as_bytes()))
    };
    if store
        .email_changes
        .find(|r| r.user_id == id && r.used && matches(r))
        .is_some()
    {
        return Err(conflict(
            "email_change_code_previously_used",
            "The email change code has already been used.",
        ));
    }
    let no_pending = || {
        conflict(
            "no_pending_email_change",
            "The user has no pending email change.",
        )
    };
    let rec = store
        .email_changes
        .iter()
        .rev()
        .find(|r| r.user_id == id)
        .filter(|r| !r.used)
        .cloned()
        .ok_or_else(no_pending)?;
    if rec.failed_attempts >= MAX_ATTEMPTS {
        return Err(ApiError::code(
            StatusCode::TOO_MANY_REQUESTS,
            "email_change_too_many_attempts",
            "Too many incorrect codes: send a new email change code.",
        ));
    }
    if !matches(&rec) {
        if let Some(rec) = store.email_changes.get_mut(&rec.id) {
            rec.failed_attempts += 1;
        }
        return Err(bad(
            "email_change_code_incorrect",
            "The email change code is incorrect.",
        ));
    }
    if now >= rec.expires_at {
        return Err(bad(
            "email_change_code_expired",
            "The email change code has expired.",
        ));
    }
    if store
        .users
        .find(|u| u.id != id && u.email.eq_ignore_ascii_case(&rec.new_email))
        .is_some()
    {
        return Err(conflict(
            "email_not_available",
            format!("Another user has the email {} now.", rec.new_email),
        ));
    }
    if let Some(rec) = store.email_changes.get_mut(&rec.id) {
        rec.used = true;
    }
    let user = store
        .users
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    user.email = rec.new_email.clone();
    user.email_verified = true;
    user.updated_at = now;
    let user = user.to_json();
    store.emit("user.updated", user.clone(), now);
    Ok(axum::Json(
        json!({ "object": "email_change_confirmation", "user": user }),
    ))
}
