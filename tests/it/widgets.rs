//! Widget tokens: `POST /widgets/token` through the client, against the emulator.

use authkit_axum::user_management::{CreateUser, GetWidgetToken, WidgetScope};
use authkit_emulator::Emulator;
use base64::Engine as _;

use crate::support;
use crate::support::EmulatorExt as _;

fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_widget_token_is_scoped_to_the_organization_user_and_scopes() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Acme");
    let ada = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    emulator.seed_membership(&ada.id, &org, "admin");

    let token = um
        .get_widget_token(
            GetWidgetToken::new(&org)
                .user_id(&ada.id)
                .scopes([WidgetScope::UsersTableManage, WidgetScope::ApiKeysManage]),
        )
        .await
        .unwrap();
    let raw = token.token.expose_secret();
    assert!(!format!("{token:?}").contains(raw), "the token is redacted");
    let claims = claims(raw);
    assert_eq!(claims["sub"], ada.id.as_str());
    assert_eq!(claims["org_id"], org.as_str());
    assert_eq!(
        claims["scopes"],
        serde_json::json!(["widgets:users-table:manage", "widgets:api-keys:manage"])
    );
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // Refusals: unknown organization, unknown user, a user outside the organization.
    let err = um
        .get_widget_token(GetWidgetToken::new("org_missing"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = um
        .get_widget_token(GetWidgetToken::new(&org).user_id("user_missing"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let bob = um
        .create_user(CreateUser::new("bob@example.com"))
        .await
        .unwrap();
    let err = um
        .get_widget_token(GetWidgetToken::new(&org).user_id(&bob.id))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    // A scope WorkOS does not know is refused by the API, not by the client.
    let err = um
        .get_widget_token(
            GetWidgetToken::new(&org).scopes([WidgetScope::from("widgets:everything")]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("scopes must be one of"), "{err}");
    support::assert_contract(&emulator);
}
