//! `/user_management/password_reset`: create (and email) a reset link, get it back, and
//! confirm it with a new password.
//!
//! Tokens are single use and live one hour of emulator time. The emailed link,
//! `password_reset_url`, is `{emulator base URL}/reset-password?token={token}`: it stands for
//! your app's reset page, configured in the WorkOS dashboard (the emulator does not serve it).
//! A reset sets the password, marks the email verified and revokes all the user's sessions.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::users::check_password_strength;
use crate::http::{ApiError, Json};
use crate::outbox::{Email, EmailKind};
use crate::store::{PasswordResetRec, new_id, random_token, ts};
use crate::{SharedState, State as EmulatorState};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/password_reset", post(create))
        .route("/user_management/password_reset/confirm", post(confirm))
        .route("/user_management/password_reset/{id}", get(read))
}

/// How long a reset token is valid.
const PASSWORD_RESET_TTL: time::Duration = time::Duration::hours(1);

/// The emailed link (stands for the app's reset page).
fn password_reset_url(state: &EmulatorState, token: &str) -> String {
    let mut url = format!("{}/reset-password?", state.config.base_url);
    url.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .finish(),
    );
    url
}

/// The spec's `PasswordReset` (it has no `updated_at`).
fn password_reset_json(state: &EmulatorState, rec: &PasswordResetRec) -> Value {
    json!({
        "object": "password_reset",
        "id": rec.id,
        "user_id": rec.user_id,
        "email": rec.email,
        "password_reset_token": rec.token,
        "password_reset_url": password_reset_url(state, &rec.token),
        "expires_at": ts(rec.expires_at),
        "created_at": ts(rec.created_at),
    })
}

#[derive(Deserialize)]
struct CreateBody {
    email: String,
}

async fn create(
    State(state): State<SharedState>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let email = body.email.trim();
    let now = state.now();
    let mut store = state.store();
    let user = store
        .users
        .find(|u| u.email.eq_ignore_ascii_case(email))
        .ok_or_else(|| ApiError::not_found("User with email", email))?;
    let rec = PasswordResetRec {
        id: new_id("password_reset"),
        user_id: user.id.clone(),
        email: user.email.clone(),
        token: random_token(32),
        expires_at: now + PASSWORD_RESET_TTL,
        used: false,
        created_at: now,
    };
    state.outbox.send(Email {
        to: rec.email.clone(),
        kind: EmailKind::PasswordReset,
        subject: "Reset your password".to_owned(),
        code: None,
        link: Some(password_reset_url(&state, &rec.token)),
        token: Some(rec.token.clone()),
        sent_at: now,
    });
    let out = password_reset_json(&state, &rec);
    store.emit(
        "password_reset.created",
        crate::webhooks::without_secrets(out.clone()),
        now,
    );
    store.password_resets.insert(rec);
    Ok((StatusCode::CREATED, axum::Json(out)))
}

async fn read(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let rec = store
        .password_resets
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Password reset", &id))?;
    Ok(axum::Json(password_reset_json(&state, rec)))
}

#[derive(Deserialize)]
struct ConfirmBody {
    token: String,
    new_password: String,
}

/// 400 `password_reset_error` with one `{code, message}` in `errors`.
fn reset_error(code: &str, message: &str) -> ApiError {
    ApiError::code(
        StatusCode::BAD_REQUEST,
        "password_reset_error",
        "The password could not be reset.",
    )
    .with(json!({ "errors": [{ "code": code, "message": message }] }))
}

async fn confirm(
    State(state): State<SharedState>,
    Json(body): Json<ConfirmBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let rec = store
        .password_resets
        .find(|r| {
            use subtle::ConstantTimeEq;
            bool::from(r.token.as_bytes().ct_eq(body.token.as_bytes()))
        })
        .ok_or_else(|| {
            reset_error(
                "password_reset_token_invalid",
                "The password reset token is invalid.",
            )
        })?;
    if rec.used {
        return Err(reset_error(
            "password_reset_token_previously_used",
            "The password reset token has already been used.",
        ));
    }
    if now >= rec.expires_at {
        return Err(reset_error(
            "password_reset_token_expired",
            "The password reset token has expired.",
        ));
    }
    // The strength policy of the users endpoints, reported in this endpoint's error shape.
    if let Err(weak) = check_password_strength(&body.new_password) {
        let errors = weak.body.get("errors").cloned().unwrap_or(json!([]));
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "password_reset_error",
            "The new password does not meet the strength requirements.",
        )
        .with(json!({ "errors": errors })));
    }
    let (rec_id, user_id) = (rec.id.clone(), rec.user_id.clone());
    let user = store
        .users
        .get_mut(&user_id)
        .ok_or_else(|| ApiError::not_found("User", &user_id))?;
    user.password = Some(body.new_password);
    user.email_verified = true;
    user.updated_at = now;
    let user_json = user.to_json();
    if let Some(rec) = store.password_resets.get_mut(&rec_id) {
        rec.used = true;
    }
    if let Some(rec) = store.password_resets.get(&rec_id) {
        let data = crate::webhooks::without_secrets(password_reset_json(&state, rec));
        store.emit("password_reset.succeeded", data, now);
    }
    // A reset ends every session of the user.
    let mut revoked = Vec::new();
    for session in store
        .auth
        .sessions
        .iter_mut()
        .filter(|s| s.user_id == user_id && s.status == "active")
    {
        session.status = "revoked".to_owned();
        session.ended_at = Some(now);
        session.updated_at = now;
        revoked.push(session.to_json(now));
    }
    for session in revoked {
        store.emit("session.revoked", session, now);
    }
    tracing::info!(user_id = %user_id, "emulator: password reset; the user's sessions are revoked");
    Ok(axum::Json(json!({ "user": user_json })))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::Emulator;
    use crate::auth::SessionRec;
    use crate::store::new_id;

    async fn post(emulator: &Emulator, path: &str, body: Value) -> Value {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::Client::new()
            .post(format!("{}{path}", emulator.base_url()))
            .bearer_auth(emulator.api_key())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// A reset revokes every active session of the user, and only theirs. (Sessions come from
    /// signing in; they are seeded here so the reset can be checked on its own.)
    #[tokio::test]
    async fn a_reset_revokes_the_users_sessions() {
        let emulator = Emulator::start().await.unwrap();
        let users = "/user_management/users";
        let ada = post(&emulator, users, json!({ "email": "ada@example.com" })).await;
        let grace = post(&emulator, users, json!({ "email": "grace@example.com" })).await;
        let (ada, grace) = (ada["id"].as_str().unwrap(), grace["id"].as_str().unwrap());
        let seed = |user_id: &str| {
            let now = emulator.state.now();
            let session = SessionRec {
                id: new_id("session"),
                user_id: user_id.to_owned(),
                organization_id: None,
                status: "active".to_owned(),
                authentication_method: "Password".to_owned(),
                ip_address: None,
                user_agent: None,
                impersonator: None,
                expires_at: now + time::Duration::days(7),
                ended_at: None,
                created_at: now,
                updated_at: now,
            };
            let id = session.id.clone();
            emulator.state.store().auth.sessions.insert(session);
            id
        };
        let ada_sessions = [seed(ada), seed(ada)];
        let grace_session = seed(grace);

        let reset = post(
            &emulator,
            "/user_management/password_reset",
            json!({ "email": "ada@example.com" }),
        )
        .await;
        let token = reset["password_reset_token"].as_str().unwrap();
        post(
            &emulator,
            "/user_management/password_reset/confirm",
            json!({ "token": token, "new_password": "a brand new passphrase" }),
        )
        .await;

        let store = emulator.state.store();
        for id in &ada_sessions {
            let session = store.auth.sessions.get(id).unwrap();
            assert_eq!(session.status, "revoked");
            assert!(session.ended_at.is_some());
        }
        assert_eq!(
            store.auth.sessions.get(&grace_session).unwrap().status,
            "active"
        );
        assert_eq!(
            store.users.get(ada).unwrap().password.as_deref(),
            Some("a brand new passphrase")
        );
    }
}
