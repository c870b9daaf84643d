//! HTTPS: the client's default connection pool verifies the server's certificate against the
//! platform's trust store (rustls on `ring`), so a WorkOS base URL served with a certificate
//! nobody vouches for is refused before a request (and the API key in it) leaves the machine;
//! [`ClientBuilder::tls_config`](authkit_axum::ClientBuilder::tls_config) trusts a private
//! certificate authority instead.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;

use authkit_axum::{Client, Error};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const KEY: &str = include_str!("../../crates/authkit-emulator/keys/emulator_dev_key_1.key.pem");
const CERT: &str = include_str!("../../crates/authkit-emulator/keys/emulator_dev_key_1.crt.pem");
/// A test certificate authority, and a certificate it issued for `localhost` and `127.0.0.1`.
const TEST_CA: &str = include_str!("support/certs/ca.crt.pem");
const LOCALHOST_CERT: &str = include_str!("support/certs/localhost.crt.pem");
const LOCALHOST_KEY: &str = include_str!("support/certs/localhost.key.pem");

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// A TLS server on loopback with a self-signed certificate, for one connection; yields what
/// it read after the handshake (nothing, when the handshake failed).
fn self_signed_server() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    tls_server(CERT, KEY)
}

/// A TLS server on loopback with this certificate and key, for one connection.
fn tls_server(cert: &str, key: &str) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(der(cert))],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der(key))),
        )
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let mut read = vec![0; 4096];
        match tls.read(&mut read) {
            Ok(n) => {
                read.truncate(n);
                let _ =
                    tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n{\"keys\": []}");
                read
            }
            Err(_) => Vec::new(),
        }
    });
    (port, server)
}

#[tokio::test]
async fn a_server_certificate_nobody_vouches_for_is_refused_before_anything_is_sent() {
    let (port, server) = self_signed_server();
    let client = Client::builder()
        .api_key("sk_test_must_not_leak")
        .client_id("client_1")
        .base_url(format!("https://localhost:{port}"))
        .max_retries(0)
        .build()
        .unwrap();
    let err = client.user_management().get_jwks().await.unwrap_err();
    let Error::Transport { source, .. } = &err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert!(source.is_connect() && source.is_tls(), "{source:?}");
    assert!(
        err.to_string().contains("certificate"),
        "the message says why: {err}"
    );
    let chain = format!("{:?}", err);
    assert!(
        chain.contains("InvalidCertificate"),
        "the refusal names the certificate: {chain}"
    );
    let read = server.join().unwrap();
    assert!(
        read.is_empty(),
        "nothing may be sent over an unverified connection: {}",
        String::from_utf8_lossy(&read)
    );
}

/// TLS settings trusting the test certificate authority only.
fn trusting_test_ca() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(der(TEST_CA))).unwrap();
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[tokio::test]
async fn a_private_certificate_authority_is_trusted_through_tls_config() {
    let (port, server) = tls_server(LOCALHOST_CERT, LOCALHOST_KEY);
    let tls = trusting_test_ca();
    let client = Client::builder()
        .api_key("sk_test_private_ca")
        .client_id("client_1")
        .base_url(format!("https://localhost:{port}"))
        .max_retries(0)
        .tls_config(tls)
        .build()
        .unwrap();
    let jwks = client.user_management().get_jwks().await.unwrap();
    assert!(jwks.keys.is_empty());
    let read = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(
        read.starts_with("GET /sso/jwks/client_1 HTTP/1.1\r\n"),
        "the request went over the verified connection: {read}"
    );
}

/// An HTTP proxy on loopback for one CONNECT tunnel; yields the request head it received.
async fn connect_proxy() -> (u16, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = tokio::spawn(async move {
        let (mut client, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            client.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let target = head.split(' ').nth(1).unwrap().to_owned();
        let mut upstream = tokio::net::TcpStream::connect(target.replace("localhost", "127.0.0.1"))
            .await
            .unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        head
    });
    (port, proxy)
}

#[tokio::test]
async fn https_goes_through_the_configured_proxy_in_a_connect_tunnel() {
    let (port, server) = tls_server(LOCALHOST_CERT, LOCALHOST_KEY);
    let (proxy_port, proxy) = connect_proxy().await;
    let client = Client::builder()
        .client_id("client_1")
        .base_url(format!("https://localhost:{port}"))
        .max_retries(0)
        .tls_config(trusting_test_ca())
        .proxy(format!("http://squid:s3cret@127.0.0.1:{proxy_port}"))
        .build()
        .unwrap();
    let jwks = client.user_management().get_jwks().await.unwrap();
    assert!(jwks.keys.is_empty());
    let head = proxy.await.unwrap();
    assert!(
        head.starts_with(&format!("CONNECT localhost:{port} HTTP/1.1\r\n")),
        "{head}"
    );
    // Basic auth from the proxy URL: squid:s3cret.
    assert!(
        head.to_ascii_lowercase()
            .contains("proxy-authorization: basic c3f1awq6cznjcmv0"),
        "{head}"
    );
    let read = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(
        read.starts_with("GET /sso/jwks/client_1 HTTP/1.1\r\n"),
        "{read}"
    );
}

#[test]
fn only_http_proxies_are_accepted() {
    for bad in [
        "socks5://127.0.0.1:1080",
        "https://proxy.example:443",
        "not a url",
    ] {
        let err = Client::builder()
            .client_id("client_1")
            .proxy(bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                authkit_axum::ConfigError::Invalid { name: "proxy", .. }
            ),
            "{bad}: {err:?}"
        );
    }
}
