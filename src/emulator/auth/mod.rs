//! Authentication in the emulator: sessions, authorization codes, refresh tokens, pending
//! authentications, MFA factors and challenges, signing keys and the hosted sign-in page.

/// Authentication state (being written).
#[derive(Default)]
pub(crate) struct AuthStore {}
