//! Redirect URIs and CORS origins added over the API: a created redirect URI is then accepted
//! by the hosted sign-in; duplicates and malformed values get the spec's errors.

use authkit_axum::user_management::{AuthorizationUrl, CreateUser};
use authkit_emulator::{Emulator, Impersonation};

use crate::support;
use crate::support::EmulatorExt as _;

const PREVIEW: &str = "http://localhost:4242/auth/callback";

#[tokio::test]
async fn a_created_redirect_uri_is_accepted_by_the_sign_in() {
    let emulator = Emulator::builder()
        .redirect_uri("http://localhost:3000/auth/callback")
        .start()
        .await
        .unwrap();
    let um = emulator.client().user_management();
    let authorize = um
        .get_authorization_url(&AuthorizationUrl::new(PREVIEW))
        .unwrap();
    let http = support::http_client().build().unwrap();
    let refused = http.get(authorize.clone()).send().await.unwrap();
    assert_eq!(refused.status(), 400);

    let created = um.create_redirect_uri(PREVIEW).await.unwrap();
    assert!(created.id.starts_with("ruri_"), "{}", created.id);
    assert_eq!(created.uri, PREVIEW);
    assert!(!created.default, "one was registered before");
    let page = http.get(authorize.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    um.create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    let callback = emulator
        .approve_sign_in(authorize.as_str(), "ada@example.com")
        .unwrap();
    assert!(callback.as_str().starts_with(PREVIEW), "{callback}");

    // The same URI again, or one registered at start: 422, as the spec's example says.
    for uri in [PREVIEW, "http://localhost:3000/auth/callback"] {
        let err = um.create_redirect_uri(uri).await.unwrap_err();
        assert_eq!(err.status(), Some(422), "{uri}: {err}");
        assert!(err.to_string().contains("already exists"), "{err}");
    }
    let err = um.create_redirect_uri("not a url").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn the_first_redirect_uri_of_an_app_without_any_is_the_default() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    let impersonation = Impersonation::new("ada@example.com", "support@example.com");
    assert!(
        emulator.impersonate(&impersonation).is_err(),
        "no redirect URI yet"
    );
    assert!(um.create_redirect_uri(PREVIEW).await.unwrap().default);
    // Impersonation goes to the default one.
    let callback = emulator.impersonate(&impersonation).unwrap();
    assert!(callback.as_str().starts_with(PREVIEW), "{callback}");
    assert!(
        !um.create_redirect_uri("http://localhost:4243/cb")
            .await
            .unwrap()
            .default
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn cors_origins_are_created_once_and_must_be_origins() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let origin = um
        .create_cors_origin("https://app.example.com")
        .await
        .unwrap();
    assert!(origin.id.starts_with("cors_origin_"), "{}", origin.id);
    assert_eq!(origin.origin, "https://app.example.com");
    let other = um
        .create_cors_origin("http://localhost:5173")
        .await
        .unwrap();
    assert_eq!(other.origin, "http://localhost:5173");

    let err = um
        .create_cors_origin("https://app.example.com")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
    assert_eq!(err.code(), Some("duplicate_cors_origin"));
    for bad in [
        "app.example.com",
        "https://app.example.com/path",
        "ftp://files.example",
    ] {
        let err = um.create_cors_origin(bad).await.unwrap_err();
        assert_eq!(err.status(), Some(422), "{bad}: {err}");
    }
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn bodies_without_the_uri_or_origin_are_refused() {
    let emulator = Emulator::start().await.unwrap();
    for path in [
        "/user_management/redirect_uris",
        "/user_management/cors_origins",
    ] {
        let (status, answer) =
            support::raw_api_call(&emulator, reqwest::Method::POST, path, "{}").await;
        assert_eq!(status, 422, "{path}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_reset_forgets_the_redirect_uris_and_origins_created_over_the_api() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_redirect_uri(PREVIEW).await.unwrap();
    um.create_cors_origin("https://app.example.com")
        .await
        .unwrap();
    emulator.reset();
    let authorize = um
        .get_authorization_url(&AuthorizationUrl::new(PREVIEW))
        .unwrap();
    let page = support::http_client()
        .build()
        .unwrap()
        .get(authorize)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    // Both can be created again.
    assert!(um.create_redirect_uri(PREVIEW).await.unwrap().default);
    um.create_cors_origin("https://app.example.com")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_created_cors_origin_may_call_the_api_from_a_browser() {
    const APP: &str = "http://localhost:5173";
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let http = support::http_client().build().unwrap();
    let jwks = um.get_jwks_url();
    let preflight = || {
        http.request(reqwest::Method::OPTIONS, jwks.clone())
            .header("origin", APP)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed_origin = |response: &reqwest::Response| {
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };

    // Not an origin of the app yet: the preflight fails, and answers carry no CORS header.
    let refused = preflight().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(allowed_origin(&refused), None);
    let plain = http
        .get(jwks.clone())
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(allowed_origin(&plain), None);

    um.create_cors_origin(APP).await.unwrap();
    let ok = preflight().await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(allowed_origin(&ok).as_deref(), Some(APP));
    assert_eq!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap(),
        "authorization"
    );
    let shared = http
        .get(jwks.clone())
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed_origin(&shared).as_deref(), Some(APP));
    // Another origin still gets nothing.
    let other = http
        .get(jwks)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed_origin(&other), None);
    support::assert_contract(&emulator);
}
