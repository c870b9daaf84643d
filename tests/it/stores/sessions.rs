//! Sign-in and sign-out across machines: a session lives in the store, not in a machine.

use authkit_axum::user_management::AuthenticateWithPassword;
use axum::http::StatusCode;

use crate::support;
use crate::support::EmulatorExt as _;
use crate::support::app::{PASSWORD, user};
use crate::support::machines::Machines;
use crate::support::stores::Backend;

/// Signed in on A, the cookie works on B, which never saw the sign-in; the pre-sign-in
/// session id was cycled away on both.
pub async fn a_sign_in_on_one_machine_is_signed_in_on_the_other(backend: &impl Backend) {
    let machines = Machines::start(backend).await;
    user(&machines.emulator, "ada@example.com").await;
    let (pending, cookie) = machines
        .a
        .sign_in(&machines.emulator, "ada@example.com")
        .await;
    assert_ne!(cookie, pending, "the session id is cycled at sign-in");

    for machine in machines.both() {
        assert_eq!(
            machine.signed_in_as(&cookie).await.as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(machine.signed_in_as(&pending).await, None);
    }
    support::assert_contract(&machines.emulator);
}

/// Signing out on B ends the session on A, and signing out on A ends it on B.
pub async fn signing_out_on_either_machine_ends_the_session_on_both(backend: &impl Backend) {
    let machines = Machines::start(backend).await;
    user(&machines.emulator, "ada@example.com").await;
    user(&machines.emulator, "grace@example.com").await;
    let (_, ada) = machines
        .a
        .sign_in(&machines.emulator, "ada@example.com")
        .await;
    let (_, grace) = machines
        .b
        .sign_in(&machines.emulator, "grace@example.com")
        .await;

    machines.b.sign_out(&ada).await;
    for machine in machines.both() {
        assert_eq!(machine.signed_in_as(&ada).await, None);
        // The other session is untouched.
        assert_eq!(
            machine.signed_in_as(&grace).await.as_deref(),
            Some("grace@example.com")
        );
    }

    machines.a.sign_out(&grace).await;
    for machine in machines.both() {
        assert_eq!(machine.signed_in_as(&grace).await, None);
    }
    support::assert_contract(&machines.emulator);
}

/// `testing::signed_in_session` writes a signed-in session straight into the store: every
/// machine serves it.
pub async fn a_test_helper_session_is_signed_in_on_every_machine(backend: &impl Backend) {
    let machines = Machines::start(backend).await;
    user(&machines.emulator, "grace@example.com").await;
    let auth = machines
        .emulator
        .client()
        .user_management()
        .authenticate_with_password(AuthenticateWithPassword::new("grace@example.com", PASSWORD))
        .await
        .unwrap();
    let session = authkit_axum::testing::auth_session(&machines.a.authkit, auth)
        .await
        .unwrap();
    let header =
        authkit_axum::testing::signed_in_session(&machines.a.authkit, &machines.a.store, &session)
            .await
            .unwrap();
    let cookie = header
        .strip_prefix(&format!("{}=", authkit_axum::web::SESSION_COOKIE))
        .unwrap();

    for machine in machines.both() {
        let (status, account) = machine.account(cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(account["email"], "grace@example.com");
    }
    support::assert_contract(&machines.emulator);
}

/// One machine deletes a record (a session id cycled away, a sign-out) while the other is still
/// serving a request on it: the other's save at the end of that request is not a store error
/// (which would answer 500 "could not be saved" to a request that did nothing wrong).
pub async fn a_save_of_a_record_another_machine_deleted_is_not_an_error(backend: &impl Backend) {
    use authkit_axum::tower_sessions::SessionStore as _;

    let (a, b) = (backend.instance().await, backend.instance().await);
    let mut record = crate::support::stores::record("cycled away");
    a.create(&mut record).await.unwrap();
    assert!(b.load(&record.id).await.unwrap().is_some());
    a.delete(&record.id).await.unwrap();
    b.save(&record)
        .await
        .expect("saving a record that is gone is not a store failure");
}

/// Creating a record under an id another machine already uses never overwrites that record and
/// is not an error: the new record gets another id (the step-up attempt slots rely on it).
pub async fn a_record_created_under_a_taken_id_gets_another_id(backend: &impl Backend) {
    use authkit_axum::tower_sessions::SessionStore as _;

    let (a, b) = (backend.instance().await, backend.instance().await);
    let mut first = crate::support::stores::record("first");
    a.create(&mut first).await.unwrap();
    let mut second = crate::support::stores::record("second");
    second.id = first.id;
    b.create(&mut second)
        .await
        .expect("an id collision is not a store failure");
    assert_ne!(second.id, first.id, "the new record got another id");
    assert_eq!(a.load(&first.id).await.unwrap().unwrap().data, first.data);
    assert_eq!(a.load(&second.id).await.unwrap().unwrap().data, second.data);
}

/// Creates of one id racing on two instances: exactly one keeps the id and its data stays,
/// every other gets an id of its own. (The step-up attempt limit across machines claims its
/// slots this way; a check-then-upsert `create` let two claimants both keep one slot.)
pub async fn racing_creates_of_one_id_leave_exactly_one_record_under_it(backend: &impl Backend) {
    use authkit_axum::tower_sessions::SessionStore as _;

    const RACERS: usize = 24;
    let instances = [backend.instance().await, backend.instance().await];
    let id = authkit_axum::tower_sessions::session::Id::default();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let racers = (0..RACERS).map(|i| {
        let store = instances[i % 2].clone();
        let start = start.clone();
        tokio::spawn(async move {
            let mut record = crate::support::stores::record(&format!("racer {i}"));
            record.id = id;
            start.wait().await;
            store.create(&mut record).await.unwrap();
            record
        })
    });
    let records: Vec<_> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let kept: Vec<_> = records.iter().filter(|r| r.id == id).collect();
    assert_eq!(kept.len(), 1, "{} creates kept the one id", kept.len());
    let stored = instances[0].load(&id).await.unwrap().unwrap();
    assert_eq!(
        stored.data, kept[0].data,
        "the record under the id is its creator's"
    );
    for record in &records {
        let loaded = instances[1].load(&record.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, record.data);
    }
}
