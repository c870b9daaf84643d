//! The session cookie: `__Host-authkit_session` (Secure, `Path=/`, no `Domain`) when the app
//! is on https, `authkit_session` on `http://localhost`, another name when configured; and
//! `testing::signed_in_session` names it the same way.
#![cfg(feature = "axum")]

use authkit_axum::stores::MemoryStore;
use authkit_axum::tower_sessions::cookie::{Cookie, SameSite};
use authkit_axum::user_management::{AuthenticateWithPassword, CreateUser};
use authkit_axum::web::{SECURE_SESSION_COOKIE, SESSION_COOKIE};
use authkit_axum::{AuthKit, AuthKitBuilder, ConfigError, testing};
use authkit_emulator::Emulator;
use axum::http::StatusCode;
use axum_test::{TestResponse, TestServer};

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{PASSWORD, router_with_store};

const HTTPS_CALLBACK: &str = "https://app.example.com/auth/callback";
const LOCAL_CALLBACK: &str = "http://localhost:3000/auth/callback";

async fn app(
    emulator: &Emulator,
    callback: &str,
    configure: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
) -> (AuthKit, MemoryStore, TestServer) {
    let authkit = configure(AuthKit::builder(emulator.client(), callback))
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let server = TestServer::builder()
        .mock_transport()
        .build(router_with_store(&authkit, store.clone()))
        .unwrap();
    (authkit, store, server)
}

/// The one `Set-Cookie` header of a response, parsed.
fn set_cookie(response: &TestResponse) -> Cookie<'static> {
    let headers: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(headers.len(), 1, "{headers:?}");
    Cookie::parse(headers[0].to_str().unwrap().to_owned()).unwrap()
}

#[tokio::test]
async fn on_https_the_session_cookie_is_a_host_only_secure_host_prefixed_cookie() {
    let emulator = Emulator::builder().start().await.unwrap();
    let (authkit, _store, server) = app(&emulator, HTTPS_CALLBACK, |b| b).await;
    assert!(authkit.secure_cookies());
    assert_eq!(authkit.session_cookie_name(), "__Host-authkit_session");
    assert_eq!(SECURE_SESSION_COOKIE, "__Host-authkit_session");

    let login = server.get("/auth/login").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let cookie = set_cookie(&login);
    assert_eq!(cookie.name(), "__Host-authkit_session");
    // What browsers require of a __Host- cookie, and what sign-in needs.
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None);
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn on_localhost_the_session_cookie_is_authkit_session_and_not_secure() {
    let emulator = Emulator::builder().start().await.unwrap();
    let (authkit, _store, server) = app(&emulator, LOCAL_CALLBACK, |b| b).await;
    assert!(!authkit.secure_cookies());
    assert_eq!(authkit.session_cookie_name(), SESSION_COOKIE);

    let cookie = set_cookie(&server.get("/auth/login").await);
    assert_eq!(cookie.name(), "authkit_session");
    assert_ne!(cookie.secure(), Some(true));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None);
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_cookie_name_is_configurable() {
    let emulator = Emulator::builder().start().await.unwrap();
    let (authkit, _store, server) = app(&emulator, HTTPS_CALLBACK, |b| {
        b.session_cookie_name("__Host-shop")
    })
    .await;
    assert_eq!(authkit.session_cookie_name(), "__Host-shop");
    assert_eq!(
        set_cookie(&server.get("/auth/login").await).name(),
        "__Host-shop"
    );

    let (_, _, local) = app(&emulator, LOCAL_CALLBACK, |b| b.session_cookie_name("shop")).await;
    assert_eq!(set_cookie(&local.get("/auth/login").await).name(), "shop");
    support::assert_contract(&emulator);
}

#[test]
fn a_cookie_name_the_browser_would_drop_is_refused_at_build() {
    let client = authkit_axum::Client::builder()
        .api_key("sk_test_123")
        .client_id("client_123")
        .build()
        .unwrap();
    // A __Host-/__Secure- cookie must be Secure: not on http://localhost.
    for name in ["__Host-authkit_session", "__Secure-shop"] {
        let err = AuthKit::builder(client.clone(), LOCAL_CALLBACK)
            .session_cookie_name(name)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    name: "session_cookie_name",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("Secure"), "{err}");
    }
    for name in ["", "my session", "a;b", "ünï"] {
        let err = AuthKit::builder(client.clone(), HTTPS_CALLBACK)
            .session_cookie_name(name)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    name: "session_cookie_name",
                    ..
                }
            ),
            "{name:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn the_test_helper_names_the_cookie_as_the_app_does() {
    let emulator = Emulator::builder().start().await.unwrap();
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
    for (callback, name) in [
        (HTTPS_CALLBACK, "__Host-authkit_session"),
        (LOCAL_CALLBACK, "authkit_session"),
    ] {
        let (authkit, store, server) = app(&emulator, callback, |b| b).await;
        let auth = emulator
            .client()
            .user_management()
            .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
            .await
            .unwrap();
        let session = testing::auth_session(&authkit, auth).await.unwrap();
        let cookie = testing::signed_in_session(&authkit, &store, &session)
            .await
            .unwrap();
        assert!(cookie.starts_with(&format!("{name}=")), "{cookie}");
        server
            .get("/")
            .add_header("cookie", cookie)
            .await
            .assert_text("hello ada@example.com");
    }
    support::assert_contract(&emulator);
}
