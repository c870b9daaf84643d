//! The store suite on Redis (`authkit_axum::stores::redis`) at `REDIS_URL`, and Redis going
//! away: a `redis-server` the test owns is killed and restarted, or paused (SIGSTOP), while
//! the store and the app keep running. While Redis is down every store operation fails
//! within about a second (never hangs), and once it is back the same store works again, by
//! itself.

use std::time::Duration;

use authkit_axum::stores::redis::RedisStore;
use authkit_axum::tower_sessions::SessionStore;

use crate::support::app::user;
use crate::support::machines::Machines;
use crate::support::stores::{
    FAST, Redis, RedisServer, assert_every_operation_fails_fast,
    assert_requests_fail_fast_then_recover, load_when_back, record, timed,
};

super::store_suite!(
    Redis::new(),
    #[cfg_attr(
        not(ci),
        ignore = "needs Redis at REDIS_URL (default redis://127.0.0.1:6379); run with --include-ignored"
    )]
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs redis-server on the PATH; run with --include-ignored"
)]
async fn a_store_fails_fast_while_redis_is_down_and_works_again_when_it_is_back() {
    // An append-only file synced at every write: the data survives the kill.
    let mut server = RedisServer::start(true);
    let store = RedisStore::builder(&server.url())
        .pool_size(2)
        .connect()
        .await
        .unwrap();
    let mut kept = record("kept");
    store.create(&mut kept).await.unwrap();

    server.kill();
    // Down for about three seconds: every operation keeps failing fast, also once the
    // reconnection backoff has grown.
    for _ in 0..3 {
        assert_every_operation_fails_fast(&store, &kept).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Back on the same port: the same store reconnects by itself; the session is intact.
    server.restart();
    let loaded = load_when_back(&store, &kept.id)
        .await
        .expect("the record survived");
    assert_eq!(loaded.data, kept.data);
    let mut after = record("after");
    store.create(&mut after).await.unwrap();
    assert_eq!(
        store.load(&after.id).await.unwrap().unwrap().data,
        after.data
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs redis-server on the PATH; run with --include-ignored"
)]
async fn a_restart_that_lost_its_data_leaves_a_working_store_without_the_session() {
    // No persistence: a restart empties Redis.
    let mut server = RedisServer::start(false);
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let mut lost = record("lost");
    store.create(&mut lost).await.unwrap();

    server.restart();
    assert!(load_when_back(&store, &lost.id).await.is_none());
    let mut after = record("after");
    store.create(&mut after).await.unwrap();
    assert_eq!(
        store.load(&after.id).await.unwrap().unwrap().data,
        after.data
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs redis-server on the PATH; run with --include-ignored"
)]
async fn a_store_fails_fast_while_redis_is_paused_and_works_again_when_it_goes_on() {
    let server = RedisServer::start(false);
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let mut kept = record("kept");
    store.create(&mut kept).await.unwrap();

    // Paused: the connection stays open and nothing answers. Operations time out; once the
    // connection is deemed unresponsive it is reopened (which cannot complete), and
    // operations fail at once.
    server.pause();
    for _ in 0..3 {
        assert_every_operation_fails_fast(&store, &kept).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    server.resume();
    let loaded = load_when_back(&store, &kept.id)
        .await
        .expect("the record is kept");
    assert_eq!(loaded.data, kept.data);
}

#[tokio::test]
async fn connecting_to_a_redis_that_is_not_there_fails_within_the_connection_timeout() {
    let port = crate::support::free_port();
    let (connected, took) = timed(RedisStore::connect(&format!("redis://127.0.0.1:{port}"))).await;
    assert!(
        connected.is_err() && took < FAST,
        "{connected:?} in {took:?}"
    );
}

#[tokio::test]
#[cfg_attr(
    not(ci),
    ignore = "needs redis-server on the PATH; run with --include-ignored"
)]
async fn a_lazily_connected_store_fails_fast_until_redis_is_up() {
    let mut server = RedisServer::start(false);
    let url = server.url();
    server.kill();
    let store = RedisStore::builder(&url).connect_lazy().unwrap();
    let mut early = record("early");
    let (created, took) = timed(store.create(&mut early)).await;
    assert!(created.is_err() && took < FAST, "{created:?} in {took:?}");

    server.restart();
    assert!(load_when_back(&store, &early.id).await.is_none());
    store.create(&mut early).await.unwrap();
}

/// Two machines with a store of their own on `server`. The store's command timeout is
/// 400 ms: AuthLayer may read the store more than once when a read fails, and the request
/// must still be answered within [`FAST`].
async fn machines_on(server: &RedisServer) -> Machines<RedisStore> {
    let backend = OwnRedis(server.url());
    Machines::start(&backend).await
}

struct OwnRedis(String);

impl crate::support::stores::Backend for OwnRedis {
    type Store = RedisStore;
    async fn instance(&self) -> RedisStore {
        RedisStore::builder(&self.0)
            .command_timeout(Duration::from_millis(400))
            .connect()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs redis-server on the PATH; run with --include-ignored"
)]
async fn while_redis_is_paused_requests_fail_fast_and_nobody_is_signed_out() {
    let server = RedisServer::start(false);
    let machines = machines_on(&server).await;
    user(&machines.emulator, "ada@example.com").await;
    let (_, cookie) = machines
        .a
        .sign_in(&machines.emulator, "ada@example.com")
        .await;

    server.pause();
    assert_requests_fail_fast_then_recover(&machines, &cookie, || server.resume()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs redis-server on the PATH; run with --include-ignored"
)]
async fn a_redis_restart_keeps_everyone_signed_in() {
    let mut server = RedisServer::start(true);
    let machines = machines_on(&server).await;
    user(&machines.emulator, "ada@example.com").await;
    let (_, cookie) = machines
        .a
        .sign_in(&machines.emulator, "ada@example.com")
        .await;

    server.kill();
    assert_requests_fail_fast_then_recover(&machines, &cookie, || server.restart()).await;
}

#[tokio::test]
async fn a_bad_url_or_pool_size_is_a_configuration_error_and_debug_hides_the_password() {
    use authkit_axum::stores::redis::RedisError;
    assert!(matches!(
        RedisStore::builder("redis://127.0.0.1:not-a-port").connect_lazy(),
        Err(RedisError::Config(_))
    ));
    assert!(matches!(
        RedisStore::builder("redis://127.0.0.1:1")
            .pool_size(0)
            .connect_lazy(),
        Err(RedisError::Config(_))
    ));
    let builder = RedisStore::builder("redis://:hunter2@127.0.0.1:1");
    assert!(!format!("{builder:?}").contains("hunter2"));
    let store = builder.connect_lazy().unwrap();
    assert!(!format!("{store:?}").contains("hunter2"), "{store:?}");
}

/// The fault suite's WorkOS outage, on Redis: two instances through a window of WorkOS
/// answering 503 to refreshes while every token expires; nobody is signed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs Redis at REDIS_URL (default redis://127.0.0.1:6379); run with --include-ignored"
)]
async fn the_fault_suite_workos_outage_on_redis() {
    use crate::support::stores::Backend as _;
    let fault = authkit_emulator::Fault::new("/user_management/authenticate")
        .grant_type("refresh_token")
        .status(503);
    crate::faults::workos_outage(Redis::new().await.instance().await, fault).await;
}

/// The fault suite's store outage with a real Redis killed while every token expires and
/// restarted on the same port: the documented fast 503 while it is down, nobody signed out, and
/// everybody refreshed once it is back, through the same `RedisStore`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs redis-server on the PATH; run with --include-ignored"
)]
async fn the_fault_suite_redis_killed_and_restarted() {
    let server = std::sync::Mutex::new(RedisServer::start(true));
    let url = server.lock().unwrap().url();
    let store = RedisStore::builder(&url).connect().await.unwrap();
    crate::faults::store_down_then_back(
        store,
        || server.lock().unwrap().kill(),
        || server.lock().unwrap().restart(),
    )
    .await;
}
