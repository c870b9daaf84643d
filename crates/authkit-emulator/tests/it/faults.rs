//! Faults for outage tests: time windows, removing one fault, the JWKS and one grant type as
//! targets, delays that hold up only their own request, and a timestamped request log.

use std::time::{Duration, Instant, SystemTime};

use authkit_emulator::Fault;
use serde_json::json;

use crate::support::{self, http, password_sign_in, refresh};

async fn jwks_status(emulator: &authkit_emulator::Emulator) -> u16 {
    http()
        .get(format!(
            "{}/sso/jwks/{}",
            emulator.base_url(),
            emulator.client_id()
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_fault_for_a_duration_ends_by_itself() {
    let emulator = support::start().await;
    emulator.inject_fault(
        Fault::new("/sso/jwks/*")
            .status(503)
            .for_duration(Duration::from_millis(300)),
    );
    assert_eq!(jwks_status(&emulator).await, 503);
    assert_eq!(jwks_status(&emulator).await, 503, "not limited to a count");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(jwks_status(&emulator).await, 200);

    // Until an instant, and whichever of a count and a window ends first.
    emulator.inject_fault(Fault::new("/sso/jwks/*").status(500).until(Instant::now()));
    assert_eq!(
        jwks_status(&emulator).await,
        200,
        "a deadline already passed"
    );
    emulator.inject_fault(
        Fault::new("/sso/jwks/*")
            .status(502)
            .times(1)
            .for_duration(Duration::from_secs(60)),
    );
    assert_eq!(jwks_status(&emulator).await, 502);
    assert_eq!(jwks_status(&emulator).await, 200);
}

#[tokio::test]
async fn one_fault_can_be_removed_and_the_others_stay() {
    let emulator = support::start().await;
    let jwks_down = emulator.inject_fault(Fault::new("/sso/jwks/*").status(503));
    let users_down = emulator.inject_fault(Fault::new("/user_management/users").status(500));
    assert_ne!(jwks_down, users_down);
    assert_eq!(jwks_status(&emulator).await, 503);
    assert!(emulator.remove_fault(jwks_down));
    assert!(!emulator.remove_fault(jwks_down), "already removed");
    assert_eq!(jwks_status(&emulator).await, 200);
    let users = http()
        .get(format!("{}/user_management/users", emulator.base_url()))
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(
        users.status().as_u16(),
        500,
        "the other fault is still there"
    );
}

#[tokio::test]
async fn a_fault_can_hit_refreshes_and_spare_sign_ins() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    let auth = password_sign_in(&emulator, "ada@example.com").await;
    let outage = emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .grant_type("refresh_token")
            .status(503)
            .retry_after(5),
    );
    let (status, body) = refresh(&emulator, auth["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("emulated_fault"))
    );
    // Sign-ins still work, and the refresh token was not spent by the failed call.
    password_sign_in(&emulator, "ada@example.com").await;
    emulator.remove_fault(outage);
    let (status, body) = refresh(&emulator, auth["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let log = emulator.requests();
    let refreshes: Vec<u16> = log
        .iter()
        .filter(|r| r.grant_type.as_deref() == Some("refresh_token"))
        .map(|r| r.status)
        .collect();
    assert_eq!(refreshes, [503, 200]);
}

#[tokio::test]
async fn a_delay_holds_up_only_the_requests_it_hits() {
    // Asserted by order, not by wall-clock thresholds: on a loaded machine a plain request may
    // take hundreds of milliseconds, but never as long as a held-up one.
    let emulator = support::start().await;
    let delay = Duration::from_millis(800);
    emulator.inject_fault(Fault::new("/sso/jwks/*").delay(delay));
    let started = Instant::now();
    let timed = |status: u16| (status, started.elapsed());
    let slow_a = async { timed(jwks_status(&emulator).await) };
    let slow_b = async { timed(jwks_status(&emulator).await) };
    let fast = async {
        let response = http()
            .get(format!("{}/user_management/users", emulator.base_url()))
            .bearer_auth(emulator.api_key())
            .send()
            .await
            .unwrap();
        timed(response.status().as_u16())
    };
    let ((a, a_done), (b, b_done), (fast_status, fast_done)) = tokio::join!(slow_a, slow_b, fast);
    assert_eq!((a, b, fast_status), (200, 200, 200));
    assert!(
        fast_done < a_done.min(b_done),
        "an undelayed request waited for the delayed ones: {fast_done:?} vs {a_done:?}, {b_done:?}"
    );

    let log = emulator.requests();
    let delayed: Vec<_> = log
        .iter()
        .filter(|r| r.path.starts_with("/sso/jwks/"))
        .collect();
    assert_eq!(delayed.len(), 2);
    assert!(delayed.iter().all(|r| r.duration >= delay), "{delayed:?}");
    // Held up side by side: each arrived before the other was answered.
    let last_arrival = delayed.iter().map(|r| r.received_at).max().unwrap();
    let first_answer = delayed
        .iter()
        .map(|r| r.received_at + r.duration)
        .min()
        .unwrap();
    assert!(
        last_arrival < first_answer,
        "two delayed requests ran one after the other: {delayed:?}"
    );
}

#[tokio::test]
async fn the_request_log_says_when_each_request_arrived() {
    let emulator = support::start().await;
    let before = SystemTime::now();
    let _ = support::authenticate(&emulator, json!({ "grant_type": "password" })).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    jwks_status(&emulator).await;
    let after = SystemTime::now();
    let log = emulator.requests();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|r| before <= r.received_at && r.received_at <= after)
    );
    assert!(log[0].received_at < log[1].received_at);
    assert!(log.iter().all(|r| r.duration < Duration::from_secs(5)));
}
