//! The app's settings the API can add to: `POST /user_management/redirect_uris` (a redirect
//! URI the hosted sign-in then accepts, as one registered at start) and
//! `POST /user_management/cors_origins` (an origin whose browser code may then call the API:
//! [`cors`] answers its preflights and adds `Access-Control-Allow-Origin` to its responses).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{ApiError, Json};
use crate::registration::normalize;
use crate::store::{CorsOriginRec, RedirectUriRec, new_id, ts};
use crate::{SharedState, State as EmulatorState};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/redirect_uris", post(create_redirect_uri))
        .route("/user_management/cors_origins", post(create_cors_origin))
}

impl EmulatorState {
    /// Whether `uri` is a redirect URI registered at start or added over the API.
    pub(crate) fn is_redirect_uri(&self, uri: &str) -> bool {
        self.config.registered.is_redirect_uri(uri)
            || normalize(uri)
                .is_some_and(|uri| self.store().redirect_uris.find(|r| r.uri == uri).is_some())
    }
}

#[derive(Deserialize)]
struct RedirectUriBody {
    uri: String,
}

async fn create_redirect_uri(
    State(state): State<SharedState>,
    Json(body): Json<RedirectUriBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let uri = normalize(body.uri.trim()).ok_or_else(|| {
        ApiError::message(
            StatusCode::BAD_REQUEST,
            format!(
                "Redirect URI '{}' is not an absolute http(s) URL without a fragment.",
                body.uri
            ),
        )
    })?;
    let now = state.now();
    let registered = &state.config.registered.redirect_uris;
    let mut store = state.store();
    if registered.contains(&uri) || store.redirect_uris.find(|r| r.uri == uri).is_some() {
        return Err(ApiError::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Redirect URI '{}' already exists.", body.uri.trim()),
        ));
    }
    let rec = RedirectUriRec {
        id: new_id("ruri"),
        default: registered.is_empty() && store.redirect_uris.iter().next().is_none(),
        uri,
        created_at: now,
    };
    let out = json!({
        "object": "redirect_uri",
        "id": rec.id,
        "uri": rec.uri,
        "default": rec.default,
        "created_at": ts(rec.created_at),
        "updated_at": ts(rec.created_at),
    });
    store.redirect_uris.insert(rec);
    Ok((StatusCode::CREATED, axum::Json(out)))
}

#[derive(Deserialize)]
struct CorsOriginBody {
    origin: String,
}

/// `origin` as an origin (`scheme://host[:port]`), if it is one.
fn as_origin(origin: &str) -> Option<String> {
    let url = url::Url::parse(origin).ok()?;
    let serialized = url.origin().ascii_serialization();
    let plain = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.path() == "/"
        && !origin.ends_with('/');
    plain.then_some(serialized)
}

async fn create_cors_origin(
    State(state): State<SharedState>,
    Json(body): Json<CorsOriginBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let origin = as_origin(body.origin.trim()).ok_or_else(|| ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body: json!({
            "message": "Validation failed.",
            "errors": [{
                "property": "origin",
                "constraints": {
                    "isOrigin": format!(
                        "'{}' is not an origin: give a scheme, a host and an optional port, e.g. https://app.example.com",
                        body.origin
                    ),
                },
            }],
        }),
    })?;
    let now = state.now();
    let mut store = state.store();
    if store.cors_origins.find(|c| c.origin == origin).is_some() {
        return Err(ApiError::code(
            StatusCode::CONFLICT,
            "duplicate_cors_origin",
            "CORS origin already exists.",
        ));
    }
    let rec = CorsOriginRec {
        id: new_id("cors_origin"),
        origin,
        created_at: now,
    };
    let out = json!({
        "object": "cors_origin",
        "id": rec.id,
        "origin": rec.origin,
        "created_at": ts(rec.created_at),
        "updated_at": ts(rec.created_at),
    });
    store.cors_origins.insert(rec);
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// Axum middleware: CORS for the origins created with `POST /user_management/cors_origins`. A
/// preflight (`OPTIONS` with `Access-Control-Request-Method`) from one is answered 204 with the
/// allowed methods and headers; from another origin, 403 without CORS headers (the browser
/// then blocks the call). Other requests from a registered origin get
/// `Access-Control-Allow-Origin`. The control API (`/__emulator/`) is never shared.
pub(crate) async fn cors(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(origin) = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return next.run(request).await;
    };
    if request.uri().path().starts_with(crate::control::PREFIX) {
        return next.run(request).await;
    }
    let allowed = state
        .store()
        .cors_origins
        .find(|c| c.origin == origin)
        .is_some();
    let allow_origin = HeaderValue::from_str(&origin).ok().filter(|_| allowed);
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let Some(allow_origin) = allow_origin else {
            return ApiError::message(
                StatusCode::FORBIDDEN,
                format!(
                    "The origin '{origin}' is not a CORS origin of this app: add it with POST /user_management/cors_origins."
                ),
            )
            .into_response();
        };
        let requested_headers = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE"),
        );
        if let Some(requested) = requested_headers {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Some(allow_origin) = allow_origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}
