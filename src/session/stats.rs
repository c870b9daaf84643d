//! [`Stats`]: counters an operator reads to see how sessions fare: refreshes by outcome, stale
//! serves, sign-outs by reason, store errors, JWKS fetches. Read a snapshot with
//! [`AuthKit::stats`](crate::AuthKit::stats); with the `metrics` feature the same counters are
//! also exported through the [`metrics`](https://docs.rs/metrics) facade.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// How a refresh of a session's tokens ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshOutcome {
    /// New tokens, stored.
    Ok,
    /// WorkOS refused the refresh token because another request or instance had just spent it,
    /// and that one's tokens were found in the store.
    RaceRecovered,
    /// WorkOS could not be reached or failed (429, 5xx, network, timeout); retried later.
    Transient,
    /// WorkOS refused the refresh token (revoked, expired, ended): the session is signed out.
    Refused,
}

/// Why a session was signed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignOut {
    /// The user signed out.
    User,
    /// WorkOS refused the session's refresh token.
    Refused,
    /// The stored session could not be read (tampered with, or written by another version).
    Unreadable,
}

/// The live counters, shared by every part of one `AuthKit`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    refresh_ok: AtomicU64,
    refresh_race_recovered: AtomicU64,
    refresh_transient: AtomicU64,
    refresh_refused: AtomicU64,
    refresh_deferred: AtomicU64,
    stale_serves: AtomicU64,
    sign_out_user: AtomicU64,
    sign_out_refused: AtomicU64,
    sign_out_unreadable: AtomicU64,
    store_errors: AtomicU64,
    jwks_fetch_ok: AtomicU64,
    jwks_fetch_failed: AtomicU64,
    unverified_kept: AtomicU64,
    /// Whether the last refresh that reached WorkOS's answer failed transiently.
    last_refresh_failed: std::sync::atomic::AtomicBool,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[cfg(feature = "metrics")]
fn export(name: &'static str, label: (&'static str, &'static str)) {
    metrics::counter!(name, label.0 => label.1).increment(1);
}

#[cfg(not(feature = "metrics"))]
fn export(_name: &'static str, _label: (&'static str, &'static str)) {}

impl Stats {
    pub(crate) fn refresh(&self, outcome: RefreshOutcome) {
        let (counter, label) = match outcome {
            RefreshOutcome::Ok => (&self.refresh_ok, "ok"),
            RefreshOutcome::RaceRecovered => (&self.refresh_race_recovered, "race_recovered"),
            RefreshOutcome::Transient => (&self.refresh_transient, "transient"),
            RefreshOutcome::Refused => (&self.refresh_refused, "refused"),
        };
        bump(counter);
        self.last_refresh_failed
            .store(outcome == RefreshOutcome::Transient, Ordering::Relaxed);
        export("authkit_refreshes_total", ("outcome", label));
    }

    /// Whether the last refresh did not fail transiently (WorkOS answering).
    pub(crate) fn last_refresh_ok(&self) -> bool {
        !self.last_refresh_failed.load(Ordering::Relaxed)
    }

    /// A refresh that was due but not started, because the session is backing off after a
    /// failure.
    pub(crate) fn refresh_deferred(&self) {
        bump(&self.refresh_deferred);
        export("authkit_refreshes_deferred_total", ("reason", "backoff"));
    }

    pub(crate) fn stale_serve(&self) {
        bump(&self.stale_serves);
        export("authkit_stale_serves_total", ("reason", "refresh_pending"));
    }

    pub(crate) fn sign_out(&self, reason: SignOut) {
        let (counter, label) = match reason {
            SignOut::User => (&self.sign_out_user, "user"),
            SignOut::Refused => (&self.sign_out_refused, "refused"),
            SignOut::Unreadable => (&self.sign_out_unreadable, "unreadable"),
        };
        bump(counter);
        export("authkit_sign_outs_total", ("reason", label));
    }

    pub(crate) fn store_error(&self) {
        bump(&self.store_errors);
        export("authkit_store_errors_total", ("store", "session"));
    }

    pub(crate) fn jwks_fetch(&self, ok: bool) {
        if ok {
            bump(&self.jwks_fetch_ok);
        } else {
            bump(&self.jwks_fetch_failed);
        }
        export(
            "authkit_jwks_fetches_total",
            ("outcome", if ok { "ok" } else { "failed" }),
        );
    }

    /// Tokens WorkOS issued whose access token could not be verified yet, kept for later.
    pub(crate) fn unverified_kept(&self) {
        bump(&self.unverified_kept);
        export("authkit_unverified_tokens_kept_total", ("reason", "jwks"));
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            refreshes: RefreshCounts {
                ok: get(&self.refresh_ok),
                race_recovered: get(&self.refresh_race_recovered),
                transient: get(&self.refresh_transient),
                refused: get(&self.refresh_refused),
                deferred: get(&self.refresh_deferred),
            },
            stale_serves: get(&self.stale_serves),
            sign_outs: SignOutCounts {
                user: get(&self.sign_out_user),
                refused: get(&self.sign_out_refused),
                unreadable: get(&self.sign_out_unreadable),
            },
            store_errors: get(&self.store_errors),
            jwks_fetches: JwksFetchCounts {
                ok: get(&self.jwks_fetch_ok),
                failed: get(&self.jwks_fetch_failed),
            },
            unverified_tokens_kept: get(&self.unverified_kept),
        }
    }
}

/// A snapshot of one `AuthKit`'s counters since it was built (this process only).
///
/// ```
/// # fn f(authkit: authkit_axum::AuthKit) {
/// let stats = authkit.stats();
/// println!(
///     "refreshes ok={} transient={} refused={}, forced sign-outs={}",
///     stats.refreshes.ok, stats.refreshes.transient, stats.refreshes.refused, stats.sign_outs.refused,
/// );
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Refreshes of access tokens at WorkOS, by outcome.
    pub refreshes: RefreshCounts,
    /// Requests served with a session whose access token had expired, because its refresh was
    /// still running or failing (within the stale grace).
    pub stale_serves: u64,
    /// Sessions signed out, by reason.
    pub sign_outs: SignOutCounts,
    /// Session-store operations that failed (the request got a 503, nothing was deleted).
    pub store_errors: u64,
    /// Fetches of the WorkOS JWKS.
    pub jwks_fetches: JwksFetchCounts,
    /// Refreshed tokens kept although their access token could not be verified yet (JWKS
    /// unreachable or key unknown); they are verified before they are used.
    pub unverified_tokens_kept: u64,
}

/// Refreshes by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RefreshCounts {
    /// New tokens stored.
    pub ok: u64,
    /// Lost a race to another request or instance, whose tokens were then used.
    pub race_recovered: u64,
    /// WorkOS unreachable or failing; the session was kept and the refresh retried later.
    pub transient: u64,
    /// WorkOS refused the refresh token; the session was signed out.
    pub refused: u64,
    /// Due but not started because the session was backing off after a failure.
    pub deferred: u64,
}

/// Sign-outs by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SignOutCounts {
    /// The user signed out (`POST /auth/logout`).
    pub user: u64,
    /// WorkOS refused the refresh token (the session was revoked or ended).
    pub refused: u64,
    /// The stored session could not be read.
    pub unreadable: u64,
}

/// JWKS fetches by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JwksFetchCounts {
    /// Keys fetched.
    pub ok: u64,
    /// The fetch failed.
    pub failed: u64,
}
