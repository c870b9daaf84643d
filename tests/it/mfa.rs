//! MFA: enroll a TOTP factor, list factors, challenge a factor, and finish a sign-in with the
//! mfa-totp grant, against the emulator over HTTP.

use authkit_axum::Error;
use authkit_axum::user_management::{
    AuthenticateWithEmailVerification, AuthenticateWithPassword,
    AuthenticateWithSelectedOrganization, AuthenticateWithTotp, AuthenticationFactorType,
    CreateUser, EnrollAuthFactor, ListAuthFactors, UserManagement,
};
use authkit_emulator::Emulator;
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

const PASSWORD: &str = "correct horse battery staple";

/// A code that is not the current one (nor the neighbouring steps').
fn wrong_code(secret: &str) -> String {
    let right = crate::support::totp(secret, 0);
    let n: u32 = right.parse().unwrap();
    format!("{:06}", (n + 500_000) % 1_000_000)
}

async fn user(um: &UserManagement, email: &str, verified: bool) -> String {
    um.create_user(
        CreateUser::new(email)
            .password(PASSWORD)
            .email_verified(verified),
    )
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn enrolling_returns_the_secret_once() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = user(&um, "ada@example.com", true).await;

    let enrolled = um
        .enroll_auth_factor(
            &user_id,
            EnrollAuthFactor::totp()
                .totp_issuer("Acme")
                .totp_user("ada@acme.test"),
        )
        .await
        .unwrap();
    let factor = &enrolled.authentication_factor;
    assert!(factor.id.starts_with("auth_factor_"));
    assert_eq!(factor.kind, AuthenticationFactorType::Totp);
    assert_eq!(factor.user_id.as_deref(), Some(user_id.as_str()));
    let totp = factor.totp.as_ref().unwrap();
    assert_eq!(
        (totp.issuer.as_str(), totp.user.as_str()),
        ("Acme", "ada@acme.test")
    );
    let secret = totp.secret.as_ref().unwrap().expose_secret().to_owned();
    assert!(secret.len() >= 16, "{secret}");
    let uri = totp.uri.as_ref().unwrap().expose_secret();
    assert!(
        uri.starts_with("otpauth://totp/Acme:ada%40acme%2Etest?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Acme"));
    assert!(
        totp.qr_code
            .as_deref()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,")
    );
    assert_eq!(
        enrolled.authentication_challenge.authentication_factor_id,
        factor.id
    );
    assert!(
        enrolled
            .authentication_challenge
            .id
            .starts_with("auth_challenge_")
    );
    // The secret never shows in debug output.
    assert!(!format!("{enrolled:?}").contains(&secret));

    // A caller-supplied secret is kept.
    let own = um
        .enroll_auth_factor(
            &user_id,
            EnrollAuthFactor::totp().totp_secret("JBSWY3DPEHPK3PXPJBSWY3DP"),
        )
        .await
        .unwrap();
    let own_totp = own.authentication_factor.totp.unwrap();
    assert_eq!(
        own_totp.secret.unwrap().expose_secret(),
        "JBSWY3DPEHPK3PXPJBSWY3DP"
    );
    // Defaults: the user's email as the account name.
    assert_eq!(own_totp.user, "ada@example.com");

    // Listing shows the factors without their secrets.
    let page = um
        .list_auth_factors(&user_id, &ListAuthFactors::new())
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert!(
        page.data
            .iter()
            .all(|f| f.totp.as_ref().unwrap().secret.is_none())
    );
    let streamed: Vec<_> = um
        .list_auth_factors_stream(&user_id, ListAuthFactors::new().limit(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 2);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn enrollment_errors() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = user(&um, "ada@example.com", true).await;

    let mut sms = EnrollAuthFactor::totp();
    sms.kind = AuthenticationFactorType::Sms;
    let err = um.enroll_auth_factor(&user_id, sms).await.unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");

    let err = um
        .enroll_auth_factor(
            &user_id,
            EnrollAuthFactor::totp().totp_secret("not base32!"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");

    let err = um
        .enroll_auth_factor("user_missing", EnrollAuthFactor::totp())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");

    let err = um
        .challenge_auth_factor("auth_factor_missing")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_user_with_a_factor_must_pass_a_totp_challenge() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = user(&um, "ada@example.com", true).await;
    let enrolled = um
        .enroll_auth_factor(&user_id, EnrollAuthFactor::totp())
        .await
        .unwrap();
    let secret = enrolled
        .authentication_factor
        .totp
        .unwrap()
        .secret
        .unwrap()
        .expose_secret()
        .to_owned();

    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    let Error::MfaChallenge(step) = &err else {
        panic!("expected mfa_challenge, got {err:?}");
    };
    assert_eq!(step.status, 403);
    assert_eq!(step.user.id, user_id);
    assert_eq!(step.authentication_factors.len(), 1);
    let factor = &step.authentication_factors[0];
    assert_eq!(factor.id, enrolled.authentication_factor.id);
    assert_eq!(factor.kind, "totp");
    let token = step.pending_authentication_token.clone();
    assert!(!format!("{err:?}").contains(token.expose_secret()));

    let challenge = um.challenge_auth_factor(&factor.id).await.unwrap();
    assert_eq!(challenge.authentication_factor_id, factor.id);

    // A wrong code fails; the pending token and the challenge stay usable.
    let err = um
        .authenticate_with_totp(AuthenticateWithTotp::new(
            wrong_code(&secret),
            token.clone(),
            challenge.id.clone(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_one_time_code"), "{err}");

    let response = um
        .authenticate_with_totp(AuthenticateWithTotp::new(
            crate::support::totp(&secret, 0),
            token.clone(),
            challenge.id.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(response.user.id, user_id);

    // The pending token is spent.
    let err = um
        .authenticate_with_totp(AuthenticateWithTotp::new(
            crate::support::totp(&secret, 0),
            token,
            challenge.id,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("invalid_pending_authentication_token"),
        "{err}"
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_challenge_of_another_users_factor_is_refused() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let ada = user(&um, "ada@example.com", true).await;
    let eve = user(&um, "eve@example.com", true).await;
    um.enroll_auth_factor(&ada, EnrollAuthFactor::totp())
        .await
        .unwrap();
    let eves = um
        .enroll_auth_factor(&eve, EnrollAuthFactor::totp())
        .await
        .unwrap();
    let eve_secret = eves
        .authentication_factor
        .totp
        .unwrap()
        .secret
        .unwrap()
        .expose_secret()
        .to_owned();

    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    let token = err.pending_authentication_token().unwrap().clone();
    let err = um
        .authenticate_with_totp(AuthenticateWithTotp::new(
            crate::support::totp(&eve_secret, 0),
            token,
            eves.authentication_challenge.id,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("user_mismatch"), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn step_ups_follow_each_other_email_then_mfa_then_organization() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = user(&um, "new@example.com", false).await;
    let enrolled = um
        .enroll_auth_factor(&user_id, EnrollAuthFactor::totp())
        .await
        .unwrap();
    let secret = enrolled
        .authentication_factor
        .totp
        .unwrap()
        .secret
        .unwrap()
        .expose_secret()
        .to_owned();
    let one = emulator.create_organization("One");
    let two = emulator.create_organization("Two");
    emulator.seed_membership(&user_id, &one, "member");
    emulator.seed_membership(&user_id, &two, "admin");

    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("new@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::EmailVerificationRequired(_)),
        "{err:?}"
    );
    let code = emulator
        .last_email_to("new@example.com")
        .unwrap()
        .code
        .unwrap();
    let err = um
        .authenticate_with_email_verification(AuthenticateWithEmailVerification::new(
            code,
            err.pending_authentication_token().unwrap().clone(),
        ))
        .await
        .unwrap_err();
    let Error::MfaChallenge(step) = &err else {
        panic!("expected mfa_challenge after the email, got {err:?}");
    };
    let challenge = um
        .challenge_auth_factor(&step.authentication_factors[0].id)
        .await
        .unwrap();
    let err = um
        .authenticate_with_totp(AuthenticateWithTotp::new(
            crate::support::totp(&secret, 0),
            step.pending_authentication_token.clone(),
            challenge.id,
        ))
        .await
        .unwrap_err();
    let Error::OrganizationSelectionRequired(step) = &err else {
        panic!("expected organization_selection_required after MFA, got {err:?}");
    };
    let response = um
        .authenticate_with_selected_organization(AuthenticateWithSelectedOrganization::new(
            step.pending_authentication_token.clone(),
            two.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(response.organization_id.as_deref(), Some(two.as_str()));
    assert!(response.user.email_verified);
    support::assert_contract(&emulator);
}
