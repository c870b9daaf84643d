//! Feature flags: all of them, one by slug, and those on for a user or an organization.

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// A feature flag (`object: "feature_flag"`). The slugs of the flags on for a session also
/// arrive in its access token ([`AccessTokenClaims::feature_flags`](crate::session::AccessTokenClaims::feature_flags)).
///
/// ```
/// use authkit_axum::user_management::FeatureFlag;
///
/// let flag: FeatureFlag = serde_json::from_value(serde_json::json!({
///     "object": "feature_flag", "id": "flag_01", "slug": "advanced-analytics",
///     "name": "Advanced Analytics", "description": null, "owner": null, "tags": ["reports"],
///     "enabled": true, "default_value": false,
///     "created_at": "2026-01-15T12:00:00.000Z", "updated_at": "2026-01-15T12:00:00.000Z"
/// })).unwrap();
/// assert!(flag.enabled && flag.owner.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureFlag {
    /// The id, `flag_...`.
    pub id: String,
    /// The unique key, e.g. `advanced-analytics`.
    pub slug: String,
    /// A display name.
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// Who owns it.
    #[serde(default)]
    pub owner: Option<FeatureFlagOwner>,
    /// Labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether it is active in this environment.
    #[serde(default)]
    pub enabled: bool,
    /// The value for those no targeting rule matches.
    #[serde(default)]
    pub default_value: bool,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// The owner of a [`FeatureFlag`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureFlagOwner {
    /// The owner's email.
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
}

/// Which list of flags a call reads.
#[derive(Debug, Clone)]
enum FlagList {
    All,
    User(String),
    Organization(String),
}

impl UserManagement {
    /// Lists every feature flag, one page. `GET /feature-flags`.
    pub async fn list_feature_flags(&self, page: &PageParams) -> Result<Page<FeatureFlag>> {
        self.flags(&FlagList::All, page).await
    }

    /// Lists every feature flag across every page, as a stream. `GET /feature-flags`.
    pub fn list_feature_flags_stream(
        &self,
        page: PageParams,
    ) -> impl Stream<Item = Result<FeatureFlag>> + Send + 'static {
        self.flags_stream(FlagList::All, page)
    }

    /// Gets a feature flag by its slug. `GET /feature-flags/{slug}`.
    pub async fn get_feature_flag(&self, slug: &str) -> Result<FeatureFlag> {
        self.client
            .execute(Endpoint::get("/feature-flags/{slug}", &[slug]))
            .await
    }

    /// Lists the feature flags on for a user (for the user, or for an organization the user
    /// is a member of), one page. `GET /user_management/users/{userId}/feature-flags`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// use authkit_axum::user_management::PageParams;
    ///
    /// let flags = um.list_user_feature_flags("user_123", &PageParams::default()).await?;
    /// let beta = flags.data.iter().any(|f| f.slug == "beta-dashboard");
    /// # let _ = beta; Ok(()) }
    /// ```
    pub async fn list_user_feature_flags(
        &self,
        user_id: &str,
        page: &PageParams,
    ) -> Result<Page<FeatureFlag>> {
        self.flags(&FlagList::User(user_id.to_owned()), page).await
    }

    /// Lists the feature flags on for a user across every page, as a stream.
    /// `GET /user_management/users/{userId}/feature-flags`.
    pub fn list_user_feature_flags_stream(
        &self,
        user_id: &str,
        page: PageParams,
    ) -> impl Stream<Item = Result<FeatureFlag>> + Send + 'static {
        self.flags_stream(FlagList::User(user_id.to_owned()), page)
    }

    /// Lists the feature flags on for an organization, one page.
    /// `GET /organizations/{organizationId}/feature-flags`.
    pub async fn list_organization_feature_flags(
        &self,
        organization_id: &str,
        page: &PageParams,
    ) -> Result<Page<FeatureFlag>> {
        self.flags(&FlagList::Organization(organization_id.to_owned()), page)
            .await
    }

    /// Lists the feature flags on for an organization across every page, as a stream.
    /// `GET /organizations/{organizationId}/feature-flags`.
    pub fn list_organization_feature_flags_stream(
        &self,
        organization_id: &str,
        page: PageParams,
    ) -> impl Stream<Item = Result<FeatureFlag>> + Send + 'static {
        self.flags_stream(FlagList::Organization(organization_id.to_owned()), page)
    }

    async fn flags(&self, list: &FlagList, page: &PageParams) -> Result<Page<FeatureFlag>> {
        let endpoint = match list {
            FlagList::All => Endpoint::get("/feature-flags", &[]),
            FlagList::User(id) => {
                Endpoint::get("/user_management/users/{userId}/feature-flags", &[id])
            }
            FlagList::Organization(id) => {
                Endpoint::get("/organizations/{organizationId}/feature-flags", &[id])
            }
        };
        self.client.execute(page.apply(endpoint)).await
    }

    fn flags_stream(
        &self,
        list: FlagList,
        page: PageParams,
    ) -> impl Stream<Item = Result<FeatureFlag>> + Send + 'static {
        let um = self.clone();
        paginate(page, move |page| {
            let um = um.clone();
            let list = list.clone();
            async move { um.flags(&list, &page).await }
        })
    }
}
