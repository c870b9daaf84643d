//! Email change: a code to the new address (in the outbox), confirmed to change the email,
//! with the spec's errors for wrong, used, expired and too many codes.

use std::time::Duration;

use authkit_axum::user_management::{CreateUser, SendEmailChange};
use authkit_emulator::{EmailKind, Emulator};

use crate::support;
use crate::support::EmulatorExt as _;

fn code_sent_to(emulator: &Emulator, to: &str) -> String {
    let email = emulator
        .last_email_to(to)
        .expect("an email to the new address");
    assert_eq!(email.kind, EmailKind::EmailChange);
    email.code.expect("a code")
}

#[tokio::test]
async fn a_confirmed_code_changes_the_email_once_and_emits_user_updated() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let ada = um
        .create_user(CreateUser::new("ada@old.example"))
        .await
        .unwrap();

    let change = um
        .send_email_change(&ada.id, SendEmailChange::new("ada@new.example"))
        .await
        .unwrap();
    assert_eq!(change.new_email, "ada@new.example");
    assert_eq!(change.user.email, "ada@old.example");
    assert!(change.expires_at > change.created_at);
    assert!(emulator.last_email_to("ada@old.example").is_none());
    let code = code_sent_to(&emulator, "ada@new.example");
    // Nothing changed yet.
    assert_eq!(um.get_user(&ada.id).await.unwrap().email, "ada@old.example");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = um.confirm_email_change(&ada.id, wrong).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("email_change_code_incorrect"), "{err}");

    let done = um.confirm_email_change(&ada.id, &code).await.unwrap();
    assert_eq!(done.user.email, "ada@new.example");
    assert!(done.user.email_verified);
    assert_eq!(um.get_user(&ada.id).await.unwrap().email, "ada@new.example");
    let updated = emulator
        .events()
        .into_iter()
        .rev()
        .find(|e| e["event"] == "user.updated")
        .expect("a user.updated event");
    assert_eq!(updated["data"]["email"], "ada@new.example");

    let err = um.confirm_email_change(&ada.id, &code).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(
        err.code(),
        Some("email_change_code_previously_used"),
        "{err}"
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn bad_requests_get_the_spec_s_errors() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let ada = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    um.create_user(CreateUser::new("bob@example.com"))
        .await
        .unwrap();

    let send = |email: &'static str| {
        let um = um.clone();
        let id = ada.id.clone();
        async move {
            um.send_email_change(&id, SendEmailChange::new(email))
                .await
                .unwrap_err()
        }
    };
    let err = send("ADA@example.com").await;
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some("email_change_not_needed"))
    );
    let err = send("bob@example.com").await;
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some("email_not_available"))
    );
    let err = send("not an email").await;
    assert_eq!(
        (err.status(), err.code()),
        (Some(422), Some("invalid_email"))
    );

    let err = um
        .send_email_change("user_nobody", SendEmailChange::new("x@example.com"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = um
        .confirm_email_change("user_nobody", "123456")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let err = um
        .confirm_email_change(&ada.id, "123456")
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some("no_pending_email_change"))
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn an_expired_code_and_too_many_wrong_codes_are_refused_until_a_new_code() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let ada = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();

    um.send_email_change(&ada.id, SendEmailChange::new("ada@new.example"))
        .await
        .unwrap();
    let code = code_sent_to(&emulator, "ada@new.example");
    emulator.advance_clock(Duration::from_secs(11 * 60));
    let err = um.confirm_email_change(&ada.id, &code).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some("email_change_code_expired"))
    );

    // A new code; five wrong guesses end it, even for the right code.
    um.send_email_change(&ada.id, SendEmailChange::new("ada@new.example"))
        .await
        .unwrap();
    let code = code_sent_to(&emulator, "ada@new.example");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let err = um.confirm_email_change(&ada.id, wrong).await.unwrap_err();
        assert_eq!(err.code(), Some("email_change_code_incorrect"));
    }
    let err = um.confirm_email_change(&ada.id, &code).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(429), Some("email_change_too_many_attempts"))
    );

    // A fresh code works; the superseded one does not.
    um.send_email_change(&ada.id, SendEmailChange::new("ada@new.example"))
        .await
        .unwrap();
    let fresh = code_sent_to(&emulator, "ada@new.example");
    if fresh != code {
        let err = um.confirm_email_change(&ada.id, &code).await.unwrap_err();
        assert_eq!(err.code(), Some("email_change_code_incorrect"));
    }
    let done = um.confirm_email_change(&ada.id, &fresh).await.unwrap();
    assert_eq!(done.user.email, "ada@new.example");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_new_address_taken_before_confirmation_is_not_available() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let ada = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    um.send_email_change(&ada.id, SendEmailChange::new("shared@example.com"))
        .await
        .unwrap();
    let code = code_sent_to(&emulator, "shared@example.com");
    um.create_user(CreateUser::new("shared@example.com"))
        .await
        .unwrap();
    let err = um.confirm_email_change(&ada.id, &code).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some("email_not_available"))
    );
    assert_eq!(um.get_user(&ada.id).await.unwrap().email, "ada@example.com");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_malformed_body_is_refused_with_invalid_request_parameters() {
    let emulator = Emulator::start().await.unwrap();
    let ada = emulator
        .client()
        .user_management()
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    for (path, body) in [
        ("send", "{}"),
        ("send", r#"{"new_email": 42}"#),
        ("confirm", "{}"),
        ("confirm", r#"{"code": ["123456"]}"#),
    ] {
        let (status, answer) = support::raw_api_call(
            &emulator,
            reqwest::Method::POST,
            &format!("/user_management/users/{}/email_change/{path}", ada.id),
            body,
        )
        .await;
        assert_eq!(status, 422, "{path} {body}: {answer}");
        assert_eq!(answer["code"], "invalid_request_parameters", "{answer}");
    }
    support::assert_contract(&emulator);
}
