//! Access-token verification: RS256 signatures checked against the WorkOS JWKS.
//!
//! - Keys are cached by `kid`. They are fetched at start-up ([`TokenVerifier::warm_up`]; a
//!   failed start-up fetch is retried in the background with back-off until it succeeds, and
//!   never fails start-up), and refetched in the background once they are older than
//!   [`KEY_MAX_AGE`], so a key WorkOS retired stops being trusted.
//! - A token signed with an unknown `kid` (a key WorkOS just rotated in) triggers one refetch,
//!   at most once per [`REFETCH_INTERVAL`] and single-flight, so a flood of forged tokens cannot
//!   turn into a flood of JWKS requests. After a failed fetch, the next one waits
//!   [`FAILURE_BACKOFF`].
//! - [`TokenError::is_retryable`] tells a token that could not be checked *yet* (JWKS
//!   unreachable, key unknown) from one that is bad: refreshed tokens of the first kind are
//!   kept and verified later, never thrown away (their refresh token is already spent).
//! - Bearer-token verdicts are cached until the token's expiry (bounded), so an API pays for
//!   RS256 once per token, not once per request.
//! - Expiry is compared with the session core's [`Clock`], not the system clock, so tests can
//!   move time forward.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use super::claims::AccessTokenClaims;
use super::clock::Clock;
pub use super::jwt::TokenError;
use super::jwt::{self, RsaKey};
use super::stats::Stats;
use crate::Client;

/// The shortest time between two JWKS fetches caused by unknown key ids.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// After a failed JWKS fetch, how long before the next one.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// How old cached keys may get before they are refetched (in the background; the cached keys
/// keep serving meanwhile, and if the fetch fails).
pub const KEY_MAX_AGE: Duration = Duration::from_secs(3600);
/// How many bearer-token verdicts are kept.
const VERDICT_CAPACITY: usize = 10_000;
/// The longest pause between two background retries of a failed start-up fetch.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<RsaKey>>,
    /// When the keys were last fetched (session-core clock).
    fetched_at: Option<SystemTime>,
    /// When the last fetch failed, and why.
    failed: Option<(SystemTime, String)>,
    /// A background refetch is running.
    refreshing: bool,
    /// A background retry of a failed start-up fetch is running.
    retrying: bool,
}

/// What [`TokenVerifier::health`] reports about the cached keys.
#[derive(Debug, Clone)]
pub(crate) struct KeysHealth {
    pub keys: usize,
    pub fetched_at: Option<SystemTime>,
    pub last_error: Option<String>,
}

/// Verifies access tokens against the JWKS of a client. Cheap to clone (shared state).
#[derive(Clone)]
pub(crate) struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    clock: Clock,
    stats: Arc<Stats>,
    keys: Mutex<Keys>,
    fetch_lock: tokio::sync::Mutex<()>,
    verdicts: Mutex<HashMap<[u8; 32], Arc<AccessTokenClaims>>>,
}

/// The key of a token's verdict.
fn digest(token: &str) -> [u8; 32] {
    crate::digest::sha256(&[token.as_bytes()])
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `later - earlier`, zero when `later` is not later.
fn elapsed(earlier: SystemTime, later: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or(Duration::ZERO)
}

impl TokenVerifier {
    pub fn new(client: Client, clock: Clock, stats: Arc<Stats>) -> Self {
        TokenVerifier {
            inner: Arc::new(Inner {
                client,
                clock,
                stats,
                keys: Mutex::new(Keys::default()),
                fetch_lock: tokio::sync::Mutex::new(()),
                verdicts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The cached keys, for the health report.
    pub fn health(&self) -> KeysHealth {
        let keys = lock(&self.inner.keys);
        KeysHealth {
            keys: keys.by_kid.len(),
            fetched_at: keys.fetched_at,
            last_error: keys.failed.as_ref().map(|(_, e)| e.clone()),
        }
    }

    /// Fetches the JWKS now. On failure the fetch is retried in the background, with back-off,
    /// until it succeeds (as long as this verifier lives); the error is returned so start-up
    /// can log it, but nothing depends on it succeeding.
    pub async fn warm_up(&self) -> Result<(), TokenError> {
        let result = {
            let _guard = self.inner.fetch_lock.lock().await;
            if self.has_keys() {
                return Ok(());
            }
            self.fetch().await.map(|_| ())
        };
        if result.is_err() {
            self.retry_in_background();
        }
        result
    }

    /// Retries the fetch in the background until it succeeds or the verifier is dropped.
    fn retry_in_background(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if std::mem::replace(&mut lock(&self.inner.keys).retrying, true) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            let mut pause = Duration::from_secs(1);
            loop {
                tokio::time::sleep(pause).await;
                let Some(inner) = weak.upgrade() else { return };
                let verifier = TokenVerifier { inner };
                if verifier.has_keys() {
                    lock(&verifier.inner.keys).retrying = false;
                    return;
                }
                let fetched = {
                    let _guard = verifier.inner.fetch_lock.lock().await;
                    verifier.fetch().await
                };
                if fetched.is_ok() {
                    lock(&verifier.inner.keys).retrying = false;
                    tracing::info!("fetched the WorkOS JWKS after an earlier failure");
                    return;
                }
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
        });
    }

    fn has_keys(&self) -> bool {
        !lock(&self.inner.keys).by_kid.is_empty()
    }

    /// Verifies signature (RS256 only), `exp` (against the clock) and the presence of `sub`.
    pub async fn verify(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        let header = jwt::decode_header(token)?;
        if header.alg != "RS256" {
            return Err(TokenError::Malformed(format!("alg {:?}", header.alg)));
        }
        let kid = header.kid.unwrap_or_default();
        let key = self.key(&kid).await?;
        // `sub` and `exp` are required fields of the claims type.
        let claims: AccessTokenClaims = jwt::verify(token, &key)?;
        if claims.exp <= self.inner.clock.unix() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// The remembered verdict of a valid, unexpired token (see
    /// [`verify_and_remember`](Self::verify_and_remember)): no I/O, no signature check.
    pub fn cached_verdict(&self, token: &str) -> Option<Arc<AccessTokenClaims>> {
        let now = self.inner.clock.unix();
        lock(&self.inner.verdicts)
            .get(&digest(token))
            .filter(|claims| claims.exp > now)
            .cloned()
    }

    /// Like [`verify`](Self::verify), remembering the verdict of a valid token until it
    /// expires, keyed by the token's SHA-256 (never the token itself).
    pub async fn verify_and_remember(
        &self,
        token: &str,
    ) -> Result<Arc<AccessTokenClaims>, TokenError> {
        let claims = Arc::new(self.verify(token).await?);
        let now = self.inner.clock.unix();
        let mut verdicts = lock(&self.inner.verdicts);
        if verdicts.len() >= VERDICT_CAPACITY {
            verdicts.retain(|_, claims| claims.exp > now);
            if verdicts.len() >= VERDICT_CAPACITY {
                verdicts.clear();
            }
        }
        verdicts.insert(digest(token), claims.clone());
        Ok(claims)
    }

    async fn key(&self, kid: &str) -> Result<Arc<RsaKey>, TokenError> {
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        // One fetch at a time; re-check after waiting, since another task may have fetched.
        let _guard = self.inner.fetch_lock.lock().await;
        let now = self.inner.clock.now();
        {
            let keys = lock(&self.inner.keys);
            if let Some(key) = keys.by_kid.get(kid) {
                return Ok(key.clone());
            }
            if let Some((at, err)) = &keys.failed
                && elapsed(*at, now) < FAILURE_BACKOFF
            {
                return Err(TokenError::JwksUnavailable(format!(
                    "the last fetch failed moments ago ({err})"
                )));
            }
            if keys
                .fetched_at
                .is_some_and(|at| elapsed(at, now) < REFETCH_INTERVAL)
            {
                return Err(TokenError::UnknownKey(kid.to_owned()));
            }
        }
        let keys = self.fetch().await?;
        keys.get(kid)
            .cloned()
            .ok_or_else(|| TokenError::UnknownKey(kid.to_owned()))
    }

    /// The cached key of `kid`; starts a background refetch when the keys are old.
    fn cached_key(&self, kid: &str) -> Option<Arc<RsaKey>> {
        let mut keys = lock(&self.inner.keys);
        let key = keys.by_kid.get(kid).cloned()?;
        let stale = keys
            .fetched_at
            .is_some_and(|at| elapsed(at, self.inner.clock.now()) >= KEY_MAX_AGE);
        if stale
            && !keys.refreshing
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            keys.refreshing = true;
            let verifier = self.clone();
            runtime.spawn(async move {
                let _guard = verifier.inner.fetch_lock.lock().await;
                let _ = verifier.fetch().await;
                lock(&verifier.inner.keys).refreshing = false;
            });
        }
        Some(key)
    }

    /// Fetches the JWKS and replaces the cached keys (the caller holds the fetch lock). A failed
    /// fetch keeps the cached keys.
    async fn fetch(&self) -> Result<HashMap<String, Arc<RsaKey>>, TokenError> {
        let fetched = self.inner.client.user_management().get_jwks().await;
        let now = self.inner.clock.now();
        let mut keys = lock(&self.inner.keys);
        let jwks = match fetched {
            Ok(jwks) => jwks,
            Err(err) => {
                self.inner.stats.jwks_fetch(false);
                tracing::warn!(error = %err, cached_keys = keys.by_kid.len(), "could not fetch the WorkOS JWKS");
                keys.failed = Some((now, err.to_string()));
                return Err(TokenError::JwksUnavailable(err.to_string()));
            }
        };
        self.inner.stats.jwks_fetch(true);
        keys.fetched_at = Some(now);
        keys.failed = None;
        keys.by_kid = jwks
            .keys
            .iter()
            .filter(|k| k.kty == "RSA")
            .filter_map(|k| match RsaKey::from_components(&k.n, &k.e) {
                Ok(key) => Some((k.kid.clone(), Arc::new(key))),
                Err(err) => {
                    tracing::warn!(kid = %k.kid, error = %err, "skipped a JWKS key");
                    None
                }
            })
            .collect();
        tracing::debug!(keys = keys.by_kid.len(), "fetched the WorkOS JWKS");
        Ok(keys.by_kid.clone())
    }
}
