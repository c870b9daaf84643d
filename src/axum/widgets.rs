//! [`AuthKit::widget_token_route`]: a route that hands the signed-in user a token for
//! WorkOS's widgets in their organization.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde_json::json;

use super::{AuthKit, AuthUser};
use crate::user_management::{GetWidgetToken, WidgetScope};

impl AuthKit {
    /// A `GET` route that answers the signed-in user with a widget token for their current
    /// organization, with `scopes`: `200` JSON `{"token": "..."}` (`Cache-Control:
    /// no-store`), for the page that shows the widget to fetch. Signed out, it answers as the
    /// [`AuthUser`] extractor does (`401` JSON for `fetch` calls); a user whose session has no
    /// organization gets `403` JSON `organization_required`; WorkOS refusing (e.g. the user's
    /// role lacks the widget's permission) `403` JSON `widget_token_refused` with its message,
    /// and WorkOS failing `503`. API keys cannot use it (`403`): widgets act for a user.
    ///
    /// ```
    /// use axum::Router;
    /// use authkit_axum::AuthKit;
    /// use authkit_axum::user_management::WidgetScope;
    ///
    /// # fn app(authkit: AuthKit, store: authkit_axum::stores::MemoryStore) -> Router {
    /// Router::new()
    ///     .route(
    ///         "/api/widgets/users-table/token",
    ///         authkit.widget_token_route([WidgetScope::UsersTableManage]),
    ///     )
    ///     .merge(authkit.router())
    ///     .layer(authkit.layer(store))
    /// # }
    /// ```
    pub fn widget_token_route<S>(
        &self,
        scopes: impl IntoIterator<Item = WidgetScope>,
    ) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let authkit = self.clone();
        let scopes: Arc<[WidgetScope]> = scopes.into_iter().collect();
        axum::routing::get(move |user: AuthUser| {
            let authkit = authkit.clone();
            let scopes = scopes.clone();
            async move { widget_token(&authkit, &user, &scopes).await }
        })
    }
}

async fn widget_token(authkit: &AuthKit, user: &AuthUser, scopes: &[WidgetScope]) -> Response {
    let Some(organization_id) = user.organization_id.as_deref() else {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({
                "error": "organization_required",
                "message": "Widgets act in an organization: choose one first.",
            })),
        )
            .into_response();
    };
    let params = GetWidgetToken::new(organization_id)
        .user_id(user.id.clone())
        .scopes(scopes.iter().cloned());
    match authkit
        .client()
        .user_management()
        .get_widget_token(params)
        .await
    {
        Ok(token) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({ "token": token.token.expose_secret() })),
        )
            .into_response(),
        Err(err)
            if err
                .status()
                .is_some_and(|s| (400..500).contains(&s) && s != 429) =>
        {
            tracing::info!(user_id = %user.id, error = %err, "WorkOS refused a widget token");
            (
                StatusCode::FORBIDDEN,
                axum::Json(json!({
                    "error": "widget_token_refused",
                    "message": format!("WorkOS refused the widget token: {err}"),
                })),
            )
                .into_response()
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not get a widget token from WorkOS");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                axum::Json(json!({
                    "error": "widget_token_unavailable",
                    "message": "The widget cannot be loaded right now. Try again in a moment.",
                })),
            )
                .into_response()
        }
    }
}
