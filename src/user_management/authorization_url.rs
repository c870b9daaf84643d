//! The authorization URL: where to send the browser to sign in (AuthKit's hosted page, an
//! OAuth provider or an SSO connection), with PKCE and a `state` nonce.
//!
//! Nothing here calls WorkOS: [`UserManagement::get_authorization_url`] only builds the URL
//! of `GET /user_management/authorize`, which the browser then visits.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::UserManagement;
use crate::SecretString;
use crate::client::{Error, Result};

string_enum!(
    /// An identity provider of `GET /user_management/authorize` (its `provider` parameter).
    ///
    /// ```
    /// use authkit_axum::user_management::Provider;
    ///
    /// assert_eq!(Provider::GoogleOAuth.as_str(), "GoogleOAuth");
    /// assert_eq!(Provider::from("authkit"), Provider::AuthKit);
    /// // Providers added after this crate was released still round-trip.
    /// assert_eq!(Provider::from("NewOAuth").as_str(), "NewOAuth");
    /// ```
    pub enum Provider {
        /// AuthKit's hosted sign-in page.
        AuthKit = "authkit",
        /// Sign in with Apple.
        AppleOAuth = "AppleOAuth",
        /// Bitbucket.
        BitbucketOAuth = "BitbucketOAuth",
        /// GitHub.
        GitHubOAuth = "GitHubOAuth",
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

string_enum!(
    /// Which AuthKit screen to open first (`screen_hint`).
    ///
    /// ```
    /// use authkit_axum::user_management::ScreenHint;
    ///
    /// assert_eq!(ScreenHint::SignUp.to_string(), "sign-up");
    /// ```
    pub enum ScreenHint {
        /// The sign-up form.
        SignUp = "sign-up",
        /// The sign-in form (WorkOS's default).
        SignIn = "sign-in",
    }
);

/// How the user signs in: the connection selector of the authorization URL.
///
/// ```
/// use authkit_axum::user_management::{Provider, SignInWith};
///
/// assert_eq!(SignInWith::default(), SignInWith::AuthKit);
/// let google = SignInWith::Provider(Provider::GoogleOAuth);
/// let sso = SignInWith::ConnectionId("conn_01E4ZCR3C56J083X43JQXF3JK5".into());
/// # let _ = (google, sso);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignInWith {
    /// AuthKit's hosted page (`provider=authkit`). The default.
    #[default]
    AuthKit,
    /// An OAuth provider (`provider=...`).
    Provider(Provider),
    /// An SSO connection (`connection_id=...`).
    ConnectionId(String),
    /// The organization's sign-in (`organization_id=...`): its SSO connection, or AuthKit
    /// scoped to that organization, as the organization is set up.
    OrganizationId(String),
}

impl SignInWith {
    pub(crate) fn allows_screen_hint(&self) -> bool {
        matches!(
            self,
            SignInWith::AuthKit
                | SignInWith::Provider(Provider::AuthKit)
                | SignInWith::OrganizationId(_)
        )
    }
}

/// Parameters of [`UserManagement::get_authorization_url`].
///
/// ```
/// use authkit_axum::user_management::{AuthorizationUrl, Pkce, ScreenHint, random_state};
///
/// let pkce = Pkce::new();
/// let params = AuthorizationUrl::new("https://app.example.com/auth/callback")
///     .state(random_state())
///     .login_hint("ada@example.com")
///     .screen_hint(ScreenHint::SignUp)
///     .pkce(&pkce);
/// assert_eq!(params.code_challenge.as_deref(), Some(pkce.challenge()));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthorizationUrl {
    /// Where WorkOS sends the browser back with `code` and `state`. Required; one of the
    /// redirect URIs configured in the WorkOS dashboard.
    pub redirect_uri: String,
    /// How the user signs in. Default: AuthKit.
    pub sign_in_with: SignInWith,
    /// An opaque value echoed back on the callback; check it there (CSRF protection).
    pub state: Option<String>,
    /// Pre-fills the email address.
    pub login_hint: Option<String>,
    /// A domain to look an SSO connection up by.
    pub domain_hint: Option<String>,
    /// Which AuthKit screen to open (AuthKit only).
    pub screen_hint: Option<ScreenHint>,
    /// Controls the flow, e.g. `login` or `consent`.
    pub prompt: Option<String>,
    /// An invitation to accept while signing in.
    pub invitation_token: Option<SecretString>,
    /// Extra OAuth scopes to ask the provider for (sent comma-joined).
    pub provider_scopes: Vec<String>,
    /// Extra query parameters for the OAuth provider (`provider_query_params[key]=value`).
    pub provider_query_params: BTreeMap<String, String>,
    /// The PKCE challenge (S256), usually set with [`pkce`](Self::pkce).
    pub code_challenge: Option<String>,
}

impl AuthorizationUrl {
    /// A sign-in with AuthKit that returns to `redirect_uri`.
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        Self {
            redirect_uri: redirect_uri.into(),
            sign_in_with: SignInWith::AuthKit,
            state: None,
            login_hint: None,
            domain_hint: None,
            screen_hint: None,
            prompt: None,
            invitation_token: None,
            provider_scopes: Vec::new(),
            provider_query_params: BTreeMap::new(),
            code_challenge: None,
        }
    }

    /// Chooses how the user signs in.
    pub fn sign_in_with(mut self, sign_in_with: SignInWith) -> Self {
        self.sign_in_with = sign_in_with;
        self
    }

    /// Uses this PKCE pair's challenge (keep its verifier for the code exchange).
    pub fn pkce(mut self, pkce: &Pkce) -> Self {
        self.code_challenge = Some(pkce.challenge().to_owned());
        self
    }

    /// Sets the extra OAuth scopes.
    pub fn provider_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.provider_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one query parameter for the OAuth provider.
    pub fn provider_query_param(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.provider_query_params.insert(key.into(), value.into());
        self
    }
}

setters!(AuthorizationUrl {
    /// Sets the `state` echoed back on the callback.
    state: String,
    /// Pre-fills the email address.
    login_hint: String,
    /// Sets the domain hint.
    domain_hint: String,
    /// Opens the sign-up or sign-in screen.
    screen_hint: ScreenHint,
    /// Sets the prompt.
    prompt: String,
    /// Sets the invitation to accept.
    invitation_token: SecretString,
    /// Sets the PKCE challenge directly (prefer [`pkce`](AuthorizationUrl::pkce)).
    code_challenge: String,
});

/// A PKCE pair (RFC 7636): a random verifier, kept by your app until the code exchange, and
/// its S256 challenge, sent in the authorization URL.
///
/// ```
/// use authkit_axum::user_management::Pkce;
///
/// let pkce = Pkce::new();
/// assert_eq!(pkce.verifier().expose_secret().len(), 43);
/// assert_eq!(pkce.challenge(), Pkce::s256_challenge(pkce.verifier().expose_secret()));
/// assert_eq!(pkce.method(), "S256");
/// // The verifier never shows in debug output.
/// assert!(!format!("{pkce:?}").contains(pkce.verifier().expose_secret()));
///
/// // A known verifier gives a known challenge.
/// let known = Pkce::from_verifier("abcdefghijklmnopqrstuvwxyz0123456789-._~ABC")?;
/// assert_eq!(known.challenge(), "01ZMlLDptILCmAeK1WZ14Du9xRCvfr-aPWvX7e4Hk4U");
/// # Ok::<(), authkit_axum::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

impl Pkce {
    /// A new pair: 32 random bytes as a 43-character base64url verifier.
    pub fn new() -> Self {
        let bytes: [u8; 32] = rand::random();
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = Self::s256_challenge(&verifier);
        Self {
            verifier: SecretString::new(verifier),
            challenge,
        }
    }

    /// The pair of an existing verifier: 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`.
    pub fn from_verifier(verifier: impl Into<String>) -> Result<Self> {
        let verifier = verifier.into();
        let len = verifier.len();
        if !(43..=128).contains(&len) {
            return Err(Error::InvalidInput(format!(
                "a PKCE code verifier has 43 to 128 characters, this one has {len}"
            )));
        }
        if !verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(Error::InvalidInput(
                "a PKCE code verifier may only contain A-Z, a-z, 0-9, '-', '.', '_' and '~'".into(),
            ));
        }
        let challenge = Self::s256_challenge(&verifier);
        Ok(Self {
            verifier: SecretString::new(verifier),
            challenge,
        })
    }

    /// The verifier: keep it (server side) and send it with the code exchange.
    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// The challenge: base64url (no padding) of the verifier's SHA-256.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The challenge method, always `S256`.
    pub fn method(&self) -> &'static str {
        "S256"
    }

    /// The S256 challenge of `verifier`: `BASE64URL(SHA256(verifier))`, unpadded.
    pub fn s256_challenge(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(crate::digest::sha256(&[verifier.as_bytes()]))
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// A random `state` nonce: 32 random bytes as 43 base64url characters. Keep it (server
/// side) and compare it with the callback's `state`.
///
/// ```
/// let a = authkit_axum::user_management::random_state();
/// let b = authkit_axum::user_management::random_state();
/// assert_eq!(a.len(), 43);
/// assert_ne!(a, b);
/// ```
pub fn random_state() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

impl UserManagement {
    /// Builds the URL of `GET /user_management/authorize` to send the browser to. Nothing
    /// is sent: the browser visits it, and WorkOS redirects back to `redirect_uri` with
    /// `code` and `state` (or `error` and `error_description`).
    ///
    /// Fails with [`Error::InvalidInput`] when `redirect_uri` is not an absolute URL, or when
    /// a `screen_hint` is given for an OAuth provider or SSO connection (it is AuthKit's).
    ///
    /// ```
    /// use authkit_axum::Client;
    /// use authkit_axum::user_management::{AuthorizationUrl, Pkce};
    ///
    /// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
    /// let pkce = Pkce::new();
    /// let url = client.user_management().get_authorization_url(
    ///     &AuthorizationUrl::new("https://app.example.com/callback").state("xyz").pkce(&pkce),
    /// )?;
    /// assert!(url.starts_with(
    ///     "https://api.workos.com/user_management/authorize?client_id=client_123&redirect_uri="
    /// ));
    /// assert!(url.ends_with("&code_challenge_method=S256"));
    /// # Ok::<(), authkit_axum::Error>(())
    /// ```
    pub fn get_authorization_url(&self, params: &AuthorizationUrl) -> Result<String> {
        let redirect = params.redirect_uri.trim();
        if let Err(reason) = check_absolute(redirect) {
            return Err(Error::InvalidInput(format!(
                "redirect_uri {:?} is not an absolute URL ({reason}); expected e.g. https://app.example.com/auth/callback",
                params.redirect_uri
            )));
        }
        if params.screen_hint.is_some() && !params.sign_in_with.allows_screen_hint() {
            return Err(Error::InvalidInput(
                "screen_hint only applies to AuthKit; remove it or sign in with SignInWith::AuthKit"
                    .into(),
            ));
        }
        let prefix = format!("{}user_management/authorize?", self.client.base_url());
        let start = prefix.len();
        let mut q = form_urlencoded::Serializer::for_suffix(prefix, start);
        {
            q.append_pair("client_id", self.client.client_id());
            let redirect: String =
                percent_encoding::utf8_percent_encode(redirect, UNSAFE).collect();
            q.append_pair("redirect_uri", &redirect);
            q.append_pair("response_type", "code");
            match &params.sign_in_with {
                SignInWith::AuthKit => {
                    q.append_pair("provider", Provider::AuthKit.as_str());
                }
                SignInWith::Provider(provider) => {
                    q.append_pair("provider", provider.as_str());
                }
                SignInWith::ConnectionId(id) => {
                    q.append_pair("connection_id", id);
                }
                SignInWith::OrganizationId(id) => {
                    q.append_pair("organization_id", id);
                }
            }
            let optional = [
                ("state", params.state.as_deref()),
                ("login_hint", params.login_hint.as_deref()),
                ("domain_hint", params.domain_hint.as_deref()),
                (
                    "screen_hint",
                    params.screen_hint.as_ref().map(|s| s.as_str()),
                ),
                ("prompt", params.prompt.as_deref()),
                (
                    "invitation_token",
                    params.invitation_token.as_ref().map(|t| t.expose_secret()),
                ),
            ];
            for (name, value) in optional {
                if let Some(value) = value {
                    q.append_pair(name, value);
                }
            }
            if !params.provider_scopes.is_empty() {
                q.append_pair("provider_scopes", &params.provider_scopes.join(","));
            }
            for (key, value) in &params.provider_query_params {
                q.append_pair(&format!("provider_query_params[{key}]"), value);
            }
            if let Some(challenge) = &params.code_challenge {
                q.append_pair("code_challenge", challenge);
                q.append_pair("code_challenge_method", "S256");
            }
        }
        Ok(q.finish())
    }
}

/// Whether `uri` is absolute: a scheme (a letter, then letters, digits, `+`, `-` or `.`), a
/// colon and more; without spaces or control characters. Native apps use schemes of their own
/// (`myapp://callback`), so any scheme is accepted.
fn check_absolute(uri: &str) -> std::result::Result<(), &'static str> {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err("no scheme");
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err("no scheme");
    }
    if rest.is_empty() || rest == "//" {
        return Err("nothing after the scheme");
    }
    if uri.chars().any(char::is_control) {
        return Err("control characters");
    }
    Ok(())
}

/// Characters a URL cannot hold as they are (spaces, quotes, angle brackets, backticks and,
/// by `utf8_percent_encode` itself, anything outside ASCII), percent-encoded as browsers do.
const UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`');
