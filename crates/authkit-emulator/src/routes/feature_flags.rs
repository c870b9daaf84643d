//! Feature flags: `GET /feature-flags`, `GET /feature-flags/{slug}`, and the flags on for a
//! user (`GET /user_management/users/{userId}/feature-flags`: targeted at the user or at an
//! organization they are an active member of) or for an organization
//! (`GET /organizations/{organizationId}/feature-flags`). A flag is on for its targets, or for
//! everyone when its `default_value` is true, and only while it is `enabled`. Flags come from
//! the seed ([`Seed::feature_flags`](crate::Seed::feature_flags)); access tokens carry the
//! slugs of those on for the user or the session's organization as `feature_flags`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use crate::SharedState;
use crate::http::{ApiError, Query};
use crate::store::{FeatureFlagRec, ListQuery, Store, list_page, ts};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/feature-flags", get(list))
        .route("/feature-flags/{slug}", get(read))
        .route(
            "/user_management/users/{user_id}/feature-flags",
            get(for_user),
        )
        .route(
            "/organizations/{organization_id}/feature-flags",
            get(for_organization),
        )
}

/// The spec's `Flag`.
fn flag_json(rec: &FeatureFlagRec) -> Value {
    json!({
        "object": "feature_flag",
        "id": rec.id,
        "slug": rec.slug,
        "name": rec.name,
        "description": rec.description,
        "owner": null,
        "tags": rec.tags,
        "enabled": rec.enabled,
        "default_value": rec.default_value,
        "created_at": ts(rec.created_at),
        "updated_at": ts(rec.updated_at),
    })
}

/// The organizations the user is an active member of.
fn active_organizations<'a>(store: &'a Store, user_id: &'a str) -> Vec<&'a str> {
    store
        .memberships
        .iter()
        .filter(|m| m.user_id == user_id && m.status == "active")
        .map(|m| m.organization_id.as_str())
        .collect()
}

/// Whether `flag` is on for the user or one of the organizations.
fn is_on(flag: &FeatureFlagRec, user_id: Option<&str>, organizations: &[&str]) -> bool {
    flag.enabled
        && (flag.default_value
            || user_id.is_some_and(|u| flag.user_ids.iter().any(|id| id == u))
            || organizations
                .iter()
                .any(|o| flag.organization_ids.iter().any(|id| id == o)))
}

/// The slugs of the flags on for the user or the session's organization (the access token's
/// `feature_flags`).
pub(crate) fn token_flags(
    store: &Store,
    user_id: &str,
    organization_id: Option<&str>,
) -> Vec<String> {
    let organizations: Vec<&str> = organization_id.into_iter().collect();
    store
        .feature_flags
        .iter()
        .filter(|f| is_on(f, Some(user_id), &organizations))
        .map(|f| f.slug.clone())
        .collect()
}

async fn list(
    State(state): State<SharedState>,
    Query(page): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    list_page(store.feature_flags.iter(), &page, flag_json).map(axum::Json)
}

async fn read(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let flag = store
        .feature_flags
        .find(|f| f.slug == slug)
        .ok_or_else(|| ApiError::not_found("Feature flag", &slug))?;
    Ok(axum::Json(flag_json(flag)))
}

async fn for_user(
    State(state): State<SharedState>,
    Path(user_id): Path<String>,
    Query(page): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    if store.users.get(&user_id).is_none() {
        return Err(ApiError::not_found("User", &user_id));
    }
    let organizations = active_organizations(&store, &user_id);
    let rows = store
        .feature_flags
        .iter()
        .filter(|f| is_on(f, Some(&user_id), &organizations));
    list_page(rows, &page, flag_json).map(axum::Json)
}

async fn for_organization(
    State(state): State<SharedState>,
    Path(organization_id): Path<String>,
    Query(page): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    if store.organizations.get(&organization_id).is_none() {
        return Err(ApiError::not_found("Organization", &organization_id));
    }
    let organizations = [organization_id.as_str()];
    let rows = store
        .feature_flags
        .iter()
        .filter(|f| is_on(f, None, &organizations));
    list_page(rows, &page, flag_json).map(axum::Json)
}
