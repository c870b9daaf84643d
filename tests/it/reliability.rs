//! What happens to signed-in users when the things a session depends on fail: the JWKS during a
//! refresh (an instance started during the outage has no keys), a signing-key rotation, the
//! session store going down, impersonation that ends, and what an operator reads meanwhile
//! (`stats`, `health`).
#![cfg(feature = "axum")]

use std::time::Duration;

use authkit_axum::AuthKit;
use authkit_axum::session::Clock;
use authkit_axum::user_management::AuthenticateWithCode;
use authkit_emulator::{Emulator, Fault, Impersonation, SigningKey};
use axum::Router;
use axum::http::StatusCode;
use axum_test::TestServer;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use crate::support::flaky::FlakyStore;
use support::app::{
    CALLBACK, TestApp, emulator_builder, eventually, location, router_with_extra,
    router_with_store, stored_session,
};

const ADA: &str = "ada@example.com";
/// From sign-in to just past the 5-minute access token's expiry (well within the grace).
const UNTIL_EXPIRED: Duration = Duration::from_secs(305);

fn refresh_calls(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.grant_type.as_deref() == Some("refresh_token"))
        .count()
}

async fn account(server: &TestServer, cookie: &str) -> axum_test::TestResponse {
    server
        .get("/account")
        .add_header("cookie", format!("authkit_session={cookie}"))
        .add_header("accept", "application/json")
        .await
}

fn machine(app: &TestApp, authkit: &AuthKit) -> TestServer {
    TestServer::builder()
        .mock_transport()
        .build(router_with_store(authkit, app.store.clone()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_outage_while_a_cold_instance_refreshes_signs_nobody_out() {
    let app = TestApp::start().await;
    app.user(ADA).await;
    let cookie = app.sign_in_cookie(ADA).await;
    let before = stored_session(&app.store, &cookie).await.unwrap();

    // The JWKS goes down, and a second instance starts during the outage: no keys cached.
    app.emulator
        .inject_fault(Fault::new("/sso/jwks/*").status(503));
    let cold = app.other_authkit(|b| b);
    cold.warm_up().await.unwrap_err();
    let cold_server = machine(&app, &cold);

    // The token expires; the cold instance refreshes it. WorkOS spends the refresh token and
    // answers, but the new access token cannot be verified: it is kept, not thrown away, and
    // the request is served from the session's verified tokens.
    app.advance(UNTIL_EXPIRED);
    let during = account(&cold_server, &cookie).await;
    during.assert_status_ok();
    assert_eq!(during.json::<Value>()["expires_at"], before.expires_at());
    assert_eq!(refresh_calls(&app.emulator), 1);
    let kept = stored_session(&app.store, &cookie).await.unwrap();
    assert!(
        !kept.refresh_token.ct_eq(&before.refresh_token),
        "the new refresh token is stored the moment it is issued"
    );
    assert_eq!(cold.stats().unverified_tokens_kept, 1);

    // More requests on the cold instance during the outage: served, no new refresh.
    for _ in 0..3 {
        account(&cold_server, &cookie).await.assert_status_ok();
    }
    assert_eq!(refresh_calls(&app.emulator), 1);

    // The warm instance has the keys: it verifies the kept tokens and serves them.
    let warm = account(&app.server, &cookie).await;
    warm.assert_status_ok();
    assert!(warm.json::<Value>()["expires_at"].as_i64().unwrap() > before.expires_at());

    // The JWKS is back: the cold instance fetches the keys and serves the new tokens too.
    app.emulator.clear_faults();
    app.advance(Duration::from_secs(6));
    eventually("the cold instance serves the verified tokens", || async {
        let body: Value = account(&cold_server, &cookie).await.json();
        body["expires_at"].as_i64().unwrap_or_default() > before.expires_at()
    })
    .await;
    // One refresh in all: nobody spent a refresh token twice, nobody was signed out.
    assert_eq!(refresh_calls(&app.emulator), 1);
    for kit in [&app.authkit, &cold] {
        assert_eq!(kit.stats().sign_outs.refused, 0);
    }
    support::assert_contract(&app.emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_kept_during_a_jwks_outage_are_verified_once_it_is_back() {
    let app = TestApp::start().await;
    app.user(ADA).await;
    let cookie = app.sign_in_cookie(ADA).await;
    let before = stored_session(&app.store, &cookie).await.unwrap();
    // WorkOS rotates its signing key while the JWKS is unreachable: the instance's cached keys
    // cannot verify the next token, and it cannot fetch the new key.
    let fault = app
        .emulator
        .inject_fault(Fault::new("/sso/jwks/*").status(503));
    app.emulator
        .rotate_signing_key(SigningKey::development_key(2).unwrap())
        .unwrap();
    app.advance(UNTIL_EXPIRED);
    let during = account(&app.server, &cookie).await;
    during.assert_status_ok();
    assert_eq!(during.json::<Value>()["expires_at"], before.expires_at());
    assert_eq!(app.authkit.stats().unverified_tokens_kept, 1);
    assert!(!app.authkit.health().await.refresh.succeeding);

    app.emulator.remove_fault(fault);
    app.advance(Duration::from_secs(6));
    eventually("the kept tokens are verified", || async {
        let body: Value = account(&app.server, &cookie).await.json();
        body["expires_at"].as_i64().unwrap_or_default() > before.expires_at()
    })
    .await;
    assert_eq!(refresh_calls(&app.emulator), 1);
    assert_eq!(app.authkit.stats().sign_outs.refused, 0);
    assert!(app.authkit.health().await.refresh.succeeding);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_key_rotation_signs_nobody_out() {
    let app = TestApp::start().await;
    app.user(ADA).await;
    let cookie = app.sign_in_cookie(ADA).await;
    let before = stored_session(&app.store, &cookie).await.unwrap();
    let old_kid = app.emulator.signing_kid();
    // The token is due for a refresh; a second instance starts now and fetches the keys.
    app.advance(Duration::from_secs(280));
    let other = app.other_authkit(|b| b);
    other.warm_up().await.unwrap();
    let other_server = machine(&app, &other);

    // WorkOS adds a key and signs with it from now on; the old one stays published.
    app.emulator
        .rotate_signing_key(SigningKey::development_key(2).unwrap())
        .unwrap();
    assert_ne!(app.emulator.signing_kid(), old_kid);

    // The second instance refreshes at once: the new key is unknown to it and it fetched the
    // keys moments ago (refetches are rate-limited), so the tokens are kept, and the request
    // is served from the verified ones.
    account(&other_server, &cookie).await.assert_status_ok();
    eventually("the refresh kept the new tokens", || async {
        other.stats().unverified_tokens_kept == 1
    })
    .await;
    // Past the refetch interval (and the old token's expiry) it fetches the new key.
    app.advance(Duration::from_secs(31));
    eventually("the second instance serves the new tokens", || async {
        let body: Value = account(&other_server, &cookie).await.json();
        body["expires_at"].as_i64().unwrap_or_default() > before.expires_at()
    })
    .await;
    account(&app.server, &cookie).await.assert_status_ok();

    // The old key is retired; sessions go on with the new one through more refreshes.
    app.emulator.retire_signing_key(&old_kid).unwrap();
    for _ in 0..2 {
        let last = stored_session(&app.store, &cookie).await.unwrap();
        app.advance(UNTIL_EXPIRED);
        eventually(
            "the session is refreshed and served on both instances",
            || async {
                let a: Value = account(&app.server, &cookie).await.json();
                let b: Value = account(&other_server, &cookie).await.json();
                a["expires_at"].as_i64().unwrap_or_default() > last.expires_at()
                    && b["expires_at"] == a["expires_at"]
            },
        )
        .await;
    }
    assert_eq!(refresh_calls(&app.emulator), 3);
    for kit in [&app.authkit, &other] {
        assert_eq!(kit.stats().sign_outs.refused, 0, "{:?}", kit.stats());
    }
    support::assert_contract(&app.emulator);
}

/// An app on a [`FlakyStore`], signed in as Ada; returns the server (cookies saved).
async fn app_on_flaky_store() -> (Emulator, AuthKit, TestServer, FlakyStore) {
    let emulator = emulator_builder().start().await.unwrap();
    emulator
        .client()
        .user_management()
        .create_user(
            authkit_axum::user_management::CreateUser::new(ADA)
                .password(support::app::PASSWORD)
                .email_verified(true),
        )
        .await
        .unwrap();
    let authkit = AuthKit::builder(emulator.client(), CALLBACK)
        .clock(Clock::adjustable())
        .build()
        .unwrap();
    let store = FlakyStore::default();
    let server = TestServer::builder()
        .save_cookies()
        .mock_transport()
        .build(router_with_extra(&authkit, store.clone(), Router::new()))
        .unwrap();
    let login = server.get("/auth/login").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let callback = emulator.approve_sign_in(&location(&login), ADA).unwrap();
    let path = format!("{}?{}", callback.path(), callback.query().unwrap());
    server.get(&path).await.assert_status(StatusCode::SEE_OTHER);
    (emulator, authkit, server, store)
}

#[tokio::test]
async fn while_the_store_is_down_requests_get_a_fast_503_and_nobody_is_signed_out() {
    let (_emulator, authkit, server, store) = app_on_flaky_store().await;
    server
        .get("/account")
        .add_header("accept", "application/json")
        .await
        .assert_status_ok();

    store.set_down(true);
    let api = server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    api.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.header("retry-after"), "1");
    assert_eq!(api.json::<Value>()["error"], "session_store_unavailable");
    let page = server
        .get("/account")
        .add_header("accept", "text/html")
        .await;
    page.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.text().contains("Try again in a moment"),
        "{}",
        page.text()
    );
    // Health says so, when given the store.
    let health = authkit.health_with_store(&store).await;
    assert!(!health.ready);
    assert!(!health.store.unwrap().reachable);
    assert!(authkit.stats().store_errors >= 2);

    // Back up: still signed in (nothing was deleted during the outage).
    store.set_down(false);
    let after = server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    after.assert_status_ok();
    assert_eq!(after.json::<Value>()["email"], ADA);
    assert_eq!(authkit.stats().sign_outs.unreadable, 0);
    assert!(authkit.health_with_store(&store).await.ready);
}

#[tokio::test]
async fn requests_without_a_session_are_served_while_the_store_is_down() {
    let (_emulator, _authkit, _server, store) = app_on_flaky_store().await;
    let authkit = AuthKit::builder(_emulator.client(), CALLBACK)
        .build()
        .unwrap();
    let fresh = TestServer::builder()
        .mock_transport()
        .build(router_with_extra(&authkit, store.clone(), Router::new()))
        .unwrap();
    store.set_down(true);
    fresh.get("/").await.assert_text("anonymous");
}

#[tokio::test]
async fn an_impersonation_from_the_dashboard_signs_in_and_ends_with_the_signed_claim() {
    let app = TestApp::start().await;
    app.user(ADA).await;
    // The dashboard sends the impersonator's browser to the callback with a code, no state.
    let url = app
        .emulator
        .impersonate(&Impersonation::new(ADA, "support@corp.example").reason("Ticket 42"))
        .unwrap();
    let done = app.callback(&url).await;
    done.assert_status(StatusCode::SEE_OTHER);
    let during: Value = app.server.get("/account").await.json();
    assert_eq!(during["email"], ADA);
    assert_eq!(during["impersonator"], "support@corp.example");
    assert_eq!(during["impersonation_reason"], "Ticket 42");

    // A refresh whose access token carries no `act` claim is not impersonated any more, even
    // though the session was.
    let sid = during["session_id"].as_str().unwrap().to_owned();
    assert!(app.emulator.end_impersonation(&sid));
    app.advance(UNTIL_EXPIRED);
    eventually("the refreshed session is served", || async {
        let body: Value = app.server.get("/account").await.json();
        body["expires_at"].as_i64() > during["expires_at"].as_i64()
    })
    .await;
    let after: Value = app.server.get("/account").await.json();
    assert_eq!(after["email"], ADA);
    assert_eq!(after["impersonator"], Value::Null);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_code_without_state_that_is_not_an_impersonation_is_refused() {
    let app = TestApp::start().await;
    app.user(ADA).await;
    let authorize = app.start_sign_in("").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    // Drop the state: an attacker's code planted in a link.
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let response = app.server.get(&format!("/auth/callback?code={code}")).await;
    response.assert_status(StatusCode::BAD_REQUEST);
    app.server.get("/").await.assert_text("anonymous");
}

#[tokio::test]
async fn a_bearer_token_of_an_impersonation_names_the_impersonator() {
    let app = TestApp::start().await;
    app.user(ADA).await;
    let url = app
        .emulator
        .impersonate(&Impersonation::new(ADA, "support@corp.example"))
        .unwrap();
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let auth = app
        .emulator
        .client()
        .user_management()
        .authenticate_with_code(AuthenticateWithCode::new(code))
        .await
        .unwrap();
    let body: Value = app
        .server
        .get("/account")
        .add_header(
            "authorization",
            format!("Bearer {}", auth.access_token.expose_secret()),
        )
        .await
        .json();
    assert_eq!(body["email"], ADA);
    assert_eq!(body["impersonator"], "support@corp.example");
}

#[tokio::test]
async fn health_reports_the_keys_and_counters() {
    let app = TestApp::start().await;
    app.authkit.warm_up().await.unwrap();
    let health = app.authkit.health().await;
    assert!(health.ready);
    assert!(health.jwks.keys >= 1);
    assert!(health.refresh.succeeding);
    let response = axum::response::IntoResponse::into_response(health);
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn while_the_store_is_down_the_sign_in_routes_answer_503_with_retry_after() {
    let (emulator, authkit, server, store) = app_on_flaky_store().await;
    let fresh = TestServer::builder()
        .mock_transport()
        .build(router_with_extra(&authkit, store.clone(), Router::new()))
        .unwrap();
    // A sign-in started before the outage, finished during it.
    let login = fresh.get("/auth/login").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let pending = login.cookie(authkit_axum::web::SESSION_COOKIE);
    let callback = emulator.approve_sign_in(&location(&login), ADA).unwrap();

    store.set_down(true);
    let unavailable = |response: &axum_test::TestResponse, what: &str| {
        assert_eq!(
            response.status_code(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}: {}",
            response.text()
        );
        assert_eq!(response.header("retry-after"), "1", "{what}");
        assert!(
            response.text().contains("session store"),
            "{what}: {}",
            response.text()
        );
    };
    unavailable(&fresh.get("/auth/login").await, "a new sign-in");
    unavailable(&fresh.get("/auth/signup").await, "a new sign-up");
    let finish = fresh
        .get(&format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap()
        ))
        .add_cookie(pending)
        .await;
    unavailable(&finish, "the callback");
    let logout = server
        .post("/auth/logout")
        .add_header("origin", "http://localhost:3000")
        .await;
    unavailable(&logout, "a sign-out");

    // Back up: the signed-in user still is, and a new sign-in works.
    store.set_down(false);
    server.get("/").await.assert_text(format!("hello {ADA}"));
    fresh
        .get("/auth/login")
        .await
        .assert_status(StatusCode::SEE_OTHER);
}
