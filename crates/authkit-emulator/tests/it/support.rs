//! Shared setup: an emulator with the test app's URIs registered, users, grants, and access
//! tokens verified against the JWKS.
#![allow(dead_code)]

use authkit_emulator::{Emulator, EmulatorBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// A JWKS as served (`{"keys": [...]}`).
pub type JwkSet = Value;

/// The test app's callback (the default redirect URI).
pub const CALLBACK: &str = "http://localhost:3000/auth/callback";
/// Where the test app returns after signing out.
pub const HOME: &str = "http://localhost:3000/";
pub const PASSWORD: &str = "correct horse battery staple";

/// A builder with [`CALLBACK`] and [`HOME`] registered.
pub fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .redirect_uri(CALLBACK)
        .logout_redirect_uri(HOME)
}

pub async fn start() -> Emulator {
    builder().start().await.unwrap()
}

/// A client that never follows redirects (tests look at them).
pub fn http() -> reqwest::Client {
    // reqwest is built without a default TLS provider (the workspace's crates use `ring`).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A verified user with [`PASSWORD`]; returns its id.
pub async fn user(emulator: &Emulator, email: &str) -> String {
    let user: Value = http()
        .post(format!("{}/user_management/users", emulator.base_url()))
        .bearer_auth(emulator.api_key())
        .json(&json!({ "email": email, "password": PASSWORD, "email_verified": true }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    user["id"].as_str().unwrap().to_owned()
}

/// `POST /user_management/authenticate` with the client credentials and `body`.
pub async fn authenticate(emulator: &Emulator, body: Value) -> (u16, Value) {
    let mut body = body;
    body["client_id"] = json!(emulator.client_id());
    body["client_secret"] = json!(emulator.api_key());
    let response = http()
        .post(format!(
            "{}/user_management/authenticate",
            emulator.base_url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A password sign-in: the authenticate response.
pub async fn password_sign_in(emulator: &Emulator, email: &str) -> Value {
    let (status, body) = authenticate(
        emulator,
        json!({ "grant_type": "password", "email": email, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Exchanges an authorization code.
pub async fn exchange(emulator: &Emulator, code: &str) -> (u16, Value) {
    authenticate(
        emulator,
        json!({ "grant_type": "authorization_code", "code": code }),
    )
    .await
}

/// Refreshes with `refresh_token`.
pub async fn refresh(emulator: &Emulator, refresh_token: &str) -> (u16, Value) {
    authenticate(
        emulator,
        json!({ "grant_type": "refresh_token", "refresh_token": refresh_token }),
    )
    .await
}

/// The `code` of a callback URL.
pub fn code_of(callback: &url::Url) -> String {
    query_param(callback, "code").expect("a code")
}

pub fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The JWKS as served now.
pub async fn jwks(emulator: &Emulator) -> JwkSet {
    http()
        .get(format!(
            "{}/sso/jwks/{}",
            emulator.base_url(),
            emulator.client_id()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The `kid`s of a JWKS.
pub fn kids(set: &JwkSet) -> Vec<String> {
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

fn segment(token: &str, n: usize) -> Vec<u8> {
    let part = token.split('.').nth(n).expect("a JWT has three segments");
    URL_SAFE_NO_PAD.decode(part).expect("base64url")
}

/// The `kid` in a token's header.
pub fn kid_of(token: &str) -> String {
    let header: Value = serde_json::from_slice(&segment(token, 0)).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// Verifies an access token (RS256 signature and `exp`) against `set`, selecting the key by
/// the token's `kid`, as an app does; returns its claims.
pub fn verify_with(set: &JwkSet, token: &str) -> Result<Value, String> {
    let header: Value = serde_json::from_slice(&segment(token, 0)).map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err(format!("alg {}", header["alg"]));
    }
    let kid = kid_of(token);
    let jwk = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or_else(|| format!("no key {kid} in the JWKS"))?;
    let component = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let key = ring::signature::RsaPublicKeyComponents {
        n: component("n"),
        e: component("e"),
    };
    let (signed, _) = token.rsplit_once('.').unwrap();
    key.verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &segment(token, 2),
    )
    .map_err(|_| "InvalidSignature".to_owned())?;
    let claims: Value = serde_json::from_slice(&segment(token, 1)).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    match claims["exp"].as_i64() {
        Some(exp) if exp > now => Ok(claims),
        Some(_) => Err("ExpiredSignature".to_owned()),
        None => Err("no exp".to_owned()),
    }
}

/// Verifies an access token against the JWKS served now.
pub async fn verify(emulator: &Emulator, token: &str) -> Value {
    verify_with(&jwks(emulator).await, token).unwrap()
}
