//! Password reset: create and email a link, read it back, reset the password once, against
//! the emulator over HTTP.

use std::time::Duration;

use authkit_axum::user_management::{CreateUser, ResetPassword};
use authkit_emulator::{EmailKind, Emulator};

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn a_password_is_reset_with_the_emailed_token_once() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user = um
        .create_user(CreateUser::new("ada@example.com").password("the old password"))
        .await
        .unwrap();

    let reset = um
        .send_password_reset_email("ada@example.com")
        .await
        .unwrap();
    assert!(reset.id.starts_with("password_reset_"), "{}", reset.id);
    assert_eq!(reset.user_id, user.id);
    assert_eq!(reset.email, "ada@example.com");
    let token = reset.password_reset_token.expose_secret().to_owned();
    assert!(
        !format!("{reset:?}").contains(&token),
        "the token is redacted"
    );
    let url = reset.password_reset_url.expose_secret();
    assert_eq!(
        url,
        format!("{}/reset-password?token={token}", emulator.base_url())
    );
    assert_eq!(
        reset.expires_at - reset.created_at,
        time::Duration::hours(1)
    );
    // The body is only {email}: the current endpoint, not the legacy /password_reset/send.
    let sent = emulator
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/user_management/password_reset")
        .unwrap();
    assert_eq!(
        sent.request_body,
        Some(serde_json::json!({ "email": "ada@example.com" }))
    );

    let email = emulator.last_email_to("ada@example.com").unwrap();
    assert_eq!(email.kind, EmailKind::PasswordReset);
    assert_eq!(email.link.as_deref(), Some(url));
    assert_eq!(email.token.as_deref(), Some(token.as_str()));

    let fetched = um.get_password_reset(&reset.id).await.unwrap();
    assert_eq!(fetched.id, reset.id);
    assert_eq!(fetched.password_reset_token.expose_secret(), token);

    // A weak password is refused without using up the token.
    let err = um
        .reset_password(ResetPassword::new(token.as_str(), "short"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("password_reset_error"));
    assert_eq!(
        err.as_api_error().unwrap().errors[0].code.as_deref(),
        Some("password_too_short")
    );

    let updated = um
        .reset_password(ResetPassword::new(token.as_str(), "a brand new passphrase"))
        .await
        .unwrap();
    assert_eq!(updated.id, user.id);
    assert!(updated.email_verified, "a reset verifies the email");

    // Single use.
    let err = um
        .reset_password(ResetPassword::new(token.as_str(), "yet another passphrase"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("password_reset_error"));
    assert_eq!(
        err.as_api_error().unwrap().errors[0].code.as_deref(),
        Some("password_reset_token_previously_used")
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn unknown_emails_bad_and_expired_tokens_are_refused() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();

    let err = um
        .send_password_reset_email("nobody@example.com")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(emulator.outbox().is_empty());

    let err = um
        .reset_password(ResetPassword::new("not-a-token", "a brand new passphrase"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("password_reset_error"));
    assert_eq!(
        err.as_api_error().unwrap().errors[0].code.as_deref(),
        Some("password_reset_token_invalid")
    );

    um.create_user(CreateUser::new("grace@example.com"))
        .await
        .unwrap();
    let reset = um
        .send_password_reset_email("grace@example.com")
        .await
        .unwrap();
    emulator.advance_clock(Duration::from_secs(61 * 60));
    let err = um
        .reset_password(ResetPassword::new(
            reset.password_reset_token.clone(),
            "a brand new passphrase",
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.as_api_error().unwrap().errors[0].code.as_deref(),
        Some("password_reset_token_expired")
    );

    let err = um
        .get_password_reset("password_reset_missing")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    support::assert_contract(&emulator);
}
