//! Email change: send a code to the new address, then confirm it.

use serde::{Deserialize, Serialize};

use super::{Timestamp, User, UserManagement};
use crate::client::{Endpoint, Result};

/// A started email change (`object: "email_change"`): a code went to `new_email`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmailChange {
    /// The user, still with the old email.
    pub user: User,
    /// The address the code went to.
    pub new_email: String,
    /// When the code expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: Timestamp,
    /// When the change was started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

/// A confirmed email change (`object: "email_change_confirmation"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmailChangeConfirmation {
    /// The user, with the new email.
    pub user: User,
}

/// Parameters of [`UserManagement::send_email_change`].
///
/// ```
/// use authkit_axum::user_management::SendEmailChange;
///
/// let body = serde_json::to_value(SendEmailChange::new("ada@new.example")).unwrap();
/// assert_eq!(body, serde_json::json!({ "new_email": "ada@new.example" }));
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SendEmailChange {
    /// The new address. Required.
    pub new_email: String,
}

impl SendEmailChange {
    /// A change to `new_email`.
    pub fn new(new_email: impl Into<String>) -> Self {
        Self {
            new_email: new_email.into(),
        }
    }
}

#[derive(Serialize)]
struct ConfirmBody<'a> {
    code: &'a str,
}

impl UserManagement {
    /// Starts changing a user's email: WorkOS emails a one-time code to the new address.
    /// Refused with `email_change_not_needed` (the same address), `email_not_available` (another
    /// user has it), `email_change_not_allowed` (409) or `invalid_email` (422).
    /// `POST /user_management/users/{id}/email_change/send`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// use authkit_axum::user_management::SendEmailChange;
    ///
    /// let change = um.send_email_change("user_123", SendEmailChange::new("ada@new.example")).await?;
    /// // The user types the code from the email:
    /// let done = um.confirm_email_change("user_123", "123456").await?;
    /// assert_eq!(done.user.email, change.new_email);
    /// # Ok(()) }
    /// ```
    pub async fn send_email_change(
        &self,
        user_id: &str,
        params: SendEmailChange,
    ) -> Result<EmailChange> {
        self.client
            .execute(
                Endpoint::post("/user_management/users/{id}/email_change/send", &[user_id])
                    .json(&params),
            )
            .await
    }

    /// Confirms an email change with the code sent to the new address; the user's email
    /// becomes the new one. Refused with `email_change_code_incorrect` or
    /// `email_change_code_expired` (400), `no_pending_email_change`,
    /// `email_change_code_previously_used` or `email_not_available` (409), and
    /// `email_change_too_many_attempts` (429).
    /// `POST /user_management/users/{id}/email_change/confirm`.
    pub async fn confirm_email_change(
        &self,
        user_id: &str,
        code: &str,
    ) -> Result<EmailChangeConfirmation> {
        self.client
            .execute(
                Endpoint::post(
                    "/user_management/users/{id}/email_change/confirm",
                    &[user_id],
                )
                .json(&ConfirmBody { code }),
            )
            .await
    }
}
