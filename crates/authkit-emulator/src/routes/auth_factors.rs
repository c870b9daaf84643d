//! MFA factors: enroll a TOTP factor and list them
//! (`/user_management/users/{id}/auth_factors`), and challenge one
//! (`POST /auth/factors/{id}/challenge`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::SharedState;
use crate::auth::{ChallengeRec, FactorRec, new_totp_secret};
use crate::http::{ApiError, Json, Query};
use crate::store::{ListQuery, Store, list_page, new_id, ts};

/// How long a challenge can be completed.
const CHALLENGE_TTL: Duration = Duration::minutes(10);
/// The issuer shown in authenticator apps when none is given (WorkOS uses the team name).
const DEFAULT_ISSUER: &str = "WorkOS Emulator";

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/user_management/users/{id}/auth_factors",
            get(list).post(enroll),
        )
        .route("/auth/factors/{id}/challenge", post(challenge))
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::message(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The factor as listed (no secrets).
fn factor_json(factor: &FactorRec) -> Value {
    json!({
        "object": "authentication_factor",
        "id": factor.id,
        "type": "totp",
        "user_id": factor.user_id,
        "totp": { "issuer": factor.totp_issuer, "user": factor.totp_user },
        "created_at": ts(factor.created_at),
        "updated_at": ts(factor.updated_at),
    })
}

fn challenge_json(challenge: &ChallengeRec) -> Value {
    json!({
        "object": "authentication_challenge",
        "id": challenge.id,
        "authentication_factor_id": challenge.factor_id,
        "expires_at": ts(challenge.expires_at),
        "created_at": ts(challenge.created_at),
        "updated_at": ts(challenge.updated_at),
    })
}

fn new_challenge(store: &mut Store, factor_id: &str, now: OffsetDateTime) -> Value {
    let challenge = ChallengeRec {
        id: new_id("auth_challenge"),
        factor_id: factor_id.to_owned(),
        expires_at: now + CHALLENGE_TTL,
        used: false,
        created_at: now,
        updated_at: now,
    };
    let json = challenge_json(&challenge);
    store.auth.challenges.insert(challenge);
    json
}

/// `otpauth://totp/{issuer}:{user}?secret=...&issuer=...`, as authenticator apps read it.
fn otpauth_uri(issuer: &str, user: &str, secret: &str) -> String {
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(user),
        enc(issuer)
    )
}

/// A `data:` URL of an SVG QR code of `text`.
fn qr_data_url(text: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| unprocessable(format!("The TOTP URI cannot be put in a QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(svg)
    ))
}

#[derive(Deserialize)]
struct EnrollBody {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    totp_issuer: Option<String>,
    #[serde(default)]
    totp_user: Option<String>,
    #[serde(default)]
    totp_secret: Option<String>,
}

async fn enroll(
    State(state): State<SharedState>,
    Path(user_id): Path<String>,
    Json(body): Json<EnrollBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    if body.kind != "totp" {
        return Err(unprocessable(format!(
            "Only 'totp' factors can be enrolled, not '{}'.",
            body.kind
        )));
    }
    let secret = match body.totp_secret {
        Some(secret) => {
            let normalized = secret.trim().replace(' ', "").to_ascii_uppercase();
            let bytes = totp_rs::Secret::Encoded(normalized.clone()).to_bytes();
            match bytes {
                Ok(b) if b.len() >= 10 => normalized,
                _ => {
                    return Err(unprocessable(
                        "totp_secret must be a Base32 secret of at least 80 bits.",
                    ));
                }
            }
        }
        None => new_totp_secret(),
    };
    let now = state.now();
    let mut store = state.store();
    let email = store
        .users
        .get(&user_id)
        .map(|u| u.email.clone())
        .ok_or_else(|| unprocessable(format!("User not found: '{user_id}'.")))?;
    let factor = FactorRec {
        id: new_id("auth_factor"),
        user_id,
        totp_issuer: body
            .totp_issuer
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
        totp_user: body.totp_user.filter(|s| !s.is_empty()).unwrap_or(email),
        secret,
        created_at: now,
        updated_at: now,
    };
    let uri = otpauth_uri(&factor.totp_issuer, &factor.totp_user, &factor.secret);
    let mut factor_body = factor_json(&factor);
    factor_body["totp"]["secret"] = json!(factor.secret);
    factor_body["totp"]["uri"] = json!(uri);
    factor_body["totp"]["qr_code"] = json!(qr_data_url(&uri)?);
    let factor_id = factor.id.clone();
    store.auth.factors.insert(factor);
    let challenge = new_challenge(&mut store, &factor_id, now);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "authentication_factor": factor_body,
            "authentication_challenge": challenge,
        })),
    ))
}

async fn list(
    State(state): State<SharedState>,
    Path(user_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    if store.users.get(&user_id).is_none() {
        return Err(unprocessable(format!("User not found: '{user_id}'.")));
    }
    let rows = store.auth.factors.iter().filter(|f| f.user_id == user_id);
    list_page(rows, &q, factor_json).map(axum::Json)
}

#[derive(Deserialize)]
struct ChallengeBody {
    #[serde(default)]
    #[allow(dead_code)] // SMS only; TOTP factors ignore it
    sms_template: Option<String>,
}

async fn challenge(
    State(state): State<SharedState>,
    Path(factor_id): Path<String>,
    Json(_body): Json<ChallengeBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let now = state.now();
    let mut store = state.store();
    if store.auth.factors.get(&factor_id).is_none() {
        return Err(ApiError::not_found("Authentication Factor", &factor_id));
    }
    let challenge = new_challenge(&mut store, &factor_id, now);
    Ok((StatusCode::CREATED, axum::Json(challenge)))
}
