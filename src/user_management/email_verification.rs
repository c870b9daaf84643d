//! Email verification: email a code to a user, confirm it, read a verification back.

use serde::{Deserialize, Serialize};

use super::{Timestamp, User, UserManagement};
use crate::SecretString;
use crate::client::{Endpoint, Result};

/// An email verification code (`object: "email_verification"`), e.g. the one named by an
/// `email_verification_required` step-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmailVerification {
    /// The id, `email_verification_...`.
    pub id: String,
    /// The user being verified.
    pub user_id: String,
    /// The email address being verified.
    pub email: String,
    /// The one-time code (a secret: redacted in `Debug`; empty in an event's data).
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

/// `{ "user": User }`, as the send and confirm endpoints answer.
#[derive(Deserialize)]
struct UserEnvelope {
    user: User,
}

impl UserManagement {
    /// Emails the user a verification code, and returns the user (refused with
    /// `email_already_verified` when there is nothing to verify).
    /// `POST /user_management/users/{id}/email_verification/send`.
    pub async fn send_verification_email(&self, user_id: &str) -> Result<User> {
        let envelope: UserEnvelope = self
            .client
            .execute(Endpoint::post(
                "/user_management/users/{id}/email_verification/send",
                &[user_id],
            ))
            .await?;
        Ok(envelope.user)
    }

    /// Confirms the emailed code and returns the now verified user. Errors carry the codes
    /// `email_verification_code_incorrect`, `email_verification_code_expired`,
    /// `email_verification_code_previously_used` and `email_previously_verified`.
    /// `POST /user_management/users/{id}/email_verification/confirm`.
    pub async fn verify_email(&self, user_id: &str, code: &str) -> Result<User> {
        #[derive(Serialize)]
        struct Body<'a> {
            code: &'a str,
        }
        let envelope: UserEnvelope = self
            .client
            .execute(
                Endpoint::post(
                    "/user_management/users/{id}/email_verification/confirm",
                    &[user_id],
                )
                .json(&Body { code }),
            )
            .await?;
        Ok(envelope.user)
    }

    /// Gets an email verification by id, e.g. to send the code yourself.
    /// `GET /user_management/email_verification/{id}`.
    pub async fn get_email_verification(&self, id: &str) -> Result<EmailVerification> {
        self.client
            .execute(Endpoint::get(
                "/user_management/email_verification/{id}",
                &[id],
            ))
            .await
    }
}
