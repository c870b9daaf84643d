//! Signing in through the router: login → WorkOS (the emulator) → callback → a protected page,
//! then refresh, organization switch and sign-out.
#![cfg(feature = "axum")]

use std::time::Duration;

use authkit_emulator::Emulator;
use axum::http::StatusCode;
use serde_json::Value;

use crate::support;
use support::app::{PASSWORD, TestApp, hosted_page_sign_in, location};

#[tokio::test]
async fn signs_in_and_reaches_the_protected_page() {
    let app = TestApp::start().await;
    app.user("ada@example.com").await;

    // Signed out: the page redirects to sign-in with return_to; an API call gets 401 JSON.
    let page = app
        .server
        .get("/account")
        .add_header("accept", "text/html")
        .await;
    page.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&page), "/auth/login?return_to=%2Faccount");
    let api = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    api.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(api.json::<Value>()["error"], "unauthorized");

    let authorize = app.start_sign_in("?return_to=%2Faccount").await;
    let url = url::Url::parse(&authorize).unwrap();
    assert_eq!(url.path(), "/user_management/authorize");
    let param = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("provider").as_deref(), Some("authkit"));
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert!(param("state").is_some_and(|s| s.len() >= 32));

    let callback = app
        .emulator
        .approve_sign_in(&authorize, "ada@example.com")
        .unwrap();
    let done = app.callback(&callback).await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account");

    let account = app.server.get("/account").await;
    account.assert_status_ok();
    let body: Value = account.json();
    assert_eq!(body["email"], "ada@example.com");
    assert!(body["session_id"].as_str().unwrap().starts_with("session_"));
    assert_eq!(
        account.headers().get("cache-control").unwrap(),
        "private, no-store"
    );
    let vary: Vec<_> = account
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(vary.iter().any(|v| v.contains("Cookie")), "{vary:?}");
    app.server
        .get("/")
        .await
        .assert_text("hello ada@example.com");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_and_the_old_refresh_token_dies() {
    let app = TestApp::start_with(Emulator::builder(), |b| {
        b.refresh_margin(Duration::from_secs(30))
    })
    .await;
    app.user("ada@example.com").await;
    app.sign_in("ada@example.com")
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let first: Value = app.server.get("/account").await.json();
    assert_eq!(app.authkit.refresh_count(), 0);

    // 280 s later the 5-minute token is within the 30 s margin: the next request is served at
    // once and refreshes it in the background.
    app.advance(Duration::from_secs(280));
    let due: Value = app.server.get("/account").await.json();
    assert_eq!(due["email"], "ada@example.com");
    // The refresh call counts when it starts; what a user sees is the stored result: wait for
    // a request that is served the new token.
    let second = std::cell::RefCell::new(Value::Null);
    support::app::eventually("the refreshed token was stored", || async {
        let seen: Value = app.server.get("/account").await.json();
        let refreshed = seen["expires_at"].as_i64() > first["expires_at"].as_i64();
        *second.borrow_mut() = seen;
        refreshed
    })
    .await;
    let second = second.into_inner();
    assert_eq!(second["email"], "ada@example.com");
    assert_eq!(app.authkit.refresh_count(), 1);
    assert_eq!(second["session_id"], first["session_id"]);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn switching_organization_rescopes_the_session() {
    let app = TestApp::start().await;
    let (_, acme, globex) = app.member_of_acme_and_globex("ada@example.com").await;

    let authorize = app.start_sign_in(&format!("?organization_id={acme}")).await;
    let callback = app
        .emulator
        .approve_sign_in(&authorize, "ada@example.com")
        .unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let before: Value = app.server.get("/account").await.json();
    assert_eq!(before["organization_id"], acme.as_str());
    assert_eq!(before["role"], "admin");
    app.server.get("/admin").await.assert_text("admin area");

    let switched = app
        .server
        .post("/auth/switch-organization")
        .form(&[
            ("organization_id", globex.as_str()),
            ("return_to", "/account"),
        ])
        .await;
    switched.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&switched), "/account");
    let after: Value = app.server.get("/account").await.json();
    assert_eq!(after["organization_id"], globex.as_str());
    assert_eq!(after["role"], "member");
    // A member lacks the permission: 403 naming it.
    let denied = app.server.get("/admin").await;
    denied.assert_status(StatusCode::FORBIDDEN);
    assert!(denied.text().contains("users:manage"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn sign_out_ends_the_workos_session() {
    let app = TestApp::start().await;
    app.user("ada@example.com").await;
    app.sign_in("ada@example.com").await;
    let account: Value = app.server.get("/account").await.json();
    let sid = account["session_id"].as_str().unwrap().to_owned();

    let out = app.server.post("/auth/logout").await;
    out.assert_status(StatusCode::SEE_OTHER);
    let logout_url = url::Url::parse(&location(&out)).unwrap();
    assert_eq!(logout_url.path(), "/user_management/sessions/logout");
    assert!(
        logout_url
            .query_pairs()
            .any(|(k, v)| k == "session_id" && v == sid)
    );
    // The app is signed out at once.
    app.server.get("/").await.assert_text("anonymous");

    // The browser follows the redirect to WorkOS, which ends the session there.
    let http = crate::support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let ended = http.get(logout_url.as_str()).send().await.unwrap();
    assert_eq!(ended.status(), reqwest::StatusCode::FOUND);
    assert_eq!(ended.headers()["location"], "http://localhost:3000/");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn signs_in_through_the_hosted_page_with_form_posts() {
    let app = TestApp::start().await;
    app.user("grace@example.com").await;

    let authorize = app
        .start_sign_in("?return_to=%2Faccount&login_hint=grace%40example.com")
        .await;
    let callback =
        hosted_page_sign_in(&app.emulator, &authorize, "grace@example.com", PASSWORD).await;
    assert_eq!(
        callback.as_str().split('?').next(),
        Some(support::app::CALLBACK)
    );
    let done = app.callback(&callback).await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account");
    let account: Value = app.server.get("/account").await.json();
    assert_eq!(account["email"], "grace@example.com");

    // A second use of the same callback (a replay) is refused and changes nothing.
    let replay = app.callback(&callback).await;
    replay.assert_status(StatusCode::BAD_REQUEST);
    app.server
        .get("/")
        .await
        .assert_text("hello grace@example.com");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_handler_that_sets_its_own_cache_control_keeps_it() {
    use axum::routing::get;
    async fn cached(user: authkit_axum::AuthUser) -> impl axum::response::IntoResponse {
        // `AuthUser` reads as its user.
        (
            [("cache-control", "private, max-age=60")],
            format!("{} <{}>", user.display_name(), user.email),
        )
    }
    let (app, _store) = TestApp::start_with_store(
        support::app::emulator_builder(),
        |b| b,
        axum::Router::new().route("/cached", get(cached)),
    )
    .await;
    app.user("ada@example.com").await;
    app.sign_in("ada@example.com")
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let page = app.server.get("/cached").await;
    page.assert_status_ok();
    assert!(
        page.text().ends_with("<ada@example.com>"),
        "{}",
        page.text()
    );
    assert_eq!(page.headers()["cache-control"], "private, max-age=60");
    // The layer still says the answer depends on the cookie.
    assert!(
        page.headers()
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("Cookie"))
    );
}
