//! Sessions: listing, revoking, the logout URL and the JWKS, against the emulator over HTTP.

use authkit_axum::user_management::{
    AuthenticateResponse, AuthenticateWithPassword, AuthenticateWithRefreshToken, CreateUser,
    ListSessions, SessionAuthMethod, SessionStatus, UserManagement,
};
use authkit_emulator::Emulator;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

const PASSWORD: &str = "correct horse battery staple";

async fn sign_in(um: &UserManagement, email: &str) -> AuthenticateResponse {
    um.authenticate_with_password(
        AuthenticateWithPassword::new(email, PASSWORD)
            .ip_address("198.51.100.42")
            .user_agent("Mozilla/5.0 (sessions test)"),
    )
    .await
    .unwrap()
}

async fn new_user(um: &UserManagement, email: &str) -> String {
    um.create_user(
        CreateUser::new(email)
            .password(PASSWORD)
            .email_verified(true),
    )
    .await
    .unwrap()
    .id
}

/// The `sid` claim, read from the payload (signature checks are in tests/authenticate.rs).
fn sid(response: &AuthenticateResponse) -> String {
    let payload = response
        .access_token
        .expose_secret()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

async fn refresh_fails(um: &UserManagement, response: &AuthenticateResponse) {
    let err = um
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            response.refresh_token.clone(),
        ))
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
}

#[tokio::test]
async fn sessions_are_listed_and_revoked() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user_id = new_user(&um, "ada@example.com").await;
    let first = sign_in(&um, "ada@example.com").await;
    let second = sign_in(&um, "ada@example.com").await;

    let page = um
        .list_sessions(&user_id, &ListSessions::new())
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    // Newest first.
    let newest = &page.data[0];
    assert_eq!(newest.id, sid(&second));
    assert_eq!(newest.user_id, user_id);
    assert_eq!(newest.auth_method, SessionAuthMethod::Password);
    assert_eq!(newest.status, SessionStatus::Active);
    assert_eq!(newest.ip_address.as_deref(), Some("198.51.100.42"));
    assert_eq!(
        newest.user_agent.as_deref(),
        Some("Mozilla/5.0 (sessions test)")
    );
    assert!(newest.ended_at.is_none() && newest.organization_id.is_none());

    um.revoke_session(&sid(&first)).await.unwrap();
    refresh_fails(&um, &first).await;
    // The other session is untouched.
    um.authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
        second.refresh_token.clone(),
    ))
    .await
    .unwrap();
    let remaining: Vec<_> = um
        .list_sessions_stream(&user_id, ListSessions::new().limit(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].id, sid(&second));

    // Revoking twice is fine; an unknown session is a 400.
    um.revoke_session(&sid(&first)).await.unwrap();
    let err = um.revoke_session("session_unknown").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = um
        .list_sessions("user_unknown", &ListSessions::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_logout_url_ends_the_session_and_redirects() {
    // The sign-out redirect the app registered (a return_to must be one of them).
    let emulator = Emulator::builder()
        .logout_redirect_uri("http://localhost:3000/signed-out?x=1")
        .start()
        .await
        .unwrap();
    let um = emulator.client().user_management();
    new_user(&um, "ada@example.com").await;
    let response = sign_in(&um, "ada@example.com").await;
    let session_id = sid(&response);

    let url = um
        .get_logout_url(&session_id, Some("http://localhost:3000/signed-out?x=1"))
        .unwrap();
    assert_eq!(
        url.as_str(),
        format!(
            "{}/user_management/sessions/logout?session_id={session_id}&return_to=http%3A%2F%2Flocalhost%3A3000%2Fsigned-out%3Fx%3D1",
            emulator.base_url()
        )
    );
    // Building the URL sends nothing.
    assert!(
        !emulator
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/logout"))
    );

    // The browser follows it: no API key, a redirect to return_to.
    let browser = crate::support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(
        answer.headers()["location"],
        "http://localhost:3000/signed-out?x=1"
    );
    refresh_fails(&um, &response).await;

    // Without return_to, to the default (first registered) sign-out redirect.
    let other = sign_in(&um, "ada@example.com").await;
    let answer = browser
        .get(um.get_logout_url(&sid(&other), None).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(
        answer.headers()["location"],
        "http://localhost:3000/signed-out?x=1"
    );
    refresh_fails(&um, &other).await;

    // With none registered, a small page says the user is signed out.
    let bare = Emulator::start().await.unwrap();
    let bare_um = bare.client().user_management();
    new_user(&bare_um, "ada@example.com").await;
    let signed_in = sign_in(&bare_um, "ada@example.com").await;
    let answer = browser
        .get(bare_um.get_logout_url(&sid(&signed_in), None).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("Signed out"));
    refresh_fails(&bare_um, &signed_in).await;

    // An unregistered return_to is refused with a page, never followed.
    let third = sign_in(&um, "ada@example.com").await;
    let answer = browser
        .get(
            um.get_logout_url(&sid(&third), Some("https://evil.example/"))
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.headers().get("location").is_none());

    assert!(um.get_logout_url("", None).is_err());
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_jwks_is_public_and_per_client() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let jwks = um.get_jwks().await.unwrap();
    assert_eq!(jwks.keys.len(), 1);
    let key = &jwks.keys[0];
    assert_eq!(key.e, "AQAB");
    assert_eq!(
        URL_SAFE_NO_PAD.decode(&key.n).unwrap().len(),
        256,
        "RSA-2048"
    );
    let request = emulator.requests().pop().unwrap();
    assert_eq!(request.path, format!("/sso/jwks/{}", emulator.client_id()));
    assert!(
        !request.authorized,
        "the JWKS is fetched without the API key"
    );
    assert_eq!(
        um.get_jwks_url().as_str(),
        format!("{}/sso/jwks/{}", emulator.base_url(), emulator.client_id())
    );

    let other = emulator
        .client_builder()
        .client_id("client_other")
        .build()
        .unwrap();
    let err = other.user_management().get_jwks().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    support::assert_contract(&emulator);
}
