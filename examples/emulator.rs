//! Runs the WorkOS emulator on its own, with demo data, for local development.
//!
//! ```text
//! cargo run --example emulator --features emulator
//! PORT=4200 RUST_LOG=debug cargo run --example emulator --features emulator
//! ```
//!
//! Point an app at it with the variables the banner prints. **Development only**: the emulator
//! keeps passwords in memory, signs tokens with a published key, and trusts anyone who knows
//! its API key. Never expose it or use it in production.

use std::error::Error;

use authkit_axum::Client;
use authkit_axum::emulator::Emulator;
use authkit_axum::user_management::CreateUser;
use tracing_subscriber::EnvFilter;

/// The port used when `PORT` is not set.
const DEFAULT_PORT: u16 = 4100;

/// A demo account, listed in the banner.
struct DemoUser {
    email: &'static str,
    password: &'static str,
    /// What signing in as this user shows.
    about: &'static str,
}

/// What was seeded.
struct Demo {
    users: Vec<DemoUser>,
    /// (name, id)
    organizations: Vec<(&'static str, String)>,
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
    let port = port_from_env()?;
    let emulator = Emulator::builder()
        .port(port)
        .start()
        .await
        .map_err(|e| format!("{e}; with this example, choose the port with PORT=<port>"))?;
    let demo = seed(&emulator, &emulator.client()).await?;
    print_banner(&emulator, &demo);

    tokio::signal::ctrl_c().await?;
    println!("\nStopping the WorkOS emulator.");
    emulator.shutdown();
    Ok(())
}

/// `PORT`, or [`DEFAULT_PORT`].
fn port_from_env() -> Result<u16, String> {
    match std::env::var("PORT") {
        Err(_) => Ok(DEFAULT_PORT),
        Ok(value) => value.trim().parse().map_err(|_| {
            format!("PORT={value:?} is not a port number: use e.g. PORT={DEFAULT_PORT}")
        }),
    }
}

/// Creates the demo data: users through the real client, as an app would, and organizations
/// through the emulator (the User Management API cannot create them).
async fn seed(emulator: &Emulator, client: &Client) -> Result<Demo, authkit_axum::Error> {
    let um = client.user_management();
    let mut demo = Demo {
        users: Vec::new(),
        organizations: Vec::new(),
    };

    for name in ["Acme Inc.", "Globex Corporation"] {
        demo.organizations
            .push((name, emulator.create_organization(name)));
    }

    // A plain account: verified email, password, no MFA, no organization.
    let alice = DemoUser {
        email: "alice@example.com",
        password: "password123!",
        about: "verified email, password sign-in, no MFA, no organization",
    };
    um.create_user(
        CreateUser::new(alice.email)
            .password(alice.password)
            .email_verified(true)
            .first_name("Alice")
            .last_name("Example"),
    )
    .await?;
    demo.users.push(alice);

    Ok(demo)
}

fn print_banner(emulator: &Emulator, demo: &Demo) {
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
    println!("  Demo users (email / password):");
    for user in &demo.users {
        println!("    {} / {}  ({})", user.email, user.password, user.about);
    }
    println!();
    println!("  Organizations:");
    for (name, id) in &demo.organizations {
        println!("    {name}  ({id})");
    }
    println!();
    println!("  Emails WorkOS would send (codes, links): GET {base}/__emulator/outbox");
    println!("    e.g. curl '{base}/__emulator/outbox?to=alice@example.com'");
    println!();
    println!("  Press Ctrl-C to stop.");
    println!("{rule}");
}
