//! Invitations: send, get, find by token, list, revoke, resend, accept.

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Timestamp, UserManagement};
use crate::SecretString;
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// An invitation to sign up, optionally into an organization (`object: "invitation"`).
///
/// Its `token` and `accept_invitation_url` are secrets (redacted in `Debug`): whoever holds
/// them can accept the invitation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Invitation {
    /// The invitation id, `invitation_...`.
    pub id: String,
    /// The invited email address.
    pub email: String,
    /// `pending`, `accepted`, `expired` or `revoked`.
    pub state: InvitationState,
    /// When it was accepted.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<Timestamp>,
    /// When it was revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<Timestamp>,
    /// When it expires (or expired).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: Timestamp,
    /// The organization the invitee joins, if any.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The user who sent it, if named.
    #[serde(default)]
    pub inviter_user_id: Option<String>,
    /// The user who accepted it.
    #[serde(default)]
    pub accepted_user_id: Option<String>,
    /// The role given on acceptance (none without an organization).
    #[serde(default)]
    pub role_slug: Option<String>,
    /// The secret invitation token (pass it as `invitation_token` when signing in).
    #[serde(default)]
    pub token: SecretString,
    /// The link the invitee follows. It carries the token, so it is a secret too.
    #[serde(default)]
    pub accept_invitation_url: SecretString,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

string_enum!(
    /// The state of an [`Invitation`].
    pub enum InvitationState {
        /// Sent and not yet used.
        Pending = "pending",
        /// Accepted.
        Accepted = "accepted",
        /// Past its expiry.
        Expired = "expired",
        /// Revoked.
        Revoked = "revoked",
    }
);

/// Parameters of [`UserManagement::send_invitation`].
///
/// ```
/// use authkit_axum::user_management::SendInvitation;
///
/// let params = SendInvitation::new("ada@example.com")
///     .organization_id("org_456")
///     .role_slug("admin")
///     .expires_in_days(14);
/// let body = serde_json::to_value(&params).unwrap();
/// assert_eq!(body["expires_in_days"], 14);
/// assert!(body.get("locale").is_none());
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SendInvitation {
    /// The recipient. Required.
    pub email: String,
    /// The organization to join.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// The role given on acceptance (with an organization).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_slug: Option<String>,
    /// Days until it expires, 1–30 (WorkOS's default is 7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
    /// The user named as the inviter in the email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inviter_user_id: Option<String>,
    /// The email's language, e.g. `en`, `de`, `pt-BR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl SendInvitation {
    /// An invitation to `email`.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            organization_id: None,
            role_slug: None,
            expires_in_days: None,
            inviter_user_id: None,
            locale: None,
        }
    }

    /// Sets the days until expiry (1–30; WorkOS refuses others with
    /// `expires_in_days_too_short` / `expires_in_days_too_long`).
    pub fn expires_in_days(mut self, days: u32) -> Self {
        self.expires_in_days = Some(days);
        self
    }
}

setters!(SendInvitation {
    /// Sets the organization to join.
    organization_id: String,
    /// Sets the role given on acceptance.
    role_slug: String,
    /// Names the inviting user.
    inviter_user_id: String,
    /// Sets the email's language.
    locale: String,
});

/// Parameters of [`UserManagement::resend_invitation`].
///
/// ```
/// use authkit_axum::user_management::ResendInvitation;
///
/// assert_eq!(serde_json::to_value(ResendInvitation::new()).unwrap(), serde_json::json!({}));
/// assert_eq!(
///     serde_json::to_value(ResendInvitation::new().locale("fr")).unwrap(),
///     serde_json::json!({"locale": "fr"})
/// );
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct ResendInvitation {
    /// The email's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl ResendInvitation {
    /// Resends in the original language.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ResendInvitation {
    /// Sets the email's language.
    locale: String,
});

/// Parameters of [`UserManagement::list_invitations`].
///
/// ```
/// use authkit_axum::user_management::ListInvitations;
///
/// let params = ListInvitations::new().organization_id("org_456").limit(20);
/// assert_eq!(params.organization_id.as_deref(), Some("org_456"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListInvitations {
    /// Only invitations to this organization.
    pub organization_id: Option<String>,
    /// Only invitations to this email address.
    pub email: Option<String>,
    /// Pagination.
    pub page: PageParams,
}

impl ListInvitations {
    /// All invitations.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ListInvitations {
    /// Filters by organization.
    organization_id: String,
    /// Filters by email.
    email: String,
});
page_setters!(ListInvitations);

impl UserManagement {
    /// Sends an invitation email. `POST /user_management/invitations`.
    pub async fn send_invitation(&self, params: SendInvitation) -> Result<Invitation> {
        self.client
            .execute(Endpoint::post("/user_management/invitations", &[]).json(&params))
            .await
    }

    /// Gets an invitation by id. `GET /user_management/invitations/{id}`.
    pub async fn get_invitation(&self, id: &str) -> Result<Invitation> {
        self.client
            .execute(Endpoint::get("/user_management/invitations/{id}", &[id]))
            .await
    }

    /// Finds an invitation by its token, e.g. the `invitation_token` your accept page
    /// received. `GET /user_management/invitations/by_token/{token}`.
    pub async fn find_invitation_by_token(&self, token: &str) -> Result<Invitation> {
        self.client
            .execute(Endpoint::get(
                "/user_management/invitations/by_token/{token}",
                &[token],
            ))
            .await
    }

    /// Lists invitations, one page. `GET /user_management/invitations`.
    pub async fn list_invitations(&self, params: &ListInvitations) -> Result<Page<Invitation>> {
        let endpoint = Endpoint::get("/user_management/invitations", &[])
            .query_opt("organization_id", params.organization_id.as_deref())
            .query_opt("email", params.email.as_deref());
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists invitations across every page, as a stream. `GET /user_management/invitations`.
    pub fn list_invitations_stream(
        &self,
        params: ListInvitations,
    ) -> impl Stream<Item = Result<Invitation>> + Send + 'static {
        let um = self.clone();
        let first = params.page.clone();
        paginate(first, move |page| {
            let um = um.clone();
            let params = ListInvitations {
                page,
                ..params.clone()
            };
            async move { um.list_invitations(&params).await }
        })
    }

    /// Revokes a pending invitation. `POST /user_management/invitations/{id}/revoke`.
    pub async fn revoke_invitation(&self, id: &str) -> Result<Invitation> {
        self.client
            .execute(Endpoint::post(
                "/user_management/invitations/{id}/revoke",
                &[id],
            ))
            .await
    }

    /// Sends a pending invitation's email again (refused with `invite_expired`,
    /// `invite_revoked` or `invite_accepted` otherwise).
    /// `POST /user_management/invitations/{id}/resend`.
    pub async fn resend_invitation(
        &self,
        id: &str,
        params: ResendInvitation,
    ) -> Result<Invitation> {
        self.client
            .execute(
                Endpoint::post("/user_management/invitations/{id}/resend", &[id]).json(&params),
            )
            .await
    }

    /// Accepts a pending invitation; when it names an organization, the invitee's membership
    /// becomes active. `POST /user_management/invitations/{id}/accept`.
    pub async fn accept_invitation(&self, id: &str) -> Result<Invitation> {
        self.client
            .execute(Endpoint::post(
                "/user_management/invitations/{id}/accept",
                &[id],
            ))
            .await
    }
}
