//! Typed payloads of the events whose data is not a resource of its own: the `authentication.*`
//! events. (The others carry the resource: a [`User`](crate::user_management::User), a
//! [`Session`](crate::user_management::Session), an
//! [`Invitation`](crate::user_management::Invitation), ...)

use serde::{Deserialize, Serialize};

string_enum!(
    /// How a user authenticated, in an [`AuthenticationEventData`] (`type`).
    pub enum AuthenticationType {
        /// Email and password.
        Password = "password",
        /// A Magic Auth code.
        MagicAuth = "magic_auth",
        /// An email verification code.
        EmailVerification = "email_verification",
        /// A second factor (TOTP).
        Mfa = "mfa",
        /// An OAuth provider (Google, Microsoft, GitHub, ...).
        Oauth = "oauth",
        /// A passkey.
        Passkey = "passkey",
        /// Single sign-on through the organization's identity provider.
        Sso = "sso",
    }
);

string_enum!(
    /// The outcome in an [`AuthenticationEventData`] (`status`).
    pub enum AuthenticationStatus {
        /// It succeeded.
        Succeeded = "succeeded",
        /// It failed ([`AuthenticationEventData::error`] says why).
        Failed = "failed",
        /// An SSO sign-in started.
        Started = "started",
        /// An SSO sign-in was not completed in time.
        TimedOut = "timed_out",
    }
);

/// The data of an `authentication.*` event (`authentication.password_succeeded`,
/// `authentication.mfa_failed`, `authentication.sso_succeeded`, ...): who tried which method,
/// from where, and how it went.
///
/// ```
/// use authkit_axum::webhooks::{AuthenticationEventData, AuthenticationStatus, AuthenticationType, Event};
///
/// let event: Event = serde_json::from_value(serde_json::json!({
///     "object": "event", "id": "event_1", "event": "authentication.password_failed",
///     "created_at": "2026-12-04T10:00:00.000Z",
///     "data": { "type": "password", "status": "failed", "ip_address": "198.51.100.7",
///               "user_agent": "curl/8", "user_id": null, "email": "ada@example.com",
///               "error": { "code": "invalid_credentials", "message": "Invalid credentials." } }
/// })).unwrap();
/// let data: AuthenticationEventData = event.data_as().unwrap();
/// assert_eq!(data.r#type, AuthenticationType::Password);
/// assert_eq!(data.status, AuthenticationStatus::Failed);
/// assert_eq!(data.error.unwrap().code, "invalid_credentials");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticationEventData {
    /// The method.
    pub r#type: AuthenticationType,
    /// The outcome.
    pub status: AuthenticationStatus,
    /// The IP address of the request, when it was passed on.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// The user agent of the request, when it was passed on.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The user, when one is known (a failure for an unknown email has none).
    #[serde(default)]
    pub user_id: Option<String>,
    /// The email address tried.
    #[serde(default)]
    pub email: Option<String>,
    /// Why it failed (`failed` and `timed_out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AuthenticationEventError>,
    /// The SSO connection (`authentication.sso_*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoAuthentication>,
}

/// Why an authentication failed, in [`AuthenticationEventData::error`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticationEventError {
    /// The error code, e.g. `invalid_credentials`, `invalid_one_time_code`.
    pub code: String,
    /// A human-readable message.
    #[serde(default)]
    pub message: String,
}

/// The SSO details of an `authentication.sso_*` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SsoAuthentication {
    /// The organization signed in to.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The SSO connection used.
    #[serde(default)]
    pub connection_id: Option<String>,
    /// The SSO session.
    #[serde(default)]
    pub session_id: Option<String>,
}
