//! `SessionControl`, the signed-in session controlled from the app's handlers: signing in with
//! an authentication the app obtained on its own form (verified and fixation-safe as the
//! callback), refreshing now, and signing out with the WorkOS logout redirect.
#![cfg(feature = "axum")]

use authkit_axum::AuthUser;
use authkit_axum::user_management::AuthenticateWithPassword;
use authkit_axum::web::{SESSION_COOKIE, SessionControl};
use axum::Form;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::support;
use crate::support::app::{PASSWORD, TestApp, location};

const ADA: &str = "ada@example.com";

#[derive(serde::Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

/// The app's own sign-in form handler.
async fn own_sign_in(control: SessionControl, Form(form): Form<Credentials>) -> Response {
    let um = control.authkit().client().user_management();
    let auth = match um
        .authenticate_with_password(AuthenticateWithPassword::new(form.email, form.password))
        .await
    {
        Ok(auth) => auth,
        Err(err) => return (StatusCode::UNAUTHORIZED, err.to_string()).into_response(),
    };
    match control.sign_in(auth).await {
        Ok(user) => (StatusCode::OK, format!("signed in {}", user.email)).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn refresh_now(control: SessionControl) -> Response {
    match control.refresh().await {
        Ok(user) => axum::Json(json!({
            "email": user.email,
            "expires_at": user.expires_at,
            "jti": user.claims.jti,
        }))
        .into_response(),
        Err(err) => err.into_response(),
    }
}

async fn delete_account(control: SessionControl) -> Response {
    control.sign_out().await
}

async fn whoami(user: Option<AuthUser>) -> String {
    user.map_or("anonymous".to_owned(), |u| u.email.clone())
}

fn routes() -> Router {
    Router::new()
        .route("/own-sign-in", post(own_sign_in))
        .route("/refresh-now", post(refresh_now))
        .route("/delete-account", post(delete_account))
        .route("/whoami", get(whoami))
}

#[tokio::test]
async fn the_app_s_own_form_signs_in_with_a_new_session_id() {
    let app = TestApp::start_with_routes(|_| routes()).await;
    app.user(ADA).await;
    // An anonymous session first (a cookie an attacker could have planted).
    let login = app.server.get("/auth/login").await;
    let planted = login.cookie(SESSION_COOKIE).value().to_owned();

    let signed_in = app
        .server
        .post("/own-sign-in")
        .form(&[("email", ADA), ("password", PASSWORD)])
        .await;
    signed_in.assert_text("signed in ada@example.com");
    let cookie = signed_in.cookie(SESSION_COOKIE).value().to_owned();
    assert_ne!(cookie, planted, "the session id is cycled at sign-in");
    app.server.get("/whoami").await.assert_text(ADA);

    // The planted id names nothing.
    let attacker = app
        .server
        .get("/whoami")
        .add_header("cookie", format!("{SESSION_COOKIE}={planted}"))
        .await;
    attacker.assert_text("anonymous");

    // A wrong password is the app's 401; nothing is stored.
    let wrong = app
        .server
        .post("/own-sign-in")
        .form(&[("email", ADA), ("password", "wrong")])
        .await;
    wrong.assert_status(StatusCode::UNAUTHORIZED);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn an_on_sign_in_refusal_is_answered_and_nothing_is_stored() {
    let app = TestApp::start_with_routes_and(
        authkit_emulator::Emulator::builder(),
        |b| {
            b.on_sign_in(|_auth| async move {
                Err::<(), _>((StatusCode::FORBIDDEN, "not on the guest list"))
            })
        },
        |_| routes(),
    )
    .await;
    app.user(ADA).await;
    let refused = app
        .server
        .post("/own-sign-in")
        .form(&[("email", ADA), ("password", PASSWORD)])
        .await;
    refused.assert_status(StatusCode::FORBIDDEN);
    refused.assert_text("not on the guest list");
    app.server.get("/whoami").await.assert_text("anonymous");
}

#[tokio::test]
async fn refresh_now_gives_the_handler_new_tokens_and_stores_them() {
    let app = TestApp::start_with_routes(|_| routes()).await;
    app.user(ADA).await;
    let cookie = app.sign_in_cookie(ADA).await;
    let before = support::app::stored_session(&app.store, &cookie)
        .await
        .unwrap();

    app.advance(std::time::Duration::from_secs(10));
    let refreshed = app.server.post("/refresh-now").await;
    refreshed.assert_status_ok();
    let body: Value = refreshed.json();
    assert_eq!(body["email"], ADA);
    assert_ne!(
        body["jti"],
        Value::from(before.claims.jti.clone()),
        "a new access token"
    );
    assert_eq!(support::refresh_calls(&app.emulator).len(), 1);

    let after = support::app::stored_session(&app.store, &cookie)
        .await
        .unwrap();
    assert_eq!(
        after.claims.jti.clone().map(Value::from),
        Some(body["jti"].clone())
    );
    assert!(
        !after.refresh_token.ct_eq(&before.refresh_token),
        "the new refresh token is stored"
    );
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn refresh_now_signed_out_or_after_workos_ended_the_session_is_401() {
    let app = TestApp::start_with_routes(|_| routes()).await;
    let anonymous = app.server.post("/refresh-now").await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json::<Value>()["error"], "unauthorized");

    app.user(ADA).await;
    let cookie = app.sign_in_cookie(ADA).await;
    let stored = support::app::stored_session(&app.store, &cookie)
        .await
        .unwrap();
    // The session is revoked at WorkOS: its refresh token stops working.
    let sid = stored.claims.sid.clone().unwrap();
    use crate::support::EmulatorExt as _;
    app.emulator
        .client()
        .user_management()
        .revoke_session(&sid)
        .await
        .unwrap();
    let ended = app.server.post("/refresh-now").await;
    ended.assert_status(StatusCode::UNAUTHORIZED);
    assert!(ended.text().contains("sign in again"), "{}", ended.text());
    app.server.get("/whoami").await.assert_text("anonymous");
}

#[tokio::test]
async fn sign_out_from_a_handler_ends_both_sessions() {
    let app = TestApp::start_with_routes(|_| routes()).await;
    app.user(ADA).await;
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    let out = app.server.post("/delete-account").await;
    out.assert_status(StatusCode::SEE_OTHER);
    let logout = location(&out);
    assert!(
        logout.starts_with(&format!(
            "{}/user_management/sessions/logout",
            app.emulator.base_url()
        )),
        "{logout}"
    );
    app.server.get("/whoami").await.assert_text("anonymous");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn without_the_auth_layer_it_is_a_500_naming_the_fix() {
    let server = axum_test::TestServer::new(routes()).unwrap();
    let answer = server.post("/delete-account").await;
    answer.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        answer.text().contains("authkit.layer(store)"),
        "{}",
        answer.text()
    );
}
