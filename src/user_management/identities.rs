//! User identities: the OAuth accounts linked to a user.

use serde::{Deserialize, Deserializer, Serialize};

use super::UserManagement;
use crate::client::{Endpoint, Result};

/// An OAuth identity linked to a user: who the user is at the provider.
///
/// ```
/// use authkit_axum::user_management::{Identity, IdentityProvider};
///
/// let identity: Identity = serde_json::from_value(serde_json::json!({
///     "idp_id": "4F42ABDE", "type": "OAuth", "provider": "GithubOAuth"
/// })).unwrap();
/// assert_eq!(identity.provider, IdentityProvider::GithubOAuth);
/// // The SDKs' spelling reads the same.
/// let other: Identity = serde_json::from_str(
///     r#"{"idp_id": "1", "type": "OAuth", "provider": "GitHubOAuth"}"#,
/// ).unwrap();
/// assert_eq!(other.provider, IdentityProvider::GithubOAuth);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identity {
    /// The user's id at the provider.
    pub idp_id: String,
    /// The kind of identity (`OAuth`).
    #[serde(rename = "type")]
    pub kind: IdentityType,
    /// The provider.
    #[serde(deserialize_with = "provider")]
    pub provider: IdentityProvider,
}

string_enum!(
    /// The kind of an [`Identity`].
    pub enum IdentityType {
        /// An OAuth provider's account.
        OAuth = "OAuth",
    }
);

string_enum!(
    /// The provider of an [`Identity`], as the spec names them.
    pub enum IdentityProvider {
        /// Sign in with Apple.
        AppleOAuth = "AppleOAuth",
        /// Bitbucket.
        BitbucketOAuth = "BitbucketOAuth",
        /// Discord.
        DiscordOAuth = "DiscordOAuth",
        /// GitHub (the spec spells it `GithubOAuth`; `GitHubOAuth` reads as this too).
        GithubOAuth = "GithubOAuth",
        /// GitLab.
        GitLabOAuth = "GitLabOAuth",
        /// Google.
        GoogleOAuth = "GoogleOAuth",
        /// Intuit.
        IntuitOAuth = "IntuitOAuth",
        /// LinkedIn.
        LinkedInOAuth = "LinkedInOAuth",
        /// Microsoft.
        MicrosoftOAuth = "MicrosoftOAuth",
        /// Salesforce.
        SalesforceOAuth = "SalesforceOAuth",
        /// Slack.
        SlackOAuth = "SlackOAuth",
        /// Vercel Marketplace.
        VercelMarketplaceOAuth = "VercelMarketplaceOAuth",
        /// Vercel.
        VercelOAuth = "VercelOAuth",
        /// Xero.
        XeroOAuth = "XeroOAuth",
    }
);

/// Reads a provider, taking both spellings of GitHub.
fn provider<'de, D: Deserializer<'de>>(deserializer: D) -> Result<IdentityProvider, D::Error> {
    let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    Ok(match raw.as_ref() {
        "GitHubOAuth" => IdentityProvider::GithubOAuth,
        other => IdentityProvider::from(other),
    })
}

impl UserManagement {
    /// The OAuth identities linked to a user (one per provider account the user signed in
    /// with). `GET /user_management/users/{id}/identities`.
    ///
    /// ```no_run
    /// # async fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// use authkit_axum::user_management::IdentityProvider;
    ///
    /// let identities = um.get_user_identities("user_01H5JQDV7R7ATEYZDEG0W5PRYS").await?;
    /// let has_google = identities.iter().any(|i| i.provider == IdentityProvider::GoogleOAuth);
    /// # let _ = has_google; Ok(()) }
    /// ```
    pub async fn get_user_identities(&self, user_id: &str) -> Result<Vec<Identity>> {
        self.client
            .execute(Endpoint::get(
                "/user_management/users/{id}/identities",
                &[user_id],
            ))
            .await
    }
}
