//! Refresh races across machines: refresh tokens are single use, so when two machines refresh
//! one session at once, WorkOS refuses the loser; the loser must find the winner's tokens in
//! the store instead of signing the user out.

use std::time::Duration;

use authkit_emulator::{Emulator, Fault};
use axum::http::StatusCode;
use serde_json::Value;

use crate::support;
use crate::support::app::{member_of_acme_and_globex, stored_session, user};
use crate::support::machines::Machines;
use crate::support::refresh_calls;
use crate::support::stores::Backend;

/// Tokens live 5 minutes (as WorkOS's) and are refreshed within 30 s of expiry.
const TTL: Duration = Duration::from_secs(300);
const MARGIN: Duration = Duration::from_secs(30);
/// From sign-in to just past the token's expiry (well within the 5-minute stale grace): a
/// request waits for the refresh.
const UNTIL_EXPIRED: Duration = Duration::from_secs(305);

/// A's refresh is held up on the way to WorkOS while B, serving a slow page, refreshes the
/// same session and wins; A's refresh token is then spent. A re-reads the store and carries
/// on with B's tokens: both requests are served, and both machines go on without refreshing
/// again.
pub async fn a_refresh_race_across_machines_signs_nobody_out(backend: &impl Backend) {
    let machines = Machines::start_with(
        backend,
        Emulator::builder().access_token_ttl(TTL),
        |b| b.refresh_margin(MARGIN),
        |b| b.refresh_margin(MARGIN),
    )
    .await;
    let (emulator, a, b) = (&machines.emulator, &machines.a, &machines.b);
    user(emulator, "ada@example.com").await;
    let (_, cookie) = a.sign_in(emulator, "ada@example.com").await;
    machines.advance(UNTIL_EXPIRED);

    emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .delay(Duration::from_millis(200))
            .times(1),
    );
    let on_a = a.get("/account", &cookie);
    let on_b = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.get("/slow", &cookie).await
    };
    let (on_a, on_b) = tokio::join!(on_a, on_b);

    on_a.assert_status_ok();
    on_b.assert_status_ok();
    let (on_a, on_b): (Value, Value) = (on_a.json(), on_b.json());
    assert_eq!(on_a["email"], "ada@example.com");
    assert_eq!(on_b["email"], "ada@example.com");
    assert_eq!(on_a["expires_at"], on_b["expires_at"]);
    let calls = refresh_calls(emulator);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].0, 200, "{calls:?}");
    assert_eq!(calls[1].1["error"], "invalid_grant", "{calls:?}");
    assert_eq!(
        (a.authkit.refresh_count(), b.authkit.refresh_count()),
        (1, 1)
    );
    let stored = stored_session(&a.store, &cookie).await.unwrap();
    assert_eq!(
        calls[0].1["refresh_token"].as_str(),
        Some(stored.refresh_token.expose_secret())
    );

    for machine in machines.both() {
        machine.get("/account", &cookie).await.assert_status_ok();
    }
    assert_eq!(refresh_calls(emulator).len(), 2);
    support::assert_contract(emulator);
}

/// A's organization switch is held up on the way to WorkOS while B refreshes the same
/// session (B refreshes every session it sees) and spends the refresh token A holds: WorkOS
/// refuses A's switch with `invalid_grant`, and A switches with B's tokens instead.
pub async fn an_organization_switch_that_loses_a_refresh_race_switches_with_the_winners_tokens(
    backend: &impl Backend,
) {
    let machines = Machines::start_with(
        backend,
        Emulator::builder(),
        |b| b,
        // With 100 s left, A (default 30-s margin) does not refresh; B (a 2-minute margin)
        // refreshes in the background.
        |b| b.refresh_margin(Duration::from_secs(120)),
    )
    .await;
    let (emulator, a, b) = (&machines.emulator, &machines.a, &machines.b);
    let (_, _acme, globex) = member_of_acme_and_globex(emulator, "ada@example.com").await;
    let (_, cookie) = a.sign_in(emulator, "ada@example.com").await;
    let before = stored_session(&a.store, &cookie).await.unwrap();
    machines.advance(Duration::from_secs(200));

    emulator.inject_fault(
        Fault::new("/user_management/authenticate")
            .delay(Duration::from_millis(200))
            .times(1),
    );
    let switch = a
        .server
        .post("/auth/switch-organization")
        .add_header(
            "cookie",
            format!("{}={cookie}", authkit_axum::web::SESSION_COOKIE),
        )
        .form(&[
            ("organization_id", globex.as_str()),
            ("return_to", "/account"),
        ]);
    let on_b = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.get("/account", &cookie).await
    };
    let (switch, on_b) = tokio::join!(switch, on_b);
    on_b.assert_status_ok();

    switch.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(switch.headers()["location"], "/account");
    let calls = refresh_calls(emulator);
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0].0, 200, "B's refresh: {calls:?}");
    assert_eq!(
        calls[1].1["error"], "invalid_grant",
        "A's first try: {calls:?}"
    );
    assert_eq!(calls[2].0, 200, "A's switch with B's tokens: {calls:?}");
    let stored = stored_session(&a.store, &cookie).await.unwrap();
    assert_eq!(stored.organization_id.as_deref(), Some(globex.as_str()));
    assert!(!stored.refresh_token.ct_eq(&before.refresh_token));
    let account: Value = a.get("/account", &cookie).await.json();
    assert_eq!(account["email"], "ada@example.com");
    assert_eq!(account["organization_id"], globex.as_str());
    assert_eq!(account["role"], "member");
    support::assert_contract(emulator);
}
