//! Widget tokens: what WorkOS's embeddable widgets (users table, SSO and domain setup, API
//! keys, ...) authenticate with in the browser.

use serde::{Deserialize, Serialize};

use super::UserManagement;
use crate::SecretString;
use crate::client::{Endpoint, Result};

string_enum!(
    /// What a widget token lets its widget do.
    pub enum WidgetScope {
        /// Manage the organization's users (the users table widget).
        UsersTableManage = "widgets:users-table:manage",
        /// Verify the organization's domains.
        DomainVerificationManage = "widgets:domain-verification:manage",
        /// Set up the organization's SSO connection.
        SsoManage = "widgets:sso:manage",
        /// Manage the organization's API keys.
        ApiKeysManage = "widgets:api-keys:manage",
        /// Set up Directory Sync.
        DsyncManage = "widgets:dsync:manage",
        /// Set up audit log streaming.
        AuditLogStreamingManage = "widgets:audit-log-streaming:manage",
    }
);

/// Parameters of [`UserManagement::get_widget_token`].
///
/// ```
/// use authkit_axum::user_management::{GetWidgetToken, WidgetScope};
///
/// let params = GetWidgetToken::new("org_01")
///     .user_id("user_01")
///     .scopes([WidgetScope::UsersTableManage]);
/// assert_eq!(
///     serde_json::to_value(&params).unwrap(),
///     serde_json::json!({
///         "organization_id": "org_01",
///         "user_id": "user_01",
///         "scopes": ["widgets:users-table:manage"]
///     })
/// );
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct GetWidgetToken {
    /// The organization the widgets act on. Required.
    pub organization_id: String,
    /// The user the token is issued for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// What the widgets may do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<WidgetScope>,
}

impl GetWidgetToken {
    /// A token for `organization_id`'s widgets.
    pub fn new(organization_id: impl Into<String>) -> Self {
        Self {
            organization_id: organization_id.into(),
            user_id: None,
            scopes: Vec::new(),
        }
    }

    /// Sets the scopes.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = WidgetScope>) -> Self {
        self.scopes = scopes.into_iter().collect();
        self
    }
}

setters!(GetWidgetToken {
    /// Sets the user the token is for.
    user_id: String,
});

/// A widget token (`{"token": ...}`): give it to the widget in the browser of the user it was
/// made for, and nobody else. `Debug` is redacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WidgetToken {
    /// The token.
    pub token: SecretString,
}

impl UserManagement {
    /// Generates a widget token for an organization (and user) with the given scopes.
    /// `POST /widgets/token`.
    ///
    /// ```no_run
    /// # async fn run(client: authkit_axum::Client) -> Result<(), authkit_axum::Error> {
    /// use authkit_axum::user_management::{GetWidgetToken, WidgetScope};
    ///
    /// let token = client
    ///     .user_management()
    ///     .get_widget_token(
    ///         GetWidgetToken::new("org_01")
    ///             .user_id("user_01")
    ///             .scopes([WidgetScope::UsersTableManage]),
    ///     )
    ///     .await?;
    /// # let _ = token;
    /// # Ok(()) }
    /// ```
    pub async fn get_widget_token(&self, params: GetWidgetToken) -> Result<WidgetToken> {
        self.client
            .execute(Endpoint::post("/widgets/token", &[]).json(&params))
            .await
    }
}
