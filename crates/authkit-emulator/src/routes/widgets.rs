//! `POST /widgets/token`: a token for WorkOS's embeddable widgets (users table, SSO setup, API
//! keys, ...), scoped to an organization, a user and the widgets' scopes.
//!
//! The token is an RS256 JWT signed with the emulator's signing key (the JWKS verifies it),
//! valid for an hour: `sub` is the user, `org_id` the organization, `scopes` the scopes asked
//! for. The user must be an active member of the organization (else 422).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::SharedState;
use crate::auth::tokens::sign_jwt;
use crate::http::{ApiError, Json};
use crate::store::new_id;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/widgets/token", post(issue))
}

/// The scopes the spec's `WidgetSessionTokenDto` allows.
const SCOPES: &[&str] = &[
    "widgets:users-table:manage",
    "widgets:domain-verification:manage",
    "widgets:sso:manage",
    "widgets:api-keys:manage",
    "widgets:dsync:manage",
    "widgets:audit-log-streaming:manage",
];

/// How long a widget token lives.
const TTL_SECONDS: i64 = 3600;

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    organization_id: Option<Value>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    org_id: &'a str,
    scopes: &'a [String],
    jti: String,
    iat: i64,
    exp: i64,
}

/// The spec's 400 for a body that fails validation: `{message: [...], error: "Bad Request"}`.
fn bad_request(messages: Vec<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        body: json!({ "message": messages, "error": "Bad Request" }),
    }
}

async fn issue(
    State(state): State<SharedState>,
    Json(body): Json<Body>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let mut problems = Vec::new();
    let organization_id = match &body.organization_id {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            problems.push("organization_id must be a string".to_owned());
            String::new()
        }
    };
    if body.scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        problems.push(format!(
            "each value in scopes must be one of the following values: {}",
            SCOPES.join(", ")
        ));
    }
    if !problems.is_empty() {
        return Err(bad_request(problems));
    }
    {
        let store = state.store();
        if store.organizations.get(&organization_id).is_none() {
            return Err(ApiError::not_found("Organization", &organization_id));
        }
        if let Some(user) = &body.user_id {
            if store.users.get(user).is_none() {
                return Err(ApiError::not_found("User", user));
            }
            let member = store
                .memberships
                .find(|m| {
                    &m.user_id == user
                        && m.organization_id == organization_id
                        && m.status == "active"
                })
                .is_some();
            if !member {
                return Err(ApiError::message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "User '{user}' has no active membership in organization '{organization_id}'."
                    ),
                ));
            }
        }
    }
    let now = state.now().unix_timestamp();
    let claims = Claims {
        iss: &state.config.issuer,
        sub: body.user_id.as_deref(),
        org_id: &organization_id,
        scopes: &body.scopes,
        jti: new_id("widget_session"),
        iat: now,
        exp: now + TTL_SECONDS,
    };
    let token = sign_jwt(&state, &claims)?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "token": token }))))
}
