//! Organization-membership groups: the seeded groups of an organization, read per membership.

use authkit_axum::user_management::PageParams;
use authkit_emulator::{Emulator, Seed};
use futures_util::TryStreamExt;

use crate::support;
use crate::support::EmulatorExt as _;

#[tokio::test]
async fn a_membership_s_groups_are_listed_and_an_unknown_membership_is_404() {
    let seed = Seed::from_yaml_str(
        r#"
users:
  - { id: user_ada, email: ada@example.com }
  - { id: user_bob, email: bob@example.com }
organizations:
  - id: org_acme
    name: Acme
    groups:
      - { id: group_eng, name: Engineering, description: Builds things, members: [ada@example.com, user_bob] }
      - { id: group_ops, name: Operations, members: [ada@example.com] }
      - { id: group_empty, name: Nobody }
  - id: org_globex
    name: Globex
    groups:
      - { id: group_globex, name: Globex staff, members: [ada@example.com] }
memberships:
  - { id: om_ada_acme, user: ada@example.com, organization: Acme }
  - { id: om_bob_acme, user: bob@example.com, organization: Acme }
  - { id: om_ada_globex, user: ada@example.com, organization: Globex }
"#,
    )
    .unwrap();
    let emulator = Emulator::builder().seed(seed).start().await.unwrap();
    let um = emulator.client().user_management();

    let groups: Vec<_> = um
        .list_organization_membership_groups_stream("om_ada_acme", PageParams::default().limit(1))
        .try_collect()
        .await
        .unwrap();
    let mut names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Engineering", "Operations"]);
    let eng = groups.iter().find(|g| g.id == "group_eng").unwrap();
    assert_eq!(eng.organization_id, "org_acme");
    assert_eq!(eng.description.as_deref(), Some("Builds things"));

    let bob = um
        .list_organization_membership_groups("om_bob_acme", &PageParams::default())
        .await
        .unwrap();
    assert_eq!(bob.data.len(), 1);
    assert_eq!(bob.data[0].id, "group_eng");
    let globex = um
        .list_organization_membership_groups("om_ada_globex", &PageParams::default())
        .await
        .unwrap();
    assert_eq!(globex.data.len(), 1);
    assert_eq!(globex.data[0].organization_id, "org_globex");

    let err = um
        .list_organization_membership_groups("om_nobody", &PageParams::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_seeded_group_member_without_a_membership_is_refused_by_name() {
    let err = Seed::from_yaml_str(
        r#"
users: [{ email: ada@example.com }]
organizations: [{ name: Acme, groups: [{ name: Engineering, members: [ada@example.com] }] }]
"#,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Engineering")
            && text.contains("ada@example.com")
            && text.contains("not a member"),
        "{text}"
    );
}
