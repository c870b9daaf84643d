//! A JSON API protected by WorkOS access tokens and API keys: users' apps send
//! `Authorization: Bearer <access token>`, machines `Authorization: Bearer <API key>`.
//!
//! ```text
//! cargo run --example api
//! ```
//!
//! Without `WORKOS_API_KEY` and `WORKOS_CLIENT_ID` it starts the local WorkOS emulator (the `authkit-emulator` crate)
//! (port 4100, or `EMULATOR_PORT`) and prints `curl` commands with a fresh access token and an
//! organization's API key. With
//! them (and `WORKOS_REDIRECT_URI`, optionally `WORKOS_BASE_URL`) it verifies tokens issued by
//! that WorkOS. `PORT` (default 3001) changes the API's port.

use std::error::Error;

use authkit_axum::user_management::{AuthenticateWithPassword, CreateOrganizationApiKey};
use authkit_axum::web::{ApiKeys, AuthLayer, AuthSource, Principal, Unauthenticated};
use authkit_axum::{AuthKit, AuthKitBuilder, AuthUser, Client};
use authkit_emulator::{Emulator, SeedUser};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

const DEFAULT_PORT: u16 = 3001;
const DEFAULT_EMULATOR_PORT: u16 = 4100;
const DEMO_EMAIL: &str = "alice@example.com";
const DEMO_PASSWORD: &str = "password123!";

/// The API: `GET /api/me` answers with the token's user and claims, `GET /api/whoami` with the
/// user or the API key; `401` JSON without either.
pub fn app(authkit: AuthKit) -> Router {
    Router::new()
        .route("/api/me", get(me))
        .route("/api/whoami", get(whoami))
        // Bearer tokens only: no sessions, no cookies.
        .layer(AuthLayer::bearer_only(authkit))
}

async fn me(user: AuthUser) -> Json<Value> {
    Json(json!({
        "user": user.user,
        "organization_id": user.organization_id,
        "role": user.role(),
        "permissions": user.permissions(),
        "expires_at": user.expires_at,
        "via_bearer_token": user.source == AuthSource::Bearer,
        "claims": user.claims,
    }))
}

/// Who is calling: a user (access token) or a machine (API key).
async fn whoami(who: Principal) -> Json<Value> {
    Json(match &who {
        Principal::User(user) => json!({
            "kind": "user",
            "id": user.id,
            "email": user.email,
            "organization_id": who.organization_id(),
            "permissions": who.permissions(),
        }),
        Principal::ApiKey(key) => json!({
            "kind": "api_key",
            "id": key.id,
            "name": key.name,
            "organization_id": who.organization_id(),
            "permissions": who.permissions(),
        }),
        _ => json!({ "kind": "unknown" }),
    })
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
    let api_url = format!("http://localhost:{port}");
    let uses_workos = std::env::var_os("WORKOS_API_KEY").is_some()
        || std::env::var_os("WORKOS_CLIENT_ID").is_some();

    let (builder, _emulator) = if uses_workos {
        tracing::info!("verifying access tokens issued by WorkOS (WORKOS_API_KEY is set)");
        (AuthKitBuilder::from_env()?, None)
    } else {
        let emulator = Emulator::builder()
            .port(port_from_env("EMULATOR_PORT", DEFAULT_EMULATOR_PORT)?)
            // Registered as in the WorkOS dashboard (the API's sign-in routes use them).
            .redirect_uri(format!("{api_url}/auth/callback"))
            .logout_redirect_uri(format!("{api_url}/"))
            .seed_user(
                SeedUser::new(DEMO_EMAIL)
                    .password(DEMO_PASSWORD)
                    .name("Alice", "Example")
                    .organization("Acme Inc.", "admin"),
            )
            .start()
            .await
            .map_err(|e| format!("{e}; choose another port with EMULATOR_PORT=<port>"))?;
        // What a client app does after signing the user in: it holds an access token.
        let auth = emulator_client(&emulator)?
            .user_management()
            .authenticate_with_password(AuthenticateWithPassword::new(DEMO_EMAIL, DEMO_PASSWORD))
            .await?;
        println!(
            "Demo mode: tokens come from the embedded WorkOS emulator at {}.",
            emulator.base_url()
        );
        println!("Try, as {DEMO_EMAIL} (the token is valid for 5 minutes):");
        println!(
            "  curl -H 'Authorization: Bearer {}' {api_url}/api/me",
            auth.access_token.expose_secret()
        );
        println!("and without a token (401):\n  curl -i {api_url}/api/me");
        // What a customer's machine holds: an API key of its organization.
        let acme = emulator
            .organizations()
            .into_iter()
            .next()
            .map(|(id, _)| id)
            .ok_or("the demo organization is missing")?;
        let key = emulator_client(&emulator)?
            .user_management()
            .create_organization_api_key(
                &acme,
                CreateOrganizationApiKey::new("Demo machine").permissions(["widgets:read"]),
            )
            .await?;
        println!("As a machine, with an API key of Acme Inc.:");
        println!(
            "  curl -H 'Authorization: Bearer {}' {api_url}/api/whoami",
            key.value.expose_secret()
        );
        let builder = AuthKit::builder(
            emulator_client(&emulator)?,
            format!("{api_url}/auth/callback"),
        );
        (builder, Some(emulator))
    };
    // An API never redirects to a sign-in page.
    let authkit = builder
        .unauthenticated(Unauthenticated::Json)
        .api_keys(ApiKeys::new())
        .build()?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            format!("cannot listen on port {port} ({e}); choose another with PORT=<port>")
        })?;
    tracing::info!("API listening on {api_url}/api/me");
    axum::serve(listener, app(authkit))
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

/// A WorkOS client pointed at the emulator: the same `Client` an app builds for WorkOS, with
/// the emulator's base URL, API key and client id.
fn emulator_client(emulator: &Emulator) -> Result<Client, authkit_axum::ConfigError> {
    Client::builder()
        .base_url(emulator.base_url())
        .api_key(emulator.api_key())
        .client_id(emulator.client_id())
        .build()
}
