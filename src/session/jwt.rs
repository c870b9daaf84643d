//! RS256 JSON Web Tokens, as WorkOS signs its access tokens: the header's `alg` and `kid`, the
//! signature (RSASSA-PKCS1-v1_5 with SHA-256, checked by `ring`, the TLS stack's own crypto
//! backend, so the crate builds one crypto library) and the claims.
//!
//! Only what verifying a WorkOS access token needs: compact serialization, `alg: RS256`, RSA
//! keys of 2048 to 8192 bits from a JWKS's `n` and `e`. Anything else (`alg: none`, HS256, a
//! JWE, a token with padding or extra segments) is malformed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a JWT, or not RS256 (e.g. `alg: none`, HS256).
    #[error("the access token is malformed or not RS256: {0}")]
    Malformed(String),
    /// No JWKS key has the token's `kid`.
    #[error("the access token is signed with an unknown key (kid {0:?})")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("the access token's signature is invalid")]
    BadSignature,
    /// The token has expired.
    #[error("the access token has expired")]
    Expired,
    /// The JWKS could not be fetched.
    #[error("the JWKS could not be fetched: {0}")]
    JwksUnavailable(String),
}

impl TokenError {
    /// Whether the token could not be checked *yet* rather than being bad: the JWKS could not
    /// be fetched, or the key is not (yet) in it. Checking again later may succeed.
    ///
    /// ```
    /// use authkit_axum::session::TokenError;
    ///
    /// assert!(TokenError::JwksUnavailable("503".into()).is_retryable());
    /// assert!(!TokenError::BadSignature.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TokenError::JwksUnavailable(_) | TokenError::UnknownKey(_)
        )
    }
}

/// The header fields verification looks at.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    /// The signature algorithm.
    pub alg: String,
    /// The key id, to pick the JWKS key.
    #[serde(default)]
    pub kid: Option<String>,
}

/// An RSA public key from a JWK's `n` and `e`.
#[derive(Debug, Clone)]
pub(crate) struct RsaKey(RsaPublicKeyComponents<Vec<u8>>);

impl RsaKey {
    /// The key with base64url modulus `n` and exponent `e`, as a JWK gives them.
    pub(crate) fn from_components(n: &str, e: &str) -> Result<RsaKey, String> {
        let decode = |name: &str, value: &str| {
            let bytes = URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|err| format!("the JWK's `{name}` is not base64url: {err}"))?;
            // Big-endian without leading zero bytes.
            let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
            let bytes = bytes[first..].to_vec();
            if bytes.is_empty() {
                return Err(format!("the JWK's `{name}` is zero"));
            }
            Ok(bytes)
        };
        let n = decode("n", n)?;
        let bits = n.len() * 8;
        if !(2048..=8192).contains(&bits) {
            return Err(format!(
                "the JWK's RSA key has {bits} bits; 2048 to 8192 are accepted"
            ));
        }
        Ok(RsaKey(RsaPublicKeyComponents {
            n,
            e: decode("e", e)?,
        }))
    }
}

/// The three segments of a compact JWT.
struct Segments<'a> {
    header: &'a str,
    signed: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn segments(token: &str) -> Result<Segments<'_>, TokenError> {
    let malformed = || TokenError::Malformed("not a JWT (three base64url segments)".into());
    let (signed, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
    let (header, payload) = signed.split_once('.').ok_or_else(malformed)?;
    if payload.contains('.') {
        return Err(malformed());
    }
    Ok(Segments {
        header,
        signed,
        payload,
        signature,
    })
}

fn decode_json<T: DeserializeOwned>(segment: &str, what: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|err| TokenError::Malformed(format!("the {what} is not base64url: {err}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|err| TokenError::Malformed(format!("the {what} is not valid: {err}")))
}

/// The token's header, unverified (to pick the key).
pub(crate) fn decode_header(token: &str) -> Result<Header, TokenError> {
    decode_json(segments(token)?.header, "header")
}

/// Checks the RS256 signature of `token` with `key`, then decodes its claims as `T` (a missing
/// required claim is malformed). Nothing else is checked: expiry is the caller's.
pub(crate) fn verify<T: DeserializeOwned>(token: &str, key: &RsaKey) -> Result<T, TokenError> {
    let parts = segments(token)?;
    let header: Header = decode_json(parts.header, "header")?;
    if header.alg != "RS256" {
        return Err(TokenError::Malformed(format!("alg {:?}", header.alg)));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(parts.signature)
        .map_err(|err| TokenError::Malformed(format!("the signature is not base64url: {err}")))?;
    key.0
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            parts.signed.as_bytes(),
            &signature,
        )
        .map_err(|_| TokenError::BadSignature)?;
    decode_json(parts.payload, "payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    /// A token signed with `openssl dgst -sha256 -sign` (the emulator's published development
    /// key 1), an implementation independent of `ring`, and that key's JWK `n` and `e`.
    const OPENSSL_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ.KlarS1ZSDRsbCpiFBTqiP0fFI8xfb7qLZ1NjnabR2yJw0lIM_6U-8nzrSYiswmMB-qJTiSn6_B7rXkQOq8sQaHBDM3TqABjCs5WCKvPndgOaw48I2pgCdI6KploKcRn36E8cwCCWgu_V4n8EYmH5uGfSqTT74bd1qnh4yC9BVca8xRQ_Yy2JhJQDdqUN4-MkT6_a8RHadSDw5MGUFeUSPX6msHZ0umvaOAIuf0L48N25lpkVfA9L_OtEyF1vK1tqTbqbO1ZxrH0vasA0QM6KTAmY2gioDzu3aOKpW2P1EBvIX8Cur-8KJc71V7Uj6QIAObWJZfu81N-XBLEZIXtWnQ";
    const N: &str = "37J9EHXVy6-LWCT_lHn9N9dF_voVtI1Flgt0CFY9fGFoxxNhywEv_4gH9_OzWzVOHsRzHI5_ufkeHd6IGJK0GmqslyFRfMrFRGoEBZk_QBupa7lC6Kd69Dm-eI1h7N9fz1qoO-DJusMyfc08gkdXg4VP8qLf8uzz5_-yAOQOWTzwlDBfvWQG4Ssl3XzleNqAbUv_ZCUIIK5--8wETmh8na8ncruIC9RCrjRcpOJGL2GmO7xYeohTsK_QcbpMbBrBM8UQxQXLJWYaxIgBExMkaNMvxczYzK4lZcT0QQSMt_3ZCcU77qTF7foivVWZRrkGwvYzjwqJFxbuVfECjlNvTQ";

    #[test]
    fn an_independently_signed_token_verifies_and_a_changed_one_does_not() {
        let key = RsaKey::from_components(N, "AQAB").unwrap();
        let claims: serde_json::Value = verify(OPENSSL_TOKEN, &key).unwrap();
        assert_eq!(claims, serde_json::json!({ "sub": "user_1" }));

        // Another payload under the same signature.
        let (_, signature) = OPENSSL_TOKEN.rsplit_once('.').unwrap();
        let changed = format!(
            "{}.{}.{signature}",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"sub":"user_2"}"#)
        );
        assert_eq!(
            verify::<serde_json::Value>(&changed, &key).unwrap_err(),
            TokenError::BadSignature
        );
        // Another key.
        let other = RsaKey::from_components(&N.replace('3', "4"), "AQAB").unwrap();
        assert_eq!(
            verify::<serde_json::Value>(OPENSSL_TOKEN, &other).unwrap_err(),
            TokenError::BadSignature
        );
    }

    #[test]
    fn header_of_a_token() {
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","kid":"k1"}"#),
            b64("{}")
        );
        let header = decode_header(&token).unwrap();
        assert_eq!(
            (header.alg.as_str(), header.kid.as_deref()),
            ("RS256", Some("k1"))
        );
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_crypto() {
        for token in ["", "a", "a.b", "a.b.c.d", "!!.e30.c2ln", "e30.e30.c2ln"] {
            assert!(
                matches!(decode_header(token), Err(TokenError::Malformed(_))),
                "{token:?}"
            );
        }
    }

    #[test]
    fn keys_outside_2048_to_8192_bits_are_refused() {
        let small = URL_SAFE_NO_PAD.encode([0xffu8; 128]);
        assert!(
            RsaKey::from_components(&small, "AQAB")
                .unwrap_err()
                .contains("1024 bits")
        );
        let with_zeros = URL_SAFE_NO_PAD.encode([&[0u8, 0][..], &[0xff; 256]].concat());
        assert!(RsaKey::from_components(&with_zeros, "AQAB").is_ok());
        assert!(RsaKey::from_components("not base64!", "AQAB").is_err());
        let n = URL_SAFE_NO_PAD.encode([0xffu8; 256]);
        assert!(
            RsaKey::from_components(&n, "AA")
                .unwrap_err()
                .contains("zero")
        );
    }

    #[test]
    fn alg_none_and_hs256_are_malformed() {
        let n = URL_SAFE_NO_PAD.encode([0xffu8; 256]);
        let key = RsaKey::from_components(&n, "AQAB").unwrap();
        for alg in ["none", "HS256", "RS512"] {
            let token = format!(
                "{}.{}.",
                b64(&format!(r#"{{"alg":"{alg}"}}"#)),
                b64(r#"{"sub":"user_1","exp":1}"#)
            );
            let verdict = verify::<serde_json::Value>(&token, &key);
            assert!(
                matches!(verdict, Err(TokenError::Malformed(_))),
                "{alg}: {verdict:?}"
            );
        }
        let token = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64("{}"));
        assert_eq!(
            verify::<serde_json::Value>(&token, &key).unwrap_err(),
            TokenError::BadSignature
        );
    }
}
