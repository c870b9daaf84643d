//! Authentication: every grant of `POST /user_management/authenticate`.
//!
//! Each grant has a params struct with a `new(required..)` constructor and setters for the
//! optional fields. The client adds `client_id` and, when it has an API key, `client_secret`
//! (a client without a key is a public client: it must use PKCE with
//! [`authenticate_with_code`](UserManagement::authenticate_with_code)).
//!
//! A sign-in may stop at a step-up (verify the email, pass MFA, choose an organization): the
//! call then fails with [`Error::EmailVerificationRequired`](crate::Error::EmailVerificationRequired),
//! [`Error::MfaChallenge`](crate::Error::MfaChallenge),
//! [`Error::OrganizationSelectionRequired`](crate::Error::OrganizationSelectionRequired), ...,
//! each carrying the `pending_authentication_token` the next grant needs.

use serde::{Deserialize, Serialize};

use super::{User, UserManagement};
use crate::SecretString;
use crate::client::{Endpoint, Result};

/// An organization offered in an `organization_selection_required` step-up: `{id, name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationSummary {
    /// The organization id, `org_...`.
    pub id: String,
    /// The organization's name.
    #[serde(default)]
    pub name: String,
}

string_enum!(
    /// How the user authenticated (`authentication_method` of an [`AuthenticateResponse`]).
    pub enum AuthenticationMethod {
        /// Single sign-on.
        Sso = "SSO",
        /// Email and password.
        Password = "Password",
        /// A passkey.
        Passkey = "Passkey",
        /// Sign in with Apple.
        AppleOAuth = "AppleOAuth",
        /// Bitbucket OAuth.
        BitbucketOAuth = "BitbucketOAuth",
        /// Cross-app authentication.
        CrossAppAuth = "CrossAppAuth",
        /// Discord OAuth.
        DiscordOAuth = "DiscordOAuth",
        /// An external authentication provider.
        ExternalAuth = "ExternalAuth",
        /// GitHub OAuth.
        GitHubOAuth = "GitHubOAuth",
        /// GitLab OAuth.
        GitLabOAuth = "GitLabOAuth",
        /// Google OAuth.
        GoogleOAuth = "GoogleOAuth",
        /// Intuit OAuth.
        IntuitOAuth = "IntuitOAuth",
        /// LinkedIn OAuth.
        LinkedInOAuth = "LinkedInOAuth",
        /// Microsoft OAuth.
        MicrosoftOAuth = "MicrosoftOAuth",
        /// Salesforce OAuth.
        SalesforceOAuth = "SalesforceOAuth",
        /// Slack OAuth.
        SlackOAuth = "SlackOAuth",
        /// Vercel Marketplace OAuth.
        VercelMarketplaceOAuth = "VercelMarketplaceOAuth",
        /// Vercel OAuth.
        VercelOAuth = "VercelOAuth",
        /// Xero OAuth.
        XeroOAuth = "XeroOAuth",
        /// A Magic Auth code.
        MagicAuth = "MagicAuth",
        /// Impersonation from the WorkOS dashboard.
        Impersonation = "Impersonation",
        /// A session migrated from another system.
        MigratedSession = "MigratedSession",
    }
);

/// Who is impersonating the user (a WorkOS dashboard user), on impersonated sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Impersonator {
    /// The impersonator's email.
    pub email: String,
    /// Why they impersonate, if they said.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Tokens of the upstream OAuth provider, when the sign-in went through one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthTokens {
    /// The provider, e.g. `GoogleOAuth`.
    pub provider: String,
    /// The provider's access token.
    pub access_token: SecretString,
    /// The provider's refresh token.
    pub refresh_token: SecretString,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
    /// The granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A successful authentication: the user and a session's tokens.
///
/// The tokens are [`SecretString`]s, so `Debug` output never shows them.
///
/// ```
/// use authkit_axum::user_management::AuthenticateResponse;
///
/// let response: AuthenticateResponse = serde_json::from_value(serde_json::json!({
///     "user": {
///         "object": "user", "id": "user_1", "email": "ada@example.com", "email_verified": true,
///         "first_name": null, "last_name": null, "profile_picture_url": null,
///         "external_id": null, "last_sign_in_at": null,
///         "created_at": "2026-01-15T12:00:00.000Z", "updated_at": "2026-01-15T12:00:00.000Z"
///     },
///     "access_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
///     "refresh_token": "rt_secret",
///     "authentication_method": "Password",
///     "organization_id": "org_1"
/// })).unwrap();
/// assert_eq!(response.organization_id.as_deref(), Some("org_1"));
/// assert!(!format!("{response:?}").contains("rt_secret"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticateResponse {
    /// The signed-in user.
    pub user: User,
    /// The access token (an RS256 JWT; verify it against the JWKS).
    pub access_token: SecretString,
    /// The refresh token. Single use: store the new one every time you refresh.
    pub refresh_token: SecretString,
    /// The organization the session is scoped to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// How the user authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_method: Option<AuthenticationMethod>,
    /// The impersonator, on impersonated sessions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonator: Option<Impersonator>,
    /// The upstream OAuth provider's tokens, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_tokens: Option<OAuthTokens>,
    /// A code another application can exchange for tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authkit_authorization_code: Option<SecretString>,
}

/// Declares a grant's params struct: required fields, optional fields, and the setters of the
/// optional ones (plus `ip_address`, `user_agent` and `device_id`, which every grant takes).
macro_rules! grant_params {
    (
        $(#[$meta:meta])*
        $name:ident {
            required { $($(#[$rmeta:meta])* $req:ident : $rty:ty,)* }
            optional { $($(#[$ometa:meta])* $opt:ident : $oty:ty,)* }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Serialize)]
        #[non_exhaustive]
        pub struct $name {
            $($(#[$rmeta])* pub $req: $rty,)*
            $(
                $(#[$ometa])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $opt: Option<$oty>,
            )*
            /// The end user's IP address.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub ip_address: Option<String>,
            /// The end user's browser `User-Agent` (not this client's).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub user_agent: Option<String>,
            /// An identifier of the end user's device.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub device_id: Option<String>,
        }

        setters!($name {
            $($(#[$ometa])* $opt: $oty,)*
            /// Sets the end user's IP address.
            ip_address: String,
            /// Sets the end user's browser `User-Agent`.
            user_agent: String,
            /// Sets the end user's device identifier.
            device_id: String,
        });
    };
}

grant_params!(
    /// Parameters of [`UserManagement::authenticate_with_code`] (`grant_type=authorization_code`).
    ///
    /// ```
    /// use authkit_axum::user_management::AuthenticateWithCode;
    ///
    /// let params = AuthenticateWithCode::new("01HCODE")
    ///     .code_verifier("verifier-from-the-session")
    ///     .ip_address("203.0.113.7");
    /// assert!(!format!("{params:?}").contains("01HCODE"));
    /// ```
    AuthenticateWithCode {
        required {
            /// The `code` query parameter of the callback.
            code: SecretString,
        }
        optional {
            /// The PKCE verifier whose challenge was sent to the authorization URL.
            code_verifier: SecretString,
            /// An invitation to accept during sign-in.
            invitation_token: SecretString,
        }
    }
);

impl AuthenticateWithCode {
    /// Exchanges this authorization code.
    pub fn new(code: impl Into<SecretString>) -> Self {
        Self {
            code: code.into(),
            code_verifier: None,
            invitation_token: None,
            ip_address: None,
            user_agent: None,
            device_id: None,
        }
    }
}

grant_params!(
    /// Parameters of [`UserManagement::authenticate_with_password`] (`grant_type=password`).
    ///
    /// ```
    /// use authkit_axum::user_management::AuthenticateWithPassword;
    ///
    /// let params = AuthenticateWithPassword::new("ada@example.com", "correct horse battery staple");
    /// assert!(!format!("{params:?}").contains("horse"));
    /// ```
    AuthenticateWithPassword {
        required {
            /// The email address.
            email: String,
            /// The password.
            password: SecretString,
        }
        optional {
            /// An invitation to accept during sign-in.
            invitation_token: SecretString,
        }
    }
);

impl AuthenticateWithPassword {
    /// Signs in with this email and password.
    pub fn new(email: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            invitation_token: None,
            ip_address: None,
            user_agent: None,
            device_id: None,
        }
    }
}

grant_params!(
    /// Parameters of [`UserManagement::authenticate_with_magic_auth`]
    /// (`grant_type=urn:workos:oauth:grant-type:magic-auth:code`).
    AuthenticateWithMagicAuth {
        required {
            /// The emailed one-time code.
            code: SecretString,
            /// The email address the code was sent to.
            email: String,
        }
        optional {
            /// An invitation to accept during sign-in.
            invitation_token: SecretString,
        }
    }
);

impl AuthenticateWithMagicAuth {
    /// Signs in with the Magic Auth `code` sent to `email`.
    pub fn new(code: impl Into<SecretString>, email: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            email: email.into(),
            invitation_token: None,
            ip_address: None,
            user_agent: None,
            device_id: None,
        }
    }
}

grant_params!(
    /// Parameters of [`UserManagement::authenticate_with_email_verification`]
    /// (`grant_type=urn:workos:oauth:grant-type:email-verification:code`), after an
    /// [`Error::EmailVerificationRequired`](crate::Error::EmailVerificationRequired).
    AuthenticateWithEmailVerification {
        required {
            /// The emailed verification code.
            code: SecretString,
            /// The step-up's pending authentication token.
            pending_authentication_token: SecretString,
        }
        optional {}
    }
);

impl AuthenticateWithEmailVerification {
    /// Completes a sign-in by verifying the email with `code`.
    pub fn new(
        code: impl Into<SecretString>,
        pending_authentication_token: impl Into<SecretString>,
    ) -> Self {
        Self {
            code: code.into(),
            pending_authentication_token: pending_authentication_token.into(),
            ip_address: None,
            user_agent: None,
            device_id: None,
        }
    }
}

grant_params!(
    /// Parameters of [`UserManagement::authenticate_with_totp`]
    /// (`grant_type=urn:workos:oauth:grant-type:mfa-totp`), after an
    /// [`Error::MfaChallenge`](crate::Error::MfaChallenge) (challenge the factor first) or an
    /// [`Error::MfaEnrollment`](crate::Error::MfaEnrollment) (use the enrollment's challenge).
    AuthenticateWithTotp {
        required {
            /// The 6-digit code of the authenticator app.
            code: SecretString,
            /// The step-up's pending authentication token.
            pending_authentication_token: SecretString,
            /// The challenge id (`auth_challenge_...`).
            authentication_challenge_id: String,
        }
        optional {}
    }
);

impl AuthenticateWithTotp {
    /// Completes a sign-in with a TOTP `code` for a challenge.
    pub fn new(
        code: impl Into<SecretString>,
        pending_authentication_token: impl Into<SecretString>,
        authentication_challenge_id: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            pending_authentication_token: pending_authentication_token.into(),
            authentication_challenge_id: authentication_challenge_id.into(),
            ip_address: None,
            user_agent: None,
            device_id: None,
        }
    }
}

grant_params!(
    /// Parameters of [`UserManagement::authenticate_with_selected_organization`]
    /// (`grant_type=urn:workos:oauth:grant-type:organization-selection`), after an
    /// [`Error::OrganizationSelectionRequired`](crate::Error::OrganizationSelectionRequired).
    AuthenticateWithSelectedOrganization {
        required {
            /// The step-up's pending authentication token.
            pending_authentication_token: SecretString,
            /// The chosen organization (`org_...`).
            organization_id: String,
        }
        optional {}
    }
);

impl AuthenticateWithSelectedOrganization {
    /// Completes a sign-in into `organization_id`.
    pub fn new(
        pending_authentication_token: impl Into<SecretString>,
        organization_id: impl Into<String>,
    ) -> Self {
        Self {
            pending_authentication_token: pending_authentication_token.into(),
            organization_id: organization_id.into(),
            ip_address: None,
            user_agent: None,
            device_id: None,
        }
    }
}

grant_params!(
    /// Parameters of [`UserManagement::authenticate_with_refresh_token`]
    /// (`grant_type=refresh_token`).
    ///
    /// ```
    /// use authkit_axum::user_management::AuthenticateWithRefreshToken;
    ///
    /// // Refresh into another organization the user belongs to.
    /// let params = AuthenticateWithRefreshToken::new("stored-refresh-token").organization_id("org_2");
    /// assert_eq!(params.organization_id.as_deref(), Some("org_2"));
    /// ```
    AuthenticateWithRefreshToken {
        required {
            /// The current refresh token (single use).
            refresh_token: SecretString,
        }
        optional {
            /// Switch the session to this organization (the user must be a member).
            organization_id: String,
        }
    }
);

impl AuthenticateWithRefreshToken {
    /// Refreshes with this refresh token.
    pub fn new(refresh_token: impl Into<SecretString>) -> Self {
        Self {
            refresh_token: refresh_token.into(),
            organization_id: None,
            ip_address: None,
            user_agent: None,
            device_id: None,
        }
    }
}

grant_params!(
    /// Parameters of [`UserManagement::authenticate_with_device_code`]
    /// (`grant_type=urn:ietf:params:oauth:grant-type:device_code`): one poll of a device
    /// sign-in. [`UserManagement::poll_device_authorization`] polls until it is done.
    ///
    /// ```
    /// use authkit_axum::user_management::AuthenticateWithDeviceCode;
    ///
    /// let params = AuthenticateWithDeviceCode::new("device-code-from-authorize-device");
    /// assert!(!format!("{params:?}").contains("device-code-from"));
    /// ```
    AuthenticateWithDeviceCode {
        required {
            /// The `device_code` of the [`DeviceAuthorization`](super::DeviceAuthorization).
            device_code: SecretString,
        }
        optional {}
    }
);

impl AuthenticateWithDeviceCode {
    /// Polls the device sign-in of this device code.
    pub fn new(device_code: impl Into<SecretString>) -> Self {
        Self {
            device_code: device_code.into(),
            ip_address: None,
            user_agent: None,
            device_id: None,
        }
    }
}

/// The body of one authenticate call: the client's credentials, the grant type and its params.
#[derive(Serialize)]
struct GrantBody<'a, P: Serialize> {
    grant_type: &'static str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(flatten)]
    params: &'a P,
}

impl UserManagement {
    async fn authenticate<P: Serialize>(
        &self,
        grant_type: &'static str,
        params: &P,
    ) -> Result<AuthenticateResponse> {
        self.authenticate_with_secret(grant_type, params, true)
            .await
    }

    /// One authenticate call; `send_secret: false` for the grants of clients that have none
    /// (the device flow's schema has no `client_secret`).
    async fn authenticate_with_secret<P: Serialize>(
        &self,
        grant_type: &'static str,
        params: &P,
        send_secret: bool,
    ) -> Result<AuthenticateResponse> {
        let client_secret = match send_secret {
            true => self.client.api_key().map(SecretString::expose_secret),
            false => None,
        };
        let body = GrantBody {
            grant_type,
            client_id: self.client.client_id(),
            client_secret,
            params,
        };
        self.client
            .execute(Endpoint::post("/user_management/authenticate", &[]).json(&body))
            .await
    }

    /// Exchanges an authorization code from the callback for tokens.
    /// `POST /user_management/authenticate` with `grant_type=authorization_code`.
    ///
    /// A client without an API key (public client) must send the PKCE `code_verifier`.
    pub async fn authenticate_with_code(
        &self,
        params: AuthenticateWithCode,
    ) -> Result<AuthenticateResponse> {
        self.authenticate("authorization_code", &params).await
    }

    /// Signs in with an email and password.
    /// `POST /user_management/authenticate` with `grant_type=password`.
    ///
    /// A wrong email or password fails with [`Error::is_invalid_credentials`](crate::Error::is_invalid_credentials);
    /// the sign-in may also stop at a step-up error.
    pub async fn authenticate_with_password(
        &self,
        params: AuthenticateWithPassword,
    ) -> Result<AuthenticateResponse> {
        self.authenticate("password", &params).await
    }

    /// Signs in with a Magic Auth code.
    /// `POST /user_management/authenticate` with
    /// `grant_type=urn:workos:oauth:grant-type:magic-auth:code`.
    pub async fn authenticate_with_magic_auth(
        &self,
        params: AuthenticateWithMagicAuth,
    ) -> Result<AuthenticateResponse> {
        self.authenticate("urn:workos:oauth:grant-type:magic-auth:code", &params)
            .await
    }

    /// Continues a sign-in stopped by `email_verification_required`, with the emailed code.
    /// `POST /user_management/authenticate` with
    /// `grant_type=urn:workos:oauth:grant-type:email-verification:code`.
    pub async fn authenticate_with_email_verification(
        &self,
        params: AuthenticateWithEmailVerification,
    ) -> Result<AuthenticateResponse> {
        self.authenticate(
            "urn:workos:oauth:grant-type:email-verification:code",
            &params,
        )
        .await
    }

    /// Continues a sign-in stopped by `mfa_challenge` or `mfa_enrollment`, with a TOTP code.
    /// `POST /user_management/authenticate` with `grant_type=urn:workos:oauth:grant-type:mfa-totp`.
    pub async fn authenticate_with_totp(
        &self,
        params: AuthenticateWithTotp,
    ) -> Result<AuthenticateResponse> {
        self.authenticate("urn:workos:oauth:grant-type:mfa-totp", &params)
            .await
    }

    /// Continues a sign-in stopped by `organization_selection_required`, into the chosen
    /// organization. `POST /user_management/authenticate` with
    /// `grant_type=urn:workos:oauth:grant-type:organization-selection`.
    pub async fn authenticate_with_selected_organization(
        &self,
        params: AuthenticateWithSelectedOrganization,
    ) -> Result<AuthenticateResponse> {
        self.authenticate(
            "urn:workos:oauth:grant-type:organization-selection",
            &params,
        )
        .await
    }

    /// Polls a device sign-in once: the tokens when the user has approved it.
    /// `POST /user_management/authenticate` with
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (no `client_secret`: a CLI
    /// has none).
    ///
    /// Until the user answers this fails with [`Error::DeviceCode`](crate::Error::DeviceCode):
    /// [`AuthorizationPending`](crate::error::DeviceCodeErrorKind::AuthorizationPending) (poll
    /// again after the interval), [`SlowDown`](crate::error::DeviceCodeErrorKind::SlowDown)
    /// (poll 5 s slower), [`Expired`](crate::error::DeviceCodeErrorKind::Expired) or
    /// [`AccessDenied`](crate::error::DeviceCodeErrorKind::AccessDenied). A device code
    /// already exchanged fails with [`Error::is_invalid_grant`](crate::Error::is_invalid_grant).
    /// [`poll_device_authorization`](UserManagement::poll_device_authorization) runs the
    /// whole loop.
    pub async fn authenticate_with_device_code(
        &self,
        params: AuthenticateWithDeviceCode,
    ) -> Result<AuthenticateResponse> {
        self.authenticate_with_secret(
            "urn:ietf:params:oauth:grant-type:device_code",
            &params,
            false,
        )
        .await
    }

    /// Exchanges a refresh token for a new access token **and a new refresh token** (refresh
    /// tokens are single use), optionally switching organization.
    /// `POST /user_management/authenticate` with `grant_type=refresh_token`.
    ///
    /// A used, revoked or unknown refresh token fails with
    /// [`Error::is_invalid_grant`](crate::Error::is_invalid_grant): the session is over.
    pub async fn authenticate_with_refresh_token(
        &self,
        params: AuthenticateWithRefreshToken,
    ) -> Result<AuthenticateResponse> {
        self.authenticate("refresh_token", &params).await
    }
}
