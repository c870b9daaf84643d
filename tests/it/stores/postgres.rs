//! The store suite on PostgreSQL (`authkit_axum::stores::postgres`), in a schema of its own
//! per test in the database at `DATABASE_URL`, and PostgreSQL going away (through a link
//! the test breaks).

use std::time::Duration;

use authkit_axum::stores::postgres::{PostgresStore, sqlx};
use authkit_axum::tower_sessions::SessionStore;

use crate::support::app::user;
use crate::support::link::Link;
use crate::support::machines::Machines;
use crate::support::stores::{
    Backend, Postgres, assert_every_operation_fails_fast, assert_requests_fail_fast_then_recover,
    load_when_back, record,
};

super::store_suite!(
    Postgres::new(),
    #[cfg_attr(
        not(ci),
        ignore = "needs PostgreSQL at DATABASE_URL (default postgres://authkit:authkit@127.0.0.1:5432/authkit_test); run with --include-ignored"
    )]
);

/// PostgreSQL going away, through a [`Link`] in front of the database: every store operation
/// fails within about a second while nothing answers or the connections are cut, and the
/// same store works again, by itself, once the link is restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs PostgreSQL at DATABASE_URL (default postgres://authkit:authkit@127.0.0.1:5432/authkit_test); run with --include-ignored"
)]
async fn a_store_fails_fast_while_postgres_is_unreachable_and_works_again_when_it_is_back() {
    let backend = Postgres::new().await;
    let link = Link::start(backend.addr()).await;
    let backend = backend.through(link.addr());
    let store = backend.instance().await;
    let mut kept = record("kept");
    store.create(&mut kept).await.unwrap();

    // Nothing answers: operations time out instead of waiting forever.
    link.pause();
    assert_every_operation_fails_fast(&store, &kept).await;
    assert_every_operation_fails_fast(&store, &kept).await;
    // Gone: connections are cut and new ones refused.
    link.cut();
    assert_every_operation_fails_fast(&store, &kept).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_every_operation_fails_fast(&store, &kept).await;

    link.restore();
    let loaded = load_when_back(&store, &kept.id)
        .await
        .expect("the row is kept");
    assert_eq!(loaded.data, kept.data);
    let mut after = record("after");
    store.create(&mut after).await.unwrap();
    assert_eq!(
        store.load(&after.id).await.unwrap().unwrap().data,
        after.data
    );
}

/// While PostgreSQL does not answer, a signed-in user's requests on both machines are
/// answered fast; once it answers again both machines serve the user: nobody was signed
/// out. (Command timeout 400 ms: AuthLayer may read the store more than once when a read
/// fails, and each request must still be answered within `FAST`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs PostgreSQL at DATABASE_URL (default postgres://authkit:authkit@127.0.0.1:5432/authkit_test); run with --include-ignored"
)]
async fn while_postgres_does_not_answer_requests_fail_fast_and_nobody_is_signed_out() {
    let backend = Postgres::new().await;
    let link = Link::start(backend.addr()).await;
    let backend = backend
        .through(link.addr())
        .configured(|b| b.command_timeout(Duration::from_millis(400)));
    let machines = Machines::start(&backend).await;
    user(&machines.emulator, "ada@example.com").await;
    let (_, cookie) = machines
        .a
        .sign_in(&machines.emulator, "ada@example.com")
        .await;

    link.pause();
    assert_requests_fail_fast_then_recover(&machines, &cookie, || link.restore()).await;
}

/// The deletion task outlives a failed deletion (tower-sessions' own task stops at its first
/// error): rows that expire after PostgreSQL was unreachable are still deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs PostgreSQL at DATABASE_URL (default postgres://authkit:authkit@127.0.0.1:5432/authkit_test); run with --include-ignored"
)]
async fn expired_sessions_are_still_deleted_after_postgres_was_unreachable() {
    let backend = Postgres::new().await;
    let link = Link::start(backend.addr()).await;
    let backend = backend.through(link.addr()).configured(|b| {
        b.delete_expired_every(Some(Duration::from_millis(200)))
            .command_timeout(Duration::from_millis(400))
    });
    let store = backend.instance().await;
    let rows = |store: PostgresStore, schema: String| async move {
        let query = format!(r#"select count(*) from "{schema}"."session""#);
        sqlx::query_scalar::<_, i64>(&query)
            .fetch_one(store.pool())
            .await
            .unwrap()
    };

    // Deletions fail for a while (each bounded by its period).
    link.cut();
    tokio::time::sleep(Duration::from_millis(700)).await;
    link.restore();

    // A row that expires in a second (so the task, running every 200 ms, cannot delete it
    // before it is counted), and one that lives.
    let mut expiring = record("expiring");
    expiring.expiry_date = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    load_when_back(&store, &expiring.id).await;
    store.save(&expiring).await.unwrap();
    let mut live = record("live");
    store.create(&mut live).await.unwrap();
    assert_eq!(rows(store.clone(), backend.schema().to_owned()).await, 2);

    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while rows(store.clone(), backend.schema().to_owned()).await > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the expired row was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.load(&live.id).await.unwrap().is_some());
}

#[test]
fn the_builders_debug_hides_the_url() {
    let builder = PostgresStore::builder("postgres://app:hunter2@127.0.0.1:1/app");
    assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
}

/// The fault suite's WorkOS outage, on PostgreSQL: two instances through a window of WorkOS
/// answering 503 to refreshes while every token expires; nobody is signed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs PostgreSQL at DATABASE_URL (default postgres://authkit:authkit@127.0.0.1:5432/authkit_test); run with --include-ignored"
)]
async fn the_fault_suite_workos_outage_on_postgres() {
    let backend = Postgres::new().await;
    let fault = authkit_emulator::Fault::new("/user_management/authenticate")
        .grant_type("refresh_token")
        .status(503);
    crate::faults::workos_outage(backend.instance().await, fault).await;
}

/// The fault suite's store outage with PostgreSQL cut off (connections dropped, new ones
/// refused) while every token expires, then reachable again: the documented fast 503 while it
/// is away, nobody signed out, everybody refreshed once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs PostgreSQL at DATABASE_URL (default postgres://authkit:authkit@127.0.0.1:5432/authkit_test); run with --include-ignored"
)]
async fn the_fault_suite_postgres_cut_off_and_back() {
    let backend = Postgres::new().await;
    let link = Link::start(backend.addr()).await;
    let backend = backend.through(link.addr());
    crate::faults::store_down_then_back(backend.instance().await, || link.cut(), || link.restore())
        .await;
}
