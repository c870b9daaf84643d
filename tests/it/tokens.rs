//! Bearer tokens on the routes behind [`AuthLayer`]: only RS256 access tokens signed by the
//! WorkOS JWKS pass; everything else is a `401` JSON answer, never an error page or a panic;
//! the JWKS is fetched once for many requests and its refetch is rate-limited.
#![cfg(feature = "axum")]

use std::time::Duration;

use authkit_axum::AuthKit;
use authkit_axum::session::Clock;
use authkit_axum::user_management::AuthenticateWithPassword;
use authkit_emulator::{Emulator, Fault};
use axum::http::StatusCode;
use axum_test::{TestResponse, TestServer};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::support;
use crate::support::EmulatorExt as _;
use support::app::{CALLBACK, PASSWORD, router};

const ADA: &str = "ada@example.com";
/// The `kid` the emulator signs with.
const EMULATOR_KID: &str = "emulator_dev_key_1";

/// TEST-ONLY RSA key, generated once with `openssl genpkey -algorithm RSA`, published here on
/// purpose: an attacker's key, used to forge tokens that must be refused. Never trust it.
const ATTACKER_KEY_PEM: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDh4xYfxixlcieI
Yj8q/DlY+j88mLCZTWs5nnE+LY2O8gX+Z5wrg2MYEx5hVfAfsSX6baKdHdrtFH+I
nSKPip97ZRSpIXimiF3X9q1sNt+Jy21wm1uECUqaS08pelhe3GAR2EIb5RuTtEvz
LQTvxOiHDEP8uSugio//Anyz+t7Aj1FwSzU01ZpuYh+ZZYZNnQKVFU3UyJR0vblg
KNX8rORdhFvIQ/dtB05FkVAgOrqPuPV3GCdu2xK2IiSdFmOz3BIhMrPwiRVM9v+c
IScV614aXvxYPSEKuoSVb1LJHclAONpXaqZ/Vzo7AJqRbIfODgySlVETYHx5LLym
SFiOANJPAgMBAAECggEAGmZrgggrzSlz1F1DK7dxzmPk+ySPU0N4mjHZ4134kvHX
YH3kgzNmY/xsCw07tMCEA0pH/JvuJ9JC+4j97o/Rht7v9LpsOu5qJWD3sNOS+axU
XJpTrlFVrkXJ+TuK039nHP7M7yyuNeuXCtNCpfE6CfqVgZZ0sl0vair0vyY9XXzK
VvjMX+6RUcLcYQzV2kbIyVkieXVfnQaB+ywbW5Z5KhnUTKJrsWDVd3A5nLEjIY4t
fQR/xaNWKPwvxdVDaXJA9qScyCgrO6Ikn96OU6VAzAGo9B6j4TZdVsc0OKcpm8SE
tQeIg47tA3MQtfVczv93gzYG2MEaQgn2K1WPE6VD+QKBgQD4YSdHfM9pq7gs7TNh
Ao33v+bBl29ScIBWp/SUQo0YLbrsXrJxy3nE258lmNjN6Ds74viUjRkC28wm6W5S
s20efgMcW4X9Fh7fysy2fdBkdgVhR9S9D3GV5eXND3/bLt0W/5MHxEvll7uRVJ5J
mX5rcBhmnnQm5nU91C8BkDZjGQKBgQDo0UVF0B+u+DvzHDALFhAPQb2rSTxHM0+3
uUmUTsKKTu/XTr1PsZyMdoGlvmvOhHQ2+TXS0Iq0R/NE10zqOXrrhOtUPkyHERS1
84xqgSh61AMTeeclROPPjD3WRzclmgkks4/6NID5v9OcfxjIdlxgJ8R0cvP0Rn1E
MArJilI1pwKBgGqE791+r0z4MfJCf8hY2h2oFQRtN3a5fLCtMvzqVaxK4GFCc3DN
/JjqPyRWmpQjxlN2kXjT0ighrzn43jFldaSgEiF1Ns9FT1RWmtiguGB9JO2Farzy
BJpuj9ETlpefT33veVTZYFtEaVJ4YbHavBbDahOIXPPZ3en4N3iKKmjxAoGAS9sL
cACsogydM8umV6Zbmyz3SFy3OBeezKShNaInvnqTqJouEk4zTIy8Fy2g4IvFdbfi
8ooh9zVOLMrdc59AzoXjSvJ1ariE//eXc4gbkVGMowbf6gO1GgV+jFdtv2GdwwiC
S6pZr4Xxw5ahk4cE+Atc9fgSRi/FVrc0fJAF0xcCgYAkthxwkfXX+zFxvUrLLtl7
YNLEpg9Ec4pozakW4SlT31MlJcSmLQxKp5+3KQfd1IgHXjsbfBKQ0zrHuPHlQGHq
hH0hEBew0JCQFYEuhpMWu57AHegYp1pOoiOJDTpkBEe4+RBrLs3nzXe2HgVTOzwh
mpN7/DS7dW9r70vSwu+cUg==
-----END PRIVATE KEY-----";

struct Api {
    emulator: Emulator,
    authkit: AuthKit,
    server: TestServer,
    /// The app's clock, moved forward instead of sleeping.
    clock: Clock,
}

impl Api {
    async fn start() -> Api {
        Self::start_with(Emulator::builder()).await
    }

    async fn start_with(emulator: authkit_emulator::EmulatorBuilder) -> Api {
        Self::start_after(emulator, |_| {}).await
    }

    /// Like [`Api::start_with`], running `before` on the emulator before the app starts (and
    /// fetches the JWKS), e.g. to start it during a JWKS outage.
    async fn start_after(
        emulator: authkit_emulator::EmulatorBuilder,
        before: impl FnOnce(&Emulator),
    ) -> Api {
        let emulator = emulator.start().await.unwrap();
        before(&emulator);
        // No retries: a JWKS outage shows at once.
        let client = emulator.client_builder().max_retries(0).build().unwrap();
        let clock = Clock::adjustable();
        let authkit = AuthKit::builder(client, CALLBACK)
            .clock(clock.clone())
            .build()
            .unwrap();
        let server = TestServer::builder()
            .mock_transport()
            .build(router(&authkit))
            .unwrap();
        let api = Api {
            emulator,
            authkit,
            server,
            clock,
        };
        api.emulator
            .client()
            .user_management()
            .create_user(
                authkit_axum::user_management::CreateUser::new(ADA)
                    .password(PASSWORD)
                    .email_verified(true),
            )
            .await
            .unwrap();
        api
    }

    /// A genuine access token from the emulator.
    async fn token(&self) -> String {
        self.emulator
            .client()
            .user_management()
            .authenticate_with_password(AuthenticateWithPassword::new(ADA, PASSWORD))
            .await
            .unwrap()
            .access_token
            .expose_secret()
            .to_owned()
    }

    async fn account(&self, token: &str) -> TestResponse {
        self.server
            .get("/account")
            .add_header("authorization", format!("Bearer {token}"))
            .await
    }
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Signs `claims` with the attacker's RSA key under `kid`.
fn forge(claims: &Value, kid: &str) -> String {
    support::jwt::sign_rs256(
        ATTACKER_KEY_PEM,
        &support::jwt::header_with_kid("RS256", kid),
        claims,
    )
}

fn assert_unauthorized(response: &TestResponse) {
    response.assert_status(StatusCode::UNAUTHORIZED);
    let body: Value = response.json();
    assert_eq!(body["error"], "unauthorized", "{body}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert!(
        response
            .headers()
            .get("cache-control")
            .is_none_or(|v| v != "private, no-store"),
        "a refused token is not a signed-in response"
    );
}

#[tokio::test]
async fn a_valid_access_token_is_accepted() {
    let api = Api::start().await;
    let token = api.token().await;
    let response = api.account(&token).await;
    response.assert_status_ok();
    let body: Value = response.json();
    assert_eq!(body["email"], ADA);
    assert_eq!(body["session_id"], claims_of(&token)["sid"]);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    // Without a token (and without a session) the same route is 401 for an API client.
    let anonymous = api
        .server
        .get("/account")
        .add_header("accept", "application/json")
        .await;
    assert_unauthorized(&anonymous);
    support::assert_contract(&api.emulator);
}

#[tokio::test]
async fn a_token_signed_by_another_key_with_the_same_kid_is_refused() {
    let api = Api::start().await;
    let genuine = api.token().await;
    let forged = forge(&claims_of(&genuine), EMULATOR_KID);
    assert_unauthorized(&api.account(&forged).await);
    // The genuine token's signature on the forged claims' twin still works: nothing was
    // poisoned by the forgery.
    api.account(&genuine).await.assert_status_ok();
    // A genuine header and payload with the forged signature is refused too.
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let forged_signature = forged.rsplit('.').next().unwrap();
    parts[2] = forged_signature;
    assert_unauthorized(&api.account(&parts.join(".")).await);
    support::assert_contract(&api.emulator);
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let api = Api::start().await;
    let claims = claims_of(&api.token().await);
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": EMULATOR_KID});
        let token = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        assert_unauthorized(&api.account(&token).await);
        // With a made-up signature as well.
        assert_unauthorized(&api.account(&format!("{token}c2lnbmF0dXJl")).await);
    }
    support::assert_contract(&api.emulator);
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_refused() {
    let api = Api::start().await;
    let claims = claims_of(&api.token().await);
    let jwks = api
        .emulator
        .client()
        .user_management()
        .get_jwks()
        .await
        .unwrap();
    let jwk = &jwks.keys[0];
    let jwk_json = serde_json::to_string(jwk).unwrap();
    let modulus = URL_SAFE_NO_PAD.decode(&jwk.n).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&jwk.x5c[0])
        .unwrap();
    // The public key in every form a confused verifier might use as an HMAC secret.
    for secret in [
        jwk.n.as_bytes(),
        modulus.as_slice(),
        jwk_json.as_bytes(),
        der.as_slice(),
    ] {
        for alg in ["HS256", "HS384", "HS512"] {
            let token = support::jwt::sign_hmac(
                secret,
                &support::jwt::header_with_kid(alg, EMULATOR_KID),
                &claims,
            );
            assert_unauthorized(&api.account(&token).await);
        }
    }
    support::assert_contract(&api.emulator);
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let api = Api::start_with(Emulator::builder().access_token_ttl(Duration::from_secs(1))).await;
    let token = api.token().await;
    // Accepted while fresh (and its verdict cached) ...
    api.account(&token).await.assert_status_ok();
    api.clock.advance(Duration::from_secs(2));
    // ... refused once expired, cached verdict or not.
    assert_unauthorized(&api.account(&token).await);
    support::assert_contract(&api.emulator);
}

#[tokio::test]
async fn garbage_is_refused() {
    let api = Api::start().await;
    let genuine = api.token().await;
    let truncated = &genuine[..genuine.len() - 10];
    let long = "a".repeat(20_000);
    for token in [
        "garbage",
        "a.b.c",
        "..",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        truncated,
        &format!("{genuine}.extra"),
        long.as_str(),
    ] {
        assert_unauthorized(&api.account(token).await);
    }
    // Other schemes are not bearer tokens: the request is simply anonymous.
    let basic = api
        .server
        .get("/account")
        .add_header("authorization", "Basic YWRhOnNlY3JldA==")
        .add_header("accept", "application/json")
        .await;
    assert_unauthorized(&basic);
    support::assert_contract(&api.emulator);
}

#[tokio::test]
async fn a_refused_bearer_token_gets_401_even_from_a_browser_accept_header() {
    let api = Api::start().await;
    // A client that sends a bearer token wants a 401 it can act on, not a sign-in page.
    let response = api
        .server
        .get("/account")
        .add_header("authorization", "Bearer garbage")
        .add_header("accept", "text/html,application/xhtml+xml,*/*")
        .await;
    assert_unauthorized(&response);
    support::assert_contract(&api.emulator);
}

#[tokio::test]
async fn a_jwks_outage_is_401_and_recovers() {
    // The app starts while the JWKS is down: its start-up fetch fails.
    let api = Api::start_after(Emulator::builder(), |e| {
        e.inject_fault(Fault::new("/sso/jwks/*").status(503));
    })
    .await;
    api.authkit.warm_up().await.unwrap_err();
    let token = api.token().await;
    let fetches = api.authkit.jwks_fetch_count();
    assert_unauthorized(&api.account(&token).await);
    // Within the failure backoff the verifier does not hammer the JWKS endpoint.
    assert_unauthorized(&api.account(&token).await);
    assert_eq!(api.authkit.jwks_fetch_count(), fetches);

    api.emulator.clear_faults();
    // The verifier waits 5 s after a failed fetch before trying again.
    api.clock.advance(Duration::from_secs(6));
    api.account(&token).await.assert_status_ok();
    assert_eq!(api.authkit.jwks_fetch_count(), fetches + 1);
    assert!(api.authkit.health().await.ready);
    support::assert_contract(&api.emulator);
}

#[tokio::test]
async fn the_jwks_is_fetched_once_for_many_requests() {
    let api = Api::start().await;
    let claims = claims_of(&api.token().await);
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(api.token().await);
    }
    for i in 0..50 {
        api.account(&tokens[i % tokens.len()])
            .await
            .assert_status_ok();
    }
    assert_eq!(api.authkit.jwks_fetch_count(), 1);

    // Forged tokens under unknown key ids: each would ask for a refetch; it is rate-limited.
    for i in 0..50 {
        let forged = forge(&claims, &format!("rotated_key_{i}"));
        assert_unauthorized(&api.account(&forged).await);
    }
    assert!(
        api.authkit.jwks_fetch_count() <= 2,
        "{} JWKS fetches",
        api.authkit.jwks_fetch_count()
    );
    // Concurrent requests with a fresh verifier fetch once too.
    let fresh = Api::start().await;
    let token = fresh.token().await;
    let requests = (0..20).map(|_| fresh.account(&token));
    for response in futures_util::future::join_all(requests).await {
        response.assert_status_ok();
    }
    assert_eq!(fresh.authkit.jwks_fetch_count(), 1);
    support::assert_contract(&api.emulator);
    support::assert_contract(&fresh.emulator);
}
