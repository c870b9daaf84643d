//! The step-up attempt limit under concurrency, as a scenario any session store can run: wrong
//! codes posted all at once with one session cookie, to one instance or split across two
//! instances (two `AuthKit`s, each with its own caches and in-process locks, two servers)
//! sharing one store. At most 5 codes may reach WorkOS, and afterwards the right code is
//! refused too.
//!
//! The store suite runs [`step_up_attempt_limit_holds_on_two_instances`] on every store
//! (Redis, PostgreSQL); `tests/it/step_up_attempts.rs` runs it on a `MemoryStore`.

use authkit_axum::AuthKit;
use authkit_axum::tower_sessions::SessionStore;
use authkit_axum::user_management::CreateUser;
use authkit_axum::web::SESSION_COOKIE;
use authkit_emulator::Emulator;
use axum::Router;
use axum::http::StatusCode;
use axum_test::{TestResponse, TestServer};

use super::EmulatorExt as _;
use super::app::{CALLBACK, PASSWORD, location, router_with_store};
use super::totp;

/// How many wrong codes are posted at once.
pub const PARALLEL_POSTS: usize = 50;
/// The attempts a step-up allows.
pub const MAX_ATTEMPTS: usize = 5;

const EMAIL: &str = "ada@example.com";
/// A Base32 TOTP secret seeded for the user.
pub const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Which step-up's code is guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// A TOTP code on `/auth/mfa` (a seeded factor, challenged).
    Totp,
    /// An emailed verification code on `/auth/verify-email`.
    Email,
}

impl Code {
    fn path(self) -> &'static str {
        match self {
            Code::Totp => "/auth/mfa",
            Code::Email => "/auth/verify-email",
        }
    }

    /// The authenticate grant that checks this code at WorkOS.
    pub fn grant(self) -> &'static str {
        match self {
            Code::Totp => "urn:workos:oauth:grant-type:mfa-totp",
            Code::Email => "urn:workos:oauth:grant-type:email-verification:code",
        }
    }
}

/// A six-digit code that is none of `near`.
fn other_code(near: &[String]) -> String {
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// The scenario's apps: one emulator, and `instances` servers over `router(authkit)`, each
/// with its own `AuthKit`.
pub struct Instances {
    pub emulator: Emulator,
    pub servers: Vec<TestServer>,
}

impl Instances {
    /// `instances` app instances over `router`, on real loopback HTTP (each request its own
    /// task), against one new emulator.
    pub async fn start(instances: usize, router: impl Fn(&AuthKit) -> Router) -> Instances {
        let emulator = crate::support::app::emulator_builder()
            .start()
            .await
            .unwrap();
        let servers = (0..instances)
            .map(|_| {
                let authkit = AuthKit::builder(emulator.client(), CALLBACK)
                    .build()
                    .unwrap();
                TestServer::builder()
                    .http_transport()
                    .build(router(&authkit))
                    .unwrap()
            })
            .collect();
        Instances { emulator, servers }
    }

    /// How many codes of `code`'s kind were checked at WorkOS.
    pub fn checked_at_workos(&self, code: Code) -> usize {
        self.emulator
            .requests()
            .iter()
            .filter(|r| r.grant_type.as_deref() == Some(code.grant()))
            .count()
    }
}

fn cookie_header(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}")
}

/// The session cookie a response sets, else `current`.
fn next_cookie(response: &TestResponse, current: &str) -> String {
    response
        .maybe_cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_else(|| current.to_owned())
}

/// Signs in on the first instance up to the step-up page of `code` (opened once, so a TOTP
/// challenge exists); returns the session cookie and the right code.
pub async fn reach_step_up(apps: &Instances, code: Code) -> (String, String) {
    let um = apps.emulator.client().user_management();
    let user = match code {
        Code::Totp => um
            .create_user(
                CreateUser::new(EMAIL)
                    .password(PASSWORD)
                    .email_verified(true),
            )
            .await
            .unwrap(),
        Code::Email => um
            .create_user(CreateUser::new(EMAIL).password(PASSWORD))
            .await
            .unwrap(),
    };
    if code == Code::Totp {
        apps.emulator.seed_totp_factor(&user.id, SECRET);
    }
    let server = &apps.servers[0];
    let login = server.get("/auth/login").await;
    login.assert_status(StatusCode::SEE_OTHER);
    let cookie = next_cookie(&login, "");
    let callback = apps
        .emulator
        .approve_sign_in_pending(&location(&login), EMAIL)
        .unwrap();
    let paused = server
        .get(&format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap()
        ))
        .add_header("cookie", cookie_header(&cookie))
        .await;
    paused.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&paused), code.path());
    let cookie = next_cookie(&paused, &cookie);
    let page = server
        .get(code.path())
        .add_header("cookie", cookie_header(&cookie))
        .await;
    page.assert_status_ok();
    let cookie = next_cookie(&page, &cookie);
    let right = match code {
        Code::Totp => totp(SECRET, 0),
        Code::Email => apps.emulator.last_email_to(EMAIL).unwrap().code.unwrap(),
    };
    (cookie, right)
}

/// Posts [`PARALLEL_POSTS`] wrong codes at once with `cookie`, spread over the instances in
/// turn, then the right code; asserts that at most [`MAX_ATTEMPTS`] reached WorkOS, that the
/// right code was refused, and that the session is not signed in on any instance. Returns how
/// many codes WorkOS checked.
pub async fn post_wrong_codes_at_once(
    apps: &Instances,
    code: Code,
    cookie: &str,
    right: &str,
) -> usize {
    let near: Vec<String> = match code {
        Code::Totp => (-2..=2).map(|s| totp(SECRET, s)).collect(),
        Code::Email => vec![right.to_owned()],
    };
    let wrong = other_code(&near);
    // Each post is its own task on its own connection, as from many browser tabs or a script.
    let http = crate::support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(PARALLEL_POSTS));
    let posts = (0..PARALLEL_POSTS).map(|i| {
        let url = apps.servers[i % apps.servers.len()]
            .server_url(code.path())
            .unwrap();
        let request = http
            .post(url)
            .header("cookie", cookie_header(cookie))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("code={wrong}"));
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            let answer = request.send().await.unwrap();
            (answer.status(), answer.text().await.unwrap())
        })
    });
    let answers = futures_util::future::join_all(posts).await;
    let mut not_right = 0;
    for answer in answers {
        let (status, text) = answer.unwrap();
        assert_eq!(
            status.as_u16(),
            StatusCode::BAD_REQUEST.as_u16(),
            "a wrong code must be refused: {text}"
        );
        if text.contains("That code is not right") {
            not_right += 1;
        } else {
            assert!(
                text.contains("Too many attempts") || text.contains("Sign-in expired"),
                "{text}"
            );
        }
    }
    let checked = apps.checked_at_workos(code);
    assert!(
        checked <= MAX_ATTEMPTS,
        "{checked} of {PARALLEL_POSTS} wrong codes posted at once were checked at WorkOS"
    );
    assert!(checked >= 1, "no code reached WorkOS");
    assert!(
        not_right < MAX_ATTEMPTS,
        "{not_right} pages asked to try again"
    );

    // The right code no longer helps, and is not sent to WorkOS either.
    let late = apps.servers[0]
        .post(code.path())
        .add_header("cookie", cookie_header(cookie))
        .form(&[("code", right)])
        .await;
    late.assert_status(StatusCode::BAD_REQUEST);
    let text = late.text();
    assert!(
        text.contains("Too many attempts") || text.contains("Sign-in expired"),
        "{text}"
    );
    assert_eq!(apps.checked_at_workos(code), checked);
    for server in &apps.servers {
        let account = server
            .get("/account")
            .add_header("cookie", cookie_header(cookie))
            .await;
        account.assert_status(StatusCode::SEE_OTHER);
        assert!(location(&account).starts_with("/auth/login"));
    }
    checked
}

/// The scenario for every session store: for a TOTP code and an emailed code, 50 wrong codes
/// posted at once with one cookie, split across two instances sharing `store`, reach WorkOS
/// at most 5 times, and the right code is refused afterwards.
pub async fn step_up_attempt_limit_holds_on_two_instances<S>(store: S)
where
    S: SessionStore + Clone,
{
    for code in [Code::Totp, Code::Email] {
        let apps = Instances::start(2, |authkit| router_with_store(authkit, store.clone())).await;
        let (cookie, right) = reach_step_up(&apps, code).await;
        post_wrong_codes_at_once(&apps, code, &cookie, &right).await;
        super::assert_contract(&apps.emulator);
    }
}
