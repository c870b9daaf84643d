//! Where the emails WorkOS would send land: magic auth codes, email verification codes,
//! password reset links, invitations and email change codes. Read in process with [`Emulator::outbox`](super::Emulator::outbox)
//! or over HTTP at `GET /__emulator/outbox?to=<email>` (with the API key).

use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

/// What an email is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EmailKind {
    /// A Magic Auth sign-in code.
    MagicAuth,
    /// An email verification code.
    EmailVerification,
    /// A password reset link.
    PasswordReset,
    /// An invitation link.
    Invitation,
    /// An email change code, sent to the new address.
    EmailChange,
}

impl EmailKind {
    /// The kind as it appears in `GET /__emulator/outbox`, e.g. `magic_auth`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EmailKind::MagicAuth => "magic_auth",
            EmailKind::EmailVerification => "email_verification",
            EmailKind::PasswordReset => "password_reset",
            EmailKind::Invitation => "invitation",
            EmailKind::EmailChange => "email_change",
        }
    }
}

/// One email the emulator "sent".
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Email {
    /// The recipient.
    pub to: String,
    /// What it is for.
    pub kind: EmailKind,
    /// The subject line.
    pub subject: String,
    /// The one-time code in it, if any (magic auth, email verification).
    pub code: Option<String>,
    /// The link in it, if any (password reset, invitation).
    pub link: Option<String>,
    /// The token in the link, if any (password reset token, invitation token).
    pub token: Option<String>,
    /// When it was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

/// The emails sent so far, oldest first.
#[derive(Default)]
pub(crate) struct Outbox {
    emails: Mutex<Vec<Email>>,
}

impl Outbox {
    pub fn send(&self, email: Email) {
        tracing::info!(to = %email.to, kind = %email.kind.as_str(), "emulator: email sent to the outbox");
        self.lock().push(email);
    }

    pub fn all(&self) -> Vec<Email> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Email>> {
        self.emails.lock().unwrap_or_else(|p| p.into_inner())
    }
}
