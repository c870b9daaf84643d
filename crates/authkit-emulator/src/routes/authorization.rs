//! `/authorization`: the roles and permissions of the seed's role catalogue (see
//! [`Seed::roles`](crate::Seed::roles); without one, the built-in `admin` and `member`).
//! Read-only: the emulator's roles are fixed at start, and organizations have no custom roles.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use crate::SharedState;
use crate::http::{ApiError, Query};
use crate::store::{ListQuery, list_page};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/authorization/roles", get(roles))
        .route(
            "/authorization/organizations/{organization_id}/roles",
            get(organization_roles),
        )
        .route("/authorization/permissions", get(permissions))
}

async fn roles(State(state): State<SharedState>) -> axum::Json<Value> {
    axum::Json(json!({ "object": "list", "data": state.config.roles.roles_json() }))
}

async fn organization_roles(
    State(state): State<SharedState>,
    Path(organization_id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    if state.store().organizations.get(&organization_id).is_none() {
        return Err(ApiError::not_found("Organization", &organization_id));
    }
    Ok(axum::Json(
        json!({ "object": "list", "data": state.config.roles.roles_json() }),
    ))
}

async fn permissions(
    State(state): State<SharedState>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let listed = state.config.roles.listed_permissions();
    list_page(listed.iter(), &q, |p| p.to_json()).map(axum::Json)
}
