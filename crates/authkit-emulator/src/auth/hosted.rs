//! The hosted sign-in page behind `GET /user_management/authorize`: what AuthKit shows the
//! browser, emulated. Email + password sign-in, sign-up, then the step-ups the user needs
//! (email verification, TOTP, organization choice), each its own screen; at the end a 303
//! back to `redirect_uri?code=...&state=...` with a code the `authorization_code` grant
//! exchanges.
//!
//! The multi-step state lives in the form (hidden fields and an opaque server-side flow id),
//! never in a cookie: the app and the emulator usually share one cookie jar on localhost.
//! The forms post to `/__emulator/authorize/*`, away from WorkOS's own paths.

// The helpers' `Err` is the answer itself (an error page or redirect), made once per request.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use url::Url;

use super::hosted_html::{self as html, Message, SignUpValues};
use super::{AuthCodeRec, FactorRec, totp_verify};
use crate::actions::{self, ActionType, Requester, Subject, Verdict};
use crate::http::ApiError;
use crate::outbox::{Email, EmailKind};
use crate::store::{self, EmailVerificationRec, MembershipRec, Record, Store, UserRec};
use crate::webhooks::Attempt;
use crate::{Emulator, EmulatorError, SharedState};

/// How long a sign-in on the hosted page may take, and how long its codes live.
const FLOW_TTL: time::Duration = time::Duration::minutes(10);
/// Wrong codes allowed in one flow before it is ended.
const MAX_FAILED_ATTEMPTS: u32 = 10;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/authorize", get(authorize))
        .route(html::SIGN_IN_PATH, post(sign_in))
        .route(html::SIGN_UP_PATH, post(sign_up))
        .route(html::VERIFY_EMAIL_PATH, post(verify_email))
        .route(html::RESEND_PATH, post(resend_code))
        .route(html::TOTP_PATH, post(totp))
        .route(html::ORGANIZATION_PATH, post(choose_organization))
        .route(html::CANCEL_PATH, post(cancel))
}

/// The authorization request, as given to `GET /user_management/authorize` and carried in
/// the forms' hidden fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub organization_id: Option<String>,
    pub invitation_token: Option<String>,
    pub login_hint: Option<String>,
    pub screen_hint: Option<String>,
    pub provider: Option<String>,
    pub connection_id: Option<String>,
    /// A domain naming the organization to sign in to (its verified domain).
    pub domain_hint: Option<String>,
}

impl AuthorizeRequest {
    /// From query or form pairs; the first occurrence of a name wins, empty values are absent.
    fn from_pairs(pairs: &Fields) -> Self {
        let opt = |name: &str| pairs.get(name).map(str::to_owned);
        AuthorizeRequest {
            client_id: pairs.get("client_id").unwrap_or_default().to_owned(),
            redirect_uri: pairs.get("redirect_uri").unwrap_or_default().to_owned(),
            response_type: opt("response_type"),
            state: opt("state"),
            code_challenge: opt("code_challenge"),
            code_challenge_method: opt("code_challenge_method"),
            organization_id: opt("organization_id"),
            invitation_token: opt("invitation_token"),
            login_hint: opt("login_hint"),
            screen_hint: opt("screen_hint"),
            provider: opt("provider"),
            connection_id: opt("connection_id"),
            domain_hint: opt("domain_hint"),
        }
    }

    /// The `GET /user_management/authorize` URL (path and query) of this request, with
    /// another screen hint: for the sign-in/sign-up links and "Start again".
    fn authorize_link(&self, screen_hint: Option<&str>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", &self.client_id);
        q.append_pair("redirect_uri", &self.redirect_uri);
        q.append_pair("response_type", "code");
        let optional = [
            ("provider", &self.provider),
            ("connection_id", &self.connection_id),
            ("organization_id", &self.organization_id),
            ("domain_hint", &self.domain_hint),
            ("state", &self.state),
            ("login_hint", &self.login_hint),
            ("invitation_token", &self.invitation_token),
            ("code_challenge", &self.code_challenge),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                q.append_pair(name, value);
            }
        }
        if self.code_challenge.is_some() {
            q.append_pair("code_challenge_method", "S256");
        }
        if let Some(hint) = screen_hint {
            q.append_pair("screen_hint", hint);
        }
        format!("/user_management/authorize?{}", q.finish())
    }

    /// `redirect_uri` with these query parameters added (and `state`, when given).
    fn redirect_with(&self, params: &[(&str, &str)]) -> String {
        match Url::parse(&self.redirect_uri) {
            Ok(mut url) => {
                {
                    let mut q = url.query_pairs_mut();
                    for (name, value) in params {
                        q.append_pair(name, value);
                    }
                    if let Some(state) = &self.state {
                        q.append_pair("state", state);
                    }
                }
                url.into()
            }
            // Unreachable for a validated request; keep the original rather than panic.
            Err(_) => self.redirect_uri.clone(),
        }
    }
}

/// A sign-in in progress on the hosted page, after the password (or sign-up) step. Its id
/// travels in the forms as `flow`.
#[derive(Debug, Clone)]
pub(crate) struct FlowRec {
    pub id: String,
    pub request: AuthorizeRequest,
    pub user_id: String,
    /// The email verification sent for this flow, if any.
    pub email_verification_id: Option<String>,
    /// Whether the TOTP step passed.
    pub mfa_passed: bool,
    /// The organization requested or chosen.
    pub organization_id: Option<String>,
    pub failed_attempts: u32,
    pub expires_at: OffsetDateTime,
    /// Set when the flow signs a device in (the device verification page) rather than
    /// redirecting back to an app.
    pub device: Option<DeviceStep>,
}

/// The device sign-in a hosted flow ends with: after the step-ups, the user approves or
/// denies it instead of being redirected.
#[derive(Debug, Clone)]
pub(crate) struct DeviceStep {
    /// The device authorization (its `device_code`).
    pub device_code: String,
    /// Its user code, shown again on the approval screen.
    pub user_code: String,
    /// Whether every step-up passed, so the approval screen may be answered.
    pub ready: bool,
}

impl Record for FlowRec {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Form or query fields, in order.
pub(super) struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub(super) fn from_query(query: Option<&str>) -> Self {
        Fields(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first non-empty value of `name`.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

/// An HTML answer.
pub(super) fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// An HTML error page with this status (and a "start again" link when given).
pub(crate) fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    restart: Option<&str>,
) -> Response {
    html_response(status, html::error_page(title, message, restart))
}

/// A redirect to `location` (302 answers the GET, as WorkOS; 303 answers a form post).
fn redirect(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => error_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "The redirect URL cannot be sent as a header.",
            None,
        ),
    }
}

/// Checks an authorization request. Problems with `client_id` or `redirect_uri` (missing,
/// malformed or not registered) are a 400 page, never a redirect to an unchecked URL; other
/// problems go back to `redirect_uri` with `error` (302 from the GET, 303 from a form), as
/// OAuth does. The forms carry the request in hidden fields, so each post is checked again.
fn validate(
    state: &SharedState,
    mut req: AuthorizeRequest,
    from_get: bool,
) -> Result<AuthorizeRequest, Response> {
    let bad = |message: String| {
        error_page(
            StatusCode::BAD_REQUEST,
            "Invalid sign-in request",
            &message,
            None,
        )
    };
    if req.client_id.is_empty() {
        return Err(bad(
            "The client_id parameter is missing. Build the URL with get_authorization_url.".into(),
        ));
    }
    let expected = state.config.client_id.as_bytes();
    if !bool::from(req.client_id.as_bytes().ct_eq(expected)) {
        return Err(bad(format!(
            "Unknown client_id '{}'. This emulator's client id is '{}'.",
            req.client_id, state.config.client_id
        )));
    }
    if req.redirect_uri.is_empty() {
        return Err(bad("The redirect_uri parameter is missing.".into()));
    }
    match Url::parse(&req.redirect_uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            req.redirect_uri = url.into();
        }
        _ => {
            return Err(bad(format!(
                "The redirect_uri '{}' is not an absolute http(s) URL.",
                req.redirect_uri
            )));
        }
    }
    let registered = &state.config.registered;
    if !state.is_redirect_uri(&req.redirect_uri) {
        tracing::warn!(redirect_uri = %req.redirect_uri, "emulator: refused an unregistered redirect_uri");
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Redirect URI not registered",
            &registered.unregistered_redirect_uri(&req.redirect_uri),
            None,
        ));
    }
    let status = if from_get {
        StatusCode::FOUND
    } else {
        StatusCode::SEE_OTHER
    };
    let oauth_error = |req: &AuthorizeRequest, error: &str, description: &str| {
        redirect(
            status,
            &req.redirect_with(&[("error", error), ("error_description", description)]),
        )
    };
    if from_get && req.response_type.as_deref() != Some("code") {
        return Err(oauth_error(
            &req,
            "unsupported_response_type",
            "response_type must be 'code'.",
        ));
    }
    if req.code_challenge.is_some() {
        let method_ok = !from_get || req.code_challenge_method.as_deref() == Some("S256");
        if !method_ok {
            return Err(oauth_error(
                &req,
                "invalid_request",
                "code_challenge_method must be 'S256' when a code_challenge is given.",
            ));
        }
    }
    if let Some(org) = &req.organization_id
        && state.store().organizations.get(org).is_none()
    {
        let description = format!("Organization not found: '{org}'.");
        return Err(oauth_error(&req, "invalid_request", &description));
    }
    // A domain hint scopes the sign-in to the organization with that verified domain, as
    // WorkOS finds an organization's SSO connection by domain.
    if req.organization_id.is_none()
        && let Some(domain) = &req.domain_hint
    {
        req.organization_id = organization_of_domain(&state.store(), domain);
    }
    Ok(req)
}

/// The organization with the verified domain `domain`, if any.
fn organization_of_domain(store: &Store, domain: &str) -> Option<String> {
    store
        .organizations
        .find(|org| {
            org.domains.iter().any(|d| {
                d.domain.eq_ignore_ascii_case(domain.trim())
                    && matches!(d.state.as_str(), "verified" | "legacy_verified")
            })
        })
        .map(|org| org.id.clone())
}

/// How a hosted sign-in authenticated: `SSO` when it was scoped (`organization_id` on
/// authorize) to an organization that requires SSO (the emulator stands in for its identity
/// provider), else `Password`.
pub(super) fn sign_in_method(store: &Store, organization_id: Option<&str>) -> String {
    let sso = organization_id
        .and_then(|id| store.organizations.get(id))
        .is_some_and(|org| org.sso);
    if sso { "SSO" } else { "Password" }.to_owned()
}

/// A note for a provider or connection the emulator cannot run.
fn selector_note(req: &AuthorizeRequest) -> Option<Message> {
    if let Some(provider) = req.provider.as_deref().filter(|p| *p != "authkit") {
        return Some(Message::Info(format!(
            "The emulator does not sign in with {provider}: use an email address and password instead."
        )));
    }
    req.connection_id.as_ref().map(|_| {
        Message::Info(
            "The emulator does not run SSO connections: use an email address and password instead."
                .into(),
        )
    })
}

/// `GET /user_management/authorize`: the sign-in (or, with `screen_hint=sign-up`, sign-up) screen.
async fn authorize(State(state): State<SharedState>, RawQuery(query): RawQuery) -> Response {
    let fields = Fields::from_query(query.as_deref());
    let req = match validate(&state, AuthorizeRequest::from_pairs(&fields), true) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let note = selector_note(&req);
    let email = req.login_hint.clone().unwrap_or_default();
    let body = if req.screen_hint.as_deref() == Some("sign-up") {
        let values = SignUpValues {
            email: &email,
            ..SignUpValues::default()
        };
        html::sign_up(
            &req,
            &values,
            note.as_ref(),
            &req.authorize_link(Some("sign-in")),
        )
    } else {
        html::sign_in(
            &req,
            &email,
            note.as_ref(),
            &req.authorize_link(Some("sign-up")),
        )
    };
    html_response(StatusCode::OK, body)
}

/// Validates the request carried by a form.
fn form_request(state: &SharedState, fields: &Fields) -> Result<AuthorizeRequest, Response> {
    validate(state, AuthorizeRequest::from_pairs(fields), false)
}

/// Starts a flow for `user_id` and shows its first step (`device`: the flow ends by
/// approving or denying that device sign-in).
pub(super) async fn start_flow(
    state: &SharedState,
    req: AuthorizeRequest,
    user_id: String,
    device: Option<DeviceStep>,
    requester: &Requester,
) -> Response {
    let flow = FlowRec {
        id: store::random_token(32),
        organization_id: req.organization_id.clone(),
        request: req,
        user_id,
        email_verification_id: None,
        mfa_passed: false,
        failed_attempts: 0,
        expires_at: state.now() + FLOW_TTL,
        device,
    };
    let id = flow.id.clone();
    state.store().auth.hosted_flows.insert(flow);
    advance(state, &id, None, requester).await
}

/// `POST /__emulator/authorize/sign-in`: checks the password.
async fn sign_in(
    State(state): State<SharedState>,
    requester: Requester,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let req = match form_request(&state, &fields) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let email = fields.get("email").unwrap_or_default().trim().to_owned();
    let password = fields.get("password").unwrap_or_default();
    let sign_up_link = req.authorize_link(Some("sign-up"));
    let again = |message: &str| {
        html_response(
            StatusCode::BAD_REQUEST,
            html::sign_in(
                &req,
                &email,
                Some(&Message::Error(message.to_owned())),
                &sign_up_link,
            ),
        )
    };
    let user_id = {
        let mut store = state.store();
        let known = store
            .users
            .find(|u| u.email.eq_ignore_ascii_case(&email))
            .cloned();
        let known_id = known.as_ref().map(|u| u.id.clone());
        let user = known.filter(|u| {
            u.password
                .as_deref()
                .is_some_and(|p| bool::from(p.as_bytes().ct_eq(password.as_bytes())))
        });
        let failure = user.is_none().then(|| {
            ApiError::code(
                StatusCode::BAD_REQUEST,
                "invalid_credentials",
                "Invalid credentials.",
            )
        });
        store.emit_authentication(
            hosted_attempt("password", known_id.as_deref(), Some(&email)),
            failure.as_ref(),
            state.now(),
        );
        let Some(user) = user else {
            tracing::debug!("emulator hosted page: incorrect email or password");
            return again("Incorrect email or password.");
        };
        if let Some(org) = &req.organization_id
            && req.invitation_token.is_none()
            && active_memberships(&store, &user.id)
                .iter()
                .all(|m| &m.organization_id != org)
        {
            return again(
                "This account is not a member of the organization you are signing in to.",
            );
        }
        user.id.clone()
    };
    start_flow(&state, req, user_id, None, &requester).await
}

/// `POST /__emulator/authorize/sign-up`: creates the user (email unverified).
async fn sign_up(
    State(state): State<SharedState>,
    requester: Requester,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let req = match form_request(&state, &fields) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let email = fields.get("email").unwrap_or_default().trim();
    let password = fields.get("password").unwrap_or_default();
    let first_name = fields.get("first_name").unwrap_or_default().trim();
    let last_name = fields.get("last_name").unwrap_or_default().trim();
    let values = SignUpValues {
        email,
        first_name,
        last_name,
    };
    let again = |message: &str| {
        html_response(
            StatusCode::BAD_REQUEST,
            html::sign_up(
                &req,
                &values,
                Some(&Message::Error(message.to_owned())),
                &req.authorize_link(Some("sign-in")),
            ),
        )
    };
    if !valid_email(email) {
        return again("Enter a valid email address, like name@example.com.");
    }
    if password.chars().count() < 8 {
        return again("Passwords must be at least 8 characters long.");
    }
    let taken = |store: &Store| {
        store
            .users
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .is_some()
    };
    const TAKEN: &str = "An account with this email address already exists. Sign in instead.";
    if taken(&state.store()) {
        return again(TAKEN);
    }
    // The app's user registration action, before anything is created.
    let (context, organization_id) = registration_context(&state.store(), &req, &values);
    let subject = Subject {
        user_id: None,
        email,
        organization_id: organization_id.as_deref(),
    };
    let verdict = actions::ask(
        &state,
        ActionType::UserRegistration,
        context,
        &requester,
        subject,
    )
    .await;
    if let Verdict::Deny(message) = verdict {
        tracing::info!("emulator hosted page: the app's user registration action denied a sign-up");
        let page = html::sign_up(
            &req,
            &values,
            Some(&Message::Error(message)),
            &req.authorize_link(Some("sign-in")),
        );
        return html_response(StatusCode::FORBIDDEN, page);
    }
    let user_id = {
        let mut store = state.store();
        if taken(&store) {
            return again(TAKEN);
        }
        let mut user = UserRec::new(email, state.now());
        user.password = Some(password.to_owned());
        user.first_name = Some(first_name.to_owned()).filter(|n| !n.is_empty());
        user.last_name = Some(last_name.to_owned()).filter(|n| !n.is_empty());
        let id = user.id.clone();
        store.users.insert(user);
        tracing::info!(user_id = %id, "emulator hosted page: user signed up");
        id
    };
    start_flow(&state, req, user_id, None, &requester).await
}

/// The user registration action request for the sign-up form's `values`, and the
/// organization of the invitation being accepted, if any.
fn registration_context(
    store: &Store,
    req: &AuthorizeRequest,
    values: &SignUpValues<'_>,
) -> (serde_json::Value, Option<String>) {
    let optional = |value: &str| Some(value.to_owned()).filter(|v| !v.is_empty());
    let mut context = serde_json::json!({
        "user_data": {
            "object": "user_data",
            "email": values.email,
            "first_name": optional(values.first_name),
            "last_name": optional(values.last_name),
        },
    });
    let invitation = req
        .invitation_token
        .as_deref()
        .and_then(|token| store.invitations.find(|i| i.token == token));
    let organization_id = invitation.and_then(|i| i.organization_id.clone());
    if let Some(inv) = invitation {
        // The invitation without its token, which is a secret.
        context["invitation"] = serde_json::json!({
            "object": "invitation",
            "id": inv.id,
            "email": inv.email,
            "state": inv.state,
            "accepted_at": store::ts_opt(inv.accepted_at),
            "revoked_at": store::ts_opt(inv.revoked_at),
            "expires_at": store::ts(inv.expires_at),
            "organization_id": inv.organization_id,
            "inviter_user_id": inv.inviter_user_id,
            "created_at": store::ts(inv.created_at),
            "updated_at": store::ts(inv.updated_at),
        });
    }
    (context, organization_id)
}

/// Something shaped like name@example.com.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
}

pub(super) fn active_memberships<'a>(store: &'a Store, user_id: &str) -> Vec<&'a MembershipRec> {
    store
        .memberships
        .iter()
        .filter(|m| m.user_id == user_id && m.status == "active")
        .collect()
}

fn user_factors<'a>(store: &'a Store, user_id: &str) -> Vec<&'a FactorRec> {
    store
        .auth
        .factors
        .iter()
        .filter(|f| f.user_id == user_id)
        .collect()
}

/// Looks up the flow a form names. An unknown or expired flow is an error page with a link
/// to start again (built from the form's hidden fields when they are valid).
pub(super) fn load_flow(state: &SharedState, fields: &Fields) -> Result<FlowRec, Response> {
    let restart = || {
        form_request(state, fields)
            .ok()
            .map(|req| req.authorize_link(None))
    };
    let id = fields.get("flow").unwrap_or_default();
    let mut store = state.store();
    let Some(flow) = store.auth.hosted_flows.get(id).cloned() else {
        drop(store);
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in not found",
            "This sign-in is no longer valid: it was completed, cancelled or has expired. Start again from your app.",
            restart().as_deref(),
        ));
    };
    if state.now() >= flow.expires_at {
        store.auth.hosted_flows.remove(id);
        drop(store);
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in took longer than 10 minutes and has expired. Start again.",
            Some(&flow.request.authorize_link(None)),
        ));
    }
    Ok(flow)
}

/// Counts a wrong code; ends the flow after too many. `Err` is the answer when it ended.
fn count_failure(state: &SharedState, flow: &FlowRec) -> Result<(), Response> {
    let mut store = state.store();
    let ended = match store.auth.hosted_flows.get_mut(&flow.id) {
        Some(f) => {
            f.failed_attempts += 1;
            f.failed_attempts >= MAX_FAILED_ATTEMPTS
        }
        None => true,
    };
    if ended {
        store.auth.hosted_flows.remove(&flow.id);
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Too many attempts",
            "Too many incorrect codes. Start the sign-in again.",
            Some(&flow.request.authorize_link(None)),
        ));
    }
    Ok(())
}

/// Shows the next step the flow needs, or, when none is left, asks the app's authentication
/// action (if any) and issues the code and redirects back to the app. `message` is shown on
/// the screen (an error keeps the user on the same step: 400).
async fn advance(
    state: &SharedState,
    flow_id: &str,
    message: Option<Message>,
    requester: &Requester,
) -> Response {
    let (flow, user, organization_id) = match next_step(state, flow_id, message) {
        Next::Show(page) => return page,
        Next::Done {
            flow,
            user,
            organization_id,
        } => (flow, user, organization_id),
    };
    let context = authentication_context(&state.store(), &user, organization_id.as_deref());
    let subject = Subject {
        user_id: Some(&user.id),
        email: &user.email,
        organization_id: organization_id.as_deref(),
    };
    let verdict = actions::ask(
        state,
        ActionType::Authentication,
        context,
        requester,
        subject,
    )
    .await;
    if let Verdict::Deny(message) = verdict {
        state.store().auth.hosted_flows.remove(flow_id);
        tracing::info!(user_id = %user.id, "emulator hosted page: the app's authentication action denied the sign-in");
        return error_page(
            StatusCode::FORBIDDEN,
            "Sign-in denied",
            &message,
            Some(&flow.request.authorize_link(None)),
        );
    }
    issue_code(state, &flow, &user, organization_id)
}

/// The authentication action request for `user` signing in to `organization_id`.
fn authentication_context(
    store: &Store,
    user: &UserRec,
    organization_id: Option<&str>,
) -> serde_json::Value {
    let mut context = serde_json::json!({ "user": user.to_json() });
    if let Some(org) = organization_id.and_then(|id| store.organizations.get(id)) {
        context["organization"] = org.to_json();
        if let Some(membership) = active_memberships(store, &user.id)
            .into_iter()
            .find(|m| m.organization_id == org.id)
        {
            context["organization_membership"] =
                crate::routes::organization_memberships::membership_json(store, membership);
        }
    }
    context
}

/// Ends the flow with a code and the redirect back to the app.
fn issue_code(
    state: &SharedState,
    flow: &FlowRec,
    user: &UserRec,
    organization_id: Option<String>,
) -> Response {
    let now = state.now();
    let req = &flow.request;
    let mut store = state.store();
    if store.auth.hosted_flows.remove(&flow.id).is_none() {
        // Completed or cancelled by another request meanwhile.
        return error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in not found",
            "This sign-in is no longer valid. Start again from your app.",
            Some(&req.authorize_link(None)),
        );
    }
    let code = AuthCodeRec {
        code: store::random_token(32),
        user_id: user.id.clone(),
        authentication_method: sign_in_method(&store, req.organization_id.as_deref()),
        organization_id,
        code_challenge: req.code_challenge.clone(),
        invitation_token: req.invitation_token.clone(),
        expires_at: now + FLOW_TTL,
        used: false,
        step_ups: false,
        redirect_uri: Some(req.redirect_uri.clone()),
        impersonator: None,
    };
    let location = req.redirect_with(&[("code", &code.code)]);
    store.auth.codes.insert(code);
    drop(store);
    tracing::info!(user_id = %user.id, "emulator hosted page: sign-in complete, code issued");
    redirect(StatusCode::SEE_OTHER, &location)
}

/// What a flow needs next.
enum Next {
    /// A step's screen (or an error page).
    Show(Response),
    /// Nothing: the sign-in is complete, into this organization.
    Done {
        flow: Box<FlowRec>,
        user: Box<UserRec>,
        organization_id: Option<String>,
    },
}

/// The next step of the flow, as [`advance`] shows it.
fn next_step(state: &SharedState, flow_id: &str, message: Option<Message>) -> Next {
    let now = state.now();
    let status = match message {
        Some(Message::Error(_)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let mut store = state.store();
    let Some(flow) = store.auth.hosted_flows.get(flow_id).cloned() else {
        return Next::Show(error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in not found",
            "This sign-in is no longer valid. Start again from your app.",
            None,
        ));
    };
    let req = &flow.request;
    let Some(user) = store.users.get(&flow.user_id).cloned() else {
        store.auth.hosted_flows.remove(flow_id);
        return Next::Show(error_page(
            StatusCode::BAD_REQUEST,
            "Account not found",
            "The account signing in was deleted. Start again.",
            Some(&req.authorize_link(None)),
        ));
    };

    // 1. An unverified email gets a code by email.
    if !user.email_verified {
        let current = flow
            .email_verification_id
            .as_deref()
            .and_then(|id| store.email_verifications.get(id))
            .filter(|v| !v.used && now < v.expires_at)
            .is_some();
        let mut message = message;
        if !current {
            let verification = EmailVerificationRec {
                id: store::new_id("email_verification"),
                user_id: user.id.clone(),
                email: user.email.clone(),
                code: store::random_code(),
                expires_at: now + FLOW_TTL,
                used: false,
                created_at: now,
                updated_at: now,
            };
            let email = Email {
                to: user.email.clone(),
                kind: EmailKind::EmailVerification,
                subject: "Verify your email address".into(),
                code: Some(verification.code.clone()),
                link: None,
                token: None,
                sent_at: now,
            };
            if let Some(f) = store.auth.hosted_flows.get_mut(flow_id) {
                f.email_verification_id = Some(verification.id.clone());
            }
            store.emit("email_verification.created", verification.event_json(), now);
            store.email_verifications.insert(verification);
            state.outbox.send(email);
            if flow.email_verification_id.is_some() && message.is_none() {
                message = Some(Message::Info("The code expired: we sent a new one.".into()));
            }
        }
        let body = html::verify_email(req, flow_id, &user.email, message.as_ref());
        return Next::Show(html_response(status, body));
    }

    // 2. A TOTP factor asks for its current code.
    if !flow.mfa_passed && !user_factors(&store, &user.id).is_empty() {
        return Next::Show(html_response(
            status,
            html::totp(req, flow_id, message.as_ref()),
        ));
    }

    // 3. Several organizations and none requested: choose one.
    let memberships = active_memberships(&store, &user.id);
    let organization_id = match &flow.organization_id {
        Some(org) => Some(org.clone()),
        None if memberships.len() >= 2 => {
            let organizations: Vec<(String, String)> = memberships
                .iter()
                .map(|m| {
                    let name = store
                        .organizations
                        .get(&m.organization_id)
                        .map_or_else(|| m.organization_id.clone(), |o| o.name.clone());
                    (m.organization_id.clone(), name)
                })
                .collect();
            let body = html::choose_organization(req, flow_id, &organizations, message.as_ref());
            return Next::Show(html_response(status, body));
        }
        None => memberships.first().map(|m| m.organization_id.clone()),
    };

    // 4. A device sign-in: ask to approve or deny it.
    if let Some(device) = &flow.device {
        if let Some(f) = store.auth.hosted_flows.get_mut(flow_id)
            && let Some(step) = &mut f.device
        {
            step.ready = true;
            f.organization_id = organization_id.clone();
        }
        let organization = organization_id
            .as_deref()
            .and_then(|id| store.organizations.get(id))
            .map(|o| o.name.clone());
        let body = html::device_confirm(
            flow_id,
            &device.user_code,
            &user.email,
            organization.as_deref(),
        );
        return Next::Show(html_response(status, body));
    }

    // 5. Done.
    drop(store);
    Next::Done {
        flow: Box::new(flow),
        user: Box::new(user),
        organization_id,
    }
}

/// An authentication attempt on the hosted page (which has no client IP or user agent to
/// report).
fn hosted_attempt<'a>(
    method: &'a str,
    user_id: Option<&'a str>,
    email: Option<&'a str>,
) -> Attempt<'a> {
    Attempt {
        method,
        user_id,
        email,
        ip_address: None,
        user_agent: None,
        sso: None,
    }
}

/// Runs `check` on the flow named by the form: `true` moves on, `false` shows the same step
/// with `wrong` (after counting the failure). A code step names its `method`
/// (`email_verification`, `mfa`), and an `authentication.<method>_*` event records it.
async fn step(
    state: &SharedState,
    fields: &Fields,
    method: Option<&str>,
    requester: &Requester,
    wrong: &str,
    check: impl FnOnce(&mut Store, &FlowRec, OffsetDateTime) -> bool,
) -> Response {
    let flow = match load_flow(state, fields) {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    let now = state.now();
    let passed = {
        let mut store = state.store();
        let passed = check(&mut store, &flow, now);
        if let Some(method) = method {
            let failure = (!passed)
                .then(|| ApiError::code(StatusCode::BAD_REQUEST, "invalid_one_time_code", wrong));
            let email = store.users.get(&flow.user_id).map(|u| u.email.clone());
            let attempt = hosted_attempt(method, Some(&flow.user_id), email.as_deref());
            store.emit_authentication(attempt, failure.as_ref(), now);
        }
        passed
    };
    if passed {
        return advance(state, &flow.id, None, requester).await;
    }
    if let Err(response) = count_failure(state, &flow) {
        return response;
    }
    advance(
        state,
        &flow.id,
        Some(Message::Error(wrong.to_owned())),
        requester,
    )
    .await
}

/// `POST /__emulator/authorize/verify-email`: checks the emailed code.
async fn verify_email(
    State(state): State<SharedState>,
    requester: Requester,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let code = fields.get("code").unwrap_or_default().trim().to_owned();
    step(
        &state,
        &fields,
        Some("email_verification"),
        &requester,
        "That code is incorrect or has expired. Check the latest email and try again.",
        |store, flow, now| {
            let Some(verification) = flow
                .email_verification_id
                .as_deref()
                .and_then(|id| store.email_verifications.get_mut(id))
            else {
                return false;
            };
            let matches = bool::from(verification.code.as_bytes().ct_eq(code.as_bytes()));
            if !matches || verification.used || now >= verification.expires_at {
                return false;
            }
            verification.used = true;
            verification.updated_at = now;
            if let Some(user) = store.users.get_mut(&flow.user_id) {
                user.email_verified = true;
                user.updated_at = now;
            }
            true
        },
    )
    .await
}

/// `POST /__emulator/authorize/resend-code`: sends a new verification code.
async fn resend_code(
    State(state): State<SharedState>,
    requester: Requester,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let flow = match load_flow(&state, &fields) {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    {
        let mut store = state.store();
        if let Some(old) = flow
            .email_verification_id
            .as_deref()
            .and_then(|id| store.email_verifications.get_mut(id))
        {
            old.used = true;
        }
        if let Some(f) = store.auth.hosted_flows.get_mut(&flow.id) {
            f.email_verification_id = None;
        }
    }
    advance(
        &state,
        &flow.id,
        Some(Message::Info("We sent a new code.".into())),
        &requester,
    )
    .await
}

/// `POST /__emulator/authorize/totp`: checks the authenticator code.
async fn totp(
    State(state): State<SharedState>,
    requester: Requester,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let code = fields.get("code").unwrap_or_default().trim().to_owned();
    step(
        &state,
        &fields,
        Some("mfa"),
        &requester,
        "That code is incorrect. Enter the current 6-digit code from your authenticator app.",
        |store, flow, now| {
            let passed = code.len() == 6
                && user_factors(store, &flow.user_id)
                    .iter()
                    .any(|f| totp_verify(&f.secret, &code, now));
            if passed && let Some(f) = store.auth.hosted_flows.get_mut(&flow.id) {
                f.mfa_passed = true;
            }
            passed
        },
    )
    .await
}

/// `POST /__emulator/authorize/organization`: records the organization chosen.
async fn choose_organization(
    State(state): State<SharedState>,
    requester: Requester,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let chosen = fields.get("organization_id").unwrap_or_default().to_owned();
    step(
        &state,
        &fields,
        None,
        &requester,
        "Choose one of your organizations.",
        |store, flow, _| {
            let member = active_memberships(store, &flow.user_id)
                .iter()
                .any(|m| m.organization_id == chosen);
            if member && let Some(f) = store.auth.hosted_flows.get_mut(&flow.id) {
                f.organization_id = Some(chosen.clone());
            }
            member
        },
    )
    .await
}

/// `POST /__emulator/authorize/cancel`: back to the app with `error=access_denied`.
async fn cancel(
    State(state): State<SharedState>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(pairs);
    let flow = fields
        .get("flow")
        .and_then(|id| state.store().auth.hosted_flows.remove(id));
    let req = match flow {
        Some(FlowRec {
            device: Some(device),
            ..
        }) => return super::device::deny(&state, &device.device_code),
        Some(flow) => flow.request,
        None => match form_request(&state, &fields) {
            Ok(req) => req,
            Err(response) => return response,
        },
    };
    let location = req.redirect_with(&[
        ("error", "access_denied"),
        ("error_description", "The user cancelled the sign-in."),
    ]);
    redirect(StatusCode::SEE_OTHER, &location)
}

/// Test helpers for the hosted page (seeding and observing what it issued).
impl Emulator {
    /// The `(user_id, organization_id)` of an authorization code the hosted page issued
    /// that is neither used nor expired.
    pub fn pending_code_user(&self, code: &str) -> Option<(String, Option<String>)> {
        let now = self.state.now();
        self.state
            .store()
            .auth
            .codes
            .get(code)
            .filter(|c| !c.used && now < c.expires_at)
            .map(|c| (c.user_id.clone(), c.organization_id.clone()))
    }

    /// The PKCE challenge recorded with an authorization code (`Some(None)`: no challenge).
    pub fn pending_code_challenge(&self, code: &str) -> Option<Option<String>> {
        self.state
            .store()
            .auth
            .codes
            .get(code)
            .map(|c| c.code_challenge.clone())
    }

    /// Gives a user a TOTP factor with this base32 secret; returns the factor id.
    pub fn seed_totp_factor(&self, user_id: &str, secret: &str) -> String {
        let now = self.state.now();
        let mut store = self.state.store();
        let email = store
            .users
            .get(user_id)
            .map(|u| u.email.clone())
            .unwrap_or_default();
        let factor = FactorRec {
            id: store::new_id("auth_factor"),
            user_id: user_id.to_owned(),
            totp_issuer: "WorkOS emulator".into(),
            totp_user: email,
            secret: secret.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let id = factor.id.clone();
        store.auth.factors.insert(factor);
        id
    }
}

/// Signing users in from tests, without a browser.
impl Emulator {
    /// Completes the sign-in that `authorize_url` starts (the URL your app redirects to, e.g.
    /// the `Location` of `GET /auth/login`) as the user with `email`, as if they had signed in on
    /// the hosted page, and returns the callback URL to send back to your app (with `code` and
    /// `state`). The code honours the URL's PKCE challenge and organization.
    ///
    /// The user must exist, and the URL's `redirect_uri` must be
    /// [registered](crate::EmulatorBuilder::redirect_uri), as for the hosted page. If the user
    /// belongs to several organizations and the URL names none, the first membership is used
    /// (use the hosted page itself to test the choice screen). No password, email verification
    /// or MFA step is asked: use the hosted page to test those.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authkit_emulator::Emulator;
    ///
    /// let emulator = Emulator::builder()
    ///     .redirect_uri("http://localhost:3000/auth/callback")
    ///     .start()
    ///     .await?;
    /// # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
    /// let http = reqwest::Client::new();
    /// http.post(format!("{}/user_management/users", emulator.base_url()))
    ///     .bearer_auth(emulator.api_key())
    ///     .json(&serde_json::json!({ "email": "ada@example.com", "email_verified": true }))
    ///     .send()
    ///     .await?;
    /// // The URL an app's sign-in route redirects to.
    /// let url = format!(
    ///     "{}/user_management/authorize?client_id={}&response_type=code&provider=authkit\
    ///      &redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fauth%2Fcallback&state=xyz",
    ///     emulator.base_url(),
    ///     emulator.client_id(),
    /// );
    /// let callback = emulator.approve_sign_in(&url, "ada@example.com")?;
    /// let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    /// let auth: serde_json::Value = http
    ///     .post(format!("{}/user_management/authenticate", emulator.base_url()))
    ///     .json(&serde_json::json!({
    ///         "grant_type": "authorization_code",
    ///         "client_id": emulator.client_id(),
    ///         "client_secret": emulator.api_key(),
    ///         "code": code,
    ///     }))
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(auth["user"]["email"], "ada@example.com");
    /// # Ok(()) }
    /// ```
    pub fn approve_sign_in(
        &self,
        authorize_url: &str,
        email: &str,
    ) -> Result<url::Url, EmulatorError> {
        let refused = EmulatorError::Refused;
        let url = url::Url::parse(authorize_url)
            .map_err(|e| refused(format!("{authorize_url:?} is not a URL: {e}")))?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if param("client_id").as_deref() != Some(self.client_id()) {
            return Err(refused(format!(
                "the URL's client_id is not this emulator's ({})",
                self.client_id()
            )));
        }
        let redirect_uri =
            param("redirect_uri").ok_or_else(|| refused("the URL has no redirect_uri".into()))?;
        let registered = &self.state.config.registered;
        if !self.state.is_redirect_uri(&redirect_uri) {
            return Err(refused(registered.unregistered_redirect_uri(&redirect_uri)));
        }
        let mut callback = url::Url::parse(&redirect_uri)
            .map_err(|e| refused(format!("redirect_uri {redirect_uri:?} is not a URL: {e}")))?;
        let now = self.state.now();
        let mut store = self.state.store();
        let user = store
            .users
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .ok_or_else(|| refused(format!("no user has the email {email:?}: create it first")))?
            .id
            .clone();
        let scoped = param("organization_id").or_else(|| {
            param("domain_hint").and_then(|domain| organization_of_domain(&store, &domain))
        });
        let organization_id = match scoped.clone() {
            Some(org) => Some(org),
            None => store
                .memberships
                .find(|m| m.user_id == user && m.status == "active")
                .map(|m| m.organization_id.clone()),
        };
        let method = sign_in_method(&store, scoped.as_deref());
        let code = AuthCodeRec {
            code: store::random_token(32),
            user_id: user,
            organization_id,
            code_challenge: param("code_challenge"),
            authentication_method: method,
            invitation_token: param("invitation_token"),
            expires_at: now + FLOW_TTL,
            used: false,
            step_ups: false,
            redirect_uri: Some(callback.to_string()),
            impersonator: None,
        };
        {
            let mut pairs = callback.query_pairs_mut();
            pairs.append_pair("code", &code.code);
            if let Some(state) = param("state") {
                pairs.append_pair("state", &state);
            }
        }
        store.auth.codes.insert(code);
        Ok(callback)
    }
}
