//! WorkOS events: webhook deliveries (checking the `WorkOS-Signature` header) and the Events
//! API (`GET /events`, [`Client::events`](crate::Client::events)) to catch up on them, both
//! giving the same [`Event`].
//!
//! # Verifying a delivery
//!
//! WorkOS signs each delivery with the endpoint's secret: the header is
//! `t=<milliseconds since the epoch>, v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. A delivery is
//! accepted when the HMAC matches (compared in constant time) and its timestamp is within the
//! tolerance (default 3 minutes, either way) of now, so a captured delivery cannot be replayed
//! later. Verify the **raw** body: parsing and re-serializing JSON changes the bytes.
//!
//! ```
//! use authkit_axum::webhooks::{EventKind, Webhooks};
//!
//! # fn f(body: &[u8], header: &str) -> Result<(), authkit_axum::webhooks::WebhookError> {
//! let webhooks = Webhooks::new("whsec_from_the_dashboard");
//! let event = webhooks.verify(body, header)?;
//! match event.kind() {
//!     EventKind::UserCreated => { /* event.data_as::<User>() */ }
//!     EventKind::SessionRevoked => { /* sign the local sessions of that sid out */ }
//!     _ => {} // new event types parse too: event.event, event.data
//! }
//! # Ok(()) }
//! ```
//!
//! With the `axum` feature, [`web::WorkosWebhook`](crate::web::WorkosWebhook) is the extractor
//! for a webhook route.
//!
//! # Reading the data
//!
//! [`Event::data_as`] reads the data typed: a [`User`](crate::user_management::User) for
//! `user.*`, a [`Session`](crate::user_management::Session) for `session.*`, an
//! [`Invitation`](crate::user_management::Invitation) for `invitation.*`, a
//! [`MagicAuth`](crate::user_management::MagicAuth),
//! [`PasswordReset`](crate::user_management::PasswordReset) or
//! [`EmailVerification`](crate::user_management::EmailVerification) for the `*.created`
//! events of codes and links (events leave the secrets out: their code and token fields are
//! empty), and an [`AuthenticationEventData`] for `authentication.*`. A type this crate does
//! not know yet is [`EventKind::Unknown`], with its data as sent; fields added later and
//! unknown enum values parse too.
//!
//! # Webhooks and catch-up
//!
//! Webhooks arrive at once but are not guaranteed: a delivery that fails is retried for a
//! while and then dropped, and deliveries may arrive out of order. The Events API keeps every
//! event, in order, for 30 days. Use both, so that nothing is missed and nothing is handled
//! twice:
//!
//! 1. The webhook route handles each event when it arrives.
//! 2. A periodic job (and one at start-up) streams the events after its stored cursor with
//!    [`ListEvents::since`], handles each one, and stores the event's id as the new cursor.
//!    After downtime it resumes where it stopped.
//!
//! Event ids are the same in both, so "handled" is a set of event ids: skip an event whose id
//! is in it (a webhook retry, or an event the other path got to first). In a database, make
//! it a unique column written in the same transaction as the change the event causes. Move
//! the cursor only from the catch-up, never from webhooks: their order is not promised, so
//! the latest delivery is not a safe place to resume from.
//!
//! ```no_run
//! use std::collections::HashSet;
//! use futures_util::TryStreamExt;
//! use authkit_axum::Client;
//! use authkit_axum::webhooks::{Event, ListEvents};
//!
//! /// Applies an event, once (the webhook route calls this too).
//! fn handle(handled: &mut HashSet<String>, event: &Event) {
//!     if !handled.insert(event.id.clone()) {
//!         return; // already handled
//!     }
//!     // ... apply the change
//! }
//!
//! async fn catch_up(
//!     client: &Client,
//!     handled: &mut HashSet<String>,
//!     cursor: &mut Option<String>,
//! ) -> Result<(), authkit_axum::Error> {
//!     let types = ["user.created", "user.updated", "user.deleted"];
//!     let since = ListEvents::since(cursor.clone()).events(types);
//!     let mut events = std::pin::pin!(client.events().stream(since));
//!     while let Some(event) = events.try_next().await? {
//!         handle(handled, &event);
//!         *cursor = Some(event.id); // store it durably
//!     }
//!     Ok(())
//! }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::SecretString;

mod api;
mod data;

pub use api::{Events, ListEvents};
pub use data::{
    AuthenticationEventData, AuthenticationEventError, AuthenticationStatus, AuthenticationType,
    SsoAuthentication,
};

/// The header WorkOS signs deliveries in.
pub const SIGNATURE_HEADER: &str = "workos-signature";

/// How far a delivery's timestamp may be from now, by default.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(180);

string_enum!(
    /// The type of a WorkOS event (`event`). Types added after this crate parse as `Unknown`.
    ///
    /// ```
    /// use authkit_axum::webhooks::EventKind;
    ///
    /// assert_eq!(EventKind::from("session.revoked"), EventKind::SessionRevoked);
    /// assert_eq!(EventKind::from("pipes.connected").as_str(), "pipes.connected");
    /// ```
    pub enum EventKind {
        /// `user.created`.
        UserCreated = "user.created",
        /// `user.updated`.
        UserUpdated = "user.updated",
        /// `user.deleted`.
        UserDeleted = "user.deleted",
        /// `session.created`.
        SessionCreated = "session.created",
        /// `session.revoked`.
        SessionRevoked = "session.revoked",
        /// `organization.created`.
        OrganizationCreated = "organization.created",
        /// `organization.updated`.
        OrganizationUpdated = "organization.updated",
        /// `organization.deleted`.
        OrganizationDeleted = "organization.deleted",
        /// `organization_domain.created`.
        OrganizationDomainCreated = "organization_domain.created",
        /// `organization_domain.updated`.
        OrganizationDomainUpdated = "organization_domain.updated",
        /// `organization_domain.deleted`.
        OrganizationDomainDeleted = "organization_domain.deleted",
        /// `organization_domain.verified`.
        OrganizationDomainVerified = "organization_domain.verified",
        /// `organization_domain.verification_failed` (its data is `{reason, organization_domain}`).
        OrganizationDomainVerificationFailed = "organization_domain.verification_failed",
        /// `organization_membership.created`.
        OrganizationMembershipCreated = "organization_membership.created",
        /// `organization_membership.updated`.
        OrganizationMembershipUpdated = "organization_membership.updated",
        /// `organization_membership.deleted`.
        OrganizationMembershipDeleted = "organization_membership.deleted",
        /// `invitation.created`.
        InvitationCreated = "invitation.created",
        /// `invitation.accepted`.
        InvitationAccepted = "invitation.accepted",
        /// `invitation.revoked`.
        InvitationRevoked = "invitation.revoked",
        /// `invitation.resent`.
        InvitationResent = "invitation.resent",
        /// `email_verification.created`.
        EmailVerificationCreated = "email_verification.created",
        /// `password_reset.created`.
        PasswordResetCreated = "password_reset.created",
        /// `password_reset.succeeded`.
        PasswordResetSucceeded = "password_reset.succeeded",
        /// `magic_auth.created`.
        MagicAuthCreated = "magic_auth.created",
        /// `authentication.password_succeeded`.
        AuthenticationPasswordSucceeded = "authentication.password_succeeded",
        /// `authentication.password_failed`.
        AuthenticationPasswordFailed = "authentication.password_failed",
        /// `authentication.magic_auth_succeeded`.
        AuthenticationMagicAuthSucceeded = "authentication.magic_auth_succeeded",
        /// `authentication.magic_auth_failed`.
        AuthenticationMagicAuthFailed = "authentication.magic_auth_failed",
        /// `authentication.email_verification_succeeded`.
        AuthenticationEmailVerificationSucceeded = "authentication.email_verification_succeeded",
        /// `authentication.email_verification_failed`.
        AuthenticationEmailVerificationFailed = "authentication.email_verification_failed",
        /// `authentication.mfa_succeeded`.
        AuthenticationMfaSucceeded = "authentication.mfa_succeeded",
        /// `authentication.mfa_failed`.
        AuthenticationMfaFailed = "authentication.mfa_failed",
        /// `authentication.oauth_succeeded`.
        AuthenticationOauthSucceeded = "authentication.oauth_succeeded",
        /// `authentication.oauth_failed`.
        AuthenticationOauthFailed = "authentication.oauth_failed",
        /// `authentication.passkey_succeeded`.
        AuthenticationPasskeySucceeded = "authentication.passkey_succeeded",
        /// `authentication.passkey_failed`.
        AuthenticationPasskeyFailed = "authentication.passkey_failed",
        /// `authentication.sso_started`.
        AuthenticationSsoStarted = "authentication.sso_started",
        /// `authentication.sso_succeeded`.
        AuthenticationSsoSucceeded = "authentication.sso_succeeded",
        /// `authentication.sso_failed`.
        AuthenticationSsoFailed = "authentication.sso_failed",
        /// `authentication.sso_timed_out`.
        AuthenticationSsoTimedOut = "authentication.sso_timed_out",
        /// `authentication.radar_risk_detected`.
        AuthenticationRadarRiskDetected = "authentication.radar_risk_detected",
        /// `action.authentication.denied`: an [authentication action](crate::actions) denied a
        /// sign-in.
        ActionAuthenticationDenied = "action.authentication.denied",
        /// `action.user_registration.denied`: a [user registration action](crate::actions)
        /// denied a sign-up.
        ActionUserRegistrationDenied = "action.user_registration.denied",
    }
);

/// A WorkOS event, from a verified webhook (or the Events API): its id, type, data and time.
/// Every type parses; read the data typed with [`data_as`](Self::data_as).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// The event id (`event_...`): deliveries are retried, so use it to handle each once.
    pub id: String,
    /// The type, e.g. `user.created`.
    pub event: String,
    /// The object the event is about (a user, a session, an organization membership, ...).
    #[serde(default)]
    pub data: serde_json::Value,
    /// When it happened (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Additional context WorkOS adds to some events (the actor, the previous attributes of an
    /// update, ...), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
}

impl Event {
    /// The type, typed.
    pub fn kind(&self) -> EventKind {
        EventKind::from(self.event.as_str())
    }
    /// The data as `T`, e.g. [`User`](crate::user_management::User) for `user.*`,
    /// [`Session`](crate::user_management::Session) for `session.*`,
    /// [`Organization`](crate::organizations::Organization) for `organization.*`,
    /// [`OrganizationDomain`](crate::organizations::OrganizationDomain) for
    /// `organization_domain.*` (but `verification_failed`), and
    /// [`OrganizationMembership`](crate::user_management::OrganizationMembership) for
    /// `organization_membership.*`.
    ///
    /// ```
    /// use authkit_axum::webhooks::Event;
    /// use authkit_axum::user_management::User;
    ///
    /// let event: Event = serde_json::from_value(serde_json::json!({
    ///     "id": "event_1", "event": "user.created", "created_at": "2026-12-04T10:00:00.000Z",
    ///     "data": { "object": "user", "id": "user_1", "email": "ada@example.com",
    ///               "email_verified": true, "created_at": "2026-12-04T10:00:00.000Z",
    ///               "updated_at": "2026-12-04T10:00:00.000Z" }
    /// })).unwrap();
    /// let user: User = event.data_as().unwrap();
    /// assert_eq!(user.email, "ada@example.com");
    /// ```
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data)
    }
}

/// Why a webhook delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// There is no `WorkOS-Signature` header.
    #[error(
        "the request has no WorkOS-Signature header: is this route the webhook endpoint configured in WorkOS?"
    )]
    MissingSignature,
    /// The header is not `t=<timestamp>, v1=<signature>`.
    #[error(
        "the WorkOS-Signature header is malformed ({0}); expected `t=<milliseconds>, v1=<hex>`"
    )]
    MalformedSignature(String),
    /// The timestamp is further from now than the tolerance: a replay, or a clock far off.
    #[error(
        "the delivery's timestamp is {seconds} s from now, more than the tolerance of {tolerance} s: a replayed delivery, or this machine's clock is off"
    )]
    Stale {
        /// How far from now, in seconds.
        seconds: u64,
        /// The tolerance, in seconds.
        tolerance: u64,
    },
    /// The signature does not match: another secret, or a changed body.
    #[error(
        "the webhook signature does not match: check the endpoint's secret, and verify the raw body"
    )]
    BadSignature,
    /// The body is not a WorkOS event.
    #[error("the webhook body is not a WorkOS event: {0}")]
    InvalidPayload(String),
}

/// Verifies WorkOS webhook deliveries with an endpoint's secret. Cheap to clone; the secret is
/// redacted in `Debug`.
#[derive(Clone, Debug)]
pub struct Webhooks {
    secret: SecretString,
    tolerance: Duration,
}

impl Webhooks {
    /// A verifier for the endpoint secret shown in the WorkOS dashboard.
    pub fn new(secret: impl Into<SecretString>) -> Webhooks {
        Webhooks {
            secret: secret.into(),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// How far a delivery's timestamp may be from now (default 3 minutes).
    pub fn tolerance(mut self, tolerance: Duration) -> Webhooks {
        self.tolerance = tolerance;
        self
    }

    /// Checks `signature` (the `WorkOS-Signature` header) over the raw `body` and returns the
    /// event.
    pub fn verify(&self, body: &[u8], signature: &str) -> Result<Event, WebhookError> {
        self.verify_at(body, signature, SystemTime::now())
    }

    /// [`verify`](Self::verify) as of `now`.
    pub fn verify_at(
        &self,
        body: &[u8],
        signature: &str,
        now: SystemTime,
    ) -> Result<Event, WebhookError> {
        self.check_signature(body, signature, now)?;
        serde_json::from_slice(body).map_err(|err| WebhookError::InvalidPayload(err.to_string()))
    }

    /// Checks a `WorkOS-Signature` header over `body` as of `now`: its timestamp within the
    /// tolerance, then one of its `v1` signatures (compared in constant time). Shared by
    /// webhooks and [actions](crate::actions), which WorkOS signs alike.
    pub(crate) fn check_signature(
        &self,
        body: &[u8],
        signature: &str,
        now: SystemTime,
    ) -> Result<(), WebhookError> {
        let (timestamp, signatures) = parse_header(signature)?;
        let distance = millis(now).abs_diff(timestamp);
        let tolerance_ms = u64::try_from(self.tolerance.as_millis()).unwrap_or(u64::MAX);
        if distance > tolerance_ms {
            return Err(WebhookError::Stale {
                seconds: distance / 1000,
                tolerance: self.tolerance.as_secs(),
            });
        }
        let (key, signed) = self.signing_input(body, timestamp);
        // `ring::hmac::verify` compares in constant time.
        let valid = signatures
            .iter()
            .any(|sig| ring::hmac::verify(&key, &signed, sig).is_ok());
        if !valid {
            return Err(WebhookError::BadSignature);
        }
        Ok(())
    }

    /// The HMAC key and the signed bytes (`<timestamp>.<body>`) of a delivery.
    fn signing_input(&self, body: &[u8], timestamp_ms: u64) -> (ring::hmac::Key, Vec<u8>) {
        let key = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            self.secret.expose_secret().as_bytes(),
        );
        let mut signed = timestamp_ms.to_string().into_bytes();
        signed.push(b'.');
        signed.extend_from_slice(body);
        (key, signed)
    }

    /// The hex HMAC-SHA256 of `<timestamp_ms>.<body>` with the secret: the `v1` of a
    /// signature header, and the `signature` of an action response.
    pub(crate) fn hex_signature(&self, body: &[u8], timestamp_ms: u64) -> String {
        let (key, signed) = self.signing_input(body, timestamp_ms);
        let tag = ring::hmac::sign(&key, &signed);
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The `WorkOS-Signature` header WorkOS would send with `body` at `timestamp_ms` (for
    /// tests and emulators that deliver webhooks).
    pub fn sign(&self, body: &[u8], timestamp_ms: u64) -> String {
        format!(
            "t={timestamp_ms}, v1={}",
            self.hex_signature(body, timestamp_ms)
        )
    }
}

/// Milliseconds since the epoch (0 before it).
pub(crate) fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The timestamp and the `v1` signatures of a `WorkOS-Signature` header.
fn parse_header(header: &str) -> Result<(u64, Vec<Vec<u8>>), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            return Err(WebhookError::MalformedSignature(format!(
                "{:?} is not name=value",
                part.trim()
            )));
        };
        match name.trim() {
            "t" => {
                let t = value.trim().parse::<u64>().map_err(|_| {
                    WebhookError::MalformedSignature("the timestamp is not a number".into())
                })?;
                timestamp = Some(t);
            }
            "v1" => signatures.push(decode_hex(value.trim()).ok_or_else(|| {
                WebhookError::MalformedSignature("the v1 signature is not hex".into())
            })?),
            // Other schemes are ignored, as WorkOS may add some.
            _ => {}
        }
    }
    let timestamp =
        timestamp.ok_or_else(|| WebhookError::MalformedSignature("no t= timestamp".into()))?;
    if signatures.is_empty() {
        return Err(WebhookError::MalformedSignature("no v1= signature".into()));
    }
    Ok((timestamp, signatures))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || hex.is_empty() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"event_1","event":"user.created","data":{"id":"user_1"},"created_at":"2026-12-04T10:00:00.000Z"}"#;
    /// Made with `printf '1764842400000.<BODY>' | openssl dgst -sha256 -hmac whsec_test`, an
    /// implementation independent of this one.
    const OPENSSL_V1: &str = "d3a9745fba4ecc24bc20571e210df3c0dbc6d555d661517ac61fce8a2aa3b1bd";
    const T: u64 = 1_764_842_400_000;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn an_independently_signed_delivery_verifies_and_a_changed_one_does_not() {
        let webhooks = Webhooks::new("whsec_test");
        let header = format!("t={T}, v1={OPENSSL_V1}");
        assert_eq!(webhooks.sign(BODY, T), header);
        let event = webhooks.verify_at(BODY, &header, at(T + 1000)).unwrap();
        assert_eq!(
            (event.id.as_str(), event.kind()),
            ("event_1", EventKind::UserCreated)
        );

        let changed = String::from_utf8_lossy(BODY).replace("user_1", "user_2");
        assert_eq!(
            webhooks.verify_at(changed.as_bytes(), &header, at(T)),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            Webhooks::new("whsec_other").verify_at(BODY, &header, at(T)),
            Err(WebhookError::BadSignature)
        );
        // Another timestamp under the same signature.
        let moved = format!("t={}, v1={OPENSSL_V1}", T + 1);
        assert_eq!(
            webhooks.verify_at(BODY, &moved, at(T)),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn old_and_future_deliveries_are_refused() {
        let webhooks = Webhooks::new("whsec_test");
        let header = webhooks.sign(BODY, T);
        assert!(webhooks.verify_at(BODY, &header, at(T + 179_000)).is_ok());
        assert!(matches!(
            webhooks.verify_at(BODY, &header, at(T + 181_000)),
            Err(WebhookError::Stale {
                seconds: 181,
                tolerance: 180
            })
        ));
        assert!(matches!(
            webhooks.verify_at(BODY, &header, at(T - 600_000)),
            Err(WebhookError::Stale { .. })
        ));
        let lenient = webhooks.clone().tolerance(Duration::from_secs(3600));
        assert!(lenient.verify_at(BODY, &header, at(T + 600_000)).is_ok());
    }

    #[test]
    fn extra_fields_and_unknown_values_parse() {
        use crate::user_management::{Session, SessionStatus};

        let body = serde_json::json!({
            "object": "event",
            "id": "event_2",
            "event": "session.created",
            "created_at": "2027-06-01T00:00:00.000Z",
            "context": { "actor": { "id": "user_9", "source": "api", "name": null } },
            "added_in_2027": { "anything": true },
            "data": {
                "object": "session", "id": "session_1", "user_id": "user_1",
                "auth_method": "telepathy", "status": "dormant",
                "ip_address": null, "user_agent": null,
                "expires_at": "2027-07-01T00:00:00.000Z", "ended_at": null,
                "created_at": "2027-06-01T00:00:00.000Z", "updated_at": "2027-06-01T00:00:00.000Z",
                "new_field": [1, 2]
            }
        })
        .to_string();
        let webhooks = Webhooks::new("whsec_test");
        let event = webhooks
            .verify_at(body.as_bytes(), &webhooks.sign(body.as_bytes(), T), at(T))
            .unwrap();
        assert_eq!(event.kind(), EventKind::SessionCreated);
        assert_eq!(event.context.as_ref().unwrap()["actor"]["source"], "api");
        let session: Session = event.data_as().unwrap();
        assert_eq!(session.status, SessionStatus::Unknown("dormant".into()));

        let auth: AuthenticationEventData = serde_json::from_value(serde_json::json!({
            "type": "retina_scan", "status": "deferred", "ip_address": null,
            "user_agent": null, "user_id": null, "email": null, "risk": "low"
        }))
        .unwrap();
        assert_eq!(auth.r#type.as_str(), "retina_scan");
        assert_eq!(
            auth.status,
            AuthenticationStatus::Unknown("deferred".into())
        );

        // An event with no data or time (not something WorkOS sends) still parses.
        let bare: Event = serde_json::from_str(r#"{"id":"event_3","event":"x.y"}"#).unwrap();
        assert_eq!(bare.kind(), EventKind::Unknown("x.y".into()));
    }

    #[test]
    fn malformed_headers_and_bodies_get_clear_errors() {
        let webhooks = Webhooks::new("whsec_test");
        for header in [
            "",
            "v1=abcd",
            "t=12",
            "t=x, v1=abcd",
            "t=12, v1=xyz",
            "garbage",
        ] {
            assert!(
                matches!(
                    webhooks.verify_at(BODY, header, at(12)),
                    Err(WebhookError::MalformedSignature(_))
                ),
                "{header:?}"
            );
        }
        let header = webhooks.sign(b"not json", T);
        assert!(matches!(
            webhooks.verify_at(b"not json", &header, at(T)),
            Err(WebhookError::InvalidPayload(_))
        ));
        assert!(!format!("{webhooks:?}").contains("whsec_test"));
    }
}
