//! The HTTP control API under `/__emulator/`, driven with plain HTTP as a test in another
//! language would: outbox, request log, faults, clock, signing keys and reset, each behind the
//! API key and none of them in the request log.

use std::time::{Duration, SystemTime};

use authkit_emulator::{Emulator, SeedUser};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{self, PASSWORD, http, password_sign_in};

/// A control call with the API key; the status and the JSON body (`null` when none).
async fn control(
    emulator: &Emulator,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http()
        .request(method, format!("{}/__emulator/{path}", emulator.base_url()))
        .bearer_auth(emulator.api_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn jwks_status(emulator: &Emulator) -> u16 {
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

async fn send_magic_code(emulator: &Emulator, email: &str) {
    let response = http()
        .post(format!(
            "{}/user_management/magic_auth",
            emulator.base_url()
        ))
        .bearer_auth(emulator.api_key())
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

fn parse_time(text: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        text.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[tokio::test]
async fn every_control_endpoint_needs_the_api_key() {
    let emulator = support::start().await;
    let calls = [
        (Method::GET, "outbox"),
        (Method::DELETE, "outbox"),
        (Method::GET, "requests"),
        (Method::DELETE, "requests"),
        (Method::POST, "faults"),
        (Method::DELETE, "faults"),
        (Method::DELETE, "faults/fault_1"),
        (Method::POST, "clock/advance"),
        (Method::GET, "signing-keys"),
        (Method::POST, "signing-keys/rotate"),
        (Method::POST, "signing-keys/publish"),
        (Method::POST, "signing-keys/retire"),
        (Method::POST, "reset"),
        (Method::GET, "no-such-control"),
    ];
    for (method, path) in calls {
        let url = format!("{}/__emulator/{path}", emulator.base_url());
        let anonymous = http().request(method.clone(), &url).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{method} {path} without a key");
        let body: Value = anonymous.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("API key"),
            "{body}"
        );
        let wrong = http()
            .request(method.clone(), &url)
            .bearer_auth("sk_test_wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{method} {path} with a wrong key");
    }
    // Nothing was reset, rotated or advanced by the refused calls.
    assert_eq!(emulator.signing_kid(), "emulator_dev_key_1");
    let (status, body) = control(&emulator, Method::GET, "no-such-control", None).await;
    assert_eq!(status, 404);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/__emulator/no-such-control"),
        "{body}"
    );
}

#[tokio::test]
async fn the_outbox_is_read_filtered_and_cleared_over_http() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    support::user(&emulator, "grace@example.com").await;
    send_magic_code(&emulator, "ada@example.com").await;
    send_magic_code(&emulator, "grace@example.com").await;

    let (status, all) = control(&emulator, Method::GET, "outbox", None).await;
    assert_eq!(status, 200);
    assert_eq!(all["data"].as_array().unwrap().len(), 2, "{all}");
    let (_, ada) = control(&emulator, Method::GET, "outbox?to=ADA%40example.com", None).await;
    let ada = ada["data"].as_array().unwrap();
    assert_eq!(ada.len(), 1);
    assert_eq!(ada[0]["kind"], "magic_auth");
    let code = ada[0]["code"].as_str().unwrap();
    assert_eq!(
        Some(code),
        emulator
            .last_email_to("ada@example.com")
            .and_then(|e| e.code)
            .as_deref()
    );

    let (status, _) = control(&emulator, Method::DELETE, "outbox", None).await;
    assert_eq!(status, 204);
    let (_, cleared) = control(&emulator, Method::GET, "outbox", None).await;
    assert_eq!(cleared["data"], json!([]));
    assert!(emulator.outbox().is_empty());
}

#[tokio::test]
async fn the_request_log_has_timestamps_leaves_out_control_calls_and_clears() {
    let emulator = support::start().await;
    let before = SystemTime::now();
    support::user(&emulator, "ada@example.com").await;
    password_sign_in(&emulator, "ada@example.com").await;
    control(&emulator, Method::GET, "outbox", None).await;

    let (status, log) = control(&emulator, Method::GET, "requests", None).await;
    assert_eq!(status, 200);
    let log = log["data"].as_array().unwrap().clone();
    let paths: Vec<&str> = log.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["/user_management/users", "/user_management/authenticate"],
        "control calls are not logged"
    );
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["status"], 201);
    assert_eq!(log[1]["grant_type"], "password");
    assert_eq!(log[1]["authorized"], false);
    let first = parse_time(&log[0]["received_at"]);
    let second = parse_time(&log[1]["received_at"]);
    assert!(first <= second);
    assert!(first >= time::OffsetDateTime::from(before) - time::Duration::seconds(1));
    assert!(log[0]["duration_ms"].as_f64().unwrap() >= 0.0);

    let (status, _) = control(&emulator, Method::DELETE, "requests", None).await;
    assert_eq!(status, 204);
    let (_, cleared) = control(&emulator, Method::GET, "requests", None).await;
    assert_eq!(cleared["data"], json!([]));
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn faults_are_added_with_a_count_a_window_or_a_grant_type_and_removed_by_id() {
    let emulator = support::start().await;
    // For a count.
    let (status, added) = control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/sso/jwks/*", "method": "get", "status": 503, "times": 1, "retry_after": 7 })),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert!(added["id"].as_str().unwrap().starts_with("fault_"));
    let url = format!("{}/sso/jwks/{}", emulator.base_url(), emulator.client_id());
    let hit = http().get(&url).send().await.unwrap();
    assert_eq!(hit.status(), 503);
    assert_eq!(hit.headers()["retry-after"], "7");
    assert_eq!(jwks_status(&emulator).await, 200, "used up");

    // For a time window, until removed by id.
    let (_, window) = control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/sso/jwks/*", "status": 500, "for_ms": 60_000 })),
    )
    .await;
    assert_eq!(jwks_status(&emulator).await, 500);
    assert_eq!(jwks_status(&emulator).await, 500);
    let id = window["id"].as_str().unwrap();
    let (status, _) = control(&emulator, Method::DELETE, &format!("faults/{id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(jwks_status(&emulator).await, 200);
    let (status, gone) = control(&emulator, Method::DELETE, &format!("faults/{id}"), None).await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (404, Some("fault_not_found"))
    );

    // A short window ends by itself; a deadline already passed does nothing.
    control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/sso/jwks/*", "status": 502, "for_ms": 200 })),
    )
    .await;
    assert_eq!(jwks_status(&emulator).await, 502);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(jwks_status(&emulator).await, 200);
    control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/sso/jwks/*", "status": 502, "until": "2000-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(jwks_status(&emulator).await, 200);
    let (_, until) = control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/sso/jwks/*", "status": 504, "until": "2999-01-01T00:00:00Z" })),
    )
    .await;
    assert!(until["id"].is_string());
    assert_eq!(jwks_status(&emulator).await, 504);

    // Only refreshes: sign-ins still work. A fault on the control paths does not touch them.
    support::user(&emulator, "ada@example.com").await;
    control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/user_management/authenticate", "grant_type": "refresh_token", "status": 503 })),
    )
    .await;
    control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/__emulator/*", "status": 500 })),
    )
    .await;
    let auth = password_sign_in(&emulator, "ada@example.com").await;
    let (status, _) = support::refresh(&emulator, auth["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 503);

    // A delay holds the request up.
    control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/user_management/users", "delay_ms": 300, "times": 1 })),
    )
    .await;
    let started = std::time::Instant::now();
    let response = http()
        .get(format!("{}/user_management/users", emulator.base_url()))
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Clearing removes every fault.
    let (status, _) = control(&emulator, Method::DELETE, "faults", None).await;
    assert_eq!(status, 204);
    assert_eq!(jwks_status(&emulator).await, 200);
    let auth = password_sign_in(&emulator, "ada@example.com").await;
    let (status, _) = support::refresh(&emulator, auth["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_bad_fault_is_refused_with_a_message_naming_the_problem() {
    let emulator = support::start().await;
    let cases = [
        (
            json!({ "path": "/a", "status": 503, "colour": "red" }),
            "colour",
        ),
        (json!({ "path": "/a" }), "status"),
        (json!({ "path": "a", "status": 503 }), "path"),
        (json!({ "path": "/a", "status": 42 }), "42"),
        (
            json!({ "path": "/a", "status": 503, "until": "tomorrow" }),
            "until",
        ),
        (json!({ "status": 503 }), "path"),
    ];
    for (body, mentions) in cases {
        let (status, answer) = control(&emulator, Method::POST, "faults", Some(body.clone())).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert!(answer.to_string().contains(mentions), "{body} -> {answer}");
    }
}

#[tokio::test]
async fn the_clock_advances_over_http() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    let (status, body) = control(
        &emulator,
        Method::POST,
        "clock/advance",
        Some(json!({ "seconds": 3600 })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let now = parse_time(&body["now"]);
    let real = time::OffsetDateTime::now_utc();
    assert!(
        now - real > time::Duration::seconds(3590),
        "{now} vs {real}"
    );

    // Tokens issued now are an hour ahead.
    let auth = password_sign_in(&emulator, "ada@example.com").await;
    let claims = support::verify_with(
        &support::jwks(&emulator).await,
        auth["access_token"].as_str().unwrap(),
    );
    // Verification checks `exp` on the real clock, which an hour-ahead token passes.
    let iat = claims.unwrap()["iat"].as_i64().unwrap();
    assert!(iat - real.unix_timestamp() >= 3590);

    let (status, refused) = control(
        &emulator,
        Method::POST,
        "clock/advance",
        Some(json!({ "seconds": -5 })),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
}

#[tokio::test]
async fn signing_keys_are_rotated_published_and_retired_over_http() {
    let emulator = support::start().await;
    let (status, keys) = control(&emulator, Method::GET, "signing-keys", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        keys,
        json!({ "signing_kid": "emulator_dev_key_1", "published_kids": ["emulator_dev_key_1"] })
    );

    // No body: the next development key.
    let (status, keys) = control(&emulator, Method::POST, "signing-keys/rotate", None).await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(keys["signing_kid"], "emulator_dev_key_2");
    assert_eq!(
        support::kids(&support::jwks(&emulator).await),
        ["emulator_dev_key_1", "emulator_dev_key_2"]
    );
    support::user(&emulator, "ada@example.com").await;
    let auth = password_sign_in(&emulator, "ada@example.com").await;
    assert_eq!(
        support::kid_of(auth["access_token"].as_str().unwrap()),
        "emulator_dev_key_2"
    );

    let (status, keys) = control(
        &emulator,
        Method::POST,
        "signing-keys/retire",
        Some(json!({ "kid": "emulator_dev_key_1" })),
    )
    .await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(
        support::kids(&support::jwks(&emulator).await),
        ["emulator_dev_key_2"]
    );

    let (status, keys) = control(
        &emulator,
        Method::POST,
        "signing-keys/publish",
        Some(json!({ "development_key": 4 })),
    )
    .await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(
        keys["signing_kid"], "emulator_dev_key_2",
        "published, not signing"
    );
    assert_eq!(
        keys["published_kids"],
        json!(["emulator_dev_key_2", "emulator_dev_key_4"])
    );

    // Refusals say why.
    let (status, refused) = control(
        &emulator,
        Method::POST,
        "signing-keys/retire",
        Some(json!({ "kid": "emulator_dev_key_2" })),
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        refused["message"].as_str().unwrap().contains("rotate"),
        "{refused}"
    );
    let (status, refused) = control(
        &emulator,
        Method::POST,
        "signing-keys/rotate",
        Some(json!({ "development_key": 9 })),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused["message"].as_str().unwrap().contains('9'),
        "{refused}"
    );
}

#[tokio::test]
async fn reset_goes_back_to_the_seeded_state() {
    let emulator = support::builder()
        .seed_user(
            SeedUser::new("ada@example.com")
                .id("user_ada")
                .password(PASSWORD),
        )
        .seed_user(
            SeedUser::new("grace@example.com")
                .password(PASSWORD)
                .organization("Acme", "admin"),
        )
        .start()
        .await
        .unwrap();
    let orgs = emulator.organizations();
    let made = support::user(&emulator, "new@example.com").await;
    send_magic_code(&emulator, "ada@example.com").await;
    control(
        &emulator,
        Method::POST,
        "faults",
        Some(json!({ "path": "/sso/jwks/*", "status": 503 })),
    )
    .await;
    control(
        &emulator,
        Method::POST,
        "clock/advance",
        Some(json!({ "seconds": 86_400 })),
    )
    .await;
    control(&emulator, Method::POST, "signing-keys/rotate", None).await;
    let before = password_sign_in(&emulator, "ada@example.com").await;

    let (status, _) = control(&emulator, Method::POST, "reset", None).await;
    assert_eq!(status, 204);

    let get_user = |id: String| {
        http()
            .get(format!(
                "{}/user_management/users/{id}",
                emulator.base_url()
            ))
            .bearer_auth(emulator.api_key())
            .send()
    };
    assert_eq!(
        get_user(made).await.unwrap().status(),
        404,
        "made after start: gone"
    );
    assert_eq!(
        get_user("user_ada".into()).await.unwrap().status(),
        200,
        "seeded: back"
    );
    assert_eq!(
        emulator.organizations(),
        orgs,
        "the same organizations, with the same ids"
    );
    assert!(emulator.outbox().is_empty());
    assert!(
        emulator.requests().len() <= 2,
        "only the two user reads since the reset"
    );
    assert_eq!(jwks_status(&emulator).await, 200, "faults removed");
    assert_eq!(
        support::kids(&support::jwks(&emulator).await),
        ["emulator_dev_key_1"]
    );
    let (status, _) = support::refresh(&emulator, before["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400, "sessions from before the reset are gone");
    let after = password_sign_in(&emulator, "ada@example.com").await;
    let claims = support::verify(&emulator, after["access_token"].as_str().unwrap()).await;
    let drift = claims["iat"].as_i64().unwrap() - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(drift.abs() < 60, "the clock is back to real time: {drift}");
}

/// A repeated or malformed query parameter is WorkOS's JSON error naming it, not a plain-text
/// 400 from the HTTP framework.
#[tokio::test]
async fn a_repeated_or_malformed_query_parameter_gets_the_json_error_shape() {
    let emulator = support::start().await;
    for query in ["limit=1&limit=2", "limit=many"] {
        let response = support::http()
            .get(format!(
                "{}/user_management/users?{query}",
                emulator.base_url()
            ))
            .bearer_auth(emulator.api_key())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body["code"], "invalid_request_parameters",
            "{query}: {body}"
        );
        assert_eq!(body["errors"][0]["field"], "limit", "{query}: {body}");
    }
}

/// A taken `external_id` on user creation answers the spec's `user_creation_error` with the
/// failed check listed; on update, `external_id_already_used`.
#[tokio::test]
async fn a_taken_external_id_answers_as_the_spec_documents() {
    let emulator = support::start().await;
    let create = |email: &str| {
        support::http()
            .post(format!("{}/user_management/users", emulator.base_url()))
            .bearer_auth(emulator.api_key())
            .json(&json!({ "email": email, "external_id": "crm_42" }))
            .send()
    };
    assert_eq!(create("ada@example.com").await.unwrap().status(), 201);
    let taken = create("grace@example.com").await.unwrap();
    assert_eq!(taken.status(), 400);
    let body: Value = taken.json().await.unwrap();
    assert_eq!(body["code"], "user_creation_error", "{body}");
    assert_eq!(
        body["errors"][0]["code"], "external_id_already_used",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("crm_42")
    );
}
