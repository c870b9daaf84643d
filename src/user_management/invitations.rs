//! invitations (being written).
