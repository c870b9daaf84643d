//! Sessions: revoke (`POST /user_management/sessions/revoke`), the browser logout redirect
//! (`GET /user_management/sessions/logout`, public) and a user's sessions
//! (`GET /user_management/users/{id}/sessions`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::SharedState;
use crate::auth::hosted::error_page;
use crate::http::{ApiError, Json, Query};
use crate::store::{ListQuery, Store, list_page};

/// Routes behind the API-key check.
pub(crate) fn api_routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/sessions/revoke", post(revoke))
        .route("/user_management/users/{id}/sessions", get(list))
}

/// Browser routes (no API key).
pub(crate) fn public_routes() -> Router<SharedState> {
    Router::new().route("/user_management/sessions/logout", get(logout))
}

/// Ends a session: its refresh tokens stop working. Returns false for an unknown session.
/// Ending an ended session changes nothing.
pub(crate) fn end_session(store: &mut Store, session_id: &str, now: OffsetDateTime) -> bool {
    let Some(session) = store.auth.sessions.get_mut(session_id) else {
        return false;
    };
    if session.status != "active" {
        return true;
    }
    session.status = "revoked".to_owned();
    session.ended_at = Some(now);
    session.updated_at = now;
    tracing::debug!(session_id, "emulator: session ended");
    let data = session.to_json(now);
    store.emit("session.revoked", data, now);
    true
}

#[derive(Deserialize)]
struct RevokeBody {
    session_id: String,
}

async fn revoke(
    State(state): State<SharedState>,
    Json(body): Json<RevokeBody>,
) -> Result<StatusCode, ApiError> {
    let now = state.now();
    if end_session(&mut state.store(), &body.session_id, now) {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::message(
            StatusCode::BAD_REQUEST,
            format!("Session not found: '{}'.", body.session_id),
        ))
    }
}

#[derive(Deserialize)]
struct LogoutQuery {
    session_id: Option<String>,
    return_to: Option<String>,
}

/// `GET /user_management/sessions/logout`: ends the session and redirects to `return_to`,
/// which must be a registered logout redirect URI (else an error page, never a redirect);
/// without `return_to`, to the first registered one, or a "Signed out" page when none is.
async fn logout(
    State(state): State<SharedState>,
    Query(q): Query<LogoutQuery>,
) -> Result<Response, ApiError> {
    let session_id = q.session_id.filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::message(StatusCode::UNPROCESSABLE_ENTITY, "session_id is required.")
    })?;
    let registered = &state.config.registered;
    let return_to = match q.return_to.filter(|r| !r.is_empty()) {
        Some(raw) => match url::Url::parse(&raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {
                if !registered.is_logout_redirect_uri(url.as_str()) {
                    tracing::warn!(return_to = %url, "emulator: refused an unregistered logout return_to");
                    return Ok(error_page(
                        StatusCode::BAD_REQUEST,
                        "Logout redirect not registered",
                        &registered.unregistered_logout_redirect_uri(url.as_str()),
                        None,
                    ));
                }
                Some(url)
            }
            _ => {
                return Err(ApiError::message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "return_to must be an absolute http(s) URL.",
                ));
            }
        },
        None => registered
            .logout_redirect_uris
            .first()
            .and_then(|u| url::Url::parse(u).ok()),
    };
    let now = state.now();
    if !end_session(&mut state.store(), &session_id, now) {
        return Err(ApiError::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Session not found: '{session_id}'."),
        ));
    }
    Ok(match return_to {
        Some(url) => (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response(),
        None => Html(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed out</title></head>\
             <body><h1>Signed out</h1><p>You have been signed out. You can close this page.</p>\
             <p><small>WorkOS emulator, for development only.</small></p></body></html>",
        )
        .into_response(),
    })
}

async fn list(
    State(state): State<SharedState>,
    Path(user_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let now = state.now();
    let store = state.store();
    if store.users.get(&user_id).is_none() {
        return Err(ApiError::not_found("User", &user_id));
    }
    // As WorkOS: the user's active sessions.
    let rows = store
        .auth
        .sessions
        .iter()
        .filter(|s| s.user_id == user_id && s.status_at(now) == "active");
    list_page(rows, &q, |s| s.to_json(now)).map(axum::Json)
}
