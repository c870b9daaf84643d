//! Access tokens: the emulator's fixed signing key, RS256 JWTs and the JWKS.
//!
//! The keys in `keys/` are **development keys, published on purpose: they are not secret**.
//! Anyone can forge tokens with them, which is fine for an emulator and fatal anywhere else.
//! They are fixed (not generated at start) because RSA key generation in a debug build takes
//! seconds.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::State as EmulatorState;
use crate::http::ApiError;
use crate::{Emulator, EmulatorError, SharedState};

/// The fixed development keys: `(kid, PKCS#8 private key, self-signed certificate)`.
/// DEVELOPMENT ONLY, NOT SECRET: they are published with the crate (see `keys/README.md`), so
/// tokens signed with them prove nothing outside the emulator.
const DEV_KEYS: [(&str, &str, &str); 4] = [
    (
        "emulator_dev_key_1",
        include_str!("../../keys/emulator_dev_key_1.key.pem"),
        include_str!("../../keys/emulator_dev_key_1.crt.pem"),
    ),
    (
        "emulator_dev_key_2",
        include_str!("../../keys/emulator_dev_key_2.key.pem"),
        include_str!("../../keys/emulator_dev_key_2.crt.pem"),
    ),
    (
        "emulator_dev_key_3",
        include_str!("../../keys/emulator_dev_key_3.key.pem"),
        include_str!("../../keys/emulator_dev_key_3.crt.pem"),
    ),
    (
        "emulator_dev_key_4",
        include_str!("../../keys/emulator_dev_key_4.key.pem"),
        include_str!("../../keys/emulator_dev_key_4.crt.pem"),
    ),
];

/// The parsed key: what signs, and the public JWK that verifies.
pub(crate) struct Keys {
    signing: RsaKeyPair,
    kid: String,
    jwk: Value,
}

impl Keys {
    /// The RS256 (RSASSA-PKCS1-v1_5, SHA-256) signature of `message`; `None` if signing
    /// failed.
    fn rs256(&self, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0; self.signing.public().modulus_len()];
        self.signing
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .ok()?;
        Some(signature)
    }
}

/// A key that signs the emulator's access tokens. The default is a fixed, published
/// development key (never a secret); [`SigningKey::development_key`] gives three more, to test
/// key rotation without generating RSA keys (slow in debug builds). Give your own with
/// [`SigningKey::from_pem`], e.g. to test that your app refuses tokens from another emulator.
///
/// ```
/// use authkit_emulator::SigningKey;
///
/// let key = SigningKey::development();
/// assert_eq!(key.kid(), "emulator_dev_key_1");
/// assert_eq!(SigningKey::development_key(2).map(|k| k.kid().to_owned()).as_deref(), Some("emulator_dev_key_2"));
/// assert!(SigningKey::development_key(5).is_none());
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
    /// The built-in development key, the default (`kid` `emulator_dev_key_1`); the same as
    /// `development_key(1)`.
    pub fn development() -> SigningKey {
        Self::development_key(1).unwrap_or_else(|| unreachable!("development key 1 is built in"))
    }

    /// Development key `n`, for `n` in 1 to 4 (`kid` `emulator_dev_key_<n>`); `None` for any
    /// other `n`. Fixed RSA-2048 keys published with the crate: NOT SECRET, development and
    /// tests only. Key 1 is the default; the others are for [key
    /// rotation](crate::Emulator::rotate_signing_key).
    pub fn development_key(n: usize) -> Option<SigningKey> {
        static KEYS: [OnceLock<SigningKey>; 4] = [const { OnceLock::new() }; 4];
        let (kid, key, cert) = DEV_KEYS.get(n.checked_sub(1)?)?;
        let slot = KEYS.get(n - 1)?;
        Some(
            slot.get_or_init(|| {
                load_keys(key, cert, kid)
                    .map(|k| SigningKey(std::sync::Arc::new(k)))
                    .unwrap_or_else(|e| unreachable!("built-in development key {n} is valid: {e}"))
            })
            .clone(),
        )
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

    /// Whether two keys are the same key under the same id.
    fn same_as(&self, other: &SigningKey) -> bool {
        self.0.kid == other.0.kid && self.0.jwk == other.0.jwk
    }
}

/// The key that signs new access tokens, and the keys the JWKS publishes (the signing key
/// among them), oldest first.
pub(crate) struct KeyRing {
    signing: SigningKey,
    published: Vec<SigningKey>,
}

impl KeyRing {
    pub fn new(signing: SigningKey) -> Self {
        KeyRing {
            published: vec![signing.clone()],
            signing,
        }
    }

    /// Publishes `key` in the JWKS (no change if it is already published). Another key under
    /// the same `kid` is refused.
    pub fn publish(&mut self, key: &SigningKey) -> Result<(), EmulatorError> {
        match self.published.iter().find(|k| k.kid() == key.kid()) {
            Some(existing) if existing.same_as(key) => Ok(()),
            Some(_) => Err(EmulatorError::Refused(format!(
                "another key is already published under kid '{}': give the new key its own kid",
                key.kid()
            ))),
            None => {
                self.published.push(key.clone());
                Ok(())
            }
        }
    }
}

fn load_keys(key_pem: &str, cert_pem: &str, kid: &str) -> Result<Keys, String> {
    let der = pem_body(key_pem, "PRIVATE KEY").ok_or(
        "the signing key is not a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----); convert it \
         with `openssl pkcs8 -topk8 -nocrypt`",
    )?;
    let der = STANDARD
        .decode(der)
        .map_err(|e| format!("the signing key does not decode: {e}"))?;
    let signing = RsaKeyPair::from_pkcs8(&der).map_err(|e| {
        format!("the signing key is not a PKCS#8 RSA key of 2048 to 8192 bits: {e}")
    })?;
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(signing.public());
    let n = URL_SAFE_NO_PAD.encode(&public.n);
    let e = URL_SAFE_NO_PAD.encode(&public.e);
    // The certificate's base64 body is exactly x5c's (standard base64 of the DER).
    let cert_b64 = pem_body(cert_pem, "CERTIFICATE")
        .ok_or("the certificate is not a PEM certificate (-----BEGIN CERTIFICATE-----)")?;
    let der = STANDARD
        .decode(&cert_b64)
        .map_err(|e| format!("the certificate does not decode: {e}"))?;
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
    Ok(Keys {
        signing,
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

/// The base64 body of the first PEM block labelled `label`.
fn pem_body(pem: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let len = pem[start..].find(&end)?;
    Some(pem[start..start + len].split_whitespace().collect())
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
    /// The slugs of the feature flags on for the user or the organization.
    pub feature_flags: Vec<String>,
    /// What the JWT template adds (never a claim set above).
    pub template_claims: serde_json::Map<String, Value>,
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
    permissions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<Value>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    feature_flags: &'a [String],
}

/// Signs an RS256 access token for `subject`, valid for the configured lifetime from the
/// emulator's clock.
pub(crate) fn sign_access_token(
    state: &EmulatorState,
    subject: &TokenSubject,
) -> Result<String, ApiError> {
    let now = state.now().unix_timestamp();
    let ttl = i64::try_from(state.config.access_token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let in_org = subject.organization_id.is_some();
    let permissions = state.config.roles.permissions(&subject.roles);
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
        feature_flags: &subject.feature_flags,
    };
    let failed = |what: String| {
        ApiError::message(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the emulator could not sign a token: {what}"),
        )
    };
    // The JWT template's claims, never over the ones WorkOS sets itself.
    let mut claims = serde_json::to_value(&claims).map_err(|e| failed(e.to_string()))?;
    if let Value::Object(claims) = &mut claims {
        for (name, value) in &subject.template_claims {
            claims.entry(name.clone()).or_insert_with(|| value.clone());
        }
    }
    sign_jwt(state, &claims)
}

/// Signs `claims` as an RS256 JWT with the current signing key (its `kid` in the header).
pub(crate) fn sign_jwt(state: &EmulatorState, claims: &impl Serialize) -> Result<String, ApiError> {
    let signing = state.keys().signing.clone();
    let keys = &signing.0;
    let failed = |what: String| {
        ApiError::message(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the emulator could not sign a token: {what}"),
        )
    };
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": keys.kid });
    let claims = serde_json::to_vec(claims).map_err(|e| failed(e.to_string()))?;
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = keys
        .rs256(signed.as_bytes())
        .ok_or_else(|| failed("RSA signing failed".into()))?;
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
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
    let keys: Vec<Value> = state
        .keys()
        .published
        .iter()
        .map(|k| k.0.jwk.clone())
        .collect();
    Ok(axum::Json(json!({ "keys": keys })))
}

/// Signing-key rotation, as a WorkOS environment rotates its keys: a new key signs from now on
/// while the JWKS keeps publishing the old one, which is retired later.
impl Emulator {
    /// The `kid` of the key that signs new access tokens.
    pub fn signing_kid(&self) -> String {
        self.state.keys().signing.kid().to_owned()
    }

    /// The `kid`s the JWKS publishes, oldest first (the signing key's among them).
    pub fn published_kids(&self) -> Vec<String> {
        self.state
            .keys()
            .published
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }

    /// Publishes `key` in the JWKS without signing with it yet: the first step of a rotation
    /// that lets apps fetch a key before they see tokens signed with it. Refused when another
    /// key is published under the same `kid`.
    pub fn publish_signing_key(&self, key: SigningKey) -> Result<(), EmulatorError> {
        self.state.keys_mut().publish(&key)
    }

    /// Signs every access token issued from now on with `key` (publishing it in the JWKS first
    /// if needed). The previous key stays in the JWKS, so tokens it signed still verify, until
    /// [`retire_signing_key`](Self::retire_signing_key). Refused when another key is published
    /// under the same `kid`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authkit_emulator::{Emulator, SigningKey};
    ///
    /// let emulator = Emulator::start().await?;
    /// let old = emulator.signing_kid();
    /// let new = SigningKey::development_key(2).ok_or("no such key")?;
    /// emulator.rotate_signing_key(new)?;
    /// assert_eq!(emulator.signing_kid(), "emulator_dev_key_2");
    /// // Both keys are published until the old one is retired.
    /// assert_eq!(emulator.published_kids(), [old.clone(), "emulator_dev_key_2".to_owned()]);
    /// emulator.retire_signing_key(&old)?;
    /// assert_eq!(emulator.published_kids(), ["emulator_dev_key_2"]);
    /// # Ok(()) }
    /// ```
    pub fn rotate_signing_key(&self, key: SigningKey) -> Result<(), EmulatorError> {
        self.state.keys_mut().rotate(key)
    }

    /// Removes the key `kid` from the JWKS: tokens it signed no longer verify against a fresh
    /// JWKS. Refused for the key that signs now (rotate first) and for a `kid` not published.
    pub fn retire_signing_key(&self, kid: &str) -> Result<(), EmulatorError> {
        self.state.keys_mut().retire(kid)
    }
}

impl KeyRing {
    /// The `kid` of the signing key.
    pub fn signing_kid(&self) -> &str {
        self.signing.kid()
    }

    /// The published `kid`s, oldest first.
    pub fn published_kids(&self) -> Vec<String> {
        self.published.iter().map(|k| k.kid().to_owned()).collect()
    }

    /// Signs with `key` from now on, publishing it first if needed.
    pub fn rotate(&mut self, key: SigningKey) -> Result<(), EmulatorError> {
        self.publish(&key)?;
        tracing::info!(kid = %key.kid(), "emulator: signing key rotated");
        self.signing = key;
        Ok(())
    }

    /// Stops publishing `kid` (never the signing key).
    pub fn retire(&mut self, kid: &str) -> Result<(), EmulatorError> {
        let ring = self;
        if ring.signing.kid() == kid {
            return Err(EmulatorError::Refused(format!(
                "'{kid}' signs the tokens issued now: rotate to another key before retiring it"
            )));
        }
        let before = ring.published.len();
        ring.published.retain(|k| k.kid() != kid);
        if ring.published.len() == before {
            return Err(EmulatorError::Refused(format!(
                "no key with kid '{kid}' is published"
            )));
        }
        tracing::info!(kid, "emulator: signing key retired from the JWKS");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RS256 is deterministic: the signature of a fixed input is fixed. This one was made with
    /// `openssl dgst -sha256 -sign keys/emulator_dev_key_1.key.pem`, an implementation
    /// independent of the emulator's.
    #[test]
    fn signatures_match_an_independent_implementation() {
        const INPUT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ";
        const OPENSSL: &str = "KlarS1ZSDRsbCpiFBTqiP0fFI8xfb7qLZ1NjnabR2yJw0lIM_6U-8nzrSYiswmMB-qJTiSn6_B7rXkQOq8sQaHBDM3TqABjCs5WCKvPndgOaw48I2pgCdI6KploKcRn36E8cwCCWgu_V4n8EYmH5uGfSqTT74bd1qnh4yC9BVca8xRQ_Yy2JhJQDdqUN4-MkT6_a8RHadSDw5MGUFeUSPX6msHZ0umvaOAIuf0L48N25lpkVfA9L_OtEyF1vK1tqTbqbO1ZxrH0vasA0QM6KTAmY2gioDzu3aOKpW2P1EBvIX8Cur-8KJc71V7Uj6QIAObWJZfu81N-XBLEZIXtWnQ";
        let key = SigningKey::development();
        let signature = key.0.rs256(INPUT.as_bytes()).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(signature), OPENSSL);
    }

    #[test]
    fn the_development_keys_load_and_their_jwks_are_complete_and_distinct() {
        let mut moduli = Vec::new();
        for n in 1..=DEV_KEYS.len() {
            let key = SigningKey::development_key(n).unwrap();
            let jwk = &key.0.jwk;
            for field in ["alg", "kty", "use", "kid", "n", "e", "x5c", "x5t#S256"] {
                assert!(jwk.get(field).is_some(), "{field}");
            }
            assert_eq!(jwk["kid"], format!("emulator_dev_key_{n}"));
            assert_eq!(jwk["e"], "AQAB");
            // 2048-bit modulus: 256 bytes, 342 base64url characters.
            assert_eq!(jwk["n"].as_str().unwrap().len(), 342);
            moduli.push(jwk["n"].clone());
        }
        moduli.dedup();
        assert_eq!(moduli.len(), DEV_KEYS.len());
        assert!(SigningKey::development_key(0).is_none());
    }

    #[test]
    fn a_second_key_under_a_published_kid_is_refused() {
        let mut ring = KeyRing::new(SigningKey::development());
        assert!(ring.publish(&SigningKey::development()).is_ok());
        let (_, key, cert) = DEV_KEYS[1];
        let impostor = SigningKey::from_pem(key, cert, "emulator_dev_key_1").unwrap();
        assert!(ring.publish(&impostor).is_err());
        assert_eq!(ring.published.len(), 1);
    }
}
