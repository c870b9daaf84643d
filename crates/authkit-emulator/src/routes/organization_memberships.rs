//! `/user_management/organization_memberships`: create, get, update, delete, deactivate,
//! reactivate, list.
//!
//! Role slugs are checked against the role catalogue of the seed data (see
//! [`Seed::roles`](crate::Seed::roles)): an unknown one is a 422 `invalid_role`, as WorkOS
//! answers. Without a catalogue any non-empty slug is accepted. The default role is the
//! catalogue's (`member` without one), and several `role_slugs` are allowed (as with Multiple
//! Roles enabled).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::SharedState;
use crate::http::{ApiError, Json};
use crate::roles::Roles;
use crate::store::{ListQuery, MembershipRec, Store, list_page, new_id, ts};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/user_management/organization_memberships",
            get(list).post(create),
        )
        .route(
            "/user_management/organization_memberships/{id}",
            get(read).put(update).delete(remove),
        )
        .route(
            "/user_management/organization_memberships/{id}/deactivate",
            put(deactivate),
        )
        .route(
            "/user_management/organization_memberships/{id}/reactivate",
            put(reactivate),
        )
}

/// The role shown for a membership that somehow has none.
pub(crate) const DEFAULT_ROLE: &str = "member";

const STATUSES: &[&str] = &["active", "inactive", "pending"];

#[derive(Deserialize)]
struct RolesBody {
    #[serde(default)]
    role_slug: Option<String>,
    #[serde(default)]
    role_slugs: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct CreateBody {
    user_id: String,
    organization_id: String,
    #[serde(flatten)]
    roles: RolesBody,
}

/// The role slugs asked for, if any, validated.
fn requested_roles(catalogue: &Roles, body: &RolesBody) -> Result<Option<Vec<String>>, ApiError> {
    let roles = match (&body.role_slug, &body.role_slugs) {
        (Some(_), Some(_)) => {
            return Err(ApiError::code(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_parameters",
                "Provide either role_slug or role_slugs, not both.",
            ));
        }
        (Some(slug), None) => vec![slug.clone()],
        (None, Some(slugs)) if slugs.is_empty() => {
            return Err(ApiError::code(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_parameters",
                "role_slugs must contain at least one role slug.",
            ));
        }
        (None, Some(slugs)) => slugs.clone(),
        (None, None) => return Ok(None),
    };
    for slug in &roles {
        catalogue.check(slug).map_err(|message| {
            ApiError::code(StatusCode::UNPROCESSABLE_ENTITY, "invalid_role", message)
        })?;
    }
    Ok(Some(roles))
}

/// The spec's `UserlandUserOrganizationMembership`, with the embedded user and role.
pub(crate) fn membership_json(store: &Store, m: &MembershipRec) -> Value {
    let primary = m.role_slugs.first().map_or(DEFAULT_ROLE, String::as_str);
    let mut out = json!({
        "object": "organization_membership",
        "id": m.id,
        "user_id": m.user_id,
        "organization_id": m.organization_id,
        "status": m.status,
        "role": { "slug": primary },
        "roles": m.role_slugs.iter().map(|s| json!({ "slug": s })).collect::<Vec<_>>(),
        "directory_managed": false,
        "created_at": ts(m.created_at),
        "updated_at": ts(m.updated_at),
    });
    if let Some(org) = store.organizations.get(&m.organization_id) {
        out["organization_name"] = Value::String(org.name.clone());
    }
    if let Some(user) = store.users.get(&m.user_id) {
        out["user"] = user.to_json();
    }
    out
}

/// Emits `kind` (`organization_membership.created`, `.updated`, `.deleted`) about membership
/// `id` as it is now (call before removing it for `.deleted`).
pub(crate) fn emit_membership(store: &mut Store, kind: &str, id: &str, now: OffsetDateTime) {
    if let Some(m) = store.memberships.get(id) {
        let data = membership_json(store, m);
        store.emit(kind, data, now);
    }
}

/// Adds `user_id` to `organization_id` as an active member, or activates their existing
/// membership (keeping its roles unless `roles` are given), emitting the event. Returns the
/// membership id. Used by invitation acceptance.
pub(crate) fn activate_membership(
    store: &mut Store,
    user_id: &str,
    organization_id: &str,
    roles: Option<Vec<String>>,
    now: OffsetDateTime,
) -> String {
    if let Some(m) = store
        .memberships
        .find_mut(|m| m.user_id == user_id && m.organization_id == organization_id)
    {
        m.status = "active".to_owned();
        if let Some(roles) = roles {
            m.role_slugs = roles;
        }
        m.updated_at = now;
        let id = m.id.clone();
        emit_membership(store, "organization_membership.updated", &id, now);
        return id;
    }
    let m = MembershipRec {
        id: new_id("om"),
        user_id: user_id.to_owned(),
        organization_id: organization_id.to_owned(),
        role_slugs: roles.unwrap_or_else(|| vec![DEFAULT_ROLE.to_owned()]),
        status: "active".to_owned(),
        created_at: now,
        updated_at: now,
    };
    let id = m.id.clone();
    store.memberships.insert(m);
    emit_membership(store, "organization_membership.created", &id, now);
    id
}

async fn create(
    State(state): State<SharedState>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let roles = requested_roles(&state.config.roles, &body.roles)?;
    let now = state.now();
    let mut store = state.store();
    if store.users.get(&body.user_id).is_none() {
        return Err(ApiError::not_found("User", &body.user_id));
    }
    if store.organizations.get(&body.organization_id).is_none() {
        return Err(ApiError::not_found("Organization", &body.organization_id));
    }
    let existing = store
        .memberships
        .find(|m| m.user_id == body.user_id && m.organization_id == body.organization_id)
        .map(|m| (m.id.clone(), m.status.clone()));
    let id = match existing {
        Some((_, status)) if status == "pending" => {
            return Err(ApiError::code(
                StatusCode::BAD_REQUEST,
                "cannot_reactivate_pending_organization_membership",
                "A pending organization membership cannot be reactivated. The user needs to accept the invitation instead.",
            ));
        }
        Some((id, status)) if status == "active" => {
            return Err(ApiError::code(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_parameters",
                format!("The user is already a member of this organization: '{id}'."),
            ));
        }
        // An inactive membership is reactivated with the given roles (else keeps its own).
        Some(_) => {
            activate_membership(&mut store, &body.user_id, &body.organization_id, roles, now)
        }
        None => {
            let roles = roles.unwrap_or_else(|| vec![state.config.roles.default_role().to_owned()]);
            activate_membership(
                &mut store,
                &body.user_id,
                &body.organization_id,
                Some(roles),
                now,
            )
        }
    };
    let m = store
        .memberships
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Organization membership", &id))?;
    Ok((StatusCode::CREATED, axum::Json(membership_json(&store, m))))
}

async fn read(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let m = store
        .memberships
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Organization membership", &id))?;
    Ok(axum::Json(membership_json(&store, m)))
}

async fn update(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(body): Json<RolesBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    if store.memberships.get(&id).is_none() {
        return Err(ApiError::not_found("Organization membership", &id));
    }
    let roles = requested_roles(&state.config.roles, &body)?;
    let m = store
        .memberships
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("Organization membership", &id))?;
    let changed = roles.is_some_and(|roles| {
        m.role_slugs = roles;
        m.updated_at = now;
        true
    });
    let m = m.clone();
    if changed {
        emit_membership(&mut store, "organization_membership.updated", &id, now);
    }
    Ok(axum::Json(membership_json(&store, &m)))
}

async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = state.now();
    let mut store = state.store();
    if store.memberships.get(&id).is_none() {
        return Err(ApiError::not_found("Organization membership", &id));
    }
    emit_membership(&mut store, "organization_membership.deleted", &id, now);
    store.memberships.remove(&id);
    Ok(StatusCode::OK)
}

async fn deactivate(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    set_status(&state, &id, "inactive")
}

async fn reactivate(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    set_status(&state, &id, "active")
}

/// Deactivates or reactivates; already in that status is a no-op; pending is refused.
fn set_status(state: &SharedState, id: &str, status: &str) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let m = store
        .memberships
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("Organization membership", id))?;
    if m.status == "pending" {
        return Err(if status == "active" {
            ApiError::code(
                StatusCode::BAD_REQUEST,
                "cannot_reactivate_pending_organization_membership",
                "A pending organization membership cannot be reactivated. The user needs to accept the invitation instead.",
            )
        } else {
            ApiError::code(
                StatusCode::BAD_REQUEST,
                "cannot_deactivate_pending_organization_membership",
                "A pending organization membership cannot be deactivated. This membership should be deleted instead.",
            )
        });
    }
    let changed = m.status != status;
    if changed {
        m.status = status.to_owned();
        m.updated_at = now;
    }
    let m = m.clone();
    if changed {
        emit_membership(&mut store, "organization_membership.updated", id, now);
    }
    Ok(axum::Json(membership_json(&store, &m)))
}

/// The list query, parsed by hand so that `statuses` may come comma-joined
/// (`statuses=active,pending`, as the spec says) or repeated (`statuses=a&statuses=b`).
#[derive(Default)]
struct ListMembershipsQuery {
    user_id: Option<String>,
    organization_id: Option<String>,
    statuses: Vec<String>,
    page: ListQuery,
}

fn parse_list_query(raw: Option<&str>) -> ListMembershipsQuery {
    let mut q = ListMembershipsQuery::default();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "user_id" => q.user_id = Some(value),
            "organization_id" => q.organization_id = Some(value),
            "statuses" | "statuses[]" => q.statuses.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            "limit" => q.page.limit = Some(value),
            "before" => q.page.before = Some(value),
            "after" => q.page.after = Some(value),
            "order" => q.page.order = Some(value),
            _ => {}
        }
    }
    q
}

async fn list(
    State(state): State<SharedState>,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<Value>, ApiError> {
    let q = parse_list_query(raw.as_deref());
    if q.user_id.is_none() && q.organization_id.is_none() {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "missing_user_id_or_organization_id",
            "Either user_id or organization_id must be provided.",
        ));
    }
    if let Some(bad) = q.statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "invalid_request_parameters",
            format!("Invalid status '{bad}': statuses must be any of active, inactive, pending."),
        ));
    }
    let statuses = if q.statuses.is_empty() {
        vec!["active".to_owned()]
    } else {
        q.statuses
    };
    let store = state.store();
    if let Some(user_id) = &q.user_id
        && store.users.get(user_id).is_none()
    {
        return Err(ApiError::not_found("User", user_id));
    }
    if let Some(org) = &q.organization_id
        && store.organizations.get(org).is_none()
    {
        return Err(ApiError::not_found("Organization", org));
    }
    let rows = store.memberships.iter().filter(|m| {
        q.user_id.as_deref().is_none_or(|u| m.user_id == u)
            && q.organization_id
                .as_deref()
                .is_none_or(|o| m.organization_id == o)
            && statuses.contains(&m.status)
    });
    list_page(rows, &q.page, |m| membership_json(&store, m)).map(axum::Json)
}
