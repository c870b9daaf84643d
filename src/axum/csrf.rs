//! The one CSRF guard of every state-changing route (sign-out, the organization switch, the
//! step-up forms): a request is accepted when it comes from the app's own origin or a trusted
//! one, as the browser says with `Origin` (else `Sec-Fetch-Site`).

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ConfigError;
use crate::http_url::HttpUrl;

/// The origins a state-changing request may come from: the app's own (from the callback URL)
/// and the trusted ones (other hosts of the app, the public origin in front of a proxy).
#[derive(Debug, Clone)]
pub(crate) struct Origins {
    allowed: Vec<String>,
}

impl Origins {
    pub(crate) fn new(own: &HttpUrl, trusted: Vec<String>) -> Result<Origins, ConfigError> {
        let mut allowed = vec![own.origin()];
        for origin in trusted {
            let parsed = checked_origin(&origin)?;
            if !allowed.contains(&parsed) {
                allowed.push(parsed);
            }
        }
        Ok(Origins { allowed })
    }

    /// The CSRF guard of every state-changing route: `Err` is the 403 to answer.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), CrossSiteRequest> {
        if self.allows(headers) {
            Ok(())
        } else {
            Err(CrossSiteRequest::new(headers))
        }
    }

    /// Whether a state-changing request with these headers comes from an allowed origin.
    ///
    /// A present `Origin` decides (`null`, or a value that is not text, is not allowed).
    /// Without one, `Sec-Fetch-Site` decides: `same-origin` and `none` (typed by the user)
    /// pass, `same-site` (a sibling subdomain) and `cross-site` do not. With neither, the
    /// request is not a browser's cross-site form post (browsers send `Origin` with every
    /// POST), and passes.
    pub(crate) fn allows(&self, headers: &HeaderMap) -> bool {
        if let Some(origin) = headers.get(header::ORIGIN) {
            return self
                .allowed
                .iter()
                .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes()));
        }
        match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some(site) => site == "same-origin" || site == "none",
            None => true,
        }
    }
}

/// `origin` as `scheme://host[:port]`, or why it is not an origin.
fn checked_origin(origin: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "trusted_origin",
        reason,
    };
    let url = HttpUrl::parse(origin).map_err(|e| {
        invalid(format!(
            "{origin:?} is not an http(s) origin ({e}); write scheme, host and port only, e.g. https://admin.example.com"
        ))
    })?;
    if !matches!(url.path(), "" | "/") || url.has_query() || origin.contains('#') {
        return Err(invalid(format!(
            "{origin:?} has more than an origin (a path, query or fragment); browsers send only scheme, host and port in Origin: use {}",
            url.origin()
        )));
    }
    Ok(url.origin())
}

/// A state-changing request that did not come from the app's origin or a trusted one
/// (see [`AuthKit::check_origin`](crate::AuthKit::check_origin)). As a response it is a
/// `403` that names the setting to change, as JSON for API calls.
///
/// ```
/// # let client = authkit_axum::Client::builder().api_key("sk_test_1").client_id("client_1").build().unwrap();
/// # let authkit = authkit_axum::AuthKit::builder(client, "https://app.example.com/auth/callback").build().unwrap();
/// use axum::response::IntoResponse;
///
/// let mut headers = axum::http::HeaderMap::new();
/// headers.insert("origin", "https://evil.example".parse().unwrap());
/// let refused = authkit.check_origin(&headers).unwrap_err();
/// assert_eq!(refused.origin(), Some("https://evil.example"));
/// assert_eq!(refused.into_response().status(), 403);
/// ```
#[derive(Debug, Clone)]
pub struct CrossSiteRequest {
    origin: Option<String>,
    json: bool,
}

impl CrossSiteRequest {
    pub(crate) fn new(headers: &HeaderMap) -> CrossSiteRequest {
        CrossSiteRequest {
            origin: headers
                .get(header::ORIGIN)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            json: super::extract::wants_json(headers),
        }
    }

    /// The request's `Origin`, if it had one.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

const MESSAGE: &str = "This form must be submitted from this site (cross-site request refused). If the app is served from another origin too, add it with AuthKitBuilder::trusted_origin.";

impl std::fmt::Display for CrossSiteRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(origin) => write!(
                f,
                "a state-changing request from {origin:?} was refused: not the app's origin nor a trusted one"
            ),
            None => f.write_str(
                "a state-changing request from another site was refused (Sec-Fetch-Site)",
            ),
        }
    }
}

impl std::error::Error for CrossSiteRequest {}

impl IntoResponse for CrossSiteRequest {
    fn into_response(self) -> Response {
        tracing::warn!(origin = self.origin.as_deref(), "{self}");
        if self.json {
            (
                StatusCode::FORBIDDEN,
                axum::Json(
                    serde_json::json!({ "error": "cross_site_request", "message": MESSAGE }),
                ),
            )
                .into_response()
        } else {
            (StatusCode::FORBIDDEN, MESSAGE).into_response()
        }
    }
}
