//! A JSON API protected by WorkOS access tokens: clients send `Authorization: Bearer <token>`.
//!
//! ```text
//! cargo run --example api
//! ```
//!
//! Without `WORKOS_API_KEY` and `WORKOS_CLIENT_ID` it starts the local WorkOS emulator (the `authkit-emulator` crate)
//! (port 4100, or `EMULATOR_PORT`) and prints a `curl` command with a fresh access token. With
//! them (and `WORKOS_REDIRECT_URI`, optionally `WORKOS_BASE_URL`) it verifies tokens issued by
//! that WorkOS. `PORT` (default 3001) changes the API's port.

use std::error::Error;

use authkit_axum::user_management::AuthenticateWithPassword;
use authkit_axum::web::{AuthLayer, AuthSource, Unauthenticated};
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

/// The API: `GET /api/me` answers with the token's user and claims, `401` JSON without one.
pub fn app(authkit: AuthKit) -> Router {
    Router::new()
        .route("/api/me", get(me))
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
        let builder = AuthKit::builder(
            emulator_client(&emulator)?,
            format!("{api_url}/auth/callback"),
        );
        (builder, Some(emulator))
    };
    // An API never redirects to a sign-in page.
    let authkit = builder.unauthenticated(Unauthenticated::Json).build()?;

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
