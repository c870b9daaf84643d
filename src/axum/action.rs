//! [`WorkosAction`]: the extractor of an AuthKit action route.

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::actions::{Action, ActionError, ActionResponse, Actions};
use crate::webhooks::WebhookError;

/// A verified AuthKit action request: the extractor checks the `WorkOS-Signature` header over
/// the raw body with the [`Actions`] in the app's state and gives the [`Action`], with
/// [`allow`](Self::allow) and [`deny`](Self::deny) to answer it signed. A request that does
/// not verify is answered `401` (bad signature, stale timestamp) or `400` (no or a malformed
/// header, not an action) with JSON naming the problem, and never reaches the handler; WorkOS
/// then applies the action's error behaviour (deny, unless the dashboard says otherwise).
///
/// ```
/// use axum::{Router, extract::FromRef, routing::post};
/// use authkit_axum::actions::{Action, ActionResponse, Actions};
/// use authkit_axum::web::WorkosAction;
///
/// #[derive(Clone)]
/// struct AppState {
///     actions: Actions,
/// }
///
/// impl FromRef<AppState> for Actions {
///     fn from_ref(state: &AppState) -> Actions {
///         state.actions.clone()
///     }
/// }
///
/// async fn workos_action(request: WorkosAction) -> ActionResponse {
///     match &request.action {
///         Action::UserRegistration(sign_up)
///             if sign_up.user_data.email.ends_with("@blocked.example") =>
///         {
///             request.deny("Sign-ups from blocked.example are closed.")
///         }
///         _ => request.allow(),
///     }
/// }
///
/// let app: Router = Router::new()
///     .route("/actions/workos", post(workos_action))
///     .with_state(AppState { actions: Actions::new("action_secret_from_the_dashboard") });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkosAction {
    /// The request.
    pub action: Action,
    actions: Actions,
}

impl WorkosAction {
    /// The signed `Allow` answer.
    pub fn allow(&self) -> ActionResponse {
        self.actions.allow(&self.action)
    }

    /// The signed `Deny` answer; WorkOS shows `message` to the user.
    pub fn deny(&self, message: impl Into<String>) -> ActionResponse {
        self.actions.deny(&self.action, message)
    }
}

/// Why [`WorkosAction`] refused a request.
#[derive(Debug)]
pub struct ActionRejection(pub ActionError);

impl IntoResponse for ActionRejection {
    fn into_response(self) -> Response {
        let status = if self.0.is_unauthorized() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        tracing::warn!(error = %self.0, "refused an action request");
        (
            status,
            axum::Json(json!({ "error": "invalid_action_request", "message": self.0.to_string() })),
        )
            .into_response()
    }
}

impl<S> FromRequest<S> for WorkosAction
where
    S: Send + Sync,
    Actions: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let actions = Actions::from_ref(state);
        let (signature, body) = super::webhook::signed_body(request, state).await?;
        let Some(signature) = signature else {
            let missing = ActionError::Signature(WebhookError::MissingSignature);
            return Err(ActionRejection(missing).into_response());
        };
        let action = actions
            .verify(&body, &signature)
            .map_err(|err| ActionRejection(err).into_response())?;
        Ok(WorkosAction { action, actions })
    }
}
