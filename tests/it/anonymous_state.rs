//! Bounded anonymous state: a session record that holds only sign-ins in progress (pending
//! sign-ins, a step-up) expires with them, in at most ten minutes, and becomes a 7-day session
//! only at sign-in; the crate's `MemoryStore` deletes expired records.
#![cfg(feature = "axum")]

use std::str::FromStr as _;

use authkit_axum::AuthKit;
use authkit_axum::stores::MemoryStore;
use authkit_axum::tower_sessions::session::{Id, Record};
use authkit_axum::user_management::CreateUser;
use authkit_axum::web::SESSION_COOKIE;
use authkit_emulator::Emulator;
use axum::http::StatusCode;
use axum_test::{TestResponse, TestServer};
use time::{Duration, OffsetDateTime};

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{CALLBACK, PASSWORD, location, router_with_store};

const ADA: &str = "ada@example.com";
/// How long a sign-in in progress lasts.
const TEN_MINUTES: Duration = Duration::minutes(10);
/// How long a signed-in session lasts without requests.
const SEVEN_DAYS: Duration = Duration::days(7);

struct App {
    emulator: Emulator,
    store: MemoryStore,
    /// A browser: keeps its cookies.
    browser: TestServer,
    /// Requests without cookies.
    anonymous: TestServer,
}

async fn start() -> App {
    let emulator = crate::support::app::emulator_builder()
        .start()
        .await
        .unwrap();
    let authkit = AuthKit::builder(emulator.client(), CALLBACK)
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let router = router_with_store(&authkit, store.clone());
    let browser = TestServer::builder()
        .save_cookies()
        .mock_transport()
        .build(router.clone())
        .unwrap();
    let anonymous = TestServer::builder()
        .mock_transport()
        .build(router)
        .unwrap();
    App {
        emulator,
        store,
        browser,
        anonymous,
    }
}

fn record(app: &App, session_id: &str) -> Record {
    let id = Id::from_str(session_id).unwrap();
    app.store
        .records()
        .into_iter()
        .find(|r| r.id == id)
        .expect("the session's record")
}

fn keys(record: &Record) -> Vec<String> {
    let mut keys: Vec<String> = record.data.keys().cloned().collect();
    keys.sort();
    keys
}

fn session_cookie(response: &TestResponse) -> String {
    response.cookie(SESSION_COOKIE).value().to_owned()
}

fn cookie_max_age(response: &TestResponse) -> Duration {
    response
        .cookie(SESSION_COOKIE)
        .max_age()
        .expect("a Max-Age")
}

/// `expiry` is within `within` of now + `expected` (and in the future).
fn assert_expires_in(expiry: OffsetDateTime, expected: Duration) {
    let now = OffsetDateTime::now_utc();
    assert!(expiry > now, "already expired: {expiry}");
    let off = (expiry - (now + expected)).abs();
    assert!(
        off < Duration::seconds(10),
        "expires at {expiry}, expected about {expected} from now"
    );
}

#[tokio::test]
async fn a_thousand_anonymous_logins_leave_only_pending_records_which_expire_and_are_deleted() {
    let app = start().await;
    for _ in 0..1_000 {
        let login = app.anonymous.get("/auth/login").await;
        login.assert_status(StatusCode::SEE_OTHER);
        assert!(cookie_max_age(&login) <= TEN_MINUTES);
    }
    let records = app.store.records();
    assert_eq!(records.len(), 1_000);
    let now = OffsetDateTime::now_utc();
    for record in &records {
        assert_eq!(keys(record), ["authkit.pending"], "only a pending sign-in");
        assert!(
            record.expiry_date <= now + TEN_MINUTES,
            "a pending-only record lives until {}",
            record.expiry_date
        );
    }
    // The deletion pass as it will run eleven minutes from now leaves no pending-only record.
    let deleted = app
        .store
        .delete_expired_at(now + TEN_MINUTES + Duration::minutes(1));
    assert_eq!(deleted, 1_000);
    assert!(app.store.is_empty(), "{} records left", app.store.len());
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_sign_in_through_a_step_up_becomes_a_seven_day_session_only_at_sign_in() {
    let app = start().await;
    app.emulator
        .client()
        .user_management()
        .create_user(CreateUser::new(ADA).password(PASSWORD))
        .await
        .unwrap();
    let login = app.browser.get("/auth/login").await;
    assert_expires_in(
        record(&app, &session_cookie(&login)).expiry_date,
        TEN_MINUTES,
    );
    let callback = app
        .emulator
        .approve_sign_in_pending(&location(&login), ADA)
        .unwrap();
    let paused = app
        .browser
        .get(&format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap()
        ))
        .await;
    assert_eq!(location(&paused), "/auth/verify-email");
    // The step-up is a sign-in in progress: it expires with the step-up.
    let step = record(&app, &session_cookie(&paused));
    assert_eq!(keys(&step), ["authkit.step_up"]);
    assert_expires_in(step.expiry_date, TEN_MINUTES);
    assert!(cookie_max_age(&paused) <= TEN_MINUTES);

    let code = app.emulator.last_email_to(ADA).unwrap().code.unwrap();
    let done = app
        .browser
        .post("/auth/verify-email")
        .form(&[("code", code.as_str())])
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    // Signed in: the session layer's 7 days of inactivity again, in the store and the cookie.
    let signed_in = record(&app, &session_cookie(&done));
    assert!(signed_in.data.contains_key("authkit.session"));
    assert_expires_in(signed_in.expiry_date, SEVEN_DAYS);
    assert_eq!(cookie_max_age(&done), SEVEN_DAYS);
    app.browser
        .get("/")
        .await
        .assert_text(format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_plain_sign_in_gets_seven_days() {
    let app = start().await;
    app.emulator
        .client()
        .user_management()
        .create_user(CreateUser::new(ADA).password(PASSWORD).email_verified(true))
        .await
        .unwrap();
    let login = app.browser.get("/auth/login").await;
    let callback = app
        .emulator
        .approve_sign_in(&location(&login), ADA)
        .unwrap();
    let done = app
        .browser
        .get(&format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap()
        ))
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_expires_in(record(&app, &session_cookie(&done)).expiry_date, SEVEN_DAYS);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_session_holding_the_apps_data_keeps_its_expiry() {
    let app = start().await;
    let cart = app.browser.post("/cart").text("a book").await;
    let id = session_cookie(&cart);
    assert_expires_in(record(&app, &id).expiry_date, SEVEN_DAYS);

    let login = app.browser.get("/auth/login").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let with_login = record(&app, &id);
    assert_eq!(keys(&with_login), ["app.cart", "authkit.pending"]);
    assert_expires_in(with_login.expiry_date, SEVEN_DAYS);
    app.browser.get("/cart").await.assert_text("a book");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_callback_that_uses_the_last_pending_sign_in_and_fails_leaves_no_record() {
    let app = start().await;
    let login = app.browser.get("/auth/login").await;
    let state = url::Url::parse(&location(&login))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(app.store.len(), 1);
    let denied = app
        .browser
        .get(&format!("/auth/callback?error=access_denied&state={state}"))
        .await;
    denied.assert_status(StatusCode::BAD_REQUEST);
    assert!(app.store.is_empty(), "an empty record was kept");
    app.browser.get("/").await.assert_text("anonymous");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn without_the_store_handle_new_pending_records_are_short_lived_too() {
    use authkit_axum::tower_sessions::SessionManagerLayer;
    use authkit_axum::tower_sessions::cookie::SameSite;
    use authkit_axum::web::AuthLayer;

    let emulator = crate::support::app::emulator_builder()
        .start()
        .await
        .unwrap();
    let authkit = AuthKit::builder(emulator.client(), CALLBACK)
        .build()
        .unwrap();
    let store = MemoryStore::new();
    // A session layer built by hand: AuthKit has no handle to the store.
    let router = support::app::router_without_layers(&authkit)
        .layer(AuthLayer::new(authkit.clone()))
        .layer(
            SessionManagerLayer::new(store.clone())
                .with_name(SESSION_COOKIE)
                .with_same_site(SameSite::Lax)
                .with_secure(false),
        );
    let anonymous = TestServer::builder()
        .mock_transport()
        .build(router)
        .unwrap();
    for _ in 0..10 {
        anonymous
            .get("/auth/login")
            .await
            .assert_status(StatusCode::SEE_OTHER);
    }
    let now = OffsetDateTime::now_utc();
    assert_eq!(store.len(), 10);
    assert!(
        store
            .records()
            .iter()
            .all(|r| r.expiry_date <= now + TEN_MINUTES)
    );
    support::assert_contract(&emulator);
}
