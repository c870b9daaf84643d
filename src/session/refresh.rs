//! Refreshing access tokens: single-flight per refresh token, in the background, with back-off.
//!
//! - **Single-flight.** Concurrent requests on one session share one refresh (keyed by the
//!   SHA-256 of the refresh token being spent). The refresh runs as its own task, so a request
//!   that is abandoned (the browser navigated away) does not abandon it.
//! - **Never lose a spent token.** WorkOS refresh tokens are single use: the task stores what
//!   WorkOS answered the moment it answers. When the new access token cannot be verified yet
//!   (JWKS unreachable, key not published yet) the tokens are stored as *unverified*: the new
//!   refresh token replaces the spent one at once, and the access token is verified (not
//!   trusted before) on a later request.
//! - **Back-off.** A refresh that failed for a transient reason (429, 5xx, network) is not
//!   retried by every request: the session backs off (exponentially, honouring `Retry-After`)
//!   and is served from its current tokens meanwhile (see [`AuthLayer`](crate::web::AuthLayer)).
//! - **Races across instances.** Instances sharing a store may both spend one refresh token;
//!   the loser gets `invalid_grant`, re-reads the store for about half a second and takes the
//!   winner's tokens; only then is the session signed out.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use tower_sessions::Session;

use super::core::Core;
use super::flight::{Entry, Flight};
pub(crate) use super::flight::{Refreshed, Refresher};
use super::stored::{self as session, AuthSession};
use crate::session::requester::Requester;
use crate::session::stats::{RefreshOutcome, SignOut};
use crate::session::verifier::TokenError;
use crate::user_management::AuthenticateWithRefreshToken;

/// How long a successful refresh is remembered, so requests that read the session before it
/// was updated reuse the result instead of spending the (single-use) old token again.
const REMEMBER: Duration = Duration::from_secs(60);
/// The first pause after a failed refresh; it doubles with each failure in a row.
const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// The longest pause between two refreshes of a failing session.
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// After tokens could not be verified, how long before trying again (the JWKS fetch itself is
/// rate-limited too).
const VERIFY_RETRY: Duration = Duration::from_secs(5);
/// How many sessions' refresh states are kept before finished ones are forgotten.
const CAPACITY: usize = 100_000;

fn digest(current: &AuthSession) -> [u8; 32] {
    crate::digest::sha256(&[current.refresh_token.expose_secret().as_bytes()])
}

/// The refresh of `current` (started now, joined if one is in flight or just finished), or
/// `None` while the session backs off after a failure. It runs as its own task and stores what
/// it gets in `session` (the session of the request that started it) at once; await the
/// returned flight (which started at the returned instant) for as long as the caller can afford.
/// `requester` is sent to WorkOS with the refresh.
pub(crate) fn begin(
    core: &Arc<Core>,
    current: &AuthSession,
    session: &Session,
    requester: Requester,
) -> Option<(Flight, Instant)> {
    let key = digest(current);
    let refresher = &core.refresher;
    let now = core.clock.now();
    let mut entries = refresher.lock();
    if entries.len() >= CAPACITY {
        entries.retain(|_, e| e.started.elapsed() < REMEMBER || e.flight.peek().is_none());
    }
    let failures = match entries.get(&key) {
        Some(entry) => match entry.flight.peek() {
            // In flight, or succeeded recently: join it.
            None => return Some((entry.flight.clone(), entry.started)),
            Some(Refreshed::Ok(..)) if entry.started.elapsed() < REMEMBER => {
                return Some((entry.flight.clone(), entry.started));
            }
            Some(Refreshed::Transient { retry_at }) if now < *retry_at => {
                core.stats.refresh_deferred();
                return None;
            }
            Some(Refreshed::Transient { .. }) => entry.failures,
            // Refused, or an old success: start afresh.
            Some(_) => 0,
        },
        None => 0,
    };
    let id = refresher.next_id.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let task = tokio::spawn(run(
        core.clone(),
        current.clone(),
        session.clone(),
        failures,
        requester,
    ));
    let clock = core.clock.clone();
    let flight = async move {
        task.await.unwrap_or_else(|err| {
            tracing::error!(error = %err, "the refresh task failed");
            Refreshed::Transient {
                retry_at: clock.now() + BACKOFF_BASE,
            }
        })
    }
    .boxed()
    .shared();
    entries.insert(
        key,
        Entry {
            started,
            id,
            flight: flight.clone(),
            failures: failures + 1,
        },
    );
    drop(entries);
    // A success resets the back-off; a refused token needs no entry once its requests saw it.
    let cleanup = flight.clone();
    let core = core.clone();
    tokio::spawn(async move {
        if let Refreshed::Ok(..) = cleanup.await
            && let Some(entry) = core.refresher.lock().get_mut(&key)
            && entry.id == id
        {
            entry.failures = 0;
        }
    });
    Some((flight, started))
}

/// How long a session backs off after its `failures`-th failure in a row (1-based), or longer
/// when WorkOS said so.
fn backoff(failures: u32, retry_after: Option<Duration>) -> Duration {
    let exponential = BACKOFF_BASE
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    exponential.max(retry_after.unwrap_or(Duration::ZERO))
}

/// Pauses before each re-read of the store after a refused refresh: the winner of a refresh
/// race saves its tokens right after WorkOS answers it, so a short wait is enough. A session
/// that really ended pays these (about half a second) once, in the background.
const RACE_WAITS: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(50),
    Duration::from_millis(150),
    Duration::from_millis(300),
];

/// What the store says after WorkOS refused a session's refresh token.
pub(crate) enum Race {
    /// Another request, tab or machine spent the token first and stored this session.
    Lost(Box<AuthSession>),
    /// The store holds the refused token still: the session really ended.
    Ended,
    /// The store could not be read: nobody can tell yet.
    Unknown,
}

/// After WorkOS refused `current`'s refresh token: the session another request, tab or machine
/// stored after spending that token first (refresh tokens are single use), if one appears in
/// the store within about half a second.
pub(crate) async fn race(session: &Session, current: &AuthSession) -> Race {
    let mut read = false;
    for wait in RACE_WAITS {
        tokio::time::sleep(wait).await;
        if session.load().await.is_err() {
            continue;
        }
        match session::load(session).await {
            Ok(Some(stored)) if !stored.refresh_token.ct_eq(&current.refresh_token) => {
                return Race::Lost(Box::new(stored));
            }
            Ok(_) => read = true,
            Err(_) => {}
        }
    }
    if read { Race::Ended } else { Race::Unknown }
}

/// [`race`], as the winner's session if there is one.
pub(crate) async fn won_elsewhere(session: &Session, current: &AuthSession) -> Option<AuthSession> {
    match race(session, current).await {
        Race::Lost(stored) => Some(*stored),
        Race::Ended | Race::Unknown => None,
    }
}

/// Saves refreshed tokens the store did not take (it failed just then): they are the only
/// valid ones (the old refresh token is spent), so keep trying, with back-off, for a while.
/// Meanwhile this instance serves them from the finished refresh it remembers.
fn save_later(core: &Arc<Core>, session: Session, next: AuthSession) {
    let stats = core.stats.clone();
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(100);
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            tokio::time::sleep(pause).await;
            match save_now(&session, &next).await {
                Ok(()) => {
                    tracing::info!(user = %next.user.id, session = %crate::session::id_hash(session.id()), "stored the refreshed session after the store recovered");
                    return;
                }
                Err(_) => {
                    stats.store_error();
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::error!(user = %next.user.id, session = %crate::session::id_hash(session.id()), "gave up storing a refreshed session: the store was down for two minutes");
    });
}

/// Why an exchange of the refresh token failed.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// WorkOS answered with an error (invalid_grant, organization_membership_not_found, ...).
    Api(crate::Error),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Api(e) => e.fmt(f),
        }
    }
}

/// What an exchange of the refresh token got.
pub(crate) enum Exchanged {
    /// New tokens, verified.
    Verified(AuthSession),
    /// New tokens whose access token could not be verified (`why`): `session` keeps them as
    /// unverified beside the current verified ones. They must be stored all the same: the old
    /// refresh token is spent.
    Unverified {
        session: AuthSession,
        why: TokenError,
    },
}

impl Exchanged {
    /// The session to store.
    pub(crate) fn session(&self) -> &AuthSession {
        match self {
            Exchanged::Verified(session) | Exchanged::Unverified { session, .. } => session,
        }
    }

    /// The session to store, owned (for unverified tokens: the verified ones still serve).
    pub(crate) fn into_session(self) -> AuthSession {
        match self {
            Exchanged::Verified(session) | Exchanged::Unverified { session, .. } => session,
        }
    }
}

/// [`exchange`] for a request's own refresh (a "refresh now", an organization switch): when
/// WorkOS refuses the refresh token because another request or machine has just spent it,
/// exchanges the tokens that one stored instead.
pub(crate) async fn exchange_recovering(
    core: &Arc<Core>,
    session: &Session,
    current: &AuthSession,
    organization_id: Option<String>,
    requester: &Requester,
) -> Result<Exchanged, ExchangeError> {
    let exchanged = exchange(core, current, organization_id.clone(), requester).await;
    if let Err(ExchangeError::Api(err)) = &exchanged
        && err.is_invalid_grant()
        && let Some(stored) = won_elsewhere(session, current).await
    {
        tracing::debug!("the session was refreshed elsewhere; exchanging its tokens");
        return exchange(core, &stored, organization_id, requester).await;
    }
    exchanged
}

/// Exchanges the refresh token of `current` for new tokens; scoped to `organization_id` when
/// given (the organization switcher), else to the current organization; `requester` is the end
/// user WorkOS records the refresh for.
pub(crate) async fn exchange(
    core: &Arc<Core>,
    current: &AuthSession,
    organization_id: Option<String>,
    requester: &Requester,
) -> Result<Exchanged, ExchangeError> {
    core.refresher.calls.fetch_add(1, Ordering::Relaxed);
    let organization = organization_id.or_else(|| current.organization_id.clone());
    let mut params = AuthenticateWithRefreshToken::new(current.refresh_token.clone());
    params.ip_address = requester.ip_address.clone();
    params.user_agent = requester.user_agent.clone();
    if let Some(org) = organization {
        params = params.organization_id(org);
    }
    let auth = core
        .client
        .user_management()
        .authenticate_with_refresh_token(params)
        .await
        .map_err(ExchangeError::Api)?;
    match core
        .verifier
        .verify(auth.access_token.expose_secret())
        .await
    {
        Ok(claims) => {
            tracing::debug!(user = %auth.user.id, "refreshed the access token");
            let mut next = AuthSession::new(auth, claims);
            next.authenticated_at = current.authenticated_at;
            if next.authentication_method.is_none() {
                next.authentication_method = current.authentication_method.clone();
            }
            Ok(Exchanged::Verified(next))
        }
        Err(why) => {
            // The old refresh token is spent: keep everything WorkOS gave, verify it later.
            core.stats.unverified_kept();
            Ok(Exchanged::Unverified {
                session: current.with_unverified(auth),
                why,
            })
        }
    }
}

/// Stores `next` in `session` and saves the record at once, re-reading it first when this
/// request has not changed it (so keys another request saved meanwhile are kept).
pub(crate) async fn save_now(
    session: &Session,
    next: &AuthSession,
) -> Result<(), tower_sessions::session::Error> {
    if !session.is_modified() {
        session.load().await?;
    }
    session::store(session, next).await?;
    session.save().await
}

/// The refresh task: brings `current` up to date and stores the result.
async fn run(
    core: Arc<Core>,
    current: AuthSession,
    session: Session,
    failures: u32,
    requester: Requester,
) -> Refreshed {
    let inner = &*core;
    let user = current.user.id.clone();
    let session_hash = crate::session::id_hash(session.id());
    // Tokens kept unverified at an earlier refresh: verify them first; if they expired in the
    // meantime, their refresh token (unspent) gets new ones.
    if let Some(kept) = &current.unverified {
        match inner
            .verifier
            .verify(kept.access_token.expose_secret())
            .await
        {
            Ok(claims) => {
                if let Some(next) = current.verified(claims) {
                    let saved = match save_now(&session, &next).await {
                        Ok(()) => true,
                        Err(err) => {
                            inner.stats.store_error();
                            tracing::warn!(%user, session = %session_hash, error = %err, "could not store the verified session; retrying in the background");
                            save_later(&core, session.clone(), next.clone());
                            false
                        }
                    };
                    inner.stats.refresh(RefreshOutcome::Ok);
                    tracing::info!(%user, session = %session_hash, "verified the tokens kept during a JWKS outage");
                    return Refreshed::Ok(Box::new(next), saved);
                }
            }
            Err(TokenError::Expired) => {}
            Err(err) => {
                tracing::warn!(%user, session = %session_hash, error = %err, "the kept tokens still cannot be verified; serving the session's verified tokens meanwhile");
                return Refreshed::Transient {
                    retry_at: inner.clock.now() + VERIFY_RETRY,
                };
            }
        }
    }
    match exchange(&core, &current, None, &requester).await {
        Ok(exchanged) => {
            let saved = match save_now(&session, exchanged.session()).await {
                Ok(()) => true,
                Err(err) => {
                    // The old refresh token is spent: these are the session's only tokens.
                    inner.stats.store_error();
                    tracing::warn!(%user, session = %session_hash, error = %err, "could not store the refreshed session; retrying in the background");
                    save_later(&core, session.clone(), exchanged.session().clone());
                    false
                }
            };
            match exchanged {
                Exchanged::Verified(next) => {
                    inner.stats.refresh(RefreshOutcome::Ok);
                    Refreshed::Ok(Box::new(next), saved)
                }
                Exchanged::Unverified { why, .. } => {
                    inner.stats.refresh(RefreshOutcome::Transient);
                    tracing::warn!(%user, session = %session_hash, error = %why, "the refreshed access token cannot be verified yet; kept it (its refresh token is stored) and serving the verified one meanwhile");
                    Refreshed::Transient {
                        retry_at: inner.clock.now() + VERIFY_RETRY,
                    }
                }
            }
        }
        Err(ExchangeError::Api(err)) if err.is_transient() => {
            inner.stats.refresh(RefreshOutcome::Transient);
            let pause = backoff(failures + 1, err.retry_after());
            tracing::warn!(%user, session = %session_hash, error = %err, retry_in_secs = pause.as_secs(), "refreshing the session failed; keeping it and backing off");
            Refreshed::Transient {
                retry_at: inner.clock.now() + pause,
            }
        }
        Err(ExchangeError::Api(err)) => {
            // Another request, tab or machine may have refreshed first (refresh tokens are
            // single use): its tokens, once saved, are this session's now.
            match race(&session, &current).await {
                Race::Lost(stored) => {
                    inner.stats.refresh(RefreshOutcome::RaceRecovered);
                    tracing::debug!(%user, session = %session_hash, "lost a refresh race; using the winner's tokens");
                    return Refreshed::Ok(stored, true);
                }
                Race::Unknown => {
                    // The store is down: the winner may not have been able to save yet. Never
                    // sign out on a guess; look again later.
                    inner.stats.refresh(RefreshOutcome::Transient);
                    tracing::warn!(%user, session = %session_hash, "the refresh token was refused and the store cannot be read to look for a racing winner; trying again later");
                    return Refreshed::Transient {
                        retry_at: inner.clock.now() + backoff(failures + 1, None),
                    };
                }
                Race::Ended => {}
            }
            inner.stats.refresh(RefreshOutcome::Refused);
            inner.stats.sign_out(SignOut::Refused);
            tracing::info!(%user, session = %session_hash, code = err.code(), "the refresh token was refused; signing the session out");
            let cleared = match session::clear(&session).await {
                Ok(()) => session.save().await.map_err(|e| e.to_string()),
                Err(err) => Err(err.to_string()),
            };
            if let Err(err) = cleared {
                tracing::warn!(%user, session = %session_hash, error = %err, "could not remove the ended session");
            }
            Refreshed::Invalid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_a_minute_and_honours_retry_after() {
        assert_eq!(backoff(1, None), Duration::from_secs(2));
        assert_eq!(backoff(2, None), Duration::from_secs(4));
        assert_eq!(backoff(3, None), Duration::from_secs(8));
        assert_eq!(backoff(10, None), BACKOFF_MAX);
        assert_eq!(backoff(40, None), BACKOFF_MAX);
        assert_eq!(
            backoff(1, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(
            backoff(3, Some(Duration::from_secs(5))),
            Duration::from_secs(8)
        );
    }
}
