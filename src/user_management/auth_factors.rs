//! Multi-factor authentication: enroll and list TOTP factors, challenge a factor.

use serde::{Deserialize, Serialize};

/// A factor as listed in an `mfa_challenge` step-up: `{id, type}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticationFactorSummary {
    /// The factor id, `auth_factor_...`.
    pub id: String,
    /// The factor type, e.g. `totp`.
    #[serde(rename = "type")]
    pub kind: String,
}
