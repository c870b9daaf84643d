//! `GET` and `PUT /user_management/jwt_template`: the template whose claims every access token
//! issued afterwards carries (see the `jwt_template` module for what the emulator renders).
//! Without a template (none set or seeded), `GET` answers 404.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::SharedState;
use crate::http::{ApiError, Json};
use crate::store::{JwtTemplateRec, Store, ts};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/user_management/jwt_template", get(read).put(update))
}

/// The spec's `JwtTemplate`.
fn template_json(rec: &JwtTemplateRec) -> Value {
    json!({
        "object": "jwt_template",
        "content": rec.content,
        "created_at": ts(rec.created_at),
        "updated_at": ts(rec.updated_at),
    })
}

/// The claims the template adds for `user` (the spec's `User` JSON) in the organization, if
/// any. A template that fails to render adds nothing (templates are checked when set).
pub(crate) fn claims_for(
    store: &Store,
    user: &Value,
    organization_id: Option<&str>,
) -> Map<String, Value> {
    let Some(template) = &store.jwt_template else {
        return Map::new();
    };
    let organization = organization_id
        .and_then(|id| store.organizations.get(id))
        .map_or(Value::Null, |o| o.to_json());
    let context = json!({ "user": user, "organization": organization });
    crate::jwt_template::render(&template.content, &context).unwrap_or_else(|err| {
        tracing::warn!(error = %err, "emulator: the JWT template did not render; no custom claims");
        Map::new()
    })
}

async fn read(State(state): State<SharedState>) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let template = store.jwt_template.as_ref().ok_or_else(|| {
        ApiError::message(
            StatusCode::NOT_FOUND,
            "No JWT template is set: set one with PUT /user_management/jwt_template.",
        )
    })?;
    Ok(axum::Json(template_json(template)))
}

#[derive(Deserialize)]
struct UpdateBody {
    content: String,
}

async fn update(
    State(state): State<SharedState>,
    Json(body): Json<UpdateBody>,
) -> Result<axum::Json<Value>, ApiError> {
    crate::jwt_template::check(&body.content).map_err(|problem| {
        ApiError::code(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_parameters",
            format!("The JWT template is invalid: {problem}."),
        )
    })?;
    let now = state.now();
    let mut store = state.store();
    let created_at = store.jwt_template.as_ref().map_or(now, |t| t.created_at);
    let rec = JwtTemplateRec {
        content: body.content,
        created_at,
        updated_at: now,
    };
    let out = template_json(&rec);
    store.jwt_template = Some(rec);
    Ok(axum::Json(out))
}
