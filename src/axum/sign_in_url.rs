//! Links to the sign-in and sign-up routes with options ([`SignInUrl`]), for the app's own
//! pages: "Sign in with Google", "Sign in to Acme", a pre-filled email, a page to return to.
//!
//! The link goes to this app's sign-in route, which makes the state and PKCE pair at the
//! moment it is followed and stores them in that browser's session, so a link can be rendered
//! into any page, cached or shared without carrying a secret.

use std::fmt;

use crate::user_management::Provider;

/// A link to the sign-in route (`/auth/login`) or the sign-up route (`/auth/signup`) with
/// options; made by [`AuthKit::sign_in_url`](super::AuthKit::sign_in_url) and
/// [`AuthKit::sign_up_url`](super::AuthKit::sign_up_url). `Display` gives the path and query.
///
/// ```
/// use authkit_axum::{AuthKit, Client};
/// use authkit_axum::user_management::Provider;
///
/// # fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder().api_key("sk_test_123").client_id("client_123").build()?;
/// let authkit = AuthKit::builder(client, "http://localhost:3000/auth/callback").build()?;
///
/// let google = authkit.sign_in_url().provider(Provider::GoogleOAuth).return_to("/projects");
/// assert_eq!(google.to_string(), "/auth/login?return_to=%2Fprojects&provider=GoogleOAuth");
///
/// let acme = authkit
///     .sign_in_url()
///     .organization("org_01EHZNVPK3SFK441A1RGBFSHRT")
///     .login_hint("ada@example.com");
/// assert!(acme.to_string().contains("login_hint=ada%40example.com"));
///
/// let again = authkit.sign_in_url().prompt("login"); // ask for credentials again
/// let join = authkit.sign_up_url().login_hint("grace@example.com");
/// assert!(join.to_string().starts_with("/auth/signup?"));
/// # let _ = again;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct SignInUrl {
    route: String,
    params: Vec<(&'static str, String)>,
}

impl SignInUrl {
    pub(crate) fn new(route: String) -> SignInUrl {
        SignInUrl {
            route,
            params: Vec::new(),
        }
    }

    fn set(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.params.retain(|(n, _)| *n != name);
        self.params.push((name, value.into()));
        self
    }

    /// Where to go after signing in: a path on this site (anything else is ignored by the
    /// route, which then uses the `after_sign_in` setting).
    pub fn return_to(self, path: impl Into<String>) -> Self {
        self.set("return_to", path)
    }

    /// Pre-fills the email address.
    pub fn login_hint(self, email: impl Into<String>) -> Self {
        self.set("login_hint", email)
    }

    /// Signs in to this organization: its SSO connection, or AuthKit scoped to it.
    pub fn organization(self, organization_id: impl Into<String>) -> Self {
        self.set("organization_id", organization_id)
    }

    /// Signs in with an OAuth provider (e.g. [`Provider::GoogleOAuth`]) instead of AuthKit's
    /// page.
    pub fn provider(self, provider: Provider) -> Self {
        self.set("provider", provider.as_str())
    }

    /// Signs in with this SSO connection (`conn_...`).
    pub fn connection(self, connection_id: impl Into<String>) -> Self {
        self.set("connection_id", connection_id)
    }

    /// A domain to find the SSO connection by (e.g. `acme.com`).
    pub fn domain_hint(self, domain: impl Into<String>) -> Self {
        self.set("domain_hint", domain)
    }

    /// The app's own state (e.g. the plan a visitor picked before signing up), handed to the
    /// [`on_sign_in`](super::AuthKitBuilder::on_sign_in) hook as
    /// [`SignIn::state`](super::SignIn::state) once the callback has checked the OAuth state
    /// and verified the token. It rides in this browser's session, never through WorkOS, so it
    /// cannot be swapped on the way back; it is readable in the link, so it holds no secret.
    pub fn state(self, state: impl Into<String>) -> Self {
        self.set("app_state", state)
    }

    /// WorkOS's `prompt`: `login` asks for credentials even when the user has a WorkOS
    /// session (re-authentication before a sensitive page), `consent` shows the consent screen.
    pub fn prompt(self, prompt: impl Into<String>) -> Self {
        self.set("prompt", prompt)
    }
}

impl fmt::Display for SignInUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.params.is_empty() {
            return f.write_str(&self.route);
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.params {
            query.append_pair(name, value);
        }
        write!(f, "{}?{}", self.route, query.finish())
    }
}

impl From<SignInUrl> for String {
    fn from(url: SignInUrl) -> String {
        url.to_string()
    }
}

impl super::AuthKit {
    /// A link to the sign-in route with options (provider, organization, login hint, page to
    /// return to, `prompt`); see [`SignInUrl`].
    pub fn sign_in_url(&self) -> SignInUrl {
        SignInUrl::new(self.sign_in_path())
    }

    /// A link to the sign-up route (AuthKit opens on its sign-up form) with options; see
    /// [`SignInUrl`].
    pub fn sign_up_url(&self) -> SignInUrl {
        SignInUrl::new(format!("{}/signup", self.inner.prefix))
    }
}
