//! `GET /user_management/organization_memberships/{omId}/groups`: the groups of its
//! organization a membership belongs to. Groups come from the seed
//! ([`SeedOrganization::groups`](crate::SeedOrganization::groups)).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use crate::SharedState;
use crate::http::{ApiError, Query};
use crate::store::{GroupRec, ListQuery, list_page, ts};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route(
        "/user_management/organization_memberships/{om_id}/groups",
        get(list),
    )
}

/// The spec's `Group`.
fn group_json(rec: &GroupRec) -> Value {
    json!({
        "object": "group",
        "id": rec.id,
        "organization_id": rec.organization_id,
        "name": rec.name,
        "description": rec.description,
        "created_at": ts(rec.created_at),
        "updated_at": ts(rec.updated_at),
    })
}

async fn list(
    State(state): State<SharedState>,
    Path(om_id): Path<String>,
    Query(page): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    if store.memberships.get(&om_id).is_none() {
        return Err(ApiError::not_found("Organization membership", &om_id));
    }
    let rows = store
        .groups
        .iter()
        .filter(|g| g.membership_ids.contains(&om_id));
    list_page(rows, &page, group_json).map(axum::Json)
}
