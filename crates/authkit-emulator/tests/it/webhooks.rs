//! Webhook deliveries: signed as WorkOS signs them, retried until the endpoint answers 2xx.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

use crate::support;

const SECRET: &str = "whsec_emulator_test";

/// Checks a `WorkOS-Signature` header over `body` with [`SECRET`].
fn verifies(header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    let signed = [t.as_bytes(), b".", body].concat();
    let tag: String = ring::hmac::sign(&key, &signed)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    tag == v1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_is_retried_and_every_one_is_signed() {
    // An endpoint that refuses the first delivery.
    let received: Arc<Mutex<Vec<(bool, Value)>>> = Arc::default();
    let log = received.clone();
    let endpoint = Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let signed = headers
                    .get("workos-signature")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|h| verifies(h, &body));
                let mut log = log.lock().unwrap();
                log.push((signed, serde_json::from_slice(&body).unwrap()));
                if log.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let served = tokio::spawn(axum::serve(listener, endpoint).into_future());
    let emulator = support::builder()
        .webhook_endpoint(url, SECRET)
        .start()
        .await
        .unwrap();

    let created = support::http()
        .post(format!("{}/user_management/users", emulator.base_url()))
        .bearer_auth(emulator.api_key())
        .json(&json!({ "email": "ada@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while received.lock().unwrap().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no retry arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = received.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        2,
        "delivered until accepted, then not again"
    );
    for (signed, event) in &received {
        assert!(
            signed,
            "every delivery is signed with the endpoint's secret"
        );
        assert_eq!(event["event"], "user.created");
        assert_eq!(event["data"]["email"], "ada@example.com");
    }
    assert_eq!(
        received[0].1["id"], received[1].1["id"],
        "a retry is the same event"
    );
    assert_eq!(emulator.events().len(), 1);
    served.abort();
}

#[tokio::test]
async fn users_and_sessions_changing_are_events() {
    let emulator = support::start().await;
    let id = support::user(&emulator, "ada@example.com").await;
    let auth = support::password_sign_in(&emulator, "ada@example.com").await;
    let api = |method: reqwest::Method, path: String| {
        support::http()
            .request(method, format!("{}{path}", emulator.base_url()))
            .bearer_auth(emulator.api_key())
    };
    let sid = support::verify(&emulator, auth["access_token"].as_str().unwrap()).await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    api(
        reqwest::Method::POST,
        "/user_management/sessions/revoke".into(),
    )
    .json(&json!({ "session_id": sid }))
    .send()
    .await
    .unwrap();
    api(reqwest::Method::PUT, format!("/user_management/users/{id}"))
        .json(&json!({ "first_name": "Ada" }))
        .send()
        .await
        .unwrap();
    api(
        reqwest::Method::DELETE,
        format!("/user_management/users/{id}"),
    )
    .send()
    .await
    .unwrap();
    let events = emulator.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "authentication.password_succeeded",
            "session.created",
            "session.revoked",
            "user.updated",
            "user.deleted"
        ]
    );
    assert_eq!(events[1]["data"]["user_id"], id.as_str());
    assert_eq!(events[1]["data"]["type"], "password");
    assert_eq!(events[2]["data"]["id"], sid.as_str());
    assert_eq!(events[3]["data"]["status"], "revoked");
    assert_eq!(events[4]["data"]["first_name"], "Ada");
    let ids: std::collections::HashSet<&str> =
        events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "every event has its own id");
}

/// An endpoint on loopback that keeps the events it receives (answering 200).
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>, tokio::task::JoinHandle<()>) {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = received.clone();
    let app = Router::new().route(
        "/hooks",
        post(move |body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                log.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let served = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received, served)
}

async fn eventually_received(received: &Arc<Mutex<Vec<Value>>>, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while received.lock().unwrap().len() < n {
        assert!(std::time::Instant::now() < deadline, "not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_come_from_a_seed_file_or_the_control_api() {
    let (seeded_url, seeded, a) = receiver().await;
    let (added_url, added, b) = receiver().await;
    let seed = authkit_emulator::Seed::from_yaml_str(&format!(
        "webhooks:\n  - {{ url: \"{seeded_url}\", secret: {SECRET} }}\n"
    ))
    .unwrap();
    let emulator = support::builder().seed(seed).start().await.unwrap();
    let control = |path: &str, body: Value| {
        support::http()
            .post(format!("{}/__emulator/{path}", emulator.base_url()))
            .bearer_auth(emulator.api_key())
            .json(&body)
            .send()
    };
    // Only http:// endpoints.
    let refused = control(
        "webhooks",
        json!({ "url": "https://example.com/hooks", "secret": "s" }),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 422);
    let ok = control("webhooks", json!({ "url": added_url, "secret": SECRET }))
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);

    support::user(&emulator, "ada@example.com").await;
    eventually_received(&seeded, 1).await;
    eventually_received(&added, 1).await;
    assert_eq!(seeded.lock().unwrap()[0]["event"], "user.created");
    assert_eq!(added.lock().unwrap()[0]["event"], "user.created");

    let listed: Value = support::http()
        .get(format!("{}/__emulator/events", emulator.base_url()))
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["event"], "user.created");
    a.abort();
    b.abort();
}

/// `GET /events` reads the `events` filter in the spec's comma-separated form and in the
/// repeated `events[]` form older SDKs send, and pages with `after`.
#[tokio::test]
async fn the_event_log_is_listed_with_either_form_of_the_type_filter() {
    let emulator = support::start().await;
    let http = support::http();
    let base = emulator.base_url().to_owned();
    let mut user_ids = Vec::new();
    for email in ["ada@example.com", "bob@example.com"] {
        let user: Value = http
            .post(format!("{base}/user_management/users"))
            .bearer_auth(emulator.api_key())
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        user_ids.push(user["id"].as_str().unwrap().to_owned());
    }
    http.delete(format!("{base}/user_management/users/{}", user_ids[0]))
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap();
    let list = |query: String| {
        let request = http
            .get(format!("{base}/events?{query}"))
            .bearer_auth(emulator.api_key());
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            body
        }
    };
    let types = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    };
    let comma = list("events=user.created,user.deleted&order=asc".into()).await;
    let repeated = list("events[]=user.created&events[]=user.deleted&order=asc".into()).await;
    assert_eq!(
        types(&comma),
        ["user.created", "user.created", "user.deleted"]
    );
    assert_eq!(comma["data"], repeated["data"]);
    assert_eq!(comma["object"], "list");
    assert_eq!(comma["data"][0]["object"], "event");

    let first = list("events=user.created&order=asc&limit=1".into()).await;
    let after = first["list_metadata"]["after"].as_str().unwrap().to_owned();
    assert_eq!(after, first["data"][0]["id"]);
    let second = list(format!(
        "events=user.created&order=asc&limit=1&after={after}"
    ))
    .await;
    assert_eq!(second["data"][0]["data"]["id"], user_ids[1].as_str());
    assert_eq!(second["list_metadata"]["after"], Value::Null);
}
