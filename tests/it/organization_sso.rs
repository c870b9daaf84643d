//! Switching into an organization that requires its own sign-in (SSO): WorkOS refuses the
//! refresh with `sso_required`, and instead of an error page the user is sent through AuthKit
//! for that organization, then lands back where they were, switched; from the built-in switch
//! route and from `SessionControl::switch_organization` alike.
#![cfg(feature = "axum")]

use authkit_axum::web::SessionControl;
use authkit_emulator::{Emulator, Seed};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde_json::Value;

use crate::support;
use crate::support::app::{TestApp, location};

const ADA: &str = "ada@example.com";

fn seed() -> Seed {
    Seed::from_yaml_str(
        r#"
users:
  - { email: ada@example.com, password: "correct horse battery staple" }
organizations:
  - { id: org_acme, name: Acme }
  - { id: org_initech, name: Initech, sso: true, domains: [{ domain: initech.com, state: verified }] }
  - { id: org_globex, name: Globex }
memberships:
  - { user: ada@example.com, organization: Acme, role: admin }
  - { user: ada@example.com, organization: Initech, role: member }
"#,
    )
    .unwrap()
}

async fn switch(control: SessionControl, Path(org): Path<String>) -> Response {
    match control.switch_organization(&org, "/account").await {
        Ok(user) => {
            Redirect::to(&format!("/account?now={}", user.organization_id.unwrap())).into_response()
        }
        Err(err) => err.into_response(),
    }
}

async fn signed_in_to_acme() -> TestApp {
    let app = TestApp::start_with_routes_and(
        Emulator::builder().seed(seed()),
        |b| b,
        |_| {
            Router::new()
                .route("/switch/{org}", post(switch))
                .merge(support::app::app_routes())
        },
    )
    .await;
    let authorize = app.start_sign_in("?organization_id=org_acme").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app
}

async fn organization(app: &TestApp) -> Value {
    app.server
        .get("/account")
        .add_header("accept", "application/json")
        .await
        .json::<Value>()["organization_id"]
        .clone()
}

#[tokio::test]
async fn the_switch_route_sends_the_user_through_the_organization_s_sign_in_and_back() {
    let app = signed_in_to_acme().await;
    assert_eq!(organization(&app).await, "org_acme");

    let switched = app
        .server
        .post("/auth/switch-organization")
        .form(&[
            ("organization_id", "org_initech"),
            ("return_to", "/account"),
        ])
        .await;
    switched.assert_status(StatusCode::SEE_OTHER);
    let link = location(&switched);
    assert_eq!(
        link,
        app.authkit
            .sign_in_url()
            .organization("org_initech")
            .login_hint(ADA)
            .return_to("/account")
            .to_string()
    );
    // Still in Acme until the organization's sign-in is done.
    assert_eq!(organization(&app).await, "org_acme");
    let refusals: Vec<_> = app
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.grant_type.as_deref() == Some("refresh_token"))
        .map(|r| r.response_body.unwrap_or_default()["error"].clone())
        .collect();
    assert_eq!(refusals, [Value::from("sso_required")]);

    let login = app.server.get(&link).await;
    let authorize = location(&login);
    assert!(
        authorize.contains("organization_id=org_initech"),
        "{authorize}"
    );
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    let back = app.callback(&callback).await;
    assert_eq!(location(&back), "/account");
    assert_eq!(organization(&app).await, "org_initech");

    // Back to Acme needs nothing more.
    app.server
        .post("/auth/switch-organization")
        .form(&[("organization_id", "org_acme"), ("return_to", "/account")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(organization(&app).await, "org_acme");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn session_control_answers_with_the_organization_s_sign_in_then_switches() {
    let app = signed_in_to_acme().await;
    let refused = app.server.post("/switch/org_initech").await;
    refused.assert_status(StatusCode::SEE_OTHER);
    let link = location(&refused);
    assert!(
        link.starts_with("/auth/login?organization_id=org_initech"),
        "{link}"
    );
    assert_eq!(organization(&app).await, "org_acme");

    let login = app.server.get(&link).await;
    let callback = app
        .emulator
        .approve_sign_in(&location(&login), ADA)
        .unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(organization(&app).await, "org_initech");

    // A switch WorkOS allows happens in the handler, which sees the new organization.
    let done = app.server.post("/switch/org_acme").await;
    assert_eq!(location(&done), "/account?now=org_acme");
    // One that is not the user's is WorkOS's refusal, and nothing changes.
    let foreign = app.server.post("/switch/org_globex").await;
    foreign.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        foreign.json::<Value>()["error"],
        "organization_membership_not_found"
    );
    assert_eq!(organization(&app).await, "org_acme");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_domain_hint_signs_in_to_the_organization_with_that_domain() {
    let app = TestApp::start_with(Emulator::builder().seed(seed()), |b| b).await;
    let link = app
        .authkit
        .sign_in_url()
        .domain_hint("initech.com")
        .to_string();
    let login = app.server.get(&link).await;
    let authorize = location(&login);
    assert!(authorize.contains("domain_hint=initech.com"), "{authorize}");
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(organization(&app).await, "org_initech");
    // Its SSO (emulated) signed the session in: switching back and forth needs nothing more.
    app.server
        .post("/auth/switch-organization")
        .form(&[("organization_id", "org_acme"), ("return_to", "/account")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(organization(&app).await, "org_acme");
    app.server
        .post("/auth/switch-organization")
        .form(&[
            ("organization_id", "org_initech"),
            ("return_to", "/account"),
        ])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(organization(&app).await, "org_initech");
    support::assert_contract(&app.emulator);
}
