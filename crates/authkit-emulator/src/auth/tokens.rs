//! Access tokens: the emulator's fixed signing key, RS256 JWTs and the JWKS.
//!
//! The key below is a **development key, published on purpose: it is not secret**. Anyone can
//! forge tokens with it, which is fine for an emulator and fatal anywhere else. It is fixed
//! (not generated at start) because RSA key generation in a debug build takes seconds.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::SharedState;
use crate::State as EmulatorState;
use crate::http::ApiError;

/// The emulator's RSA-2048 signing key (PKCS#8). DEVELOPMENT ONLY, NOT SECRET: it is published
/// with the crate, so tokens signed with it prove nothing outside the emulator.
pub(crate) const DEV_SIGNING_KEY_PEM: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDfsn0QddXLr4tY
JP+Uef0310X++hW0jUWWC3QIVj18YWjHE2HLAS//iAf387NbNU4exHMcjn+5+R4d
3ogYkrQaaqyXIVF8ysVEagQFmT9AG6lruULop3r0Ob54jWHs31/PWqg74Mm6wzJ9
zTyCR1eDhU/yot/y7PPn/7IA5A5ZPPCUMF+9ZAbhKyXdfOV42oBtS/9kJQggrn77
zAROaHydrydyu4gL1EKuNFyk4kYvYaY7vFh6iFOwr9BxukxsGsEzxRDFBcslZhrE
iAETEyRo0y/FzNjMriVlxPRBBIy3/dkJxTvupMXt+iK9VZlGuQbC9jOPCokXFu5V
8QKOU29NAgMBAAECggEABvbHSnMkqf/nymFyfHSUw7+FrBOsh8+rFin6nYTTyrK8
oI/zqC58CEw7lUZGs+TzruUGQWIVS1ycSalDGuK8TSM7hsPwhb5JSGE1iVgVPkFu
M46TrOsD2qUOjzG1lfp5QNsNaDnOBeysPnrccqDWcl981uynpKgoSrVs3Pa8lJ4Q
Yat2RUakda/EN8LjE3zX+5khi/AtQmuw51guPhF6KmeHL0IR8/eCCwHz1AYtoZ7c
qkfc7xs4GFWPXkErM40WTmF+JkLNlb5FWyaZVErhiJQnHZ6GtjJVNKWWq/08q54u
tgBKnh2OUhFhmReI4Vw11iaZoVoaGu8wdvJzNELgAQKBgQD9Yph2m7idKy4FVYHm
AzuQ7e95wsWzyrtY0VYRrEG7v2em3fz2+KMX9kaegbdvq6UKUeGQ2LDjffGkYWLU
JavQpW0MSWWPPkcQwv8HNuZ2MVVv0l2TQXKzDbUUvk3njlPiF70CY8q+ALcet7HP
acHoF6dDu9z8WVHopeM5Nh9PTQKBgQDiAXZKeFordykGHYB9/DPguuqSm7q2ifcf
owAFnJJRlkOJ5JvIn9Km16ykUujhpPUBZ5uzp3f9Sbd3FvSx/1DP78TU7XACHah7
+nONvumazfmRredfTQ3JPOQi8YzvpneTm+y7G1h0cm2P7gise94oMPp0/bdTlTxU
gAoA1zSgAQKBgQDfJpbpVikXWbDVB8I3xL8P20xdKnic571o8itfsxnM9DufzL78
7moML1twOwNG+J6H4SbLPttB7mgCgbXc6jRPs3C/MmCb75f8ng6l1ubOTpJUwaqh
hjEyma7RTuwjMsiTRJ6z3Rjvjoe3KMYSyav47+PiFi//mdY2EupzN0QJvQKBgQCA
qS5rVLqYdfy/w3nLvxDVhfNWRRt1IXOy6ftwNmNB2RZX4PIis4Gbg7p/zcdP9bWY
+B+2lccERbwRKttgnaWmyqu2P/l86t9ovPqdniqk+09xdJv8MASCJI0Hq5V9NLps
KN8K4ZVorV/cCTmc3+Nn5AIhKfL8vT+cJ0wKkHkgAQKBgQDJqsJV0g7yM/24nytn
3Y3E0sbpF2EZMVsFXSQtIsPuEhX0WhBOkIBKPd2dYwTDnLGL+LmrRNkdOQ44DtaH
xOfGpIMb1KioZmpSwiwOtOUBN1h3a3AGGyLd6mm+ueBYRuCNANkTQfqq5BeWvYIq
WC21DB/pLyHpJ4oK9FBOdSbPNA==
-----END PRIVATE KEY-----
";

/// The self-signed certificate of [`DEV_SIGNING_KEY_PEM`] (CN "authkit-axum emulator
/// development key - NOT SECRET"), served as the JWK's `x5c`. Development only.
pub(crate) const DEV_SIGNING_CERT_PEM: &str = r"-----BEGIN CERTIFICATE-----
MIIDXTCCAkWgAwIBAgIUbVC7AgpXgh0qfkhmIg5enMJCvXIwDQYJKoZIhvcNAQEL
BQAwPTE7MDkGA1UEAwwyYXV0aGtpdC1heHVtIGVtdWxhdG9yIGRldmVsb3BtZW50
IGtleSAtIE5PVCBTRUNSRVQwIBcNMjYxMTI5MTMzOTUxWhgPMjEyNjExMDUxMzM5
NTFaMD0xOzA5BgNVBAMMMmF1dGhraXQtYXh1bSBlbXVsYXRvciBkZXZlbG9wbWVu
dCBrZXkgLSBOT1QgU0VDUkVUMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKC
AQEA37J9EHXVy6+LWCT/lHn9N9dF/voVtI1Flgt0CFY9fGFoxxNhywEv/4gH9/Oz
WzVOHsRzHI5/ufkeHd6IGJK0GmqslyFRfMrFRGoEBZk/QBupa7lC6Kd69Dm+eI1h
7N9fz1qoO+DJusMyfc08gkdXg4VP8qLf8uzz5/+yAOQOWTzwlDBfvWQG4Ssl3Xzl
eNqAbUv/ZCUIIK5++8wETmh8na8ncruIC9RCrjRcpOJGL2GmO7xYeohTsK/QcbpM
bBrBM8UQxQXLJWYaxIgBExMkaNMvxczYzK4lZcT0QQSMt/3ZCcU77qTF7foivVWZ
RrkGwvYzjwqJFxbuVfECjlNvTQIDAQABo1MwUTAdBgNVHQ4EFgQUZw/vnOOIKahs
6JIncdFZ3dVq+8QwHwYDVR0jBBgwFoAUZw/vnOOIKahs6JIncdFZ3dVq+8QwDwYD
VR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAgdWWmRiq2QFo/z2JeTYZ
mbz+gSe4XhlCiFmtNW6BBAZbMnDWBRtsFHG6hFV5MxH3sLtPkY1Tp3HSwCv78Sqw
BHWwCqT7DnHdCTBGcnB3DJAapLuwjDtV3Uosr4gRAAr3SuedYEi3oQN/3Fvf/+OM
qkkwI7/DYlcJ1QLYgMcMquIrxaY1mMph5cOKIgzkVkOWOoJu48iqZfKo7Dkau966
0rtViiYYXz9KrqgmNnhB86jSw+sNDnpGjr6x5iAVJjHINgJ4HVMybkMe2/cPd+P1
1OuVjfZS9S4nCeOjliduR2i1O5eY3iLbWfuEERgpQqQw6jC10H+UTi7IcSjI9BVI
zw==
-----END CERTIFICATE-----
";

/// The `kid` of the development key.
pub(crate) const KEY_ID: &str = "emulator_dev_key_1";

/// The parsed key: what signs, and the public JWK that verifies.
pub(crate) struct Keys {
    encoding: EncodingKey,
    kid: String,
    jwk: Value,
}

/// The key that signs the emulator's access tokens. The default is a fixed, published
/// development key (never a secret); give your own with [`SigningKey::from_pem`] to test key
/// handling, e.g. that your app refuses tokens from another emulator.
///
/// ```
/// use authkit_emulator::SigningKey;
///
/// let key = SigningKey::development();
/// assert_eq!(key.kid(), "emulator_dev_key_1");
/// assert!(SigningKey::from_pem("not a key", "not a certificate", "k1").is_err());
/// ```
#[derive(Clone)]
pub struct SigningKey(pub(crate) std::sync::Arc<Keys>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.0.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The built-in development key (`kid` `emulator_dev_key_1`).
    pub fn development() -> SigningKey {
        static KEYS: OnceLock<Result<SigningKey, String>> = OnceLock::new();
        KEYS.get_or_init(|| {
            load_keys(DEV_SIGNING_KEY_PEM, DEV_SIGNING_CERT_PEM, KEY_ID)
                .map(|k| SigningKey(std::sync::Arc::new(k)))
        })
        .clone()
        .unwrap_or_else(|e| unreachable!("the built-in development key is valid: {e}"))
    }

    /// An RSA key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, e.g. from
    /// `openssl genrsa 2048 | openssl pkcs8 -topk8 -nocrypt`) with its X.509 certificate in PEM
    /// (the JWKS publishes it as `x5c`, as WorkOS does), served under key id `kid`.
    pub fn from_pem(
        private_key_pem: &str,
        certificate_pem: &str,
        kid: &str,
    ) -> Result<SigningKey, String> {
        if kid.is_empty() {
            return Err("the key id is empty".into());
        }
        load_keys(private_key_pem, certificate_pem, kid).map(|k| SigningKey(std::sync::Arc::new(k)))
    }

    /// The key id (`kid`) of tokens it signs.
    pub fn kid(&self) -> &str {
        &self.0.kid
    }
}

fn load_keys(key_pem: &str, cert_pem: &str, kid: &str) -> Result<Keys, String> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;

    let encoding = EncodingKey::from_rsa_pem(key_pem.as_bytes())
        .map_err(|e| format!("the signing key does not load as an RSA PEM key: {e}"))?;
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(key_pem)
        .map_err(|e| format!("the signing key is not a PKCS#8 RSA key: {e}"))?;
    let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
    // The certificate's base64 body is exactly x5c's (standard base64 of the DER).
    if !cert_pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(
            "the certificate is not a PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        );
    }
    let cert_b64: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    let der = STANDARD
        .decode(&cert_b64)
        .map_err(|e| format!("the certificate does not decode: {e}"))?;
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
    Ok(Keys {
        encoding,
        kid: kid.to_owned(),
        jwk: json!({
            "alg": "RS256",
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "n": n,
            "e": e,
            "x5c": [cert_b64],
            "x5t#S256": thumbprint,
        }),
    })
}

/// The permissions each role slug grants in the emulator (a fixed map: the emulator has no
/// role editor). Unknown roles grant none.
pub(crate) fn role_permissions(role: &str) -> &'static [&'static str] {
    match role {
        "admin" => &["users:manage", "widgets:manage", "widgets:read"],
        "member" => &["widgets:read"],
        _ => &[],
    }
}

/// What goes into an access token.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenSubject {
    pub user_id: String,
    pub session_id: String,
    pub organization_id: Option<String>,
    /// Role slugs in the organization; the first is `role`.
    pub roles: Vec<String>,
    /// The impersonator's email, for the `act` claim.
    pub impersonator_email: Option<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    sid: &'a str,
    jti: String,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<Value>,
}

/// Signs an RS256 access token for `subject`, valid for the configured lifetime from the
/// emulator's clock.
pub(crate) fn sign_access_token(
    state: &EmulatorState,
    subject: &TokenSubject,
) -> Result<String, ApiError> {
    let keys = &state.config.signing_key.0;
    let now = state.now().unix_timestamp();
    let ttl = i64::try_from(state.config.access_token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let in_org = subject.organization_id.is_some();
    let mut permissions: Vec<&'static str> = Vec::new();
    for role in &subject.roles {
        for p in role_permissions(role) {
            if !permissions.contains(p) {
                permissions.push(p);
            }
        }
    }
    let claims = Claims {
        iss: &state.config.issuer,
        sub: &subject.user_id,
        sid: &subject.session_id,
        jti: crate::store::new_id("jti"),
        iat: now,
        exp: now.saturating_add(ttl),
        org_id: subject.organization_id.as_deref(),
        role: subject.roles.first().map(String::as_str).filter(|_| in_org),
        roles: in_org.then_some(subject.roles.as_slice()),
        permissions: in_org.then_some(permissions),
        act: subject
            .impersonator_email
            .as_ref()
            .map(|email| json!({ "sub": email })),
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.kid.clone());
    jsonwebtoken::encode(&header, &claims, &keys.encoding).map_err(|e| {
        ApiError::message(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the emulator could not sign an access token: {e}"),
        )
    })
}

/// `GET /sso/jwks/{client_id}` (public).
pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/sso/jwks/{client_id}", get(jwks))
}

async fn jwks(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    if client_id != state.config.client_id {
        return Err(ApiError::not_found("Client", &client_id));
    }
    Ok(axum::Json(
        json!({ "keys": [state.config.signing_key.0.jwk.clone()] }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_key_loads_and_its_jwk_is_complete() {
        let keys = load_keys(DEV_SIGNING_KEY_PEM, DEV_SIGNING_CERT_PEM, KEY_ID).unwrap();
        for field in ["alg", "kty", "use", "kid", "n", "e", "x5c", "x5t#S256"] {
            assert!(keys.jwk.get(field).is_some(), "{field}");
        }
        assert_eq!(keys.jwk["e"], "AQAB");
        // 2048-bit modulus: 256 bytes, 342 base64url characters.
        assert_eq!(keys.jwk["n"].as_str().unwrap().len(), 342);
    }
}
