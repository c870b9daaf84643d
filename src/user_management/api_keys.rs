//! API keys your customers' machines call your app with: validate a key's value, create, list
//! and delete the keys of an organization or a user.
//!
//! These are not the WorkOS API key your app calls WorkOS with: they are keys WorkOS issues
//! on your behalf to your customers (e.g. through the API keys widget), which your API
//! checks with [`UserManagement::validate_api_key`] — or lets
//! [`AuthKitBuilder::api_keys`](crate::AuthKitBuilder::api_keys) check for it.

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::SecretString;
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// An API key (`object: "api_key"`), without its value.
///
/// ```
/// use authkit_axum::user_management::{ApiKey, ApiKeyOwnerType};
///
/// let key: ApiKey = serde_json::from_value(serde_json::json!({
///     "object": "api_key",
///     "id": "api_key_01",
///     "owner": { "type": "user", "id": "user_01", "organization_id": "org_01" },
///     "name": "CI",
///     "obfuscated_value": "sk_...3456",
///     "last_used_at": null,
///     "permissions": ["posts:read"],
///     "created_at": "2026-01-15T12:00:00.000Z",
///     "updated_at": "2026-01-15T12:00:00.000Z"
/// })).unwrap();
/// assert_eq!(key.owner.kind, ApiKeyOwnerType::User);
/// assert_eq!(key.organization_id(), "org_01");
/// assert!(key.has_permission("posts:read"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiKey {
    /// The key's id, `api_key_...`.
    pub id: String,
    /// Who owns it: an organization, or a user within one of their organizations.
    pub owner: ApiKeyOwner,
    /// Its descriptive name.
    pub name: String,
    /// A recognisable but useless form of the value, e.g. `sk_...3456`.
    pub obfuscated_value: String,
    /// When it was last used (validated).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<Timestamp>,
    /// The permission slugs it grants.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl ApiKey {
    /// The organization the key can access: its owner, or its owning user's organization.
    pub fn organization_id(&self) -> &str {
        match self.owner.kind {
            ApiKeyOwnerType::User => self.owner.organization_id.as_deref().unwrap_or_default(),
            _ => self
                .owner
                .organization_id
                .as_deref()
                .unwrap_or(&self.owner.id),
        }
    }

    /// Whether the key grants `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

/// The owner of an [`ApiKey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiKeyOwner {
    /// `organization` or `user`.
    #[serde(rename = "type")]
    pub kind: ApiKeyOwnerType,
    /// The owner's id: `org_...` or `user_...`.
    pub id: String,
    /// For a user's key, the organization it can access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

string_enum!(
    /// What owns an [`ApiKey`].
    pub enum ApiKeyOwnerType {
        /// An organization.
        Organization = "organization",
        /// A user, within one organization.
        User = "user",
    }
);

/// A key just created: the [`ApiKey`] (also through `Deref`) and its value, which WorkOS
/// shows this once. Hand the value to its holder and do not store it; its `Debug` is
/// redacted.
///
/// ```
/// use authkit_axum::user_management::CreatedApiKey;
///
/// let created: CreatedApiKey = serde_json::from_value(serde_json::json!({
///     "object": "api_key",
///     "id": "api_key_01",
///     "owner": { "type": "organization", "id": "org_01" },
///     "name": "Reporting",
///     "obfuscated_value": "sk_...cdef",
///     "last_used_at": null,
///     "permissions": [],
///     "created_at": "2026-01-15T12:00:00.000Z",
///     "updated_at": "2026-01-15T12:00:00.000Z",
///     "value": "sk_0123456789abcdef"
/// })).unwrap();
/// assert_eq!(created.name, "Reporting");
/// assert_eq!(created.value.expose_secret(), "sk_0123456789abcdef");
/// assert!(!format!("{created:?}").contains("sk_0123456789abcdef"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreatedApiKey {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The full value, `sk_...`: shown only now.
    pub value: SecretString,
}

impl std::ops::Deref for CreatedApiKey {
    type Target = ApiKey;

    fn deref(&self) -> &ApiKey {
        &self.key
    }
}

#[derive(Deserialize)]
struct Validation {
    api_key: Option<ApiKey>,
}

/// Parameters of [`UserManagement::create_organization_api_key`].
///
/// ```
/// use authkit_axum::user_management::CreateOrganizationApiKey;
///
/// let params = CreateOrganizationApiKey::new("Reporting").permissions(["reports:read"]);
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body, serde_json::json!({"name": "Reporting", "permissions": ["reports:read"]}));
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CreateOrganizationApiKey {
    /// The key's name. Required.
    pub name: String,
    /// The permission slugs it grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

impl CreateOrganizationApiKey {
    /// A key named `name`, with no permissions.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            permissions: None,
        }
    }

    /// Sets the permission slugs.
    pub fn permissions<I: IntoIterator<Item = S>, S: Into<String>>(mut self, slugs: I) -> Self {
        self.permissions = Some(slugs.into_iter().map(Into::into).collect());
        self
    }
}

/// Parameters of [`UserManagement::create_user_api_key`].
///
/// ```
/// use authkit_axum::user_management::CreateUserApiKey;
///
/// let params = CreateUserApiKey::new("Laptop CLI", "org_01").permissions(["posts:read"]);
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body["organization_id"], "org_01");
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CreateUserApiKey {
    /// The key's name. Required.
    pub name: String,
    /// The organization the key can access; the user must be an active member. Required.
    pub organization_id: String,
    /// The permission slugs it grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

impl CreateUserApiKey {
    /// A key named `name` for the user's membership in `organization_id`.
    pub fn new(name: impl Into<String>, organization_id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            organization_id: organization_id.into(),
            permissions: None,
        }
    }

    /// Sets the permission slugs.
    pub fn permissions<I: IntoIterator<Item = S>, S: Into<String>>(mut self, slugs: I) -> Self {
        self.permissions = Some(slugs.into_iter().map(Into::into).collect());
        self
    }
}

/// Parameters of [`UserManagement::list_organization_api_keys`].
///
/// ```
/// use authkit_axum::user_management::ListOrganizationApiKeys;
///
/// let params = ListOrganizationApiKeys::new().limit(50);
/// assert_eq!(params.page.limit, Some(50));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListOrganizationApiKeys {
    /// Pagination.
    pub page: PageParams,
}

impl ListOrganizationApiKeys {
    /// All of the organization's keys.
    pub fn new() -> Self {
        Self::default()
    }
}

page_setters!(ListOrganizationApiKeys);

/// Parameters of [`UserManagement::list_user_api_keys`].
///
/// ```
/// use authkit_axum::user_management::ListUserApiKeys;
///
/// let params = ListUserApiKeys::new().organization_id("org_01");
/// assert_eq!(params.organization_id.as_deref(), Some("org_01"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListUserApiKeys {
    /// Only the keys for this organization.
    pub organization_id: Option<String>,
    /// Pagination.
    pub page: PageParams,
}

impl ListUserApiKeys {
    /// All of the user's keys.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ListUserApiKeys {
    /// Filters by organization.
    organization_id: String,
});
page_setters!(ListUserApiKeys);

impl UserManagement {
    /// Validates an API key's value, as a client presented it: `Some(key)` (its owner,
    /// organization and permissions) when it is a live key, `None` when it is unknown or was
    /// deleted. `POST /api_keys/validations`.
    ///
    /// ```no_run
    /// # async fn run(client: authkit_axum::Client, presented: &str) -> Result<(), authkit_axum::Error> {
    /// match client.user_management().validate_api_key(presented).await? {
    ///     Some(key) => println!("{} of {} may {:?}", key.name, key.organization_id(), key.permissions),
    ///     None => println!("refused"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn validate_api_key(&self, value: &str) -> Result<Option<ApiKey>> {
        let validation: Validation = self
            .client
            .execute(
                Endpoint::post("/api_keys/validations", &[])
                    .json(&serde_json::json!({ "value": value })),
            )
            .await?;
        Ok(validation.api_key)
    }

    /// Validates a key in one attempt (no retries), for the auth layer's fast answer.
    #[cfg(feature = "axum")]
    pub(crate) async fn validate_api_key_once(&self, value: &str) -> Result<Option<ApiKey>> {
        let validation: Validation = self
            .client
            .execute(
                Endpoint::post("/api_keys/validations", &[])
                    .json(&serde_json::json!({ "value": value }))
                    .once(),
            )
            .await?;
        Ok(validation.api_key)
    }

    /// Creates an API key for an organization. The answer holds the value, shown this once.
    /// `POST /organizations/{organizationId}/api_keys`.
    pub async fn create_organization_api_key(
        &self,
        organization_id: &str,
        params: CreateOrganizationApiKey,
    ) -> Result<CreatedApiKey> {
        self.client
            .execute(
                Endpoint::post(
                    "/organizations/{organizationId}/api_keys",
                    &[organization_id],
                )
                .json(&params),
            )
            .await
    }

    /// Lists an organization's API keys, one page.
    /// `GET /organizations/{organizationId}/api_keys`.
    pub async fn list_organization_api_keys(
        &self,
        organization_id: &str,
        params: &ListOrganizationApiKeys,
    ) -> Result<Page<ApiKey>> {
        let endpoint = Endpoint::get(
            "/organizations/{organizationId}/api_keys",
            &[organization_id],
        );
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists an organization's API keys across every page, as a stream.
    /// `GET /organizations/{organizationId}/api_keys`.
    pub fn list_organization_api_keys_stream(
        &self,
        organization_id: &str,
        params: ListOrganizationApiKeys,
    ) -> impl Stream<Item = Result<ApiKey>> + Send + 'static {
        let um = self.clone();
        let organization_id = organization_id.to_owned();
        paginate(params.page.clone(), move |page| {
            let um = um.clone();
            let organization_id = organization_id.clone();
            async move {
                um.list_organization_api_keys(&organization_id, &ListOrganizationApiKeys { page })
                    .await
            }
        })
    }

    /// Creates an API key owned by a user, for one of their organizations (an active
    /// membership). The answer holds the value, shown this once.
    /// `POST /user_management/users/{userId}/api_keys`.
    pub async fn create_user_api_key(
        &self,
        user_id: &str,
        params: CreateUserApiKey,
    ) -> Result<CreatedApiKey> {
        self.client
            .execute(
                Endpoint::post("/user_management/users/{userId}/api_keys", &[user_id])
                    .json(&params),
            )
            .await
    }

    /// Lists a user's API keys, one page. `GET /user_management/users/{userId}/api_keys`.
    pub async fn list_user_api_keys(
        &self,
        user_id: &str,
        params: &ListUserApiKeys,
    ) -> Result<Page<ApiKey>> {
        let endpoint = Endpoint::get("/user_management/users/{userId}/api_keys", &[user_id])
            .query_opt("organization_id", params.organization_id.as_deref());
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists a user's API keys across every page, as a stream.
    /// `GET /user_management/users/{userId}/api_keys`.
    pub fn list_user_api_keys_stream(
        &self,
        user_id: &str,
        params: ListUserApiKeys,
    ) -> impl Stream<Item = Result<ApiKey>> + Send + 'static {
        let um = self.clone();
        let user_id = user_id.to_owned();
        let first = params.page.clone();
        paginate(first, move |page| {
            let um = um.clone();
            let user_id = user_id.clone();
            let params = ListUserApiKeys {
                page,
                ..params.clone()
            };
            async move { um.list_user_api_keys(&user_id, &params).await }
        })
    }

    /// Deletes an API key for good: it no longer validates. `DELETE /api_keys/{id}`.
    pub async fn delete_api_key(&self, id: &str) -> Result<()> {
        self.client
            .execute_empty(Endpoint::delete("/api_keys/{id}", &[id]))
            .await
    }
}
