//! Device sign-in for CLIs (RFC 8628) over real HTTP: `authorize_device`, the emulator's
//! verification page, and `poll_device_authorization`, which waits through an injected sleep
//! (moving the emulator's clock, or waiting for the test's go-ahead) instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use authkit_axum::error::DeviceCodeErrorKind;
use authkit_axum::user_management::{
    AuthenticateWithDeviceCode, AuthenticateWithRefreshToken, DeviceAuthorization,
};
use authkit_axum::{Client, Error};
use authkit_emulator::{Emulator, SeedUser};
use reqwest::StatusCode;
use tokio::sync::{mpsc, oneshot};

use crate::support;

const PASSWORD: &str = "correct horse battery staple";
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

async fn emulator() -> Emulator {
    Emulator::builder()
        .seed_user(SeedUser::new("ada@example.com").password(PASSWORD))
        .seed_user(
            SeedUser::new("grace@example.com")
                .password(PASSWORD)
                .organization("Acme Inc.", "admin")
                .organization("Globex Corporation", "member"),
        )
        .seed_user(
            SeedUser::new("tom@example.com")
                .password(PASSWORD)
                .totp_secret(TOTP_SECRET),
        )
        .start()
        .await
        .unwrap()
}

/// A client as a CLI has one: the client id, no API key.
fn cli_client(emulator: &Emulator) -> Client {
    Client::builder()
        .client_id(emulator.client_id())
        .base_url(emulator.base_url())
        .retry_base_delay(Duration::from_millis(20))
        .build()
        .unwrap()
}

/// A browser on the verification page: posts forms, never follows redirects.
fn browser() -> reqwest::Client {
    support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts a form of the verification page; answers the status and the HTML.
async fn post_form(
    emulator: &Emulator,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        body.append_pair(name, value);
    }
    let response = browser()
        .post(format!("{}{path}", emulator.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The value of the hidden field `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Signs in on the verification page with `user_code` and answers the approval screen.
async fn sign_in_on_the_page(emulator: &Emulator, user_code: &str, email: &str) -> String {
    sign_in_with_password(emulator, user_code, email, PASSWORD).await
}

async fn sign_in_with_password(
    emulator: &Emulator,
    user_code: &str,
    email: &str,
    password: &str,
) -> String {
    let (status, html) = post_form(
        emulator,
        "/__emulator/device/sign-in",
        &[
            ("user_code", user_code),
            ("email", email),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    html
}

/// Each wait of a [`gated_sleep`], and the go-ahead that ends it.
type Waits = mpsc::UnboundedReceiver<(Duration, oneshot::Sender<()>)>;

/// A sleep that hands each wait to the test and returns when the test says so.
fn gated_sleep() -> (
    impl Fn(Duration) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync + 'static,
    Waits,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sleep = move |wait| -> futures_util::future::BoxFuture<'static, ()> {
        let tx = tx.clone();
        Box::pin(async move {
            let (go, gate) = oneshot::channel();
            if tx.send((wait, go)).is_ok() {
                let _ = gate.await;
            }
        })
    };
    (sleep, rx)
}

/// A sleep that moves the emulator's clock by each wait and records the waits.
fn clock_sleep(
    emulator: &Arc<Emulator>,
) -> (
    impl Fn(Duration) -> std::future::Ready<()> + Send + Sync + 'static,
    Arc<Mutex<Vec<u64>>>,
) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let (record, emulator) = (waits.clone(), emulator.clone());
    let sleep = move |wait: Duration| {
        record.lock().unwrap().push(wait.as_secs());
        emulator.advance_clock(wait);
        std::future::ready(())
    };
    (sleep, waits)
}

fn device_error(result: Result<impl std::fmt::Debug, Error>) -> Error {
    let err = result.expect_err("the device sign-in gave tokens");
    assert!(err.device_code_error().is_some(), "{err:?}");
    err
}

#[tokio::test]
async fn a_cli_signs_in_through_the_verification_page() {
    let emulator = emulator().await;
    let client = cli_client(&emulator);
    let device = client.user_management().authorize_device().await.unwrap();
    let page_url = format!("{}/__emulator/device", emulator.base_url());
    assert_eq!(device.verification_uri, page_url);
    assert_eq!(
        device.verification_uri_complete.as_deref(),
        Some(format!("{page_url}?user_code={}", device.user_code).as_str())
    );
    assert_eq!(
        device.verification_link(),
        device.verification_uri_complete.as_deref().unwrap()
    );
    assert_eq!(device.lifetime(), Duration::from_secs(300));
    assert_eq!(device.poll_interval(), Duration::from_secs(5));
    assert_eq!(device.user_code.len(), 9, "{}", device.user_code);

    // The CLI polls; each wait is handed to the test.
    let (sleep, mut waits) = gated_sleep();
    let poll = tokio::spawn(
        client
            .user_management()
            .poll_device_authorization(&device)
            .user_agent("device-test/1.0")
            .sleep_with(sleep)
            .into_future(),
    );
    let (first_wait, go) = waits.recv().await.unwrap();
    assert_eq!(
        first_wait,
        Duration::from_secs(5),
        "the first poll was pending"
    );

    // The user opens the link, which shows the code, signs in and approves.
    let page = browser()
        .get(device.verification_link())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("value=\"{}\"", device.user_code)),
        "{html}"
    );
    // Typed in lower case without the dash, the code is still the device's.
    let typed = device.user_code.replace('-', "").to_lowercase();
    let confirm = sign_in_on_the_page(&emulator, &typed, "ada@example.com").await;
    assert!(confirm.contains("Approve this device?"), "{confirm}");
    assert!(confirm.contains(&device.user_code), "{confirm}");
    let flow = hidden(&confirm, "flow");
    let (status, done) = post_form(
        &emulator,
        "/__emulator/device/decide",
        &[("flow", &flow), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("Device approved"), "{done}");

    emulator.advance_clock(first_wait);
    go.send(()).unwrap();
    let auth = poll.await.unwrap().unwrap();
    assert_eq!(auth.user.email, "ada@example.com");
    assert!(waits.try_recv().is_err(), "no more waits after the tokens");
    let session = support::jwt::claims(auth.access_token.expose_secret());
    assert_eq!(session["sub"], auth.user.id.as_str());

    support::assert_contract(&emulator);

    // The CLI keeps the session going without a secret: refresh tokens work for it. (Spec
    // 0.1.0 marks client_secret as required on the refresh grant although WorkOS serves
    // public clients, so this exchange is left out of the contract check, as in
    // `authenticate::a_public_client_needs_pkce`.)
    let refreshed = client
        .user_management()
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            auth.refresh_token.expose_secret(),
        ))
        .await
        .unwrap();
    assert_eq!(refreshed.user.id, auth.user.id);
}

#[tokio::test]
async fn before_the_user_answers_the_grant_is_pending() {
    let emulator = emulator().await;
    let client = cli_client(&emulator);
    let device = client.user_management().authorize_device().await.unwrap();
    let err = device_error(
        client
            .user_management()
            .authenticate_with_device_code(AuthenticateWithDeviceCode::new(
                device.device_code.clone(),
            ))
            .await,
    );
    assert_eq!(
        err.device_code_error(),
        Some(DeviceCodeErrorKind::AuthorizationPending)
    );
    assert_eq!(err.code(), Some("authorization_pending"));
    assert_eq!(err.status(), Some(400));
    // Opening the page and signing in does not approve: the approval screen must be answered.
    sign_in_on_the_page(&emulator, &device.user_code, "ada@example.com").await;
    emulator.advance_clock(device.poll_interval());
    let err = device_error(
        client
            .user_management()
            .authenticate_with_device_code(AuthenticateWithDeviceCode::new(
                device.device_code.clone(),
            ))
            .await,
    );
    assert_eq!(
        err.device_code_error(),
        Some(DeviceCodeErrorKind::AuthorizationPending)
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn polling_too_fast_is_slow_down_and_the_poller_backs_off_five_seconds() {
    let emulator = Arc::new(emulator().await);
    let client = cli_client(&emulator);
    let um = client.user_management();
    let device = um.authorize_device().await.unwrap();
    let poll_once = || {
        um.authenticate_with_device_code(AuthenticateWithDeviceCode::new(
            device.device_code.clone(),
        ))
    };
    device_error(poll_once().await);
    let err = device_error(poll_once().await);
    assert_eq!(err.device_code_error(), Some(DeviceCodeErrorKind::SlowDown));
    assert_eq!(err.code(), Some("slow_down"));
    // The interval is now 10 s: 5 s later is still too fast, 10 s later is fine.
    emulator.advance_clock(Duration::from_secs(5));
    let err = device_error(poll_once().await);
    assert_eq!(err.device_code_error(), Some(DeviceCodeErrorKind::SlowDown));
    emulator.advance_clock(Duration::from_secs(15));
    let err = device_error(poll_once().await);
    assert_eq!(
        err.device_code_error(),
        Some(DeviceCodeErrorKind::AuthorizationPending)
    );

    // The poller: its first wait ends early (the emulator's clock does not move), so the next
    // poll is slow_down and it waits 5 s longer from then on; the user approves meanwhile.
    let device = um.authorize_device().await.unwrap();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let (record, clock, user_code) = (waits.clone(), emulator.clone(), device.user_code.clone());
    let auth = um
        .poll_device_authorization(&device)
        .sleep_with(move |wait: Duration| {
            let mut waits = record.lock().unwrap();
            waits.push(wait.as_secs());
            if waits.len() > 1 {
                clock.advance_clock(wait);
            }
            if waits.len() == 3 {
                clock.approve_device(&user_code, "ada@example.com").unwrap();
            }
            std::future::ready(())
        })
        .await
        .unwrap();
    assert_eq!(auth.user.email, "ada@example.com");
    assert_eq!(*waits.lock().unwrap(), [5, 10, 10]);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn an_unanswered_device_code_expires_after_five_minutes() {
    let emulator = Arc::new(emulator().await);
    let client = cli_client(&emulator);
    let device = client.user_management().authorize_device().await.unwrap();
    let (sleep, waits) = clock_sleep(&emulator);
    let err = device_error(
        client
            .user_management()
            .poll_device_authorization(&device)
            .sleep_with(sleep)
            .await,
    );
    assert_eq!(err.device_code_error(), Some(DeviceCodeErrorKind::Expired));
    assert_eq!(err.code(), Some("expired_token"));
    assert_eq!(err.status(), Some(400), "WorkOS said so: {err}");
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.iter().sum::<u64>(), 300, "{waits:?}");
    assert!(waits.iter().all(|w| *w == 5), "{waits:?}");

    // Too late to approve on the page, too.
    let (status, html) = post_form(
        &emulator,
        "/__emulator/device/sign-in",
        &[
            ("user_code", &device.user_code),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("not valid or has expired"), "{html}");
    assert!(
        emulator
            .approve_device(&device.user_code, "ada@example.com")
            .is_err()
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_poller_stops_at_the_expiry_even_if_nobody_says_so() {
    let emulator = emulator().await;
    let client = cli_client(&emulator);
    let device = client.user_management().authorize_device().await.unwrap();
    // Waits that end at once while the emulator's clock stands still: WorkOS keeps answering
    // slow_down, the poller keeps backing off, and gives up once its waits add up to the
    // code's lifetime.
    let waits = Arc::new(Mutex::new(Vec::new()));
    let record = waits.clone();
    let err = device_error(
        client
            .user_management()
            .poll_device_authorization(&device)
            .sleep_with(move |wait: Duration| {
                record.lock().unwrap().push(wait.as_secs());
                std::future::ready(())
            })
            .await,
    );
    assert_eq!(err.device_code_error(), Some(DeviceCodeErrorKind::Expired));
    assert_eq!(err.status(), None, "the poller gave up by itself: {err}");
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits[..3], [5, 10, 15], "{waits:?}");
    assert!(waits.iter().sum::<u64>() <= 300, "{waits:?}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn an_absurd_interval_from_the_server_neither_spins_nor_panics() {
    let emulator = emulator().await;
    let client = cli_client(&emulator);
    // 0 would poll back to back: the poller waits at least a second. u64::MAX would overflow:
    // it is capped at the lifetime, so the poller gives up at once.
    for (interval, first_wait) in [(0, Some(1)), (u64::MAX, None)] {
        let mut device = client.user_management().authorize_device().await.unwrap();
        device.interval = Some(interval);
        let waits = Arc::new(Mutex::new(Vec::new()));
        let record = waits.clone();
        let err = device_error(
            client
                .user_management()
                .poll_device_authorization(&device)
                .sleep_with(move |wait: Duration| {
                    record.lock().unwrap().push(wait.as_secs());
                    std::future::ready(())
                })
                .await,
        );
        // Pending (or slow_down) until the waits reach the lifetime: expired, by itself.
        assert_eq!(err.device_code_error(), Some(DeviceCodeErrorKind::Expired));
        let waits = waits.lock().unwrap().clone();
        assert_eq!(
            waits.first().copied(),
            first_wait,
            "interval {interval}: {waits:?}"
        );
        assert!(waits.iter().sum::<u64>() <= 300, "{waits:?}");
    }
}

#[tokio::test]
async fn a_denied_sign_in_is_access_denied() {
    let emulator = Arc::new(emulator().await);
    let client = cli_client(&emulator);
    let um = client.user_management();

    // Denied on the approval screen.
    let device = um.authorize_device().await.unwrap();
    let confirm = sign_in_on_the_page(&emulator, &device.user_code, "ada@example.com").await;
    let flow = hidden(&confirm, "flow");
    let (status, done) = post_form(
        &emulator,
        "/__emulator/device/decide",
        &[("flow", &flow), ("decision", "deny")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("Device denied"), "{done}");
    let (sleep, _) = clock_sleep(&emulator);
    let err = device_error(
        um.poll_device_authorization(&device)
            .sleep_with(sleep)
            .await,
    );
    assert_eq!(
        err.device_code_error(),
        Some(DeviceCodeErrorKind::AccessDenied)
    );
    assert_eq!(err.code(), Some("access_denied"));
    // The decision is final: the approval screen cannot be answered again.
    let (status, _) = post_form(
        &emulator,
        "/__emulator/device/decide",
        &[("flow", &flow), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Denied from a test, through the library and through the control API.
    let device = um.authorize_device().await.unwrap();
    emulator.deny_device(&device.user_code).unwrap();
    let (sleep, _) = clock_sleep(&emulator);
    let err = device_error(
        um.poll_device_authorization(&device)
            .sleep_with(sleep)
            .await,
    );
    assert_eq!(
        err.device_code_error(),
        Some(DeviceCodeErrorKind::AccessDenied)
    );
    let device = um.authorize_device().await.unwrap();
    let control = |path: &str, body: serde_json::Value| {
        support::http_client()
            .build()
            .unwrap()
            .post(format!("{}/__emulator/device/{path}", emulator.base_url()))
            .bearer_auth(emulator.api_key())
            .json(&body)
            .send()
    };
    let denied = control("deny", serde_json::json!({ "user_code": device.user_code }))
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::NO_CONTENT);
    let again = control(
        "approve",
        serde_json::json!({ "user_code": device.user_code, "email": "ada@example.com" }),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "already answered");
    let (sleep, _) = clock_sleep(&emulator);
    let err = device_error(
        um.poll_device_authorization(&device)
            .sleep_with(sleep)
            .await,
    );
    assert_eq!(
        err.device_code_error(),
        Some(DeviceCodeErrorKind::AccessDenied)
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_device_code_is_exchanged_once() {
    let emulator = emulator().await;
    let client = cli_client(&emulator);
    let um = client.user_management();
    let device = um.authorize_device().await.unwrap();
    let approved = support::http_client()
        .build()
        .unwrap()
        .post(format!("{}/__emulator/device/approve", emulator.base_url()))
        .bearer_auth(emulator.api_key())
        .json(&serde_json::json!({ "user_code": device.user_code, "email": "ada@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::NO_CONTENT);
    let exchange = || {
        um.authenticate_with_device_code(AuthenticateWithDeviceCode::new(
            device.device_code.clone(),
        ))
    };
    let auth = exchange().await.unwrap();
    assert_eq!(auth.user.email, "ada@example.com");
    let replay = exchange().await.unwrap_err();
    assert!(replay.is_invalid_grant(), "{replay:?}");
    assert_eq!(replay.device_code_error(), None);
    // A device code never issued is refused the same way.
    let forged = um
        .authenticate_with_device_code(AuthenticateWithDeviceCode::new("forged-device-code"))
        .await
        .unwrap_err();
    assert!(forged.is_invalid_grant(), "{forged:?}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_page_refuses_a_wrong_user_code_or_password() {
    let emulator = emulator().await;
    let client = cli_client(&emulator);
    let device = client.user_management().authorize_device().await.unwrap();
    let other = if device.user_code == "BCDF-GHJK" {
        "BCDF-GHJL"
    } else {
        "BCDF-GHJK"
    };
    for (code, password, expected) in [
        (other, PASSWORD, "That code is not valid or has expired"),
        ("", PASSWORD, "That code is not valid or has expired"),
        (
            device.user_code.as_str(),
            "wrong password",
            "Incorrect email or password",
        ),
    ] {
        let (status, html) = post_form(
            &emulator,
            "/__emulator/device/sign-in",
            &[
                ("user_code", code),
                ("email", "ada@example.com"),
                ("password", password),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code:?}");
        assert!(html.contains(expected), "{code:?}: {html}");
        assert!(!html.contains("Approve this device?"));
    }
    // A forged flow id cannot answer the approval screen.
    let (status, _) = post_form(
        &emulator,
        "/__emulator/device/decide",
        &[("flow", "forged"), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The device is still waiting, and the right code still works.
    let err = device_error(
        client
            .user_management()
            .authenticate_with_device_code(AuthenticateWithDeviceCode::new(
                device.device_code.clone(),
            ))
            .await,
    );
    assert_eq!(
        err.device_code_error(),
        Some(DeviceCodeErrorKind::AuthorizationPending)
    );
    let confirm = sign_in_on_the_page(&emulator, &device.user_code, "ada@example.com").await;
    assert!(confirm.contains("Approve this device?"));
    // Unknown codes and users are refused by the test hooks too.
    assert!(emulator.approve_device(other, "ada@example.com").is_err());
    assert!(
        emulator
            .approve_device(&device.user_code, "nobody@example.com")
            .is_err()
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_member_of_several_organizations_chooses_one_on_the_page() {
    let emulator = emulator().await;
    let client = cli_client(&emulator);
    let device: DeviceAuthorization = client.user_management().authorize_device().await.unwrap();
    let choose = sign_in_on_the_page(&emulator, &device.user_code, "grace@example.com").await;
    assert!(choose.contains("Choose an organization"), "{choose}");
    let flow = hidden(&choose, "flow");
    let globex = {
        let marker = "name=\"organization_id\" value=\"";
        let second = choose.rfind(marker).unwrap() + marker.len();
        choose[second..second + choose[second..].find('"').unwrap()].to_owned()
    };
    let (status, confirm) = post_form(
        &emulator,
        "/__emulator/authorize/organization",
        &[("flow", &flow), ("organization_id", &globex)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{confirm}");
    assert!(confirm.contains("Globex Corporation"), "{confirm}");
    let (status, _) = post_form(
        &emulator,
        "/__emulator/device/decide",
        &[("flow", &hidden(&confirm, "flow")), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let auth = client
        .user_management()
        .authenticate_with_device_code(AuthenticateWithDeviceCode::new(device.device_code.clone()))
        .await
        .unwrap();
    assert_eq!(auth.organization_id.as_deref(), Some(globex.as_str()));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_example_cli_prints_the_link_and_the_signed_in_user() {
    use crate::device_example as cli;

    let emulator = cli::demo_emulator().await.unwrap();
    let client = cli::client_for(&emulator).unwrap();
    let mut out = Vec::new();
    let device = cli::start_sign_in(&client, &mut out).await.unwrap();
    let printed = String::from_utf8(out.clone()).unwrap();
    assert!(printed.contains(device.verification_link()), "{printed}");
    assert!(printed.contains(&device.user_code), "{printed}");
    assert!(printed.contains("expires in 5 minutes"), "{printed}");

    // The user approves in a browser as the demo user; the CLI's first poll gets the tokens.
    let confirm = sign_in_with_password(
        &emulator,
        &device.user_code,
        cli::DEMO_EMAIL,
        cli::DEMO_PASSWORD,
    )
    .await;
    let (status, _) = post_form(
        &emulator,
        "/__emulator/device/decide",
        &[("flow", &hidden(&confirm, "flow")), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut out = Vec::new();
    let auth = cli::finish_sign_in(&client, &device, &mut out)
        .await
        .unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert_eq!(
        printed.trim(),
        format!(
            "Signed in as Alice Example <alice@example.com> ({})",
            auth.user.id
        )
    );

    // Denied: the CLI says so.
    let device = cli::start_sign_in(&client, &mut Vec::new()).await.unwrap();
    emulator.deny_device(&device.user_code).unwrap();
    let err = cli::finish_sign_in(&client, &device, &mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the sign-in was denied");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_page_asks_for_the_second_factor_and_cancel_denies_the_device() {
    let emulator = emulator().await;
    let client = cli_client(&emulator);
    let um = client.user_management();

    // A wrong authenticator code keeps the user on the step; the right one reaches approval.
    let device = um.authorize_device().await.unwrap();
    let totp = sign_in_on_the_page(&emulator, &device.user_code, "tom@example.com").await;
    assert!(totp.contains("Two-factor authentication"), "{totp}");
    assert!(!totp.contains("Approve this device?"));
    let flow = hidden(&totp, "flow");
    let wrong = if support::totp(TOTP_SECRET, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, _) = post_form(
        &emulator,
        "/__emulator/authorize/totp",
        &[("flow", &flow), ("code", wrong)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Not approvable before the step passed.
    let (status, _) = post_form(
        &emulator,
        "/__emulator/device/decide",
        &[("flow", &flow), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, confirm) = post_form(
        &emulator,
        "/__emulator/authorize/totp",
        &[("flow", &flow), ("code", &support::totp(TOTP_SECRET, 0))],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{confirm}");
    assert!(confirm.contains("Approve this device?"), "{confirm}");
    let (status, _) = post_form(
        &emulator,
        "/__emulator/device/decide",
        &[("flow", &hidden(&confirm, "flow")), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let auth = um
        .authenticate_with_device_code(AuthenticateWithDeviceCode::new(device.device_code.clone()))
        .await
        .unwrap();
    assert_eq!(auth.user.email, "tom@example.com");

    // Cancel on a step-up screen denies the device.
    let device = um.authorize_device().await.unwrap();
    let totp = sign_in_on_the_page(&emulator, &device.user_code, "tom@example.com").await;
    let (status, done) = post_form(
        &emulator,
        "/__emulator/authorize/cancel",
        &[("flow", &hidden(&totp, "flow")), ("cancel", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("Device denied"), "{done}");
    let err = device_error(
        um.authenticate_with_device_code(AuthenticateWithDeviceCode::new(
            device.device_code.clone(),
        ))
        .await,
    );
    assert_eq!(
        err.device_code_error(),
        Some(DeviceCodeErrorKind::AccessDenied)
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn an_unknown_client_cannot_start_or_poll_a_device_sign_in() {
    let emulator = emulator().await;
    let device = cli_client(&emulator)
        .user_management()
        .authorize_device()
        .await
        .unwrap();
    let stranger = Client::builder()
        .client_id("client_someone_else")
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    let err = stranger
        .user_management()
        .authorize_device()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_client"), "{err:?}");
    assert_eq!(err.status(), Some(400));
    let err = stranger
        .user_management()
        .authenticate_with_device_code(AuthenticateWithDeviceCode::new(device.device_code.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_client"), "{err:?}");
    assert_eq!(err.device_code_error(), None);
    support::assert_contract(&emulator);
}
