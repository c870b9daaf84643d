//! Limits that must hold on the store itself, whichever it is: the step-up attempt limit across
//! machines, and anonymous sign-ins that leave nothing long-lived behind.

use std::str::FromStr as _;

use authkit_axum::tower_sessions::SessionStore;
use authkit_axum::tower_sessions::session::Id;
use authkit_axum::web::SESSION_COOKIE;
use axum::http::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::support;
use crate::support::machines::Machines;
use crate::support::step_up_limit::step_up_attempt_limit_holds_on_two_instances;
use crate::support::stores::Backend;

/// 50 wrong codes posted at once with one cookie, split across two machines on the store,
/// reach WorkOS at most 5 times, and the right code is refused afterwards (TOTP and email).
pub async fn the_step_up_attempt_limit_holds_across_machines(backend: &impl Backend) {
    step_up_attempt_limit_holds_on_two_instances(backend.instance().await).await;
}

/// Cookie-less `GET /auth/login`s (a bot, a flood) each leave a record that holds only the
/// pending sign-in and expires with it, in at most ten minutes: the store's own expiry (a
/// Redis TTL, a PostgreSQL row's `expiry_date`) removes them, not a 7-day session lifetime.
pub async fn anonymous_logins_leave_only_records_that_expire_within_ten_minutes(
    backend: &impl Backend,
) {
    let machines = Machines::start(backend).await;
    let mut ids = Vec::new();
    for i in 0..200 {
        let machine = if i % 2 == 0 { &machines.a } else { &machines.b };
        let login = machine.server.get("/auth/login").await;
        login.assert_status(StatusCode::SEE_OTHER);
        ids.push(login.cookie(SESSION_COOKIE).value().to_owned());
    }
    let latest = OffsetDateTime::now_utc() + Duration::minutes(10) + Duration::seconds(5);
    for id in &ids {
        let record = machines
            .a
            .store
            .load(&Id::from_str(id).unwrap())
            .await
            .unwrap()
            .expect("the pending sign-in's record");
        let keys: Vec<_> = record.data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["authkit.pending"], "only a pending sign-in");
        assert!(
            record.expiry_date <= latest,
            "a pending-only record lives until {}",
            record.expiry_date
        );
    }
    support::assert_contract(&machines.emulator);
}
