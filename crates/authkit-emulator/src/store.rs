//! The emulator's in-memory data: one table per resource, time-ordered ids, cursor pagination.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::auth::AuthStore;
use super::http::ApiError;

/// All the emulator's data. Guarded by one mutex in [`super::State`].
#[derive(Default)]
pub(crate) struct Store {
    pub users: Table<UserRec>,
    pub organizations: Table<OrganizationRec>,
    pub memberships: Table<MembershipRec>,
    pub invitations: Table<InvitationRec>,
    pub magic_auths: Table<MagicAuthRec>,
    pub password_resets: Table<PasswordResetRec>,
    pub email_verifications: Table<EmailVerificationRec>,
    /// API keys of organizations and users (their values only as SHA-256 digests).
    pub api_keys: Table<ApiKeyRec>,
    /// Pending and used email changes (`POST /user_management/users/{id}/email_change/send`).
    pub email_changes: Table<EmailChangeRec>,
    /// The OAuth identities linked to users (seeded).
    pub identities: Vec<IdentityRec>,
    /// The applications users authorized (seeded).
    pub authorized_applications: Table<AuthorizedApplicationRec>,
    /// Groups of organizations (seeded).
    pub groups: Table<GroupRec>,
    /// Feature flags (seeded).
    pub feature_flags: Table<FeatureFlagRec>,
    /// The JWT template (`PUT /user_management/jwt_template`, or seeded).
    pub jwt_template: Option<JwtTemplateRec>,
    /// CORS origins added with `POST /user_management/cors_origins`.
    pub cors_origins: Table<CorsOriginRec>,
    /// Redirect URIs added with `POST /user_management/redirect_uris` (those registered at
    /// start are in the configuration).
    pub redirect_uris: Table<RedirectUriRec>,
    /// Sessions, codes, refresh tokens, pending authentications, factors and challenges.
    pub auth: AuthStore,
    /// Every event, in order (see the `webhooks` module).
    pub events: Vec<serde_json::Value>,
    /// Events not yet handed to the webhook deliveries.
    pub undelivered: Vec<serde_json::Value>,
}

/// A record with an id.
pub(crate) trait Record {
    fn id(&self) -> &str;
}

/// Records in creation order (ids are time-ordered, so id order = creation order).
pub(crate) struct Table<T> {
    rows: BTreeMap<String, T>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
        }
    }
}

impl<T: Record> Table<T> {
    pub fn insert(&mut self, row: T) {
        self.rows.insert(row.id().to_owned(), row);
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.rows.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.rows.get_mut(id)
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        self.rows.remove(id)
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.rows.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.rows.values_mut()
    }

    pub fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<&T> {
        self.rows.values().find(|r| pred(r))
    }

    pub fn find_mut(&mut self, mut pred: impl FnMut(&T) -> bool) -> Option<&mut T> {
        self.rows.values_mut().find(|r| pred(r))
    }
}

static LAST_ID: AtomicU64 = AtomicU64::new(0);
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new time-ordered id like `user_01JD3F...` (a ULID: 48-bit milliseconds + 80 bits that are
/// a per-process counter and randomness). Ids made later compare greater.
pub(crate) fn new_id(prefix: &str) -> String {
    let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64;
    // A strictly increasing 64-bit value: milliseconds in the high bits, a counter below.
    let candidate = now_ms << 16;
    let mut prev = LAST_ID.load(Ordering::Relaxed);
    let value = loop {
        let next = candidate.max(prev + 1);
        match LAST_ID.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(actual) => prev = actual,
        }
    };
    let random: u64 = rand::random();
    // 128 bits: 64 ordered bits, then 64 random bits; encoded as 26 Crockford characters.
    let full: u128 = ((value as u128) << 64) | random as u128;
    let mut out = String::with_capacity(prefix.len() + 1 + 26);
    out.push_str(prefix);
    out.push('_');
    for i in (0..26).rev() {
        let shift = i * 5;
        let idx = if shift >= 128 {
            0
        } else {
            ((full >> shift) & 31) as usize
        };
        out.push(CROCKFORD[idx] as char);
    }
    out
}

/// A random secret of `len` URL-safe characters (tokens, codes that are not digits).
pub(crate) fn random_token(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A random 6-digit one-time code.
pub(crate) fn random_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// Formats a timestamp as WorkOS does: `2026-01-15T12:00:00.000Z`.
pub(crate) fn ts(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Formats an optional timestamp (`null` when absent).
pub(crate) fn ts_opt(at: Option<OffsetDateTime>) -> Value {
    at.map_or(Value::Null, |at| Value::String(ts(at)))
}

/// Pagination query parameters, validated as WorkOS does.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct ListQuery {
    pub limit: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub order: Option<String>,
}

/// Lists `rows` (oldest first) as a WorkOS list envelope, rendering each with `render`.
pub(crate) fn list_page<'a, T: Record + 'a>(
    rows: impl DoubleEndedIterator<Item = &'a T>,
    query: &ListQuery,
    render: impl Fn(&T) -> Value,
) -> Result<Value, ApiError> {
    let limit = match query.limit.as_deref() {
        None | Some("") => 10,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid_params(
                    "limit",
                    "limit must be an integer between 1 and 100",
                ));
            }
        },
    };
    let order = query.order.as_deref().unwrap_or("desc");
    let (descending, reversed_cursors) = match order {
        "desc" => (true, false),
        "asc" => (false, false),
        "normal" => (true, true),
        _ => {
            return Err(ApiError::invalid_params(
                "order",
                "order must be one of asc, desc, normal",
            ));
        }
    };
    let ordered: Vec<&T> = if descending {
        rows.rev().collect()
    } else {
        rows.collect()
    };
    // In list order, "forward" is toward the end of `ordered`.
    let (forward_cursor, backward_cursor) = if reversed_cursors {
        (query.before.as_deref(), query.after.as_deref())
    } else {
        (query.after.as_deref(), query.before.as_deref())
    };
    // Ids are time-ordered, so a cursor works even if its record was deleted.
    let is_past = |id: &str, cursor: &str| {
        if descending { id < cursor } else { id > cursor }
    };
    let (start, end) = if let Some(cursor) = forward_cursor.filter(|c| !c.is_empty()) {
        let start = ordered
            .iter()
            .position(|r| is_past(r.id(), cursor))
            .unwrap_or(ordered.len());
        (start, (start + limit).min(ordered.len()))
    } else if let Some(cursor) = backward_cursor.filter(|c| !c.is_empty()) {
        let before_cursor = |id: &str| if descending { id > cursor } else { id < cursor };
        let end = ordered
            .iter()
            .position(|r| !before_cursor(r.id()))
            .unwrap_or(ordered.len());
        (end.saturating_sub(limit), end)
    } else {
        (0, limit.min(ordered.len()))
    };
    let page = &ordered[start..end];
    let first_id = page.first().map(|r| r.id().to_owned());
    let last_id = page.last().map(|r| r.id().to_owned());
    let has_before = start > 0;
    let has_after = end < ordered.len();
    let (before, after) = {
        let before = if has_before { first_id } else { None };
        let after = if has_after { last_id } else { None };
        if reversed_cursors {
            (after, before)
        } else {
            (before, after)
        }
    };
    Ok(json!({
        "object": "list",
        "data": page.iter().map(|r| render(r)).collect::<Vec<_>>(),
        "list_metadata": { "before": before, "after": after },
    }))
}

/// A user.
#[derive(Debug, Clone)]
pub(crate) struct UserRec {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub profile_picture_url: Option<String>,
    pub external_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub locale: Option<String>,
    /// The plain password (the emulator is never production).
    pub password: Option<String>,
    pub last_sign_in_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl UserRec {
    pub fn new(email: &str, now: OffsetDateTime) -> Self {
        UserRec {
            id: new_id("user"),
            email: email.to_owned(),
            email_verified: false,
            first_name: None,
            last_name: None,
            profile_picture_url: None,
            external_id: None,
            metadata: BTreeMap::new(),
            locale: None,
            password: None,
            last_sign_in_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The spec's `User` object.
    pub fn to_json(&self) -> Value {
        json!({
            "object": "user",
            "id": self.id,
            "email": self.email,
            "email_verified": self.email_verified,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "profile_picture_url": self.profile_picture_url,
            "external_id": self.external_id,
            "metadata": self.metadata,
            "locale": self.locale,
            "last_sign_in_at": ts_opt(self.last_sign_in_at),
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// An organization.
#[derive(Debug, Clone)]
pub(crate) struct OrganizationRec {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub domains: Vec<DomainRec>,
    /// Members sign in through the organization's SSO connection (emulated: a sign-in scoped
    /// to the organization on the hosted page counts as SSO).
    pub sso: bool,
    pub stripe_customer_id: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl OrganizationRec {
    /// The emulated SSO connection's id.
    pub fn connection_id(&self) -> String {
        format!("conn_emulated_{}", self.id.trim_start_matches("org_"))
    }
}

/// A domain of an organization.
#[derive(Debug, Clone)]
pub(crate) struct DomainRec {
    pub id: String,
    pub domain: String,
    /// `verified`, `pending`, `failed`, `unverified` or `legacy_verified`.
    pub state: String,
    /// `dns` (added through the API, to verify) or `manual` (given with its state).
    pub verification_strategy: String,
    /// The DNS TXT record's value.
    pub verification_token: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl DomainRec {
    /// A domain in `state`, verified by `strategy`.
    pub fn new(domain: &str, state: &str, strategy: &str, now: OffsetDateTime) -> Self {
        DomainRec {
            id: new_id("org_domain"),
            domain: domain.to_ascii_lowercase(),
            state: state.to_owned(),
            verification_strategy: strategy.to_owned(),
            verification_token: random_token(25),
            created_at: now,
            updated_at: now,
        }
    }

    /// The spec's `OrganizationDomain` object.
    pub fn to_json(&self, organization_id: &str) -> Value {
        json!({
            "object": "organization_domain",
            "id": self.id,
            "organization_id": organization_id,
            "domain": self.domain,
            "state": self.state,
            "verification_strategy": self.verification_strategy,
            "verification_prefix": "authkit-emulator-domain-verification",
            "verification_token": self.verification_token,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }

    /// Whether the domain counts as verified.
    pub fn is_verified(&self) -> bool {
        matches!(self.state.as_str(), "verified" | "legacy_verified")
    }
}

impl OrganizationRec {
    /// An organization without domains, external id or metadata.
    pub fn new(id: String, name: &str, now: OffsetDateTime) -> Self {
        OrganizationRec {
            id,
            name: name.to_owned(),
            external_id: None,
            metadata: BTreeMap::new(),
            domains: Vec::new(),
            sso: false,
            stripe_customer_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The spec's `Organization` object.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "object": "organization",
            "id": self.id,
            "name": self.name,
            "domains": self.domains.iter().map(|d| d.to_json(&self.id)).collect::<Vec<_>>(),
            "metadata": self.metadata,
            "external_id": self.external_id,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        });
        if let Some(stripe) = &self.stripe_customer_id {
            out["stripe_customer_id"] = json!(stripe);
        }
        out
    }
}

/// An organization membership.
#[derive(Debug, Clone)]
pub(crate) struct MembershipRec {
    pub id: String,
    pub user_id: String,
    pub organization_id: String,
    /// Role slugs; the first is the primary `role`.
    pub role_slugs: Vec<String>,
    /// `active`, `inactive` or `pending`.
    pub status: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// An invitation.
#[derive(Debug, Clone)]
pub(crate) struct InvitationRec {
    pub id: String,
    pub email: String,
    /// `pending`, `accepted`, `expired` or `revoked` (expiry is also computed on read).
    pub state: String,
    pub accepted_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
    pub organization_id: Option<String>,
    pub inviter_user_id: Option<String>,
    pub accepted_user_id: Option<String>,
    pub role_slug: Option<String>,
    pub token: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A Magic Auth code.
#[derive(Debug, Clone)]
pub(crate) struct MagicAuthRec {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub code: String,
    pub invitation_token: Option<String>,
    pub expires_at: OffsetDateTime,
    pub used: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A password reset.
#[derive(Debug, Clone)]
pub(crate) struct PasswordResetRec {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub used: bool,
    pub created_at: OffsetDateTime,
}

/// An email verification code.
#[derive(Debug, Clone)]
pub(crate) struct EmailVerificationRec {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub code: String,
    pub expires_at: OffsetDateTime,
    pub used: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl EmailVerificationRec {
    /// The spec's `EmailVerification` without its code: the data of
    /// `email_verification.created`.
    pub fn event_json(&self) -> Value {
        json!({
            "object": "email_verification",
            "id": self.id,
            "user_id": self.user_id,
            "email": self.email,
            "expires_at": ts(self.expires_at),
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// An API key. Its value is shown once, at creation; the emulator keeps only its SHA-256
/// digest (to validate it) and the obfuscated form.
#[derive(Debug, Clone)]
pub(crate) struct ApiKeyRec {
    pub id: String,
    /// The owning user, for a user key; `None` for an organization key.
    pub user_id: Option<String>,
    /// The organization the key can access (its owner, for an organization key).
    pub organization_id: String,
    pub name: String,
    /// SHA-256 of the value.
    pub digest: [u8; 32],
    /// `sk_...` and the value's last four characters.
    pub obfuscated_value: String,
    pub permissions: Vec<String>,
    pub last_used_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl ApiKeyRec {
    /// A key for `value` (which is not kept).
    pub fn new(
        value: &str,
        name: &str,
        organization_id: &str,
        user_id: Option<&str>,
        permissions: Vec<String>,
        now: OffsetDateTime,
    ) -> Self {
        let tail: String = {
            let chars: Vec<char> = value.chars().collect();
            chars[chars.len().saturating_sub(4)..].iter().collect()
        };
        ApiKeyRec {
            id: new_id("api_key"),
            user_id: user_id.map(str::to_owned),
            organization_id: organization_id.to_owned(),
            name: name.to_owned(),
            digest: api_key_digest(value),
            obfuscated_value: format!("sk_...{tail}"),
            permissions,
            last_used_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The spec's `OrganizationApiKey` or `UserApiKey` (together, `ApiKey`).
    pub fn to_json(&self) -> Value {
        let owner = match &self.user_id {
            None => json!({ "type": "organization", "id": self.organization_id }),
            Some(user) => json!({
                "type": "user",
                "id": user,
                "organization_id": self.organization_id,
            }),
        };
        json!({
            "object": "api_key",
            "id": self.id,
            "owner": owner,
            "name": self.name,
            "obfuscated_value": self.obfuscated_value,
            "last_used_at": ts_opt(self.last_used_at),
            "permissions": self.permissions,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// The SHA-256 digest an API key value is stored and looked up by.
pub(crate) fn api_key_digest(value: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes()).into()
}

/// A new, unguessable API key value: `sk_` and 48 random letters and digits (about 285 bits).
pub(crate) fn new_api_key_value() -> String {
    format!("sk_{}", random_token(48))
}

/// An email change: the code sent to the new address.
#[derive(Debug, Clone)]
pub(crate) struct EmailChangeRec {
    pub id: String,
    pub user_id: String,
    pub new_email: String,
    pub code: String,
    pub expires_at: OffsetDateTime,
    pub used: bool,
    /// Wrong codes tried against it.
    pub failed_attempts: u32,
    pub created_at: OffsetDateTime,
}

/// An OAuth identity linked to a user.
#[derive(Debug, Clone)]
pub(crate) struct IdentityRec {
    pub user_id: String,
    /// e.g. `GoogleOAuth`.
    pub provider: String,
    /// The user's id at the provider.
    pub idp_id: String,
}

/// An application a user authorized (an `authorized_connect_application`).
#[derive(Debug, Clone)]
pub(crate) struct AuthorizedApplicationRec {
    pub id: String,
    pub user_id: String,
    pub granted_scopes: Vec<String>,
    pub oauth_resource: Option<String>,
    /// The application (`conn_app_...`).
    pub application_id: String,
    pub name: String,
    pub client_id: String,
    pub description: Option<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    /// The organization that registered it; `None`: a dynamically registered application.
    pub organization_id: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A group of an organization, with the memberships in it.
#[derive(Debug, Clone)]
pub(crate) struct GroupRec {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub description: Option<String>,
    pub membership_ids: Vec<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A feature flag and whom it is on for.
#[derive(Debug, Clone)]
pub(crate) struct FeatureFlagRec {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub default_value: bool,
    pub organization_ids: Vec<String>,
    pub user_ids: Vec<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The JWT template.
#[derive(Debug, Clone)]
pub(crate) struct JwtTemplateRec {
    pub content: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A CORS origin.
#[derive(Debug, Clone)]
pub(crate) struct CorsOriginRec {
    pub id: String,
    pub origin: String,
    pub created_at: OffsetDateTime,
}

/// A redirect URI added over the API.
#[derive(Debug, Clone)]
pub(crate) struct RedirectUriRec {
    pub id: String,
    /// Normalized.
    pub uri: String,
    pub default: bool,
    pub created_at: OffsetDateTime,
}

macro_rules! impl_record {
    ($($t:ty),*) => { $(impl Record for $t { fn id(&self) -> &str { &self.id } })* };
}
impl_record!(
    UserRec,
    OrganizationRec,
    MembershipRec,
    InvitationRec,
    MagicAuthRec,
    PasswordResetRec,
    EmailVerificationRec,
    ApiKeyRec,
    EmailChangeRec,
    AuthorizedApplicationRec,
    GroupRec,
    FeatureFlagRec,
    CorsOriginRec,
    RedirectUriRec
);

#[cfg(test)]
mod tests {
    use super::*;

    struct R(String);
    impl Record for R {
        fn id(&self) -> &str {
            &self.0
        }
    }

    fn ids(v: &Value) -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn ids_are_time_ordered_and_unique() {
        let a = new_id("user");
        let b = new_id("user");
        assert!(a.starts_with("user_") && a.len() == 31, "{a}");
        assert!(b > a);
    }

    #[test]
    fn pages_walk_forward_and_back() {
        let rows: Vec<R> = (0..25).map(|i| R(format!("r_{i:02}"))).collect();
        let render = |r: &R| Value::String(r.0.clone());
        let q = |after: Option<&str>, before: Option<&str>, order: &str| ListQuery {
            limit: Some("10".into()),
            after: after.map(Into::into),
            before: before.map(Into::into),
            order: Some(order.into()),
        };
        let p1 = list_page(rows.iter(), &q(None, None, "asc"), render).unwrap();
        assert_eq!(ids(&p1)[0], "r_00");
        assert_eq!(p1["list_metadata"]["after"], "r_09");
        assert_eq!(p1["list_metadata"]["before"], Value::Null);
        let p2 = list_page(rows.iter(), &q(Some("r_09"), None, "asc"), render).unwrap();
        assert_eq!(ids(&p2)[0], "r_10");
        assert_eq!(p2["list_metadata"]["before"], "r_10");
        let p3 = list_page(rows.iter(), &q(Some("r_19"), None, "asc"), render).unwrap();
        assert_eq!(ids(&p3).len(), 5);
        assert_eq!(p3["list_metadata"]["after"], Value::Null);
        let back = list_page(rows.iter(), &q(None, Some("r_10"), "asc"), render).unwrap();
        assert_eq!(ids(&back), ids(&p1));
        let desc = list_page(rows.iter(), &q(None, None, "desc"), render).unwrap();
        assert_eq!(ids(&desc)[0], "r_24");
        let bad = ListQuery {
            limit: Some("101".into()),
            ..Default::default()
        };
        assert!(list_page(rows.iter(), &bad, render).is_err());
    }
}
