//! The role catalogue: which role slugs exist, the default one, and the permissions each
//! grants (the access token's `permissions` claim).

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::seed::SeedRole;
use super::store::{Record, new_id, ts};

/// The role given when none is asked for and no catalogue says otherwise.
const BUILT_IN_DEFAULT: &str = "member";

/// The roles of the environment, fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Roles {
    /// `None`: no catalogue, any non-empty slug goes and only the built-in roles grant
    /// permissions.
    catalogue: Option<Vec<SeedRole>>,
    default: String,
    /// The roles and permissions as `/authorization/*` lists them, with ids fixed at start.
    listing: Listing,
}

/// The roles (in catalogue order) and permissions (each once, in the order roles name them)
/// of `/authorization/roles` and `/authorization/permissions`.
#[derive(Debug, Clone)]
struct Listing {
    roles: Vec<(String, SeedRole)>,
    permissions: Vec<ListedPermission>,
    created_at: OffsetDateTime,
}

/// A permission as `/authorization/permissions` lists it.
#[derive(Debug, Clone)]
pub(crate) struct ListedPermission {
    id: String,
    slug: String,
    created_at: OffsetDateTime,
}

impl Record for ListedPermission {
    fn id(&self) -> &str {
        &self.id
    }
}

impl ListedPermission {
    /// The spec's `AuthorizationPermission`.
    pub fn to_json(&self) -> Value {
        json!({
            "object": "permission",
            "id": self.id,
            "slug": self.slug,
            "name": self.slug,
            "description": null,
            "system": false,
            "resource_type_slug": "organization",
            "created_at": ts(self.created_at),
            "updated_at": ts(self.created_at),
        })
    }
}

impl Listing {
    fn new(roles: Vec<SeedRole>) -> Listing {
        let created_at = OffsetDateTime::now_utc();
        let roles: Vec<(String, SeedRole)> =
            roles.into_iter().map(|r| (new_id("role"), r)).collect();
        let mut permissions: Vec<ListedPermission> = Vec::new();
        for (_, role) in &roles {
            for slug in &role.permissions {
                if !permissions.iter().any(|p| &p.slug == slug) {
                    permissions.push(ListedPermission {
                        id: new_id("perm"),
                        slug: slug.clone(),
                        created_at,
                    });
                }
            }
        }
        Listing {
            roles,
            permissions,
            created_at,
        }
    }

    /// The built-in roles, listed when there is no catalogue.
    fn built_in() -> Listing {
        Listing::new(
            ["admin", "member"]
                .into_iter()
                .map(|slug| {
                    let mut role = SeedRole::new(slug);
                    role.permissions = built_in_permissions(slug)
                        .iter()
                        .map(|p| (*p).to_owned())
                        .collect();
                    role
                })
                .collect(),
        )
    }
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            catalogue: None,
            default: BUILT_IN_DEFAULT.to_owned(),
            listing: Listing::built_in(),
        }
    }
}

impl Roles {
    /// A catalogue of `roles` (none: the built-in behaviour) with `default` as default role.
    pub fn new(roles: &[SeedRole], default: Option<&str>) -> Result<Roles, String> {
        if roles.is_empty() {
            if let Some(default) = default {
                return Ok(Roles {
                    default: default.to_owned(),
                    ..Roles::default()
                });
            }
            return Ok(Roles::default());
        }
        let mut slugs = std::collections::HashSet::new();
        for (i, role) in roles.iter().enumerate() {
            if role.slug.trim().is_empty() {
                return Err(format!("roles[{i}]: the slug is empty"));
            }
            if !slugs.insert(role.slug.as_str()) {
                return Err(format!("roles[{i}]: role {} is listed twice", role.slug));
            }
        }
        let default = match default {
            Some(slug) if slugs.contains(slug) => slug.to_owned(),
            Some(slug) => {
                return Err(format!(
                    "default_role {slug:?} is not in the role catalogue (roles: {})",
                    list(roles)
                ));
            }
            None if slugs.contains(BUILT_IN_DEFAULT) => BUILT_IN_DEFAULT.to_owned(),
            None => roles[0].slug.clone(),
        };
        Ok(Roles {
            catalogue: Some(roles.to_vec()),
            default,
            listing: Listing::new(roles.to_vec()),
        })
    }

    /// The spec's `Role` objects, in catalogue order.
    pub fn roles_json(&self) -> Vec<Value> {
        let at = ts(self.listing.created_at);
        self.listing
            .roles
            .iter()
            .map(|(id, role)| {
                json!({
                    "object": "role",
                    "id": id,
                    "slug": role.slug,
                    "name": role.name.clone().unwrap_or_else(|| role.slug.clone()),
                    "description": role.description,
                    "type": "EnvironmentRole",
                    "resource_type_slug": "organization",
                    "permissions": role.permissions,
                    "created_at": at,
                    "updated_at": at,
                })
            })
            .collect()
    }

    /// The permissions the roles grant, each once (ids in listing order).
    pub fn listed_permissions(&self) -> &[ListedPermission] {
        &self.listing.permissions
    }

    /// The role given when a membership or invitation names none.
    pub fn default_role(&self) -> &str {
        &self.default
    }

    /// `Ok` when `slug` may be given; else the message of WorkOS's `invalid_role` error.
    pub fn check(&self, slug: &str) -> Result<(), String> {
        let known = match &self.catalogue {
            None => !slug.trim().is_empty(),
            Some(roles) => roles.iter().any(|r| r.slug == slug),
        };
        if known {
            Ok(())
        } else {
            Err(format!("Role '{slug}' is not a valid role."))
        }
    }

    /// Whether `permission` exists in the environment: granted by a role of the catalogue, or
    /// any non-empty slug without a catalogue.
    pub fn knows_permission(&self, permission: &str) -> bool {
        match &self.catalogue {
            None => !permission.trim().is_empty(),
            Some(roles) => roles
                .iter()
                .any(|r| r.permissions.iter().any(|p| p == permission)),
        }
    }

    /// The permissions `slugs` grant together, each once, in catalogue order per role.
    pub fn permissions(&self, slugs: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for slug in slugs {
            let granted: Vec<String> = match &self.catalogue {
                Some(roles) => roles
                    .iter()
                    .filter(|r| &r.slug == slug)
                    .flat_map(|r| r.permissions.iter().cloned())
                    .collect(),
                None => built_in_permissions(slug)
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect(),
            };
            for p in granted {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }
}

fn list(roles: &[SeedRole]) -> String {
    roles
        .iter()
        .map(|r| r.slug.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The permissions of the built-in roles, used when no catalogue is given. Other roles grant
/// none.
fn built_in_permissions(role: &str) -> &'static [&'static str] {
    match role {
        "admin" => &["users:manage", "widgets:manage", "widgets:read"],
        "member" => &["widgets:read"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_catalogue_any_slug_goes_and_built_in_roles_grant_permissions() {
        let roles = Roles::default();
        assert!(roles.check("billing").is_ok());
        assert!(roles.check(" ").is_err());
        assert_eq!(roles.default_role(), "member");
        assert_eq!(roles.permissions(&["member".into()]), ["widgets:read"]);
    }

    #[test]
    fn a_catalogue_limits_slugs_and_grants_its_permissions() {
        let catalogue = [
            SeedRole::new("viewer").permission("docs:read"),
            SeedRole::new("editor")
                .permission("docs:read")
                .permission("docs:write"),
        ];
        let roles = Roles::new(&catalogue, None).unwrap();
        assert_eq!(roles.default_role(), "viewer", "the first role");
        assert!(roles.check("member").is_err());
        assert_eq!(
            roles.permissions(&["viewer".into(), "editor".into()]),
            ["docs:read", "docs:write"]
        );
        assert!(Roles::new(&catalogue, Some("owner")).is_err());
    }
}
