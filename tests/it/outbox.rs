//! The emulator's outbox over HTTP: `GET /__emulator/outbox[?to=<email>]`, read with reqwest
//! as a browser-driving test or another process would.

use authkit_axum::user_management::{CreateUser, SendInvitation, SendMagicAuthCode};
use authkit_emulator::Emulator;
use serde_json::Value;

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn emails_are_read_over_http_and_filtered_by_recipient() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    let magic = um
        .send_magic_auth_code(SendMagicAuthCode::new("ada@example.com"))
        .await
        .unwrap();
    let invitation = um
        .send_invitation(SendInvitation::new("grace@example.com"))
        .await
        .unwrap();

    // With the emulator's API key, like the rest of its API.
    let http = crate::support::http_client().build().unwrap();
    let url = format!("{}/__emulator/outbox", emulator.base_url());
    let all: Value = http
        .get(&url)
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = all["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{all}");
    assert_eq!(data[0]["to"], "ada@example.com");
    assert_eq!(data[0]["kind"], "magic_auth");
    assert_eq!(data[0]["code"], magic.code.expose_secret());
    assert!(
        time::OffsetDateTime::parse(
            data[0]["sent_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    assert_eq!(data[1]["kind"], "invitation");
    assert_eq!(data[1]["token"], invitation.token.expose_secret());
    assert_eq!(
        data[1]["link"],
        invitation.accept_invitation_url.expose_secret()
    );

    let only_grace: Value = http
        .get(format!("{url}?to=GRACE%40example.com"))
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = only_grace["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["to"], "grace@example.com");

    let nobody: Value = http
        .get(format!("{url}?to=nobody%40example.com"))
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(nobody["data"], serde_json::json!([]));

    // The in-process view agrees, and clearing empties both.
    assert_eq!(emulator.outbox().len(), 2);
    emulator.clear_outbox();
    let cleared: Value = http
        .get(&url)
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["data"], serde_json::json!([]));
    support::assert_contract(&emulator);
}
