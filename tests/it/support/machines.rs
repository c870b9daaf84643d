//! Two app instances ("machines") on one session store, as behind a load balancer: each has
//! its own `AuthKit` (its own caches and single-flight map) and its own store connections;
//! the browser's cookie is carried by hand between them.

use authkit_axum::session::Clock;
use authkit_axum::tower_sessions::SessionStore;
use authkit_axum::web::SESSION_COOKIE;
use authkit_axum::{AuthKit, AuthKitBuilder};
use authkit_emulator::{Emulator, EmulatorBuilder};
use axum::http::StatusCode;
use axum_test::{TestResponse, TestServer};
use serde_json::Value;

use super::EmulatorExt as _;
use super::app::{CALLBACK, location, router_with_store};
use super::stores::Backend;

/// One app instance over its own store handle.
pub struct Machine<S> {
    pub authkit: AuthKit,
    pub server: TestServer,
    /// This machine's handle on the shared store (to read or tamper with records).
    pub store: S,
}

/// An emulator and two machines, A and B, sharing one store and one clock.
pub struct Machines<S> {
    pub emulator: Emulator,
    pub a: Machine<S>,
    pub b: Machine<S>,
    /// The machines' clock; [`Machines::advance`] moves it with the emulator's.
    pub clock: Clock,
}

impl<S: SessionStore + Clone> Machine<S> {
    pub async fn start(
        backend: &impl Backend<Store = S>,
        emulator: &Emulator,
        clock: &Clock,
        configure: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
    ) -> Machine<S> {
        let authkit = configure(AuthKit::builder(emulator.client(), CALLBACK).clock(clock.clone()))
            .build()
            .unwrap();
        let store = backend.instance().await;
        let server = TestServer::builder()
            .mock_transport()
            .build(router_with_store(&authkit, store.clone()))
            .unwrap();
        Machine {
            authkit,
            server,
            store,
        }
    }

    /// `GET path` as an API call with the session cookie `cookie`.
    pub async fn get(&self, path: &str, cookie: &str) -> TestResponse {
        self.server
            .get(path)
            .add_header("cookie", format!("{SESSION_COOKIE}={cookie}"))
            .add_header("accept", "application/json")
            .await
    }

    /// `GET /account`: the status, and the account's JSON when signed in.
    pub async fn account(&self, cookie: &str) -> (StatusCode, Value) {
        let response = self.get("/account", cookie).await;
        let body = response.json::<Value>();
        (response.status_code(), body)
    }

    /// The email `/account` shows for `cookie`, or `None` when it is not signed in (401).
    pub async fn signed_in_as(&self, cookie: &str) -> Option<String> {
        match self.account(cookie).await {
            (StatusCode::OK, body) => Some(body["email"].as_str().unwrap().to_owned()),
            (StatusCode::UNAUTHORIZED, body) => {
                assert_eq!(body["error"], "unauthorized");
                None
            }
            other => panic!("unexpected /account answer: {other:?}"),
        }
    }

    /// Signs in as `email` on this machine (login → emulator → callback) and returns the
    /// pre-sign-in and the signed-in session ids.
    pub async fn sign_in(&self, emulator: &Emulator, email: &str) -> (String, String) {
        let login = self.server.get("/auth/login?return_to=%2Faccount").await;
        login.assert_status(StatusCode::SEE_OTHER);
        let pending = login.cookie(SESSION_COOKIE).value().to_owned();
        let callback = emulator.approve_sign_in(&location(&login), email).unwrap();
        let done = self
            .server
            .get(&format!(
                "{}?{}",
                callback.path(),
                callback.query().unwrap_or_default()
            ))
            .add_header("cookie", format!("{SESSION_COOKIE}={pending}"))
            .await;
        done.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(location(&done), "/account");
        (pending, done.cookie(SESSION_COOKIE).value().to_owned())
    }

    /// Signs out (`POST /auth/logout`, same-origin) and checks the redirect to WorkOS.
    pub async fn sign_out(&self, cookie: &str) {
        let logout = self
            .server
            .post("/auth/logout")
            .add_header("cookie", format!("{SESSION_COOKIE}={cookie}"))
            .add_header("origin", "http://localhost:3000")
            .await;
        logout.assert_status(StatusCode::SEE_OTHER);
        assert!(
            location(&logout).contains("/user_management/sessions/logout"),
            "{}",
            location(&logout)
        );
    }
}

impl<S: SessionStore + Clone> Machines<S> {
    /// The emulator and two machines with default settings.
    pub async fn start(backend: &impl Backend<Store = S>) -> Machines<S> {
        Self::start_with(backend, Emulator::builder(), |b| b, |b| b).await
    }

    /// The emulator from `emulator`, and machines A and B configured by `a` and `b`.
    pub async fn start_with(
        backend: &impl Backend<Store = S>,
        emulator: EmulatorBuilder,
        a: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
        b: impl FnOnce(AuthKitBuilder) -> AuthKitBuilder,
    ) -> Machines<S> {
        let emulator = super::app::register(emulator).start().await.unwrap();
        let clock = Clock::adjustable();
        let a = Machine::start(backend, &emulator, &clock, a).await;
        let b = Machine::start(backend, &emulator, &clock, b).await;
        Machines {
            emulator,
            a,
            b,
            clock,
        }
    }

    /// Moves the machines' and the emulator's clocks forward by `by` (token expiries,
    /// back-offs), instead of sleeping.
    pub fn advance(&self, by: std::time::Duration) {
        self.emulator.advance_clock(by);
        self.clock.advance(by);
    }

    /// Both machines.
    pub fn both(&self) -> [&Machine<S>; 2] {
        [&self.a, &self.b]
    }
}
