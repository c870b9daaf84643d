//! Step-ups that reach the callback (the code exchange answers email_verification_required,
//! mfa_challenge or organization_selection_required, as WorkOS does after e.g. an OAuth
//! sign-in) and the built-in pages that finish them, driven with form posts.
#![cfg(feature = "axum")]

use authkit_axum::user_management::{CreateUser, ListAuthFactors, User};
use authkit_emulator::{Emulator, Fault};
use axum::http::StatusCode;
use axum_test::TestResponse;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use crate::support::totp;
use support::app::{PASSWORD, TestApp, location};

/// A Base32 TOTP secret (160 bits) the tests seed and compute codes from.
const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// A six-digit code that is neither the current TOTP code nor a neighbouring step's.
fn wrong_totp(secret: &str) -> String {
    let near: Vec<String> = (-2..=2).map(|s| totp(secret, s)).collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

async fn unverified_user(app: &TestApp, email: &str) -> User {
    app.emulator
        .client()
        .user_management()
        .create_user(CreateUser::new(email).password(PASSWORD))
        .await
        .unwrap()
}

/// login → the emulator (step-ups left to the code exchange) → callback.
async fn callback_with_step_ups(app: &TestApp, email: &str, query: &str) -> TestResponse {
    let authorize = app.start_sign_in(query).await;
    let callback = app
        .emulator
        .approve_sign_in_pending(&authorize, email)
        .unwrap();
    app.callback(&callback).await
}

fn email_code(app: &TestApp, email: &str) -> String {
    app.emulator.last_email_to(email).unwrap().code.unwrap()
}

async fn assert_signed_out(app: &TestApp) {
    app.server.get("/").await.assert_text("anonymous");
}

async fn account(app: &TestApp) -> Value {
    let response = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    response.assert_status_ok();
    response.json()
}

#[tokio::test]
async fn email_verification_at_the_callback_is_finished_on_its_page() {
    let app = TestApp::start().await;
    let user = unverified_user(&app, "ada@example.com").await;

    let callback = callback_with_step_ups(&app, "ada@example.com", "?return_to=%2Faccount").await;
    callback.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&callback), "/auth/verify-email");
    assert_signed_out(&app).await;

    let page = app.server.get("/auth/verify-email").await;
    page.assert_status_ok();
    assert!(page.text().contains("ada@example.com"));
    assert!(page.text().contains("action=\"/auth/verify-email\""));

    // A wrong code: the page again, with an error, still signed out.
    let code = email_code(&app, "ada@example.com");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let again = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", wrong)])
        .await;
    again.assert_status(StatusCode::BAD_REQUEST);
    assert!(again.text().contains("That code is not right"));
    assert_signed_out(&app).await;

    // The emailed code finishes the sign-in and goes to return_to.
    let done = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", code.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account");
    assert_eq!(account(&app).await["email"], "ada@example.com");
    let verified = app
        .emulator
        .client()
        .user_management()
        .get_user(&user.id)
        .await
        .unwrap();
    assert!(verified.email_verified);

    // The step-up is over: its page now says the sign-in expired.
    let over = app.server.get("/auth/verify-email").await;
    over.assert_status(StatusCode::BAD_REQUEST);
    assert!(over.text().contains("Sign-in expired"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_step_up_that_outlives_its_code_says_so_and_a_new_sign_in_works() {
    let app = TestApp::start().await;
    unverified_user(&app, "ada@example.com").await;
    let callback = callback_with_step_ups(&app, "ada@example.com", "?return_to=%2Faccount").await;
    assert_eq!(location(&callback), "/auth/verify-email");
    let stale = email_code(&app, "ada@example.com");

    // Eleven minutes later the code and its pending sign-in have expired at WorkOS: the right
    // code can no longer finish it, and the page says to start again (not "wrong code").
    app.emulator
        .advance_clock(std::time::Duration::from_secs(11 * 60));
    let late = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", stale.as_str())])
        .await;
    late.assert_status(StatusCode::BAD_REQUEST);
    assert!(late.text().contains("Sign-in expired"), "{}", late.text());
    assert!(late.text().contains("Start again to get a new code"));
    assert!(!late.text().contains("not right"));
    assert!(
        late.text().contains("href=\"/auth/login\""),
        "{}",
        late.text()
    );
    assert_signed_out(&app).await;
    let over = app.server.get("/auth/verify-email").await;
    assert!(over.text().contains("Sign-in expired"));

    // Signing in again sends a new code, which finishes the sign-in.
    let again = callback_with_step_ups(&app, "ada@example.com", "?return_to=%2Faccount").await;
    assert_eq!(location(&again), "/auth/verify-email");
    let fresh = email_code(&app, "ada@example.com");
    assert_ne!(fresh, stale);
    let done = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", fresh.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account");
    assert_eq!(account(&app).await["email"], "ada@example.com");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn an_mfa_challenge_is_answered_with_a_totp_code() {
    let app = TestApp::start().await;
    let ada = app.user("ada@example.com").await;
    app.emulator.seed_totp_factor(&ada.id, SECRET);

    let callback = callback_with_step_ups(&app, "ada@example.com", "?return_to=%2Faccount").await;
    callback.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&callback), "/auth/mfa");

    let page = app.server.get("/auth/mfa").await;
    page.assert_status_ok();
    assert!(page.text().contains("authenticator app"));

    let wrong = app
        .server
        .post("/auth/mfa")
        .form(&[("code", wrong_totp(SECRET).as_str())])
        .await;
    wrong.assert_status(StatusCode::BAD_REQUEST);
    assert!(wrong.text().contains("That code is not right"));
    assert_signed_out(&app).await;

    let done = app
        .server
        .post("/auth/mfa")
        .form(&[("code", totp(SECRET, 0).as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account");
    assert_eq!(account(&app).await["email"], "ada@example.com");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_member_of_several_organizations_chooses_one() {
    let app = TestApp::start().await;
    let (_, _acme, globex) = app.member_of_acme_and_globex("ada@example.com").await;

    let callback = callback_with_step_ups(&app, "ada@example.com", "").await;
    callback.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&callback), "/auth/select-organization");

    let page = app.server.get("/auth/select-organization").await;
    page.assert_status_ok();
    assert!(page.text().contains("Acme") && page.text().contains("Globex"));

    // An organization that was not offered: the page again, with an error.
    let other = app.emulator.create_organization("Initech");
    let refused = app
        .server
        .post("/auth/select-organization")
        .form(&[("organization_id", other.as_str())])
        .await;
    refused.assert_status(StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .contains("Choose one of the organizations listed")
    );
    assert_signed_out(&app).await;

    let done = app
        .server
        .post("/auth/select-organization")
        .form(&[("organization_id", globex.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/");
    let signed_in = account(&app).await;
    assert_eq!(signed_in["organization_id"], globex.as_str());
    assert_eq!(signed_in["role"], "member");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn chained_step_ups_email_then_mfa_then_organization() {
    let app = TestApp::start().await;
    let ada = unverified_user(&app, "ada@example.com").await;
    app.emulator.seed_totp_factor(&ada.id, SECRET);
    let acme = app.emulator.create_organization("Acme");
    let globex = app.emulator.create_organization("Globex");
    app.emulator.seed_membership(&ada.id, &acme, "admin");
    app.emulator.seed_membership(&ada.id, &globex, "member");

    let callback = callback_with_step_ups(&app, "ada@example.com", "?return_to=%2Fadmin").await;
    assert_eq!(location(&callback), "/auth/verify-email");
    let code = email_code(&app, "ada@example.com");
    let email_done = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", code.as_str())])
        .await;
    email_done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&email_done), "/auth/mfa");
    assert_signed_out(&app).await;

    app.server.get("/auth/mfa").await.assert_status_ok();
    let mfa_done = app
        .server
        .post("/auth/mfa")
        .form(&[("code", totp(SECRET, 0).as_str())])
        .await;
    mfa_done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&mfa_done), "/auth/select-organization");
    assert_signed_out(&app).await;

    app.server
        .get("/auth/select-organization")
        .await
        .assert_status_ok();
    let done = app
        .server
        .post("/auth/select-organization")
        .form(&[("organization_id", acme.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/admin");
    app.server.get("/admin").await.assert_text("admin area");
    assert_eq!(account(&app).await["organization_id"], acme.as_str());
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn step_up_pages_without_a_step_up_in_progress_say_the_sign_in_expired() {
    let app = TestApp::start().await;
    for path in [
        "/auth/verify-email",
        "/auth/mfa",
        "/auth/select-organization",
    ] {
        let page = app.server.get(path).await;
        page.assert_status(StatusCode::BAD_REQUEST);
        assert!(page.text().contains("Sign-in expired"), "{path}");
    }
    let posted = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", "123456")])
        .await;
    posted.assert_status(StatusCode::BAD_REQUEST);
    assert!(posted.text().contains("Sign-in expired"));
    let posted = app
        .server
        .post("/auth/mfa")
        .form(&[("code", "123456")])
        .await;
    posted.assert_status(StatusCode::BAD_REQUEST);
    // Nothing reached WorkOS and no session was created.
    assert!(
        app.emulator
            .requests()
            .iter()
            .all(|r| r.path != "/user_management/authenticate")
    );
    assert_signed_out(&app).await;
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn too_many_wrong_codes_end_the_step_up() {
    let app = TestApp::start().await;
    unverified_user(&app, "ada@example.com").await;
    let callback = callback_with_step_ups(&app, "ada@example.com", "").await;
    assert_eq!(location(&callback), "/auth/verify-email");
    let code = email_code(&app, "ada@example.com");
    let wrong = if code == "000000" { "111111" } else { "000000" };

    for _ in 0..4 {
        let again = app
            .server
            .post("/auth/verify-email")
            .form(&[("code", wrong)])
            .await;
        again.assert_status(StatusCode::BAD_REQUEST);
        assert!(again.text().contains("That code is not right"));
    }
    let ended = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", wrong)])
        .await;
    ended.assert_status(StatusCode::BAD_REQUEST);
    assert!(ended.text().contains("Too many attempts"));

    // Even the right code no longer helps: the sign-in must start again.
    let late = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", code.as_str())])
        .await;
    late.assert_status(StatusCode::BAD_REQUEST);
    assert!(late.text().contains("Sign-in expired"));
    assert_signed_out(&app).await;
    let tries = app
        .emulator
        .requests()
        .iter()
        .filter(|r| {
            r.grant_type.as_deref() == Some("urn:workos:oauth:grant-type:email-verification:code")
        })
        .count();
    assert_eq!(tries, 5);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn mfa_enrollment_shows_the_new_factor_and_accepts_its_code() {
    let app = TestApp::start_with(Emulator::builder().require_mfa(true), |b| b).await;
    let ada = app.user("ada@example.com").await;

    let callback = callback_with_step_ups(&app, "ada@example.com", "?return_to=%2Faccount").await;
    callback.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&callback), "/auth/mfa");

    // The page enrolls a TOTP factor and shows it once, as a QR code and as a key.
    let page = app.server.get("/auth/mfa").await;
    page.assert_status_ok();
    let html = page.text();
    assert!(html.contains("src=\"data:image/"), "no QR code in {html}");
    let secret = html
        .split("secret=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("the otpauth URI with its secret")
        .to_owned();
    let factors = app
        .emulator
        .client()
        .user_management()
        .list_auth_factors(&ada.id, &ListAuthFactors::new())
        .await
        .unwrap();
    assert_eq!(factors.data.len(), 1);

    let wrong = app
        .server
        .post("/auth/mfa")
        .form(&[("code", wrong_totp(&secret).as_str())])
        .await;
    wrong.assert_status(StatusCode::BAD_REQUEST);
    assert!(wrong.text().contains("That code is not right"));
    assert_signed_out(&app).await;

    let done = app
        .server
        .post("/auth/mfa")
        .form(&[("code", totp(&secret, 0).as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account");
    assert_eq!(account(&app).await["email"], "ada@example.com");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_workos_outage_during_a_step_up_keeps_it_going() {
    let app = TestApp::start().await;
    unverified_user(&app, "ada@example.com").await;
    let callback = callback_with_step_ups(&app, "ada@example.com", "").await;
    assert_eq!(location(&callback), "/auth/verify-email");
    let code = email_code(&app, "ada@example.com");

    app.emulator
        .inject_fault(Fault::new("/user_management/authenticate").status(503));
    let down = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", code.as_str())])
        .await;
    down.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.text().contains("try again"));
    assert_signed_out(&app).await;

    // Back up: the same code finishes the sign-in.
    app.emulator.clear_faults();
    let done = app
        .server
        .post("/auth/verify-email")
        .form(&[("code", code.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(account(&app).await["email"], "ada@example.com");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_cross_site_post_to_a_step_up_form_is_refused_and_the_step_up_stays() {
    let app = TestApp::start().await;
    let (_, acme, _) = app.member_of_acme_and_globex("ada@example.com").await;
    let callback = callback_with_step_ups(&app, "ada@example.com", "").await;
    assert_eq!(location(&callback), "/auth/select-organization");

    for path in [
        "/auth/select-organization",
        "/auth/verify-email",
        "/auth/mfa",
    ] {
        let refused = app
            .server
            .post(path)
            .add_header("origin", "https://evil.example")
            .form(&[("organization_id", acme.as_str()), ("code", "123456")])
            .await;
        refused.assert_status(StatusCode::FORBIDDEN);
    }
    assert_signed_out(&app).await;

    // The browser's own post still finishes the sign-in.
    let done = app
        .server
        .post("/auth/select-organization")
        .add_header("origin", "http://localhost:3000")
        .form(&[("organization_id", acme.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(account(&app).await["organization_id"], acme.as_str());
    support::assert_contract(&app.emulator);
}
