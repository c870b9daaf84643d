//! The app's settings the API can add to: `POST /user_management/redirect_uris` (a redirect
//! URI the hosted sign-in then accepts, as one registered at start) and
//! `POST /user_management/cors_origins` (recorded; the emulator sends no CORS headers).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
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
