//! Password reset: email a reset link, read it back, and set the new password.

use serde::{Deserialize, Serialize};

use super::{Timestamp, User, UserManagement};
use crate::SecretString;
use crate::client::{Endpoint, Result};

/// A password reset (`object: "password_reset"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PasswordReset {
    /// The id, `password_reset_...`.
    pub id: String,
    /// The user whose password it resets.
    pub user_id: String,
    /// The email address it was sent to.
    pub email: String,
    /// The single-use token (a secret: redacted in `Debug`; empty in an event's data).
    #[serde(default)]
    pub password_reset_token: SecretString,
    /// The emailed link: your reset page (configured in the WorkOS dashboard) with the
    /// token as its `token` query parameter. It carries the token, so it is a secret too (empty
    /// in an event's data).
    #[serde(default)]
    pub password_reset_url: SecretString,
    /// When the token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: Timestamp,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

/// Parameters of [`UserManagement::reset_password`].
///
/// ```
/// use authkit_axum::user_management::ResetPassword;
///
/// let params = ResetPassword::new("tok_from_the_link", "a new long passphrase");
/// let debug = format!("{params:?}");
/// assert!(!debug.contains("tok_from_the_link") && !debug.contains("passphrase"));
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body["new_password"], "a new long passphrase");
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ResetPassword {
    /// The token from the reset link.
    pub token: SecretString,
    /// The new password.
    pub new_password: SecretString,
}

impl ResetPassword {
    /// Sets `new_password` with the reset link's `token`.
    pub fn new(token: impl Into<SecretString>, new_password: impl Into<SecretString>) -> Self {
        Self {
            token: token.into(),
            new_password: new_password.into(),
        }
    }
}

/// `{ "user": User }`, as the confirm endpoint answers.
#[derive(Deserialize)]
struct UserEnvelope {
    user: User,
}

impl UserManagement {
    /// Creates a password reset for the user with this email and emails the link.
    /// `POST /user_management/password_reset` (body `{email}` only; the legacy
    /// `/password_reset/send` and its `password_reset_url` input are gone: the link is built
    /// by WorkOS from the dashboard setting).
    pub async fn send_password_reset_email(&self, email: &str) -> Result<PasswordReset> {
        self.client
            .execute(
                Endpoint::post("/user_management/password_reset", &[])
                    .json(&serde_json::json!({ "email": email })),
            )
            .await
    }

    /// Gets a password reset by id. `GET /user_management/password_reset/{id}`.
    pub async fn get_password_reset(&self, id: &str) -> Result<PasswordReset> {
        self.client
            .execute(Endpoint::get("/user_management/password_reset/{id}", &[id]))
            .await
    }

    /// Sets a new password with a reset token, and returns the user. The token is single
    /// use; WorkOS also marks the email verified and ends all the user's sessions.
    /// `POST /user_management/password_reset/confirm`.
    pub async fn reset_password(&self, params: ResetPassword) -> Result<User> {
        let envelope: UserEnvelope = self
            .client
            .execute(Endpoint::post("/user_management/password_reset/confirm", &[]).json(&params))
            .await?;
        Ok(envelope.user)
    }
}
