//! AuthKit Actions: allowing or denying a sign-up or a sign-in from your own code.
//!
//! With an action configured in the WorkOS dashboard, WorkOS pauses a user registration (before
//! the user is created) or an authentication (before the browser is sent back to your app),
//! POSTs an **action request** to your endpoint, and waits for a signed verdict:
//!
//! - the request is JSON, `object: "authentication_action_context"` (the [`User`], the
//!   organization and membership being signed in to, IP address, user agent) or
//!   `"user_registration_action_context"` (the email and names entered, the invitation if
//!   any), signed like a webhook: `WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256 of
//!   "<t>.<raw body>">` with the action's secret;
//! - the answer is `200` with `{object: "<type>_action_response", payload: {timestamp,
//!   verdict: "Allow" | "Deny", error_message?}, signature}`, where `signature` is the hex
//!   HMAC-SHA256 of `"<payload.timestamp>.<payload as compact JSON>"` with the same secret.
//!   WorkOS shows a denial's `error_message` to the user.
//!
//! [`Actions`] checks requests (signature compared in constant time, timestamp within 30 s
//! either way by default, as WorkOS's Node SDK) and signs answers. If WorkOS cannot reach your
//! endpoint or cannot verify its answer, it applies the error behaviour chosen in the dashboard:
//! **deny** by default.
//!
//! ```
//! use authkit_axum::actions::{Action, ActionError, ActionResponse, Actions};
//!
//! fn answer(actions: &Actions, body: &[u8], header: &str) -> Result<ActionResponse, ActionError> {
//!     let action = actions.verify(body, header)?;
//!     Ok(match &action {
//!         Action::UserRegistration(sign_up) if sign_up.user_data.email.ends_with("@blocked.example") => {
//!             actions.deny(&action, "Sign-ups from blocked.example are closed.")
//!         }
//!         _ => actions.allow(&action), // new action types parse too, as Action::Other
//!     })
//! }
//! # let _ = answer;
//! ```
//!
//! With the `axum` feature, [`web::WorkosAction`](crate::web::WorkosAction) is the extractor
//! for an action route, and [`ActionResponse`] is its answer.
//!
//! WorkOS's OpenAPI description does not cover action requests and responses (only the
//! `action.authentication.denied` and `action.user_registration.denied` events): the shapes
//! here follow WorkOS's Actions guide and its official SDKs.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::SecretString;
use crate::organizations::Organization;
use crate::user_management::{OrganizationMembership, User};
use crate::webhooks::{WebhookError, Webhooks, millis};

pub use crate::webhooks::SIGNATURE_HEADER;

/// How far an action request's timestamp may be from now, by default (30 seconds: WorkOS waits
/// for the answer synchronously, so a request is never old when it is genuine).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(30);

string_enum!(
    /// The type of an action (`type` in WorkOS's action events).
    ///
    /// ```
    /// use authkit_axum::actions::ActionKind;
    ///
    /// assert_eq!(ActionKind::from("user_registration"), ActionKind::UserRegistration);
    /// assert_eq!(ActionKind::Authentication.response_object(), "authentication_action_response");
    /// ```
    pub enum ActionKind {
        /// `authentication`: a sign-in, after the user authenticated and before the redirect
        /// back to the app.
        Authentication = "authentication",
        /// `user_registration`: a sign-up, before the user is created.
        UserRegistration = "user_registration",
    }
);

impl ActionKind {
    /// The `object` of this type's requests, e.g. `authentication_action_context`.
    pub fn context_object(&self) -> String {
        format!("{}_action_context", self.as_str())
    }

    /// The `object` of this type's answers, e.g. `authentication_action_response`.
    pub fn response_object(&self) -> String {
        format!("{}_action_response", self.as_str())
    }

    /// The type of a request's `object` (`<type>_action_context`).
    fn of_context_object(object: &str) -> ActionKind {
        ActionKind::from(object.strip_suffix("_action_context").unwrap_or(object))
    }
}

string_enum!(
    /// The verdict of an action answer.
    pub enum Verdict {
        /// Let the sign-up or sign-in go on.
        Allow = "Allow",
        /// Stop it; WorkOS shows the answer's `error_message`.
        Deny = "Deny",
    }
);

/// A verified action request. Unknown action types are kept whole in [`Action::Other`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// `authentication_action_context`: a user signing in.
    Authentication(Box<AuthenticationAction>),
    /// `user_registration_action_context`: a user signing up.
    UserRegistration(Box<UserRegistrationAction>),
    /// Another `object`: the request as sent.
    Other(Value),
}

impl Action {
    /// The action's type (for [`Action::Other`], from its `object`).
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Authentication(_) => ActionKind::Authentication,
            Action::UserRegistration(_) => ActionKind::UserRegistration,
            Action::Other(value) => {
                ActionKind::of_context_object(value["object"].as_str().unwrap_or_default())
            }
        }
    }

    /// The request id.
    pub fn id(&self) -> &str {
        match self {
            Action::Authentication(a) => &a.id,
            Action::UserRegistration(a) => &a.id,
            Action::Other(value) => value["id"].as_str().unwrap_or_default(),
        }
    }

    /// The email address of the user signing in or up, when the request has one.
    pub fn email(&self) -> Option<&str> {
        match self {
            Action::Authentication(a) => Some(&a.user.email),
            Action::UserRegistration(a) => Some(&a.user_data.email),
            Action::Other(value) => value["user"]["email"]
                .as_str()
                .or_else(|| value["user_data"]["email"].as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        let kind = value["object"]
            .as_str()
            .map(ActionKind::of_context_object)
            .ok_or_else(|| D::Error::custom("the action request has no `object`"))?;
        Ok(match kind {
            ActionKind::Authentication => {
                Action::Authentication(serde_json::from_value(value).map_err(D::Error::custom)?)
            }
            ActionKind::UserRegistration => {
                Action::UserRegistration(serde_json::from_value(value).map_err(D::Error::custom)?)
            }
            ActionKind::Unknown(_) => Action::Other(value),
        })
    }
}

/// An authentication action request (`object: "authentication_action_context"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticationAction {
    /// The request id.
    pub id: String,
    /// The user signing in.
    pub user: User,
    /// The organization being signed in to, if any.
    #[serde(default)]
    pub organization: Option<Organization>,
    /// The user's membership of that organization, if any.
    #[serde(default)]
    pub organization_membership: Option<OrganizationMembership>,
    /// The IP address the sign-in came from.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// The browser's user agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// WorkOS's fingerprint of the device.
    #[serde(default)]
    pub device_fingerprint: Option<String>,
    /// The identity provider's issuer, for SSO.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Fields this version of the crate does not know (`object` among them).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A user registration action request (`object: "user_registration_action_context"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserRegistrationAction {
    /// The request id.
    pub id: String,
    /// What the user entered: no user exists yet.
    pub user_data: UserData,
    /// The invitation being accepted, if any.
    #[serde(default)]
    pub invitation: Option<ActionInvitation>,
    /// The IP address the sign-up came from.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// The browser's user agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// WorkOS's fingerprint of the device.
    #[serde(default)]
    pub device_fingerprint: Option<String>,
    /// Fields this version of the crate does not know (`object` among them).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The user signing up (`object: "user_data"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserData {
    /// The email address.
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Fields this version of the crate does not know (`object` among them).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The invitation of a user registration action (`object: "invitation"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionInvitation {
    /// The invitation id, `invitation_...`.
    pub id: String,
    /// The invited email address.
    #[serde(default)]
    pub email: String,
    /// The organization the invitee joins, if any.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The user who sent it, if named.
    #[serde(default)]
    pub inviter_user_id: Option<String>,
    /// Its other fields (`state`, `expires_at`, ...), as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A signed answer to an action request: the body to send back with `200`. With the `axum`
/// feature it is a response itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionResponse {
    /// `authentication_action_response` or `user_registration_action_response`.
    pub object: String,
    /// The verdict and when it was given.
    pub payload: ActionResponsePayload,
    /// The hex HMAC-SHA256 of `"<payload.timestamp>.<payload as compact JSON>"`.
    pub signature: String,
}

/// The signed part of an [`ActionResponse`]. Field order is the wire order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionResponsePayload {
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// Allow or deny.
    pub verdict: Verdict,
    /// What WorkOS shows the user on a denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// Why an action request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// The `WorkOS-Signature` header is missing, malformed, stale or does not match.
    #[error("the action request's signature was refused: {0}")]
    Signature(WebhookError),
    /// The body is not an action request.
    #[error("the body is not a WorkOS action request: {0}")]
    InvalidPayload(String),
}

impl ActionError {
    /// Whether the request was refused for its signature or timestamp (as opposed to a
    /// missing or malformed header, or a body that is not an action).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            ActionError::Signature(WebhookError::BadSignature | WebhookError::Stale { .. })
        )
    }
}

/// Verifies action requests and signs answers with an action endpoint's secret. Cheap to
/// clone; the secret is redacted in `Debug`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use authkit_axum::actions::{Actions, Verdict};
/// use authkit_axum::webhooks::Webhooks;
///
/// let actions = Actions::new("action_secret_from_the_dashboard");
/// let body = br#"{"id":"01JAT","object":"user_registration_action_context",
///     "user_data":{"object":"user_data","email":"ada@example.com","first_name":"Ada","last_name":"L"},
///     "ip_address":"203.0.113.1","user_agent":"Mozilla/5.0"}"#;
/// // What WorkOS sends (a webhook-style signature with the same secret).
/// let now = SystemTime::now();
/// let header = Webhooks::new("action_secret_from_the_dashboard")
///     .sign(body, now.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64);
///
/// let action = actions.verify(body, &header).unwrap();
/// assert_eq!(action.email(), Some("ada@example.com"));
/// let answer = actions.deny(&action, "Sign-ups are closed.");
/// assert_eq!(answer.object, "user_registration_action_response");
/// assert_eq!(answer.payload.verdict, Verdict::Deny);
///
/// // A request signed with another secret is refused.
/// let forged = Webhooks::new("someone_else").sign(body, 1);
/// assert!(actions.verify(body, &forged).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Actions {
    signer: Webhooks,
    tolerance: Duration,
}

impl Actions {
    /// A verifier and signer for the action endpoint's secret.
    pub fn new(secret: impl Into<SecretString>) -> Actions {
        Actions {
            signer: Webhooks::new(secret).tolerance(DEFAULT_TOLERANCE),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// How far a request's timestamp may be from now (default 30 seconds).
    pub fn tolerance(mut self, tolerance: Duration) -> Actions {
        self.signer = self.signer.tolerance(tolerance);
        self.tolerance = tolerance;
        self
    }

    /// Checks `signature` (the `WorkOS-Signature` header) over the raw `body` and returns the
    /// action.
    pub fn verify(&self, body: &[u8], signature: &str) -> Result<Action, ActionError> {
        self.verify_at(body, signature, SystemTime::now())
    }

    /// [`verify`](Self::verify) as of `now`.
    pub fn verify_at(
        &self,
        body: &[u8],
        signature: &str,
        now: SystemTime,
    ) -> Result<Action, ActionError> {
        self.signer
            .check_signature(body, signature, now)
            .map_err(ActionError::Signature)?;
        serde_json::from_slice(body).map_err(|err| ActionError::InvalidPayload(err.to_string()))
    }

    /// A signed `Allow` for `action`.
    pub fn allow(&self, action: &Action) -> ActionResponse {
        self.respond_at(action.kind(), Verdict::Allow, None, SystemTime::now())
    }

    /// A signed `Deny` for `action`; WorkOS shows `message` to the user.
    pub fn deny(&self, action: &Action, message: impl Into<String>) -> ActionResponse {
        self.respond_at(
            action.kind(),
            Verdict::Deny,
            Some(message.into()),
            SystemTime::now(),
        )
    }

    /// A signed answer to an action of type `kind`, timestamped `now`. A message is sent with
    /// a denial only, as WorkOS shows none on an allow.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use authkit_axum::actions::{ActionKind, Actions, Verdict};
    ///
    /// let answer = Actions::new("secret").respond_at(
    ///     ActionKind::Authentication,
    ///     Verdict::Allow,
    ///     None,
    ///     UNIX_EPOCH + Duration::from_millis(1_764_842_400_000),
    /// );
    /// assert_eq!(
    ///     serde_json::to_string(&answer.payload).unwrap(),
    ///     r#"{"timestamp":1764842400000,"verdict":"Allow"}"#
    /// );
    /// ```
    pub fn respond_at(
        &self,
        kind: ActionKind,
        verdict: Verdict,
        error_message: Option<String>,
        now: SystemTime,
    ) -> ActionResponse {
        let error_message = error_message.filter(|_| verdict == Verdict::Deny);
        let payload = ActionResponsePayload {
            timestamp: millis(now),
            verdict,
            error_message,
        };
        // A struct of a number and strings always serializes.
        let signed = serde_json::to_vec(&payload).unwrap_or_default();
        ActionResponse {
            object: kind.response_object(),
            signature: self.signer.hex_signature(&signed, payload.timestamp),
            payload,
        }
    }
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for ActionResponse {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const T: u64 = 1_764_842_400_000;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn authentication_body() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": "01JATCMZJY26PQ59XT9BNT0FNN",
            "object": "authentication_action_context",
            "user": { "object": "user", "id": "user_1", "email": "ada@example.com",
                      "email_verified": true, "created_at": "2026-12-04T10:00:00.000Z",
                      "updated_at": "2026-12-04T10:00:00.000Z" },
            "organization": { "object": "organization", "id": "org_1", "name": "Acme",
                              "domains": [], "lookup_key": "k",
                              "created_at": "2026-12-04T10:00:00.000Z",
                              "updated_at": "2026-12-04T10:00:00.000Z" },
            "organization_membership": { "object": "organization_membership", "id": "om_1",
                "user_id": "user_1", "organization_id": "org_1", "role": { "slug": "member" },
                "status": "active", "created_at": "2026-12-04T10:00:00.000Z",
                "updated_at": "2026-12-04T10:00:00.000Z" },
            "ip_address": "203.0.113.1",
            "user_agent": "Mozilla/5.0",
            "risk_score": 3,
        }))
        .unwrap()
    }

    #[test]
    fn a_signed_authentication_request_parses_with_unknown_fields_kept() {
        let actions = Actions::new("secret");
        let body = authentication_body();
        let header = actions.signer.sign(&body, T);
        let action = actions.verify_at(&body, &header, at(T + 29_000)).unwrap();
        let Action::Authentication(sign_in) = &action else {
            panic!("{action:?}")
        };
        assert_eq!(sign_in.user.email, "ada@example.com");
        assert_eq!(sign_in.organization.as_ref().unwrap().name, "Acme");
        assert_eq!(
            sign_in.organization_membership.as_ref().unwrap().role.slug,
            "member"
        );
        assert_eq!(sign_in.ip_address.as_deref(), Some("203.0.113.1"));
        assert_eq!(sign_in.extra["risk_score"], 3);
        assert_eq!(action.kind(), ActionKind::Authentication);
        assert_eq!(action.id(), "01JATCMZJY26PQ59XT9BNT0FNN");
    }

    #[test]
    fn forged_stale_and_malformed_requests_are_refused() {
        let actions = Actions::new("secret");
        let body = authentication_body();
        let forged = Webhooks::new("other").sign(&body, T);
        let err = actions.verify_at(&body, &forged, at(T)).unwrap_err();
        assert_eq!(err, ActionError::Signature(WebhookError::BadSignature));
        assert!(err.is_unauthorized());
        let header = actions.signer.sign(&body, T);
        let stale = actions
            .verify_at(&body, &header, at(T + 31_000))
            .unwrap_err();
        assert!(stale.is_unauthorized(), "{stale}");
        assert!(
            actions
                .clone()
                .tolerance(Duration::from_secs(60))
                .verify_at(&body, &header, at(T + 31_000))
                .is_ok()
        );
        let not_an_action = actions.signer.sign(b"{\"id\":1}", T);
        assert!(matches!(
            actions.verify_at(b"{\"id\":1}", &not_an_action, at(T)),
            Err(ActionError::InvalidPayload(_))
        ));
        assert!(!format!("{actions:?}").contains("secret\""));
    }

    #[test]
    fn unknown_action_types_are_kept_and_answered_with_their_object() {
        let actions = Actions::new("secret");
        let body = br#"{"id":"a1","object":"password_reset_action_context","user":{"email":"ada@example.com"}}"#;
        let action = actions
            .verify_at(body, &actions.signer.sign(body, T), at(T))
            .unwrap();
        assert_eq!(action.kind(), ActionKind::Unknown("password_reset".into()));
        assert_eq!(action.email(), Some("ada@example.com"));
        assert_eq!(
            actions.allow(&action).object,
            "password_reset_action_response"
        );
    }

    #[test]
    fn answers_are_signed_over_the_timestamp_and_the_compact_payload() {
        let actions = Actions::new("secret");
        let deny = actions.respond_at(
            ActionKind::UserRegistration,
            Verdict::Deny,
            Some("Use your work email.".into()),
            at(T),
        );
        let json = serde_json::to_string(&deny).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"object":"user_registration_action_response","payload":{{"timestamp":{T},"verdict":"Deny","error_message":"Use your work email."}},"signature":"{}"}}"#,
                deny.signature
            )
        );
        // Made with `printf '1764842400000.{"timestamp":1764842400000,"verdict":"Deny","error_message":"Use your work email."}'
        // | openssl dgst -sha256 -hmac secret`, an implementation independent of this one.
        assert_eq!(
            deny.signature,
            "64fc3e7bbe5acbc1f9f37260a38b699c01be5e2d081c7b3917966b0a51868a69"
        );
        // An allow carries no message.
        let allow = actions.respond_at(
            ActionKind::Authentication,
            Verdict::Allow,
            Some("ignored".into()),
            at(T),
        );
        assert_eq!(allow.payload.error_message, None);
        assert_eq!(allow.object, "authentication_action_response");
    }
}
