//! Organizations, their domains, and the roles and permissions of `/authorization`: every
//! operation against the emulator over HTTP, bad input answered with the spec's errors, paging
//! across pages, and the events each change emits.

use std::collections::BTreeMap;

use authkit_axum::Error;
use authkit_axum::organizations::{
    CreateOrganization, CreateOrganizationDomain, DomainData, DomainState, ListOrganizations,
    Organization, OrganizationDomain, RoleType, UpdateOrganization, VerificationStrategy,
};
use authkit_axum::user_management::{
    AuthenticateWithPassword, AuthenticateWithRefreshToken, CreateOrganizationMembership,
    CreateUser, ListOrganizationMemberships, Order, OrganizationMembership, PageParams,
    UpdateOrganizationMembership,
};
use authkit_axum::webhooks::{Event, EventKind};
use authkit_emulator::{Emulator, Fault, Seed, SeedRole};
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

/// The events recorded so far, typed.
fn events(emulator: &Emulator) -> Vec<Event> {
    emulator
        .events()
        .into_iter()
        .map(|e| serde_json::from_value(e).unwrap())
        .collect()
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

fn status_and_code(err: &Error) -> (Option<u16>, Option<&str>) {
    (err.status(), err.code())
}

#[tokio::test]
async fn an_organization_is_created_read_updated_and_deleted_with_its_events() {
    let emulator = Emulator::start().await.unwrap();
    let orgs = emulator.client().organizations();

    let created = orgs
        .create_organization(
            CreateOrganization::new("Acme Corp")
                .domain_data([
                    DomainData::verified("acme.com"),
                    DomainData::pending("acme.io"),
                ])
                .external_id("acct_42")
                .metadata([("tier", "gold")]),
        )
        .await
        .unwrap();
    assert!(created.id.starts_with("org_"), "{}", created.id);
    assert_eq!(created.name, "Acme Corp");
    assert_eq!(created.external_id.as_deref(), Some("acct_42"));
    assert_eq!(created.metadata["tier"], "gold");
    let states: Vec<_> = created
        .domains
        .iter()
        .map(|d| (d.domain.as_str(), d.state.clone().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("acme.com", DomainState::Verified),
            ("acme.io", DomainState::Pending)
        ]
    );
    assert!(
        created
            .domains
            .iter()
            .all(|d| d.organization_id == created.id)
    );

    assert_eq!(orgs.get_organization(&created.id).await.unwrap(), created);
    assert_eq!(
        orgs.get_organization_by_external_id("acct_42")
            .await
            .unwrap(),
        created
    );

    let kept_domain = created.domains[0].id.clone();
    let updated = orgs
        .update_organization(
            &created.id,
            UpdateOrganization::new()
                .name("Acme Inc.")
                .domain_data([
                    DomainData::verified("acme.com"),
                    DomainData::verified("acme.dev"),
                ])
                .clear_external_id()
                .metadata([("tier", "platinum"), ("region", "eu")]),
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "Acme Inc.");
    assert_eq!(updated.external_id, None);
    assert_eq!(updated.metadata.len(), 2);
    let domains: Vec<_> = updated.domains.iter().map(|d| d.domain.as_str()).collect();
    assert_eq!(domains, ["acme.com", "acme.dev"], "acme.io is gone");
    assert_eq!(
        updated.domains[0].id, kept_domain,
        "a kept domain keeps its id"
    );
    assert!(updated.domains.iter().all(OrganizationDomain::is_verified));
    let err = orgs
        .get_organization_by_external_id("acct_42")
        .await
        .unwrap_err();
    assert!(
        err.is_not_found(),
        "the cleared external id finds nothing: {err}"
    );

    orgs.delete_organization(&created.id).await.unwrap();
    let err = orgs.get_organization(&created.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let events = events(&emulator);
    assert_eq!(
        kinds(&events),
        [
            "organization.created",
            "organization_domain.created",
            "organization_domain.deleted",
            "organization.updated",
            "organization.deleted",
        ]
    );
    assert_eq!(events[0].kind(), EventKind::OrganizationCreated);
    assert_eq!(events[0].data_as::<Organization>().unwrap(), created);
    let added: OrganizationDomain = events[1].data_as().unwrap();
    assert_eq!(added.domain, "acme.dev");
    let removed: OrganizationDomain = events[2].data_as().unwrap();
    assert_eq!(removed.domain, "acme.io");
    assert_eq!(events[3].data_as::<Organization>().unwrap(), updated);
    assert_eq!(events[4].kind(), EventKind::OrganizationDeleted);
    assert_eq!(events[4].data_as::<Organization>().unwrap().id, created.id);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_retried_with_its_key_and_makes_one_organization() {
    let emulator = Emulator::start().await.unwrap();
    let client = emulator
        .client_builder()
        .retry_base_delay(std::time::Duration::from_millis(10))
        .build()
        .unwrap();
    // The organization is made, but the client is told 503.
    emulator.inject_fault(
        Fault::new("/organizations")
            .method("POST")
            .status(503)
            .times(1)
            .after_processing(),
    );
    let org = client
        .organizations()
        .create_organization(CreateOrganization::new("Acme").external_id("acct_1"))
        .await
        .unwrap();
    let posts: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(posts[0].idempotency_key.is_some());
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    let all = client
        .organizations()
        .list_organizations(&ListOrganizations::new())
        .await
        .unwrap();
    assert_eq!(
        all.data,
        [org],
        "one organization, not a second (or an external id error)"
    );
    assert_eq!(kinds(&events(&emulator)), ["organization.created"]);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn bad_input_gets_the_specs_errors() {
    let emulator = Emulator::start().await.unwrap();
    let orgs = emulator.client().organizations();
    let acme = orgs
        .create_organization(
            CreateOrganization::new("Acme")
                .external_id("acct_1")
                .domain_data([DomainData::verified("acme.com")]),
        )
        .await
        .unwrap();
    let globex = orgs
        .create_organization(CreateOrganization::new("Globex").external_id("acct_2"))
        .await
        .unwrap();

    // A taken external id, on create and on update.
    let err = orgs
        .create_organization(CreateOrganization::new("Copycat").external_id("acct_1"))
        .await
        .unwrap_err();
    assert_eq!(
        status_and_code(&err),
        (Some(400), Some("external_id_already_used")),
        "{err}"
    );
    let err = orgs
        .update_organization(&globex.id, UpdateOrganization::new().external_id("acct_1"))
        .await
        .unwrap_err();
    assert_eq!(
        status_and_code(&err),
        (Some(400), Some("external_id_already_used")),
        "{err}"
    );
    // Its own external id is not "taken".
    orgs.update_organization(&globex.id, UpdateOrganization::new().external_id("acct_2"))
        .await
        .unwrap();

    // Malformed domains, and a domain another organization has verified.
    for bad in ["not a domain", "acme", "https://acme.org/", "-x.com"] {
        let err = orgs
            .create_organization(
                CreateOrganization::new("Bad").domain_data([DomainData::verified(bad)]),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(422), "{bad}: {err}");
        assert!(err.to_string().contains("not a valid domain"), "{err}");
    }
    let err = orgs
        .update_organization(
            &globex.id,
            UpdateOrganization::new().domain_data([DomainData::verified("ACME.com")]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");

    // Metadata over the limits.
    let too_many: BTreeMap<String, String> =
        (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let err = orgs
        .update_organization(&acme.id, UpdateOrganization::new().metadata(too_many))
        .await
        .unwrap_err();
    assert_eq!(
        status_and_code(&err),
        (Some(400), Some("invalid_metadata")),
        "{err}"
    );

    // Unknown ids.
    for err in [
        orgs.get_organization("org_unknown").await.unwrap_err(),
        orgs.get_organization_by_external_id("nobody")
            .await
            .unwrap_err(),
        orgs.update_organization("org_unknown", UpdateOrganization::new().name("X"))
            .await
            .unwrap_err(),
        orgs.get_organization_domain("org_domain_unknown")
            .await
            .unwrap_err(),
        orgs.delete_organization_domain("org_domain_unknown")
            .await
            .unwrap_err(),
        orgs.list_organization_roles("org_unknown")
            .await
            .unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err}");
    }
    // Nothing changed: no event beyond the two creations and the one accepted update.
    assert_eq!(
        kinds(&events(&emulator)),
        [
            "organization.created",
            "organization.created",
            "organization.updated"
        ]
    );
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn organizations_are_listed_page_by_page_and_filtered() {
    let emulator = Emulator::start().await.unwrap();
    let orgs = emulator.client().organizations();
    let mut made = Vec::new();
    for i in 0..23 {
        let mut params = CreateOrganization::new(format!("Tenant {i:02}"));
        if i % 5 == 0 {
            params = params.domain_data([DomainData::pending(format!("tenant{i}.example.com"))]);
        }
        made.push(orgs.create_organization(params).await.unwrap().id);
    }

    // Oldest first, ten at a time, following the cursors.
    let first = orgs
        .list_organizations(&ListOrganizations::new().limit(10).order(Order::Asc))
        .await
        .unwrap();
    assert_eq!(first.data.len(), 10);
    assert_eq!(first.data[0].id, made[0]);
    let after = first.list_metadata.after.clone().expect("more pages");
    let second = orgs
        .list_organizations(
            &ListOrganizations::new()
                .limit(10)
                .order(Order::Asc)
                .after(&after),
        )
        .await
        .unwrap();
    assert_eq!(second.data[0].id, made[10]);
    let before = second.list_metadata.before.clone().unwrap();
    let back = orgs
        .list_organizations(
            &ListOrganizations::new()
                .limit(10)
                .order(Order::Asc)
                .before(&before),
        )
        .await
        .unwrap();
    assert_eq!(back.data, first.data, "before walks back to the first page");

    // The stream visits every page; newest first by default.
    let all: Vec<Organization> = orgs
        .list_organizations_stream(ListOrganizations::new().limit(7))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<String> = all.into_iter().map(|o| o.id).collect();
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(ids, newest_first);

    // Filters: any of several domains, and a case-insensitive name search.
    let by_domain = orgs
        .list_organizations(
            &ListOrganizations::new()
                .domains([
                    "tenant5.example.com",
                    "TENANT10.example.com",
                    "nobody.example",
                ])
                .order(Order::Asc),
        )
        .await
        .unwrap();
    let names: Vec<_> = by_domain.data.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Tenant 05", "Tenant 10"]);
    assert!(!by_domain.has_more());
    let searched = orgs
        .list_organizations(
            &ListOrganizations::new()
                .search("tenant 2")
                .order(Order::Asc),
        )
        .await
        .unwrap();
    let names: Vec<_> = searched.data.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Tenant 20", "Tenant 21", "Tenant 22"]);

    let err = orgs
        .list_organizations(&ListOrganizations::new().limit(500))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_domain_is_added_verified_and_removed_with_its_events() {
    let emulator = Emulator::start().await.unwrap();
    let orgs = emulator.client().organizations();
    let acme = orgs
        .create_organization(CreateOrganization::new("Acme"))
        .await
        .unwrap();
    let globex = orgs
        .create_organization(CreateOrganization::new("Globex"))
        .await
        .unwrap();

    let domain = orgs
        .create_organization_domain(CreateOrganizationDomain::new(&acme.id, "Shared.example"))
        .await
        .unwrap();
    assert!(domain.id.starts_with("org_domain_"), "{}", domain.id);
    assert_eq!(domain.domain, "shared.example");
    assert_eq!(domain.organization_id, acme.id);
    assert_eq!(domain.state, Some(DomainState::Pending));
    assert_eq!(
        domain.verification_strategy,
        Some(VerificationStrategy::Dns)
    );
    assert!(
        domain
            .verification_token
            .as_deref()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(
        orgs.get_organization_domain(&domain.id).await.unwrap(),
        domain
    );
    let with_domain = orgs.get_organization(&acme.id).await.unwrap();
    assert_eq!(with_domain.domains, std::slice::from_ref(&domain));

    // The same domain again in Acme is refused; Globex may claim it too while it is pending.
    let err = orgs
        .create_organization_domain(CreateOrganizationDomain::new(&acme.id, "shared.example"))
        .await
        .unwrap_err();
    assert_eq!(
        status_and_code(&err),
        (Some(409), Some("domain_already_exists")),
        "{err}"
    );
    let rival = orgs
        .create_organization_domain(CreateOrganizationDomain::new(&globex.id, "shared.example"))
        .await
        .unwrap();

    let verified = orgs.verify_organization_domain(&domain.id).await.unwrap();
    assert_eq!(verified.state, Some(DomainState::Verified));
    assert!(verified.is_verified());
    let err = orgs
        .verify_organization_domain(&domain.id)
        .await
        .unwrap_err();
    assert_eq!(
        status_and_code(&err),
        (Some(400), Some("domain_already_verified")),
        "{err}"
    );
    // Acme holds it now: Globex's verification fails, and no one else can add it.
    let failed = orgs.verify_organization_domain(&rival.id).await.unwrap();
    assert_eq!(failed.state, Some(DomainState::Failed));
    let initech = orgs
        .create_organization(CreateOrganization::new("Initech"))
        .await
        .unwrap();
    let err = orgs
        .create_organization_domain(CreateOrganizationDomain::new(&initech.id, "shared.example"))
        .await
        .unwrap_err();
    assert_eq!(
        status_and_code(&err),
        (Some(409), Some("domain_already_exists")),
        "{err}"
    );

    orgs.delete_organization_domain(&domain.id).await.unwrap();
    let err = orgs.get_organization_domain(&domain.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        orgs.get_organization(&acme.id)
            .await
            .unwrap()
            .domains
            .is_empty()
    );

    let events = events(&emulator);
    let domain_events: Vec<&Event> = events
        .iter()
        .filter(|e| e.event.starts_with("organization_domain."))
        .collect();
    let kinds: Vec<EventKind> = domain_events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::OrganizationDomainCreated,
            EventKind::OrganizationDomainCreated,
            EventKind::OrganizationDomainVerified,
            EventKind::OrganizationDomainVerificationFailed,
            EventKind::OrganizationDomainDeleted,
        ]
    );
    assert_eq!(
        domain_events[2].data_as::<OrganizationDomain>().unwrap(),
        verified
    );
    assert_eq!(
        domain_events[3].data["reason"],
        "domain_verified_by_other_organization"
    );
    let failed_domain: OrganizationDomain =
        serde_json::from_value(domain_events[3].data["organization_domain"].clone()).unwrap();
    assert_eq!(failed_domain, failed);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn roles_and_permissions_come_from_the_role_catalogue() {
    let emulator = Emulator::builder()
        .seed(
            Seed::new()
                .role(
                    SeedRole::new("owner")
                        .name("Owner")
                        .permission("billing:manage")
                        .permission("docs:write")
                        .permission("docs:read"),
                )
                .role(SeedRole::new("viewer").permission("docs:read")),
        )
        .start()
        .await
        .unwrap();
    let orgs = emulator.client().organizations();

    let roles = orgs.list_roles().await.unwrap();
    let summary: Vec<_> = roles
        .iter()
        .map(|r| (r.slug.as_str(), r.name.as_str(), r.permissions.len()))
        .collect();
    assert_eq!(summary, [("owner", "Owner", 3), ("viewer", "viewer", 1)]);
    assert!(
        roles
            .iter()
            .all(|r| r.role_type == RoleType::EnvironmentRole)
    );
    assert!(roles.iter().all(|r| r.id.starts_with("role_")));

    let org = orgs
        .create_organization(CreateOrganization::new("Acme"))
        .await
        .unwrap();
    assert_eq!(orgs.list_organization_roles(&org.id).await.unwrap(), roles);

    // Each permission once, two to a page.
    let first = orgs
        .list_permissions(&PageParams::default().limit(2).order(Order::Asc))
        .await
        .unwrap();
    let slugs: Vec<_> = first.data.iter().map(|p| p.slug.as_str()).collect();
    assert_eq!(slugs, ["billing:manage", "docs:write"]);
    assert!(first.has_more());
    let all: Vec<String> = orgs
        .list_permissions_stream(PageParams::default().limit(2).order(Order::Asc))
        .map_ok(|p| p.slug)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, ["billing:manage", "docs:write", "docs:read"]);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn without_a_catalogue_the_built_in_roles_are_listed() {
    let emulator = Emulator::start().await.unwrap();
    let orgs = emulator.client().organizations();
    let roles = orgs.list_roles().await.unwrap();
    let slugs: Vec<_> = roles.iter().map(|r| r.slug.as_str()).collect();
    assert_eq!(slugs, ["admin", "member"]);
    assert_eq!(roles[1].permissions, ["widgets:read"]);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn memberships_emit_their_events() {
    let emulator = Emulator::start().await.unwrap();
    let client = emulator.client();
    let um = client.user_management();
    let org = client
        .organizations()
        .create_organization(CreateOrganization::new("Acme"))
        .await
        .unwrap();
    let user = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    let m = um
        .create_organization_membership(CreateOrganizationMembership::new(&user.id, &org.id))
        .await
        .unwrap();
    um.update_organization_membership(
        &m.id,
        UpdateOrganizationMembership::new().role_slug("admin"),
    )
    .await
    .unwrap();
    um.deactivate_organization_membership(&m.id).await.unwrap();
    // Already inactive: nothing changes, no event.
    um.deactivate_organization_membership(&m.id).await.unwrap();
    um.reactivate_organization_membership(&m.id).await.unwrap();
    um.delete_organization_membership(&m.id).await.unwrap();

    let events: Vec<Event> = events(&emulator)
        .into_iter()
        .filter(|e| e.event.starts_with("organization_membership."))
        .collect();
    assert_eq!(
        kinds(&events),
        [
            "organization_membership.created",
            "organization_membership.updated",
            "organization_membership.updated",
            "organization_membership.updated",
            "organization_membership.deleted",
        ]
    );
    let created: OrganizationMembership = events[0].data_as().unwrap();
    assert_eq!(created, m);
    let promoted: OrganizationMembership = events[1].data_as().unwrap();
    assert_eq!(promoted.role.slug, "admin");
    let deactivated: OrganizationMembership = events[2].data_as().unwrap();
    assert_eq!(deactivated.status.as_str(), "inactive");
    assert_eq!(events[4].kind(), EventKind::OrganizationMembershipDeleted);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn deleting_an_organization_removes_its_memberships_and_ends_its_sessions() {
    let emulator = Emulator::start().await.unwrap();
    let client = emulator.client();
    let um = client.user_management();
    let orgs = client.organizations();
    let acme = orgs
        .create_organization(CreateOrganization::new("Acme"))
        .await
        .unwrap();
    let globex = orgs
        .create_organization(CreateOrganization::new("Globex"))
        .await
        .unwrap();
    let ada = um
        .create_user(
            CreateUser::new("ada@example.com")
                .password("correct horse battery staple")
                .email_verified(true),
        )
        .await
        .unwrap();
    let bob = um
        .create_user(CreateUser::new("bob@example.com"))
        .await
        .unwrap();
    um.create_organization_membership(CreateOrganizationMembership::new(&ada.id, &acme.id))
        .await
        .unwrap();
    um.create_organization_membership(CreateOrganizationMembership::new(&bob.id, &acme.id))
        .await
        .unwrap();
    let kept = um
        .create_organization_membership(CreateOrganizationMembership::new(&bob.id, &globex.id))
        .await
        .unwrap();

    // Ada's only organization is Acme: her session is scoped to it.
    let signed_in = um
        .authenticate_with_password(AuthenticateWithPassword::new(
            "ada@example.com",
            "correct horse battery staple",
        ))
        .await
        .unwrap();
    assert_eq!(signed_in.organization_id.as_deref(), Some(acme.id.as_str()));

    orgs.delete_organization(&acme.id).await.unwrap();

    let left = um
        .list_organization_memberships(&ListOrganizationMemberships::for_user(&bob.id))
        .await
        .unwrap();
    assert_eq!(left.data, [kept], "only the Globex membership is left");
    let err = um
        .list_organization_memberships(&ListOrganizationMemberships::for_organization(&acme.id))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = um
        .authenticate_with_refresh_token(AuthenticateWithRefreshToken::new(
            signed_in.refresh_token.expose_secret(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_grant"), "{err}");

    let events = events(&emulator);
    let tail: Vec<&str> = kinds(&events).into_iter().rev().take(4).collect();
    assert_eq!(
        tail,
        [
            "organization.deleted",
            "session.revoked",
            "organization_membership.deleted",
            "organization_membership.deleted",
        ]
    );
    support::assert_contract(&emulator);
}

/// The events, delivered: an app's webhook route (the `WorkosWebhook` extractor) receives each
/// change signed, and reads its data typed.
#[cfg(feature = "axum")]
#[tokio::test]
async fn each_change_is_delivered_to_the_apps_webhook_route() {
    use authkit_axum::web::WorkosWebhook;
    use authkit_axum::webhooks::Webhooks;
    use axum::routing::post;

    const SECRET: &str = "whsec_organizations";
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let app = axum::Router::new()
        .route(
            "/webhooks/workos",
            post(move |WorkosWebhook(event): WorkosWebhook| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(event);
                    axum::http::StatusCode::OK
                }
            }),
        )
        .with_state(Webhooks::new(SECRET));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = tokio::spawn(axum::serve(listener, app).into_future());
    let emulator = Emulator::builder()
        .webhook_endpoint(format!("http://127.0.0.1:{port}/webhooks/workos"), SECRET)
        .start()
        .await
        .unwrap();
    let client = emulator.client();
    let orgs = client.organizations();
    let um = client.user_management();

    let org = orgs
        .create_organization(CreateOrganization::new("Acme"))
        .await
        .unwrap();
    let renamed = orgs
        .update_organization(&org.id, UpdateOrganization::new().name("Acme Inc."))
        .await
        .unwrap();
    let domain = orgs
        .create_organization_domain(CreateOrganizationDomain::new(&org.id, "acme.com"))
        .await
        .unwrap();
    orgs.verify_organization_domain(&domain.id).await.unwrap();
    let user = um
        .create_user(CreateUser::new("ada@example.com"))
        .await
        .unwrap();
    let membership = um
        .create_organization_membership(CreateOrganizationMembership::new(&user.id, &org.id))
        .await
        .unwrap();
    orgs.delete_organization(&org.id).await.unwrap();

    // Each delivery runs in its own task, so they may arrive in any order.
    let expected = [
        EventKind::UserCreated,
        EventKind::OrganizationCreated,
        EventKind::OrganizationUpdated,
        EventKind::OrganizationDomainCreated,
        EventKind::OrganizationDomainVerified,
        EventKind::OrganizationMembershipCreated,
        EventKind::OrganizationMembershipDeleted,
        EventKind::OrganizationDeleted,
    ];
    let mut received: Vec<Event> = Vec::new();
    while !expected
        .iter()
        .all(|kind| received.iter().any(|e| e.kind() == *kind))
    {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("every event is delivered")
            .unwrap();
        received.push(event);
    }
    assert_eq!(received.len(), expected.len(), "each change once");
    let of = |kind: EventKind| {
        received
            .iter()
            .find(|e| e.kind() == kind)
            .unwrap_or_else(|| panic!("{kind} delivered"))
    };
    let created: Organization = of(EventKind::OrganizationCreated).data_as().unwrap();
    assert_eq!(created, org);
    let updated: Organization = of(EventKind::OrganizationUpdated).data_as().unwrap();
    assert_eq!(updated, renamed);
    let added: OrganizationDomain = of(EventKind::OrganizationDomainCreated).data_as().unwrap();
    assert_eq!(added, domain);
    let verified: OrganizationDomain = of(EventKind::OrganizationDomainVerified).data_as().unwrap();
    assert_eq!(verified.state, Some(DomainState::Verified));
    let joined: OrganizationMembership = of(EventKind::OrganizationMembershipCreated)
        .data_as()
        .unwrap();
    assert_eq!(joined, membership);
    let left: OrganizationMembership = of(EventKind::OrganizationMembershipDeleted)
        .data_as()
        .unwrap();
    assert_eq!(left.id, membership.id);
    let deleted: Organization = of(EventKind::OrganizationDeleted).data_as().unwrap();
    assert_eq!(deleted.id, org.id);
    served.abort();
    support::assert_contract(&emulator);
}
