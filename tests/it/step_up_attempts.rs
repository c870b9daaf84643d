//! The step-up attempt limit (5 codes) under concurrency: wrong codes posted all at once with
//! one session cookie to one instance reach WorkOS at most 5 times, and the right code is
//! refused afterwards. Split across two instances sharing a store, the store suite
//! (`stores::limits`) plays it on every store.
#![cfg(feature = "axum")]

use authkit_axum::tower_sessions::MemoryStore;
use authkit_axum::tower_sessions::SessionManagerLayer;
use authkit_axum::tower_sessions::cookie::SameSite;
use authkit_axum::web::{AuthLayer, SESSION_COOKIE};

use crate::support;
use support::app::router_with_store;
use support::step_up_limit::{
    Code, Instances, MAX_ATTEMPTS, post_wrong_codes_at_once, reach_step_up,
};

async fn one_instance(code: Code) {
    let store = MemoryStore::default();
    let apps = Instances::start(1, |authkit| router_with_store(authkit, store.clone())).await;
    let (cookie, right) = reach_step_up(&apps, code).await;
    let checked = post_wrong_codes_at_once(&apps, code, &cookie, &right).await;
    // On an insert-if-absent store the limit is exact.
    assert_eq!(checked, MAX_ATTEMPTS);
    support::assert_contract(&apps.emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_wrong_totp_codes_at_once_on_one_instance_reach_workos_five_times() {
    one_instance(Code::Totp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_wrong_email_codes_at_once_on_one_instance_reach_workos_five_times() {
    one_instance(Code::Email).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_with_its_own_session_layer_is_limited_in_process() {
    // No `authkit.session_layer(store)`: AuthKit has no store handle and counts in process.
    let store = MemoryStore::default();
    let apps = Instances::start(1, |authkit| {
        support::app::router_without_layers(authkit)
            .layer(AuthLayer::new(authkit.clone()))
            .layer(
                SessionManagerLayer::new(store.clone())
                    .with_name(SESSION_COOKIE)
                    .with_same_site(SameSite::Lax)
                    .with_secure(false),
            )
    })
    .await;
    let (cookie, right) = reach_step_up(&apps, Code::Totp).await;
    let checked = post_wrong_codes_at_once(&apps, Code::Totp, &cookie, &right).await;
    assert_eq!(checked, MAX_ATTEMPTS);
    support::assert_contract(&apps.emulator);
}
