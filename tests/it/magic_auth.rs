//! Magic Auth: create and email a code, read it back, against the emulator over HTTP.

use authkit_axum::user_management::{CreateUser, ListUsers, SendInvitation, SendMagicAuthCode};
use authkit_emulator::{EmailKind, Emulator};

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn a_code_is_created_emailed_and_read_back() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();

    let magic = um
        .send_magic_auth_code(SendMagicAuthCode::new("ada@example.com"))
        .await
        .unwrap();
    assert!(magic.id.starts_with("magic_auth_"), "{}", magic.id);
    assert_eq!(magic.user_id, user.id);
    assert_eq!(magic.email, "ada@example.com");
    let code = magic.code.expose_secret().to_owned();
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
    assert!(
        !format!("{magic:?}").contains(&code),
        "the code is redacted"
    );
    assert_eq!(
        magic.expires_at - magic.created_at,
        time::Duration::minutes(10)
    );

    // The same code is emailed.
    let email = emulator.last_email_to("ada@example.com").unwrap();
    assert_eq!(email.kind, EmailKind::MagicAuth);
    assert_eq!(email.code.as_deref(), Some(code.as_str()));

    let fetched = um.get_magic_auth(&magic.id).await.unwrap();
    assert_eq!(fetched.id, magic.id);
    assert_eq!(fetched.code.expose_secret(), code);
    let err = um.get_magic_auth("magic_auth_missing").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // The current endpoint, not the legacy /magic_auth/send.
    assert!(
        emulator
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/user_management/magic_auth")
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_code_for_an_unknown_email_creates_the_user() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let magic = um
        .send_magic_auth_code(SendMagicAuthCode::new("newcomer@example.com"))
        .await
        .unwrap();
    let users = um
        .list_users(&ListUsers::new().email("newcomer@example.com"))
        .await
        .unwrap();
    assert_eq!(users.data.len(), 1);
    assert_eq!(users.data[0].id, magic.user_id);
    assert!(!users.data[0].email_verified);

    // A second code goes to the same user.
    let again = um
        .send_magic_auth_code(SendMagicAuthCode::new("newcomer@example.com"))
        .await
        .unwrap();
    assert_eq!(again.user_id, magic.user_id);
    assert_ne!(again.id, magic.id);
    assert_eq!(emulator.outbox().len(), 2);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn bad_emails_and_invitation_tokens_are_refused() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();

    let err = um
        .send_magic_auth_code(SendMagicAuthCode::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));

    let err = um
        .send_magic_auth_code(
            SendMagicAuthCode::new("guest@example.com").invitation_token("wrong-token"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("invitation_invalid"));
    assert!(emulator.outbox().is_empty(), "nothing is sent");

    // The invitation's own token is accepted, for its own email only.
    let invitation = um
        .send_invitation(SendInvitation::new("guest@example.com"))
        .await
        .unwrap();
    let token = invitation.token.expose_secret();
    let err = um
        .send_magic_auth_code(SendMagicAuthCode::new("other@example.com").invitation_token(token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invitation_invalid"));
    let magic = um
        .send_magic_auth_code(SendMagicAuthCode::new("guest@example.com").invitation_token(token))
        .await
        .unwrap();
    assert_eq!(magic.email, "guest@example.com");
    support::assert_contract(&emulator);
}
