//! The session core's shared state: what refreshing and verifying sessions need, handed to
//! them explicitly (the Axum integration's `AuthKit` holds one and passes it on).

use std::sync::Arc;
use std::time::Duration;

use super::clock::Clock;
use super::flight::Refresher;
use super::stats::Stats;
use super::verifier::TokenVerifier;
use crate::Client;

/// The inputs of the session core: the WorkOS client, the clock, the token verifier (with its
/// JWKS cache), the single-flight refresh map, the counters and the timing settings.
pub(crate) struct Core {
    pub client: Client,
    pub clock: Clock,
    pub stats: Arc<Stats>,
    pub verifier: TokenVerifier,
    pub refresher: Refresher,
    /// How long an expired session is served from its last verified tokens while WorkOS or its
    /// keys are unreachable.
    pub stale_grace: Duration,
    /// The longest a request waits for its expired token's refresh.
    pub refresh_wait: Duration,
}
