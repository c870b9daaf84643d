//! The framework-free session core: sign-in state kept in a tower-sessions store, with explicit
//! inputs (a store handle, a deadline) and nothing of axum, so it can be tested on its own.

pub(crate) mod attempts;
