//! The end user's IP address and user agent go to WorkOS with every authenticate call made
//! for a request (the code exchange, the step-ups, refreshes, the organization switch), so the
//! WorkOS session records where it was used. The IP comes from the trusted proxy's header only
//! when one is configured: a client's own `X-Forwarded-For` is never believed.
#![cfg(feature = "axum")]

use std::time::Duration;

use authkit_axum::user_management::ListSessions;
use authkit_emulator::Emulator;
use axum::http::StatusCode;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use crate::support::app::TestApp;

const ADA: &str = "ada@example.com";
const CLIENT_IP: &str = "203.0.113.7";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0";
const TTL: Duration = Duration::from_secs(300);

/// The (ip_address, user_agent) of each authenticate call with `grant_type`.
fn sent(emulator: &Emulator, grant_type: &str) -> Vec<(Value, Value)> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.grant_type.as_deref() == Some(grant_type))
        .map(|r| {
            let body = r.request_body.unwrap_or_default();
            (body["ip_address"].clone(), body["user_agent"].clone())
        })
        .collect()
}

/// Signs Ada in through the app with the proxy's header and the browser's user agent.
async fn sign_in_through_the_proxy(app: &TestApp) {
    let login = app
        .server
        .get("/auth/login")
        .add_header("x-forwarded-for", format!("10.0.0.1, {CLIENT_IP}"))
        .await;
    login.assert_status(StatusCode::SEE_OTHER);
    let authorize = support::app::location(&login);
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    let path = format!("{}?{}", callback.path(), callback.query().unwrap());
    app.server
        .get(&path)
        .add_header("x-forwarded-for", format!("10.0.0.1, {CLIENT_IP}"))
        .add_header("user-agent", BROWSER)
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_code_exchange_and_refreshes_carry_the_client_ip_and_user_agent() {
    let app = TestApp::start_with(Emulator::builder().access_token_ttl(TTL), |b| {
        b.client_ip_header("x-forwarded-for")
    })
    .await;
    let ada = app.user(ADA).await;
    sign_in_through_the_proxy(&app).await;
    let expected = (Value::from(CLIENT_IP), Value::from(BROWSER));
    assert_eq!(sent(&app.emulator, "authorization_code"), [expected]);

    // WorkOS records them on its session.
    let sessions = app
        .emulator
        .client()
        .user_management()
        .list_sessions(&ada.id, &ListSessions::default())
        .await
        .unwrap();
    let session = &sessions.data[0];
    assert_eq!(session.ip_address.as_deref(), Some(CLIENT_IP));
    assert_eq!(session.user_agent.as_deref(), Some(BROWSER));

    // A refresh made for a request carries that request's client.
    app.advance(TTL + Duration::from_secs(5));
    app.server
        .get("/account")
        .add_header("x-forwarded-for", "198.51.100.20")
        .add_header("user-agent", "OtherBrowser/2.0")
        .await
        .assert_status_ok();
    assert_eq!(
        sent(&app.emulator, "refresh_token"),
        [(
            Value::from("198.51.100.20"),
            Value::from("OtherBrowser/2.0")
        )]
    );
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn without_a_trusted_header_a_client_cannot_choose_the_ip_workos_records() {
    let app = TestApp::start().await;
    app.user(ADA).await;
    sign_in_through_the_proxy(&app).await;
    let exchanges = sent(&app.emulator, "authorization_code");
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].0, Value::Null, "no IP address is sent");
    assert_eq!(exchanges[0].1, Value::from(BROWSER));
}

#[tokio::test]
async fn the_organization_switch_and_step_ups_carry_them_too() {
    let app = TestApp::start_with(Emulator::builder(), |b| b.client_ip_header("x-real-ip")).await;
    let (_, acme, globex) = app.member_of_acme_and_globex(ADA).await;
    // Two organizations: the exchange answers with the organization choice.
    let authorize = app.start_sign_in("").await;
    let callback = app
        .emulator
        .approve_sign_in_pending(&authorize, ADA)
        .unwrap();
    let choose = app.callback(&callback).await;
    choose.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(support::app::location(&choose), "/auth/select-organization");
    app.server
        .post("/auth/select-organization")
        .add_header("x-real-ip", CLIENT_IP)
        .add_header("user-agent", BROWSER)
        .form(&[("organization_id", acme.as_str())])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let expected = (Value::from(CLIENT_IP), Value::from(BROWSER));
    assert_eq!(
        sent(
            &app.emulator,
            "urn:workos:oauth:grant-type:organization-selection"
        ),
        std::slice::from_ref(&expected)
    );
    app.server
        .post("/auth/switch-organization")
        .add_header("x-real-ip", CLIENT_IP)
        .add_header("user-agent", BROWSER)
        .form(&[("organization_id", globex.as_str())])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(sent(&app.emulator, "refresh_token"), [expected]);
    support::assert_contract(&app.emulator);
}

#[test]
fn a_header_name_that_is_not_one_is_a_config_error() {
    let client = authkit_axum::Client::builder()
        .api_key("sk_test_1")
        .client_id("client_1")
        .build()
        .unwrap();
    let err = authkit_axum::AuthKit::builder(client, support::app::CALLBACK)
        .client_ip_header("x forwarded for")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("client_ip_header"), "{err}");
}
