//! `GET /user_management/users/{id}/identities`: the OAuth identities linked to a user, a bare
//! JSON array. The emulator's hosted page signs in with email and password only, so identities
//! come from the seed ([`SeedUser::identities`](crate::SeedUser::identities)).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use crate::SharedState;
use crate::http::ApiError;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/user_management/users/{id}/identities", get(list))
}

async fn list(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    if store.users.get(&id).is_none() {
        return Err(ApiError::not_found("User", &id));
    }
    let identities: Vec<Value> = store
        .identities
        .iter()
        .filter(|i| i.user_id == id)
        .map(|i| json!({ "idp_id": i.idp_id, "type": "OAuth", "provider": i.provider }))
        .collect();
    Ok(axum::Json(Value::Array(identities)))
}
