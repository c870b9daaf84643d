//! Organizations: create, get (by id or external id), update, delete, list.

use std::collections::BTreeMap;

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{OrganizationDomain, Organizations, Timestamp};
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// An organization (`object: "organization"`): a customer of your app, whose users are its
/// members.
///
/// ```
/// use authkit_axum::organizations::{DomainState, Organization};
///
/// let org: Organization = serde_json::from_value(serde_json::json!({
///     "object": "organization", "id": "org_1", "name": "Acme Corp",
///     "domains": [{ "object": "organization_domain", "id": "org_domain_1",
///                   "organization_id": "org_1", "domain": "acme.com", "state": "verified",
///                   "created_at": "2026-01-15T12:00:00.000Z", "updated_at": "2026-01-15T12:00:00.000Z" }],
///     "metadata": { "tier": "gold" }, "external_id": null,
///     "created_at": "2026-01-15T12:00:00.000Z", "updated_at": "2026-01-15T12:00:00.000Z",
///     "a_field_added_later": true
/// })).unwrap();
/// assert_eq!(org.domains[0].state, Some(DomainState::Verified));
/// assert_eq!(org.metadata["tier"], "gold");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Organization {
    /// The organization id, `org_...`.
    pub id: String,
    /// The name (not necessarily unique).
    pub name: String,
    /// Its domains.
    #[serde(default)]
    pub domains: Vec<OrganizationDomain>,
    /// Key-value metadata (at most 50 entries).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Your own identifier for the organization (unique in the environment).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The Stripe customer id, when one is attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_customer_id: Option<String>,
    /// When the organization was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When the organization was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// A domain given when creating or updating an organization, with the state it starts in.
///
/// `verified` is for domains you have verified yourself; `pending` domains wait for the DNS
/// verification of [`Organizations::verify_organization_domain`].
///
/// ```
/// use authkit_axum::organizations::DomainData;
///
/// let body = serde_json::to_value(DomainData::pending("acme.com")).unwrap();
/// assert_eq!(body, serde_json::json!({"domain": "acme.com", "state": "pending"}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DomainData {
    /// The domain, e.g. `acme.com`.
    pub domain: String,
    /// `pending` or `verified`.
    pub state: DomainDataState,
}

impl DomainData {
    /// A domain you have verified yourself.
    pub fn verified(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            state: DomainDataState::Verified,
        }
    }

    /// A domain still to be verified.
    pub fn pending(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            state: DomainDataState::Pending,
        }
    }
}

string_enum!(
    /// The state a [`DomainData`] domain starts in.
    pub enum DomainDataState {
        /// To be verified.
        Pending = "pending",
        /// Already verified.
        Verified = "verified",
    }
);

/// Parameters of [`Organizations::create_organization`].
///
/// ```
/// use authkit_axum::organizations::{CreateOrganization, DomainData};
///
/// let params = CreateOrganization::new("Acme Corp")
///     .domain_data([DomainData::verified("acme.com")])
///     .external_id("acct_42")
///     .metadata([("tier", "gold")]);
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body, serde_json::json!({
///     "name": "Acme Corp",
///     "domain_data": [{"domain": "acme.com", "state": "verified"}],
///     "external_id": "acct_42",
///     "metadata": {"tier": "gold"},
/// }));
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CreateOrganization {
    /// The name. Required.
    pub name: String,
    /// Domains and their states.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_data: Option<Vec<DomainData>>,
    /// Your own identifier (unique: a taken one is refused with `external_id_already_used`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Key-value metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl CreateOrganization {
    /// An organization named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            domain_data: None,
            external_id: None,
            metadata: None,
        }
    }

    /// Sets the domains.
    pub fn domain_data(mut self, domains: impl IntoIterator<Item = DomainData>) -> Self {
        self.domain_data = Some(domains.into_iter().collect());
        self
    }

    /// Sets the external id.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Sets the metadata.
    pub fn metadata<K: Into<String>, V: Into<String>>(
        mut self,
        metadata: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.metadata = Some(
            metadata
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }
}

/// Parameters of [`Organizations::update_organization`]: what to change.
///
/// `domain_data` replaces the organization's domains (a domain kept keeps its id).
///
/// ```
/// use authkit_axum::organizations::UpdateOrganization;
///
/// let params = UpdateOrganization::new().name("Acme Inc.").clear_external_id();
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body, serde_json::json!({"name": "Acme Inc.", "external_id": null}));
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct UpdateOrganization {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New domains (replacing the current ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_data: Option<Vec<DomainData>>,
    /// New external id; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<Option<String>>,
    /// New metadata; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Option<BTreeMap<String, String>>>,
    /// The Stripe customer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripe_customer_id: Option<String>,
}

impl UpdateOrganization {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the domains.
    pub fn domain_data(mut self, domains: impl IntoIterator<Item = DomainData>) -> Self {
        self.domain_data = Some(domains.into_iter().collect());
        self
    }

    /// Sets the external id.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(Some(external_id.into()));
        self
    }

    /// Clears the external id.
    pub fn clear_external_id(mut self) -> Self {
        self.external_id = Some(None);
        self
    }

    /// Replaces the metadata.
    pub fn metadata<K: Into<String>, V: Into<String>>(
        mut self,
        metadata: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.metadata = Some(Some(
            metadata
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ));
        self
    }

    /// Clears the metadata.
    pub fn clear_metadata(mut self) -> Self {
        self.metadata = Some(None);
        self
    }
}

setters!(UpdateOrganization {
    /// Sets the name.
    name: String,
    /// Sets the Stripe customer id.
    stripe_customer_id: String,
});

/// Parameters of [`Organizations::list_organizations`].
///
/// ```
/// use authkit_axum::organizations::ListOrganizations;
///
/// let params = ListOrganizations::new().domains(["acme.com"]).search("Acme").limit(20);
/// assert_eq!(params.domains, ["acme.com"]);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListOrganizations {
    /// Only organizations with one of these domains (empty: no filter).
    pub domains: Vec<String>,
    /// Only organizations whose name contains this text (case-insensitive).
    pub search: Option<String>,
    /// Pagination.
    pub page: PageParams,
}

impl ListOrganizations {
    /// Every organization.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only organizations with one of these domains.
    pub fn domains<S: Into<String>>(mut self, domains: impl IntoIterator<Item = S>) -> Self {
        self.domains = domains.into_iter().map(Into::into).collect();
        self
    }
}

setters!(ListOrganizations {
    /// Filters by name.
    search: String,
});
page_setters!(ListOrganizations);

impl Organizations {
    /// Creates an organization. `POST /organizations`.
    ///
    /// The call carries an `Idempotency-Key` (unless the client was built with
    /// [`idempotency_keys(false)`](crate::ClientBuilder::idempotency_keys)), reused across its
    /// retries, so a retried create makes one organization.
    pub async fn create_organization(&self, params: CreateOrganization) -> Result<Organization> {
        self.client
            .execute(Endpoint::post("/organizations", &[]).json(&params))
            .await
    }

    /// Gets an organization by id. `GET /organizations/{id}`.
    pub async fn get_organization(&self, id: &str) -> Result<Organization> {
        self.client
            .execute(Endpoint::get("/organizations/{id}", &[id]))
            .await
    }

    /// Gets an organization by your own external id.
    /// `GET /organizations/external_id/{external_id}`.
    pub async fn get_organization_by_external_id(&self, external_id: &str) -> Result<Organization> {
        self.client
            .execute(Endpoint::get(
                "/organizations/external_id/{external_id}",
                &[external_id],
            ))
            .await
    }

    /// Updates an organization. `PUT /organizations/{id}`.
    pub async fn update_organization(
        &self,
        id: &str,
        params: UpdateOrganization,
    ) -> Result<Organization> {
        self.client
            .execute(Endpoint::put("/organizations/{id}", &[id]).json(&params))
            .await
    }

    /// Deletes an organization, and with it its memberships. `DELETE /organizations/{id}`.
    pub async fn delete_organization(&self, id: &str) -> Result<()> {
        self.client
            .execute_empty(Endpoint::delete("/organizations/{id}", &[id]))
            .await
    }

    /// Lists organizations, one page. `GET /organizations`.
    pub async fn list_organizations(
        &self,
        params: &ListOrganizations,
    ) -> Result<Page<Organization>> {
        let mut endpoint = Endpoint::get("/organizations", &[]);
        for domain in &params.domains {
            endpoint = endpoint.query("domains", domain);
        }
        let endpoint = endpoint.query_opt("search", params.search.as_deref());
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists organizations across every page, as a stream. `GET /organizations`.
    pub fn list_organizations_stream(
        &self,
        params: ListOrganizations,
    ) -> impl Stream<Item = Result<Organization>> + Send + 'static {
        let orgs = self.clone();
        let first = params.page.clone();
        paginate(first, move |page| {
            let orgs = orgs.clone();
            let params = ListOrganizations {
                page,
                ..params.clone()
            };
            async move { orgs.list_organizations(&params).await }
        })
    }
}
