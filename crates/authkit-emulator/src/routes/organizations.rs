//! `/organizations`: read the organizations the emulator holds (made by seed data or
//! [`Emulator::create_organization`](crate::Emulator::create_organization)): list, get by id,
//! get by external id. The emulator does not create or change organizations over HTTP.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::Value;

use crate::SharedState;
use crate::http::{ApiError, Query};
use crate::store::{ListQuery, list_page};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/organizations", get(list))
        .route("/organizations/{id}", get(read))
        .route(
            "/organizations/external_id/{external_id}",
            get(by_external_id),
        )
}

async fn list(
    State(state): State<SharedState>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    list_page(store.organizations.iter(), &q, |o| o.to_json()).map(axum::Json)
}

async fn read(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let org = store
        .organizations
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Organization", &id))?;
    Ok(axum::Json(org.to_json()))
}

async fn by_external_id(
    State(state): State<SharedState>,
    Path(external_id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let org = store
        .organizations
        .find(|o| o.external_id.as_deref() == Some(&external_id))
        .ok_or_else(|| ApiError::not_found("Organization", &external_id))?;
    Ok(axum::Json(org.to_json()))
}
