//! A small app using the Axum integration, served by axum-test, against an emulator.

use std::str::FromStr;

use super::EmulatorExt as _;
use authkit_axum::Client;
use authkit_axum::session::Clock;
use authkit_axum::testing::AuthSession;
use authkit_axum::tower_sessions::session::Id;
use authkit_axum::tower_sessions::{MemoryStore, Session, SessionStore};
use authkit_axum::user_management::{CreateUser, User};
use authkit_axum::web::SESSION_COOKIE;
use authkit_axum::web::{AuthLayer, AuthRejection};
use authkit_axum::{AuthKit, AuthKitBuilder, AuthUser};
use authkit_emulator::Emulator;
use axum::Router;
use axum::routing::get;
use axum_test::{TestResponse, TestServer};
use serde_json::json;

pub const CALLBACK: &str = "http://localhost:3000/auth/callback";
/// Where the app returns after signing out (its origin's `/`, AuthKit's default).
pub const HOME: &str = "http://localhost:3000/";
pub const PASSWORD: &str = "correct horse battery staple";

/// An emulator builder with the test app's [`CALLBACK`] and [`HOME`] registered, as an app
/// registers them in the WorkOS dashboard.
pub fn emulator_builder() -> authkit_emulator::EmulatorBuilder {
    register(Emulator::builder())
}

/// Registers the test app's [`CALLBACK`] and [`HOME`] on `emulator`.
pub fn register(emulator: authkit_emulator::EmulatorBuilder) -> authkit_emulator::EmulatorBuilder {
    emulator.redirect_uri(CALLBACK).logout_redirect_uri(HOME)
}

pub struct TestApp {
    pub emulator: Emulator,
    pub authkit: AuthKit,
    pub server: TestServer,
    /// The app's session store.
    pub store: MemoryStore,
    /// The app's clock (every AuthKit of the test shares it); [`TestApp::advance`] moves it
    /// forward together with the emulator's.
    pub clock: Clock,
}

async fn home(user: Option<AuthUser>) -> String {
    match user {
        Some(user) => format!("hello {}", user.user.email),
        None => "anonymous".to_owned(),
    }
}

async fn account(user: AuthUser) -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "email": user.user.email,
        "organization_id": user.organization_id,
        "role": user.claims.role,
        "permissions": user.claims.permissions,
        "session_id": user.session_id(),
        "expires_at": user.expires_at,
        "impersonator": user.impersonator.as_ref().map(|i| i.email.clone()),
        "impersonation_reason": user.impersonator.as_ref().and_then(|i| i.reason.clone()),
    }))
}

/// A handler that takes its time (400 ms) before answering like `/account`.
async fn slow(user: AuthUser) -> axum::Json<serde_json::Value> {
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    account(user).await
}

async fn admin(user: AuthUser) -> Result<&'static str, AuthRejection> {
    user.require_permission("users:manage")?;
    Ok("admin area")
}

/// The app's own session key (not AuthKit's), to check that AuthKit leaves it alone.
pub const CART_KEY: &str = "app.cart";

async fn cart(session: Session) -> String {
    session
        .get::<String>(CART_KEY)
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn put_cart(session: Session, body: String) -> &'static str {
    session.insert(CART_KEY, body).await.unwrap();
    "saved"
}

/// The app's routes wrapped in the auth and session layers (as one, `authkit.layer`; the
/// apps of [`router_with_extra`] add the two separately).
pub fn router(authkit: &AuthKit) -> Router {
    router_with_store(authkit, MemoryStore::default())
}

/// [`router`] over a given session store (e.g. one shared by two "machines").
pub fn router_with_store<Store: SessionStore + Clone>(authkit: &AuthKit, store: Store) -> Router {
    router_without_layers(authkit).layer(authkit.layer(store))
}

/// The app's routes and the sign-in routes, without the session and auth layers (for a test
/// that adds its own).
pub fn router_without_layers(authkit: &AuthKit) -> Router {
    app_routes().merge(authkit.router())
}

/// The app's own routes (`/`, `/account`, `/admin`, `/cart`, `/slow`), without the sign-in
/// routes and layers.
pub fn app_routes() -> Router {
    Router::new()
        .route("/", get(home))
        .route("/account", get(account))
        .route("/admin", get(admin))
        .route("/cart", get(cart).post(put_cart))
        .route("/slow", get(slow))
}

/// The AuthKit session stored under the session id of a `Cookie`/`Set-Cookie` value.
pub async fn stored_session(store: &impl SessionStore, session_id: &str) -> Option<AuthSession> {
    authkit_axum::testing::stored_session(store, session_id)
        .await
        .unwrap()
}

/// The session record keys AuthKit stores a signed-in session under: the storage layout is
/// private, pinned here for the tests that tamper with stored records, and so that a change to
/// it (which would sign every user out at a deploy) is noticed.
pub const AUTH_SESSION_KEY: &str = "authkit.session";
/// See [`AUTH_SESSION_KEY`]: the session's JSON text.
pub const AUTH_SESSION_DATA_KEY: &str = "authkit.session.data";

/// The keys of the session record under `session_id`.
pub async fn stored_keys(store: &impl SessionStore, session_id: &str) -> Vec<String> {
    let id = Id::from_str(session_id).unwrap();
    let mut keys: Vec<String> = store
        .load(&id)
        .await
        .unwrap()
        .map(|r| r.data.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(Emulator::builder(), |b| b).await
    }

    pub async fn start_with(
        emulator: authkit_emulator::EmulatorBuilder,
        configure: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
    ) -> TestApp {
        Self::start_with_client(emulator, |e| e.client(), configure).await
    }

    /// Like [`TestApp::start_with`], with the AuthKit's client built by `client`.
    pub async fn start_with_client(
        emulator: authkit_emulator::EmulatorBuilder,
        client: impl FnOnce(&Emulator) -> Client,
        configure: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
    ) -> TestApp {
        let emulator = register(emulator).start().await.unwrap();
        let clock = Clock::adjustable();
        let authkit = configure(AuthKit::builder(client(&emulator), CALLBACK).clock(clock.clone()))
            .build()
            .unwrap();
        let store = MemoryStore::default();
        let server = TestServer::builder()
            .save_cookies()
            .mock_transport()
            .build(router_with_store(&authkit, store.clone()))
            .unwrap();
        TestApp {
            emulator,
            authkit,
            server,
            store,
            clock,
        }
    }

    /// Moves time forward for the app and the emulator alike: tokens, codes and back-offs
    /// expire without waiting.
    pub fn advance(&self, by: std::time::Duration) {
        self.emulator.advance_clock(by);
        self.clock.advance(by);
    }

    /// Another AuthKit for this test's emulator and clock (another "machine").
    pub fn other_authkit(
        &self,
        configure: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
    ) -> AuthKit {
        configure(AuthKit::builder(self.emulator.client(), CALLBACK).clock(self.clock.clone()))
            .build()
            .unwrap()
    }

    /// Signs in as `email` and returns the value of the app's session cookie.
    pub async fn sign_in_cookie(&self, email: &str) -> String {
        let done = self.sign_in(email).await;
        done.assert_status(axum::http::StatusCode::SEE_OTHER);
        done.cookie(SESSION_COOKIE).value().to_owned()
    }

    /// A verified user with a password.
    pub async fn user(&self, email: &str) -> User {
        user(&self.emulator, email).await
    }

    /// A verified user who is an admin of Acme and a member of Globex; returns the user and
    /// the two organization ids.
    pub async fn member_of_acme_and_globex(&self, email: &str) -> (User, String, String) {
        member_of_acme_and_globex(&self.emulator, email).await
    }

    /// `GET /auth/login?...`: the redirect to the emulator.
    pub async fn start_sign_in(&self, query: &str) -> String {
        let response = self.server.get(&format!("/auth/login{query}")).await;
        response.assert_status(axum::http::StatusCode::SEE_OTHER);
        location(&response)
    }

    /// Sends the emulator's callback URL to the app.
    pub async fn callback(&self, callback: &url::Url) -> TestResponse {
        let path = match callback.query() {
            Some(q) => format!("{}?{q}", callback.path()),
            None => callback.path().to_owned(),
        };
        self.server.get(&path).await
    }

    /// Signs in as `email` through login → emulator → callback; returns the callback response.
    pub async fn sign_in(&self, email: &str) -> TestResponse {
        let authorize = self.start_sign_in("").await;
        let callback = self.emulator.approve_sign_in(&authorize, email).unwrap();
        self.callback(&callback).await
    }
}

/// A verified user with a password, on `emulator`.
pub async fn user(emulator: &Emulator, email: &str) -> User {
    emulator
        .client()
        .user_management()
        .create_user(
            CreateUser::new(email)
                .password(PASSWORD)
                .email_verified(true),
        )
        .await
        .unwrap()
}

/// A verified user who is an admin of Acme and a member of Globex; returns the user and the
/// two organization ids.
pub async fn member_of_acme_and_globex(emulator: &Emulator, email: &str) -> (User, String, String) {
    let user = user(emulator, email).await;
    let acme = emulator.create_organization("Acme");
    let globex = emulator.create_organization("Globex");
    emulator.seed_membership(&user.id, &acme, "admin");
    emulator.seed_membership(&user.id, &globex, "member");
    (user, acme, globex)
}

/// Signs `email` in on `browser` (a server with its own cookie jar) through the sign-in route
/// `link`, approved at `emulator`, the callback sent with `user_agent` if given; returns the
/// callback's answer.
pub async fn browser_sign_in(
    browser: &TestServer,
    emulator: &Emulator,
    link: &str,
    email: &str,
    user_agent: Option<&str>,
) -> TestResponse {
    let login = browser.get(link).await;
    login.assert_status(axum::http::StatusCode::SEE_OTHER);
    let callback = emulator.approve_sign_in(&location(&login), email).unwrap();
    let mut request = browser.get(&format!(
        "{}?{}",
        callback.path(),
        callback.query().unwrap()
    ));
    if let Some(agent) = user_agent {
        request = request.add_header("user-agent", agent);
    }
    request.await
}

pub fn location(response: &TestResponse) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The app's routes plus `extra`, wrapped in the auth layer and a session layer over `store`
/// (so a test can read or tamper with the stored sessions).
pub fn router_with_extra<Store>(authkit: &AuthKit, store: Store, extra: Router) -> Router
where
    Store: authkit_axum::tower_sessions::SessionStore + Clone,
{
    Router::new()
        .route("/", get(home))
        .route("/account", get(account))
        .route("/admin", get(admin))
        .merge(extra)
        .merge(authkit.router())
        .layer(AuthLayer::new(authkit.clone()))
        .layer(authkit.session_layer(store))
}

impl TestApp {
    /// Like [`TestApp::start_with`], with the app's own `extra` routes, returning the session
    /// store the app uses.
    pub async fn start_with_store(
        emulator: authkit_emulator::EmulatorBuilder,
        configure: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
        extra: Router,
    ) -> (TestApp, MemoryStore) {
        let emulator = register(emulator).start().await.unwrap();
        let clock = Clock::adjustable();
        let authkit = configure(AuthKit::builder(emulator.client(), CALLBACK).clock(clock.clone()))
            .build()
            .unwrap();
        let store = MemoryStore::default();
        let server = TestServer::builder()
            .save_cookies()
            .mock_transport()
            .build(router_with_extra(&authkit, store.clone(), extra))
            .unwrap();
        let app = TestApp {
            emulator,
            authkit,
            server,
            store: store.clone(),
            clock,
        };
        (app, store)
    }

    /// Like [`TestApp::start`], serving the routes `routes` makes for the app's AuthKit
    /// (wrapped, with the sign-in routes, in the auth and session layers).
    pub async fn start_with_routes(routes: impl FnOnce(&AuthKit) -> Router) -> TestApp {
        Self::start_with_routes_and(Emulator::builder(), |b| b, routes).await
    }

    /// [`TestApp::start_with_routes`] on `emulator`, with the AuthKit configured by
    /// `configure`.
    pub async fn start_with_routes_and(
        emulator: authkit_emulator::EmulatorBuilder,
        configure: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
        routes: impl FnOnce(&AuthKit) -> Router,
    ) -> TestApp {
        let emulator = register(emulator).start().await.unwrap();
        let clock = Clock::adjustable();
        let authkit = configure(AuthKit::builder(emulator.client(), CALLBACK).clock(clock.clone()))
            .build()
            .unwrap();
        let store = MemoryStore::default();
        let app = routes(&authkit)
            .merge(authkit.router())
            .layer(authkit.layer(store.clone()));
        let server = TestServer::builder()
            .save_cookies()
            .mock_transport()
            .build(app)
            .unwrap();
        TestApp {
            emulator,
            authkit,
            server,
            store,
            clock,
        }
    }
}

/// Signs in on the emulator's hosted page the way a browser would, with plain form posts:
/// GET the authorization URL, post the sign-in form with its hidden fields, and return the
/// redirect back to the app (the callback URL with `code` and `state`).
pub async fn hosted_page_sign_in(
    emulator: &Emulator,
    authorize_url: &str,
    email: &str,
    password: &str,
) -> url::Url {
    let http = crate::support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let html = page.text().await.unwrap();
    let action = attribute(&html, "<form method=\"post\" action=\"");
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[start..];
        let name = attribute(rest, "name=\"");
        let value = attribute(rest, "value=\"");
        form.append_pair(&name, &value);
        rest = &rest[1..];
    }
    form.append_pair("email", email);
    form.append_pair("password", password);
    let base = url::Url::parse(emulator.base_url()).unwrap();
    let done = http
        .post(base.join(&action).unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        done.text().await.unwrap()
    );
    url::Url::parse(done.headers()["location"].to_str().unwrap()).unwrap()
}

/// The (HTML-unescaped) attribute value that follows `marker` in `html`.
fn attribute(html: &str, marker: &str) -> String {
    let start = html.find(marker).expect(marker) + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Waits (up to 5 s, checking every 20 ms) until `check` holds; panics with `what` otherwise.
/// For outcomes of background work (a refresh finishing), never for timing.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
