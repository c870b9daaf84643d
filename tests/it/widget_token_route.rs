//! `AuthKit::widget_token_route`: a signed-in user's widget token for their organization, end
//! to end (sign in through the emulator, fetch the token, read its claims).
#![cfg(feature = "axum")]

use authkit_axum::user_management::WidgetScope;
use authkit_emulator::{Emulator, Fault};
use axum::Router;
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::Value;

use crate::support;
use crate::support::app::TestApp;

const ROUTE: &str = "/api/widgets/token";

async fn app() -> TestApp {
    TestApp::start_with_routes_and(
        Emulator::builder(),
        |b| b,
        |authkit| {
            Router::new().route(
                ROUTE,
                authkit.widget_token_route([WidgetScope::UsersTableManage, WidgetScope::SsoManage]),
            )
        },
    )
    .await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn fetch(app: &TestApp) -> axum_test::TestResponse {
    app.server
        .get(ROUTE)
        .add_header("sec-fetch-mode", "cors")
        .await
}

#[tokio::test]
async fn a_signed_in_member_gets_a_token_for_their_organization() {
    let app = app().await;
    // Signed out: 401 JSON for a fetch.
    let anonymous = fetch(&app).await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json::<Value>()["error"], "unauthorized");

    let ada = app.user("ada@example.com").await;
    let acme = app.emulator.create_organization("Acme");
    app.emulator.seed_membership(&ada.id, &acme, "admin");
    app.sign_in("ada@example.com").await;

    let answer = fetch(&app).await;
    answer.assert_status_ok();
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let token = answer.json::<Value>()["token"].as_str().unwrap().to_owned();
    let claims = claims(&token);
    assert_eq!(claims["sub"], ada.id.as_str());
    assert_eq!(claims["org_id"], acme.as_str());
    assert_eq!(
        claims["scopes"],
        serde_json::json!(["widgets:users-table:manage", "widgets:sso:manage"])
    );

    // WorkOS failing: 503, and no token.
    let fault = app
        .emulator
        .inject_fault(Fault::new("/widgets/token").status(503));
    let down = fetch(&app).await;
    down.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.json::<Value>()["error"], "widget_token_unavailable");
    app.emulator.remove_fault(fault);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_user_without_an_organization_gets_403() {
    let app = app().await;
    app.user("solo@example.com").await;
    app.sign_in("solo@example.com").await;
    let refused = fetch(&app).await;
    refused.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.json::<Value>()["error"], "organization_required");
    assert!(
        app.emulator
            .requests()
            .iter()
            .all(|r| r.path != "/widgets/token"),
        "no call to WorkOS"
    );
    support::assert_contract(&app.emulator);
}
