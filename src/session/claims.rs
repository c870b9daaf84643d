//! The claims of a WorkOS access token.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The verified claims of a WorkOS access token (an RS256 JWT).
///
/// ```
/// use authkit_axum::session::AccessTokenClaims;
///
/// let claims: AccessTokenClaims = serde_json::from_value(serde_json::json!({
///     "sub": "user_1", "sid": "session_1", "exp": 1900000000, "iat": 1899999700,
///     "org_id": "org_1", "role": "admin", "permissions": ["widgets:manage"],
///     "some_future_claim": true
/// })).unwrap();
/// assert!(claims.has_permission("widgets:manage"));
/// assert_eq!(claims.role.as_deref(), Some("admin"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// The user id (`user_...`).
    pub sub: String,
    /// The WorkOS session id (`session_...`), used to sign out.
    #[serde(default)]
    pub sid: Option<String>,
    /// The issuer.
    #[serde(default)]
    pub iss: Option<String>,
    /// The token id.
    #[serde(default)]
    pub jti: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    #[serde(default)]
    pub iat: Option<i64>,
    /// When the user authenticated, Unix seconds, when the token says (OpenID Connect's
    /// `auth_time`).
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// The organization the session is scoped to.
    #[serde(default)]
    pub org_id: Option<String>,
    /// The role slug in that organization.
    #[serde(default)]
    pub role: Option<String>,
    /// All role slugs.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Permission slugs.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Entitlements.
    #[serde(default)]
    pub entitlements: Vec<String>,
    /// Enabled feature flags.
    #[serde(default)]
    pub feature_flags: Vec<String>,
    /// The impersonator, on impersonated sessions.
    #[serde(default)]
    pub act: Option<Actor>,
    /// Every other claim: those your WorkOS JWT template adds, and any WorkOS adds later. Read
    /// them typed with [`custom`](Self::custom).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The `act` claim: who is impersonating the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Actor {
    /// The impersonator's email.
    pub sub: String,
}

impl AccessTokenClaims {
    /// The token's claims as your own type: the custom claims of a WorkOS JWT template (and
    /// any standard claim the type names too). Fields the token lacks fail unless the type
    /// gives them a default.
    ///
    /// ```
    /// use authkit_axum::session::AccessTokenClaims;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Plan {
    ///     tier: String,
    ///     #[serde(default)]
    ///     seats: u32,
    ///     org_id: Option<String>,
    /// }
    ///
    /// let claims: AccessTokenClaims = serde_json::from_value(serde_json::json!({
    ///     "sub": "user_1", "exp": 1900000000, "org_id": "org_1", "tier": "pro", "seats": 12
    /// })).unwrap();
    /// let plan: Plan = claims.custom().unwrap();
    /// assert_eq!((plan.tier.as_str(), plan.seats, plan.org_id.as_deref()), ("pro", 12, Some("org_1")));
    /// assert!(claims.custom::<std::collections::HashMap<String, u8>>().is_err());
    /// ```
    pub fn custom<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::to_value(self).and_then(serde_json::from_value)
    }

    /// Whether the token grants this permission.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// Whether the token carries this role (as `role` or in `roles`).
    pub fn has_role(&self, role: &str) -> bool {
        self.role.as_deref() == Some(role) || self.roles.iter().any(|r| r == role)
    }
}
