//! `/user_management/invitations`: send, get, find by token, list, revoke, resend, accept.
//!
//! Expiry is computed against the emulator's clock on every read, so
//! [`Emulator::advance_clock`](crate::Emulator::advance_clock) makes invitations
//! expire. The emailed link, `accept_invitation_url`, is
//! `{emulator base URL}/invite?invitation_token={token}`: it stands for your app's accept
//! page (the emulator does not serve it); read the token from it and pass it as
//! `invitation_token` when signing in, or call accept.
//!
//! Inviting an existing user into an organization gives them a `pending` membership, which
//! accepting activates and revoking removes.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::organization_memberships::activate_membership;
use super::users::valid_email;
use crate::http::{ApiError, Json, Query};
use crate::outbox::{Email, EmailKind};
use crate::store::{
    InvitationRec, ListQuery, MembershipRec, Store, list_page, new_id, random_token, ts, ts_opt,
};
use crate::{SharedState, State as EmulatorState};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/invitations", get(list).post(send))
        .route("/user_management/invitations/{id}", get(read))
        .route(
            "/user_management/invitations/by_token/{token}",
            get(read_by_token),
        )
        .route("/user_management/invitations/{id}/revoke", post(revoke))
        .route("/user_management/invitations/{id}/resend", post(resend))
        .route("/user_management/invitations/{id}/accept", post(accept))
}

const DEFAULT_EXPIRES_IN_DAYS: i64 = 7;

/// The state as of `now`: a pending invitation past its expiry is `expired`.
pub(crate) fn effective_state(inv: &InvitationRec, now: OffsetDateTime) -> &str {
    if inv.state == "pending" && now >= inv.expires_at {
        "expired"
    } else {
        &inv.state
    }
}

/// The link of the invitation email (stands for the app's accept page).
pub(crate) fn accept_invitation_url(state: &EmulatorState, token: &str) -> String {
    let mut url = format!("{}/invite?", state.config.base_url);
    url.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("invitation_token", token)
            .finish(),
    );
    url
}

/// The spec's `UserlandUserInvite`.
fn invitation_json(state: &EmulatorState, inv: &InvitationRec, now: OffsetDateTime) -> Value {
    let mut json = invitation_event_data(inv, now);
    json["token"] = json!(inv.token);
    json["accept_invitation_url"] = json!(accept_invitation_url(state, &inv.token));
    json
}

/// The invitation without its token and link: the data of the `invitation.*` events.
pub(crate) fn invitation_event_data(inv: &InvitationRec, now: OffsetDateTime) -> Value {
    json!({
        "object": "invitation",
        "id": inv.id,
        "email": inv.email,
        "state": effective_state(inv, now),
        "accepted_at": ts_opt(inv.accepted_at),
        "revoked_at": ts_opt(inv.revoked_at),
        "expires_at": ts(inv.expires_at),
        "organization_id": inv.organization_id,
        "inviter_user_id": inv.inviter_user_id,
        "accepted_user_id": inv.accepted_user_id,
        "role_slug": inv.role_slug,
        "created_at": ts(inv.created_at),
        "updated_at": ts(inv.updated_at),
    })
}

/// Puts the invitation email in the outbox.
fn send_email(state: &EmulatorState, store: &Store, inv: &InvitationRec, now: OffsetDateTime) {
    let subject = match inv
        .organization_id
        .as_deref()
        .and_then(|id| store.organizations.get(id))
    {
        Some(org) => format!("You have been invited to join {}", org.name),
        None => "You have been invited to sign up".to_owned(),
    };
    state.outbox.send(Email {
        to: inv.email.clone(),
        kind: EmailKind::Invitation,
        subject,
        code: None,
        link: Some(accept_invitation_url(state, &inv.token)),
        token: Some(inv.token.clone()),
        sent_at: now,
    });
}

#[derive(Deserialize)]
struct SendBody {
    email: String,
    #[serde(default)]
    organization_id: Option<String>,
    #[serde(default)]
    role_slug: Option<String>,
    #[serde(default)]
    expires_in_days: Option<i64>,
    #[serde(default)]
    inviter_user_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // the emulator's emails are not localized
    locale: Option<String>,
}

async fn send(
    State(state): State<SharedState>,
    Json(body): Json<SendBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let email = body.email.trim().to_owned();
    if !valid_email(&email) {
        return Err(ApiError::code(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_parameters",
            "email must be a valid email address.",
        ));
    }
    let days = body.expires_in_days.unwrap_or(DEFAULT_EXPIRES_IN_DAYS);
    if days < 1 {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "expires_in_days_too_short",
            "expires_in_days must be at least 1.",
        ));
    }
    if days > 30 {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "expires_in_days_too_long",
            "expires_in_days must be at most 30.",
        ));
    }
    if body.role_slug.is_some() && body.organization_id.is_none() {
        return Err(ApiError::code(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_parameters",
            "role_slug needs organization_id: a role is given within an organization.",
        ));
    }
    if let Some(slug) = &body.role_slug {
        state
            .config
            .roles
            .check(slug)
            .map_err(|message| ApiError::code(StatusCode::BAD_REQUEST, "invalid_role", message))?;
    }
    let now = state.now();
    let mut store = state.store();
    if let Some(org) = &body.organization_id
        && store.organizations.get(org).is_none()
    {
        return Err(ApiError::not_found("Organization", org));
    }
    if let Some(inviter) = &body.inviter_user_id
        && store.users.get(inviter).is_none()
    {
        return Err(ApiError::not_found("User", inviter));
    }
    let already_invited = store
        .invitations
        .find(|i| {
            i.email.eq_ignore_ascii_case(&email)
                && i.organization_id == body.organization_id
                && effective_state(i, now) == "pending"
        })
        .is_some();
    let user_id = store
        .users
        .find(|u| u.email.eq_ignore_ascii_case(&email))
        .map(|u| u.id.clone());
    match (&body.organization_id, &user_id) {
        (Some(_), _) if already_invited => {
            return Err(ApiError::code(
                StatusCode::BAD_REQUEST,
                "email_already_invited_to_organization",
                format!("{email} already has a pending invitation to this organization."),
            ));
        }
        (None, _) if already_invited => {
            return Err(ApiError::code(
                StatusCode::BAD_REQUEST,
                "email_already_invited",
                format!("{email} already has a pending invitation."),
            ));
        }
        (Some(org), Some(user_id))
            if store
                .memberships
                .find(|m| {
                    &m.user_id == user_id && &m.organization_id == org && m.status == "active"
                })
                .is_some() =>
        {
            return Err(ApiError::code(
                StatusCode::BAD_REQUEST,
                "user_already_organization_member",
                format!("{email} is already a member of this organization."),
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::code(
                StatusCode::BAD_REQUEST,
                "user_already_exists",
                format!("A user with the email {email} already exists."),
            ));
        }
        _ => {}
    }
    let role_slug = body.organization_id.as_ref().map(|_| {
        body.role_slug
            .clone()
            .unwrap_or_else(|| state.config.roles.default_role().to_owned())
    });
    let inv = InvitationRec {
        id: new_id("invitation"),
        email: email.clone(),
        state: "pending".to_owned(),
        accepted_at: None,
        revoked_at: None,
        expires_at: now + time::Duration::days(days),
        organization_id: body.organization_id.clone(),
        inviter_user_id: body.inviter_user_id.clone(),
        accepted_user_id: None,
        role_slug: role_slug.clone(),
        token: random_token(32),
        created_at: now,
        updated_at: now,
    };
    // An existing user invited into an organization gets a pending membership.
    if let (Some(org), Some(user_id)) = (&body.organization_id, &user_id)
        && store
            .memberships
            .find(|m| &m.user_id == user_id && &m.organization_id == org)
            .is_none()
    {
        store.memberships.insert(MembershipRec {
            id: new_id("om"),
            user_id: user_id.clone(),
            organization_id: org.clone(),
            role_slugs: role_slug.into_iter().collect(),
            status: "pending".to_owned(),
            created_at: now,
            updated_at: now,
        });
    }
    send_email(&state, &store, &inv, now);
    let out = invitation_json(&state, &inv, now);
    store.emit("invitation.created", invitation_event_data(&inv, now), now);
    store.invitations.insert(inv);
    Ok((StatusCode::CREATED, axum::Json(out)))
}

async fn read(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let store = state.store();
    let inv = store
        .invitations
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Invitation", &id))?;
    Ok(axum::Json(invitation_json(&state, inv, now)))
}

async fn read_by_token(
    State(state): State<SharedState>,
    Path(token): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let store = state.store();
    let inv = store
        .invitations
        .find(|i| {
            use subtle::ConstantTimeEq;
            bool::from(i.token.as_bytes().ct_eq(token.as_bytes()))
        })
        .ok_or_else(|| {
            ApiError::message(
                StatusCode::NOT_FOUND,
                "Invitation not found for this token.",
            )
        })?;
    Ok(axum::Json(invitation_json(&state, inv, now)))
}

#[derive(Deserialize)]
struct ListInvitationsQuery {
    organization_id: Option<String>,
    email: Option<String>,
    #[serde(flatten)]
    page: ListQuery,
}

async fn list(
    State(state): State<SharedState>,
    Query(q): Query<ListInvitationsQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let store = state.store();
    let rows = store.invitations.iter().filter(|i| {
        q.organization_id
            .as_deref()
            .is_none_or(|o| i.organization_id.as_deref() == Some(o))
            && q.email
                .as_deref()
                .is_none_or(|e| i.email.eq_ignore_ascii_case(e))
    });
    list_page(rows, &q.page, |i| invitation_json(&state, i, now)).map(axum::Json)
}

fn not_pending(state: &str) -> ApiError {
    ApiError::code(
        StatusCode::BAD_REQUEST,
        "invite_not_pending",
        format!("The invitation is {state}, not pending."),
    )
}

async fn revoke(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let inv = store
        .invitations
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Invitation", &id))?;
    let current = effective_state(inv, now);
    if current != "pending" {
        return Err(not_pending(current));
    }
    let (email, org) = (inv.email.clone(), inv.organization_id.clone());
    // The pending membership the invitation made goes with it.
    if let Some(org) = org
        && let Some(user_id) = store
            .users
            .find(|u| u.email.eq_ignore_ascii_case(&email))
            .map(|u| u.id.clone())
        && let Some(pending) = store
            .memberships
            .find(|m| m.user_id == user_id && m.organization_id == org && m.status == "pending")
            .map(|m| m.id.clone())
    {
        store.memberships.remove(&pending);
    }
    let inv = store
        .invitations
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("Invitation", &id))?;
    inv.state = "revoked".to_owned();
    inv.revoked_at = Some(now);
    inv.updated_at = now;
    let inv = inv.clone();
    store.emit("invitation.revoked", invitation_event_data(&inv, now), now);
    Ok(axum::Json(invitation_json(&state, &inv, now)))
}

#[derive(Deserialize)]
struct ResendBody {
    #[serde(default)]
    #[allow(dead_code)] // the emulator's emails are not localized
    locale: Option<String>,
}

async fn resend(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(_body): Json<ResendBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let inv = store
        .invitations
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Invitation", &id))?;
    let (code, message) = match effective_state(inv, now) {
        "pending" => ("", ""),
        "expired" => ("invite_expired", "The invitation has expired."),
        "revoked" => ("invite_revoked", "The invitation has been revoked."),
        _ => (
            "invite_accepted",
            "The invitation has already been accepted.",
        ),
    };
    if !code.is_empty() {
        return Err(ApiError::code(StatusCode::BAD_REQUEST, code, message));
    }
    let inv = store
        .invitations
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("Invitation", &id))?;
    inv.updated_at = now;
    let inv = inv.clone();
    send_email(&state, &store, &inv, now);
    store.emit("invitation.resent", invitation_event_data(&inv, now), now);
    Ok(axum::Json(invitation_json(&state, &inv, now)))
}

async fn accept(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let inv = accept_invitation(&mut store, &id, now)?;
    Ok(axum::Json(invitation_json(&state, &inv, now)))
}

/// Accepts a pending invitation: records the user with the invited email (if any) and, for
/// an organization invitation, makes that user an active member. Returns the accepted record.
pub(crate) fn accept_invitation(
    store: &mut Store,
    id: &str,
    now: OffsetDateTime,
) -> Result<InvitationRec, ApiError> {
    let inv = store
        .invitations
        .get(id)
        .ok_or_else(|| ApiError::not_found("Invitation", id))?;
    let current = effective_state(inv, now);
    if current != "pending" {
        return Err(not_pending(current));
    }
    let user_id = store
        .users
        .find(|u| u.email.eq_ignore_ascii_case(&inv.email))
        .map(|u| u.id.clone());
    if let (Some(org), Some(user_id)) = (inv.organization_id.clone(), &user_id) {
        let roles = inv.role_slug.clone().map(|r| vec![r]);
        activate_membership(store, user_id, &org, roles, now);
    }
    let inv = store
        .invitations
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("Invitation", id))?;
    inv.state = "accepted".to_owned();
    inv.accepted_at = Some(now);
    inv.accepted_user_id = user_id;
    inv.updated_at = now;
    let inv = inv.clone();
    store.emit("invitation.accepted", invitation_event_data(&inv, now), now);
    Ok(inv)
}
