//! The WorkOS User Management API (AuthKit): one module per resource.
//!
//! Every operation is a method of [`UserManagement`], reached with
//! [`Client::user_management`](crate::Client::user_management). Each method's docs name the
//! endpoint it calls. Parameters are owned structs with a `new(required..)` constructor and
//! builder-style setters for the optional fields; optional fields left unset are not sent.

pub use crate::client::{ListMetadata, Order, Page, PageParams};

mod api_keys;
mod app_settings;
mod auth_factors;
mod authenticate;
mod authorization_url;
mod authorized_applications;
mod device;
mod email_change;
mod email_verification;
mod feature_flags;
mod groups;
mod identities;
mod invitations;
mod jwt_template;
mod magic_auth;
mod organization_memberships;
mod password_reset;
mod sessions;
mod users;
mod widgets;

pub use api_keys::*;
pub use app_settings::*;
pub use auth_factors::*;
pub use authenticate::*;
pub use authorization_url::*;
pub use authorized_applications::*;
pub use device::*;
pub use email_change::*;
pub use email_verification::*;
pub use feature_flags::*;
pub use groups::*;
pub use identities::*;
pub use invitations::*;
pub use jwt_template::*;
pub use magic_auth::*;
pub use organization_memberships::*;
pub use password_reset::*;
pub use sessions::*;
pub use users::*;
pub use widgets::*;

use crate::Client;

/// The User Management operations.
///
/// ```no_run
/// # async fn run() -> Result<(), authkit_axum::Error> {
/// use authkit_axum::Client;
///
/// let client = Client::from_env()?;
/// let user = client.user_management().get_user("user_01H5JQDV7R7ATEYZDEG0W5PRYS").await?;
/// println!("{} <{}>", user.first_name.as_deref().unwrap_or(""), user.email);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct UserManagement {
    pub(crate) client: Client,
}

impl UserManagement {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// The client this handle calls with.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// An ISO-8601 timestamp as WorkOS sends it.
pub type Timestamp = time::OffsetDateTime;
