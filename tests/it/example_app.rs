//! The `login` example's own pages: signed in, `/` and `/account` work and cannot be framed by
//! another site or sniffed into another content type; the built-in sign-in pages keep their
//! own, stricter policy.
#![cfg(feature = "axum")]

use authkit_axum::AuthKit;
use authkit_axum::stores::MemoryStore;
use axum::http::StatusCode;
use axum_test::{TestResponse, TestServer};

use crate::example;
use crate::support;
use crate::support::EmulatorExt as _;
use support::app::location;

const APP: &str = "http://localhost:3000";

fn assert_not_frameable(response: &TestResponse, what: &str) {
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
}

#[tokio::test]
async fn the_examples_pages_cannot_be_framed() {
    let emulator = example::demo_emulator(0, APP).await.unwrap();
    let authkit = AuthKit::builder(emulator.client(), format!("{APP}/auth/callback"))
        .build()
        .unwrap();
    let browser = TestServer::builder()
        .mock_transport()
        .save_cookies()
        .build(example::app(authkit, MemoryStore::default()))
        .unwrap();

    let home = browser.get("/").await;
    home.assert_status_ok();
    assert!(home.text().contains("You are not signed in"));
    assert_not_frameable(&home, "/ signed out");

    let login = browser.get("/auth/login?return_to=%2Faccount").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let callback = emulator
        .approve_sign_in(&location(&login), "alice@example.com")
        .unwrap();
    let done = browser
        .get(&format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap()
        ))
        .await;
    assert_eq!(location(&done), "/account");

    let account = browser.get("/account").await;
    account.assert_status_ok();
    assert!(account.text().contains("alice@example.com"));
    assert_not_frameable(&account, "/account");
    assert_not_frameable(&browser.get("/").await, "/ signed in");

    // A built-in page keeps its own policy (which forbids framing too, and more).
    let expired = browser.get("/auth/verify-email").await;
    let csp = expired.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    support::assert_contract(&emulator);
}
