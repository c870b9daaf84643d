//! AuthKit Actions end to end: the emulator's hosted page asks an Axum app's action route
//! (the real `WorkosAction` extractor and signed `ActionResponse`) before a sign-up and before a
//! sign-in, and honours the verdict; forged requests never reach the handler; answers that do
//! not verify, endpoints that are down or hang, deny (the default error behaviour) in bounded
//! time.
#![cfg(feature = "axum")]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authkit_axum::actions::{Action, ActionKind, ActionResponse, Actions, Verdict};
use authkit_axum::user_management::ListUsers;
use authkit_axum::web::WorkosAction;
use authkit_axum::webhooks::Webhooks;
use authkit_emulator::{ActionEndpoint, Emulator, OnError, Seed};
use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::support::app::{PASSWORD, TestApp, emulator_builder, location};
use crate::support::{EmulatorExt as _, assert_contract, http_client};

const SECRET: &str = "action_secret_test";
const BLOCKED: &str = "Sign-ups from blocked.example are closed.";
const SUSPENDED: &str = "This account is suspended: contact support.";
const USER_AGENT: &str = "ActionsTest/1.0";

/// The app that answers actions: its state, and the requests its handler accepted.
#[derive(Clone)]
struct ActionApp {
    actions: Actions,
    seen: Arc<Mutex<Vec<Action>>>,
}

impl FromRef<ActionApp> for Actions {
    fn from_ref(app: &ActionApp) -> Actions {
        app.actions.clone()
    }
}

/// The sample policy: no sign-ups from blocked.example, no sign-ins of suspended users.
async fn workos_action(State(app): State<ActionApp>, request: WorkosAction) -> ActionResponse {
    app.seen.lock().unwrap().push(request.action.clone());
    match &request.action {
        Action::UserRegistration(sign_up)
            if sign_up.user_data.email.ends_with("@blocked.example") =>
        {
            request.deny(BLOCKED)
        }
        Action::Authentication(sign_in) if sign_in.user.email.starts_with("suspended") => {
            request.deny(SUSPENDED)
        }
        _ => request.allow(),
    }
}

/// Answers that must not verify: a denial whose verdict was changed after signing.
async fn tampered(request: WorkosAction) -> Response {
    let mut answer = serde_json::to_value(request.deny("no")).unwrap();
    answer["payload"]["verdict"] = json!("Allow");
    answer["payload"]
        .as_object_mut()
        .unwrap()
        .remove("error_message");
    axum::Json(answer).into_response()
}

/// An allow without its signature.
async fn unsigned(request: WorkosAction) -> Response {
    let mut answer = serde_json::to_value(request.allow()).unwrap();
    answer.as_object_mut().unwrap().remove("signature");
    axum::Json(answer).into_response()
}

/// A genuine allow, signed ten minutes ago (a replayed answer).
async fn stale(State(app): State<ActionApp>, request: WorkosAction) -> ActionResponse {
    let ten_minutes_ago = SystemTime::now() - Duration::from_secs(600);
    app.actions
        .respond_at(request.action.kind(), Verdict::Allow, None, ten_minutes_ago)
}

/// Not an action response at all.
async fn garbage(_: WorkosAction) -> &'static str {
    "<html>Internal error</html>"
}

/// Never answers.
async fn hang(_: WorkosAction) -> &'static str {
    std::future::pending::<()>().await;
    "never"
}

/// Serves the action routes on a real port (the emulator calls them over HTTP).
async fn action_app() -> (SocketAddr, Arc<Mutex<Vec<Action>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/actions/workos", post(workos_action))
        .route("/actions/tampered", post(tampered))
        .route("/actions/unsigned", post(unsigned))
        .route("/actions/stale", post(stale))
        .route("/actions/garbage", post(garbage))
        .route("/actions/hang", post(hang))
        .with_state(ActionApp {
            actions: Actions::new(SECRET),
            seen: seen.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

/// A browser on the hosted page: plain form posts, no redirects followed.
struct Browser {
    http: reqwest::Client,
    base: Url,
}

struct Page {
    status: StatusCode,
    html: String,
    location: Option<Url>,
}

impl Page {
    /// The first form's action and its hidden fields.
    fn form(&self) -> (String, Vec<(String, String)>) {
        let action = between(&self.html, "<form method=\"post\" action=\"", "\"");
        let mut hidden = Vec::new();
        let mut rest = self.html.as_str();
        let marker = "<input type=\"hidden\" name=\"";
        while let Some(start) = rest.find(marker) {
            rest = &rest[start + marker.len()..];
            let name = rest[..rest.find('"').unwrap()].to_owned();
            let value = between(rest, "value=\"", "\"")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            hidden.push((name, value));
        }
        (action, hidden)
    }

    /// The `code` of the redirect back to the app.
    fn code(&self) -> Option<String> {
        self.location.as_ref().and_then(|l| {
            l.query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
        })
    }
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"))
        + start.len();
    let to = from + text[from..].find(end).unwrap();
    text[from..to].to_owned()
}

impl Browser {
    fn new(emulator: &Emulator) -> Browser {
        Browser {
            http: http_client()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(USER_AGENT)
                .build()
                .unwrap(),
            base: Url::parse(emulator.base_url()).unwrap(),
        }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| Url::parse(l.to_str().unwrap()).unwrap());
        Page {
            status,
            location,
            html: response.text().await.unwrap(),
        }
    }

    async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(url).send().await.unwrap()).await
    }

    /// Posts `page`'s form with its hidden fields and `fields`.
    async fn submit(&self, page: &Page, fields: &[(&str, &str)]) -> Page {
        let (action, hidden) = page.form();
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &hidden {
            form.append_pair(name, value);
        }
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        let response = self
            .http
            .post(self.base.join(&action).unwrap())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish())
            .send()
            .await
            .unwrap();
        Self::page(response).await
    }
}

/// Signs `email` in on the hosted page, starting from the app's `/auth/login`.
async fn hosted_sign_in(app: &TestApp, email: &str) -> Page {
    let browser = Browser::new(&app.emulator);
    let page = browser.get(&app.start_sign_in("").await).await;
    assert_eq!(page.status, StatusCode::OK);
    browser
        .submit(&page, &[("email", email), ("password", PASSWORD)])
        .await
}

/// The emulator's events of type `kind`.
fn events(emulator: &Emulator, kind: &str) -> Vec<Value> {
    emulator
        .events()
        .into_iter()
        .filter(|e| e["event"] == kind)
        .collect()
}

/// Sends the emulator's redirect to the app and checks the browser is signed in as `email`.
async fn assert_signed_in(app: &TestApp, page: &Page, email: &str) {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let done = app.callback(page.location.as_ref().unwrap()).await;
    done.assert_status(axum::http::StatusCode::SEE_OTHER);
    let account: Value = app
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await
        .json();
    assert_eq!(account["email"], email);
}

#[tokio::test]
async fn the_registration_action_denies_blocked_sign_ups_with_its_message_and_allows_others() {
    let (addr, seen) = action_app().await;
    let endpoint =
        ActionEndpoint::user_registration(format!("http://{addr}/actions/workos"), SECRET);
    let app = TestApp::start_with(emulator_builder().action_endpoint(endpoint), |b| b).await;
    let browser = Browser::new(&app.emulator);
    let signup = app.server.get("/auth/signup").await;
    signup.assert_status(axum::http::StatusCode::SEE_OTHER);
    let sign_up = browser.get(&location(&signup)).await;
    assert!(sign_up.html.contains("first_name"), "{}", sign_up.html);

    // A blocked domain: the sign-up page again, with the app's message, and no user.
    let denied = browser
        .submit(
            &sign_up,
            &[
                ("email", "eve@blocked.example"),
                ("password", PASSWORD),
                ("first_name", "Eve"),
            ],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.html.contains(BLOCKED), "{}", denied.html);
    assert!(denied.location.is_none());
    let users = app.emulator.client().user_management();
    let mut by_email = ListUsers::new();
    by_email.email = Some("eve@blocked.example".into());
    let eve = users.list_users(&by_email).await.unwrap();
    assert!(eve.data.is_empty());
    let event = &events(&app.emulator, "action.user_registration.denied")[0];
    assert_eq!(event["data"]["email"], "eve@blocked.example");
    assert_eq!(event["data"]["type"], "user_registration");
    assert_eq!(event["data"]["user_agent"], USER_AGENT);

    // What the app saw: the form's data, the browser's address and user agent.
    let Action::UserRegistration(request) = seen.lock().unwrap()[0].clone() else {
        panic!("not a registration action")
    };
    assert_eq!(request.user_data.first_name.as_deref(), Some("Eve"));
    assert_eq!(request.ip_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(request.user_agent.as_deref(), Some(USER_AGENT));

    // Another domain signs up, verifies the emailed code, and is signed in to the app.
    let verify = browser
        .submit(
            &sign_up,
            &[("email", "grace@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.html);
    let code = app
        .emulator
        .last_email_to("grace@example.com")
        .unwrap()
        .code
        .unwrap();
    let done = browser.submit(&verify, &[("code", &code)]).await;
    assert_signed_in(&app, &done, "grace@example.com").await;
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_contract(&app.emulator);
}

#[tokio::test]
async fn the_authentication_action_registered_over_http_denies_a_suspended_user_and_allows_others()
{
    let (addr, seen) = action_app().await;
    let app = TestApp::start_with(emulator_builder(), |b| b).await;
    let control = http_client().build().unwrap();
    let registered = control
        .post(format!("{}/__emulator/actions", app.emulator.base_url()))
        .bearer_auth(app.emulator.api_key())
        .json(&json!({
            "type": "authentication",
            "url": format!("http://{addr}/actions/workos"),
            "secret": SECRET,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    for (body, says) in [
        (
            json!({ "type": "authentication", "url": "https://app.example/actions", "secret": SECRET }),
            "http://",
        ),
        (
            json!({ "type": "authentication", "url": "http://127.0.0.1:1/", "secret": SECRET, "retries": 3 }),
            "retries",
        ),
    ] {
        let refused = control
            .post(format!("{}/__emulator/actions", app.emulator.base_url()))
            .bearer_auth(app.emulator.api_key())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error = refused.text().await.unwrap();
        assert!(error.contains(says), "{error}");
    }
    let (ada, acme, _) = app.member_of_acme_and_globex("ada@example.com").await;
    app.user("suspended@example.com").await;

    // Denied: a page with the app's message, no code, a way to start again.
    let denied = hosted_sign_in(&app, "suspended@example.com").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.html.contains(SUSPENDED), "{}", denied.html);
    assert!(denied.html.contains("Sign-in denied"));
    assert_eq!(denied.code(), None);
    let event = &events(&app.emulator, "action.authentication.denied")[0];
    assert_eq!(event["data"]["email"], "suspended@example.com");
    assert!(
        event["data"]["user_id"]
            .as_str()
            .unwrap()
            .starts_with("user_")
    );

    // Allowed (organization chosen on the hosted page first): signed in to the app.
    let choose = hosted_sign_in(&app, "ada@example.com").await;
    assert_eq!(choose.status, StatusCode::OK);
    let done = Browser::new(&app.emulator)
        .submit(&choose, &[("organization_id", &acme)])
        .await;
    assert_signed_in(&app, &done, "ada@example.com").await;
    let Action::Authentication(request) = seen.lock().unwrap()[1].clone() else {
        panic!("not an authentication action")
    };
    assert_eq!(request.user.id, ada.id);
    assert_eq!(request.organization.as_ref().unwrap().name, "Acme");
    let membership = request.organization_membership.unwrap();
    assert_eq!(membership.role.slug, "admin");
    assert_eq!(request.user_agent.as_deref(), Some(USER_AGENT));

    // Removed over HTTP: sign-ins go on without asking.
    let cleared = control
        .delete(format!("{}/__emulator/actions", app.emulator.base_url()))
        .bearer_auth(app.emulator.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    let page = hosted_sign_in(&app, "suspended@example.com").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_contract(&app.emulator);
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn forged_stale_and_unsigned_requests_never_reach_the_handler() {
    let (addr, seen) = action_app().await;
    let body = serde_json::to_vec(&json!({
        "id": "01JATCMZJY26PQ59XT9BNT0FNN",
        "object": "user_registration_action_context",
        "user_data": { "object": "user_data", "email": "mallory@example.com" },
        "ip_address": "203.0.113.1",
    }))
    .unwrap();
    let http = http_client().build().unwrap();
    let url = format!("http://{addr}/actions/workos");
    let send = |header: Option<String>| {
        let mut request = http.post(&url).body(body.clone());
        if let Some(header) = header {
            request = request.header("workos-signature", header);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    for (header, status, says) in [
        (
            Some(Webhooks::new("someone_else").sign(&body, now_ms())),
            StatusCode::UNAUTHORIZED,
            "does not match",
        ),
        (
            Some(Webhooks::new(SECRET).sign(&body, now_ms() - 10 * 60 * 1000)),
            StatusCode::UNAUTHORIZED,
            "replayed",
        ),
        (None, StatusCode::BAD_REQUEST, "no WorkOS-Signature header"),
        (
            Some("t=1, v2=ab".to_owned()),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
    ] {
        let (got, json) = send(header).await;
        assert_eq!(got, status, "{json}");
        assert_eq!(json["error"], "invalid_action_request");
        assert!(json["message"].as_str().unwrap().contains(says), "{json}");
    }
    assert!(seen.lock().unwrap().is_empty());

    // The genuine request is answered with a signed verdict.
    let (status, answer) = send(Some(Webhooks::new(SECRET).sign(&body, now_ms()))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["object"], "user_registration_action_response");
    assert_eq!(answer["payload"]["verdict"], "Allow");
    assert_eq!(seen.lock().unwrap()[0].kind(), ActionKind::UserRegistration);
}

#[tokio::test]
async fn answers_that_do_not_verify_deny_the_sign_in_unless_the_endpoint_says_allow() {
    let (addr, _) = action_app().await;
    // The first endpoint comes from a seed file.
    let seed = Seed::from_yaml_str(&format!(
        "actions:\n  - {{ type: authentication, url: 'http://{addr}/actions/tampered', secret: {SECRET}, on_error: deny }}\n"
    ))
    .unwrap();
    let app = TestApp::start_with(emulator_builder().seed(seed), |b| b).await;
    app.user("ada@example.com").await;
    for (route, says) in [
        ("tampered", "signature does not match"),
        ("unsigned", "no hex signature"),
        ("stale", "s from now"),
        ("garbage", "not an action response"),
    ] {
        if route != "tampered" {
            let url = format!("http://{addr}/actions/{route}");
            app.emulator
                .set_action_endpoint(ActionEndpoint::authentication(url, SECRET))
                .unwrap();
        }
        let page = hosted_sign_in(&app, "ada@example.com").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{route}: {}", page.html);
        assert!(page.html.contains(says), "{route}: {}", page.html);
        assert!(page.html.contains("error behaviour is to deny"), "{route}");
        assert_eq!(page.code(), None, "{route}");
    }
    assert_eq!(
        events(&app.emulator, "action.authentication.denied").len(),
        4
    );

    // With `on_error: allow`, a failing endpoint does not block sign-ins.
    let lenient = ActionEndpoint::authentication(format!("http://{addr}/actions/garbage"), SECRET)
        .on_error(OnError::Allow);
    app.emulator.set_action_endpoint(lenient).unwrap();
    let page = hosted_sign_in(&app, "ada@example.com").await;
    assert_signed_in(&app, &page, "ada@example.com").await;
    assert_contract(&app.emulator);
}

#[tokio::test]
async fn an_endpoint_that_is_down_or_hangs_denies_within_its_timeout() {
    let (addr, _) = action_app().await;
    let down = format!(
        "http://127.0.0.1:{}/actions/workos",
        crate::support::free_port()
    );
    let app = TestApp::start_with(
        emulator_builder().action_endpoint(ActionEndpoint::authentication(down, SECRET)),
        |b| b,
    )
    .await;
    app.user("ada@example.com").await;
    let bounded = Duration::from_secs(10);

    let page = tokio::time::timeout(bounded, hosted_sign_in(&app, "ada@example.com"))
        .await
        .expect("a down endpoint answers at once");
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("could not connect"), "{}", page.html);

    let hanging = ActionEndpoint::authentication(format!("http://{addr}/actions/hang"), SECRET)
        .timeout(Duration::from_millis(300));
    app.emulator.set_action_endpoint(hanging).unwrap();
    let page = tokio::time::timeout(bounded, hosted_sign_in(&app, "ada@example.com"))
        .await
        .expect("a hanging endpoint is given up on after its timeout");
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.html.contains("did not answer within 300 ms"),
        "{}",
        page.html
    );
    assert_eq!(page.code(), None);
    assert_contract(&app.emulator);
}

#[tokio::test]
async fn the_login_example_denies_sign_ups_from_its_blocked_domain() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = crate::example::action_routes(Actions::new(crate::example::DEMO_ACTION_SECRET));
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    let endpoint = ActionEndpoint::user_registration(
        format!("http://{addr}/actions/workos"),
        crate::example::DEMO_ACTION_SECRET,
    );
    let app = TestApp::start_with(emulator_builder().action_endpoint(endpoint), |b| b).await;
    let browser = Browser::new(&app.emulator);
    let signup = app.server.get("/auth/signup").await;
    let sign_up = browser.get(&location(&signup)).await;
    let denied = browser
        .submit(
            &sign_up,
            &[("email", "eve@Blocked.Example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(
        denied
            .html
            .contains("Sign-ups from blocked.example are closed."),
        "{}",
        denied.html
    );
    let allowed = browser
        .submit(
            &sign_up,
            &[("email", "eve@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.html);
    assert!(allowed.html.contains("code"));
    assert_contract(&app.emulator);
}
