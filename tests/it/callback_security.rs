//! Bad input on the sign-in routes: every refused callback, redirect or sign-out answers
//! clearly AND leaves the sessions as they were (no session created, none lost).
#![cfg(feature = "axum")]

use std::str::FromStr;

use authkit_axum::AuthKitBuilder;
use authkit_axum::tower_sessions::cookie::Cookie;
use authkit_axum::tower_sessions::session::Id;
use authkit_axum::tower_sessions::session_store::SessionStore;
use authkit_axum::tower_sessions::{MemoryStore, Session};
use authkit_axum::web::{CallbackError, SESSION_COOKIE};
use authkit_emulator::{Emulator, Fault};
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum_test::TestResponse;
use serde_json::{Value, json};

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{AUTH_SESSION_DATA_KEY, AUTH_SESSION_KEY, TestApp, location};

const ADA: &str = "ada@example.com";

/// The app's own routes: a cart kept in the same session, and the session id (to find the
/// record in the store).
fn app_routes() -> Router {
    async fn add_to_cart(session: Session) -> &'static str {
        session.insert("cart", json!(["book"])).await.unwrap();
        "added"
    }
    async fn cart(session: Session) -> String {
        let cart: Option<Value> = session.get("cart").await.unwrap();
        cart.map(|c| c.to_string())
            .unwrap_or_else(|| "empty".into())
    }
    async fn session_id(session: Session) -> String {
        session.id().map(|id| id.to_string()).unwrap_or_default()
    }
    Router::new()
        .route("/cart", get(cart).post(add_to_cart))
        .route("/session-id", get(session_id))
}

async fn start() -> (TestApp, MemoryStore) {
    start_with(|b| b).await
}

async fn start_with(
    configure: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
) -> (TestApp, MemoryStore) {
    let (app, store) =
        TestApp::start_with_store(Emulator::builder(), configure, app_routes()).await;
    app.user(ADA).await;
    (app, store)
}

fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{url} has no {name}"))
}

fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The path and query of an emulator callback URL, with `state` replaced.
fn with_state(callback: &url::Url, state: &str) -> String {
    format!(
        "/auth/callback?code={}&state={}",
        enc(&param(callback.as_str(), "code")),
        enc(state)
    )
}

/// Who `/` says is signed in.
async fn home(app: &TestApp) -> String {
    app.server.get("/").await.text()
}

/// The stored record of the client's current session (None without a session).
async fn record(
    app: &TestApp,
    store: &MemoryStore,
) -> Option<authkit_axum::tower_sessions::session::Record> {
    let id = app.server.get("/session-id").await.text();
    if id.is_empty() {
        return None;
    }
    store.load(&Id::from_str(&id).unwrap()).await.unwrap()
}

async fn has_auth_session(app: &TestApp, store: &MemoryStore) -> bool {
    record(app, store)
        .await
        .is_some_and(|r| r.data.contains_key(AUTH_SESSION_KEY))
}

fn sets_session_cookie(response: &TestResponse) -> bool {
    response.maybe_cookie(SESSION_COOKIE).is_some()
}

fn assert_error_page(response: &TestResponse, status: StatusCode, needle: &str) {
    response.assert_status(status);
    let body = response.text();
    assert!(body.contains(needle), "{needle:?} not in {body}");
    let cache = response.headers()["cache-control"].to_str().unwrap();
    assert!(cache.contains("no-store"), "cache-control {cache}");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn a_callback_without_code_is_refused_and_signs_nobody_in() {
    let (app, store) = start().await;
    let authorize = app.start_sign_in("").await;
    let state = param(&authorize, "state");

    let response = app
        .server
        .get(&format!("/auth/callback?state={}", enc(&state)))
        .await;
    assert_error_page(&response, StatusCode::BAD_REQUEST, "no code parameter");
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_callback_without_state_is_refused_and_the_pending_sign_in_survives() {
    let (app, store) = start().await;
    let authorize = app.start_sign_in("").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();

    let response = app
        .server
        .get(&format!(
            "/auth/callback?code={}",
            enc(&param(callback.as_str(), "code"))
        ))
        .await;
    assert_error_page(&response, StatusCode::BAD_REQUEST, "no state parameter");
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);
    // The real callback still completes the sign-in.
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_forged_state_is_refused_without_consuming_the_real_one() {
    let (app, store) = start().await;
    let authorize = app.start_sign_in("").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();

    let forged = with_state(&callback, "forged-state-0123456789abcdefghijklmnop");
    let response = app.server.get(&forged).await;
    assert_error_page(
        &response,
        StatusCode::BAD_REQUEST,
        "does not match a sign-in started here",
    );
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);
    // A state one character off is forged too.
    let mut near = param(&authorize, "state");
    let last = near.pop().unwrap();
    near.push(if last == 'A' { 'B' } else { 'A' });
    app.server
        .get(&with_state(&callback, &near))
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(home(&app).await, "anonymous");

    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_replayed_callback_is_refused_and_the_session_survives() {
    let (app, store) = start().await;
    let authorize = app.start_sign_in("?return_to=%2Faccount").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    let first = app.callback(&callback).await;
    first.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&first), "/account");
    let before = record(&app, &store).await.unwrap();

    let replay = app.callback(&callback).await;
    assert_error_page(
        &replay,
        StatusCode::BAD_REQUEST,
        "does not match a sign-in started here",
    );
    assert!(!sets_session_cookie(&replay));
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    let after = record(&app, &store).await.unwrap();
    assert_eq!(after.id, before.id, "the session id must not change");
    for key in [AUTH_SESSION_KEY, AUTH_SESSION_DATA_KEY] {
        assert_eq!(after.data[key], before.data[key], "{key} must not change");
    }
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_callback_in_a_browser_that_started_no_sign_in_is_refused() {
    let (app, store) = start().await;
    let authorize = app.start_sign_in("").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    let path = format!("{}?{}", callback.path(), callback.query().unwrap());

    // Another browser (no cookie) receives the callback, e.g. a link sent to a victim.
    let elsewhere = app
        .server
        .get(&path)
        .clear_cookies()
        .do_not_save_cookies()
        .await;
    assert_error_page(
        &elsewhere,
        StatusCode::BAD_REQUEST,
        "does not match a sign-in started here",
    );
    assert!(
        !sets_session_cookie(&elsewhere),
        "no session may be created for a stranger"
    );
    // The browser that started the sign-in still completes it.
    assert_eq!(home(&app).await, "anonymous");
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    assert!(has_auth_session(&app, &store).await);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_workos_error_is_shown_escaped_and_consumes_the_state() {
    let (app, store) = start().await;
    let authorize = app.start_sign_in("").await;
    let state = param(&authorize, "state");
    let description = "<script>alert(1)</script> The user denied access & left";

    let response = app
        .server
        .get(&format!(
            "/auth/callback?error=access_denied&error_description={}&state={}",
            enc(description),
            enc(&state)
        ))
        .await;
    assert_error_page(&response, StatusCode::BAD_REQUEST, "access_denied");
    let body = response.text();
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt; The user denied access &amp; left"),
        "{body}"
    );
    assert!(!body.contains("<script>"), "{body}");
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);

    // The state is used up: a code sent with it afterwards is refused.
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(home(&app).await, "anonymous");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_workos_error_without_a_matching_state_does_not_echo_its_description() {
    let (app, _store) = start().await;
    // Anyone can link to the callback: the page must not become a billboard for their text.
    let response = app
        .server
        .get(&format!(
            "/auth/callback?error=access_denied&error_description={}",
            enc("Your account is locked: call +1 555 0100")
        ))
        .await;
    response.assert_status(StatusCode::BAD_REQUEST);
    let body = response.text();
    assert!(body.contains("access_denied"), "{body}");
    assert!(!body.contains("555 0100"), "{body}");
    assert!(!sets_session_cookie(&response));
    // Nor through the error code.
    let response = app
        .server
        .get("/auth/callback?error=Your%20account%20is%20locked%3A%20call%20555%200100")
        .await;
    response.assert_status(StatusCode::BAD_REQUEST);
    let body = response.text();
    assert!(body.contains("an unrecognized error"), "{body}");
    assert!(!body.contains("555 0100"), "{body}");
    assert_eq!(home(&app).await, "anonymous");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_code_already_used_is_refused_and_the_session_survives() {
    let (app, _store) = start().await;
    let first_authorize = app.start_sign_in("").await;
    let second_authorize = app.start_sign_in("").await;
    let callback = app.emulator.approve_sign_in(&first_authorize, ADA).unwrap();
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // The same code again, with the other tab's (valid) state.
    let reused = with_state(&callback, &param(&second_authorize, "state"));
    let response = app.server.get(&reused).await;
    assert_error_page(
        &response,
        StatusCode::BAD_REQUEST,
        "the sign-in code has expired or was already used",
    );
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn the_callback_error_hook_replaces_the_page() {
    let (app, store) = start_with(|b| {
        b.on_callback_error(|err: &CallbackError| {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("our own page: {err} ({})", err.status().as_u16()),
            )
        })
    })
    .await;
    let response = app.server.get("/auth/callback?code=abc").await;
    response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.text(),
        "our own page: the sign-in response has no state parameter (400)"
    );
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn the_sign_in_hook_can_refuse_a_sign_in_with_any_response() {
    use authkit_axum::web::SignIn;
    use axum::response::Redirect;

    let (app, store) = start_with(|b| {
        // A plain async closure; a refusal is any response.
        b.on_sign_in(|auth: SignIn| async move {
            match auth.user.email.as_str() {
                email if email.ends_with("@example.com") => Ok(()),
                email if email.ends_with("@partner.test") => {
                    Err(Redirect::to("/ask-for-an-invitation").into_response())
                }
                _ => Err((StatusCode::FORBIDDEN, "this account is not invited").into_response()),
            }
        })
    })
    .await;
    app.user("eve@elsewhere.test").await;
    app.user("pat@partner.test").await;

    let refused = app.sign_in("eve@elsewhere.test").await;
    refused.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.text(), "this account is not invited");
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);

    let redirected = app.sign_in("pat@partner.test").await;
    redirected.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&redirected), "/ask-for-an-invitation");
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);

    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn two_tabs_sign_in_concurrently_in_either_order() {
    for reversed in [false, true] {
        let (app, _store) = start().await;
        let tab_a = app.start_sign_in("?return_to=%2Fa").await;
        let tab_b = app.start_sign_in("?return_to=%2Fb%3Fx%3D1").await;
        let callback_a = app.emulator.approve_sign_in(&tab_a, ADA).unwrap();
        let callback_b = app.emulator.approve_sign_in(&tab_b, ADA).unwrap();
        let order = if reversed {
            [(callback_b, "/b?x=1"), (callback_a, "/a")]
        } else {
            [(callback_a, "/a"), (callback_b, "/b?x=1")]
        };
        for (callback, expected) in order {
            let done = app.callback(&callback).await;
            done.assert_status(StatusCode::SEE_OTHER);
            assert_eq!(location(&done), expected, "reversed: {reversed}");
            assert_eq!(home(&app).await, format!("hello {ADA}"));
        }
        support::assert_contract(&app.emulator);
    }
}

#[tokio::test]
async fn pending_sign_ins_are_bounded_and_the_oldest_is_dropped() {
    let (app, _store) = start().await;
    let mut tabs = Vec::new();
    for i in 0..6 {
        tabs.push(app.start_sign_in(&format!("?return_to=%2Ftab{i}")).await);
    }
    let oldest = app.emulator.approve_sign_in(&tabs[0], ADA).unwrap();
    let response = app.callback(&oldest).await;
    assert_error_page(
        &response,
        StatusCode::BAD_REQUEST,
        "does not match a sign-in started here",
    );
    assert_eq!(home(&app).await, "anonymous");
    for (i, tab) in tabs.iter().enumerate().skip(1) {
        let callback = app.emulator.approve_sign_in(tab, ADA).unwrap();
        let done = app.callback(&callback).await;
        done.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(location(&done), format!("/tab{i}"));
    }
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn return_to_never_leaves_the_site() {
    let (app, _store) = start().await;
    let evil = [
        "//evil.com",
        "https://evil.com",
        "http://evil.com/account",
        "/\\evil.com",
        "\\\\evil.com",
        "/%2F%2Fevil.com",
        "/%2f%2fevil.com",
        "/%252F%252Fevil.com",
        "/%5Cevil.com",
        "/%5cevil.com",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "/\t/evil.com",
        "/%09/evil.com",
        "/%0D%0ALocation:%20https://evil.com",
        "evil.com",
        " //evil.com",
        "///evil.com",
        "/.//evil.com",
        "/%2e%2e//evil.com",
    ];
    for target in evil {
        // As the browser would send it (encoded once), and encoded twice.
        for query in [enc(target), enc(&enc(target))] {
            let authorize = app.start_sign_in(&format!("?return_to={query}")).await;
            let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
            let done = app.callback(&callback).await;
            done.assert_status(StatusCode::SEE_OTHER);
            let to = location(&done);
            assert_eq!(
                to, "/",
                "return_to {target:?} (sent as {query:?}) led to {to:?}"
            );
        }
    }
    // A non-ASCII path is kept, percent-encoded (a Location header is ASCII).
    let authorize = app
        .start_sign_in("?return_to=%2Fcaf%C3%A9%3Fq%3D%E2%9C%93")
        .await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    assert_eq!(
        location(&app.callback(&callback).await),
        "/caf%C3%A9?q=%E2%9C%93"
    );
    // A repeated return_to: the first one counts, and an evil second one changes nothing.
    let authorize = app
        .start_sign_in("?return_to=%2Fsettings&return_to=%2F%2Fevil.com")
        .await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    assert_eq!(location(&app.callback(&callback).await), "/settings");
    // A same-site path with a query is kept.
    let authorize = app.start_sign_in("?return_to=%2Faccount%3Ftab%3D1").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    assert_eq!(location(&app.callback(&callback).await), "/account?tab=1");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn the_default_after_sign_in_path_replaces_a_refused_return_to() {
    let (app, _store) = start_with(|b| b.after_sign_in("/dashboard")).await;
    let authorize = app.start_sign_in("?return_to=%2F%2Fevil.com").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    assert_eq!(location(&app.callback(&callback).await), "/dashboard");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_cross_site_logout_is_refused_and_the_session_survives() {
    let (app, _store) = start().await;
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);

    let forged = app
        .server
        .post("/auth/logout")
        .add_header("origin", "https://evil.com")
        .await;
    forged.assert_status(StatusCode::FORBIDDEN);
    assert!(forged.text().contains("cross-site request refused"));
    let sandboxed = app
        .server
        .post("/auth/logout")
        .add_header("origin", "null")
        .await;
    sandboxed.assert_status(StatusCode::FORBIDDEN);
    let no_origin = app
        .server
        .post("/auth/logout")
        .add_header("sec-fetch-site", "cross-site")
        .await;
    no_origin.assert_status(StatusCode::FORBIDDEN);
    let unreadable = app
        .server
        .post("/auth/logout")
        .add_header(
            "origin",
            axum::http::HeaderValue::from_bytes("https://\u{e9}vil.com".as_bytes()).unwrap(),
        )
        .await;
    unreadable.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(home(&app).await, format!("hello {ADA}"));

    // From the app's own page it works.
    let own = app
        .server
        .post("/auth/logout")
        .add_header("origin", "http://localhost:3000")
        .await;
    own.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, "anonymous");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn logout_without_a_session_goes_to_the_after_sign_out_url() {
    let (app, store) = start().await;
    let out = app.server.post("/auth/logout").await;
    out.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "http://localhost:3000/");
    assert!(!sets_session_cookie(&out));
    assert!(record(&app, &store).await.is_none());
    assert_eq!(home(&app).await, "anonymous");

    let (app, _store) = start_with(|b| b.after_sign_out("https://example.com/bye")).await;
    let out = app.server.post("/auth/logout").await;
    assert_eq!(location(&out), "https://example.com/bye");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn logout_keeps_the_apps_own_session_keys() {
    let (app, store) = start().await;
    app.server.post("/cart").await.assert_text("added");
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    // Signing in keeps the cart (the session id changes, the data stays).
    app.server.get("/cart").await.assert_text(r#"["book"]"#);
    let signed_in = record(&app, &store).await.unwrap();

    app.server
        .post("/auth/logout")
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, "anonymous");
    app.server.get("/cart").await.assert_text(r#"["book"]"#);
    let signed_out = record(&app, &store).await.unwrap();
    assert_ne!(
        signed_out.id, signed_in.id,
        "sign-out cycles the session id"
    );
    assert!(!signed_out.data.contains_key(AUTH_SESSION_KEY));
    assert!(!signed_out.data.contains_key(AUTH_SESSION_DATA_KEY));
    assert!(
        store.load(&signed_in.id).await.unwrap().is_none(),
        "the signed-in record is gone from the store"
    );
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn unreadable_session_data_is_anonymous_and_removed_where_it_is_read() {
    let (app, store) = start().await;
    app.server.post("/cart").await.assert_text("added");
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    let mut stored = record(&app, &store).await.unwrap();
    assert!(stored.data[AUTH_SESSION_KEY].is_u64(), "a revision");
    stored.data.insert(
        AUTH_SESSION_DATA_KEY.to_owned(),
        json!("{\"user\": \"not a user\"}"),
    );
    store.save(&stored).await.unwrap();

    // Another machine (or this one after a restart) reads the session's data afresh.
    let authkit = authkit_axum::AuthKit::builder(app.emulator.client(), support::app::CALLBACK)
        .build()
        .unwrap();
    let other = axum_test::TestServer::builder()
        .mock_transport()
        .build(support::app::router_with_extra(
            &authkit,
            store.clone(),
            app_routes(),
        ))
        .unwrap();
    let cookie = format!("{SESSION_COOKIE}={}", stored.id);
    let page = other.get("/").add_header("cookie", &cookie).await;
    page.assert_status_ok();
    assert_eq!(page.text(), "anonymous");
    let after = store.load(&stored.id).await.unwrap().unwrap();
    assert!(!after.data.contains_key(AUTH_SESSION_KEY));
    assert!(!after.data.contains_key(AUTH_SESSION_DATA_KEY));
    // The app's own keys stay.
    other
        .get("/cart")
        .add_header("cookie", &cookie)
        .await
        .assert_text(r#"["book"]"#);
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_tampered_session_cookie_is_anonymous() {
    let (mut app, store) = start().await;
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    let genuine = record(&app, &store).await.unwrap();

    for value in [
        "tampered".to_owned(),
        // Well-formed, but no such session.
        Id::default().to_string(),
        format!("{}x", genuine.id),
        "%00%ff'\"<>".to_owned(),
    ] {
        app.server
            .add_cookie(Cookie::new(SESSION_COOKIE, value.clone()));
        let home = app.server.get("/").await;
        home.assert_status_ok();
        assert_eq!(home.text(), "anonymous", "cookie {value:?}");
        let page = app
            .server
            .get("/account")
            .add_header("accept", "text/html")
            .await;
        page.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(location(&page), "/auth/login?return_to=%2Faccount");
    }
    // The genuine session was not touched.
    assert!(
        store
            .load(&genuine.id)
            .await
            .unwrap()
            .is_some_and(|r| r.data.contains_key(AUTH_SESSION_KEY))
    );
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn an_unreadable_stored_session_is_anonymous_and_removed() {
    let (app, store) = start().await;
    app.server.post("/cart").await.assert_text("added");
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    let mut stored = record(&app, &store).await.unwrap();
    stored.data.insert(
        AUTH_SESSION_KEY.to_owned(),
        json!({"user": "not a user", "garbage": [1, 2]}),
    );
    store.save(&stored).await.unwrap();

    let home_page = app.server.get("/").await;
    home_page.assert_status_ok();
    assert_eq!(home_page.text(), "anonymous");
    let after = store.load(&stored.id).await.unwrap().unwrap();
    assert!(
        !after.data.contains_key(AUTH_SESSION_KEY),
        "the unreadable value is removed"
    );
    assert!(
        !after.data.contains_key(AUTH_SESSION_DATA_KEY),
        "and the session it stood for"
    );
    // The app's own keys stay.
    app.server.get("/cart").await.assert_text(r#"["book"]"#);
    // Signing in again works.
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn repeated_callback_parameters_get_the_error_page_not_a_framework_400() {
    let (app, store) = start_with(|b| {
        b.on_callback_error(|err: &CallbackError| {
            (err.status(), format!("hook: {err}")).into_response()
        })
    })
    .await;
    let authorize = app.start_sign_in("").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    // A forged state placed first, the real one second: the first wins and is refused.
    let doubled = format!(
        "{}&state={}",
        with_state(&callback, "forged"),
        enc(&param(&authorize, "state"))
    );
    let response = app.server.get(&doubled).await;
    response.assert_status(StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .starts_with("hook: this sign-in response does not match"),
        "{}",
        response.text()
    );
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);
    // The real callback still works.
    app.callback(&callback)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn signing_in_gives_a_new_session_id() {
    let (app, store) = start().await;
    // A session id known before sign-in (an attacker could have planted it) ...
    app.server.post("/cart").await.assert_text("added");
    let before = record(&app, &store).await.unwrap();
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    // ... is not the signed-in session's id, and no longer exists.
    let after = record(&app, &store).await.unwrap();
    assert_ne!(after.id, before.id);
    assert!(after.data.contains_key(AUTH_SESSION_KEY));
    assert!(store.load(&before.id).await.unwrap().is_none());
    let planted = app
        .server
        .get("/")
        .clear_cookies()
        .do_not_save_cookies()
        .add_header("cookie", format!("{SESSION_COOKIE}={}", before.id))
        .await;
    assert_eq!(planted.text(), "anonymous");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_cross_site_organization_switch_is_refused() {
    let (app, _store) = start().await;
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    let forged = app
        .server
        .post("/auth/switch-organization")
        .add_header("origin", "https://evil.com")
        .form(&[("organization_id", "org_x"), ("return_to", "/")])
        .await;
    forged.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn an_expired_session_whose_refresh_token_was_revoked_is_signed_out() {
    let (app, store) = TestApp::start_with_store(
        Emulator::builder().access_token_ttl(std::time::Duration::from_secs(1)),
        |b| {
            b.refresh_margin(std::time::Duration::ZERO)
                .refresh_wait(std::time::Duration::from_secs(5))
        },
        app_routes(),
    )
    .await;
    app.user(ADA).await;
    app.server.post("/cart").await.assert_text("added");
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    let account: Value = app.server.get("/account").await.json();
    let sid = account["session_id"].as_str().unwrap().to_owned();
    // The session ends at WorkOS (signed out elsewhere, or revoked by an admin) ...
    app.emulator
        .client()
        .user_management()
        .revoke_session(&sid)
        .await
        .unwrap();
    // ... and the access token expires: the refresh fails with invalid_grant.
    app.advance(std::time::Duration::from_secs(2));
    let response = app.server.get("/").await;
    response.assert_status_ok();
    assert_eq!(response.text(), "anonymous");
    assert!(!has_auth_session(&app, &store).await);
    app.server.get("/cart").await.assert_text(r#"["book"]"#);
    let page = app
        .server
        .get("/account")
        .add_header("accept", "text/html")
        .await;
    page.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&page), "/auth/login?return_to=%2Faccount");
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn a_jwks_outage_during_the_callback_is_a_clear_502_and_signs_nobody_in() {
    // The app starts during a JWKS outage, so it has no keys cached.
    let app = TestApp::start_with_client(
        Emulator::builder(),
        |e| {
            e.inject_fault(Fault::new("/sso/jwks/*").status(503));
            e.client()
        },
        |b| b,
    )
    .await;
    let store = app.store.clone();
    app.user(ADA).await;
    let authorize = app.start_sign_in("").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    let response = app.callback(&callback).await;
    assert_error_page(
        &response,
        StatusCode::BAD_GATEWAY,
        "the JWKS could not be fetched",
    );
    assert_eq!(home(&app).await, "anonymous");
    assert!(!has_auth_session(&app, &store).await);
    support::assert_contract(&app.emulator);
}

/// A session store that yields to the scheduler on every call, so concurrent requests
/// interleave as they would with a networked store (Redis, a database).
#[derive(Debug, Clone, Default)]
struct YieldingStore(MemoryStore);

type StoreResult<T> = authkit_axum::tower_sessions::session_store::Result<T>;
type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<T>> + Send + 'a>>;

// `SessionStore` is an `async_trait`; its methods written out by hand.
impl SessionStore for YieldingStore {
    fn save<'a, 'b, 'c>(
        &'a self,
        record: &'b authkit_axum::tower_sessions::session::Record,
    ) -> StoreFuture<'c, ()>
    where
        'a: 'c,
        'b: 'c,
    {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.save(record).await
        })
    }

    fn load<'a, 'b, 'c>(
        &'a self,
        id: &'b Id,
    ) -> StoreFuture<'c, Option<authkit_axum::tower_sessions::session::Record>>
    where
        'a: 'c,
        'b: 'c,
    {
        Box::pin(async move {
            tokio::task::yield_now().await;
            let record = self.0.load(id).await;
            tokio::task::yield_now().await;
            record
        })
    }

    fn delete<'a, 'b, 'c>(&'a self, id: &'b Id) -> StoreFuture<'c, ()>
    where
        'a: 'c,
        'b: 'c,
    {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.delete(id).await
        })
    }
}

#[tokio::test]
async fn tabs_starting_sign_ins_at_the_same_moment_all_complete() {
    // A browser restoring three tabs of the app: three /auth/login at once, one session.
    let emulator = support::app::emulator_builder().start().await.unwrap();
    let authkit = authkit_axum::AuthKit::builder(emulator.client(), support::app::CALLBACK)
        .build()
        .unwrap();
    let server = axum_test::TestServer::builder()
        .save_cookies()
        .mock_transport()
        .build(support::app::router_with_extra(
            &authkit,
            YieldingStore::default(),
            app_routes(),
        ))
        .unwrap();
    emulator
        .client()
        .user_management()
        .create_user(
            authkit_axum::user_management::CreateUser::new(ADA)
                .password(support::app::PASSWORD)
                .email_verified(true),
        )
        .await
        .unwrap();
    server.post("/cart").await.assert_text("added");

    let logins = ["/t0", "/t1", "/t2"].map(|to| {
        std::future::IntoFuture::into_future(
            server.get(&format!("/auth/login?return_to={}", enc(to))),
        )
    });
    let started = futures_util::future::join_all(logins).await;
    for (i, response) in started.iter().enumerate() {
        response.assert_status(StatusCode::SEE_OTHER);
        let callback = emulator.approve_sign_in(&location(response), ADA).unwrap();
        let done = server
            .get(&format!(
                "{}?{}",
                callback.path(),
                callback.query().unwrap()
            ))
            .await;
        done.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(location(&done), format!("/t{i}"));
    }
    server.get("/").await.assert_text(format!("hello {ADA}"));
    server.get("/cart").await.assert_text(r#"["book"]"#);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn unreadable_pending_sign_ins_are_a_clear_400_and_a_new_sign_in_works() {
    let (app, store) = start().await;
    let authorize = app.start_sign_in("").await;
    let callback = app.emulator.approve_sign_in(&authorize, ADA).unwrap();
    let mut stored = record(&app, &store).await.unwrap();
    stored
        .data
        .insert("authkit.pending".to_owned(), json!("not a list"));
    store.save(&stored).await.unwrap();

    let response = app.callback(&callback).await;
    assert_error_page(
        &response,
        StatusCode::BAD_REQUEST,
        "does not match a sign-in started here",
    );
    assert_eq!(home(&app).await, "anonymous");
    // Starting again replaces the unreadable value.
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, format!("hello {ADA}"));
    support::assert_contract(&app.emulator);
}

#[tokio::test]
async fn trusted_origins_may_post_and_a_sibling_subdomain_may_not() {
    let (app, _store) = start_with(|b| {
        b.trusted_origin("https://www.example.com")
            .trusted_origin("http://127.0.0.1:3000/")
    })
    .await;
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    let logout = |origin: Option<&'static str>, site: Option<&'static str>| {
        let mut request = app.server.post("/auth/logout");
        if let Some(origin) = origin {
            request = request.add_header("origin", origin);
        }
        if let Some(site) = site {
            request = request.add_header("sec-fetch-site", site);
        }
        request
    };
    // Not trusted: another host, a sibling subdomain without Origin, API calls get JSON.
    for (origin, site) in [
        (Some("https://evil.example.com"), None),
        (Some("https://www.example.com.evil.test"), None),
        (None, Some("same-site")),
    ] {
        let refused = logout(origin, site).await;
        refused.assert_status(StatusCode::FORBIDDEN);
        assert!(
            refused.text().contains("trusted_origin"),
            "{}",
            refused.text()
        );
    }
    let json = logout(Some("https://evil.example.com"), None)
        .add_header("accept", "application/json")
        .await;
    json.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(json.json::<Value>()["error"], "cross_site_request");
    assert_eq!(home(&app).await, format!("hello {ADA}"));

    // A trusted origin (the trailing slash of the configured one does not matter; case does
    // not either, as in browsers' host names).
    logout(Some("http://127.0.0.1:3000"), None)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, "anonymous");
    app.sign_in(ADA).await.assert_status(StatusCode::SEE_OTHER);
    logout(Some("https://WWW.example.com"), None)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(home(&app).await, "anonymous");
    support::assert_contract(&app.emulator);
}

#[test]
fn a_trusted_origin_that_is_not_an_origin_is_refused_at_build() {
    let client = authkit_axum::Client::builder()
        .api_key("sk_test_1")
        .client_id("client_1")
        .build()
        .unwrap();
    for bad in [
        "example.com",
        "https://example.com/app",
        "ftp://example.com",
        "https://example.com/?a=1",
    ] {
        let err =
            authkit_axum::AuthKit::builder(client.clone(), "http://localhost:3000/auth/callback")
                .trusted_origin(bad)
                .build()
                .unwrap_err();
        assert!(
            matches!(
                err,
                authkit_axum::ConfigError::Invalid {
                    name: "trusted_origin",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
}

#[tokio::test]
async fn an_apps_own_post_route_uses_the_same_guard() {
    use authkit_axum::{AuthKit, AuthUser};
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::Response;
    use axum::routing::post;

    async fn delete_account(
        State(authkit): State<AuthKit>,
        headers: HeaderMap,
        user: AuthUser,
    ) -> Response {
        if let Err(refused) = authkit.check_origin(&headers) {
            return refused.into_response();
        }
        format!("deleted {}", user.email).into_response()
    }
    let emulator = support::app::emulator_builder().start().await.unwrap();
    let authkit = AuthKit::builder(emulator.client(), support::app::CALLBACK)
        .trusted_origin("https://www.example.com")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/account/delete", post(delete_account))
        .with_state(authkit.clone())
        .merge(support::app::router_without_layers(&authkit))
        .layer(authkit.layer(MemoryStore::default()));
    let server = axum_test::TestServer::builder()
        .save_cookies()
        .mock_transport()
        .build(app)
        .unwrap();
    emulator
        .client()
        .user_management()
        .create_user(
            authkit_axum::user_management::CreateUser::new(ADA)
                .password(support::app::PASSWORD)
                .email_verified(true),
        )
        .await
        .unwrap();
    let login = server.get("/auth/login").await;
    let callback = emulator.approve_sign_in(&location(&login), ADA).unwrap();
    server
        .get(&format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap()
        ))
        .await
        .assert_status(StatusCode::SEE_OTHER);

    let forged = server
        .post("/account/delete")
        .add_header("origin", "https://evil.example.com")
        .await;
    forged.assert_status(StatusCode::FORBIDDEN);
    let trusted = server
        .post("/account/delete")
        .add_header("origin", "https://www.example.com")
        .await;
    trusted.assert_status_ok();
    assert_eq!(trusted.text(), format!("deleted {ADA}"));
    support::assert_contract(&emulator);
}
