//! Email verification: send a code, confirm it, read it back, and every refusal, against the
//! emulator over HTTP.

use std::time::Duration;

use authkit_axum::user_management::{CreateUser, UpdateUser};
use authkit_emulator::{EmailKind, Emulator};

use crate::support;
use crate::support::EmulatorExt as _;

fn code_sent_to(emulator: &Emulator, email: &str) -> String {
    let sent = emulator.last_email_to(email).expect("an email was sent");
    assert_eq!(sent.kind, EmailKind::EmailVerification);
    sent.code.expect("the email carries a code")
}

#[tokio::test]
async fn a_user_verifies_their_email_with_the_emailed_code() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    assert!(!user.email_verified);

    let returned = um.send_verification_email(&user.id).await.unwrap();
    assert_eq!(returned.id, user.id);
    assert!(!returned.email_verified);
    let code = code_sent_to(&emulator, "ada@example.com");
    assert_eq!(code.len(), 6);

    // The verification can be read back, with the same code.
    let id = emulator.latest_email_verification_id(&user.id).unwrap();
    let verification = um.get_email_verification(&id).await.unwrap();
    assert!(verification.id.starts_with("email_verification_"));
    assert_eq!(verification.user_id, user.id);
    assert_eq!(verification.email, "ada@example.com");
    assert_eq!(verification.code.expose_secret(), code);
    assert!(!format!("{verification:?}").contains(&code));
    assert_eq!(
        verification.expires_at - verification.created_at,
        time::Duration::minutes(10)
    );

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = um.verify_email(&user.id, wrong).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("email_verification_code_incorrect"));

    let verified = um.verify_email(&user.id, &code).await.unwrap();
    assert!(verified.email_verified);
    assert!(um.get_user(&user.id).await.unwrap().email_verified);

    let err = um.verify_email(&user.id, &code).await.unwrap_err();
    assert_eq!(err.code(), Some("email_previously_verified"));
    let err = um.send_verification_email(&user.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("email_already_verified"));

    // Once used, the code stays used even if the email is marked unverified again.
    um.update_user(&user.id, UpdateUser::new().email_verified(false))
        .await
        .unwrap();
    let err = um.verify_email(&user.id, &code).await.unwrap_err();
    assert_eq!(err.code(), Some("email_verification_code_previously_used"));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn expired_and_superseded_codes_are_refused() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user = um
        .create_user(CreateUser::new("grace@example.com"))
        .await
        .unwrap();

    um.send_verification_email(&user.id).await.unwrap();
    let first = code_sent_to(&emulator, "grace@example.com");
    emulator.advance_clock(Duration::from_secs(11 * 60));
    let err = um.verify_email(&user.id, &first).await.unwrap_err();
    assert_eq!(err.code(), Some("email_verification_code_expired"));

    um.send_verification_email(&user.id).await.unwrap();
    let second = code_sent_to(&emulator, "grace@example.com");
    um.send_verification_email(&user.id).await.unwrap();
    let third = code_sent_to(&emulator, "grace@example.com");
    if second != third {
        let err = um.verify_email(&user.id, &second).await.unwrap_err();
        assert_eq!(err.code(), Some("email_verification_code_incorrect"));
    }
    assert!(
        um.verify_email(&user.id, &third)
            .await
            .unwrap()
            .email_verified
    );

    // Unknown users and verifications: 404.
    let err = um
        .send_verification_email("user_01NOPE00000000000000000000")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = um
        .verify_email("user_01NOPE00000000000000000000", "123456")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = um
        .get_email_verification("email_verification_missing")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    support::assert_contract(&emulator);
}
