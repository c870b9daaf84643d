//! The auth layer with API keys on: machines and users on one API, the verdict cache and its
//! bounds (revocation, capacity, validation budget), and WorkOS failing.
#![cfg(feature = "axum")]

use std::time::Duration;

use authkit_axum::session::Clock;
use authkit_axum::stores::MemoryStore;
use authkit_axum::user_management::{AuthenticateWithPassword, CreateOrganizationApiKey};
use authkit_axum::web::{ApiKeyClient, ApiKeys, AuthRejection, Principal};
use authkit_axum::{AuthKit, AuthUser};
use authkit_emulator::{Emulator, Fault, SeedUser};
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use axum_test::TestServer;
use serde_json::{Value, json};

use crate::support;
use crate::support::EmulatorExt as _;

async fn whoami(who: Principal) -> Json<Value> {
    Json(match &who {
        Principal::User(user) => json!({
            "kind": "user",
            "id": user.id,
            "organization_id": who.organization_id(),
            "permissions": who.permissions(),
        }),
        Principal::ApiKey(machine) => json!({
            "kind": "api_key",
            "id": machine.id,
            "name": machine.name,
            "owner": machine.owner.id,
            "organization_id": who.organization_id(),
            "permissions": who.permissions(),
        }),
        _ => json!({ "kind": "unknown" }),
    })
}

async fn export(machine: ApiKeyClient) -> Result<String, AuthRejection> {
    machine.require_permission("reports:export")?;
    Ok(format!("export for {}", machine.organization_id))
}

async fn profile(user: AuthUser) -> String {
    user.email.clone()
}

struct App {
    emulator: Emulator,
    authkit: AuthKit,
    server: TestServer,
    clock: Clock,
    org: String,
}

async fn app(settings: ApiKeys) -> App {
    let emulator = Emulator::builder()
        .seed_user(SeedUser::new("ada@example.com").password("password123!"))
        .start()
        .await
        .unwrap();
    let org = emulator.create_organization("Acme");
    let clock = Clock::adjustable();
    let authkit = AuthKit::builder(emulator.client(), "http://localhost:3000/auth/callback")
        .clock(clock.clone())
        .api_keys(settings)
        .build()
        .unwrap();
    let reports = Router::new()
        .route("/api/reports", get(|| async { "the reports" }))
        .route_layer(authkit.require_permission("reports:read"));
    let app = Router::new()
        .route("/api/whoami", get(whoami))
        .route("/api/export", get(export))
        .route("/api/profile", get(profile))
        .merge(reports)
        .layer(authkit.layer(MemoryStore::default()));
    App {
        server: TestServer::new(app).unwrap(),
        emulator,
        authkit,
        clock,
        org,
    }
}

impl App {
    async fn key(&self, name: &str, permissions: &[&str]) -> (String, String) {
        let created = self
            .emulator
            .client()
            .user_management()
            .create_organization_api_key(
                &self.org,
                CreateOrganizationApiKey::new(name).permissions(permissions.iter().copied()),
            )
            .await
            .unwrap();
        (created.id.clone(), created.value.expose_secret().to_owned())
    }

    async fn get(&self, path: &str, key: &str) -> axum_test::TestResponse {
        self.server
            .get(path)
            .add_header("authorization", format!("Bearer {key}"))
            .await
    }

    /// How many validations the emulator answered.
    fn validations(&self) -> usize {
        self.emulator
            .requests()
            .iter()
            .filter(|r| r.path == "/api_keys/validations")
            .count()
    }
}

#[tokio::test]
async fn one_api_serves_machines_with_api_keys_and_users_with_access_tokens() {
    let app = app(ApiKeys::new()).await;
    let (id, key) = app.key("Reporting job", &["reports:read"]).await;

    let me = app.get("/api/whoami", &key).await;
    me.assert_status_ok();
    let body: Value = me.json();
    assert_eq!(body["kind"], "api_key");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["name"], "Reporting job");
    assert_eq!(body["owner"], app.org.as_str());
    assert_eq!(body["organization_id"], app.org.as_str());
    assert_eq!(body["permissions"], json!(["reports:read"]));
    assert_eq!(me.headers()["cache-control"], "private, no-store");

    // The guard checks the key's permissions; routes for users refuse machines, and the
    // machine-only route checks its own permission.
    app.get("/api/reports", &key).await.assert_status_ok();
    let export = app.get("/api/export", &key).await;
    export.assert_status(StatusCode::FORBIDDEN);
    assert!(
        export.text().contains("reports:export"),
        "{}",
        export.text()
    );
    let profile = app.get("/api/profile", &key).await;
    profile.assert_status(StatusCode::FORBIDDEN);
    assert!(profile.text().contains("API key"), "{}", profile.text());
    let (_, bare) = app.key("No permissions", &[]).await;
    let refused = app.get("/api/reports", &bare).await;
    refused.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.json::<Value>()["error"], "forbidden");

    // Later requests, and concurrent first requests with a new key, cost no more validations.
    for _ in 0..10 {
        app.get("/api/whoami", &key).await.assert_status_ok();
    }
    let (_, fresh) = app.key("Fresh", &[]).await;
    let before = app.validations();
    let all = futures_util::future::join_all((0..8).map(|_| app.get("/api/whoami", &fresh))).await;
    assert!(all.iter().all(|r| r.status_code() == StatusCode::OK));
    assert_eq!(
        app.validations(),
        before + 1,
        "one validation for eight requests"
    );
    assert_eq!(app.validations(), 3);
    assert_eq!(app.authkit.api_key_stats().cached_valid, 3);

    // A user's own key acts for the organization of the membership it was made for.
    let ada = app
        .emulator
        .client()
        .user_management()
        .list_users(&Default::default())
        .await
        .unwrap()
        .data
        .remove(0);
    app.emulator.seed_membership(&ada.id, &app.org, "member");
    let users_key = app
        .emulator
        .client()
        .user_management()
        .create_user_api_key(
            &ada.id,
            authkit_axum::user_management::CreateUserApiKey::new("Ada's CLI", &app.org),
        )
        .await
        .unwrap();
    let me = app
        .get("/api/whoami", users_key.value.expose_secret())
        .await;
    me.assert_status_ok();
    let body: Value = me.json();
    assert_eq!(
        (body["kind"].as_str(), body["owner"].as_str()),
        (Some("api_key"), Some(ada.id.as_str()))
    );
    assert_eq!(body["organization_id"], app.org.as_str());

    // A user's access token is still an access token.
    let auth = app
        .emulator
        .client()
        .user_management()
        .authenticate_with_password(AuthenticateWithPassword::new(
            "ada@example.com",
            "password123!",
        ))
        .await
        .unwrap();
    let token = auth.access_token.expose_secret();
    let me = app.get("/api/whoami", token).await;
    me.assert_status_ok();
    assert_eq!(me.json::<Value>()["kind"], "user");
    app.get("/api/profile", token)
        .await
        .assert_text("ada@example.com");
    let machine_only = app.get("/api/export", token).await;
    machine_only.assert_status(StatusCode::FORBIDDEN);
    app.get("/api/reports", token)
        .await
        .assert_status(StatusCode::FORBIDDEN);

    // Neither: 401 JSON.
    let anonymous = app
        .server
        .get("/api/whoami")
        .add_header("accept", "application/json")
        .await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
    let machine_needed = app
        .server
        .get("/api/export")
        .add_header("accept", "application/json")
        .await;
    machine_needed.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(machine_needed.json::<Value>()["error"], "api_key_required");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_deleted_key_stops_working_within_the_cache_ttl() {
    let app = app(ApiKeys::new().cache_ttl(Duration::from_secs(30))).await;
    let (id, key) = app.key("Soon revoked", &[]).await;
    app.get("/api/whoami", &key).await.assert_status_ok();

    app.emulator
        .client()
        .user_management()
        .delete_api_key(&id)
        .await
        .unwrap();
    // Within the bound the cached verdict still holds...
    app.clock.advance(Duration::from_secs(29));
    app.get("/api/whoami", &key).await.assert_status_ok();
    assert_eq!(app.validations(), 1);
    // ...and past it the key is checked again, and refused.
    app.clock.advance(Duration::from_secs(2));
    let revoked = app.get("/api/whoami", &key).await;
    revoked.assert_status(StatusCode::UNAUTHORIZED);
    let body: Value = revoked.json();
    assert_eq!(body["error"], "invalid_api_key");
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    assert_eq!(app.validations(), 2);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn malformed_and_unknown_keys_get_401_and_unknown_ones_are_remembered() {
    let app = app(ApiKeys::new()).await;
    for malformed in [
        "short",
        "sk_with spaces_0123456789",
        &"k".repeat(300),
        "sk_bad!chars_0123456789",
    ] {
        let refused = app.get("/api/whoami", malformed).await;
        refused.assert_status(StatusCode::UNAUTHORIZED);
        let body: Value = refused.json();
        assert_eq!(body["error"], "invalid_api_key");
        assert!(
            body["message"].as_str().unwrap().contains("malformed"),
            "{body}"
        );
    }
    assert_eq!(app.validations(), 0, "malformed keys never reach WorkOS");

    for _ in 0..5 {
        let unknown = app.get("/api/whoami", "sk_unknown_0123456789abcdef").await;
        unknown.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.json::<Value>()["error"], "invalid_api_key");
    }
    assert_eq!(app.validations(), 1, "a refused key is remembered");
    // A forged JWT is still a (refused) access token, not an API key.
    let forged = app
        .get("/api/whoami", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
        .await;
    forged.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(forged.json::<Value>()["error"], "unauthorized");
    assert_eq!(app.validations(), 1);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn workos_down_is_a_fast_503_never_a_valid_key() {
    let app = app(ApiKeys::new()).await;
    let (_, known) = app.key("Known", &["reports:read"]).await;
    let (_, new) = app.key("New", &[]).await;
    app.get("/api/whoami", &known).await.assert_status_ok();

    let fault = app
        .emulator
        .inject_fault(Fault::new("/api_keys/validations").status(500));
    let down = app.get("/api/whoami", &new).await;
    down.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers()["retry-after"], "1");
    assert_eq!(
        down.json::<Value>()["error"],
        "api_key_validation_unavailable"
    );
    assert_eq!(app.validations(), 2, "one attempt, no retries");
    // Right after a failure, other unknown keys are answered without a call...
    app.get("/api/whoami", "sk_other_0123456789abcdef")
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.validations(), 2);
    // ...while keys validated before keep working until their verdict expires.
    app.get("/api/reports", &known).await.assert_status_ok();
    app.clock.advance(Duration::from_secs(31));
    app.get("/api/reports", &known)
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);

    // Back up: a second after the last failure, the new key is validated and works.
    app.emulator.remove_fault(fault);
    app.clock.advance(Duration::from_secs(2));
    app.get("/api/whoami", &new).await.assert_status_ok();
    app.get("/api/reports", &known).await.assert_status_ok();
    assert_eq!(app.authkit.api_key_stats().unavailable, 3);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_slow_workos_is_a_503_after_the_validation_timeout() {
    let app = app(ApiKeys::new().validation_timeout(Duration::from_millis(200))).await;
    let (_, key) = app.key("Slow", &[]).await;
    let fault = app
        .emulator
        .inject_fault(Fault::new("/api_keys/validations").delay(Duration::from_secs(10)));
    let started = std::time::Instant::now();
    let slow = app.get("/api/whoami", &key).await;
    slow.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
    app.emulator.remove_fault(fault);
    app.clock.advance(Duration::from_secs(2));
    app.get("/api/whoami", &key).await.assert_status_ok();
}

#[tokio::test]
async fn a_flood_of_random_keys_is_bounded_in_calls_and_memory() {
    let app = app(ApiKeys::new()
        .cache_capacity(4)
        .max_validations(12, Duration::from_secs(3600)))
    .await;
    let (_, key) = app.key("Real", &["reports:read"]).await;
    app.get("/api/reports", &key).await.assert_status_ok();

    let mut statuses = Vec::new();
    for i in 0..40 {
        let random = format!("sk_random_{i:04}_{}", "x".repeat(20));
        statuses.push(app.get("/api/whoami", &random).await.status_code());
        // The real key keeps working through the flood.
        app.get("/api/reports", &key).await.assert_status_ok();
    }
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let unavailable = statuses
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert_eq!((refused, unavailable), (11, 29), "{statuses:?}");
    assert_eq!(
        app.validations(),
        12,
        "the budget bounds the calls to WorkOS"
    );
    let stats = app.authkit.api_key_stats();
    assert!(stats.cached_invalid <= 4, "{stats:?}");
    assert_eq!(stats.cached_valid, 1);
    assert_eq!(stats.validations, 12);

    // Once the real key's verdict has expired, renewing it is not starved by the spent
    // budget: machines keep working through a flood that outlasts the cache.
    app.clock.advance(Duration::from_secs(31));
    app.get("/api/reports", &key).await.assert_status_ok();
    assert_eq!(app.validations(), 13);
    app.get("/api/whoami", "sk_random_more_xxxxxxxxxxxxxxxxxxxx")
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn an_unexpected_workos_answer_is_a_503_never_a_revoked_key() {
    // A 404 (a wrong base URL, a proxy) or a 409 says nothing about the key: calling it
    // revoked would sign every machine out for a whole cache period.
    let app = app(ApiKeys::new()).await;
    let (_, key) = app.key("Real", &[]).await;
    for status in [404, 409] {
        let fault = app
            .emulator
            .inject_fault(Fault::new("/api_keys/validations").status(status));
        let answer = app.get("/api/whoami", &key).await;
        answer.assert_status(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            answer.json::<Value>()["error"],
            "api_key_validation_unavailable"
        );
        app.emulator.remove_fault(fault);
        app.clock.advance(Duration::from_secs(2));
    }
    app.get("/api/whoami", &key).await.assert_status_ok();
}

#[tokio::test]
async fn a_cache_ttl_too_large_to_add_is_capped_not_a_panic() {
    // `cache_ttl(Duration::MAX)` once overflowed the expiry, killed the validation task and
    // left its key answering 503 forever.
    let app = app(ApiKeys::new().cache_ttl(Duration::MAX)).await;
    let (_, key) = app.key("Long lived", &[]).await;
    app.get("/api/whoami", &key).await.assert_status_ok();
    app.get("/api/whoami", &key).await.assert_status_ok();
    assert_eq!(app.validations(), 1, "the verdict was cached");
    // Capped at a day.
    app.clock.advance(Duration::from_secs(24 * 60 * 60 + 1));
    app.get("/api/whoami", &key).await.assert_status_ok();
    assert_eq!(app.validations(), 2);
}
