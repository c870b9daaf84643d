//! A complete sign-in app: a public home page, a protected account page with an organization
//! switcher (or, for a user in no organization, a form that creates one) and a "refresh now"
//! button, an admin area behind a role guard, a security page that
//! needs a recent sign-in and signs out from its handler, a "your sessions" page that signs
//! other devices out, and a protected JSON endpoint.
//!
//! ```text
//! cargo run --example login
//! ```
//!
//! Then open <http://localhost:3000>. Without `WORKOS_API_KEY` and `WORKOS_CLIENT_ID` the app
//! starts the local WorkOS emulator (the `authkit-emulator` crate) (port 4100, or `EMULATOR_PORT`) with demo users, printed
//! at startup. With them (and `WORKOS_REDIRECT_URI`, optionally `WORKOS_BASE_URL`) it signs in
//! against that WorkOS instead: in its dashboard, register `WORKOS_REDIRECT_URI` (e.g.
//! `http://localhost:3000/auth/callback`) as a redirect URI, `http://localhost:3000/auth/login`
//! as the sign-in endpoint and `http://localhost:3000/` as the sign-out redirect. `PORT`
//! changes the app's port, `RUST_LOG` the log level.
//!
//! The app also answers an AuthKit user registration action at `POST /actions/workos`,
//! denying sign-ups from `blocked.example`: the emulator asks it at every sign-up; with WorkOS,
//! set `WORKOS_ACTION_SECRET` to the action's secret and configure the action in the dashboard
//! (the endpoint must be reachable by WorkOS, over HTTPS).

use std::error::Error;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authkit_axum::actions::{Action, ActionResponse, Actions};
use authkit_axum::organizations::CreateOrganization;
use authkit_axum::stores::MemoryStore;
use authkit_axum::tower_sessions::ExpiredDeletion;
use authkit_axum::user_management::{CreateOrganizationMembership, ListOrganizationMemberships};
use authkit_axum::web::{SessionControl, WorkosAction};
use authkit_axum::{AuthKit, AuthKitBuilder, AuthUser, Client};
use authkit_emulator::{ActionEndpoint, Emulator, EmulatorError, SeedUser};
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing_subscriber::EnvFilter;

/// The app's port when `PORT` is not set.
const DEFAULT_PORT: u16 = 3000;
/// The emulator's port when `EMULATOR_PORT` is not set.
const DEFAULT_EMULATOR_PORT: u16 = 4100;
/// Every demo user's password.
pub const DEMO_PASSWORD: &str = "password123!";
/// The demo TOTP user's secret (base32). Public on purpose: it is a demo.
pub const DEMO_TOTP_SECRET: &str = "DEMO2FA3SECRET4AUTHKIT5AXUMTOTP7";

/// The secret of the demo's user registration action (the emulator's and the app's).
pub const DEMO_ACTION_SECRET: &str = "demo_action_secret";
/// Sign-ups with an email at this domain are denied by the app's action.
pub const BLOCKED_DOMAIN: &str = "blocked.example";

/// The demo users, with what signing in as each shows.
pub fn demo_users() -> Vec<(SeedUser, &'static str)> {
    vec![
        (
            SeedUser::new("alice@example.com")
                .password(DEMO_PASSWORD)
                .name("Alice", "Example"),
            "a plain account: email and password",
        ),
        (
            SeedUser::new("tom@example.com")
                .password(DEMO_PASSWORD)
                .name("Tom", "Totp")
                .totp_secret(DEMO_TOTP_SECRET),
            "two-factor: asks for an authenticator code (secret below)",
        ),
        (
            SeedUser::new("grace@example.com")
                .password(DEMO_PASSWORD)
                .name("Grace", "Orgs")
                .organization("Acme Inc.", "admin")
                .organization("Globex Corporation", "member"),
            "admin of Acme Inc., member of Globex Corporation: pick one, switch on /account",
        ),
        (
            SeedUser::new("uma@example.com")
                .password(DEMO_PASSWORD)
                .name("Uma", "Unverified")
                .unverified(),
            "unverified email: asks for the emailed code (see the outbox)",
        ),
    ]
}

/// Starts the WorkOS emulator on `port` (0: any free port) with the demo users, and the app at
/// `app_url` registered as WorkOS requires: its callback as a redirect URI, its home page as
/// the sign-out redirect.
pub async fn demo_emulator(port: u16, app_url: &str) -> Result<Emulator, EmulatorError> {
    let builder = Emulator::builder()
        .port(port)
        .redirect_uri(format!("{app_url}/auth/callback"))
        .logout_redirect_uri(format!("{app_url}/"));
    demo_users()
        .into_iter()
        .fold(builder, |builder, (user, _)| builder.seed_user(user))
        .start()
        .await
}

/// The app: pages, the sign-in routes, and the session and auth layers over `store`.
pub fn app(authkit: AuthKit, store: MemoryStore) -> Router {
    // Admins of the session's organization only (403 for everyone else).
    let admin = Router::new()
        .route("/admin", get(admin))
        .route_layer(authkit.require_role("admin"));
    // Signed in within the last five minutes, or through AuthKit again first.
    let security = Router::new()
        .route("/account/security", get(security))
        .route_layer(authkit.require_recent_auth(Duration::from_secs(5 * 60)));
    Router::new()
        .route("/", get(home))
        .route("/account", get(account))
        .route("/account/refresh", post(refresh_now))
        .route("/account/organization", post(create_organization))
        .route("/account/sign-out", post(sign_out_here))
        .route("/account/devices", get(devices))
        .route("/account/devices/sign-out", post(sign_out_device))
        .route("/account/devices/sign-out-others", post(sign_out_others))
        .route("/api/me", get(me))
        .merge(admin)
        .merge(security)
        .merge(authkit.router())
        .with_state(authkit.clone())
        // The session layer and the AuthLayer, as one layer.
        .layer(authkit.layer(store))
        // No page of the app may be framed by another site (a framed page's sign-out and
        // organization buttons could be clicked through a decoy), nor sniffed into another
        // content type. The built-in sign-in pages set these themselves; a handler's own
        // headers are kept.
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            "frame-ancestors 'none'",
        ))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// `POST /actions/workos`: the app's AuthKit Actions endpoint, answering with the secret of
/// `actions`. Sign-ups from [`BLOCKED_DOMAIN`] are denied; everything else is allowed.
pub fn action_routes(actions: Actions) -> Router {
    Router::new()
        .route("/actions/workos", post(workos_action))
        .with_state(actions)
}

async fn workos_action(request: WorkosAction) -> ActionResponse {
    match &request.action {
        Action::UserRegistration(sign_up)
            if sign_up
                .user_data
                .email
                .rsplit_once('@')
                .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(BLOCKED_DOMAIN)) =>
        {
            tracing::info!(email = %sign_up.user_data.email, "denied a sign-up");
            request.deny(format!("Sign-ups from {BLOCKED_DOMAIN} are closed."))
        }
        _ => request.allow(),
    }
}

/// Sets `name: value` on every response that has no `name` header yet.
fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Public: sign-in links, or who is signed in.
async fn home(State(authkit): State<AuthKit>, user: Option<AuthUser>) -> Html<String> {
    let body = match user {
        Some(user) => format!(
            "<p>Signed in as <strong>{}</strong> ({}).</p>\
             <p><a class=\"button\" href=\"/account\">Your account</a></p>{}",
            esc(&user.user.display_name()),
            esc(&user.user.email),
            sign_out_form(&authkit),
        ),
        None => format!(
            "<p>You are not signed in.</p>\
             <p><a class=\"button\" href=\"{}\">Sign in</a> \
             <a class=\"button secondary\" href=\"{}\">Sign up</a></p>",
            esc(&authkit.sign_in_path()),
            esc(&authkit.sign_up_path()),
        ),
    };
    page("Home", &body)
}

/// Protected: signed-out page loads are redirected to sign in, then back here.
async fn account(State(authkit): State<AuthKit>, user: AuthUser) -> Html<String> {
    let memberships = match authkit
        .client()
        .user_management()
        .list_organization_memberships(&ListOrganizationMemberships::for_user(&user.user.id))
        .await
    {
        Ok(page) => page.data,
        Err(err) => {
            tracing::warn!(error = %err, "could not list the user's organizations");
            Vec::new()
        }
    };
    let org_name = |id: &str| {
        memberships
            .iter()
            .find(|m| m.organization_id == id)
            .and_then(|m| m.organization_name.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    let organization = match user.organization_id.as_deref() {
        Some(id) => esc(&org_name(id)),
        None => "<em>none</em>".to_owned(),
    };
    let permissions = if user.permissions().is_empty() {
        "<em>none</em>".to_owned()
    } else {
        user.permissions()
            .iter()
            .map(|p| format!("<code>{}</code>", esc(p)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let switcher = if memberships.len() > 1 {
        let options: String = memberships
            .iter()
            .map(|m| {
                let selected =
                    if Some(m.organization_id.as_str()) == user.organization_id.as_deref() {
                        " selected"
                    } else {
                        ""
                    };
                format!(
                    "<option value=\"{}\"{selected}>{} ({})</option>",
                    esc(&m.organization_id),
                    esc(m.organization_name.as_deref().unwrap_or(&m.organization_id)),
                    esc(&m.role.slug),
                )
            })
            .collect();
        format!(
            "<h2>Switch organization</h2>\
             <form method=\"post\" action=\"{}\" class=\"row\">\
             <select name=\"organization_id\" aria-label=\"Organization\">{options}</select>\
             <input type=\"hidden\" name=\"return_to\" value=\"/account\">\
             <button type=\"submit\">Switch</button></form>",
            esc(&authkit.switch_organization_path()),
        )
    } else if memberships.is_empty() {
        "<h2>Create an organization</h2>\
         <form method=\"post\" action=\"/account/organization\" class=\"row\">\
         <input name=\"name\" aria-label=\"Organization name\" placeholder=\"Acme Inc.\" required maxlength=\"100\">\
         <button type=\"submit\">Create</button></form>"
            .to_owned()
    } else {
        String::new()
    };
    let body = format!(
        "<dl>\
         <dt>Name</dt><dd id=\"name\">{}</dd>\
         <dt>Email</dt><dd id=\"email\">{}</dd>\
         <dt>Organization</dt><dd id=\"organization\">{organization}</dd>\
         <dt>Role</dt><dd id=\"role\">{}</dd>\
         <dt>Permissions</dt><dd id=\"permissions\">{permissions}</dd>\
         <dt>Access token</dt><dd>{} (refreshed automatically)</dd>\
         </dl>{switcher}\
         <form method=\"post\" action=\"/account/refresh\"><button type=\"submit\" class=\"secondary\">Refresh claims now</button></form>\
         <p><a href=\"/admin\">Admin area</a> (admins only) · <a href=\"/account/security\">Security</a> \
         (needs a recent sign-in) · <a href=\"/account/devices\">Your sessions</a> \
         (needs a recent sign-in) · <a href=\"/api/me\">This session as JSON</a> · <a href=\"/\">Home</a></p>{}",
        esc(&user.user.display_name()),
        esc(&user.user.email),
        user.role()
            .map(esc)
            .unwrap_or_else(|| "<em>none</em>".into()),
        esc(&expires_in(user.expires_at)),
        sign_out_form(&authkit),
    );
    page("Your account", &body)
}

/// Behind `require_role("admin")`: the handler only runs for admins of the session's
/// organization.
async fn admin(user: AuthUser) -> Html<String> {
    let body = format!(
        "<p>You are an admin of organization <code>{}</code>.</p><p><a href=\"/account\">Back</a></p>",
        esc(user.organization_id.as_deref().unwrap_or("-")),
    );
    page("Admin area", &body)
}

/// `POST /account/refresh`: new tokens now (e.g. after a role change in the dashboard).
async fn refresh_now(
    State(authkit): State<AuthKit>,
    headers: HeaderMap,
    control: SessionControl,
) -> Response {
    if let Err(refused) = authkit.check_origin(&headers) {
        return refused.into_response();
    }
    match control.refresh().await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(err) => err.into_response(),
    }
}

#[derive(serde::Deserialize)]
struct NewOrganization {
    name: String,
}

/// `POST /account/organization`: creates an organization, makes the user a member with the
/// environment's default role, and switches the session into it.
async fn create_organization(
    State(authkit): State<AuthKit>,
    headers: HeaderMap,
    user: AuthUser,
    control: SessionControl,
    Form(form): Form<NewOrganization>,
) -> Response {
    if let Err(refused) = authkit.check_origin(&headers) {
        return refused.into_response();
    }
    let name = form.name.trim();
    if name.is_empty() {
        let body = "<p>An organization needs a name.</p><p><a href=\"/account\">Back</a></p>";
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            page("Create an organization", body),
        )
            .into_response();
    }
    let client = authkit.client();
    let created = match client
        .organizations()
        .create_organization(CreateOrganization::new(name))
        .await
    {
        Ok(org) => org,
        Err(err) => return could_not("create the organization", &err),
    };
    if let Err(err) = client
        .user_management()
        .create_organization_membership(CreateOrganizationMembership::new(
            &user.user.id,
            &created.id,
        ))
        .await
    {
        return could_not("add you to the organization", &err);
    }
    match control.switch_organization(&created.id, "/account").await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(err) => err.into_response(),
    }
}

/// A 502 page for a failed WorkOS call (the details go to the log, not the page).
fn could_not(what: &str, err: &authkit_axum::Error) -> Response {
    tracing::warn!(error = %err, "could not {what}");
    let body = format!(
        "<p>Could not {}: WorkOS answered with an error. Try again later.</p>\
         <p><a href=\"/account\">Back</a></p>",
        esc(what)
    );
    (StatusCode::BAD_GATEWAY, page("Something went wrong", &body)).into_response()
}

/// Behind `require_recent_auth`: a sensitive page, reached only shortly after signing in.
async fn security(user: AuthUser) -> Html<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let ago = user
        .authenticated_at
        .map_or("-".to_owned(), |at| format!("{} s", now - at));
    let body = format!(
        "<p>You signed in <strong id=\"signed-in-ago\">{ago}</strong> ago, so you may change \
         security settings here.</p>\
         <form method=\"post\" action=\"/account/sign-out\"><button type=\"submit\">Sign out \
         (from this page's handler)</button></form><p><a href=\"/account\">Back</a></p>"
    );
    page("Security", &body)
}

/// `POST /account/sign-out`: the handler signs out, as after deleting an account.
async fn sign_out_here(
    State(authkit): State<AuthKit>,
    headers: HeaderMap,
    control: SessionControl,
) -> Response {
    if let Err(refused) = authkit.check_origin(&headers) {
        return refused.into_response();
    }
    control.sign_out().await
}

/// Every browser or device the user is signed in on, with a sign-out button for the others.
async fn devices(control: SessionControl) -> Response {
    let devices = match control.devices().await {
        Ok(devices) => devices,
        Err(err) => return err.into_response(),
    };
    let rows: String = devices
        .iter()
        .map(|d| {
            let what = format!(
                "{} from {}",
                d.session.user_agent.as_deref().unwrap_or("an unknown browser"),
                d.session.ip_address.as_deref().unwrap_or("an unknown address"),
            );
            if d.current {
                format!("<li>{} <strong>(this browser)</strong></li>", esc(&what))
            } else {
                format!(
                    "<li>{} <form method=\"post\" action=\"/account/devices/sign-out\" class=\"row\">\
                     <input type=\"hidden\" name=\"sid\" value=\"{}\">\
                     <button type=\"submit\" class=\"secondary\">Sign it out</button></form></li>",
                    esc(&what),
                    esc(&d.session.id),
                )
            }
        })
        .collect();
    let body = format!(
        "<ul id=\"devices\">{rows}</ul>\
         <form method=\"post\" action=\"/account/devices/sign-out-others\">\
         <button type=\"submit\">Sign out every other device</button></form>\
         <p><a href=\"/account\">Back</a></p>"
    );
    page("Your sessions", &body).into_response()
}

#[derive(serde::Deserialize)]
struct DeviceForm {
    sid: String,
}

/// `POST /account/devices/sign-out`: ends another device's session (here and at WorkOS).
async fn sign_out_device(
    State(authkit): State<AuthKit>,
    headers: HeaderMap,
    control: SessionControl,
    Form(form): Form<DeviceForm>,
) -> Response {
    if let Err(refused) = authkit.check_origin(&headers) {
        return refused.into_response();
    }
    match control.sign_out_device(&form.sid).await {
        Ok(()) => Redirect::to("/account/devices").into_response(),
        Err(err) => err.into_response(),
    }
}

/// `POST /account/devices/sign-out-others`.
async fn sign_out_others(
    State(authkit): State<AuthKit>,
    headers: HeaderMap,
    control: SessionControl,
) -> Response {
    if let Err(refused) = authkit.check_origin(&headers) {
        return refused.into_response();
    }
    match control.sign_out_other_devices().await {
        Ok(_) => Redirect::to("/account/devices").into_response(),
        Err(err) => err.into_response(),
    }
}

/// Protected JSON: `401` JSON when signed out (`curl`, `fetch`, `Accept: application/json`).
async fn me(user: AuthUser) -> Json<Value> {
    Json(json!({
        "user": user.user,
        "organization_id": user.organization_id,
        "role": user.role(),
        "permissions": user.permissions(),
        "expires_at": user.expires_at,
        "claims": user.claims,
    }))
}

fn sign_out_form(authkit: &AuthKit) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><button type=\"submit\" class=\"secondary\">Sign out</button></form>",
        esc(&authkit.sign_out_path())
    )
}

/// "in 4 min 59 s (14:05:09 UTC)".
fn expires_in(expires_at: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let left = expires_at - now;
    let day = expires_at.rem_euclid(86_400);
    let clock = format!("{:02}:{:02}:{:02} UTC", day / 3600, day / 60 % 60, day % 60);
    if left <= 0 {
        format!("expired ({clock})")
    } else if left < 60 {
        format!("expires in {left} s ({clock})")
    } else {
        format!("expires in {} min {} s ({clock})", left / 60, left % 60)
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · authkit-axum example</title><style>\
body{{font:16px/1.5 system-ui,sans-serif;background:#f5f6f8;color:#1d2330;margin:0}}\
main{{max-width:40rem;margin:3rem auto;background:#fff;border:1px solid #dfe2e8;border-radius:10px;padding:2rem 2.5rem}}\
h1{{margin-top:0;font-size:1.6rem}}h2{{font-size:1.1rem;margin-top:2rem}}\
dl{{display:grid;grid-template-columns:9rem 1fr;gap:.4rem 1rem}}dt{{color:#5b6475}}dd{{margin:0}}\
code{{background:#eef0f4;border-radius:4px;padding:.1rem .35rem;font-size:.9em}}\
a.button,button{{display:inline-block;font:inherit;padding:.45rem 1.1rem;border-radius:6px;border:1px solid #3451d1;\
background:#3451d1;color:#fff;text-decoration:none;cursor:pointer}}\
a.button.secondary,button.secondary{{background:#fff;color:#3451d1}}\
form{{margin:1rem 0}}form.row{{display:flex;gap:.6rem}}select{{font:inherit;padding:.4rem;flex:1}}\
</style></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title),
    ))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    if let Err(err) = run().await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let port = port_from_env("PORT", DEFAULT_PORT)?;
    let app_url = format!("http://localhost:{port}");
    let uses_workos = std::env::var_os("WORKOS_API_KEY").is_some()
        || std::env::var_os("WORKOS_CLIENT_ID").is_some();

    // Keep the emulator alive as long as the app.
    let (authkit, _emulator, actions) = if uses_workos {
        let authkit = AuthKitBuilder::from_env()?
            .after_sign_in("/account")
            .build()?;
        tracing::info!(
            base_url = %authkit.client().base_url(),
            redirect_uri = %authkit.redirect_uri(),
            "signing in with WorkOS (WORKOS_API_KEY is set)"
        );
        let actions = std::env::var("WORKOS_ACTION_SECRET").ok().map(Actions::new);
        (authkit, None, actions)
    } else {
        let emulator_port = port_from_env("EMULATOR_PORT", DEFAULT_EMULATOR_PORT)?;
        let emulator = demo_emulator(emulator_port, &app_url)
            .await
            .map_err(|e| format!("{e}; choose another port with EMULATOR_PORT=<port>"))?;
        let authkit = AuthKit::builder(
            emulator_client(&emulator)?,
            format!("{app_url}/auth/callback"),
        )
        .after_sign_in("/account")
        .build()?;
        emulator.set_action_endpoint(ActionEndpoint::user_registration(
            format!("{app_url}/actions/workos"),
            DEMO_ACTION_SECRET,
        ))?;
        print_demo(&emulator, &app_url);
        (
            authkit,
            Some(emulator),
            Some(Actions::new(DEMO_ACTION_SECRET)),
        )
    };

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            format!("cannot listen on port {port} ({e}); choose another with PORT=<port>")
        })?;
    // Open the app on the callback's host: the session cookie belongs to that host.
    let open = authkit.origin();
    tracing::info!("open {open}");
    // Sessions in memory; every minute, delete the expired ones (sign-ins never finished
    // expire after ten minutes, sessions after 7 days without a request).
    let store = MemoryStore::default();
    tokio::spawn(
        store
            .clone()
            .continuously_delete_expired(std::time::Duration::from_secs(60)),
    );
    let mut router = app(authkit, store);
    if let Some(actions) = actions {
        router = router.merge(action_routes(actions));
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn port_from_env(name: &str, default: u16) -> Result<u16, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => value.trim().parse().map_err(|_| {
            format!("{name}={value:?} is not a port number: use e.g. {name}={default}")
        }),
    }
}

fn print_demo(emulator: &Emulator, app_url: &str) {
    let base = emulator.base_url();
    let rule = "=".repeat(76);
    println!("{rule}");
    println!("  Demo mode: signing in with the embedded WorkOS emulator at {base}");
    println!("  (WORKOS_API_KEY and WORKOS_CLIENT_ID are not set). Development only.");
    println!();
    println!("  Demo users, all with the password {DEMO_PASSWORD}");
    for (user, about) in demo_users() {
        println!("    {:<20} {about}", user.email);
    }
    println!();
    println!("  tom@example.com's authenticator secret: {DEMO_TOTP_SECRET}");
    println!(
        "    otpauth://totp/authkit-axum%20demo:tom%40example.com?secret={DEMO_TOTP_SECRET}&issuer=authkit-axum%20demo&algorithm=SHA1&digits=6&period=30"
    );
    println!(
        "  uma@example.com's verification code is in the outbox: curl -H 'Authorization: Bearer {}' {base}/__emulator/outbox",
        emulator.api_key()
    );
    println!(
        "  Sign-ups from @{BLOCKED_DOMAIN} are denied by the app's action (POST /actions/workos)."
    );
    println!();
    println!("  Open {app_url} and sign in.");
    println!("{rule}");
}

/// A WorkOS client pointed at the emulator: the same `Client` an app builds for WorkOS, with
/// the emulator's base URL, API key and client id.
fn emulator_client(emulator: &Emulator) -> Result<Client, authkit_axum::ConfigError> {
    Client::builder()
        .base_url(emulator.base_url())
        .api_key(emulator.api_key())
        .client_id(emulator.client_id())
        .build()
}
