//! Authentication in the emulator: sessions, authorization codes, refresh tokens, pending
//! authentications, MFA factors and challenges.
//!
//! The records live here so that the authenticate endpoint, the hosted sign-in page and the
//! factor endpoints share one model.

pub(crate) mod device;
pub(crate) mod hosted;
mod hosted_html;
pub(crate) mod impersonation;

use time::OffsetDateTime;

use super::store::{Record, Table};

pub(crate) mod grants;
pub(crate) mod tokens;

/// Authentication state, inside [`Store`](super::store::Store).
#[derive(Default)]
pub(crate) struct AuthStore {
    /// AuthKit sessions (`session_...`), the `sid` of access tokens.
    pub sessions: Table<SessionRec>,
    /// Authorization codes issued by the hosted sign-in page, exchanged by the
    /// `authorization_code` grant. Keyed by the code itself.
    pub codes: Table<AuthCodeRec>,
    /// Refresh tokens, single use (rotated on every refresh). Keyed by the token.
    pub refresh_tokens: Table<RefreshTokenRec>,
    /// Pending authentications behind a step-up error. Keyed by the pending token.
    pub pending: Table<PendingAuthRec>,
    /// MFA factors (`auth_factor_...`).
    pub factors: Table<FactorRec>,
    /// MFA challenges (`auth_challenge_...`).
    pub challenges: Table<ChallengeRec>,
    /// Sessions and pending tokens started by a public client (PKCE, no `client_secret`):
    /// the grants that continue them may omit `client_secret` too.
    pub public_client: std::collections::HashSet<String>,
    /// Sign-ins in progress on the hosted page. Keyed by the flow id.
    pub hosted_flows: Table<hosted::FlowRec>,
    /// Device authorizations (CLI sign-in). Keyed by the device code.
    pub devices: Table<device::DeviceAuthRec>,
}

/// An AuthKit session.
#[derive(Debug, Clone)]
pub(crate) struct SessionRec {
    pub id: String,
    pub user_id: String,
    /// The organization the session is currently scoped to.
    pub organization_id: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
    /// The response's `authentication_method`, e.g. `Password`, `MagicAuth`.
    pub authentication_method: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// `(email, reason)` of an impersonator.
    pub impersonator: Option<(String, Option<String>)>,
    pub expires_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// An authorization code from the hosted page (single use, short-lived).
#[derive(Debug, Clone)]
pub(crate) struct AuthCodeRec {
    /// The code itself (the record's id).
    pub code: String,
    pub user_id: String,
    pub organization_id: Option<String>,
    /// The PKCE `code_challenge` (S256) given to `/user_management/authorize`, if any.
    pub code_challenge: Option<String>,
    /// e.g. `Password`.
    pub authentication_method: String,
    pub invitation_token: Option<String>,
    pub expires_at: OffsetDateTime,
    pub used: bool,
    /// The exchange itself asks for the step-ups still needed (email verification, MFA,
    /// organization choice), as WorkOS does after e.g. an OAuth sign-in; codes from the hosted
    /// page, which ran those steps itself, do not.
    pub step_ups: bool,
    /// The redirect URI the code was sent to (`None` for codes seeded directly in tests). A
    /// code exchange that names a `redirect_uri` must name this one.
    pub redirect_uri: Option<String>,
    /// `(email, reason)` of the dashboard user impersonating the user: the session the code
    /// starts is an impersonation.
    pub impersonator: Option<(String, Option<String>)>,
}

/// A refresh token (single use).
#[derive(Debug, Clone)]
pub(crate) struct RefreshTokenRec {
    /// The token itself (the record's id).
    pub token: String,
    pub session_id: String,
    pub used: bool,
}

/// What a pending authentication is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PendingKind {
    /// The emailed verification code (`email_verification_required`).
    EmailVerification,
    /// A TOTP code for a challenge (`mfa_challenge` / `mfa_enrollment`).
    Mfa,
    /// An organization choice (`organization_selection_required`).
    OrganizationSelection,
}

/// The spec's `auth_method` (snake_case) for a response `authentication_method`.
fn auth_method(method: &str) -> &'static str {
    match method {
        "Password" => "password",
        "MagicAuth" => "magic_code",
        "SSO" => "sso",
        "Passkey" => "passkey",
        "Impersonation" => "impersonation",
        "MigratedSession" => "migrated_session",
        "CrossAppAuth" => "cross_app_auth",
        "ExternalAuth" => "external_auth",
        m if m.ends_with("OAuth") => "oauth",
        _ => "unknown",
    }
}

impl SessionRec {
    /// The status as of `now`: an active session past its expiry is `expired`.
    pub fn status_at(&self, now: time::OffsetDateTime) -> &str {
        if self.status == "active" && self.expires_at <= now {
            "expired"
        } else {
            &self.status
        }
    }

    /// The spec's session object.
    pub fn to_json(&self, now: time::OffsetDateTime) -> serde_json::Value {
        let mut body = serde_json::json!({
            "object": "session",
            "id": self.id,
            "user_id": self.user_id,
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "auth_method": auth_method(&self.authentication_method),
            "status": self.status_at(now),
            "expires_at": crate::store::ts(self.expires_at),
            "ended_at": crate::store::ts_opt(self.ended_at),
            "created_at": crate::store::ts(self.created_at),
            "updated_at": crate::store::ts(self.updated_at),
        });
        if let Some(org) = &self.organization_id {
            body["organization_id"] = serde_json::json!(org);
        }
        if let Some((email, reason)) = &self.impersonator {
            body["impersonator"] = serde_json::json!({ "email": email, "reason": reason });
        }
        body
    }
}

/// A sign-in stopped at a step-up, resumed with its pending token.
#[derive(Debug, Clone)]
pub(crate) struct PendingAuthRec {
    /// The pending authentication token (the record's id).
    pub token: String,
    pub kind: PendingKind,
    pub user_id: String,
    pub authentication_method: String,
    /// Organization already chosen (e.g. via `organization_id` on authorize), if any.
    pub organization_id: Option<String>,
    /// For `EmailVerification`: the email verification record id.
    pub email_verification_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

/// An MFA factor. Only TOTP is enrolled through User Management.
#[derive(Debug, Clone)]
pub(crate) struct FactorRec {
    pub id: String,
    pub user_id: String,
    pub totp_issuer: String,
    pub totp_user: String,
    /// Base32 TOTP secret (SHA-1, 6 digits, 30 s).
    pub secret: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// An MFA challenge of a factor.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeRec {
    pub id: String,
    pub factor_id: String,
    pub expires_at: OffsetDateTime,
    pub used: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Record for SessionRec {
    fn id(&self) -> &str {
        &self.id
    }
}
impl Record for AuthCodeRec {
    fn id(&self) -> &str {
        &self.code
    }
}
impl Record for RefreshTokenRec {
    fn id(&self) -> &str {
        &self.token
    }
}
impl Record for PendingAuthRec {
    fn id(&self) -> &str {
        &self.token
    }
}
impl Record for FactorRec {
    fn id(&self) -> &str {
        &self.id
    }
}
impl Record for ChallengeRec {
    fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
/// The current TOTP code of a base32 secret (SHA-1, 6 digits, 30 s step) at `at`.
pub(crate) fn totp_code(secret_base32: &str, at: OffsetDateTime) -> Option<String> {
    let totp = totp(secret_base32)?;
    Some(totp.generate(at.unix_timestamp().max(0) as u64))
}

/// Whether `code` is the TOTP of `secret_base32` at `at`, one step of clock skew allowed.
pub(crate) fn totp_verify(secret_base32: &str, code: &str, at: OffsetDateTime) -> bool {
    totp(secret_base32).is_some_and(|t| t.check(code.trim(), at.unix_timestamp().max(0) as u64))
}

fn totp(secret_base32: &str) -> Option<totp_rs::TOTP> {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .ok()?;
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        String::new(),
    )
    .into()
}

/// A new random base32 TOTP secret (160 bits).
pub(crate) fn new_totp_secret() -> String {
    let bytes: [u8; 20] = rand::random();
    totp_rs::Secret::Raw(bytes.to_vec())
        .to_encoded()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_round_trips() {
        let secret = new_totp_secret();
        let now = OffsetDateTime::now_utc();
        let code = totp_code(&secret, now).unwrap();
        assert_eq!(code.len(), 6);
        assert!(totp_verify(&secret, &code, now));
        assert!(!totp_verify(&secret, "000000", now) || code == "000000");
        // RFC 6238 test vector (SHA-1, secret "12345678901234567890", T = 59 s).
        let rfc = totp_rs::Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        let at = OffsetDateTime::from_unix_timestamp(59).unwrap();
        assert_eq!(totp_code(&rfc, at).unwrap(), "287082");
    }
}
