//! Access-token verification: RS256 signatures checked against the WorkOS JWKS.
//!
//! Keys are cached by `kid`. A token signed with an unknown `kid` triggers one refetch of the
//! JWKS, at most once per [`REFETCH_INTERVAL`] and single-flight, so a flood of forged tokens
//! cannot turn into a flood of JWKS requests. Bearer-token verdicts are cached until the
//! token's expiry (bounded), so an API pays for RS256 once per token, not once per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sha2::{Digest, Sha256};

use super::claims::AccessTokenClaims;
use crate::Client;

/// The shortest time between two JWKS fetches caused by unknown key ids.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How many bearer-token verdicts are kept.
const VERDICT_CAPACITY: usize = 10_000;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a JWT, or not RS256 (e.g. `alg: none`, HS256).
    #[error("the access token is malformed or not RS256: {0}")]
    Malformed(String),
    /// No JWKS key has the token's `kid`.
    #[error("the access token is signed with an unknown key (kid {0:?})")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("the access token's signature is invalid")]
    BadSignature,
    /// The token has expired.
    #[error("the access token has expired")]
    Expired,
    /// The JWKS could not be fetched.
    #[error("the JWKS could not be fetched: {0}")]
    JwksUnavailable(String),
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
    failed_at: Option<Instant>,
}

/// After a failed JWKS fetch, how long before trying again.
const FAILURE_BACKOFF: Duration = Duration::from_secs(5);

/// Verifies access tokens against the JWKS of a client.
pub(crate) struct TokenVerifier {
    client: Client,
    keys: Mutex<Keys>,
    fetch_lock: tokio::sync::Mutex<()>,
    verdicts: Mutex<HashMap<[u8; 32], Arc<AccessTokenClaims>>>,
    fetches: std::sync::atomic::AtomicU64,
}

/// The key of a token's verdict.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TokenVerifier {
    pub fn new(client: Client) -> Self {
        TokenVerifier {
            client,
            keys: Mutex::new(Keys::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
            verdicts: Mutex::new(HashMap::new()),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Verifies signature (RS256 only), `exp` and the presence of `sub`.
    pub async fn verify(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Malformed(format!("alg {:?}", header.alg)));
        }
        let kid = header.kid.unwrap_or_default();
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match jsonwebtoken::decode::<AccessTokenClaims>(token, &key, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) => Err(match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed(e.to_string()),
            }),
        }
    }

    /// The remembered verdict of a valid, unexpired token (see
    /// [`verify_and_remember`](Self::verify_and_remember)): no I/O, no signature check.
    pub fn cached_verdict(&self, token: &str, now: i64) -> Option<Arc<AccessTokenClaims>> {
        lock(&self.verdicts)
            .get(&digest(token))
            .filter(|claims| claims.exp > now)
            .cloned()
    }

    /// Like [`verify`](Self::verify), remembering the verdict of a valid token until it
    /// expires, keyed by the token's SHA-256 (never the token itself).
    pub async fn verify_and_remember(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Arc<AccessTokenClaims>, TokenError> {
        let claims = Arc::new(self.verify(token).await?);
        let mut verdicts = lock(&self.verdicts);
        if verdicts.len() >= VERDICT_CAPACITY {
            verdicts.retain(|_, claims| claims.exp > now);
            if verdicts.len() >= VERDICT_CAPACITY {
                verdicts.clear();
            }
        }
        verdicts.insert(digest(token), claims.clone());
        Ok(claims)
    }

    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, TokenError> {
        if let Some(key) = lock(&self.keys).by_kid.get(kid) {
            return Ok(key.clone());
        }
        // One fetch at a time; re-check after waiting, since another task may have fetched.
        let _guard = self.fetch_lock.lock().await;
        {
            let keys = lock(&self.keys);
            if let Some(key) = keys.by_kid.get(kid) {
                return Ok(key.clone());
            }
            if keys
                .fetched_at
                .is_some_and(|at| at.elapsed() < REFETCH_INTERVAL)
            {
                return Err(TokenError::UnknownKey(kid.to_owned()));
            }
            if keys
                .failed_at
                .is_some_and(|at| at.elapsed() < FAILURE_BACKOFF)
            {
                return Err(TokenError::JwksUnavailable(
                    "the last fetch failed moments ago".into(),
                ));
            }
        }
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fetched = self.client.user_management().get_jwks().await;
        let mut keys = lock(&self.keys);
        let jwks = match fetched {
            Ok(jwks) => jwks,
            Err(err) => {
                tracing::warn!(error = %err, "could not fetch the WorkOS JWKS");
                keys.failed_at = Some(Instant::now());
                return Err(TokenError::JwksUnavailable(err.to_string()));
            }
        };
        keys.fetched_at = Some(Instant::now());
        keys.failed_at = None;
        keys.by_kid = jwks
            .keys
            .iter()
            .filter(|k| k.kty == "RSA")
            .filter_map(|k| {
                DecodingKey::from_rsa_components(&k.n, &k.e)
                    .ok()
                    .map(|d| (k.kid.clone(), Arc::new(d)))
            })
            .collect();
        tracing::debug!(keys = keys.by_kid.len(), "fetched the WorkOS JWKS");
        keys.by_kid
            .get(kid)
            .cloned()
            .ok_or_else(|| TokenError::UnknownKey(kid.to_owned()))
    }
}
