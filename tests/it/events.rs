//! The Events API over HTTP: `GET /events` paged with `after`, filtered by type, time range and
//! organization, refused with clear errors for bad filters; the events the emulator's state
//! changes produce, with the data WorkOS documents; and the catch-up after downtime, which
//! yields exactly what the webhooks delivered, in order.

use std::time::Duration;

use authkit_axum::Error;
use authkit_axum::user_management::{
    AuthenticateWithEmailVerification, AuthenticateWithMagicAuth, AuthenticateWithPassword,
    AuthenticateWithTotp, CreateUser, EnrollAuthFactor, Invitation, InvitationState, MagicAuth,
    Order, PasswordReset, ResendInvitation, ResetPassword, SendInvitation, SendMagicAuthCode,
    UpdateUser, User,
};
use authkit_axum::webhooks::{
    AuthenticationEventData, AuthenticationStatus, AuthenticationType, Event, EventKind, ListEvents,
};
use authkit_emulator::Emulator;
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

const PASSWORD: &str = "correct horse battery staple";

/// The ids of the emulator's event log, oldest first.
fn log_ids(emulator: &Emulator) -> Vec<String> {
    emulator
        .events()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

async fn users(emulator: &Emulator, n: usize) -> Vec<User> {
    let um = emulator.client().user_management();
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            um.create_user(CreateUser::new(format!("user{i}@example.com")))
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn pages_follow_the_after_cursor_through_every_event_once_in_order() {
    let emulator = Emulator::start().await.unwrap();
    let events = emulator.client().events();
    let created = users(&emulator, 7).await;
    let log = log_ids(&emulator);
    assert_eq!(log.len(), 7);

    // Oldest first, three a page, by hand.
    let mut seen = Vec::new();
    let mut params = ListEvents::new(["user.created"]).order(Order::Asc).limit(3);
    let mut sizes = Vec::new();
    loop {
        let page = events.list(&params).await.unwrap();
        sizes.push(page.data.len());
        seen.extend(page.data.iter().cloned());
        match page.list_metadata.after {
            Some(after) => params = params.after(after),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(ids(&seen), log);
    let emails: Vec<&str> = seen
        .iter()
        .map(|e| e.data["email"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = created.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, expected);
    let first: User = seen[0].data_as().unwrap();
    assert_eq!(first.id, created[0].id);
    assert_eq!(seen[0].kind(), EventKind::UserCreated);

    // The stream does the same, two a page.
    let streamed: Vec<Event> = events
        .stream(ListEvents::since(None).limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, seen);

    // WorkOS's default order is newest first.
    let newest = events
        .list(&ListEvents::new(["user.created"]))
        .await
        .unwrap();
    assert_eq!(newest.data[0].id, *log.last().unwrap());

    // Resuming after the fifth event gives the last two.
    let rest: Vec<Event> = events
        .stream(ListEvents::since(Some(log[4].clone())).events(["user.created"]))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&rest), log[5..]);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn filters_select_by_type_time_range_and_organization() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let events = emulator.client().events();
    let org = emulator.create_organization("Acme Corp");
    let ada = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    emulator.advance_clock(Duration::from_secs(3600));
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(30);
    um.update_user(&ada.id, UpdateUser::new().first_name("Ada"))
        .await
        .unwrap();
    let invitation = um
        .send_invitation(SendInvitation::new("bob@example.com").organization_id(&org))
        .await
        .unwrap();

    let of_types = |types: &[&str]| {
        let events = events.clone();
        let params = ListEvents::new(types.iter().copied()).order(Order::Asc);
        async move {
            let page = events.list(&params).await.unwrap();
            page.data.into_iter().map(|e| e.event).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        of_types(&["invitation.created"]).await,
        ["invitation.created"]
    );
    assert_eq!(
        of_types(&["user.created", "user.updated"]).await,
        ["user.created", "user.updated"]
    );
    assert!(of_types(&["user.deleted"]).await.is_empty());

    // Before and after the clock moved an hour.
    let before: Vec<Event> = events
        .stream(
            ListEvents::new(["user.created", "user.updated", "invitation.created"])
                .range_end(later),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        before.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["user.created"]
    );
    let after: Vec<Event> = events
        .stream(
            ListEvents::since(None)
                .events(["user.created", "user.updated", "invitation.created"])
                .range_start(later),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["user.updated", "invitation.created"]
    );

    // About the organization: the invitation into it, not the users.
    let about_org = events
        .list(&ListEvents::default().organization_id(&org))
        .await
        .unwrap();
    assert!(
        about_org
            .data
            .iter()
            .any(|e| e.kind() == EventKind::InvitationCreated && e.data["id"] == invitation.id)
    );
    assert!(
        about_org
            .data
            .iter()
            .all(|e| e.data["organization_id"] == org.as_str() || e.data["id"] == org.as_str()),
        "{about_org:?}"
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn bad_filters_are_refused_with_the_field_named() {
    let emulator = Emulator::start().await.unwrap();
    let client = emulator.client();
    let http = support::http_client().build().unwrap();
    let get = |query: &'static str| {
        http.get(format!("{}/events?{query}", emulator.base_url()))
            .bearer_auth(emulator.api_key())
            .send()
    };
    for (query, status, field) in [
        ("range_start=yesterday", 422, Some("range_start")),
        ("range_end=2026-13-45", 422, Some("range_end")),
        (
            "range_start=2026-02-01T00:00:00Z&range_end=2026-01-01T00:00:00Z",
            422,
            Some("range_end"),
        ),
        ("limit=500", 422, Some("limit")),
        ("order=sideways", 422, Some("order")),
        ("organization_id=org_missing", 400, None),
    ] {
        let response = get(query).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["message"].is_string(), "{query}: {body}");
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        } else {
            assert_eq!(body["message"], "Organization not found: 'org_missing'.");
        }
    }

    // Through the client: typed errors.
    let start = time::macros::datetime!(2026-02-01 00:00 UTC);
    let end = time::macros::datetime!(2026-01-01 00:00 UTC);
    let err = client
        .events()
        .list(&ListEvents::default().range_start(start).range_end(end))
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(api.status, 422);
    assert_eq!(api.errors[0].field.as_deref(), Some("range_end"));
    let err = client
        .events()
        .list(&ListEvents::default().organization_id("org_missing"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("org_missing"), "{err}");

    // Without an API key, nothing.
    let anonymous = http
        .get(format!("{}/events", emulator.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    support::assert_contract(&emulator);
}

/// The events of one kind, typed.
fn of_kind(events: &[Event], kind: EventKind) -> Vec<&Event> {
    events.iter().filter(|e| e.kind() == kind).collect()
}

#[tokio::test]
async fn invitations_codes_and_resets_emit_their_events_without_secrets() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Acme Corp");
    let ada = um
        .create_user(
            CreateUser::new("ada@example.com")
                .password(PASSWORD)
                .email_verified(true),
        )
        .await
        .unwrap();

    let kept = um
        .send_invitation(SendInvitation::new("bob@example.com").organization_id(&org))
        .await
        .unwrap();
    um.resend_invitation(&kept.id, ResendInvitation::new())
        .await
        .unwrap();
    let dropped = um
        .send_invitation(SendInvitation::new("eve@example.com"))
        .await
        .unwrap();
    um.revoke_invitation(&dropped.id).await.unwrap();
    um.accept_invitation(&kept.id).await.unwrap();
    let magic = um
        .send_magic_auth_code(SendMagicAuthCode::new("ada@example.com"))
        .await
        .unwrap();
    let reset = um
        .send_password_reset_email("ada@example.com")
        .await
        .unwrap();
    um.reset_password(ResetPassword::new(
        reset.password_reset_token.expose_secret(),
        "an even better passphrase",
    ))
    .await
    .unwrap();
    let cy = um
        .create_user(CreateUser::new("cy@example.com"))
        .await
        .unwrap();
    um.send_verification_email(&cy.id).await.unwrap();

    let all: Vec<Event> = emulator
        .client()
        .events()
        .stream(ListEvents::since(None))
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = all
        .iter()
        .map(|e| e.event.as_str())
        .filter(|k| !k.starts_with("organization"))
        .collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "invitation.created",
            "invitation.resent",
            "invitation.created",
            "invitation.revoked",
            "invitation.accepted",
            "magic_auth.created",
            "password_reset.created",
            "password_reset.succeeded",
            "user.created",
            "email_verification.created",
        ]
    );
    let accepted: Invitation = of_kind(&all, EventKind::InvitationAccepted)[0]
        .data_as()
        .unwrap();
    assert_eq!(
        (accepted.id.as_str(), accepted.state),
        (kept.id.as_str(), InvitationState::Accepted)
    );
    let revoked: Invitation = of_kind(&all, EventKind::InvitationRevoked)[0]
        .data_as()
        .unwrap();
    assert_eq!(revoked.state, InvitationState::Revoked);
    let sent: MagicAuth = of_kind(&all, EventKind::MagicAuthCreated)[0]
        .data_as()
        .unwrap();
    assert_eq!((sent.id, sent.user_id), (magic.id, ada.id.clone()));
    let done: PasswordReset = of_kind(&all, EventKind::PasswordResetSucceeded)[0]
        .data_as()
        .unwrap();
    assert_eq!(done.id, reset.id);

    // Codes, tokens and links stay out of events.
    let text = serde_json::to_string(&emulator.events()).unwrap();
    for secret in [
        kept.token.expose_secret(),
        magic.code.expose_secret(),
        reset.password_reset_token.expose_secret(),
    ] {
        assert!(!text.contains(secret), "an event carries a secret");
    }
    for field in [
        "\"token\"",
        "\"code\"",
        "accept_invitation_url",
        "password_reset_url",
    ] {
        assert!(!text.contains(field), "an event carries {field}");
    }
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn sign_ins_emit_authentication_events_for_each_method_and_failure() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    um.create_user(CreateUser::new("ada@example.com").password(PASSWORD))
        .await
        .unwrap();

    // A wrong password, then the right one: Ada's email is unverified, so a code follows.
    let wrong = um
        .authenticate_with_password(
            AuthenticateWithPassword::new("ada@example.com", "not it")
                .ip_address("198.51.100.7")
                .user_agent("tests/1"),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some("invalid_credentials"));
    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    let Error::EmailVerificationRequired(step) = err else {
        panic!("expected email_verification_required, got {err:?}")
    };
    let code = emulator
        .last_email_to("ada@example.com")
        .unwrap()
        .code
        .unwrap();
    let token = step.pending_authentication_token.clone();
    um.authenticate_with_email_verification(AuthenticateWithEmailVerification::new(
        "000000",
        token.clone(),
    ))
    .await
    .unwrap_err();
    um.authenticate_with_email_verification(AuthenticateWithEmailVerification::new(code, token))
        .await
        .unwrap();

    // Magic Auth: a wrong code, then the right one.
    um.send_magic_auth_code(SendMagicAuthCode::new("ada@example.com"))
        .await
        .unwrap();
    let code = emulator
        .last_email_to("ada@example.com")
        .unwrap()
        .code
        .unwrap();
    um.authenticate_with_magic_auth(AuthenticateWithMagicAuth::new(
        "999999".to_owned(),
        "ada@example.com",
    ))
    .await
    .unwrap_err();
    um.authenticate_with_magic_auth(AuthenticateWithMagicAuth::new(code, "ada@example.com"))
        .await
        .unwrap();

    // MFA: with a factor, the password is followed by a TOTP challenge.
    let ada = um.list_users(&Default::default()).await.unwrap().data[0].clone();
    let enrolled = um
        .enroll_auth_factor(&ada.id, EnrollAuthFactor::totp())
        .await
        .unwrap();
    let secret = enrolled
        .authentication_factor
        .totp
        .unwrap()
        .secret
        .unwrap()
        .expose_secret()
        .to_owned();
    let err = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    let Error::MfaChallenge(step) = err else {
        panic!("expected mfa_challenge, got {err:?}")
    };
    let challenge = um
        .challenge_auth_factor(&enrolled.authentication_factor.id)
        .await
        .unwrap();
    um.authenticate_with_totp(AuthenticateWithTotp::new(
        support::totp(&secret, 0),
        step.pending_authentication_token,
        challenge.id,
    ))
    .await
    .unwrap();

    let auth: Vec<Event> = emulator
        .client()
        .events()
        .stream(ListEvents::since(None))
        .try_filter(|e| std::future::ready(e.event.starts_with("authentication.")))
        .try_collect()
        .await
        .unwrap();
    let outcomes: Vec<(AuthenticationType, AuthenticationStatus)> = auth
        .iter()
        .map(|e| {
            let data: AuthenticationEventData = e.data_as().unwrap();
            assert_eq!(data.email.as_deref(), Some("ada@example.com"), "{e:?}");
            assert_eq!(data.user_id.as_deref(), Some(ada.id.as_str()), "{e:?}");
            (data.r#type, data.status)
        })
        .collect();
    use AuthenticationStatus::{Failed, Succeeded};
    use AuthenticationType::*;
    assert_eq!(
        outcomes,
        [
            (Password, Failed),
            (Password, Succeeded),
            (EmailVerification, Failed),
            (EmailVerification, Succeeded),
            (MagicAuth, Failed),
            (MagicAuth, Succeeded),
            (Password, Succeeded),
            (Mfa, Succeeded),
        ]
    );
    let failed: AuthenticationEventData = auth[0].data_as().unwrap();
    assert_eq!(auth[0].kind(), EventKind::AuthenticationPasswordFailed);
    assert_eq!(failed.ip_address.as_deref(), Some("198.51.100.7"));
    assert_eq!(failed.user_agent.as_deref(), Some("tests/1"));
    assert_eq!(failed.error.unwrap().code, "invalid_credentials");
    assert_eq!(
        auth[4].kind(),
        EventKind::AuthenticationMagicAuthFailed,
        "{auth:?}"
    );
    assert_eq!(auth[7].kind(), EventKind::AuthenticationMfaSucceeded);
    support::assert_contract(&emulator);
}

/// The authorization URL an app sends the browser to, scoped to `organization_id` if given.
#[cfg(feature = "axum")]
fn authorize_url(emulator: &Emulator, organization_id: Option<&str>) -> String {
    let mut url = url::Url::parse(&format!(
        "{}/user_management/authorize",
        emulator.base_url()
    ))
    .unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", emulator.client_id())
        .append_pair("response_type", "code")
        .append_pair("provider", "authkit")
        .append_pair("redirect_uri", support::app::CALLBACK)
        .append_pair("state", "xyz");
    if let Some(org) = organization_id {
        url.query_pairs_mut().append_pair("organization_id", org);
    }
    url.to_string()
}

#[cfg(feature = "axum")]
fn code_of(callback: &url::Url) -> String {
    callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn hosted_sso_and_oauth_sign_ins_emit_authentication_events() {
    use authkit_axum::user_management::AuthenticateWithCode;

    let seed = authkit_emulator::Seed::from_yaml_str(
        r#"
users:
  - { email: ada@example.com, password: "correct horse battery staple", email_verified: true }
organizations:
  - { id: org_initech, name: Initech, sso: true }
memberships:
  - { user: ada@example.com, organization: Initech, role: member }
"#,
    )
    .unwrap();
    let emulator = support::app::register(Emulator::builder().seed(seed))
        .start()
        .await
        .unwrap();
    let um = emulator.client().user_management();

    // The hosted page's password form.
    let callback = support::app::hosted_page_sign_in(
        &emulator,
        &authorize_url(&emulator, None),
        "ada@example.com",
        PASSWORD,
    )
    .await;
    um.authenticate_with_code(AuthenticateWithCode::new(code_of(&callback)))
        .await
        .unwrap();
    // SSO into Initech, then an OAuth provider.
    let callback = emulator
        .approve_sign_in(
            &authorize_url(&emulator, Some("org_initech")),
            "ada@example.com",
        )
        .unwrap();
    um.authenticate_with_code(AuthenticateWithCode::new(code_of(&callback)))
        .await
        .unwrap();
    let callback = emulator
        .approve_sign_in_pending(&authorize_url(&emulator, None), "ada@example.com")
        .unwrap();
    um.authenticate_with_code(AuthenticateWithCode::new(code_of(&callback)))
        .await
        .unwrap();

    let auth: Vec<Event> = emulator
        .client()
        .events()
        .stream(ListEvents::since(None).events([
            EventKind::AuthenticationPasswordSucceeded,
            EventKind::AuthenticationSsoSucceeded,
            EventKind::AuthenticationOauthSucceeded,
        ]))
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<EventKind> = auth.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::AuthenticationPasswordSucceeded,
            EventKind::AuthenticationSsoSucceeded,
            EventKind::AuthenticationOauthSucceeded,
        ]
    );
    let sso: AuthenticationEventData = auth[1].data_as().unwrap();
    let details = sso.sso.unwrap();
    assert_eq!(details.organization_id.as_deref(), Some("org_initech"));
    assert!(
        details
            .connection_id
            .is_some_and(|c| c.starts_with("conn_")),
        "the organization's SSO connection"
    );
    support::assert_contract(&emulator);
}
