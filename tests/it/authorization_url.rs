//! The authorization URL: exact query parameters, selectors, PKCE, and the seed's mistakes.

use std::collections::BTreeMap;

use authkit_axum::user_management::{
    AuthorizationUrl, Pkce, Provider, ScreenHint, SignInWith, random_state,
};
use authkit_axum::{Client, Error};

fn client() -> Client {
    Client::builder()
        .api_key("sk_test_123")
        .client_id("client_123")
        .base_url("https://auth.example.com")
        .build()
        .unwrap()
}

/// The URL, parsed.
fn parsed(url: String) -> url::Url {
    url::Url::parse(&url).unwrap()
}

/// The query as (name, value) pairs, in order.
fn pairs(url: &str) -> Vec<(String, String)> {
    parsed(url.to_owned())
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

#[test]
fn builds_the_authkit_url_with_every_parameter() {
    let pkce = Pkce::from_verifier("abcdefghijklmnopqrstuvwxyz0123456789-._~ABC").unwrap();
    let params = AuthorizationUrl::new("https://app.example.com/auth/callback?next=/a b")
        .state("st&te=1")
        .login_hint("ada+test@example.com")
        .domain_hint("example.com")
        .screen_hint(ScreenHint::SignUp)
        .prompt("login")
        .invitation_token("inv_tok")
        .provider_scopes(["openid", "profile"])
        .provider_query_param("hd", "example.com")
        .provider_query_param("access_type", "offline")
        .pkce(&pkce);
    let url = client()
        .user_management()
        .get_authorization_url(&params)
        .unwrap();
    let url = parsed(url);

    assert_eq!(url.scheme(), "https");
    assert_eq!(url.host_str(), Some("auth.example.com"));
    // Not the seed's /sso/authorize.
    assert_eq!(url.path(), "/user_management/authorize");
    assert_eq!(
        pairs(url.as_str()),
        vec![
            pair("client_id", "client_123"),
            pair(
                "redirect_uri",
                "https://app.example.com/auth/callback?next=/a%20b"
            ),
            pair("response_type", "code"),
            pair("provider", "authkit"),
            pair("state", "st&te=1"),
            pair("login_hint", "ada+test@example.com"),
            pair("domain_hint", "example.com"),
            pair("screen_hint", "sign-up"),
            pair("prompt", "login"),
            pair("invitation_token", "inv_tok"),
            pair("provider_scopes", "openid,profile"),
            pair("provider_query_params[access_type]", "offline"),
            pair("provider_query_params[hd]", "example.com"),
            pair(
                "code_challenge",
                "01ZMlLDptILCmAeK1WZ14Du9xRCvfr-aPWvX7e4Hk4U"
            ),
            pair("code_challenge_method", "S256"),
        ]
    );
    // The seed's `domain` parameter belongs to /sso/authorize, not here.
    assert!(!url.query_pairs().any(|(k, _)| k == "domain"));
    // Special characters are encoded, not passed raw.
    assert!(url.query().unwrap().contains("state=st%26te%3D1"));
    // The invitation token is redacted in the params' debug output.
    assert!(!format!("{params:?}").contains("inv_tok"));
}

#[test]
fn the_minimal_url_has_only_the_required_parameters_and_authkit() {
    let url = client()
        .user_management()
        .get_authorization_url(&AuthorizationUrl::new("http://localhost:3000/callback"))
        .unwrap();
    assert_eq!(
        pairs(&url),
        vec![
            pair("client_id", "client_123"),
            pair("redirect_uri", "http://localhost:3000/callback"),
            pair("response_type", "code"),
            pair("provider", "authkit"),
        ]
    );
}

#[test]
fn each_selector_sends_its_own_parameter() {
    let um = client().user_management();
    let cases = [
        (
            SignInWith::Provider(Provider::GoogleOAuth),
            pair("provider", "GoogleOAuth"),
        ),
        (
            SignInWith::Provider(Provider::Unknown("NewOAuth".into())),
            pair("provider", "NewOAuth"),
        ),
        (
            SignInWith::ConnectionId("conn_123".into()),
            pair("connection_id", "conn_123"),
        ),
        (
            SignInWith::OrganizationId("org_123".into()),
            pair("organization_id", "org_123"),
        ),
    ];
    for (selector, expected) in cases {
        let url = um
            .get_authorization_url(
                &AuthorizationUrl::new("https://app.example.com/cb").sign_in_with(selector),
            )
            .unwrap();
        let selectors: Vec<_> = pairs(&url)
            .into_iter()
            .filter(|(k, _)| ["provider", "connection_id", "organization_id"].contains(&k.as_str()))
            .collect();
        assert_eq!(selectors, vec![expected]);
    }
}

#[test]
fn a_base_url_with_a_path_keeps_it() {
    let client = Client::builder()
        .client_id("client_123")
        .base_url("http://127.0.0.1:4100/workos")
        .build()
        .unwrap();
    let url = client
        .user_management()
        .get_authorization_url(&AuthorizationUrl::new("https://app.example.com/cb"))
        .unwrap();
    let url = parsed(url);
    assert_eq!(url.path(), "/workos/user_management/authorize");
    assert_eq!(url.port(), Some(4100));
}

#[test]
fn rejects_a_relative_redirect_uri_and_a_misplaced_screen_hint() {
    let um = client().user_management();
    for bad in ["/callback", "", "callback", "://nope"] {
        let err = um
            .get_authorization_url(&AuthorizationUrl::new(bad))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}: {err}");
        assert!(err.to_string().contains("redirect_uri"), "{err}");
    }
    let err = um
        .get_authorization_url(
            &AuthorizationUrl::new("https://app.example.com/cb")
                .sign_in_with(SignInWith::Provider(Provider::GitHubOAuth))
                .screen_hint(ScreenHint::SignUp),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains("screen_hint"), "{err}");
}

#[test]
fn pkce_pairs_are_random_and_well_formed() {
    let a = Pkce::new();
    let b = Pkce::new();
    assert_ne!(a.verifier().expose_secret(), b.verifier().expose_secret());
    for p in [&a, &b] {
        let v = p.verifier().expose_secret();
        assert_eq!(v.len(), 43);
        assert!(
            v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(p.challenge(), Pkce::s256_challenge(v));
        assert_eq!(p.challenge().len(), 43);
        assert!(!p.challenge().contains('='));
    }
    assert!(Pkce::from_verifier("too-short").is_err());
    assert!(Pkce::from_verifier("x".repeat(129)).is_err());
    assert!(Pkce::from_verifier(format!("{}!", "a".repeat(50))).is_err());
    assert!(Pkce::from_verifier("a".repeat(128)).is_ok());

    let mut seen = BTreeMap::new();
    for _ in 0..50 {
        let s = random_state();
        assert_eq!(s.len(), 43);
        assert!(seen.insert(s, ()).is_none(), "state nonces repeat");
    }
}
