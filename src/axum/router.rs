//! The sign-in routes: login, signup, callback, logout and the organization switch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use super::config::AuthKit;
use super::flow::{CallbackError, callback_error, finish_sign_in, sign_in_route, store_failed};
use super::layer::now;
use super::pages;
use super::requester::RequesterOf;
use super::return_to;
use super::session::{self, PENDING_KEY, PendingSignIn};
use super::stepup;
use crate::SecretString;
use crate::session::refresh::{self, ExchangeError};
use crate::session::requester::Requester;
use crate::user_management::{
    AuthenticateWithCode, AuthorizationUrl, Pkce, Provider, ScreenHint, SignInWith, random_state,
};

impl AuthKit {
    /// The sign-in routes, under the [prefix](super::AuthKitBuilder::prefix) (default `/auth`):
    ///
    /// | Route | What it does |
    /// |---|---|
    /// | `GET /auth/login` | Starts a sign-in (`return_to`, `organization_id`, `login_hint`); the sign-in endpoint to register in the dashboard |
    /// | `GET /auth/signup` | The same, opening the sign-up screen |
    /// | `GET /auth/callback` | WorkOS's redirect back: checks `state`, exchanges the code (PKCE), stores the session |
    /// | `POST /auth/logout` | Signs out and redirects to WorkOS's logout URL |
    /// | `POST /auth/switch-organization` | Scopes the session to another organization (`organization_id`) |
    /// | `/auth/verify-email`, `/auth/mfa`, `/auth/select-organization` | Step-up pages that finish a sign-in |
    ///
    /// Merge it into your app (it needs the session layer, like [`AuthLayer`](super::AuthLayer)).
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let p = &self.inner.prefix;
        Router::new()
            .route(&format!("{p}/login"), get(login))
            .route(&format!("{p}/signup"), get(signup))
            .route(&format!("{p}/callback"), get(callback))
            .route(&format!("{p}/logout"), post(logout))
            .route(
                &format!("{p}/switch-organization"),
                post(switch_organization),
            )
            .merge(stepup::routes(p))
            .with_state(self.clone())
    }
}

/// The query parameters of a request, the first occurrence of each name winning. Unlike a
/// `Query<T>` extractor this never fails (a repeated `state` or `return_to` would otherwise be
/// axum's plain-text 400, bypassing the error page and the app's hook).
fn query_params(raw: Option<&str>, names: &[&str]) -> Vec<Option<String>> {
    let mut found = vec![None; names.len()];
    for (name, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if let Some(i) = names.iter().position(|n| *n == name)
            && found[i].is_none()
        {
            found[i] = Some(value.into_owned());
        }
    }
    found
}

#[derive(Default)]
pub(crate) struct LoginQuery {
    return_to: Option<String>,
    organization_id: Option<String>,
    login_hint: Option<String>,
    provider: Option<String>,
    connection_id: Option<String>,
    domain_hint: Option<String>,
    prompt: Option<String>,
    app_state: Option<String>,
}

impl LoginQuery {
    /// The options of a sign-in link ([`SignInUrl`](super::SignInUrl)); empty and overlong
    /// values are dropped.
    fn parse(raw: Option<&str>) -> Self {
        let names = [
            "return_to",
            "organization_id",
            "login_hint",
            "provider",
            "connection_id",
            "domain_hint",
            "prompt",
            "app_state",
        ];
        let mut p = query_params(raw, &names)
            .into_iter()
            .map(|v| v.filter(|v| !v.trim().is_empty() && v.len() <= 2048));
        let mut next = || p.next().flatten();
        LoginQuery {
            return_to: next(),
            organization_id: next(),
            login_hint: next(),
            provider: next(),
            connection_id: next(),
            domain_hint: next(),
            prompt: next(),
            app_state: next(),
        }
    }

    /// How this sign-in signs in: a connection, an organization or a provider from the link,
    /// else the configured way.
    fn sign_in_with(&self, configured: &SignInWith) -> SignInWith {
        if let Some(connection) = &self.connection_id {
            SignInWith::ConnectionId(connection.clone())
        } else if let Some(org) = &self.organization_id {
            SignInWith::OrganizationId(org.clone())
        } else if let Some(provider) = &self.provider {
            SignInWith::Provider(Provider::from(provider.as_str()))
        } else {
            configured.clone()
        }
    }
}

async fn login(
    State(authkit): State<AuthKit>,
    session: Session,
    RawQuery(q): RawQuery,
) -> Response {
    let q = LoginQuery::parse(q.as_deref());
    sign_in_route(&authkit, &session, start(&authkit, &session, q, None)).await
}

async fn signup(
    State(authkit): State<AuthKit>,
    session: Session,
    RawQuery(q): RawQuery,
) -> Response {
    let q = LoginQuery::parse(q.as_deref());
    let route = start(&authkit, &session, q, Some(ScreenHint::SignUp));
    sign_in_route(&authkit, &session, route).await
}

/// Stores a pending sign-in (state, PKCE verifier, return_to) and redirects to WorkOS.
async fn start(
    authkit: &AuthKit,
    session: &Session,
    q: LoginQuery,
    screen_hint: Option<ScreenHint>,
) -> Response {
    let inner = &authkit.inner;
    let pkce = Pkce::new();
    let state = random_state();
    let mut params = AuthorizationUrl::new(inner.redirect_uri.as_str())
        .sign_in_with(q.sign_in_with(&inner.sign_in_with))
        .state(state.clone())
        .pkce(&pkce);
    params.login_hint = q.login_hint;
    params.domain_hint = q.domain_hint;
    params.prompt = q.prompt;
    // A sign-up link that names a provider or a connection signs in with it: there is no
    // AuthKit sign-up form to open.
    if let Some(hint) = screen_hint.filter(|_| params.sign_in_with.allows_screen_hint()) {
        params = params.screen_hint(hint);
    }
    let url = match inner
        .core
        .client
        .user_management()
        .get_authorization_url(&params)
    {
        Ok(url) => url,
        Err(err) => {
            tracing::error!(error = %err, "could not build the authorization URL");
            return pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is misconfigured",
                &err.to_string(),
                &authkit.sign_in_path(),
            );
        }
    };
    let guard = lock_pending(session).await;
    let mut pending: Vec<PendingSignIn> = session
        .get(PENDING_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let oldest_allowed = now() - inner.pending_ttl.as_secs() as i64;
    pending.retain(|p| p.created_at >= oldest_allowed);
    // A bounded number of sign-ins in progress per session (several tabs); drop the oldest.
    while pending.len() >= inner.max_pending {
        pending.remove(0);
    }
    pending.push(PendingSignIn {
        state: SecretString::new(state),
        code_verifier: pkce.verifier().clone(),
        return_to: return_to::sanitize(q.return_to.as_deref()),
        app_state: q.app_state,
        created_at: now(),
    });
    if let Err(err) = save_pending(session, &pending, guard).await {
        return store_failed(authkit, &err.to_string());
    }
    Redirect::to(url.as_str()).into_response()
}

/// The pending sign-ins are read, changed and written back by the login and callback routes.
/// Two tabs doing that at once (a browser restoring several tabs) would each write back their
/// own copy and lose the other's sign-in. So, within this process, one at a time per
/// session: wait for the session's lock, re-read the store, change, save at once.
async fn lock_pending(session: &Session) -> Option<tokio::sync::OwnedMutexGuard<()>> {
    type Locks = HashMap<i128, Weak<tokio::sync::Mutex<()>>>;
    static LOCKS: OnceLock<Mutex<Locks>> = OnceLock::new();
    // A new session (no id yet) cannot be shared with another request.
    let id = session.id()?.0;
    let lock = {
        let mut locks = LOCKS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, lock| lock.strong_count() > 0);
        match locks.get(&id).and_then(Weak::upgrade) {
            Some(lock) => lock,
            None => {
                let lock = Arc::new(tokio::sync::Mutex::new(()));
                locks.insert(id, Arc::downgrade(&lock));
                lock
            }
        }
    };
    let guard = lock.lock_owned().await;
    // Re-read what a concurrent request saved, unless this request already changed the
    // session (e.g. the AuthLayer stored refreshed tokens, which must not be dropped).
    if !session.is_modified()
        && let Err(err) = session.load().await
    {
        tracing::warn!(error = %err, "could not re-read the session");
    }
    Some(guard)
}

/// Stores the pending sign-ins; under the lock of [`lock_pending`], saves them at once.
async fn save_pending(
    session: &Session,
    pending: &[PendingSignIn],
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
) -> Result<(), tower_sessions::session::Error> {
    if pending.is_empty() {
        session.remove_value(PENDING_KEY).await?;
    } else {
        session.insert(PENDING_KEY, pending).await?;
    }
    if guard.is_some() {
        session.save().await?;
    }
    drop(guard);
    Ok(())
}

struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl CallbackQuery {
    fn parse(raw: Option<&str>) -> Self {
        let mut p = query_params(raw, &["code", "state", "error", "error_description"]).into_iter();
        CallbackQuery {
            code: p.next().flatten(),
            state: p.next().flatten(),
            error: p.next().flatten(),
            error_description: p.next().flatten(),
        }
    }
}

async fn callback(
    State(authkit): State<AuthKit>,
    session: Session,
    RequesterOf(requester): RequesterOf,
    RawQuery(q): RawQuery,
) -> Response {
    let q = CallbackQuery::parse(q.as_deref());
    let route = async {
        match handle_callback(&authkit, &session, &requester, q).await {
            Ok(response) => response,
            Err(err) => callback_error(&authkit, err),
        }
    };
    sign_in_route(&authkit, &session, route).await
}

async fn handle_callback(
    authkit: &AuthKit,
    session: &Session,
    requester: &Requester,
    q: CallbackQuery,
) -> Result<Response, CallbackError> {
    let state = q.state.filter(|s| !s.is_empty());
    let guard = lock_pending(session).await;
    let mut pending: Vec<PendingSignIn> = session
        .get(PENDING_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    if pending.is_empty() && session.id().is_none() {
        tracing::warn!(
            "the sign-in callback arrived without the session cookie; if the session layer is \
             SameSite=Strict the cookie is dropped on the redirect from WorkOS: use Lax \
             (authkit.session_layer does)"
        );
    }
    let oldest_allowed = now() - authkit.inner.pending_ttl.as_secs() as i64;
    pending.retain(|p| p.created_at >= oldest_allowed);
    // Find (and consume) the pending sign-in, comparing states in constant time.
    let matched = state.as_ref().and_then(|state| {
        let given = SecretString::new(state.clone());
        pending.iter().position(|p| p.state.ct_eq(&given))
    });
    let sign_in = matched.map(|i| pending.remove(i));
    if sign_in.is_some() {
        save_pending(session, &pending, guard)
            .await
            .map_err(|e| CallbackError::Session(e.to_string()))?;
    } else {
        drop(guard);
    }
    if let Some(error) = q.error {
        // Anyone can link to the callback: only echo WorkOS's description on the page when
        // the response answers a sign-in started in this browser.
        let description = match sign_in {
            Some(_) => q.error_description,
            None => {
                tracing::info!(
                    description = q.error_description.as_deref(),
                    "a sign-in error arrived without a matching state; not showing its description"
                );
                None
            }
        };
        // Error codes are short identifiers (`access_denied`); anything else is not shown.
        let error = if error.len() <= 64
            && !error.is_empty()
            && error
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            error
        } else {
            "an unrecognized error".to_owned()
        };
        return Err(CallbackError::WorkOs { error, description });
    }
    if state.is_none() {
        // The WorkOS dashboard starts an impersonation by sending the browser here with a
        // code and no state (no sign-in was started in this browser).
        return match q.code.filter(|c| !c.is_empty()) {
            Some(code) => impersonation(authkit, session, requester, code).await,
            None => Err(CallbackError::MissingState),
        };
    }
    let sign_in = sign_in.ok_or(CallbackError::UnknownState)?;
    let code = q
        .code
        .filter(|c| !c.is_empty())
        .ok_or(CallbackError::MissingCode)?;
    let mut params = AuthenticateWithCode::new(code).code_verifier(sign_in.code_verifier.clone());
    params.ip_address = requester.ip_address.clone();
    params.user_agent = requester.user_agent.clone();
    match authkit
        .inner
        .core
        .client
        .user_management()
        .authenticate_with_code(params)
        .await
    {
        Ok(auth) => {
            finish_sign_in(authkit, session, auth, sign_in.return_to, sign_in.app_state).await
        }
        Err(err) if err.is_step_up() => {
            stepup::begin(authkit, session, err, sign_in.return_to, sign_in.app_state).await
        }
        Err(err) => Err(CallbackError::Exchange(err)),
    }
}

/// A callback without `state`: accepted only as the start of an impersonation, that is when
/// the code exchange answers with an impersonator (a code of an ordinary sign-in carries a PKCE
/// challenge this browser cannot answer, and is refused by WorkOS or here).
async fn impersonation(
    authkit: &AuthKit,
    session: &Session,
    requester: &Requester,
    code: String,
) -> Result<Response, CallbackError> {
    let mut params = AuthenticateWithCode::new(code);
    params.ip_address = requester.ip_address.clone();
    params.user_agent = requester.user_agent.clone();
    match authkit
        .inner
        .core
        .client
        .user_management()
        .authenticate_with_code(params)
        .await
    {
        Ok(auth) if auth.impersonator.is_some() => {
            tracing::info!(
                user = %auth.user.id,
                impersonator = auth.impersonator.as_ref().map(|i| i.email.as_str()),
                "an impersonation started from the WorkOS dashboard"
            );
            finish_sign_in(authkit, session, auth, None, None).await
        }
        Ok(auth) => {
            tracing::warn!(user = %auth.user.id, "a sign-in code arrived without a state and is not an impersonation; refused");
            Err(CallbackError::MissingState)
        }
        Err(err) if err.is_transient() => Err(CallbackError::Exchange(err)),
        Err(_) => Err(CallbackError::MissingState),
    }
}

async fn logout(State(authkit): State<AuthKit>, session: Session, headers: HeaderMap) -> Response {
    if let Err(refused) = authkit.inner.origins.check(&headers) {
        return refused.into_response();
    }
    super::flow::sign_out(&authkit, &session).await
}

#[derive(Deserialize)]
struct SwitchForm {
    organization_id: String,
    return_to: Option<String>,
}

async fn switch_organization(
    State(authkit): State<AuthKit>,
    session: Session,
    headers: HeaderMap,
    RequesterOf(requester): RequesterOf,
    Form(form): Form<SwitchForm>,
) -> Response {
    if let Err(refused) = authkit.inner.origins.check(&headers) {
        return refused.into_response();
    }
    let back = return_to::sanitize(form.return_to.as_deref())
        .unwrap_or_else(|| authkit.inner.after_sign_in.clone());
    let current = match session::load(&session).await {
        Ok(Some(current)) => current,
        Ok(None) => return Redirect::to(&authkit.sign_in_path()).into_response(),
        Err(err) => return store_failed(&authkit, &err.to_string()),
    };
    // The switch spends the session's refresh token, which is single use (this request's own
    // pass through AuthLayer already joined any refresh of it in this process).
    // Another request or machine refreshing first is recovered from: the switch then uses the
    // tokens it stored.
    let switched = refresh::exchange_recovering(
        &authkit.inner.core,
        &session,
        &current,
        Some(form.organization_id.clone()),
        &requester,
    )
    .await;
    match switched {
        // Stored whether or not the new access token verified: the old refresh token is
        // spent. Unverified tokens are verified (and the switch shows) on a later request.
        Ok(next) => match refresh::save_now(&session, next.session()).await {
            Ok(()) => {
                if let refresh::Exchanged::Unverified { why, .. } = &next {
                    tracing::warn!(user = %next.session().user.id, error = %why, "switched organization, but the new access token cannot be verified yet; it is kept and verified on a later request");
                } else {
                    tracing::info!(user = %next.session().user.id, organization = %form.organization_id, "switched organization");
                }
                Redirect::to(&back).into_response()
            }
            Err(err) => store_failed(&authkit, &err.to_string()),
        },
        // The organization requires its own sign-in (SSO, MFA): through AuthKit for it, and
        // back.
        Err(ExchangeError::Api(err)) if super::control::needs_organization_sign_in(&err) => {
            let link = super::control::organization_sign_in(
                &authkit,
                &form.organization_id,
                &back,
                &current,
            );
            Redirect::to(&link.to_string()).into_response()
        }
        Err(ExchangeError::Api(err)) if err.is_invalid_grant() => {
            let _ = session::clear(&session).await;
            authkit
                .inner
                .core
                .stats
                .sign_out(crate::session::stats::SignOut::Refused);
            Redirect::to(&authkit.sign_in_path()).into_response()
        }
        Err(err) => pages::error(
            StatusCode::BAD_REQUEST,
            "Could not switch organization",
            &err.to_string(),
            &back,
        ),
    }
}
