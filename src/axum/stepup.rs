//! Step-up pages that finish a sign-in the code exchange could not complete alone: enter the
//! emailed verification code, enter a TOTP code (enrolling a factor first if the organization
//! requires MFA), or pick an organization.

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use super::config::AuthKit;
use super::flow::{CallbackError, callback_error, finish_sign_in, sign_in_route};
use super::layer::now;
use super::pages::{self, esc};
use super::requester::RequesterOf;
use super::session::{STEP_UP_KEY, StepUp, StepUpKind};
use crate::Error;
use crate::session::attempts::{Attempt, Claim, Nonce};
use crate::session::requester::Requester;
use crate::user_management::{
    AuthenticateWithEmailVerification, AuthenticateWithSelectedOrganization, AuthenticateWithTotp,
    EnrollAuthFactor,
};

pub(crate) use super::session::STEP_UP_TTL;

pub(crate) fn routes(prefix: &str) -> Router<AuthKit> {
    Router::new()
        .route(
            &format!("{prefix}/verify-email"),
            get(verify_email_page).post(verify_email),
        )
        .route(&format!("{prefix}/mfa"), get(mfa_page).post(mfa))
        .route(
            &format!("{prefix}/select-organization"),
            get(organization_page).post(select_organization),
        )
}

/// Stores the step-up an authenticate call asked for and redirects to its page.
pub(crate) async fn begin(
    authkit: &AuthKit,
    session: &Session,
    err: Error,
    return_to: Option<String>,
    app_state: Option<String>,
) -> Result<Response, CallbackError> {
    let p = authkit.prefix();
    let mut step = StepUp {
        kind: StepUpKind::EmailVerification,
        pending_authentication_token: Default::default(),
        return_to,
        app_state,
        email: None,
        user_id: None,
        authentication_challenge_id: None,
        enrolled: false,
        organizations: Vec::new(),
        factor_id: None,
        created_at: now(),
        nonce: Nonce::random(),
    };
    let path = match err {
        Error::EmailVerificationRequired(e) => {
            step.pending_authentication_token = e.pending_authentication_token;
            step.email = Some(e.email);
            format!("{p}/verify-email")
        }
        Error::MfaChallenge(e) => {
            step.kind = StepUpKind::Mfa;
            step.pending_authentication_token = e.pending_authentication_token;
            step.user_id = Some(e.user.id.clone());
            step.email = Some(e.user.email.clone());
            step.factor_id = e
                .authentication_factors
                .iter()
                .find(|f| f.kind == "totp")
                .or(e.authentication_factors.first())
                .map(|f| f.id.clone());
            format!("{p}/mfa")
        }
        Error::MfaEnrollment(e) => {
            step.kind = StepUpKind::Mfa;
            step.pending_authentication_token = e.pending_authentication_token;
            step.user_id = Some(e.user.id.clone());
            step.email = Some(e.user.email.clone());
            format!("{p}/mfa")
        }
        Error::OrganizationSelectionRequired(e) => {
            step.kind = StepUpKind::OrganizationSelection;
            step.pending_authentication_token = e.pending_authentication_token;
            step.user_id = Some(e.user.id.clone());
            step.organizations = e
                .organizations
                .iter()
                .map(|o| (o.id.clone(), o.name.clone()))
                .collect();
            format!("{p}/select-organization")
        }
        other => return Err(CallbackError::Exchange(other)),
    };
    // The sign-in continues under a new session id, sent only to the browser that made this
    // request: a session id planted in the victim's browser by an attacker (session fixation)
    // names a deleted record from here on, so the attacker can neither see nor finish the
    // step-up. (Reached from the callback, and from a step-up page when one step-up leads to
    // another.)
    session
        .cycle_id()
        .await
        .map_err(|e| CallbackError::Session(e.to_string()))?;
    session
        .insert(STEP_UP_KEY, &step)
        .await
        .map_err(|e| CallbackError::Session(e.to_string()))?;
    Ok(Redirect::to(&path).into_response())
}

/// The step-up in progress, if it is of `kind` and not expired.
async fn current(session: &Session, kind: StepUpKind) -> Option<StepUp> {
    let step: StepUp = session.get(STEP_UP_KEY).await.ok().flatten()?;
    (step.kind == kind && step.created_at + STEP_UP_TTL > now()).then_some(step)
}

fn expired(authkit: &AuthKit) -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Sign-in expired",
        "This sign-in step is no longer in progress (it expired or was finished). Start again.",
        &authkit.sign_in_path(),
    )
}

fn code_form(action: &str, label: &str, intro: &str, error: Option<&str>, extra: &str) -> String {
    format!(
        "{error}<p>{intro}</p>{extra}<form method=\"post\" action=\"{action}\">\
<label for=\"code\">{label}</label><input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" \
autocomplete=\"one-time-code\" maxlength=\"10\" required autofocus><button type=\"submit\">Continue</button></form>",
        error = error
            .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
            .unwrap_or_default(),
        action = esc(action),
        label = esc(label),
    )
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

/// Claims one of the step-up's attempts before its code is checked at WorkOS (see
/// [`crate::session::attempts`]): `Err` is the page to answer instead, with no WorkOS call.
async fn claim_attempt(
    authkit: &AuthKit,
    session: &Session,
    step: &StepUp,
) -> Result<Attempt, Response> {
    let store = authkit.inner.session_store.get().map(|s| s.as_ref());
    let expires_at = time::OffsetDateTime::from_unix_timestamp(step.created_at + STEP_UP_TTL)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    match authkit
        .inner
        .attempts
        .claim(store, &step.nonce, expires_at)
        .await
    {
        Ok(Claim::Granted(attempt)) => Ok(attempt),
        Ok(Claim::Exhausted) => {
            tracing::info!("a step-up has no attempts left; the sign-in must start again");
            Err(too_many_attempts(authkit, session).await)
        }
        Err(err) => Err(super::flow::store_failed(authkit, &err.to_string())),
    }
}

async fn too_many_attempts(authkit: &AuthKit, session: &Session) -> Response {
    end(
        authkit,
        session,
        "Too many attempts",
        "Too many wrong codes were entered. Start signing in again.",
    )
    .await
}

/// What to do with an authenticate result on a step-up page. `attempt` is the claimed try of
/// a code (none for an organization choice).
async fn settle(
    authkit: &AuthKit,
    session: &Session,
    step: StepUp,
    attempt: Option<Attempt>,
    result: Result<crate::user_management::AuthenticateResponse, Error>,
    retry: impl FnOnce(&StepUp, &str) -> Response,
) -> Response {
    let last = attempt.as_ref().is_some_and(Attempt::is_last);
    if let Some(attempt) = &attempt {
        tracing::debug!(attempt = attempt.number(), "a step-up code was checked");
    }
    let outcome = match result {
        Ok(auth) => {
            finish_sign_in(
                authkit,
                session,
                auth,
                step.return_to.clone(),
                step.app_state.clone(),
            )
            .await
        }
        Err(err) if err.is_step_up() => {
            begin(
                authkit,
                session,
                err,
                step.return_to.clone(),
                step.app_state.clone(),
            )
            .await
        }
        Err(err) if is_expired(&err) => {
            // No code can finish this sign-in any more: say so, rather than "wrong code".
            tracing::info!(
                code = err.code(),
                "a step-up expired at WorkOS; the sign-in must start again"
            );
            return end(
                authkit,
                session,
                "Sign-in expired",
                "This sign-in took too long and its code has expired. Start again to get a new code.",
            )
            .await;
        }
        Err(err) if is_wrong_code(&err) && !last => {
            // The try is counted by its claimed slot; the session is not written.
            return retry(&step, "That code is not right. Check it and try again.");
        }
        Err(err) if err.is_transient() => {
            // WorkOS could not be reached: the step-up is still valid, let the user try again.
            tracing::warn!(error = %err, "a step-up could not reach WorkOS");
            let mut page = retry(
                &step,
                "We could not reach the sign-in service. Wait a moment and try again.",
            );
            *page.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return page;
        }
        Err(err) if is_wrong_code(&err) => {
            tracing::info!("too many wrong step-up codes; the sign-in must start again");
            return too_many_attempts(authkit, session).await;
        }
        Err(err) => {
            let _ = session.remove_value(STEP_UP_KEY).await;
            Err(CallbackError::Exchange(err))
        }
    };
    outcome.unwrap_or_else(|err| callback_error(authkit, err))
}

/// Ends the step-up: the sign-in must start again, as the page (400) says.
async fn end(authkit: &AuthKit, session: &Session, title: &str, message: &str) -> Response {
    let _ = session.remove_value(STEP_UP_KEY).await;
    pages::error(
        StatusCode::BAD_REQUEST,
        title,
        message,
        &authkit.sign_in_path(),
    )
}

fn is_wrong_code(err: &Error) -> bool {
    matches!(
        err.code(),
        Some("invalid_one_time_code" | "email_verification_code_incorrect")
    )
}

/// The code, or the pending authentication it belongs to, has expired at WorkOS (both last
/// about ten minutes): only a new sign-in can get a new one.
fn is_expired(err: &Error) -> bool {
    matches!(
        err.code(),
        Some(
            "one_time_code_expired"
                | "email_verification_code_expired"
                | "invalid_pending_authentication_token"
        )
    )
}

fn verify_email_screen(authkit: &AuthKit, step: &StepUp, error: Option<&str>) -> Response {
    let intro = format!(
        "We sent a verification code to <strong>{}</strong>. Enter it to finish signing in.",
        esc(step.email.as_deref().unwrap_or("your email address"))
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages::page(
        status,
        "Verify your email",
        &code_form(
            &format!("{}/verify-email", authkit.prefix()),
            "Verification code",
            &intro,
            error,
            "",
        ),
    )
}

async fn verify_email_page(State(authkit): State<AuthKit>, session: Session) -> Response {
    match current(&session, StepUpKind::EmailVerification).await {
        Some(step) => verify_email_screen(&authkit, &step, None),
        None => expired(&authkit),
    }
}

/// A step-up form post: refused when cross-site, else `route` as a sign-in route (see
/// [`sign_in_route`]). `route` is a future, so nothing of it runs for a refused post.
async fn step_up_post(
    authkit: &AuthKit,
    session: &Session,
    headers: &HeaderMap,
    route: impl std::future::Future<Output = Response>,
) -> Response {
    if let Err(refused) = authkit.inner.origins.check(headers) {
        return refused.into_response();
    }
    sign_in_route(authkit, session, route).await
}

async fn verify_email(
    State(authkit): State<AuthKit>,
    session: Session,
    headers: HeaderMap,
    RequesterOf(requester): RequesterOf,
    Form(form): Form<CodeForm>,
) -> Response {
    let route = check_email_code(&authkit, &session, form, &requester);
    step_up_post(&authkit, &session, &headers, route).await
}

async fn check_email_code(
    authkit: &AuthKit,
    session: &Session,
    form: CodeForm,
    requester: &Requester,
) -> Response {
    let Some(step) = current(session, StepUpKind::EmailVerification).await else {
        return expired(authkit);
    };
    let attempt = match claim_attempt(authkit, session, &step).await {
        Ok(attempt) => attempt,
        Err(page) => return page,
    };
    let mut params = AuthenticateWithEmailVerification::new(
        form.code.trim().to_owned(),
        step.pending_authentication_token.clone(),
    );
    params.ip_address = requester.ip_address.clone();
    params.user_agent = requester.user_agent.clone();
    let result = authkit
        .client()
        .user_management()
        .authenticate_with_email_verification(params)
        .await;
    let kit = authkit.clone();
    settle(
        authkit,
        session,
        step,
        Some(attempt),
        result,
        move |step, msg| verify_email_screen(&kit, step, Some(msg)),
    )
    .await
}

/// The key of a factor enrolled by this page load, shown this once.
struct NewKey {
    uri: Option<crate::SecretString>,
    qr_code: Option<String>,
}

fn mfa_screen(
    authkit: &AuthKit,
    step: &StepUp,
    error: Option<&str>,
    new_key: Option<&NewKey>,
) -> Response {
    let extra = match new_key {
        Some(key) => {
            let qr = key
                .qr_code
                .as_deref()
                .map(|qr| {
                    format!(
                        "<img alt=\"QR code for your authenticator app\" src=\"{}\">",
                        esc(qr)
                    )
                })
                .unwrap_or_default();
            let uri = key
                .uri
                .as_ref()
                .map(|uri| format!("<p><code>{}</code></p>", esc(uri.expose_secret())))
                .unwrap_or_default();
            format!(
                "<p>Scan this code with your authenticator app, or add the key by hand. \
It is shown only this once: save it now.</p>{qr}{uri}"
            )
        }
        None if step.enrolled => format!(
            "<p>The key for your authenticator app was shown once, when this page first \
opened, and is not shown again. If you did not save it, \
<a href=\"{}\">start signing in again</a>.</p>",
            esc(&authkit.sign_in_path())
        ),
        None => String::new(),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages::page(
        status,
        "Two-factor authentication",
        &code_form(
            &format!("{}/mfa", authkit.prefix()),
            "Authentication code",
            "Enter the 6-digit code from your authenticator app.",
            error,
            &extra,
        ),
    )
}

async fn mfa_page(State(authkit): State<AuthKit>, session: Session) -> Response {
    sign_in_route(&authkit, &session, show_mfa(&authkit, &session)).await
}

/// The MFA page: challenges the factor (enrolling one first if needed) when the page is first
/// shown.
async fn show_mfa(authkit: &AuthKit, session: &Session) -> Response {
    let Some(mut step) = current(session, StepUpKind::Mfa).await else {
        return expired(authkit);
    };
    let mut new_key = None;
    if step.authentication_challenge_id.is_none() {
        let um = authkit.client().user_management();
        let challenge = match (&step.factor_id, &step.user_id) {
            (Some(factor), _) => um.challenge_auth_factor(factor).await.map(|c| (c, None)),
            (None, Some(user)) => um
                .enroll_auth_factor(user, EnrollAuthFactor::totp())
                .await
                .map(|e| (e.authentication_challenge, e.authentication_factor.totp)),
            (None, None) => return expired(authkit),
        };
        match challenge {
            Ok((challenge, totp)) => {
                step.authentication_challenge_id = Some(challenge.id);
                // The new factor's key is shown on this response only: it is never stored, so
                // no later page load (and no one else) can show it again.
                if let Some(totp) = totp {
                    step.enrolled = true;
                    new_key = Some(NewKey {
                        uri: totp.uri,
                        qr_code: totp.qr_code,
                    });
                }
                if let Err(err) = session.insert(STEP_UP_KEY, &step).await {
                    return callback_error(authkit, CallbackError::Session(err.to_string()));
                }
            }
            Err(err) => return callback_error(authkit, CallbackError::Exchange(err)),
        }
    }
    mfa_screen(authkit, &step, None, new_key.as_ref())
}

async fn mfa(
    State(authkit): State<AuthKit>,
    session: Session,
    headers: HeaderMap,
    RequesterOf(requester): RequesterOf,
    Form(form): Form<CodeForm>,
) -> Response {
    let route = check_totp_code(&authkit, &session, form, &requester);
    step_up_post(&authkit, &session, &headers, route).await
}

async fn check_totp_code(
    authkit: &AuthKit,
    session: &Session,
    form: CodeForm,
    requester: &Requester,
) -> Response {
    let Some(step) = current(session, StepUpKind::Mfa).await else {
        return expired(authkit);
    };
    let Some(challenge) = step.authentication_challenge_id.clone() else {
        return Redirect::to(&format!("{}/mfa", authkit.prefix())).into_response();
    };
    let attempt = match claim_attempt(authkit, session, &step).await {
        Ok(attempt) => attempt,
        Err(page) => return page,
    };
    let mut params = AuthenticateWithTotp::new(
        form.code.trim().to_owned(),
        step.pending_authentication_token.clone(),
        challenge,
    );
    params.ip_address = requester.ip_address.clone();
    params.user_agent = requester.user_agent.clone();
    let result = authkit
        .client()
        .user_management()
        .authenticate_with_totp(params)
        .await;
    let kit = authkit.clone();
    settle(
        authkit,
        session,
        step,
        Some(attempt),
        result,
        move |step, msg| mfa_screen(&kit, step, Some(msg), None),
    )
    .await
}

fn organization_screen(authkit: &AuthKit, step: &StepUp, error: Option<&str>) -> Response {
    let choices: String = step
        .organizations
        .iter()
        .enumerate()
        .map(|(i, (id, name))| {
            format!(
                "<label class=\"choice\"><input type=\"radio\" name=\"organization_id\" value=\"{}\"{}> {}</label>",
                esc(id),
                if i == 0 { " checked" } else { "" },
                esc(name)
            )
        })
        .collect();
    let body = format!(
        "{}<p>You belong to several organizations. Which one do you want to use?</p>\
<form method=\"post\" action=\"{}/select-organization\">{choices}<button type=\"submit\">Continue</button></form>",
        error
            .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
            .unwrap_or_default(),
        esc(authkit.prefix()),
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages::page(status, "Choose an organization", &body)
}

async fn organization_page(State(authkit): State<AuthKit>, session: Session) -> Response {
    match current(&session, StepUpKind::OrganizationSelection).await {
        Some(step) => organization_screen(&authkit, &step, None),
        None => expired(&authkit),
    }
}

#[derive(Deserialize)]
struct OrganizationForm {
    organization_id: String,
}

async fn select_organization(
    State(authkit): State<AuthKit>,
    session: Session,
    headers: HeaderMap,
    RequesterOf(requester): RequesterOf,
    Form(form): Form<OrganizationForm>,
) -> Response {
    let route = choose_organization(&authkit, &session, form, &requester);
    step_up_post(&authkit, &session, &headers, route).await
}

async fn choose_organization(
    authkit: &AuthKit,
    session: &Session,
    form: OrganizationForm,
    requester: &Requester,
) -> Response {
    let Some(step) = current(session, StepUpKind::OrganizationSelection).await else {
        return expired(authkit);
    };
    if !step
        .organizations
        .iter()
        .any(|(id, _)| *id == form.organization_id)
    {
        return organization_screen(
            authkit,
            &step,
            Some("Choose one of the organizations listed."),
        );
    }
    let mut params = AuthenticateWithSelectedOrganization::new(
        step.pending_authentication_token.clone(),
        form.organization_id,
    );
    params.ip_address = requester.ip_address.clone();
    params.user_agent = requester.user_agent.clone();
    let result = authkit
        .client()
        .user_management()
        .authenticate_with_selected_organization(params)
        .await;
    let kit = authkit.clone();
    settle(authkit, session, step, None, result, move |step, msg| {
        organization_screen(&kit, step, Some(msg))
    })
    .await
}
