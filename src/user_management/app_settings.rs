//! The app's settings the API adds to: redirect URIs and CORS origins.

use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::client::{Endpoint, Result};

/// A redirect URI of the app (`object: "redirect_uri"`): where sign-ins may return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedirectUri {
    /// The id, `ruri_...`.
    pub id: String,
    /// The URI.
    pub uri: String,
    /// Whether it is the default one.
    #[serde(default)]
    pub default: bool,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// A CORS origin (`object: "cors_origin"`): a site whose browser code may call WorkOS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CorsOrigin {
    /// The id, `cors_origin_...`.
    pub id: String,
    /// The origin, e.g. `https://app.example.com`.
    pub origin: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

#[derive(Serialize)]
struct RedirectUriBody<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
struct CorsOriginBody<'a> {
    origin: &'a str,
}

impl UserManagement {
    /// Registers a redirect URI: sign-ins may return to it from now on. A URI already
    /// registered is refused with 422; a malformed one with 400.
    /// `POST /user_management/redirect_uris`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// let created = um.create_redirect_uri("https://preview-42.example.com/auth/callback").await?;
    /// assert!(created.id.starts_with("ruri_"));
    /// # Ok(()) }
    /// ```
    pub async fn create_redirect_uri(&self, uri: &str) -> Result<RedirectUri> {
        self.client
            .execute(
                Endpoint::post("/user_management/redirect_uris", &[])
                    .json(&RedirectUriBody { uri }),
            )
            .await
    }

    /// Adds a CORS origin. One already added is refused with 409 `duplicate_cors_origin`; a
    /// value that is not an origin with 422. `POST /user_management/cors_origins`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// let origin = um.create_cors_origin("https://app.example.com").await?;
    /// assert_eq!(origin.origin, "https://app.example.com");
    /// # Ok(()) }
    /// ```
    pub async fn create_cors_origin(&self, origin: &str) -> Result<CorsOrigin> {
        self.client
            .execute(
                Endpoint::post("/user_management/cors_origins", &[])
                    .json(&CorsOriginBody { origin }),
            )
            .await
    }
}
