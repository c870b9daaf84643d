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
