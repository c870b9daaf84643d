//! [`WorkosWebhook`]: the extractor of a WorkOS webhook route.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::webhooks::{Event, SIGNATURE_HEADER, WebhookError, Webhooks};

/// A verified WorkOS webhook delivery: the extractor checks the `WorkOS-Signature` header over
/// the raw body with the [`Webhooks`] in the app's state and gives the [`Event`]. A delivery
/// that does not verify is answered `401` (bad signature, stale timestamp) or `400` (no or a
/// malformed header, not an event) with JSON naming the problem, and never reaches the
/// handler.
///
/// ```
/// use axum::{Router, extract::FromRef, routing::post};
/// use authkit_axum::webhooks::{EventKind, Webhooks};
/// use authkit_axum::web::WorkosWebhook;
///
/// #[derive(Clone)]
/// struct AppState {
///     webhooks: Webhooks,
/// }
///
/// impl FromRef<AppState> for Webhooks {
///     fn from_ref(state: &AppState) -> Webhooks {
///         state.webhooks.clone()
///     }
/// }
///
/// async fn workos_events(WorkosWebhook(event): WorkosWebhook) -> &'static str {
///     if event.kind() == EventKind::UserCreated {
///         // create the user's row (event.id makes retried deliveries idempotent)
///     }
///     "ok"
/// }
///
/// let app: Router = Router::new()
///     .route("/webhooks/workos", post(workos_events))
///     .with_state(AppState { webhooks: Webhooks::new("whsec_from_the_dashboard") });
/// ```
#[derive(Debug, Clone)]
pub struct WorkosWebhook(pub Event);

/// Why [`WorkosWebhook`] refused a delivery.
#[derive(Debug)]
pub struct WebhookRejection(pub WebhookError);

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let status = match self.0 {
            WebhookError::BadSignature | WebhookError::Stale { .. } => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        tracing::warn!(error = %self.0, "refused a webhook delivery");
        (
            status,
            axum::Json(json!({ "error": "invalid_webhook", "message": self.0.to_string() })),
        )
            .into_response()
    }
}

impl<S> FromRequest<S> for WorkosWebhook
where
    S: Send + Sync,
    Webhooks: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let webhooks = Webhooks::from_ref(state);
        let (signature, body) = signed_body(request, state).await?;
        let Some(signature) = signature else {
            return Err(WebhookRejection(WebhookError::MissingSignature).into_response());
        };
        webhooks
            .verify(&body, &signature)
            .map(WorkosWebhook)
            .map_err(|err| WebhookRejection(err).into_response())
    }
}

/// The `WorkOS-Signature` header (if present and text) and the raw body of a signed request
/// from WorkOS: what webhook deliveries and action requests are verified over.
pub(crate) async fn signed_body<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<(Option<String>, Bytes), Response> {
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = Bytes::from_request(request, state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((signature, body))
}
