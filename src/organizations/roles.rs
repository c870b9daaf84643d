//! Roles and permissions: the environment's roles, an organization's roles (its own custom
//! roles included), and the permissions roles grant.

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Organizations, Timestamp};
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// A role (`object: "role"`): what a membership's `role.slug` names, and the permissions it
/// grants (the access token's `permissions` claim).
///
/// ```
/// use authkit_axum::organizations::{Role, RoleType};
///
/// let role: Role = serde_json::from_value(serde_json::json!({
///     "object": "role", "id": "role_1", "slug": "admin", "name": "Admin", "description": null,
///     "type": "EnvironmentRole", "resource_type_slug": "organization",
///     "permissions": ["widgets:manage"],
///     "created_at": "2026-01-15T12:00:00.000Z", "updated_at": "2026-01-15T12:00:00.000Z"
/// })).unwrap();
/// assert_eq!(role.role_type, RoleType::EnvironmentRole);
/// assert_eq!(role.permissions, ["widgets:manage"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Role {
    /// The role id, `role_...`.
    pub id: String,
    /// The slug, e.g. `admin`.
    pub slug: String,
    /// The display name.
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the role is the environment's or an organization's own.
    #[serde(rename = "type")]
    pub role_type: RoleType,
    /// The resource type the role is scoped to (`organization` for membership roles).
    #[serde(default)]
    pub resource_type_slug: Option<String>,
    /// The permission slugs the role grants.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// When the role was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When the role was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

string_enum!(
    /// Where a [`Role`] is defined.
    pub enum RoleType {
        /// A role of the whole environment.
        EnvironmentRole = "EnvironmentRole",
        /// An organization's own (custom) role.
        OrganizationRole = "OrganizationRole",
    }
);

/// A permission (`object: "permission"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Permission {
    /// The permission id, `perm_...`.
    pub id: String,
    /// The slug, e.g. `widgets:read`: what access tokens carry.
    pub slug: String,
    /// The display name.
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether WorkOS manages it (system permissions cannot be deleted).
    #[serde(default)]
    pub system: bool,
    /// The resource type it applies to.
    #[serde(default)]
    pub resource_type_slug: Option<String>,
    /// When the permission was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When the permission was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// A role list as WorkOS sends it: every role in one response, without cursors.
#[derive(Deserialize)]
struct RoleList {
    data: Vec<Role>,
}

impl Organizations {
    /// The environment's roles. `GET /authorization/roles`.
    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        let list: RoleList = self
            .client
            .execute(Endpoint::get("/authorization/roles", &[]))
            .await?;
        Ok(list.data)
    }

    /// The roles an organization's members can hold: the environment's and the
    /// organization's own. `GET /authorization/organizations/{organizationId}/roles`.
    pub async fn list_organization_roles(&self, organization_id: &str) -> Result<Vec<Role>> {
        let list: RoleList = self
            .client
            .execute(Endpoint::get(
                "/authorization/organizations/{organizationId}/roles",
                &[organization_id],
            ))
            .await?;
        Ok(list.data)
    }

    /// The environment's permissions, one page. `GET /authorization/permissions`.
    pub async fn list_permissions(&self, page: &PageParams) -> Result<Page<Permission>> {
        self.client
            .execute(page.apply(Endpoint::get("/authorization/permissions", &[])))
            .await
    }

    /// The environment's permissions across every page, as a stream.
    /// `GET /authorization/permissions`.
    pub fn list_permissions_stream(
        &self,
        page: PageParams,
    ) -> impl Stream<Item = Result<Permission>> + Send + 'static {
        let orgs = self.clone();
        paginate(page, move |page| {
            let orgs = orgs.clone();
            async move { orgs.list_permissions(&page).await }
        })
    }
}
