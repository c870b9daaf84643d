//! Session stores for [`AuthKit::session_layer`](crate::AuthKit::session_layer) (feature
//! `axum`). Any tower-sessions store works; these are the ones this crate provides.
//!
//! - [`MemoryStore`]: one process, in memory, with expired-record deletion.

mod memory;

pub use memory::MemoryStore;
