//! The emulator's routes, one module per resource.

mod auth_factors;
mod email_verification;
mod invitations;
mod magic_auth;
mod organization_memberships;
mod organizations;
mod password_reset;
mod sessions;
mod users;

use axum::Router;
use axum::routing::get;

use super::SharedState;
use super::http::require_api_key;

/// All routes: the API (behind the API-key check) and the public ones.
pub(crate) fn router(state: SharedState) -> Router {
    let api = Router::new()
        .merge(users::routes())
        .merge(sessions::api_routes())
        .merge(auth_factors::routes())
        .merge(organization_memberships::routes())
        .merge(organizations::routes())
        .merge(invitations::routes())
        .merge(magic_auth::routes())
        .merge(password_reset::routes())
        .merge(email_verification::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    let public = Router::new()
        .route("/__emulator/outbox", get(outbox))
        .merge(super::auth::grants::routes())
        .merge(super::auth::tokens::routes())
        .merge(sessions::public_routes());
    let public = public.merge(crate::auth::hosted::routes());
    Router::new().merge(api).merge(public).with_state(state)
}

#[derive(serde::Deserialize)]
struct OutboxQuery {
    to: Option<String>,
}

/// `GET /__emulator/outbox?to=<email>`: the emails sent, newest last.
async fn outbox(
    axum::extract::State(state): axum::extract::State<SharedState>,
    axum::extract::Query(q): axum::extract::Query<OutboxQuery>,
) -> axum::Json<serde_json::Value> {
    let emails: Vec<_> = state
        .outbox
        .all()
        .into_iter()
        .filter(|e| {
            q.to.as_deref()
                .is_none_or(|to| e.to.eq_ignore_ascii_case(to))
        })
        .collect();
    axum::Json(serde_json::json!({ "data": emails }))
}
