//! `/user_management/magic_auth`: create (and email) a Magic Auth code, get it back.
//!
//! As WorkOS does, creating a code for an email no user has creates that user (with an
//! unverified email). Codes are 6 digits and live 10 minutes of emulator time.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::invitations::effective_state;
use super::users::valid_email;
use crate::http::{ApiError, Json};
use crate::outbox::{Email, EmailKind};
use crate::store::{MagicAuthRec, Store, UserRec, new_id, random_code, ts};
use crate::{SharedState, State as EmulatorState};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/magic_auth", post(create))
        .route("/user_management/magic_auth/{id}", get(read))
}

/// How long a Magic Auth code is valid.
pub(crate) const MAGIC_AUTH_TTL: time::Duration = time::Duration::minutes(10);

/// The spec's `MagicAuth`.
fn magic_auth_json(rec: &MagicAuthRec) -> Value {
    json!({
        "object": "magic_auth",
        "id": rec.id,
        "user_id": rec.user_id,
        "email": rec.email,
        "code": rec.code,
        "expires_at": ts(rec.expires_at),
        "created_at": ts(rec.created_at),
        "updated_at": ts(rec.updated_at),
    })
}

#[derive(Deserialize)]
struct CreateBody {
    email: String,
    #[serde(default)]
    invitation_token: Option<String>,
}

/// Creates a code for `email` (creating the user if needed) and emails it. Returns the record.
pub(crate) fn create_magic_auth(
    state: &EmulatorState,
    store: &mut Store,
    email: &str,
    invitation_token: Option<String>,
    now: OffsetDateTime,
) -> MagicAuthRec {
    let user_id = match store.users.find(|u| u.email.eq_ignore_ascii_case(email)) {
        Some(user) => user.id.clone(),
        None => {
            let user = UserRec::new(email, now);
            let id = user.id.clone();
            store.users.insert(user);
            id
        }
    };
    let rec = MagicAuthRec {
        id: new_id("magic_auth"),
        user_id,
        email: email.to_owned(),
        code: random_code(),
        invitation_token,
        expires_at: now + MAGIC_AUTH_TTL,
        used: false,
        created_at: now,
        updated_at: now,
    };
    state.outbox.send(Email {
        to: rec.email.clone(),
        kind: EmailKind::MagicAuth,
        subject: "Your sign-in code".to_owned(),
        code: Some(rec.code.clone()),
        link: None,
        token: None,
        sent_at: now,
    });
    store.emit(
        "magic_auth.created",
        crate::webhooks::without_secrets(magic_auth_json(&rec)),
        now,
    );
    store.magic_auths.insert(rec.clone());
    rec
}

async fn create(
    State(state): State<SharedState>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let email = body.email.trim().to_owned();
    if !valid_email(&email) {
        return Err(ApiError::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "email must be a valid email address.",
        ));
    }
    let now = state.now();
    let mut store = state.store();
    if let Some(token) = &body.invitation_token {
        let valid = store
            .invitations
            .find(|i| &i.token == token)
            .is_some_and(|i| {
                i.email.eq_ignore_ascii_case(&email) && effective_state(i, now) == "pending"
            });
        if !valid {
            return Err(ApiError::oauth(
                "invitation_invalid",
                "The invitation token is invalid, not pending, or for another email address.",
            ));
        }
    }
    let rec = create_magic_auth(&state, &mut store, &email, body.invitation_token, now);
    Ok((StatusCode::CREATED, axum::Json(magic_auth_json(&rec))))
}

async fn read(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let rec = store
        .magic_auths
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Magic Auth", &id))?;
    Ok(axum::Json(magic_auth_json(rec)))
}
