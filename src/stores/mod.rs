//! Session stores for apps on several machines, set up to survive the store going away:
//! they reconnect by themselves and fail fast (about a second) while the store is down, so
//! requests get a quick 503 instead of hanging, and nobody is signed out.
//!
//! | Store | Feature | For |
//! |---|---|---|
//! | `tower_sessions::MemoryStore` | (always) | one process; sessions end when it restarts |
//! | `redis::RedisStore` | `redis` | several machines on one Redis |
//! | `postgres::PostgresStore` | `postgres` | several machines on one PostgreSQL database |
//!
//! Any other tower-sessions store works too; give it a reconnect policy and timeouts of
//! about a second.

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
