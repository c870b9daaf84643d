//! Seed entries for what the API only reads: users' OAuth identities and authorized
//! applications, organizations' groups, and feature flags.

use serde::Deserialize;
use time::OffsetDateTime;

use super::seed::Seed;
use super::store::{
    AuthorizedApplicationRec, FeatureFlagRec, GroupRec, IdentityRec, JwtTemplateRec, Store, new_id,
};

fn yes() -> bool {
    true
}

/// An OAuth identity of a [`SeedUser`](super::SeedUser): `{ provider: GoogleOAuth, idp_id: "1076..." }`.
///
/// ```
/// use authkit_emulator::SeedUser;
///
/// let ada = SeedUser::new("ada@example.com").identity("GithubOAuth", "583231");
/// assert_eq!(ada.identities[0].provider, "GithubOAuth");
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedIdentity {
    /// The provider as WorkOS names it: `GoogleOAuth`, `GithubOAuth`, `MicrosoftOAuth`, ...
    pub provider: String,
    /// The user's id at the provider.
    pub idp_id: String,
}

/// An application a [`SeedUser`](super::SeedUser) authorized (an OAuth application of
/// WorkOS Connect), listed at `GET /user_management/users/{id}/authorized_applications`.
///
/// ```
/// use authkit_emulator::SeedAuthorizedApplication;
///
/// let app = SeedAuthorizedApplication::new("Reporting")
///     .application_id("conn_app_reporting")
///     .granted_scope("openid")
///     .granted_scope("profile");
/// assert_eq!(app.granted_scopes, ["openid", "profile"]);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedAuthorizedApplication {
    /// A pinned id of the authorization (default: a fresh `authorized_connect_app_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// A pinned id of the application, what `DELETE
    /// .../authorized_applications/{application_id}` names (default: a fresh `conn_app_…` id).
    #[serde(default)]
    pub application_id: Option<String>,
    /// The application's name.
    pub name: String,
    /// Its client id (default: `client_` and the application id's suffix).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The scopes it may ask for (default: the granted ones).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The scopes the user granted.
    #[serde(default)]
    pub granted_scopes: Vec<String>,
    /// The OAuth resource it was granted, if any.
    #[serde(default)]
    pub oauth_resource: Option<String>,
    /// Its redirect URIs (the first is the default).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The organization (id or name) that registered it; without one, the application was
    /// registered dynamically.
    #[serde(default)]
    pub organization: Option<String>,
}

impl SeedAuthorizedApplication {
    /// An application named `name`, dynamically registered, with no scopes granted.
    pub fn new(name: impl Into<String>) -> Self {
        SeedAuthorizedApplication {
            id: None,
            application_id: None,
            name: name.into(),
            client_id: None,
            description: None,
            scopes: Vec::new(),
            granted_scopes: Vec::new(),
            oauth_resource: None,
            redirect_uris: Vec::new(),
            organization: None,
        }
    }

    /// Pins the application id.
    pub fn application_id(mut self, id: impl Into<String>) -> Self {
        self.application_id = Some(id.into());
        self
    }

    /// Adds a granted scope.
    pub fn granted_scope(mut self, scope: impl Into<String>) -> Self {
        self.granted_scopes.push(scope.into());
        self
    }

    /// Names the organization (id or name) that registered the application.
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }
}

/// A group of a [`SeedOrganization`](super::SeedOrganization): a name and the members (user
/// id or email; each needs a membership of the organization).
///
/// ```
/// use authkit_emulator::SeedGroup;
///
/// let group = SeedGroup::new("Engineering").member("ada@example.com");
/// assert_eq!(group.members, ["ada@example.com"]);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedGroup {
    /// A pinned id (default: a fresh `group_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// The name.
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The members: user ids or emails.
    #[serde(default)]
    pub members: Vec<String>,
}

impl SeedGroup {
    /// An empty group.
    pub fn new(name: impl Into<String>) -> Self {
        SeedGroup {
            id: None,
            name: name.into(),
            description: None,
            members: Vec::new(),
        }
    }

    /// Adds a member (user id or email).
    pub fn member(mut self, user: impl Into<String>) -> Self {
        self.members.push(user.into());
        self
    }
}

/// A feature flag: on for the users and organizations it targets, and for everyone when
/// `default_value` is true, as long as it is `enabled`.
///
/// ```
/// use authkit_emulator::SeedFeatureFlag;
///
/// let beta = SeedFeatureFlag::new("beta-dashboard").organization("Acme").user("ada@example.com");
/// assert!(beta.enabled && !beta.default_value);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedFeatureFlag {
    /// A pinned id (default: a fresh `flag_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// The slug, e.g. `advanced-analytics` (unique).
    pub slug: String,
    /// A display name (default: the slug).
    #[serde(default)]
    pub name: Option<String>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// Labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether the flag is on in this environment (default: yes). A disabled flag is on for
    /// no one.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Whether it is on for users and organizations it does not target (default: no).
    #[serde(default)]
    pub default_value: bool,
    /// Organizations (id or name) it is on for, and so for their active members.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// Users (id or email) it is on for.
    #[serde(default)]
    pub users: Vec<String>,
}

impl SeedFeatureFlag {
    /// An enabled flag that targets no one yet.
    pub fn new(slug: impl Into<String>) -> Self {
        SeedFeatureFlag {
            id: None,
            slug: slug.into(),
            name: None,
            description: None,
            tags: Vec::new(),
            enabled: true,
            default_value: false,
            organizations: Vec::new(),
            users: Vec::new(),
        }
    }

    /// Turns it on for an organization (id or name).
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organizations.push(organization.into());
        self
    }

    /// Turns it on for a user (id or email).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.users.push(user.into());
        self
    }

    /// Sets whether the flag is enabled in the environment.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sets the value for everyone it does not target.
    pub fn default_value(mut self, value: bool) -> Self {
        self.default_value = value;
        self
    }
}

/// Fills the store with the entries above (after users, organizations and memberships).
pub(crate) fn apply(seed: &Seed, store: &mut Store, now: OffsetDateTime) {
    let user_id = |key: &str| seed.find_user(key).and_then(|u| u.id.clone());
    let org_id = |key: &str| seed.find_organization(key).and_then(|o| o.id.clone());
    for user in &seed.users {
        let Some(id) = &user.id else { continue };
        for identity in &user.identities {
            store.identities.push(IdentityRec {
                user_id: id.clone(),
                provider: identity.provider.clone(),
                idp_id: identity.idp_id.clone(),
            });
        }
        for app in &user.authorized_applications {
            let application_id = app
                .application_id
                .clone()
                .unwrap_or_else(|| new_id("conn_app"));
            let scopes = if app.scopes.is_empty() {
                app.granted_scopes.clone()
            } else {
                app.scopes.clone()
            };
            store
                .authorized_applications
                .insert(AuthorizedApplicationRec {
                    id: app
                        .id
                        .clone()
                        .unwrap_or_else(|| new_id("authorized_connect_app")),
                    user_id: id.clone(),
                    granted_scopes: app.granted_scopes.clone(),
                    oauth_resource: app.oauth_resource.clone(),
                    client_id: app.client_id.clone().unwrap_or_else(|| {
                        format!("client_{}", application_id.trim_start_matches("conn_app_"))
                    }),
                    application_id,
                    name: app.name.clone(),
                    description: app.description.clone(),
                    scopes,
                    redirect_uris: app.redirect_uris.clone(),
                    organization_id: app.organization.as_deref().and_then(org_id),
                    created_at: now,
                    updated_at: now,
                });
        }
    }
    for org in &seed.organizations {
        let Some(organization_id) = &org.id else {
            continue;
        };
        for group in &org.groups {
            let membership_ids = group
                .members
                .iter()
                .filter_map(|member| {
                    let user = user_id(member)?;
                    store
                        .memberships
                        .find(|m| m.user_id == user && &m.organization_id == organization_id)
                        .map(|m| m.id.clone())
                })
                .collect();
            store.groups.insert(GroupRec {
                id: group.id.clone().unwrap_or_else(|| new_id("group")),
                organization_id: organization_id.clone(),
                name: group.name.clone(),
                description: group.description.clone(),
                membership_ids,
                created_at: now,
                updated_at: now,
            });
        }
    }
    for flag in &seed.feature_flags {
        store.feature_flags.insert(FeatureFlagRec {
            id: flag.id.clone().unwrap_or_else(|| new_id("flag")),
            slug: flag.slug.clone(),
            name: flag.name.clone().unwrap_or_else(|| flag.slug.clone()),
            description: flag.description.clone(),
            tags: flag.tags.clone(),
            enabled: flag.enabled,
            default_value: flag.default_value,
            organization_ids: flag
                .organizations
                .iter()
                .filter_map(|o| org_id(o))
                .collect(),
            user_ids: flag.users.iter().filter_map(|u| user_id(u)).collect(),
            created_at: now,
            updated_at: now,
        });
    }
    store.jwt_template = seed.jwt_template.as_ref().map(|content| JwtTemplateRec {
        content: content.clone(),
        created_at: now,
        updated_at: now,
    });
}
