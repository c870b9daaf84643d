//! The JWT template: the custom claims WorkOS adds to every access token.

use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::client::{Endpoint, Result};

/// The JWT template (`object: "jwt_template"`): JSON with Liquid tags, e.g.
/// `{"tier": "{{user.metadata.tier}}"}`. Read its claims from a verified token with
/// [`AccessTokenClaims::custom`](crate::session::AccessTokenClaims::custom).
///
/// ```
/// use authkit_axum::user_management::JwtTemplate;
///
/// let template: JwtTemplate = serde_json::from_value(serde_json::json!({
///     "object": "jwt_template", "content": "{\"tier\": \"{{user.metadata.tier}}\"}",
///     "created_at": "2026-01-15T12:00:00.000Z", "updated_at": "2026-01-15T12:00:00.000Z"
/// })).unwrap();
/// assert!(template.content.contains("user.metadata.tier"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JwtTemplate {
    /// The template.
    pub content: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

#[derive(Serialize)]
struct UpdateBody<'a> {
    content: &'a str,
}

impl UserManagement {
    /// Gets the JWT template. `GET /user_management/jwt_template`.
    pub async fn get_jwt_template(&self) -> Result<JwtTemplate> {
        self.client
            .execute(Endpoint::get("/user_management/jwt_template", &[]))
            .await
    }

    /// Replaces the JWT template; access tokens issued afterwards carry its claims. An invalid
    /// template is refused with 422 `invalid_request_parameters`.
    /// `PUT /user_management/jwt_template`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// let template = um
    ///     .update_jwt_template(r#"{"tier": "{{user.metadata.tier}}", "org_name": "{{organization.name}}"}"#)
    ///     .await?;
    /// assert!(template.content.contains("tier"));
    /// # Ok(()) }
    /// ```
    pub async fn update_jwt_template(&self, content: &str) -> Result<JwtTemplate> {
        self.client
            .execute(
                Endpoint::put("/user_management/jwt_template", &[]).json(&UpdateBody { content }),
            )
            .await
    }
}
