//! Authentication: every grant of `POST /user_management/authenticate`.

use serde::{Deserialize, Serialize};

/// An organization offered in an `organization_selection_required` step-up: `{id, name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationSummary {
    /// The organization id, `org_...`.
    pub id: String,
    /// The organization's name.
    #[serde(default)]
    pub name: String,
}
