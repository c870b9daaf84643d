//! JWTs in tests: reading a token's header and claims, checking an RS256 signature against a
//! JWK's `n` and `e`, and forging tokens (RS256 with any PKCS#8 key, HS256/384/512 with any
//! secret) that the crate must refuse. Written against the JWS spec (RFC 7515) directly, not
//! with the crate's own verifier, so the two check each other.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};

fn segment(token: &str, n: usize) -> Value {
    let part = token.split('.').nth(n).expect("a JWT has three segments");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// A token's header, unverified.
pub fn header(token: &str) -> Value {
    segment(token, 0)
}

/// A token's claims, unverified.
pub fn claims(token: &str) -> Value {
    segment(token, 1)
}

/// A header `{"alg": alg, "typ": "JWT", "kid": kid}`.
pub fn header_with_kid(alg: &str, kid: &str) -> Value {
    json!({ "alg": alg, "typ": "JWT", "kid": kid })
}

/// The claims of `token` if its RS256 signature verifies with the RSA key (`n`, `e`: base64url,
/// as in a JWK). Expiry is not checked.
pub fn verify_rs256(token: &str, n: &str, e: &str) -> Result<Value, String> {
    if header(token)["alg"] != "RS256" {
        return Err(format!("alg {}", header(token)["alg"]));
    }
    let key = ring::signature::RsaPublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(n).map_err(|e| e.to_string())?,
        e: URL_SAFE_NO_PAD.decode(e).map_err(|e| e.to_string())?,
    };
    let (signed, signature) = token.rsplit_once('.').ok_or("not a JWT")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| e.to_string())?;
    key.verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
        .map_err(|_| "InvalidSignature".to_owned())?;
    Ok(claims(token))
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// An RS256 token of `claims` under `header`, signed with the PKCS#8 PEM key `key_pem`.
pub fn sign_rs256(key_pem: &str, header: &Value, claims: &Value) -> String {
    let body: String = key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let key = RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap()).unwrap();
    let signed = signing_input(header, claims);
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An HMAC-signed token (`alg` HS256, HS384 or HS512 in `header`) of `claims` with `secret`.
pub fn sign_hmac(secret: &[u8], header: &Value, claims: &Value) -> String {
    let algorithm = match header["alg"].as_str() {
        Some("HS256") => ring::hmac::HMAC_SHA256,
        Some("HS384") => ring::hmac::HMAC_SHA384,
        Some("HS512") => ring::hmac::HMAC_SHA512,
        other => panic!("not an HMAC alg: {other:?}"),
    };
    let signed = signing_input(header, claims);
    let tag = ring::hmac::sign(&ring::hmac::Key::new(algorithm, secret), signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}
