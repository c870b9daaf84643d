//! Users: create, get (by id or external id), update, delete, list.

use std::collections::BTreeMap;

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::SecretString;
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// A User Management user (`object: "user"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user id, `user_...`.
    pub id: String,
    /// The email address.
    pub email: String,
    /// Whether the email address is verified.
    #[serde(default)]
    pub email_verified: bool,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Profile picture URL.
    #[serde(default)]
    pub profile_picture_url: Option<String>,
    /// Your own identifier for the user.
    #[serde(default)]
    pub external_id: Option<String>,
    /// When the user last signed in.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<Timestamp>,
    /// Key-value metadata (at most 50 entries).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Preferred locale.
    #[serde(default)]
    pub locale: Option<String>,
    /// When the user was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When the user was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl User {
    /// "First Last", or whichever of the two is set, or the email.
    pub fn display_name(&self) -> String {
        match (self.first_name.as_deref(), self.last_name.as_deref()) {
            (Some(f), Some(l)) if !f.is_empty() && !l.is_empty() => format!("{f} {l}"),
            (Some(n), _) | (_, Some(n)) if !n.is_empty() => n.to_owned(),
            _ => self.email.clone(),
        }
    }
}

string_enum!(
    /// How a password hash was made, for importing users with `password_hash`.
    pub enum PasswordHashType {
        /// bcrypt.
        Bcrypt = "bcrypt",
        /// Firebase's scrypt variant.
        FirebaseScrypt = "firebase-scrypt",
        /// Salted SHA.
        Ssha = "ssha",
        /// scrypt.
        Scrypt = "scrypt",
        /// PBKDF2.
        Pbkdf2 = "pbkdf2",
        /// Argon2.
        Argon2 = "argon2",
    }
);

/// Parameters of [`UserManagement::create_user`].
///
/// ```
/// use authkit_axum::user_management::CreateUser;
///
/// let params = CreateUser::new("ada@example.com")
///     .password("correct horse battery staple")
///     .first_name("Ada")
///     .email_verified(true);
/// // The password is redacted in debug output.
/// assert!(!format!("{params:?}").contains("horse"));
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CreateUser {
    /// The email address. Required.
    pub email: String,
    /// A plain-text password (mutually exclusive with `password_hash`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    /// An imported password hash; needs `password_hash_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<SecretString>,
    /// The algorithm of `password_hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_hash_type: Option<PasswordHashType>,
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Mark the email as already verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Your own identifier (at most 128 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Key-value metadata (at most 50 keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl CreateUser {
    /// A new user with this email address.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password: None,
            password_hash: None,
            password_hash_type: None,
            first_name: None,
            last_name: None,
            email_verified: None,
            external_id: None,
            metadata: None,
        }
    }

    /// Imports a password hash made with `hash_type`.
    pub fn password_hash(
        mut self,
        hash: impl Into<SecretString>,
        hash_type: PasswordHashType,
    ) -> Self {
        self.password_hash = Some(hash.into());
        self.password_hash_type = Some(hash_type);
        self
    }
}

setters!(CreateUser {
    /// Sets a plain-text password.
    password: SecretString,
    /// Sets the first name.
    first_name: String,
    /// Sets the last name.
    last_name: String,
    /// Marks the email as verified (or not).
    email_verified: bool,
    /// Sets your own identifier.
    external_id: String,
    /// Sets the metadata.
    metadata: BTreeMap<String, String>,
});

/// Parameters of [`UserManagement::update_user`]. Only the fields you set are sent; the
/// others stay as they are.
///
/// ```
/// use authkit_axum::user_management::UpdateUser;
///
/// let params = UpdateUser::new().first_name("Grace").clear_external_id();
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body, serde_json::json!({"first_name": "Grace", "external_id": null}));
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct UpdateUser {
    /// New email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// New last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Mark the email verified or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// New plain-text password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    /// New imported password hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<SecretString>,
    /// Algorithm of `password_hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_hash_type: Option<PasswordHashType>,
    /// New external id; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<Option<String>>,
    /// New metadata; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Option<BTreeMap<String, String>>>,
    /// New locale; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<Option<String>>,
}

impl UpdateUser {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
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
    pub fn metadata(mut self, metadata: BTreeMap<String, String>) -> Self {
        self.metadata = Some(Some(metadata));
        self
    }

    /// Clears the metadata.
    pub fn clear_metadata(mut self) -> Self {
        self.metadata = Some(None);
        self
    }

    /// Sets the locale.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(Some(locale.into()));
        self
    }

    /// Clears the locale.
    pub fn clear_locale(mut self) -> Self {
        self.locale = Some(None);
        self
    }

    /// Sets an imported password hash.
    pub fn password_hash(
        mut self,
        hash: impl Into<SecretString>,
        hash_type: PasswordHashType,
    ) -> Self {
        self.password_hash = Some(hash.into());
        self.password_hash_type = Some(hash_type);
        self
    }
}

setters!(UpdateUser {
    /// Sets the email address.
    email: String,
    /// Sets the first name.
    first_name: String,
    /// Sets the last name.
    last_name: String,
    /// Marks the email verified or not.
    email_verified: bool,
    /// Sets a new plain-text password.
    password: SecretString,
});

/// Parameters of [`UserManagement::list_users`].
///
/// ```
/// use authkit_axum::user_management::ListUsers;
///
/// let params = ListUsers::new().organization_id("org_123").limit(100);
/// assert_eq!(params.page.limit, Some(100));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListUsers {
    /// Only the user with this email.
    pub email: Option<String>,
    /// Only members of this organization.
    pub organization_id: Option<String>,
    /// Pagination.
    pub page: PageParams,
}

impl ListUsers {
    /// All users.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ListUsers {
    /// Filters by email.
    email: String,
    /// Filters by organization.
    organization_id: String,
});
page_setters!(ListUsers);

impl UserManagement {
    /// Creates a user. `POST /user_management/users`.
    pub async fn create_user(&self, params: CreateUser) -> Result<User> {
        self.client
            .execute(Endpoint::post("/user_management/users", &[]).json(&params))
            .await
    }

    /// Gets a user by id. `GET /user_management/users/{id}`.
    pub async fn get_user(&self, id: &str) -> Result<User> {
        self.client
            .execute(Endpoint::get("/user_management/users/{id}", &[id]))
            .await
    }

    /// Gets a user by your external id. `GET /user_management/users/external_id/{external_id}`.
    pub async fn get_user_by_external_id(&self, external_id: &str) -> Result<User> {
        self.client
            .execute(Endpoint::get(
                "/user_management/users/external_id/{external_id}",
                &[external_id],
            ))
            .await
    }

    /// Updates a user; unset fields are left as they are. `PUT /user_management/users/{id}`.
    pub async fn update_user(&self, id: &str, params: UpdateUser) -> Result<User> {
        self.client
            .execute(Endpoint::put("/user_management/users/{id}", &[id]).json(&params))
            .await
    }

    /// Deletes a user permanently. `DELETE /user_management/users/{id}`.
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        self.client
            .execute_empty(Endpoint::delete("/user_management/users/{id}", &[id]))
            .await
    }

    /// Lists users, one page. `GET /user_management/users`.
    pub async fn list_users(&self, params: &ListUsers) -> Result<Page<User>> {
        let endpoint = Endpoint::get("/user_management/users", &[])
            .query_opt("email", params.email.as_deref())
            .query_opt("organization_id", params.organization_id.as_deref());
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists users across every page, as a stream. `GET /user_management/users`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// use futures_util::TryStreamExt;
    /// use authkit_axum::user_management::ListUsers;
    ///
    /// let all: Vec<_> = um.list_users_stream(ListUsers::new().limit(100)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list_users_stream(
        &self,
        params: ListUsers,
    ) -> impl Stream<Item = Result<User>> + Send + 'static {
        let um = self.clone();
        let first = params.page.clone();
        paginate(first, move |page| {
            let um = um.clone();
            let params = ListUsers {
                page,
                ..params.clone()
            };
            async move { um.list_users(&params).await }
        })
    }
}
