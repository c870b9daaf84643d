//! Authentication: the password, magic auth, code, email verification, organization selection
//! and refresh grants, their step-ups and errors, against the emulator over HTTP.

use authkit_axum::user_management::{
    AuthenticateResponse, AuthenticateWithCode, AuthenticateWithEmailVerification,
    AuthenticateWithMagicAuth, AuthenticateWithPassword, AuthenticateWithRefreshToken,
    AuthenticateWithSelectedOrganization, AuthenticationMethod, CreateUser, UserManagement,
};
use authkit_axum::{Client, Error};
use authkit_emulator::{EmailKind, Emulator};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support;
use crate::support::EmulatorExt as _;

const PASSWORD: &str = "correct horse battery staple";

async fn verified_user(um: &UserManagement, email: &str) -> String {
    um.create_user(
        CreateUser::new(email)
            .password(PASSWORD)
            .email_verified(true),
    )
    .await
    .unwrap()
    .id
}

/// Verifies the access token's RS256 signature with the JWKS fetched by the client, and
/// returns its claims.
async fn verified_claims(um: &UserManagement, response: &AuthenticateResponse) -> Value {
    let token = response.access_token.expose_secret();
    let header = support::jwt::header(token);
    assert_eq!(header["alg"], "RS256");
    let jwks = um.get_jwks().await.unwrap();
    let kid = header["kid"].as_str().expect("a kid in the token header");
    let jwk = jwks.find(kid).expect("the token's key is in the JWKS");
    assert_eq!(
        (jwk.alg.as_str(), jwk.kty.as_str(), jwk.key_use.as_str()),
        ("RS256", "RSA", "sig")
    );
    assert!(!jwk.x5c.is_empty() && jwk.x5t_s256.is_some());
    let claims = support::jwt::verify_rs256(token, &jwk.n, &jwk.e).unwrap();
    assert!(claims["exp"].as_i64().unwrap() > unix_now(), "{claims}");
    claims
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn password_sign_in_returns_a_verifiable_access_token() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = verified_user(&um, "ada@example.com").await;
    let org = emulator.create_organization("Acme");
    emulator.seed_membership(&user_id, &org, "admin");

    let response = um
        .authenticate_with_password(
            AuthenticateWithPassword::new("ada@example.com", PASSWORD)
                .ip_address("203.0.113.7")
                .user_agent("Mozilla/5.0 (test)"),
        )
        .await
        .unwrap();
    assert_eq!(response.user.id, user_id);
    assert!(response.user.last_sign_in_at.is_some());
    assert_eq!(response.organization_id.as_deref(), Some(org.as_str()));
    assert_eq!(
        response.authentication_method,
        Some(AuthenticationMethod::Password)
    );
    assert!(response.impersonator.is_none());
    assert!(!response.refresh_token.is_empty());

    let claims = verified_claims(&um, &response).await;
    assert_eq!(claims["sub"], user_id.as_str());
    assert!(claims["sid"].as_str().unwrap().starts_with("session_"));
    assert_eq!(claims["org_id"], org.as_str());
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["roles"], serde_json::json!(["admin"]));
    assert!(
        claims["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "users:manage")
    );
    assert!(
        claims["iss"]
            .as_str()
            .unwrap()
            .starts_with(emulator.base_url())
    );
    assert!(claims["jti"].is_string());
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        (exp - unix_now() - 300).abs() <= 5,
        "5-minute tokens: {exp}"
    );
    assert!(claims.get("act").is_none());

    // The JWKS URL is the one the client fetched, and the JWKS is fetched without the API key.
    let jwks_request = emulator
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/sso/jwks/"))
        .unwrap();
    assert_eq!(
        um.get_jwks_url().as_str(),
        format!("{}{}", emulator.base_url(), jwks_request.path)
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_user_without_organizations_gets_a_token_without_org_claims() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    verified_user(&um, "solo@example.com").await;
    let response = um
        .authenticate_with_password(AuthenticateWithPassword::new("SOLO@example.com", PASSWORD))
        .await
        .unwrap();
    assert_eq!(response.organization_id, None);
    let claims = verified_claims(&um, &response).await;
    assert!(claims.get("org_id").is_none() && claims.get("role").is_none());
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn wrong_credentials_are_invalid_credentials() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    verified_user(&um, "ada@example.com").await;

    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new(
            "ada@example.com",
            "not the password",
        ))
        .await
        .unwrap_err();
    assert!(err.is_invalid_credentials(), "{err}");
    assert_eq!(err.status(), Some(400));
    assert!(!format!("{err:?}").contains("not the password"));

    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new(
            "nobody@example.com",
            PASSWORD,
        ))
        .await
        .unwrap_err();
    assert!(err.is_invalid_credentials(), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn client_credentials_are_checked() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    verified_user(&um, "ada@example.com").await;

    let wrong_id = emulator
        .client_builder()
        .client_id("client_someone_else")
        .build()
        .unwrap();
    let err = wrong_id
        .user_management()
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_client"), "{err}");
    assert_eq!(err.status(), Some(400));

    // A public client (no API key) cannot use the password grant.
    let public = Client::builder()
        .client_id(emulator.client_id())
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    let err = public
        .user_management()
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_client"), "{err}");
    let sent = emulator.requests().pop().unwrap();
    let body = sent.request_body.unwrap();
    assert!(body.get("client_secret").is_none(), "{body}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn an_unverified_email_is_verified_with_the_emailed_code() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_user(CreateUser::new("new@example.com").password(PASSWORD))
        .await
        .unwrap();

    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("new@example.com", PASSWORD))
        .await
        .unwrap_err();
    let Error::EmailVerificationRequired(step) = &err else {
        panic!("expected email_verification_required, got {err:?}");
    };
    assert_eq!(step.email, "new@example.com");
    assert_eq!(step.status, 403);
    assert!(
        step.email_verification_id
            .as_deref()
            .is_some_and(|id| id.starts_with("email_verification_"))
    );
    let email = emulator.last_email_to("new@example.com").unwrap();
    assert_eq!(email.kind, EmailKind::EmailVerification);
    let code = email.code.clone().unwrap();
    // The step-up's debug output shows neither the pending token nor the password.
    let debug = format!("{err:?}");
    assert!(!debug.contains(step.pending_authentication_token.expose_secret()));
    assert!(!debug.contains(PASSWORD));

    // A wrong code fails and leaves the pending token usable.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = um
        .authenticate_with_email_verification(AuthenticateWithEmailVerification::new(
            wrong,
            step.pending_authentication_token.clone(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_one_time_code"), "{err}");

    let response = um
        .authenticate_with_email_verification(AuthenticateWithEmailVerification::new(
            code.clone(),
            step.pending_authentication_token.clone(),
        ))
        .await
        .unwrap();
    assert!(response.user.email_verified);
    assert!(um.get_user(&response.user.id).await.unwrap().email_verified);

    // The pending token is single use.
    let err = um
        .authenticate_with_email_verification(AuthenticateWithEmailVerification::new(
            code,
            step.pending_authentication_token.clone(),
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
async fn pending_tokens_expire_after_ten_minutes() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_user(CreateUser::new("late@example.com").password(PASSWORD))
        .await
        .unwrap();
    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("late@example.com", PASSWORD))
        .await
        .unwrap_err();
    let token = err.pending_authentication_token().unwrap().clone();
    let code = emulator
        .last_email_to("late@example.com")
        .unwrap()
        .code
        .unwrap();
    emulator.advance_clock(std::time::Duration::from_secs(11 * 60));
    let err = um
        .authenticate_with_email_verification(AuthenticateWithEmailVerification::new(code, token))
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
async fn several_organizations_ask_the_user_to_choose() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = verified_user(&um, "ada@example.com").await;
    let acme = emulator.create_organization("Acme");
    let globex = emulator.create_organization("Globex");
    let other = emulator.create_organization("Not Ada's");
    emulator.seed_membership(&user_id, &acme, "admin");
    emulator.seed_membership(&user_id, &globex, "member");

    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    let Error::OrganizationSelectionRequired(step) = &err else {
        panic!("expected organization_selection_required, got {err:?}");
    };
    assert_eq!(step.user.id, user_id);
    let mut names: Vec<_> = step.organizations.iter().map(|o| o.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Acme", "Globex"]);
    assert!(!format!("{err:?}").contains(step.pending_authentication_token.expose_secret()));

    // An organization the user is not in is refused, and the token stays usable.
    let err = um
        .authenticate_with_selected_organization(AuthenticateWithSelectedOrganization::new(
            step.pending_authentication_token.clone(),
            other,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("organization_membership_not_found"),
        "{err}"
    );

    let response = um
        .authenticate_with_selected_organization(AuthenticateWithSelectedOrganization::new(
            step.pending_authentication_token.clone(),
            globex.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(response.organization_id.as_deref(), Some(globex.as_str()));
    let claims = verified_claims(&um, &response).await;
    assert_eq!(claims["org_id"], globex.as_str());
    assert_eq!(claims["role"], "member");
    assert_eq!(claims["permissions"], serde_json::json!(["widgets:read"]));

    // Single use.
    let err = um
        .authenticate_with_selected_organization(AuthenticateWithSelectedOrganization::new(
            step.pending_authentication_token.clone(),
            acme,
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
async fn email_verification_is_followed_by_organization_selection() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = um
        .create_user(CreateUser::new("chain@example.com").password(PASSWORD))
        .await
        .unwrap()
        .id;
    for name in ["One", "Two"] {
        let org = emulator.create_organization(name);
        emulator.seed_membership(&user_id, &org, "member");
    }
    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("chain@example.com", PASSWORD))
        .await
        .unwrap_err();
    let token = err.pending_authentication_token().unwrap().clone();
    let code = emulator
        .last_email_to("chain@example.com")
        .unwrap()
        .code
        .unwrap();
    let err = um
        .authenticate_with_email_verification(AuthenticateWithEmailVerification::new(code, token))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::OrganizationSelectionRequired(_)),
        "{err:?}"
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_switch_organization() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = verified_user(&um, "ada@example.com").await;
    let acme = emulator.create_organization("Acme");
    emulator.seed_membership(&user_id, &acme, "admin");
    let first = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let first_claims = verified_claims(&um, &first).await;

    let second = um
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            first.refresh_token.clone(),
        ))
        .await
        .unwrap();
    assert_ne!(
        second.refresh_token.expose_secret(),
        first.refresh_token.expose_secret()
    );
    let second_claims = verified_claims(&um, &second).await;
    assert_eq!(second_claims["sid"], first_claims["sid"]);
    assert_ne!(second_claims["jti"], first_claims["jti"]);
    assert_eq!(second.organization_id.as_deref(), Some(acme.as_str()));

    // The old refresh token is spent.
    let err = um
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            first.refresh_token.clone(),
        ))
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");

    // Switching to an organization the user is not in fails and keeps the token usable.
    let globex = emulator.create_organization("Globex");
    let err = um
        .authenticate_with_refresh_token(
            AuthenticateWithRefreshToken::new(second.refresh_token.clone())
                .organization_id(globex.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("organization_membership_not_found"),
        "{err}"
    );

    emulator.seed_membership(&user_id, &globex, "member");
    let third = um
        .authenticate_with_refresh_token(
            AuthenticateWithRefreshToken::new(second.refresh_token.clone())
                .organization_id(globex.clone()),
        )
        .await
        .unwrap();
    assert_eq!(third.organization_id.as_deref(), Some(globex.as_str()));
    let third_claims = verified_claims(&um, &third).await;
    assert_eq!(third_claims["org_id"], globex.as_str());
    assert_eq!(third_claims["role"], "member");
    assert_eq!(third_claims["sid"], first_claims["sid"]);

    // Without organization_id the session keeps its latest organization.
    let fourth = um
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            third.refresh_token.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(fourth.organization_id.as_deref(), Some(globex.as_str()));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn magic_auth_codes_sign_in_once() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_user(CreateUser::new("magic@example.com"))
        .await
        .unwrap();
    let code = emulator.seed_magic_auth("magic@example.com").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let err = um
        .authenticate_with_magic_auth(AuthenticateWithMagicAuth::new(wrong, "magic@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_one_time_code"), "{err}");

    let response = um
        .authenticate_with_magic_auth(AuthenticateWithMagicAuth::new(
            code.clone(),
            "magic@example.com",
        ))
        .await
        .unwrap();
    assert_eq!(
        response.authentication_method,
        Some(AuthenticationMethod::MagicAuth)
    );
    // Receiving the code proved the address.
    assert!(response.user.email_verified);

    let err = um
        .authenticate_with_magic_auth(AuthenticateWithMagicAuth::new(code, "magic@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("one_time_code_previously_used"), "{err}");

    let late = emulator.seed_magic_auth("magic@example.com").unwrap();
    emulator.advance_clock(std::time::Duration::from_secs(11 * 60));
    let err = um
        .authenticate_with_magic_auth(AuthenticateWithMagicAuth::new(late, "magic@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("one_time_code_expired"), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn authorization_codes_are_single_use_and_check_pkce() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = verified_user(&um, "ada@example.com").await;

    // Without PKCE: a confidential client exchanges the code once.
    let code = emulator.seed_authorization_code(&user_id, None);
    let response = um
        .authenticate_with_code(AuthenticateWithCode::new(code.clone()))
        .await
        .unwrap();
    assert_eq!(response.user.id, user_id);
    let err = um
        .authenticate_with_code(AuthenticateWithCode::new(code))
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");

    // A verifier for a code issued without a challenge.
    let code = emulator.seed_authorization_code(&user_id, None);
    let err = um
        .authenticate_with_code(AuthenticateWithCode::new(code).code_verifier("x".repeat(43)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("code_challenge_not_found"), "{err}");

    // With PKCE: the verifier must match the S256 challenge.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let code = emulator.seed_authorization_code(&user_id, Some(&challenge));
    let err = um
        .authenticate_with_code(
            AuthenticateWithCode::new(code.clone()).code_verifier("y".repeat(43)),
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    let response = um
        .authenticate_with_code(AuthenticateWithCode::new(code).code_verifier(verifier))
        .await
        .unwrap();
    assert_eq!(response.user.id, user_id);

    // An expired code.
    let code = emulator.seed_authorization_code(&user_id, None);
    emulator.advance_clock(std::time::Duration::from_secs(11 * 60));
    let err = um
        .authenticate_with_code(AuthenticateWithCode::new(code))
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_public_client_needs_pkce() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = verified_user(&um, "ada@example.com").await;
    let public = Client::builder()
        .client_id(emulator.client_id())
        .base_url(emulator.base_url())
        .build()
        .unwrap()
        .user_management();

    // Without PKCE a public client cannot exchange a code.
    let code = emulator.seed_authorization_code(&user_id, None);
    let err = public
        .authenticate_with_code(AuthenticateWithCode::new(code))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_client"), "{err}");

    // A session a confidential client started cannot be refreshed without the secret.
    let confidential = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let err = public
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            confidential.refresh_token.clone(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_client"), "{err}");
    support::assert_contract(&emulator);

    // With PKCE it can, and it can refresh the session it started. Spec 0.1.0 marks
    // client_secret as required on both grants although WorkOS and its SDKs serve public
    // clients, so these two exchanges are left out of the contract check.
    let verifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let code = emulator.seed_authorization_code(&user_id, Some(&challenge));
    let signed_in = public
        .authenticate_with_code(AuthenticateWithCode::new(code).code_verifier(verifier))
        .await
        .unwrap();
    assert_eq!(signed_in.user.id, user_id);
    let refreshed = public
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            signed_in.refresh_token.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(refreshed.user.id, user_id);
    let sent: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/user_management/authenticate" && r.status == 200)
        .filter_map(|r| r.request_body)
        .filter(|b| b.get("client_secret").is_none())
        .collect();
    assert_eq!(sent.len(), 2, "both public exchanges omitted client_secret");
    assert!(
        emulator
            .requests()
            .iter()
            .rev()
            .take(2)
            .all(|r| !r.authorized)
    );
}

#[tokio::test]
async fn debug_output_redacts_tokens_and_passwords() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    verified_user(&um, "ada@example.com").await;
    let params = AuthenticateWithPassword::new("ada@example.com", PASSWORD);
    assert!(!format!("{params:?}").contains(PASSWORD));
    let response = um.authenticate_with_password(params).await.unwrap();
    let debug = format!("{response:?}");
    assert!(!debug.contains(response.access_token.expose_secret()));
    assert!(!debug.contains(response.refresh_token.expose_secret()));
    assert!(debug.contains("ada@example.com"));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn tokens_follow_the_configured_issuer_lifetime_and_clock() {
    let emulator = Emulator::builder()
        .issuer("https://auth.example.test")
        .access_token_ttl(std::time::Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let um = emulator.client().user_management();
    verified_user(&um, "ada@example.com").await;
    let response = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let claims = verified_claims(&um, &response).await;
    assert_eq!(claims["iss"], "https://auth.example.test");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 30);

    // Tokens issued after the clock moves carry the emulator's time.
    emulator.advance_clock(std::time::Duration::from_secs(3600));
    let refreshed = um
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            response.refresh_token.clone(),
        ))
        .await
        .unwrap();
    let payload = refreshed
        .access_token
        .expose_secret()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let later: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(later["iat"].as_i64().unwrap() >= iat + 3600);
    support::assert_contract(&emulator);
}
