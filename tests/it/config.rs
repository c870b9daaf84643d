//! Client configuration: builder checks, the environment, base URL handling and the user agent.

use authkit_axum::user_management::CreateUser;
use authkit_axum::{Client, ConfigError};
use authkit_emulator::Emulator;

use crate::support;
use crate::support::EmulatorExt as _;

fn builder() -> authkit_axum::ClientBuilder {
    Client::builder()
        .api_key("sk_test_123")
        .client_id("client_123")
}

/// Asserts the error names the setting and contains each hint.
fn assert_message(err: &ConfigError, hints: &[&str]) {
    let message = err.to_string();
    for hint in hints {
        assert!(
            message.contains(hint),
            "{message:?} should contain {hint:?}"
        );
    }
}

#[test]
fn a_missing_client_id_says_how_to_give_one() {
    for client in [
        Client::builder().api_key("sk_test_123"),
        Client::builder().api_key("sk_test_123").client_id("  "),
    ] {
        let err = client.build().unwrap_err();
        assert_eq!(err, ConfigError::Missing("client_id", "WORKOS_CLIENT_ID"));
        assert_message(
            &err,
            &["client_id", "ClientBuilder::client_id", "WORKOS_CLIENT_ID"],
        );
    }
    let err = builder().client_id("client_1/../x").build().unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            name: "client_id",
            ..
        }
    ));
    assert_message(&err, &["client_id", "client_01H"]);
}

#[test]
fn an_empty_or_spaced_api_key_is_rejected_with_a_hint() {
    for key in ["", " ", "sk_test 123", "sk_test_123\n"] {
        let err = builder().api_key(key).build().unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    name: "api_key",
                    ..
                }
            ),
            "{key:?}: {err:?}"
        );
        assert_message(&err, &["api_key", "sk_test_", "WorkOS dashboard"]);
    }
    // The message never quotes the key itself.
    let err = builder().api_key("sk_test_secret 1").build().unwrap_err();
    assert!(!err.to_string().contains("sk_test_secret"), "{err}");
    // Without a key the client is a public one.
    let public = Client::builder().client_id("client_123").build().unwrap();
    assert!(!public.has_api_key());
    assert!(builder().build().unwrap().has_api_key());
}

#[test]
fn a_bad_base_url_names_the_setting_and_an_example() {
    let err = builder().base_url("not a url").build().unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            name: "base_url",
            ..
        }
    ));
    assert_message(
        &err,
        &[
            "base_url",
            "\"not a url\"",
            "not an absolute URL",
            "https://api.workos.com",
        ],
    );
    for bad in ["ftp://x", "mailto:someone@example.com"] {
        let err = builder().base_url(bad).build().unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "base_url",
                ..
            }
        ));
        assert_message(
            &err,
            &["base_url", bad, "http(s)", "https://api.workos.com"],
        );
    }
    let err = builder().user_agent("my app\n1.0").build().unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            name: "user_agent",
            ..
        }
    ));
}

#[test]
fn base_urls_are_normalized() {
    let default = builder().build().unwrap();
    assert_eq!(default.base_url(), "https://api.workos.com/");
    let nested = builder()
        .base_url(" http://127.0.0.1:4100/workos?x=1#frag ")
        .build()
        .unwrap();
    assert_eq!(nested.base_url(), "http://127.0.0.1:4100/workos/");
    let slash = builder()
        .base_url("http://localhost:4100/")
        .build()
        .unwrap();
    assert_eq!(slash.base_url(), "http://localhost:4100/");
}

/// All environment changes live in this one test so that no two tests race on them.
#[tokio::test]
async fn from_env_names_each_missing_variable() {
    let emulator = Emulator::start().await.unwrap();
    let set = |name: &str, value: Option<&str>| match value {
        // SAFETY: only this test of this binary touches the environment.
        Some(value) => unsafe { std::env::set_var(name, value) },
        None => unsafe { std::env::remove_var(name) },
    };

    set("WORKOS_API_KEY", None);
    set("WORKOS_CLIENT_ID", None);
    set("WORKOS_BASE_URL", None);
    let err = Client::from_env().unwrap_err();
    assert_eq!(err, ConfigError::MissingEnv("WORKOS_API_KEY"));
    assert_message(&err, &["WORKOS_API_KEY", "is not set", "WorkOS dashboard"]);

    // Blank counts as missing.
    set("WORKOS_API_KEY", Some("   "));
    assert_eq!(
        Client::from_env().unwrap_err(),
        ConfigError::MissingEnv("WORKOS_API_KEY")
    );

    set("WORKOS_API_KEY", Some(emulator.api_key()));
    let err = Client::from_env().unwrap_err();
    assert_eq!(err, ConfigError::MissingEnv("WORKOS_CLIENT_ID"));
    assert_message(&err, &["WORKOS_CLIENT_ID"]);

    // A bad base URL names the variable, not the builder setting.
    set("WORKOS_CLIENT_ID", Some(emulator.client_id()));
    set("WORKOS_BASE_URL", Some("localhost:4100"));
    let err = Client::from_env().unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                name: "WORKOS_BASE_URL",
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, &["WORKOS_BASE_URL", "localhost:4100"]);

    // Without WORKOS_BASE_URL the client talks to WorkOS itself.
    set("WORKOS_BASE_URL", None);
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), "https://api.workos.com/");

    // Surrounding spaces are trimmed; the client works against the emulator.
    set(
        "WORKOS_BASE_URL",
        Some(&format!(" {} ", emulator.base_url())),
    );
    let client = Client::from_env().unwrap();
    assert_eq!(client.client_id(), emulator.client_id());
    client
        .user_management()
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();

    // The builder form keeps other settings adjustable.
    let client = authkit_axum::ClientBuilder::from_env()
        .unwrap()
        .max_retries(0)
        .build()
        .unwrap();
    assert_eq!(client.base_url(), format!("{}/", emulator.base_url()));

    set("WORKOS_API_KEY", None);
    set("WORKOS_CLIENT_ID", None);
    set("WORKOS_BASE_URL", None);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn requests_carry_the_user_agent_and_only_a_configured_key() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let user = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    um.get_user(&user.id).await.unwrap();
    let expected = format!("authkit-axum/{}", env!("CARGO_PKG_VERSION"));
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.user_agent.as_deref(), Some(expected.as_str()));
        assert!(r.authorized);
    }

    emulator.clear_requests();
    let custom = emulator
        .client_builder()
        .user_agent("my-app/2.1")
        .build()
        .unwrap();
    custom.user_management().get_user(&user.id).await.unwrap();
    assert_eq!(
        emulator.requests()[0].user_agent.as_deref(),
        Some("my-app/2.1")
    );

    // A public client (no API key) sends no Authorization header, and the API refuses it.
    emulator.clear_requests();
    let public = Client::builder()
        .client_id(emulator.client_id())
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    let err = public
        .user_management()
        .get_user(&user.id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!emulator.requests()[0].authorized);
    support::assert_contract(&emulator);
}
