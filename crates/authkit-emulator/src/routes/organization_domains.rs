//! `/organization_domains`: add a domain to an organization, get, verify and delete it. Each
//! change emits its event (`organization_domain.created`, `.verified`, `.verification_failed`,
//! `.deleted`).
//!
//! The emulator checks no DNS: verifying a pending domain succeeds, unless another
//! organization has the domain verified already, when it fails with the reason
//! `domain_verified_by_other_organization`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::organizations::{valid_domain, verified_elsewhere};
use crate::SharedState;
use crate::http::{ApiError, Json};
use crate::store::{DomainRec, Store};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/organization_domains", post(create))
        .route("/organization_domains/{id}", get(read).delete(remove))
        .route("/organization_domains/{id}/verify", post(verify))
}

#[derive(Deserialize)]
struct CreateBody {
    domain: String,
    organization_id: String,
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("Organization domain", id)
}

/// The organization holding domain `id`, and the domain's index in it.
fn locate(store: &Store, id: &str) -> Option<(String, usize)> {
    store.organizations.iter().find_map(|o| {
        o.domains
            .iter()
            .position(|d| d.id == id)
            .map(|i| (o.id.clone(), i))
    })
}

async fn create(
    State(state): State<SharedState>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let domain = body.domain.trim().to_ascii_lowercase();
    if !valid_domain(&domain) {
        return Err(ApiError::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("'{}' is not a valid domain.", body.domain),
        ));
    }
    let now = state.now();
    let mut store = state.store();
    let taken_elsewhere = verified_elsewhere(&store, &domain, Some(&body.organization_id));
    let org = store
        .organizations
        .get_mut(&body.organization_id)
        .ok_or_else(|| ApiError::not_found("Organization", &body.organization_id))?;
    if taken_elsewhere || org.domains.iter().any(|d| d.domain == domain) {
        return Err(ApiError::code(
            StatusCode::CONFLICT,
            "domain_already_exists",
            "Domain already exists for this organization.",
        ));
    }
    let rec = DomainRec::new(&domain, "pending", "dns", now);
    let json = rec.to_json(&org.id);
    org.domains.push(rec);
    store.emit("organization_domain.created", json.clone(), now);
    Ok((StatusCode::CREATED, axum::Json(json)))
}

async fn read(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let (org_id, i) = locate(&store, &id).ok_or_else(|| not_found(&id))?;
    let org = store
        .organizations
        .get(&org_id)
        .ok_or_else(|| not_found(&id))?;
    Ok(axum::Json(org.domains[i].to_json(&org_id)))
}

async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let (org_id, i) = locate(&store, &id).ok_or_else(|| not_found(&id))?;
    let org = store
        .organizations
        .get_mut(&org_id)
        .ok_or_else(|| not_found(&id))?;
    let removed = org.domains.remove(i);
    store.emit("organization_domain.deleted", removed.to_json(&org_id), now);
    Ok(StatusCode::NO_CONTENT)
}

async fn verify(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let now = state.now();
    let mut store = state.store();
    let (org_id, i) = locate(&store, &id).ok_or_else(|| not_found(&id))?;
    let domain = store
        .organizations
        .get(&org_id)
        .map(|o| o.domains[i].domain.clone())
        .ok_or_else(|| not_found(&id))?;
    let taken = verified_elsewhere(&store, &domain, Some(&org_id));
    let org = store
        .organizations
        .get_mut(&org_id)
        .ok_or_else(|| not_found(&id))?;
    let rec = &mut org.domains[i];
    if rec.is_verified() {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "domain_already_verified",
            "Domain is already verified.",
        ));
    }
    rec.state = if taken { "failed" } else { "verified" }.to_owned();
    rec.updated_at = now;
    let json = rec.to_json(&org_id);
    if taken {
        store.emit(
            "organization_domain.verification_failed",
            json!({ "reason": "domain_verified_by_other_organization", "organization_domain": json }),
            now,
        );
    } else {
        store.emit("organization_domain.verified", json.clone(), now);
    }
    Ok((StatusCode::CREATED, axum::Json(json)))
}
