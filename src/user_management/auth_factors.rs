//! Multi-factor authentication: enroll and list TOTP factors, challenge a factor.

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::SecretString;
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// A factor as listed in an `mfa_challenge` step-up: `{id, type}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticationFactorSummary {
    /// The factor id, `auth_factor_...`.
    pub id: String,
    /// The factor type, e.g. `totp`.
    #[serde(rename = "type")]
    pub kind: String,
}

string_enum!(
    /// The kind of an [`AuthenticationFactor`].
    pub enum AuthenticationFactorType {
        /// A generic one-time password.
        GenericOtp = "generic_otp",
        /// A code sent by SMS.
        Sms = "sms",
        /// A time-based one-time password (authenticator app).
        Totp = "totp",
        /// A WebAuthn credential.
        Webauthn = "webauthn",
    }
);

/// The TOTP details of a factor. `secret`, `qr_code` and `uri` are only returned at
/// enrollment ([`UserManagement::enroll_auth_factor`]); listing factors omits them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TotpFactor {
    /// The issuer shown in the authenticator app.
    pub issuer: String,
    /// The account name shown in the authenticator app.
    pub user: String,
    /// The Base32 shared secret (enrollment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretString>,
    /// An image of the QR code to scan, as a `data:` URL (enrollment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    /// The `otpauth://` URI, which contains the secret (enrollment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<SecretString>,
}

/// The SMS details of a factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SmsFactor {
    /// The phone number.
    pub phone_number: String,
}

/// An MFA factor (`object: "authentication_factor"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticationFactor {
    /// The factor id, `auth_factor_...`.
    pub id: String,
    /// The factor type.
    #[serde(rename = "type")]
    pub kind: AuthenticationFactorType,
    /// The user it belongs to.
    #[serde(default)]
    pub user_id: Option<String>,
    /// TOTP details.
    #[serde(default)]
    pub totp: Option<TotpFactor>,
    /// SMS details.
    #[serde(default)]
    pub sms: Option<SmsFactor>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// A challenge of a factor (`object: "authentication_challenge"`): pass its `id` as
/// `authentication_challenge_id` to [`UserManagement::authenticate_with_totp`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticationChallenge {
    /// The challenge id, `auth_challenge_...`.
    pub id: String,
    /// The challenged factor.
    pub authentication_factor_id: String,
    /// When the challenge expires, if it does.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<Timestamp>,
    /// The one-time code (non-TOTP factors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<SecretString>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// The result of [`UserManagement::enroll_auth_factor`]: the factor, with its one-time TOTP
/// secret, QR code and URI, and a first challenge of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EnrolledAuthFactor {
    /// The new factor (with its secrets: show them once, never store them in logs).
    pub authentication_factor: AuthenticationFactor,
    /// A challenge of the new factor, e.g. to finish an `mfa_enrollment` step-up.
    pub authentication_challenge: AuthenticationChallenge,
}

/// Parameters of [`UserManagement::enroll_auth_factor`].
///
/// ```
/// use authkit_axum::user_management::EnrollAuthFactor;
///
/// let params = EnrollAuthFactor::totp().totp_issuer("Acme").totp_user("ada@example.com");
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body, serde_json::json!({"type": "totp", "totp_issuer": "Acme", "totp_user": "ada@example.com"}));
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct EnrollAuthFactor {
    /// The factor type; only `totp` can be enrolled.
    #[serde(rename = "type")]
    pub kind: AuthenticationFactorType,
    /// The issuer shown in the authenticator app (default: the WorkOS team name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_issuer: Option<String>,
    /// The account name shown in the app (default: the user's email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_user: Option<String>,
    /// Your own Base32 secret (SHA-1, 6 digits, 30 s); generated when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<SecretString>,
}

impl EnrollAuthFactor {
    /// A TOTP factor.
    pub fn totp() -> Self {
        Self {
            kind: AuthenticationFactorType::Totp,
            totp_issuer: None,
            totp_user: None,
            totp_secret: None,
        }
    }
}

setters!(EnrollAuthFactor {
    /// Sets the issuer shown in the authenticator app.
    totp_issuer: String,
    /// Sets the account name shown in the authenticator app.
    totp_user: String,
    /// Supplies the Base32 secret instead of letting WorkOS generate one.
    totp_secret: SecretString,
});

/// Parameters of [`UserManagement::list_auth_factors`]: pagination only.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListAuthFactors {
    /// Pagination.
    pub page: PageParams,
}

impl ListAuthFactors {
    /// The first page, WorkOS's default size.
    pub fn new() -> Self {
        Self::default()
    }
}
page_setters!(ListAuthFactors);

/// The (empty, for TOTP) body of a challenge.
#[derive(Serialize)]
struct ChallengeBody {}

impl UserManagement {
    /// Enrolls an MFA factor for a user and challenges it once.
    /// `POST /user_management/users/{id}/auth_factors`.
    pub async fn enroll_auth_factor(
        &self,
        user_id: &str,
        params: EnrollAuthFactor,
    ) -> Result<EnrolledAuthFactor> {
        self.client
            .execute(
                Endpoint::post("/user_management/users/{id}/auth_factors", &[user_id])
                    .json(&params),
            )
            .await
    }

    /// Lists a user's MFA factors (without secrets), one page.
    /// `GET /user_management/users/{id}/auth_factors`.
    pub async fn list_auth_factors(
        &self,
        user_id: &str,
        params: &ListAuthFactors,
    ) -> Result<Page<AuthenticationFactor>> {
        let endpoint = Endpoint::get("/user_management/users/{id}/auth_factors", &[user_id]);
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists a user's MFA factors across every page, as a stream.
    /// `GET /user_management/users/{id}/auth_factors`.
    pub fn list_auth_factors_stream(
        &self,
        user_id: &str,
        params: ListAuthFactors,
    ) -> impl Stream<Item = Result<AuthenticationFactor>> + Send + 'static {
        let um = self.clone();
        let user_id = user_id.to_owned();
        paginate(params.page, move |page| {
            let um = um.clone();
            let user_id = user_id.clone();
            async move {
                um.list_auth_factors(&user_id, &ListAuthFactors { page })
                    .await
            }
        })
    }

    /// Challenges a factor, e.g. one listed by an `mfa_challenge` step-up; then call
    /// [`authenticate_with_totp`](Self::authenticate_with_totp) with the challenge's id.
    /// `POST /auth/factors/{id}/challenge`.
    pub async fn challenge_auth_factor(&self, factor_id: &str) -> Result<AuthenticationChallenge> {
        self.client
            .execute(
                Endpoint::post("/auth/factors/{id}/challenge", &[factor_id])
                    .json(&ChallengeBody {}),
            )
            .await
    }
}
