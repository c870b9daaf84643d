//! Seed data: what the emulator holds when it starts and after a [reset](super::Emulator::reset):
//! users, organizations, memberships, a role catalogue and the app's registration, built in
//! code or read from a YAML or JSON file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::auth::FactorRec;
use super::roles::Roles;
pub use super::seed_records::{
    SeedAuthorizedApplication, SeedFeatureFlag, SeedGroup, SeedIdentity,
};
use super::store::{ApiKeyRec, DomainRec, MembershipRec, OrganizationRec, Store, UserRec, new_id};
use super::{EmulatorError, State};

/// Everything the emulator holds at start: users, organizations, memberships, the role
/// catalogue, registered URIs, the API key and the client id. Give it to
/// [`EmulatorBuilder::seed`](super::EmulatorBuilder::seed); read it from a file with
/// [`Seed::from_path`] (the binary's `--seed`), or build it in code.
///
/// A seed file is YAML or JSON with the fields below, every one optional; an unknown field is
/// an error that names it. `crates/authkit-emulator/examples/seed.yaml` is a complete example.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authkit_emulator::{Emulator, Seed};
///
/// let seed = Seed::from_yaml_str(r#"
/// roles:
///   - { slug: admin, name: Admin, permissions: [widgets:manage, widgets:read] }
///   - { slug: member, name: Member, permissions: [widgets:read] }
/// users:
///   - { id: user_ada, email: ada@example.com, password: "password123!", first_name: Ada }
/// organizations:
///   - { id: org_acme, name: Acme, domains: [{ domain: acme.com, state: verified }] }
/// memberships:
///   - { user: ada@example.com, organization: Acme, role: admin }
/// "#)?;
/// let emulator = Emulator::builder().seed(seed).start().await?;
/// # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
/// let user: serde_json::Value = reqwest::Client::new()
///     .get(format!("{}/user_management/users/user_ada", emulator.base_url()))
///     .bearer_auth(emulator.api_key())
///     .send()
///     .await?
///     .json()
///     .await?;
/// assert_eq!(user["first_name"], "Ada");
///
/// // Unknown fields are refused, by name.
/// let typo = Seed::from_yaml_str("users: [{ emial: ada@example.com }]").unwrap_err();
/// assert!(typo.to_string().contains("emial"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Seed {
    /// The API key to accept (default: [`DEFAULT_API_KEY`](super::DEFAULT_API_KEY)).
    #[serde(default)]
    pub api_key: Option<String>,
    /// The client id (default: [`DEFAULT_CLIENT_ID`](super::DEFAULT_CLIENT_ID)).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Registered redirect URIs (see [`EmulatorBuilder::redirect_uri`](super::EmulatorBuilder::redirect_uri)).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Registered logout redirect URIs (see [`EmulatorBuilder::logout_redirect_uri`](super::EmulatorBuilder::logout_redirect_uri)).
    #[serde(default)]
    pub logout_redirect_uris: Vec<String>,
    /// Webhook endpoints (see
    /// [`EmulatorBuilder::webhook_endpoint`](super::EmulatorBuilder::webhook_endpoint)).
    #[serde(default)]
    pub webhooks: Vec<SeedWebhook>,
    /// Action endpoints (see
    /// [`EmulatorBuilder::action_endpoint`](super::EmulatorBuilder::action_endpoint)):
    /// `{ type: authentication | user_registration, url, secret, on_error: deny | allow,
    /// timeout_ms }`.
    #[serde(default)]
    pub actions: Vec<crate::ActionEndpoint>,
    /// The role catalogue. When it lists any role, memberships and invitations may only use
    /// its slugs (others get WorkOS's `invalid_role` error) and access tokens carry the
    /// `permissions` of the member's roles. Without one, any role slug is accepted and only
    /// `admin` and `member` grant permissions (the emulator's built-in roles).
    #[serde(default)]
    pub roles: Vec<SeedRole>,
    /// The role given when a membership or invitation names none: `member` if the catalogue
    /// has it, else its first role.
    #[serde(default)]
    pub default_role: Option<String>,
    /// Users.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Organizations.
    #[serde(default)]
    pub organizations: Vec<SeedOrganization>,
    /// Organization memberships.
    #[serde(default)]
    pub memberships: Vec<SeedMembership>,
    /// API keys of organizations and users, with known values (for the app's machine clients
    /// in development and tests).
    #[serde(default)]
    pub api_keys: Vec<SeedApiKey>,
    /// Feature flags, served at `GET /feature-flags` and per user and organization.
    #[serde(default)]
    pub feature_flags: Vec<SeedFeatureFlag>,
    /// The JWT template (as `PUT /user_management/jwt_template` sets it): its claims go into
    /// every access token issued afterwards (`{{ user.<field> }}` and `{{ organization.<field> }}` tags).
    #[serde(default)]
    pub jwt_template: Option<String>,
}

impl Seed {
    /// An empty seed, to fill in code.
    pub fn new() -> Self {
        Seed::default()
    }

    /// Parses and [checks](Self::check) a YAML seed.
    pub fn from_yaml_str(yaml: &str) -> Result<Seed, EmulatorError> {
        let seed: Seed = serde_yaml::from_str(yaml)
            .map_err(|e| EmulatorError::Seed(format!("invalid YAML seed: {e}")))?;
        seed.check()?;
        Ok(seed)
    }

    /// Parses and [checks](Self::check) a JSON seed.
    pub fn from_json_str(json: &str) -> Result<Seed, EmulatorError> {
        let seed: Seed = serde_json::from_str(json)
            .map_err(|e| EmulatorError::Seed(format!("invalid JSON seed: {e}")))?;
        seed.check()?;
        Ok(seed)
    }

    /// Reads a seed file: JSON when its name ends in `.json`, YAML when it ends in `.yaml` or
    /// `.yml`, else JSON if it starts with `{` and YAML otherwise. Errors name the file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Seed, EmulatorError> {
        let path = path.as_ref();
        let in_file = |e: EmulatorError| {
            let message = match e {
                EmulatorError::Seed(message) => message,
                other => other.to_string(),
            };
            EmulatorError::Seed(format!("seed file {}: {message}", path.display()))
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| in_file(EmulatorError::Seed(format!("cannot read it: {e}"))))?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let json = match extension.as_deref() {
            Some("json") => true,
            Some("yaml" | "yml") => false,
            _ => text.trim_start().starts_with('{'),
        };
        if json {
            Seed::from_json_str(&text)
        } else {
            Seed::from_yaml_str(&text)
        }
        .map_err(in_file)
    }

    /// Checks the seed on its own: ids and emails listed once, memberships naming a listed
    /// user and organization, role slugs in the catalogue, TOTP secrets in base32.
    /// [`EmulatorBuilder::start`](super::EmulatorBuilder::start) checks the whole seed again.
    pub fn check(&self) -> Result<(), EmulatorError> {
        let roles = self.roles()?;
        let mut seen = std::collections::HashSet::new();
        let mut once = |what: &str, key: String| {
            if seen.insert(format!("{what} {key}")) {
                Ok(())
            } else {
                Err(invalid(format!("{what} {key} is listed twice")))
            }
        };
        for (i, user) in self.users.iter().enumerate() {
            if user.email.trim().is_empty() || !user.email.contains('@') {
                return Err(invalid(format!(
                    "users[{i}]: {:?} is not an email address",
                    user.email
                )));
            }
            once("user email", user.email.to_ascii_lowercase())?;
            if let Some(id) = &user.id {
                once("id", id.clone())?;
            }
            if let Some(secret) = &user.totp_secret
                && totp_rs::Secret::Encoded(secret.clone()).to_bytes().is_err()
            {
                return Err(invalid(format!(
                    "users[{i}] ({}): the TOTP secret is not base32",
                    user.email
                )));
            }
            for (org, role) in &user.organizations {
                roles
                    .check(role)
                    .map_err(|e| invalid(format!("users[{i}] ({}) in {org}: {e}", user.email)))?;
            }
        }
        for (i, org) in self.organizations.iter().enumerate() {
            if org.name.trim().is_empty() {
                return Err(invalid(format!("organizations[{i}]: the name is empty")));
            }
            if let Some(id) = &org.id {
                once("id", id.clone())?;
            }
            for domain in &org.domains {
                once("domain", domain.domain.to_ascii_lowercase())?;
                if let Some(id) = &domain.id {
                    once("id", id.clone())?;
                }
            }
        }
        for (i, user) in self.users.iter().enumerate() {
            for identity in &user.identities {
                once(
                    "identity",
                    format!("{} {}", identity.provider, identity.idp_id),
                )?;
            }
            for app in &user.authorized_applications {
                if let Some(org) = &app.organization
                    && self.find_organization(org).is_none()
                {
                    return Err(invalid(format!(
                        "users[{i}] ({}): authorized application {:?}: no organization has the id or name {org:?}",
                        user.email, app.name
                    )));
                }
                for id in [&app.id, &app.application_id].into_iter().flatten() {
                    once("id", id.clone())?;
                }
            }
        }
        for (i, org) in self.organizations.iter().enumerate() {
            for group in &org.groups {
                if let Some(id) = &group.id {
                    once("id", id.clone())?;
                }
                for member in &group.members {
                    if !self.is_member(member, org) {
                        return Err(invalid(format!(
                            "organizations[{i}] ({}): group {:?}: {member:?} is not a member of the organization (list the membership under memberships)",
                            org.name, group.name
                        )));
                    }
                }
            }
        }
        for (i, flag) in self.feature_flags.iter().enumerate() {
            if flag.slug.trim().is_empty() {
                return Err(invalid(format!("feature_flags[{i}]: the slug is empty")));
            }
            once("feature flag", flag.slug.clone())?;
            if let Some(id) = &flag.id {
                once("id", id.clone())?;
            }
            for org in &flag.organizations {
                if self.find_organization(org).is_none() {
                    return Err(invalid(format!(
                        "feature_flags[{i}] ({}): no organization has the id or name {org:?}",
                        flag.slug
                    )));
                }
            }
            for user in &flag.users {
                if self.find_user(user).is_none() {
                    return Err(invalid(format!(
                        "feature_flags[{i}] ({}): no user has the id or email {user:?}",
                        flag.slug
                    )));
                }
            }
        }
        if let Some(template) = &self.jwt_template {
            crate::jwt_template::check(template)
                .map_err(|e| invalid(format!("jwt_template: {e}")))?;
        }
        for (i, m) in self.memberships.iter().enumerate() {
            let user = self.find_user(&m.user).ok_or_else(|| {
                invalid(format!(
                    "memberships[{i}]: no user has the id or email {:?}",
                    m.user
                ))
            })?;
            let org = self.find_organization(&m.organization).ok_or_else(|| {
                invalid(format!(
                    "memberships[{i}]: no organization has the id or name {:?}",
                    m.organization
                ))
            })?;
            if let Some(id) = &m.id {
                once("id", id.clone())?;
            }
            once(
                "membership of",
                format!("{} in {}", user.email, org.id.as_ref().unwrap_or(&org.name)),
            )?;
            if let Some(role) = &m.role {
                roles
                    .check(role)
                    .map_err(|e| invalid(format!("memberships[{i}]: {e}")))?;
            }
        }
        for (i, key) in self.api_keys.iter().enumerate() {
            let at = |what: String| invalid(format!("api_keys[{i}] ({}): {what}", key.name));
            if key.name.trim().is_empty() {
                return Err(invalid(format!("api_keys[{i}]: the name is empty")));
            }
            if key.value.len() < 16
                || !key
                    .value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(at(
                    "the value must be at least 16 letters, digits, '_' or '-', e.g. sk_test_machine_0123456789".into(),
                ));
            }
            once("API key value", key.value.clone())?;
            if let Some(id) = &key.id {
                once("id", id.clone())?;
            }
            let org = self.find_organization(&key.organization).ok_or_else(|| {
                at(format!(
                    "no organization has the id or name {:?}",
                    key.organization
                ))
            })?;
            if let Some(user) = &key.user {
                let user = self
                    .find_user(user)
                    .ok_or_else(|| at(format!("no user has the id or email {user:?}")))?;
                let member = self.memberships.iter().any(|m| {
                    self.find_user(&m.user).map(|u| &u.email) == Some(&user.email)
                        && self.find_organization(&m.organization).map(|o| &o.name)
                            == Some(&org.name)
                }) || user.organizations.iter().any(|(name, _)| name == &org.name);
                if !member {
                    return Err(at(format!(
                        "the user {} is not a member of {}",
                        user.email, org.name
                    )));
                }
            }
            for p in &key.permissions {
                if !roles.knows_permission(p) {
                    return Err(at(format!(
                        "the permission {p:?} is not granted by any role of the catalogue"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Sets the API key.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// Sets the client id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Registers a redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Registers a logout redirect URI.
    pub fn logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.logout_redirect_uris.push(uri.into());
        self
    }

    /// Adds a role to the catalogue.
    pub fn role(mut self, role: SeedRole) -> Self {
        self.roles.push(role);
        self
    }

    /// Sets the default role.
    pub fn default_role(mut self, slug: impl Into<String>) -> Self {
        self.default_role = Some(slug.into());
        self
    }

    /// Adds a user.
    pub fn user(mut self, user: SeedUser) -> Self {
        self.users.push(user);
        self
    }

    /// Adds an organization.
    pub fn organization(mut self, organization: SeedOrganization) -> Self {
        self.organizations.push(organization);
        self
    }

    /// Adds a membership.
    pub fn membership(mut self, membership: SeedMembership) -> Self {
        self.memberships.push(membership);
        self
    }

    /// Adds an API key.
    pub fn add_api_key(mut self, key: SeedApiKey) -> Self {
        self.api_keys.push(key);
        self
    }

    /// The role catalogue this seed describes.
    pub(crate) fn roles(&self) -> Result<Roles, EmulatorError> {
        Roles::new(&self.roles, self.default_role.as_deref()).map_err(invalid)
    }

    /// Adds `other` to this seed: its lists after ours, its API key and client id over ours.
    pub(crate) fn merge(&mut self, other: Seed) {
        self.api_key = other.api_key.or(self.api_key.take());
        self.client_id = other.client_id.or(self.client_id.take());
        self.default_role = other.default_role.or(self.default_role.take());
        self.redirect_uris.extend(other.redirect_uris);
        self.logout_redirect_uris.extend(other.logout_redirect_uris);
        self.webhooks.extend(other.webhooks);
        self.actions.extend(other.actions);
        self.roles.extend(other.roles);
        self.users.extend(other.users);
        self.organizations.extend(other.organizations);
        self.memberships.extend(other.memberships);
        self.api_keys.extend(other.api_keys);
        self.feature_flags.extend(other.feature_flags);
        self.jwt_template = other.jwt_template.or(self.jwt_template.take());
    }

    /// Adds a feature flag.
    pub fn feature_flag(mut self, flag: SeedFeatureFlag) -> Self {
        self.feature_flags.push(flag);
        self
    }

    /// Sets the JWT template.
    pub fn jwt_template(mut self, content: impl Into<String>) -> Self {
        self.jwt_template = Some(content.into());
        self
    }

    /// Whether the user `key` (id or email) has a membership of `org` in this seed.
    fn is_member(&self, key: &str, org: &SeedOrganization) -> bool {
        let Some(user) = self.find_user(key) else {
            return false;
        };
        user.organizations.iter().any(|(name, _)| *name == org.name)
            || self.memberships.iter().any(|m| {
                self.find_user(&m.user).map(|u| &u.email) == Some(&user.email)
                    && self
                        .find_organization(&m.organization)
                        .is_some_and(|o| std::ptr::eq(o, org))
            })
    }

    /// Turns each user's `(organization name, role)` pairs into organizations (by name, made
    /// if missing) and memberships, then gives every record without an id a fresh one, so
    /// that a [reset](super::Emulator::reset) recreates the same ids.
    pub(crate) fn resolve(&mut self) {
        for i in 0..self.users.len() {
            let pairs = std::mem::take(&mut self.users[i].organizations);
            for (name, role) in pairs {
                if self.find_organization(&name).is_none() {
                    self.organizations.push(SeedOrganization::new(name.clone()));
                }
                self.memberships
                    .push(SeedMembership::new(self.users[i].email.clone(), name).role(role));
            }
        }
        for user in &mut self.users {
            user.id.get_or_insert_with(|| new_id("user"));
            for app in &mut user.authorized_applications {
                app.id
                    .get_or_insert_with(|| new_id("authorized_connect_app"));
                app.application_id.get_or_insert_with(|| new_id("conn_app"));
            }
        }
        for org in &mut self.organizations {
            org.id.get_or_insert_with(|| new_id("org"));
            for domain in &mut org.domains {
                domain.id.get_or_insert_with(|| new_id("org_domain"));
            }
            for group in &mut org.groups {
                group.id.get_or_insert_with(|| new_id("group"));
            }
        }
        for flag in &mut self.feature_flags {
            flag.id.get_or_insert_with(|| new_id("flag"));
        }
        for m in &mut self.memberships {
            m.id.get_or_insert_with(|| new_id("om"));
        }
        for key in &mut self.api_keys {
            key.id.get_or_insert_with(|| new_id("api_key"));
        }
    }

    pub(crate) fn find_user(&self, key: &str) -> Option<&SeedUser> {
        self.users
            .iter()
            .find(|u| u.id.as_deref() == Some(key))
            .or_else(|| {
                self.users
                    .iter()
                    .find(|u| u.email.eq_ignore_ascii_case(key))
            })
    }

    pub(crate) fn find_organization(&self, key: &str) -> Option<&SeedOrganization> {
        self.organizations
            .iter()
            .find(|o| o.id.as_deref() == Some(key))
            .or_else(|| self.organizations.iter().find(|o| o.name == key))
    }
}

fn invalid(message: impl Into<String>) -> EmulatorError {
    EmulatorError::Seed(message.into())
}

fn yes() -> bool {
    true
}

/// A role of the catalogue: its slug, a name, and the permissions it grants (the access
/// token's `permissions` claim holds those of the member's roles).
///
/// ```
/// use authkit_emulator::SeedRole;
///
/// let admin = SeedRole::new("admin").name("Admin").permission("widgets:manage").permission("widgets:read");
/// assert_eq!(admin.permissions, ["widgets:manage", "widgets:read"]);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedRole {
    /// The slug, e.g. `admin`: what memberships name and tokens carry.
    pub slug: String,
    /// A display name (default: the slug).
    #[serde(default)]
    pub name: Option<String>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// Permission slugs, e.g. `widgets:read`.
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl SeedRole {
    /// A role without permissions.
    pub fn new(slug: impl Into<String>) -> Self {
        SeedRole {
            slug: slug.into(),
            name: None,
            description: None,
            permissions: Vec::new(),
        }
    }

    /// Sets the display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a permission.
    pub fn permission(mut self, permission: impl Into<String>) -> Self {
        self.permissions.push(permission.into());
        self
    }
}

/// A user to create at start, see [`EmulatorBuilder::seed_user`](super::EmulatorBuilder::seed_user)
/// and [`Seed::users`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authkit_emulator::{Emulator, SeedUser};
///
/// let emulator = Emulator::builder()
///     .seed_user(SeedUser::new("ada@example.com").password("password123!").name("Ada", "Lovelace"))
///     .seed_user(
///         SeedUser::new("grace@example.com")
///             .id("user_grace")
///             .password("password123!")
///             .organization("Acme", "admin")
///             .organization("Globex", "member"),
///     )
///     .start()
///     .await?;
/// # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
/// let users: serde_json::Value = reqwest::Client::new()
///     .get(format!("{}/user_management/users", emulator.base_url()))
///     .bearer_auth(emulator.api_key())
///     .send()
///     .await?
///     .json()
///     .await?;
/// assert_eq!(users["data"].as_array().map(Vec::len), Some(2));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedUser {
    /// A pinned id, e.g. `user_ada` (default: a fresh `user_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// The email address.
    pub email: String,
    /// The password (none: the user cannot sign in with a password).
    #[serde(default)]
    pub password: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Whether the email is verified (default: yes).
    #[serde(default = "yes")]
    pub email_verified: bool,
    /// `(organization name, role slug)` memberships; organizations are created by name. Not
    /// read from seed files, which list [`Seed::memberships`] instead.
    #[serde(skip)]
    pub organizations: Vec<(String, String)>,
    /// A base32 TOTP secret: the user gets an enrolled TOTP factor and is asked for its code.
    #[serde(default)]
    pub totp_secret: Option<String>,
    /// The external id (your system's id for the user).
    #[serde(default)]
    pub external_id: Option<String>,
    /// Metadata key/value pairs.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// OAuth identities linked to the user, served at
    /// `GET /user_management/users/{id}/identities`.
    #[serde(default)]
    pub identities: Vec<SeedIdentity>,
    /// Applications the user authorized, served at
    /// `GET /user_management/users/{id}/authorized_applications`.
    #[serde(default)]
    pub authorized_applications: Vec<SeedAuthorizedApplication>,
}

impl SeedUser {
    /// A verified user with this email.
    pub fn new(email: impl Into<String>) -> Self {
        SeedUser {
            id: None,
            email: email.into(),
            password: None,
            first_name: None,
            last_name: None,
            email_verified: true,
            organizations: Vec::new(),
            totp_secret: None,
            external_id: None,
            metadata: BTreeMap::new(),
            identities: Vec::new(),
            authorized_applications: Vec::new(),
        }
    }

    /// Links an OAuth identity, e.g. `("GoogleOAuth", "10769150350006150715113082367")`.
    pub fn identity(mut self, provider: impl Into<String>, idp_id: impl Into<String>) -> Self {
        self.identities.push(SeedIdentity {
            provider: provider.into(),
            idp_id: idp_id.into(),
        });
        self
    }

    /// Adds an application the user authorized.
    pub fn authorized_application(mut self, app: SeedAuthorizedApplication) -> Self {
        self.authorized_applications.push(app);
        self
    }

    /// Pins the id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Sets the first and last name.
    pub fn name(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }

    /// Leaves the email unverified (sign-in then asks for an emailed code).
    pub fn unverified(mut self) -> Self {
        self.email_verified = false;
        self
    }

    /// Adds an active membership of the organization `name` (created if needed) with `role`.
    pub fn organization(mut self, name: impl Into<String>, role: impl Into<String>) -> Self {
        self.organizations.push((name.into(), role.into()));
        self
    }

    /// Enrolls a TOTP factor with this base32 secret (SHA-1, 6 digits, 30 s).
    pub fn totp_secret(mut self, secret: impl Into<String>) -> Self {
        self.totp_secret = Some(secret.into());
        self
    }

    /// Sets the external id.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Adds a metadata key/value pair.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// An organization to create at start, served at `GET /organizations/{id}`.
///
/// ```
/// use authkit_emulator::{DomainState, SeedOrganization};
///
/// let acme = SeedOrganization::new("Acme").id("org_acme").domain("acme.com", DomainState::Verified);
/// assert_eq!(acme.domains[0].state, DomainState::Verified);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedOrganization {
    /// A pinned id, e.g. `org_acme` (default: a fresh `org_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// The name.
    pub name: String,
    /// The external id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Metadata key/value pairs.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Its domains.
    #[serde(default)]
    pub domains: Vec<SeedDomain>,
    /// Members must sign in through the organization's SSO connection: a refresh (an
    /// organization switch) into it from a session that did not sign in with SSO answers
    /// `sso_required`, as WorkOS does. The emulator stands in for the identity provider: a
    /// sign-in on the hosted page scoped to the organization (`organization_id` on
    /// authorize) counts as SSO.
    #[serde(default)]
    pub sso: bool,
    /// Groups of members, served at
    /// `GET /user_management/organization_memberships/{id}/groups`.
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
}

impl SeedOrganization {
    /// An organization with this name.
    pub fn new(name: impl Into<String>) -> Self {
        SeedOrganization {
            id: None,
            name: name.into(),
            external_id: None,
            metadata: BTreeMap::new(),
            domains: Vec::new(),
            sso: false,
            groups: Vec::new(),
        }
    }

    /// Adds a group.
    pub fn group(mut self, group: SeedGroup) -> Self {
        self.groups.push(group);
        self
    }

    /// Requires SSO for the organization's members (see the `sso` field).
    pub fn sso(mut self) -> Self {
        self.sso = true;
        self
    }

    /// Pins the id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the external id.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Adds a domain in `state`.
    pub fn domain(mut self, domain: impl Into<String>, state: DomainState) -> Self {
        self.domains.push(SeedDomain {
            id: None,
            domain: domain.into(),
            state,
        });
        self
    }
}

/// A webhook endpoint in a seed file: `{ url: http://127.0.0.1:3000/webhooks/workos,
/// secret: whsec_... }`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedWebhook {
    /// Where to deliver (`http://`).
    pub url: String,
    /// The secret that signs the deliveries.
    pub secret: String,
}

impl std::fmt::Debug for SeedWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedWebhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A domain of a [`SeedOrganization`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedDomain {
    /// A pinned id (default: a fresh `org_domain_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// The domain, e.g. `acme.com`.
    pub domain: String,
    /// Its verification state (default: `verified`).
    #[serde(default)]
    pub state: DomainState,
}

/// The verification state of an organization domain, as the spec's `OrganizationDomain.state`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainState {
    /// Verified.
    #[default]
    Verified,
    /// Waiting for verification.
    Pending,
    /// Verification failed.
    Failed,
    /// Not verified.
    Unverified,
    /// Verified before domain verification existed.
    LegacyVerified,
}

impl DomainState {
    /// The state as WorkOS writes it, e.g. `verified`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DomainState::Verified => "verified",
            DomainState::Pending => "pending",
            DomainState::Failed => "failed",
            DomainState::Unverified => "unverified",
            DomainState::LegacyVerified => "legacy_verified",
        }
    }
}

/// A membership to create at start: a user (by id or email) in an organization (by id or
/// name), with a role and a status.
///
/// ```
/// use authkit_emulator::{MembershipStatus, SeedMembership};
///
/// let pending = SeedMembership::new("ada@example.com", "Acme").role("admin").status(MembershipStatus::Pending);
/// assert_eq!(pending.role.as_deref(), Some("admin"));
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedMembership {
    /// A pinned id (default: a fresh `om_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// The user's id or email.
    pub user: String,
    /// The organization's id or name.
    pub organization: String,
    /// The role slug (default: the [default role](Seed::default_role)).
    #[serde(default)]
    pub role: Option<String>,
    /// The status (default: `active`).
    #[serde(default)]
    pub status: MembershipStatus,
}

impl SeedMembership {
    /// An active membership with the default role.
    pub fn new(user: impl Into<String>, organization: impl Into<String>) -> Self {
        SeedMembership {
            id: None,
            user: user.into(),
            organization: organization.into(),
            role: None,
            status: MembershipStatus::Active,
        }
    }

    /// Pins the id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the role slug.
    pub fn role(mut self, slug: impl Into<String>) -> Self {
        self.role = Some(slug.into());
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: MembershipStatus) -> Self {
        self.status = status;
        self
    }
}

/// An API key to hold at start, with a value of your choosing, so that a development app's
/// machine clients (or tests) can use it at once: an organization's key, or a user's key
/// (`user` set) for one of the user's organizations. The emulator keeps only its digest, as
/// for created keys.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authkit_emulator::{Emulator, Seed};
///
/// let seed = Seed::from_yaml_str(r#"
/// organizations: [{ id: org_acme, name: Acme }]
/// api_keys:
///   - name: Reporting job
///     organization: Acme
///     value: sk_test_reporting_0123456789
///     permissions: [reports:read]
/// "#)?;
/// let emulator = Emulator::builder().seed(seed).start().await?;
/// # let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default TLS provider in this workspace
/// let validation: serde_json::Value = reqwest::Client::new()
///     .post(format!("{}/api_keys/validations", emulator.base_url()))
///     .bearer_auth(emulator.api_key())
///     .json(&serde_json::json!({ "value": "sk_test_reporting_0123456789" }))
///     .send()
///     .await?
///     .json()
///     .await?;
/// assert_eq!(validation["api_key"]["owner"]["id"], "org_acme");
/// assert_eq!(validation["api_key"]["permissions"][0], "reports:read");
/// # Ok(()) }
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedApiKey {
    /// A pinned id (default: a fresh `api_key_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// The key's name.
    pub name: String,
    /// The organization (id or name) the key belongs to or, for a user key, can access.
    pub organization: String,
    /// For a user key: the owner's id or email (a member of `organization`).
    #[serde(default)]
    pub user: Option<String>,
    /// The value clients send: at least 16 letters, digits, `_` or `-`.
    pub value: String,
    /// Permission slugs.
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl SeedApiKey {
    /// An organization's key named `name` with this `value`.
    pub fn new(
        name: impl Into<String>,
        organization: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        SeedApiKey {
            id: None,
            name: name.into(),
            organization: organization.into(),
            user: None,
            value: value.into(),
            permissions: Vec::new(),
        }
    }

    /// Makes it a key of this user (id or email) instead of the organization's.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Pins the id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds a permission.
    pub fn permission(mut self, permission: impl Into<String>) -> Self {
        self.permissions.push(permission.into());
        self
    }
}

impl std::fmt::Debug for SeedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedApiKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("organization", &self.organization)
            .field("user", &self.user)
            .field("permissions", &self.permissions)
            .finish_non_exhaustive()
    }
}

/// The status of an organization membership.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MembershipStatus {
    /// A member: sign-ins to the organization work.
    #[default]
    Active,
    /// Deactivated.
    Inactive,
    /// Invited, not yet accepted.
    Pending,
}

impl MembershipStatus {
    /// The status as WorkOS writes it, e.g. `active`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MembershipStatus::Active => "active",
            MembershipStatus::Inactive => "inactive",
            MembershipStatus::Pending => "pending",
        }
    }
}

/// Fills `store` from a [resolved](Seed::resolve) and [checked](Seed::check) seed.
pub(crate) fn apply(state: &State, seed: &Seed, store: &mut Store) {
    let now = state.now();
    let roles = &state.config.roles;
    for seed_user in &seed.users {
        let mut user = UserRec::new(&seed_user.email, now);
        if let Some(id) = &seed_user.id {
            user.id = id.clone();
        }
        user.password = seed_user.password.clone();
        user.first_name = seed_user.first_name.clone();
        user.last_name = seed_user.last_name.clone();
        user.email_verified = seed_user.email_verified;
        user.external_id = seed_user.external_id.clone();
        user.metadata = seed_user.metadata.clone();
        if let Some(secret) = &seed_user.totp_secret {
            store.auth.factors.insert(FactorRec {
                id: new_id("auth_factor"),
                user_id: user.id.clone(),
                totp_issuer: "WorkOS emulator".into(),
                totp_user: seed_user.email.clone(),
                secret: secret.clone(),
                created_at: now,
                updated_at: now,
            });
        }
        store.users.insert(user);
    }
    for org in &seed.organizations {
        let id = org.id.clone().unwrap_or_else(|| new_id("org"));
        store.organizations.insert(OrganizationRec {
            domains: org
                .domains
                .iter()
                .map(|d| DomainRec {
                    id: d.id.clone().unwrap_or_else(|| new_id("org_domain")),
                    ..DomainRec::new(&d.domain, d.state.as_str(), "manual", now)
                })
                .collect(),
            external_id: org.external_id.clone(),
            metadata: org.metadata.clone(),
            sso: org.sso,
            created_at: now,
            updated_at: now,
            ..OrganizationRec::new(id, &org.name, now)
        });
    }
    for m in &seed.memberships {
        let (Some(user), Some(org)) = (
            seed.find_user(&m.user).and_then(|u| u.id.clone()),
            seed.find_organization(&m.organization)
                .and_then(|o| o.id.clone()),
        ) else {
            continue; // checked before
        };
        store.memberships.insert(MembershipRec {
            id: m.id.clone().unwrap_or_else(|| new_id("om")),
            user_id: user,
            organization_id: org,
            role_slugs: vec![
                m.role
                    .clone()
                    .unwrap_or_else(|| roles.default_role().to_owned()),
            ],
            status: m.status.as_str().to_owned(),
            created_at: now,
            updated_at: now,
        });
    }
    for key in &seed.api_keys {
        let Some(org) = seed
            .find_organization(&key.organization)
            .and_then(|o| o.id.clone())
        else {
            continue; // checked before
        };
        let user = key
            .user
            .as_deref()
            .and_then(|u| seed.find_user(u))
            .and_then(|u| u.id.clone());
        let mut rec = ApiKeyRec::new(
            &key.value,
            &key.name,
            &org,
            user.as_deref(),
            key.permissions.clone(),
            now,
        );
        if let Some(id) = &key.id {
            rec.id = id.clone();
        }
        store.api_keys.insert(rec);
    }
    super::seed_records::apply(seed, store, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_read_the_same_fields_and_refuse_unknown_ones() {
        let yaml = Seed::from_yaml_str("users: [{ email: a@example.com, email_verified: false }]")
            .unwrap();
        let json = Seed::from_json_str(
            r#"{"users": [{"email": "a@example.com", "email_verified": false}]}"#,
        )
        .unwrap();
        assert!(!yaml.users[0].email_verified && !json.users[0].email_verified);
        let err = Seed::from_json_str(r#"{"userz": []}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("userz"), "{err}");
        let err = Seed::from_yaml_str(
            "organizations: [{ name: A, domains: [{ domain: a.com, state: maybe }] }]",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("maybe") && err.contains("pending"), "{err}");
    }

    #[test]
    fn a_check_names_the_entry_at_fault() {
        let err = Seed::from_yaml_str(
            "roles: [{ slug: admin }]\nusers: [{ email: a@example.com }]\norganizations: [{ name: A }]\nmemberships: [{ user: a@example.com, organization: A, role: owner }]",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("memberships[0]") && err.contains("owner"),
            "{err}"
        );
        let err =
            Seed::from_yaml_str("memberships: [{ user: nobody@example.com, organization: A }]")
                .unwrap_err()
                .to_string();
        assert!(err.contains("nobody@example.com"), "{err}");
        let err =
            Seed::from_yaml_str("users: [{ id: u1, email: a@x.com }, { id: u1, email: b@x.com }]")
                .unwrap_err()
                .to_string();
        assert!(err.contains("u1") && err.contains("twice"), "{err}");
    }
}
