//! HTTP plumbing of the emulator: WorkOS-shaped errors, a JSON body extractor that answers
//! bad bodies the way WorkOS does, and the API-key check.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::SharedState;

/// An error answered in one of WorkOS's body shapes.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    /// `{message}` with any status.
    pub fn message(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "message": message.into() }),
        }
    }

    /// `{code, message}`.
    pub fn code(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "code": code, "message": message.into() }),
        }
    }

    /// OAuth style `{error, error_description}`, status 400.
    pub fn oauth(error: &str, description: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": error, "error_description": description.into() }),
        }
    }

    /// 404 `{message}`: "User not found: 'user_...'."
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::message(StatusCode::NOT_FOUND, format!("{what} not found: '{id}'."))
    }

    /// 422 `invalid_request_parameters` naming the field.
    pub fn invalid_params(field: &str, message: &str) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({
                "code": "invalid_request_parameters",
                "message": "Validation failed",
                "errors": [{ "code": format!("{field}_invalid"), "field": field, "message": message }],
            }),
        }
    }

    /// Adds extra fields to the body (step-up payloads).
    pub fn with(mut self, extra: Value) -> Self {
        if let (Value::Object(body), Value::Object(extra)) = (&mut self.body, extra) {
            body.extend(extra);
        }
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// A JSON body; a missing or malformed body is a 422 `invalid_request_parameters`, as WorkOS
/// answers, instead of axum's plain-text rejection.
pub(crate) struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::message(StatusCode::BAD_REQUEST, e.body_text()))?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            axum::body::Bytes::from_static(b"{}")
        } else {
            bytes
        };
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::message(
                StatusCode::BAD_REQUEST,
                format!("The request body is not valid JSON: {e}"),
            )
        })?;
        serde_json::from_value(value).map(Json).map_err(|e| {
            let text = e.to_string();
            let field = text.split('`').nth(1).unwrap_or("body").to_owned();
            ApiError::invalid_params(&field, &text)
        })
    }
}

/// Query parameters; a malformed or repeated one is a 422 `invalid_request_parameters` naming
/// it, in WorkOS's JSON error shape, instead of axum's plain-text 400.
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(raw).map(Query).map_err(|e| {
            let text = e.to_string();
            let field = text.split('`').nth(1).unwrap_or("query").to_owned();
            ApiError::invalid_params(&field, &format!("Invalid query parameter: {text}"))
        })
    }
}

/// Rejects API calls without `Authorization: Bearer <the emulator's API key>`.
pub(crate) async fn require_api_key(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    if bearer_matches(request.headers(), &state.config.api_key) {
        next.run(request).await
    } else {
        ApiError::message(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: send 'Authorization: Bearer <API key>' with the emulator's API key.",
        )
        .into_response()
    }
}

/// Whether the request carries the API key as its bearer token.
pub(crate) fn bearer_matches(headers: &HeaderMap, api_key: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|key| {
            use subtle::ConstantTimeEq;
            bool::from(key.trim().as_bytes().ct_eq(api_key.as_bytes()))
        })
}
