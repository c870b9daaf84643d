//! A command-line tool that signs in with WorkOS's device flow (CLI Auth, RFC 8628): it prints
//! a link and a code, you approve in any browser, and it prints who signed in.
//!
//! ```text
//! cargo run --example device_login
//! ```
//!
//! Where it signs in:
//! - with `WORKOS_CLIENT_ID` set: that WorkOS environment (and `WORKOS_BASE_URL`, if set).
//!   Enable CLI Auth for it in the WorkOS dashboard. No API key: a CLI must never ship one;
//! - else the emulator of the login example, when `cargo run --example login` is running
//!   (at `http://localhost:4100`, or `EMULATOR_URL`): sign in as one of its demo users, and
//!   the session shows on the app's "your sessions" page;
//! - else an emulator of its own, with the demo user `alice@example.com`, password
//!   `password123!`. It lives as long as the command.

use std::error::Error;
use std::io::Write;

use authkit_axum::Client;
use authkit_axum::error::DeviceCodeErrorKind;
use authkit_axum::user_management::{AuthenticateResponse, DeviceAuthorization};
use authkit_emulator::{DEFAULT_CLIENT_ID, Emulator, SeedUser};

/// Where the login example's emulator listens.
const LOGIN_EXAMPLE_EMULATOR: &str = "http://localhost:4100";
/// The demo user of this command's own emulator.
pub const DEMO_EMAIL: &str = "alice@example.com";
/// Its password.
pub const DEMO_PASSWORD: &str = "password123!";

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let mut out = std::io::stdout();
    // Keep an emulator of our own alive until the sign-in is over.
    let (client, device, _emulator) = start(&mut out).await?;
    tokio::select! {
        auth = finish_sign_in(&client, &device, &mut out) => { auth?; }
        _ = tokio::signal::ctrl_c() => {
            // Dropping the polling stops it.
            writeln!(out, "\nCancelled.")?;
        }
    }
    Ok(())
}

/// Picks where to sign in (see the module docs) and starts the device sign-in there.
async fn start(
    out: &mut impl Write,
) -> Result<(Client, DeviceAuthorization, Option<Emulator>), Box<dyn Error>> {
    if let Ok(client_id) = std::env::var("WORKOS_CLIENT_ID") {
        let mut builder = Client::builder().client_id(client_id);
        if let Ok(base_url) = std::env::var("WORKOS_BASE_URL") {
            builder = builder.base_url(base_url);
        }
        let client = builder.build()?;
        let device = start_sign_in(&client, out).await?;
        return Ok((client, device, None));
    }
    let shared = std::env::var("EMULATOR_URL").unwrap_or_else(|_| LOGIN_EXAMPLE_EMULATOR.into());
    let shared_client = |retries| {
        Client::builder()
            .client_id(DEFAULT_CLIENT_ID)
            .base_url(&shared)
            .max_retries(retries)
            .build()
    };
    // No retries for the first call: nothing listening there is the common case.
    match shared_client(0)?.user_management().authorize_device().await {
        Ok(device) => {
            writeln!(
                out,
                "(Signing in with the login example's emulator at {shared}: use one of its demo users.)"
            )?;
            print_instructions(&device, out);
            Ok((shared_client(2)?, device, None))
        }
        // Nothing there: start an emulator of our own.
        Err(authkit_axum::Error::Transport { .. } | authkit_axum::Error::Timeout { .. }) => {
            let emulator = demo_emulator().await?;
            writeln!(
                out,
                "(Signing in with a WorkOS emulator of this command, at {}: sign in as {DEMO_EMAIL}, password {DEMO_PASSWORD}.)",
                emulator.base_url()
            )?;
            let client = client_for(&emulator)?;
            let device = start_sign_in(&client, out).await?;
            Ok((client, device, Some(emulator)))
        }
        Err(err) => Err(err.into()),
    }
}

/// An emulator on a free port with the demo user.
pub async fn demo_emulator() -> Result<Emulator, authkit_emulator::EmulatorError> {
    Emulator::builder()
        .seed_user(
            SeedUser::new(DEMO_EMAIL)
                .password(DEMO_PASSWORD)
                .name("Alice", "Example"),
        )
        .start()
        .await
}

/// A client for `emulator` as a CLI has one: its client id, no API key.
pub fn client_for(emulator: &Emulator) -> Result<Client, authkit_axum::ConfigError> {
    Client::builder()
        .client_id(emulator.client_id())
        .base_url(emulator.base_url())
        .build()
}

/// Starts a device sign-in and tells the user where to approve it.
pub async fn start_sign_in(
    client: &Client,
    out: &mut impl Write,
) -> Result<DeviceAuthorization, authkit_axum::Error> {
    let device = client.user_management().authorize_device().await?;
    print_instructions(&device, out);
    Ok(device)
}

/// Tells the user where to approve the sign-in.
pub fn print_instructions(device: &DeviceAuthorization, out: &mut impl Write) {
    let minutes = device.lifetime().as_secs().div_ceil(60);
    // Printing to the terminal cannot usefully fail; ignore it if it does.
    let _ = writeln!(
        out,
        "To sign in, open this link in a browser:\n\n    {}\n\n\
         or open {} and enter the code {}\n\
         Waiting for you to approve (the code expires in {minutes} minutes; Ctrl-C to cancel)...",
        device.verification_link(),
        device.verification_uri,
        device.user_code,
    );
}

/// Waits for the user's answer and prints who signed in, or why not.
pub async fn finish_sign_in(
    client: &Client,
    device: &DeviceAuthorization,
    out: &mut impl Write,
) -> Result<AuthenticateResponse, Box<dyn Error>> {
    let polled = client
        .user_management()
        .poll_device_authorization(device)
        .user_agent(concat!("device_login/", env!("CARGO_PKG_VERSION")))
        .await;
    match polled {
        Ok(auth) => {
            let user = &auth.user;
            writeln!(
                out,
                "Signed in as {} <{}> ({})",
                user.display_name(),
                user.email,
                user.id
            )?;
            if let Some(org) = &auth.organization_id {
                writeln!(out, "Organization: {org}")?;
            }
            Ok(auth)
        }
        Err(err) => match err.device_code_error() {
            Some(DeviceCodeErrorKind::AccessDenied) => Err("the sign-in was denied".into()),
            Some(DeviceCodeErrorKind::Expired) => {
                Err("the code expired before it was approved: run the command again".into())
            }
            _ => Err(err.into()),
        },
    }
}
