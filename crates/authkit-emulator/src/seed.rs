//! Seed data: users (with organizations and TOTP factors) created when the emulator starts.

use super::auth::FactorRec;
use super::store::{MembershipRec, OrganizationRec, UserRec, new_id};
use super::{EmulatorError, SharedState};

/// A user to create when the emulator starts, see [`EmulatorBuilder::seed_user`](super::EmulatorBuilder::seed_user).
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
///             .password("password123!")
///             .organization("Acme", "admin")
///             .organization("Globex", "member"),
///     )
///     .start()
///     .await?;
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
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SeedUser {
    /// The email address.
    pub email: String,
    /// The password (none: the user cannot sign in with a password).
    pub password: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Whether the email is verified (default: yes).
    pub email_verified: bool,
    /// `(organization name, role slug)` memberships; organizations are created by name.
    pub organizations: Vec<(String, String)>,
    /// A base32 TOTP secret: the user gets an enrolled TOTP factor and is asked for its code.
    pub totp_secret: Option<String>,
}

impl SeedUser {
    /// A verified user with this email.
    pub fn new(email: impl Into<String>) -> Self {
        SeedUser {
            email: email.into(),
            password: None,
            first_name: None,
            last_name: None,
            email_verified: true,
            organizations: Vec::new(),
            totp_secret: None,
        }
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
}

/// Creates the seed users, their organizations, memberships and factors.
pub(crate) fn apply(state: &SharedState, seeds: &[SeedUser]) -> Result<(), EmulatorError> {
    let now = state.now();
    let mut store = state.store();
    for seed in seeds {
        if store
            .users
            .find(|u| u.email.eq_ignore_ascii_case(&seed.email))
            .is_some()
        {
            return Err(EmulatorError::Invalid(format!(
                "seed user {} is listed twice",
                seed.email
            )));
        }
        if let Some(secret) = &seed.totp_secret
            && totp_rs::Secret::Encoded(secret.clone()).to_bytes().is_err()
        {
            return Err(EmulatorError::Invalid(format!(
                "the TOTP secret of {} is not base32",
                seed.email
            )));
        }
        let mut user = UserRec::new(&seed.email, now);
        user.password = seed.password.clone();
        user.first_name = seed.first_name.clone();
        user.last_name = seed.last_name.clone();
        user.email_verified = seed.email_verified;
        let user_id = user.id.clone();
        store.users.insert(user);
        for (name, role) in &seed.organizations {
            let org_id = match store.organizations.find(|o| o.name == *name) {
                Some(org) => org.id.clone(),
                None => {
                    let org = OrganizationRec {
                        id: new_id("org"),
                        name: name.clone(),
                    };
                    let id = org.id.clone();
                    store.organizations.insert(org);
                    id
                }
            };
            store.memberships.insert(MembershipRec {
                id: new_id("om"),
                user_id: user_id.clone(),
                organization_id: org_id,
                role_slugs: vec![role.clone()],
                status: "active".into(),
                created_at: now,
                updated_at: now,
            });
        }
        if let Some(secret) = &seed.totp_secret {
            store.auth.factors.insert(FactorRec {
                id: new_id("auth_factor"),
                user_id: user_id.clone(),
                totp_issuer: "WorkOS emulator".into(),
                totp_user: seed.email.clone(),
                secret: secret.clone(),
                created_at: now,
                updated_at: now,
            });
        }
    }
    Ok(())
}
