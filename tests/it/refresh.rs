//! Refreshing sessions: single-flight under concurrency, single-use refresh tokens, the
//! organization kept, revoked sessions, WorkOS failures (served at once or stale, backing
//! off). Refresh races between two app instances on one store are in the store suite
//! (`stores::refresh`), run on every store. Time moves with the app's and the emulator's
//! clocks (`TestApp::advance`), not by sleeping.
#![cfg(feature = "axum")]

use std::str::FromStr;
use std::time::Duration;

use authkit_axum::tower_sessions::SessionStore;
use authkit_axum::tower_sessions::session::Id;
use authkit_axum::user_management::AuthenticateWithRefreshToken;
use authkit_axum::web::SESSION_COOKIE;
use authkit_emulator::{Emulator, Fault};
use axum::http::StatusCode;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{CART_KEY, TestApp, eventually, router_with_store, stored_keys, stored_session};
use support::refresh_calls;

/// Tokens live 5 minutes (as WorkOS's) and are refreshed within 30 s of expiry.
const TTL: Duration = Duration::from_secs(300);
const MARGIN: Duration = Duration::from_secs(30);
/// From sign-in to within the margin: the token is still valid, and due for a refresh.
const UNTIL_DUE: Duration = Duration::from_secs(280);
/// From sign-in to just past the token's expiry (well within the 5-minute stale grace).
const UNTIL_EXPIRED: Duration = Duration::from_secs(305);

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
    let http = crate::support::http_client().build().unwrap();

    // Expired: every request waits (briefly) for the one refresh.
    app.advance(UNTIL_EXPIRED);
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
    app.advance(UNTIL_EXPIRED);

    // The refresh is refused (after checking the store for a racing winner): the session is
    // signed out, and the requests are anonymous.
    app.server.get("/").await;
    eventually("the revoked session is signed out", || async {
        app.server.get("/").await.text() == "anonymous"
    })
    .await;
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
async fn a_workos_outage_serves_the_session_stale_backs_off_and_recovers() {
    let app = TestApp::start_with_client(
        Emulator::builder().access_token_ttl(TTL),
        |e| e.client_builder().max_retries(0).build().unwrap(),
        |b| b.refresh_margin(MARGIN),
    )
    .await;
    app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    let before = stored_session(&app.store, &cookie).await.unwrap();
    app.advance(UNTIL_EXPIRED);

    // WorkOS fails: the expired session is served stale (within the grace), once refreshed.
    app.emulator
        .inject_fault(Fault::new("/user_management/authenticate").status(503));
    let account = |app: &TestApp| {
        app.server
            .get("/account")
            .add_header("accept", "application/json")
    };
    let during = account(&app).await;
    during.assert_status_ok();
    assert_eq!(during.json::<Value>()["expires_at"], before.expires_at());
    assert_eq!(refresh_calls(&app.emulator).len(), 1);
    // The session backs off: the next requests are served stale without asking WorkOS again.
    for _ in 0..5 {
        account(&app).await.assert_status_ok();
    }
    let calls = refresh_calls(&app.emulator);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, 503);
    let stats = app.authkit.stats();
    assert_eq!(stats.refreshes.transient, 1);
    assert_eq!(stats.refreshes.deferred, 5);
    assert!(stats.stale_serves >= 6, "{stats:?}");
    // The session is kept as it was.
    let kept = stored_session(&app.store, &cookie).await.unwrap();
    assert!(kept.refresh_token.ct_eq(&before.refresh_token));

    // WorkOS is back; once the back-off has passed the next request refreshes.
    app.emulator.clear_faults();
    app.advance(Duration::from_secs(3));
    let after = account(&app).await;
    after.assert_status_ok();
    let body: Value = after.json();
    assert!(body["expires_at"].as_i64().unwrap() > before.expires_at());
    let calls = refresh_calls(&app.emulator);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1].0, 200);
    let refreshed = stored_session(&app.store, &cookie).await.unwrap();
    assert!(!refreshed.refresh_token.ct_eq(&before.refresh_token));
    assert_eq!(app.authkit.stats().sign_outs.refused, 0);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_session_past_its_grace_is_anonymous_while_workos_is_down_but_is_kept() {
    let app = TestApp::start_with_client(
        Emulator::builder().access_token_ttl(TTL),
        |e| e.client_builder().max_retries(0).build().unwrap(),
        |b| {
            b.refresh_margin(MARGIN)
                .stale_grace(Duration::from_secs(60))
        },
    )
    .await;
    app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    app.emulator
        .inject_fault(Fault::new("/user_management/authenticate").status(503));
    app.advance(TTL + Duration::from_secs(120));
    app.server.get("/").await.assert_text("anonymous");
    // Nothing was deleted: once WorkOS is back (and the back-off over), the user is signed in.
    assert!(stored_session(&app.store, &cookie).await.is_some());
    app.emulator.clear_faults();
    app.advance(Duration::from_secs(3));
    app.server
        .get("/")
        .await
        .assert_text("hello ada@example.com");
    assert_eq!(app.authkit.stats().sign_outs.refused, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_within_its_margin_is_served_at_once_and_refreshed_in_the_background() {
    let app = expiring_app().await;
    app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    let before = stored_session(&app.store, &cookie).await.unwrap();
    app.advance(UNTIL_DUE);
    // WorkOS is slow: the request does not wait for it.
    app.emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .delay(Duration::from_secs(2))
            .times(1),
    );
    let started = std::time::Instant::now();
    let now = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    now.assert_status_ok();
    assert_eq!(now.json::<Value>()["expires_at"], before.expires_at());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the request waited for the refresh"
    );
    // The refresh finishes in the background and stores the new tokens.
    eventually("the background refresh stored new tokens", || async {
        let stored = stored_session(&app.store, &cookie).await.unwrap();
        !stored.refresh_token.ct_eq(&before.refresh_token)
    })
    .await;
    let later: Value = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await
        .json();
    assert!(later["expires_at"].as_i64().unwrap() > before.expires_at());
    assert_eq!(refresh_calls(&app.emulator).len(), 1);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_refresh_margin_longer_than_the_tokens_life_is_clamped() {
    // A 10-minute margin on 5-minute tokens would refresh on every request.
    let app = TestApp::start_with(Emulator::builder().access_token_ttl(TTL), |b| {
        b.refresh_margin(Duration::from_secs(600))
    })
    .await;
    app.user("ada@example.com").await;
    app.sign_in_cookie("ada@example.com").await;
    for _ in 0..20 {
        app.server.get("/account").await.assert_status_ok();
    }
    assert_eq!(refresh_calls(&app.emulator).len(), 0);
    // Half the lifetime later it is due.
    app.advance(Duration::from_secs(160));
    app.server.get("/account").await.assert_status_ok();
    eventually("the clamped margin refreshed once", || async {
        refresh_calls(&app.emulator).len() == 1
    })
    .await;
}

#[tokio::test]
async fn a_late_save_of_the_old_tokens_does_not_spend_them_again() {
    let app = expiring_app().await;
    app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    let id = Id::from_str(&cookie).unwrap();
    let old_record = app.store.load(&id).await.unwrap().unwrap();
    app.advance(UNTIL_EXPIRED);
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
    app.advance(UNTIL_EXPIRED);

    // The browser gives up (navigates away) while WorkOS is still answering the refresh.
    app.emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .delay(Duration::from_millis(400))
            .times(1),
    );
    let impatient = crate::support::http_client()
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
    eventually("the abandoned refresh stored new tokens", || async {
        let stored = stored_session(&app.store, &cookie).await.unwrap();
        !stored.refresh_token.ct_eq(&before.refresh_token)
    })
    .await;
    let next = crate::support::http_client()
        .build()
        .unwrap()
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
