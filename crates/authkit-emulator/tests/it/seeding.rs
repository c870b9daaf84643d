//! Seed data: the example seed file starts an emulator whose users sign in with their
//! passwords under their pinned ids, whose role catalogue drives the tokens' `role` and
//! `permissions` and refuses unknown roles, and a bad seed fails with the file and the field.

use std::path::PathBuf;
use std::time::Duration;

use authkit_emulator::{Emulator, EmulatorError, Seed};
use base64::Engine;
use serde_json::{Value, json};

use crate::support::{authenticate, http};

const ADA: &str = "user_01ADA0000000000000000000001";
const ACME: &str = "org_01ACME000000000000000000001";
const GLOBEX: &str = "org_01GLOBEX0000000000000000002";

fn example_seed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/seed.yaml")
}

async fn start_example() -> Emulator {
    let seed = Seed::from_path(example_seed()).unwrap();
    Emulator::builder().seed(seed).start().await.unwrap()
}

/// The claims of a JWT, read without verifying it.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn api(
    emulator: &Emulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http()
        .request(method, format!("{}{path}", emulator.base_url()))
        .bearer_auth(emulator.api_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Signs `email` in with its password into `organization` (choosing it when asked).
async fn sign_in_to(emulator: &Emulator, email: &str, organization: &str) -> Value {
    let (status, body) = authenticate(
        emulator,
        json!({ "grant_type": "password", "email": email, "password": "password123!" }),
    )
    .await;
    if status == 403 && body["code"] == "organization_selection_required" {
        let (status, body) = authenticate(
            emulator,
            json!({
                "grant_type": "urn:workos:oauth:grant-type:organization-selection",
                "pending_authentication_token": body["pending_authentication_token"],
                "organization_id": organization,
            }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body
    } else {
        assert_eq!(status, 200, "{body}");
        body
    }
}

#[tokio::test]
async fn the_example_seed_signs_users_in_with_pinned_ids_and_catalogue_roles() {
    let emulator = start_example().await;
    assert_eq!(emulator.api_key(), "sk_test_acme_emulator");
    assert_eq!(emulator.client_id(), "client_acme_emulator");
    assert_eq!(
        emulator.redirect_uris(),
        [
            "http://localhost:3000/auth/callback",
            "http://localhost:8080/callback"
        ]
    );

    // Ada signs in with her password, as herself, into Acme as an admin.
    let auth = sign_in_to(&emulator, "ada@example.com", ACME).await;
    assert_eq!(auth["user"]["id"], ADA);
    assert_eq!(auth["user"]["external_id"], "crm-ada");
    assert_eq!(auth["user"]["metadata"]["plan"], "enterprise");
    assert_eq!(auth["organization_id"], ACME);
    let token = claims(auth["access_token"].as_str().unwrap());
    assert_eq!(token["sub"], ADA);
    assert_eq!(token["org_id"], ACME);
    assert_eq!(token["role"], "admin");
    assert_eq!(
        token["permissions"],
        json!(["users:manage", "widgets:manage", "widgets:read"])
    );
    // The seeded JWT template and feature flags are in the token.
    assert_eq!(token["plan"], "enterprise");
    assert_eq!(token["org_tier"], "gold");
    assert_eq!(token["feature_flags"], json!(["beta-dashboard"]));
    // In Globex her role is billing, with its own permissions.
    let auth = sign_in_to(&emulator, "ada@example.com", GLOBEX).await;
    let token = claims(auth["access_token"].as_str().unwrap());
    assert_eq!(token["role"], "billing");
    assert_eq!(token["permissions"], json!(["billing:manage"]));

    // A wrong password is refused.
    let (status, _) = authenticate(
        &emulator,
        json!({ "grant_type": "password", "email": "ada@example.com", "password": "nope" }),
    )
    .await;
    assert_eq!(status, 400);

    // The membership responses carry the pinned id, the role and the statuses.
    let (status, ada) = api(
        &emulator,
        reqwest::Method::GET,
        "/user_management/organization_memberships/om_01ADAACME0000000000000000001",
        None,
    )
    .await;
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["user_id"], ADA);
    assert_eq!(ada["organization_id"], ACME);
    assert_eq!(ada["role"]["slug"], "admin");
    assert_eq!(ada["status"], "active");
    let (_, acme) = api(
        &emulator,
        reqwest::Method::GET,
        &format!("/user_management/organization_memberships?organization_id={ACME}&statuses=active,pending,inactive"),
        None,
    )
    .await;
    let by_email = |email: &str| {
        acme["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["email"] == email)
            .cloned()
            .unwrap_or_else(|| panic!("no membership of {email}: {acme}"))
    };
    assert_eq!(
        by_email("tom@example.com")["role"]["slug"],
        "member",
        "the default role"
    );
    assert_eq!(by_email("uma@example.com")["status"], "pending");
    let (_, globex) = api(
        &emulator,
        reqwest::Method::GET,
        &format!(
            "/user_management/organization_memberships?organization_id={GLOBEX}&statuses=inactive"
        ),
        None,
    )
    .await;
    assert_eq!(globex["data"][0]["user"]["email"], "sso-only@example.com");

    // The organizations, with their external ids and domains in their states.
    let (status, org) = api(
        &emulator,
        reqwest::Method::GET,
        &format!("/organizations/{ACME}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["name"], "Acme Inc.");
    assert_eq!(org["external_id"], "acme");
    let states: Vec<(&str, &str)> = org["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["domain"].as_str().unwrap(), d["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("acme.example", "verified"),
            ("acme-staging.example", "pending")
        ]
    );
    let (_, by_external) = api(
        &emulator,
        reqwest::Method::GET,
        "/organizations/external_id/acme",
        None,
    )
    .await;
    assert_eq!(by_external["id"], ACME);
    let (_, globex) = api(
        &emulator,
        reqwest::Method::GET,
        &format!("/organizations/{GLOBEX}"),
        None,
    )
    .await;
    assert_eq!(globex["domains"][0]["state"], "failed");

    // Tom has a TOTP factor, so his sign-in asks for a code.
    let (status, tom) = authenticate(
        &emulator,
        json!({ "grant_type": "password", "email": "tom@example.com", "password": "password123!" }),
    )
    .await;
    assert_eq!(
        (status, tom["code"].as_str()),
        (403, Some("mfa_challenge")),
        "{tom}"
    );
}

#[tokio::test]
async fn an_unknown_role_slug_is_refused_as_workos_does() {
    let emulator = start_example().await;
    let user = json!({ "email": "new@example.com" });
    let (_, user) = api(
        &emulator,
        reqwest::Method::POST,
        "/user_management/users",
        Some(user),
    )
    .await;
    let create =
        |role: &str| json!({ "user_id": user["id"], "organization_id": ACME, "role_slug": role });

    let (status, body) = api(
        &emulator,
        reqwest::Method::POST,
        "/user_management/organization_memberships",
        Some(create("owner")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_role");
    assert_eq!(body["message"], "Role 'owner' is not a valid role.");

    let (status, created) = api(
        &emulator,
        reqwest::Method::POST,
        "/user_management/organization_memberships",
        Some(create("billing")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["role"]["slug"], "billing");

    let path = format!(
        "/user_management/organization_memberships/{}",
        created["id"].as_str().unwrap()
    );
    let (status, body) = api(
        &emulator,
        reqwest::Method::PUT,
        &path,
        Some(json!({ "role_slug": "owner" })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_role")),
        "{body}"
    );
    let (status, body) = api(
        &emulator,
        reqwest::Method::PUT,
        &path,
        Some(json!({ "role_slugs": ["member", "superuser"] })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_role")),
        "{body}"
    );
    let (_, unchanged) = api(&emulator, reqwest::Method::GET, &path, None).await;
    assert_eq!(
        unchanged["role"]["slug"], "billing",
        "a refused update changes nothing"
    );

    // Invitations answer 400 invalid_role, as the spec says.
    let (status, body) = api(
        &emulator,
        reqwest::Method::POST,
        "/user_management/invitations",
        Some(
            json!({ "email": "guest@example.com", "organization_id": ACME, "role_slug": "owner" }),
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_role")),
        "{body}"
    );
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authkit-emulator-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_bad_seed_names_the_file_and_the_problem() {
    let typo = temp_file(
        "typo.yaml",
        "users:\n  - email: ada@example.com\n    pasword: x\n",
    );
    let err = Seed::from_path(&typo).unwrap_err();
    assert!(matches!(err, EmulatorError::Seed(_)));
    let text = err.to_string();
    assert!(text.contains(&typo.display().to_string()), "{text}");
    assert!(
        text.contains("pasword") && text.contains("password"),
        "{text}"
    );

    let json = temp_file(
        "typo.json",
        r#"{"organizations": [{"name": "A", "domain": []}]}"#,
    );
    let text = Seed::from_path(&json).unwrap_err().to_string();
    assert!(
        text.contains("typo.json") && text.contains("`domain`"),
        "{text}"
    );

    let state = temp_file(
        "state.yml",
        "organizations: [{ name: A, domains: [{ domain: a.example, state: approved }] }]",
    );
    let text = Seed::from_path(&state).unwrap_err().to_string();
    assert!(
        text.contains("approved") && text.contains("pending"),
        "{text}"
    );

    let role = temp_file(
        "role.yaml",
        "roles: [{ slug: admin }]\nusers: [{ email: a@example.com }]\norganizations: [{ name: A }]\nmemberships: [{ user: a@example.com, organization: A, role: owner }]\n",
    );
    let text = Seed::from_path(&role).unwrap_err().to_string();
    assert!(
        text.contains("memberships[0]") && text.contains("'owner'"),
        "{text}"
    );

    let missing = std::env::temp_dir().join("no-such-seed-file.yaml");
    let text = Seed::from_path(&missing).unwrap_err().to_string();
    assert!(text.contains("no-such-seed-file.yaml"), "{text}");

    // A seed built in code is checked at start.
    let err = Emulator::builder()
        .seed(
            Seed::new()
                .default_role("owner")
                .role(authkit_emulator::SeedRole::new("admin")),
        )
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("default_role"), "{err}");
}

#[test]
fn the_binary_refuses_a_bad_seed_file_naming_it_and_the_field() {
    let typo = temp_file("binary-typo.yaml", "api_key: k\nclient_idd: c\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authkit-emulator"))
        .args(["--port", "0", "--seed", typo.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("binary-typo.yaml") && stderr.contains("client_idd"),
        "{stderr}"
    );
}

/// Stops the child process when dropped (also when the test fails).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_starts_from_a_seed_file_and_prints_its_credentials() {
    use std::io::BufRead;
    let seed = example_seed();
    let mut child = Running(
        std::process::Command::new(env!("CARGO_BIN_EXE_authkit-emulator"))
            .args(["--port", "0", "--seed", seed.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let banner = tokio::task::spawn_blocking(move || {
        let mut banner = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.contains("Press Ctrl-C");
            banner.push(line);
            if done {
                break;
            }
        }
        banner
    });
    let banner = tokio::time::timeout(Duration::from_secs(30), banner)
        .await
        .expect("a banner")
        .unwrap();
    let field = |name: &str| {
        banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {name} in {banner:#?}"))
    };
    let base_url = field("Base URL:");
    assert_eq!(field("API key:"), "sk_test_acme_emulator");
    assert_eq!(field("Client id:"), "client_acme_emulator");
    let response = http()
        .post(format!("{base_url}/user_management/authenticate"))
        .json(&json!({
            "client_id": "client_acme_emulator",
            "client_secret": "sk_test_acme_emulator",
            "grant_type": "password",
            "email": "tom@example.com",
            "password": "password123!",
        }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["user"]["id"], "user_01TOM0000000000000000000002",
        "{body}"
    );
    drop(child);
}

/// An organization seeded with `sso: true`: a refresh into it from a password session
/// answers `sso_required` (400, with the user's email and the emulated connection), and a
/// hosted sign-in scoped to it counts as SSO, from which the refresh goes through.
#[tokio::test]
async fn an_sso_organization_refuses_a_switch_from_a_password_session() {
    let seed = Seed::from_yaml_str(
        r#"
users:
  - { email: ada@example.com, password: "password123!" }
organizations:
  - { id: org_acme, name: Acme }
  - { id: org_initech, name: Initech, sso: true }
memberships:
  - { user: ada@example.com, organization: Acme, role: member }
  - { user: ada@example.com, organization: Initech, role: member }
"#,
    )
    .unwrap();
    let emulator = crate::support::builder().seed(seed).start().await.unwrap();
    let auth = sign_in_to(&emulator, "ada@example.com", "org_acme").await;
    let (status, body) = authenticate(
        &emulator,
        json!({
            "grant_type": "refresh_token",
            "refresh_token": auth["refresh_token"],
            "organization_id": "org_initech",
        }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "sso_required");
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["connection_ids"][0], "conn_emulated_initech");

    // Signing in scoped to the organization is its SSO; then the refresh goes through.
    let authorize = format!(
        "{}/user_management/authorize?client_id={}&response_type=code&provider=authkit&organization_id=org_initech&redirect_uri={}",
        emulator.base_url(),
        emulator.client_id(),
        crate::support::CALLBACK
    );
    let callback = emulator
        .approve_sign_in(&authorize, "ada@example.com")
        .unwrap();
    let (status, sso) =
        crate::support::exchange(&emulator, &crate::support::code_of(&callback)).await;
    assert_eq!(status, 200, "{sso}");
    assert_eq!(sso["authentication_method"], "SSO");
    assert_eq!(sso["organization_id"], "org_initech");
    let (status, body) = authenticate(
        &emulator,
        json!({
            "grant_type": "refresh_token",
            "refresh_token": sso["refresh_token"],
            "organization_id": "org_initech",
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_example_seed_holds_api_keys_that_validate_by_value_only() {
    let emulator = start_example().await;
    let validate = |value: &'static str| {
        let emulator = &emulator;
        async move {
            api(
                emulator,
                reqwest::Method::POST,
                "/api_keys/validations",
                Some(json!({ "value": value })),
            )
            .await
        }
    };
    let (status, body) = validate("sk_test_acme_reporting_0123456789").await;
    assert_eq!(status, 200, "{body}");
    let key = &body["api_key"];
    assert_eq!(key["id"], "api_key_01ACMEREPORTS00000000000001");
    assert_eq!(key["owner"], json!({ "type": "organization", "id": ACME }));
    assert_eq!(key["permissions"], json!(["widgets:read"]));
    assert_eq!(key["obfuscated_value"], "sk_...6789");
    assert!(key.get("value").is_none(), "the value is never shown again");

    let (_, body) = validate("sk_test_ada_cli_0123456789").await;
    assert_eq!(body["api_key"]["owner"]["type"], "user");
    assert_eq!(body["api_key"]["owner"]["organization_id"], ACME);

    let (status, body) = validate("sk_test_acme_reporting_012345678").await;
    assert_eq!((status, body), (200, json!({ "api_key": null })));
    // Listing shows the organization's key, without its value.
    let (status, list) = api(
        &emulator,
        reqwest::Method::GET,
        &format!("/organizations/{ACME}/api_keys"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(list["data"][0].get("value").is_none());
}
