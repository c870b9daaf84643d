//! Authorized applications: the seeded OAuth applications a user granted, listed page by
//! page and revoked.

use authkit_axum::user_management::{ApplicationType, PageParams};
use authkit_emulator::{Emulator, Seed};
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

fn seed() -> Seed {
    Seed::from_yaml_str(
        r#"
users:
  - id: user_ada
    email: ada@example.com
    authorized_applications:
      - name: Reporting
        application_id: conn_app_reporting
        description: Weekly reports
        scopes: [openid, profile, email]
        granted_scopes: [openid, profile]
        redirect_uris: [https://reporting.example/callback]
        organization: Acme
      - name: Calendar sync
        application_id: conn_app_calendar
        granted_scopes: [openid]
        oauth_resource: https://api.example.com/calendar
      - { name: Notes, application_id: conn_app_notes, granted_scopes: [openid] }
  - { id: user_bob, email: bob@example.com }
organizations:
  - { id: org_acme, name: Acme }
"#,
    )
    .unwrap()
}

#[tokio::test]
async fn a_user_s_authorized_applications_are_listed_and_revoked() {
    let emulator = Emulator::builder().seed(seed()).start().await.unwrap();
    let um = emulator.client().user_management();

    let all: Vec<_> = um
        .list_authorized_applications_stream("user_ada", PageParams::default().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let reporting = all
        .iter()
        .find(|a| a.application.id == "conn_app_reporting")
        .unwrap();
    assert!(
        reporting.id.starts_with("authorized_connect_app_"),
        "{}",
        reporting.id
    );
    assert_eq!(reporting.granted_scopes, ["openid", "profile"]);
    assert_eq!(reporting.application.name, "Reporting");
    assert_eq!(reporting.application.scopes, ["openid", "profile", "email"]);
    assert_eq!(
        reporting.application.application_type,
        ApplicationType::OAuth
    );
    assert_eq!(
        reporting.application.organization_id.as_deref(),
        Some("org_acme")
    );
    assert_eq!(
        reporting.application.redirect_uris[0].uri,
        "https://reporting.example/callback"
    );
    assert!(reporting.application.redirect_uris[0].default);
    let calendar = all
        .iter()
        .find(|a| a.application.id == "conn_app_calendar")
        .unwrap();
    assert_eq!(
        calendar.oauth_resource.as_deref(),
        Some("https://api.example.com/calendar")
    );
    assert_eq!(calendar.application.was_dynamically_registered, Some(true));

    um.delete_authorized_application("user_ada", "conn_app_calendar")
        .await
        .unwrap();
    let page = um
        .list_authorized_applications("user_ada", &PageParams::default())
        .await
        .unwrap();
    let left: Vec<&str> = page
        .data
        .iter()
        .map(|a| a.application.id.as_str())
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&"conn_app_calendar"), "{left:?}");

    // Revoking again, or another user's, or for an unknown user: 404.
    for (user, app) in [
        ("user_ada", "conn_app_calendar"),
        ("user_bob", "conn_app_reporting"),
        ("user_nobody", "conn_app_reporting"),
    ] {
        let err = um
            .delete_authorized_application(user, app)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{user} {app}: {err}");
    }
    let err = um
        .list_authorized_applications("user_nobody", &PageParams::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        um.list_authorized_applications("user_bob", &PageParams::default())
            .await
            .unwrap()
            .data
            .is_empty()
    );
    let err = um
        .list_authorized_applications("user_ada", &PageParams::default().limit(500))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_reset_brings_a_revoked_seeded_authorization_back_with_its_ids() {
    let emulator = Emulator::builder().seed(seed()).start().await.unwrap();
    let um = emulator.client().user_management();
    let before = um
        .list_authorized_applications("user_ada", &PageParams::default())
        .await
        .unwrap();
    um.delete_authorized_application("user_ada", "conn_app_notes")
        .await
        .unwrap();
    emulator.reset();
    let after = um
        .list_authorized_applications("user_ada", &PageParams::default())
        .await
        .unwrap();
    let ids = |page: &authkit_axum::user_management::Page<_>| {
        page.data
            .iter()
            .map(|a: &authkit_axum::user_management::AuthorizedApplication| {
                (a.id.clone(), a.application.id.clone())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&before), ids(&after));
    assert_eq!(after.data.len(), 3);
}
