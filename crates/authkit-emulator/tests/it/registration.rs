//! What an app registers, enforced as WorkOS enforces it: redirect URIs, logout redirect URIs,
//! and the host names the emulator answers to (no DNS rebinding of a developer's machine).

use authkit_emulator::{Emulator, EmulatorError};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{self, CALLBACK, HOME, code_of, http, password_sign_in, refresh, verify};

const EVIL: &str = "https://evil.example/steal";

fn authorize_url(emulator: &Emulator, redirect_uri: &str) -> String {
    let mut url = url::Url::parse(&format!(
        "{}/user_management/authorize",
        emulator.base_url()
    ))
    .unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", emulator.client_id())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("provider", "authkit")
        .append_pair("state", "s1");
    url.into()
}

/// Asserts an HTML error page, never a redirect.
async fn assert_refused_page(response: reqwest::Response, mentions: &[&str]) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers().get("location").is_none(),
        "never a redirect"
    );
    let page = response.text().await.unwrap();
    for text in mentions {
        assert!(page.contains(text), "{text:?} not in {page}");
    }
}

#[tokio::test]
async fn authorize_refuses_an_unregistered_redirect_uri_with_a_page_never_a_redirect() {
    let emulator = support::start().await;
    let ok = http()
        .get(authorize_url(&emulator, CALLBACK))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    for unregistered in [
        EVIL,
        "http://localhost:3000/auth/callback/",
        "http://localhost:3000/auth/callback?next=/admin",
        "http://localhost:3001/auth/callback",
        "https://localhost:3000/auth/callback",
    ] {
        let response = http()
            .get(authorize_url(&emulator, unregistered))
            .send()
            .await
            .unwrap();
        assert_refused_page(
            response,
            &[
                "not registered",
                "EmulatorBuilder::redirect_uri",
                "--redirect-uri",
            ],
        )
        .await;
    }
    // The page names the URI to register (HTML-escaped).
    let page = http()
        .get(authorize_url(&emulator, EVIL))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains(EVIL));

    // With nothing registered, every sign-in is refused.
    let bare = Emulator::start().await.unwrap();
    let response = http()
        .get(authorize_url(&bare, CALLBACK))
        .send()
        .await
        .unwrap();
    assert_refused_page(response, &["Registered now: none"]).await;
}

#[tokio::test]
async fn the_hosted_page_refuses_a_redirect_uri_changed_in_its_form() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    let url = format!("{}/__emulator/authorize/sign-in", emulator.base_url());
    let post = |redirect_uri: &str| {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", emulator.client_id())
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("state", "s1")
            .append_pair("email", "ada@example.com")
            .append_pair("password", support::PASSWORD)
            .finish();
        http()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    let tampered = post(EVIL).await.unwrap();
    assert_refused_page(tampered, &["not registered"]).await;
    // The same form with the registered URI signs in and goes back to it.
    let done = post(CALLBACK).await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{CALLBACK}?code=")),
        "{location}"
    );
}

#[tokio::test]
async fn approve_sign_in_refuses_an_unregistered_redirect_uri() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    for helper in [Emulator::approve_sign_in, Emulator::approve_sign_in_pending] {
        let err = helper(
            &emulator,
            &authorize_url(&emulator, EVIL),
            "ada@example.com",
        )
        .unwrap_err();
        assert!(matches!(err, EmulatorError::Refused(_)), "{err:?}");
        assert!(
            err.to_string().contains("EmulatorBuilder::redirect_uri"),
            "{err}"
        );
        assert!(
            helper(
                &emulator,
                &authorize_url(&emulator, CALLBACK),
                "ada@example.com"
            )
            .is_ok()
        );
    }
}

#[tokio::test]
async fn the_code_exchange_checks_a_redirect_uri_it_is_given() {
    let emulator = support::builder()
        .redirect_uri("http://localhost:3000/other")
        .start()
        .await
        .unwrap();
    support::user(&emulator, "ada@example.com").await;
    let callback = emulator
        .approve_sign_in(&authorize_url(&emulator, CALLBACK), "ada@example.com")
        .unwrap();
    let code = code_of(&callback);
    let exchange = |redirect_uri: &'static str| {
        support::authenticate(
            &emulator,
            json!({ "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri }),
        )
    };
    // Another (even registered) URI than the one the code went to: refused.
    let (status, body) = exchange("http://localhost:3000/other").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = exchange(CALLBACK).await;
    assert_eq!(status, 200, "{body}");

    // Without redirect_uri (what the WorkOS SDKs send), the exchange works as before.
    let callback = emulator
        .approve_sign_in(&authorize_url(&emulator, CALLBACK), "ada@example.com")
        .unwrap();
    let (status, body) = support::exchange(&emulator, &code_of(&callback)).await;
    assert_eq!(status, 200, "{body}");
}

async fn logout(emulator: &Emulator, sid: &str, return_to: Option<&str>) -> reqwest::Response {
    let mut url = url::Url::parse(&format!(
        "{}/user_management/sessions/logout",
        emulator.base_url()
    ))
    .unwrap();
    url.query_pairs_mut().append_pair("session_id", sid);
    if let Some(to) = return_to {
        url.query_pairs_mut().append_pair("return_to", to);
    }
    http().get(url).send().await.unwrap()
}

#[tokio::test]
async fn logout_returns_only_to_a_registered_logout_redirect_uri() {
    let emulator = support::builder()
        .logout_redirect_uri("http://localhost:3000/signed-out")
        .start()
        .await
        .unwrap();
    support::user(&emulator, "ada@example.com").await;
    let auth = password_sign_in(&emulator, "ada@example.com").await;
    let sid = verify(&emulator, auth["access_token"].as_str().unwrap()).await["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let refused = logout(&emulator, &sid, Some(EVIL)).await;
    assert_refused_page(
        refused,
        &[
            "not a registered logout redirect URI",
            "EmulatorBuilder::logout_redirect_uri",
        ],
    )
    .await;
    // Refused means nothing happened: the session is still active.
    let (status, auth) = refresh(&emulator, auth["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{auth}");

    let done = logout(&emulator, &sid, Some("http://localhost:3000/signed-out")).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(
        done.headers()["location"],
        "http://localhost:3000/signed-out"
    );
    let (status, _) = refresh(&emulator, auth["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400, "signed out");

    // Without return_to: the default (first registered) logout redirect URI.
    let other = password_sign_in(&emulator, "ada@example.com").await;
    let sid = verify(&emulator, other["access_token"].as_str().unwrap()).await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = logout(&emulator, &sid, None).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(done.headers()["location"], HOME);
}

/// A request to `path` addressed to `host` (the `Host` header a browser would send).
async fn get_as(emulator: &Emulator, host: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", emulator.base_url()))
        .header("host", host)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn requests_addressed_to_another_host_are_refused() {
    let emulator = support::builder()
        .allowed_host("emulator")
        .start()
        .await
        .unwrap();
    let port = emulator.addr().port();
    let outbox = "/__emulator/outbox";
    let jwks = format!("/sso/jwks/{}", emulator.client_id());

    // DNS rebinding: a page on evil.example, resolved to 127.0.0.1, asks for the outbox
    // (sign-in codes) or the hosted page. Its Host header gives it away.
    for path in [outbox, jwks.as_str(), "/user_management/authorize"] {
        for host in [
            format!("evil.example:{port}"),
            "evil.example".to_owned(),
            format!("127.0.0.1.evil.example:{port}"),
        ] {
            let response = get_as(&emulator, &host, path).await;
            assert_eq!(
                response.status(),
                StatusCode::MISDIRECTED_REQUEST,
                "{host} {path}"
            );
            let text = response.text().await.unwrap();
            assert!(text.contains("DNS rebinding"), "{text}");
            assert!(text.contains("EmulatorBuilder::allowed_host"), "{text}");
        }
    }
    let api = http()
        .post(format!(
            "{}/user_management/authenticate",
            emulator.base_url()
        ))
        .header("host", "evil.example")
        .json(&json!({ "grant_type": "password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(
        emulator
            .requests()
            .iter()
            .all(|r| r.path != "/user_management/authenticate"),
        "a refused request reaches nothing"
    );

    // Loopback names, any port, and the configured name are answered.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_owned(),
        format!("emulator:{port}"),
        "EMULATOR:80".to_owned(),
    ] {
        let response = get_as(&emulator, &host, &jwks).await;
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn malformed_registrations_are_refused_at_start() {
    for builder in [
        Emulator::builder().redirect_uri("/auth/callback"),
        Emulator::builder().redirect_uri("http://localhost:3000/cb#fragment"),
        Emulator::builder().logout_redirect_uri("javascript:alert(1)"),
        Emulator::builder().allowed_host("emulator:4100"),
        Emulator::builder().allowed_host("http://emulator"),
    ] {
        let err = builder.start().await.unwrap_err();
        assert!(matches!(err, EmulatorError::Invalid(_)), "{err:?}");
    }
}
