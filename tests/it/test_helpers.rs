//! `authkit_axum::testing`: a signed-in session for an app's own handlers, without a browser.
#![cfg(feature = "axum")]

use authkit_axum::session::TokenError;
use authkit_axum::testing;
use authkit_axum::tower_sessions::MemoryStore;
use authkit_axum::user_management::{AuthenticateWithPassword, CreateUser};
use authkit_axum::web::AuthLayer;
use authkit_axum::{AuthKit, AuthUser};
use authkit_emulator::Emulator;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use axum_test::TestServer;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{CALLBACK, PASSWORD, location};

async fn whoami(user: AuthUser) -> String {
    format!("{} via {:?}", user.user.email, user.source)
}

struct Setup {
    emulator: Emulator,
    authkit: AuthKit,
    store: MemoryStore,
    server: TestServer,
}

async fn setup() -> Setup {
    let emulator = support::app::emulator_builder().start().await.unwrap();
    let authkit = AuthKit::builder(emulator.client(), CALLBACK)
        .build()
        .unwrap();
    let store = MemoryStore::default();
    let app = Router::new()
        .route("/whoami", get(whoami))
        .layer(AuthLayer::new(authkit.clone()))
        .layer(authkit.session_layer(store.clone()));
    // No saved cookies: each request carries exactly what the test gives it.
    let server = TestServer::builder().mock_transport().build(app).unwrap();
    emulator
        .client()
        .user_management()
        .create_user(
            CreateUser::new("ada@example.com")
                .password(PASSWORD)
                .email_verified(true),
        )
        .await
        .unwrap();
    Setup {
        emulator,
        authkit,
        store,
        server,
    }
}

#[tokio::test]
async fn the_helper_cookie_signs_requests_in_and_without_it_they_are_refused() {
    let s = setup().await;
    let auth = s
        .emulator
        .client()
        .user_management()
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let session = testing::auth_session(&s.authkit, auth).await.unwrap();
    assert_eq!(session.user.email, "ada@example.com");
    let cookie = testing::signed_in_session(&s.authkit, &s.store, &session)
        .await
        .unwrap();
    assert!(cookie.starts_with("authkit_session="), "{cookie}");

    let signed_in = s.server.get("/whoami").add_header("cookie", &cookie).await;
    signed_in.assert_status_ok();
    signed_in.assert_text("ada@example.com via Session");
    assert_eq!(
        signed_in.headers().get("cache-control").unwrap(),
        "private, no-store"
    );

    // Without the cookie: a page load is sent to sign in, an API call gets 401 JSON.
    let page = s
        .server
        .get("/whoami")
        .add_header("accept", "text/html")
        .await;
    page.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&page), "/auth/login?return_to=%2Fwhoami");
    let api = s
        .server
        .get("/whoami")
        .add_header("accept", "application/json")
        .await;
    api.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(api.json::<Value>()["error"], "unauthorized");

    // A cookie naming no stored session is anonymous too.
    let unknown = s
        .server
        .get("/whoami")
        .add_header("accept", "application/json")
        .add_header("cookie", "authkit_session=AAAAAAAAAAAAAAAAAAAAAA")
        .await;
    unknown.assert_status(StatusCode::UNAUTHORIZED);
    support::assert_contract(&s.emulator);
}

#[tokio::test]
async fn the_helper_refuses_a_token_the_callback_would_refuse() {
    let s = setup().await;
    let mut auth = s
        .emulator
        .client()
        .user_management()
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap();
    // Change one character in the middle of the signature: the token no longer verifies.
    let token = auth.access_token.expose_secret().to_owned();
    let at = token.rfind('.').unwrap() + 20;
    let replacement = if &token[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{replacement}{}", &token[..at], &token[at + 1..]);
    auth.access_token = forged.into();
    let err = testing::auth_session(&s.authkit, auth).await.unwrap_err();
    assert_eq!(err, TokenError::BadSignature);
    support::assert_contract(&s.emulator);
}
