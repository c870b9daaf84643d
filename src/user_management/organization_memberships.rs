//! Organization memberships: create, get, update roles, delete, deactivate, reactivate, list.

use std::collections::BTreeMap;

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Timestamp, User, UserManagement};
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// A user's membership of an organization (`object: "organization_membership"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationMembership {
    /// The membership id, `om_...`.
    pub id: String,
    /// The member's user id.
    pub user_id: String,
    /// The organization id, `org_...`.
    pub organization_id: String,
    /// The organization's name (not sent by older API versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    /// `active`, `inactive` (deactivated) or `pending` (invited, not yet accepted).
    pub status: OrganizationMembershipStatus,
    /// The primary role. An object `{slug}`, not a string.
    pub role: SlimRole,
    /// Every role, when the environment has Multiple Roles (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<SlimRole>>,
    /// Whether Directory Sync manages this membership.
    #[serde(default)]
    pub directory_managed: bool,
    /// Attributes from the identity provider (Directory Sync user or SSO profile).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_attributes: BTreeMap<String, serde_json::Value>,
    /// The member (embedded by current API versions; older ones leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// When the membership was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When the membership was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// A role reference: `{"slug": "admin"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SlimRole {
    /// The role's slug, e.g. `member` or `admin`.
    pub slug: String,
}

impl SlimRole {
    /// A role reference by slug.
    pub fn new(slug: impl Into<String>) -> Self {
        Self { slug: slug.into() }
    }
}

string_enum!(
    /// The status of an [`OrganizationMembership`].
    pub enum OrganizationMembershipStatus {
        /// A current member.
        Active = "active",
        /// Deactivated: kept, but without access.
        Inactive = "inactive",
        /// Invited, and the invitation is not accepted yet.
        Pending = "pending",
    }
);

/// Parameters of [`UserManagement::create_organization_membership`].
///
/// Give at most one of `role_slug` and `role_slugs`; setting one clears the other. Without
/// either, the environment's default role (usually `member`) is given.
///
/// ```
/// use authkit_axum::user_management::CreateOrganizationMembership;
///
/// let params = CreateOrganizationMembership::new("user_123", "org_456").role_slug("admin");
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(
///     body,
///     serde_json::json!({"user_id": "user_123", "organization_id": "org_456", "role_slug": "admin"})
/// );
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CreateOrganizationMembership {
    /// The user. Required.
    pub user_id: String,
    /// The organization. Required.
    pub organization_id: String,
    /// A single role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_slug: Option<String>,
    /// Several roles (needs Multiple Roles; otherwise at most one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_slugs: Option<Vec<String>>,
}

impl CreateOrganizationMembership {
    /// A membership of `user_id` in `organization_id`.
    pub fn new(user_id: impl Into<String>, organization_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            organization_id: organization_id.into(),
            role_slug: None,
            role_slugs: None,
        }
    }

    /// Gives one role (clears `role_slugs`).
    pub fn role_slug(mut self, slug: impl Into<String>) -> Self {
        self.role_slug = Some(slug.into());
        self.role_slugs = None;
        self
    }

    /// Gives several roles (clears `role_slug`).
    pub fn role_slugs<S: Into<String>>(mut self, slugs: impl IntoIterator<Item = S>) -> Self {
        self.role_slugs = Some(slugs.into_iter().map(Into::into).collect());
        self.role_slug = None;
        self
    }
}

/// Parameters of [`UserManagement::update_organization_membership`]: the new role(s).
///
/// ```
/// use authkit_axum::user_management::UpdateOrganizationMembership;
///
/// let params = UpdateOrganizationMembership::new().role_slugs(["admin", "billing"]);
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body, serde_json::json!({"role_slugs": ["admin", "billing"]}));
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct UpdateOrganizationMembership {
    /// A single role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_slug: Option<String>,
    /// Several roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_slugs: Option<Vec<String>>,
}

impl UpdateOrganizationMembership {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one role (clears `role_slugs`).
    pub fn role_slug(mut self, slug: impl Into<String>) -> Self {
        self.role_slug = Some(slug.into());
        self.role_slugs = None;
        self
    }

    /// Sets several roles (clears `role_slug`).
    pub fn role_slugs<S: Into<String>>(mut self, slugs: impl IntoIterator<Item = S>) -> Self {
        self.role_slugs = Some(slugs.into_iter().map(Into::into).collect());
        self.role_slug = None;
        self
    }
}

/// Parameters of [`UserManagement::list_organization_memberships`].
///
/// WorkOS needs at least one of `user_id` and `organization_id` (otherwise it answers 400
/// `missing_user_id_or_organization_id`), and returns only `active` memberships unless
/// `statuses` says otherwise.
///
/// ```
/// use authkit_axum::user_management::{ListOrganizationMemberships, OrganizationMembershipStatus};
///
/// let params = ListOrganizationMemberships::for_organization("org_456")
///     .statuses([OrganizationMembershipStatus::Active, OrganizationMembershipStatus::Pending])
///     .limit(50);
/// assert_eq!(params.statuses.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListOrganizationMemberships {
    /// Only this user's memberships.
    pub user_id: Option<String>,
    /// Only this organization's memberships.
    pub organization_id: Option<String>,
    /// Only these statuses (empty: WorkOS's default, `active` only). Sent comma-joined.
    pub statuses: Vec<OrganizationMembershipStatus>,
    /// Pagination.
    pub page: PageParams,
}

impl ListOrganizationMemberships {
    /// No filter yet: set `user_id` or `organization_id` before calling.
    pub fn new() -> Self {
        Self::default()
    }

    /// A user's memberships.
    pub fn for_user(user_id: impl Into<String>) -> Self {
        Self::new().user_id(user_id)
    }

    /// An organization's memberships.
    pub fn for_organization(organization_id: impl Into<String>) -> Self {
        Self::new().organization_id(organization_id)
    }

    /// Only memberships with these statuses.
    pub fn statuses(
        mut self,
        statuses: impl IntoIterator<Item = OrganizationMembershipStatus>,
    ) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }
}

setters!(ListOrganizationMemberships {
    /// Filters by user.
    user_id: String,
    /// Filters by organization.
    organization_id: String,
});
page_setters!(ListOrganizationMemberships);

impl UserManagement {
    /// Adds a user to an organization (or reactivates their inactive membership).
    /// `POST /user_management/organization_memberships`.
    pub async fn create_organization_membership(
        &self,
        params: CreateOrganizationMembership,
    ) -> Result<OrganizationMembership> {
        self.client
            .execute(Endpoint::post("/user_management/organization_memberships", &[]).json(&params))
            .await
    }

    /// Gets a membership by id. `GET /user_management/organization_memberships/{id}`.
    pub async fn get_organization_membership(&self, id: &str) -> Result<OrganizationMembership> {
        self.client
            .execute(Endpoint::get(
                "/user_management/organization_memberships/{id}",
                &[id],
            ))
            .await
    }

    /// Changes a membership's role(s). `PUT /user_management/organization_memberships/{id}`.
    pub async fn update_organization_membership(
        &self,
        id: &str,
        params: UpdateOrganizationMembership,
    ) -> Result<OrganizationMembership> {
        self.client
            .execute(
                Endpoint::put("/user_management/organization_memberships/{id}", &[id])
                    .json(&params),
            )
            .await
    }

    /// Deletes a membership permanently. `DELETE /user_management/organization_memberships/{id}`.
    pub async fn delete_organization_membership(&self, id: &str) -> Result<()> {
        self.client
            .execute_empty(Endpoint::delete(
                "/user_management/organization_memberships/{id}",
                &[id],
            ))
            .await
    }

    /// Deactivates a membership (a no-op if already inactive; a pending one is refused with
    /// `cannot_deactivate_pending_organization_membership`).
    /// `PUT /user_management/organization_memberships/{id}/deactivate`.
    pub async fn deactivate_organization_membership(
        &self,
        id: &str,
    ) -> Result<OrganizationMembership> {
        self.client
            .execute(Endpoint::put(
                "/user_management/organization_memberships/{id}/deactivate",
                &[id],
            ))
            .await
    }

    /// Reactivates a deactivated membership, keeping its roles (a pending one is refused with
    /// `cannot_reactivate_pending_organization_membership`).
    /// `PUT /user_management/organization_memberships/{id}/reactivate`.
    pub async fn reactivate_organization_membership(
        &self,
        id: &str,
    ) -> Result<OrganizationMembership> {
        self.client
            .execute(Endpoint::put(
                "/user_management/organization_memberships/{id}/reactivate",
                &[id],
            ))
            .await
    }

    /// Lists memberships, one page. `GET /user_management/organization_memberships`.
    pub async fn list_organization_memberships(
        &self,
        params: &ListOrganizationMemberships,
    ) -> Result<Page<OrganizationMembership>> {
        let statuses = (!params.statuses.is_empty()).then(|| {
            params
                .statuses
                .iter()
                .map(OrganizationMembershipStatus::as_str)
                .collect::<Vec<_>>()
                .join(",")
        });
        let endpoint = Endpoint::get("/user_management/organization_memberships", &[])
            .query_opt("user_id", params.user_id.as_deref())
            .query_opt("organization_id", params.organization_id.as_deref())
            .query_opt("statuses", statuses);
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists memberships across every page, as a stream.
    /// `GET /user_management/organization_memberships`.
    pub fn list_organization_memberships_stream(
        &self,
        params: ListOrganizationMemberships,
    ) -> impl Stream<Item = Result<OrganizationMembership>> + Send + 'static {
        let um = self.clone();
        let first = params.page.clone();
        paginate(first, move |page| {
            let um = um.clone();
            let params = ListOrganizationMemberships {
                page,
                ..params.clone()
            };
            async move { um.list_organization_memberships(&params).await }
        })
    }
}
