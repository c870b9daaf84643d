//! `POST /user_management/authenticate`: every grant, the step-ups between them (email
//! verification, then MFA — a challenge, or an enrollment when MFA is required and the user has
//! no factor — then organization choice), sessions and single-use refresh tokens.
//!
//! What it enforces, as WorkOS does:
//! - `client_id` must be the emulator's, and `client_secret` (when sent) its API key. A public
//!   client (no `client_secret`) may only exchange an authorization code with a valid PKCE
//!   `code_verifier`, then continue what that started (the step-up grants of that sign-in and
//!   the refreshes of that session);
//! - pending authentication tokens expire after 10 minutes and are single use;
//! - authorization codes, magic auth codes, email verification codes, MFA challenges and
//!   refresh tokens are single use.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::tokens::{TokenSubject, sign_access_token};
use super::{AuthCodeRec, PendingAuthRec, PendingKind, RefreshTokenRec, SessionRec, totp_verify};
use crate::http::{ApiError, Json};
use crate::outbox::{Email, EmailKind};
use crate::routes::organization_memberships::emit_membership;
use crate::store::{
    EmailVerificationRec, MagicAuthRec, MembershipRec, Store, new_id, random_code, random_token,
};
use crate::webhooks::Attempt;
use crate::{Emulator, EmulatorError, SharedState, State as EmulatorState};

/// How long a pending authentication token lives.
const PENDING_TTL: Duration = Duration::minutes(10);
/// How long an emailed verification code lives.
const EMAIL_CODE_TTL: Duration = Duration::minutes(10);
/// How long a session lives without activity limits (refresh keeps it going until then).
const SESSION_TTL: Duration = Duration::days(30);
/// How long an impersonation session lives, as WorkOS: 60 minutes, refreshes included.
const IMPERSONATION_TTL: Duration = Duration::minutes(60);

/// The grant type of device sign-in (RFC 8628).
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /user_management/authenticate` (public: the client authenticates with its body).
pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/user_management/authenticate", post(authenticate))
}

#[derive(Deserialize)]
struct Body {
    grant_type: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    code_verifier: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    invitation_token: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    organization_id: Option<String>,
    #[serde(default)]
    pending_authentication_token: Option<String>,
    #[serde(default)]
    authentication_challenge_id: Option<String>,
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    device_code: Option<String>,
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::invalid_params(field, &format!("{field} is required")))
}

fn secret_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn invalid_grant(description: &str) -> ApiError {
    ApiError::oauth("invalid_grant", description)
}

fn bad_code(code: &str, message: &str) -> ApiError {
    ApiError::code(StatusCode::BAD_REQUEST, code, message)
}

/// An authentication attempt by `method` from the request in `body`.
fn attempt<'a>(
    method: &'a str,
    body: &'a Body,
    user_id: Option<&'a str>,
    email: Option<&'a str>,
) -> Attempt<'a> {
    Attempt {
        method,
        user_id,
        email,
        ip_address: body.ip_address.as_deref(),
        user_agent: body.user_agent.as_deref(),
        sso: None,
    }
}

/// Records `authentication.<method>_succeeded` or `_failed` for `result`, and passes it on.
fn log_attempt<T>(
    store: &mut Store,
    attempt: Attempt<'_>,
    now: OffsetDateTime,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    store.emit_authentication(attempt, result.as_ref().err(), now);
    result
}

async fn authenticate(
    State(state): State<SharedState>,
    Json(body): Json<Body>,
) -> Result<axum::Json<Value>, ApiError> {
    let result = handle(&state, &body);
    if let Err(err) = &result {
        let code = err
            .body
            .get("code")
            .or_else(|| err.body.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("");
        tracing::debug!(grant_type = %body.grant_type, status = err.status.as_u16(), code, "emulator: authenticate refused");
    }
    result.map(axum::Json)
}

fn handle(state: &EmulatorState, body: &Body) -> Result<Value, ApiError> {
    let client_id = body.client_id.as_deref().unwrap_or("");
    if client_id != state.config.client_id {
        return Err(ApiError::oauth(
            "invalid_client",
            format!("Invalid client ID '{client_id}'."),
        ));
    }
    let confidential = match body.client_secret.as_deref() {
        Some(secret) if secret_eq(secret, &state.config.api_key) => true,
        Some(_) => return Err(ApiError::oauth("invalid_client", "Invalid client secret.")),
        None => false,
    };
    let now = state.now();
    let mut store = state.store();
    let store = &mut *store;
    if !confidential && !public_client_allowed(store, body) {
        return Err(ApiError::oauth(
            "invalid_client",
            "client_secret is required for this grant type.",
        ));
    }
    let public = !confidential;
    match body.grant_type.as_str() {
        "password" => password_grant(state, store, body, now),
        "authorization_code" => code_grant(state, store, body, public, now),
        "refresh_token" => refresh_grant(state, store, body, now),
        "urn:workos:oauth:grant-type:magic-auth:code" => magic_auth_grant(state, store, body, now),
        "urn:workos:oauth:grant-type:email-verification:code" => {
            email_verification_grant(state, store, body, public, now)
        }
        "urn:workos:oauth:grant-type:mfa-totp" => totp_grant(state, store, body, public, now),
        "urn:workos:oauth:grant-type:organization-selection" => {
            organization_selection_grant(state, store, body, public, now)
        }
        DEVICE_CODE_GRANT => device_code_grant(state, store, body, public, now),
        other => Err(ApiError::oauth(
            "invalid_request",
            format!("The emulator does not support grant_type '{other}'."),
        )),
    }
}

/// Whether a call without `client_secret` may go on: an authorization code (which then needs
/// PKCE), or the continuation of a sign-in or session a public client started.
fn public_client_allowed(store: &Store, body: &Body) -> bool {
    match body.grant_type.as_str() {
        // A device (a CLI) has no secret: the device code is its proof.
        "authorization_code" | DEVICE_CODE_GRANT => true,
        "refresh_token" => body
            .refresh_token
            .as_deref()
            .and_then(|t| store.auth.refresh_tokens.get(t))
            .is_some_and(|r| store.auth.public_client.contains(&r.session_id)),
        "urn:workos:oauth:grant-type:email-verification:code"
        | "urn:workos:oauth:grant-type:mfa-totp"
        | "urn:workos:oauth:grant-type:organization-selection" => body
            .pending_authentication_token
            .as_deref()
            .is_some_and(|t| store.auth.public_client.contains(t)),
        _ => false,
    }
}

/// How far a sign-in has come: each step-up is asked for at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Start,
    EmailVerified,
    MfaPassed,
}

/// A sign-in in progress.
struct SignIn {
    user_id: String,
    authentication_method: String,
    organization_id: Option<String>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    stage: Stage,
    /// Started by a public client (PKCE, no `client_secret`).
    public_client: bool,
    /// `(email, reason)` of an impersonator (a sign-in from an impersonation code).
    impersonator: Option<(String, Option<String>)>,
}

impl SignIn {
    fn new(user_id: &str, method: &str, body: &Body, stage: Stage) -> Self {
        SignIn {
            user_id: user_id.to_owned(),
            authentication_method: method.to_owned(),
            organization_id: None,
            ip_address: body.ip_address.clone(),
            user_agent: body.user_agent.clone(),
            stage,
            public_client: false,
            impersonator: None,
        }
    }

    fn resume(pending: &PendingAuthRec, body: &Body, stage: Stage, public_client: bool) -> Self {
        SignIn {
            user_id: pending.user_id.clone(),
            authentication_method: pending.authentication_method.clone(),
            organization_id: pending.organization_id.clone(),
            ip_address: body.ip_address.clone().or(pending.ip_address.clone()),
            user_agent: body.user_agent.clone().or(pending.user_agent.clone()),
            stage,
            public_client,
            impersonator: None,
        }
    }
}

fn new_pending(
    store: &mut Store,
    now: OffsetDateTime,
    sign_in: &SignIn,
    kind: PendingKind,
    email_verification_id: Option<String>,
) -> String {
    let token = random_token(40);
    store.auth.pending.insert(PendingAuthRec {
        token: token.clone(),
        kind,
        user_id: sign_in.user_id.clone(),
        authentication_method: sign_in.authentication_method.clone(),
        organization_id: sign_in.organization_id.clone(),
        email_verification_id,
        ip_address: sign_in.ip_address.clone(),
        user_agent: sign_in.user_agent.clone(),
        expires_at: now + PENDING_TTL,
        used: false,
    });
    if sign_in.public_client {
        store.auth.public_client.insert(token.clone());
    }
    token
}

/// The pending authentication behind `token`, if it is unused, unexpired and of `kind`.
fn pending(
    store: &Store,
    now: OffsetDateTime,
    token: &str,
    kind: PendingKind,
) -> Result<PendingAuthRec, ApiError> {
    store
        .auth
        .pending
        .get(token)
        .filter(|p| !p.used && p.expires_at > now && p.kind == kind)
        .cloned()
        .ok_or_else(|| {
            bad_code(
                "invalid_pending_authentication_token",
                "The pending authentication token is invalid, expired or already used.",
            )
        })
}

fn use_pending(store: &mut Store, token: &str) {
    if let Some(p) = store.auth.pending.get_mut(token) {
        p.used = true;
    }
}

fn active_memberships<'a>(store: &'a Store, user_id: &str) -> Vec<&'a MembershipRec> {
    store
        .memberships
        .iter()
        .filter(|m| m.user_id == user_id && m.status == "active")
        .collect()
}

/// Runs the step-ups the sign-in still needs (verified email, then MFA, then an organization
/// choice), answering the first one as WorkOS's 403; when none is left, starts the session.
fn continue_sign_in(
    state: &EmulatorState,
    store: &mut Store,
    mut sign_in: SignIn,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let user = store
        .users
        .get(&sign_in.user_id)
        .cloned()
        .ok_or_else(|| invalid_grant("The user no longer exists."))?;
    if sign_in.stage < Stage::EmailVerified && !user.email_verified {
        let verification = EmailVerificationRec {
            id: new_id("email_verification"),
            user_id: user.id.clone(),
            email: user.email.clone(),
            code: random_code(),
            expires_at: now + EMAIL_CODE_TTL,
            used: false,
            created_at: now,
            updated_at: now,
        };
        state.outbox.send(Email {
            to: user.email.clone(),
            kind: EmailKind::EmailVerification,
            subject: "Verify your email address".to_owned(),
            code: Some(verification.code.clone()),
            link: None,
            token: None,
            sent_at: now,
        });
        let verification_id = verification.id.clone();
        store.emit("email_verification.created", verification.event_json(), now);
        store.email_verifications.insert(verification);
        let token = new_pending(
            store,
            now,
            &sign_in,
            PendingKind::EmailVerification,
            Some(verification_id.clone()),
        );
        return Err(ApiError::code(
            StatusCode::FORBIDDEN,
            "email_verification_required",
            "Email ownership must be verified before authentication.",
        )
        .with(json!({
            "pending_authentication_token": token,
            "email": user.email,
            "email_verification_id": verification_id,
        })));
    }
    if sign_in.stage < Stage::MfaPassed {
        let factors: Vec<Value> = store
            .auth
            .factors
            .iter()
            .filter(|f| f.user_id == user.id)
            .map(|f| json!({ "id": f.id, "type": "totp" }))
            .collect();
        if factors.is_empty() && state.config.require_mfa {
            let token = new_pending(store, now, &sign_in, PendingKind::Mfa, None);
            return Err(ApiError::code(
                StatusCode::FORBIDDEN,
                "mfa_enrollment",
                "The user must enroll in MFA to finish authenticating.",
            )
            .with(json!({
                "pending_authentication_token": token,
                "user": user.to_json(),
            })));
        }
        if !factors.is_empty() {
            let token = new_pending(store, now, &sign_in, PendingKind::Mfa, None);
            return Err(ApiError::code(
                StatusCode::FORBIDDEN,
                "mfa_challenge",
                "The user must complete an MFA challenge to finish authenticating.",
            )
            .with(json!({
                "pending_authentication_token": token,
                "user": user.to_json(),
                "authentication_factors": factors,
            })));
        }
    }
    if sign_in.organization_id.is_none() {
        let memberships = active_memberships(store, &user.id);
        match memberships.as_slice() {
            [] => {}
            [only] => sign_in.organization_id = Some(only.organization_id.clone()),
            many => {
                let organizations: Vec<Value> = many
                    .iter()
                    .map(|m| {
                        let name = store
                            .organizations
                            .get(&m.organization_id)
                            .map(|o| o.name.clone())
                            .unwrap_or_default();
                        json!({ "id": m.organization_id, "name": name })
                    })
                    .collect();
                let token = new_pending(
                    store,
                    now,
                    &sign_in,
                    PendingKind::OrganizationSelection,
                    None,
                );
                return Err(ApiError::code(
                    StatusCode::FORBIDDEN,
                    "organization_selection_required",
                    "The user must choose an organization to finish authenticating.",
                )
                .with(json!({
                    "pending_authentication_token": token,
                    "user": user.to_json(),
                    "organizations": organizations,
                })));
            }
        }
    }
    start_session(state, store, sign_in, now)
}

fn start_session(
    state: &EmulatorState,
    store: &mut Store,
    sign_in: SignIn,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let ttl = if sign_in.impersonator.is_some() {
        IMPERSONATION_TTL
    } else {
        SESSION_TTL
    };
    let session = SessionRec {
        id: new_id("session"),
        user_id: sign_in.user_id.clone(),
        organization_id: sign_in.organization_id,
        status: "active".to_owned(),
        authentication_method: sign_in.authentication_method,
        ip_address: sign_in.ip_address,
        user_agent: sign_in.user_agent,
        impersonator: sign_in.impersonator,
        expires_at: now + ttl,
        ended_at: None,
        created_at: now,
        updated_at: now,
    };
    if let Some(user) = store.users.get_mut(&sign_in.user_id) {
        user.last_sign_in_at = Some(now);
    }
    let session_id = session.id.clone();
    let data = session.to_json(now);
    store.auth.sessions.insert(session);
    store.emit("session.created", data, now);
    if sign_in.public_client {
        store.auth.public_client.insert(session_id.clone());
    }
    tracing::debug!(session_id = %session_id, user_id = %sign_in.user_id, "emulator: session started");
    respond(state, store, &session_id)
}

/// The success body for `session_id`: a fresh access token and a new refresh token.
fn respond(state: &EmulatorState, store: &mut Store, session_id: &str) -> Result<Value, ApiError> {
    let session = store
        .auth
        .sessions
        .get(session_id)
        .cloned()
        .ok_or_else(|| invalid_grant("The session no longer exists."))?;
    let user = store
        .users
        .get(&session.user_id)
        .ok_or_else(|| invalid_grant("The user no longer exists."))?
        .to_json();
    let roles = session
        .organization_id
        .as_deref()
        .and_then(|org| {
            store.memberships.find(|m| {
                m.user_id == session.user_id && m.organization_id == org && m.status == "active"
            })
        })
        .map(|m| m.role_slugs.clone())
        .unwrap_or_default();
    let access_token = sign_access_token(
        state,
        &TokenSubject {
            user_id: session.user_id.clone(),
            session_id: session.id.clone(),
            organization_id: session.organization_id.clone(),
            roles,
            impersonator_email: session.impersonator.as_ref().map(|(e, _)| e.clone()),
            feature_flags: crate::routes::feature_flags::token_flags(
                store,
                &session.user_id,
                session.organization_id.as_deref(),
            ),
            template_claims: crate::routes::jwt_template::claims_for(
                store,
                &user,
                session.organization_id.as_deref(),
            ),
        },
    )?;
    let refresh_token = random_token(48);
    store.auth.refresh_tokens.insert(RefreshTokenRec {
        token: refresh_token.clone(),
        session_id: session.id.clone(),
        used: false,
    });
    let mut body = json!({
        "user": user,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "authentication_method": session.authentication_method,
    });
    if let Some(org) = &session.organization_id {
        body["organization_id"] = json!(org);
    }
    if let Some((email, reason)) = &session.impersonator {
        body["impersonator"] = json!({ "email": email, "reason": reason });
    }
    Ok(body)
}

/// Accepts an invitation during sign-in: it must be pending, unexpired and for `email`. Returns
/// the organization it joins, if any.
fn accept_invitation(
    store: &mut Store,
    now: OffsetDateTime,
    token: &str,
    user_id: &str,
    email: &str,
) -> Result<Option<String>, ApiError> {
    let invitation = store
        .invitations
        .find_mut(|i| secret_eq(&i.token, token))
        .filter(|i| i.state == "pending" && i.expires_at > now)
        .ok_or_else(|| {
            ApiError::oauth(
                "invitation_invalid",
                "The invitation is invalid, expired, revoked or already accepted.",
            )
        })?;
    if !invitation.email.eq_ignore_ascii_case(email) {
        return Err(ApiError::oauth(
            "invitation_cannot_be_used_for_email",
            "The invitation was sent to another email address.",
        ));
    }
    invitation.state = "accepted".to_owned();
    invitation.accepted_at = Some(now);
    invitation.accepted_user_id = Some(user_id.to_owned());
    invitation.updated_at = now;
    let data = crate::routes::invitations::invitation_event_data(invitation, now);
    let org = invitation.organization_id.clone();
    let role = invitation
        .role_slug
        .clone()
        .unwrap_or_else(|| "member".to_owned());
    if let Some(org) = &org {
        match store
            .memberships
            .find_mut(|m| m.user_id == user_id && m.organization_id == *org)
        {
            Some(m) => {
                m.status = "active".to_owned();
                m.updated_at = now;
                let id = m.id.clone();
                emit_membership(store, "organization_membership.updated", &id, now);
            }
            None => {
                let id = new_id("om");
                store.memberships.insert(MembershipRec {
                    id: id.clone(),
                    user_id: user_id.to_owned(),
                    organization_id: org.clone(),
                    role_slugs: vec![role],
                    status: "active".to_owned(),
                    created_at: now,
                    updated_at: now,
                });
                emit_membership(store, "organization_membership.created", &id, now);
            }
        }
    }
    store.emit("invitation.accepted", data, now);
    Ok(org)
}

fn password_grant(
    state: &EmulatorState,
    store: &mut Store,
    body: &Body,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let email = required(&body.email, "email")?;
    let password = required(&body.password, "password")?;
    let known = store
        .users
        .find(|u| u.email.eq_ignore_ascii_case(email.trim()))
        .cloned();
    let user_id = known.as_ref().map(|u| u.id.clone());
    let checked = known
        .filter(|u| {
            u.password
                .as_deref()
                .is_some_and(|p| secret_eq(p, password))
        })
        .ok_or_else(|| bad_code("invalid_credentials", "Invalid credentials."));
    let attempt = attempt("password", body, user_id.as_deref(), Some(email.trim()));
    let user = log_attempt(store, attempt, now, checked)?;
    let mut sign_in = SignIn::new(&user.id, "Password", body, Stage::Start);
    if let Some(token) = body.invitation_token.as_deref() {
        sign_in.organization_id = accept_invitation(store, now, token, &user.id, &user.email)?;
    }
    continue_sign_in(state, store, sign_in, now)
}

fn magic_auth_grant(
    state: &EmulatorState,
    store: &mut Store,
    body: &Body,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let code = required(&body.code, "code")?;
    let email = required(&body.email, "email")?.trim();
    let checked = store
        .magic_auths
        .iter()
        .rev()
        .find(|m| m.email.eq_ignore_ascii_case(email) && secret_eq(&m.code, code))
        .cloned()
        .ok_or_else(|| bad_code("invalid_one_time_code", "The code is incorrect."))
        .and_then(|record| {
            if record.used {
                Err(bad_code(
                    "one_time_code_previously_used",
                    "The code has already been used.",
                ))
            } else if record.expires_at <= now {
                Err(bad_code("one_time_code_expired", "The code has expired."))
            } else {
                Ok(record)
            }
        });
    let user_id = store
        .users
        .find(|u| u.email.eq_ignore_ascii_case(email))
        .map(|u| u.id.clone());
    let attempt = attempt("magic_auth", body, user_id.as_deref(), Some(email));
    let record: MagicAuthRec = log_attempt(store, attempt, now, checked)?;
    if let Some(m) = store.magic_auths.get_mut(&record.id) {
        m.used = true;
        m.updated_at = now;
    }
    // Receiving the code proves the user owns the address.
    let user = store
        .users
        .get_mut(&record.user_id)
        .ok_or_else(|| invalid_grant("The user no longer exists."))?;
    if !user.email_verified {
        user.email_verified = true;
        user.updated_at = now;
    }
    let (user_id, user_email) = (user.id.clone(), user.email.clone());
    let mut sign_in = SignIn::new(&user_id, "MagicAuth", body, Stage::EmailVerified);
    if let Some(token) = body
        .invitation_token
        .as_deref()
        .or(record.invitation_token.as_deref())
    {
        sign_in.organization_id = accept_invitation(store, now, token, &user_id, &user_email)?;
    }
    continue_sign_in(state, store, sign_in, now)
}

fn email_verification_grant(
    state: &EmulatorState,
    store: &mut Store,
    body: &Body,
    public_client: bool,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let code = required(&body.code, "code")?;
    let token = required(
        &body.pending_authentication_token,
        "pending_authentication_token",
    )?;
    let pending = pending(store, now, token, PendingKind::EmailVerification)?;
    let verification_id = pending.email_verification_id.clone().unwrap_or_default();
    let verification = store
        .email_verifications
        .get(&verification_id)
        .cloned()
        .ok_or_else(|| {
            bad_code(
                "invalid_pending_authentication_token",
                "The pending authentication token has no email verification.",
            )
        })?;
    let checked = if !secret_eq(&verification.code, code) {
        Err(bad_code("invalid_one_time_code", "The code is incorrect."))
    } else if verification.used {
        Err(bad_code(
            "one_time_code_previously_used",
            "The code has already been used.",
        ))
    } else if verification.expires_at <= now {
        Err(bad_code("one_time_code_expired", "The code has expired."))
    } else {
        Ok(())
    };
    let attempt = attempt(
        "email_verification",
        body,
        Some(&pending.user_id),
        Some(&verification.email),
    );
    log_attempt(store, attempt, now, checked)?;
    if let Some(v) = store.email_verifications.get_mut(&verification_id) {
        v.used = true;
        v.updated_at = now;
    }
    if let Some(user) = store.users.get_mut(&pending.user_id) {
        user.email_verified = true;
        user.updated_at = now;
    }
    use_pending(store, token);
    let sign_in = SignIn::resume(&pending, body, Stage::EmailVerified, public_client);
    continue_sign_in(state, store, sign_in, now)
}

fn totp_grant(
    state: &EmulatorState,
    store: &mut Store,
    body: &Body,
    public_client: bool,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let code = required(&body.code, "code")?;
    let token = required(
        &body.pending_authentication_token,
        "pending_authentication_token",
    )?;
    let challenge_id = required(
        &body.authentication_challenge_id,
        "authentication_challenge_id",
    )?;
    let pending = pending(store, now, token, PendingKind::Mfa)?;
    let checked = check_totp(store, &pending, challenge_id, code, now);
    let email = store.users.get(&pending.user_id).map(|u| u.email.clone());
    let attempt = attempt("mfa", body, Some(&pending.user_id), email.as_deref());
    log_attempt(store, attempt, now, checked)?;
    if let Some(c) = store.auth.challenges.get_mut(challenge_id) {
        c.used = true;
        c.updated_at = now;
    }
    use_pending(store, token);
    let sign_in = SignIn::resume(&pending, body, Stage::MfaPassed, public_client);
    continue_sign_in(state, store, sign_in, now)
}

/// Checks `code` against the challenge `challenge_id` of the pending sign-in's user.
fn check_totp(
    store: &Store,
    pending: &PendingAuthRec,
    challenge_id: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let challenge = store.auth.challenges.get(challenge_id).ok_or_else(|| {
        ApiError::oauth(
            "invalid_request",
            format!("Authentication challenge not found: '{challenge_id}'."),
        )
    })?;
    let factor = store
        .auth
        .factors
        .get(&challenge.factor_id)
        .ok_or_else(|| {
            ApiError::oauth(
                "invalid_request",
                "The challenge's authentication factor no longer exists.",
            )
        })?;
    if factor.user_id != pending.user_id {
        return Err(bad_code(
            "user_mismatch",
            "The challenge belongs to another user than the pending authentication.",
        ));
    }
    if challenge.used {
        return Err(bad_code(
            "one_time_code_previously_used",
            "The challenge has already been completed.",
        ));
    }
    if challenge.expires_at <= now {
        return Err(bad_code(
            "one_time_code_expired",
            "The challenge has expired.",
        ));
    }
    if !totp_verify(&factor.secret, code, now) {
        return Err(bad_code("invalid_one_time_code", "The code is incorrect."));
    }
    Ok(())
}

fn organization_selection_grant(
    state: &EmulatorState,
    store: &mut Store,
    body: &Body,
    public_client: bool,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let token = required(
        &body.pending_authentication_token,
        "pending_authentication_token",
    )?;
    let organization_id = required(&body.organization_id, "organization_id")?;
    let pending = pending(store, now, token, PendingKind::OrganizationSelection)?;
    check_membership(store, &pending.user_id, organization_id)?;
    use_pending(store, token);
    let mut sign_in = SignIn::resume(&pending, body, Stage::MfaPassed, public_client);
    sign_in.organization_id = Some(organization_id.to_owned());
    continue_sign_in(state, store, sign_in, now)
}

/// The organization must exist and the user must be an active member of it.
fn check_membership(store: &Store, user_id: &str, organization_id: &str) -> Result<(), ApiError> {
    if store.organizations.get(organization_id).is_none() {
        return Err(ApiError::oauth(
            "organization_not_found",
            format!("Organization not found: '{organization_id}'."),
        ));
    }
    let member = store
        .memberships
        .find(|m| {
            m.user_id == user_id && m.organization_id == organization_id && m.status == "active"
        })
        .is_some();
    if !member {
        return Err(ApiError::oauth(
            "organization_membership_not_found",
            format!("The user is not an active member of organization '{organization_id}'."),
        ));
    }
    Ok(())
}

fn refresh_grant(
    state: &EmulatorState,
    store: &mut Store,
    body: &Body,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let token = required(&body.refresh_token, "refresh_token")?;
    let record = store
        .auth
        .refresh_tokens
        .get(token)
        .filter(|r| !r.used)
        .cloned()
        .ok_or_else(|| invalid_grant("The refresh token is invalid or already used."))?;
    let session = store
        .auth
        .sessions
        .get(&record.session_id)
        .filter(|s| s.status == "active" && s.expires_at > now)
        .cloned()
        .ok_or_else(|| invalid_grant("The session has ended."))?;
    if let Some(org) = body.organization_id.as_deref() {
        check_membership(store, &session.user_id, org)?;
        // Into an organization that requires SSO, only from a session that signed in with it.
        if let Some(organization) = store.organizations.get(org).filter(|o| o.sso)
            && session.authentication_method != "SSO"
        {
            let email = store
                .users
                .get(&session.user_id)
                .map(|u| u.email.clone())
                .unwrap_or_default();
            return Err(ApiError::oauth(
                "sso_required",
                "The organization requires signing in with SSO.",
            )
            .with(json!({
                "email": email,
                "connection_ids": [organization.connection_id()],
                "pending_authentication_token": null,
            })));
        }
    }
    if let Some(r) = store.auth.refresh_tokens.get_mut(token) {
        r.used = true;
    }
    if let Some(s) = store.auth.sessions.get_mut(&session.id) {
        if let Some(org) = &body.organization_id {
            s.organization_id = Some(org.clone());
        }
        s.updated_at = now;
    }
    respond(state, store, &session.id)
}

fn code_grant(
    state: &EmulatorState,
    store: &mut Store,
    body: &Body,
    public_client: bool,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let code = required(&body.code, "code")?;
    let record: AuthCodeRec = store
        .auth
        .codes
        .get(code)
        .filter(|c| !c.used && c.expires_at > now)
        .cloned()
        .ok_or_else(|| {
            invalid_grant("The authorization code is invalid, expired or already used.")
        })?;
    // OAuth: a redirect_uri sent with the exchange must be the one the code went to.
    if let (Some(sent), Some(issued)) = (body.redirect_uri.as_deref(), &record.redirect_uri)
        && crate::registration::normalize(sent).as_deref() != Some(issued.as_str())
    {
        return Err(invalid_grant(
            "The redirect_uri does not match the one the authorization code was issued for.",
        ));
    }
    match (
        record.code_challenge.as_deref(),
        body.code_verifier.as_deref(),
    ) {
        (None, Some(_)) => {
            return Err(bad_code(
                "code_challenge_not_found",
                "A code_verifier was sent but the authorization had no code_challenge.",
            ));
        }
        (Some(challenge), Some(verifier)) => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !secret_eq(&computed, challenge) {
                return Err(invalid_grant(
                    "The code_verifier does not match the code_challenge.",
                ));
            }
        }
        (Some(_), None) => {
            return Err(invalid_grant(
                "The authorization used PKCE: send its code_verifier.",
            ));
        }
        (None, None) if public_client => {
            return Err(ApiError::oauth(
                "invalid_client",
                "client_secret is required without PKCE.",
            ));
        }
        (None, None) => {}
    }
    if let Some(c) = store.auth.codes.get_mut(code) {
        c.used = true;
    }
    let email = store
        .users
        .get(&record.user_id)
        .map(|u| u.email.clone())
        .ok_or_else(|| invalid_grant("The user no longer exists."))?;
    // The identity provider's answer is in: an SSO or OAuth sign-in succeeded.
    let provider = match record.authentication_method.as_str() {
        "SSO" => Some("sso"),
        m if m.ends_with("OAuth") => Some("oauth"),
        _ => None,
    };
    if let Some(method) = provider {
        let mut attempt = attempt(method, body, Some(&record.user_id), Some(&email));
        if method == "sso" {
            let connection_id = record
                .organization_id
                .as_deref()
                .and_then(|org| store.organizations.get(org))
                .filter(|o| o.sso)
                .map(|o| o.connection_id());
            attempt.sso = Some(json!({
                "organization_id": record.organization_id,
                "connection_id": connection_id,
                "session_id": null,
            }));
        }
        store.emit_authentication(attempt, None, now);
    }
    // The hosted page has already verified the email and passed MFA; other sign-ins (e.g.
    // OAuth) get their step-ups from this exchange.
    let stage = if record.step_ups {
        Stage::Start
    } else {
        Stage::MfaPassed
    };
    let mut sign_in = SignIn::new(&record.user_id, &record.authentication_method, body, stage);
    sign_in.organization_id = record.organization_id.clone();
    sign_in.public_client = public_client;
    sign_in.impersonator = record.impersonator.clone();
    if let Some(token) = body
        .invitation_token
        .as_deref()
        .or(record.invitation_token.as_deref())
    {
        let org = accept_invitation(store, now, token, &record.user_id, &email)?;
        sign_in.organization_id = sign_in.organization_id.or(org);
    }
    continue_sign_in(state, store, sign_in, now)
}

/// The `device_code` grant: tokens once the user approved on the verification page, else
/// `authorization_pending`, `slow_down`, `expired_token` or `access_denied`.
fn device_code_grant(
    state: &EmulatorState,
    store: &mut Store,
    body: &Body,
    public_client: bool,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let device_code = required(&body.device_code, "device_code")?;
    let approval = super::device::poll(store, device_code, now)?;
    // The verification page ran the step-ups (email verification, MFA, organization choice).
    let mut sign_in = SignIn::new(
        &approval.user_id,
        &approval.authentication_method,
        body,
        Stage::MfaPassed,
    );
    sign_in.organization_id = approval.organization_id;
    sign_in.public_client = public_client;
    continue_sign_in(state, store, sign_in, now)
}

/// Seeding helpers for tests (the corresponding API endpoints belong to other resources).
impl Emulator {
    /// Creates an active organization membership directly in the store and returns its id.
    /// A test helper; prefer the membership API where it is available.
    pub fn seed_membership(&self, user_id: &str, organization_id: &str, role_slug: &str) -> String {
        let now = self.state.now();
        let id = new_id("om");
        self.state.store().memberships.insert(MembershipRec {
            id: id.clone(),
            user_id: user_id.to_owned(),
            organization_id: organization_id.to_owned(),
            role_slugs: vec![role_slug.to_owned()],
            status: "active".to_owned(),
            created_at: now,
            updated_at: now,
        });
        id
    }

    /// Creates a Magic Auth code (valid 10 minutes) for the user with `email` directly in the
    /// store and returns the code, or `None` when no user has that email. A test helper.
    pub fn seed_magic_auth(&self, email: &str) -> Option<String> {
        let now = self.state.now();
        let mut store = self.state.store();
        let user_id = store
            .users
            .find(|u| u.email.eq_ignore_ascii_case(email))?
            .id
            .clone();
        let code = random_code();
        store.magic_auths.insert(MagicAuthRec {
            id: new_id("magic_auth"),
            user_id,
            email: email.to_owned(),
            code: code.clone(),
            invitation_token: None,
            expires_at: now + Duration::minutes(10),
            used: false,
            created_at: now,
            updated_at: now,
        });
        Some(code)
    }

    /// Issues an authorization code for `user_id` directly in the store, as the hosted sign-in
    /// page does, with an optional PKCE S256 `code_challenge`; returns the code. A test helper.
    pub fn seed_authorization_code(&self, user_id: &str, code_challenge: Option<&str>) -> String {
        let now = self.state.now();
        let code = random_token(32);
        self.state.store().auth.codes.insert(AuthCodeRec {
            code: code.clone(),
            user_id: user_id.to_owned(),
            organization_id: None,
            code_challenge: code_challenge.map(str::to_owned),
            authentication_method: "Password".to_owned(),
            invitation_token: None,
            expires_at: now + Duration::minutes(10),
            used: false,
            step_ups: false,
            redirect_uri: None,
            impersonator: None,
        });
        code
    }

    /// Like [`approve_sign_in`](Emulator::approve_sign_in), but leaves the step-ups to the code
    /// exchange, as WorkOS does after e.g. an OAuth sign-in: exchanging the code answers
    /// `email_verification_required` for an unverified email (the code goes to the outbox),
    /// then `mfa_challenge` for a user with a TOTP factor, then
    /// `organization_selection_required` for a member of several organizations when the
    /// authorization URL named none. Returns the callback URL (with `code` and `state`).
    /// A test helper.
    pub fn approve_sign_in_pending(
        &self,
        authorize_url: &str,
        email: &str,
    ) -> Result<url::Url, EmulatorError> {
        let callback = self.approve_sign_in(authorize_url, email)?;
        let code = callback
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| EmulatorError::Refused("the callback URL has no code".into()))?;
        let requested_org = url::Url::parse(authorize_url).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "organization_id")
                .map(|(_, v)| v.into_owned())
        });
        let mut store = self.state.store();
        let record = store
            .auth
            .codes
            .get_mut(&code)
            .ok_or_else(|| EmulatorError::Refused("the code just issued is missing".into()))?;
        record.step_ups = true;
        record.authentication_method = "GoogleOAuth".into();
        // Only an organization the authorization URL asked for counts as chosen.
        record.organization_id = requested_org;
        Ok(callback)
    }
}
