//! sessions (being written).
