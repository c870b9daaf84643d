//! Organization memberships: create, get, update roles, deactivate, reactivate, delete, list
//! with filters and statuses, against the emulator over HTTP.

use authkit_axum::Error;
use authkit_axum::user_management::Order;
use authkit_axum::user_management::{
    CreateOrganizationMembership, CreateUser, ListOrganizationMemberships,
    OrganizationMembershipStatus, SendInvitation, UpdateOrganizationMembership,
};
use authkit_emulator::Emulator;
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn a_membership_is_created_read_updated_deactivated_reactivated_and_deleted() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Acme Corp");
    let user = um
        .create_user(CreateUser::new("ada@example.com").first_name("Ada"))
        .await
        .unwrap();

    let created = um
        .create_organization_membership(CreateOrganizationMembership::new(&user.id, &org))
        .await
        .unwrap();
    assert!(created.id.starts_with("om_"), "{}", created.id);
    assert_eq!(created.user_id, user.id);
    assert_eq!(created.organization_id, org);
    assert_eq!(created.organization_name.as_deref(), Some("Acme Corp"));
    assert_eq!(created.status, OrganizationMembershipStatus::Active);
    assert_eq!(created.role.slug, "member", "the default role");
    assert!(!created.directory_managed);
    let embedded = created.user.as_ref().expect("the user is embedded");
    assert_eq!(embedded.email, "ada@example.com");
    assert_eq!(embedded.first_name.as_deref(), Some("Ada"));

    let fetched = um.get_organization_membership(&created.id).await.unwrap();
    assert_eq!(fetched, created);

    let updated = um
        .update_organization_membership(
            &created.id,
            UpdateOrganizationMembership::new().role_slug("admin"),
        )
        .await
        .unwrap();
    assert_eq!(updated.role.slug, "admin");
    let multi = um
        .update_organization_membership(
            &created.id,
            UpdateOrganizationMembership::new().role_slugs(["billing", "admin"]),
        )
        .await
        .unwrap();
    assert_eq!(multi.role.slug, "billing");
    let slugs: Vec<_> = multi.roles.unwrap().into_iter().map(|r| r.slug).collect();
    assert_eq!(slugs, ["billing", "admin"]);

    let inactive = um
        .deactivate_organization_membership(&created.id)
        .await
        .unwrap();
    assert_eq!(inactive.status, OrganizationMembershipStatus::Inactive);
    // Deactivating again is a no-op.
    let again = um
        .deactivate_organization_membership(&created.id)
        .await
        .unwrap();
    assert_eq!(again.status, OrganizationMembershipStatus::Inactive);
    assert_eq!(again.updated_at, inactive.updated_at);

    let active = um
        .reactivate_organization_membership(&created.id)
        .await
        .unwrap();
    assert_eq!(active.status, OrganizationMembershipStatus::Active);
    assert_eq!(active.role.slug, "billing", "roles are kept");

    um.delete_organization_membership(&created.id)
        .await
        .unwrap();
    let err = um
        .get_organization_membership(&created.id)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = um
        .delete_organization_membership(&created.id)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn creating_for_an_inactive_pair_reactivates_and_errors_are_reported() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Globex");
    let user = um
        .create_user(CreateUser::new("grace@example.com"))
        .await
        .unwrap();

    let first = um
        .create_organization_membership(
            CreateOrganizationMembership::new(&user.id, &org).role_slug("viewer"),
        )
        .await
        .unwrap();
    assert_eq!(first.role.slug, "viewer");

    // An active pair cannot be created twice.
    let err = um
        .create_organization_membership(CreateOrganizationMembership::new(&user.id, &org))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.code(), Some("invalid_request_parameters"));

    // An inactive pair is reactivated, with the new role.
    um.deactivate_organization_membership(&first.id)
        .await
        .unwrap();
    let again = um
        .create_organization_membership(
            CreateOrganizationMembership::new(&user.id, &org).role_slug("admin"),
        )
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.status, OrganizationMembershipStatus::Active);
    assert_eq!(again.role.slug, "admin");

    // Unknown user or organization: 404.
    let err = um
        .create_organization_membership(CreateOrganizationMembership::new(
            "user_01NOPE00000000000000000000",
            &org,
        ))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("User not found"), "{err}");
    let err = um
        .create_organization_membership(CreateOrganizationMembership::new(
            &user.id,
            "org_01NOPE000000000000000000000",
        ))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("Organization not found"), "{err}");

    // Unknown membership: 404 on every operation.
    for err in [
        um.deactivate_organization_membership("om_missing")
            .await
            .unwrap_err(),
        um.reactivate_organization_membership("om_missing")
            .await
            .unwrap_err(),
        um.update_organization_membership("om_missing", UpdateOrganizationMembership::new())
            .await
            .unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err}");
    }

    // An empty id is refused before any request.
    let err = um.get_organization_membership("").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_pending_membership_cannot_be_deactivated_reactivated_or_recreated() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Initech");
    let user = um
        .create_user(CreateUser::new("peter@example.com"))
        .await
        .unwrap();
    // Inviting an existing user into an organization gives them a pending membership.
    um.send_invitation(SendInvitation::new("peter@example.com").organization_id(&org))
        .await
        .unwrap();

    // The default list has only active memberships.
    let active_only = um
        .list_organization_memberships(&ListOrganizationMemberships::for_user(&user.id))
        .await
        .unwrap();
    assert!(active_only.data.is_empty());
    let pending = um
        .list_organization_memberships(
            &ListOrganizationMemberships::for_user(&user.id)
                .statuses([OrganizationMembershipStatus::Pending]),
        )
        .await
        .unwrap();
    assert_eq!(pending.data.len(), 1);
    let membership = &pending.data[0];
    assert_eq!(membership.status, OrganizationMembershipStatus::Pending);

    let err = um
        .deactivate_organization_membership(&membership.id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(
        err.code(),
        Some("cannot_deactivate_pending_organization_membership")
    );
    let err = um
        .reactivate_organization_membership(&membership.id)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("cannot_reactivate_pending_organization_membership")
    );
    let err = um
        .create_organization_membership(CreateOrganizationMembership::new(&user.id, &org))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(
        err.code(),
        Some("cannot_reactivate_pending_organization_membership")
    );
    // A pending membership can be deleted.
    um.delete_organization_membership(&membership.id)
        .await
        .unwrap();
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn memberships_are_listed_by_user_or_organization_with_statuses_and_pages() {
    let emulator = Emulator::start().await.unwrap();
    let um = emulator.client().user_management();
    let org = emulator.create_organization("Big Org");
    let other_org = emulator.create_organization("Other Org");
    let mut ids = Vec::new();
    let mut users = Vec::new();
    for i in 0..13 {
        let user = um
            .create_user(CreateUser::new(format!("member{i:02}@example.com")))
            .await
            .unwrap();
        let m = um
            .create_organization_membership(CreateOrganizationMembership::new(&user.id, &org))
            .await
            .unwrap();
        ids.push(m.id);
        users.push(user.id);
    }
    let elsewhere = um
        .create_organization_membership(CreateOrganizationMembership::new(&users[0], &other_org))
        .await
        .unwrap();
    um.deactivate_organization_membership(&ids[3])
        .await
        .unwrap();

    // Neither user_id nor organization_id: 400.
    let err = um
        .list_organization_memberships(&ListOrganizationMemberships::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("missing_user_id_or_organization_id"));

    // By organization, active only by default: 12 of 13, newest first, 10 per page.
    let first = um
        .list_organization_memberships(&ListOrganizationMemberships::for_organization(&org))
        .await
        .unwrap();
    assert_eq!(first.data.len(), 10);
    assert_eq!(first.data[0].id, ids[12]);
    assert!(first.has_more());
    assert!(
        first
            .data
            .iter()
            .all(|m| m.status == OrganizationMembershipStatus::Active && m.organization_id == org)
    );
    let second = um
        .list_organization_memberships(
            &ListOrganizationMemberships::for_organization(&org)
                .after(first.list_metadata.after.clone().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(second.data.len(), 2);
    assert!(!second.has_more());

    // Sent comma-joined: statuses=active,inactive.
    let all: Vec<_> = um
        .list_organization_memberships_stream(
            ListOrganizationMemberships::for_organization(&org)
                .statuses([
                    OrganizationMembershipStatus::Active,
                    OrganizationMembershipStatus::Inactive,
                ])
                .limit(5)
                .order(Order::Asc),
        )
        .try_collect()
        .await
        .unwrap();
    let streamed: Vec<_> = all.iter().map(|m| m.id.clone()).collect();
    assert_eq!(streamed, ids);
    assert!(emulator.requests().iter().any(|r| {
        r.path == "/user_management/organization_memberships"
            && r.query.as_deref().is_some_and(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .any(|(k, v)| k == "statuses" && v == "active,inactive")
            })
    }));

    let inactive = um
        .list_organization_memberships(
            &ListOrganizationMemberships::for_organization(&org)
                .statuses([OrganizationMembershipStatus::Inactive]),
        )
        .await
        .unwrap();
    assert_eq!(inactive.data.len(), 1);
    assert_eq!(inactive.data[0].id, ids[3]);

    // By user, across organizations; and by both.
    let of_user = um
        .list_organization_memberships(&ListOrganizationMemberships::for_user(&users[0]))
        .await
        .unwrap();
    let mut orgs: Vec<_> = of_user
        .data
        .iter()
        .map(|m| m.organization_id.clone())
        .collect();
    orgs.sort();
    let mut expected = vec![org.clone(), other_org.clone()];
    expected.sort();
    assert_eq!(orgs, expected);
    let both = um
        .list_organization_memberships(
            &ListOrganizationMemberships::for_user(&users[0]).organization_id(&other_org),
        )
        .await
        .unwrap();
    assert_eq!(both.data.len(), 1);
    assert_eq!(both.data[0].id, elsewhere.id);
    support::assert_contract(&emulator);
}
