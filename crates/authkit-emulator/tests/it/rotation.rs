//! Signing-key rotation: a new key signs from now on while the JWKS keeps the old one, until
//! the old one is retired.

use authkit_emulator::{EmulatorError, SigningKey};

use crate::support::{self, jwks, kid_of, kids, password_sign_in, refresh, verify_with};

fn key(n: usize) -> SigningKey {
    SigningKey::development_key(n).unwrap()
}

#[tokio::test]
async fn tokens_from_before_and_after_a_rotation_verify_until_the_old_key_is_retired() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    let before = password_sign_in(&emulator, "ada@example.com").await;
    let old_token = before["access_token"].as_str().unwrap().to_owned();
    assert_eq!(kid_of(&old_token), "emulator_dev_key_1");
    assert_eq!(kids(&jwks(&emulator).await), ["emulator_dev_key_1"]);

    emulator.rotate_signing_key(key(2)).unwrap();
    assert_eq!(emulator.signing_kid(), "emulator_dev_key_2");
    // New tokens (a sign-in, a refresh) are signed with the new key.
    let (status, refreshed) = refresh(&emulator, before["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    let new_token = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(kid_of(&new_token), "emulator_dev_key_2");
    let signed_in = password_sign_in(&emulator, "ada@example.com").await;
    assert_eq!(
        kid_of(signed_in["access_token"].as_str().unwrap()),
        "emulator_dev_key_2"
    );

    // Both keys are published: both tokens verify.
    let both = jwks(&emulator).await;
    assert_eq!(kids(&both), ["emulator_dev_key_1", "emulator_dev_key_2"]);
    assert!(verify_with(&both, &old_token).is_ok());
    assert!(verify_with(&both, &new_token).is_ok());
    // A token does not verify with the other key (the keys really differ).
    let swapped = old_token.replacen(
        &old_token[..old_token.find('.').unwrap()],
        &new_token[..new_token.find('.').unwrap()],
        1,
    );
    assert!(verify_with(&both, &swapped).is_err());

    emulator.retire_signing_key("emulator_dev_key_1").unwrap();
    let after = jwks(&emulator).await;
    assert_eq!(kids(&after), ["emulator_dev_key_2"]);
    assert!(
        verify_with(&after, &old_token)
            .unwrap_err()
            .contains("no key emulator_dev_key_1")
    );
    assert!(verify_with(&after, &new_token).is_ok());
    assert_eq!(emulator.published_kids(), ["emulator_dev_key_2"]);
}

#[tokio::test]
async fn a_key_can_be_published_before_it_signs() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    emulator.publish_signing_key(key(3)).unwrap();
    assert_eq!(
        kids(&jwks(&emulator).await),
        ["emulator_dev_key_1", "emulator_dev_key_3"]
    );
    let token = password_sign_in(&emulator, "ada@example.com").await;
    assert_eq!(
        kid_of(token["access_token"].as_str().unwrap()),
        "emulator_dev_key_1"
    );
    // Rotating to it keeps a single copy in the JWKS.
    emulator.rotate_signing_key(key(3)).unwrap();
    assert_eq!(
        emulator.published_kids(),
        ["emulator_dev_key_1", "emulator_dev_key_3"]
    );
    let token = password_sign_in(&emulator, "ada@example.com").await;
    assert_eq!(
        kid_of(token["access_token"].as_str().unwrap()),
        "emulator_dev_key_3"
    );
}

#[tokio::test]
async fn rotation_mistakes_are_refused() {
    let emulator = support::start().await;
    let refused = |r: Result<(), EmulatorError>| matches!(r, Err(EmulatorError::Refused(_)));
    // The key signing now cannot be retired, nor a key that is not published.
    assert!(refused(emulator.retire_signing_key("emulator_dev_key_1")));
    assert!(refused(emulator.retire_signing_key("emulator_dev_key_9")));
    // Another key under a published kid would make tokens ambiguous.
    let impostor = SigningKey::from_pem(
        include_str!("../../keys/emulator_dev_key_4.key.pem"),
        include_str!("../../keys/emulator_dev_key_4.crt.pem"),
        "emulator_dev_key_1",
    )
    .unwrap();
    assert!(refused(emulator.rotate_signing_key(impostor.clone())));
    assert!(refused(emulator.publish_signing_key(impostor)));
    assert_eq!(emulator.published_kids(), ["emulator_dev_key_1"]);
    assert_eq!(emulator.signing_kid(), "emulator_dev_key_1");
}
