//! The WorkOS Organizations API: organizations, their domains, and the roles and permissions
//! their members can hold.
//!
//! Every operation is a method of [`Organizations`], reached with
//! [`Client::organizations`](crate::Client::organizations). Each method's docs name the
//! endpoint it calls. Parameters follow the [`user_management`](crate::user_management) style:
//! owned structs with a `new(required..)` constructor and builder setters; optional fields left
//! unset are not sent.
//!
//! ```no_run
//! # async fn run() -> Result<(), authkit_axum::Error> {
//! use authkit_axum::Client;
//! use authkit_axum::organizations::{CreateOrganization, DomainData};
//!
//! let client = Client::from_env()?;
//! let org = client
//!     .organizations()
//!     .create_organization(
//!         CreateOrganization::new("Acme Corp")
//!             .domain_data([DomainData::verified("acme.com")])
//!             .external_id("acct_42"),
//!     )
//!     .await?;
//! println!("{} has {} domain(s)", org.name, org.domains.len());
//! # Ok(()) }
//! ```

pub use crate::client::{ListMetadata, Order, Page, PageParams};

mod domains;
mod organization;
mod roles;

pub use domains::*;
pub use organization::*;
pub use roles::*;

use crate::Client;

/// The Organizations operations (organizations, organization domains, roles, permissions).
///
/// ```no_run
/// # async fn run() -> Result<(), authkit_axum::Error> {
/// let client = authkit_axum::Client::from_env()?;
/// let org = client.organizations().get_organization("org_01EHWNCE74X7JSDV0X3SZ3KJNY").await?;
/// println!("{}", org.name);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Organizations {
    pub(crate) client: Client,
}

impl Organizations {
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
