//! HTTPS for the client's connection pool ([`super::pool`]): rustls on the `ring` crypto
//! provider, with the platform's certificate verifier (the operating system's trust store).
//!
//! The provider is chosen here rather than taken from rustls' default (`aws-lc-rs`, a C
//! library whose build is most of a small app's build time) or from the process-wide default
//! (which would make the client depend on what else the app installed). An app that wants
//! other TLS settings passes its own configuration to
//! [`ClientBuilder::tls_config`](super::ClientBuilder::tls_config).

use std::sync::Arc;

/// The default TLS configuration.
pub(crate) fn client_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|err| format!("could not set up TLS certificate verification: {err}"))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("could not set up TLS: {err}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}
