//! Feature flags: seeded flags listed and read by slug, those on for a user (directly or
//! through an organization) and for an organization, and their slugs in access tokens.

use authkit_axum::user_management::{AuthenticateWithPassword, PageParams};
use authkit_emulator::{Emulator, Seed};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

fn seed() -> Seed {
    Seed::from_yaml_str(
        r#"
users:
  - { id: user_ada, email: ada@example.com, password: "password123!" }
  - { id: user_bob, email: bob@example.com, password: "password123!" }
organizations:
  - { id: org_acme, name: Acme }
  - { id: org_globex, name: Globex }
memberships:
  - { user: ada@example.com, organization: Acme }
  - { user: bob@example.com, organization: Globex, status: inactive }
feature_flags:
  - slug: beta-dashboard
    name: Beta dashboard
    description: The new dashboard
    tags: [ui]
    organizations: [Acme]
  - { slug: early-access, users: [bob@example.com] }
  - { slug: everyone, default_value: true }
  - { slug: switched-off, enabled: false, default_value: true, users: [ada@example.com] }
  - { slug: globex-reports, organizations: [org_globex] }
"#,
    )
    .unwrap()
}

fn slugs(flags: &[authkit_axum::user_management::FeatureFlag]) -> Vec<&str> {
    let mut slugs: Vec<&str> = flags.iter().map(|f| f.slug.as_str()).collect();
    slugs.sort();
    slugs
}

#[tokio::test]
async fn flags_are_listed_read_and_resolved_for_users_and_organizations() {
    let emulator = Emulator::builder().seed(seed()).start().await.unwrap();
    let um = emulator.client().user_management();

    let all: Vec<_> = um
        .list_feature_flags_stream(PageParams::default().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let beta = um.get_feature_flag("beta-dashboard").await.unwrap();
    assert_eq!(beta.name, "Beta dashboard");
    assert_eq!(beta.description.as_deref(), Some("The new dashboard"));
    assert_eq!(beta.tags, ["ui"]);
    assert!(beta.enabled && !beta.default_value && beta.owner.is_none());
    let err = um.get_feature_flag("no-such-flag").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // Ada: Acme's flag through her membership, and the default-on one; not the disabled one.
    let ada = um
        .list_user_feature_flags("user_ada", &PageParams::default())
        .await
        .unwrap();
    assert_eq!(slugs(&ada.data), ["beta-dashboard", "everyone"]);
    // Bob: his own flag; his Globex membership is inactive, so not Globex's.
    let bob: Vec<_> = um
        .list_user_feature_flags_stream("user_bob", PageParams::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(slugs(&bob), ["early-access", "everyone"]);
    let globex = um
        .list_organization_feature_flags("org_globex", &PageParams::default())
        .await
        .unwrap();
    assert_eq!(slugs(&globex.data), ["everyone", "globex-reports"]);
    let acme: Vec<_> = um
        .list_organization_feature_flags_stream("org_acme", PageParams::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(slugs(&acme), ["beta-dashboard", "everyone"]);

    for err in [
        um.list_user_feature_flags("user_nobody", &PageParams::default())
            .await
            .unwrap_err(),
        um.list_organization_feature_flags("org_nobody", &PageParams::default())
            .await
            .unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err}");
    }
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn access_tokens_carry_the_slugs_on_for_the_user_and_the_session_s_organization() {
    let emulator = Emulator::builder().seed(seed()).start().await.unwrap();
    let um = emulator.client().user_management();
    let token_flags = |token: &str| -> Vec<String> {
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        serde_json::from_value(claims["feature_flags"].clone()).unwrap_or_default()
    };
    let sign_in = |email: &'static str| {
        um.authenticate_with_password(AuthenticateWithPassword::new(email, "password123!"))
    };
    // Bob signs in outside any organization (his membership is inactive): his own flags.
    let bob = sign_in("bob@example.com").await.unwrap();
    assert_eq!(bob.organization_id, None);
    let mut flags = token_flags(bob.access_token.expose_secret());
    flags.sort();
    assert_eq!(flags, ["early-access", "everyone"]);
    // Ada's session is in Acme (her one organization): Acme's flags too.
    let ada = sign_in("ada@example.com").await.unwrap();
    assert_eq!(ada.organization_id.as_deref(), Some("org_acme"));
    let mut flags = token_flags(ada.access_token.expose_secret());
    flags.sort();
    assert_eq!(flags, ["beta-dashboard", "everyone"]);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_flag_naming_an_unknown_organization_is_refused_by_name() {
    let err = Seed::from_yaml_str("feature_flags: [{ slug: beta, organizations: [Initech] }]")
        .unwrap_err();
    assert!(
        err.to_string().contains("Initech") && err.to_string().contains("beta"),
        "{err}"
    );
    let err = Seed::from_yaml_str("feature_flags: [{ slug: beta }, { slug: beta }]").unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}
