//! API keys as credentials: [`ApiKeys`] (the opt-in setting of
//! [`AuthKitBuilder::api_keys`](super::AuthKitBuilder::api_keys)), the verdict cache that
//! validates keys at WorkOS, and the extractors [`ApiKeyClient`] and [`Principal`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::extract::{AuthContext, AuthRejection, AuthUser, reject_anonymous};
use crate::Client;
use crate::session::Clock;
use crate::user_management::{ApiKey, ApiKeyOwner};

/// Accepting API keys (`Authorization: Bearer sk_...`) besides signed-in users, for the
/// machines of your customers: give it to
/// [`AuthKitBuilder::api_keys`](super::AuthKitBuilder::api_keys).
///
/// A bearer token shaped like a JWT (`eyJ...` in three dot-separated parts) is still read as
/// an access token; any other bearer token is taken for an API key and validated at WorkOS
/// (`POST /api_keys/validations`). Verdicts are cached by the key's SHA-256 digest (never the
/// key itself):
///
/// - **Revocation bound.** A valid key is trusted for [`cache_ttl`](Self::cache_ttl) (default
///   30 s) after WorkOS last said so: a key deleted at WorkOS stops working here within that
///   time. WorkOS being down does not stretch it: an expired verdict is validated again, and
///   the request gets `503` if that fails.
/// - **Bounded memory.** At most [`cache_capacity`](Self::cache_capacity) valid keys and as
///   many refused ones (default 10 000 each) are remembered; a flood of random keys evicts
///   refused verdicts, never grows the cache past that.
/// - **Bounded calls.** At most [`max_validations`](Self::max_validations) keys not seen valid
///   before are validated per period (default 20 per second, in bursts of up to 20); past
///   that, requests with unknown keys get a fast `503` with `Retry-After` while known keys
///   keep working, their verdicts renewed outside that budget. Concurrent requests with the
///   same new key share one validation.
/// - **Outages.** A validation is one attempt, no retries, bounded by
///   [`validation_timeout`](Self::validation_timeout) (default 3 s); when it fails (WorkOS
///   down, slow, or refusing the app's own API key) the request gets `503` at once, never the
///   benefit of the doubt, and for the next second other unknown keys get `503` without a call.
///
/// Malformed (not 8–256 letters, digits, `_` or `-`), unknown and deleted keys get `401` JSON
/// `{"error": "invalid_api_key"}`; the request does not reach the handler.
///
/// ```
/// use std::time::Duration;
/// use authkit_axum::{AuthKit, Client};
/// use authkit_axum::web::ApiKeys;
///
/// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
/// let authkit = AuthKit::builder(client, "http://localhost:3000/auth/callback")
///     .api_keys(ApiKeys::new().cache_ttl(Duration::from_secs(10)))
///     .build()?;
/// # Ok::<(), authkit_axum::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiKeys {
    ttl: Duration,
    capacity: usize,
    burst: u32,
    period: Duration,
    timeout: Duration,
}

impl Default for ApiKeys {
    fn default() -> Self {
        ApiKeys {
            ttl: Duration::from_secs(30),
            capacity: 10_000,
            burst: 20,
            period: Duration::from_secs(1),
            timeout: Duration::from_secs(3),
        }
    }
}

impl ApiKeys {
    /// The default settings (see above).
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a verdict is trusted: the longest a deleted key keeps working (default 30 s;
    /// at most a day).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.min(MAX_TTL);
        self
    }

    /// How many valid keys, and separately how many refused ones, are remembered (default
    /// 10 000 each; at least 1).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// At most `count` validations of keys not seen valid before at WorkOS per `period` (a
    /// token bucket: bursts of up to `count`, refilled evenly over `period`). Default: 20 per
    /// second. These calls count against the app's WorkOS rate limit together with its own
    /// calls (refreshes, code exchanges), so keep the budget well below that limit: a flood of
    /// made-up keys then costs at most this many calls. Renewing the verdict of a key that was
    /// valid before is not limited by it (there are at most
    /// [`cache_capacity`](Self::cache_capacity) such keys, each renewed once per
    /// [`cache_ttl`](Self::cache_ttl)), so a flood never locks out the real machines.
    pub fn max_validations(mut self, count: u32, period: Duration) -> Self {
        self.burst = count;
        self.period = period.max(Duration::from_millis(1));
        self
    }

    /// How long one validation may take before the request gets `503` (default 3 s).
    pub fn validation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The machine client of a request authenticated with an API key. Use it as an extractor on
/// routes for machines; [`Principal`] takes a user or a machine.
///
/// ```
/// use authkit_axum::web::{ApiKeyClient, AuthRejection};
///
/// async fn export(machine: ApiKeyClient) -> Result<String, AuthRejection> {
///     machine.require_permission("reports:read")?;
///     Ok(format!("the reports of {}, for {}", machine.organization_id, machine.name))
/// }
/// ```
///
/// Without an API key the extractor answers `401` JSON (`api_key_required`); for a
/// signed-in user, `403`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiKeyClient {
    /// The key's id, `api_key_...`.
    pub id: String,
    /// The key's name.
    pub name: String,
    /// The organization the key acts for.
    pub organization_id: String,
    /// Who owns the key: the organization, or a user of it.
    pub owner: ApiKeyOwner,
    /// The permission slugs the key grants.
    pub permissions: Vec<String>,
}

impl ApiKeyClient {
    fn from_key(key: ApiKey) -> Self {
        ApiKeyClient {
            organization_id: key.organization_id().to_owned(),
            id: key.id,
            name: key.name,
            owner: key.owner,
            permissions: key.permissions,
        }
    }

    /// Whether the key grants `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// Requires a permission: `Err` is a `403` rejection naming it.
    pub fn require_permission(&self, permission: &str) -> Result<(), AuthRejection> {
        if self.has_permission(permission) {
            Ok(())
        } else {
            Err(AuthRejection::Forbidden(format!(
                "this needs the permission {permission:?}"
            )))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiKeyClient {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(machine) = parts.extensions.get::<ApiKeyClient>() {
            return Ok(machine.clone());
        }
        if parts.extensions.get::<AuthUser>().is_some() {
            return Err(AuthRejection::Forbidden(
                "this endpoint is for API keys, not signed-in users".into(),
            ));
        }
        Err(AuthRejection::ApiKeyRequired)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ApiKeyClient {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<ApiKeyClient>().cloned())
    }
}

/// Who makes a request: a signed-in [user](AuthUser) (session or access token) or a
/// [machine](ApiKeyClient) (API key). The extractor for routes that serve both.
///
/// ```
/// use authkit_axum::web::{AuthRejection, Principal};
///
/// async fn list_reports(who: Principal) -> Result<String, AuthRejection> {
///     who.require_permission("reports:read")?;
///     Ok(match &who {
///         Principal::User(user) => format!("reports for {}", user.email),
///         Principal::ApiKey(machine) => format!("reports for the key {}", machine.name),
///         _ => "reports".to_owned(),
///     })
/// }
/// ```
///
/// Without either it answers as [`AuthUser`] does (a sign-in redirect for page loads, `401`
/// JSON for API calls).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Principal {
    /// A signed-in user.
    User(AuthUser),
    /// A machine with an API key.
    ApiKey(ApiKeyClient),
}

impl Principal {
    /// The organization the request acts in: the session's, or the key's.
    pub fn organization_id(&self) -> Option<&str> {
        match self {
            Principal::User(user) => user.organization_id.as_deref(),
            Principal::ApiKey(machine) => Some(&machine.organization_id),
        }
    }

    /// The permission slugs: the access token's, or the key's.
    pub fn permissions(&self) -> &[String] {
        match self {
            Principal::User(user) => user.permissions(),
            Principal::ApiKey(machine) => &machine.permissions,
        }
    }

    /// Whether the user's token or the key grants `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions().iter().any(|p| p == permission)
    }

    /// Requires a permission: `Err` is a `403` rejection naming it.
    pub fn require_permission(&self, permission: &str) -> Result<(), AuthRejection> {
        match self {
            Principal::User(user) => user.require_permission(permission),
            Principal::ApiKey(machine) => machine.require_permission(permission),
        }
    }

    /// The user, for a signed-in user.
    pub fn user(&self) -> Option<&AuthUser> {
        match self {
            Principal::User(user) => Some(user),
            Principal::ApiKey(_) => None,
        }
    }

    /// The machine, for an API key.
    pub fn api_key(&self) -> Option<&ApiKeyClient> {
        match self {
            Principal::ApiKey(machine) => Some(machine),
            Principal::User(_) => None,
        }
    }
}

const NO_LAYER: &str = "the Principal extractor found no AuthLayer: add `.layer(authkit.layer(store))` (or `AuthLayer::bearer_only`) to the router";

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(Principal::User(user.clone()));
        }
        if let Some(machine) = parts.extensions.get::<ApiKeyClient>() {
            return Ok(Principal::ApiKey(machine.clone()));
        }
        let ctx = parts
            .extensions
            .get::<AuthContext>()
            .ok_or(AuthRejection::Misconfigured(NO_LAYER))?;
        Err(reject_anonymous(ctx, &parts.headers, &parts.uri))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(if let Some(user) = parts.extensions.get::<AuthUser>() {
            Some(Principal::User(user.clone()))
        } else {
            parts
                .extensions
                .get::<ApiKeyClient>()
                .map(|m| Principal::ApiKey(m.clone()))
        })
    }
}

/// Counters of the API key verdict cache of one `AuthKit` (this process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiKeyStats {
    /// Validations sent to WorkOS.
    pub validations: u64,
    /// Requests answered `503` because the validation budget was spent or WorkOS failed.
    pub unavailable: u64,
    /// Valid keys held now (expired verdicts count until they are evicted or replaced).
    pub cached_valid: usize,
    /// Refused keys held now (likewise).
    pub cached_invalid: usize,
}

/// Whether `token` is shaped like a JWT (three base64url parts, a JSON header): an access
/// token, not an API key.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Whether `token` could be an API key value at all.
fn well_formed(token: &str) -> bool {
    (8..=256).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// How a key was judged.
#[derive(Clone)]
enum Verdict {
    Valid(Arc<ApiKeyClient>),
    Invalid,
    /// WorkOS could not say (down, slow, refusing the app's key): answer 503.
    Unavailable,
}

type Flight = Shared<BoxFuture<'static, Verdict>>;

/// The SHA-256 of a key: what the caches hold instead of the key.
type Digest = [u8; 32];

/// The token bucket of validations.
struct Bucket {
    tokens: f64,
    at: SystemTime,
}

/// Validates API keys at WorkOS and remembers the verdicts (bounded in time and count).
pub(crate) struct ApiKeyVerifier {
    settings: ApiKeys,
    client: Client,
    clock: Clock,
    /// Valid keys by digest: trusted until, and the machine.
    valid: Mutex<HashMap<Digest, (SystemTime, Arc<ApiKeyClient>)>>,
    invalid: Mutex<HashMap<[u8; 32], SystemTime>>,
    flights: Mutex<HashMap<[u8; 32], Flight>>,
    bucket: Mutex<Bucket>,
    /// Unknown keys get 503 without a call until then (after a failed validation).
    down_until: Mutex<Option<SystemTime>>,
    validations: AtomicU64,
    unavailable: AtomicU64,
}

/// Why a request's API key was not accepted.
pub(crate) enum Refusal {
    Invalid(&'static str),
    Unavailable,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Puts `key` into a map bounded at `capacity`: expired entries go first, then any one.
fn bounded_insert<V>(
    map: &mut HashMap<[u8; 32], V>,
    capacity: usize,
    now: SystemTime,
    expiry: impl Fn(&V) -> SystemTime,
    key: [u8; 32],
    value: V,
) {
    if map.len() >= capacity && !map.contains_key(&key) {
        map.retain(|_, v| expiry(v) > now);
        while map.len() >= capacity {
            let Some(victim) = map.keys().next().copied() else {
                break;
            };
            map.remove(&victim);
        }
    }
    map.insert(key, value);
}

impl ApiKeyVerifier {
    pub(crate) fn new(settings: ApiKeys, client: Client, clock: Clock) -> Self {
        let now = clock.now();
        ApiKeyVerifier {
            bucket: Mutex::new(Bucket {
                tokens: f64::from(settings.burst),
                at: now,
            }),
            settings,
            client,
            clock,
            valid: Mutex::default(),
            invalid: Mutex::default(),
            flights: Mutex::default(),
            down_until: Mutex::new(None),
            validations: AtomicU64::new(0),
            unavailable: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> ApiKeyStats {
        ApiKeyStats {
            validations: self.validations.load(Ordering::Relaxed),
            unavailable: self.unavailable.load(Ordering::Relaxed),
            cached_valid: lock(&self.valid).len(),
            cached_invalid: lock(&self.invalid).len(),
        }
    }

    /// The machine client of `token`, or why not.
    pub(crate) async fn authenticate(
        self: &Arc<Self>,
        token: &str,
    ) -> Result<ApiKeyClient, Refusal> {
        if !well_formed(token) {
            return Err(Refusal::Invalid(
                "The API key is malformed: send the key's value as `Authorization: Bearer <key>`.",
            ));
        }
        let digest = crate::digest::sha256(&[b"api-key\0", token.as_bytes()]);
        let now = self.clock.now();
        // A key in the valid cache, even past its verdict, is known: renewing it is not
        // limited by the budget for unknown keys.
        let known = match lock(&self.valid).get(&digest) {
            Some((until, machine)) if *until > now => return Ok(ApiKeyClient::clone(machine)),
            Some(_) => true,
            None => false,
        };
        if lock(&self.invalid)
            .get(&digest)
            .is_some_and(|until| *until > now)
        {
            return Err(Refusal::Invalid(INVALID));
        }
        let flight = self.flight(digest, token, now, known)?;
        match flight.await {
            Verdict::Valid(machine) => Ok(ApiKeyClient::clone(&machine)),
            Verdict::Invalid => Err(Refusal::Invalid(INVALID)),
            Verdict::Unavailable => {
                self.unavailable.fetch_add(1, Ordering::Relaxed);
                Err(Refusal::Unavailable)
            }
        }
    }

    /// The validation of `digest` in flight, joined or started (if the budget allows).
    fn flight(
        self: &Arc<Self>,
        digest: [u8; 32],
        token: &str,
        now: SystemTime,
        known: bool,
    ) -> Result<Flight, Refusal> {
        let mut flights = lock(&self.flights);
        if let Some(flight) = flights.get(&digest) {
            return Ok(flight.clone());
        }
        let refuse = || {
            self.unavailable.fetch_add(1, Ordering::Relaxed);
            Err(Refusal::Unavailable)
        };
        if lock(&self.down_until).is_some_and(|until| now < until) {
            return refuse();
        }
        if !known && !self.take_token(now) {
            tracing::warn!(
                "too many unknown API keys to validate; answering 503 until the budget refills"
            );
            return refuse();
        }
        // The validation runs as a task of its own, so that it finishes (and leaves the map)
        // even when every request waiting for it goes away.
        let this = Arc::clone(self);
        let token = token.to_owned();
        let task = tokio::spawn(async move {
            // Leaves the map however the task ends (a panic included), so that the key is
            // validated again next time instead of sharing a dead flight forever.
            let _leave = LeaveFlights(&this, digest);
            let verdict = this.validate(&token).await;
            this.remember(digest, &verdict);
            verdict
        });
        let flight = async move { task.await.unwrap_or(Verdict::Unavailable) }
            .boxed()
            .shared();
        flights.insert(digest, flight.clone());
        Ok(flight)
    }

    /// Takes one validation from the bucket.
    fn take_token(&self, now: SystemTime) -> bool {
        let mut bucket = lock(&self.bucket);
        let elapsed = now.duration_since(bucket.at).unwrap_or_default();
        let burst = f64::from(self.settings.burst);
        let refill = elapsed.as_secs_f64() / self.settings.period.as_secs_f64() * burst;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = bucket.at.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    async fn validate(&self, token: &str) -> Verdict {
        self.validations.fetch_add(1, Ordering::Relaxed);
        let um = self.client.user_management();
        let call = um.validate_api_key_once(token);
        let outcome = tokio::time::timeout(self.settings.timeout, call).await;
        match outcome {
            Ok(Ok(Some(key))) if key.organization_id().is_empty() => {
                tracing::warn!(
                    api_key_id = %key.id,
                    "WorkOS answered an API key without an organization; refusing it"
                );
                Verdict::Invalid
            }
            Ok(Ok(Some(key))) => Verdict::Valid(Arc::new(ApiKeyClient::from_key(key))),
            Ok(Ok(None)) => Verdict::Invalid,
            // WorkOS refusing the value itself (400, 422): not a key. Anything else (the app's
            // own credentials refused, throttling, a 404 from a wrong base URL or a proxy,
            // failing): nobody can tell, and a real key must not be called revoked.
            Ok(Err(err)) if matches!(err.status(), Some(400 | 422)) => {
                tracing::debug!(error = %err, "WorkOS refused an API key value");
                Verdict::Invalid
            }
            Ok(Err(err)) => {
                if matches!(err.status(), Some(401 | 403)) {
                    tracing::error!(error = %err, "WorkOS refused the app's own API key while validating a client's API key; check WORKOS_API_KEY");
                } else {
                    tracing::warn!(error = %err, "could not validate an API key at WorkOS; answering 503");
                }
                Verdict::Unavailable
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.settings.timeout.as_millis() as u64,
                    "validating an API key at WorkOS timed out; answering 503"
                );
                Verdict::Unavailable
            }
        }
    }

    fn remember(&self, digest: [u8; 32], verdict: &Verdict) {
        let now = self.clock.now();
        let until = now.checked_add(self.settings.ttl).unwrap_or(now);
        let capacity = self.settings.capacity;
        match verdict {
            Verdict::Valid(machine) => {
                lock(&self.invalid).remove(&digest);
                bounded_insert(
                    &mut lock(&self.valid),
                    capacity,
                    now,
                    |v| v.0,
                    digest,
                    (until, machine.clone()),
                );
            }
            Verdict::Invalid => {
                lock(&self.valid).remove(&digest);
                bounded_insert(
                    &mut lock(&self.invalid),
                    capacity,
                    now,
                    |v| *v,
                    digest,
                    until,
                );
            }
            Verdict::Unavailable => {
                *lock(&self.down_until) = Some(now + Duration::from_secs(1));
            }
        }
    }
}

/// The longest [`ApiKeys::cache_ttl`].
const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Removes a validation from the in-flight map when dropped.
struct LeaveFlights<'a>(&'a ApiKeyVerifier, [u8; 32]);

impl Drop for LeaveFlights<'_> {
    fn drop(&mut self) {
        lock(&self.0.flights).remove(&self.1);
    }
}

const INVALID: &str = "The API key is not valid: it is unknown or was revoked.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_and_keys_are_told_apart() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("sk_test_0123456789abcdef"));
        assert!(!looks_like_jwt("not.a.token"));
        assert!(well_formed("sk_test_0123456789abcdef"));
        assert!(!well_formed("short"));
        assert!(!well_formed("sk_test_0123456789 abcdef"));
        assert!(!well_formed(&"a".repeat(257)));
    }

    #[test]
    fn a_full_map_stays_at_its_capacity() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(60);
        let mut map = HashMap::new();
        for i in 0..100u8 {
            let mut key = [0u8; 32];
            key[0] = i;
            bounded_insert(&mut map, 8, now, |v: &SystemTime| *v, key, later);
            assert!(map.len() <= 8);
        }
        assert_eq!(map.len(), 8);
    }
}
