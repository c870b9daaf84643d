//! How long a session record lives. A record that holds nothing but sign-ins in progress
//! (pending sign-ins, a step-up) expires with them, in at most ten minutes, so anonymous
//! requests to the sign-in route cannot fill the store with week-long records; it becomes a
//! session with the session layer's expiry (7 days of inactivity with
//! [`AuthKit::session_layer`]) at sign-in. A record that already holds other data (the app's
//! keys, a signed-in session) keeps the layer's expiry.
//!
//! tower-sessions gives every request's session the layer's expiry; a route that changes a
//! session replaces it with [`Session::set_expiry`] and the record is saved with it. So each
//! sign-in route remembers, before it changes anything, the expiry the layer gave the session
//! and whether the record holds other data ([`Lifetime::of`]), and fits the expiry to what it
//! leaves in the session before it answers ([`Lifetime::apply`]).
//!
//! Whether a record holds other data is read from the store with the handle
//! [`AuthKit::session_layer`] gives AuthKit (tower-sessions does not list a session's keys).
//! Without the handle only a new session counts as holding nothing else, so a record created
//! by the sign-in route gets the short expiry, and a later step-up in it the layer's.

use time::OffsetDateTime;
use tower_sessions::Session;
use tower_sessions::session::{Error, Expiry};

use super::config::AuthKit;
use super::session::{
    AUTH_SESSION_KEY, PENDING_KEY, PendingSignIn, STEP_UP_KEY, STEP_UP_TTL, StepUp,
};

/// The keys of sign-ins in progress.
const IN_PROGRESS: [&str; 2] = [PENDING_KEY, STEP_UP_KEY];

/// What a sign-in route found before changing the session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetime {
    /// The expiry the session layer gave this request's session.
    layer: Option<Expiry>,
    /// Whether the record holds (or may hold) data other than sign-ins in progress.
    other_data: bool,
}

impl Lifetime {
    /// Reads the session (loading its record) and, when it has a record, which keys that
    /// record holds. `Err` when the store cannot be read.
    pub(crate) async fn of(authkit: &AuthKit, session: &Session) -> Result<Lifetime, Error> {
        let layer = session.expiry();
        // Loads the record; a cookie naming no record leaves the session without an id.
        session.get_value(PENDING_KEY).await?;
        let other_data = match (session.id(), authkit.inner.session_store.get()) {
            (None, _) => false,
            (Some(id), Some(store)) => match store.load(&id).await? {
                Some(record) => record
                    .data
                    .keys()
                    .any(|key| !IN_PROGRESS.contains(&key.as_str())),
                // Another store than the layer's: nothing can be told, keep the layer's.
                None => true,
            },
            (Some(_), None) => true,
        };
        Ok(Lifetime { layer, other_data })
    }

    /// Fits the session's expiry to what it now holds: the layer's when it is signed in or
    /// holds other data; the last deadline of its sign-ins in progress when it holds only
    /// those; and a record left holding nothing at all is deleted.
    pub(crate) async fn apply(&self, authkit: &AuthKit, session: &Session) -> Result<(), Error> {
        let wanted = if self.other_data || session.get_value(AUTH_SESSION_KEY).await?.is_some() {
            self.layer
        } else {
            match in_progress_until(authkit, session).await? {
                Some(deadline) => Some(Expiry::AtDateTime(deadline)),
                None => {
                    if session.id().is_some() {
                        // Nothing left to keep (e.g. the callback used the last pending
                        // sign-in and failed): no record, no cookie.
                        session.flush().await?;
                    }
                    return Ok(());
                }
            }
        };
        if session.expiry() != wanted {
            session.set_expiry(wanted);
        }
        Ok(())
    }
}

/// When the last sign-in in progress in the session expires, if one has not yet.
async fn in_progress_until(
    authkit: &AuthKit,
    session: &Session,
) -> Result<Option<OffsetDateTime>, Error> {
    let mut until: Option<i64> = None;
    let pending: Vec<PendingSignIn> = match session.get(PENDING_KEY).await {
        Ok(pending) => pending.unwrap_or_default(),
        Err(Error::Store(err)) => return Err(Error::Store(err)),
        // Unreadable: nothing that can finish a sign-in.
        Err(Error::SerdeJson(_)) => Vec::new(),
    };
    let ttl = authkit.inner.pending_ttl.as_secs() as i64;
    for p in &pending {
        until = until.max(Some(p.created_at + ttl));
    }
    match session.get::<StepUp>(STEP_UP_KEY).await {
        Ok(Some(step)) => until = until.max(Some(step.created_at + STEP_UP_TTL)),
        Ok(None) | Err(Error::SerdeJson(_)) => {}
        Err(Error::Store(err)) => return Err(Error::Store(err)),
    }
    let now = OffsetDateTime::now_utc();
    Ok(until
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .filter(|deadline| *deadline > now))
}
