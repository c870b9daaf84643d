//! Organization domains: add, get, verify, delete.

use serde::{Deserialize, Serialize};

use super::{Organizations, Timestamp};
use crate::client::{Endpoint, Result};

/// A domain of an organization (`object: "organization_domain"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationDomain {
    /// The domain id, `org_domain_...`.
    pub id: String,
    /// The organization it belongs to.
    pub organization_id: String,
    /// The domain, e.g. `acme.com`.
    pub domain: String,
    /// Its verification state.
    #[serde(default)]
    pub state: Option<DomainState>,
    /// How it is verified (`dns` or `manual`).
    #[serde(default)]
    pub verification_strategy: Option<VerificationStrategy>,
    /// The DNS TXT record's name prefix, for DNS verification.
    #[serde(default)]
    pub verification_prefix: Option<String>,
    /// The DNS TXT record's value, for DNS verification.
    #[serde(default)]
    pub verification_token: Option<String>,
    /// When the domain was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When the domain was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl OrganizationDomain {
    /// Whether the domain counts as verified (`verified` or `legacy_verified`).
    ///
    /// ```
    /// use authkit_axum::organizations::OrganizationDomain;
    ///
    /// let domain: OrganizationDomain = serde_json::from_value(serde_json::json!({
    ///     "object": "organization_domain", "id": "org_domain_1", "organization_id": "org_1",
    ///     "domain": "acme.com", "state": "legacy_verified",
    ///     "created_at": "2026-01-15T12:00:00.000Z", "updated_at": "2026-01-15T12:00:00.000Z"
    /// })).unwrap();
    /// assert!(domain.is_verified());
    /// ```
    pub fn is_verified(&self) -> bool {
        matches!(
            self.state,
            Some(DomainState::Verified | DomainState::LegacyVerified)
        )
    }
}

string_enum!(
    /// The verification state of an [`OrganizationDomain`].
    pub enum DomainState {
        /// Waiting for verification.
        Pending = "pending",
        /// Verified.
        Verified = "verified",
        /// Verification failed (expired, or the domain is verified by another organization).
        Failed = "failed",
        /// Not verified, and no verification under way.
        Unverified = "unverified",
        /// Verified before domain verification existed.
        LegacyVerified = "legacy_verified",
    }
);

string_enum!(
    /// How an [`OrganizationDomain`] is verified.
    pub enum VerificationStrategy {
        /// A DNS TXT record (`verification_prefix`, `verification_token`).
        Dns = "dns",
        /// By you, through the API or dashboard.
        Manual = "manual",
    }
);

/// Parameters of [`Organizations::create_organization_domain`].
///
/// ```
/// use authkit_axum::organizations::CreateOrganizationDomain;
///
/// let body = serde_json::to_value(CreateOrganizationDomain::new("org_1", "acme.com")).unwrap();
/// assert_eq!(body, serde_json::json!({"organization_id": "org_1", "domain": "acme.com"}));
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CreateOrganizationDomain {
    /// The organization. Required.
    pub organization_id: String,
    /// The domain. Required.
    pub domain: String,
}

impl CreateOrganizationDomain {
    /// Adds `domain` to `organization_id`.
    pub fn new(organization_id: impl Into<String>, domain: impl Into<String>) -> Self {
        Self {
            organization_id: organization_id.into(),
            domain: domain.into(),
        }
    }
}

impl Organizations {
    /// Adds a domain to an organization, `pending` until verified (a domain another
    /// organization has is refused with `domain_already_exists`). `POST /organization_domains`.
    pub async fn create_organization_domain(
        &self,
        params: CreateOrganizationDomain,
    ) -> Result<OrganizationDomain> {
        self.client
            .execute(Endpoint::post("/organization_domains", &[]).json(&params))
            .await
    }

    /// Gets a domain by id. `GET /organization_domains/{id}`.
    pub async fn get_organization_domain(&self, id: &str) -> Result<OrganizationDomain> {
        self.client
            .execute(Endpoint::get("/organization_domains/{id}", &[id]))
            .await
    }

    /// Starts (or retries) the verification of a domain and returns it with its new state
    /// (a verified one is refused with `domain_already_verified`).
    /// `POST /organization_domains/{id}/verify`.
    pub async fn verify_organization_domain(&self, id: &str) -> Result<OrganizationDomain> {
        self.client
            .execute(Endpoint::post("/organization_domains/{id}/verify", &[id]))
            .await
    }

    /// Removes a domain from its organization. `DELETE /organization_domains/{id}`.
    pub async fn delete_organization_domain(&self, id: &str) -> Result<()> {
        self.client
            .execute_empty(Endpoint::delete("/organization_domains/{id}", &[id]))
            .await
    }
}
