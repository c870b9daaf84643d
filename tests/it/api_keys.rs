//! API keys of organizations and users: create (the value shown once), validate, list, delete
//! (a deleted key no longer validates), seeded keys, and refusals, against the emulator.

use authkit_axum::user_management::{
    ApiKeyOwnerType, CreateOrganizationApiKey, CreateUser, CreateUserApiKey,
    ListOrganizationApiKeys, ListUserApiKeys, Order,
};
use authkit_emulator::{Emulator, Seed, SeedApiKey, SeedOrganization, SeedRole, SeedUser};
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn an_organization_key_is_created_validated_listed_and_deleted() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Acme");

    let created = um
        .create_organization_api_key(
            &org,
            CreateOrganizationApiKey::new("Reporting job").permissions(["reports:read"]),
        )
        .await
        .unwrap();
    assert!(created.id.starts_with("api_key_"), "{}", created.id);
    assert_eq!(created.name, "Reporting job");
    assert_eq!(created.owner.kind, ApiKeyOwnerType::Organization);
    assert_eq!(created.owner.id, org);
    assert_eq!(created.organization_id(), org);
    assert_eq!(created.permissions, ["reports:read"]);
    assert_eq!(created.last_used_at, None);
    let value = created.value.expose_secret().to_owned();
    assert!(value.starts_with("sk_") && value.len() >= 40, "{value}");
    assert!(
        !format!("{created:?}").contains(&value),
        "the value is redacted"
    );
    assert!(
        created.obfuscated_value.starts_with("sk_...")
            && created
                .obfuscated_value
                .ends_with(&value[value.len() - 4..]),
        "{}",
        created.obfuscated_value
    );
    // Every key gets its own unguessable value.
    let other = um
        .create_organization_api_key(&org, CreateOrganizationApiKey::new("Second"))
        .await
        .unwrap();
    assert_ne!(other.value.expose_secret(), value);
    assert!(other.permissions.is_empty());

    let valid = um
        .validate_api_key(&value)
        .await
        .unwrap()
        .expect("a live key");
    assert_eq!(valid.id, created.id);
    assert_eq!(valid.organization_id(), org);
    assert!(valid.has_permission("reports:read"));
    assert!(valid.last_used_at.is_some(), "validation records the use");
    assert!(
        um.validate_api_key("sk_not_a_key_at_all_000000")
            .await
            .unwrap()
            .is_none()
    );
    // Almost the value is not the value.
    let almost = format!("{}x", &value[..value.len() - 1]);
    assert!(um.validate_api_key(&almost).await.unwrap().is_none());

    // Listing never shows values; both keys, newest first, across pages.
    let page = um
        .list_organization_api_keys(&org, &ListOrganizationApiKeys::new().limit(1))
        .await
        .unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].id, other.id);
    assert!(page.has_more());
    let all: Vec<_> = um
        .list_organization_api_keys_stream(
            &org,
            ListOrganizationApiKeys::new().limit(1).order(Order::Asc),
        )
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, [created.id.as_str(), other.id.as_str()]);

    um.delete_api_key(&created.id).await.unwrap();
    assert!(
        um.validate_api_key(&value).await.unwrap().is_none(),
        "a deleted key no longer validates"
    );
    let err = um.delete_api_key(&created.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let left = um
        .list_organization_api_keys(&org, &ListOrganizationApiKeys::new())
        .await
        .unwrap();
    assert_eq!(left.data.len(), 1);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_user_key_needs_an_active_membership_and_names_its_organization() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let acme = emulator.create_organization("Acme");
    let globex = emulator.create_organization("Globex");
    let ada = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    emulator.seed_membership(&ada.id, &acme, "member");

    let created = um
        .create_user_api_key(
            &ada.id,
            CreateUserApiKey::new("Laptop CLI", &acme).permissions(["posts:read"]),
        )
        .await
        .unwrap();
    assert_eq!(created.owner.kind, ApiKeyOwnerType::User);
    assert_eq!(created.owner.id, ada.id);
    assert_eq!(created.organization_id(), acme);
    let valid = um
        .validate_api_key(created.value.expose_secret())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(valid.owner.id, ada.id);
    assert_eq!(valid.owner.organization_id.as_deref(), Some(acme.as_str()));

    // No membership in Globex: refused with the reason.
    let err = um
        .create_user_api_key(&ada.id, CreateUserApiKey::new("Nope", &globex))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    assert!(err.to_string().contains("membership"), "{err}");
    let err = um
        .create_user_api_key("user_missing", CreateUserApiKey::new("Nope", &acme))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let keys = um
        .list_user_api_keys(&ada.id, &ListUserApiKeys::new())
        .await
        .unwrap();
    assert_eq!(keys.data.len(), 1);
    let none = um
        .list_user_api_keys(&ada.id, &ListUserApiKeys::new().organization_id(&globex))
        .await
        .unwrap();
    assert!(none.data.is_empty());
    let streamed: Vec<_> = um
        .list_user_api_keys_stream(&ada.id, ListUserApiKeys::new().organization_id(&acme))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 1);
    // An organization's list holds only its own keys, not its members'.
    let org_keys = um
        .list_organization_api_keys(&acme, &ListOrganizationApiKeys::new())
        .await
        .unwrap();
    assert!(org_keys.data.is_empty());
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_reason() {
    let emulator = Emulator::builder()
        .seed(
            Seed::new()
                .role(SeedRole::new("member").permission("posts:read"))
                .organization(SeedOrganization::new("Acme").id("org_acme")),
        )
        .start()
        .await
        .unwrap();
    let um = emulator.client().user_management();
    let err = um
        .create_organization_api_key("org_missing", CreateOrganizationApiKey::new("Key"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = um
        .create_organization_api_key("org_acme", CreateOrganizationApiKey::new("  "))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    assert!(err.to_string().contains("name"), "{err}");
    // With a role catalogue, a permission must exist in it.
    let err = um
        .create_organization_api_key(
            "org_acme",
            CreateOrganizationApiKey::new("Key").permissions(["posts:delete"]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    assert!(err.to_string().contains("posts:delete"), "{err}");
    let err = um
        .list_organization_api_keys("org_missing", &ListOrganizationApiKeys::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = um.delete_api_key("").await.unwrap_err();
    assert!(matches!(err, authkit_axum::Error::InvalidInput(_)), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn seeded_keys_validate_with_their_known_values_and_come_back_on_reset() {
    let seed = Seed::from_yaml_str(
        r#"
organizations: [{ id: org_acme, name: Acme }]
users: [{ id: user_ada, email: ada@example.com }]
memberships: [{ user: ada@example.com, organization: Acme }]
api_keys:
  - { id: api_key_reports, name: Reports, organization: Acme, value: sk_test_reports_0123456789, permissions: [reports:read] }
  - { name: Ada's CLI, organization: org_acme, user: ada@example.com, value: sk_test_ada_cli_0123456789 }
"#,
    )
    .unwrap();
    let emulator = Emulator::builder().seed(seed).start().await.unwrap();
    let um = emulator.client().user_management();
    let reports = um
        .validate_api_key("sk_test_reports_0123456789")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reports.id, "api_key_reports");
    assert_eq!(reports.permissions, ["reports:read"]);
    assert_eq!(reports.obfuscated_value, "sk_...6789");
    let cli = um
        .validate_api_key("sk_test_ada_cli_0123456789")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cli.owner.kind, ApiKeyOwnerType::User);
    assert_eq!(cli.owner.id, "user_ada");
    assert_eq!(cli.organization_id(), "org_acme");

    um.delete_api_key("api_key_reports").await.unwrap();
    assert!(
        um.validate_api_key("sk_test_reports_0123456789")
            .await
            .unwrap()
            .is_none()
    );
    emulator.reset();
    assert!(
        um.validate_api_key("sk_test_reports_0123456789")
            .await
            .unwrap()
            .is_some()
    );

    // Seeds that cannot work are refused, naming the entry.
    let err = Seed::from_yaml_str(
        "organizations: [{ name: Acme }]\napi_keys: [{ name: K, organization: Nope, value: sk_test_0123456789abcdef }]",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("api_keys[0]") && err.to_string().contains("Nope"),
        "{err}"
    );
    let err = Seed::from_yaml_str(
        "organizations: [{ name: Acme }]\napi_keys: [{ name: K, organization: Acme, value: short }]",
    )
    .unwrap_err();
    assert!(err.to_string().contains("at least 16"), "{err}");
    let err = Seed::new()
        .organization(SeedOrganization::new("Acme"))
        .user(SeedUser::new("bob@example.com"))
        .add_api_key(
            SeedApiKey::new("K", "Acme", "sk_test_0123456789abcdef").user("bob@example.com"),
        )
        .check()
        .unwrap_err();
    assert!(err.to_string().contains("not a member"), "{err}");
    support::assert_contract(&emulator);
}
