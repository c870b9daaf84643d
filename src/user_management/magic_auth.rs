//! Magic Auth: email a one-time sign-in code, and read it back.

use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::SecretString;
use crate::client::{Endpoint, Result};

/// A Magic Auth code (`object: "magic_auth"`), valid for 10 minutes. Exchange it with the
/// magic-auth grant of `POST /user_management/authenticate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MagicAuth {
    /// The id, `magic_auth_...`.
    pub id: String,
    /// The user the code signs in.
    pub user_id: String,
    /// The email address it was sent to.
    pub email: String,
    /// The 6-digit one-time code (a secret: redacted in `Debug`; empty in an event's data).
    #[serde(default)]
    pub code: SecretString,
    /// When the code expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: Timestamp,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// Parameters of [`UserManagement::send_magic_auth_code`].
///
/// ```
/// use authkit_axum::user_management::SendMagicAuthCode;
///
/// let params = SendMagicAuthCode::new("ada@example.com").invitation_token("Z1uX3Rbw");
/// assert!(!format!("{params:?}").contains("Z1uX3Rbw"));
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body["invitation_token"], "Z1uX3Rbw");
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SendMagicAuthCode {
    /// The email address to send the code to. Required.
    pub email: String,
    /// An invitation to accept when the code is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_token: Option<SecretString>,
}

impl SendMagicAuthCode {
    /// A code for `email`.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            invitation_token: None,
        }
    }
}

setters!(SendMagicAuthCode {
    /// Sets the invitation to accept with the code.
    invitation_token: SecretString,
});

impl UserManagement {
    /// Creates a Magic Auth code and emails it (WorkOS creates the user if no user has that
    /// email). The response carries the code, for sending it yourself.
    /// `POST /user_management/magic_auth` (the legacy `/magic_auth/send` is gone).
    pub async fn send_magic_auth_code(&self, params: SendMagicAuthCode) -> Result<MagicAuth> {
        self.client
            .execute(Endpoint::post("/user_management/magic_auth", &[]).json(&params))
            .await
    }

    /// Gets a Magic Auth code by id. `GET /user_management/magic_auth/{id}`.
    pub async fn get_magic_auth(&self, id: &str) -> Result<MagicAuth> {
        self.client
            .execute(Endpoint::get("/user_management/magic_auth/{id}", &[id]))
            .await
    }
}
