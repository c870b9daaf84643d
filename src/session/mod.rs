//! The framework-free session core: what a signed-in session needs whatever serves it.
//!
//! - [`Clock`]: the time token expiries, grace periods and back-offs are compared with (the
//!   system clock, or one tests move forward instead of sleeping);
//! - the access-token [claims](crate::session::AccessTokenClaims) and their verifier (RS256 against the
//!   WorkOS JWKS: fetched at start-up, refetched for an unknown key, rate-limited);
//! - [`StatsSnapshot`]: counters of refreshes, stale serves, sign-outs, store errors and JWKS
//!   fetches;
//! - inside the crate: the stored session and the sign-ins in progress (what a tower-sessions
//!   record holds, telling a store outage from an unreadable value), single-flight refresh with
//!   back-off and race recovery, and the step-up attempt slots, all taking their inputs (a
//!   session, the core's client, clock, verifier and counters) explicitly.
//!
//! Nothing here depends on axum: the Axum integration (the layer, the router, the sign-in flow,
//! the extractors) builds on it, never the other way round.

pub(crate) mod attempts;
pub(crate) mod claims;
pub(crate) mod clock;
pub(crate) mod core;
pub(crate) mod flight;
pub(crate) mod jwt;
pub(crate) mod refresh;
pub(crate) mod requester;
pub(crate) mod stats;
pub(crate) mod stored;
pub(crate) mod verifier;

pub use claims::{AccessTokenClaims, Actor};
pub use clock::Clock;
pub use jwt::TokenError;
pub use stats::{JwksFetchCounts, RefreshCounts, SignOutCounts, StatsSnapshot};

/// A short, stable, non-reversible label of a session record's id for logs (the id itself is
/// a bearer credential: it never goes to logs). `"-"` for a session without a record yet.
pub(crate) fn id_hash(id: Option<tower_sessions::session::Id>) -> String {
    match id {
        None => "-".to_owned(),
        Some(id) => {
            let digest = crate::digest::sha256(&[id.to_string().as_bytes()]);
            digest[..6].iter().map(|b| format!("{b:02x}")).collect()
        }
    }
}
