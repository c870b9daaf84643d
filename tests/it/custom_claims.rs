//! Custom claims (what a WorkOS JWT template adds to access tokens), read as the app's own
//! `serde` type from a verified token, on a bearer request and on a signed-in session.
#![cfg(feature = "axum")]

use authkit_axum::AuthUser;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

use crate::support;
use crate::support::app::TestApp;

/// The emulator's published development key 1 (NOT SECRET): tokens it signs verify against
/// the emulator's JWKS, as a WorkOS token with a JWT template's claims would against WorkOS's.
const DEV_KEY: &str = include_str!("../../crates/authkit-emulator/keys/emulator_dev_key_1.key.pem");

#[derive(serde::Deserialize)]
struct Plan {
    tier: String,
    #[serde(default)]
    seats: u32,
}

async fn plan(user: AuthUser) -> Result<String, (StatusCode, String)> {
    let plan: Plan = user
        .custom_claims()
        .map_err(|err| (StatusCode::FORBIDDEN, format!("no plan: {err}")))?;
    Ok(format!("{} {} {}", user.email, plan.tier, plan.seats))
}

#[tokio::test]
async fn a_token_s_template_claims_read_as_the_app_s_type() {
    let app = TestApp::start_with_routes(|_| Router::new().route("/plan", get(plan))).await;
    let ada = app.user("ada@example.com").await;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let sign = |extra: serde_json::Value| {
        let mut claims = json!({ "sub": ada.id, "sid": "session_1", "exp": exp });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        support::jwt::sign_rs256(
            DEV_KEY,
            &support::jwt::header_with_kid("RS256", "emulator_dev_key_1"),
            &claims,
        )
    };

    let token = sign(json!({ "tier": "pro", "seats": 12, "feature_flags": ["beta"] }));
    let answer = app
        .server
        .get("/plan")
        .add_header("authorization", format!("Bearer {token}"))
        .await;
    answer.assert_text("ada@example.com pro 12");

    // A token without the claim: the app's own answer, not a crash.
    let bare = sign(json!({}));
    let answer = app
        .server
        .get("/plan")
        .add_header("authorization", format!("Bearer {bare}"))
        .await;
    answer.assert_status(StatusCode::FORBIDDEN);
    assert!(
        answer.text().contains("missing field `tier`"),
        "{}",
        answer.text()
    );
}
