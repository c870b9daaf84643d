//! Sign-in links (`authkit.sign_in_url()`, `sign_up_url()`): the options a link carries reach
//! WorkOS's authorization URL (provider, connection, organization, login and domain hints,
//! `prompt`, sign-up screen), the page to return to is honoured after the callback when it is
//! on this site and ignored when it is not, and a link with junk never breaks sign-in.
#![cfg(feature = "axum")]

use std::collections::HashMap;

use authkit_axum::user_management::Provider;
use axum::http::StatusCode;

use crate::support;
use crate::support::app::{TestApp, location};

const ADA: &str = "ada@example.com";

/// Follows `link` on the app; returns the authorization URL's query.
async fn authorize_query(app: &TestApp, link: &str) -> (String, HashMap<String, String>) {
    let response = app.server.get(link).await;
    response.assert_status(StatusCode::SEE_OTHER);
    let authorize = location(&response);
    let url = url::Url::parse(&authorize).unwrap();
    let query = url.query_pairs().into_owned().collect();
    (authorize, query)
}

#[tokio::test]
async fn a_link_s_options_reach_the_authorization_url() {
    let app = TestApp::start().await;
    let link = app
        .authkit
        .sign_in_url()
        .provider(Provider::GoogleOAuth)
        .login_hint(ADA)
        .domain_hint("example.com")
        .prompt("login")
        .to_string();
    let (_, q) = authorize_query(&app, &link).await;
    assert_eq!(q["provider"], "GoogleOAuth");
    assert_eq!(q["login_hint"], ADA);
    assert_eq!(q["domain_hint"], "example.com");
    assert_eq!(q["prompt"], "login");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(!q["state"].is_empty());

    // A connection wins over an organization, which wins over a provider.
    let link = app
        .authkit
        .sign_in_url()
        .provider(Provider::GitHubOAuth)
        .organization("org_123")
        .connection("conn_123")
        .to_string();
    let (_, q) = authorize_query(&app, &link).await;
    assert_eq!(q.get("connection_id").map(String::as_str), Some("conn_123"));
    assert!(!q.contains_key("organization_id") && !q.contains_key("provider"));

    // The sign-up link opens AuthKit's sign-up form, unless it names a provider.
    let (_, q) = authorize_query(&app, &app.authkit.sign_up_url().to_string()).await;
    assert_eq!(q["screen_hint"], "sign-up");
    assert_eq!(q["provider"], "authkit");
    let google = app
        .authkit
        .sign_up_url()
        .provider(Provider::GoogleOAuth)
        .to_string();
    let (_, q) = authorize_query(&app, &google).await;
    assert_eq!(q["provider"], "GoogleOAuth");
    assert!(!q.contains_key("screen_hint"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_link_signs_in_and_returns_to_its_page_on_this_site_only() {
    let app = TestApp::start().await;
    app.user(ADA).await;
    for (return_to, lands) in [
        ("/account?tab=security", "/account?tab=security"),
        ("https://evil.example/phish", "/"),
        ("//evil.example", "/"),
    ] {
        let link = app
            .authkit
            .sign_in_url()
            .return_to(return_to)
            .login_hint(ADA);
        let (authorize, q) = authorize_query(&app, &link.to_string()).await;
        assert_eq!(q["login_hint"], ADA);
        let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
        let done = app.callback(&callback).await;
        done.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(location(&done), lands, "return_to {return_to:?}");
    }
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn empty_repeated_and_oversized_options_are_dropped_not_fatal() {
    let app = TestApp::start().await;
    let long = "a".repeat(5000);
    let link = format!(
        "/auth/login?provider=&prompt=login&prompt=consent&login_hint={long}&organization_id=%20"
    );
    let (_, q) = authorize_query(&app, &link).await;
    assert_eq!(q["provider"], "authkit", "an empty provider is the default");
    assert_eq!(q["prompt"], "login", "the first of a repeated option");
    assert!(!q.contains_key("login_hint") && !q.contains_key("organization_id"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_link_s_state_reaches_the_sign_in_hook_after_the_callback_and_step_ups() {
    use std::sync::{Arc, Mutex};

    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let hook_seen = seen.clone();
    let app = TestApp::start_with(authkit_emulator::Emulator::builder(), move |b| {
        b.on_sign_in(move |sign_in: authkit_axum::web::SignIn| {
            let seen = hook_seen.clone();
            async move {
                seen.lock().unwrap().push(sign_in.state.clone());
                Ok::<(), StatusCode>(())
            }
        })
    })
    .await;
    app.user(ADA).await;

    // Straight through the callback.
    let link = app.authkit.sign_in_url().state("plan=pro").to_string();
    let (authorize, q) = authorize_query(&app, &link).await;
    assert!(
        !q.contains_key("app_state"),
        "the state never goes to WorkOS"
    );
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // Through an organization-choice step-up.
    let (_, acme, _) = app.member_of_acme_and_globex("grace@example.com").await;
    let link = app.authkit.sign_up_url().state("invite=42").to_string();
    let (authorize, _) = authorize_query(&app, &link).await;
    let callback = app
        .emulator
        .approve_sign_in_pending(&authorize, "grace@example.com")
        .unwrap();
    let choose = app.callback(&callback).await;
    assert_eq!(location(&choose), "/auth/select-organization");
    app.server
        .post("/auth/select-organization")
        .form(&[("organization_id", acme.as_str())])
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // A sign-in without state.
    let (authorize, _) = authorize_query(&app, "/auth/login").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);

    assert_eq!(
        *seen.lock().unwrap(),
        [
            Some("plan=pro".to_owned()),
            Some("invite=42".to_owned()),
            None
        ]
    );
    support::assert_contract(&app.emulator);
}
