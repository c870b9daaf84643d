//! Sessions: the logout URL, revoking a session, the JWKS that verifies access tokens, and
//! listing a user's sessions.

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{Impersonator, Timestamp, UserManagement};
use crate::Error;
use crate::client::{Endpoint, Page, PageParams, Result, paginate};

/// A JSON Web Key Set: the public keys that sign access tokens (`GET /sso/jwks/{client_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwks {
    /// The keys; pick the one whose `kid` matches the token header's.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The key with this `kid`, if any.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// One RSA signing key of a [`Jwks`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// The algorithm, `RS256`.
    pub alg: String,
    /// The key type, `RSA`.
    pub kty: String,
    /// The key use, `sig`.
    #[serde(rename = "use")]
    pub key_use: String,
    /// The key id, matched against the JWT header's `kid`.
    pub kid: String,
    /// The RSA modulus (base64url, no padding).
    pub n: String,
    /// The RSA public exponent (base64url, no padding).
    pub e: String,
    /// The certificate chain (standard base64 DER).
    #[serde(default)]
    pub x5c: Vec<String>,
    /// The SHA-256 thumbprint of the certificate (base64url).
    #[serde(rename = "x5t#S256", default, skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

string_enum!(
    /// How a [`Session`] was created (`auth_method`; snake_case, unlike
    /// [`AuthenticationMethod`](super::AuthenticationMethod)).
    pub enum SessionAuthMethod {
        /// Cross-app authentication.
        CrossAppAuth = "cross_app_auth",
        /// An external authentication provider.
        ExternalAuth = "external_auth",
        /// Impersonation.
        Impersonation = "impersonation",
        /// A Magic Auth code.
        MagicCode = "magic_code",
        /// A migrated session.
        MigratedSession = "migrated_session",
        /// An OAuth provider.
        OAuth = "oauth",
        /// A passkey.
        Passkey = "passkey",
        /// Email and password.
        Password = "password",
        /// Single sign-on.
        Sso = "sso",
        /// Not known.
        UnknownMethod = "unknown",
    }
);

string_enum!(
    /// The state of a [`Session`].
    pub enum SessionStatus {
        /// The session can be refreshed.
        Active = "active",
        /// The session reached its end of life.
        Expired = "expired",
        /// The session was revoked or signed out.
        Revoked = "revoked",
    }
);

/// An AuthKit session (`object: "session"`), the `sid` of its access tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Session {
    /// The session id, `session_...`.
    pub id: String,
    /// The user.
    pub user_id: String,
    /// The organization the session is scoped to, if any.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The IP address the session was created from.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// The user agent the session was created from.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// How the session was created.
    pub auth_method: SessionAuthMethod,
    /// Its state.
    pub status: SessionStatus,
    /// The impersonator, on impersonated sessions.
    #[serde(default)]
    pub impersonator: Option<Impersonator>,
    /// When it expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: Timestamp,
    /// When it ended, if it did.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<Timestamp>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// Parameters of [`UserManagement::list_sessions`]: pagination only.
///
/// ```
/// use authkit_axum::user_management::ListSessions;
///
/// let params = ListSessions::new().limit(25);
/// assert_eq!(params.page.limit, Some(25));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListSessions {
    /// Pagination.
    pub page: PageParams,
}

impl ListSessions {
    /// The first page, WorkOS's default size.
    pub fn new() -> Self {
        Self::default()
    }
}
page_setters!(ListSessions);

#[derive(Serialize)]
struct RevokeBody<'a> {
    session_id: &'a str,
}

impl UserManagement {
    /// The URL to send the browser to for signing out: it ends the session and redirects to
    /// `return_to` (or the dashboard's default logout URI). Builds
    /// `{base}/user_management/sessions/logout?session_id=..&return_to=..`; sends nothing.
    ///
    /// ```
    /// # fn run(um: authkit_axum::user_management::UserManagement) -> Result<(), authkit_axum::Error> {
    /// let url = um.get_logout_url("session_01H", Some("https://app.example.com/"))?;
    /// assert!(url.contains("/user_management/sessions/logout?session_id=session_01H"));
    /// # Ok(()) }
    /// ```
    pub fn get_logout_url(&self, session_id: &str, return_to: Option<&str>) -> Result<String> {
        if session_id.trim().is_empty() {
            return Err(Error::InvalidInput(
                "session_id is empty: the logout URL needs the access token's sid claim".into(),
            ));
        }
        let prefix = format!("{}user_management/sessions/logout?", self.client.base_url());
        let start = prefix.len();
        let mut query = form_urlencoded::Serializer::for_suffix(prefix, start);
        query.append_pair("session_id", session_id);
        if let Some(return_to) = return_to {
            query.append_pair("return_to", return_to);
        }
        Ok(query.finish())
    }

    /// Revokes a session: its refresh tokens stop working (access tokens already issued stay
    /// valid until they expire). `POST /user_management/sessions/revoke`.
    pub async fn revoke_session(&self, session_id: &str) -> Result<()> {
        if session_id.trim().is_empty() {
            return Err(Error::InvalidInput("session_id is empty".into()));
        }
        self.client
            .execute_empty(
                Endpoint::post("/user_management/sessions/revoke", &[])
                    .json(&RevokeBody { session_id }),
            )
            .await
    }

    /// The JWKS URL of this client: `{base}/sso/jwks/{client_id}`.
    pub fn get_jwks_url(&self) -> String {
        // The client id was checked at build time: no `/`, `?`, `#` or spaces.
        let id: String =
            percent_encoding::utf8_percent_encode(self.client.client_id(), JWKS_SEGMENT).collect();
        format!("{}sso/jwks/{id}", self.client.base_url())
    }

    /// Fetches the keys that sign access tokens. `GET /sso/jwks/{client_id}`, sent without
    /// the API key (the endpoint is public).
    pub async fn get_jwks(&self) -> Result<Jwks> {
        self.client
            .execute(Endpoint::get("/sso/jwks/{client_id}", &[self.client.client_id()]).public())
            .await
    }

    /// Lists a user's active sessions, one page. `GET /user_management/users/{id}/sessions`.
    pub async fn list_sessions(
        &self,
        user_id: &str,
        params: &ListSessions,
    ) -> Result<Page<Session>> {
        let endpoint = Endpoint::get("/user_management/users/{id}/sessions", &[user_id]);
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists a user's active sessions across every page, as a stream.
    /// `GET /user_management/users/{id}/sessions`.
    pub fn list_sessions_stream(
        &self,
        user_id: &str,
        params: ListSessions,
    ) -> impl Stream<Item = Result<Session>> + Send + 'static {
        let um = self.clone();
        let user_id = user_id.to_owned();
        paginate(params.page, move |page| {
            let um = um.clone();
            let user_id = user_id.clone();
            async move { um.list_sessions(&user_id, &ListSessions { page }).await }
        })
    }
}

/// What a path segment leaves as it is: RFC 3986's unreserved characters and sub-delimiters.
const JWKS_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
