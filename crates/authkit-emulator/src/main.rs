//! Runs the WorkOS emulator on its own, with demo data, for local development.
//!
//! ```text
//! cargo run -p authkit-emulator
//! cargo run -p authkit-emulator -- --port 4200
//! PORT=4200 RUST_LOG=debug cargo run -p authkit-emulator
//! cargo run -p authkit-emulator -- --redirect-uri http://localhost:8080/callback \
//!     --logout-redirect-uri http://localhost:8080/
//! cargo run -p authkit-emulator -- --port 4100 --seed crates/authkit-emulator/examples/seed.yaml
//! ```
//!
//! `--seed <file>` (YAML or JSON, see `authkit_emulator::Seed`) replaces the demo users with
//! the file's users, organizations, memberships and roles; its redirect URIs, if it lists any,
//! replace the default ones, and its API key and client id replace the defaults. A bad seed
//! file stops the start with a message naming the file and the problem.
//!
//! Point an app at it with the variables the banner prints. As in the WorkOS dashboard, a
//! sign-in returns only to a registered redirect URI and a sign-out only to a registered
//! logout redirect URI: `http://localhost:3000/auth/callback` and `http://localhost:3000/`
//! (the example apps') are registered by default; add yours with `--redirect-uri` and
//! `--logout-redirect-uri` (repeatable). Only requests addressed to `localhost`, `127.0.0.1`
//! or `[::1]` are answered; `--allowed-host <name>` adds a name (e.g. a container's). **Development only**: the emulator
//! keeps passwords in memory, signs tokens with a published key, and trusts anyone who knows
//! its API key. Never expose it or use it in production.

use std::error::Error;

use authkit_emulator::{Emulator, Seed, SeedUser};
use tracing_subscriber::EnvFilter;

/// The port used when `PORT` is not set.
const DEFAULT_PORT: u16 = 4100;
/// Registered by default: the example apps' callback (`cargo run --example login`).
const DEFAULT_REDIRECT_URI: &str = "http://localhost:3000/auth/callback";
/// Registered by default: where the example apps return after signing out.
const DEFAULT_LOGOUT_REDIRECT_URI: &str = "http://localhost:3000/";
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
    let args = Args::parse()?;
    let seed = args.seed.as_deref().map(Seed::from_path).transpose()?;
    let mut builder = Emulator::builder().port(args.port);
    if seed.as_ref().is_none_or(|s| s.redirect_uris.is_empty()) {
        builder = builder.redirect_uri(DEFAULT_REDIRECT_URI);
    }
    if seed
        .as_ref()
        .is_none_or(|s| s.logout_redirect_uris.is_empty())
    {
        builder = builder.logout_redirect_uri(DEFAULT_LOGOUT_REDIRECT_URI);
    }
    let users = match &seed {
        Some(seed) => seed
            .users
            .iter()
            .map(|u| {
                let id =
                    u.id.clone()
                        .unwrap_or_else(|| "(id made at start)".to_owned());
                (u.email.clone(), id)
            })
            .collect(),
        None => Vec::new(),
    };
    let builder = match seed {
        Some(seed) => builder.seed(seed),
        None => demo_users()
            .into_iter()
            .fold(builder, |builder, (user, _)| builder.seed_user(user)),
    };
    let builder = args
        .redirect_uris
        .iter()
        .fold(builder, |b, uri| b.redirect_uri(uri));
    let builder = args
        .logout_redirect_uris
        .iter()
        .fold(builder, |b, uri| b.logout_redirect_uri(uri));
    let builder = args
        .allowed_hosts
        .iter()
        .fold(builder, |b, host| b.allowed_host(host));
    let emulator = builder.start().await.map_err(|e| match (&e, &args.seed) {
        (authkit_emulator::EmulatorError::Bind { .. }, _) => {
            format!("{e}; choose another port with --port <port>")
        }
        (_, Some(path)) => format!("seed file {path}: {e}"),
        (_, None) => e.to_string(),
    })?;
    let organizations = emulator.organizations();
    print_banner(
        &emulator,
        &organizations,
        args.seed.is_some().then_some(&users),
    );

    tokio::signal::ctrl_c().await?;
    println!("\nStopping the WorkOS emulator.");
    emulator.shutdown();
    Ok(())
}

/// The command line.
struct Args {
    /// `--port <port>`, else `PORT`, else [`DEFAULT_PORT`].
    port: u16,
    /// `--redirect-uri <url>`, repeatable, registered besides [`DEFAULT_REDIRECT_URI`].
    redirect_uris: Vec<String>,
    /// `--logout-redirect-uri <url>`, repeatable.
    logout_redirect_uris: Vec<String>,
    /// `--allowed-host <name>`, repeatable.
    allowed_hosts: Vec<String>,
    /// `--seed <file>`: seed data instead of the demo users.
    seed: Option<String>,
}

const USAGE: &str = "\
Usage: authkit-emulator [--port <port>] [--seed <file>] [--redirect-uri <url>]...
                        [--logout-redirect-uri <url>]... [--allowed-host <name>]...

Runs a local WorkOS emulator with demo users (development and tests only; never production).

  --seed <file>                 seed data (YAML or JSON): users, organizations, memberships,
                                roles, redirect URIs, API key, client id; replaces the demo
                                users (see crates/authkit-emulator/examples/seed.yaml)
  --port <port>                 port on 127.0.0.1 (default: $PORT, else 4100)
  --redirect-uri <url>          a redirect URI sign-ins may return to, besides
                                http://localhost:3000/auth/callback (repeatable)
  --logout-redirect-uri <url>   a URL sign-outs may return to, besides http://localhost:3000/
                                (repeatable)
  --allowed-host <name>         answer requests addressed to this host name too, besides
                                localhost, 127.0.0.1 and [::1] (repeatable)";

impl Args {
    fn parse() -> Result<Args, String> {
        let mut args = std::env::args().skip(1);
        let mut port = None;
        let mut parsed = Args {
            port: DEFAULT_PORT,
            redirect_uris: Vec::new(),
            logout_redirect_uris: Vec::new(),
            allowed_hosts: Vec::new(),
            seed: None,
        };
        while let Some(arg) = args.next() {
            let mut value = |example: &str| {
                args.next()
                    .ok_or_else(|| format!("{arg} needs a value, e.g. {arg} {example}"))
            };
            match arg.as_str() {
                "--port" | "-p" => port = Some(value("4100")?),
                "--redirect-uri" => parsed
                    .redirect_uris
                    .push(value("http://localhost:8080/callback")?),
                "--logout-redirect-uri" => parsed
                    .logout_redirect_uris
                    .push(value("http://localhost:8080/")?),
                "--allowed-host" => parsed.allowed_hosts.push(value("emulator")?),
                "--seed" => parsed.seed = Some(value("seed.yaml")?),
                "--help" | "-h" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?}; see --help")),
            }
        }
        if let Some(value) = port.or_else(|| std::env::var("PORT").ok()) {
            parsed.port = value.trim().parse().map_err(|_| {
                format!("{value:?} is not a port number: use e.g. --port {DEFAULT_PORT}")
            })?;
        }
        Ok(parsed)
    }
}

/// Prints where the emulator is and what it holds; `seeded` lists a seed file's users as
/// `(email, id)` (the demo users otherwise).
fn print_banner(
    emulator: &Emulator,
    organizations: &[(String, String)],
    seeded: Option<&Vec<(String, String)>>,
) {
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
    match seeded {
        Some(users) => {
            println!("  Users from the seed file:");
            for (email, id) in users {
                println!("    {email:<28} {id}");
            }
        }
        None => {
            println!("  Demo users, all with the password {PASSWORD}:");
            for (user, about) in demo_users() {
                println!("    {:<20} {about}", user.email);
            }
            println!("  tom@example.com's TOTP secret: {TOTP_SECRET}");
        }
    }
    println!();
    println!("  Organizations:");
    for (id, name) in organizations {
        println!("    {name}  ({id})");
    }
    println!();
    println!("  Registered redirect URIs (add more with --redirect-uri <url>):");
    for uri in emulator.redirect_uris() {
        println!("    {uri}");
    }
    println!("  Registered logout redirect URIs (add more with --logout-redirect-uri <url>):");
    for uri in emulator.logout_redirect_uris() {
        println!("    {uri}");
    }
    println!();
    println!("  Emails WorkOS would send (codes, links): GET {base}/__emulator/outbox");
    println!(
        "    e.g. curl -H 'Authorization: Bearer {}' '{base}/__emulator/outbox?to=alice@example.com'",
        emulator.api_key()
    );
    println!(
        "  Device sign-in (CLIs): POST {base}/user_management/authorize/device, then approve at"
    );
    println!("    {base}/__emulator/device");
    println!();
    println!("  Press Ctrl-C to stop.");
    println!("{rule}");
}
