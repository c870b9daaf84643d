//! `/organizations`: create, get (by id or external id), update, delete and list
//! organizations, with their domains (`domain_data`). Each change emits its event
//! (`organization.created`, `organization.updated`, `organization.deleted`).
//!
//! Deleting an organization deletes its memberships (each emits
//! `organization_membership.deleted`), ends the sessions scoped to it (`session.revoked`)
//! and revokes its pending invitations, as nothing can sign in to it any more.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use super::organization_memberships::emit_membership;
use super::sessions::end_session;
use super::users::{Patch, check_metadata};
use crate::SharedState;
use crate::http::{ApiError, Json};
use crate::store::{DomainRec, ListQuery, OrganizationRec, Store, list_page, new_id};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/organizations", get(list).post(create))
        .route("/organizations/{id}", get(read).put(update).delete(remove))
        .route(
            "/organizations/external_id/{external_id}",
            get(by_external_id),
        )
}

#[derive(Deserialize)]
struct DomainDataBody {
    domain: String,
    state: String,
}

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    #[serde(default)]
    domain_data: Option<Vec<DomainDataBody>>,
    /// Deprecated: plain domains, added as `pending`.
    #[serde(default)]
    domains: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    allow_profiles_outside_organization: Option<bool>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain_data: Option<Vec<DomainDataBody>>,
    #[serde(default)]
    domains: Option<Vec<String>>,
    #[serde(default)]
    metadata: Patch<BTreeMap<String, String>>,
    #[serde(default)]
    external_id: Patch<String>,
    #[serde(default)]
    stripe_customer_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    allow_profiles_outside_organization: Option<bool>,
}

/// Whether `domain` is a host name with a dot, e.g. `acme.com` (no scheme, port, path or
/// spaces).
pub(crate) fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// The domains asked for, as `(domain, state)`, validated: `domain_data` wins over the
/// deprecated `domains`. `None` when neither is given.
fn requested_domains(
    store: &Store,
    org_id: Option<&str>,
    domain_data: Option<Vec<DomainDataBody>>,
    domains: Option<Vec<String>>,
) -> Result<Option<Vec<(String, String)>>, ApiError> {
    let asked: Vec<(String, String)> = match (domain_data, domains) {
        (Some(data), _) => data
            .into_iter()
            .map(|d| (d.domain.trim().to_ascii_lowercase(), d.state))
            .collect(),
        (None, Some(plain)) => plain
            .into_iter()
            .map(|d| (d.trim().to_ascii_lowercase(), "pending".to_owned()))
            .collect(),
        (None, None) => return Ok(None),
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (domain, state) in asked {
        if !valid_domain(&domain) {
            return Err(ApiError::message(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("'{domain}' is not a valid domain."),
            ));
        }
        if !matches!(state.as_str(), "pending" | "verified") {
            return Err(ApiError::message(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("The state of domain '{domain}' must be one of pending, verified."),
            ));
        }
        if state == "verified" && verified_elsewhere(store, &domain, org_id) {
            return Err(domain_in_use(&domain));
        }
        match out.iter_mut().find(|(d, _)| *d == domain) {
            Some(existing) => existing.1 = state,
            None => out.push((domain, state)),
        }
    }
    Ok(Some(out))
}

/// Whether an organization other than `org_id` has `domain` verified.
pub(crate) fn verified_elsewhere(store: &Store, domain: &str, org_id: Option<&str>) -> bool {
    store
        .organizations
        .find(|o| {
            Some(o.id.as_str()) != org_id
                && o.domains
                    .iter()
                    .any(|d| d.domain.eq_ignore_ascii_case(domain) && d.is_verified())
        })
        .is_some()
}

fn domain_in_use(domain: &str) -> ApiError {
    ApiError::message(
        StatusCode::CONFLICT,
        format!("The domain '{domain}' is already verified by another organization."),
    )
}

fn check_external_id(
    store: &Store,
    external_id: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    if external_id.chars().count() > 128 {
        return Err(ApiError::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "external_id must be at most 128 characters.",
        ));
    }
    let taken = store
        .organizations
        .find(|o| o.external_id.as_deref() == Some(external_id) && Some(o.id.as_str()) != except)
        .is_some();
    if taken {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "external_id_already_used",
            format!("An organization with the external ID '{external_id}' already exists."),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "name must not be empty.",
        ));
    }
    Ok(())
}

async fn create(
    State(state): State<SharedState>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    check_name(&body.name)?;
    if let Some(metadata) = &body.metadata {
        check_metadata(metadata)?;
    }
    let now = state.now();
    let mut store = state.store();
    if let Some(external_id) = &body.external_id {
        check_external_id(&store, external_id, None)?;
    }
    let domains = requested_domains(&store, None, body.domain_data, body.domains)?;
    let mut org = OrganizationRec::new(new_id("org"), body.name.trim(), now);
    org.external_id = body.external_id;
    org.metadata = body.metadata.unwrap_or_default();
    org.domains = domains
        .unwrap_or_default()
        .iter()
        .map(|(domain, state)| DomainRec::new(domain, state, "manual", now))
        .collect();
    let json = org.to_json();
    store.organizations.insert(org);
    store.emit("organization.created", json.clone(), now);
    Ok((StatusCode::CREATED, axum::Json(json)))
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
        .ok_or_else(|| ApiError::not_found("Organization with external ID", &external_id))?;
    Ok(axum::Json(org.to_json()))
}

async fn update(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(body): Json<UpdateBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    if store.organizations.get(&id).is_none() {
        return Err(ApiError::not_found("Organization", &id));
    }
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    if let Patch::Value(metadata) = &body.metadata {
        check_metadata(metadata)?;
    }
    if let Patch::Value(external_id) = &body.external_id {
        check_external_id(&store, external_id, Some(&id))?;
    }
    if let Some(stripe) = &body.stripe_customer_id
        && store
            .organizations
            .find(|o| o.stripe_customer_id.as_deref() == Some(stripe) && o.id != id)
            .is_some()
    {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "stripe_customer_id_already_used",
            format!("Another organization already has the Stripe customer ID '{stripe}'."),
        ));
    }
    let domains = requested_domains(&store, Some(&id), body.domain_data, body.domains)?;
    let org = store
        .organizations
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("Organization", &id))?;
    let mut domain_events = Vec::new();
    if let Some(domains) = domains {
        let mut kept = Vec::new();
        for (domain, domain_state) in domains {
            match org.domains.iter().position(|d| d.domain == domain) {
                Some(i) => {
                    let mut d = org.domains.remove(i);
                    if d.state != domain_state {
                        d.state = domain_state;
                        d.updated_at = now;
                        domain_events.push(("organization_domain.updated", d.to_json(&id)));
                    }
                    kept.push(d);
                }
                None => {
                    let d = DomainRec::new(&domain, &domain_state, "manual", now);
                    domain_events.push(("organization_domain.created", d.to_json(&id)));
                    kept.push(d);
                }
            }
        }
        for removed in std::mem::replace(&mut org.domains, kept) {
            domain_events.push(("organization_domain.deleted", removed.to_json(&id)));
        }
    }
    if let Some(name) = body.name {
        org.name = name.trim().to_owned();
    }
    match body.metadata {
        Patch::Absent => {}
        Patch::Null => org.metadata.clear(),
        Patch::Value(v) => org.metadata = v,
    }
    match body.external_id {
        Patch::Absent => {}
        Patch::Null => org.external_id = None,
        Patch::Value(v) => org.external_id = Some(v),
    }
    if let Some(stripe) = body.stripe_customer_id {
        org.stripe_customer_id = Some(stripe);
    }
    org.updated_at = now;
    let json = org.to_json();
    for (kind, data) in domain_events {
        store.emit(kind, data, now);
    }
    store.emit("organization.updated", json.clone(), now);
    Ok(axum::Json(json))
}

async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = state.now();
    let mut store = state.store();
    if store.organizations.get(&id).is_none() {
        return Err(ApiError::not_found("Organization", &id));
    }
    let memberships: Vec<String> = store
        .memberships
        .iter()
        .filter(|m| m.organization_id == id)
        .map(|m| m.id.clone())
        .collect();
    for m in memberships {
        // The event carries the membership as it was, organization name included.
        emit_membership(&mut store, "organization_membership.deleted", &m, now);
        store.memberships.remove(&m);
    }
    let sessions: Vec<String> = store
        .auth
        .sessions
        .iter()
        .filter(|s| s.organization_id.as_deref() == Some(id.as_str()) && s.status == "active")
        .map(|s| s.id.clone())
        .collect();
    for session in sessions {
        end_session(&mut store, &session, now);
    }
    for invitation in store.invitations.iter_mut() {
        if invitation.organization_id.as_deref() == Some(id.as_str())
            && invitation.state == "pending"
        {
            invitation.state = "revoked".to_owned();
            invitation.revoked_at = Some(now);
            invitation.updated_at = now;
        }
    }
    let removed = store
        .organizations
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("Organization", &id))?;
    store.emit("organization.deleted", removed.to_json(), now);
    Ok(StatusCode::OK)
}

/// The list query, parsed by hand so that `domains` may be repeated (`domains=a&domains=b`)
/// or comma-joined.
#[derive(Default)]
struct ListOrganizationsQuery {
    domains: Vec<String>,
    search: Option<String>,
    page: ListQuery,
}

fn parse_list_query(raw: Option<&str>) -> ListOrganizationsQuery {
    let mut q = ListOrganizationsQuery::default();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "domains" | "domains[]" => q.domains.extend(
                value
                    .split(',')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty()),
            ),
            "search" => q.search = Some(value),
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
    let search = q.search.as_deref().map(str::to_lowercase);
    let store = state.store();
    let rows = store.organizations.iter().filter(|o| {
        (q.domains.is_empty() || o.domains.iter().any(|d| q.domains.contains(&d.domain)))
            && search
                .as_deref()
                .is_none_or(|s| o.name.to_lowercase().contains(s))
    });
    list_page(rows, &q.page, OrganizationRec::to_json).map(axum::Json)
}

#[cfg(test)]
mod tests {
    use super::valid_domain;

    #[test]
    fn domains_are_host_names_with_a_dot() {
        assert!(valid_domain("acme.com"));
        assert!(valid_domain("eu.acme-corp.co.uk"));
        for bad in [
            "acme",
            "acme.",
            ".com",
            "acme .com",
            "http://acme.com",
            "-a.com",
            "a.c0m",
            "a.c",
        ] {
            assert!(!valid_domain(bad), "{bad}");
        }
    }
}
