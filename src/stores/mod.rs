//! Session stores for [`AuthKit::session_layer`](crate::AuthKit::session_layer) (feature
//! `axum`). Any tower-sessions store works; these are set up for sign-in: the ones for several
//! machines reconnect by themselves and fail fast (about a second) while the store is down, so
//! requests get a quick 503 instead of hanging, and nobody is signed out.
//!
//! | Store | Feature | For |
//! |---|---|---|
//! | [`MemoryStore`] | (always) | one process, with expired-record deletion; sessions end when it restarts |
//! | `redis::RedisStore` | `redis` | several machines on one Redis |
//! | `postgres::PostgresStore` | `postgres` | several machines on one PostgreSQL database |
//!
//! Any other tower-sessions store works too; give it a reconnect policy and timeouts of
//! about a second.

mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;

pub use memory::MemoryStore;

/// The Redis session store crate for tower-sessions (feature `redis`). Prefer
/// [`stores::redis::RedisStore`](redis::RedisStore), which sets it up to
/// reconnect and fail fast:
///
/// ```no_run
/// # async fn f(authkit: authkit_axum::AuthKit) -> Result<(), Box<dyn std::error::Error>> {
/// let store = authkit_axum::stores::redis::RedisStore::connect("redis://127.0.0.1:6379").await?;
/// let layer = authkit.layer(store);
/// # Ok(()) }
/// ```
///
/// Building its `RedisStore` on a fred client of your own, give the client a
/// `ReconnectPolicy`, connection and command timeouts, and send the store's commands with
/// `Options { fail_fast: true, .. }`: a client made with `Client::new(config, None, None, None)`
/// never reconnects after Redis restarts, and every request then hangs.
#[cfg(feature = "redis")]
pub use tower_sessions_redis_store;

/// The SQLx session store crate for tower-sessions (feature `postgres`). Prefer
/// [`stores::postgres::PostgresStore`](postgres::PostgresStore), which
/// bounds every operation, migrates and deletes expired sessions.
#[cfg(feature = "postgres")]
pub use tower_sessions_sqlx_store;
