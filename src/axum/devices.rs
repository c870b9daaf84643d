//! A user's signed-in devices: the WorkOS sessions of the user (`GET
//! /user_management/users/{id}/sessions`), and an index in the app's session store from each
//! WorkOS session id (`sid`) to the local session record signed in with it, so that signing a
//! device out revokes its WorkOS session and removes its local session together (the device is
//! anonymous at its next request, on every instance sharing the store).
//!
//! The index is one record per `sid` in the session store, whose id is derived from the `sid`
//! (`SHA-256("authkit-axum sid index", sid)`): written once, when a sign-in completes, so
//! sign-ins racing on several machines never lose each other's entries. It expires after
//! 30 days; a session kept in use for longer drops out of the index, and signing it out
//! then revokes it at WorkOS only, which ends it locally at its next refresh (within the
//! access token's lifetime, five minutes at WorkOS). The index needs the store handle that
//! [`AuthKit::session_layer`](super::AuthKit::session_layer) (or
//! [`layer`](super::AuthKit::layer)) keeps; without it, devices are signed out at WorkOS only.

use super::config::AuthKit;
use super::control::{ControlError, SessionControl};
use super::session;
use super::sid_index::forget;
use crate::user_management::{ListSessions, Session as WorkosSession, SessionStatus};

/// One of the user's signed-in devices: its WorkOS session (id, IP address, user agent, how
/// and when it signed in, when it expires), and whether it is the one making this request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedInDevice {
    /// The WorkOS session (its `id` is the `sid` to sign out).
    pub session: WorkosSession,
    /// Whether this is the current request's session.
    pub current: bool,
}

impl SessionControl {
    /// The signed-in user's active sessions at WorkOS (every browser or device they are signed
    /// in on, this one marked [`current`](SignedInDevice::current)), newest first as WorkOS
    /// lists them.
    ///
    /// ```
    /// use authkit_axum::web::SessionControl;
    ///
    /// async fn your_sessions(control: SessionControl) -> String {
    ///     match control.devices().await {
    ///         Ok(devices) => devices
    ///             .iter()
    ///             .map(|d| format!("{} {}", d.session.user_agent.as_deref().unwrap_or("?"), if d.current { "(this one)" } else { "" }))
    ///             .collect::<Vec<_>>()
    ///             .join("\n"),
    ///         Err(err) => err.to_string(),
    ///     }
    /// }
    /// ```
    pub async fn devices(&self) -> Result<Vec<SignedInDevice>, ControlError> {
        let (user_id, current) = self.signed_in().await?;
        let page = self
            .authkit()
            .client()
            .user_management()
            .list_sessions(&user_id, &ListSessions::new())
            .await
            .map_err(ControlError::Api)?;
        Ok(page
            .data
            .into_iter()
            .filter(|s| s.status == SessionStatus::Active)
            .map(|session| SignedInDevice {
                current: current.as_deref() == Some(session.id.as_str()),
                session,
            })
            .collect())
    }

    /// Signs one of the user's devices out: revokes its WorkOS session and removes its local
    /// session (anonymous at its next request). `sid` must be one of the user's active
    /// sessions ([`devices`](Self::devices)); another user's is
    /// [`ControlError::UnknownDevice`] and nothing happens. Signing out the current session
    /// this way leaves this request's response to sign it out: use
    /// [`sign_out`](Self::sign_out) for that.
    ///
    /// The local session is found through an index the sign-in wrote into the session store
    /// (one record per WorkOS session, kept 30 days; it needs the store handle
    /// [`AuthKit::layer`](super::AuthKit::layer) or
    /// [`session_layer`](super::AuthKit::session_layer) keeps). A session signed in before,
    /// or kept in use for longer, is revoked at WorkOS only, and ends at its next refresh.
    pub async fn sign_out_device(&self, sid: &str) -> Result<(), ControlError> {
        let (user_id, _) = self.signed_in().await?;
        let devices = self.devices().await?;
        if !devices.iter().any(|d| d.session.id == sid) {
            return Err(ControlError::UnknownDevice);
        }
        self.revoke(&user_id, sid).await
    }

    /// Signs out every device of the user but this one; returns how many.
    pub async fn sign_out_other_devices(&self) -> Result<usize, ControlError> {
        let (user_id, _) = self.signed_in().await?;
        let others: Vec<String> = self
            .devices()
            .await?
            .into_iter()
            .filter(|d| !d.current)
            .map(|d| d.session.id)
            .collect();
        for sid in &others {
            self.revoke(&user_id, sid).await?;
        }
        Ok(others.len())
    }

    /// Revokes `sid` at WorkOS and removes its local session.
    async fn revoke(&self, user_id: &str, sid: &str) -> Result<(), ControlError> {
        self.authkit()
            .client()
            .user_management()
            .revoke_session(sid)
            .await
            .map_err(ControlError::Api)?;
        match self.authkit().inner.session_store.get() {
            Some(store) => {
                let removed = forget(store.as_ref(), sid, user_id)
                    .await
                    .map_err(ControlError::Store)?;
                tracing::info!(user = %user_id, local_session_removed = removed, "signed a device out");
            }
            None => tracing::info!(
                user = %user_id,
                "signed a device out at WorkOS; its local session ends at its next refresh \
                 (build the session layer with `authkit.session_layer(store)` to remove it at once)"
            ),
        }
        Ok(())
    }

    /// The signed-in user's id and WorkOS session id.
    async fn signed_in(&self) -> Result<(String, Option<String>), ControlError> {
        let current = session::load(self.session())
            .await
            .map_err(|err| ControlError::Store(err.to_string()))?
            .ok_or(ControlError::NotSignedIn)?;
        Ok((current.user.id, current.claims.sid))
    }
}

impl AuthKit {
    /// Ends the local sessions of a `session.revoked` event (a WorkOS session revoked from the
    /// dashboard, the API or another app): the session signed in with that WorkOS session is
    /// removed from the store, so its browser is anonymous at its next request instead of at
    /// its next refresh. Returns whether one was removed; other event types are ignored.
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use authkit_axum::AuthKit;
    /// use authkit_axum::web::WorkosWebhook;
    /// use axum::extract::State;
    ///
    /// async fn webhook(State(authkit): State<AuthKit>, WorkosWebhook(event): WorkosWebhook) -> StatusCode {
    ///     match authkit.end_revoked_session(&event).await {
    ///         Ok(_) => StatusCode::OK,
    ///         // The store is down: WorkOS retries the delivery later.
    ///         Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    ///     }
    /// }
    /// ```
    pub async fn end_revoked_session(
        &self,
        event: &crate::webhooks::Event,
    ) -> Result<bool, ControlError> {
        if event.kind() != crate::webhooks::EventKind::SessionRevoked {
            return Ok(false);
        }
        let session: WorkosSession = event.data_as().map_err(|err| {
            ControlError::Store(format!("the event's session is unreadable: {err}"))
        })?;
        let Some(store) = self.inner.session_store.get() else {
            return Ok(false);
        };
        let removed = forget(store.as_ref(), &session.id, &session.user_id)
            .await
            .map_err(ControlError::Store)?;
        tracing::info!(user = %session.user_id, local_session_removed = removed, "a WorkOS session was revoked");
        Ok(removed)
    }
}
