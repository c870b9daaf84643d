//! API keys that an app's customers use to call the app (not the emulator's own API key):
//! `POST /api_keys/validations`, `GET/POST /organizations/{id}/api_keys`,
//! `GET/POST /user_management/users/{id}/api_keys`, `DELETE /api_keys/{id}`.
//!
//! A created key's value (`sk_` and 48 random letters and digits) is answered once; the
//! emulator keeps only its SHA-256 digest and the obfuscated form (`sk_...` and the last four
//! characters). Validating an unknown or deleted value answers `{"api_key": null}`, as WorkOS
//! does; a valid one records `last_used_at`. A user key works while its user is an active
//! member of its organization. With a role catalogue in the seed, a key's permissions must be
//! among those its roles grant (else 422).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::SharedState;
use crate::http::{ApiError, Json, Query};
use crate::roles::Roles;
use crate::store::{ApiKeyRec, ListQuery, Store, api_key_digest, list_page, new_api_key_value};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api_keys/validations", post(validate))
        .route("/api_keys/{id}", delete(remove))
        .route(
            "/organizations/{id}/api_keys",
            get(list_for_organization).post(create_for_organization),
        )
        .route(
            "/user_management/users/{id}/api_keys",
            get(list_for_user).post(create_for_user),
        )
}

#[derive(Deserialize)]
struct ValidateBody {
    value: String,
}

/// Whether a user key's owner is still an active member of its organization.
fn usable(store: &Store, key: &ApiKeyRec) -> bool {
    store.organizations.get(&key.organization_id).is_some()
        && key.user_id.as_deref().is_none_or(|user| {
            store
                .memberships
                .find(|m| {
                    m.user_id == user
                        && m.organization_id == key.organization_id
                        && m.status == "active"
                })
                .is_some()
        })
}

async fn validate(
    State(state): State<SharedState>,
    Json(body): Json<ValidateBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let digest = api_key_digest(&body.value);
    let mut store = state.store();
    let found = store
        .api_keys
        .find(|k| {
            use subtle::ConstantTimeEq;
            bool::from(k.digest.ct_eq(&digest))
        })
        .filter(|k| usable(&store, k))
        .map(|k| k.id.clone());
    let Some(id) = found else {
        return Ok(axum::Json(json!({ "api_key": null })));
    };
    let key = store
        .api_keys
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("API key", &id))?;
    key.last_used_at = Some(now);
    Ok(axum::Json(json!({ "api_key": key.to_json() })))
}

async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store()
        .api_keys
        .remove(&id)
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| ApiError::not_found("API key", &id))
}

#[derive(Deserialize)]
struct CreateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    organization_id: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

/// The `{message, errors: [{code, field}]}` of a refused API key body.
fn invalid(status: StatusCode, field: &str, code: &str, message: &str) -> ApiError {
    ApiError {
        status,
        body: json!({
            "message": message,
            "errors": [{ "code": code, "field": field }],
        }),
    }
}

/// The checked name and permissions of a create call.
fn checked(
    roles: &Roles,
    body: &CreateBody,
    status: StatusCode,
) -> Result<(String, Vec<String>), ApiError> {
    let name = body.name.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(invalid(
            status,
            "name",
            "required",
            "Validation failed: name is required.",
        ));
    }
    let mut permissions: Vec<String> = Vec::new();
    for p in &body.permissions {
        if !roles.knows_permission(p) {
            return Err(invalid(
                status,
                "permissions",
                "invalid",
                &format!("Validation failed: permission {p:?} does not exist."),
            ));
        }
        if !permissions.contains(p) {
            permissions.push(p.clone());
        }
    }
    Ok((name.to_owned(), permissions))
}

/// Stores a new key and answers it with its value (the only time the value is shown).
fn issue(
    store: &mut Store,
    name: &str,
    organization_id: &str,
    user_id: Option<&str>,
    permissions: Vec<String>,
    now: time::OffsetDateTime,
) -> (StatusCode, axum::Json<Value>) {
    let value = new_api_key_value();
    let key = ApiKeyRec::new(&value, name, organization_id, user_id, permissions, now);
    let mut out = key.to_json();
    out["value"] = Value::String(value);
    store.api_keys.insert(key);
    (StatusCode::CREATED, axum::Json(out))
}

async fn create_for_organization(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let now = state.now();
    let mut store = state.store();
    if store.organizations.get(&org).is_none() {
        return Err(ApiError::not_found("Organization", &org));
    }
    let (name, permissions) =
        checked(&state.config.roles, &body, StatusCode::UNPROCESSABLE_ENTITY)?;
    Ok(issue(&mut store, &name, &org, None, permissions, now))
}

async fn create_for_user(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let now = state.now();
    let mut store = state.store();
    if store.users.get(&user).is_none() {
        return Err(ApiError::not_found("User", &user));
    }
    let (name, permissions) = checked(&state.config.roles, &body, StatusCode::BAD_REQUEST)?;
    let Some(org) = body.organization_id.as_deref().filter(|o| !o.is_empty()) else {
        return Err(invalid(
            StatusCode::BAD_REQUEST,
            "organization_id",
            "required",
            "Validation failed: organization_id is required.",
        ));
    };
    if store.organizations.get(org).is_none() {
        return Err(ApiError::not_found("Organization", org));
    }
    let member = store
        .memberships
        .find(|m| m.user_id == user && m.organization_id == org && m.status == "active")
        .is_some();
    if !member {
        return Err(ApiError::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("User '{user}' has no active membership in organization '{org}'."),
        ));
    }
    Ok(issue(&mut store, &name, org, Some(&user), permissions, now))
}

async fn list_for_organization(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    if store.organizations.get(&org).is_none() {
        return Err(ApiError::not_found("Organization", &org));
    }
    let rows = store
        .api_keys
        .iter()
        .filter(|k| k.user_id.is_none() && k.organization_id == org);
    list_page(rows, &q, ApiKeyRec::to_json).map(axum::Json)
}

#[derive(Deserialize)]
struct ListUserKeysQuery {
    organization_id: Option<String>,
    #[serde(flatten)]
    page: ListQuery,
}

async fn list_for_user(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    Query(q): Query<ListUserKeysQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    if store.users.get(&user).is_none() {
        return Err(ApiError::not_found("User", &user));
    }
    let rows = store.api_keys.iter().filter(|k| {
        k.user_id.as_deref() == Some(user.as_str())
            && q.organization_id
                .as_deref()
                .is_none_or(|o| k.organization_id == o)
    });
    list_page(rows, &q.page, ApiKeyRec::to_json).map(axum::Json)
}
