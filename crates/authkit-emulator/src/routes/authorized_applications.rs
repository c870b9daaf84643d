//! The applications a user authorized (WorkOS Connect OAuth applications):
//! `GET /user_management/users/{user_id}/authorized_applications` and
//! `DELETE .../authorized_applications/{application_id}`, which revokes the authorization.
//! Authorizations come from the seed
//! ([`SeedUser::authorized_applications`](crate::SeedUser::authorized_applications)).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde_json::{Value, json};

use crate::SharedState;
use crate::http::{ApiError, Query};
use crate::store::{AuthorizedApplicationRec, ListQuery, list_page, ts};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/user_management/users/{user_id}/authorized_applications",
            get(list),
        )
        .route(
            "/user_management/users/{user_id}/authorized_applications/{application_id}",
            delete(remove),
        )
}

/// The spec's `authorized_connect_application`, its application an OAuth `ConnectApplication`.
fn authorized_application_json(rec: &AuthorizedApplicationRec) -> Value {
    let mut application = json!({
        "object": "connect_application",
        "id": rec.application_id,
        "client_id": rec.client_id,
        "description": rec.description,
        "name": rec.name,
        "scopes": rec.scopes,
        "created_at": ts(rec.created_at),
        "updated_at": ts(rec.updated_at),
        "application_type": "oauth",
        "redirect_uris": rec.redirect_uris.iter().enumerate()
            .map(|(i, uri)| json!({ "uri": uri, "default": i == 0 }))
            .collect::<Vec<_>>(),
        "uses_pkce": true,
        "is_first_party": false,
    });
    match &rec.organization_id {
        Some(org) => {
            application["was_dynamically_registered"] = json!(false);
            application["organization_id"] = json!(org);
        }
        None => application["was_dynamically_registered"] = json!(true),
    }
    let mut out = json!({
        "object": "authorized_connect_application",
        "id": rec.id,
        "granted_scopes": rec.granted_scopes,
        "application": application,
    });
    if let Some(resource) = &rec.oauth_resource {
        out["oauth_resource"] = json!(resource);
    }
    out
}

async fn list(
    State(state): State<SharedState>,
    Path(user_id): Path<String>,
    Query(page): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    if store.users.get(&user_id).is_none() {
        return Err(ApiError::not_found("User", &user_id));
    }
    let rows = store
        .authorized_applications
        .iter()
        .filter(|a| a.user_id == user_id);
    list_page(rows, &page, authorized_application_json).map(axum::Json)
}

async fn remove(
    State(state): State<SharedState>,
    Path((user_id, application_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let mut store = state.store();
    if store.users.get(&user_id).is_none() {
        return Err(ApiError::not_found("User", &user_id));
    }
    let id = store
        .authorized_applications
        .find(|a| a.user_id == user_id && a.application_id == application_id)
        .map(|a| a.id.clone())
        .ok_or_else(|| ApiError::not_found("Authorized application", &application_id))?;
    store.authorized_applications.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}
