//! Signing out other devices: a user signed in on two browsers lists both sessions (this one
//! marked), signs the other out, and the other is anonymous at its next request (its local
//! session removed, its WorkOS session revoked), on every machine sharing the store; another
//! user's session cannot be signed out.
#![cfg(feature = "axum")]

use authkit_axum::web::SessionControl;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_test::TestServer;
use serde_json::{Value, json};

use crate::support;
use crate::support::app::TestApp;

const ADA: &str = "ada@example.com";

async fn devices(control: SessionControl) -> Response {
    match control.devices().await {
        Ok(devices) => axum::Json(
            devices
                .iter()
                .map(|d| {
                    json!({
                        "sid": d.session.id,
                        "current": d.current,
                        "user_agent": d.session.user_agent,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(err) => err.into_response(),
    }
}

async fn sign_out_device(control: SessionControl, Path(sid): Path<String>) -> Response {
    match control.sign_out_device(&sid).await {
        Ok(()) => "signed out".into_response(),
        Err(err) => err.into_response(),
    }
}

async fn sign_out_others(control: SessionControl) -> Response {
    match control.sign_out_other_devices().await {
        Ok(n) => n.to_string().into_response(),
        Err(err) => err.into_response(),
    }
}

fn routes() -> Router {
    Router::new()
        .route("/devices", get(devices))
        .route("/devices/{sid}/sign-out", post(sign_out_device))
        .route("/devices/sign-out-others", post(sign_out_others))
}

/// A second browser on the same app (its own cookie jar), signed in as `email`.
async fn another_browser(app: &TestApp, email: &str, agent: &str) -> TestServer {
    browser_on(app, &app.authkit, email, agent).await
}

/// A browser signed in as `email` on the machine running `authkit` (on the app's store).
async fn browser_on(
    app: &TestApp,
    authkit: &authkit_axum::AuthKit,
    email: &str,
    agent: &str,
) -> TestServer {
    let browser = TestServer::builder()
        .save_cookies()
        .mock_transport()
        .build(
            routes()
                .merge(authkit.router())
                .merge(Router::new().route("/whoami", get(whoami)))
                .layer(authkit.layer(app.store.clone())),
        )
        .unwrap();
    support::app::browser_sign_in(&browser, &app.emulator, "/auth/login", email, Some(agent))
        .await
        .assert_status(StatusCode::SEE_OTHER);
    browser
}

async fn whoami(user: Option<authkit_axum::AuthUser>) -> String {
    user.map_or("anonymous".to_owned(), |u| u.email.clone())
}

async fn app() -> TestApp {
    TestApp::start_with_routes(|_| routes().merge(Router::new().route("/whoami", get(whoami))))
        .await
}

#[tokio::test]
async fn signing_out_the_other_browser_ends_it_at_once_and_at_workos() {
    let app = app().await;
    app.user(ADA).await;
    let laptop = another_browser(&app, ADA, "Laptop/1.0").await;
    let phone = another_browser(&app, ADA, "Phone/1.0").await;
    phone.get("/whoami").await.assert_text(ADA);

    let listed: Vec<Value> = laptop.get("/devices").await.json();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let this: Vec<&Value> = listed.iter().filter(|d| d["current"] == true).collect();
    assert_eq!(this.len(), 1);
    assert_eq!(this[0]["user_agent"], "Laptop/1.0");
    let other = listed.iter().find(|d| d["current"] == false).unwrap();
    assert_eq!(other["user_agent"], "Phone/1.0");

    let out = laptop
        .post(&format!(
            "/devices/{}/sign-out",
            other["sid"].as_str().unwrap()
        ))
        .await;
    out.assert_text("signed out");
    // The phone is anonymous at its very next request (its local session is gone), and its
    // WorkOS session is revoked.
    phone.get("/whoami").await.assert_text("anonymous");
    laptop.get("/whoami").await.assert_text(ADA);
    let left: Vec<Value> = laptop.get("/devices").await.json();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn sign_out_others_keeps_this_one_and_another_machine_sees_it() {
    let app = app().await;
    app.user(ADA).await;
    let laptop = another_browser(&app, ADA, "Laptop/1.0").await;
    let phone = another_browser(&app, ADA, "Phone/1.0").await;
    // The tablet is signed in on a second machine (its own AuthKit) on the same store.
    let machine_b = app.other_authkit(|b| b);
    let tablet = browser_on(&app, &machine_b, ADA, "Tablet/1.0").await;
    tablet.get("/whoami").await.assert_text(ADA);

    laptop
        .post("/devices/sign-out-others")
        .await
        .assert_text("2");
    phone.get("/whoami").await.assert_text("anonymous");
    tablet.get("/whoami").await.assert_text("anonymous");
    laptop.get("/whoami").await.assert_text(ADA);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn another_user_s_session_cannot_be_signed_out() {
    let app = app().await;
    app.user(ADA).await;
    app.user("grace@example.com").await;
    let ada = another_browser(&app, ADA, "Ada/1.0").await;
    let grace = another_browser(&app, "grace@example.com", "Grace/1.0").await;
    let graces: Vec<Value> = grace.get("/devices").await.json();
    let sid = graces[0]["sid"].as_str().unwrap().to_owned();

    let refused = ada.post(&format!("/devices/{sid}/sign-out")).await;
    refused.assert_status(StatusCode::NOT_FOUND);
    grace.get("/whoami").await.assert_text("grace@example.com");

    // Signed out, there is nothing to list.
    let anonymous = TestServer::builder()
        .mock_transport()
        .build(routes().layer(app.authkit.layer(app.store.clone())))
        .unwrap();
    anonymous
        .get("/devices")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}
