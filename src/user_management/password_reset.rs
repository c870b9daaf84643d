//! password_reset (being written).
