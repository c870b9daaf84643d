//! The index from WorkOS session ids (`sid`) to the local session records signed in with them,
//! kept in the app's session store: one record per `sid`, whose id is derived from the `sid`
//! (`SHA-256("authkit-axum sid index", sid)`), written once when a sign-in completes (so
//! sign-ins racing on several machines never lose each other's entries). Signing a device out
//! (`SessionControl::sign_out_device`) and a `session.revoked` webhook remove the local record
//! through it. See the devices module for what it is used for.

use serde::{Deserialize, Serialize};
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};

use super::config::AuthKit;

/// How long an index entry lives.
pub(crate) const INDEX_TTL: time::Duration = time::Duration::days(30);

/// The key, in an index record, of its entry.
const ENTRY_KEY: &str = "authkit.sid_index";

/// Where a WorkOS session is signed in locally.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The local session record's id.
    session_id: String,
    /// The user, checked before anything is removed.
    user_id: String,
}

/// The id of the index record of `sid`.
fn index_id(sid: &str) -> Id {
    let digest = crate::digest::sha256(&[b"authkit-axum sid index\0", sid.as_bytes()]);
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(first))
}

/// Records that `sid` (of `user_id`) is signed in under the local record `session_id`.
pub(crate) async fn remember(
    authkit: &AuthKit,
    sid: &str,
    user_id: &str,
    session_id: Id,
) -> Result<(), String> {
    let Some(store) = authkit.inner.session_store.get() else {
        return Ok(());
    };
    let entry = Entry {
        session_id: session_id.to_string(),
        user_id: user_id.to_owned(),
    };
    let value = serde_json::to_value(&entry).map_err(|e| e.to_string())?;
    let record = Record {
        id: index_id(sid),
        data: [(ENTRY_KEY.to_owned(), value)].into_iter().collect(),
        expiry_date: time::OffsetDateTime::now_utc() + INDEX_TTL,
    };
    store.save(&record).await.map_err(|e| e.to_string())
}

/// Removes the local session of `sid` if it belongs to `user_id`; whether one was removed.
pub(crate) async fn forget(
    store: &dyn SessionStore,
    sid: &str,
    user_id: &str,
) -> Result<bool, String> {
    let id = index_id(sid);
    let Some(record) = store.load(&id).await.map_err(|e| e.to_string())? else {
        return Ok(false);
    };
    let entry: Option<Entry> = record
        .data
        .get(ENTRY_KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let Some(entry) = entry.filter(|e| e.user_id == user_id) else {
        return Ok(false);
    };
    if let Ok(local) = entry.session_id.parse::<Id>() {
        store.delete(&local).await.map_err(|e| e.to_string())?;
    }
    store.delete(&id).await.map_err(|e| e.to_string())?;
    Ok(true)
}
