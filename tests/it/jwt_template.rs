//! The JWT template: set over the API (or seeded), read back, refused when invalid, and
//! honoured end to end: its claims are in the access tokens the emulator issues afterwards, and
//! an app reads them from a signed-in session with `AuthUser::custom_claims`.

use std::collections::BTreeMap;

use authkit_axum::user_management::{
    AuthenticateWithPassword, AuthenticateWithRefreshToken, CreateOrganizationMembership,
    CreateUser, UpdateUser,
};
use authkit_emulator::{Emulator, Seed};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;

const PASSWORD: &str = "correct horse battery staple";

/// The claims of a JWT, unverified (the tests here read what the emulator put in).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_template_set_over_the_api_adds_its_claims_to_later_tokens() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let err = um.get_jwt_template().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let ada = um
        .create_user(
            CreateUser::new("ada@example.com")
                .password(PASSWORD)
                .email_verified(true)
                .first_name("Ada")
                .last_name("Lovelace"),
        )
        .await
        .unwrap();
    um.update_user(
        &ada.id,
        UpdateUser::new().metadata(BTreeMap::from([("tier".to_owned(), "pro".to_owned())])),
    )
    .await
    .unwrap();
    let sign_in = || {
        um.authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
    };
    let before = claims(sign_in().await.unwrap().access_token.expose_secret());
    assert!(before.get("tier").is_none(), "{before}");

    let content = r#"{"tier": "{{user.metadata.tier}}", "full_name": "{{user.first_name}} {{user.last_name}}", "aud": "my-api", "org_name": "{{organization.name}}"}"#;
    let set = um.update_jwt_template(content).await.unwrap();
    assert_eq!(set.content, content);
    let read = um.get_jwt_template().await.unwrap();
    assert_eq!(read.content, content);
    assert_eq!(read.created_at, set.created_at);

    let after = claims(sign_in().await.unwrap().access_token.expose_secret());
    assert_eq!(after["tier"], "pro");
    assert_eq!(after["full_name"], "Ada Lovelace");
    assert_eq!(after["aud"], "my-api");
    assert_eq!(
        after["org_name"], "",
        "no organization: the tag renders empty"
    );
    assert_eq!(after["sub"], ada.id.as_str(), "standard claims stay");

    // In an organization, organization tags render.
    let org = emulator.create_organization("Acme");
    um.create_organization_membership(CreateOrganizationMembership::new(&ada.id, &org))
        .await
        .unwrap();
    let outside = sign_in().await.unwrap();
    let in_org = um
        .authenticate_with_refresh_token(
            AuthenticateWithRefreshToken::new(outside.refresh_token.clone()).organization_id(&org),
        )
        .await
        .unwrap();
    let in_org = claims(in_org.access_token.expose_secret());
    assert_eq!(in_org["org_id"], org.as_str());
    assert_eq!(in_org["org_name"], "Acme");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn an_invalid_template_is_refused_and_the_old_one_stays() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.update_jwt_template(r#"{"plan": "{{user.metadata.plan}}"}"#)
        .await
        .unwrap();
    for (bad, expected) in [
        ("not json", "not valid JSON"),
        (r#"["a list"]"#, "JSON object"),
        (r#"{"sub": "someone else"}"#, "`sub`"),
        (r#"{"org_id": "{{organization.id}}"}"#, "`org_id`"),
        (r#"{"x": "{{ session.id }}"}"#, "user"),
    ] {
        let err = um.update_jwt_template(bad).await.unwrap_err();
        assert_eq!(err.status(), Some(422), "{bad}: {err}");
        assert_eq!(err.code(), Some("invalid_request_parameters"), "{bad}");
        assert!(err.to_string().contains(expected), "{bad}: {err}");
    }
    assert_eq!(
        um.get_jwt_template().await.unwrap().content,
        r#"{"plan": "{{user.metadata.plan}}"}"#
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_seeded_template_is_served_and_a_bad_one_stops_the_start() {
    let seed =
        Seed::from_yaml_str(r#"jwt_template: '{"team": "{{user.metadata.team}}"}'"#).unwrap();
    let emulator = Emulator::builder().seed(seed).start().await.unwrap();
    let template = emulator
        .client()
        .user_management()
        .get_jwt_template()
        .await
        .unwrap();
    assert!(template.content.contains("user.metadata.team"));
    support::assert_contract(&emulator);

    let err = Seed::from_yaml_str(r#"jwt_template: '{"exp": 1}'"#).unwrap_err();
    assert!(err.to_string().contains("jwt_template"), "{err}");
}

#[cfg(feature = "axum")]
mod in_an_app {
    use authkit_axum::AuthUser;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;

    use crate::support::EmulatorExt as _;
    use crate::support::app::TestApp;

    #[derive(serde::Deserialize)]
    struct Plan {
        tier: String,
        full_name: String,
    }

    async fn plan(user: AuthUser) -> Result<String, (StatusCode, String)> {
        let plan: Plan = user
            .custom_claims()
            .map_err(|err| (StatusCode::FORBIDDEN, format!("no plan: {err}")))?;
        Ok(format!("{} {}", plan.full_name, plan.tier))
    }

    #[tokio::test]
    async fn a_signed_in_user_s_session_carries_the_template_s_claims() {
        let app = TestApp::start_with_routes(|_| Router::new().route("/plan", get(plan))).await;
        let um = app.emulator.client().user_management();
        let ada = app.user("ada@example.com").await;
        um.update_user(
            &ada.id,
            authkit_axum::user_management::UpdateUser::new()
                .first_name("Ada")
                .metadata([("tier".to_owned(), "enterprise".to_owned())].into()),
        )
        .await
        .unwrap();
        um.update_jwt_template(
            r#"{"tier": "{{user.metadata.tier}}", "full_name": "{{user.first_name}}", "aud": "my-api"}"#,
        )
        .await
        .unwrap();

        app.sign_in_cookie("ada@example.com").await;
        let answer = app.server.get("/plan").await;
        answer.assert_status_ok();
        answer.assert_text("Ada enterprise");
        crate::support::assert_contract(&app.emulator);
    }
}

#[tokio::test]
async fn a_template_body_without_content_is_refused() {
    let emulator = Emulator::start().await.unwrap();
    for body in ["{}", r#"{"content": {"tier": "pro"}}"#] {
        let (status, answer) = support::raw_api_call(
            &emulator,
            reqwest::Method::PUT,
            "/user_management/jwt_template",
            body,
        )
        .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["code"], "invalid_request_parameters", "{answer}");
    }
    support::assert_contract(&emulator);
}
