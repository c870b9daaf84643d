//! authorization_url (being written).
