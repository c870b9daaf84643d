//! Organizations over plain HTTP: the cases the client suite cannot check against the spec
//! (statuses the spec leaves undocumented), the deprecated `domains` field, and both spellings
//! of the `domains` filter.

use serde_json::{Value, json};

use crate::support;

async fn call(
    emulator: &authkit_emulator::Emulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = support::http()
        .request(method, format!("{}{path}", emulator.base_url()))
        .bearer_auth(emulator.api_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn unknown_organizations_and_domains_are_404s_everywhere() {
    let emulator = support::start().await;
    let (status, body) = call(
        &emulator,
        reqwest::Method::DELETE,
        "/organizations/org_unknown",
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["message"], "Organization not found: 'org_unknown'.");
    let (status, body) = call(
        &emulator,
        reqwest::Method::POST,
        "/organization_domains",
        Some(json!({ "organization_id": "org_unknown", "domain": "acme.com" })),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = call(
        &emulator,
        reqwest::Method::POST,
        "/organization_domains/org_domain_unknown/verify",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert!(emulator.events().is_empty(), "nothing changed");
}

#[tokio::test]
async fn plain_domains_are_pending_and_the_domains_filter_takes_both_spellings() {
    let emulator = support::start().await;
    let (status, org) = call(
        &emulator,
        reqwest::Method::POST,
        "/organizations",
        Some(json!({ "name": "Acme", "domains": ["Acme.com", "acme.io"] })),
    )
    .await;
    assert_eq!(status, 201, "{org}");
    let states: Vec<(&str, &str)> = org["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["domain"].as_str().unwrap(), d["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("acme.com", "pending"), ("acme.io", "pending")]);
    call(
        &emulator,
        reqwest::Method::POST,
        "/organizations",
        Some(json!({ "name": "Globex", "domain_data": [{ "domain": "globex.com", "state": "verified" }] })),
    )
    .await;

    for query in [
        "domains=acme.io&domains=globex.com",
        "domains=acme.io,globex.com",
    ] {
        let (status, list) = call(
            &emulator,
            reqwest::Method::GET,
            &format!("/organizations?order=asc&{query}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let names: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Acme", "Globex"], "{query}");
    }

    // A domain_data state outside the spec's enum is refused.
    let (status, body) = call(
        &emulator,
        reqwest::Method::POST,
        "/organizations",
        Some(json!({ "name": "Bad", "domain_data": [{ "domain": "bad.com", "state": "failed" }] })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
}
