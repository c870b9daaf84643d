//! The transport against injected faults: which failures are retried, how long the client
//! waits, how POSTs stay exactly-once with idempotency keys, and what the errors say.

use std::time::{Duration, Instant};

use authkit_axum::user_management::{CreateUser, ListUsers, User};
use authkit_axum::{Client, Error};
use authkit_emulator::{Emulator, Fault, RecordedRequest};

use crate::support;
use crate::support::EmulatorExt as _;

/// A client for the emulator with fast retries.
fn fast_client(emulator: &Emulator) -> Client {
    emulator
        .client_builder()
        .retry_base_delay(Duration::from_millis(10))
        .build()
        .unwrap()
}

async fn seed_user(client: &Client, email: &str) -> User {
    client
        .user_management()
        .create_user(CreateUser::new(email))
        .await
        .unwrap()
}

fn statuses(requests: &[RecordedRequest]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

fn user_path(id: &str) -> String {
    format!("/user_management/users/{id}")
}

async fn user_count(client: &Client) -> usize {
    client
        .user_management()
        .list_users(&ListUsers::new())
        .await
        .unwrap()
        .data
        .len()
}

#[tokio::test]
async fn a_get_that_fails_once_with_503_is_retried_and_succeeds() {
    let emulator = Emulator::start().await.unwrap();
    let client = fast_client(&emulator);
    let user = seed_user(&client, "ada@example.com").await;
    emulator.clear_requests();
    emulator.inject_fault(Fault::new(user_path(&user.id)).status(503).times(1));

    let fetched = client.user_management().get_user(&user.id).await.unwrap();
    assert_eq!(fetched, user);
    let requests = emulator.requests();
    assert_eq!(statuses(&requests), [503, 200]);
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" && r.path == user_path(&user.id))
    );
    // GETs carry no idempotency key.
    assert!(requests.iter().all(|r| r.idempotency_key.is_none()));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn retry_after_on_429_is_honoured_and_capped() {
    let emulator = Emulator::start().await.unwrap();
    let client = fast_client(&emulator);
    let user = seed_user(&client, "ada@example.com").await;
    emulator.clear_requests();

    // Without Retry-After the client would wait about 10 ms; WorkOS asks for 1 s.
    emulator.inject_fault(
        Fault::new(user_path(&user.id))
            .status(429)
            .retry_after(1)
            .times(1),
    );
    let started = Instant::now();
    client.user_management().get_user(&user.id).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured: the call took {waited:?}"
    );
    assert_eq!(statuses(&emulator.requests()), [429, 200]);

    // max_retry_delay caps what the server asks for.
    let capped = emulator
        .client_builder()
        .retry_base_delay(Duration::from_millis(10))
        .max_retry_delay(Duration::from_millis(50))
        .build()
        .unwrap();
    emulator.inject_fault(
        Fault::new(user_path(&user.id))
            .status(429)
            .retry_after(30)
            .times(1),
    );
    let started = Instant::now();
    capped.user_management().get_user(&user.id).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "max_retry_delay did not cap Retry-After: the call took {waited:?}"
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn retries_stop_after_max_retries_with_a_telling_error() {
    let emulator = Emulator::start().await.unwrap();
    let client = emulator
        .client_builder()
        .retry_base_delay(Duration::from_millis(10))
        .max_retries(2)
        .build()
        .unwrap();
    let user = seed_user(&client, "ada@example.com").await;
    emulator.clear_requests();
    emulator.inject_fault(Fault::new(user_path(&user.id)).status(503));

    let err = client
        .user_management()
        .get_user(&user.id)
        .await
        .unwrap_err();
    assert_eq!(statuses(&emulator.requests()), [503, 503, 503]);
    assert_eq!(err.status(), Some(503));
    assert!(err.is_transient());
    assert_eq!(err.code(), Some("emulated_fault"));
    let api = err.as_api_error().expect("an API error");
    assert_eq!(api.attempts, 3);
    assert_eq!(api.endpoint, "GET /user_management/users/{id}");
    assert!(
        api.request_id
            .as_deref()
            .is_some_and(|id| id.starts_with("req_"))
    );
    let message = err.to_string();
    assert!(message.contains("HTTP 503"), "{message}");
    assert!(message.contains("after 3 attempts"), "{message}");

    // With no retries the error says nothing about attempts.
    emulator.clear_requests();
    let once = emulator.client_builder().max_retries(0).build().unwrap();
    let err = once.user_management().get_user(&user.id).await.unwrap_err();
    assert_eq!(emulator.requests().len(), 1);
    assert_eq!(err.as_api_error().unwrap().attempts, 1);
    assert!(!err.to_string().contains("attempts"), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_retried_post_keeps_its_idempotency_key() {
    let emulator = Emulator::start().await.unwrap();
    let client = fast_client(&emulator);
    emulator.inject_fault(
        Fault::new("/user_management/users")
            .method("POST")
            .status(503)
            .times(1),
    );

    let user = seed_user(&client, "ada@example.com").await;
    let posts: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(statuses(&posts), [503, 201]);
    let key = posts[0]
        .idempotency_key
        .clone()
        .expect("an Idempotency-Key");
    assert_eq!(posts[1].idempotency_key.as_ref(), Some(&key));

    // Another logical call gets another key.
    seed_user(&client, "grace@example.com").await;
    let last = emulator.requests().pop().unwrap();
    assert!(last.idempotency_key.is_some_and(|k| k != key));
    assert_eq!(user_count(&client).await, 2);
    assert_eq!(
        client.user_management().get_user(&user.id).await.unwrap(),
        user
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_post_whose_response_was_lost_is_replayed_not_repeated() {
    let emulator = Emulator::start().await.unwrap();
    let client = fast_client(&emulator);
    // The user is created, but the client sees a 503 instead of the 201.
    emulator.inject_fault(
        Fault::new("/user_management/users")
            .method("POST")
            .status(503)
            .times(1)
            .after_processing(),
    );

    let user = seed_user(&client, "ada@example.com").await;
    let posts: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(statuses(&posts), [503, 201]);
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    // The replay is the original answer: same user id.
    let replayed_id = posts[1].response_body.as_ref().unwrap()["id"].clone();
    assert_eq!(replayed_id, user.id.as_str());

    let users = client
        .user_management()
        .list_users(&ListUsers::new())
        .await
        .unwrap();
    assert_eq!(users.data.len(), 1, "the retry created a second user");
    assert_eq!(users.data[0].id, user.id);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_client_error_is_replayed_for_the_same_key_too() {
    let emulator = Emulator::start().await.unwrap();
    let client = fast_client(&emulator);
    seed_user(&client, "ada@example.com").await;
    // The duplicate is rejected (400), and that answer is lost: the retry gets the same 400,
    // which the client does not retry again.
    emulator.clear_requests();
    emulator.inject_fault(
        Fault::new("/user_management/users")
            .method("POST")
            .status(503)
            .times(1)
            .after_processing(),
    );
    let err = client
        .user_management()
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("user_creation_error"));
    assert_eq!(statuses(&emulator.requests()), [503, 400]);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn without_idempotency_keys_a_post_is_not_replayed_after_a_503() {
    let emulator = Emulator::start().await.unwrap();
    let client = emulator
        .client_builder()
        .retry_base_delay(Duration::from_millis(10))
        .idempotency_keys(false)
        .build()
        .unwrap();
    emulator.inject_fault(
        Fault::new("/user_management/users")
            .method("POST")
            .status(503)
            .times(1),
    );

    let err = client
        .user_management()
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_transient());
    let requests = emulator.requests();
    assert_eq!(statuses(&requests), [503], "a bare POST was replayed");
    assert_eq!(requests[0].idempotency_key, None);
    assert_eq!(err.as_api_error().unwrap().attempts, 1);

    // GETs from the same client are still retried.
    let user = seed_user(&client, "grace@example.com").await;
    emulator.clear_requests();
    emulator.inject_fault(Fault::new(user_path(&user.id)).status(502).times(1));
    client.user_management().get_user(&user.id).await.unwrap();
    assert_eq!(statuses(&emulator.requests()), [502, 200]);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let emulator = Emulator::start().await.unwrap();
    let client = fast_client(&emulator);

    let err = client
        .user_management()
        .get_user("user_01NOSUCHUSER")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(!err.is_transient());
    assert_eq!(statuses(&emulator.requests()), [404]);

    // Nor is an injected 4xx, even one that arrives with Retry-After.
    emulator.clear_requests();
    emulator.inject_fault(
        Fault::new("/user_management/users")
            .status(400)
            .retry_after(1)
            .times(3),
    );
    let started = Instant::now();
    let err = client
        .user_management()
        .list_users(&ListUsers::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(statuses(&emulator.requests()), [400]);
    assert!(started.elapsed() < Duration::from_millis(900));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_is_a_timeout_error() {
    let emulator = Emulator::start().await.unwrap();
    let user = seed_user(&emulator.client(), "ada@example.com").await;
    let client = emulator
        .client_builder()
        .timeout(Duration::from_millis(200))
        .retry_base_delay(Duration::from_millis(10))
        .max_retries(1)
        .build()
        .unwrap();
    emulator.inject_fault(Fault::new(user_path(&user.id)).delay(Duration::from_secs(3)));

    let started = Instant::now();
    let err = client
        .user_management()
        .get_user(&user.id)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(err.status(), None);
    match &err {
        Error::Timeout { endpoint, attempts } => {
            assert_eq!(endpoint, "GET /user_management/users/{id}");
            assert_eq!(*attempts, 2, "a timed-out GET is retried once");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        took < Duration::from_secs(2),
        "the client waited for the slow server: {took:?}"
    );

    // The emulator saw both attempts, abandoned by the client (499).
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = emulator.requests();
        if seen.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(statuses(&seen), [201, 499, 499]);

    // Once the fault is gone, the same client works.
    emulator.clear_faults();
    client.user_management().get_user(&user.id).await.unwrap();
}

#[tokio::test]
async fn a_post_that_timed_out_is_retried_with_its_key_and_acts_once() {
    let emulator = Emulator::start().await.unwrap();
    // The first attempt stalls past the client's timeout; the retry, with the same key,
    // arrives while the first may still be in progress (the emulator then makes it wait and
    // replays the first answer) or after the server dropped it.
    let client = emulator
        .client_builder()
        .timeout(Duration::from_millis(400))
        .retry_base_delay(Duration::from_millis(10))
        .max_retries(2)
        .build()
        .unwrap();
    emulator.inject_fault(
        Fault::new("/user_management/users")
            .method("POST")
            .delay(Duration::from_millis(600))
            .times(1),
    );
    let user = client
        .user_management()
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    // Let a lingering first attempt finish, then check that it did not act a second time.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let posts: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    // The first attempt was abandoned (499) or got the one answer; every answer is that user.
    let answered: Vec<_> = posts.iter().filter(|r| r.status != 499).collect();
    assert!(!answered.is_empty());
    assert!(
        answered.iter().all(|r| r.status == 201
            && r.response_body.as_ref().unwrap()["id"] == user.id.as_str()),
        "every attempt with the key must get the one answer: {:?}",
        statuses(&posts)
    );
    assert!(
        posts
            .iter()
            .all(|r| r.idempotency_key == posts[0].idempotency_key)
    );
    assert_eq!(user_count(&emulator.client()).await, 1);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_naming_the_endpoint() {
    // A loopback port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::builder()
        .api_key("sk_test_unreachable")
        .client_id("client_unreachable")
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_base_delay(Duration::from_millis(10))
        .max_retries(1)
        .idempotency_keys(false)
        .build()
        .unwrap();

    let err = client
        .user_management()
        .get_user("user_123")
        .await
        .unwrap_err();
    match &err {
        Error::Transport {
            endpoint,
            attempts,
            source,
        } => {
            assert_eq!(endpoint, "GET /user_management/users/{id}");
            assert_eq!(*attempts, 2);
            assert!(source.is_connect() && !source.is_tls(), "{source:?}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(err.is_transient());
    assert!(!err.is_timeout());
    let message = err.to_string();
    assert!(
        message.contains("could not reach WorkOS (GET /user_management/users/{id})"),
        "{message}"
    );
    assert!(!message.contains("sk_test_unreachable"));

    // A refused connection never reached the server, so even a POST without an
    // idempotency key is tried again.
    let err = client
        .user_management()
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport { attempts: 2, endpoint, .. } if endpoint == "POST /user_management/users"),
        "{err:?}"
    );
}
