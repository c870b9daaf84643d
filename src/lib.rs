//! # authkit-axum
//!
//! WorkOS AuthKit sign-in for [Axum](https://docs.rs/axum) apps.
//!
//! - [`Client`]: a typed, async client for the WorkOS User Management API.
//! - [`emulator`] (feature `emulator`): an in-process WorkOS emulator for development and tests.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[macro_use]
mod macros;

#[cfg(feature = "axum")]
mod axum;
mod client;
mod secret;
pub mod user_management;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::{
    ApiError, Client, ClientBuilder, ConfigError, DEFAULT_BASE_URL, EmailVerificationRequired,
    Error, FieldError, ListMetadata, MfaChallenge, MfaEnrollment, Order,
    OrganizationAuthenticationMethodsRequired, OrganizationSelectionRequired, Page, PageParams,
    Result, SsoRequired,
};
pub use secret::SecretString;

#[cfg(feature = "axum")]
pub use crate::axum::*;
#[cfg(feature = "axum")]
pub use tower_sessions;
