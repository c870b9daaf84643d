//! Users: create, read, update, delete, list and stream, against the emulator over HTTP.

use std::collections::BTreeMap;

use authkit_axum::Error;
use authkit_axum::user_management::Order;
use authkit_axum::user_management::{CreateUser, ListUsers, UpdateUser};
use authkit_emulator::Emulator;
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn create_get_update_delete_a_user() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();

    let created = um
        .create_user(
            CreateUser::new("ada@example.com")
                .password("correct horse battery staple")
                .first_name("Ada")
                .last_name("Lovelace")
                .external_id("ext-1")
                .metadata(BTreeMap::from([("plan".to_owned(), "pro".to_owned())])),
        )
        .await
        .unwrap();
    assert!(created.id.starts_with("user_"));
    assert_eq!(created.email, "ada@example.com");
    assert!(!created.email_verified);
    assert_eq!(created.display_name(), "Ada Lovelace");
    assert_eq!(created.metadata["plan"], "pro");

    let fetched = um.get_user(&created.id).await.unwrap();
    assert_eq!(fetched, created);
    let by_external = um.get_user_by_external_id("ext-1").await.unwrap();
    assert_eq!(by_external.id, created.id);

    // Only the fields set are changed; clearing the external id sends null.
    let updated = um
        .update_user(
            &created.id,
            UpdateUser::new().first_name("Augusta").clear_external_id(),
        )
        .await
        .unwrap();
    assert_eq!(updated.first_name.as_deref(), Some("Augusta"));
    assert_eq!(updated.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(updated.external_id, None);
    assert_eq!(updated.metadata["plan"], "pro");
    assert!(updated.updated_at >= created.updated_at);

    um.delete_user(&created.id).await.unwrap();
    let err = um.get_user(&created.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("User not found"), "{err}");
    assert!(err.request_id().is_some_and(|id| id.starts_with("req_")));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn creating_a_user_reports_field_errors() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_user(CreateUser::new("grace@example.com"))
        .await
        .unwrap();

    let err = um
        .create_user(CreateUser::new("grace@example.com"))
        .await
        .unwrap_err();
    let api = err.as_api_error().expect("an API error");
    assert_eq!(api.status, 400);
    assert_eq!(api.code.as_deref(), Some("user_creation_error"));
    assert_eq!(api.errors[0].code.as_deref(), Some("email_not_available"));

    let err = um
        .create_user(CreateUser::new("weak@example.com").password("short"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("password_strength_error"));
    assert_eq!(
        err.as_api_error().unwrap().errors[0].code.as_deref(),
        Some("password_too_short")
    );

    let err = um
        .create_user(CreateUser::new("not-an-email"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.code(), Some("invalid_request_parameters"));

    // An empty id is refused before any request is sent.
    let err = um.get_user("").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    // So is `..`, which would otherwise resolve to the parent path: `DELETE
    // /user_management/users/..` would be `DELETE /user_management/`.
    let before = emulator.requests().len();
    for dots in [".", ".."] {
        let err = um.delete_user(dots).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        let err = um
            .list_sessions(dots, &Default::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    }
    assert_eq!(emulator.requests().len(), before, "nothing was sent");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn users_are_listed_in_pages_and_as_a_stream() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let mut ids = Vec::new();
    for i in 0..23 {
        let user = um
            .create_user(CreateUser::new(format!("user{i:02}@example.com")))
            .await
            .unwrap();
        ids.push(user.id);
    }

    // Default order is newest first, ten per page.
    let first = um.list_users(&ListUsers::new()).await.unwrap();
    assert_eq!(first.data.len(), 10);
    assert_eq!(first.data[0].id, ids[22]);
    assert!(first.has_more());

    let second = um
        .list_users(&ListUsers::new().after(first.list_metadata.after.clone().unwrap()))
        .await
        .unwrap();
    assert_eq!(second.data[0].id, ids[12]);

    // The stream walks every page, in ascending order when asked.
    let all: Vec<_> = um
        .list_users_stream(ListUsers::new().limit(5).order(Order::Asc))
        .try_collect()
        .await
        .unwrap();
    let streamed: Vec<_> = all.iter().map(|u| u.id.clone()).collect();
    assert_eq!(streamed, ids);
    let pages = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/user_management/users")
        .count();
    assert_eq!(pages, 2 + 5, "two single pages, then five pages of five");

    // Filter by email.
    let found = um
        .list_users(&ListUsers::new().email("user07@example.com"))
        .await
        .unwrap();
    assert_eq!(found.data.len(), 1);
    assert_eq!(found.data[0].id, ids[7]);

    // A bad limit is WorkOS's 422.
    let err = um
        .list_users(&ListUsers::new().limit(500))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_wrong_api_key_is_rejected() {
    let emulator = Emulator::start().await.unwrap();
    let client = emulator
        .client_builder()
        .api_key("sk_test_wrong")
        .build()
        .unwrap();
    let err = client
        .user_management()
        .list_users(&ListUsers::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!err.to_string().contains("sk_test_wrong"));
    support::assert_contract(&emulator);
}
