//! The emulator's routes, one module per resource.

mod api_keys;
pub(crate) mod app_settings;
mod auth_factors;
mod authorization;
mod authorized_applications;
mod email_change;
mod email_verification;
mod events;
pub(crate) mod feature_flags;
mod groups;
mod identities;
pub(crate) mod invitations;
pub(crate) mod jwt_template;
mod magic_auth;
mod organization_domains;
pub(crate) mod organization_memberships;
mod organizations;
mod password_reset;
mod sessions;
mod users;
mod widgets;

use axum::Router;

use super::SharedState;
use super::http::require_api_key;

/// All routes: the API (behind the API-key check) and the public ones.
pub(crate) fn router(state: SharedState) -> Router {
    let api = Router::new()
        .merge(users::routes())
        .merge(api_keys::routes())
        .merge(widgets::routes())
        .merge(sessions::api_routes())
        .merge(auth_factors::routes())
        .merge(organization_memberships::routes())
        .merge(organizations::routes())
        .merge(organization_domains::routes())
        .merge(authorization::routes())
        .merge(invitations::routes())
        .merge(magic_auth::routes())
        .merge(password_reset::routes())
        .merge(email_verification::routes())
        .merge(events::routes())
        .merge(email_change::routes())
        .merge(identities::routes())
        .merge(authorized_applications::routes())
        .merge(groups::routes())
        .merge(jwt_template::routes())
        .merge(app_settings::routes())
        .merge(feature_flags::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    let public = Router::new()
        .merge(super::auth::grants::routes())
        .merge(super::auth::tokens::routes())
        .merge(sessions::public_routes());
    let public = public
        .merge(crate::auth::hosted::routes())
        .merge(crate::auth::device::routes());
    Router::new()
        .merge(api)
        .merge(super::control::routes(state.clone()))
        .merge(public)
        .with_state(state)
}
