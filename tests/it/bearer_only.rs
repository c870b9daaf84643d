//! An API that accepts only bearer access tokens: no session layer, no cookies.
#![cfg(feature = "axum")]

use authkit_axum::user_management::AuthenticateWithPassword;
use authkit_axum::web::AuthLayer;
use authkit_axum::{AuthKit, AuthUser};
use authkit_emulator::{Emulator, SeedUser};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use axum_test::TestServer;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;

async fn me(user: AuthUser) -> String {
    user.user.email.clone()
}

#[tokio::test]
async fn bearer_tokens_work_without_a_session_layer() {
    let emulator = Emulator::builder()
        .seed_user(SeedUser::new("ada@example.com").password("password123!"))
        .start()
        .await
        .unwrap();
    let authkit = AuthKit::builder(emulator.client(), "http://localhost:3000/auth/callback")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/api/me", get(me))
        .layer(AuthLayer::bearer_only(authkit));
    let server = TestServer::new(app).unwrap();

    // No token: 401 JSON (not a misconfiguration error), and no cookie.
    let anonymous = server
        .get("/api/me")
        .add_header("accept", "application/json")
        .await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json::<Value>()["error"], "unauthorized");
    assert!(anonymous.headers().get("set-cookie").is_none());

    let auth = emulator
        .client()
        .user_management()
        .authenticate_with_password(AuthenticateWithPassword::new(
            "ada@example.com",
            "password123!",
        ))
        .await
        .unwrap();
    let ok = server
        .get("/api/me")
        .add_header(
            "authorization",
            format!("Bearer {}", auth.access_token.expose_secret()),
        )
        .await;
    ok.assert_status_ok();
    ok.assert_text("ada@example.com");
    assert_eq!(ok.headers()["cache-control"], "private, no-store");

    let forged = server
        .get("/api/me")
        .add_header("authorization", "Bearer not.a.token")
        .await;
    forged.assert_status(StatusCode::UNAUTHORIZED);
    support::assert_contract(&emulator);
}
