//! A string that must never be printed: API keys, client secrets, passwords, tokens and codes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;

/// A secret string (API key, password, token, one-time code).
///
/// Its `Debug` and `Display` output is `[REDACTED]`, so a secret never reaches a log line
/// or a panic message by accident. It has no `PartialEq`: compare secrets with
/// [`SecretString::ct_eq`], which takes the same time whatever the inputs.
///
/// ```
/// use authkit_axum::SecretString;
///
/// let key = SecretString::from("sk_test_123");
/// assert_eq!(format!("{key:?}"), "SecretString([REDACTED])");
/// assert_eq!(key.expose_secret(), "sk_test_123");
/// assert!(key.ct_eq(&SecretString::from("sk_test_123")));
/// ```
#[derive(Clone, Default)]
pub struct SecretString(std::sync::Arc<str>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(std::sync::Arc::from(secret.into()))
    }

    /// The secret itself. Call this only where the value is sent or compared.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares two secrets in constant time (for equal lengths).
    pub fn ct_eq(&self, other: &SecretString) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([REDACTED])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}
