//! Refreshing sessions: single-flight under concurrency, single-use refresh tokens, the
//! organization kept, revoked sessions, WorkOS failures. Refresh races between two app
//! instances on one store are in the store suite (`stores::refresh`), run on every store.
#![cfg(feature = "axum")]

use std::str::FromStr;
use std::time::Duration;

use authkit_axum::SESSION_COOKIE;
use authkit_axum::tower_sessions::SessionStore;
use authkit_axum::tower_sessions::session::Id;
use authkit_axum::user_management::AuthenticateWithRefreshToken;
use authkit_emulator::{Emulator, Fault};
use axum::http::StatusCode;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{CART_KEY, TestApp, router_with_store, stored_keys, stored_session};
use support::refresh_calls;

/// Tokens live 32 s and are refreshed within 30 s of expiry: 2 s after sign-in they are
/// "expiring" (the app uses the real clock, so the tests wait for real).
const TTL: Duration = Duration::from_secs(32);
const MARGIN: Duration = Duration::from_secs(30);
const UNTIL_EXPIRING: Duration = Duration::from_millis(2200);

async fn expiring_app() -> TestApp {
    TestApp::start_with(Emulator::builder().access_token_ttl(TTL), |b| {
        b.refresh_margin(MARGIN)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_parallel_requests_make_one_refresh_and_keep_the_organization() {
    let app = expiring_app().await;
    let ada = app.user("ada@example.com").await;
    let acme = app.emulator.create_organization("Acme");
    app.emulator.seed_membership(&ada.id, &acme, "admin");
    let cookie = app.sign_in_cookie("ada@example.com").await;
    let before = stored_session(&app.store, &cookie).await.unwrap();
    assert_eq!(before.claims.org_id.as_deref(), Some(acme.as_str()));

    // Serve the app for real so that the requests run concurrently.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app_router = router_with_store(&app.authkit, app.store.clone());
    let served = tokio::spawn(async move { axum::serve(listener, app_router).await });
    let http = reqwest::Client::new();

    tokio::time::sleep(UNTIL_EXPIRING).await;
    let requests = (0..100).map(|_| {
        http.get(format!("http://{addr}/account"))
            .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
            .header("accept", "application/json")
            .send()
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut expiries = Vec::new();
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["email"], "ada@example.com");
        assert_eq!(body["organization_id"], acme.as_str());
        expiries.push(body["expires_at"].as_i64().unwrap());
    }
    // Every request got the refreshed token.
    assert!(expiries.iter().all(|e| *e > before.expires_at()));

    let calls = refresh_calls(&app.emulator);
    assert_eq!(calls.len(), 1, "refresh calls at WorkOS: {calls:?}");
    assert_eq!(calls[0].0, 200);
    assert_eq!(app.authkit.refresh_count(), 1);

    // The store holds the new tokens, still scoped to the organization.
    let after = stored_session(&app.store, &cookie).await.unwrap();
    assert_eq!(after.claims.org_id.as_deref(), Some(acme.as_str()));
    assert_eq!(after.organization_id.as_deref(), Some(acme.as_str()));
    assert_eq!(after.claims.sid, before.claims.sid);
    assert_eq!(
        calls[0].1["refresh_token"].as_str(),
        Some(after.refresh_token.expose_secret())
    );

    // The old refresh token was spent: WorkOS refuses it now.
    let reused = app
        .emulator
        .client()
        .user_management()
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            before.refresh_token.clone(),
        ))
        .await
        .unwrap_err();
    assert!(reused.is_invalid_grant(), "{reused:?}");
    served.abort();
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_revoked_session_signs_out_and_keeps_the_apps_own_keys() {
    let app = expiring_app().await;
    app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    app.server
        .post("/cart")
        .text("3 apples")
        .await
        .assert_text("saved");
    let account: Value = app.server.get("/account").await.json();
    let sid = account["session_id"].as_str().unwrap().to_owned();

    app.emulator
        .client()
        .user_management()
        .revoke_session(&sid)
        .await
        .unwrap();
    tokio::time::sleep(UNTIL_EXPIRING).await;

    // The refresh is refused: the request is anonymous, and so are the next ones.
    app.server.get("/").await.assert_text("anonymous");
    let api = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    api.assert_status(StatusCode::UNAUTHORIZED);
    let calls = refresh_calls(&app.emulator);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].1["error"], "invalid_grant");

    // AuthKit's keys are gone; the app's own are kept.
    assert_eq!(stored_keys(&app.store, &cookie).await, vec![CART_KEY]);
    app.server.get("/cart").await.assert_text("3 apples");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_workos_outage_keeps_the_session_and_the_next_request_refreshes() {
    // Tokens that expire 2 s after sign-in (refreshed from 1 s on): after 2.5 s the request
    // rides on the stale-session grace while WorkOS fails.
    let app = TestApp::start_with_client(
        Emulator::builder().access_token_ttl(Duration::from_secs(2)),
        |e| e.client_builder().max_retries(0).build().unwrap(),
        |b| b.refresh_margin(Duration::from_secs(1)),
    )
    .await;
    app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    let before = stored_session(&app.store, &cookie).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    app.emulator
        .inject_fault(Fault::new("/user_management/authenticate").status(503));
    let during = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    during.assert_status_ok();
    assert_eq!(during.json::<Value>()["email"], "ada@example.com");
    let calls = refresh_calls(&app.emulator);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, 503);
    // The session is kept as it was.
    let kept = stored_session(&app.store, &cookie).await.unwrap();
    assert!(kept.refresh_token.ct_eq(&before.refresh_token));

    // WorkOS is back: the next request refreshes (the failure is not remembered).
    app.emulator.clear_faults();
    let after = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    after.assert_status_ok();
    let body: Value = after.json();
    assert!(body["expires_at"].as_i64().unwrap() > before.expires_at());
    let calls = refresh_calls(&app.emulator);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1].0, 200);
    let refreshed = stored_session(&app.store, &cookie).await.unwrap();
    assert!(!refreshed.refresh_token.ct_eq(&before.refresh_token));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_late_save_of_the_old_tokens_does_not_spend_them_again() {
    let app = expiring_app().await;
    app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    let id = Id::from_str(&cookie).unwrap();
    let old_record = app.store.load(&id).await.unwrap().unwrap();
    tokio::time::sleep(UNTIL_EXPIRING).await;
    app.server.get("/account").await.assert_status_ok();
    let refreshed = stored_session(&app.store, &cookie).await.unwrap();

    // A request that read the session before the refresh and changed something else saves
    // the whole record at its end, old tokens included (tower-sessions saves whole records).
    app.store.save(&old_record).await.unwrap();

    // The next request sees the spent token, reuses the refresh that already happened instead
    // of spending it again (which WorkOS would refuse), and puts the new tokens back.
    let after = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    after.assert_status_ok();
    assert_eq!(after.json::<Value>()["expires_at"], refreshed.expires_at());
    assert_eq!(refresh_calls(&app.emulator).len(), 1);
    let restored = stored_session(&app.store, &cookie).await.unwrap();
    assert!(restored.refresh_token.ct_eq(&refreshed.refresh_token));
    support::assert_contract(&app.emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_abandoned_during_its_refresh_does_not_lose_the_session() {
    let app = expiring_app().await;
    app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    let before = stored_session(&app.store, &cookie).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app_router = router_with_store(&app.authkit, app.store.clone());
    let served = tokio::spawn(async move { axum::serve(listener, app_router).await });
    tokio::time::sleep(UNTIL_EXPIRING).await;

    // The browser gives up (navigates away) while WorkOS is still answering the refresh.
    app.emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .delay(Duration::from_millis(400))
            .times(1),
    );
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let abandoned = impatient
        .get(format!("http://{addr}/account"))
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .send()
        .await;
    assert!(abandoned.unwrap_err().is_timeout());

    // Once WorkOS has answered, the new tokens are in the store, and nobody spends the old
    // refresh token again.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let stored = stored_session(&app.store, &cookie).await.unwrap();
    assert!(!stored.refresh_token.ct_eq(&before.refresh_token));
    let next = reqwest::Client::new()
        .get(format!("http://{addr}/account"))
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), reqwest::StatusCode::OK);
    let calls = refresh_calls(&app.emulator);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, 200);
    served.abort();
    support::assert_contract(&app.emulator);
}
