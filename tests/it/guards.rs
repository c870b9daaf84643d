//! Route guards (`route_layer(authkit.require_…())`): signed out, a guarded route answers as
//! the `AuthUser` extractor does (a redirect to sign in for page loads, `401` JSON for API
//! calls); signed in without what the guard needs, `403` (a page for page loads, JSON for API
//! calls) naming it, and the handler never runs; a guard without the auth layer is a `500`
//! naming the fix, never an open route.
#![cfg(feature = "axum")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use authkit_axum::AuthKit;
use authkit_axum::user_management::{
    AuthenticateWithPassword, AuthenticateWithSelectedOrganization,
};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use crate::support::app::{TestApp, location};

const ADA: &str = "ada@example.com";
const JSON: (&str, &str) = ("accept", "application/json");
const PAGE: (&str, &str) = ("accept", "text/html,application/xhtml+xml");

/// Guarded routes; `ran` counts the handler calls that got through.
fn guarded(authkit: &AuthKit, ran: Arc<AtomicUsize>) -> Router {
    let count = move || {
        let ran = ran.clone();
        move || {
            ran.fetch_add(1, Ordering::SeqCst);
            async { "through" }
        }
    };
    Router::new()
        .merge(
            Router::new()
                .route("/members", get(count()))
                .route_layer(authkit.require_sign_in()),
        )
        .merge(
            Router::new()
                .route("/admin-area", get(count()))
                .route_layer(authkit.require_role("admin")),
        )
        .merge(
            Router::new()
                .route("/api/users", post(count()))
                .route_layer(authkit.require_permission("users:manage")),
        )
        .merge(
            Router::new()
                .route("/team", get(count()))
                .route_layer(authkit.require_organization()),
        )
        .merge(
            Router::new()
                .route("/delete-account", get(count()))
                .route_layer(authkit.require_recent_auth(std::time::Duration::from_secs(600))),
        )
        .merge(
            Router::new()
                .route("/grace-only", get(count()))
                .route_layer(authkit.require("this is for Grace only", |user| {
                    user.email == "grace@example.com"
                })),
        )
}

async fn app() -> (TestApp, Arc<AtomicUsize>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let routes = ran.clone();
    let app = TestApp::start_with_routes(move |authkit| guarded(authkit, routes)).await;
    (app, ran)
}

#[tokio::test]
async fn signed_out_a_guarded_page_redirects_to_sign_in_and_an_api_call_gets_401() {
    let (app, ran) = app().await;
    for path in ["/members", "/admin-area", "/team", "/grace-only"] {
        let page = app.server.get(path).add_header(PAGE.0, PAGE.1).await;
        page.assert_status(StatusCode::SEE_OTHER);
        let encoded: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(location(&page), format!("/auth/login?return_to={encoded}"));

        let api = app.server.get(path).add_header(JSON.0, JSON.1).await;
        api.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(api.json::<Value>()["error"], "unauthorized");
    }
    let post = app
        .server
        .post("/api/users")
        .add_header(JSON.0, JSON.1)
        .await;
    post.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(ran.load(Ordering::SeqCst), 0, "no guarded handler ran");
}

#[tokio::test]
async fn signed_in_without_what_a_guard_needs_is_403_naming_it() {
    let (app, ran) = app().await;
    app.user(ADA).await;
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);

    // Any signed-in user passes the sign-in guard.
    app.server.get("/members").await.assert_text("through");
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    // No organization, so no role or permission: 403s, JSON for API calls ...
    for (path, needs) in [
        ("/admin-area", "the role \"admin\""),
        ("/team", "an organization"),
        ("/grace-only", "for Grace only"),
    ] {
        let api = app.server.get(path).add_header(JSON.0, JSON.1).await;
        api.assert_status(StatusCode::FORBIDDEN);
        let body: Value = api.json();
        assert_eq!(body["error"], "forbidden");
        assert!(body["message"].as_str().unwrap().contains(needs), "{body}");

        // ... and a page for page loads, which cannot be framed.
        let page = app.server.get(path).add_header(PAGE.0, PAGE.1).await;
        page.assert_status(StatusCode::FORBIDDEN);
        assert!(
            page.header("content-type")
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(page.header("x-frame-options"), "DENY");
        let escaped = needs.replace('"', "&quot;");
        assert!(page.text().contains(&escaped), "{}", page.text());
    }
    let post = app
        .server
        .post("/api/users")
        .add_header(JSON.0, JSON.1)
        .await;
    post.assert_status(StatusCode::FORBIDDEN);
    assert!(post.text().contains("users:manage"));
    assert_eq!(ran.load(Ordering::SeqCst), 1, "no refused handler ran");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn the_role_permission_and_organization_guards_follow_the_session_organization() {
    let (app, ran) = app().await;
    let (_, acme, globex) = app.member_of_acme_and_globex(ADA).await;
    let authorize = app.start_sign_in(&format!("?organization_id={acme}")).await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // An admin of Acme passes all three.
    app.server.get("/admin-area").await.assert_text("through");
    app.server.get("/team").await.assert_text("through");
    app.server.post("/api/users").await.assert_text("through");
    assert_eq!(ran.load(Ordering::SeqCst), 3);

    // A member of Globex keeps an organization but loses the role and the permission.
    app.server
        .post("/auth/switch-organization")
        .form(&[("organization_id", globex.as_str()), ("return_to", "/team")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app.server.get("/team").await.assert_text("through");
    app.server
        .get("/admin-area")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.server
        .post("/api/users")
        .add_header(JSON.0, JSON.1)
        .await
        .assert_status(StatusCode::FORBIDDEN);
    assert_eq!(ran.load(Ordering::SeqCst), 4);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_bearer_token_passes_the_guards_its_claims_allow() {
    let (app, _) = app().await;
    let (_, acme, _) = app.member_of_acme_and_globex(ADA).await;
    let um = app.emulator.client().user_management();
    // Ada has two organizations: the password grant asks which; take Acme.
    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new(ADA, support::app::PASSWORD))
        .await
        .unwrap_err();
    let authkit_axum::Error::OrganizationSelectionRequired(step) = err else {
        panic!("expected an organization choice, got {err:?}");
    };
    let token = um
        .authenticate_with_selected_organization(AuthenticateWithSelectedOrganization::new(
            step.pending_authentication_token.clone(),
            acme.clone(),
        ))
        .await
        .unwrap()
        .access_token;
    let bearer = format!("Bearer {}", token.expose_secret());
    app.server
        .post("/api/users")
        .add_header("authorization", bearer.as_str())
        .await
        .assert_text("through");
    let refused = app
        .server
        .get("/grace-only")
        .add_header("authorization", bearer.as_str())
        .await;
    refused.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.json::<Value>()["error"], "forbidden");
    // A bearer token does not say when its user authenticated: no sensitive pages.
    let sensitive = app
        .server
        .get("/delete-account")
        .add_header("authorization", bearer.as_str())
        .await;
    sensitive.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        sensitive.json::<Value>()["error"],
        "reauthentication_required"
    );
}

#[tokio::test]
async fn a_guard_without_the_auth_layer_is_a_500_naming_the_fix() {
    let emulator = support::app::register(authkit_emulator::Emulator::builder())
        .start()
        .await
        .unwrap();
    let authkit = AuthKit::builder(emulator.client(), support::app::CALLBACK)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    // The guard is on the routes, but no auth layer wraps them.
    let server = axum_test::TestServer::new(guarded(&authkit, ran.clone())).unwrap();
    let answer = server.get("/admin-area").await;
    answer.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        answer.text().contains("authkit.layer(store)"),
        "{}",
        answer.text()
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the route stays closed");
}

#[tokio::test]
async fn a_sensitive_page_sends_a_user_who_signed_in_long_ago_through_sign_in_again() {
    let (app, ran) = app().await;
    app.user(ADA).await;
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    app.server
        .get("/delete-account")
        .await
        .assert_text("through");

    // Eleven minutes later (the session refreshed meanwhile: refreshes do not count).
    for _ in 0..11 {
        app.advance(std::time::Duration::from_secs(60));
        app.server.get("/members").await.assert_text("through");
    }
    let api = app
        .server
        .get("/delete-account")
        .add_header(JSON.0, JSON.1)
        .await;
    api.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(api.json::<Value>()["error"], "reauthentication_required");
    let page = app
        .server
        .get("/delete-account?step=1")
        .add_header(PAGE.0, PAGE.1)
        .await;
    page.assert_status(StatusCode::SEE_OTHER);
    let again = location(&page);
    let expected = app
        .authkit
        .sign_in_url()
        .prompt("login")
        .login_hint(ADA)
        .return_to("/delete-account?step=1")
        .to_string();
    assert_eq!(again, expected);
    let before = ran.load(Ordering::SeqCst);

    // Signing in again through that link lands back on the page, which now opens.
    let login = app.server.get(&again).await;
    let authorize = location(&login);
    assert!(authorize.contains("prompt=login"), "{authorize}");
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    let done = app.callback(&callback).await;
    assert_eq!(location(&done), "/delete-account?step=1");
    app.server
        .get("/delete-account?step=1")
        .await
        .assert_text("through");
    assert_eq!(ran.load(Ordering::SeqCst), before + 1);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_bearer_token_passes_the_recent_sign_in_guard_only_with_a_recent_auth_time() {
    const DEV_KEY: &str =
        include_str!("../../crates/authkit-emulator/keys/emulator_dev_key_1.key.pem");
    let (app, _) = app().await;
    let ada = app.user(ADA).await;
    let now = app.clock.unix();
    let token = |auth_time: Option<i64>| {
        let mut claims = serde_json::json!({ "sub": ada.id, "sid": "session_1", "exp": now + 300 });
        if let Some(at) = auth_time {
            claims["auth_time"] = at.into();
        }
        support::jwt::sign_rs256(
            DEV_KEY,
            &support::jwt::header_with_kid("RS256", "emulator_dev_key_1"),
            &claims,
        )
    };
    let call = |token: String| {
        app.server
            .get("/delete-account")
            .add_header("authorization", format!("Bearer {token}"))
    };
    call(token(Some(now - 60))).await.assert_text("through");
    for stale in [token(Some(now - 3600)), token(None)] {
        let refused = call(stale).await;
        refused.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused.json::<Value>()["error"],
            "reauthentication_required"
        );
    }
}
