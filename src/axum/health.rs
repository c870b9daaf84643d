//! [`Health`]: what an operator's readiness check reads: are the WorkOS keys cached, is the
//! session store reachable, are refreshes succeeding.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::config::AuthKit;
use crate::session::StatsSnapshot;

/// A readiness report of one `AuthKit` (this process), from [`AuthKit::health`].
///
/// It is ready when the JWKS keys are cached (sign-ins and refreshes can be verified) and the
/// session store answered (when it was given). As a response it is `200` when ready and `503`
/// otherwise, with the report as JSON, so it can be a readiness route as it is:
///
/// ```
/// use axum::{Router, routing::get};
/// use authkit_axum::AuthKit;
///
/// # fn app(authkit: AuthKit) -> Router {
/// let kit = authkit.clone();
/// Router::new().route("/ready", get(move || {
///     let kit = kit.clone();
///     async move { kit.health().await }
/// }))
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Health {
    /// Whether this instance can serve sign-ins and refreshes.
    pub ready: bool,
    /// The WorkOS signing keys.
    pub jwks: JwksHealth,
    /// The session store, when a store was given (see [`AuthKit::health_with_store`]).
    pub store: Option<StoreHealth>,
    /// Refreshes of access tokens.
    pub refresh: RefreshHealth,
    /// The counters.
    pub stats: StatsSnapshot,
}

/// The JWKS part of [`Health`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct JwksHealth {
    /// How many keys are cached.
    pub keys: usize,
    /// Seconds since the keys were last fetched.
    pub age_secs: Option<u64>,
    /// The error of the last fetch, when it failed.
    pub last_error: Option<String>,
}

/// The session-store part of [`Health`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StoreHealth {
    /// Whether a read of the store succeeded.
    pub reachable: bool,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// The refresh part of [`Health`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RefreshHealth {
    /// Whether the last refresh that reached an outcome succeeded (or none was needed yet).
    pub succeeding: bool,
}

impl IntoResponse for Health {
    fn into_response(self) -> Response {
        let status = if self.ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (
            status,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            axum::Json(self),
        )
            .into_response()
    }
}

impl AuthKit {
    /// A readiness report: JWKS keys cached, refreshes succeeding, and the counters. See
    /// [`Health`]; [`health_with_store`](Self::health_with_store) also checks a store.
    pub async fn health(&self) -> Health {
        self.report(None).await
    }

    /// Like [`health`](Self::health), also reading `store` (a record that does not exist) to
    /// check that it answers.
    pub async fn health_with_store(&self, store: &impl tower_sessions::SessionStore) -> Health {
        let probe = tower_sessions::session::Id::default();
        let store = match store.load(&probe).await {
            Ok(_) => StoreHealth {
                reachable: true,
                error: None,
            },
            Err(err) => StoreHealth {
                reachable: false,
                error: Some(err.to_string()),
            },
        };
        self.report(Some(store)).await
    }

    async fn report(&self, store: Option<StoreHealth>) -> Health {
        let inner = &self.inner;
        let keys = inner.core.verifier.health();
        let now = inner.core.clock.now();
        let jwks = JwksHealth {
            keys: keys.keys,
            age_secs: keys
                .fetched_at
                .map(|at| now.duration_since(at).unwrap_or_default().as_secs()),
            last_error: keys.last_error,
        };
        let stats = inner.core.stats.snapshot();
        let refresh = RefreshHealth {
            succeeding: inner.core.stats.last_refresh_ok(),
        };
        let ready = jwks.keys > 0 && store.as_ref().is_none_or(|s| s.reachable);
        Health {
            ready,
            jwks,
            store,
            refresh,
            stats,
        }
    }
}
