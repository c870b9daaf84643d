//! magic_auth (being written).
