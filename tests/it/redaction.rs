//! Secrets stay out of `Debug` output, error messages and logs (captured at TRACE level).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use authkit_axum::user_management::{CreateUser, UpdateUser};
use authkit_axum::{Client, Error, SecretString};
use authkit_emulator::{Emulator, Fault};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support;
use crate::support::EmulatorExt as _;

const API_KEY: &str = "sk_test_redaction_0123456789abcdef";
const WRONG_KEY: &str = "sk_test_wrong_fedcba9876543210";
const PASSWORD: &str = "correct-horse-battery-staple-42";
const WEAK_PASSWORD: &str = "Zq9";

/// Every log line of this test binary, at TRACE level, `log` records of dependencies included.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init()
            .expect("the only subscriber of this test binary");
        logs
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [API_KEY, WRONG_KEY, PASSWORD, WEAK_PASSWORD] {
        assert!(
            !text.contains(secret),
            "{what} contains the secret {secret:?}:\n{text}"
        );
    }
}

async fn emulator() -> Emulator {
    Emulator::builder().api_key(API_KEY).start().await.unwrap()
}

#[tokio::test]
async fn configuration_and_parameters_redact_secrets_in_debug() {
    let client = Client::builder()
        .api_key(API_KEY)
        .client_id("client_123")
        .base_url("http://127.0.0.1:4100");
    assert_no_secret("ClientBuilder Debug", &format!("{client:?}"));
    let client = client.build().unwrap();
    let debug = format!("{client:?}");
    assert_no_secret("Client Debug", &debug);
    assert!(
        debug.contains("client_123") && debug.contains("REDACTED"),
        "{debug}"
    );
    assert_no_secret("Client pretty Debug", &format!("{client:#?}"));

    let secret = SecretString::from(API_KEY);
    assert_no_secret("SecretString Debug", &format!("{secret:?}"));
    assert_no_secret("SecretString Display", &format!("{secret}"));
    assert_eq!(secret.expose_secret(), API_KEY);

    let create = CreateUser::new("ada@example.com").password(PASSWORD);
    let debug = format!("{create:#?}");
    assert_no_secret("CreateUser Debug", &debug);
    assert!(debug.contains("ada@example.com"), "{debug}");
    let update = UpdateUser::new().password(PASSWORD);
    assert_no_secret("UpdateUser Debug", &format!("{update:?}"));
}

#[tokio::test]
async fn errors_never_carry_the_api_key_or_password() {
    let emulator = emulator().await;
    let wrong = emulator
        .client_builder()
        .api_key(WRONG_KEY)
        .build()
        .unwrap();

    // Rejected API key.
    let err = wrong
        .user_management()
        .create_user(CreateUser::new("ada@example.com").password(PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_no_secret("401 error Debug", &format!("{err:?}"));
    assert_no_secret("401 error Display", &err.to_string());

    // A weak password is rejected without being echoed.
    let err = emulator
        .client()
        .user_management()
        .create_user(CreateUser::new("ada@example.com").password(WEAK_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("password_strength_error"));
    assert_no_secret("password error Debug", &format!("{err:?}"));

    // Unreachable server: the transport error drops the URL and never has the key.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let offline = Client::builder()
        .api_key(API_KEY)
        .client_id("client_123")
        .base_url(format!("http://127.0.0.1:{port}"))
        .max_retries(0)
        .build()
        .unwrap();
    let err = offline
        .user_management()
        .get_user("user_123")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_no_secret("transport error Debug", &format!("{err:?}"));
    support::assert_contract(&emulator);
}

/// Serves one canned HTTP response to every connection.
async fn canned_server(body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_undecodable_body_is_excerpted_with_tokens_masked() {
    // A 200 whose body is not a user and holds a token-like value.
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEyMyJ9.c2lnbmF0dXJl";
    let base = canned_server(
        r#"{"object":"user","id":42,"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEyMyJ9.c2lnbmF0dXJl"}"#,
    )
    .await;
    let client = Client::builder()
        .api_key(API_KEY)
        .client_id("client_123")
        .base_url(base)
        .build()
        .unwrap();
    let err = client
        .user_management()
        .get_user("user_123")
        .await
        .unwrap_err();
    let Error::Decode {
        endpoint,
        status,
        excerpt,
        ..
    } = &err
    else {
        panic!("expected a decode error, got {err:?}");
    };
    assert_eq!(endpoint, "GET /user_management/users/{id}");
    assert_eq!(*status, 200);
    assert!(excerpt.contains("access_token"), "{excerpt}");
    assert!(excerpt.contains("[REDACTED]"), "{excerpt}");
    for text in [format!("{err:?}"), err.to_string()] {
        assert!(!text.contains(token), "the token leaked: {text}");
        assert_no_secret("decode error", &text);
    }
}

#[tokio::test]
async fn trace_logs_never_contain_the_api_key_or_password() {
    let logs = captured_logs();
    let emulator = emulator().await;
    let client = emulator
        .client_builder()
        .retry_base_delay(Duration::from_millis(10))
        .build()
        .unwrap();
    let um = client.user_management();

    // A create that is retried (503 first), a read, an update of the password, a weak
    // password, and a call with the wrong key.
    emulator.inject_fault(
        Fault::new("/user_management/users")
            .method("POST")
            .status(503)
            .times(1),
    );
    let user = um
        .create_user(CreateUser::new("ada@example.com").password(PASSWORD))
        .await
        .unwrap();
    um.get_user(&user.id).await.unwrap();
    um.update_user(&user.id, UpdateUser::new().password(PASSWORD))
        .await
        .unwrap();
    um.create_user(CreateUser::new("grace@example.com").password(WEAK_PASSWORD))
        .await
        .unwrap_err();
    let wrong = emulator
        .client_builder()
        .api_key(WRONG_KEY)
        .build()
        .unwrap();
    wrong
        .user_management()
        .get_user(&user.id)
        .await
        .unwrap_err();

    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    // The capture works: the client's own events are there, at every level.
    assert!(text.contains("WorkOS call failed; retrying"), "{text}");
    assert!(text.contains("WorkOS call succeeded"), "{text}");
    assert!(
        text.contains("TRACE"),
        "no TRACE events were captured:\n{text}"
    );
    assert_no_secret("the TRACE log", &text);
    support::assert_contract(&emulator);
}
