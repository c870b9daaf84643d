//! User identities: the OAuth accounts seeded for a user, read back over HTTP.

use authkit_axum::user_management::{IdentityProvider, IdentityType};
use authkit_emulator::{Emulator, Seed};

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn a_user_s_oauth_identities_are_listed_and_an_unknown_user_is_404() {
    let seed = Seed::from_yaml_str(
        r#"
users:
  - id: user_ada
    email: ada@example.com
    identities:
      - { provider: GoogleOAuth, idp_id: "107691503500061507151" }
      - { provider: GithubOAuth, idp_id: "583231" }
  - { id: user_bob, email: bob@example.com }
"#,
    )
    .unwrap();
    let emulator = Emulator::builder().seed(seed).start().await.unwrap();
    let um = emulator.client().user_management();

    let identities = um.get_user_identities("user_ada").await.unwrap();
    assert_eq!(identities.len(), 2);
    assert_eq!(identities[0].provider, IdentityProvider::GoogleOAuth);
    assert_eq!(identities[0].idp_id, "107691503500061507151");
    assert_eq!(identities[0].kind, IdentityType::OAuth);
    assert_eq!(identities[1].provider, IdentityProvider::GithubOAuth);

    // A user who only ever used a password has none.
    assert!(um.get_user_identities("user_bob").await.unwrap().is_empty());

    let err = um.get_user_identities("user_nobody").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("user_nobody"), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_seed_listing_one_provider_account_twice_is_refused() {
    let err = Seed::from_yaml_str(
        r#"
users:
  - email: ada@example.com
    identities: [{ provider: GoogleOAuth, idp_id: "1" }]
  - email: bob@example.com
    identities: [{ provider: GoogleOAuth, idp_id: "1" }]
"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("GoogleOAuth 1"), "{err}");
}
