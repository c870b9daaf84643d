//! Invitations: send, get, find by token, list, resend, revoke, accept and expiry, against the
//! emulator over HTTP.

use std::time::Duration;

use authkit_axum::user_management::{
    CreateUser, InvitationState, ListInvitations, ListOrganizationMemberships,
    OrganizationMembershipStatus, ResendInvitation, SendInvitation,
};
use authkit_emulator::{EmailKind, Emulator};
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn an_invitation_is_sent_found_and_accepted_into_an_organization() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Acme Corp");
    let inviter = um
        .create_user(CreateUser::new("boss@example.com"))
        .await
        .unwrap();

    let sent = um
        .send_invitation(
            SendInvitation::new("new.hire@example.com")
                .organization_id(&org)
                .role_slug("admin")
                .inviter_user_id(&inviter.id)
                .expires_in_days(3)
                .locale("de"),
        )
        .await
        .unwrap();
    assert!(sent.id.starts_with("invitation_"), "{}", sent.id);
    assert_eq!(sent.state, InvitationState::Pending);
    assert_eq!(sent.email, "new.hire@example.com");
    assert_eq!(sent.organization_id.as_deref(), Some(org.as_str()));
    assert_eq!(sent.role_slug.as_deref(), Some("admin"));
    assert_eq!(sent.inviter_user_id.as_deref(), Some(inviter.id.as_str()));
    assert_eq!(sent.accepted_at, None);
    assert_eq!(sent.expires_at - sent.created_at, time::Duration::days(3));
    let token = sent.token.expose_secret().to_owned();
    assert!(!token.is_empty());
    assert!(
        !format!("{sent:?}").contains(&token),
        "the token is redacted"
    );
    let url = sent.accept_invitation_url.expose_secret();
    assert_eq!(
        url,
        format!("{}/invite?invitation_token={token}", emulator.base_url())
    );

    // The email carries the link and the token.
    let email = emulator.last_email_to("new.hire@example.com").unwrap();
    assert_eq!(email.kind, EmailKind::Invitation);
    assert!(email.subject.contains("Acme Corp"), "{}", email.subject);
    assert_eq!(email.link.as_deref(), Some(url));
    assert_eq!(email.token.as_deref(), Some(token.as_str()));

    let by_id = um.get_invitation(&sent.id).await.unwrap();
    assert_eq!(by_id.id, sent.id);
    let by_token = um.find_invitation_by_token(&token).await.unwrap();
    assert_eq!(by_token.id, sent.id);
    let err = um
        .find_invitation_by_token("not-a-token")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // The invitee signs up, then accepts: they become an active admin of the organization.
    let invitee = um
        .create_user(CreateUser::new("new.hire@example.com"))
        .await
        .unwrap();
    let accepted = um.accept_invitation(&sent.id).await.unwrap();
    assert_eq!(accepted.state, InvitationState::Accepted);
    assert!(accepted.accepted_at.is_some());
    assert_eq!(
        accepted.accepted_user_id.as_deref(),
        Some(invitee.id.as_str())
    );
    let memberships = um
        .list_organization_memberships(&ListOrganizationMemberships::for_user(&invitee.id))
        .await
        .unwrap();
    assert_eq!(memberships.data.len(), 1);
    assert_eq!(memberships.data[0].organization_id, org);
    assert_eq!(
        memberships.data[0].status,
        OrganizationMembershipStatus::Active
    );
    assert_eq!(memberships.data[0].role.slug, "admin");

    // An accepted invitation cannot be accepted, revoked or resent.
    let err = um.accept_invitation(&sent.id).await.unwrap_err();
    assert_eq!(err.code(), Some("invite_not_pending"));
    let err = um.revoke_invitation(&sent.id).await.unwrap_err();
    assert_eq!(err.code(), Some("invite_not_pending"));
    let err = um
        .resend_invitation(&sent.id, ResendInvitation::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("invite_accepted"));

    // The invitee is now a member: a new invitation to the same organization is refused.
    let err = um
        .send_invitation(SendInvitation::new("new.hire@example.com").organization_id(&org))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("user_already_organization_member"));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn invitations_are_resent_revoked_and_expire_with_the_clock() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Globex");

    let sent = um
        .send_invitation(SendInvitation::new("hank@example.com").organization_id(&org))
        .await
        .unwrap();
    assert_eq!(
        sent.role_slug.as_deref(),
        Some("member"),
        "the default role"
    );
    assert_eq!(
        sent.expires_at - sent.created_at,
        time::Duration::days(7),
        "the default expiry"
    );

    // A second pending invitation to the same organization is refused.
    let err = um
        .send_invitation(SendInvitation::new("HANK@example.com").organization_id(&org))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("email_already_invited_to_organization"));

    // Resending puts another email in the outbox.
    emulator.clear_outbox();
    let resent = um
        .resend_invitation(&sent.id, ResendInvitation::new().locale("fr"))
        .await
        .unwrap();
    assert_eq!(resent.state, InvitationState::Pending);
    let outbox = emulator.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].to, "hank@example.com");
    assert_eq!(outbox[0].kind, EmailKind::Invitation);

    // Eight days later the invitation is reported expired, and cannot be used.
    emulator.advance_clock(Duration::from_secs(8 * 24 * 3600));
    let expired = um.get_invitation(&sent.id).await.unwrap();
    assert_eq!(expired.state, InvitationState::Expired);
    let err = um
        .resend_invitation(&sent.id, ResendInvitation::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invite_expired"));
    let err = um.accept_invitation(&sent.id).await.unwrap_err();
    assert_eq!(err.code(), Some("invite_not_pending"));
    let err = um.revoke_invitation(&sent.id).await.unwrap_err();
    assert_eq!(err.code(), Some("invite_not_pending"));

    // An expired invitation does not block a new one; revoking that one works once.
    let fresh = um
        .send_invitation(SendInvitation::new("hank@example.com").organization_id(&org))
        .await
        .unwrap();
    let revoked = um.revoke_invitation(&fresh.id).await.unwrap();
    assert_eq!(revoked.state, InvitationState::Revoked);
    assert!(revoked.revoked_at.is_some());
    let err = um
        .resend_invitation(&fresh.id, ResendInvitation::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invite_revoked"));
    let err = um.revoke_invitation(&fresh.id).await.unwrap_err();
    assert_eq!(err.code(), Some("invite_not_pending"));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn sending_an_invitation_validates_its_input() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Initech");

    let err = um
        .send_invitation(SendInvitation::new("a@example.com").expires_in_days(0))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("expires_in_days_too_short"));
    let err = um
        .send_invitation(SendInvitation::new("a@example.com").expires_in_days(31))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("expires_in_days_too_long"));
    let ok = um
        .send_invitation(SendInvitation::new("a@example.com").expires_in_days(30))
        .await
        .unwrap();
    assert_eq!(ok.organization_id, None);
    assert_eq!(ok.role_slug, None, "no role without an organization");

    let err = um
        .send_invitation(SendInvitation::new("not-an-email"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.code(), Some("invalid_request_parameters"));

    let err = um
        .send_invitation(
            SendInvitation::new("b@example.com").organization_id("org_01NOPE000000000000000000"),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("Organization not found"), "{err}");

    // Without an organization, an existing user cannot be invited.
    um.create_user(CreateUser::new("existing@example.com"))
        .await
        .unwrap();
    let err = um
        .send_invitation(SendInvitation::new("existing@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("user_already_exists"));
    let err = um
        .send_invitation(SendInvitation::new("a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("email_already_invited"));
    // Into an organization they can (as a pending member).
    um.send_invitation(SendInvitation::new("existing@example.com").organization_id(&org))
        .await
        .unwrap();

    let err = um.get_invitation("invitation_missing").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn invitations_are_listed_filtered_and_streamed() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Hooli");
    let mut ids = Vec::new();
    for i in 0..12 {
        let params = SendInvitation::new(format!("guest{i:02}@example.com"));
        let params = if i % 2 == 0 {
            params.organization_id(&org)
        } else {
            params
        };
        ids.push(um.send_invitation(params).await.unwrap().id);
    }

    let first = um.list_invitations(&ListInvitations::new()).await.unwrap();
    assert_eq!(first.data.len(), 10);
    assert_eq!(first.data[0].id, ids[11], "newest first");
    assert!(first.has_more());

    let in_org: Vec<_> = um
        .list_invitations_stream(ListInvitations::new().organization_id(&org).limit(2))
        .try_collect()
        .await
        .unwrap();
    let mut expected: Vec<_> = ids.iter().step_by(2).cloned().collect();
    expected.reverse();
    assert_eq!(
        in_org.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        expected
    );

    let by_email = um
        .list_invitations(&ListInvitations::new().email("guest05@example.com"))
        .await
        .unwrap();
    assert_eq!(by_email.data.len(), 1);
    assert_eq!(by_email.data[0].id, ids[5]);
    support::assert_contract(&emulator);
}
