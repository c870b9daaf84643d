//! Session fixation through a step-up: an attacker who plants their session cookie in the
//! victim's browser (a sibling subdomain or another localhost port can set it) must not be
//! able to take over the victim's sign-in when it pauses at a step-up (email code, TOTP code,
//! MFA enrollment, organization choice): the sign-in continues under a new session id that
//! only the victim's browser receives, and the attacker's planted cookie ends up anonymous.
//! The MFA enrollment key is shown once, to the victim's session only.
#![cfg(feature = "axum")]

use authkit_axum::tower_sessions::cookie::Cookie;
use authkit_axum::user_management::CreateUser;
use authkit_axum::web::SESSION_COOKIE;
use authkit_emulator::Emulator;
use axum::http::StatusCode;
use axum_test::{TestResponse, TestServer};
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{PASSWORD, TestApp, location, router_with_store};

const VICTIM: &str = "victim@example.com";
/// A Base32 TOTP secret seeded for the victim.
const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Another browser on the same app (its own cookie jar).
fn browser(app: &TestApp) -> TestServer {
    TestServer::builder()
        .save_cookies()
        .mock_transport()
        .build(router_with_store(&app.authkit, app.store.clone()))
        .unwrap()
}

/// The attacker's browser, and the session cookie it planted in the victim's browser.
async fn plant(app: &TestApp) -> (TestServer, TestServer, String) {
    let attacker = browser(app);
    let login = attacker.get("/auth/login").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let planted = login.cookie(SESSION_COOKIE).value().to_owned();
    let mut victim = browser(app);
    victim.add_cookie(Cookie::new(SESSION_COOKIE, planted.clone()));
    (attacker, victim, planted)
}

/// The victim signs in with the planted cookie; the code exchange answers with a step-up.
/// Returns the step-up page the victim is sent to and the victim's session cookie.
async fn victim_reaches_step_up(app: &TestApp, victim: &TestServer) -> (String, String) {
    let login = victim.get("/auth/login").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let callback = app
        .emulator
        .approve_sign_in_pending(&location(&login), VICTIM)
        .unwrap();
    let path = format!("{}?{}", callback.path(), callback.query().unwrap());
    let paused = victim.get(&path).await;
    paused.assert_status(StatusCode::SEE_OTHER);
    let cookie = paused.cookie(SESSION_COOKIE).value().to_owned();
    (location(&paused), cookie)
}

/// The sign-in continued under a new session id, sent to the victim's browser only.
fn assert_cycled(victim_cookie: &str, planted: &str) {
    assert_ne!(
        victim_cookie, planted,
        "the step-up must not stay in the planted session"
    );
}

/// The text of a page without its QR code image (for assertion messages).
fn shown(html: &str) -> String {
    let start = html.find("<main>").unwrap_or(0);
    let text = &html[start..];
    match (text.find("src=\"data:"), text.find("\"><p><code>")) {
        (Some(a), Some(b)) if a < b => format!("{}src=\"(QR code)\"{}", &text[..a], &text[b + 1..]),
        _ => text.to_owned(),
    }
}

/// The attacker's browser is anonymous: a page load of /account is sent to sign in.
async fn assert_anonymous(browser: &TestServer) {
    let account = browser.get("/account").await;
    account.assert_status(StatusCode::SEE_OTHER);
    assert!(
        location(&account).starts_with("/auth/login"),
        "{}",
        location(&account)
    );
    browser.get("/").await.assert_text("anonymous");
}

/// The attacker's use of the planted cookie on a step-up page: refused as an expired sign-in.
fn assert_refused(response: &TestResponse) {
    let html = response.text();
    assert_eq!(
        response.status_code(),
        StatusCode::BAD_REQUEST,
        "{}",
        shown(&html)
    );
    let page = shown(&html);
    assert!(
        !html.contains("secret="),
        "an enrollment key leaked: {page}"
    );
    assert!(!html.contains("data:image/"), "a QR code leaked: {page}");
    assert!(!html.contains(VICTIM), "the victim's email leaked: {page}");
    assert!(html.contains("Sign-in expired"), "{page}");
}

async fn signed_in_as(browser: &TestServer) -> Value {
    let response = browser
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    response.assert_status_ok();
    response.json()
}

fn authenticate_grants(app: &TestApp, grant: &str) -> usize {
    app.emulator
        .requests()
        .iter()
        .filter(|r| r.grant_type.as_deref() == Some(grant))
        .count()
}

#[tokio::test]
async fn email_verification_the_attacker_cannot_finish_the_victims_sign_in() {
    let app = TestApp::start().await;
    app.emulator
        .client()
        .user_management()
        .create_user(CreateUser::new(VICTIM).password(PASSWORD))
        .await
        .unwrap();
    let (attacker, victim, planted) = plant(&app).await;
    let (page, victim_cookie) = victim_reaches_step_up(&app, &victim).await;
    assert_eq!(page, "/auth/verify-email");
    let code = app.emulator.last_email_to(VICTIM).unwrap().code.unwrap();

    // Even with the right code (phished, say), the planted cookie finishes nothing.
    assert_refused(&attacker.get("/auth/verify-email").await);
    assert_refused(
        &attacker
            .post("/auth/verify-email")
            .form(&[("code", code.as_str())])
            .await,
    );
    assert_anonymous(&attacker).await;
    assert_eq!(
        authenticate_grants(&app, "urn:workos:oauth:grant-type:email-verification:code"),
        0,
        "the attacker's posts must not reach WorkOS"
    );

    // The victim finishes signing in.
    victim.get("/auth/verify-email").await.assert_status_ok();
    let done = victim
        .post("/auth/verify-email")
        .form(&[("code", code.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(signed_in_as(&victim).await["email"], VICTIM);
    assert_anonymous(&attacker).await;
    assert_cycled(&victim_cookie, &planted);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn mfa_challenge_the_attacker_cannot_finish_the_victims_sign_in() {
    let app = TestApp::start().await;
    let user = app.user(VICTIM).await;
    app.emulator.seed_totp_factor(&user.id, SECRET);
    let (attacker, victim, planted) = plant(&app).await;
    let (page, victim_cookie) = victim_reaches_step_up(&app, &victim).await;
    assert_eq!(page, "/auth/mfa");

    assert_refused(&attacker.get("/auth/mfa").await);
    assert_refused(
        &attacker
            .post("/auth/mfa")
            .form(&[("code", crate::support::totp(SECRET, 0).as_str())])
            .await,
    );
    assert_anonymous(&attacker).await;
    assert_eq!(
        authenticate_grants(&app, "urn:workos:oauth:grant-type:mfa-totp"),
        0
    );

    victim.get("/auth/mfa").await.assert_status_ok();
    let done = victim
        .post("/auth/mfa")
        .form(&[("code", crate::support::totp(SECRET, 0).as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(signed_in_as(&victim).await["email"], VICTIM);
    assert_anonymous(&attacker).await;
    assert_cycled(&victim_cookie, &planted);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn mfa_enrollment_the_attacker_never_sees_the_victims_new_key() {
    let app = TestApp::start_with(Emulator::builder().require_mfa(true), |b| b).await;
    app.user(VICTIM).await;
    let (attacker, victim, planted) = plant(&app).await;
    let (page, victim_cookie) = victim_reaches_step_up(&app, &victim).await;
    assert_eq!(page, "/auth/mfa");

    // Before and after the victim's own page load, the attacker sees no key.
    assert_refused(&attacker.get("/auth/mfa").await);
    let shown = victim.get("/auth/mfa").await;
    shown.assert_status_ok();
    let secret = enrollment_secret(&shown.text()).expect("the victim sees the new key");
    assert_refused(&attacker.get("/auth/mfa").await);
    assert_refused(
        &attacker
            .post("/auth/mfa")
            .form(&[("code", crate::support::totp(&secret, 0).as_str())])
            .await,
    );
    assert_anonymous(&attacker).await;

    let done = victim
        .post("/auth/mfa")
        .form(&[("code", crate::support::totp(&secret, 0).as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(signed_in_as(&victim).await["email"], VICTIM);
    assert_anonymous(&attacker).await;
    assert_cycled(&victim_cookie, &planted);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn organization_selection_the_attacker_cannot_choose_for_the_victim() {
    let app = TestApp::start().await;
    let (_, acme, globex) = app.member_of_acme_and_globex(VICTIM).await;
    let (attacker, victim, planted) = plant(&app).await;
    let (page, victim_cookie) = victim_reaches_step_up(&app, &victim).await;
    assert_eq!(page, "/auth/select-organization");

    assert_refused(&attacker.get("/auth/select-organization").await);
    assert_refused(
        &attacker
            .post("/auth/select-organization")
            .form(&[("organization_id", acme.as_str())])
            .await,
    );
    assert_anonymous(&attacker).await;

    victim
        .get("/auth/select-organization")
        .await
        .assert_status_ok();
    let done = victim
        .post("/auth/select-organization")
        .form(&[("organization_id", globex.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    let account = signed_in_as(&victim).await;
    assert_eq!(account["email"], VICTIM);
    assert_eq!(account["organization_id"], globex.as_str());
    assert_anonymous(&attacker).await;
    assert_cycled(&victim_cookie, &planted);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_step_up_leading_to_another_cycles_the_session_id_again() {
    let app = TestApp::start().await;
    let user = app
        .emulator
        .client()
        .user_management()
        .create_user(CreateUser::new(VICTIM).password(PASSWORD))
        .await
        .unwrap();
    app.emulator.seed_totp_factor(&user.id, SECRET);
    let (attacker, victim, planted) = plant(&app).await;
    let (page, victim_cookie) = victim_reaches_step_up(&app, &victim).await;
    assert_eq!(page, "/auth/verify-email");
    assert_refused(&attacker.get("/auth/verify-email").await);
    let code = app.emulator.last_email_to(VICTIM).unwrap().code.unwrap();
    let email_step = victim
        .post("/auth/verify-email")
        .form(&[("code", code.as_str())])
        .await;
    email_step.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&email_step), "/auth/mfa");
    // The email step led to an MFA step: a new session id again.
    let next = email_step.cookie(SESSION_COOKIE).value().to_owned();
    assert_ne!(next, victim_cookie);
    assert_ne!(next, planted);

    victim.get("/auth/mfa").await.assert_status_ok();
    let done = victim
        .post("/auth/mfa")
        .form(&[("code", crate::support::totp(SECRET, 0).as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_ne!(done.cookie(SESSION_COOKIE).value(), next);
    assert_eq!(signed_in_as(&victim).await["email"], VICTIM);
    assert_anonymous(&attacker).await;
    assert_cycled(&victim_cookie, &planted);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn the_enrollment_key_is_shown_once() {
    let app = TestApp::start_with(Emulator::builder().require_mfa(true), |b| b).await;
    app.user(VICTIM).await;
    let authorize = app.start_sign_in("?return_to=%2Faccount").await;
    let callback = app
        .emulator
        .approve_sign_in_pending(&authorize, VICTIM)
        .unwrap();
    let paused = app.callback(&callback).await;
    assert_eq!(location(&paused), "/auth/mfa");
    let session_id = paused.cookie(SESSION_COOKIE).value().to_owned();

    let first = app.server.get("/auth/mfa").await;
    first.assert_status_ok();
    let secret = enrollment_secret(&first.text()).expect("the key, on the first page load");

    // Reloading the page shows the code form without the key, and says why.
    let again = app.server.get("/auth/mfa").await;
    again.assert_status_ok();
    let html = again.text();
    let page = shown(&html);
    assert!(enrollment_secret(&html).is_none(), "{page}");
    assert!(!html.contains("data:image/"), "{page}");
    assert!(html.contains("shown once"), "{page}");
    assert!(html.contains("href=\"/auth/login\""), "{page}");
    assert!(html.contains("name=\"code\""), "{page}");
    // The stored step-up no longer holds it either.
    let text = stored_text(&app, &session_id).await;
    assert!(text.contains("authkit.step_up"), "{text}");
    assert!(!text.contains(&secret), "the key is still stored: {text}");
    assert!(!text.contains("otpauth"), "the key is still stored: {text}");

    // The key saved from the first page still finishes the sign-in.
    let done = app
        .server
        .post("/auth/mfa")
        .form(&[("code", crate::support::totp(&secret, 0).as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account");
    support::assert_contract(&app.emulator);
}

/// The secret of the otpauth URI shown on an enrollment page, if any.
fn enrollment_secret(html: &str) -> Option<String> {
    html.split("secret=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .map(str::to_owned)
}

/// The stored data of the session `id` (a cookie value), as JSON text.
async fn stored_text(app: &TestApp, id: &str) -> String {
    use authkit_axum::tower_sessions::SessionStore as _;
    use std::str::FromStr as _;
    let id = authkit_axum::tower_sessions::session::Id::from_str(id).unwrap();
    let record = app
        .store
        .load(&id)
        .await
        .unwrap()
        .expect("the session record");
    serde_json::to_string(&record.data).unwrap()
}
