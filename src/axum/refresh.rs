//! Refreshing access tokens: single-flight per refresh token, so many concurrent requests on
//! one expiring session make exactly one refresh call and share its result.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use sha2::{Digest, Sha256};

use tower_sessions::Session;

use super::config::AuthKit;
use super::session::{self, AuthSession};
use crate::user_management::AuthenticateWithRefreshToken;

/// How long a successful refresh is remembered, so requests that read the session before it
/// was updated reuse the result instead of spending the (single-use) old token again. Failed
/// refreshes are forgotten as soon as they finish, so the next request tries again.
const REMEMBER: Duration = Duration::from_secs(60);

/// The result of a refresh.
#[derive(Clone, Debug)]
pub(crate) enum Refreshed {
    /// New tokens, verified.
    Ok(Box<AuthSession>),
    /// WorkOS refused the refresh token (used, revoked, session ended): signed out.
    Invalid(String),
    /// WorkOS could not be reached or failed (429, 5xx, network): try again later.
    Transient,
}

type Flight = Shared<BoxFuture<'static, Refreshed>>;

/// A refresh in flight or recently finished: when it started, its number, its shared result.
struct Entry {
    started: Instant,
    id: u64,
    flight: Flight,
}

/// The refreshes in flight (and recently succeeded), keyed by the SHA-256 of the refresh token.
#[derive(Default)]
pub(crate) struct Refresher {
    flights: Mutex<HashMap<[u8; 32], Entry>>,
    calls: AtomicU64,
    next_id: AtomicU64,
}

impl Refresher {
    /// How many refresh calls were made to WorkOS.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// Refreshes `current`, keeping its organization; joins a refresh of the same token already
/// in flight.
///
/// The refresh runs as its own task and stores the new tokens in `session` (the session of the
/// request that started it) as soon as WorkOS answers: the old refresh token is spent by then,
/// so the new one must not be lost if that request is abandoned (the browser navigated away).
pub(crate) async fn refresh(
    authkit: &AuthKit,
    current: &AuthSession,
    session: &Session,
) -> Refreshed {
    let digest: [u8; 32] = Sha256::digest(current.refresh_token.expose_secret().as_bytes()).into();
    let refresher = &authkit.inner.refresher;
    let (id, flight) = {
        let mut flights = refresher.flights.lock().unwrap_or_else(|p| p.into_inner());
        flights.retain(|_, e| e.started.elapsed() < REMEMBER);
        match flights.get(&digest) {
            Some(e) => (e.id, e.flight.clone()),
            None => {
                let id = refresher.next_id.fetch_add(1, Ordering::Relaxed);
                let task = tokio::spawn(run(authkit.clone(), current.clone(), session.clone()));
                let flight = async move {
                    task.await.unwrap_or_else(|err| {
                        tracing::error!(error = %err, "the refresh task failed");
                        Refreshed::Transient
                    })
                }
                .boxed()
                .shared();
                flights.insert(
                    digest,
                    Entry {
                        started: Instant::now(),
                        id,
                        flight: flight.clone(),
                    },
                );
                (id, flight)
            }
        }
    };
    let result = flight.await;
    if !matches!(result, Refreshed::Ok(_)) {
        // Only new tokens are worth sharing with later requests: after a failure (WorkOS down,
        // token refused) the next request must ask again, not reuse the failure for a minute.
        let mut flights = refresher.flights.lock().unwrap_or_else(|p| p.into_inner());
        if flights.get(&digest).is_some_and(|e| e.id == id) {
            flights.remove(&digest);
        }
    }
    result
}

/// Pauses before each re-read of the store after a refused refresh: the winner of a refresh
/// race saves its tokens right after WorkOS answers it, so a short wait is enough. A session
/// that really ended pays these (about half a second) once, on the request that signs it out.
const RACE_WAITS: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(50),
    Duration::from_millis(150),
    Duration::from_millis(300),
];

/// After WorkOS refused `current`'s refresh token: the session another request, tab or machine
/// stored after spending that token first (refresh tokens are single use), if one appears in
/// the store within about half a second. `None` means the session really ended.
pub(crate) async fn won_elsewhere(session: &Session, current: &AuthSession) -> Option<AuthSession> {
    for wait in RACE_WAITS {
        tokio::time::sleep(wait).await;
        if session.load().await.is_err() {
            continue;
        }
        if let Some(stored) = session::load(session).await
            && !stored.refresh_token.ct_eq(&current.refresh_token)
        {
            return Some(stored);
        }
    }
    None
}

/// Why an exchange of the refresh token failed.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// WorkOS answered with an error (invalid_grant, organization_membership_not_found, ...).
    Api(crate::Error),
    /// The new access token did not verify.
    Token(super::verifier::TokenError),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Api(e) => e.fmt(f),
            ExchangeError::Token(e) => e.fmt(f),
        }
    }
}

/// Exchanges the refresh token of `current` for new, verified tokens; scoped to
/// `organization_id` when given (the organization switcher), else to the current organization.
pub(crate) async fn exchange(
    authkit: &AuthKit,
    current: &AuthSession,
    organization_id: Option<String>,
) -> Result<AuthSession, ExchangeError> {
    authkit
        .inner
        .refresher
        .calls
        .fetch_add(1, Ordering::Relaxed);
    let organization = organization_id.or_else(|| current.organization_id.clone());
    let mut params = AuthenticateWithRefreshToken::new(current.refresh_token.clone());
    if let Some(org) = organization {
        params = params.organization_id(org);
    }
    let auth = authkit
        .inner
        .client
        .user_management()
        .authenticate_with_refresh_token(params)
        .await
        .map_err(ExchangeError::Api)?;
    let claims = authkit
        .inner
        .verifier
        .verify(auth.access_token.expose_secret())
        .await
        .map_err(ExchangeError::Token)?;
    tracing::debug!(user = %auth.user.id, "refreshed the access token");
    let mut next = AuthSession::new(auth, claims);
    if next.impersonator.is_none() {
        next.impersonator = current.impersonator.clone();
    }
    if next.authentication_method.is_none() {
        next.authentication_method = current.authentication_method.clone();
    }
    Ok(next)
}

async fn run(authkit: AuthKit, current: AuthSession, session: Session) -> Refreshed {
    match exchange(&authkit, &current, None).await {
        Ok(next) => {
            let stored = match session::store(&session, &next).await {
                Ok(()) => session.save().await,
                Err(err) => Err(err),
            };
            if let Err(err) = stored {
                tracing::warn!(error = %err, "could not store the refreshed session");
            }
            Refreshed::Ok(Box::new(next))
        }
        Err(ExchangeError::Token(err)) => {
            tracing::warn!(error = %err, "the refreshed access token did not verify");
            Refreshed::Transient
        }
        Err(ExchangeError::Api(err)) if err.is_transient() => {
            tracing::warn!(error = %err, "refreshing the session failed; keeping it for now");
            Refreshed::Transient
        }
        Err(ExchangeError::Api(err)) => {
            tracing::info!(
                code = err.code(),
                "the refresh token was refused; signing the session out"
            );
            Refreshed::Invalid(err.to_string())
        }
    }
}
