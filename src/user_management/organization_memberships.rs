//! organization_memberships (being written).
