//! email_verification (being written).
