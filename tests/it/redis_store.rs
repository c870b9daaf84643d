//! Sessions in Redis (feature `redis`): two app instances, as on two machines, share one Redis.
//! A sign-in on one is signed in on the other, and signing out on either ends it on both.
//!
//! Needs a Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`). Without one the test
//! fails on CI (`CI=true`) and is skipped, saying so, elsewhere.
#![cfg(feature = "redis")]

use std::time::Duration;

use authkit_axum::tower_sessions_redis_store::RedisStore;
use authkit_axum::tower_sessions_redis_store::fred::prelude::{Client, ClientLike, Config};
use authkit_axum::{AuthKit, AuthLayer, AuthUser};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use axum_test::{TestResponse, TestServer};
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{CALLBACK, PASSWORD, location};

const ORIGIN: &str = "http://localhost:3000";

/// A connected Redis client, or `None` (after saying why) when Redis is unreachable off CI.
async fn redis() -> Option<Client> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let on_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let client = Client::new(Config::from_url(&url).unwrap(), None, None, None);
    let connected = tokio::time::timeout(Duration::from_secs(5), client.init()).await;
    match connected {
        Ok(Ok(_)) => Some(client),
        Ok(Err(err)) if !on_ci => {
            eprintln!("SKIPPED: no Redis at {url} ({err}); start one or set REDIS_URL");
            None
        }
        Err(_) if !on_ci => {
            eprintln!("SKIPPED: Redis at {url} did not answer within 5 s; set REDIS_URL");
            None
        }
        Ok(Err(err)) => panic!("CI=true but Redis at {url} is unreachable: {err}"),
        Err(_) => panic!("CI=true but Redis at {url} did not answer within 5 s"),
    }
}

async fn account(user: AuthUser) -> String {
    user.user.email.clone()
}

/// One app instance: its own AuthKit, its own Redis connection, the shared Redis.
fn machine(authkit: &AuthKit, redis: Client) -> TestServer {
    let app = Router::new()
        .route("/account", get(account))
        .merge(authkit.router())
        .layer(AuthLayer::new(authkit.clone()))
        .layer(authkit.session_layer(RedisStore::new(redis)));
    // Cookies are carried by hand, like a browser moving between the machines behind a
    // load balancer.
    TestServer::builder().mock_transport().build(app).unwrap()
}

fn session_cookie(response: &TestResponse) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("authkit_session="))
        .and_then(|v| v.split(';').next())
        .expect("an authkit_session cookie")
        .to_owned()
}

async fn account_status(server: &TestServer, cookie: &str) -> (StatusCode, String) {
    let response = server
        .get("/account")
        .add_header("accept", "application/json")
        .add_header("cookie", cookie)
        .await;
    (response.status_code(), response.text())
}

#[tokio::test]
async fn a_session_signed_in_on_one_machine_works_and_ends_on_the_other() {
    let Some(redis_a) = redis().await else {
        return;
    };
    let redis_b = redis()
        .await
        .expect("a second connection to the same Redis");
    let emulator = support::app::emulator_builder().start().await.unwrap();
    emulator
        .client()
        .user_management()
        .create_user(
            authkit_axum::user_management::CreateUser::new("ada@example.com")
                .password(PASSWORD)
                .email_verified(true),
        )
        .await
        .unwrap();
    let authkit_a = AuthKit::builder(emulator.client(), CALLBACK)
        .build()
        .unwrap();
    let authkit_b = AuthKit::builder(emulator.client(), CALLBACK)
        .build()
        .unwrap();
    let a = machine(&authkit_a, redis_a);
    let b = machine(&authkit_b, redis_b);

    // Sign in on A.
    let login = a.get("/auth/login?return_to=%2Faccount").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let pending = session_cookie(&login);
    let callback = emulator
        .approve_sign_in(&location(&login), "ada@example.com")
        .unwrap();
    let done = a
        .get(&format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap_or_default()
        ))
        .add_header("cookie", &pending)
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account");
    let cookie = session_cookie(&done);
    assert_ne!(cookie, pending, "the session id is cycled at sign-in");

    // The cookie works on both machines; B never saw the sign-in.
    assert_eq!(
        account_status(&a, &cookie).await,
        (StatusCode::OK, "ada@example.com".to_owned())
    );
    assert_eq!(
        account_status(&b, &cookie).await,
        (StatusCode::OK, "ada@example.com".to_owned())
    );
    // The pre-sign-in id was cycled away on both.
    assert_eq!(
        account_status(&b, &pending).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Sign out on B: the session ends on A too.
    let logout = b
        .post("/auth/logout")
        .add_header("cookie", &cookie)
        .add_header("origin", ORIGIN)
        .await;
    logout.assert_status(StatusCode::SEE_OTHER);
    assert!(
        location(&logout).contains("/user_management/sessions/logout"),
        "{}",
        location(&logout)
    );
    for server in [&a, &b] {
        let (status, body) = account_status(server, &cookie).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "unauthorized"
        );
    }
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_test_helper_signs_in_through_redis_on_every_machine() {
    let Some(redis_a) = redis().await else {
        return;
    };
    let redis_b = redis()
        .await
        .expect("a second connection to the same Redis");
    let emulator = support::app::emulator_builder().start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_user(
        authkit_axum::user_management::CreateUser::new("grace@example.com")
            .password(PASSWORD)
            .email_verified(true),
    )
    .await
    .unwrap();
    let authkit = AuthKit::builder(emulator.client(), CALLBACK)
        .build()
        .unwrap();
    let auth = um
        .authenticate_with_password(
            authkit_axum::user_management::AuthenticateWithPassword::new(
                "grace@example.com",
                PASSWORD,
            ),
        )
        .await
        .unwrap();
    let session = authkit_axum::testing::auth_session(&authkit, auth)
        .await
        .unwrap();
    let cookie = authkit_axum::testing::signed_in_session(
        &authkit,
        &RedisStore::new(redis_a.clone()),
        &session,
    )
    .await
    .unwrap();

    let a = machine(&authkit, redis_a);
    let b = machine(
        &AuthKit::builder(emulator.client(), CALLBACK)
            .build()
            .unwrap(),
        redis_b,
    );
    for server in [&a, &b] {
        assert_eq!(
            account_status(server, &cookie).await,
            (StatusCode::OK, "grace@example.com".to_owned())
        );
    }
    support::assert_contract(&emulator);
}
