//! WorkOS webhooks over HTTP: a signed `session.revoked` delivery signs the browser of that
//! session out at its next request; forged, replayed, unsigned and malformed deliveries are
//! refused with a clear answer and change nothing.
#![cfg(feature = "axum")]

use std::time::{SystemTime, UNIX_EPOCH};

use authkit_axum::AuthKit;
use authkit_axum::user_management::ListSessions;
use authkit_axum::web::{SESSION_COOKIE, WorkosWebhook};
use authkit_axum::webhooks::Webhooks;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use crate::support;
use crate::support::EmulatorExt as _;
use crate::support::app::TestApp;

const SECRET: &str = "whsec_test_endpoint";

#[derive(Clone)]
struct Hooks {
    webhooks: Webhooks,
    authkit: AuthKit,
}

impl FromRef<Hooks> for Webhooks {
    fn from_ref(hooks: &Hooks) -> Webhooks {
        hooks.webhooks.clone()
    }
}

impl FromRef<Hooks> for AuthKit {
    fn from_ref(hooks: &Hooks) -> AuthKit {
        hooks.authkit.clone()
    }
}

async fn workos_events(
    State(authkit): State<AuthKit>,
    WorkosWebhook(event): WorkosWebhook,
) -> (StatusCode, String) {
    match authkit.end_revoked_session(&event).await {
        Ok(removed) => (StatusCode::OK, format!("{} {removed}", event.event)),
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn app() -> TestApp {
    TestApp::start_with_routes(|authkit| {
        Router::new()
            .route("/webhooks/workos", post(workos_events))
            .with_state(Hooks {
                webhooks: Webhooks::new(SECRET),
                authkit: authkit.clone(),
            })
            .merge(support::app::app_routes())
    })
    .await
}

/// A `session.revoked` event for Ada's WorkOS session, as WorkOS would send it.
async fn revoked_event(app: &TestApp, user_id: &str) -> Vec<u8> {
    let sessions = app
        .emulator
        .client()
        .user_management()
        .list_sessions(user_id, &ListSessions::new())
        .await
        .unwrap();
    let mut session = serde_json::to_value(&sessions.data[0]).unwrap();
    session["status"] = "revoked".into();
    serde_json::to_vec(&json!({
        "id": "event_01HREVOKED",
        "event": "session.revoked",
        "data": session,
        "created_at": "2026-12-04T10:00:00.000Z",
    }))
    .unwrap()
}

#[tokio::test]
async fn a_signed_session_revoked_delivery_signs_that_browser_out() {
    let app = app().await;
    let ada = app.user("ada@example.com").await;
    let cookie = app.sign_in_cookie("ada@example.com").await;
    let browser = |app: &TestApp| {
        app.server
            .get("/account")
            .add_header("cookie", format!("{SESSION_COOKIE}={cookie}"))
            .add_header("accept", "application/json")
    };
    browser(&app).await.assert_status_ok();
    let body = revoked_event(&app, &ada.id).await;
    let webhooks = Webhooks::new(SECRET);

    // Refused deliveries change nothing.
    let forged = Webhooks::new("whsec_someone_else").sign(&body, now_ms());
    let replayed = webhooks.sign(&body, now_ms() - 10 * 60 * 1000);
    // A genuine signature over a body changed on the way (another session revoked).
    let genuine = webhooks.sign(&body, now_ms());
    let altered = String::from_utf8(body.clone())
        .unwrap()
        .replace("\"session_", "\"session_0")
        .into_bytes();
    assert_ne!(altered, body);
    for (body, header, status, says) in [
        (
            &body,
            Some(forged),
            StatusCode::UNAUTHORIZED,
            "does not match",
        ),
        (&body, Some(replayed), StatusCode::UNAUTHORIZED, "replayed"),
        (
            &altered,
            Some(genuine),
            StatusCode::UNAUTHORIZED,
            "raw body",
        ),
        (
            &body,
            None,
            StatusCode::BAD_REQUEST,
            "no WorkOS-Signature header",
        ),
        (
            &body,
            Some("t=1,v2=ab".to_owned()),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
    ] {
        let mut request = app
            .server
            .post("/webhooks/workos")
            .bytes(body.clone().into());
        if let Some(header) = header {
            request = request.add_header("workos-signature", header);
        }
        let refused = request.await;
        refused.assert_status(status);
        let json: Value = refused.json();
        assert!(json["message"].as_str().unwrap().contains(says), "{json}");
    }
    browser(&app).await.assert_status_ok();

    // The real one ends the browser's session at once.
    let delivered = app
        .server
        .post("/webhooks/workos")
        .add_header("workos-signature", webhooks.sign(&body, now_ms()))
        .bytes(body.clone().into())
        .await;
    delivered.assert_text("session.revoked true");
    browser(&app).await.assert_status(StatusCode::UNAUTHORIZED);

    // A retried delivery of the same event is harmless.
    app.server
        .post("/webhooks/workos")
        .add_header("workos-signature", webhooks.sign(&body, now_ms()))
        .bytes(body.into())
        .await
        .assert_text("session.revoked false");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn unknown_event_types_parse_and_are_acknowledged() {
    let app = app().await;
    let body = serde_json::to_vec(&json!({
        "id": "event_01HNEW",
        "event": "something.new_in_2027",
        "data": { "whatever": [1, 2, 3] },
        "created_at": "2027-01-01T00:00:00.000Z",
    }))
    .unwrap();
    app.server
        .post("/webhooks/workos")
        .add_header(
            "workos-signature",
            Webhooks::new(SECRET).sign(&body, now_ms()),
        )
        .bytes(body.into())
        .await
        .assert_text("something.new_in_2027 false");
}

/// End to end: the emulator delivers `session.revoked`, signed, to the app's webhook route
/// when the WorkOS session is revoked, and the browser is signed out at its next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_delivers_a_signed_session_revoked_and_the_browser_is_signed_out() {
    // Served for real: the emulator posts to it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/webhooks/workos", listener.local_addr().unwrap());
    let emulator = support::app::register(
        authkit_emulator::Emulator::builder().webhook_endpoint(endpoint, SECRET),
    )
    .start()
    .await
    .unwrap();
    let authkit = AuthKit::builder(emulator.client(), support::app::CALLBACK)
        .build()
        .unwrap();
    let store = authkit_axum::stores::MemoryStore::default();
    let app = Router::new()
        .route("/webhooks/workos", post(workos_events))
        .with_state(Hooks {
            webhooks: Webhooks::new(SECRET),
            authkit: authkit.clone(),
        })
        .merge(support::app::app_routes())
        .merge(authkit.router())
        .layer(authkit.layer(store.clone()));
    let served = tokio::spawn(axum::serve(listener, app.clone()).into_future());
    let browser = axum_test::TestServer::builder()
        .save_cookies()
        .mock_transport()
        .build(app)
        .unwrap();

    support::app::user(&emulator, "ada@example.com").await;
    let done =
        support::app::browser_sign_in(&browser, &emulator, "/auth/login", "ada@example.com", None)
            .await;
    let cookie = done.cookie(SESSION_COOKIE).value().to_owned();
    let account = || {
        browser
            .get("/account")
            .add_header("accept", "application/json")
    };
    account().await.assert_status_ok();
    let sid = support::app::stored_session(&store, &cookie)
        .await
        .unwrap()
        .claims
        .sid
        .unwrap();

    emulator
        .client()
        .user_management()
        .revoke_session(&sid)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while account().await.status_code() != StatusCode::UNAUTHORIZED {
        assert!(
            std::time::Instant::now() < deadline,
            "the delivered session.revoked did not sign the browser out"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let kinds: Vec<String> = emulator
        .events()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["user.created", "session.created", "session.revoked"]
    );
    served.abort();
}

/// What an app has handled, each event once: its webhook route and its periodic catch-up
/// share it, keyed by the event id (the same in both).
#[derive(Clone, Default)]
struct Handled(std::sync::Arc<std::sync::Mutex<Vec<authkit_axum::webhooks::Event>>>);

impl Handled {
    /// Handles `event` unless it already was; whether it was new.
    fn handle(&self, event: authkit_axum::webhooks::Event) -> bool {
        let mut handled = self.0.lock().unwrap();
        if handled.iter().any(|e| e.id == event.id) {
            return false;
        }
        handled.push(event);
        true
    }

    fn events(&self) -> Vec<authkit_axum::webhooks::Event> {
        self.0.lock().unwrap().clone()
    }
}

#[derive(Clone)]
struct Syncing {
    webhooks: Webhooks,
    handled: Handled,
}

impl FromRef<Syncing> for Webhooks {
    fn from_ref(state: &Syncing) -> Webhooks {
        state.webhooks.clone()
    }
}

async fn handle_delivery(
    State(state): State<Syncing>,
    WorkosWebhook(event): WorkosWebhook,
) -> StatusCode {
    state.handled.handle(event);
    StatusCode::OK
}

/// The periodic catch-up: every event after `cursor`, oldest first, handled unless the
/// webhooks already did; the cursor moves past each. Returns the events seen and how many
/// were new.
async fn catch_up(
    client: &authkit_axum::Client,
    handled: &Handled,
    cursor: &mut Option<String>,
) -> (Vec<authkit_axum::webhooks::Event>, usize) {
    use futures_util::TryStreamExt;
    let mut seen = Vec::new();
    let mut new = 0;
    let mut events = std::pin::pin!(
        client
            .events()
            .stream(authkit_axum::webhooks::ListEvents::since(cursor.clone()).limit(2),)
    );
    while let Some(event) = events.try_next().await.unwrap() {
        *cursor = Some(event.id.clone());
        new += usize::from(handled.handle(event.clone()));
        seen.push(event);
    }
    (seen, new)
}

/// Webhooks and catch-up together: while the app is up, the catch-up finds exactly what the
/// webhooks delivered (in the emulator's order) and handles none of it twice; while it is
/// down, the catch-up from the stored cursor recovers exactly what was missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catch_up_from_a_cursor_equals_the_webhook_deliveries_and_fills_downtime() {
    use authkit_axum::user_management::{AuthenticateWithPassword, CreateUser, UpdateUser};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/webhooks/workos", listener.local_addr().unwrap());
    let emulator = authkit_emulator::Emulator::builder()
        .webhook_endpoint(endpoint, SECRET)
        .start()
        .await
        .unwrap();
    let client = emulator.client();
    let um = client.user_management();
    let handled = Handled::default();
    let app = Router::new()
        .route("/webhooks/workos", post(handle_delivery))
        .with_state(Syncing {
            webhooks: Webhooks::new(SECRET),
            handled: handled.clone(),
        });
    let served = tokio::spawn(axum::serve(listener, app).into_future());
    let log = |emulator: &authkit_emulator::Emulator| -> Vec<String> {
        emulator
            .events()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Up: three changes, delivered (in any order: webhooks do not promise one).
    let ada = um
        .create_user(
            CreateUser::new("ada@example.com")
                .password("correct horse battery staple")
                .email_verified(true),
        )
        .await
        .unwrap();
    um.create_user(CreateUser::new("bob@example.com"))
        .await
        .unwrap();
    um.update_user(&ada.id, UpdateUser::new().first_name("Ada"))
        .await
        .unwrap();
    support::app::eventually("the three deliveries arrived", || {
        let handled = handled.clone();
        async move { handled.events().len() == 3 }
    })
    .await;
    let mut delivered = handled.events();
    delivered.sort_by(|a, b| a.id.cmp(&b.id));

    let mut cursor = None;
    let (seen, new) = catch_up(&client, &handled, &mut cursor).await;
    assert_eq!(
        seen, delivered,
        "the catch-up is what the webhooks delivered"
    );
    assert_eq!(new, 0, "nothing is handled twice");
    assert_eq!(cursor.as_deref(), log(&emulator).last().map(String::as_str));

    // Down: the deliveries fail; the catch-up from the stored cursor has exactly what was missed.
    served.abort();
    let _ = served.await;
    let before_downtime = log(&emulator).len();
    um.authenticate_with_password(AuthenticateWithPassword::new(
        "ada@example.com",
        "correct horse battery staple",
    ))
    .await
    .unwrap();
    um.delete_user(&ada.id).await.unwrap();
    let missed = log(&emulator)[before_downtime..].to_vec();
    assert_eq!(
        handled.events().len(),
        3,
        "nothing was delivered while down"
    );
    let (seen, new) = catch_up(&client, &handled, &mut cursor).await;
    let seen_ids: Vec<String> = seen.iter().map(|e| e.id.clone()).collect();
    assert_eq!(seen_ids, missed);
    assert_eq!(new, missed.len());
    let kinds: Vec<&str> = seen.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "authentication.password_succeeded",
            "session.created",
            "user.deleted"
        ]
    );

    // Every event handled once, and a catch-up with nothing new changes nothing.
    let mut all: Vec<String> = handled.events().iter().map(|e| e.id.clone()).collect();
    all.sort();
    assert_eq!(all, log(&emulator));
    let (seen, new) = catch_up(&client, &handled, &mut cursor).await;
    assert_eq!((seen.len(), new), (0, 0));
    support::assert_contract(&emulator);
}
