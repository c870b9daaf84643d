//! Authorized applications: the OAuth applications (WorkOS Connect) a user granted access;
//! list them, revoke one.

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// An application a user authorized (`object: "authorized_connect_application"`).
///
/// ```
/// use authkit_axum::user_management::{ApplicationType, AuthorizedApplication};
///
/// let app: AuthorizedApplication = serde_json::from_value(serde_json::json!({
///     "object": "authorized_connect_application",
///     "id": "authorized_connect_app_01",
///     "granted_scopes": ["openid", "profile"],
///     "application": {
///         "object": "connect_application", "id": "conn_app_01", "client_id": "client_01",
///         "description": null, "name": "Reporting", "scopes": ["openid", "profile", "email"],
///         "application_type": "oauth", "redirect_uris": [{"uri": "https://r.example/cb", "default": true}],
///         "uses_pkce": true, "is_first_party": false, "was_dynamically_registered": true,
///         "created_at": "2026-01-15T12:00:00.000Z", "updated_at": "2026-01-15T12:00:00.000Z"
///     }
/// })).unwrap();
/// assert_eq!(app.application.application_type, ApplicationType::OAuth);
/// assert_eq!(app.application.redirect_uris[0].uri, "https://r.example/cb");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizedApplication {
    /// The authorization id, `authorized_connect_app_...`.
    pub id: String,
    /// The scopes the user granted.
    #[serde(default)]
    pub granted_scopes: Vec<String>,
    /// The OAuth resource granted, if one was requested.
    #[serde(default)]
    pub oauth_resource: Option<String>,
    /// The application.
    pub application: ConnectApplication,
}

/// A WorkOS Connect application (`object: "connect_application"`): OAuth (with redirect URIs)
/// or machine-to-machine. Fields that only one kind has are `None` (or empty) for the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectApplication {
    /// The application id, `conn_app_...` (what [`UserManagement::delete_authorized_application`] takes).
    pub id: String,
    /// Its client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The scopes it may ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `oauth` or `m2m`.
    pub application_type: ApplicationType,
    /// Its redirect URIs (OAuth applications).
    #[serde(default)]
    pub redirect_uris: Vec<ApplicationRedirectUri>,
    /// Whether it uses PKCE (OAuth applications).
    #[serde(default)]
    pub uses_pkce: Option<bool>,
    /// Whether it is your own (first-party) application (OAuth applications).
    #[serde(default)]
    pub is_first_party: Option<bool>,
    /// Whether it registered itself dynamically (third-party OAuth applications).
    #[serde(default)]
    pub was_dynamically_registered: Option<bool>,
    /// The organization it belongs to, if any.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

string_enum!(
    /// The kind of a [`ConnectApplication`].
    pub enum ApplicationType {
        /// An OAuth application.
        OAuth = "oauth",
        /// A machine-to-machine application.
        M2m = "m2m",
    }
);

/// A redirect URI of a [`ConnectApplication`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApplicationRedirectUri {
    /// The URI.
    pub uri: String,
    /// Whether it is the default one.
    #[serde(default)]
    pub default: bool,
}

impl UserManagement {
    /// Lists the applications a user authorized, one page.
    /// `GET /user_management/users/{user_id}/authorized_applications`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// use authkit_axum::user_management::PageParams;
    ///
    /// let page = um.list_authorized_applications("user_123", &PageParams::default()).await?;
    /// for app in &page.data {
    ///     println!("{} may use {:?}", app.application.name, app.granted_scopes);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_authorized_applications(
        &self,
        user_id: &str,
        page: &PageParams,
    ) -> Result<Page<AuthorizedApplication>> {
        let endpoint = Endpoint::get(
            "/user_management/users/{user_id}/authorized_applications",
            &[user_id],
        );
        self.client.execute(page.apply(endpoint)).await
    }

    /// Lists the applications a user authorized across every page, as a stream.
    /// `GET /user_management/users/{user_id}/authorized_applications`.
    pub fn list_authorized_applications_stream(
        &self,
        user_id: &str,
        page: PageParams,
    ) -> impl Stream<Item = Result<AuthorizedApplication>> + Send + 'static {
        let um = self.clone();
        let user_id = user_id.to_owned();
        paginate(page, move |page| {
            let um = um.clone();
            let user_id = user_id.clone();
            async move { um.list_authorized_applications(&user_id, &page).await }
        })
    }

    /// Revokes a user's authorization of an application (named by its `conn_app_...` id):
    /// the application loses its access. 404 when the user did not authorize it.
    /// `DELETE /user_management/users/{user_id}/authorized_applications/{application_id}`.
    pub async fn delete_authorized_application(
        &self,
        user_id: &str,
        application_id: &str,
    ) -> Result<()> {
        self.client
            .execute_empty(Endpoint::delete(
                "/user_management/users/{user_id}/authorized_applications/{application_id}",
                &[user_id, application_id],
            ))
            .await
    }
}
