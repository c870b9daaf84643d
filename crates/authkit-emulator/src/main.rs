//! Runs the WorkOS emulator on its own, with demo data, for local development.
//!
//! ```text
//! cargo run -p authkit-emulator
//! cargo run -p authkit-emulator -- --port 4200
//! PORT=4200 RUST_LOG=debug cargo run -p authkit-emulator
//! ```
//!
//! Point an app at it with the variables the banner prints. **Development only**: the emulator
//! keeps passwords in memory, signs tokens with a published key, and trusts anyone who knows
//! its API key. Never expose it or use it in production.

use std::error::Error;

use authkit_emulator::{Emulator, SeedUser};
use tracing_subscriber::EnvFilter;

/// The port used when `PORT` is not set.
const DEFAULT_PORT: u16 = 4100;
/// Every demo user's password.
const PASSWORD: &str = "password123!";
/// The TOTP user's authenticator secret (base32); public on purpose, it is a demo.
const TOTP_SECRET: &str = "DEMO2FA3SECRET4AUTHKIT5AXUMTOTP7";

/// The demo accounts, with what signing in as each shows.
fn demo_users() -> Vec<(SeedUser, &'static str)> {
    vec![
        (
            SeedUser::new("alice@example.com")
                .password(PASSWORD)
                .name("Alice", "Example"),
            "verified email, password sign-in, no MFA, no organization",
        ),
        (
            SeedUser::new("tom@example.com")
                .password(PASSWORD)
                .name("Tom", "Totp")
                .totp_secret(TOTP_SECRET),
            "asks for a TOTP code (secret below)",
        ),
        (
            SeedUser::new("grace@example.com")
                .password(PASSWORD)
                .name("Grace", "Orgs")
                .organization("Acme Inc.", "admin")
                .organization("Globex Corporation", "member"),
            "admin of Acme Inc., member of Globex Corporation",
        ),
        (
            SeedUser::new("uma@example.com")
                .password(PASSWORD)
                .name("Uma", "Unverified")
                .unverified(),
            "unverified email: asks for the emailed code (outbox)",
        ),
    ]
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
    let port = port_from_args()?;
    let emulator = demo_users()
        .into_iter()
        .fold(Emulator::builder().port(port), |builder, (user, _)| {
            builder.seed_user(user)
        })
        .start()
        .await
        .map_err(|e| format!("{e}; choose another port with --port <port>"))?;
    let organizations = emulator.organizations();
    print_banner(&emulator, &organizations);

    tokio::signal::ctrl_c().await?;
    println!("\nStopping the WorkOS emulator.");
    emulator.shutdown();
    Ok(())
}

/// `--port <port>`, else `PORT`, else [`DEFAULT_PORT`].
fn port_from_args() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" | "-p" => {
                port = Some(
                    args.next()
                        .ok_or("--port needs a value, e.g. --port 4100")?,
                )
            }
            "--help" | "-h" => {
                println!(
                    "Usage: authkit-emulator [--port <port>]\n\nRuns a local WorkOS emulator with demo users (development and tests only)."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; see --help")),
        }
    }
    let value = match port.or_else(|| std::env::var("PORT").ok()) {
        None => return Ok(DEFAULT_PORT),
        Some(value) => value,
    };
    value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a port number: use e.g. --port {DEFAULT_PORT}"))
}

fn print_banner(emulator: &Emulator, organizations: &[(String, String)]) {
    let base = emulator.base_url();
    let rule = "=".repeat(72);
    println!("{rule}");
    println!("  WorkOS emulator: FOR DEVELOPMENT ONLY. Never expose it or use it in production.");
    println!("{rule}");
    println!("  Base URL:   {base}");
    println!("  API key:    {}", emulator.api_key());
    println!("  Client id:  {}", emulator.client_id());
    println!();
    println!("  Point your app at it:");
    println!("    export WORKOS_BASE_URL={base}");
    println!("    export WORKOS_API_KEY={}", emulator.api_key());
    println!("    export WORKOS_CLIENT_ID={}", emulator.client_id());
    println!();
    println!("  Demo users, all with the password {PASSWORD}:");
    for (user, about) in demo_users() {
        println!("    {:<20} {about}", user.email);
    }
    println!("  tom@example.com's TOTP secret: {TOTP_SECRET}");
    println!();
    println!("  Organizations:");
    for (id, name) in organizations {
        println!("    {name}  ({id})");
    }
    println!();
    println!("  Emails WorkOS would send (codes, links): GET {base}/__emulator/outbox");
    println!("    e.g. curl '{base}/__emulator/outbox?to=alice@example.com'");
    println!();
    println!("  Press Ctrl-C to stop.");
    println!("{rule}");
}
