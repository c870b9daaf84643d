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

    let done = support::app::browser_sign_in(
        &browser,
        &emulator,
        "/auth/login?return_to=%2Faccount",
        "alice@example.com",
        None,
    )
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

/// The example app signed in as `email` (scoped to `organization` if given).
async fn signed_in_example(
    email: &str,
    organization: Option<&str>,
) -> (authkit_emulator::Emulator, TestServer) {
    let emulator = example::demo_emulator(0, APP).await.unwrap();
    let authkit = AuthKit::builder(emulator.client(), format!("{APP}/auth/callback"))
        .build()
        .unwrap();
    let browser = TestServer::builder()
        .mock_transport()
        .save_cookies()
        .build(example::app(authkit.clone(), MemoryStore::default()))
        .unwrap();
    let mut link = authkit.sign_in_url();
    if let Some(name) = organization {
        let (id, _) = emulator
            .organizations()
            .into_iter()
            .find(|(_, n)| n == name)
            .unwrap();
        link = link.organization(id);
    }
    let done =
        support::app::browser_sign_in(&browser, &emulator, &link.to_string(), email, None).await;
    done.assert_status(StatusCode::SEE_OTHER);
    (emulator, browser)
}

#[tokio::test]
async fn the_admin_area_opens_for_an_organization_s_admins_only() {
    let (_, alice) = signed_in_example("alice@example.com", None).await;
    let refused = alice.get("/admin").add_header("accept", "text/html").await;
    refused.assert_status(StatusCode::FORBIDDEN);
    assert!(
        refused.text().contains("the role &quot;admin&quot;"),
        "{}",
        refused.text()
    );

    let (_, grace) = signed_in_example("grace@example.com", Some("Acme Inc.")).await;
    let admin = grace.get("/admin").await;
    admin.assert_status_ok();
    assert!(admin.text().contains("You are an admin"));
}

#[tokio::test]
async fn the_security_page_refresh_button_and_handler_sign_out_work() {
    let (emulator, browser) = signed_in_example("alice@example.com", None).await;
    // Just signed in: the page that needs a recent sign-in opens.
    let security = browser.get("/account/security").await;
    security.assert_status_ok();
    assert!(security.text().contains("signed-in-ago"));

    let refreshed = browser
        .post("/account/refresh")
        .add_header("origin", APP)
        .await;
    refreshed.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&refreshed), "/account");
    assert_eq!(support::refresh_calls(&emulator).len(), 1);
    // A cross-site post is refused.
    browser
        .post("/account/refresh")
        .add_header("origin", "https://evil.example")
        .await
        .assert_status(StatusCode::FORBIDDEN);

    let out = browser
        .post("/account/sign-out")
        .add_header("origin", APP)
        .await;
    out.assert_status(StatusCode::SEE_OTHER);
    assert!(
        location(&out).starts_with(emulator.base_url()),
        "{}",
        location(&out)
    );
    let after = browser
        .get("/account")
        .add_header("accept", "text/html")
        .await;
    after.assert_status(StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/auth/login"));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn your_sessions_lists_both_browsers_and_signs_the_other_out() {
    let emulator = example::demo_emulator(0, APP).await.unwrap();
    let authkit = AuthKit::builder(emulator.client(), format!("{APP}/auth/callback"))
        .build()
        .unwrap();
    let app = example::app(authkit, MemoryStore::default());
    let browser = || {
        TestServer::builder()
            .mock_transport()
            .save_cookies()
            .build(app.clone())
            .unwrap()
    };
    let (laptop, phone) = (browser(), browser());
    for (browser, agent) in [(&laptop, "Laptop/1.0"), (&phone, "Phone/1.0")] {
        support::app::browser_sign_in(
            browser,
            &emulator,
            "/auth/login",
            "alice@example.com",
            Some(agent),
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
    }
    let page = laptop.get("/account/devices").await;
    page.assert_status_ok();
    let text = page.text();
    assert!(
        text.contains("Laptop/1.0") && text.contains("(this browser)"),
        "{text}"
    );
    assert!(
        text.contains("Phone/1.0") && text.contains("Sign it out"),
        "{text}"
    );

    let out = laptop
        .post("/account/devices/sign-out-others")
        .add_header("origin", APP)
        .await;
    out.assert_status(StatusCode::SEE_OTHER);
    let after = phone
        .get("/account")
        .add_header("accept", "text/html")
        .await;
    after.assert_status(StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/auth/login"));
    laptop.get("/account").await.assert_status_ok();
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_user_without_an_organization_creates_one_and_is_switched_into_it() {
    let (emulator, alice) = signed_in_example("alice@example.com", None).await;
    let account = alice.get("/account").await;
    assert!(account.text().contains("Create an organization"));
    let me: serde_json::Value = alice.get("/api/me").await.json();
    assert_eq!(me["organization_id"], serde_json::Value::Null);

    // A cross-site post and an empty name are refused, and create nothing.
    alice
        .post("/account/organization")
        .add_header("origin", "https://evil.example")
        .form(&[("name", "Evil Corp")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    alice
        .post("/account/organization")
        .add_header("origin", APP)
        .form(&[("name", "  ")])
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !emulator
            .organizations()
            .iter()
            .any(|(_, name)| name == "Evil Corp")
    );

    let created = alice
        .post("/account/organization")
        .add_header("origin", APP)
        .form(&[("name", "Alice's Team")])
        .await;
    created.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&created), "/account");

    let (org_id, _) = emulator
        .organizations()
        .into_iter()
        .find(|(_, name)| name == "Alice's Team")
        .expect("the organization exists");
    let me: serde_json::Value = alice.get("/api/me").await.json();
    assert_eq!(me["organization_id"], org_id.as_str(), "switched into it");
    assert_eq!(me["role"], "member", "the default role");
    let account = alice.get("/account").await.text();
    assert!(
        account.contains("Alice&#39;s Team") || account.contains("Alice's Team"),
        "{account}"
    );
    assert!(
        !account.contains("Create an organization"),
        "the form is gone"
    );

    let kinds: Vec<String> = emulator
        .events()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .filter(|k| k.starts_with("organization"))
        .collect();
    assert_eq!(
        kinds,
        ["organization.created", "organization_membership.created"]
    );
    support::assert_contract(&emulator);
}
