//! HTTPS: the client's default connection pool verifies the server's certificate against the
//! platform's trust store (rustls on `ring`), so a WorkOS base URL served with a certificate
//! nobody vouches for is refused before a request (and the API key in it) leaves the machine.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;

use authkit_axum::{Client, Error};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const KEY: &str = include_str!("../../crates/authkit-emulator/keys/emulator_dev_key_1.key.pem");
const CERT: &str = include_str!("../../crates/authkit-emulator/keys/emulator_dev_key_1.crt.pem");

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// A TLS server on loopback with a self-signed certificate, for one connection; yields what
/// it read after the handshake (nothing, when the handshake failed).
fn self_signed_server() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(der(CERT))],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der(KEY))),
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
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
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
