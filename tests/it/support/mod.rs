//! Shared test support: the spec validator and the contract check every capability test ends with.
#![allow(dead_code)]

#[cfg(feature = "axum")]
pub mod app;
#[cfg(feature = "axum")]
pub mod flaky;
pub mod jwt;
pub mod link;
#[cfg(feature = "axum")]
pub mod machines;
pub mod spec;
#[cfg(feature = "axum")]
pub mod step_up_limit;
#[cfg(feature = "axum")]
pub mod stores;

use authkit_axum::{Client, ClientBuilder};
use authkit_emulator::Emulator;

/// A [`Client`] for an emulator (the emulator crate knows nothing of this crate's types).
pub trait EmulatorExt {
    /// A client pointed at the emulator, with short retry delays.
    fn client(&self) -> Client;
    /// The same, as a builder.
    fn client_builder(&self) -> ClientBuilder;
}

impl EmulatorExt for Emulator {
    fn client(&self) -> Client {
        self.client_builder().build().unwrap()
    }

    fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .api_key(self.api_key())
            .client_id(self.client_id())
            .base_url(self.base_url())
            .retry_base_delay(std::time::Duration::from_millis(20))
    }
}

/// A `reqwest` client builder for the tests' own HTTP calls. reqwest is built without a
/// default TLS provider here (the crate sets up rustls on `ring` for its own client), so the
/// `ring` provider is made the process default first.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A free TCP port on 127.0.0.1 (free when asked; bind it soon).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The refresh-token grants the emulator answered: status and response body of each.
pub fn refresh_calls(emulator: &Emulator) -> Vec<(u16, serde_json::Value)> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.grant_type.as_deref() == Some("refresh_token"))
        .map(|r| (r.status, r.response_body.unwrap_or(serde_json::Value::Null)))
        .collect()
}

/// Checks every exchange the emulator recorded against WorkOS's OpenAPI spec:
/// - each response body matches the schema the spec gives for its path and status;
/// - each request the emulator accepted (2xx) has a body and query parameters the spec allows
///   (rejected requests may be deliberately invalid).
///
/// Injected faults and the emulator's own `/__emulator/*` routes are skipped.
pub fn assert_contract(emulator: &Emulator) {
    let spec = spec::Spec::load();
    let mut problems = Vec::new();
    for r in emulator.requests() {
        // The emulator's own routes, and the icon a real browser asks every site for.
        if r.path.starts_with("/__emulator") || r.path == "/favicon.ico" {
            continue;
        }
        let fault = r
            .response_body
            .as_ref()
            .and_then(|b| b.get("code"))
            .is_some_and(|c| c == "emulated_fault");
        if fault || r.status == 401 {
            continue;
        }
        let label = format!("{} {} -> {}", r.method, r.path, r.status);
        if spec.match_path(&r.method, &r.path).is_none() {
            problems.push(format!("{label}: no such operation in the spec"));
            continue;
        }
        // Browser redirects and HTML pages have no JSON schema.
        let html =
            r.path == "/user_management/authorize" || r.path == "/user_management/sessions/logout";
        if !html {
            let body = r.response_body.clone().unwrap_or(serde_json::Value::Null);
            if let Err(errors) = spec.validate_response(&r.method, &r.path, r.status, &body) {
                problems.push(format!("{label}: response: {}", errors.join("; ")));
            }
        }
        if (200..300).contains(&r.status) {
            if let Some(Err(errors)) = r
                .request_body
                .as_ref()
                .map(|body| spec.validate_request(&r.method, &r.path, body))
            {
                problems.push(format!("{label}: request body: {}", errors.join("; ")));
            }
            if let (Some(query), Some(declared)) = (&r.query, spec.query_params(&r.method, &r.path))
            {
                for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
                    // `provider_query_params[key]=value` is the deep-object form of one parameter.
                    let name = name.split('[').next().unwrap_or_default().to_owned();
                    if !declared.contains(&name) {
                        problems.push(format!(
                            "{label}: query parameter {name:?} is not in the spec"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "exchanges that do not match the WorkOS OpenAPI spec:\n{}",
        problems.join("\n")
    );
}

/// The TOTP code of `secret`, `offset_steps` 30-second steps from now.
pub fn totp(secret: &str, offset_steps: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        "test".to_owned(),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + offset_steps * 30) as u64)
}

/// Sends `body` (raw, as JSON) with `method` to `path` on the emulator with its API key, as a
/// client that ignores the spec would; returns the status and the JSON answer.
pub async fn raw_api_call(
    emulator: &Emulator,
    method: reqwest::Method,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let response = http_client()
        .build()
        .unwrap()
        .request(method, format!("{}{path}", emulator.base_url()))
        .bearer_auth(emulator.api_key())
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}
