//! Groups: the groups of its organization a membership belongs to.

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// A group of an organization's members (`object: "group"`).
///
/// ```
/// use authkit_axum::user_management::Group;
///
/// let group: Group = serde_json::from_value(serde_json::json!({
///     "object": "group", "id": "group_01", "organization_id": "org_01", "name": "Engineering",
///     "description": null, "created_at": "2026-01-15T12:00:00.000Z",
///     "updated_at": "2026-01-15T12:00:00.000Z"
/// })).unwrap();
/// assert_eq!(group.name, "Engineering");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// The group id, `group_...`.
    pub id: String,
    /// Its organization.
    pub organization_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl UserManagement {
    /// Lists the groups an organization membership belongs to, one page.
    /// `GET /user_management/organization_memberships/{omId}/groups`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// use authkit_axum::user_management::PageParams;
    ///
    /// let groups = um.list_organization_membership_groups("om_123", &PageParams::default()).await?;
    /// let engineer = groups.data.iter().any(|g| g.name == "Engineering");
    /// # let _ = engineer; Ok(()) }
    /// ```
    pub async fn list_organization_membership_groups(
        &self,
        organization_membership_id: &str,
        page: &PageParams,
    ) -> Result<Page<Group>> {
        let endpoint = Endpoint::get(
            "/user_management/organization_memberships/{omId}/groups",
            &[organization_membership_id],
        );
        self.client.execute(page.apply(endpoint)).await
    }

    /// Lists the groups an organization membership belongs to across every page, as a stream.
    /// `GET /user_management/organization_memberships/{omId}/groups`.
    pub fn list_organization_membership_groups_stream(
        &self,
        organization_membership_id: &str,
        page: PageParams,
    ) -> impl Stream<Item = Result<Group>> + Send + 'static {
        let um = self.clone();
        let id = organization_membership_id.to_owned();
        paginate(page, move |page| {
            let um = um.clone();
            let id = id.clone();
            async move { um.list_organization_membership_groups(&id, &page).await }
        })
    }
}
