//! One suite of multi-instance scenarios, run against every session store (as tower-sessions
//! runs its store tests): two app instances ("machines", each with its own `AuthKit` and its
//! own store connections) on one store, as behind a load balancer.
//!
//! - [`sessions`]: sign-in and sign-out seen by both machines.
//! - [`refresh`]: refresh races across machines sign nobody out.
//! - [`limits`]: the step-up attempt limit across machines, and anonymous sign-ins that
//!   expire within ten minutes.
//! - [`memory`], [`redis`], [`postgres`]: the suite instantiated for each store, the tests of
//!   each store's own faults (Redis restarts and pauses, PostgreSQL cut off), and the fault
//!   suite's (`faults`) WorkOS outage and store outage played on that store.
//!
//! A scenario is an `async fn(&impl Backend)` in a module here (one module per concern:
//! step-up attempt limits across machines, bounded anonymous state, the fault suite's store
//! windows, ...), listed once in [`store_suite!`]; every store then runs it. Shared setup
//! lives in `support::machines` (two machines on one store) and `support::stores` (the
//! backends, and Redis servers a test owns).
//!
//! Tests needing a service are ignored unless built with `CI=true` (`cfg(ci)`, set by
//! `build.rs`), where a missing service fails them; run them locally with
//! `cargo test --workspace --all-features -- --include-ignored`.
#![cfg(feature = "axum")]

pub mod limits;
pub mod refresh;
pub mod sessions;

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;

/// Instantiates every scenario for one backend: `store_suite!(backend_expr, #[attrs]..)`,
/// where `backend_expr` is a future of a `support::stores::Backend` and the attributes (e.g.
/// the `ignore` of a service test) go on each test.
macro_rules! store_suite {
    ($backend:expr $(, #[$attr:meta])* $(,)?) => {
        $crate::stores::store_suite!(@each [$(#[$attr])*] $backend;
            sessions::a_sign_in_on_one_machine_is_signed_in_on_the_other,
            sessions::signing_out_on_either_machine_ends_the_session_on_both,
            sessions::a_test_helper_session_is_signed_in_on_every_machine,
            sessions::a_save_of_a_record_another_machine_deleted_is_not_an_error,
            sessions::a_record_created_under_a_taken_id_gets_another_id,
            sessions::racing_creates_of_one_id_leave_exactly_one_record_under_it,
            refresh::a_refresh_race_across_machines_signs_nobody_out,
            refresh::an_organization_switch_that_loses_a_refresh_race_switches_with_the_winners_tokens,
            limits::the_step_up_attempt_limit_holds_across_machines,
            limits::anonymous_logins_leave_only_records_that_expire_within_ten_minutes,
            // New scenarios go here, one line each.
        );
    };
    (@each $attrs:tt $backend:expr; ) => {};
    (@each $attrs:tt $backend:expr; $module:ident :: $scenario:ident, $($rest:tt)*) => {
        $crate::stores::store_suite!(@one $attrs $backend; $module::$scenario);
        $crate::stores::store_suite!(@each $attrs $backend; $($rest)*);
    };
    (@one [$(#[$attr:meta])*] $backend:expr; $module:ident :: $scenario:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $scenario() {
            let backend = $backend.await;
            $crate::stores::$module::$scenario(&backend).await;
        }
    };
}
pub(crate) use store_suite;
