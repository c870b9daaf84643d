//! Impersonation as the WorkOS dashboard starts it: a state-less callback to the default
//! redirect URI, an exchange that names the impersonator, and `act` in every signed token.

use std::time::Duration;

use authkit_emulator::{Impersonation, SeedUser};
use serde_json::Value;

use crate::support::{
    self, CALLBACK, code_of, exchange, http, password_sign_in, query_param, refresh, verify,
};

const SUPPORT: &str = "support@yourcompany.example";

/// The user's sessions, as `GET /user_management/users/{id}/sessions` lists them.
async fn sessions(emulator: &authkit_emulator::Emulator, user_id: &str) -> Vec<Value> {
    let list: Value = http()
        .get(format!(
            "{}/user_management/users/{user_id}/sessions",
            emulator.base_url()
        ))
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_dashboard_sends_a_state_less_code_to_the_default_redirect_uri() {
    let emulator = support::builder()
        .redirect_uri("http://localhost:3000/other/callback")
        .start()
        .await
        .unwrap();
    let user_id = support::user(&emulator, "ada@example.com").await;

    let callback = emulator
        .impersonate(&Impersonation::new("ada@example.com", SUPPORT).reason("Ticket 42"))
        .unwrap();
    // The first registered redirect URI, a code, and neither state nor anything else.
    assert_eq!(
        format!(
            "{}://{}{}",
            callback.scheme(),
            callback.authority(),
            callback.path()
        ),
        CALLBACK
    );
    let names: Vec<String> = callback
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(names, ["code"]);
    assert_eq!(query_param(&callback, "state"), None);

    let (status, auth) = exchange(&emulator, &code_of(&callback)).await;
    assert_eq!(status, 200, "{auth}");
    assert_eq!(auth["user"]["id"], user_id);
    assert_eq!(auth["authentication_method"], "Impersonation");
    assert_eq!(auth["impersonator"]["email"], SUPPORT);
    assert_eq!(auth["impersonator"]["reason"], "Ticket 42");

    // The signed token, verified against the JWKS, names the impersonator.
    let claims = verify(&emulator, auth["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], user_id);
    assert_eq!(claims["act"], serde_json::json!({ "sub": SUPPORT }));

    // WorkOS's session list marks it too.
    let listed = sessions(&emulator, &user_id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], claims["sid"]);
    assert_eq!(listed[0]["auth_method"], "impersonation");
    assert_eq!(listed[0]["impersonator"]["email"], SUPPORT);

    // The code is single use, like any other.
    let (again, body) = exchange(&emulator, &code_of(&callback)).await;
    assert_eq!(
        (again, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // An ordinary sign-in of the same user carries no act.
    let plain = password_sign_in(&emulator, "ada@example.com").await;
    assert!(plain.get("impersonator").is_none());
    let claims = verify(&emulator, plain["access_token"].as_str().unwrap()).await;
    assert!(claims.get("act").is_none(), "{claims}");
}

#[tokio::test]
async fn a_refresh_keeps_act_until_the_impersonation_is_ended() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    let callback = emulator
        .impersonate(&Impersonation::new("ada@example.com", SUPPORT))
        .unwrap();
    let (_, auth) = exchange(&emulator, &code_of(&callback)).await;
    // No reason given: null, as WorkOS's nullable field.
    assert_eq!(auth["impersonator"]["reason"], Value::Null);
    let sid = verify(&emulator, auth["access_token"].as_str().unwrap()).await["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, refreshed) = refresh(&emulator, auth["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["impersonator"]["email"], SUPPORT);
    let claims = verify(&emulator, refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["act"]["sub"], SUPPORT);

    assert!(emulator.end_impersonation(&sid));
    assert!(!emulator.end_impersonation(&sid), "already ended");
    assert!(!emulator.end_impersonation("session_unknown"));

    let (status, after) = refresh(&emulator, refreshed["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{after}");
    assert!(after.get("impersonator").is_none(), "{after}");
    let claims = verify(&emulator, after["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sid"], sid.as_str(), "the same session goes on");
    assert!(claims.get("act").is_none(), "{claims}");
}

#[tokio::test]
async fn an_impersonated_session_ends_after_sixty_minutes() {
    let emulator = support::start().await;
    support::user(&emulator, "ada@example.com").await;
    support::user(&emulator, "bob@example.com").await;
    let callback = emulator
        .impersonate(&Impersonation::new("ada@example.com", SUPPORT))
        .unwrap();
    let (_, impersonated) = exchange(&emulator, &code_of(&callback)).await;
    let ordinary = password_sign_in(&emulator, "bob@example.com").await;

    emulator.advance_clock(Duration::from_secs(59 * 60));
    let (status, impersonated) =
        refresh(&emulator, impersonated["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "still within the hour: {impersonated}");

    emulator.advance_clock(Duration::from_secs(2 * 60));
    let (status, body) = refresh(&emulator, impersonated["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // An ordinary session lives on.
    let (status, _) = refresh(&emulator, ordinary["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn impersonation_signs_in_to_the_organization_the_dashboard_user_chose() {
    let emulator = support::builder()
        .seed_user(
            SeedUser::new("grace@example.com")
                .organization("Acme", "admin")
                .organization("Globex", "member"),
        )
        .seed_user(SeedUser::new("ada@example.com").organization("Acme", "member"))
        .start()
        .await
        .unwrap();
    let orgs = emulator.organizations();
    let (acme, globex) = (orgs[0].0.clone(), orgs[1].0.clone());

    // Several organizations: the dashboard asks which one.
    let err = emulator
        .impersonate(&Impersonation::new("grace@example.com", SUPPORT))
        .unwrap_err();
    assert!(
        err.to_string().contains("Impersonation::organization"),
        "{err}"
    );
    let callback = emulator
        .impersonate(&Impersonation::new("grace@example.com", SUPPORT).organization(&globex))
        .unwrap();
    let (_, auth) = exchange(&emulator, &code_of(&callback)).await;
    assert_eq!(auth["organization_id"], globex.as_str());
    let claims = verify(&emulator, auth["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (claims["org_id"].as_str(), claims["role"].as_str()),
        (Some(globex.as_str()), Some("member"))
    );

    // One organization: that one. Not a member: refused.
    let callback = emulator
        .impersonate(&Impersonation::new("ada@example.com", SUPPORT))
        .unwrap();
    let (_, auth) = exchange(&emulator, &code_of(&callback)).await;
    assert_eq!(auth["organization_id"], acme.as_str());
    assert!(
        emulator
            .impersonate(&Impersonation::new("ada@example.com", SUPPORT).organization(&globex))
            .is_err()
    );
    assert!(
        emulator
            .impersonate(&Impersonation::new("nobody@example.com", SUPPORT))
            .is_err()
    );
}

#[tokio::test]
async fn impersonation_needs_a_registered_redirect_uri() {
    let emulator = authkit_emulator::Emulator::builder()
        .seed_user(SeedUser::new("ada@example.com"))
        .start()
        .await
        .unwrap();
    let err = emulator
        .impersonate(&Impersonation::new("ada@example.com", SUPPORT))
        .unwrap_err();
    assert!(
        err.to_string().contains("EmulatorBuilder::redirect_uri"),
        "{err}"
    );
}
